//! UTF-8 validation and lossy decoding.

use bytes::Bytes;
use bytestring::ByteString;
use ecow::EcoString;

/// UTF-8 decodes `value` with replacement: `shared` (the same bytes in a
/// chunk) when given and valid, else a copy.
#[inline]
pub(super) fn decode(value: &[u8], shared: Option<Bytes>) -> ByteString {
    if let Some(shared) = shared
        && let Ok(text) = ByteString::try_from(shared)
    {
        return text;
    }
    String::from(decode_copy(value)).into()
}

/// UTF-8 decodes a data value with replacement, into a copy.
#[inline]
pub(super) fn decode_copy(value: &[u8]) -> Box<str> {
    match simdutf8::basic::from_utf8(value) {
        Ok(text) => Box::from(text),
        Err(_) => String::from_utf8_lossy(value).into(),
    }
}

/// UTF-8 decodes a short value (an event type) with replacement, kept
/// inline when it is short.
pub(super) fn decode_small(bytes: &[u8]) -> EcoString {
    String::from_utf8_lossy(bytes).into()
}

/// The length of U+FFFD, which replaces each invalid sequence.
const REPLACEMENT_LEN: usize = '\u{FFFD}'.len_utf8();

/// The length that bytes would have once decoded with replacement (as
/// `String::from_utf8_lossy` decodes them), counted piece by piece: a
/// sequence split between pieces is completed from the next one.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LossyLen {
    len: usize,
    /// The start of a sequence that the pieces so far have not completed.
    carry: [u8; 4],
    carry_len: usize,
}

impl LossyLen {
    pub(super) fn push(&mut self, piece: &[u8]) {
        let mut at = 0;
        while self.carry_len > 0 && at < piece.len() {
            self.carry[self.carry_len] = piece[at];
            self.carry_len += 1;
            at += 1;
            match std::str::from_utf8(&self.carry[..self.carry_len]) {
                Ok(_) => {
                    self.len += self.carry_len;
                    self.carry_len = 0;
                }
                Err(error) => {
                    if let Some(bad) = error.error_len() {
                        // (The carry starts a sequence, so nothing before it
                        // is valid.) The bytes after the bad ones are read
                        // again.
                        self.len += REPLACEMENT_LEN;
                        at -= self.carry_len - bad;
                        self.carry_len = 0;
                    }
                }
            }
        }
        let mut rest = &piece[at..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.len += text.len();
                    return;
                }
                Err(error) => {
                    let valid = error.valid_up_to();
                    self.len += valid;
                    match error.error_len() {
                        Some(bad) => {
                            self.len += REPLACEMENT_LEN;
                            rest = &rest[valid + bad..];
                        }
                        None => {
                            let unfinished = &rest[valid..];
                            self.carry[..unfinished.len()].copy_from_slice(unfinished);
                            self.carry_len = unfinished.len();
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The length, once the bytes have ended: an unfinished sequence is one
    /// replacement character.
    pub(super) fn finish(self) -> usize {
        self.len
            + if self.carry_len > 0 {
                REPLACEMENT_LEN
            } else {
                0
            }
    }
}

/// The decoded length of `bytes`.
pub(super) fn lossy_len(bytes: &[u8]) -> usize {
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return text.len();
    }
    let mut len = LossyLen::default();
    len.push(bytes);
    len.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::testing::*;

    #[test]
    fn both_decoders_agree_with_the_standard_lossy_decoding_at_every_length() {
        // Around the lengths where a way of validating could change (the
        // SIMD width, `simdutf8`'s 64-byte threshold), with what a value can
        // end in: ASCII (a space too), a whole and a cut multi-byte
        // character, an invalid byte.
        let ends: [&[u8]; 7] = [
            b"x",
            b"x ",
            "\u{e9}".as_bytes(),
            "\u{1F600}".as_bytes(),
            b"\xF0\x9F\x98",
            b"\xFF",
            b"\xE2\x82 ",
        ];
        for len in 0_usize..=130 {
            for end in ends {
                let mut value = b"y".repeat(len.saturating_sub(end.len()));
                value.extend_from_slice(end);
                let expected = String::from_utf8_lossy(&value);
                assert_eq!(&*decode(&value, None), &*expected, "{value:?}");
                assert_eq!(&*decode_small(&value), &*expected, "{value:?}");
            }
        }
    }

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

    #[test]
    fn lossy_len_agrees_with_lossy_decoding_at_any_split() {
        let inputs: [&[u8]; 6] = [
            b"plain",
            b"\xFF\xFE",
            b"a\xE2\x82\xACb\xE2\x82c",
            b"\xF0\x9F\x98\x80\xF0\x9F\x98",
            b"\xED\xA0\x80\xC0\x80\xF4\x90\x80\x80",
            b"\xE2\x82\xE2\x82\xAC\x80",
        ];
        for input in inputs {
            let expected = String::from_utf8_lossy(input).len();
            assert_eq!(lossy_len(input), expected, "{input:?}");
            for a in 0..=input.len() {
                for b in a..=input.len() {
                    let mut len = LossyLen::default();
                    len.push(&input[..a]);
                    len.push(&input[a..b]);
                    len.push(&input[b..]);
                    assert_eq!(len.finish(), expected, "{input:?} split at {a}, {b}");
                }
            }
        }
    }
}
