//! The input being read: the chunk last fed as `Bytes`, read in place, or
//! the copy of fed slices; the chunk's validated text; and how far it is
//! read.

use bytes::Bytes;
use bytestring::ByteString;

use super::scan::after_line_end;
use super::space::free_if_unused;

/// A chunk at least this long is validated as UTF-8 as a whole (see
/// [`Fed::check_text`]).
pub(super) const TEXT_FROM: usize = 1024;

/// The validated text of a chunk when the input is not a chunk.
pub(super) static NO_TEXT: ByteString = ByteString::new();

/// The most capacity the copy of fed slices keeps when all is read.
const KEEP_COPIED: usize = 64 * 1024;

/// The input being read, and how far it is read.
///
/// Its bytes are the chunk last fed as `Bytes`, read in place, or the copy
/// of fed slices: at most one of the two holds bytes, and that one is read
/// (so a chunk cannot come back to be read again once slices were copied).
/// The read position lives here: every method that changes the bytes sets
/// it, and the read loop moves it through a [`Reader`], so it always counts
/// in the bytes it belongs to.
#[derive(Debug, Clone, Default)]
pub(super) struct Fed {
    /// The chunk being read in place. Empty while `copied` is read, and
    /// once read and let go of.
    chunk: Bytes,
    /// The fed slices being read. Empty while a chunk is read, and once
    /// let go of, when it keeps its capacity (up to `KEEP_COPIED`).
    copied: Vec<u8>,
    /// How far the bytes are read: in `0..=bytes().len()`, and 0 while none
    /// are held.
    pos: usize,
    /// The part of `chunk` that is valid UTF-8 once `check_text` ran
    /// (`text_checked`); empty otherwise, and whenever the chunk changes.
    text: ByteString,
    text_checked: bool,
}

impl Fed {
    /// All the bytes being read (a data value that lies in them is a range
    /// of them), read or not.
    #[inline(always)]
    pub(super) fn bytes(&self) -> &[u8] {
        debug_assert!(self.chunk.is_empty() || self.copied.is_empty());
        if self.copied.is_empty() {
            &self.chunk
        } else {
            &self.copied
        }
    }

    /// The bytes not read yet.
    #[inline(always)]
    pub(super) fn rest(&self) -> &[u8] {
        &self.bytes()[self.pos..]
    }

    /// Whether every byte held was read (or none is held).
    #[inline(always)]
    pub(super) fn is_read(&self) -> bool {
        let len = self.bytes().len();
        debug_assert!(self.pos <= len);
        self.pos >= len
    }

