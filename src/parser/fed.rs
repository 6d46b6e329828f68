//! The input being read: the chunk last fed as `Bytes`, read in place, or
//! the copy of fed slices; and the chunk's validated text.

use bytes::Bytes;
use bytestring::ByteString;

use super::space::free_if_unused;

/// A chunk at least this long is validated as UTF-8 as a whole (see
/// [`Fed::check_text`]).
pub(super) const TEXT_FROM: usize = 1024;

/// The validated text of a chunk when the input is not a chunk.
pub(super) static NO_TEXT: ByteString = ByteString::new();

/// The most capacity the copy of fed slices keeps when all is read.
const KEEP_COPIED: usize = 64 * 1024;

/// The input being read: the chunk last fed as `Bytes`, read in place, or
/// the copy of fed slices; and the chunk's validated text.
#[derive(Debug, Clone, Default)]
pub(super) struct Fed {
    /// The chunk, while `!in_copied`; always empty otherwise. Empty once
    /// read and let go of.
    pub(super) chunk: Bytes,
    /// The fed slices, while `in_copied`; always empty otherwise. Keeps its
    /// capacity (up to `KEEP_COPIED`) when let go of.
    copied: Vec<u8>,
    pub(super) in_copied: bool,
    /// The part of `chunk` that is valid UTF-8 once `check_text` ran
    /// (`text_checked`); empty otherwise.
    pub(super) text: ByteString,
    pub(super) text_checked: bool,
}

impl Fed {
    /// The bytes being read.
    #[inline(always)]
    pub(super) fn bytes(&self) -> &[u8] {
        debug_assert!(!self.in_copied || self.chunk.is_empty());
        debug_assert!(self.in_copied || self.copied.is_empty());
        if self.in_copied {
            &self.copied
        } else {
            &self.chunk
        }
    }

    /// Nothing is held: everything fed was read and let go of.
    #[inline(always)]
    pub(super) fn is_empty(&self) -> bool {
        self.chunk.is_empty() && !self.in_copied
    }

    /// Reads `chunk` from now on; it has not been validated as UTF-8.
    pub(super) fn set_chunk(&mut self, chunk: Bytes) {
        debug_assert!(self.copied.is_empty() || chunk.is_empty());
        self.chunk = chunk;
        if self.text_checked {
            self.text_checked = false;
            self.text = ByteString::new();
        }
    }

    /// Copies `bytes` to be read, after what copied slices remain.
    pub(super) fn copy(&mut self, bytes: &[u8]) {
        debug_assert!(self.in_copied || self.copied.is_empty());
        debug_assert!(self.chunk.is_empty(), "a chunk not let go of");
        self.copied.extend_from_slice(bytes);
        self.in_copied = true;
    }

    /// The unread rest from `pos`, then `more`, becomes the input, read
    /// from 0: copied slices stay in their buffer, a chunk's rest is joined
    /// with `more` into a new chunk.
    pub(super) fn keep_unread(&mut self, pos: usize, more: &[u8]) {
        if self.in_copied {
            self.copied.drain(..pos);
            self.copied.extend_from_slice(more);
        } else {
            let mut joined = Vec::with_capacity(self.chunk.len() - pos + more.len());
            joined.extend_from_slice(&self.chunk[pos..]);
            joined.extend_from_slice(more);
            self.set_chunk(Bytes::from(joined));
        }
    }

    /// Everything was read: lets go of the chunk, so the HTTP stack can
    /// reuse its buffer (events that share it keep it alive as long as they
    /// need), or empties the copy, which keeps its capacity.
    pub(super) fn release(&mut self) {
        if self.in_copied {
            self.copied.clear();
            if self.copied.capacity() > KEEP_COPIED {
                self.copied = Vec::new();
            }
            self.in_copied = false;
        } else if !self.chunk.is_empty() {
            self.set_chunk(Bytes::new());
        }
    }

    /// Lets go of the copy's space if it holds no input (see
    /// [`Parser::shrink_buffers`](super::Parser::shrink_buffers)).
    pub(super) fn shrink_buffers(&mut self) {
        free_if_unused(&mut self.copied);
    }

    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        self.copied.capacity()
    }

    /// Lets go of all input (the copy keeps its capacity).
    pub(super) fn clear(&mut self) {
        self.set_chunk(Bytes::new());
        self.copied.clear();
        self.in_copied = false;
    }

    /// Validates the chunk as UTF-8 once, when a value in it is first
    /// decoded: afterwards a value in its valid part is a `&str` slice of
    /// `text`, with no validation of its own (which, for short values, costs
    /// more than the pass over the whole chunk). `text` is a copy of the valid
    /// part: why, in BENCHMARKS.md ("Where the measured choices live").
    pub(super) fn check_text(&mut self) {
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

    /// What a dispatched event's data may lie in: the bytes being read, and
    /// the chunk's validated text (none for copied slices).
    #[inline(always)]
    pub(super) fn with_text(&self) -> (&[u8], &ByteString) {
        if self.in_copied {
            (&self.copied, &NO_TEXT)
        } else {
            (&self.chunk, &self.text)
        }
    }
}
