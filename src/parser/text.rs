//! UTF-8 validation and lossy decoding.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;

use super::input::Fed;

/// A chunk at least this long is validated as UTF-8 as a whole (see
/// `Parser::check_text`).
pub(super) const TEXT_FROM: usize = 1024;

/// The validated text of a chunk when the input is not a chunk.
pub(super) static NO_TEXT: ByteString = ByteString::new();

impl Fed {
    /// Validates the chunk as UTF-8 once, when a value in it is first
    /// decoded: afterwards a value in its valid part is a `&str` slice of
    /// `text`, with no validation of its own (which, for short values, costs
    /// more than the pass over the whole chunk). `text` is a copy of the valid
    /// part: why, in BENCHMARKS.md ("Where the measured choices live").
    pub(super) fn check_text(&mut self) {
        // (A small chunk, an event or so, is not worth a copy: its values
        // are validated one by one.)
        if self.text_checked || self.in_copied || self.chunk.len() < TEXT_FROM {
            return;
        }
        self.text_checked = true;
        let valid = match simdutf8::basic::from_utf8(&self.chunk) {
            Ok(text) => text,
            Err(_) => {
                let end = simdutf8::compat::from_utf8(&self.chunk)
                    .map_or_else(|error| error.valid_up_to(), str::len);
                simdutf8::basic::from_utf8(&self.chunk[..end]).unwrap_or_default()
            }
        };
        self.text = ByteString::from(valid);
    }
}

/// UTF-8 decodes `value` with replacement: `shared` (the same bytes in a
/// chunk) when given and valid, else a copy.
#[inline]
pub(super) fn decode(value: &[u8], shared: Option<Bytes>) -> ByteString {
    if let Some(shared) = shared
        && let Ok(text) = ByteString::try_from(shared)
    {
        return text;
    }
    match simdutf8::basic::from_utf8(value) {
        Ok(text) => ByteString::from(text),
        Err(_) => ByteString::from(String::from_utf8_lossy(value).into_owned()),
    }
}

pub(super) fn decode_arc(bytes: &[u8]) -> Arc<str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Arc::from(text),
        Err(_) => Arc::from(String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::testing::*;

    #[test]
    fn invalid_utf8_becomes_replacement_characters_at_any_split() {
        check_with(
            Parser::new,
            b"data: a\xFFb\n\ndata: \xE2\x82\n\n",
            &[
                ev("message", "a\u{FFFD}b", ""),
                ev("message", "\u{FFFD}", ""),
            ],
        );
        check_with(
            Parser::new,
            "data: \u{20AC}\u{1F600}\n\n".as_bytes(),
            &[ev("message", "\u{20AC}\u{1F600}", "")],
        );
        check_with(
            Parser::new,
            b"event: \xC3\ndata: x\n\n",
            &[ev("\u{FFFD}", "x", "")],
        );
        check_with(
            Parser::new,
            b"data: 1\ndata: \xC3(\n\n",
            &[ev("message", "1\n\u{FFFD}(", "")],
        );
    }

    #[test]
    fn a_slice_fed_after_a_read_chunk_does_not_use_its_text() {
        // The chunk is read to its end (its text validated for the event)
        // but not let go of, as no `None` was taken yet; the slice after it
        // is read from the copy.
        for by_ref in [false, true] {
            let mut parser = Parser::new();
            parser.feed(Bytes::from_static(b"data: first value\n\n"));
            let first = if by_ref {
                parser.next_item_ref().map(|item| match item {
                    Ok(ItemRef::Event(event)) => event.data().to_owned(),
                    other => panic!("{other:?}"),
                })
            } else {
                parser.next_item().map(|item| match item {
                    Ok(Item::Event(event)) => event.data().to_owned(),
                    other => panic!("{other:?}"),
                })
            };
            assert_eq!(first.as_deref(), Some("first value"));
            parser.feed_slice(b"data: second\n\n");
            let mut out = Vec::new();
            drain(&mut parser, &mut out);
            assert_eq!(out, [ev("message", "second", "")], "by_ref: {by_ref}");
        }
    }
}
