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
//! # How it works (notes for maintainers)
//!
//! Input sits in two places: the `Bytes` chunk last given to
//! [`Parser::feed`] (read up to `pos`), and `partial`, the start of a line
//! that an earlier chunk left unfinished. `partial` never holds a line end,
//! so no byte is scanned twice: a chunk is scanned for the line end that
//! completes `partial`, then read line by line in place. Line ends are found
//! a word at a time for the first bytes of a line and with `memchr2` beyond.
//!
//! A line that lies inside a chunk is processed in place, and a single-line
//! `data:` value is kept as a range of the chunk until its event is
//! dispatched. The chunk is then validated as UTF-8 once (with `simdutf8`,
//! into a copy: see `check_text`); a value of 64 bytes or more becomes a
//! slice of that copy, a shorter one a copy of its own (cheaper than the two
//! atomic reference count updates of a shared slice); a line completed in
//! `partial` has its values copied out (a first data value straight into
//! the string an owned event will hold), unless it is long, when the buffer
//! itself is handed over (or, for [`Parser::next_item_ref`], swapped with the
//! data buffer, so that long lines reuse the same few buffers). A blank line
//! builds the event in `next_item` itself, so that the event is written once,
//! into the caller's return slot. The event being
//! built lives in its own struct (`Event`) so a line can be borrowed from the
//! input while the event is updated.
//!
//! UTF-8 is validated once per field value, after the line has been split at
//! ASCII bytes (CR, LF, `:`). That gives the same result as decoding first:
//! those bytes never occur inside a multi-byte sequence, so a lossy decoder
//! never swallows them. Multi-line data is joined raw and validated once, at
//! dispatch.
//!
//! Traps:
//! - a CR that ends the available input may be the first half of a CRLF: the
//!   LF, when it comes, must not end a second (empty) line (`pending_cr`);
//! - the byte order mark can itself be split across chunks (`Bom::Pending`);
//! - limits must not depend on chunking: a line is too long when it is, whether
//!   it arrived whole or in pieces.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::Error;
use crate::event::{DEFAULT_EVENT_TYPE, MessageEvent};

/// The default limit on the length of one line, in bytes: 8 MiB.
///
/// Large enough for a base64 image in one `data:` line, small enough that a
/// server that never ends its line cannot exhaust memory.
pub const DEFAULT_MAX_LINE_LEN: usize = 8 * 1024 * 1024;

/// The default limit on the size of one event's data, in bytes: 16 MiB.
pub const DEFAULT_MAX_EVENT_LEN: usize = 16 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// What [`Parser::next_item`] hands out.
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
    /// [`ParserBuilder::comments`] is on; the spec ignores them, but servers
    /// send them as keep-alives.
    Comment(ByteString),
}

/// What [`Parser::next_item_ref`] hands out: an [`Item`] that borrows from
/// the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemRef<'a> {
    /// A dispatched event, as [`Item::Event`].
    Event(EventRef<'a>),
    /// A `retry:` field, as [`Item::Retry`].
    Retry(Duration),
    /// A comment line, as [`Item::Comment`] (only with
    /// [`ParserBuilder::comments`]).
    Comment(&'a str),
}

/// A dispatched event that borrows its strings from the parser, from
/// [`Parser::next_item_ref`]: the same accessors as [`MessageEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    event_type: &'a str,
    data: &'a str,
    last_event_id: &'a str,
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

    /// An owned copy, to keep after the next call on the parser.
    pub fn to_owned(&self) -> MessageEvent {
        MessageEvent::new(self.event_type, self.data, self.last_event_id)
    }
}

/// How a finished stream ended, from [`Parser::stream_end`].
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

/// Configures a [`Parser`]: limits and whether comments are reported.
#[derive(Debug, Clone)]
#[must_use]
pub struct ParserBuilder {
    max_line_len: usize,
    max_event_len: usize,
    comments: bool,
}

impl Default for ParserBuilder {
    fn default() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_event_len: DEFAULT_MAX_EVENT_LEN,
            comments: false,
        }
    }
}

impl ParserBuilder {
    /// The longest line accepted, in bytes, not counting its line ending
    /// (default [`DEFAULT_MAX_LINE_LEN`]). A longer line makes
    /// [`Parser::next_item`] return [`Error::LineTooLong`]. Values below 1
    /// are raised to 1.
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes.max(1);
        self
    }

    /// The largest event data accepted, in bytes, counting the line feed that
    /// the spec appends after each `data` value (default
    /// [`DEFAULT_MAX_EVENT_LEN`]). Larger data makes [`Parser::next_item`]
    /// return [`Error::EventTooLarge`]. Values below 1 are raised to 1.
    pub fn max_event_len(mut self, bytes: usize) -> Self {
        self.max_event_len = bytes.max(1);
        self
    }

    /// Report comment lines as [`Item::Comment`] (default: off).
    pub fn comments(mut self, on: bool) -> Self {
        self.comments = on;
        self
    }

    /// Builds the parser.
    pub fn build(self) -> Parser {
        Parser::with_config(self)
    }
}

/// The byte order mark state at the start of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    /// At the start of a stream: a BOM may still come (and some of its bytes
    /// may have arrived).
    Pending,
    /// Past it.
    Done,
}

/// Where the input stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    /// More chunks may come.
    Open,
    /// [`Parser::finish`] was called; what is buffered is still processed.
    Finishing,
    /// Everything was processed; nothing more will be returned.
    Ended(StreamEnd),
    /// A limit was exceeded; nothing more will be returned until `reset`.
    Failed,
}

/// The `data` buffer of the event being built.
#[derive(Debug, Clone)]
enum Data {
    /// No `data` field yet: a blank line dispatches nothing.
    None,
    /// One `data` field, whose raw value lies at this range of the input
    /// being read (moved to `Joined` before the input is let go of).
    InInput(usize, usize),
    /// One `data` field, whose raw value is this slice of a long line that
    /// was handed over.
    Handed(Bytes),
    /// One `data` field, copied out of a line that spanned reads and decoded
    /// at once, for an owned event.
    Text(ByteString),
    /// The raw values joined with LF in `Event::joined`, from
    /// `Event::joined_from` on.
    Joined,
}

/// A line at least this long that spans chunks is handed over to the event
/// (its buffer becomes the data) instead of being copied out of the buffer.
const HAND_OVER_FROM: usize = 16 * 1024;

/// The most capacity the multi-line data buffer keeps between events.
const KEEP_JOINED: usize = 64 * 1024;

/// The most capacity a buffer swapped out of the data buffer keeps, to hold
/// the next unfinished line (see `Parser::swap_in_line`).
const KEEP_LONG: usize = 256 * 1024;

/// Values at least this long are slices of the chunk they arrived in;
/// shorter ones are copied. (A shared slice costs two atomic reference count
/// updates, which take longer than copying a small value: measured with
/// 40-byte and 150-byte values, the threshold between the two was best.)
const SHARE_FROM: usize = 64;

/// A chunk at least this long is validated as UTF-8 as a whole (see
/// `Parser::check_text`).
const TEXT_FROM: usize = 1024;

/// The validated text of a chunk when the input is not a chunk.
static NO_TEXT: ByteString = ByteString::new();

/// A chunk shorter than this that continues an unfinished line is copied.
const SMALL_CHUNK: usize = 64;

/// The rest of a fed slice at least this long is copied into a chunk of its
/// own rather than into the reused buffer.
const OWN_CHUNK_FROM: usize = 512;

/// An unfinished line at the end of a fed slice at least this long is
/// stashed rather than copied with the rest.
const STASH_FROM: usize = 1024;

/// The most capacity the copy of fed slices keeps when all is read.
const KEEP_COPIED: usize = 64 * 1024;

/// How many 8-byte words of a line are scanned before `memchr2` takes over.
const SCAN_WORDS: usize = 8;

/// How many distinct event types are remembered for sharing.
const TYPE_CACHE: usize = 4;

