//! Conformance of the parser with the WHATWG event-stream interpretation and
//! the web-platform-tests `eventsource/format-*` cases.
//!
//! Every table case runs through every driver below: the input whole, a byte
//! at a time, split in two at every index, split in three at every pair of
//! indices (short inputs), fed with `feed(Bytes)`, with `feed_slice`, and
//! without draining between chunks; and, unless the case's line endings are
//! the point, with LF, CR, CRLF and CRLF split between its CR and LF. All of
//! them must give exactly the expected items.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use ssefeed::parser::{Item, ParseError, Parser, StreamEnd};
use ssefeed::{Error, EventStream};

#[path = "support/parsed.rs"]
mod parsed;
use parsed::{Out, drain, drain_ref, end_of, ev};

// ---------------------------------------------------------------------------
// The harness.

fn msg(data: &str, id: &str) -> Out {
    ev("message", data, id)
}

fn end(how: StreamEnd, id: &str, retry: Option<u64>) -> Out {
    Out::End(Some(how), id.into(), retry)
}

fn complete(id: &str) -> Out {
    end(StreamEnd::Complete, id, None)
}

fn truncated(id: &str) -> Out {
    end(StreamEnd::Truncated, id, None)
}

/// How chunks are handed to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// `feed(Bytes)`, draining after each chunk.
    Bytes,
    /// `feed_slice(&[u8])`, draining after each chunk.
    Slice,
    /// `feed(Bytes)` of every chunk first, then one drain.
    NoDrain,
    /// `feed(Bytes)`, draining with `next_item_ref` after each chunk.
    BytesRef,
    /// `feed_slice(&[u8])`, draining with `next_item_ref` after each chunk.
    SliceRef,
}

const FEEDS: [Feed; 5] = [
    Feed::Bytes,
    Feed::Slice,
    Feed::NoDrain,
    Feed::BytesRef,
    Feed::SliceRef,
];

/// Parses consecutive streams (connections) with one parser, `reset` between
/// them, each stream given as its chunks.
fn parse_streams(mut parser: Parser, streams: &[Vec<&[u8]>], feed: Feed) -> Vec<Out> {
    let mut out = Vec::new();
    for (n, chunks) in streams.iter().enumerate() {
        if n > 0 {
            parser.reset();
        }
        for chunk in chunks {
            match feed {
                Feed::Bytes | Feed::NoDrain | Feed::BytesRef => {
                    parser.feed(Bytes::copy_from_slice(chunk));
                }
                Feed::Slice | Feed::SliceRef => parser.feed_slice(chunk),
            }
            match feed {
                Feed::NoDrain => {}
                Feed::BytesRef | Feed::SliceRef => drain_ref(&mut parser, &mut out),
                Feed::Bytes | Feed::Slice => drain(&mut parser, &mut out),
            }
        }
        parser.finish();
        match feed {
            Feed::BytesRef | Feed::SliceRef => drain_ref(&mut parser, &mut out),
            _ => drain(&mut parser, &mut out),
        }
        assert!(parser.next_item().is_none(), "items after the end");
        out.push(end_of(&parser));
    }
    out
}

/// The line endings of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    /// The input is written with LF only; it is also run with CR, with CRLF,
    /// and with CRLF split between CR and LF.
    Any,
    /// The input's own line endings are the point: run as written.
    AsWritten,
}

/// One table case: consecutive streams and everything they must produce.
struct Case<'a> {
    name: &'a str,
    streams: &'a [&'a [u8]],
    eol: Eol,
    expected: &'a [Out],
}

/// Replaces every LF of `input` with `eol`.
fn with_eol(input: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for &byte in input {
        if byte == b'\n' {
            out.extend_from_slice(eol);
        } else {
            out.push(byte);
        }
    }
    out
}

/// Splits `input` right after every CR that a LF follows.
fn split_crlf(input: &[u8]) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for (i, pair) in input.windows(2).enumerate() {
        if pair == b"\r\n" {
            chunks.push(&input[start..=i]);
            start = i + 1;
        }
    }
    chunks.push(&input[start..]);
    chunks
}

/// Inputs up to this long are also split in three at every pair of indices.
const THREE_WAY_MAX: usize = 80;

/// Runs one set of streams through every chunking driver and feed mode.
fn run_drivers(make: &dyn Fn() -> Parser, name: &str, streams: &[Vec<u8>], expected: &[Out]) {
    let check = |chunks: Vec<Vec<&[u8]>>, feed: Feed, how: &dyn Fn() -> String| {
        let got = parse_streams(make(), &chunks, feed);
        assert_eq!(got, expected, "{name}: {} ({feed:?})", how());
    };
    let longest = streams.iter().map(Vec::len).max().unwrap_or(0);
    for feed in FEEDS {
        let whole = streams.iter().map(|s| vec![&s[..]]).collect();
        check(whole, feed, &|| "whole".into());
        let bytes = streams.iter().map(|s| s.chunks(1).collect()).collect();
        check(bytes, feed, &|| "a byte at a time".into());
    }
    for split in 0..=longest {
        let feed = FEEDS[split % FEEDS.len()];
        let two = streams
            .iter()
            .map(|s| {
                let (a, b) = s.split_at(split.min(s.len()));
                vec![a, b]
            })
            .collect();
        check(two, feed, &|| format!("split at {split}"));
    }
    if longest <= THREE_WAY_MAX {
        for i in 0..=longest {
            for j in i..=longest {
                let feed = FEEDS[(i + j) % FEEDS.len()];
                let three = streams
                    .iter()
                    .map(|s| {
                        let (i, j) = (i.min(s.len()), j.min(s.len()));
                        vec![&s[..i], &s[i..j], &s[j..]]
                    })
                    .collect();
                check(three, feed, &|| format!("split at {i} and {j}"));
            }
        }
    }
}

