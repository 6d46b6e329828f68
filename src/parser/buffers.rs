//! The spec's data, event type and last event ID buffers, the type cache,
//! and the first steps of dispatch; in `take.rs` the rest of dispatch, in
//! `oversized.rs` skip mode's part. The fields are private to these three
//! files: the other files change them through methods.

use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use ecow::EcoString;

use crate::event::{DEFAULT_EVENT_TYPE, SkippedEvent};

use super::error::ParseError;
use super::field::{Field, classify, is_valid_id, retry_time};
use super::item::LineItem;
use super::space::{free_if_unused, free_string_if_unused};
use super::text::{decode, decode_small};

mod oversized;
mod take;

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
    /// at once, for an owned event: only valid UTF-8, so the same bytes as
    /// the raw value that the limit counted. (A plain allocation: see
    /// `EventData`.)
    Text(Box<str>),
    /// The raw values joined with LF in `Building::joined`, from
    /// `Building::joined_from` on.
    Joined,
    /// Too large to keep (skip mode): counted in `Building::skipped_len`
    /// and handed out as a notice at the blank line (see `skip.rs`).
    Oversized,
}

/// The most capacity the multi-line data buffer keeps between events.
const KEEP_JOINED: usize = 64 * 1024;

/// The most capacity a buffer swapped out of the data buffer keeps, to hold
/// the next unfinished line (see [`EventBuffers::swap_in_line`]).
pub(super) const KEEP_LONG: usize = 256 * 1024;

/// How many distinct event types are remembered for sharing.
const TYPE_CACHE: usize = 4;

/// The event being built (the spec's data, event type and last event ID
/// buffers), what the stream has committed, and what the last borrowed
/// item holds.
#[derive(Debug, Clone)]
pub(super) struct EventBuffers {
    max_event_len: usize,
    comments: bool,
    /// Skip oversized events instead of failing (see `skip.rs`).
    skip_oversized: bool,
    /// Set by every `next_item` and `next_item_ref`; see [`Taking`].
    taking: Taking,
    event: Building,
    stream: Committed,
    held: Held,
    types: TypeCache,
}

/// The event being built: cleared at each dispatch (or discard).
#[derive(Debug, Clone)]
struct Building {
    data: Data,
    /// Raw bytes in the data buffer, counting a LF per value: at most
    /// `max_event_len`, and at it while the event is oversized (skip mode).
    data_len: usize,
    /// The raw values of multi-line data, joined with LF. Keeps its capacity
    /// from event to event (up to `KEEP_JOINED`).
    joined: Vec<u8>,
    /// Where the data starts in `joined`: 0, or past the field name when a
    /// long `data:` line was swapped in whole (`swap_in_line`).
    joined_from: usize,
    /// The event type buffer, as its index in `types`; `None`: empty (the
    /// type will be "message").
    event_type: Option<usize>,
    /// The last event ID buffer when an `id` field set it since the last
    /// dispatch (`id_set`); otherwise the buffer is the committed last event
    /// ID, and this holds nothing of meaning (only capacity).
    id_buffer: String,
    id_set: bool,
    /// The decoded bytes of an oversized event's data, counting a LF per
    /// value (skip mode).
    skipped_len: usize,
}

/// What the stream has committed: kept from event to event, and by `reset`.
#[derive(Debug, Clone)]
struct Committed {
    /// The stream's last event ID string, set at each dispatch, and the same
    /// as an `EcoString` for owned events, made when first needed (`None`
    /// whenever the string changes): inline up to 15 bytes, else one shared
    /// allocation for every event that carries it.
    last_event_id: String,
    last_event_id_shared: Option<EcoString>,
    /// Whether the last dispatch had an `id` field of its own.
    event_had_id: bool,
    reconnection_time: Option<Duration>,
}

/// What the last [`ItemRef`](super::ItemRef) borrows besides the input, the
/// data buffer and the type cache: a handed-over value, replacement-decoded
/// data, a comment, a notice. Replaced by the next item.
#[derive(Debug, Clone)]
struct Held {
    bytes: Bytes,
    lossy: String,
    comment: ByteString,
    skipped: SkippedEvent,
}

