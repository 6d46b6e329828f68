//! Parser throughput: ssefeed against the other Rust SSE parsers, on the
//! same bytes split into the same chunks, with a `memchr` count of line feeds
//! as the floor that no line-based parser can beat.
//!
//! Run from `benches/parser/` (a crate of its own, so that the main crate
//! never builds criterion or the peers) with `cargo bench --bench parser`
//! (criterion), or with `PARSER_ROUNDS=15 cargo bench --bench parser` for
//! interleaved rounds and per-round ratios (see `interleaved`). Every contender must dispatch the
//! same events (count and data bytes) on every corpus before anything is
//! timed; a mismatch panics, so a fast wrong answer cannot win.
//!
//! Each contender is driven as cheaply as its API allows: ssefeed and
//! sse-core synchronously, the `Stream`-only parsers by polling them by hand
//! with a no-op waker over an in-memory `stream::iter` (it is always ready,
//! so no executor or runtime is measured).
//!
//! ssefeed runs three ways, one per pair of its input and output APIs:
//! - `ssefeed` is `feed_slice(&[u8])` + `next_item`: the same borrowed slices
//!   as the peers get, and events that own their strings (as the peers'
//!   events do);
//! - `ssefeed-bytes` is `feed(Bytes)` + `next_item`, as `EventSource` runs
//!   it: the chunk is read in place, but the bench has to clone each one in,
//!   which is two atomic reference count updates per chunk;
//! - `ssefeed-borrowed` is `feed_slice(&[u8])` + `next_item_ref`: events
//!   that borrow from the parser.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group};
use eventsource_stream::Eventsource as _;
use futures_util::stream::{self, Stream};

#[path = "../support/events.rs"]
mod events;
use events::{NOTIFICATION_SEED, Rng, TOKEN_SEED, WORDS, notification, token};

/// Total size each corpus is grown to (the last event may go past it).
const CORPUS_BYTES: usize = 4 * 1024 * 1024;
/// The chunk sizes the corpora are fed in: network-sized and pathological.
const CHUNK_SIZES: [usize; 2] = [16 * 1024, 7];
/// A contender whose one run over the whole corpus takes longer than this is
/// timed on a prefix of whole events instead, so that the bench ends in
/// minutes (criterion needs at least `sample_size` runs).
const SLOW_RUN: Duration = Duration::from_millis(400);
/// What a run on such a prefix should take.
const PREFIX_RUN: Duration = Duration::from_millis(100);

/// What a parse dispatched: the race is fair only if these agree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    events: usize,
    data_bytes: usize,
}

impl Tally {
    fn add(&mut self, data: &str) {
        self.events += 1;
        self.data_bytes += data.len();
    }
}

// ---------------------------------------------------------------- contenders

type Driver = fn(&[Bytes]) -> Tally;

/// The other parsers raced, by name. The memchr floor is not here: it
/// dispatches nothing, so it is exempt from the event check.
const PEERS: [(&str, Driver); 3] = [
    ("eventsource-stream", eventsource_stream_parse),
    ("sse-stream", sse_stream_parse),
    ("sse-core", sse_core_parse),
];

/// Every contender: ssefeed's three rows, the baseline's (see `ab.sh`) and
/// the peers. A name that starts with `ssefeed` is ssefeed's; `@base` marks
/// the baseline's.
fn contenders() -> Vec<(&'static str, Driver)> {
    let mut all: Vec<(&'static str, Driver)> = vec![
        ("ssefeed", ours::owned),
        ("ssefeed-bytes", ours::bytes),
        ("ssefeed-borrowed", ours::borrowed),
    ];
    #[cfg(feature = "baseline")]
    all.extend([
        ("ssefeed@base", base::owned as Driver),
        ("ssefeed-bytes@base", base::bytes),
        ("ssefeed-borrowed@base", base::borrowed),
    ]);
    all.extend(PEERS);
    all
}

