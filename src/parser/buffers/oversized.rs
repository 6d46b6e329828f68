//! The event buffers' part of skip mode (see `skip.rs`): an event marked
//! oversized, counted and handed out as a notice.

use crate::event::SkippedEvent;

use super::super::error::ParseError;
use super::super::field::Field;
use super::super::text::lossy_len;
use super::{Data, EventBuffers, TypeCache};

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
                self.event.event_type = None;
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
    pub(super) fn data_over_limit(
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
        let event = &mut self.event;
        event.skipped_len = event.skipped_len.saturating_add(decoded_len + 1);
        event.data = Data::Oversized;
    }

    /// The event being built is oversized: the data it kept so far is
    /// counted (its decoded length) and let go of; from now on every `data`
    /// line takes the cold path of `grow_data` (`data_len` at the limit).
    /// `input` is the input being read, where the data may lie.
    fn mark_oversized(&mut self, input: &[u8]) {
        let event = &mut self.event;
        let kept = match std::mem::replace(&mut event.data, Data::None) {
            Data::Oversized => {
                event.data = Data::Oversized;
                return;
            }
            Data::None => {
                event.skipped_len = 0;
                event.data_len = self.max_event_len;
                return;
            }
            Data::InInput(start, end) => lossy_len(&input[start..end]),
            Data::Handed(value) => lossy_len(&value),
            Data::Text(text) => text.len(),
            Data::Joined => {
                let len = lossy_len(&event.joined[event.joined_from..]);
                event.clear_joined();
                len
            }
        };
        event.skipped_len = kept + 1;
        event.data = Data::Oversized;
        event.data_len = self.max_event_len;
    }

    /// At the blank line that ends an oversized event (skip mode), whose
    /// data would have had `len` bytes: its notice, held for the caller,
    /// with the type of the event type buffer (`type_index`, taken); and
    /// the last event ID that `begin_dispatch` adopted from it is given
    /// back.
    #[cold]
    pub(super) fn end_oversized(&mut self, type_index: Option<usize>, len: usize) {
        self.held.skipped = self.types.notice(type_index, len);
        self.stream.give_back_id(&mut self.event.id_buffer);
    }

    /// Data that decoded past the limit at dispatch (invalid bytes, each
    /// decoded to three): fails the stream, or in skip mode ends the event
    /// as oversized. Returns the error, or (skip mode) what stands for the
    /// notice held.
    #[cold]
    pub(super) fn decoded_over_limit(&mut self, len: usize) -> ParseError {
        let type_index = self.event.event_type.take();
        if self.skip_oversized {
            self.end_oversized(type_index, len);
        }
        self.too_large()
    }
}

impl TypeCache {
    /// The notice for an oversized event whose type is the one at
    /// `type_index`, if any.
    pub(super) fn notice(&self, type_index: Option<usize>, len: usize) -> SkippedEvent {
        SkippedEvent::from_parts(self.shared(type_index), len)
    }
}
