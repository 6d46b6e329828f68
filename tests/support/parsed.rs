//! The parser tests' harness: what a parse produced, in a comparable form,
//! and the two ways of draining a parser into it. Included by path
//! (`#[path = "support/parsed.rs"]`) in the parser-only test files, which do
//! not need the client that `support/mod.rs` is built on.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::time::Duration;

use ssefeed::parser::{Item, ItemRef, ParseError, Parser, StreamEnd};

/// What parsing produced, in an order-preserving, comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// An event: type, data, last event ID.
    Event(String, String, String),
    /// A `retry:` in milliseconds.
    Retry(u64),
    /// A comment (only with `comments(true)`).
    Comment(String),
    /// An error, as `"line"` or `"event"`.
    Error(&'static str),
    /// A skipped event (only with `skip_oversized_events(true)`): its type
    /// and the length its data would have had.
    Skipped(String, usize),
    /// The end of one stream: how it ended, the parser's last event ID and
    /// reconnection time afterwards (what a client would send as
    /// `Last-Event-ID` and wait before reconnecting).
    End(Option<StreamEnd>, String, Option<u64>),
}

/// An event of type `kind`.
pub fn ev(kind: &str, data: &str, id: &str) -> Out {
    Out::Event(kind.into(), data.into(), id.into())
}

/// A `retry:` time in whole milliseconds.
pub fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).expect("retry fits u64")
}

/// The end of a stream, as the parser reports it.
pub fn end_of(parser: &Parser) -> Out {
    Out::End(
        parser.stream_end(),
        parser.last_event_id().to_owned(),
        parser.reconnection_time().map(millis),
    )
}

fn error(error: ParseError) -> Out {
    match error {
        ParseError::LineTooLong { .. } => Out::Error("line"),
        ParseError::EventTooLarge { .. } => Out::Error("event"),
        other => panic!("unexpected error {other:?}"),
    }
}

/// The comparable form of what `next_item` returned.
pub fn out_of(item: Result<Item, ParseError>) -> Out {
    match item {
        Ok(Item::Event(e)) => ev(e.event_type(), e.data(), e.last_event_id()),
        Ok(Item::Retry(time)) => Out::Retry(millis(time)),
        Ok(Item::Comment(text)) => Out::Comment(text.to_string()),
        Ok(Item::Skipped(skipped)) => Out::Skipped(skipped.event_type().into(), skipped.len()),
        Ok(other) => panic!("unexpected item {other:?}"),
        Err(e) => error(e),
    }
}

/// Drains with `next_item`.
pub fn drain(parser: &mut Parser, out: &mut Vec<Out>) {
    while let Some(item) = parser.next_item() {
        out.push(out_of(item));
    }
}

/// Takes every item the input completes, as many as a clone of the parser
/// gives, but never the `None` after them: a caller that knows how many
/// items to expect and feeds again at once.
pub fn drain_without_none(parser: &mut Parser, out: &mut Vec<Out>) {
    let mut ahead = parser.clone();
    let mut count = 0;
    while ahead.next_item().is_some() {
        count += 1;
    }
    for _ in 0..count {
        out.push(out_of(parser.next_item().expect("an item the clone had")));
    }
}

/// Drains with `next_item_ref`, which must give what `next_item` gives.
pub fn drain_ref(parser: &mut Parser, out: &mut Vec<Out>) {
    while let Some(item) = parser.next_item_ref() {
        out.push(match item {
            Ok(ItemRef::Event(e)) => ev(e.event_type(), e.data(), e.last_event_id()),
            Ok(ItemRef::Retry(time)) => Out::Retry(millis(time)),
            Ok(ItemRef::Comment(text)) => Out::Comment(text.to_owned()),
            Ok(ItemRef::Skipped(skipped)) => {
                Out::Skipped(skipped.event_type().into(), skipped.len())
            }
            Ok(other) => panic!("unexpected item {other:?}"),
            Err(e) => error(e),
        });
    }
}