/// The three ssefeed rows over the parser of crate `$krate`: the one under
/// test, or the baseline that `ab.sh` builds beside it (the same code, so
/// that the two differ only in the crate).
macro_rules! ssefeed_rows {
    ($module:ident, $krate:ident) => {
        mod $module {
            use bytes::Bytes;
            use $krate::parser::{Item, ItemRef, Parser};

            use super::Tally;

            fn drain_owned(parser: &mut Parser, tally: &mut Tally) {
                while let Some(item) = parser.next_item() {
                    if let Item::Event(event) = item.expect("ssefeed failed") {
                        tally.add(event.data());
                    }
                }
            }

            fn drain_borrowed(parser: &mut Parser, tally: &mut Tally) {
                while let Some(item) = parser.next_item_ref() {
                    if let ItemRef::Event(event) = item.expect("ssefeed failed") {
                        tally.add(event.data());
                    }
                }
            }

            /// One parse: `feed` each chunk and `drain` what it completes,
            /// then the same after the end of the input. (Generic, so each
            /// row is compiled with its own calls inlined.)
            #[inline(always)]
            fn run(
                chunks: &[Bytes],
                feed: impl Fn(&mut Parser, &Bytes),
                drain: impl Fn(&mut Parser, &mut Tally),
            ) -> Tally {
                let mut parser = Parser::new();
                let mut tally = Tally::default();
                for chunk in chunks {
                    feed(&mut parser, chunk);
                    drain(&mut parser, &mut tally);
                }
                parser.finish();
                drain(&mut parser, &mut tally);
                tally
            }

            /// `feed_slice` + `next_item`.
            pub(super) fn owned(chunks: &[Bytes]) -> Tally {
                run(
                    chunks,
                    |parser, chunk| parser.feed_slice(chunk),
                    drain_owned,
                )
            }

            /// `feed(Bytes)` + `next_item`.
            pub(super) fn bytes(chunks: &[Bytes]) -> Tally {
                run(
                    chunks,
                    |parser, chunk| parser.feed(chunk.clone()),
                    drain_owned,
                )
            }

            /// `feed_slice` + `next_item_ref`.
            pub(super) fn borrowed(chunks: &[Bytes]) -> Tally {
                run(
                    chunks,
                    |parser, chunk| parser.feed_slice(chunk),
                    drain_borrowed,
                )
            }
        }
    };
}

ssefeed_rows!(ours, ssefeed);
#[cfg(feature = "baseline")]
ssefeed_rows!(base, ssefeed_base);

/// Polls an always-ready stream to its end without an executor.
fn drain_ready<S: Stream>(stream: S, mut each: impl FnMut(S::Item)) {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(item)) => each(item),
            Poll::Ready(None) => return,
            Poll::Pending => unreachable!("an in-memory stream never waits"),
        }
    }
}

/// The chunks as an always-ready stream of byte slices (both stream-based
/// peers accept any `AsRef<[u8]>` / `Buf`, so none is copied to get there).
fn slice_stream(chunks: &[Bytes]) -> impl Stream<Item = Result<&[u8], Infallible>> {
    stream::iter(chunks.iter().map(|chunk| Ok(&chunk[..])))
}

fn eventsource_stream_parse(chunks: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    drain_ready(slice_stream(chunks).eventsource(), |item| {
        tally.add(&item.expect("eventsource-stream failed").data);
    });
    tally
}

fn sse_stream_parse(chunks: &[Bytes]) -> Tally {
    let mut tally = Tally::default();
    drain_ready(
        sse_stream::SseByteStream::new(slice_stream(chunks)),
        |item| {
            // sse-stream also returns blocks without data (none in these corpora):
            // the spec dispatches nothing for them.
            if let Some(data) = item.expect("sse-stream failed").data {
                tally.add(&data);
            }
        },
    );
    tally
}

fn sse_core_parse(chunks: &[Bytes]) -> Tally {
    let mut decoder = sse_core::SseDecoder::new();
    let mut tally = Tally::default();
    for chunk in chunks {
        let mut buf: &[u8] = chunk;
        while let Some(event) = decoder.next(&mut buf) {
            if let sse_core::SseEvent::Message(message) = event.expect("sse-core failed") {
                tally.add(&message.data);
            }
        }
    }
    tally
}