/// Runs a case with a parser from `make`: every driver, every line ending.
fn run_with(make: &dyn Fn() -> Parser, case: &Case<'_>) {
    let variants: &[(&str, &[u8])] = match case.eol {
        Eol::AsWritten => &[("as written", b"\n")],
        Eol::Any => {
            for stream in case.streams {
                assert!(
                    !stream.contains(&b'\r'),
                    "{}: an Eol::Any case is written with LF only",
                    case.name
                );
            }
            &[("LF", b"\n"), ("CR", b"\r"), ("CRLF", b"\r\n")]
        }
    };
    for (eol_name, eol) in variants {
        let streams: Vec<Vec<u8>> = case.streams.iter().map(|s| with_eol(s, eol)).collect();
        let name = format!("{} [{eol_name}]", case.name);
        run_drivers(make, &name, &streams, case.expected);
        if *eol == b"\r\n" {
            // CR ends one chunk, LF starts the next, at every line ending.
            for feed in FEEDS {
                let chunks: Vec<Vec<&[u8]>> = streams.iter().map(|s| split_crlf(s)).collect();
                let got = parse_streams(make(), &chunks, feed);
                assert_eq!(got, case.expected, "{name}: CR|LF split ({feed:?})");
            }
        }
    }
}

fn run(case: &Case<'_>) {
    run_with(&Parser::new, case);
}

/// A table case with the default parser: `case!(name, eol, [streams], [outs])`.
macro_rules! case {
    ($name:ident, $eol:ident, [$($stream:expr),+ $(,)?], [$($out:expr),* $(,)?]) => {
        #[test]
        fn $name() {
            run(&Case {
                name: stringify!($name),
                streams: &[$(AsRef::<[u8]>::as_ref($stream)),+],
                eol: Eol::$eol,
                expected: &[$($out),*],
            });
        }
    };
}

// ---------------------------------------------------------------------------
// WPT eventsource/format-* (bodies as the WPT servers send them).