/// Recent event types, reused when an event names one again. An index it
/// handed out for the event being built names a type it holds: adding may
/// evict that type, but only for a type that replaces it.
#[derive(Debug, Clone, Default)]
struct TypeCache {
    types: [Option<EcoString>; TYPE_CACHE],
    /// Where the next new type goes: always below `TYPE_CACHE`.
    next: usize,
}

/// How the caller takes events: which of `next_item` and `next_item_ref` it
/// called last, and so the likely way of the next. It chooses only where
/// bytes are kept, never what is returned: either method may follow, and
/// takes the event from whatever `Data` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Taking {
    /// `next_item`: a first data value completed in `partial` is decoded at
    /// once into the string the event will own (`Data::Text`), and a long
    /// line is handed over as a chunk of its own (`Data::Handed`).
    Owned,
    /// `next_item_ref`: values are copied raw, and a long `data:` line that
    /// starts an event is swapped into the data buffer whole
    /// ([`EventBuffers::swap_in_line`]), so that long lines reuse the same
    /// buffers.
    Borrowed,
}

/// Where a line given to [`EventBuffers::line`] lies.
#[derive(Clone, Copy)]
pub(super) enum At<'a> {
    /// In the input being read, at this offset.
    Input(usize),
    /// In a buffer that is about to be reused: values are copied.
    Copy,
    /// In this chunk of its own (a long line that spanned chunks).
    Handed(&'a Bytes),
}

impl EventBuffers {
    pub(super) fn new(max_event_len: usize, comments: bool, skip_oversized: bool) -> Self {
        Self {
            max_event_len,
            comments,
            skip_oversized,
            taking: Taking::Owned,
            event: Building {
                data: Data::None,
                data_len: 0,
                joined: Vec::new(),
                joined_from: 0,
                event_type: None,
                id_buffer: String::new(),
                id_set: false,
                skipped_len: 0,
            },
            stream: Committed {
                last_event_id: String::new(),
                last_event_id_shared: None,
                event_had_id: false,
                reconnection_time: None,
            },
            held: Held {
                bytes: Bytes::new(),
                lossy: String::new(),
                comment: ByteString::new(),
                skipped: SkippedEvent::from_parts(EcoString::new(), 0),
            },
            types: TypeCache::default(),
        }
    }

    /// The stream's last event ID.
    pub(super) fn last_event_id(&self) -> &str {
        &self.stream.last_event_id
    }

    /// Seeds the last event ID; an `id` pending in the event being built is
    /// dropped.
    pub(super) fn set_last_event_id(&mut self, id: &str) {
        let stream = &mut self.stream;
        stream.last_event_id.clear();
        stream.last_event_id.push_str(id);
        stream.last_event_id_shared = None;
        self.event.id_set = false;
    }

    /// Whether the last dispatch had an `id` field of its own.
    pub(super) fn event_had_id(&self) -> bool {
        self.stream.event_had_id
    }

    pub(super) fn reconnection_time(&self) -> Option<Duration> {
        self.stream.reconnection_time
    }

    pub(super) fn skip_oversized(&self) -> bool {
        self.skip_oversized
    }

    /// The last notice of a skipped event.
    pub(super) fn skipped(&self) -> &SkippedEvent {
        &self.held.skipped
    }

    /// Says how the caller takes the next event.
    #[inline(always)]
    pub(super) fn set_taking(&mut self, taking: Taking) {
        self.taking = taking;
    }

    /// Whether the event's data is a value that lies in the input.
    #[inline(always)]
    pub(super) fn data_in_input(&self) -> bool {
        matches!(self.event.data, Data::InInput(..))
    }

    /// Whether a `data` value of `len` bytes (and its LF) keeps the event
    /// within its limit.
    #[inline(always)]
    pub(super) fn data_fits(&self, len: usize) -> bool {
        self.event.data_len + len < self.max_event_len
    }

    /// Whether a long `data:` line can become the data buffer as it is
    /// ([`swap_in_line`](Self::swap_in_line)): events are taken borrowed, and
    /// it would be the event's first value.
    #[inline(always)]
    pub(super) fn can_swap_in(&self) -> bool {
        self.taking == Taking::Borrowed && matches!(self.event.data, Data::None)
    }

    /// Whether a discard at the end of the stream would lose something.
    pub(super) fn pending(&self) -> bool {
        let event = &self.event;
        // (`data_len` without data: an event marked oversized.)
        !matches!(event.data, Data::None)
            || event.data_len != 0
            || event.event_type.is_some()
            || (event.id_set && event.id_buffer != self.stream.last_event_id)
    }