/// The event being built (the spec's data, event type and last event ID
/// buffers) and what the stream has committed.
#[derive(Debug, Clone)]
struct Event {
    max_event_len: usize,
    comments: bool,
    /// The last call was `next_item_ref`: events are borrowed, so a long
    /// line need not be handed over in a buffer of its own, and a short
    /// value is not decoded ahead.
    borrowing: bool,
    data: Data,
    /// Raw bytes in the data buffer, counting a LF per value.
    data_len: usize,
    /// The raw values of multi-line data, joined with LF. Keeps its capacity
    /// from event to event (up to `KEEP_JOINED`).
    joined: Vec<u8>,
    /// Where the data starts in `joined`: 0, or past the field name when a
    /// long `data:` line was swapped in whole (`Parser::swap_in_line`).
    joined_from: usize,
    /// The event type buffer, as its index in `types`; `None`: empty (the
    /// type will be "message").
    event_type: Option<usize>,
    /// The last event ID buffer when an `id` field set it since the last
    /// dispatch (`id_set`); otherwise the buffer is `last_event_id`, and
    /// this holds nothing of meaning (only capacity).
    id_buffer: String,
    id_set: bool,
    /// The stream's last event ID string, set at each dispatch, and the same
    /// as an `Arc` for owned events, made when first needed.
    last_event_id: String,
    last_event_id_shared: Option<Arc<str>>,
    /// What the last [`ItemRef`] borrows besides the input and `types`: a
    /// handed-over value, replacement-decoded data, a comment.
    held: Bytes,
    lossy: String,
    held_comment: ByteString,
    /// Recent event types, reused when an event names one again. The event
    /// type buffer is always one of them.
    types: [Option<Arc<str>>; TYPE_CACHE],
    next_type: usize,
    reconnection_time: Option<Duration>,
}