/// The floor: find every line feed, and do nothing else.
fn memchr_floor(chunks: &[Bytes]) -> usize {
    chunks
        .iter()
        .map(|chunk| memchr::memchr_iter(b'\n', chunk).count())
        .sum()
}

// ------------------------------------------------------------------- corpora

/// A corpus, and where each of its events ends (for cutting prefixes).
struct Corpus {
    name: &'static str,
    bytes: Bytes,
    event_ends: Vec<usize>,
}

impl Corpus {
    /// Grows a corpus to [`CORPUS_BYTES`] by appending events from `event`.
    fn build(
        name: &'static str,
        seed: u64,
        mut event: impl FnMut(&mut Rng, usize, &mut String),
    ) -> Self {
        let mut rng = Rng(seed);
        let mut text = String::with_capacity(CORPUS_BYTES + 128 * 1024);
        let mut event_ends = Vec::new();
        while text.len() < CORPUS_BYTES {
            event(&mut rng, event_ends.len(), &mut text);
            event_ends.push(text.len());
        }
        Self {
            name,
            bytes: Bytes::from(text),
            event_ends,
        }
    }

    /// The same events with CRLF line endings.
    fn with_crlf(&self, name: &'static str) -> Self {
        let mut bytes = Vec::with_capacity(self.bytes.len() * 11 / 10);
        let mut event_ends = Vec::with_capacity(self.event_ends.len());
        let mut start = 0;
        for &end in &self.event_ends {
            for &byte in &self.bytes[start..end] {
                if byte == b'\n' {
                    bytes.push(b'\r');
                }
                bytes.push(byte);
            }
            event_ends.push(bytes.len());
            start = end;
        }
        Self {
            name,
            bytes: Bytes::from(bytes),
            event_ends,
        }
    }

    /// The first `events` events.
    fn prefix(&self, events: usize) -> Bytes {
        self.bytes.slice(..self.event_ends[events - 1])
    }
}

/// 1. An LLM streaming tokens: tiny events, one short JSON `data:` line each.
fn tokens() -> Corpus {
    Corpus::build("tokens", TOKEN_SEED, |rng, _, out| token(rng, out))
}

/// 2. Notifications: ~200-byte JSON events with `id:` and `event:`.
fn notifications() -> Corpus {
    Corpus::build("notifications", NOTIFICATION_SEED, notification)
}

/// 3. Large single-line events: 64 KiB of base64-like data each.
fn large_lines() -> Corpus {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    Corpus::build("64k-lines", 3, |rng, _, out| {
        out.push_str("data: ");
        for _ in 0..64 * 1024 {
            out.push(char::from(ALPHABET[rng.below(ALPHABET.len())]));
        }
        out.push_str("\n\n");
    })
}

/// 4. Multi-line events: 20 `data:` lines each.
fn multi_line() -> Corpus {
    Corpus::build("20-line", 4, |rng, n, out| {
        for row in 0..20 {
            let _ = writeln!(
                out,
                "data: {{\"event\":{n},\"row\":{row},\"value\":{},\"label\":\"{}\"}}",
                rng.below(1_000_000),
                rng.pick(WORDS)
            );
        }
        out.push('\n');
    })
}

// --------------------------------------------------------------- the bench

fn chunked(bytes: &Bytes, size: usize) -> Vec<Bytes> {
    (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..bytes.len().min(start + size)))
        .collect()
}

