//! The fields of a line: a pure classifier (`data`, `event`, `id`, `retry`,
//! comment, or ignored) and the rules for the values of `id` and `retry`.
//! What a field does to the event being built is in `buffers.rs`.
//!
//! <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>

use std::time::Duration;

use super::text::LossyLen;

/// What a line that is not blank is. Each variant holds where the value
/// starts in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Data(usize),
    Event(usize),
    Id(usize),
    Retry(usize),
    /// A comment: the text after the colon and one space.
    Comment(usize),
    /// Any other field name: "The field is ignored."
    Ignored,
}

/// Classifies a line that is not blank, without its line ending.
#[inline(always)]
pub(super) fn classify(line: &[u8]) -> Field {
    // "If the line is empty (a blank line): Dispatch the event." (The
    // callers do, with `begin_dispatch`.)
    debug_assert!(!line.is_empty(), "blank lines are dispatched by the caller");
    // "If the line starts with a U+003A COLON character (:): Ignore the line."
    // (Unless comments are reported.)
    if line.first() == Some(&b':') {
        return Field::Comment(value_start(line, 0));
    }
    // The common case first, without a search for the colon.
    if let Some(start) = data_value(line) {
        return Field::Data(start);
    }
    if line.starts_with(b"id:") {
        return Field::Id(value_start(line, 2));
    }
    if line.starts_with(b"event:") {
        return Field::Event(value_start(line, 5));
    }
    // "If the line contains a U+003A COLON character (:)": the field name is
    // before it. Otherwise the whole line is the name and the value is
    // empty. The known names have at most five bytes, so a colon further in
    // means an unknown field either way: only the first six bytes are
    // searched.
    let (name, start) = match line.iter().take(6).position(|&b| b == b':') {
        Some(colon) => (&line[..colon], value_start(line, colon)),
        None => (line, line.len()),
    };
    match name {
        b"data" => Field::Data(start),
        b"event" => Field::Event(start),
        b"id" => Field::Id(start),
        b"retry" => Field::Retry(start),
        _ => Field::Ignored,
    }
}

/// Where the value of a line that starts with `data:` starts, or `None`
/// for any other line: the test for the most common line, which the read
/// loop makes before anything else.
#[inline(always)]
pub(super) fn data_value(line: &[u8]) -> Option<usize> {
    line.starts_with(b"data:").then(|| value_start(line, 4))
}

/// Where the value starts after the colon at `colon`: "If value starts with
/// a U+0020 SPACE character, remove it from value." (The one optional space,
/// for every field and comments.)
#[inline(always)]
fn value_start(line: &[u8], colon: usize) -> usize {
    colon + 1 + usize::from(line.get(colon + 1) == Some(&b' '))
}

/// "If the field value does not contain U+0000 NULL, then set the last
/// event ID buffer to the field value. Otherwise, ignore the field."
#[inline]
pub(super) fn is_valid_id(value: &[u8]) -> bool {
    // (Short values are the rule: a plain loop beats a call to a memchr,
    // which `contains` makes.)
    #[allow(clippy::manual_contains)]
    let nul = if value.len() < 32 {
        value.iter().any(|&b| b == 0)
    } else {
        memchr::memchr(0, value).is_some()
    };
    !nul
}

/// "If the field value consists of only ASCII digits, then interpret the
/// field value as an integer in base ten, and set the event stream's
/// reconnection time to that integer." An empty value has no digits to
/// interpret, and one too large for a u64 is ignored, as Chromium does.
pub(super) fn retry_time(value: &[u8]) -> Option<Duration> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let millis = value.iter().try_fold(0u64, |acc, &digit| {
        acc.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    Some(Duration::from_millis(millis))
}

/// Enough of a line's first bytes to classify it and find where its value
/// starts: the known field names have at most five bytes, and a value starts
/// at most two bytes after its colon.
const HEAD: usize = 8;

/// A line over the limit, being read through: its first bytes and its
/// decoded length so far.
#[derive(Debug, Clone, Default)]
pub(super) struct LongLine {
    head: [u8; HEAD],
    head_len: usize,
    decoded: LossyLen,
}

impl LongLine {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        let take = (HEAD - self.head_len).min(bytes.len());
        self.head[self.head_len..self.head_len + take].copy_from_slice(&bytes[..take]);
        self.head_len += take;
        self.decoded.push(bytes);
    }

    /// What the line is, from its first bytes.
    pub(super) fn field(&self) -> Field {
        classify(&self.head[..self.head_len])
    }

    /// Its length once decoded.
    pub(super) fn decoded_len(&self) -> usize {
        self.decoded.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::testing::*;

    #[test]
    fn classifier_strips_one_optional_space_for_every_field() {
        for (line, field) in [
            (&b"data: x"[..], Field::Data(6)),
            (b"data:x", Field::Data(5)),
            (b"data", Field::Data(4)),
            (b"event:  x", Field::Event(7)),
            (b"id", Field::Id(2)),
            (b"id: 1", Field::Id(4)),
            (b"retry:5", Field::Retry(6)),
            (b": hi", Field::Comment(2)),
            (b":", Field::Comment(1)),
            (b"data : x", Field::Ignored),
            (b"Data: x", Field::Ignored),
            (b"datum: x", Field::Ignored),
        ] {
            assert_eq!(classify(line), field, "{:?}", String::from_utf8_lossy(line));
        }
    }

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
