//! The rest of dispatch: the event taken owned or borrowed.

use bytes::Bytes;
use bytestring::ByteString;

use crate::event::{EventData, MessageEvent};

use super::super::error::ParseError;
use super::super::item::{EventRef, ItemRef, LineItem};
use super::super::text::{decode, decode_copy};
use super::{Data, EventBuffers, TypeCache};

/// Values at least this long are slices of the chunk they arrived in;
/// shorter ones are copied (measured: BENCHMARKS.md).
const SHARE_FROM: usize = 64;

impl EventBuffers {
    /// The rest of dispatch: the event, owning its strings. (3: our buffers
    /// hold the values without the final LF. 4-7: the type is the event type
    /// buffer, or "message" when empty; the buffers are reset.)
    #[inline(always)]
    pub(in crate::parser) fn take_owned(
        &mut self,
        input: &[u8],
        text: &ByteString,
    ) -> Result<MessageEvent, ParseError> {
        let event = &mut self.event;
        event.data_len = 0;
        let data = match std::mem::replace(&mut event.data, Data::None) {
            Data::None | Data::Joined => {
                let data = decode_copy(&event.joined[event.joined_from..]);
                event.clear_joined();
                EventData::copied(data)
            }
            Data::InInput(start, end) => match text.get(start..end) {
                Some(value) if value.len() >= SHARE_FROM => {
                    EventData::Shared(text.slice_ref(value))
                }
                Some(value) => EventData::Copied(Box::from(value)),
                None => EventData::copied(decode_copy(&input[start..end])),
            },
            Data::Handed(value) => EventData::Shared(decode(&value.clone(), Some(value))),
            Data::Text(text) => EventData::copied(text),
            Data::Oversized => {
                let (type_index, len) = (event.event_type.take(), event.skipped_len - 1);
                self.end_oversized(type_index, len);
                return Err(self.too_large());
            }
        };
        // Replacement characters can make decoded data longer than the raw
        // bytes the limit counted. The limit counts the final LF too.
        let len = data.as_str().len();
        if len >= self.max_event_len {
            return Err(self.decoded_over_limit(len));
        }
        let event_type = self.types.shared(self.event.event_type.take());
        let last_event_id = self.stream.shared_id();
        Ok(MessageEvent::from_parts(event_type, data, last_event_id))
    }

    /// The rest of dispatch, as `take_owned`, for an event that borrows from
    /// the parser: the input, `joined`, and what is `held`. (In skip mode,
    /// the notice for an oversized event instead.)
    #[inline]
    pub(in crate::parser) fn take_ref<'a>(
        &'a mut self,
        input: &'a [u8],
        text: &'a str,
    ) -> Result<ItemRef<'a>, ParseError> {
        self.event.data_len = 0;
        let type_index = self.event.event_type.take();
        let raw: &[u8] = match std::mem::replace(&mut self.event.data, Data::None) {
            Data::None | Data::Joined => &self.event.joined[self.event.joined_from..],
            Data::InInput(start, end) => match text.get(start..end) {
                Some(value) => {
                    let id = &self.stream.last_event_id;
                    return Ok(event_ref(&self.types, type_index, value, id));
                }
                None => &input[start..end],
            },
            Data::Handed(value) => {
                self.held.bytes = value;
                &self.held.bytes
            }
            Data::Text(text) => {
                self.held.bytes = Bytes::from(text.into_boxed_bytes());
                &self.held.bytes
            }
            Data::Oversized => {
                self.end_oversized(type_index, self.event.skipped_len - 1);
                return Ok(ItemRef::Skipped(&self.held.skipped));
            }
        };
        // (A long line or joined data: `simdutf8`, see BENCHMARKS.md.)
        let data = match simdutf8::basic::from_utf8(raw) {
            Ok(text) => text,
            Err(_) => {
                let lossy = &mut self.held.lossy;
                lossy.clear();
                lossy.push_str(&String::from_utf8_lossy(raw));
                if lossy.len() >= self.max_event_len {
                    if !self.skip_oversized {
                        return Err(self.too_large());
                    }
                    // (`end_oversized`, on the fields that `raw` does not
                    // borrow.)
                    self.held.skipped = self.types.notice(type_index, lossy.len());
                    self.stream.give_back_id(&mut self.event.id_buffer);
                    return Ok(ItemRef::Skipped(&self.held.skipped));
                }
                &self.held.lossy
            }
        };
        let id = &self.stream.last_event_id;
        Ok(event_ref(&self.types, type_index, data, id))
    }

    /// An item other than an event, for `next_item_ref`.
    pub(in crate::parser) fn hold(&mut self, item: LineItem) -> ItemRef<'_> {
        match item {
            LineItem::Retry(time) => ItemRef::Retry(time),
            LineItem::Comment(text) => {
                self.held.comment = text;
                ItemRef::Comment(&self.held.comment)
            }
        }
    }
}

