//! The sans-I/O event-stream parser: bytes in, events out.
//!
//! This is the WHATWG HTML standard's
//! [event stream interpretation](https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
//! and nothing else: no I/O, no async, no clock. Feed it chunks of any size
//! with [`Parser::feed`] and take what they complete with
//! [`Parser::next_item`]; the result does not depend on where the chunks were
//! split.
//!
//! ```
//! use ssefeed::parser::{Item, Parser};
//!
//! let mut parser = Parser::new();
//! let mut events = Vec::new();
//! // A CR at the end of one chunk and the LF at the start of the next are
//! // one line ending; the event is complete only at the blank line.
//! for chunk in ["event: add\r", "\ndata: 73857293\r\n", "id: 1\r\n\r\n", "data: par"] {
//!     parser.feed_slice(chunk.as_bytes());
//!     while let Some(item) = parser.next_item() {
//!         if let Item::Event(event) = item? {
//!             events.push(event);
//!         }
//!     }
//! }
//! parser.finish(); // the unfinished "data: par" is discarded, as the spec says
//! assert!(parser.next_item().is_none());
//!
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].event_type(), "add");
//! assert_eq!(events[0].data(), "73857293");
//! assert_eq!(events[0].last_event_id(), "1");
//! assert_eq!(parser.last_event_id(), "1");
//! # Ok::<(), ssefeed::Error>(())
//! ```
//!
//! [`Parser::next_item_ref`] is the same with events that borrow from the
//! parser ([`EventRef`]): no allocation or reference count per event, for
//! consumers that handle each event at once.
//!
//! # State and invariants
//!
//! Each piece of state, the type that owns it, and what it guarantees
//! (`debug_assert!`ed where that is cheap):
//!
//! - The input being read, `Parser::fed` (`Fed`, private fields): a fed
//!   chunk or the copy of fed slices, never both, and the read position,
//!   in `0..=len`. Every method that changes the bytes sets the position,
//!   and the read loop moves it only through a `Reader` (the bytes and the
//!   position borrowed together), so a position cannot outlive its bytes
//!   and a chunk read to its end cannot come back to be read again. The
//!   chunk's validated text is a copy of a prefix of it, dropped when the
//!   chunk changes.
//! - The unfinished line, `Parser::partial`: never a CR or LF (no byte is
//!   scanned twice); at most `max_line_len` bytes, as whatever adds to it
//!   checks the line so far (or the first two bytes of a byte order mark);
//!   while `Reading::Bom`, a proper prefix of the byte order mark.
//! - `Parser::stash`: a long unfinished line at the end of a fed slice,
//!   only while the input being read ends at a line end; `partial` once
//!   that input is read.
//! - `Parser::pending_cr`: the last line ended with a CR at the end of the
//!   input, so a LF that starts the next belongs to it; only while
//!   `partial` is empty.
//! - `Parser::reading` (`Reading`): `Bom` at the start of a stream,
//!   `Lines`, or `LongLine` (skip mode: `partial` is empty, `Parser::long`
//!   counts the line). `Parser::lifecycle` (`Lifecycle`): once `Ended`
//!   or `Failed`, nothing more is returned until `reset`.
//! - The event being built, what the stream committed and what a borrowed
//!   item holds: `EventBuffers`, private fields in four groups, changed
//!   only by its methods (in `buffers.rs` and its two children):
//!   - `Building`, the event being built: `data_len` counts the data's raw
//!     bytes and is at most `max_event_len`, at it while the event is
//!     oversized (skip mode, `Data::Oversized`), so that each of its `data`
//!     lines takes the cold path of `grow_data`. A value that lies in the
//!     input (`Data::InInput`) is copied out (`detach`) before that input is
//!     let go of or moved. The id buffer means something only while
//!     `id_set`.
//!   - `Committed`, what the stream committed (kept by `reset`): the last
//!     event ID and its shared copy (none, or the same string),
//!     `event_had_id`, the reconnection time.
//!   - `Held`, what the last borrowed item borrows: replaced by the next.
//!   - `TypeCache`: the event type buffer is always one of its types.
//!
//!   How events are taken (`Taking`) changes where bytes are kept, never
//!   what is returned.
//!
//! # Advice for hackers
//!
//! The files, each importing only from the files below it (none above it,
//! so no import cycle):
//!
//! - `output.rs`: [`Parser::next_item`] and [`Parser::next_item_ref`]: what
//!   the read loop found, taken owned or borrowed, and the one failure path;
//! - `input.rs`: what was fed ([`Parser::feed`] chunks are read in place,
//!   [`Parser::feed_slice`] slices are copied, or appended straight to an
//!   unfinished line), the unfinished line `partial`, the stash and the
//!   pending CR;
//! - `lines.rs`: the read loop, one line at a time, in place or completed in
//!   `partial`, and the byte order mark; long lines that spanned reads are
//!   handed over whole;
//! - `skip.rs`: skip mode (opt-in): a line over the limit read through
//!   without being kept (`Reading::LongLine`); an oversized event is counted
//!   (`Data::Oversized`) and handed out as a notice by
//!   `buffers/oversized.rs`; all of it on the paths that detect a limit,
//!   which fail the stream otherwise;
//! - `mod.rs` (this file): [`Parser`], its state and its other public calls
//!   (the four files above add its methods, which is why they import it);
//! - `buffers.rs`: what a field does to the event being built (the spec's
//!   data, event type and last event ID buffers) and the first steps of
//!   dispatch; `buffers/take.rs` the rest, the event taken owned or
//!   borrowed; `buffers/oversized.rs` skip mode's part;
//! - `fed.rs`: the input being read and the read position;
//! - `field.rs`: what a line is (`classify`: `data`, `event`, `id`, `retry`,
//!   comment or ignored) and the rules for `id` and `retry` values;
//! - `scan.rs`: finding a line end;
//! - `text.rs`: UTF-8 validation, lossy decoding and its length;
//! - `space.rs`: what an unused buffer keeps while the parser waits;
//! - `item.rs`, `config.rs`, `error.rs`: the public types: the items, the
//!   builder and the parser's own error ([`ParseError`], which converts into
//!   [`crate::Error`] for the client and [`EventStream`](crate::EventStream)).
//!
//! A byte meets them in the order `input.rs`, `fed.rs`, `lines.rs` (with
//! `scan.rs`), `field.rs`, `buffers.rs`, `output.rs`.
//!
//! Risky edits:
//!
//! - The hot paths are `Parser::advance` (with `read_in_place`),
//!   `Parser::feed_slice` and `Parser::complete_line`, and the `Fed` and
//!   `Reader` methods they call: each fast path there was measured (see
//!   BENCHMARKS.md, "What made the difference"). Run
//!   `PARSER_ROUNDS=25 cargo bench --bench parser` before and after a change.
//! - The `#[inline]`s on helpers called from another file: without them
//!   they may no longer inline. And the `#[inline(never)]` on
//!   `EventBuffers::line`: inlining it into the read loop's callers made
//!   the 7-byte rows slower (BENCHMARKS.md, session 4); likewise on
//!   `Building::detach`, inlined into `prepare_input` (BENCHMARKS.md,
//!   "Session 8: the parser's state in its types").
//! - The read loop takes the bytes and the position through one
//!   `Fed::reader` per line: `Fed`'s own methods look up the live buffer
//!   each time, which after the loop's calls cost up to 3.8 % more
//!   instructions (same section).
//! - A new way to hold a data value (`Data`) must be handled in
//!   `append_data`, `take_owned`, `take_ref`, `detach`, `pending` and
//!   `mark_oversized` (all in `buffers.rs` and its children).
//! - Skip mode must stay off the hot paths: it is reached through the
//!   limit checks (`line_over_limit`, `data_over_limit`, the data's
//!   variant at dispatch), and `Reading` folds the long line into the check
//!   that sends the read loop to `step_at_line_start`.
//!
//! Traps:
//!
//! - A CR that ends the available input may be the first half of a CRLF: the
//!   LF, when it comes, must not end a second (empty) line (`pending_cr`).
//! - The byte order mark can itself be split across chunks (`Reading::Bom`).
//! - Limits must not depend on chunking: a line is too long when it is,
//!   whether it arrived whole or in pieces.
//! - UTF-8 is validated per value, after the line was split at CR, LF and
//!   `:`. That gives the same result as decoding first only because those
//!   bytes never occur inside a multi-byte sequence.

