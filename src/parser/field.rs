//! The fields of a line: `data`, `event`, `id`, `retry`, comments.

use std::time::Duration;

use super::error::ParseError;

use super::buffers::{At, EventBuffers};
use super::item::LineItem;
use super::text::decode;

/// Where the value of a line that starts with `data:` starts: after the
/// colon and one space, if there is one.
#[inline(always)]
pub(super) fn data_value_start(line: &[u8]) -> usize {
    5 + usize::from(line.get(5) == Some(&b' '))
}

impl EventBuffers {
    /// Processes one line that is not blank, without its line ending. `at`
    /// says where it lies; `input` is the input being read (where a data
    /// value read earlier may lie).
    ///
    /// <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>
    #[inline]
    pub(super) fn line(
        &mut self,
        input: &[u8],
        line: &[u8],
        at: At<'_>,
    ) -> Option<Result<LineItem, ParseError>> {
        // "If the line is empty (a blank line): Dispatch the event." (The
        // caller does, with `begin_dispatch`.)
        let Some(&first) = line.first() else {
            debug_assert!(false, "blank lines are dispatched by the caller");
            return None;
        };
        // "If the line starts with a U+003A COLON character (:): Ignore the line."
        if first == b':' {
            if !self.comments {
                return None;
            }
            let from = 1 + usize::from(line.get(1) == Some(&b' '));
            let handed = match at {
                At::Handed(chunk) => Some(chunk.slice(from..)),
                _ => None,
            };
            return Some(Ok(LineItem::Comment(decode(&line[from..], handed))));
        }
        // "If the line contains a U+003A COLON character (:)": the field name
        // is before it, the value after it with one leading space removed.
        // Otherwise the whole line is the name and the value is empty. The
        // known names have at most five bytes, so a colon further in means an
        // unknown field either way: only the first six bytes are searched.
        // The common case first: a `data:` line.
        if line.starts_with(b"data:") {
            let value_start = data_value_start(line);
            return self
                .append_data(input, line, value_start, at)
                .err()
                .map(Err);
        }
        let (name, value_start) = if line.starts_with(b"id:") {
            (&b"id"[..], 3 + usize::from(line.get(3) == Some(&b' ')))
        } else if line.starts_with(b"event:") {
            (&b"event"[..], 6 + usize::from(line.get(6) == Some(&b' ')))
        } else {
            match line.iter().take(6).position(|&b| b == b':') {
                Some(colon) => (
                    &line[..colon],
                    colon + 1 + usize::from(line.get(colon + 1) == Some(&b' ')),
                ),
                None => (line, line.len()),
            }
        };
        let value = &line[value_start..];
        match name {
            // "Append the field value to the data buffer, then append a single
            // U+000A LINE FEED (LF) character to the data buffer."
            b"data" => self
                .append_data(input, line, value_start, at)
                .err()
                .map(Err),
            // "Set the event type buffer to the field value."
            b"event" => {
                self.event_type = self.type_index(value);
                None
            }
            // "If the field value does not contain U+0000 NULL, then set the
            // last event ID buffer to the field value. Otherwise, ignore the
            // field."
            b"id" => {
                // (Short values are the rule: a plain loop beats a call to
                // a memchr, which `contains` makes.)
                #[allow(clippy::manual_contains)]
                let nul = if value.len() < 32 {
                    value.iter().any(|&b| b == 0)
                } else {
                    memchr::memchr(0, value).is_some()
                };
                if !nul {
                    self.id_buffer.clear();
                    match std::str::from_utf8(value) {
                        Ok(text) => self.id_buffer.push_str(text),
                        Err(_) => self.id_buffer.push_str(&String::from_utf8_lossy(value)),
                    }
                    self.id_set = true;
                }
                None
            }
            // "If the field value consists of only ASCII digits, then interpret
            // the field value as an integer in base ten, and set the event
            // stream's reconnection time to that integer." An empty value has
            // no digits to interpret, and one too large for a u64 is ignored,
            // as Chromium does.
            b"retry" => {
                if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let millis = value.iter().try_fold(0u64, |acc, &digit| {
                    acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
                })?;
                let time = Duration::from_millis(millis);
                self.reconnection_time = Some(time);
                Some(Ok(LineItem::Retry(time)))
            }
            // "Otherwise: The field is ignored."
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::testing::*;

    #[test]
    fn fields_without_colon_and_with_leading_space() {
        check(
            "data\n\ndata:\n\ndata:  two spaces\n\ndata:no space\n\n",
            &[
                ev("message", "", ""),
                ev("message", "", ""),
                ev("message", " two spaces", ""),
                ev("message", "no space", ""),
            ],
        );
        check("data\ndata\n\n", &[ev("message", "\n", "")]);
        check("data: a:b: c\n\n", &[ev("message", "a:b: c", "")]);
    }

    #[test]
    fn comments_are_ignored_unless_asked_for() {
        check(": hi\n:\ndata: x\n:ignored\n\n", &[ev("message", "x", "")]);
        let with = || Parser::builder().comments(true).build();
        check_with(
            with,
            b": hi\n:\n:x\n\n",
            &[
                Out::Comment("hi".into()),
                Out::Comment("".into()),
                Out::Comment("x".into()),
            ],
        );
    }

    /// Found by the `chunking` fuzz target: `event: message` fills the event
    /// type buffer like any other type, so a stream that ends after it was
    /// cut inside an event.
    #[test]
    fn explicit_message_type_is_pending_at_the_end() {
        let (_, end) = check("event: message\r", &[]);
        assert_eq!(end, Some(StreamEnd::Truncated));
        let (_, end) = check("event:\n", &[]);
        assert_eq!(end, Some(StreamEnd::Complete));
        check("event: message\ndata: x\n\n", &[ev("message", "x", "")]);
    }

    #[test]
    fn retry_accepts_only_ascii_digits_and_ignores_overflow() {
        check(
            "retry: 1500\nretry: +5\nretry:  5\nretry: 5x\nretry:\nretry: 0\nretry: 18446744073709551616\nretry: 18446744073709551615\n",
            &[Out::Retry(1500), Out::Retry(0), Out::Retry(u64::MAX)],
        );
        let mut parser = Parser::new();
        parser.feed_slice(b"retry: 42\n");
        assert!(
            matches!(parser.next_item(), Some(Ok(Item::Retry(t))) if t == Duration::from_millis(42))
        );
        assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(42)));
    }

    #[test]
    fn unknown_fields_and_case_are_ignored() {
        check("Data: x\nDATA: y\nfoo: bar\ndata : z\n\n", &[]);
    }
}
