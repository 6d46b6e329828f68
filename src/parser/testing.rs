//! The unit tests' harness: parse at every split and compare.

pub(super) use super::ParseError;
pub(super) use super::{Item, ItemRef, Parser, StreamEnd};

/// What a parse produced, in a form easy to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Out {
    Event(String, String, String),
    Retry(u64),
    Comment(String),
    Error(String),
    /// A skipped event: its type and length.
    Skipped(String, usize),
}

pub(super) fn ev(kind: &str, data: &str, id: &str) -> Out {
    Out::Event(kind.into(), data.into(), id.into())
}

pub(super) fn drain(parser: &mut Parser, out: &mut Vec<Out>) {
    while let Some(item) = parser.next_item() {
        out.push(match item {
            Ok(Item::Event(e)) => ev(e.event_type(), e.data(), e.last_event_id()),
            Ok(Item::Retry(time)) => Out::Retry(time.as_millis() as u64),
            Ok(Item::Comment(text)) => Out::Comment(text.to_string()),
            Ok(Item::Skipped(skipped)) => Out::Skipped(skipped.event_type().into(), skipped.len()),
            Err(error) => Out::Error(error.to_string()),
        });
    }
}

/// [`drain`] with `next_item_ref`.
pub(super) fn drain_ref(parser: &mut Parser, out: &mut Vec<Out>) {
    while let Some(item) = parser.next_item_ref() {
        out.push(match item {
            Ok(ItemRef::Event(e)) => ev(e.event_type(), e.data(), e.last_event_id()),
            Ok(ItemRef::Retry(time)) => Out::Retry(time.as_millis() as u64),
            Ok(ItemRef::Comment(text)) => Out::Comment(text.to_owned()),
            Ok(ItemRef::Skipped(skipped)) => {
                Out::Skipped(skipped.event_type().into(), skipped.len())
            }
            Err(error) => Out::Error(error.to_string()),
        });
    }
}

pub(super) fn parse_chunks(
    mut parser: Parser,
    chunks: &[&[u8]],
) -> (Vec<Out>, String, Option<StreamEnd>) {
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed_slice(chunk);
        drain(&mut parser, &mut out);
    }
    parser.finish();
    drain(&mut parser, &mut out);
    (out, parser.last_event_id().to_owned(), parser.stream_end())
}

/// Parses `input` whole, a byte at a time, and split at every index, with
/// `make` building each parser, and checks every way gives `expected`.
pub(super) fn check_with(
    make: impl Fn() -> Parser,
    input: &[u8],
    expected: &[Out],
) -> (String, Option<StreamEnd>) {
    let whole = parse_chunks(make(), &[input]);
    assert_eq!(
        whole.0,
        expected,
        "whole input {:?}",
        String::from_utf8_lossy(input)
    );
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(parse_chunks(make(), &bytes), whole, "byte at a time");
    for split in 0..=input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(parse_chunks(make(), &[a, b]), whole, "split at {split}");
    }
    (whole.1, whole.2)
}

pub(super) fn check(input: &str, expected: &[Out]) -> (String, Option<StreamEnd>) {
    check_with(Parser::new, input.as_bytes(), expected)
}