mod buffers;
mod config;
mod error;
mod fed;
mod field;
mod input;
mod item;
mod lines;
mod output;
mod scan;
mod skip;
mod space;
#[cfg(test)]
mod testing;
mod text;

pub use config::{DEFAULT_MAX_EVENT_LEN, DEFAULT_MAX_LINE_LEN, ParserBuilder};
pub use error::ParseError;
pub use item::{EventRef, Item, ItemRef, StreamEnd};

use std::time::Duration;

use buffers::EventBuffers;
use fed::Fed;
use field::LongLine;
use space::{KEEP_WHILE_WAITING, free_if_unused};

/// Where the stream stands: the parser's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// More chunks may come.
    Open,
    /// [`Parser::finish`] was called; what is buffered is still processed.
    Finishing,
    /// Everything was processed; nothing more will be returned.
    Ended(StreamEnd),
    /// A limit was exceeded; nothing more will be returned until `reset`.
    Failed,
}

/// What reading must do before lines can be read in place: wait for the
/// byte order mark, or read through a line over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// At the start of a stream: a BOM may still come (and some of its bytes
    /// may have arrived).
    Bom,
    /// Past it: lines.
    Lines,
    /// Inside a line over the limit that is read through without being kept
    /// (`Parser::skip_line`, skip mode); `partial` is empty.
    LongLine,
}

