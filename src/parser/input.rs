//! The input: fed chunks and copied slices, the unfinished line, the
//! stash, the pending CR and the byte order mark.

use bytes::Bytes;

use super::buffers::At;
use super::fed::Fed;
use super::field::{Field, classify};
use super::lines::{BOM, hands_over, reserve_long};
use super::scan::{after_line_end, find_line_end};
use super::{Lifecycle, Parser, Reading};

/// A chunk shorter than this that continues an unfinished line is copied.
const SMALL_CHUNK: usize = 64;

/// The rest of a fed slice at least this long is copied into a chunk of its
/// own rather than into the reused buffer.
const OWN_CHUNK_FROM: usize = 512;

/// An unfinished line at the end of a fed slice at least this long is
/// stashed rather than copied with the rest.
const STASH_FROM: usize = 1024;

impl Parser {
    /// Gives the parser the next chunk of the stream, without copying it.
    ///
    /// Take what it completes with [`next_item`](Self::next_item) until that
    /// returns `None` before feeding the next chunk. (Feeding earlier is
    /// correct too, but copies the unread rest.) Chunks fed after
    /// [`finish`](Self::finish), or after an error, are ignored until
    /// [`reset`](Self::reset).
    pub fn feed(&mut self, chunk: Bytes) {
        if self.fed.is_empty() && self.partial.is_empty() && self.lifecycle == Lifecycle::Open {
            // The common case, a chunk after the last was read and let go
            // of: it is the input, as `prepare_input` would find (no data
            // lies in input not held, no stash is behind it).
            debug_assert!(!self.buffers.data_in_input() && self.stash.is_empty());
            if !chunk.is_empty() {
                self.fed.read_chunk(chunk);
            }
            return;
        }
        if chunk.len() < SMALL_CHUNK && !self.partial.is_empty() {
            // A small piece of a line: nothing in it is worth sharing, and
            // copying it (as from a slice) lets go of it at once.
            self.feed_slice(&chunk);
            return;
        }
        if !self.prepare_input(&chunk) {
            self.fed.read_chunk(chunk);
        }
    }

