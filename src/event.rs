//! Plain data: the events a stream delivers.

use std::sync::Arc;

use bytestring::ByteString;
use ecow::EcoString;

use crate::response::ResponseHead;

/// The event type given to events without an `event:` field.
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// One dispatched server-sent event: what a browser hands to a
/// `MessageEvent` listener.
///
/// Cloning is cheap: the type and ID are kept inline up to 15 bytes and
/// reference-counted beyond, and data is shared or short. Long single-line
/// data from a large chunk shares one validated copy of that chunk with the
/// other events in it, and other data of 1 KiB or more is reference-counted
/// too, so a clone shares it; shorter data is copied (cheaper than
/// sharing), and so is a clone of it. A long event type or ID that repeats
/// is shared between events, so an event allocates for its data at most.
/// For no allocation at all, see
/// [`Parser::next_item_ref`](crate::parser::Parser::next_item_ref).
#[derive(Clone)]
pub struct MessageEvent {
    /// Empty for the default type, "message".
    event_type: EcoString,
    data: EventData,
    last_event_id: EcoString,
}

/// A message's data, kept as the parser made it.
///
/// A copy is a plain allocation: as a `ByteString` (a `Bytes` made from a
/// `Vec`) it cost 60-80 more instructions per event to build and to drop
/// (BENCHMARKS.md, session 13), and most events' data is copied (short
/// values, every value of a chunk under 1 KiB, joined lines).
#[derive(Clone, Debug)]
pub(crate) enum EventData {
    /// Copied out of the input, or joined from several lines.
    Copied(Box<str>),
    /// A slice of a validated chunk (or a value the caller made).
    Shared(ByteString),
}

impl EventData {
    /// A copy at least this long is reference-counted, so that a clone
    /// shares it: beside copying it, building a `ByteString` costs little.
    pub(crate) const SHARE_FROM: usize = 1024;

    /// A copy the parser made: kept as it is when shorter than
    /// [`SHARE_FROM`](Self::SHARE_FROM), shared otherwise (without copying
    /// it again).
    #[inline]
    pub(crate) fn copied(text: Box<str>) -> Self {
        if text.len() < Self::SHARE_FROM {
            Self::Copied(text)
        } else {
            Self::Shared(Self::Copied(text).into_shared())
        }
    }

    /// The data as a `ByteString`, without a copy.
    pub(crate) fn into_shared(self) -> ByteString {
        match self {
            Self::Copied(text) => String::from(text).into(),
            Self::Shared(text) => text,
        }
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Copied(text) => text,
            Self::Shared(text) => text,
        }
    }
}

impl MessageEvent {
    /// Builds an event, for tests and for code that produces events itself.
    ///
    /// ```
    /// let event = ssefeed::MessageEvent::new("update", "42", "7");
    /// assert_eq!(event.event_type(), "update");
    /// assert_eq!(event.data(), "42");
    /// assert_eq!(event.last_event_id(), "7");
    /// ```
    pub fn new(
        event_type: impl AsRef<str>,
        data: impl Into<ByteString>,
        last_event_id: impl AsRef<str>,
    ) -> Self {
        Self {
            event_type: type_name(event_type.as_ref()),
            data: EventData::Shared(data.into()),
            last_event_id: last_event_id.as_ref().into(),
        }
    }

    pub(crate) fn from_parts(
        event_type: EcoString,
        data: EventData,
        last_event_id: EcoString,
    ) -> Self {
        Self {
            event_type,
            data,
            last_event_id,
        }
    }

    /// The event type: the last `event:` field's value, or `"message"` when
    /// there was none (or it was empty).
    pub fn event_type(&self) -> &str {
        or_default_type(&self.event_type)
    }

    /// The data: every `data:` field's value, joined with `"\n"`.
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The last event ID when this event was dispatched: the most recent
    /// `id:` field of this stream, which need not be in this event.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Takes the data out without copying it.
    pub fn into_data(self) -> ByteString {
        self.data.into_shared()
    }

    /// Deserializes the data as JSON.
    ///
    /// # Errors
    ///
    /// The data is not valid JSON for `T`.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Tick { price: f64 }
    ///
    /// let event = ssefeed::MessageEvent::new("tick", r#"{"price": 1.5}"#, "");
    /// let tick: Tick = event.json()?;
    /// assert_eq!(tick.price, 1.5);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json<'de, T: serde::Deserialize<'de>>(&'de self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data())
    }
}

impl PartialEq for MessageEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event_type() == other.event_type()
            && self.data() == other.data()
            && self.last_event_id() == other.last_event_id()
    }
}

