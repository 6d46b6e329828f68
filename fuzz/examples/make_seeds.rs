//! Writes the seed corpus, `corpus/<target>/seed-*`, from conformance-like
//! event streams (the web-platform-tests `eventsource/format-*` cases in
//! small) and driver scripts for the machine.
//!
//! ```sh
//! cd fuzz && cargo run --example make_seeds
//! ```

use std::path::Path;

use ssefeed_fuzz::machine_input::{self, Config, Delay, Hook, Op};
use ssefeed_fuzz::{ChunkingInput, ParseInput};

/// Small streams, each about one rule of the spec.
const STREAMS: [(&str, &[u8]); 8] = [
    (
        "line-endings",
        b"event: add\r\ndata: 73857293\r\n\r\nevent: remove\rdata: 2153\r\rdata: 1\ndata: 2\n\n",
    ),
    (
        "bom-and-comments",
        b"\xEF\xBB\xBF: hello\n:\ndata:no space\ndata:  two spaces\n\ndata\n\n",
    ),
    (
        "ids",
        b"id: 1\ndata: a\n\nid\ndata: b\n\nid: x\x00y\ndata: c\n\nid: 9\n\n",
    ),
    (
        "retry",
        b"retry: 1500\nretry: +5\nretry: 5x\nretry:\nretry: 0\nretry: 18446744073709551616\nretry: 18446744073709551615\n",
    ),
    (
        "invalid-utf8",
        b"data: a\xFFb\n\ndata: \xE2\x82\n\nevent: \xC3\ndata: \xF0\x9F\x98\x80\n\n",
    ),
    (
        "unknown-fields",
        b"Data: x\nfoo: bar\ndata : z\nevent\ndata:a:b: c\n\nevent: x\n\n",
    ),
    ("truncated", b"data: 1\n\nid: 2\ndata: cut"),
    ("cr-at-end", b"data: 1\r\n\r\ndata: 2\r\r"),
];

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
}

fn machine(name: &str, config: &Config, ops: &[Op]) {
    let bytes = machine_input::encode(config, ops);
    let decoded = machine_input::decode(&bytes).expect("decodes");
    assert_eq!(
        &decoded.config, config,
        "{name}: the config does not decode back"
    );
    assert_eq!(decoded.ops, ops, "{name}: the ops do not decode back");
    write("machine", name, &bytes);
}

fn ok() -> Op {
    // Status index 0 is 200; content type 1 is text/event-stream.
    Op::Response {
        status: 0,
        content_type: 1,
        retry_after: None,
    }
}

fn bytes(text: &str) -> Op {
    Op::Bytes(text.as_bytes().to_vec())
}