/// A borrowed event: its type is the one at `type_index` in `types`.
#[inline(always)]
fn event_ref<'a>(
    types: &'a TypeCache,
    type_index: Option<usize>,
    data: &'a str,
    last_event_id: &'a str,
) -> ItemRef<'a> {
    ItemRef::Event(EventRef {
        event_type: types.name(type_index),
        data,
        last_event_id,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::parser::fed::TEXT_FROM;
    use crate::parser::testing::*;

    /// Found by the `parse` fuzz target: the limit counts the decoded data,
    /// so invalid bytes, each a three-byte U+FFFD, count three times; with
    /// one `data` line or several, and with its final line feed.
    #[test]
    fn replacement_characters_count_against_the_event_limit() {
        let with = |limit| move || Parser::builder().max_event_len(limit).build();
        let error = |limit| Out::Error(ParseError::EventTooLarge { limit }.to_string());
        // One line: 7 invalid bytes are 21 bytes of data, 22 with the LF.
        let one = b"data:\xFF\xFF\xFF\xFF\xFF\xFF\xFF\n\n";
        check_with(with(21), one, &[error(21)]);
        check_with(with(22), one, &[ev("message", &"\u{FFFD}".repeat(7), "")]);
        // Two lines: 6 + 1 + 6 bytes of data, 14 with the LF.
        let two = b"data:\xFF\xFF\ndata:\xFF\xFF\n\n";
        check_with(with(13), two, &[error(13)]);
        let data = "\u{FFFD}\u{FFFD}\n\u{FFFD}\u{FFFD}";
        check_with(with(14), two, &[ev("message", data, "")]);
    }

    /// Found by the differential test of skip mode: a value completed in
    /// `partial` while events were taken owned, then taken borrowed, was
    /// read as text already decoded, so its replacement characters were not
    /// counted against the limit.
    #[test]
    fn a_value_decoded_ahead_counts_its_replacement_characters_when_borrowed() {
        for more in ["", "data\n"] {
            let mut parser = Parser::builder().max_event_len(6).build();
            parser.feed_slice(b"data:\xFF");
            assert!(parser.next_item().is_none());
            parser.feed_slice(b"\xFF\n");
            assert!(parser.next_item().is_none());
            parser.feed_slice(format!("{more}\n").as_bytes());
            assert!(
                matches!(
                    parser.next_item_ref(),
                    Some(Err(ParseError::EventTooLarge { limit: 6 }))
                ),
                "more: {more:?}"
            );
        }
    }

    #[test]
    fn long_single_line_values_share_one_copy_of_the_chunk_short_ones_are_copied() {
        // (The chunk is long enough to be validated as a whole.)
        let long = "x".repeat(SHARE_FROM.max(TEXT_FROM));
        let other = "z".repeat(SHARE_FROM + 1);
        let short = "y".repeat(SHARE_FROM - 1);
        let input = format!("data: {long}\n\ndata: {other}\n\ndata: {short}\n\n");
        let mut parser = Parser::new();
        parser.feed(Bytes::from(input.clone()));
        let mut data = Vec::new();
        while let Some(Ok(Item::Event(event))) = parser.next_item() {
            data.push(event.into_data().into_bytes());
        }
        assert_eq!(data[0], long.as_bytes());
        assert_eq!(data[1], other.as_bytes());
        assert_eq!(data[2], short.as_bytes());
        // The two long values lie in one buffer, as far apart as in the input.
        let apart = input.find(&other).unwrap() - input.find(&long).unwrap();
        assert_eq!(data[1].as_ptr() as usize - data[0].as_ptr() as usize, apart);
        // The short one has its own.
        let shared = data[0].as_ptr_range().start..data[1].as_ptr_range().end;
        assert!(
            !shared.contains(&data[2].as_ptr()),
            "a short value is copied"
        );
    }
}
