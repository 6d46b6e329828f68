//! Differential test: the incremental parser against a deliberately naive
//! reference that decodes the whole input at once and follows the spec's
//! steps literally with `String` buffers.
//!
//! The reference knows nothing of chunks, carries, pending CRs or zero-copy
//! slices; if the two disagree on any input split at any points, one of them
//! is wrong, and the reference is simple enough to check by reading.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::select;
use ssefeed::parser::{Parser, StreamEnd};

#[path = "support/parsed.rs"]
mod parsed;
use parsed::{Out, drain, drain_ref, drain_without_none, end_of};

// ---------------------------------------------------------------------------
// The reference.

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skip mode (`skip_oversized_events`) and its limits.
#[derive(Debug, Clone, Copy)]
struct Skip {
    max_line_len: usize,
    max_event_len: usize,
}

/// Parses consecutive streams (connections), the first one starting with
/// `seed` as its last event ID, as the spec describes it; with `skip`, as
/// skip mode documents it.
fn reference(streams: &[Vec<u8>], seed: &str, skip: Option<Skip>) -> Vec<Out> {
    let mut out = Vec::new();
    // The event source's state, kept across connections.
    let mut last_event_id = seed.to_owned();
    let mut reconnection_time: Option<u64> = None;
    for input in streams {
        // "UTF-8 decode": strip one leading BOM, replace invalid sequences.
        // (Each line is decoded on its own, after the split: the same, as
        // CR and LF never occur inside a multi-byte sequence.)
        let input = input.strip_prefix(BOM).unwrap_or(input);
        // The stream's buffers. The last event ID buffer starts at the last
        // event ID, as browsers (and WPT format-field-id-2) do.
        let mut data = String::new();
        let mut event_type = String::new();
        let mut id_buffer = last_event_id.clone();
        // Skip mode: a `data`, `event` or `id` line of this event was too
        // long.
        let mut oversized = false;
        // Lines end at CRLF, LF or CR; what follows the last line ending is
        // not a line.
        let mut rest = input;
        while let Some(at) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            let raw = &rest[..at];
            let ending = if rest[at..].starts_with(b"\r\n") {
                2
            } else {
                1
            };
            rest = &rest[at + ending..];
            let line = String::from_utf8_lossy(raw);
            let too_long = skip.is_some_and(|skip| raw.len() > skip.max_line_len);

            if line.is_empty() {
                // Skip mode: an event too large (its data with a LF per
                // value, decoded) is a notice, and its id is not adopted.
                let too_large = skip.is_some_and(|skip| data.len() > skip.max_event_len);
                if (oversized || too_large) && !data.is_empty() {
                    let kind = if event_type.is_empty() {
                        "message".to_owned()
                    } else {
                        event_type.clone()
                    };
                    out.push(Out::Skipped(kind, data.len() - 1));
                    id_buffer.clone_from(&last_event_id);
                    data.clear();
                    event_type.clear();
                    oversized = false;
                    continue;
                }
                oversized = false;
                // Dispatch.
                last_event_id = id_buffer.clone();
                if data.is_empty() {
                    event_type.clear();
                    continue;
                }
                if data.ends_with('\n') {
                    data.pop();
                }
                let kind = if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    event_type.clone()
                };
                out.push(Out::Event(kind, data.clone(), last_event_id.clone()));
                data.clear();
                event_type.clear();
            } else if let Some(comment) = line.strip_prefix(':') {
                // (A comment too long is dropped.)
                if !too_long {
                    let comment = comment.strip_prefix(' ').unwrap_or(comment);
                    out.push(Out::Comment(comment.to_owned()));
                }
            } else {
                let (name, value) = match line.split_once(':') {
                    Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
                    None => (&*line, ""),
                };
                if too_long {
                    // Its data is counted; its type is no longer known; any
                    // other field is dropped.
                    match name {
                        "data" => {
                            data.push_str(value);
                            data.push('\n');
                            oversized = true;
                        }
                        "event" => {
                            event_type.clear();
                            oversized = true;
                        }
                        "id" => oversized = true,
                        _ => {}
                    }
                    continue;
                }
                match name {
                    "event" => event_type = value.to_owned(),
                    "data" => {
                        data.push_str(value);
                        data.push('\n');
                    }
                    "id" if !value.contains('\0') => id_buffer = value.to_owned(),
                    // Only ASCII digits; empty and too large are ignored
                    // (ssefeed's documented choices).
                    "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                        if let Ok(millis) = value.parse::<u64>() {
                            reconnection_time = Some(millis);
                            out.push(Out::Retry(millis));
                        }
                    }
                    _ => {}
                }
            }
        }
        // End of file: pending data is discarded. The stream was truncated
        // if that discarded anything: an unfinished line or a change to the
        // buffers that no blank line dispatched.
        let truncated = !rest.is_empty()
            || !data.is_empty()
            || !event_type.is_empty()
            || id_buffer != last_event_id
            || oversized;
        let end = if truncated {
            StreamEnd::Truncated
        } else {
            StreamEnd::Complete
        };
        out.push(Out::End(
            Some(end),
            last_event_id.clone(),
            reconnection_time,
        ));
    }
    out
}