case!(
    format_bom,
    Any,
    [b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n\n"],
    [msg("1", ""), msg("3", ""), complete("")]
);

case!(
    format_bom_2,
    Any,
    [b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n\n"],
    [msg("2", ""), msg("3", ""), complete("")]
);

#[test]
fn format_comments() {
    let long = "x".repeat(2048);
    let body =
        format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
    let expected = [msg("1\n2\n3\n4", ""), complete("")];
    run(&Case {
        name: "format_comments",
        streams: &[body.as_bytes()],
        eol: Eol::AsWritten,
        expected: &expected,
    });
    // With comments reported: each one, whatever ended its line.
    let with_comments = || Parser::builder().comments(true).build();
    let expected = [
        Out::Comment("\0".into()),
        Out::Comment(String::new()),
        Out::Comment(long.clone()),
        Out::Comment("data:fail".into()),
        Out::Comment(long.clone()),
        msg("1\n2\n3\n4", ""),
        complete(""),
    ];
    let got = parse_streams(with_comments(), &[vec![body.as_bytes()]], Feed::Bytes);
    assert_eq!(got, expected);
    let bytes: Vec<&[u8]> = body.as_bytes().chunks(1).collect();
    let got = parse_streams(with_comments(), &[bytes], Feed::Slice);
    assert_eq!(got, expected);
}

// The server sends the same body on both connections; the unfinished final
// event, and its `id:test`, are discarded each time.
case!(
    format_data_before_final_empty_line,
    Any,
    [
        b"retry:1000\ndata:test1\n\nid:test\ndata:test2",
        b"retry:1000\ndata:test1\n\nid:test\ndata:test2"
    ],
    [
        Out::Retry(1000),
        msg("test1", ""),
        end(StreamEnd::Truncated, "", Some(1000)),
        Out::Retry(1000),
        msg("test1", ""),
        end(StreamEnd::Truncated, "", Some(1000)),
    ]
);

case!(
    format_field_data,
    Any,
    [b"data:\n\ndata\ndata\n\ndata:test\n\n\n"],
    [msg("", ""), msg("\n", ""), msg("test", ""), complete("")]
);

case!(
    format_field_event,
    Any,
    [b"event:test\ndata:x\n\ndata:x\n\n\n"],
    [ev("test", "x", ""), msg("x", ""), complete("")]
);

case!(
    format_field_event_empty,
    Any,
    [b"event: \ndata:data\n\n\n"],
    [msg("data", ""), complete("")]
);

// last-event-id.py: without a `Last-Event-ID` the server sends the id; with
// one (the End's id is not empty), it echoes it.
case!(
    format_field_id,
    Any,
    [
        "id: \u{2026}\nretry: 200\ndata: hello\n\n",
        "data: \u{2026}\n\n"
    ],
    [
        Out::Retry(200),
        msg("hello", "\u{2026}"),
        end(StreamEnd::Complete, "\u{2026}", Some(200)),
        msg("\u{2026}", "\u{2026}"),
        end(StreamEnd::Complete, "\u{2026}", Some(200)),
    ]
);

// The second stream has no `id:`: its events still report the id, and the
// second reconnect still sends it.
case!(
    format_field_id_2,
    Any,
    [
        "id: \u{2026}\nretry: 200\ndata: hello\n\n",
        "data: \u{2026}\n\n",
        "data: \u{2026}\n\n"
    ],
    [
        Out::Retry(200),
        msg("hello", "\u{2026}"),
        end(StreamEnd::Complete, "\u{2026}", Some(200)),
        msg("\u{2026}", "\u{2026}"),
        end(StreamEnd::Complete, "\u{2026}", Some(200)),
        msg("\u{2026}", "\u{2026}"),
        end(StreamEnd::Complete, "\u{2026}", Some(200)),
    ]
);

#[test]
fn format_field_id_3() {
    let cases: [(&str, &[u8], &[Out]); 3] = [
        (
            "type 1",
            b"id: 1\ndata: 1\n\ndata:2\n\n",
            &[msg("1", "1"), msg("2", "1"), complete("1")],
        ),
        (
            "type 2",
            b"id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n",
            &[msg("1", "1"), msg("2", "2"), msg("3", "2"), complete("2")],
        ),
        (
            "type 3: an empty id resets it",
            b"id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n",
            &[msg("1", "1"), msg("2", ""), msg("3", ""), complete("")],
        ),
    ];
    for (name, body, expected) in cases {
        run(&Case {
            name,
            streams: &[body],
            eol: Eol::Any,
            expected,
        });
    }
}

// The id holds NUL, so it is ignored: no `Last-Event-ID`, and the server
// sends the same body again.
case!(
    format_field_id_null,
    Any,
    [
        b"id: \0\0\nretry: 200\ndata: hello\n\n",
        b"id: \0\0\nretry: 200\ndata: hello\n\n"
    ],
    [
        Out::Retry(200),
        msg("hello", ""),
        end(StreamEnd::Complete, "", Some(200)),
        Out::Retry(200),
        msg("hello", ""),
        end(StreamEnd::Complete, "", Some(200)),
    ]
);

case!(
    format_field_parsing,
    AsWritten,
    [b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n"],
    [msg("\0\n 2\n1\n3\n\n4", ""), complete("")]
);

case!(
    format_field_retry,
    Any,
    [b"retry:03000\ndata:x\n\n\n"],
    [
        Out::Retry(3000),
        msg("x", ""),
        end(StreamEnd::Complete, "", Some(3000))
    ]
);

case!(
    format_field_retry_bogus,
    Any,
    [b"retry:3000\nretry:1000x\ndata:x\n\n\n"],
    [
        Out::Retry(3000),
        msg("x", ""),
        end(StreamEnd::Complete, "", Some(3000))
    ]
);

// WPT checks only that parsing goes on; ssefeed ignores an empty retry.
case!(
    format_field_retry_empty,
    Any,
    [b"retry\ndata:test\n\n\n"],
    [msg("test", ""), complete("")]
);

case!(
    format_field_unknown,
    Any,
    [b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n"],
    [msg("test\n\ntest", ""), complete("")]
);

case!(
    format_leading_space,
    AsWritten,
    [b"data:\ttest\rdata: \ndata:test\n\n\n"],
    [msg("\ttest\n\ntest", ""), complete("")]
);

case!(
    format_newlines,
    AsWritten,
    [b"data:test\r\ndata\ndata:test\r\n\r\n\n"],
    [msg("test\n\ntest", ""), complete("")]
);

case!(
    format_null_character,
    Any,
    [b"data:\0\n\n\n\n\n"],
    [msg("\0", ""), complete("")]
);

// The body is UTF-8 whatever the charset parameter says.
case!(
    format_utf_8,
    Any,
    [b"data:ok\xE2\x80\xA6\n\n\n"],
    [msg("ok\u{2026}", ""), complete("")]
);

// event-data.htm (message2.py): only three messages fire.
case!(
    event_data,
    Any,
    [b"data:msg\ndata: msg\n\n:\nfalsefield:msg\n\nfalsefield:msg\nData:data\n\ndata\n\ndata:end\n\n"],
    [msg("msg\nmsg", ""), msg("", ""), msg("end", ""), complete("")]
);

// ---------------------------------------------------------------------------
// The spec's processing model, step by step.

// Parsing: line endings.

case!(
    parse_every_line_ending_alone,
    AsWritten,
    [
        b"data:lf\n\n",
        b"data:cr\r\r",
        b"data:crlf\r\n\r\n",
        b"data:mixed\r\n\r"
    ],
    [
        msg("lf", ""),
        complete(""),
        msg("cr", ""),
        complete(""),
        msg("crlf", ""),
        complete(""),
        msg("mixed", ""),
        complete("")
    ]
);

// LF CR is two line endings (a blank line); CR LF is one.
case!(
    parse_lf_cr_is_two_line_endings_cr_lf_is_one,
    AsWritten,
    [b"data:a\n\rdata:b\r\ndata:c\r\n\r\n"],
    [msg("a", ""), msg("b\nc", ""), complete("")]
);

case!(
    parse_cr_cr_lf_is_a_blank_line_then_one_ending,
    AsWritten,
    [b"data:a\r\r\ndata:b\r\n\r\n"],
    [msg("a", ""), msg("b", ""), complete("")]
);

// A lone CR at the very end of the input ends the line at once.
#[test]
fn parse_cr_at_the_end_of_a_chunk_ends_the_line_at_once() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed_slice(b"data:a\r\r");
    drain(&mut parser, &mut out);
    assert_eq!(out, [msg("a", "")], "dispatched without waiting for a LF");
    // The LF that starts the next chunk belongs to that CR.
    parser.feed_slice(b"\ndata:b\r");
    parser.feed_slice(b"\n\r");
    drain(&mut parser, &mut out);
    assert_eq!(out, [msg("a", ""), msg("b", "")]);
}

// A LF that follows a CR in the next chunk is not a blank line: here a
// blank line would dispatch "a" without "b".
#[test]
fn parse_crlf_split_across_chunks_is_one_line_ending() {
    for feed in FEEDS {
        let chunks: Vec<&[u8]> = vec![b"data:a\r", b"\ndata:b\r", b"\n\r", b"\n"];
        let got = parse_streams(Parser::new(), &[chunks], feed);
        assert_eq!(got, [msg("a\nb", ""), complete("")], "{feed:?}");
    }
}

// Interpreting: lines.

case!(
    interpret_comment_lines_are_ignored_anywhere,
    Any,
    [b":start\ndata:a\n: middle\n:\ndata:b\n::\n\n:end\n"],
    [msg("a\nb", ""), complete("")]
);

case!(
    interpret_field_name_ends_at_the_first_colon,
    Any,
    [b"data:a:b: c\n\ndata::\n\ndata: :x\n\n"],
    [msg("a:b: c", ""), msg(":", ""), msg(":x", ""), complete("")]
);

case!(
    interpret_only_one_leading_space_is_removed,
    Any,
    [b"data:  a\ndata:\tb\ndata: \tc\ndata:d \n\n"],
    [msg(" a\n\tb\n\tc\nd ", ""), complete("")]
);

case!(
    interpret_line_without_colon_is_a_name_with_empty_value,
    Any,
    [b"data\n\nevent\ndata:x\n\nid\ndata:y\n\n"],
    [msg("", ""), msg("x", ""), msg("y", ""), complete("")]
);

case!(
    interpret_field_names_are_case_sensitive_and_exact,
    Any,
    [b"Data:1\nDATA:2\ndata :3\n data:4\nEvent:x\nID:7\nRetry:5\ndatum:6\n\ndata:ok\n\n"],
    [msg("ok", ""), complete("")]
);

case!(
    interpret_nul_and_non_ascii_are_ordinary_characters,
    Any,
    ["data:\0a\u{0}\ndata:\u{e9}\u{20ac}\u{1F600}\u{FEFF}\nevent:\u{3b1}\n\n"],
    [
        ev("\u{3b1}", "\0a\0\n\u{e9}\u{20ac}\u{1F600}\u{FEFF}", ""),
        complete("")
    ]
);

// Invalid UTF-8 decodes to U+FFFD per maximal subpart, as the spec's UTF-8
// decode does, wherever the chunks split the sequence.
case!(
    interpret_invalid_utf8_becomes_replacement_characters,
    Any,
    [b"data:a\xFFb\ndata:\xF0\x9F\x98\ndata:\xC0\x80\ndata:\xE2\x82!\nevent:\xED\xA0\x80\nid:\x80\n\n"],
    [
        ev(
            "\u{FFFD}\u{FFFD}\u{FFFD}",
            "a\u{FFFD}b\n\u{FFFD}\n\u{FFFD}\u{FFFD}\n\u{FFFD}!",
            "\u{FFFD}"
        ),
        complete("\u{FFFD}")
    ]
);

// Fields.

case!(
    field_event_sets_the_type_until_dispatch,
    Any,
    [b"event:a\nevent:b\ndata:1\n\ndata:2\n\nevent:c\nevent:\ndata:3\n\nevent:message\ndata:4\n\n"],
    [
        ev("b", "1", ""),
        msg("2", ""),
        msg("3", ""),
        msg("4", ""),
        complete("")
    ]
);

case!(
    field_data_appends_value_and_lf,
    Any,
    [b"data:a\ndata\ndata:\ndata:b\n\ndata\ndata\ndata\n\n"],
    [msg("a\n\n\nb", ""), msg("\n\n", ""), complete("")]
);

case!(
    field_id_sets_the_buffer_unless_it_holds_nul,
    Any,
    [b"id:1\ndata:a\n\nid:x\0y\ndata:b\n\nid:\0\ndata:c\n\nid:  2 \ndata:d\n\nid:a:b\ndata:e\n\n"],
    [
        msg("a", "1"),
        msg("b", "1"),
        msg("c", "1"),
        msg("d", " 2 "),
        msg("e", "a:b"),
        complete("a:b")
    ]
);

case!(
    field_id_empty_resets_the_last_event_id,
    Any,
    [b"id:5\ndata:a\n\nid\ndata:b\n\nid:6\n\nid:\n\ndata:c\n\n"],
    [msg("a", "5"), msg("b", ""), msg("c", ""), complete("")]
);

// The last `id` of a block wins; an ignored one (NUL) leaves the earlier one.
case!(
    field_id_last_one_in_a_block_wins,
    Any,
    [b"id:1\nid:2\ndata:a\n\nid:3\nid:4\0\ndata:b\n\n"],
    [msg("a", "2"), msg("b", "3"), complete("3")]
);

case!(
    field_retry_only_ascii_digits,
    Any,
    [b"retry:1500\nretry:+5\nretry:-5\nretry:  5\nretry:5 \nretry:1.5\nretry:1e3\nretry:0x10\nretry:\xD9\xA1\nretry:\xEF\xBC\x91\nretry:\nretry\nretry:0\nretry: 007\n"],
    [
        Out::Retry(1500),
        Out::Retry(0),
        Out::Retry(7),
        end(StreamEnd::Complete, "", Some(7))
    ]
);

case!(
    field_retry_overflow_is_ignored,
    Any,
    [b"retry:18446744073709551615\nretry:18446744073709551616\nretry:99999999999999999999999\n"],
    [
        Out::Retry(u64::MAX),
        end(StreamEnd::Complete, "", Some(u64::MAX))
    ]
);

// The spec sets the reconnection time when the line is parsed, even inside
// an event the stream never finishes.
case!(
    field_retry_applies_at_once_even_in_an_unfinished_event,
    Any,
    [b"data:a\nretry:250\n"],
    [Out::Retry(250), end(StreamEnd::Truncated, "", Some(250))]
);

case!(
    field_unknown_is_ignored,
    Any,
    [b"foo:bar\nfoo\n\xEF\xBB\xBFevent:x\ndata:1\n\n"],
    [msg("1", ""), complete("")]
);

// Dispatch.

// Step 1: the last event ID is set at every blank line, event or not.
#[test]
fn dispatch_step_1_commits_the_id_even_without_an_event() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed_slice(b"id:1\n");
    drain(&mut parser, &mut out);
    assert_eq!(parser.last_event_id(), "", "not before the blank line");
    parser.feed_slice(b"\n");
    drain(&mut parser, &mut out);
    assert_eq!(parser.last_event_id(), "1", "at the blank line");
    assert!(out.is_empty(), "no event: {out:?}");
}

// Step 2: without data nothing fires, and the type buffer is cleared too.
case!(
    dispatch_step_2_empty_data_buffer_fires_nothing_and_clears_the_type,
    Any,
    [b"event:x\n\ndata:a\n\nevent:y\nid:3\nretry:9\n\ndata:b\n\n\n\n"],
    [
        msg("a", ""),
        Out::Retry(9),
        msg("b", "3"),
        end(StreamEnd::Complete, "3", Some(9))
    ]
);

// Step 3: exactly one trailing LF is removed.
case!(
    dispatch_step_3_removes_one_trailing_lf,
    Any,
    [b"data\n\ndata\ndata\n\ndata:\ndata:\ndata:\n\ndata:x\ndata\n\n"],
    [
        msg("", ""),
        msg("\n", ""),
        msg("\n\n", ""),
        msg("x\n", ""),
        complete("")
    ]
);

// Steps 4-7: type "message" by default, the last event ID string, buffers
// cleared after each event.
case!(
    dispatch_steps_4_to_7_build_the_event_and_clear_the_buffers,
    Any,
    [b"id:a\nevent:t\ndata:1\n\ndata:2\n\nevent:u\ndata:3\n\n"],
    [
        ev("t", "1", "a"),
        msg("2", "a"),
        ev("u", "3", "a"),
        complete("a")
    ]
);

// The spec's own example: the last block has no blank line.
case!(
    dispatch_spec_example_two_events,
    Any,
    [b"data\n\ndata\ndata\n\ndata:"],
    [msg("", ""), msg("\n", ""), truncated("")]
);

case!(
    dispatch_spec_example_data_with_and_without_space,
    Any,
    [b"data:test\n\ndata: test\n\n"],
    [msg("test", ""), msg("test", ""), complete("")]
);

// End of file.

case!(
    eof_empty_stream_is_complete,
    Any,
    [b"", b"\n", b"\n\n\n"],
    [complete(""), complete(""), complete("")]
);

case!(
    eof_unterminated_line_is_discarded,
    Any,
    [
        b"data:a\n\ndata:b",
        b"data:a\n\n:comment",
        b"data:a\n\nretry:5"
    ],
    [
        msg("a", ""),
        truncated(""),
        msg("a", ""),
        truncated(""),
        msg("a", ""),
        truncated("")
    ]
);

case!(
    eof_event_without_blank_line_is_discarded,
    Any,
    [
        b"data:a\n\ndata:b\n",
        b"data:a\n\nevent:x\n",
        b"data:a\n\nid:9\n",
        b"data\n"
    ],
    [
        msg("a", ""),
        truncated(""),
        msg("a", ""),
        truncated(""),
        msg("a", ""),
        truncated(""),
        truncated("")
    ]
);

// Lines that leave no event pending do not truncate the stream, however the
// buffers got back to where they were (ids that end at the committed one).
case!(
    eof_after_lines_that_leave_nothing_pending_is_complete,
    Any,
    [
        b"data:a\n\n:bye\n",
        b"data:a\n\nretry:5\n",
        b"data:a\n\nfoo:bar\n",
        b"data:a\n\nevent:\n",
        b"id:1\n\nid:2\nid:1\n",
        b"id:x\nid:1\n"
    ],
    [
        msg("a", ""),
        complete(""),
        msg("a", ""),
        Out::Retry(5),
        end(StreamEnd::Complete, "", Some(5)),
        msg("a", ""),
        end(StreamEnd::Complete, "", Some(5)),
        msg("a", ""),
        end(StreamEnd::Complete, "", Some(5)),
        end(StreamEnd::Complete, "1", Some(5)),
        end(StreamEnd::Complete, "1", Some(5))
    ]
);

#[test]
fn eof_stream_end_is_none_until_finished_and_drained() {
    let mut parser = Parser::new();
    parser.feed_slice(b"data:a\n\n");
    assert_eq!(parser.stream_end(), None);
    parser.finish();
    assert_eq!(parser.stream_end(), None, "not before the items are taken");
    assert!(matches!(parser.next_item(), Some(Ok(Item::Event(_)))));
    assert!(parser.next_item().is_none());
    assert_eq!(parser.stream_end(), Some(StreamEnd::Complete));
    // Input after the end is ignored.
    parser.feed_slice(b"data:b\n\n");
    assert!(parser.next_item().is_none());
    assert_eq!(parser.stream_end(), Some(StreamEnd::Complete));
}

// BOM.

case!(
    bom_one_leading_bom_is_stripped,
    Any,
    [
        b"\xEF\xBB\xBFdata:a\n\n",
        b"\xEF\xBB\xBF:c\ndata:b\n\n",
        b"\xEF\xBB\xBF\ndata:c\n\n",
        b"\xEF\xBB\xBF"
    ],
    [
        msg("a", ""),
        complete(""),
        msg("b", ""),
        complete(""),
        msg("c", ""),
        complete(""),
        complete("")
    ]
);

// A BOM anywhere else is U+FEFF: in a value it is kept; before a name, the
// name is unknown.
case!(
    bom_elsewhere_is_an_ordinary_character,
    Any,
    [b"data:\xEF\xBB\xBFa\n\n\xEF\xBB\xBFdata:b\n\ndata:c\xEF\xBB\xBF\n\n"],
    [msg("\u{FEFF}a", ""), msg("c\u{FEFF}", ""), complete("")]
);

// A partial BOM is invalid UTF-8: the first name is then unknown.
case!(
    bom_partial_is_invalid_text,
    Any,
    [
        b"\xEF\xBBdata:a\n\ndata:b\n\n",
        b"\xEFdata:a\n\n",
        b"\xEF\xBB"
    ],
    [msg("b", ""), complete(""), complete(""), truncated("")]
);

// Every stream (connection) may start with its own BOM.
case!(
    bom_is_expected_again_after_reset,
    Any,
    [
        b"\xEF\xBB\xBFdata:a\n\n",
        b"\xEF\xBB\xBFdata:b\n\n",
        b"data:c\n\n",
        b"\xEF\xBB\xBFdata:d\n\n"
    ],
    [
        msg("a", ""),
        complete(""),
        msg("b", ""),
        complete(""),
        msg("c", ""),
        complete(""),
        msg("d", ""),
        complete("")
    ]
);

// The last event ID buffer across connections (`reset`).

// The committed id carries over to the next stream; an id in the unfinished
// final event does not (format-field-id-2, format-data-before-final-empty-line).
case!(
    last_event_id_committed_survives_reset_uncommitted_does_not,
    Any,
    [
        b"id:1\ndata:a\n\nid:2\ndata:b\n",
        b"data:c\n\nid:3\n",
        b"data:d\n\n"
    ],
    [
        msg("a", "1"),
        truncated("1"),
        msg("c", "1"),
        truncated("1"),
        msg("d", "1"),
        complete("1")
    ]
);

// An id committed without an event also carries over, and so does a reset
// to empty; a later stream's id replaces it.
case!(
    last_event_id_across_reset_id_only_blocks_and_empty_id,
    Any,
    [
        b"id:7\n\n",
        b"data:a\n\nid\n\n",
        b"data:b\n\n",
        b"id:8\ndata:c\n\n"
    ],
    [
        complete("7"),
        msg("a", "7"),
        complete(""),
        msg("b", ""),
        complete(""),
        msg("c", "8"),
        complete("8")
    ]
);

// The event type and data of an unfinished event do not leak into the next
// stream.
case!(
    reset_discards_the_unfinished_event,
    Any,
    [b"event:x\ndata:a\n", b"data:b\n\n", b"data:c"],
    [truncated(""), msg("b", ""), complete(""), truncated("")]
);

#[test]
fn reset_in_the_middle_of_a_line_and_of_a_bom() {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    parser.feed_slice(b"id:1\n\ndata:unfinished li");
    drain(&mut parser, &mut out);
    parser.reset();
    parser.feed_slice(b"\xEF\xBB");
    drain(&mut parser, &mut out);
    parser.reset();
    parser.feed_slice(b"ne\n\n\xEF\xBB\xBFdata:x\n\n");
    drain(&mut parser, &mut out);
    parser.reset();
    parser.feed_slice(b"\xEF\xBB\xBFdata:y\n\n");
    drain(&mut parser, &mut out);
    // "ne" is an unknown field; the BOM after it is not at the start; the
    // last stream's BOM is.
    assert_eq!(out, [msg("y", "1")]);
    assert_eq!(parser.last_event_id(), "1");
}

#[test]
fn reset_after_an_error_starts_over() {
    let mut parser = Parser::builder().max_line_len(8).build();
    let mut out = Vec::new();
    parser.feed_slice(b"id:1\n\ndata:123456789\n\n");
    drain(&mut parser, &mut out);
    assert_eq!(out, [Out::Error("line")]);
    parser.feed_slice(b"data:a\n\n");
    drain(&mut parser, &mut out);
    assert_eq!(out, [Out::Error("line")], "nothing after an error");
    parser.reset();
    parser.feed_slice(b"data:b\n\n");
    drain(&mut parser, &mut out);
    assert_eq!(out, [Out::Error("line"), msg("b", "1")]);
}

#[test]
fn set_last_event_id_seeds_the_stream() {
    let case = Case {
        name: "seeded",
        streams: &[b"data:a\n\nid:\n", b"data:b\n\nid:2\ndata:c\n\n"],
        eol: Eol::Any,
        expected: &[
            msg("a", "41"),
            truncated("41"),
            msg("b", "41"),
            msg("c", "2"),
            complete("2"),
        ],
    };
    run_with(
        &|| {
            let mut parser = Parser::new();
            parser.set_last_event_id("41");
            parser
        },
        &case,
    );
}

#[test]
fn comments_are_reported_without_colon_and_one_space() {
    let case = Case {
        name: "comments",
        streams: &[b": one\n:two\n:  three\n:\ndata:x\n:: four\n\n"],
        eol: Eol::Any,
        expected: &[
            Out::Comment("one".into()),
            Out::Comment("two".into()),
            Out::Comment(" three".into()),
            Out::Comment(String::new()),
            Out::Comment(": four".into()),
            msg("x", ""),
            complete(""),
        ],
    };
    run_with(&|| Parser::builder().comments(true).build(), &case);
}

// ---------------------------------------------------------------------------
// Limits.

#[test]
fn limits_exact_fit_passes_one_more_byte_fails_at_any_split() {
    let line = || Parser::builder().max_line_len(10).build();
    run_with(
        &line,
        &Case {
            name: "line fits",
            streams: &[b"data:12345\n\n"],
            eol: Eol::Any,
            expected: &[msg("12345", ""), complete("")],
        },
    );
    // The error is final: End reports no stream end.
    run_with(
        &line,
        &Case {
            name: "line too long",
            streams: &[b"data:1\n\ndata:123456\n\ndata:2\n\n"],
            eol: Eol::Any,
            expected: &[
                msg("1", ""),
                Out::Error("line"),
                Out::End(None, String::new(), None),
            ],
        },
    );
    let event = || Parser::builder().max_event_len(6).build();
    run_with(
        &event,
        &Case {
            name: "event fits",
            streams: &[b"data:ab\ndata:cd\n\n"],
            eol: Eol::Any,
            expected: &[msg("ab\ncd", ""), complete("")],
        },
    );
    run_with(
        &event,
        &Case {
            name: "event too large",
            streams: &[b"data:ab\n\ndata:ab\ndata:cde\n\ndata:x\n\n"],
            eol: Eol::Any,
            expected: &[
                msg("ab", ""),
                Out::Error("event"),
                Out::End(None, String::new(), None),
            ],
        },
    );
}

/// Feeds `chunk` again and again until the parser fails; returns the error
/// and how many bytes were fed. The input is never allocated whole: every
/// feed shares the one chunk.
fn feed_until_error(
    mut parser: Parser,
    prefix: &[u8],
    chunk: &Bytes,
    give_up: usize,
) -> (ParseError, usize) {
    parser.feed_slice(prefix);
    let mut fed = prefix.len();
    loop {
        while let Some(item) = parser.next_item() {
            match item {
                Err(error) => return (error, fed),
                Ok(Item::Event(event)) => panic!("unexpected event {event:?}"),
                Ok(_) => {}
            }
        }
        assert!(fed <= give_up, "no error after {fed} bytes");
        parser.feed(chunk.clone());
        fed += chunk.len();
    }
}

#[test]
fn limits_endless_line_fails_within_limit_plus_one_chunk() {
    let limit = 256 * 1024;
    let chunk = Bytes::from(vec![b'x'; 1000]);
    let parser = Parser::builder().max_line_len(limit).build();
    let (error, fed) = feed_until_error(parser, b"data:", &chunk, 100 * limit);
    assert!(
        matches!(error, ParseError::LineTooLong { limit: l } if l == limit),
        "{error:?}"
    );
    assert!(fed > limit, "failed early, after {fed} bytes");
    assert!(fed <= limit + chunk.len(), "fed {fed} bytes");
}

#[test]
fn limits_endless_event_fails_within_limit_plus_one_chunk() {
    let limit = 250_000;
    // One line per chunk, so the data grows by almost the whole chunk.
    let mut line = b"data:".to_vec();
    line.resize(4096 - 1, b'y');
    line.push(b'\n');
    let chunk = Bytes::from(line);
    let parser = Parser::builder().max_event_len(limit).build();
    let (error, fed) = feed_until_error(parser, b"", &chunk, 100 * limit);
    assert!(
        matches!(error, ParseError::EventTooLarge { limit: l } if l == limit),
        "{error:?}"
    );
    assert!(fed > limit, "failed early, after {fed} bytes");
    assert!(fed <= limit + chunk.len(), "fed {fed} bytes");
}

// The same endless event, split so that no chunk holds a whole line.
#[test]
fn limits_endless_event_in_small_chunks() {
    let limit = 64 * 1024;
    let chunk = Bytes::from_static(b"ta:0123456789abcdef\nda");
    let parser = Parser::builder().max_event_len(limit).build();
    let (error, fed) = feed_until_error(parser, b"da", &chunk, 100 * limit);
    assert!(
        matches!(error, ParseError::EventTooLarge { .. }),
        "{error:?}"
    );
    // Each 22-byte line adds 17 bytes of data (its value and LF).
    let bound = limit * 22 / 17 + 2 * chunk.len();
    assert!(fed > limit && fed <= bound, "fed {fed} bytes");
}

// ---------------------------------------------------------------------------
// End to end: EventStream.

const E2E_BODY: &[u8] = b"\xEF\xBB\xBF: hi\r\nretry: 1500\r\nid: 1\r\nevent: add\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\ndata: two\r\rid: 2\ndata: three\n\ndata: cut";

fn e2e_expected() -> Vec<(String, String, String)> {
    vec![
        ("add".into(), "{\"a\":\n1}".into(), "1".into()),
        ("message".into(), "two".into(), "1".into()),
        ("message".into(), "three".into(), "2".into()),
    ]
}

async fn collect_events<S>(events: &mut EventStream<S>) -> Vec<(String, String, String)>
where
    EventStream<S>: futures_util::Stream<Item = Result<ssefeed::MessageEvent, Error>> + Unpin,
{
    let mut out = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.expect("no error");
        out.push((
            event.event_type().to_owned(),
            event.data().to_owned(),
            event.last_event_id().to_owned(),
        ));
    }
    out
}

#[tokio::test]
async fn event_stream_over_stream_iter_at_every_split() {
    for split in 0..=E2E_BODY.len() {
        let (a, b) = E2E_BODY.split_at(split);
        let chunks = [a.to_vec(), b.to_vec()];
        let source = stream::iter(chunks.map(Ok::<_, std::io::Error>));
        let mut events = EventStream::new(source);
        assert_eq!(
            collect_events(&mut events).await,
            e2e_expected(),
            "split at {split}"
        );
        assert_eq!(events.last_event_id(), "2");
        assert_eq!(
            events.reconnection_time(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(events.stream_end(), Some(StreamEnd::Truncated));
        assert!(events.next().await.is_none(), "fused after the end");
    }
}

#[tokio::test]
async fn event_stream_over_a_slice_reader() {
    let mut events = EventStream::from_reader(E2E_BODY);
    assert_eq!(collect_events(&mut events).await, e2e_expected());
    assert_eq!(events.last_event_id(), "2");
    assert_eq!(events.stream_end(), Some(StreamEnd::Truncated));

    let mut events = EventStream::from_reader(&b"data: x\n\n"[..]);
    assert_eq!(
        collect_events(&mut events).await,
        [("message".into(), "x".into(), String::new())]
    );
    assert_eq!(events.stream_end(), Some(StreamEnd::Complete));
}

#[tokio::test]
async fn event_stream_over_a_duplex_reader_written_a_byte_at_a_time() {
    use tokio::io::AsyncWriteExt;

    let (mut writer, reader) = tokio::io::duplex(7);
    let write = tokio::spawn(async move {
        for byte in E2E_BODY {
            writer.write_all(&[*byte]).await.expect("write");
            tokio::task::yield_now().await;
        }
        // Dropping the writer ends the stream.
    });
    let mut events = EventStream::from_reader(reader);
    let got = collect_events(&mut events).await;
    write.await.expect("writer task");
    assert_eq!(got, e2e_expected());
    assert_eq!(events.last_event_id(), "2");
    assert_eq!(
        events.reconnection_time(),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(events.stream_end(), Some(StreamEnd::Truncated));
}

#[tokio::test]
async fn event_stream_delivers_events_before_the_source_ends() {
    use tokio::io::AsyncWriteExt;

    let (mut writer, reader) = tokio::io::duplex(64);
    let mut events = EventStream::from_reader(reader);
    writer.write_all(b"data: first\r").await.expect("write");
    // The CR ends the line and the empty line ends the event: no waiting for
    // a LF or for more input.
    writer.write_all(b"\r").await.expect("write");
    let first = events.next().await.expect("an event").expect("no error");
    assert_eq!(first.data(), "first");
    writer
        .write_all(b"\ndata: second\n\n")
        .await
        .expect("write");
    drop(writer);
    let second = events.next().await.expect("an event").expect("no error");
    assert_eq!(second.data(), "second");
    assert!(events.next().await.is_none());
    assert_eq!(events.stream_end(), Some(StreamEnd::Complete));
}

#[tokio::test]
async fn event_stream_source_error_is_final() {
    let chunks = vec![
        Ok(Bytes::from_static(b"data: a\n\ndata: b")),
        Err(std::io::Error::other("connection reset")),
        Ok(Bytes::from_static(b"\n\n")),
    ];
    let mut events = EventStream::new(stream::iter(chunks));
    assert_eq!(events.next().await.expect("event").expect("ok").data(), "a");
    let error = events
        .next()
        .await
        .expect("an error")
        .expect_err("an error");
    assert!(matches!(error, Error::Read(_)), "{error:?}");
    assert!(events.next().await.is_none());
    assert_eq!(events.stream_end(), None, "the source did not end");
}

#[tokio::test]
async fn event_stream_limit_error_is_final() {
    let parser = Parser::builder().max_line_len(4).build();
    let source = stream::iter([Ok::<_, std::io::Error>(&b"data: 1\n\n"[..])]);
    let mut events = EventStream::with_parser(source, parser);
    let error = events
        .next()
        .await
        .expect("an error")
        .expect_err("an error");
    assert!(
        matches!(error, Error::LineTooLong { limit: 4 }),
        "{error:?}"
    );
    assert!(events.next().await.is_none());
}