/// An incremental, sans-I/O parser of `text/event-stream` bodies.
///
/// See the [module documentation](self) for an example. One parser reads one
/// stream after another: call [`reset`](Self::reset) when a new connection
/// starts, which keeps the last event ID, as an `EventSource` does.
#[derive(Debug, Clone)]
pub struct Parser {
    max_line_len: usize,
    /// The input being read, and how far it is read. Let go of once read.
    fed: Fed,
    /// The start of a line that the input so far has not ended: never holds
    /// a CR or LF, so it is never scanned again. At the start of a stream it
    /// may hold the first bytes of a byte order mark instead. At most
    /// `max_line_len` bytes.
    partial: Vec<u8>,
    /// The unfinished line at the end of a fed slice, when it is long: it
    /// becomes `partial` once the input being read (which then ends at a
    /// line end, and leaves `partial` empty) is read, instead of being
    /// copied into the input and out again. Empty otherwise.
    stash: Vec<u8>,
    /// The last line ended with a CR at the end of the input: a LF that
    /// starts the next input belongs to it. Only while `partial` is empty.
    pending_cr: bool,
    /// About the length of the last long line handed over: room for the
    /// next is made at once rather than by doubling.
    long_line: usize,
    /// The line over the limit being read through (skip mode), while
    /// `reading` is `Reading::LongLine`.
    long: LongLine,
    reading: Reading,
    lifecycle: Lifecycle,
    buffers: EventBuffers,
}

impl ParserBuilder {
    /// Builds the parser.
    pub fn build(self) -> Parser {
        Parser::with_config(self)
    }
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with the default limits that ignores comments.
    pub fn new() -> Self {
        ParserBuilder::default().build()
    }

    /// Configure limits and comment reporting.
    ///
    /// ```
    /// let parser = ssefeed::parser::Parser::builder()
    ///     .max_line_len(64 * 1024)
    ///     .max_event_len(1024 * 1024)
    ///     .comments(true)
    ///     .build();
    /// # drop(parser);
    /// ```
    pub fn builder() -> ParserBuilder {
        ParserBuilder::default()
    }

    fn with_config(config: ParserBuilder) -> Self {
        Self {
            max_line_len: config.max_line_len,
            fed: Fed::default(),
            partial: Vec::new(),
            stash: Vec::new(),
            pending_cr: false,
            long_line: 0,
            long: LongLine::default(),
            reading: Reading::Bom,
            lifecycle: Lifecycle::Open,
            buffers: EventBuffers::new(
                config.max_event_len,
                config.comments,
                config.skip_oversized,
            ),
        }
    }

    /// Says the input has ended (the connection closed).
    ///
    /// Complete lines already fed are still returned by
    /// [`next_item`](Self::next_item); an unterminated last line and an event
    /// without its closing blank line are discarded, as the spec says. Once
    /// `next_item` has returned `None`, [`stream_end`](Self::stream_end) tells
    /// whether anything was discarded.
    pub fn finish(&mut self) {
        if self.lifecycle == Lifecycle::Open {
            self.lifecycle = Lifecycle::Finishing;
        }
    }