/// An incremental, sans-I/O parser of `text/event-stream` bodies.
///
/// See the [module documentation](self) for an example. One parser reads one
/// stream after another: call [`reset`](Self::reset) when a new connection
/// starts, which keeps the last event ID, as an `EventSource` does.
#[derive(Debug, Clone)]
pub struct Parser {
    max_line_len: usize,
    /// The input being read, and how far: `chunk` when it was fed as
    /// `Bytes`, `copied` (when `in_copied`) when it was fed as a slice.
    /// Released once read (`copied` keeps its capacity).
    chunk: Bytes,
    copied: Vec<u8>,
    in_copied: bool,
    pos: usize,
    /// The part of `chunk` that is valid UTF-8, once `check_text` ran.
    text: ByteString,
    text_checked: bool,
    /// The start of a line that the input so far has not ended: never holds
    /// a CR or LF, so it is never scanned again. At the start of a stream it
    /// may hold the first bytes of a byte order mark instead.
    partial: Vec<u8>,
    /// The unfinished line at the end of a fed slice, when it is long: it
    /// becomes `partial` once `chunk` (which ends at a line end) is read,
    /// instead of being copied into the chunk and out again.
    stash: Vec<u8>,
    /// The last line ended with a CR at the end of a chunk: a LF that starts
    /// the next chunk belongs to it.
    pending_cr: bool,
    /// About the length of the last long line handed over: room for the
    /// next is made at once rather than by doubling.
    long_line: usize,
    bom: Bom,
    input: Input,
    event: Event,
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
            chunk: Bytes::new(),
            copied: Vec::new(),
            in_copied: false,
            pos: 0,
            text: ByteString::new(),
            text_checked: false,
            partial: Vec::new(),
            stash: Vec::new(),
            pending_cr: false,
            long_line: 0,
            bom: Bom::Pending,
            input: Input::Open,
            event: Event {
                max_event_len: config.max_event_len,
                comments: config.comments,
                borrowing: false,
                data: Data::None,
                data_len: 0,
                joined: Vec::new(),
                joined_from: 0,
                held: Bytes::new(),
                lossy: String::new(),
                held_comment: ByteString::new(),
                event_type: None,
                id_buffer: String::new(),
                id_set: false,
                last_event_id: String::new(),
                last_event_id_shared: None,
                types: Default::default(),
                next_type: 0,
                reconnection_time: None,
            },
        }
    }

    /// Gives the parser the next chunk of the stream, without copying it.
    ///
    /// Take what it completes with [`next_item`](Self::next_item) until that
    /// returns `None` before feeding the next chunk. (Feeding earlier is
    /// correct too, but copies the unread rest.) Chunks fed after
    /// [`finish`](Self::finish), or after an error, are ignored until
    /// [`reset`](Self::reset).
    pub fn feed(&mut self, chunk: Bytes) {
        if chunk.len() < SMALL_CHUNK && !self.partial.is_empty() {
            // A small piece of a line: nothing in it is worth sharing, and
            // copying it (as from a slice) lets go of it at once.
            self.feed_slice(&chunk);
            return;
        }
        if !self.prepare_input(&chunk) {
            self.set_chunk(chunk);
            self.pos = 0;
        }
    }

    /// Before new input is added: returns `true` when `chunk` was dealt with
    /// here (ignored, as the input is closed or it is empty; or appended to
    /// the unread rest of the input), `false` when everything fed before is
    /// read and `chunk` is the caller's to place. Data that lies in the
    /// input is detached first, and a stash is settled.
    fn prepare_input(&mut self, chunk: &[u8]) -> bool {
        if self.input != Input::Open || chunk.is_empty() {
            return true;
        }
        self.detach();
        self.settle_stash();
        if self.in_copied {
            // The unread rest of a slice: keep reading from the copy.
            self.copied.drain(..self.pos);
            self.copied.extend_from_slice(chunk);
        } else if self.pos < self.chunk.len() {
            let joined = join(&self.chunk[self.pos..], chunk);
            self.set_chunk(joined);
        } else {
            return false;
        }
        self.pos = 0;
        true
    }

    /// Gives the parser the next chunk of the stream by copying it.
    ///
    /// Prefer [`feed`](Self::feed) when the bytes are already a [`Bytes`]:
    /// the chunk is then read in place, not copied first.
    #[inline]
    pub fn feed_slice(&mut self, chunk: &[u8]) {
        // The common case for small reads: all input before was read, and it
        // left a line unfinished, which this continues. (The other cases
        // are done below too.)
        if !self.partial.is_empty() && self.nothing_to_read() && self.bom == Bom::Done {
            let line_end = find_line_end(chunk);
            let offset = line_end.unwrap_or(chunk.len());
            if self.partial.len() + offset <= self.max_line_len {
                reserve_long(&mut self.partial, offset, self.long_line);
                self.partial.extend_from_slice(&chunk[..offset]);
                if line_end.is_some() {
                    self.complete_line(&chunk[offset..]);
                }
                return;
            }
        }
        self.copy_slice(chunk);
    }

    /// `partial` is a complete line, and `rest` of a fed slice starts with
    /// its line end. A line that cannot make an item is processed now, and
    /// the rest, if it holds no other line end, continues `partial`: small
    /// reads then copy nothing else. Otherwise the rest waits for
    /// `next_item`.
    fn complete_line(&mut self, rest: &[u8]) {
        let line = &self.partial[..];
        // (A long line is left to `next_item`, which hands it over whole.)
        let quiet = if line.len() >= HAND_OVER_FROM {
            false
        } else if line.starts_with(b"data:") {
            let value = line.len() - data_value_start(line);
            self.event.data_len + value < self.event.max_event_len
        } else {
            line.starts_with(b"id:") || line.starts_with(b"event:")
        };
        if !quiet {
            self.copy_rest(rest);
            return;
        }
        let item = self.event.line(&[], line, At::Copy);
        debug_assert!(item.is_none(), "{item:?}");
        self.partial.clear();
        let (next, pending_cr) = after_line_end(rest, 0);
        self.pending_cr = pending_cr;
        let rest = &rest[next..];
        if !rest.is_empty() && find_line_end(rest).is_none() && rest.len() <= self.max_line_len {
            self.partial.extend_from_slice(rest);
        } else if !rest.is_empty() {
            self.copy_rest(rest);
        }
    }

    /// Whether the input is open and everything fed was read.
    #[inline(always)]
    fn nothing_to_read(&self) -> bool {
        self.chunk.is_empty() && !self.in_copied && self.input == Input::Open
    }

    /// Copies the rest of a slice, from a line end on, to be read: a large
    /// rest into a chunk of its own (which values can share and which is
    /// validated as UTF-8 once), a small one into a buffer that is reused.
    fn copy_rest(&mut self, mut rest: &[u8]) {
        if rest.len() >= OWN_CHUNK_FROM {
            // A long unfinished line at the end goes to the stash (or,
            // with no line end before it, straight to `partial`).
            let keep = memchr::memrchr2(b'\n', b'\r', rest).map_or(0, |last| last + 1);
            let tail = rest.len() - keep;
            if tail >= STASH_FROM
                && tail <= self.max_line_len
                && self.bom == Bom::Done
                && !self.pending_cr
                && self.stash.is_empty()
            {
                let target = if keep == 0 {
                    &mut self.partial
                } else {
                    &mut self.stash
                };
                reserve_long(target, tail, self.long_line);
                target.extend_from_slice(&rest[keep..]);
                rest = &rest[..keep];
            }
        }
        if rest.is_empty() {
            return;
        }
        if rest.len() >= OWN_CHUNK_FROM {
            self.set_chunk(Bytes::copy_from_slice(rest));
        } else {
            self.copied.extend_from_slice(rest);
            self.in_copied = true;
        }
        self.pos = 0;
    }

    /// Reads `chunk` from now on; it has not been validated as UTF-8.
    fn set_chunk(&mut self, chunk: Bytes) {
        self.chunk = chunk;
        if self.text_checked {
            self.text_checked = false;
            self.text = ByteString::new();
        }
    }

    /// Validates the chunk as UTF-8 once, when a value in it is first
    /// decoded: afterwards a value in its valid part is a `&str` slice of
    /// `text`, with no validation of its own (which, for short values, costs
    /// more than the pass over the whole chunk).
    ///
    /// `text` is a copy of the valid part: `simdutf8` validates several
    /// times faster than `str::from_utf8` (on text that is not all ASCII,
    /// ten times and more), and copying is faster still, while the only safe
    /// way to make a `ByteString` of the chunk itself is to validate it again
    /// with `str::from_utf8`.
    fn check_text(&mut self) {
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

    fn copy_slice(&mut self, chunk: &[u8]) {
        if self.prepare_input(chunk) {
            return;
        }
        // Bytes that continue an unfinished line go straight to it (a small
        // read in the middle of a line is copied once); the rest, from the
        // line end on, is copied to be read like a chunk.
        let mut rest = chunk;
        if !self.partial.is_empty() && self.bom == Bom::Done {
            let offset = find_line_end(chunk).unwrap_or(chunk.len());
            if self.partial.len() + offset <= self.max_line_len {
                self.partial.extend_from_slice(&chunk[..offset]);
                rest = &chunk[offset..];
            }
        }
        if !rest.is_empty() {
            self.copy_rest(rest);
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
        if self.input == Input::Open {
            self.input = Input::Finishing;
        }
    }

    /// How the stream ended: `None` until [`finish`](Self::finish) was called
    /// and [`next_item`](Self::next_item) has returned everything.
    pub fn stream_end(&self) -> Option<StreamEnd> {
        match self.input {
            Input::Ended(end) => Some(end),
            _ => None,
        }
    }

    /// Starts a new stream (a new connection): clears the input and the
    /// event being built, expects a byte order mark again, and clears a
    /// failure. The last event ID and the reconnection time are kept.
    pub fn reset(&mut self) {
        self.clear_input();
        self.bom = Bom::Pending;
        self.input = Input::Open;
        self.event.discard();
    }

    fn clear_input(&mut self) {
        self.set_chunk(Bytes::new());
        self.copied.clear();
        self.in_copied = false;
        self.pos = 0;
        self.partial.clear();
        self.stash.clear();
        self.pending_cr = false;
    }

    /// The last event ID: the value of the last `id:` field that a dispatch
    /// (a blank line) committed, even one that dispatched no event. Empty
    /// until then, or after an empty `id:`.
    pub fn last_event_id(&self) -> &str {
        &self.event.last_event_id
    }

    /// Seeds the last event ID, for example to resume a feed after a restart.
    /// Events without an `id:` field report it until the server sends one.
    pub fn set_last_event_id(&mut self, id: &str) {
        let event = &mut self.event;
        event.last_event_id.clear();
        event.last_event_id.push_str(id);
        event.last_event_id_shared = None;
        event.id_set = false;
    }

    /// The reconnection time from the most recent valid `retry:` field, if
    /// any arrived.
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.event.reconnection_time
    }

    /// The next event, `retry:` or comment that the input fed so far
    /// completes; `None` when more input is needed (or the stream is over).
    ///
    /// # Errors
    ///
    /// [`Error::LineTooLong`] or [`Error::EventTooLarge`] when the input
    /// exceeds a limit. The error is returned once; after it, `next_item`
    /// returns `None` and input is ignored until [`reset`](Self::reset).
    #[inline]
    pub fn next_item(&mut self) -> Option<Result<Item, Error>> {
        if self.nothing_to_read() {
            return None;
        }
        self.next_owned()
    }

    fn next_owned(&mut self) -> Option<Result<Item, Error>> {
        self.event.borrowing = false;
        match self.advance() {
            Next::Wait => None,
            Next::Item(item) => self.checked(item.map(Item::from)),
            // The event is built here, in the caller's return slot: moved
            // through several calls, the 72-byte item cost more than the
            // parsing (the caller's wide loads of it stalled on the narrow
            // stores that had just written it).
            Next::Dispatch => {
                if matches!(self.event.data, Data::InInput(..)) {
                    self.check_text();
                }
                let (input, text) = if self.in_copied {
                    (&self.copied[..], &NO_TEXT)
                } else {
                    (&self.chunk[..], &self.text)
                };
                match self.event.take_owned(input, text) {
                    Ok(event) => Some(Ok(Item::Event(event))),
                    Err(error) => self.checked(Err(error)),
                }
            }
        }
    }

    /// Like [`next_item`](Self::next_item), but the event borrows from the
    /// parser instead of owning its strings: no allocation and no reference
    /// counting per event, so the fastest way to consume a stream whose
    /// events are handled at once (parsing JSON from the data, say).
    ///
    /// The item lives until the next call on the parser; call
    /// [`EventRef::to_owned`] to keep an event longer. Both methods can be
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
    pub fn next_item_ref(&mut self) -> Option<Result<ItemRef<'_>, Error>> {
        if self.nothing_to_read() {
            return None;
        }
        self.next_borrowed()
    }

    fn next_borrowed(&mut self) -> Option<Result<ItemRef<'_>, Error>> {
        // What the last item held is no longer borrowed: let a long line go
        // back to the allocator before the next one is read.
        if !self.event.held.is_empty() {
            self.event.held = Bytes::new();
        }
        // Nor a very long line swapped into the data buffer.
        if self.event.joined.capacity() > KEEP_LONG && !matches!(self.event.data, Data::Joined) {
            self.event.joined = Vec::new();
        }
        self.event.borrowing = true;
        match self.advance() {
            Next::Wait => None,
            Next::Item(Ok(item)) => Some(Ok(self.event.hold(item))),
            Next::Item(Err(error)) => {
                self.fail();
                Some(Err(error))
            }
            Next::Dispatch => {
                if matches!(self.event.data, Data::InInput(..)) {
                    self.check_text();
                }
                let (input, text) = if self.in_copied {
                    (&self.copied[..], "")
                } else {
                    (&self.chunk[..], &*self.text)
                };
                let event = self.event.take_ref(input, text);
                if event.is_err() {
                    // (Only fields that the event does not borrow.)
                    self.input = Input::Failed;
                    self.pos = usize::MAX;
                }
                Some(event.map(ItemRef::Event))
            }
        }
    }

    /// Reads lines until one completes an event (left in `event` for the
    /// caller to take), makes another item, or the input runs out.
    #[inline(always)]
    fn advance(&mut self) -> Next {
        loop {
            // (After an error or the end of the stream nothing is left to
            // read, and `feed` ignores input.)
            let len = input(&self.chunk, &self.copied, self.in_copied).len();
            if self.pos >= len {
                if self.input == Input::Finishing
                    && self.bom == Bom::Pending
                    && self.partial.len() > self.max_line_len
                {
                    // The input ended inside what might have been a byte
                    // order mark: those bytes are a line, and too long.
                    self.bom = Bom::Done;
                    return Next::Item(Err(self.line_too_long()));
                }
                self.input_read();
                return Next::Wait;
            }
            if self.bom == Bom::Pending || self.pending_cr || !self.partial.is_empty() {
                match self.step_at_line_start() {
                    Next::Wait => continue,
                    next => return next,
                }
            }
            // The common case: a line that lies in the input, read in place.
            let input = input(&self.chunk, &self.copied, self.in_copied);
            let rest = &input[self.pos..];
            // (A blank line, the end of most events, is seen without a scan.)
            let blank = matches!(rest[0], b'\n' | b'\r');
            let Some(offset) = (if blank { Some(0) } else { find_line_end(rest) }) else {
                // It starts a line that a later chunk ends.
                if rest.len() > self.max_line_len {
                    return Next::Item(Err(self.line_too_long()));
                }
                reserve_long(&mut self.partial, rest.len(), self.long_line);
                self.partial.extend_from_slice(rest);
                self.pos = input.len();
                continue;
            };
            if offset > self.max_line_len {
                return Next::Item(Err(self.line_too_long()));
            }
            let start = self.pos;
            let end = start + offset;
            (self.pos, self.pending_cr) = after_line_end(input, end);
            if offset == 0 {
                if self.event.begin_dispatch() {
                    return Next::Dispatch;
                }
                continue;
            }
            let line = &input[start..end];
            if line.starts_with(b"data:") {
                // The most common line, without a call.
                let value_start = data_value_start(line);
                match self
                    .event
                    .append_data(input, line, value_start, At::Input(start))
                {
                    Ok(()) => continue,
                    Err(error) => return Next::Item(Err(error)),
                }
            }
            if let Some(item) = self.event.line(input, &input[start..end], At::Input(start)) {
                return Next::Item(item);
            }
        }
    }

    /// Everything fed so far is read: lets go of the chunk, so the HTTP stack
    /// can reuse its buffer while the connection idles (events that share it
    /// keep it alive as long as they need), and ends the stream if
    /// [`finish`](Self::finish) was called.
    #[inline(always)]
    fn input_read(&mut self) {
        // Most often (small chunks, each read at once) nothing is left to do.
        if !self.in_copied && self.chunk.is_empty() && self.input == Input::Open {
            self.pos = 0;
            return;
        }
        self.let_go_of_input();
    }

    fn let_go_of_input(&mut self) {
        if self.input == Input::Failed {
            self.clear_input();
            self.partial = Vec::new();
            self.copied = Vec::new();
            self.event.discard();
            return;
        }
        self.detach();
        if self.in_copied {
            self.copied.clear();
            if self.copied.capacity() > KEEP_COPIED {
                self.copied = Vec::new();
            }
            self.in_copied = false;
        } else if !self.chunk.is_empty() {
            self.set_chunk(Bytes::new());
        }
        self.pos = 0;
        self.unstash();
        if self.input == Input::Finishing {
            self.end_stream();
        }
    }

    /// The chunk before the stash is read (it ended at a line end, so
    /// `partial` is empty): the stash is the unfinished line now. (The
    /// stash does not start with a LF, so a CR at the chunk's end is not
    /// waiting for one.)
    fn unstash(&mut self) {
        if !self.stash.is_empty() {
            debug_assert!(self.partial.is_empty());
            std::mem::swap(&mut self.partial, &mut self.stash);
            self.stash.clear();
            self.pending_cr = false;
        }
    }

    /// Before new input: a stash goes back behind the unread rest of the
    /// chunk, or becomes `partial` when the chunk is read.
    fn settle_stash(&mut self) {
        if self.stash.is_empty() {
            return;
        }
        let unread = self.pos < input(&self.chunk, &self.copied, self.in_copied).len();
        if !unread {
            self.unstash();
        } else if self.in_copied {
            self.copied.drain(..self.pos);
            self.copied.extend_from_slice(&self.stash);
            self.stash.clear();
            self.pos = 0;
        } else {
            let mut unread = Vec::with_capacity(self.chunk.len() - self.pos + self.stash.len());
            unread.extend_from_slice(&self.chunk[self.pos..]);
            unread.extend_from_slice(&self.stash);
            self.stash.clear();
            self.set_chunk(Bytes::from(unread));
            self.pos = 0;
        }
    }

    /// Copies a data value that lies in the input out of it, before the
    /// input is let go of or moved.
    #[inline(always)]
    fn detach(&mut self) {
        if matches!(self.event.data, Data::InInput(..)) {
            self.detach_data();
        }
    }

    fn detach_data(&mut self) {
        if let Data::InInput(start, end) = self.event.data {
            let input = input(&self.chunk, &self.copied, self.in_copied);
            self.event.start_joined();
            self.event.joined.extend_from_slice(&input[start..end]);
            self.event.data = Data::Joined;
        }
    }

    /// What reading in place cannot do: strip a byte order mark, complete a
    /// CRLF split across chunks, or complete the line in `partial`. (That
    /// line is never blank: `partial` is not empty.)
    fn step_at_line_start(&mut self) -> Next {
        let input = input(&self.chunk, &self.copied, self.in_copied);
        let rest = &input[self.pos..];
        if self.bom == Bom::Pending {
            // `partial` holds the BOM bytes seen so far (none at first).
            let have = self.partial.len();
            let take = (BOM.len() - have).min(rest.len());
            if rest[..take] != BOM[have..have + take] {
                // Not a BOM: its first bytes, if any, start the first line.
                self.bom = Bom::Done;
            } else if have + take == BOM.len() {
                self.partial.clear();
                self.pos += take;
                self.bom = Bom::Done;
            } else {
                // All the input is a proper prefix of the BOM: wait for more.
                // (At the end of the input it is an unfinished line.)
                self.partial.extend_from_slice(rest);
                self.pos = input.len();
            }
            return Next::Wait;
        }
        if self.pending_cr {
            self.pending_cr = false;
            self.pos += usize::from(rest[0] == b'\n');
            return Next::Wait;
        }
        let have = self.partial.len();
        let Some(offset) = find_line_end(rest) else {
            if have + rest.len() > self.max_line_len {
                return Next::Item(Err(self.line_too_long()));
            }
            reserve_long(&mut self.partial, rest.len(), self.long_line);
            self.partial.extend_from_slice(rest);
            self.pos = input.len();
            return Next::Wait;
        };
        if have + offset > self.max_line_len {
            return Next::Item(Err(self.line_too_long()));
        }
        let end = self.pos + offset;
        reserve_long(&mut self.partial, offset, self.long_line);
        self.partial.extend_from_slice(&rest[..offset]);
        (self.pos, self.pending_cr) = after_line_end(input, end);
        let item = if self.partial.len() < HAND_OVER_FROM {
            let item = self.event.line(input, &self.partial, At::Copy);
            self.partial.clear();
            item
        } else if self.event.borrowing
            && matches!(self.event.data, Data::None)
            && self.partial.starts_with(b"data:")
        {
            self.swap_in_line().err().map(Err)
        } else {
            // A long line: hand the buffer itself over, so that a data value
            // is a slice of it rather than a second copy.
            let line = Bytes::from(std::mem::take(&mut self.partial));
            self.long_line = line.len() + line.len() / 16;
            self.event.line(input, &line, At::Handed(&line))
        };
        match item {
            Some(item) => Next::Item(item),
            None => Next::Wait,
        }
    }

    /// A long `data:` line that starts an event's data, for a borrowed
    /// event: the line becomes the data buffer as it is, and the data
    /// buffer's old storage the next unfinished line. The buffers go round
    /// (with the stash's), so long lines cost no allocation.
    fn swap_in_line(&mut self) -> Result<(), Error> {
        let line = &self.partial;
        let value_start = data_value_start(line);
        self.event.grow_data(line.len() - value_start)?;
        self.long_line = line.len() + line.len() / 16;
        let event = &mut self.event;
        std::mem::swap(&mut self.partial, &mut event.joined);
        event.joined_from = value_start;
        event.data = Data::Joined;
        self.partial.clear();
        if self.partial.capacity() > KEEP_LONG {
            self.partial = Vec::new();
        }
        Ok(())
    }

    fn line_too_long(&self) -> Error {
        Error::LineTooLong {
            limit: self.max_line_len,
        }
    }

    /// Passes an item on; an error ends the stream.
    fn checked(&mut self, item: Result<Item, Error>) -> Option<Result<Item, Error>> {
        if item.is_err() {
            self.fail();
        }
        Some(item)
    }

    /// Ends the stream after an error: nothing more is read, and the input is
    /// let go of at the next call.
    fn fail(&mut self) {
        self.input = Input::Failed;
        self.pos = usize::MAX;
    }

    /// At the end of the input, discards what is unfinished and records
    /// whether anything was.
    fn end_stream(&mut self) {
        let end = if !self.partial.is_empty() || self.event.pending() {
            StreamEnd::Truncated
        } else {
            StreamEnd::Complete
        };
        self.clear_input();
        self.event.discard();
        self.input = Input::Ended(end);
    }
}