    pub(super) fn discard(&mut self) {
        let event = &mut self.event;
        if matches!(event.data, Data::Joined) {
            event.clear_joined();
        }
        event.data = Data::None;
        event.data_len = 0;
        event.event_type = None;
        event.id_set = false;
    }

    /// Processes one line that is not blank, without its line ending. `at`
    /// says where it lies; `input` is the input being read (where a data
    /// value read earlier may lie).
    ///
    /// Never inlined, as in the single-file parser: the read loop handles
    /// `data:` lines itself and calls this for the rarer rest, and inlined
    /// into `advance` (so `next_owned`, `next_borrowed`) and twice into
    /// `step_at_line_start` it made those 1.6 to 4.1 times larger and the
    /// small-chunk rows slower (measured: BENCHMARKS.md, session 4).
    #[inline(never)]
    pub(super) fn line(
        &mut self,
        input: &[u8],
        line: &[u8],
        at: At<'_>,
    ) -> Option<Result<LineItem, ParseError>> {
        self.field(input, line, classify(line), at)
    }

    /// [`line`](Self::line), with the line classified already.
    #[inline(always)]
    pub(super) fn field(
        &mut self,
        input: &[u8],
        line: &[u8],
        field: Field,
        at: At<'_>,
    ) -> Option<Result<LineItem, ParseError>> {
        match field {
            // "Append the field value to the data buffer, then append a
            // single U+000A LINE FEED (LF) character to the data buffer."
            Field::Data(start) => self.append_data(input, line, start, at).err().map(Err),
            // "Set the event type buffer to the field value."
            Field::Event(start) => {
                self.event.event_type = self.types.index(&line[start..]);
                None
            }
            Field::Id(start) => {
                self.event.set_id(&line[start..]);
                None
            }
            Field::Retry(start) => {
                let time = retry_time(&line[start..])?;
                self.stream.reconnection_time = Some(time);
                Some(Ok(LineItem::Retry(time)))
            }
            Field::Comment(_) if !self.comments => None,
            Field::Comment(start) => {
                let handed = match at {
                    At::Handed(chunk) => Some(chunk.slice(start..)),
                    _ => None,
                };
                Some(Ok(LineItem::Comment(decode(&line[start..], handed))))
            }
            Field::Ignored => None,
        }
    }

    #[inline(always)]
    pub(super) fn append_data(
        &mut self,
        input: &[u8],
        line: &[u8],
        start: usize,
        at: At<'_>,
    ) -> Result<(), ParseError> {
        let value = &line[start..];
        if let Err(error) = self.grow_data(value.len()) {
            return self.data_over_limit(input, value, error);
        }
        let event = &mut self.event;
        match std::mem::replace(&mut event.data, Data::None) {
            Data::None => match at {
                At::Input(offset) => {
                    event.data = Data::InInput(offset + start, offset + line.len());
                }
                At::Handed(chunk) => event.data = Data::Handed(chunk.slice(start..)),
                // (Decoded now for an owned event: the line's buffer is
                // about to be reused, and this is the copy it needs anyway.
                // Only when valid: the limit counts invalid bytes decoded,
                // which dispatch does from raw bytes, however the event is
                // taken.)
                At::Copy => {
                    if self.taking == Taking::Owned
                        && let Ok(text) = simdutf8::basic::from_utf8(value)
                    {
                        event.data = Data::Text(Box::from(text));
                    } else {
                        event.start_joined();
                        event.joined.extend_from_slice(value);
                        event.data = Data::Joined;
                    }
                }
            },
            Data::InInput(from, to) => event.join_first(&input[from..to], value),
            Data::Handed(first) => event.join_first(&first, value),
            Data::Text(first) => event.join_first(first.as_bytes(), value),
            Data::Joined => {
                event.joined.push(b'\n');
                event.joined.extend_from_slice(value);
                event.data = Data::Joined;
            }
            // (`data_len` is at the limit: `grow_data` failed.)
            Data::Oversized => return self.data_over_limit(input, value, self.too_large()),
        }
        Ok(())
    }