    /// Before new input is added: returns `true` when `chunk` was dealt with
    /// here (ignored, as the input is closed or it is empty; or appended to
    /// the unread rest of the input), `false` when everything fed before is
    /// read and `chunk` is the caller's to place. Data that lies in the
    /// input is detached first, and a stash is settled.
    fn prepare_input(&mut self, chunk: &[u8]) -> bool {
        if self.lifecycle != Lifecycle::Open || chunk.is_empty() {
            return true;
        }
        self.detach();
        self.settle_stash();
        self.fed.append(chunk)
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
        if !self.partial.is_empty() && self.nothing_to_read() && self.reading == Reading::Lines {
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
        self.debug_check_partial();
        let line = &self.partial[..];
        // (A long line is left to `next_item`, which hands it over whole.)
        let field = classify(line);
        let quiet = !hands_over(line.len())
            && match field {
                Field::Data(start) => self.buffers.data_fits(line.len() - start),
                Field::Id(_) | Field::Event(_) => true,
                _ => false,
            };
        if !quiet {
            self.copy_rest(rest);
            return;
        }
        let item = self.buffers.field(&[], line, field, At::Copy);
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
    pub(super) fn nothing_to_read(&self) -> bool {
        self.fed.is_empty() && self.lifecycle == Lifecycle::Open
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
            // (Without a line end, the tail continues `partial`.)
            let line = if keep == 0 { self.partial.len() } else { 0 } + tail;
            if tail >= STASH_FROM
                && line <= self.max_line_len
                && self.reading == Reading::Lines
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
            self.fed.read_chunk(Bytes::copy_from_slice(rest));
        } else {
            self.fed.read_copy(rest);
        }
    }

    fn copy_slice(&mut self, chunk: &[u8]) {
        if self.prepare_input(chunk) {
            return;
        }
        // Bytes that continue an unfinished line go straight to it (a small
        // read in the middle of a line is copied once); the rest, from the
        // line end on, is copied to be read like a chunk.
        let mut rest = chunk;
        if !self.partial.is_empty() && self.reading == Reading::Lines {
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

    pub(super) fn clear_input(&mut self) {
        self.fed.clear();
        self.partial.clear();
        self.stash.clear();
        self.pending_cr = false;
    }

    /// Everything fed so far is read: lets go of the chunk, so the HTTP stack
    /// can reuse its buffer while the connection idles (events that share it
    /// keep it alive as long as they need), and ends the stream if
    /// [`finish`](Self::finish) was called.
    #[inline(always)]
    pub(super) fn input_read(&mut self) {
        // Most often (small chunks, each read at once) nothing is left to do.
        if self.nothing_to_read() {
            return;
        }
        self.let_go_of_input();
    }

    pub(super) fn let_go_of_input(&mut self) {
        if self.lifecycle == Lifecycle::Failed {
            self.clear_input();
            self.partial = Vec::new();
            self.fed = Fed::default();
            self.buffers.discard();
            return;
        }
        self.detach();
        self.fed.release();
        self.unstash();
        if self.lifecycle == Lifecycle::Finishing {
            self.end_stream();
        }
    }

    /// The invariants of `partial`, the stash and the pending CR (see the
    /// module's list), in debug builds. (`partial` never holds a line end:
    /// its bytes are scanned once.)
    #[inline(always)]
    pub(super) fn debug_check_partial(&self) {
        let partial = &self.partial;
        debug_assert!(
            memchr::memchr2(b'\n', b'\r', partial).is_none(),
            "a line end in partial"
        );
        debug_assert!(partial.len() <= self.max_line_len.max(BOM.len() - 1));
        debug_assert!(self.reading != Reading::Bom || BOM[..BOM.len() - 1].starts_with(partial));
        debug_assert!(self.reading != Reading::LongLine || partial.is_empty());
        debug_assert!(!self.pending_cr || partial.is_empty());
        debug_assert!(
            self.stash.is_empty() || matches!(self.fed.bytes().last(), Some(b'\n' | b'\r')),
            "a stash behind input that does not end a line"
        );
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
        if self.fed.is_read() {
            self.unstash();
        } else {
            self.fed.keep_unread(&self.stash);
            self.stash.clear();
        }
    }

    /// Copies a data value that lies in the input out of it, before the
    /// input is let go of or moved.
    #[inline(always)]
    fn detach(&mut self) {
        if self.buffers.data_in_input() {
            self.buffers.detach(self.fed.bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::lines::HAND_OVER_FROM;
    use crate::parser::testing::*;

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

    /// A chunk read to its end but not yet let go of (its last item was
    /// taken, the `None` after it was not) is not read again after a slice
    /// is copied in: once as a fed chunk, once as a slice's own chunk.
    #[test]
    fn a_read_chunk_is_not_read_again_after_a_copied_slice() {
        let long_data = "x".repeat(OWN_CHUNK_FROM);
        let long = format!("data: {long_data}\n\n");
        for first_as_bytes in [true, false] {
            let mut parser = Parser::new();
            let data = if first_as_bytes {
                // A fed chunk, read in place.
                parser.feed(Bytes::from_static(b"data: a\n\n"));
                "a"
            } else {
                // A slice long enough to be copied into a chunk of its own.
                parser.feed_slice(long.as_bytes());
                &long_data
            };
            let Some(Ok(Item::Event(event))) = parser.next_item() else {
                panic!("no first event");
            };
            assert_eq!(event.data(), data);
            let mut out = Vec::new();
            parser.feed_slice(b"data: b\n\n");
            drain(&mut parser, &mut out);
            parser.feed_slice(b"data: c\n\n");
            drain(&mut parser, &mut out);
            assert_eq!(out, [ev("message", "b", ""), ev("message", "c", "")]);
        }
    }

    /// The same, when the slice is a long unfinished line that goes
    /// straight to `partial` and a chunk ends it: the next input is read
    /// from its start.
    #[test]
    fn a_read_chunk_let_go_of_before_a_long_line_leaves_nothing_unread() {
        let long_data = "y".repeat(STASH_FROM + 10);
        let mut parser = Parser::new();
        parser.feed(Bytes::from_static(b"data: a\n\n"));
        assert!(matches!(parser.next_item(), Some(Ok(Item::Event(_)))));
        parser.feed_slice(format!("data: {long_data}").as_bytes());
        let mut out = Vec::new();
        drain(&mut parser, &mut out);
        // A chunk (not a small one) that ends the line.
        let end = format!("{}\n\n", "z".repeat(SMALL_CHUNK));
        parser.feed(Bytes::from(end.clone()));
        drain(&mut parser, &mut out);
        let data = format!("{long_data}{}", end.trim_end());
        assert_eq!(out, [ev("message", &data, "")]);
    }

    /// Lines around the stash, hand-over and copy thresholds, with every
    /// line ending, random (`next(n)`: below `n`) but for the BOM and the
    /// unfinished line that `round` asks for.
    fn long_lines(round: usize, next: &mut impl FnMut(usize) -> usize) -> Vec<u8> {
        let mut input = Vec::new();
        if round.is_multiple_of(5) {
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
        if round.is_multiple_of(3) {
            input.extend_from_slice(b"data: unfinished");
        }
        input
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
            let input = long_lines(round, &mut next);
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
                Some(Err(ParseError::LineTooLong { limit: 1 }))
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
}
