//! Arbitrary bytes into the parser, with limits small or default (see
//! `ParseInput`): it must not panic, must keep its memory bounded by its
//! limits and the chunk it holds (not by how much it was fed), must not
//! return more than it was fed, must report exactly the limit it was given,
//! and must return nothing after an error.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssefeed::parser::{Item, ParseError, Parser};
use ssefeed_fuzz::ParseInput;

/// Counts the bytes live on the heap, and the peak since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A lower bound on how many input bytes decoded to `text`: a replacement
/// character may stand for a single invalid byte.
fn min_source_len(text: &str) -> usize {
    text.chars()
        .map(|c| if c == '\u{FFFD}' { 1 } else { c.len_utf8() })
        .sum()
}

/// The lines of the whole stream (after one leading BOM), with the
/// unterminated tail, as byte lengths.
fn line_lengths(stream: &[u8]) -> Vec<usize> {
    let stream = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let mut lengths = Vec::new();
    let mut len = 0;
    let mut after_cr = false;
    for &b in stream {
        match b {
            b'\n' if after_cr => after_cr = false,
            b'\n' | b'\r' => {
                lengths.push(len);
                len = 0;
                after_cr = b == b'\r';
            }
            _ => {
                len += 1;
                after_cr = false;
            }
        }
    }
    lengths.push(len);
    lengths
}

struct Totals {
    fed: usize,
    line_ends: usize,
    returned: usize,
    events: usize,
    error: Option<ParseError>,
}

fn check_item(input: &ParseInput<'_>, item: Result<Item, ParseError>, totals: &mut Totals) {
    assert!(totals.error.is_none(), "an item after the error");
    match item {
        Ok(Item::Event(event)) => {
            totals.events += 1;
            // The limit counts the LF appended after each data value, and
            // the last one is removed at dispatch.
            assert!(
                event.data().len() < input.max_event_len,
                "data of {} bytes with an event limit of {}",
                event.data().len(),
                input.max_event_len
            );
            // Each value lies in one line; a replacement character is at
            // most three bytes for one.
            assert!(event.event_type().len() <= 3 * input.max_line_len.max("message".len()));
            assert!(event.last_event_id().len() <= 3 * input.max_line_len);
            totals.returned += min_source_len(event.data());
        }
        Ok(Item::Comment(text)) => {
            assert!(input.comments, "a comment though comments are off");
            assert!(text.len() <= 3 * input.max_line_len);
            totals.returned += min_source_len(&text);
        }
        Ok(Item::Retry(_)) => {}
        Ok(other) => panic!("unknown item {other:?}"),
        Err(error) => {
            match error {
                ParseError::LineTooLong { limit } => assert_eq!(limit, input.max_line_len),
                ParseError::EventTooLarge { limit } => {
                    assert_eq!(limit, input.max_event_len);
                }
                ref other => panic!("unexpected error {other:?}"),
            }
            totals.error = Some(error);
        }
    }
    // Every item but an error needs a line ending, and data or a comment
    // cannot be longer than what was fed.
    assert!(totals.returned <= totals.fed, "returned more than fed");
    assert!(totals.events <= totals.line_ends, "more events than lines");
}

fn drain(parser: &mut Parser, input: &ParseInput<'_>, totals: &mut Totals) {
    while let Some(item) = parser.next_item() {
        check_item(input, item, totals);
    }
}

fuzz_target!(|data: &[u8]| {
    let input = ParseInput::decode(data);
    let mut parser = Parser::builder()
        .max_line_len(input.max_line_len)
        .max_event_len(input.max_event_len)
        .comments(input.comments)
        .build();
    let mut totals = Totals {
        fed: 0,
        line_ends: 0,
        returned: 0,
        events: 0,
        error: None,
    };
    let chunk_len = if input.chunk == 0 {
        input.body.len().max(1)
    } else {
        input.chunk
    };

    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    for copy in 0..input.repeat {
        for (i, chunk) in input.body.chunks(chunk_len).enumerate() {
            totals.fed += chunk.len();
            totals.line_ends += chunk.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
            if input.feed_slice {
                parser.feed_slice(chunk);
            } else {
                parser.feed(Bytes::copy_from_slice(chunk));
            }
            // Sometimes feed the next chunk before taking what this one
            // completed.
            if (copy + i) % 3 != 2 {
                drain(&mut parser, &input, &mut totals);
            }
        }
    }
    drain(&mut parser, &input, &mut totals);
    parser.finish();
    drain(&mut parser, &input, &mut totals);
    let peak = PEAK.load(Ordering::Relaxed) - base;

    // Memory: the chunks it holds (at most two), a line, the event being
    // built and a few copies of field values; not the whole input.
    let bound = 8 * chunk_len + 24 * input.max_line_len + 4 * input.max_event_len + 4096;
    assert!(
        peak <= bound,
        "{peak} bytes at the peak, bound {bound} (fed {})",
        totals.fed
    );

    let stream: Vec<u8> = input.body.repeat(input.repeat);
    let longest = line_lengths(&stream).into_iter().max().unwrap_or(0);
    match &totals.error {
        None => {
            assert!(parser.stream_end().is_some(), "no stream end after finish");
            assert!(
                longest <= input.max_line_len,
                "a line of {longest} bytes passed a limit of {}",
                input.max_line_len
            );
        }
        Some(error) => {
            // Nothing after the error, whatever comes.
            assert!(parser.next_item().is_none());
            parser.feed_slice(b"data: more\n\n");
            assert!(parser.next_item().is_none());
            assert!(parser.stream_end().is_none());
            if let ParseError::LineTooLong { .. } = error {
                assert!(
                    longest > input.max_line_len,
                    "line too long, but the longest is {longest} bytes, limit {}",
                    input.max_line_len
                );
            }
        }
    }

    // A reset parser reads a new stream and keeps the last event ID.
    let id = parser.last_event_id().to_owned();
    parser.reset();
    parser.feed_slice(b"data\n\n");
    if input.max_line_len >= 4 {
        match parser.next_item() {
            Some(Ok(Item::Event(event))) => {
                assert_eq!(event.data(), "");
                assert_eq!(event.last_event_id(), id);
            }
            other => panic!("after reset: {other:?}"),
        }
    }
});