/// The contenders ready to time on one corpus in chunks of `size`, each
/// checked first: the chunks (or, for a slow contender, whole leading events
/// of them) and the label of the chunk size.
struct Cell {
    label: String,
    chunks: Vec<Bytes>,
    inputs: Vec<(&'static str, Driver, Vec<Bytes>)>,
}

fn prepare(corpus: &Corpus, size: usize) -> Cell {
    let events = corpus.event_ends.len();
    let chunks = chunked(&corpus.bytes, size);
    let label = if size >= 1024 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    };
    // Check every contender against ssefeed before timing anything.
    let expected = ours::owned(&chunks);
    assert_eq!(
        expected.events, events,
        "{}: ssefeed miscounted",
        corpus.name
    );
    let mut inputs = Vec::new();
    for (name, parse) in contenders() {
        let started = Instant::now();
        let tally = parse(&chunks);
        let took = started.elapsed();
        assert_eq!(
            tally, expected,
            "{name} disagrees with ssefeed on {} in {label} chunks",
            corpus.name
        );
        if took <= SLOW_RUN {
            inputs.push((name, parse, chunks.clone()));
            continue;
        }
        // Too slow to run 20+ times: time it on whole leading events.
        let keep = ((events as f64 * PREFIX_RUN.as_secs_f64() / took.as_secs_f64()) as usize)
            .clamp(1, events);
        let prefix = chunked(&corpus.prefix(keep), size);
        let tally = parse(&prefix);
        assert_eq!(tally, ours::owned(&prefix), "{name} on the prefix");
        assert_eq!(tally.events, keep, "{name} on the prefix");
        eprintln!(
            "note: {}/{label}: {name} took {took:.2?} for the whole corpus; \
             timed on its first {keep} of {events} events",
            corpus.name
        );
        inputs.push((name, parse, prefix));
    }
    Cell {
        label,
        chunks,
        inputs,
    }
}

fn bench_corpus(c: &mut Criterion, corpus: &Corpus) {
    for size in CHUNK_SIZES {
        let cell = prepare(corpus, size);
        let mut group = c.benchmark_group(format!("{}/{}", corpus.name, cell.label));
        for (name, parse, chunks) in &cell.inputs {
            let bytes: usize = chunks.iter().map(Bytes::len).sum();
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_function(*name, |b| b.iter(|| black_box(parse(black_box(chunks)))));
        }
        group.throughput(Throughput::Bytes(corpus.bytes.len() as u64));
        group.bench_function("memchr-floor", |b| {
            b.iter(|| black_box(memchr_floor(black_box(&cell.chunks))))
        });
        group.finish();
    }
}

fn corpora() -> [Corpus; 5] {
    let notifications = notifications();
    let crlf = notifications.with_crlf("notifications-crlf");
    [tokens(), notifications, large_lines(), multi_line(), crlf]
}

fn parsers(c: &mut Criterion) {
    for corpus in corpora() {
        eprintln!(
            "corpus {}: {} bytes, {} events",
            corpus.name,
            corpus.bytes.len(),
            corpus.event_ends.len()
        );
        bench_corpus(c, &corpus);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .without_plots();
    targets = parsers
}
// ------------------------------------------------------- interleaved rounds

/// How long one timing in a round lasts, at least (a run is repeated until
/// then).
const ROUND_SAMPLE: Duration = Duration::from_millis(20);

/// Throughput of `run` in MB/s, over repeated runs of at least
/// [`ROUND_SAMPLE`].
fn time_runs(bytes: usize, mut run: impl FnMut()) -> f64 {
    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < ROUND_SAMPLE || runs == 0 {
        run();
        runs += 1;
    }
    (bytes * runs) as f64 / started.elapsed().as_secs_f64() / 1e6
}

/// The middle value and the quartiles of `values`.
fn quartiles(values: &[f64]) -> [f64; 3] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}

fn format_rate(mb_per_s: f64) -> String {
    if mb_per_s >= 1000.0 {
        format!("{:.2} GB/s", mb_per_s / 1000.0)
    } else if mb_per_s >= 10.0 {
        format!("{mb_per_s:.0} MB/s")
    } else {
        format!("{mb_per_s:.2} MB/s")
    }
}