fn without_comments(outs: &[Out]) -> Vec<Out> {
    outs.iter()
        .filter(|out| !matches!(out, Out::Comment(_)))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------
// The real parser, driven chunk by chunk.

/// How one chunk is handed over.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// `feed(Bytes)`, then drain.
    Bytes,
    /// `feed_slice`, then drain.
    Slice,
    /// `feed(Bytes)` without draining before the next chunk.
    NoDrain,
    /// `feed(Bytes)`, then drain with `next_item_ref`.
    BytesRef,
    /// `feed_slice`, then drain with `next_item_ref`.
    SliceRef,
    /// `feed(Bytes)`, then take every item but not the `None` after them.
    BytesNoNone,
    /// `feed_slice`, then take every item but not the `None` after them.
    SliceNoNone,
}

/// Parses each stream's chunks, `reset` between streams.
fn parse(mut parser: Parser, seed: &str, streams: &[Vec<(&[u8], Feed)>]) -> Vec<Out> {
    if !seed.is_empty() {
        parser.set_last_event_id(seed);
    }
    let mut out = Vec::new();
    for (n, chunks) in streams.iter().enumerate() {
        if n > 0 {
            parser.reset();
        }
        for &(chunk, feed) in chunks {
            match feed {
                Feed::Bytes | Feed::NoDrain | Feed::BytesRef | Feed::BytesNoNone => {
                    parser.feed(Bytes::copy_from_slice(chunk));
                }
                Feed::Slice | Feed::SliceRef | Feed::SliceNoNone => parser.feed_slice(chunk),
            }
            match feed {
                Feed::NoDrain => {}
                Feed::BytesRef | Feed::SliceRef => drain_ref(&mut parser, &mut out),
                Feed::BytesNoNone | Feed::SliceNoNone => drain_without_none(&mut parser, &mut out),
                Feed::Bytes | Feed::Slice => drain(&mut parser, &mut out),
            }
        }
        parser.finish();
        // The last chunk's mode also says how the end is drained.
        match chunks.last().map(|&(_, feed)| feed) {
            Some(Feed::BytesRef | Feed::SliceRef) => drain_ref(&mut parser, &mut out),
            _ => drain(&mut parser, &mut out),
        }
        assert!(parser.stream_end().is_some(), "the stream ended");
        out.push(end_of(&parser));
    }
    out
}

/// Cuts `input` at `cuts` (taken modulo its length + 1), each chunk with the
/// feed mode its cut chose.
fn cut<'a>(input: &'a [u8], cuts: &[(usize, u8)]) -> Vec<(&'a [u8], Feed)> {
    let mut points: Vec<(usize, Feed)> = cuts
        .iter()
        .map(|&(at, mode)| {
            let feed = match mode % 7 {
                0 => Feed::Bytes,
                1 => Feed::Slice,
                2 => Feed::NoDrain,
                3 => Feed::BytesRef,
                4 => Feed::SliceRef,
                5 => Feed::BytesNoNone,
                _ => Feed::SliceNoNone,
            };
            (at % (input.len() + 1), feed)
        })
        .collect();
    points.sort_by_key(|&(at, _)| at);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut feed = Feed::Bytes;
    for (at, next) in points {
        chunks.push((&input[start..at], feed));
        start = at;
        feed = next;
    }
    chunks.push((&input[start..], feed));
    chunks
}

// ---------------------------------------------------------------------------
// Inputs.

/// Pieces of field values: ASCII, the separators that matter, NUL, invalid
/// and truncated UTF-8, multi-byte characters, BOMs.
fn atom() -> impl Strategy<Value = &'static [u8]> {
    select(vec![
        b"a" as &[u8],
        b"xyz",
        b"0",
        b"42",
        b":",
        b" ",
        b"  ",
        b"\t",
        b"\0",
        b"\xFF",
        b"\x80",
        b"\xC3",
        b"\xE2\x82",
        b"\xF0\x9F\x98",
        b"\xED\xA0\x80",
        b"\xC0\x80",
        "\u{e9}".as_bytes(),
        "\u{20ac}".as_bytes(),
        "\u{1F600}".as_bytes(),
        BOM,
        b"\xEF\xBB",
        b"data",
    ])
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(atom(), 0..6).prop_map(|atoms| atoms.concat())
}

