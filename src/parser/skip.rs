//! Skip mode ([`ParserBuilder::skip_oversized_events`]): a line over the
//! limit is read through without being kept, and an event over a limit is
//! counted, not kept, and handed out as a notice at its blank line.
//!
//! Everything here runs on the paths that detect a limit, which fail the
//! stream when skip mode is off; the read loop and the dispatch fast paths
//! do not know of it. An oversized event is `Data::Oversized` (so it takes
//! the cold arm of `take_owned` and `take_ref`) with `data_len` at the limit
//! (so each of its `data` lines takes the cold path of `grow_data`). A block
//! marked before any `data` line keeps `Data::None`: if no `data` line
//! comes, its blank line dispatches nothing, as it would have, and
//! `begin_dispatch` clears the mark.
//!
//! Here, the reading side (a line over the limit, `Reading::LongLine`);
//! the event's side, which changes the event buffers, is
//! `buffers/oversized.rs`; what a long line was and its decoded length are
//! counted by `field::LongLine` and `text::LossyLen`.
//!
//! [`ParserBuilder::skip_oversized_events`]: super::ParserBuilder::skip_oversized_events

use super::error::ParseError;
use super::field::LongLine;
use super::item::LineItem;
use super::space::free_if_unused;
use super::{Parser, Reading};

impl Parser {
    /// A line longer than `max_line_len`: `partial`, then the input from
    /// the read position to the line end at `end` (counted from there), or
    /// to the end of the input. Fails the stream; in skip mode, the line is read through
    /// instead. `None`: read on.
    #[cold]
    #[inline(never)]
    pub(super) fn line_over_limit(
        &mut self,
        end: Option<usize>,
    ) -> Option<Result<LineItem, ParseError>> {
        if !self.buffers.skip_oversized() {
            return Some(Err(self.line_too_long()));
        }
        self.long = LongLine::default();
        self.long.push(&self.partial);
        self.partial.clear();
        free_if_unused(&mut self.partial);
        self.reading = Reading::LongLine;
        self.skip_line(end)
    }

