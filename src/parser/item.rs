//! What the parser hands out.

use std::time::Duration;

use bytestring::ByteString;

use crate::event::{MessageEvent, SkippedEvent};

/// What [`Parser::next_item`](super::Parser::next_item) hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A dispatched event: a blank line ended a block with at least one
    /// `data` field.
    Event(MessageEvent),
    /// A `retry:` field set the reconnection time. Reported as soon as its
    /// line is parsed, not at the next dispatch, because the spec applies it
    /// at once.
    ///
    /// A value too large for a `u64` of milliseconds is ignored (as Chromium
    /// does); capping a large value is the client's policy.
    Retry(Duration),
    /// A comment line (one starting with `:`), without the colon and one
    /// leading space. Only reported when
    /// [`ParserBuilder::comments`](super::ParserBuilder::comments) is on; the
    /// spec ignores them, but servers send them as keep-alives.
    Comment(ByteString),
    /// In place of an event too large to keep, at the blank line that ends
    /// it: only with
    /// [`ParserBuilder::skip_oversized_events`](super::ParserBuilder::skip_oversized_events)
    /// (otherwise the parser fails). Its `id:` was not adopted.
    Skipped(SkippedEvent),
}

/// What [`Parser::next_item_ref`](super::Parser::next_item_ref) hands out: an
/// [`Item`] that borrows from the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemRef<'a> {
    /// A dispatched event, as [`Item::Event`].
    Event(EventRef<'a>),
    /// A `retry:` field, as [`Item::Retry`].
    Retry(Duration),
    /// A comment line, as [`Item::Comment`] (only with
    /// [`ParserBuilder::comments`](super::ParserBuilder::comments)).
    Comment(&'a str),
    /// An event too large to keep was skipped, as [`Item::Skipped`].
    Skipped(&'a SkippedEvent),
}

/// A dispatched event that borrows its strings from the parser, from
/// [`Parser::next_item_ref`](super::Parser::next_item_ref): the same accessors
/// as [`MessageEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    pub(super) event_type: &'a str,
    pub(super) data: &'a str,
    pub(super) last_event_id: &'a str,
}

impl<'a> EventRef<'a> {
    /// The event type: the last `event:` field's value, or `"message"`.
    pub fn event_type(&self) -> &'a str {
        self.event_type
    }

    /// The data: every `data:` field's value, joined with `"\n"`.
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The last event ID when this event was dispatched.
    pub fn last_event_id(&self) -> &'a str {
        self.last_event_id
    }

    /// An owned copy, to keep after the next call on the parser. (Not
    /// `to_owned`: `EventRef` is `Copy`, and `ToOwned::to_owned` would hand
    /// back another borrowed one.)
    ///
    /// ```
    /// use ssefeed::parser::{ItemRef, Parser};
    ///
    /// let mut parser = Parser::new();
    /// parser.feed_slice(b"event: tick\nid: 7\ndata: 42\n\n");
    /// let Some(Ok(ItemRef::Event(event))) = parser.next_item_ref() else { unreachable!() };
    /// let kept = event.to_message_event();
    /// assert!(parser.next_item_ref().is_none());
    /// assert_eq!((kept.event_type(), kept.data(), kept.last_event_id()), ("tick", "42", "7"));
    /// ```
    pub fn to_message_event(&self) -> MessageEvent {
        MessageEvent::new(self.event_type, self.data, self.last_event_id)
    }
}

/// How a finished stream ended, from
/// [`Parser::stream_end`](super::Parser::stream_end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEnd {
    /// The input ended at an event boundary: nothing was discarded.
    Complete,
    /// Something was discarded, as the spec says: an unterminated last line,
    /// or an event's `data`, `event` or `id` fields with no blank line after
    /// them. (A trailing comment or `retry:` line loses nothing.) For a
    /// request/response stream this means the body was cut short.
    Truncated,
}

/// What a line other than a blank one can make (events are made at the
/// blank line, by `take_owned` or `take_ref`).
#[derive(Debug)]
pub(super) enum LineItem {
    Retry(Duration),
    Comment(ByteString),
}

impl From<LineItem> for Item {
    fn from(item: LineItem) -> Self {
        match item {
            LineItem::Retry(time) => Self::Retry(time),
            LineItem::Comment(text) => Self::Comment(text),
        }
    }
}