/// What [`Parser::advance`] found.
enum Next {
    /// Nothing yet (from `step_at_line_start`: read on).
    Wait,
    /// A blank line ended an event with data: take it from `Parser::event`.
    Dispatch,
    /// A line made another item, or failed.
    Item(Result<Field, Error>),
}

/// What a line other than a blank one can make (events are made at the
/// blank line, by `take_owned` or `take_ref`).
#[derive(Debug)]
enum Field {
    Retry(Duration),
    Comment(ByteString),
}

impl From<Field> for Item {
    fn from(field: Field) -> Self {
        match field {
            Field::Retry(time) => Self::Retry(time),
            Field::Comment(text) => Self::Comment(text),
        }
    }
}

/// Where a line given to [`Event::line`] lies.
#[derive(Clone, Copy)]
enum At<'a> {
    /// In the input being read, at this offset.
    Input(usize),
    /// In a buffer that is about to be reused: values are copied.
    Copy,
    /// In this chunk of its own (a long line that spanned chunks).
    Handed(&'a Bytes),
}

/// Makes room for `more` bytes in `partial`: when the line is long already
/// and the last long line was longer, room for that much at once (each
/// doubling would copy the line again).
#[inline(always)]
fn reserve_long(partial: &mut Vec<u8>, more: usize, long_line: usize) {
    if partial.len() + more > partial.capacity() {
        grow_long(partial, more, long_line);
    }
}

