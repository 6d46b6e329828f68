//! The read loop: lines out of the input, to the event buffers.

use bytes::Bytes;

use super::error::ParseError;

use super::buffers::{At, KEEP_LONG};
use super::field::data_value;
use super::item::LineItem;
use super::scan::find_line_end;
use super::{Lifecycle, Parser, Reading};

/// The byte order mark, which a stream may start with.
pub(super) const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// A line at least this long that spans chunks is handed over to the event
/// (its buffer becomes the data) instead of being copied out of the buffer.
pub(super) const HAND_OVER_FROM: usize = 16 * 1024;

/// Whether a line of `len` bytes that spans chunks is handed over whole (so
/// the small-read path leaves it to `next_item`).
#[inline(always)]
pub(super) fn hands_over(len: usize) -> bool {
    len >= HAND_OVER_FROM
}

impl Parser {
    /// Reads lines until one completes an event (left in `event` for the
    /// caller to take), makes another item, or the input runs out.
    #[inline(always)]
    pub(super) fn advance(&mut self) -> Next {
        if self.lifecycle == Lifecycle::Failed {
            self.let_go_of_input();
            return Next::NeedInput;
        }
        loop {
            // (At the end of the stream nothing is left to read, and `feed`
            // ignores input.)
            if self.fed.is_read() {
                return self.input_ended();
            }
            if self.reading != Reading::Lines || self.pending_cr || !self.partial.is_empty() {
                match self.step_at_line_start() {
                    None => continue,
                    Some(item) => return Next::Item(item),
                }
            }
            if let Some(next) = self.read_in_place() {
                return next;
            }
        }
    }

    /// The common case of [`advance`](Self::advance): a line that lies in
    /// the input, read in place. `None`: read on.
    #[inline(always)]
    fn read_in_place(&mut self) -> Option<Next> {
        let mut reader = self.fed.reader();
        let rest = reader.rest();
        // (A blank line, the end of most events, is seen without a scan.)
        let blank = matches!(rest[0], b'\n' | b'\r');
        let Some(offset) = (if blank { Some(0) } else { find_line_end(rest) }) else {
            // It starts a line that a later chunk ends.
            if rest.len() > self.max_line_len {
                return self.line_over_limit(None).map(Next::Item);
            }
            reserve_long(&mut self.partial, rest.len(), self.long_line);
            self.partial.extend_from_slice(reader.read_rest());
            return None;
        };
        if offset > self.max_line_len {
            return self.line_over_limit(Some(offset)).map(Next::Item);
        }
        let start;
        (start, self.pending_cr) = reader.pass_line(offset);
        if offset == 0 {
            return self.buffers.begin_dispatch().then_some(Next::Dispatch);
        }
        let input = reader.bytes();
        let end = start + offset;
        let line = &input[start..end];
        if let Some(value_start) = data_value(line) {
            // The most common line, without a call.
            return self
                .buffers
                .append_data(input, line, value_start, At::Input(start))
                .err()
                .map(|error| Next::Item(Err(error)));
        }
        self.buffers
            .line(input, &input[start..end], At::Input(start))
            .map(Next::Item)
    }

    /// [`advance`](Self::advance) at the end of what was fed: everything is
    /// read, unless the stream ended inside what might have been a byte
    /// order mark and over the line limit.
    #[inline(always)]
    fn input_ended(&mut self) -> Next {
        if self.lifecycle == Lifecycle::Finishing
            && self.reading == Reading::Bom
            && self.partial.len() > self.max_line_len
            && !self.buffers.skip_oversized()
        {
            // The input ended inside what might have been a byte order
            // mark: those bytes are a line, and too long. (When skipping,
            // an unfinished line: the stream is truncated.)
            self.reading = Reading::Lines;
            return Next::Item(Err(self.line_too_long()));
        }
        self.input_read();
        Next::NeedInput
    }

    /// What reading in place cannot do: strip a byte order mark, complete a
    /// CRLF split across chunks, complete the line in `partial`, or read on
    /// through a line over the limit. (The line in `partial` is never blank:
    /// `partial` is not empty.) `None`: read on.
    fn step_at_line_start(&mut self) -> Option<Result<LineItem, ParseError>> {
        self.debug_check_partial();
        if self.reading != Reading::Lines {
            if self.reading == Reading::LongLine {
                return self.skip_line(find_line_end(self.fed.rest()));
            }
            self.step_bom();
            return None;
        }
        let mut reader = self.fed.reader();
        if self.pending_cr {
            debug_assert!(self.partial.is_empty(), "a CR ended the last line");
            self.pending_cr = false;
            reader.pass_lf();
            return None;
        }
        let rest = reader.rest();
        let have = self.partial.len();
        let Some(offset) = find_line_end(rest) else {
            if have + rest.len() > self.max_line_len {
                return self.line_over_limit(None);
            }
            reserve_long(&mut self.partial, rest.len(), self.long_line);
            self.partial.extend_from_slice(reader.read_rest());
            return None;
        };
        if have + offset > self.max_line_len {
            return self.line_over_limit(Some(offset));
        }
        reserve_long(&mut self.partial, offset, self.long_line);
        self.partial.extend_from_slice(&rest[..offset]);
        (_, self.pending_cr) = reader.pass_line(offset);
        let input = reader.bytes();
        if !hands_over(self.partial.len()) {
            let item = self.buffers.line(input, &self.partial, At::Copy);
            self.partial.clear();
            item
        } else if self.buffers.can_swap_in()
            && let Some(value_start) = data_value(&self.partial)
        {
            self.swap_in_line(value_start).err().map(Err)
        } else {
            // A long line: hand the buffer itself over, so that a data value
            // is a slice of it rather than a second copy.
            let line = Bytes::from(std::mem::take(&mut self.partial));
            self.long_line = line.len() + line.len() / 16;
            self.buffers.line(input, &line, At::Handed(&line))
        }
    }