    /// Counts a value of `len` bytes (and its LF) against the event limit.
    #[inline(always)]
    fn grow_data(&mut self, len: usize) -> Result<(), ParseError> {
        let grown = self.event.data_len.saturating_add(len).saturating_add(1);
        if grown > self.max_event_len {
            return Err(self.too_large());
        }
        self.event.data_len = grown;
        Ok(())
    }

    /// A long `data:` line (`line`, its value from `value_start`) that starts
    /// an event's data, for a borrowed event (see
    /// [`can_swap_in`](Self::can_swap_in)): when it keeps the event within
    /// its limit, it becomes the data buffer as it is, `line` gets the data
    /// buffer's old storage, and `true` is returned. (The buffers go round,
    /// with the stash's, so long lines cost no allocation.) Otherwise it is
    /// over the limit, as `append_data` would find.
    pub(super) fn swap_in_line(
        &mut self,
        line: &mut Vec<u8>,
        value_start: usize,
    ) -> Result<bool, ParseError> {
        debug_assert!(self.can_swap_in());
        if let Err(error) = self.grow_data(line.len() - value_start) {
            return self
                .data_over_limit(&[], &line[value_start..], error)
                .map(|()| false);
        }
        let event = &mut self.event;
        std::mem::swap(line, &mut event.joined);
        event.joined_from = value_start;
        event.data = Data::Joined;
        Ok(true)
    }

    /// Copies a data value that lies in `input`, the input being read, out
    /// of it, before the input is let go of or moved.
    #[inline(always)]
    pub(super) fn detach(&mut self, input: &[u8]) {
        if let Data::InInput(start, end) = self.event.data {
            self.event.detach(&input[start..end]);
        }
    }

    /// Before a borrowed item is read: what the last one held is no longer
    /// borrowed, and a very long line swapped into the data buffer is not
    /// kept once its event was taken. (A long line goes back to the
    /// allocator before the next one is read.)
    #[inline(always)]
    pub(super) fn release_held(&mut self) {
        if !self.held.bytes.is_empty() {
            self.held.bytes = Bytes::new();
        }
        let event = &mut self.event;
        if event.joined.capacity() > KEEP_LONG && !matches!(event.data, Data::Joined) {
            event.joined = Vec::new();
        }
    }

    /// The capacity of its largest buffer.
    #[inline(always)]
    pub(super) fn largest_capacity(&self) -> usize {
        (self.event.joined.capacity())
            .max(self.event.id_buffer.capacity())
            .max(self.held.lossy.capacity())
    }

    /// Whether it holds a value that the last borrowed item borrowed, shared
    /// with a chunk (which `shrink_buffers` lets go of).
    #[inline(always)]
    pub(super) fn holds_borrowed(&self) -> bool {
        !self.held.bytes.is_empty() || !self.held.comment.is_empty()
    }