    /// Reads on through a line over the limit: up to its line end at `end`
    /// (counted from the read position), where what the line was takes effect, or to
    /// the end of the input. Its bytes are counted, not kept.
    #[cold]
    pub(super) fn skip_line(&mut self, end: Option<usize>) -> Option<Result<LineItem, ParseError>> {
        let mut reader = self.fed.reader();
        let Some(end) = end else {
            self.long.push(reader.read_rest());
            return None;
        };
        self.long.push(&reader.rest()[..end]);
        (_, self.pending_cr) = reader.pass_line(end);
        self.reading = Reading::Lines;
        let input = reader.bytes();
        self.buffers
            .line_skipped(input, self.long.field(), self.long.decoded_len());
        None
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::event::SkippedEvent;
    use crate::parser::lines::HAND_OVER_FROM;
    use crate::parser::testing::*;

    fn skipping(max_line_len: usize, max_event_len: usize) -> impl Fn() -> Parser {
        move || {
            Parser::builder()
                .max_line_len(max_line_len)
                .max_event_len(max_event_len)
                .skip_oversized_events(true)
                .build()
        }
    }

    fn skipped(kind: &str, len: usize) -> Out {
        Out::Skipped(kind.into(), len)
    }

    /// `check_with` (slices, items owned: whole, a byte at a time, split at
    /// every index), and chunks fed with `feed` and items taken borrowed,
    /// split at every index.
    fn check_skipping(
        make: impl Fn() -> Parser,
        input: &[u8],
        expected: &[Out],
    ) -> (String, Option<StreamEnd>) {
        let (id, end) = check_with(&make, input, expected);
        for split in 0..=input.len() {
            let mut parser = make();
            let mut out = Vec::new();
            for piece in [&input[..split], &input[split..]] {
                parser.feed(Bytes::copy_from_slice(piece));
                drain_ref(&mut parser, &mut out);
            }
            parser.finish();
            drain_ref(&mut parser, &mut out);
            let got = (out, parser.last_event_id().to_owned(), parser.stream_end());
            assert_eq!(
                got,
                (expected.to_vec(), id.clone(), end),
                "split at {split}"
            );
        }
        (id, end)
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_at_any_split() {
        let long = "x".repeat(40);
        let input = format!("data: {long}\n\ndata: ok\n\n");
        let expected = [skipped("message", 40), ev("message", "ok", "")];
        for eol in ["\n", "\r", "\r\n"] {
            let input = input.replace('\n', eol);
            let (_, end) = check_skipping(skipping(16, 1024), input.as_bytes(), &expected);
            assert_eq!(end, Some(StreamEnd::Complete));
        }
        // Also as the second value of an event, after a kept one.
        check_skipping(
            skipping(16, 1024),
            format!("data: a\ndata: {long}\n\n").as_bytes(),
            &[skipped("message", 42)],
        );
    }

    #[test]
    fn data_over_the_event_limit_is_skipped_and_the_events_after_it_arrive() {
        // "ab\ncd\n" is 6 bytes, the limit: kept. One more byte is not, in
        // whichever line it comes.
        let input = b"data: ab\ndata: cd\n\n\
            data: ab\ndata: cde\n\n\
            data: abcdef\n\n\
            data\ndata\ndata\ndata\ndata\ndata\ndata\n\n\
            event: e\ndata: 1\n\n";
        check_skipping(
            skipping(64, 6),
            input,
            &[
                ev("message", "ab\ncd", ""),
                skipped("message", 6),
                skipped("message", 6),
                skipped("message", 6),
                ev("e", "1", ""),
            ],
        );
    }

    #[test]
    fn a_skipped_event_does_not_adopt_its_id() {
        let long = "z".repeat(20);
        for (input, id) in [
            // Its id before the data, after it, and with no id line.
            (format!("id: 1\n\nid: 2\ndata: {long}\n\ndata: a\n\n"), "1"),
            (format!("id: 1\n\ndata: {long}\nid: 2\n\ndata: a\n\n"), "1"),
            (format!("id: 1\n\ndata: {long}\n\ndata: a\n\n"), "1"),
            // An empty id would have cleared it.
            (format!("id: 1\n\nid\ndata: {long}\n\ndata: a\n\n"), "1"),
        ] {
            let (last, _) = check_skipping(
                skipping(8, 64),
                input.as_bytes(),
                &[skipped("message", 20), ev("message", "a", id)],
            );
            assert_eq!(last, id, "{input:?}");
        }
        // Its id is not its own either.
        let mut parser = skipping(8, 64)();
        parser.feed_slice(format!("id: 2\ndata: {long}\n\n").as_bytes());
        assert!(matches!(parser.next_item(), Some(Ok(Item::Skipped(_)))));
        assert!(!parser.event_had_id());
        // An event after it with an id of its own adopts that one.
        let input = format!("id: 1\n\nid: 2\ndata: {long}\n\nid: 3\ndata: a\n\n");
        check_skipping(
            skipping(8, 64),
            input.as_bytes(),
            &[skipped("message", 20), ev("message", "a", "3")],
        );
    }

    #[test]
    fn a_skipped_event_reports_its_type_as_far_as_known() {
        let long = "y".repeat(20);
        check_skipping(
            skipping(16, 64),
            format!(
                "event: add\ndata: {long}\n\n\
                 event: {long}\ndata: a\n\n\
                 event: {long}\nevent: add\ndata: a\n\n\
                 event: add\nevent: {long}\ndata: a\n\n"
            )
            .as_bytes(),
            &[
                skipped("add", 20),
                skipped("message", 1),
                skipped("add", 1),
                skipped("message", 1),
            ],
        );
    }

    #[test]
    fn a_too_long_event_or_id_line_skips_its_event() {
        let long = "w".repeat(20);
        check_skipping(
            skipping(16, 64),
            format!("id: {long}\ndata: a\n\ndata: b\nid: {long}\ndata: c\n\ndata: d\n\n")
                .as_bytes(),
            &[
                skipped("message", 1),
                skipped("message", 3),
                ev("message", "d", ""),
            ],
        );
        // A block without data would have dispatched nothing: it makes no
        // notice, and adopts its other id.
        let (id, end) = check_skipping(
            skipping(16, 64),
            format!("id: 1\nevent: {long}\nid: {long}\n\ndata: a\n\n").as_bytes(),
            &[ev("message", "a", "1")],
        );
        assert_eq!((id.as_str(), end), ("1", Some(StreamEnd::Complete)));
    }

    #[test]
    fn a_too_long_line_of_another_kind_is_dropped_and_marks_nothing() {
        let long = "v".repeat(20);
        let digits = "9".repeat(20);
        let with_comments = || {
            Parser::builder()
                .max_line_len(16)
                .skip_oversized_events(true)
                .comments(true)
                .build()
        };
        let input = format!(
            ": {long}\ndata: a\n\n\
             data: b\nretry: {digits}\n{long}: x\n{long}\n\n\
             : short\nretry: 5\n\n"
        );
        let (_, end) = check_skipping(
            with_comments,
            input.as_bytes(),
            &[
                ev("message", "a", ""),
                ev("message", "b", ""),
                Out::Comment("short".into()),
                Out::Retry(5),
            ],
        );
        assert_eq!(end, Some(StreamEnd::Complete));
        // At the end of the stream, an unfinished line: truncated.
        let (_, end) = check_skipping(skipping(16, 64), format!(": {long}").as_bytes(), &[]);
        assert_eq!(end, Some(StreamEnd::Truncated));
    }

    #[test]
    fn a_retry_in_a_skipped_event_applies() {
        let long = "u".repeat(20);
        let input = format!("retry: 7\ndata: {long}\nretry: 9\n\n");
        check_skipping(
            skipping(16, 64),
            input.as_bytes(),
            &[Out::Retry(7), Out::Retry(9), skipped("message", 20)],
        );
    }

    #[test]
    fn the_end_inside_an_oversized_event_is_truncated_without_a_notice() {
        let long = "t".repeat(20);
        for input in [
            format!("data: a\n\ndata: {long}"),
            format!("data: a\n\ndata: {long}\n"),
            format!("data: a\n\ndata: {long}\ndata: b\n"),
            // Marked before any data.
            format!("data: a\n\nevent: {long}\n"),
            format!("data: a\n\nid: {long}\n"),
        ] {
            let (_, end) = check_skipping(
                skipping(16, 64),
                input.as_bytes(),
                &[ev("message", "a", "")],
            );
            assert_eq!(end, Some(StreamEnd::Truncated), "{input:?}");
        }
        // The byte order mark's first bytes, over a limit of one byte.
        let (_, end) = check_skipping(skipping(1, 64), b"\xEF\xBB", &[]);
        assert_eq!(end, Some(StreamEnd::Truncated));
    }

    #[test]
    fn skipped_data_counts_invalid_bytes_decoded() {
        // Each invalid byte is a U+FFFD, three bytes; a sequence cut by the
        // line's end is one; split sequences are counted whole at any split.
        check_skipping(
            skipping(10, 64),
            "data: \u{20AC}\u{1F600}\u{20AC}\n\ndata: \u{e9}\u{e9}\n\n".as_bytes(),
            &[skipped("message", 10), ev("message", "\u{e9}\u{e9}", "")],
        );
        check_skipping(
            skipping(8, 64),
            b"data: ab\xFF\xE2\x82cd\xF0\x9F\x98\n\n",
            &[skipped("message", 13)],
        );
        // Raw bytes within the event limit that decode past it: skipped at
        // the blank line, with the decoded length.
        check_skipping(
            skipping(64, 8),
            b"data: \xFF\xFF\n\ndata: \xFF\xFF\xFF\n\ndata:\xFF\ndata:\xFF\xFF\n\n",
            &[
                ev("message", "\u{FFFD}\u{FFFD}", ""),
                skipped("message", 9),
                skipped("message", 10),
            ],
        );
    }

    #[test]
    fn a_huge_line_streams_through_in_bounded_memory() {
        let total = 50 * 1000 * 1000;
        let chunk = vec![b'x'; 64 * 1024];
        let limit = 1024 * 1024;
        for as_bytes in [true, false] {
            let mut parser = skipping(limit, 4 * limit)();
            let mut out = Vec::new();
            let feed = |parser: &mut Parser, piece: &[u8]| {
                if as_bytes {
                    parser.feed(Bytes::copy_from_slice(piece));
                } else {
                    parser.feed_slice(piece);
                }
            };
            feed(&mut parser, b"data: ");
            let mut fed = 0;
            while fed < total {
                feed(&mut parser, &chunk);
                fed += chunk.len();
                drain(&mut parser, &mut out);
                // Up to the limit, the line is kept (it may end in time);
                // past it, only counted.
                let kept = parser.buffer_capacity();
                if fed > 2 * limit {
                    assert!(kept <= 4 * 1024, "{kept} bytes kept after {fed}");
                } else {
                    assert!(
                        kept <= 2 * limit + 4 * 1024,
                        "{kept} bytes kept after {fed}"
                    );
                }
            }
            feed(&mut parser, b"\n\ndata: next\n\n");
            drain(&mut parser, &mut out);
            assert_eq!(out, [skipped("message", fed), ev("message", "next", "")]);
        }
    }

    #[test]
    fn long_lines_around_the_hand_over_length_are_skipped_owned_and_borrowed() {
        // Lines long enough to be handed over (owned) or swapped in
        // (borrowed), over the event limit but not the line limit, and over
        // both; with a kept event between.
        let limit = HAND_OVER_FROM + 100;
        let long = "s".repeat(HAND_OVER_FROM + 200);
        let longer = "r".repeat(2 * limit);
        let input = format!(
            "id: 1\ndata: {long}\n\ndata: ok\n\nevent: e\ndata: a\ndata: {long}\n\ndata: {longer}\n\ndata: end\n\n"
        );
        let expected = [
            skipped("message", long.len()),
            ev("message", "ok", ""),
            skipped("e", long.len() + 2),
            skipped("message", longer.len()),
            ev("message", "end", ""),
        ];
        for size in [1000, 4096, HAND_OVER_FROM - 1, HAND_OVER_FROM + 1, 100_000] {
            for (as_bytes, by_ref) in [(true, false), (true, true), (false, false), (false, true)] {
                let mut parser = skipping(limit + 1000, limit)();
                let mut out = Vec::new();
                for piece in input.as_bytes().chunks(size) {
                    if as_bytes {
                        parser.feed(Bytes::copy_from_slice(piece));
                    } else {
                        parser.feed_slice(piece);
                    }
                    if by_ref {
                        drain_ref(&mut parser, &mut out);
                    } else {
                        drain(&mut parser, &mut out);
                    }
                }
                parser.finish();
                drain(&mut parser, &mut out);
                let case = format!("chunks of {size}, as_bytes {as_bytes}, by_ref {by_ref}");
                assert_eq!(out, expected, "{case}");
                assert_eq!(parser.last_event_id(), "", "{case}");
                assert_eq!(parser.stream_end(), Some(StreamEnd::Complete), "{case}");
            }
        }
    }

    #[test]
    fn reset_inside_a_skipped_line_starts_afresh() {
        let mut parser = skipping(8, 64)();
        let mut out = Vec::new();
        parser.feed_slice(b"id: 1\n\nevent: e\nid: 2\ndata: far too long, and unfinished");
        drain(&mut parser, &mut out);
        parser.reset();
        parser.feed_slice(b"data: a\n\n");
        drain(&mut parser, &mut out);
        assert_eq!(out, [ev("message", "a", "1")]);
    }

    #[test]
    fn the_notice_is_plain_data() {
        let mut parser = skipping(4, 64)();
        parser.feed_slice(b"event: tick\ndata: 12345\n\n");
        let Some(Ok(Item::Skipped(owned))) = parser.clone().next_item() else {
            panic!("no notice");
        };
        assert_eq!(owned, SkippedEvent::new("message", 5));
        assert_eq!(
            format!("{owned:?}"),
            r#"SkippedEvent { event_type: "message", len: 5 }"#
        );
        let Some(Ok(ItemRef::Skipped(borrowed))) = parser.next_item_ref() else {
            panic!("no notice");
        };
        assert_eq!(*borrowed, owned);
        assert!(!owned.is_empty());
        assert!(SkippedEvent::new("tick", 0).is_empty());
    }
}