    /// At the start of a stream: reads past a byte order mark, or as much of
    /// one as the input holds. `partial` holds the bytes of it seen so far
    /// (none at first).
    #[cold]
    fn step_bom(&mut self) {
        let mut reader = self.fed.reader();
        let rest = reader.rest();
        let have = self.partial.len();
        let take = (BOM.len() - have).min(rest.len());
        if rest[..take] != BOM[have..have + take] {
            // Not a BOM: its first bytes, if any, start the first line.
            self.reading = Reading::Lines;
        } else if have + take == BOM.len() {
            self.partial.clear();
            reader.pass(take);
            self.reading = Reading::Lines;
        } else {
            // All the input is a proper prefix of the BOM: wait for more.
            // (At the end of the input it is an unfinished line.)
            self.partial.extend_from_slice(reader.read_rest());
        }
    }

    /// A long `data:` line in `partial` that starts an event's data, for a
    /// borrowed event: the line becomes the data buffer as it is (see
    /// [`EventBuffers::swap_in_line`](super::buffers::EventBuffers::swap_in_line)),
    /// and the data buffer's old storage the next unfinished line.
    fn swap_in_line(&mut self, value_start: usize) -> Result<(), ParseError> {
        let len = self.partial.len();
        let swapped = self.buffers.swap_in_line(&mut self.partial, value_start);
        self.partial.clear();
        if let Ok(true) = swapped {
            self.long_line = len + len / 16;
            if self.partial.capacity() > KEEP_LONG {
                self.partial = Vec::new();
            }
        }
        swapped.map(drop)
    }

    pub(super) fn line_too_long(&self) -> ParseError {
        ParseError::LineTooLong {
            limit: self.max_line_len,
        }
    }
}

/// Makes room for `more` bytes in `partial`: when the line is long already
/// and the last long line was longer, room for that much at once (each
/// doubling would copy the line again).
#[inline(always)]
pub(super) fn reserve_long(partial: &mut Vec<u8>, more: usize, long_line: usize) {
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

/// What [`Parser::advance`] found.
pub(super) enum Next {
    /// Everything fed was read (or the stream is over): feed more.
    NeedInput,
    /// A blank line ended an event with data: take it from `Parser::event`.
    Dispatch,
    /// A line made another item, or failed.
    Item(Result<LineItem, ParseError>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::testing::*;

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
    fn line_limit_is_independent_of_chunking() {
        let small = || Parser::builder().max_line_len(8).build();
        let error = Out::Error(ParseError::LineTooLong { limit: 8 }.to_string());
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
        assert!(matches!(error, ParseError::LineTooLong { .. }));
        assert!(parser.partial.capacity() <= 2 * limit);
    }

    /// The same with slices long enough to be stashed: each continued the
    /// unfinished line in `partial` past the limit, unchecked, so a line
    /// that never ended grew without bound and never failed.
    #[test]
    fn endless_line_fed_as_slices_keeps_memory_at_the_limit() {
        let limit = 64 * 1024;
        for size in [1000, 4000, 20_000] {
            let mut parser = Parser::builder().max_line_len(limit).build();
            let chunk = vec![b'x'; size];
            let mut fed = 0;
            let error = loop {
                parser.feed_slice(&chunk);
                fed += chunk.len();
                assert!(parser.partial.len() <= limit, "chunks of {size}");
                if let Some(result) = parser.next_item() {
                    break result.unwrap_err();
                }
                assert!(fed <= limit + size, "no error after {fed} bytes");
            };
            assert!(matches!(error, ParseError::LineTooLong { .. }));
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
                parser.buffers.joined().as_ptr() as usize,
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
                    let joined = parser.buffers.joined().as_ptr() as usize;
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
        a_very_long_line_is_not_kept(&mut parser);
    }

    /// After long lines read with `next_item_ref` (see above): a very long
    /// line is not kept once its event is done with.
    fn a_very_long_line_is_not_kept(parser: &mut Parser) {
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
        assert!(parser.buffers.joined().capacity() <= KEEP_LONG);
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
}