fn retry_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[0-9]{1,6}".prop_map(String::into_bytes),
        1 => select(vec![
            "",
            "0",
            "007",
            "18446744073709551615",
            "18446744073709551616",
            "+5",
            "5 ",
            "1e3",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => value(),
    ]
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        5 => Just(b"data".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"id".to_vec()),
        1 => select(vec![
            "Data",
            "DATA",
            "foo",
            "dat",
            "datas",
            " data",
            "data ",
            "\u{FEFF}data",
            "data\0",
            "\u{e9}vent",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => value(),
    ]
}

/// `name`, `name:value` or `name: value` (one or two spaces).
fn field() -> impl Strategy<Value = Vec<u8>> {
    let retry = (Just(b"retry".to_vec()), retry_value());
    let other = (name(), value());
    let separator = select(vec![b"" as &[u8], b":", b": ", b":  "]);
    (prop_oneof![4 => other, 1 => retry], separator).prop_map(|((name, value), separator)| {
        let mut line = name;
        if !separator.is_empty() {
            line.extend_from_slice(separator);
            line.extend_from_slice(&value);
        }
        line
    })
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => field(),
        1 => value().prop_map(|v| [b":".as_slice(), &v].concat()),
        3 => Just(Vec::new()),
    ]
}

fn eol() -> impl Strategy<Value = &'static [u8]> {
    select(vec![b"\n" as &[u8], b"\r", b"\r\n"])
}

/// A well-formed-ish stream: optional BOMs, lines with mixed endings, maybe
/// an unfinished last line.
fn event_stream() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        6 => Just(Vec::new()),
        2 => Just(BOM.to_vec()),
        1 => Just([BOM, BOM].concat()),
        1 => Just(b"\xEF\xBB".to_vec()),
    ];
    let lines = prop::collection::vec((line(), eol()), 0..24);
    let tail = prop_oneof![3 => Just(Vec::new()), 1 => line()];
    (prefix, lines, tail).prop_map(|(prefix, lines, tail)| {
        let mut input = prefix;
        for (line, eol) in lines {
            input.extend_from_slice(&line);
            input.extend_from_slice(eol);
        }
        input.extend_from_slice(&tail);
        input
    })
}

/// Random bytes, mostly from the ones the grammar cares about.
fn random_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = select(b"\r\n\r\n: :datevnirysd\0\xEF\xBB\xBF\xFF\xC3\x80".to_vec());
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..160),
        2 => prop::collection::vec(interesting, 0..160),
    ]
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => event_stream(), 1 => random_bytes()]
}

/// One connection's input, and where to cut it (with each chunk's feed mode).
type Connection = (Vec<u8>, Vec<(usize, u8)>);

/// One to three connections, each with its cuts.
fn connections() -> impl Strategy<Value = Vec<Connection>> {
    let connection = || {
        let cuts = prop::collection::vec((any::<usize>(), any::<u8>()), 0..12);
        (input(), cuts)
    };
    prop_oneof![
        4 => prop::collection::vec(connection(), 1..=1),
        1 => prop::collection::vec(connection(), 2..=3),
    ]
}