#[cold]
fn grow_long(partial: &mut Vec<u8>, more: usize, long_line: usize) {
    let need = partial.len() + more;
    if need > HAND_OVER_FROM / 2 && long_line > need {
        partial.reserve_exact(long_line - partial.len());
    }
}

/// Where the value of a line that starts with `data:` starts: after the
/// colon and one space, if there is one.
#[inline(always)]
fn data_value_start(line: &[u8]) -> usize {
    5 + usize::from(line.get(5) == Some(&b' '))
}

/// The input being read: the chunk, or the copy of fed slices.
#[inline(always)]
fn input<'a>(chunk: &'a Bytes, copied: &'a [u8], in_copied: bool) -> &'a [u8] {
    if in_copied { copied } else { chunk }
}

/// `a` followed by `b`, in a new chunk.
fn join(a: &[u8], b: &[u8]) -> Bytes {
    let mut joined = Vec::with_capacity(a.len() + b.len());
    joined.extend_from_slice(a);
    joined.extend_from_slice(b);
    Bytes::from(joined)
}

impl Event {
    /// Whether a discard at the end of the stream would lose something.
    fn pending(&self) -> bool {
        !matches!(self.data, Data::None)
            || self.event_type.is_some()
            || (self.id_set && self.id_buffer != self.last_event_id)
    }

    fn discard(&mut self) {
        if matches!(self.data, Data::Joined) {
            self.clear_joined();
        }
        self.data = Data::None;
        self.data_len = 0;
        self.event_type = None;
        self.id_set = false;
    }

    /// Processes one line that is not blank, without its line ending. `at`
    /// says where it lies; `input` is the input being read (where a data
    /// value read earlier may lie).
    ///
    /// <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>
    fn line(&mut self, input: &[u8], line: &[u8], at: At<'_>) -> Option<Result<Field, Error>> {
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
            return Some(Ok(Field::Comment(decode(&line[from..], handed))));
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
                Some(Ok(Field::Retry(time)))
            }
            // "Otherwise: The field is ignored."
            _ => None,
        }
    }

    /// The event type buffer for `value`: `None` when empty, else its index
    /// in `types`, where it is added unless it was seen recently. (Adding
    /// may evict the type of the event being built, but this one replaces
    /// it.) `event: message` fills the buffer too: a stream that ends after
    /// it is truncated.
    fn type_index(&mut self, value: &[u8]) -> Option<usize> {
        if value.is_empty() {
            return None;
        }
        // (Length and first byte first: most misses end there.)
        if let Some(known) = self.types.iter().position(|known| {
            known.as_deref().is_some_and(|known| {
                known.len() == value.len()
                    && known.as_bytes()[0] == value[0]
                    && known.as_bytes() == value
            })
        }) {
            return Some(known);
        }
        let index = self.next_type;
        self.types[index] = Some(decode_arc(value));
        self.next_type = (index + 1) % TYPE_CACHE;
        Some(index)
    }

    #[inline(always)]
    fn append_data(
        &mut self,
        input: &[u8],
        line: &[u8],
        start: usize,
        at: At<'_>,
    ) -> Result<(), Error> {
        let value = &line[start..];
        self.grow_data(value.len())?;
        match std::mem::replace(&mut self.data, Data::None) {
            Data::None => match at {
                At::Input(offset) => {
                    self.data = Data::InInput(offset + start, offset + line.len());
                }
                At::Handed(chunk) => self.data = Data::Handed(chunk.slice(start..)),
                // (Decoded now for an owned event: the line's buffer is
                // about to be reused, and this is the copy it needs anyway.)
                At::Copy if !self.borrowing => self.data = Data::Text(decode(value, None)),
                At::Copy => {
                    self.start_joined();
                    self.joined.extend_from_slice(value);
                    self.data = Data::Joined;
                }
            },
            Data::InInput(from, to) => self.join_first(&input[from..to], value),
            Data::Handed(first) => self.join_first(&first, value),
            Data::Text(first) => self.join_first(first.as_bytes(), value),
            Data::Joined => {
                self.joined.push(b'\n');
                self.joined.extend_from_slice(value);
                self.data = Data::Joined;
            }
        }
        Ok(())
    }

    /// A second data value: the first and it, joined in `joined`.
    fn join_first(&mut self, first: &[u8], value: &[u8]) {
        self.start_joined();
        self.joined.extend_from_slice(first);
        self.joined.push(b'\n');
        self.joined.extend_from_slice(value);
        self.data = Data::Joined;
    }

    /// Counts a value of `len` bytes (and its LF) against the event limit.
    #[inline(always)]
    fn grow_data(&mut self, len: usize) -> Result<(), Error> {
        let grown = self.data_len.saturating_add(len).saturating_add(1);
        if grown > self.max_event_len {
            return Err(self.too_large());
        }
        self.data_len = grown;
        Ok(())
    }

    /// Empties the multi-line data buffer for a new value, and lets go of it
    /// first when it grew large.
    fn start_joined(&mut self) {
        self.joined_from = 0;
        if self.joined.capacity() > KEEP_JOINED {
            self.joined = Vec::new();
        } else {
            self.joined.clear();
        }
    }

    /// Empties the multi-line data buffer, and frees it when it grew large.
    fn clear_joined(&mut self) {
        self.joined_from = 0;
        self.joined.clear();
        if self.joined.capacity() > KEEP_JOINED {
            self.joined = Vec::new();
        }
    }

    fn too_large(&self) -> Error {
        Error::EventTooLarge {
            limit: self.max_event_len,
        }
    }

    /// The first steps of
    /// [dispatch](https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage),
    /// at a blank line. Returns whether an event follows, to be taken with
    /// `take_owned` or `take_ref`.
    #[inline(always)]
    fn begin_dispatch(&mut self) -> bool {
        // 1. "Set the last event ID string of the event source to the value of
        //    the last event ID buffer." Even when no event follows.
        if self.id_set {
            self.id_set = false;
            if self.last_event_id != self.id_buffer {
                // (`id_buffer` is read only while `id_set`, so it can take
                // the old string, and its capacity, in exchange.)
                std::mem::swap(&mut self.last_event_id, &mut self.id_buffer);
                self.last_event_id_shared = None;
            }
        }
        // 2. "If the data buffer is an empty string, set the data buffer and
        //    the event type buffer to the empty string and return."
        if matches!(self.data, Data::None) {
            self.event_type = None;
            return false;
        }
        true
    }

    /// The rest of dispatch: the event, owning its strings. (3: our buffers
    /// hold the values without the final LF. 4-7: the type is the event type
    /// buffer, or "message" when empty; the buffers are reset.)
    #[inline(always)]
    fn take_owned(&mut self, input: &[u8], text: &ByteString) -> Result<MessageEvent, Error> {
        self.data_len = 0;
        let data = match std::mem::replace(&mut self.data, Data::None) {
            Data::None | Data::Joined => {
                let data = decode(&self.joined[self.joined_from..], None);
                self.clear_joined();
                data
            }
            Data::InInput(start, end) => match text.get(start..end) {
                Some(value) if value.len() >= SHARE_FROM => text.slice_ref(value),
                Some(value) => ByteString::from(value),
                None => decode(&input[start..end], None),
            },
            Data::Handed(value) => decode(&value.clone(), Some(value)),
            Data::Text(text) => text,
        };
        // Replacement characters can make decoded data longer than the raw
        // bytes the limit counted. The limit counts the final LF too.
        if data.len() >= self.max_event_len {
            self.event_type = None;
            return Err(self.too_large());
        }
        let event_type = self
            .event_type
            .take()
            .and_then(|index| self.types[index].clone());
        let last_event_id = (!self.last_event_id.is_empty()).then(|| {
            self.last_event_id_shared
                .get_or_insert_with(|| Arc::from(self.last_event_id.as_str()))
                .clone()
        });
        Ok(MessageEvent::from_parts(event_type, data, last_event_id))
    }

    /// The rest of dispatch, as `take_owned`, for an event that borrows from
    /// the parser: the input, `joined`, and the `held` fields.
    fn take_ref<'a>(&'a mut self, input: &'a [u8], text: &'a str) -> Result<EventRef<'a>, Error> {
        self.data_len = 0;
        let type_index = self.event_type.take();
        let raw: &[u8] = match std::mem::replace(&mut self.data, Data::None) {
            Data::None | Data::Joined => &self.joined[self.joined_from..],
            Data::InInput(start, end) => match text.get(start..end) {
                Some(value) => {
                    let event_type = type_index.and_then(|index| self.types[index].as_deref());
                    return Ok(EventRef {
                        event_type: event_type.unwrap_or(DEFAULT_EVENT_TYPE),
                        data: value,
                        last_event_id: &self.last_event_id,
                    });
                }
                None => &input[start..end],
            },
            Data::Handed(value) => {
                self.held = value;
                &self.held
            }
            Data::Text(text) => {
                self.held = text.into_bytes();
                &self.held
            }
        };
        // (A long line or joined data: validated with SIMD where the CPU
        // has it, several times faster than `str::from_utf8`.)
        let data = match simdutf8::basic::from_utf8(raw) {
            Ok(text) => text,
            Err(_) => {
                self.lossy.clear();
                self.lossy.push_str(&String::from_utf8_lossy(raw));
                if self.lossy.len() >= self.max_event_len {
                    return Err(Error::EventTooLarge {
                        limit: self.max_event_len,
                    });
                }
                &self.lossy
            }
        };
        let event_type = type_index.and_then(|index| self.types[index].as_deref());
        Ok(EventRef {
            event_type: event_type.unwrap_or(DEFAULT_EVENT_TYPE),
            data,
            last_event_id: &self.last_event_id,
        })
    }

    /// An item other than an event, for `next_item_ref`.
    fn hold(&mut self, field: Field) -> ItemRef<'_> {
        match field {
            Field::Retry(time) => ItemRef::Retry(time),
            Field::Comment(text) => {
                self.held_comment = text;
                ItemRef::Comment(&self.held_comment)
            }
        }
    }
}