    /// How the stream ended: `None` until [`finish`](Self::finish) was called
    /// and [`next_item`](Self::next_item) has returned everything.
    pub fn stream_end(&self) -> Option<StreamEnd> {
        match self.lifecycle {
            Lifecycle::Ended(end) => Some(end),
            _ => None,
        }
    }

    /// Starts a new stream (a new connection): clears the input and the
    /// event being built, expects a byte order mark again, and clears a
    /// failure. The last event ID and the reconnection time are kept.
    pub fn reset(&mut self) {
        self.clear_input();
        self.reading = Reading::Bom;
        self.lifecycle = Lifecycle::Open;
        self.buffers.discard();
    }

    /// The last event ID: the value of the last `id:` field that a dispatch
    /// (a blank line) committed, even one that dispatched no event. Empty
    /// until then, or after an empty `id:`.
    pub fn last_event_id(&self) -> &str {
        self.buffers.last_event_id()
    }

    /// Seeds the last event ID, for example to resume a feed after a restart.
    /// Events without an `id:` field report it until the server sends one.
    pub fn set_last_event_id(&mut self, id: &str) {
        self.buffers.set_last_event_id(id);
    }

    /// Whether the event that [`next_item`](Self::next_item) or
    /// [`next_item_ref`](Self::next_item_ref) returned last had a valid `id:`
    /// field of its own, rather than the stream's last event ID from an
    /// earlier one. (An `id:` equal to the last event ID counts; one with a
    /// NUL, which the spec ignores, does not; a skipped event's, which is not
    /// adopted, does not.) Set at each blank line, so ask right after the
    /// event.
    pub(crate) fn event_had_id(&self) -> bool {
        self.buffers.event_had_id()
    }