    /// Lets go of what holds nothing now: the multi-line data buffer unless
    /// it holds the event's data, the id buffer unless an `id` is pending,
    /// and what the last borrowed item borrowed (see
    /// [`Parser::shrink_buffers`](super::Parser::shrink_buffers)).
    pub(super) fn shrink_buffers(&mut self) {
        let event = &mut self.event;
        if !matches!(event.data, Data::Joined) {
            event.clear_joined();
            free_if_unused(&mut event.joined);
        }
        if !event.id_set {
            free_string_if_unused(&mut event.id_buffer);
        }
        let held = &mut self.held;
        held.lossy.clear();
        free_string_if_unused(&mut held.lossy);
        // (Checked first: replacing an empty value still calls its drop. An
        // empty `Bytes` shares nothing: `slice` and `slice_ref` give
        // `Bytes::new()` for an empty range.)
        if !held.bytes.is_empty() {
            held.bytes = Bytes::new();
        }
        if !held.comment.is_empty() {
            held.comment = ByteString::new();
        }
    }

    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        self.event.joined.capacity()
            + self.event.id_buffer.capacity()
            + self.held.lossy.capacity()
            + self.held.bytes.len()
            + self.held.comment.len()
    }

    /// The multi-line data buffer, for tests of where values are kept.
    #[cfg(test)]
    pub(super) fn joined(&self) -> &Vec<u8> {
        &self.event.joined
    }

    fn too_large(&self) -> ParseError {
        ParseError::EventTooLarge {
            limit: self.max_event_len,
        }
    }

    /// The first steps of
    /// [dispatch](https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage),
    /// at a blank line. Returns whether an event follows, to be taken with
    /// `take_owned` or `take_ref`.
    #[inline(always)]
    pub(super) fn begin_dispatch(&mut self) -> bool {
        self.debug_check();
        let event = &mut self.event;
        self.stream.event_had_id = event.id_set;
        // 1. "Set the last event ID string of the event source to the value of
        //    the last event ID buffer." Even when no event follows.
        if event.id_set {
            event.id_set = false;
            self.stream.commit_id(&mut event.id_buffer);
        }
        // 2. "If the data buffer is an empty string, set the data buffer and
        //    the event type buffer to the empty string and return."
        if matches!(event.data, Data::None) {
            event.event_type = None;
            // (A block marked oversized without data: no longer.)
            event.data_len = 0;
            return false;
        }
        true
    }

    /// The invariants of the event being built and of the last event ID,
    /// in debug builds.
    #[inline(always)]
    fn debug_check(&self) {
        let event = &self.event;
        debug_assert!(event.data_len <= self.max_event_len);
        debug_assert!(
            !matches!(event.data, Data::Oversized) || event.data_len == self.max_event_len,
            "an oversized event's data_len is at the limit"
        );
        debug_assert!(
            !matches!(event.data, Data::Joined) || event.joined_from <= event.joined.len()
        );
        debug_assert!(
            event
                .event_type
                .is_none_or(|index| self.types.types[index].is_some())
        );
        let stream = &self.stream;
        debug_assert!(
            stream
                .last_event_id_shared
                .as_deref()
                .is_none_or(|shared| shared == stream.last_event_id)
        );
    }
}

impl Building {
    /// An `id` field's value: "If the field value does not contain U+0000
    /// NULL, then set the last event ID buffer to the field value.
    /// Otherwise, ignore the field."
    #[inline(always)]
    fn set_id(&mut self, value: &[u8]) {
        if is_valid_id(value) {
            self.id_buffer.clear();
            match std::str::from_utf8(value) {
                Ok(text) => self.id_buffer.push_str(text),
                Err(_) => self.id_buffer.push_str(&String::from_utf8_lossy(value)),
            }
            self.id_set = true;
        }
    }

    /// A second data value: the first and it, joined in `joined`.
    fn join_first(&mut self, first: &[u8], value: &[u8]) {
        self.start_joined();
        self.joined.extend_from_slice(first);
        self.joined.push(b'\n');
        self.joined.extend_from_slice(value);
        self.data = Data::Joined;
    }

    /// The data value, which lay in the input, is `value`, copied out.
    /// (Out of line, as before `EventBuffers` had its own file: it runs at
    /// most once a feed, and inlined it doubled `prepare_input`.)
    #[inline(never)]
    fn detach(&mut self, value: &[u8]) {
        self.start_joined();
        self.joined.extend_from_slice(value);
        self.data = Data::Joined;
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
}

impl Committed {
    /// At a dispatch, the last event ID buffer (`id_buffer`, set by an `id`
    /// field) becomes the last event ID string. (`id_buffer` is read only
    /// while an `id` is pending, so it can take the old string, and its
    /// capacity, in exchange.)
    #[inline(always)]
    fn commit_id(&mut self, id_buffer: &mut String) {
        if self.last_event_id != *id_buffer {
            std::mem::swap(&mut self.last_event_id, id_buffer);
            self.last_event_id_shared = None;
        }
    }

    /// A skipped event's id is not adopted: [`commit_id`](Self::commit_id)
    /// swapped the last event ID with the id buffer when the event had an
    /// id and it differed, so swapping them back restores it.
    fn give_back_id(&mut self, id_buffer: &mut String) {
        if self.event_had_id && self.last_event_id != *id_buffer {
            std::mem::swap(&mut self.last_event_id, id_buffer);
            self.last_event_id_shared = None;
        }
        // (Its id is not the stream's.)
        self.event_had_id = false;
    }