/// The offset of the first CR or LF in `input`.
///
/// Most lines are short, and setting up `memchr2` costs more than reading a
/// short line 8 bytes at a time, so the first `SCAN_WORDS` words are read
/// here and `memchr2` takes the rest of a long line.
#[inline]
fn find_line_end(input: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    if let (4..8, Some(head), Some(tail)) = (
        input.len(),
        input.first_chunk::<4>(),
        input.last_chunk::<4>(),
    ) {
        // A short input (a small chunk): its first and last four bytes
        // cover it; most often neither has a control character.
        const ONES4: u32 = u32::from_ne_bytes([0x01; 4]);
        const HIGH4: u32 = u32::from_ne_bytes([0x80; 4]);
        let below = |word: u32| word.wrapping_sub(ONES4 * 0x0E) & !word & HIGH4;
        let (head, tail) = (u32::from_le_bytes(*head), u32::from_le_bytes(*tail));
        if below(head) | below(tail) == 0 {
            return None;
        }
    }
    let head = &input[..input.len().min(SCAN_WORDS * 8)];
    let (words, tail) = head.as_chunks::<8>();
    for (n, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        // The bytes below 0x0E (CR). Borrows can mark bytes after the first
        // one, but the lowest mark is always right.
        let below = word.wrapping_sub(ONES * 0x0E) & !word & HIGH;
        if below != 0 {
            let first = n * 8 + (below.trailing_zeros() / 8) as usize;
            if matches!(input[first], b'\n' | b'\r') {
                return Some(first);
            }
            // Another control character (a tab, say): search on after it.
            let from = first + 1;
            return memchr::memchr2(b'\n', b'\r', &input[from..]).map(|offset| from + offset);
        }
    }
    let at = head.len() - tail.len();
    if input.len() > head.len() {
        return memchr::memchr2(b'\n', b'\r', &input[at..]).map(|offset| at + offset);
    }
    tail.iter()
        .position(|&b| b <= b'\r' && (b == b'\n' || b == b'\r'))
        .map(|offset| at + offset)
}

/// Where the next line starts after the line end at `input[end]`, and
/// whether that line end is a CR that ends the input (so that a LF starting
/// the next input belongs to it).
fn after_line_end(input: &[u8], end: usize) -> (usize, bool) {
    if input[end] == b'\n' {
        (end + 1, false)
    } else if end + 1 == input.len() {
        (end + 1, true)
    } else if input[end + 1] == b'\n' {
        (end + 2, false)
    } else {
        (end + 1, false)
    }
}

