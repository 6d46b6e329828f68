//! The same bytes, fed whole and cut at split points taken from the input
//! (see `ChunkingInput`), must give the same events, `retry:` values,
//! comments, errors, last event ID and stream end (the cut input's items
//! taken with `next_item` or `next_item_ref`, after every third chunk without
//! the `None` that ends them, its buffers shrunk after every other chunk);
//! and, when no limit error occurred, the same as the naive
//! reference parser. With small limits and skip mode (see `ChunkingInput`),
//! the reference models skip mode, so no error may occur.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssefeed::parser::StreamEnd;
use ssefeed_fuzz::{ChunkingInput, Out, Run, drain, drain_ref, drain_without_none, reference};

fn run(input: &ChunkingInput<'_>, chunks: &[&[u8]], by_ref: bool) -> Run {
    let drain = if by_ref { drain_ref } else { drain };
    let mut parser = input.parser();
    let mut items = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        if input.feed_slice {
            parser.feed_slice(chunk);
        } else {
            parser.feed(Bytes::copy_from_slice(chunk));
        }
        if input.feed_all_first {
            // Nothing taken before the next chunk.
        } else if i % 3 == 2 {
            // Every item, but not the `None` after them.
            drain_without_none(&mut parser, &mut items);
        } else {
            drain(&mut parser, &mut items);
        }
        // As a client waiting for the next read does (after a drain), or
        // at any other time (it is public): after every other chunk, so
        // that cut runs with and without it are both compared.
        if i % 2 == 1 {
            parser.shrink_buffers();
        }
    }
    drain(&mut parser, &mut items);
    parser.finish();
    drain(&mut parser, &mut items);
    // Nothing more, ever.
    assert!(parser.next_item().is_none());
    Run {
        items,
        last_event_id: parser.last_event_id().to_owned(),
        stream_end: parser.stream_end(),
    }
}

fuzz_target!(|data: &[u8]| {
    let input = ChunkingInput::decode(data);
    let whole = run(&input, &[input.body], false);
    let chunked = run(&input, &input.chunks(), input.by_ref);
    assert_eq!(chunked, whole, "chunked differs from whole for {input:?}");

    let skip = input.skip();
    let errored = whole.items.iter().any(|item| matches!(item, Out::Error(_)));
    if errored {
        // Skip mode skips instead; the default limits are megabytes (the
        // event limit counts decoded bytes, up to three for one): a smaller
        // input cannot reach them.
        assert!(skip.is_none(), "a limit error in skip mode: {whole:?}");
        assert!(
            input.limits != 0 || input.body.len() >= ssefeed::parser::DEFAULT_MAX_EVENT_LEN / 3,
            "a limit error on a {}-byte input: {whole:?}",
            input.body.len()
        );
        return;
    }
    let expected = reference::parse_with(input.body, input.comments, "", skip);
    assert_eq!(
        whole.items, expected.items,
        "parser differs from the reference for {input:?}"
    );
    assert_eq!(whole.last_event_id, expected.last_event_id);
    let end = if expected.complete {
        StreamEnd::Complete
    } else {
        StreamEnd::Truncated
    };
    assert_eq!(whole.stream_end, Some(end), "stream end for {input:?}");
});