    /// Nothing is held: everything fed was read and let go of.
    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        let empty = self.chunk.is_empty() && self.copied.is_empty();
        debug_assert!(!empty || self.pos == 0, "a position without bytes");
        empty
    }

    /// The bytes and the read position, to read on: the bytes are looked up
    /// once (in a local, not again after each call in the read loop), and
    /// only the reader moves the position.
    #[inline(always)]
    pub(super) fn reader(&mut self) -> Reader<'_> {
        debug_assert!(self.chunk.is_empty() || self.copied.is_empty());
        let bytes = if self.copied.is_empty() {
            &self.chunk[..]
        } else {
            &self.copied[..]
        };
        Reader {
            bytes,
            pos: &mut self.pos,
        }
    }

    /// Reads `chunk` from its start, in place of what was held, which was
    /// read; it has not been validated as UTF-8.
    #[inline]
    pub(super) fn read_chunk(&mut self, chunk: Bytes) {
        debug_assert!(self.is_read(), "unread input replaced");
        self.copied.clear();
        self.set_chunk(chunk);
        self.pos = 0;
    }

    /// Copies `bytes` to be read from their start, in place of what was
    /// held, which was read: a chunk still held is let go of.
    #[inline]
    pub(super) fn read_copy(&mut self, bytes: &[u8]) {
        debug_assert!(self.is_read(), "unread input replaced");
        if !self.chunk.is_empty() {
            self.let_go_of_chunk();
        }
        self.copied.clear();
        self.copied.extend_from_slice(bytes);
        self.pos = 0;
    }

    /// `more` continues the input: it is added after the unread rest (see
    /// [`keep_unread`](Self::keep_unread)), and `true` returned. But when a
    /// chunk (or nothing) is held and it was read to its end, it is let go
    /// of instead, and `false` returned: `more` is the caller's to place.
    /// (Copied slices read to their end keep their buffer for `more`.)
    pub(super) fn append(&mut self, more: &[u8]) -> bool {
        if self.copied.is_empty() && self.pos == self.chunk.len() {
            // If a chunk read to its end was not let go of yet (its last
            // item was taken, the `None` after it was not), it goes now, or
            // it would be read again (its events twice).
            self.release();
            return false;
        }
        self.keep_unread(more);
        true
    }

    /// The unread rest, then `more`, becomes the input, read from its start:
    /// copied slices stay in their buffer, a chunk's rest is joined with
    /// `more` into a new chunk.
    pub(super) fn keep_unread(&mut self, more: &[u8]) {
        debug_assert!(!more.is_empty());
        if self.copied.is_empty() {
            let rest = self.rest();
            let mut joined = Vec::with_capacity(rest.len() + more.len());
            joined.extend_from_slice(rest);
            joined.extend_from_slice(more);
            self.set_chunk(Bytes::from(joined));
        } else {
            self.copied.drain(..self.pos);
            self.copied.extend_from_slice(more);
        }
        self.pos = 0;
    }

    /// Everything was read: lets go of the chunk, so the HTTP stack can
    /// reuse its buffer (events that share it keep it alive as long as they
    /// need), or empties the copy, which keeps its capacity.
    pub(super) fn release(&mut self) {
        if !self.copied.is_empty() {
            self.copied.clear();
            if self.copied.capacity() > KEEP_COPIED {
                self.copied = Vec::new();
            }
        } else if !self.chunk.is_empty() {
            self.set_chunk(Bytes::new());
        }
        self.pos = 0;
    }

    /// Lets go of all input (the copy keeps its capacity).
    pub(super) fn clear(&mut self) {
        self.set_chunk(Bytes::new());
        self.copied.clear();
        self.pos = 0;
    }

    /// A chunk read to its end, still held when slices are copied in: it
    /// goes, so that it cannot be read again once they are read. (The read
    /// loop lets go of each chunk it reads to the end, so this is rare.)
    #[cold]
    fn let_go_of_chunk(&mut self) {
        self.set_chunk(Bytes::new());
    }

    /// The chunk is `chunk` now, its text not validated; the caller sets
    /// the position.
    fn set_chunk(&mut self, chunk: Bytes) {
        self.chunk = chunk;
        if self.text_checked {
            self.text_checked = false;
            self.text = ByteString::new();
        }
    }

    /// Lets go of the copy's space if it holds no input (see
    /// [`Parser::shrink_buffers`](super::Parser::shrink_buffers)).
    pub(super) fn shrink_buffers(&mut self) {
        free_if_unused(&mut self.copied);
    }

    /// The capacity of the copy of fed slices.
    #[inline(always)]
    pub(super) fn copied_capacity(&self) -> usize {
        self.copied.capacity()
    }

    /// Validates the chunk as UTF-8 once, when a value in it is first
    /// decoded: afterwards a value in its valid part is a `&str` slice of
    /// `text`, with no validation of its own (which, for short values, costs
    /// more than the pass over the whole chunk). `text` is a copy of the valid
    /// part: why, in BENCHMARKS.md ("Where the measured choices live").
    #[inline(always)]
    pub(super) fn check_text(&mut self) {
        // (A small chunk, an event or so, is not worth a copy: its values
        // are validated one by one. Checked inline: with a chunk per event
        // this runs once an event.)
        if self.text_checked || self.chunk.len() < TEXT_FROM {
            return;
        }
        self.validate_chunk();
    }

    /// `check_text`'s work, once a chunk.
    #[inline(never)]
    fn validate_chunk(&mut self) {
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

    /// What a dispatched event's data may lie in: the bytes being read, and
    /// the chunk's validated text (none for copied slices).
    #[inline(always)]
    pub(super) fn with_text(&self) -> (&[u8], &ByteString) {
        debug_assert!(
            self.text.len() <= self.chunk.len() && (self.text_checked || self.text.is_empty())
        );
        if self.copied.is_empty() {
            (&self.chunk, &self.text)
        } else {
            (&self.copied, &NO_TEXT)
        }
    }
}

/// The bytes being read and [`Fed`]'s read position, borrowed together (as
/// httparse's `Bytes` cursor holds a slice and its position): the read loop
/// finds a line in [`rest`](Self::rest) and passes it, and the position
/// cannot leave the bytes it counts in.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: &'a mut usize,
}

impl<'a> Reader<'a> {
    /// All the bytes being read, as [`Fed::bytes`].
    #[inline(always)]
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes not read yet.
    #[inline(always)]
    pub(super) fn rest(&self) -> &'a [u8] {
        &self.bytes[*self.pos..]
    }

    /// Reads past the line of `len` bytes at the read position and its line
    /// end. Returns where the line starts in [`bytes`](Self::bytes), and
    /// whether its line end is a CR that ends the bytes (so that a LF that
    /// starts the next input belongs to it).
    #[inline(always)]
    pub(super) fn pass_line(&mut self, len: usize) -> (usize, bool) {
        let start = *self.pos;
        let pending_cr;
        (*self.pos, pending_cr) = after_line_end(self.bytes, start + len);
        (start, pending_cr)
    }

    /// Reads the rest, to the end of the bytes, and returns it.
    #[inline(always)]
    pub(super) fn read_rest(&mut self) -> &'a [u8] {
        let rest = self.rest();
        *self.pos = self.bytes.len();
        rest
    }

    /// Reads past `n` more bytes (of a byte order mark).
    pub(super) fn pass(&mut self, n: usize) {
        debug_assert!(n <= self.rest().len());
        *self.pos += n;
    }

    /// Reads past a LF at the read position, if one is there: the second
    /// half of a CRLF split between inputs.
    pub(super) fn pass_lf(&mut self) {
        *self.pos += usize::from(self.rest()[0] == b'\n');
    }
}