    /// The reconnection time from the most recent valid `retry:` field, if
    /// any arrived.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.buffers.reconnection_time()
    }

    /// The next event, `retry:` or comment that the input fed so far
    /// completes; `None` when more input is needed (or the stream is over).
    ///
    /// # Errors
    ///
    /// [`ParseError::LineTooLong`] or [`ParseError::EventTooLarge`] when the
    /// input exceeds a limit. The error is returned once; after it, `next_item`
    /// returns `None` and input is ignored until [`reset`](Self::reset).
    #[inline]
    pub fn next_item(&mut self) -> Option<Result<Item, ParseError>> {
        if self.nothing_to_read() {
            return None;
        }
        self.next_owned()
    }

    /// [`next_item`](Self::next_item), with the parser's read loop inlined
    /// into the caller: for the client's hot loop, where a call returning
    /// the message costs a store-forwarding stall per event (BENCHMARKS.md,
    /// session 10). Not for a public `next_item`: inlined into every
    /// caller's loop it made the parser bench's small-chunk rows slower.
    #[inline(always)]
    pub(crate) fn next_item_inline(&mut self) -> Option<Result<Item, ParseError>> {
        if self.nothing_to_read() {
            return None;
        }
        self.next_owned_inline()
    }

    /// Like [`next_item`](Self::next_item), but the event borrows from the
    /// parser instead of owning its strings: no allocation and no reference
    /// counting per event, so the fastest way to consume a stream whose
    /// events are handled at once (parsing JSON from the data, say).
    ///
    /// The item lives until the next call on the parser; call
    /// [`EventRef::to_message_event`] to keep an event longer. Both methods can be
    /// mixed on one stream.
    ///
    /// ```
    /// use ssefeed::parser::{ItemRef, Parser};
    ///
    /// let mut parser = Parser::new();
    /// let mut total = 0;
    /// parser.feed_slice(b"data: {\"n\": 1}\n\nevent: tick\ndata: {\"n\": 2}\n\n");
    /// while let Some(item) = parser.next_item_ref() {
    ///     if let ItemRef::Event(event) = item? {
    ///         let n = event.data().trim_matches(|c: char| !c.is_ascii_digit());
    ///         total += n.parse::<u32>().unwrap();
    ///     }
    /// }
    /// assert_eq!(total, 3);
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`next_item`](Self::next_item).
    #[inline]
    pub fn next_item_ref(&mut self) -> Option<Result<ItemRef<'_>, ParseError>> {
        if self.nothing_to_read() {
            return None;
        }
        self.next_borrowed()
    }

    /// Lets go of buffer space that holds nothing now: for a caller about to
    /// wait for more input. A buffer in use (the unfinished line, the event
    /// being built) is kept as it is; an unused one keeps at most 1 KiB, so a
    /// feed that saw one burst of large events does not hold their space
    /// while it idles. The `EventSource` client and
    /// [`EventStream`](crate::EventStream) call it whenever they wait.
    ///
    /// ```
    /// let mut parser = ssefeed::parser::Parser::new();
    /// parser.feed_slice(format!("data: {}\n\n", "x".repeat(100_000)).as_bytes());
    /// assert!(parser.next_item().is_some());
    /// assert!(parser.next_item().is_none());
    /// parser.shrink_buffers(); // nothing else to read: wait for the network
    /// ```
    #[inline]
    pub fn shrink_buffers(&mut self) {
        // (Called before every wait: when no buffer is over the limit and no
        // borrowed value is held, which is nearly always, two tests.)
        let largest = (self.partial.capacity())
            .max(self.stash.capacity())
            .max(self.fed.copied_capacity())
            .max(self.buffers.largest_capacity());
        if largest > KEEP_WHILE_WAITING || self.buffers.holds_borrowed() {
            self.let_go_of_space();
        }
    }

    /// `shrink_buffers`' work, when there is some. Each buffer it can free
    /// is in `shrink_buffers`' test (the largest capacity, or a borrowed
    /// value held): one added here goes there too, or it is never freed.
    #[inline(never)]
    fn let_go_of_space(&mut self) {
        free_if_unused(&mut self.partial);
        free_if_unused(&mut self.stash);
        self.fed.shrink_buffers();
        self.buffers.shrink_buffers();
    }

    /// The capacity the parser's own buffers hold, for tests of what it keeps
    /// (a fed chunk is shared with the caller and not counted).
    #[cfg(test)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.partial.capacity()
            + self.stash.capacity()
            + self.fed.copied_capacity()
            + self.buffers.buffer_capacity()
    }

    /// At the end of the input, discards what is unfinished and records
    /// whether anything was.
    fn end_stream(&mut self) {
        let end = if !self.partial.is_empty()
            || self.reading == Reading::LongLine
            || self.buffers.pending()
        {
            StreamEnd::Truncated
        } else {
            StreamEnd::Complete
        };
        self.clear_input();
        self.buffers.discard();
        self.lifecycle = Lifecycle::Ended(end);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::parser::space::KEEP_WHILE_WAITING;
    use crate::parser::testing::*;

    #[test]
    fn unfinished_event_is_discarded_at_the_end() {
        let (_, end) = check("data: 1\n\ndata: 2\n", &[ev("message", "1", "")]);
        assert_eq!(end, Some(StreamEnd::Truncated));
        let (_, end) = check("data: 1\n\ndata: 2", &[ev("message", "1", "")]);
        assert_eq!(end, Some(StreamEnd::Truncated));
        let (_, end) = check(
            "data: 1\n\n: bye\nretry: 5\n",
            &[ev("message", "1", ""), Out::Retry(5)],
        );
        assert_eq!(end, Some(StreamEnd::Complete));
        let (_, end) = check("", &[]);
        assert_eq!(end, Some(StreamEnd::Complete));
    }

    #[test]
    fn stream_end_depends_on_the_pending_id_not_on_how_it_got_there() {
        // The id buffer ends at the committed value: nothing is discarded,
        // whichever ids came in between.
        for input in [
            "id: a\nid\n",
            "id\n",
            "id: 1\n\nid: 2\nid: 1\n",
            "id: 1\n\nid: 1\n",
        ] {
            let (_, end) = check(input, &[]);
            assert_eq!(end, Some(StreamEnd::Complete), "{input:?}");
        }
        let (id, end) = check("id: 1\n\nid: 1\nid: 2\n", &[]);
        assert_eq!((id.as_str(), end), ("1", Some(StreamEnd::Truncated)));
    }

    #[test]
    fn error_is_final_until_reset() {
        let mut parser = Parser::builder().max_line_len(4).build();
        parser.feed_slice(b"data: too long\n\n");
        assert!(matches!(
            parser.next_item(),
            Some(Err(ParseError::LineTooLong { limit: 4 }))
        ));
        assert!(parser.next_item().is_none());
        parser.feed_slice(b"data\n\n");
        assert!(parser.next_item().is_none());
        parser.reset();
        parser.feed_slice(b"data\n\n");
        assert!(matches!(parser.next_item(), Some(Ok(Item::Event(_)))));
    }

    #[test]
    fn seeded_last_event_id_is_reported_until_replaced() {
        let mut parser = Parser::new();
        parser.set_last_event_id("41");
        let mut out = Vec::new();
        parser.feed_slice(b"data: a\n\nid: 42\ndata: b\n\n");
        drain(&mut parser, &mut out);
        assert_eq!(out, [ev("message", "a", "41"), ev("message", "b", "42")]);
    }

    /// A feed after a burst of large events: multi-line data, a long id,
    /// a line that spanned reads, in copied and in fed input.
    fn burst(parser: &mut Parser, big: &str) -> Vec<Out> {
        let mut out = Vec::new();
        let event = format!("id: {big}\ndata: {big}\ndata: {big}\n\n");
        let (head, tail) = event.as_bytes().split_at(event.len() / 3);
        parser.feed_slice(head);
        drain(parser, &mut out);
        parser.feed(Bytes::copy_from_slice(tail));
        drain(parser, &mut out);
        parser.feed_slice(format!(": {big}\n").as_bytes());
        drain(parser, &mut out);
        let _ = parser.next_item_ref();
        out
    }

    #[test]
    fn a_waiting_parser_keeps_no_space_for_the_burst_it_read() {
        // Lines this long are copied out of the reads (longer ones are
        // handed over in chunks of their own, and kept by the event).
        let big = "x".repeat(10_000);
        for comments in [false, true] {
            let mut parser = Parser::builder().comments(comments).build();
            let out = burst(&mut parser, &big);
            assert_eq!(out[0], ev("message", &format!("{big}\n{big}"), &big));
            assert!(parser.buffer_capacity() > 4 * big.len());
            parser.shrink_buffers();
            assert!(
                parser.buffer_capacity() <= 4 * KEEP_WHILE_WAITING + big.len(),
                "{} bytes kept",
                parser.buffer_capacity()
            );
            // The last event ID is the one buffer that must stay.
            assert_eq!(parser.last_event_id(), big);
            parser.set_last_event_id("");
            parser.shrink_buffers();
            assert!(parser.buffer_capacity() <= 4 * KEEP_WHILE_WAITING + big.len());
        }
    }

    #[test]
    fn a_waiting_parser_lets_go_of_the_long_line_a_borrowed_item_held() {
        // A long line read in two slices is handed over as a buffer of its
        // own, which the borrowed item borrows; it is held until the next
        // call, or until the parser waits.
        let big = "c".repeat(100_000);
        let line = format!(":{big}\n");
        let (head, tail) = line.as_bytes().split_at(line.len() / 2);
        let mut parser = Parser::builder().comments(true).build();
        parser.feed_slice(head);
        assert!(parser.next_item_ref().is_none());
        parser.feed_slice(tail);
        assert!(matches!(parser.next_item_ref(), Some(Ok(ItemRef::Comment(c))) if c == big));
        assert!(parser.buffer_capacity() >= big.len());
        parser.shrink_buffers();
        assert!(
            parser.buffer_capacity() <= 4 * KEEP_WHILE_WAITING,
            "{} bytes kept",
            parser.buffer_capacity()
        );
    }

    #[test]
    fn shrinking_keeps_the_unfinished_line_and_event() {
        let big = "y".repeat(100_000);
        let input = format!("event: e\nid: {big}\ndata: {big}\ndata: {big}\n\n");
        let expected = [ev("e", &format!("{big}\n{big}"), &big)];
        // Shrink at every kind of place a wait can come: mid-line, between
        // lines of an event, after a CR.
        for split in [
            3,
            10,
            5_000,
            100_010,
            100_030,
            150_000,
            200_030,
            input.len() - 1,
        ] {
            for owned in [true, false] {
                let mut parser = Parser::new();
                let mut out = Vec::new();
                parser.feed_slice(&input.as_bytes()[..split]);
                drain(&mut parser, &mut out);
                parser.shrink_buffers();
                parser.feed(Bytes::copy_from_slice(&input.as_bytes()[split..]));
                if owned {
                    drain(&mut parser, &mut out);
                } else {
                    while let Some(item) = parser.next_item_ref() {
                        if let Ok(ItemRef::Event(event)) = item {
                            out.push(ev(event.event_type(), event.data(), event.last_event_id()));
                        }
                    }
                }
                assert_eq!(out, expected, "split at {split}, owned {owned}");
            }
        }
    }
}