impl Eq for MessageEvent {}

impl std::hash::Hash for MessageEvent {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.event_type().hash(state);
        self.data().hash(state);
        self.last_event_id().hash(state);
    }
}

impl std::fmt::Debug for MessageEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageEvent")
            .field("event_type", &self.event_type())
            .field("data", &self.data())
            .field("last_event_id", &self.last_event_id())
            .finish()
    }
}

/// How an event type is kept: empty for the default, "message".
fn type_name(event_type: &str) -> EcoString {
    if event_type == DEFAULT_EVENT_TYPE {
        EcoString::new()
    } else {
        event_type.into()
    }
}

/// The event type that `type_name` kept: "message" when empty.
#[inline]
fn or_default_type(event_type: &str) -> &str {
    if event_type.is_empty() {
        DEFAULT_EVENT_TYPE
    } else {
        event_type
    }
}

/// An event that was too large to keep, and was skipped: what the parser
/// hands out in its place when
/// [`ParserBuilder::skip_oversized_events`](crate::parser::ParserBuilder::skip_oversized_events)
/// is on ([`Item::Skipped`](crate::parser::Item::Skipped),
/// [`Event::Skipped`]).
///
/// Its data was counted, not kept. Its `id:` field was not adopted: the last
/// event ID is still the one before it, so a client that resumes from there
/// asks for it again.
///
/// ```
/// use ssefeed::parser::{Item, Parser};
///
/// let mut parser = Parser::builder()
///     .max_event_len(16)
///     .skip_oversized_events(true)
///     .build();
/// parser.feed_slice(b"id: 1\ndata: a\n\nevent: big\nid: 2\ndata: 0123456789\ndata: 0123456789\n\n");
/// let mut items = Vec::new();
/// while let Some(item) = parser.next_item() {
///     items.push(item?);
/// }
/// let Item::Skipped(skipped) = &items[1] else { panic!("{items:?}") };
/// assert_eq!(skipped.event_type(), "big");
/// assert_eq!(skipped.len(), 21); // the two values and the LF between them
/// assert_eq!(parser.last_event_id(), "1"); // the skipped event's id is not adopted
/// # Ok::<(), ssefeed::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SkippedEvent {
    /// Empty for the default type, "message".
    event_type: EcoString,
    len: usize,
}

impl SkippedEvent {
    /// Builds a notice, for tests and for code that produces events itself.
    ///
    /// ```
    /// let skipped = ssefeed::SkippedEvent::new("update", 20_000_000);
    /// assert_eq!(skipped.event_type(), "update");
    /// assert_eq!(skipped.len(), 20_000_000);
    /// ```
    pub fn new(event_type: impl AsRef<str>, len: usize) -> Self {
        Self::from_parts(type_name(event_type.as_ref()), len)
    }

    pub(crate) fn from_parts(event_type: EcoString, len: usize) -> Self {
        Self { event_type, len }
    }

    /// The event type, as far as it is known: the last `event:` field's
    /// value, or `"message"` when there was none, it was empty, or the last
    /// one was itself too long to read.
    pub fn event_type(&self) -> &str {
        or_default_type(&self.event_type)
    }

    /// How many bytes the data would have had: its `data:` values joined
    /// with `"\n"` and decoded, as [`MessageEvent::data`]`().len()` would
    /// have been.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the data would have been empty (the event had only empty
    /// `data` fields, and was skipped for a too-long `event:` or `id:`
    /// line).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for SkippedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkippedEvent")
            .field("event_type", &self.event_type())
            .field("len", &self.len)
            .finish()
    }
}

/// The `readyState` of an event source, as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// Connected: the server answered 200 with `text/event-stream`.
    Open,
    /// Closed for good: by [`close`](crate::machine::Machine::close), a 204,
    /// the end of a one-shot stream, or an error.
    Closed,
}