fn seed() -> impl Strategy<Value = &'static str> {
    select(vec!["", "", "", "seed", "\u{2026}"])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_matches_the_reference(connections in connections(), seed in seed()) {
        let streams: Vec<Vec<u8>> = connections.iter().map(|(input, _)| input.clone()).collect();
        let expected = reference(&streams, seed, None);

        // Cut where proptest chose, with comments reported.
        let chunked: Vec<Vec<(&[u8], Feed)>> = connections
            .iter()
            .map(|(input, cuts)| cut(input, cuts))
            .collect();
        let with_comments = Parser::builder().comments(true).build();
        prop_assert_eq!(parse(with_comments, seed, &chunked), expected.clone());

        // Whole, and a byte at a time, with comments ignored.
        let expected = without_comments(&expected);
        let whole: Vec<Vec<(&[u8], Feed)>> =
            streams.iter().map(|s| vec![(&s[..], Feed::Bytes)]).collect();
        prop_assert_eq!(parse(Parser::new(), seed, &whole), expected.clone());
        let bytes: Vec<Vec<(&[u8], Feed)>> = streams
            .iter()
            .map(|s| s.chunks(1).map(|b| (b, Feed::Slice)).collect())
            .collect();
        prop_assert_eq!(parse(Parser::new(), seed, &bytes), expected);
    }

    /// Skip mode with limits small enough for the generated lines and
    /// events to cross them, under the same chunkings.
    #[test]
    fn skipping_parser_matches_the_reference(
        connections in connections(),
        seed in seed(),
        max_line_len in 1..32usize,
        max_event_len in 1..64usize,
    ) {
        let skip = Skip { max_line_len, max_event_len };
        let skipping = |comments| {
            Parser::builder()
                .max_line_len(max_line_len)
                .max_event_len(max_event_len)
                .skip_oversized_events(true)
                .comments(comments)
                .build()
        };
        let streams: Vec<Vec<u8>> = connections.iter().map(|(input, _)| input.clone()).collect();
        let expected = reference(&streams, seed, Some(skip));

        let chunked: Vec<Vec<(&[u8], Feed)>> = connections
            .iter()
            .map(|(input, cuts)| cut(input, cuts))
            .collect();
        prop_assert_eq!(parse(skipping(true), seed, &chunked), expected.clone());

        let expected = without_comments(&expected);
        let whole: Vec<Vec<(&[u8], Feed)>> =
            streams.iter().map(|s| vec![(&s[..], Feed::Bytes)]).collect();
        prop_assert_eq!(parse(skipping(false), seed, &whole), expected.clone());
        let bytes: Vec<Vec<(&[u8], Feed)>> = streams
            .iter()
            .map(|s| s.chunks(1).map(|b| (b, Feed::Slice)).collect())
            .collect();
        prop_assert_eq!(parse(skipping(false), seed, &bytes), expected);
    }
}

// The reference itself, on cases whose answers are known, so that a bug in
// it cannot hide one in the parser.
#[test]
fn reference_follows_the_spec_examples() {
    let one = |input: &[u8]| reference(&[input.to_vec()], "", None);
    let event = |data: &str, id: &str| Out::Event("message".into(), data.into(), id.into());
    assert_eq!(
        one(b"data\n\ndata\ndata\n\ndata:"),
        [
            event("", ""),
            event("\n", ""),
            Out::End(Some(StreamEnd::Truncated), String::new(), None)
        ]
    );
    assert_eq!(
        one(b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\r\rdata:2\r\n\r\n:c\nretry:7\n"),
        [
            event("2", ""),
            Out::Comment("c".into()),
            Out::Retry(7),
            Out::End(Some(StreamEnd::Complete), String::new(), Some(7))
        ]
    );
    assert_eq!(
        reference(
            &[b"id:1\n\nid:2\n".to_vec(), b"data:\xFF\n\n".to_vec()],
            "0",
            None
        ),
        [
            Out::End(Some(StreamEnd::Truncated), "1".into(), None),
            event("\u{FFFD}", "1"),
            Out::End(Some(StreamEnd::Complete), "1".into(), None)
        ]
    );
}

#[test]
fn reference_skips_as_documented() {
    let skip = Some(Skip {
        max_line_len: 8,
        max_event_len: 8,
    });
    let one = |input: &[u8]| reference(&[input.to_vec()], "0", skip);
    let skipped = |kind: &str, len| Out::Skipped(kind.into(), len);
    let end = |end, id: &str| Out::End(Some(end), id.into(), None);
    // A line too long, data too large (7 + 1 + 2 bytes), the type as far as
    // known, the id not adopted; a comment too long is dropped.
    assert_eq!(
        one(b"id: 1\ndata: 123456789\n\nevent: e\ndata: 1234567\ndata: 8\n\n: long comment\n"),
        [
            skipped("message", 9),
            skipped("e", 9),
            end(StreamEnd::Complete, "0")
        ]
    );
    // A too-long `event` line: the type is unknown; a block without data
    // makes no notice and adopts its id; an event after a skip arrives.
    assert_eq!(
        one(b"event: long type\ndata: x\n\nevent: long type\nid: 2\n\ndata: y\n\n"),
        [
            skipped("message", 1),
            Out::Event("message".into(), "y".into(), "2".into()),
            end(StreamEnd::Complete, "2")
        ]
    );
    // Invalid bytes count decoded (three bytes each); the end inside an
    // oversized event is truncated, even one marked before its data.
    assert_eq!(
        one(b"data:\xFF\xFF\xFF\n\ndata: 123456789"),
        [skipped("message", 9), end(StreamEnd::Truncated, "0")]
    );
    assert_eq!(one(b"id: 123456789\n"), [end(StreamEnd::Truncated, "0")]);
}