/// `PARSER_ROUNDS=n cargo bench --bench parser`: instead of criterion's
/// contender-after-contender runs, time every contender once per round, in
/// a rotating order, for `n` rounds, and print a table of median
/// throughputs and of each ssefeed row's median ratio to the fastest peer
/// *of the same round* (with quartiles). On a shared machine whose speed
/// drifts over minutes, the ratio of timings taken seconds apart is the
/// figure to trust.
fn interleaved(rounds: usize) {
    let mut header = false;
    for corpus in corpora() {
        for size in CHUNK_SIZES {
            let cell = prepare(&corpus, size);
            let names: Vec<&str> = cell.inputs.iter().map(|(name, ..)| *name).collect();
            if !header {
                header = true;
                let ours: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|name| name.starts_with("ssefeed"))
                    .collect();
                let against_base: Vec<String> = base_pairs(&names)
                    .map(|(new, _)| format!("{} / base", names[new]))
                    .collect();
                println!(
                    "| corpus | chunks | {} | memchr-floor | {} |{}",
                    names.join(" | "),
                    ours.iter()
                        .map(|name| format!("{name} / fastest peer"))
                        .collect::<Vec<_>>()
                        .join(" | "),
                    against_base
                        .iter()
                        .map(|column| format!(" {column} |"))
                        .collect::<String>()
                );
                println!(
                    "|---|---|{}",
                    "---:|".repeat(names.len() + 1 + ours.len() + against_base.len())
                );
            }
            // One column per contender, then the floor.
            let mut rates = vec![Vec::with_capacity(rounds); names.len() + 1];
            for round in 0..rounds {
                for turn in 0..rates.len() {
                    let column = (turn + round) % rates.len();
                    let rate = match cell.inputs.get(column) {
                        Some((_, parse, chunks)) => {
                            let bytes = chunks.iter().map(Bytes::len).sum();
                            time_runs(bytes, || {
                                black_box(parse(black_box(chunks)));
                            })
                        }
                        None => time_runs(corpus.bytes.len(), || {
                            black_box(memchr_floor(black_box(&cell.chunks)));
                        }),
                    };
                    rates[column].push(rate);
                }
            }
            let peers: Vec<usize> = (0..names.len())
                .filter(|&i| !names[i].starts_with("ssefeed"))
                .collect();
            let mut row = format!("| {} | {} |", corpus.name, cell.label);
            for column in &rates {
                row += &format!(" {} |", format_rate(quartiles(column)[1]));
            }
            for (i, name) in names.iter().enumerate() {
                if !name.starts_with("ssefeed") {
                    continue;
                }
                let ratios: Vec<f64> = (0..rounds)
                    .map(|round| {
                        let best = peers
                            .iter()
                            .map(|&peer| rates[peer][round])
                            .fold(0.0, f64::max);
                        rates[i][round] / best
                    })
                    .collect();
                let [low, middle, high] = quartiles(&ratios);
                row += &format!(" {middle:.2}× ({low:.2}–{high:.2}) |");
            }
            // The same row of the baseline, timed in the same rounds.
            for (new, old) in base_pairs(&names) {
                let ratios: Vec<f64> = (0..rounds)
                    .map(|round| rates[new][round] / rates[old][round])
                    .collect();
                let [low, middle, high] = quartiles(&ratios);
                row += &format!(" {middle:.3}× ({low:.3}–{high:.3}) |");
            }
            println!("{row}");
        }
    }
}

/// The (contender, its baseline) index pairs among `names`: `ssefeed-bytes`
/// and `ssefeed-bytes@base`, say. None unless `ab.sh` built the baseline in.
fn base_pairs<'a>(names: &'a [&str]) -> impl Iterator<Item = (usize, usize)> + 'a {
    names.iter().enumerate().filter_map(|(new, name)| {
        let old = names
            .iter()
            .position(|other| other.strip_suffix("@base") == Some(name))?;
        Some((new, old))
    })
}

fn main() {
    match std::env::var("PARSER_ROUNDS") {
        Ok(rounds) => {
            let rounds = rounds
                .parse()
                .ok()
                .filter(|&rounds| rounds > 0)
                .expect("PARSER_ROUNDS: a number of rounds, at least 1");
            interleaved(rounds);
        }
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