/// What an event source yields: the spec's `open` and `message` events, and
/// the reconnects a browser reports as `error` events while it keeps trying.
///
/// Reconnects are events, not errors, so a consumer's `?` ends its loop only
/// on a real failure.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A connection was announced: the server answered 200 with
    /// `text/event-stream`. Messages of that connection follow. The
    /// [`ResponseHead`] is that response: its status, headers (request IDs,
    /// rate limits, cookies), the URL after redirects and the HTTP version.
    Open(ResponseHead),
    /// A message event.
    Message(MessageEvent),
    /// A comment line (keep-alive), without the colon and one leading space;
    /// only when comments were asked for.
    Comment(ByteString),
    /// An event too large to keep was skipped; only when
    /// [`skip_oversized_events`](crate::EventSourceBuilder::skip_oversized_events)
    /// is on (otherwise it fails the stream). Its ID was not adopted, so a
    /// reconnect asks for it again.
    Skipped(SkippedEvent),
    /// The connection was lost (or the server ended the stream, or did not
    /// answer in time) and will be retried after `delay`.
    #[non_exhaustive]
    Reconnecting {
        /// Why the connection was lost. Shared with the client's request
        /// factory (`RequestContext::cause`), which may act on it (refresh a
        /// token after a 401, say).
        error: Arc<crate::Error>,
        /// How long until the next attempt.
        delay: std::time::Duration,
        /// Which attempt in a row without an event the next one is, from 1.
        attempt: u32,
        /// What the connection that ended did (its bytes, its events, when
        /// its first event came). Boxed: an `Event` stays as small as a
        /// message, which every event is moved as.
        stats: Box<crate::ConnectionStats>,
    },
}

/// Why an event source closed for good: see
/// [`Machine::close_reason`](crate::machine::Machine::close_reason).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The server answered `204 No Content`, the spec's way to tell a client
    /// to stop reconnecting; this is its response.
    NoContent(ResponseHead),
    /// A one-shot stream's body ended at an event boundary.
    Completed,
    /// Its user closed the source
    /// ([`close`](crate::machine::Machine::close), or `EventSource::close`).
    ClosedByUser,
    /// A final error was yielded.
    Failed,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoContent(_) => f.write_str("server ended the feed (204 No Content)"),
            Self::Completed => f.write_str("the stream ended"),
            Self::ClosedByUser => f.write_str("closed by its user"),
            Self::Failed => f.write_str("failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_as_small_as_a_message() {
        // Every event is moved through `poll_next` as one: a larger variant
        // costs each message a copy (a boxed reconnect's stats cost none).
        assert!(size_of::<Event>() <= size_of::<MessageEvent>() + 8);
    }

    /// The two events that `input`, fed as one chunk, dispatches.
    fn parse(input: String) -> [MessageEvent; 2] {
        let mut parser = crate::parser::Parser::new();
        parser.feed(bytes::Bytes::from(input));
        let mut events = Vec::new();
        while let Some(item) = parser.next_item() {
            if let crate::parser::Item::Event(event) = item.unwrap() {
                events.push(event);
            }
        }
        events.try_into().unwrap()
    }

    #[test]
    fn copied_and_shared_data_read_compare_and_hash_alike() {
        use std::hash::BuildHasher;
        let long = "x".repeat(100);
        // A chunk over 1 KiB is validated whole, and its long values are
        // slices of it; a short value is copied.
        let pad = ": ".to_owned() + &"p".repeat(1100) + "\n";
        let [short, shared] = parse(format!("{pad}data: hi\n\ndata: {long}\n\n"));
        assert!(matches!(short.data, EventData::Copied(_)));
        assert!(matches!(shared.data, EventData::Shared(_)));
        let hasher = std::hash::RandomState::new();
        for (parsed, text) in [(short, "hi"), (shared, long.as_str())] {
            let made = MessageEvent::new("message", text.to_owned(), "");
            assert_eq!(parsed, made);
            assert_eq!(hasher.hash_one(&parsed), hasher.hash_one(&made));
            assert_eq!(parsed.clone().data(), text);
            assert_eq!(&*parsed.into_data(), text);
        }
    }

    #[test]
    fn copied_data_of_1_kib_or_more_is_shared_by_clones() {
        let half = "y".repeat(EventData::SHARE_FROM / 2);
        // Joined from two lines: copied, then shared when long.
        let [short, long] = parse(format!(
            "data: a\ndata: b\n\ndata: {half}\ndata: {half}\n\n"
        ))
        .map(|event| event.data);
        assert!(matches!(&short, EventData::Copied(text) if &**text == "a\nb"));
        assert!(matches!(&long, EventData::Shared(_)));
        assert_eq!(long.as_str(), format!("{half}\n{half}"));
    }

    #[test]
    fn a_message_is_at_most_64_bytes() {
        // The data and two 16-byte strings: with 24-byte ones (80 bytes in
        // all) the hot loop copied each message instead of building it where
        // it is returned, 75 more instructions per event on a bulk LLM
        // stream (BENCHMARKS.md, session 12).
        assert!(size_of::<MessageEvent>() <= 64);
    }
}