/// UTF-8 decodes `value` with replacement: `shared` (the same bytes in a
/// chunk) when given and valid, else a copy.
fn decode(value: &[u8], shared: Option<Bytes>) -> ByteString {
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

fn decode_arc(bytes: &[u8]) -> Arc<str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Arc::from(text),
        Err(_) => Arc::from(String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parse produced, in a form easy to compare.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Out {
        Event(String, String, String),
        Retry(u64),
        Comment(String),
        Error(String),
    }

    fn ev(kind: &str, data: &str, id: &str) -> Out {
        Out::Event(kind.into(), data.into(), id.into())
    }

    fn drain(parser: &mut Parser, out: &mut Vec<Out>) {
        while let Some(item) = parser.next_item() {
            out.push(match item {
                Ok(Item::Event(e)) => ev(e.event_type(), e.data(), e.last_event_id()),
                Ok(Item::Retry(time)) => Out::Retry(time.as_millis() as u64),
                Ok(Item::Comment(text)) => Out::Comment(text.to_string()),
                Err(error) => Out::Error(error.to_string()),
            });
        }
    }

    fn parse_chunks(mut parser: Parser, chunks: &[&[u8]]) -> (Vec<Out>, String, Option<StreamEnd>) {
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
    fn check_with(
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

    fn check(input: &str, expected: &[Out]) -> (String, Option<StreamEnd>) {
        check_with(Parser::new, input.as_bytes(), expected)
    }

    #[test]
    fn dispatches_on_blank_line_with_every_line_ending() {
        for eol in ["\n", "\r", "\r\n"] {
            let input = format!("data: a{eol}data: b{eol}{eol}event: x{eol}data: c{eol}{eol}");
            check(&input, &[ev("message", "a\nb", ""), ev("x", "c", "")]);
        }
    }

    #[test]
    fn mixed_line_endings_and_cr_before_lf_in_the_next_chunk() {
        check(
            "data: 1\r\rdata: 2\r\n\ndata: 3\n\r",
            &[
                ev("message", "1", ""),
                ev("message", "2", ""),
                ev("message", "3", ""),
            ],
        );
        let (out, ..) = parse_chunks(Parser::new(), &[b"data: a\r", b"\n", b"\r", b"\n"]);
        assert_eq!(out, [ev("message", "a", "")]);
    }

    #[test]
    fn strips_one_leading_bom_only_at_stream_start() {
        check("\u{FEFF}data: 1\n\n", &[ev("message", "1", "")]);
        // A second BOM is part of the first field name, which is then unknown.
        check(
            "\u{FEFF}\u{FEFF}data: 1\n\ndata: 2\n\n",
            &[ev("message", "2", "")],
        );
        // Not at the start: part of the value.
        check("data: \u{FEFF}1\n\n", &[ev("message", "\u{FEFF}1", "")]);
        // A partial BOM is ordinary (invalid) text.
        check_with(
            Parser::new,
            b"\xEF\xBBdata: 1\n\ndata: 2\n\n",
            &[ev("message", "2", "")],
        );
        check_with(Parser::new, b"\xEF\xBB", &[]);
    }

    #[test]
    fn reset_expects_a_new_bom_and_keeps_the_last_event_id() {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        parser.feed_slice(b"\xEF\xBB\xBFid: 7\ndata: a\n\ndata: cut");
        drain(&mut parser, &mut out);
        parser.reset();
        parser.feed_slice(b"\xEF\xBB\xBFdata: b\n\n");
        drain(&mut parser, &mut out);
        assert_eq!(out, [ev("message", "a", "7"), ev("message", "b", "7")]);
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
    fn event_type_resets_after_each_dispatch_and_empty_means_message() {
        check(
            "event: a\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: a\n\ndata: 4\n\n",
            &[
                ev("a", "1", ""),
                ev("message", "2", ""),
                ev("message", "3", ""),
                ev("message", "4", ""),
            ],
        );
    }

    #[test]
    fn id_is_committed_at_dispatch_even_without_data() {
        let (id, _) = check(
            "id: 1\ndata: a\n\nid: 2\n\ndata: b\n\n",
            &[ev("message", "a", "1"), ev("message", "b", "2")],
        );
        assert_eq!(id, "2");
        // An empty id resets it; an id with NUL is ignored.
        check(
            "id: 1\ndata: a\n\nid\ndata: b\n\n",
            &[ev("message", "a", "1"), ev("message", "b", "")],
        );
        check(
            "id: 1\n\nid: 2\x003\ndata: b\n\n",
            &[ev("message", "b", "1")],
        );
        // Not committed when the stream ends before the blank line.
        let (id, end) = check("id: 1\n\nid: 2\ndata: x\n", &[]);
        assert_eq!((id.as_str(), end), ("1", Some(StreamEnd::Truncated)));
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
    fn line_limit_is_independent_of_chunking() {
        let small = || Parser::builder().max_line_len(8).build();
        let error = Out::Error(Error::LineTooLong { limit: 8 }.to_string());
        check_with(small, b"data: 12\n\n", &[ev("message", "12", "")]);
        check_with(
            small,
            b"data: 1\n\ndata: 123\n\ndata: 4\n\n",
            &[ev("message", "1", ""), error.clone()],
        );
        check_with(
            small,
            b"data: 1\n\n:234567890",
            &[ev("message", "1", ""), error],
        );
    }

    #[test]
    fn event_limit_is_independent_of_chunking() {
        let small = || Parser::builder().max_event_len(6).build();
        let error = Out::Error(Error::EventTooLarge { limit: 6 }.to_string());
        // "ab\ncd\n" is 6 bytes: allowed. One more byte is not.
        check_with(
            small,
            b"data: ab\ndata: cd\n\n",
            &[ev("message", "ab\ncd", "")],
        );
        check_with(small, b"data: ab\ndata: cde\n\ndata: x\n\n", &[error]);
    }

    /// Found by the `parse` fuzz target: the limit counts the decoded data,
    /// so invalid bytes, each a three-byte U+FFFD, count three times; with
    /// one `data` line or several, and with its final line feed.
    #[test]
    fn replacement_characters_count_against_the_event_limit() {
        let with = |limit| move || Parser::builder().max_event_len(limit).build();
        let error = |limit| Out::Error(Error::EventTooLarge { limit }.to_string());
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

    #[test]
    fn error_is_final_until_reset() {
        let mut parser = Parser::builder().max_line_len(4).build();
        parser.feed_slice(b"data: too long\n\n");
        assert!(matches!(
            parser.next_item(),
            Some(Err(Error::LineTooLong { limit: 4 }))
        ));
        assert!(parser.next_item().is_none());
        parser.feed_slice(b"data\n\n");
        assert!(parser.next_item().is_none());
        parser.reset();
        parser.feed_slice(b"data\n\n");
        assert!(matches!(parser.next_item(), Some(Ok(Item::Event(_)))));
    }

    #[test]
    fn endless_line_keeps_memory_at_the_limit() {
        let limit = 64 * 1024;
        let mut parser = Parser::builder().max_line_len(limit).build();
        let chunk = Bytes::from(vec![b'x'; 1000]);
        let mut fed = 0;
        let error = loop {
            parser.feed(chunk.clone());
            fed += chunk.len();
            assert!(parser.partial.len() <= limit);
            if let Some(result) = parser.next_item() {
                break result.unwrap_err();
            }
            assert!(fed <= limit + chunk.len(), "no error after {fed} bytes");
        };
        assert!(matches!(error, Error::LineTooLong { .. }));
        assert!(parser.partial.capacity() <= 2 * limit);
    }

    #[test]
    fn feeding_before_draining_loses_nothing() {
        let mut parser = Parser::new();
        parser.feed_slice(b"data: 1\n\ndata: 2\n\n");
        parser.feed_slice(b"data: 3\n\n");
        let mut out = Vec::new();
        drain(&mut parser, &mut out);
        assert_eq!(
            out,
            [
                ev("message", "1", ""),
                ev("message", "2", ""),
                ev("message", "3", "")
            ]
        );
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
    fn long_lines_in_mixed_feeds_match_the_whole_input() {
        // Lines around the stash, hand-over and copy thresholds, with every
        // line ending, fed in random slices and chunks, drained or not, with
        // owned or borrowed items: always what the whole input gives.
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..40 {
            let mut input = Vec::new();
            if round % 5 == 0 {
                input.extend_from_slice(BOM);
            }
            for n in 0..6 {
                let len = [10, 700, 1100, 2500, HAND_OVER_FROM + 100][next(5)];
                let eol: &[u8] = [&b"\n"[..], b"\r", b"\r\n"][next(3)];
                let field = ["data: ", "id: ", ": ", "event: "][next(4)];
                input.extend_from_slice(field.as_bytes());
                input.extend(std::iter::repeat_n(b'a' + (n % 26) as u8, len));
                input.extend_from_slice(eol);
                if next(2) == 0 {
                    input.extend_from_slice(eol);
                }
            }
            if round % 3 == 0 {
                input.extend_from_slice(b"data: unfinished");
            }
            let whole = {
                let mut parser = Parser::builder().comments(true).build();
                let mut out = Vec::new();
                parser.feed(Bytes::from(input.clone()));
                drain(&mut parser, &mut out);
                parser.finish();
                drain(&mut parser, &mut out);
                (out, parser.last_event_id().to_owned(), parser.stream_end())
            };
            let mut parser = Parser::builder().comments(true).build();
            let mut out = Vec::new();
            let mut at = 0;
            while at < input.len() {
                let size = [1, 7, 600, 1500, 5000, 20_000][next(6)];
                let piece = &input[at..input.len().min(at + size)];
                at += piece.len();
                if next(2) == 0 {
                    parser.feed_slice(piece);
                } else {
                    parser.feed(Bytes::copy_from_slice(piece));
                }
                match next(3) {
                    0 => {}
                    1 => drain(&mut parser, &mut out),
                    _ => {
                        while let Some(item) = parser.next_item_ref() {
                            out.push(match item {
                                Ok(ItemRef::Event(e)) => {
                                    ev(e.event_type(), e.data(), e.last_event_id())
                                }
                                Ok(ItemRef::Comment(text)) => Out::Comment(text.to_owned()),
                                other => panic!("{other:?}"),
                            });
                        }
                    }
                }
            }
            parser.finish();
            drain(&mut parser, &mut out);
            let cut = (out, parser.last_event_id().to_owned(), parser.stream_end());
            assert_eq!(cut, whole, "round {round}");
        }
    }

    #[test]
    fn a_bom_prefix_at_the_end_is_a_line_within_the_limit() {
        // Found by the `parse` fuzz target: two bytes of a BOM, then the
        // end, with a line limit of one byte.
        for feed_slice in [false, true] {
            let mut parser = Parser::builder().max_line_len(1).build();
            if feed_slice {
                parser.feed_slice(b"\xEF\xBB");
            } else {
                parser.feed(Bytes::from_static(b"\xEF\xBB"));
            }
            assert!(parser.next_item().is_none());
            parser.finish();
            assert!(matches!(
                parser.next_item(),
                Some(Err(Error::LineTooLong { limit: 1 }))
            ));
            assert!(parser.next_item().is_none());
            // Within the limit, it is an unfinished line.
            let mut parser = Parser::builder().max_line_len(2).build();
            parser.feed_slice(b"\xEF\xBB");
            parser.finish();
            assert!(parser.next_item().is_none());
            assert_eq!(parser.stream_end(), Some(StreamEnd::Truncated));
        }
    }

    #[test]
    fn line_end_scan_agrees_with_a_plain_search() {
        // Every mix of line ends, other control bytes (which the word scan
        // stops at and must pass over), high bytes and plain ones, at every
        // length and offset around the word and memchr2 boundaries.
        let alphabet = [b'\n', b'\r', b'\t', 0, 0x0D - 1, 0x0E, b'a', 0x80, 0xFF];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for len in 0..(SCAN_WORDS * 8 + 40) {
            for _ in 0..200 {
                let input: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Mostly plain bytes, so that line ends come late.
                        if state.is_multiple_of(8) {
                            alphabet[(state >> 8) as usize % alphabet.len()]
                        } else {
                            b'a' + (state >> 8) as u8 % 26
                        }
                    })
                    .collect();
                let expected = input.iter().position(|&b| b == b'\n' || b == b'\r');
                assert_eq!(find_line_end(&input), expected, "{input:?}");
            }
        }
    }

    #[test]
    fn repeated_event_type_is_shared() {
        let mut parser = Parser::new();
        parser.feed_slice(b"event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n");
        let mut types = Vec::new();
        while let Some(Ok(Item::Event(event))) = parser.next_item() {
            types.push(event.shared_type().cloned().unwrap());
        }
        assert!(Arc::ptr_eq(&types[0], &types[1]));
    }

    #[test]
    fn a_value_decoded_ahead_for_an_owned_event_can_be_joined_or_borrowed() {
        // A data line completed by small reads is decoded at once while
        // events are owned; the event may still get a second value, or be
        // taken with `next_item_ref`.
        for (more, expected) in [("", "first"), ("data: second\n", "first\nsecond")] {
            for by_ref in [false, true] {
                let mut parser = Parser::new();
                for piece in b"data: first\n".chunks(3) {
                    parser.feed_slice(piece);
                    assert!(parser.next_item().is_none());
                }
                assert!(matches!(parser.event.data, Data::Text(_)));
                parser.feed_slice(more.as_bytes());
                parser.feed_slice(b"\n");
                let data = if by_ref {
                    match parser.next_item_ref() {
                        Some(Ok(ItemRef::Event(event))) => event.data().to_owned(),
                        other => panic!("{other:?}"),
                    }
                } else {
                    match parser.next_item() {
                        Some(Ok(Item::Event(event))) => event.data().to_owned(),
                        other => panic!("{other:?}"),
                    }
                };
                assert_eq!(data, expected, "by_ref: {by_ref}");
            }
        }
    }

    #[test]
    fn borrowed_long_lines_swap_buffers_instead_of_allocating() {
        // With `next_item_ref`, a long data line becomes the data buffer and
        // the buffers go round: after the first lines, the same three
        // buffers hold every line, whatever the line ending.
        let value = "y".repeat(HAND_OVER_FROM * 3);
        let mut parser = Parser::new();
        let buffers = |parser: &Parser| {
            let mut held = [
                parser.partial.as_ptr() as usize,
                parser.stash.as_ptr() as usize,
                parser.event.joined.as_ptr() as usize,
            ];
            held.sort_unstable();
            held
        };
        let mut seen = Vec::new();
        for round in 0..8 {
            let eol = ["\n", "\r\n", "\r"][round % 3];
            let input = format!("data: {value}{eol}{eol}data: {round}{eol}");
            for piece in input.as_bytes().chunks(HAND_OVER_FROM + 7) {
                parser.feed_slice(piece);
                while let Some(item) = parser.next_item_ref() {
                    let Ok(ItemRef::Event(event)) = item else {
                        panic!("{item:?}");
                    };
                    assert_eq!(event.data(), value);
                    // The data is the line itself, in the data buffer.
                    let at = event.data().as_ptr() as usize;
                    let joined = parser.event.joined.as_ptr() as usize;
                    assert_eq!(at, joined + 6);
                }
            }
            parser.feed_slice(eol.as_bytes());
            let Some(Ok(ItemRef::Event(event))) = parser.next_item_ref() else {
                panic!("round {round}: the short event");
            };
            assert_eq!(event.data(), round.to_string());
            if round >= 3 {
                seen.push(buffers(&parser));
            }
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:x?}");

        // A very long line is not kept once its event is done with.
        let huge = "z".repeat(KEEP_LONG * 2);
        let mut huge_events = 0;
        for piece in format!("data: {huge}\n\n").as_bytes().chunks(64 * 1024) {
            parser.feed_slice(piece);
            while let Some(item) = parser.next_item_ref() {
                let Ok(ItemRef::Event(event)) = item else {
                    panic!("{item:?}");
                };
                assert_eq!(event.data().len(), huge.len());
                huge_events += 1;
            }
        }
        assert_eq!(huge_events, 1);
        parser.feed_slice(b"data: small\n\n");
        let Some(Ok(ItemRef::Event(event))) = parser.next_item_ref() else {
            panic!("the small event");
        };
        assert_eq!(event.data(), "small");
        assert!(parser.event.joined.capacity() <= KEEP_LONG);
        assert!(parser.partial.capacity() <= KEEP_LONG);
        assert!(parser.stash.capacity() <= KEEP_LONG);
    }

    #[test]
    fn long_lines_spanning_chunks_are_handed_over_intact() {
        let long = "x".repeat(3 * HAND_OVER_FROM);
        let input = format!(
            "data: {long}\n\ndata: {long}\ndata: tail\n\n: {long}\nid: {long}\nevent: e\ndata: {long}\r\n\r\n"
        );
        let with_comments = || Parser::builder().comments(true).build();
        let expected = [
            ev("message", &long, ""),
            ev("message", &format!("{long}\ntail"), ""),
            Out::Comment(long.clone()),
            ev("e", &long, &long),
        ];
        for size in [1000, 4096, HAND_OVER_FROM - 1, HAND_OVER_FROM + 1] {
            // feed(Bytes), as from the network: the path that hands over.
            let mut parser = with_comments();
            let mut out = Vec::new();
            for chunk in input.as_bytes().chunks(size) {
                parser.feed(Bytes::copy_from_slice(chunk));
                drain(&mut parser, &mut out);
            }
            parser.finish();
            drain(&mut parser, &mut out);
            assert_eq!(out, expected, "chunks of {size}");
            assert_eq!(parser.last_event_id(), long);
            assert_eq!(parser.stream_end(), Some(StreamEnd::Complete));
            // And the copying path gives the same.
            let chunks: Vec<&[u8]> = input.as_bytes().chunks(size).collect();
            assert_eq!(parse_chunks(with_comments(), &chunks).0, expected);
        }
    }

    #[test]
    fn a_fully_read_chunk_is_released() {
        let chunk = Bytes::from(b"data: a\n\n: idle now\n".to_vec());
        let mut parser = Parser::new();
        parser.feed(chunk.clone());
        let event = match parser.next_item() {
            Some(Ok(Item::Event(event))) => event,
            other => panic!("{other:?}"),
        };
        assert!(parser.next_item().is_none());
        drop(event);
        // Only our handle is left: the parser holds no reference to it.
        assert!(chunk.is_unique());
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
}