fn main() {
    for (name, stream) in STREAMS {
        write("parse", name, &ParseInput::encode_plain(stream));
        // Cut at a third and at two thirds, comments on.
        let input = ChunkingInput {
            comments: true,
            feed_slice: false,
            feed_all_first: false,
            by_ref: false,
            limits: 0,
            splits: vec![stream.len() / 3, 2 * stream.len() / 3],
            body: stream,
        };
        write("chunking", name, &input.encode());
    }
    // Small limits: a line of 8 bytes, event data of 6.
    let mut small = vec![0x03, 7, 5, 3];
    small.extend_from_slice(b"data: ab\ndata: cd\n\ndata: 123\n\n:234567890");
    write("parse", "small-limits", &small);
    // Found by the fuzzer: a line limit of 1 byte, then two bytes of a BOM
    // and the end of the input (a two-byte line, too long).
    write(
        "parse",
        "bom-prefix-over-line-limit",
        &[0x01, 0, 0, 0, 0xEF, 0xBB],
    );
    // A CR and its LF in different chunks.
    let crlf = ChunkingInput {
        comments: false,
        feed_slice: true,
        feed_all_first: false,
        by_ref: false,
        limits: 0,
        splits: vec![8, 14],
        body: b"data: a\r\n\r\ndata: b\r\n\r\n",
    };
    write("chunking", "split-crlf", &crlf.encode());
    // Lines longer than the parser's 16 KiB hand-over threshold, cut inside
    // them: a long line alone, a long first value joined with a second, a
    // long comment and id; taken borrowed (long lines swap buffers) and
    // owned (they are handed over).
    let mut long = Vec::new();
    for (field, len) in [("data: ", 17_000), ("data:", 16_400), ("id: ", 100)] {
        long.extend_from_slice(field.as_bytes());
        long.extend((0..len).map(|i| b"abc\xC3\xA9xyz"[i % 8]));
        long.extend_from_slice(b"\n");
    }
    long.extend_from_slice(b"\r\n: ");
    long.extend(std::iter::repeat_n(b'c', 16_500));
    long.extend_from_slice(b"\rdata: after\r\r");
    for by_ref in [true, false] {
        let input = ChunkingInput {
            comments: true,
            feed_slice: by_ref,
            feed_all_first: false,
            by_ref,
            limits: 0,
            splits: vec![3, 5000, 16_000, 17_010, 20_000, 33_410, 34_000, 50_000],
            body: &long,
        };
        let name = if by_ref {
            "long-lines-by-ref"
        } else {
            "long-lines-owned"
        };
        write("chunking", name, &input.encode());
    }
    // Skip mode with a line limit of 9 bytes and an event limit of 13: a
    // long data line, data over the limit, a long `event:` line, a long
    // comment, an event after them, and an oversized event cut by the end.
    let skipping: &[u8] = b"id: 1\ndata: a\n\ndata: 0123456789\n\nid: 2\ndata: 01234567\ndata: 89abcd\n\nevent: long-type\ndata: x\n\n: a long comment\nretry: 123456789\ndata: b\n\ndata: \xFF\xFF\xFF\xFF\ndata: 0123456789";
    for by_ref in [false, true] {
        let input = ChunkingInput {
            comments: true,
            feed_slice: by_ref,
            feed_all_first: false,
            by_ref,
            limits: 0x80 | (3 << 3) | 2,
            splits: vec![9, 20, 31, 50, 77, 90, 120],
            body: skipping,
        };
        let name = if by_ref {
            "skip-oversized-by-ref"
        } else {
            "skip-oversized-owned"
        };
        write("chunking", name, &input.encode());
    }

    let plain = Config::plain();
    machine(
        "reconnect",
        &plain,
        &[
            ok(),
            bytes("retry: 500\nid: 7\ndata: hi\n\n"),
            Op::Eof,
            Op::Timeout,
            ok(),
            bytes("data: x\n\nid: 8\ndata: cut"),
            Op::Error(3),
            Op::Advance(100),
            Op::Timeout,
            Op::Close,
        ],
    );
    machine(
        "one-shot",
        &Config {
            reconnect: false,
            comments: true,
            ..Config::plain()
        },
        &[ok(), bytes(": hi\ndata: a\n\ndata: b"), Op::Eof],
    );
    machine(
        "retried-status",
        &Config {
            // 503 and 500.
            retried: 0b0_0001_0100,
            max_retries: Some(2),
            jitter: 64,
            initial: Some(Delay::Millis(200)),
            ..Config::plain()
        },
        &[
            // Status index 5 is 503, 4 is 500.
            Op::Response {
                status: 5,
                content_type: 0,
                retry_after: Some(2),
            },
            Op::Timeout,
            Op::Response {
                status: 4,
                content_type: 0,
                retry_after: None,
            },
            Op::Timeout,
            Op::Response {
                status: 4,
                content_type: 0,
                retry_after: None,
            },
        ],
    );
    machine(
        "idle-timeout",
        &Config {
            idle_timeout: Some(1000),
            seed_id: Some(1),
            ..Config::plain()
        },
        &[
            Op::Timeout,
            Op::Timeout,
            ok(),
            bytes(": keep-alive\n"),
            Op::Advance(500),
            Op::Timeout,
            Op::Timeout,
        ],
    );
    machine(
        "limits-and-bad-responses",
        &Config {
            limits: Some((8, 8)),
            prefeed: Some(0),
            ..Config::plain()
        },
        &[
            ok(),
            bytes("data: 1\n\ndata: 123456789\n\n"),
            Op::Response {
                status: 3,
                content_type: 6,
                retry_after: None,
            },
        ],
    );
    machine(
        "hook-retries-refusals",
        &Config {
            hook: Some(Hook {
                mode: 3,
                after: 2,
                delay_ms: 50,
            }),
            max_server_delay: Some(Delay::Millis(500)),
            ..Config::plain()
        },
        &[
            // 404, then 200 text/plain (refused, body read), then a stream
            // with a long retry: (capped), a reconnect now, and an end.
            Op::Response {
                status: 10,
                content_type: 0,
                retry_after: Some(9),
            },
            Op::Timeout,
            Op::Response {
                status: 0,
                content_type: 6,
                retry_after: None,
            },
            Op::Timeout,
            ok(),
            bytes("retry: 100000\nid: 1\ndata: a\n\ndata: cut"),
            Op::ReconnectNow,
            ok(),
            Op::Eof,
            Op::Timeout,
            Op::Error(4),
        ],
    );
    machine(
        "hook-stops-any-content-type",
        &Config {
            hook: Some(Hook {
                mode: 1,
                after: 1,
                delay_ms: 0,
            }),
            any_content_type: true,
            ..Config::plain()
        },
        &[
            Op::Response {
                status: 0,
                content_type: 0,
                retry_after: None,
            },
            bytes("data: a\n\n"),
            Op::Error(3),
            Op::ReconnectNow,
            Op::Error(0),
            Op::Timeout,
            Op::Error(1),
        ],
    );
    // Sentinel 0 is `data: [DONE]`.
    let resumable = Config {
        reconnect: false,
        resume: true,
        sentinel: Some(0),
        ..Config::plain()
    };
    machine(
        "resume-before-sentinel",
        &resumable,
        &[
            // A clean end before the sentinel: resumed after retry: with
            // ID 1, and the second response brings the sentinel.
            ok(),
            bytes("id: 1\nretry: 500\ndata: a\n\n"),
            Op::Eof,
            Op::Timeout,
            ok(),
            bytes("id: 2\ndata: [DONE]\n\ndata: after\n\n"),
            Op::Eof,
        ],
    );
    machine(
        "resume-through-the-policy",
        &Config {
            idle_timeout: Some(1000),
            // 503.
            retried: 0b0_0001_0000,
            max_retries: Some(2),
            ..resumable.clone()
        },
        &[
            // An idle stream cut inside an event, resumed; the resume
            // request is refused (retried), then the limit fires.
            ok(),
            bytes("id: p1\nretry: 50\ndata:\n\ndata: cu"),
            Op::Timeout,
            Op::Timeout,
            Op::Response {
                status: 5,
                content_type: 0,
                retry_after: None,
            },
            Op::Timeout,
            Op::Response {
                status: 5,
                content_type: 0,
                retry_after: None,
            },
        ],
    );
    machine(
        "resume-nothing-to-resume-from",
        &Config {
            // `data:` alone, which this stream never sends.
            sentinel: Some(2),
            ..resumable.clone()
        },
        &[ok(), bytes("data: a\n\n"), Op::ReconnectNow, Op::Eof],
    );
    machine(
        "resume-never-the-first-request",
        &Config {
            seed_id: Some(1),
            // 503.
            retried: 0b0_0001_0000,
            ..resumable.clone()
        },
        &[
            Op::ReconnectNow,
            Op::Response {
                status: 5,
                content_type: 0,
                retry_after: None,
            },
        ],
    );
    machine(
        "reconnect-now-resumable",
        &Config {
            sentinel: None,
            ..resumable.clone()
        },
        &[
            // No ID yet: not resumable; then one, and a cut event.
            ok(),
            bytes("data: a\n\n"),
            Op::ReconnectNow,
            bytes("id: 5\ndata: b\n\ndata: cut"),
            Op::ReconnectNow,
            Op::ReconnectNow,
            ok(),
            bytes("data: c\n\n"),
            // Without a sentinel, a clean end completes the stream.
            Op::Eof,
        ],
    );
    machine(
        "sentinel-mid-chunk",
        &Config {
            // Sentinel 3 is `event: done`.
            sentinel: Some(3),
            comments: true,
            ..Config::plain()
        },
        &[
            ok(),
            bytes("data: a\n\n: c\nevent: done\ndata: bye\n\nid: 9\ndata: after\n\nretry: 1\n"),
            Op::Eof,
            Op::Timeout,
            Op::ReconnectNow,
        ],
    );
    machine(
        "one-shot-sentinel-never-came",
        &Config {
            reconnect: false,
            sentinel: Some(0),
            ..Config::plain()
        },
        &[ok(), bytes("id: 1\ndata: a\n\n"), Op::Eof],
    );
    machine(
        "dedupe-replayed-ids",
        &Config {
            dedupe: Some(2),
            // 41, which the stream replays first.
            seed_id: Some(1),
            ..Config::plain()
        },
        &[
            ok(),
            bytes("id: 41\ndata: replay\n\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
            Op::Eof,
            Op::Timeout,
            // 2 is a replay, 1 is out of the window of 2 by then, an empty
            // ID is never one, and 3 is.
            ok(),
            bytes(
                "id: 2\ndata: b again\n\ndata: no id\n\nid: 3\ndata: c\n\n\
                 id: 1\ndata: a again\n\nid\ndata: empty\n\nid: 3\ndata: c again\n\n",
            ),
            Op::Error(0),
            Op::Timeout,
        ],
    );
}
