//! The event buffers' part of skip mode (see `skip.rs`): an event marked
//! oversized, counted and handed out as a notice.

use std::sync::Arc;

use crate::event::SkippedEvent;

use super::super::error::ParseError;
use super::super::field::Field;
use super::super::text::lossy_len;
use super::{Data, EventBuffers};

impl EventBuffers {
    /// A line over the limit ended: what it was, and its decoded length. A
    /// `data`, `event` or `id` line makes its event oversized; any other is
    /// dropped (a comment or unknown field is ignored anyway, and no valid
    /// `retry` value is that long at the default limit).
    pub(in crate::parser) fn line_skipped(
        &mut self,
        input: &[u8],
        field: Field,
        decoded_len: usize,
    ) {
        match field {
            Field::Data(start) => {
                self.mark_oversized(input);
                // (The field name and colon are ASCII: one byte each.)
                self.count_skipped(decoded_len.saturating_sub(start));
            }
            // The type is no longer known.
            Field::Event(_) => {
                self.event_type = None;
                self.mark_oversized(input);
            }
            Field::Id(_) => self.mark_oversized(input),
            Field::Retry(_) | Field::Comment(_) | Field::Ignored => {}
        }
    }

    /// A `data` value that takes the event past `max_event_len`, or comes
    /// after that: fails the stream, or in skip mode is counted.
    #[cold]
    #[inline(never)]
    pub(in crate::parser) fn data_over_limit(
        &mut self,
        input: &[u8],
        value: &[u8],
        error: ParseError,
    ) -> Result<(), ParseError> {
        if !self.skip_oversized {
            return Err(error);
        }
        self.mark_oversized(input);
        self.count_skipped(lossy_len(value));
        Ok(())
    }

    /// Counts a data value of `decoded_len` bytes and its LF in an oversized
    /// event.
    fn count_skipped(&mut self, decoded_len: usize) {
        self.skipped_len = self.skipped_len.saturating_add(decoded_len + 1);
        self.data = Data::Oversized;
    }

    /// The event being built is oversized: the data it kept so far is
    /// counted (its decoded length) and let go of; from now on every `data`
    /// line takes the cold path of `grow_data` (`data_len` at the limit).
    /// `input` is the input being read, where the data may lie.
    fn mark_oversized(&mut self, input: &[u8]) {
        let kept = match std::mem::replace(&mut self.data, Data::None) {
            Data::Oversized => {
                self.data = Data::Oversized;
                return;
            }
            Data::None => {
                self.skipped_len = 0;
                self.data_len = self.max_event_len;
                return;
            }
            Data::InInput(start, end) => lossy_len(&input[start..end]),
            Data::Handed(value) => lossy_len(&value),
            Data::Text(text) => text.len(),
            Data::Joined => {
                let len = lossy_len(&self.joined[self.joined_from..]);
                self.clear_joined();
                len
            }
        };
        self.skipped_len = kept + 1;
        self.data = Data::Oversized;
        self.data_len = self.max_event_len;
    }

    /// At the blank line that ends an oversized event (skip mode), whose
    /// data would have had `len` bytes: its notice, in `skipped`, with the
    /// type of the event type buffer (`type_index`, taken); and the last
    /// event ID that `begin_dispatch` adopted from it is given back.
    #[cold]
    pub(super) fn end_oversized(&mut self, type_index: Option<usize>, len: usize) {
        self.skipped = notice(&self.types, type_index, len);
        give_back_id(
            &mut self.last_event_id,
            &mut self.id_buffer,
            &mut self.last_event_id_shared,
            &mut self.event_had_id,
        );
    }

    /// Data that decoded past the limit at dispatch (invalid bytes, each
    /// decoded to three): fails the stream, or in skip mode ends the event
    /// as oversized. Returns the error, or (skip mode) what stands for the
    /// notice in `skipped`.
    #[cold]
    pub(super) fn decoded_over_limit(&mut self, len: usize) -> ParseError {
        let type_index = self.event_type.take();
        if self.skip_oversized {
            self.end_oversized(type_index, len);
        }
        self.too_large()
    }
}

/// The notice for an oversized event: its type is the one at `type_index`
/// in `types`, if any.
pub(super) fn notice(
    types: &[Option<Arc<str>>],
    type_index: Option<usize>,
    len: usize,
) -> SkippedEvent {
    SkippedEvent::from_parts(type_index.and_then(|index| types[index].clone()), len)
}

/// A skipped event's id is not adopted: `begin_dispatch` swapped the last
/// event ID with the id buffer when the id changed (`had_id`, and they
/// differ), so swapping them back restores it. (Fields rather than
/// `&mut EventBuffers`: `take_ref` calls it while its data is borrowed.)
pub(super) fn give_back_id(
    last_event_id: &mut String,
    id_buffer: &mut String,
    shared: &mut Option<Arc<str>>,
    had_id: &mut bool,
) {
    if *had_id && last_event_id != id_buffer {
        std::mem::swap(last_event_id, id_buffer);
        *shared = None;
    }
    // (Its id is not the stream's.)
    *had_id = false;
}