    /// The last event ID for an owned event: the shared copy, made when
    /// first needed.
    #[inline(always)]
    fn shared_id(&mut self) -> EcoString {
        self.last_event_id_shared
            .get_or_insert_with(|| self.last_event_id.as_str().into())
            .clone()
    }
}

impl TypeCache {
    /// The event type buffer for `value`: `None` when empty, else its index
    /// here, where it is added unless it was seen recently. `event: message`
    /// fills the buffer too: a stream that ends after it is truncated.
    fn index(&mut self, value: &[u8]) -> Option<usize> {
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
        let index = self.next;
        self.types[index] = Some(decode_small(value));
        self.next = (index + 1) % TYPE_CACHE;
        Some(index)
    }

    /// The type at `index` (an event type buffer), shared; empty for
    /// "message".
    #[inline(always)]
    fn shared(&self, index: Option<usize>) -> EcoString {
        index
            .and_then(|index| self.types[index].clone())
            .unwrap_or_default()
    }

    /// The type at `index` (an event type buffer), borrowed.
    #[inline(always)]
    fn name(&self, index: Option<usize>) -> &str {
        index
            .and_then(|index| self.types[index].as_deref())
            .unwrap_or(DEFAULT_EVENT_TYPE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::testing::*;

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
    fn event_had_id_says_whether_the_event_had_an_id_field_of_its_own() {
        // With an id; without, after one with; with the id it had already;
        // with a NUL (ignored); empty (valid: clears the ID); after a block
        // with an id but no data; seeded, without.
        let input = b"id: 1\ndata: a\n\ndata: b\n\nid: 1\ndata: c\n\nid: 2\x003\ndata: d\n\n\
            id\ndata: e\n\nid: 4\n\ndata: f\n\n";
        let expected = [
            ("a", true),
            ("b", false),
            ("c", true),
            ("d", false),
            ("e", true),
            ("f", false),
        ];
        for size in [input.len(), 1, 2, 5] {
            for by_ref in [false, true] {
                let mut parser = Parser::new();
                let mut had = Vec::new();
                for piece in input.chunks(size) {
                    parser.feed_slice(piece);
                    loop {
                        let data = if by_ref {
                            match parser.next_item_ref() {
                                Some(Ok(ItemRef::Event(event))) => event.data().to_owned(),
                                None => break,
                                other => panic!("{other:?}"),
                            }
                        } else {
                            match parser.next_item() {
                                Some(Ok(Item::Event(event))) => event.data().to_owned(),
                                None => break,
                                other => panic!("{other:?}"),
                            }
                        };
                        had.push((data, parser.event_had_id()));
                    }
                }
                let had: Vec<(&str, bool)> = had.iter().map(|(d, h)| (d.as_str(), *h)).collect();
                assert_eq!(had, expected, "chunks of {size}, by_ref {by_ref}");
            }
        }
        let mut parser = Parser::new();
        parser.set_last_event_id("7");
        parser.feed_slice(b"data: g\n\n");
        assert!(matches!(parser.next_item(), Some(Ok(Item::Event(_)))));
        assert!(!parser.event_had_id());
    }

    #[test]
    fn event_limit_is_independent_of_chunking() {
        let small = || Parser::builder().max_event_len(6).build();
        let error = Out::Error(ParseError::EventTooLarge { limit: 6 }.to_string());
        // "ab\ncd\n" is 6 bytes: allowed. One more byte is not.
        check_with(
            small,
            b"data: ab\ndata: cd\n\n",
            &[ev("message", "ab\ncd", "")],
        );
        check_with(small, b"data: ab\ndata: cde\n\ndata: x\n\n", &[error]);
    }

    #[test]
    fn a_repeated_long_event_type_or_id_is_shared() {
        // (Short ones are kept inline in each event.)
        let (kind, id) = ("a-long-event-type", "an-id-of-more-than-15-bytes");
        let mut parser = Parser::new();
        let text = format!("event: {kind}\nid: {id}\ndata: 1\n\nevent: {kind}\ndata: 2\n\n");
        parser.feed_slice(text.as_bytes());
        let mut events = Vec::new();
        while let Some(Ok(Item::Event(event))) = parser.next_item() {
            events.push(event);
        }
        let [first, second] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!((second.event_type(), second.last_event_id()), (kind, id));
        assert_eq!(first.event_type().as_ptr(), second.event_type().as_ptr());
        assert_eq!(
            first.last_event_id().as_ptr(),
            second.last_event_id().as_ptr()
        );
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
                assert!(matches!(parser.buffers.event.data, Data::Text(_)));
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
}
