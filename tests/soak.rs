//! Soak and memory: thousands of events through hundreds of random
//! disconnects at random byte offsets, against a server that honours
//! `Last-Event-ID`: every event must arrive exactly once, in order; and the
//! client's peak memory under an endless line must stay within twice the
//! configured line limit.
//!
//! ```sh
//! # The reduced soak (2,000 events, 200 disconnects) and the memory check,
//! # as CI runs them:
//! cargo test --all-features --test soak -- --nocapture
//! # The full soak (10,000 events, 1,000 disconnects), in release:
//! cargo test --release --all-features --test soak -- --ignored --nocapture
//! # Other sizes, or a seed printed by an earlier run:
//! SOAK_EVENTS=50000 SOAK_DISCONNECTS=5000 SOAK_SEED=0x1234 \
//!     cargo test --release --all-features --test soak -- --ignored --nocapture
//! ```
//!
//! RELIABILITY.md has the figures.

#![cfg(feature = "client")]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::testing::{Response, Script, TestServer};
use ssefeed::{Error, Event, EventSource, RetryPolicy};
use support::{SSE_HEAD, memory};
use tokio::time::{Instant, timeout};

/// SplitMix64: a small seeded PRNG, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

fn seed() -> u64 {
    env_number("SOAK_SEED").unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        Rng(now.as_nanos() as u64 ^ u64::from(std::process::id())).next()
    })
}

/// The whole feed the server holds: event `i` has ID `i` and lies at
/// `body[starts[i]..ends[i]]`.
struct Feed {
    body: Vec<u8>,
    ends: Vec<usize>,
    expected: Vec<String>,
}

/// Events with LF, CRLF and CR line endings, multi-line data of 1- to
/// 4-byte UTF-8 characters, some named, some after a keep-alive comment or a
/// `retry: 1`.
fn feed(events: usize, rng: &mut Rng) -> Feed {
    const WORDS: [&str; 6] = [
        "plain",
        "caf\u{e9}",
        "\u{20AC}5",
        "\u{1F600}",
        "\u{10348}\u{e9}",
        "a b: c",
    ];
    let mut body = Vec::new();
    let mut ends = Vec::with_capacity(events);
    let mut expected = Vec::with_capacity(events);
    for i in 0..events {
        let eol = ["\n", "\r\n", "\r"][rng.below(3)];
        let mut text = String::new();
        if rng.one_in(8) {
            text.push_str(&format!(": keep-alive {i}{eol}"));
        }
        if rng.one_in(50) {
            text.push_str(&format!("retry: 1{eol}"));
        }
        let event_type = if rng.one_in(4) {
            text.push_str(&format!("event: tick{eol}"));
            "tick"
        } else {
            "message"
        };
        text.push_str(&format!("id: {i}{eol}"));
        let mut data = Vec::new();
        for k in 0..=rng.below(3) {
            let line = format!("{i}.{k} {}", WORDS[rng.below(WORDS.len())]);
            text.push_str(&format!("data: {line}{eol}"));
            data.push(line);
        }
        text.push_str(eol);
        body.extend_from_slice(text.as_bytes());
        ends.push(body.len());
        expected.push(format!("{event_type}|{}|{i}", data.join("\n")));
    }
    Feed {
        body,
        ends,
        expected,
    }
}

/// Where a connection is cut.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// Inside the response head, after this many bytes.
    Head(usize),
    /// At this offset of the whole feed (sent up to it from where the
    /// client resumes).
    Body(usize),
}

/// A connection's fate: cut somewhere, closed with FIN or a reset.
#[derive(Debug, Clone, Copy)]
struct Plan {
    cut: Cut,
    reset: bool,
}

/// `disconnects` cuts: one in 20 inside the response head, the rest at
/// distinct random offsets of the feed, in order; one in 4 with a reset.
fn plans(disconnects: usize, feed_len: usize, rng: &mut Rng) -> Vec<Plan> {
    let mut cuts: Vec<Cut> = (0..disconnects)
        .map(|_| {
            if rng.one_in(20) {
                Cut::Head(rng.below(SSE_HEAD.len()))
            } else {
                Cut::Body(0)
            }
        })
        .collect();
    let body_cuts = cuts.iter().filter(|c| matches!(c, Cut::Body(_))).count();
    assert!(body_cuts < feed_len, "more cuts than bytes");
    let mut offsets = HashSet::new();
    while offsets.len() < body_cuts {
        offsets.insert(1 + rng.below(feed_len - 1));
    }
    let mut offsets: Vec<_> = offsets.into_iter().collect();
    offsets.sort_unstable();
    let mut offsets = offsets.into_iter();
    for cut in &mut cuts {
        if let Cut::Body(at) = cut {
            *at = offsets.next().unwrap();
        }
    }
    cuts.into_iter()
        .map(|cut| Plan {
            cut,
            reset: rng.one_in(4),
        })
        .collect()
}

/// What kind of place each body cut fell on.
fn classify(feed: &Feed, plans: &[Plan]) -> String {
    let ends: HashSet<_> = feed.ends.iter().copied().collect();
    let body = &feed.body;
    let (mut boundary, mut crlf, mut utf8, mut line, mut line_end) = (0, 0, 0, 0, 0);
    for plan in plans {
        if let Cut::Body(at) = plan.cut {
            if ends.contains(&at) {
                boundary += 1;
            } else if body[at - 1] == b'\r' && body[at] == b'\n' {
                crlf += 1;
            } else if (0x80..0xC0).contains(&body[at]) {
                utf8 += 1;
            } else if matches!(body[at - 1], b'\r' | b'\n') {
                line_end += 1;
            } else {
                line += 1;
            }
        }
    }
    let heads = plans
        .iter()
        .filter(|p| matches!(p.cut, Cut::Head(_)))
        .count();
    let resets = plans.iter().filter(|p| p.reset).count();
    format!(
        "in the head {heads}, mid-line {line}, mid-CRLF {crlf}, mid-UTF-8 {utf8}, \
         after a line {line_end}, between events {boundary}; {resets} by reset"
    )
}

struct Figures {
    delivered: usize,
    lost: usize,
    duplicated: usize,
    unexpected: usize,
    in_order: bool,
    reconnects: usize,
    causes: String,
    requests: usize,
    final_stream: bool,
    anomalies: usize,
    wall: Duration,
}

/// Runs the soak; prints and returns the figures.
async fn soak(events: usize, disconnects: usize, seed: u64) -> Figures {
    let mut rng = Rng(seed);
    let feed = Arc::new(feed(events, &mut rng));
    let plans = Arc::new(plans(disconnects, feed.body.len(), &mut rng));
    let anomalies = Arc::new(AtomicUsize::new(0));
    let final_stream = Arc::new(AtomicBool::new(false));

    let server = {
        let (feed, plans) = (feed.clone(), plans.clone());
        let (anomalies, final_stream) = (anomalies.clone(), final_stream.clone());
        TestServer::start(Script::from_fn(move |request| {
            let resume = match request.header("last-event-id") {
                None => 0,
                Some(id) => feed.ends[id.parse::<usize>().expect("an ID the server sent")],
            };
            let Some(plan) = plans.get(request.index()) else {
                if resume == feed.body.len() {
                    return Response::no_content();
                }
                final_stream.store(true, Ordering::SeqCst);
                return Response::sse().body(&feed.body[resume..]);
            };
            let response = match plan.cut {
                Cut::Head(at) => Response::verbatim(SSE_HEAD).cut_after(at),
                Cut::Body(at) if at > resume => Response::sse().body(&feed.body[resume..at]),
                Cut::Body(_) => {
                    // The client resumed past this cut: it claims an
                    // event it cannot have had.
                    anomalies.fetch_add(1, Ordering::SeqCst);
                    Response::sse()
                }
            };
            if plan.reset {
                response.reset()
            } else {
                response
            }
        }))
        .unwrap()
    };

    let policy = RetryPolicy::new()
        .initial(Duration::from_millis(1))
        .min_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(4))
        .jitter(0.0);
    let mut source = EventSource::builder(reqwest::Client::new().get(server.url_for("/feed")))
        .retry_policy(policy)
        .build()
        .unwrap();
    let mut got = Vec::with_capacity(events);
    let mut causes: HashMap<&'static str, usize> = HashMap::new();
    let start = Instant::now();
    let bound = Duration::from_secs(60)
        + Duration::from_millis(100) * disconnects as u32
        + Duration::from_millis(1) * events as u32;
    let run = timeout(bound, async {
        while let Some(item) = source.next().await {
            match item {
                Ok(Event::Message(m)) => got.push(format!(
                    "{}|{}|{}",
                    m.event_type(),
                    m.data(),
                    m.last_event_id()
                )),
                Ok(Event::Reconnecting { error, .. }) => {
                    let cause = match &*error {
                        Error::Truncated => "truncated",
                        Error::StreamEnded => "ended",
                        Error::Transport(_) => "transport",
                        Error::Interrupted(_) => "interrupted",
                        _ => "other",
                    };
                    *causes.entry(cause).or_default() += 1;
                }
                Ok(_) => {}
                Err(error) => panic!("seed {seed:#x}: final error: {error}"),
            }
        }
    })
    .await;
    let wall = start.elapsed();
    assert!(
        run.is_ok(),
        "seed {seed:#x}: no end after {bound:?}; {} events so far",
        got.len()
    );

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for event in &got {
        *counts.entry(event).or_default() += 1;
    }
    let expected: HashSet<&str> = feed.expected.iter().map(String::as_str).collect();
    let mut causes: Vec<_> = causes.into_iter().collect();
    causes.sort_unstable();
    let figures = Figures {
        delivered: got.len(),
        lost: feed
            .expected
            .iter()
            .filter(|e| !counts.contains_key(e.as_str()))
            .count(),
        duplicated: counts.values().map(|c| c - 1).sum(),
        unexpected: counts.keys().filter(|e| !expected.contains(*e)).count(),
        in_order: got == feed.expected,
        reconnects: causes.iter().map(|(_, n)| n).sum(),
        causes: causes
            .iter()
            .map(|(cause, n)| format!("{cause} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        requests: server.requests().len(),
        final_stream: final_stream.load(Ordering::SeqCst),
        anomalies: anomalies.load(Ordering::SeqCst),
        wall,
    };
    let peak = memory().map_or("n/a".to_owned(), |(hwm, _)| mib(hwm));
    println!(
        "SOAK seed={seed:#x} events={events} disconnects={disconnects} ({}) \
         delivered={} lost={} duplicated={} unexpected={} in_order={} \
         reconnects={} ({}) requests={} wall={:.2}s reconnects/s={:.0} peak_rss={peak}",
        classify(&feed, &plans),
        figures.delivered,
        figures.lost,
        figures.duplicated,
        figures.unexpected,
        figures.in_order,
        figures.reconnects,
        figures.causes,
        figures.requests,
        figures.wall.as_secs_f64(),
        figures.reconnects as f64 / figures.wall.as_secs_f64(),
    );
    figures
}

fn mib(bytes: u64) -> String {
    format!("{:.1}MiB", bytes as f64 / f64::from(1 << 20))
}

fn check(figures: &Figures, events: usize, disconnects: usize, seed: u64) {
    let replay = format!("replay with SOAK_SEED={seed:#x}");
    assert_eq!(figures.lost, 0, "{replay}");
    assert_eq!(figures.duplicated, 0, "{replay}");
    assert_eq!(figures.unexpected, 0, "{replay}");
    assert_eq!(figures.delivered, events, "{replay}");
    assert!(figures.in_order, "{replay}");
    assert_eq!(figures.anomalies, 0, "{replay}");
    // Every planned cut was a reconnect; so was the clean end of the last
    // stream, if one was needed; then a 204 ended it all.
    let expected = disconnects + usize::from(figures.final_stream);
    assert_eq!(figures.reconnects, expected, "{replay}");
    assert_eq!(figures.requests, expected + 1, "{replay}");
}

/// The reduced soak, run by `cargo test` (so by CI): a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_2000_events_through_200_random_disconnects() {
    let seed = seed();
    let figures = soak(2_000, 200, seed).await;
    check(&figures, 2_000, 200, seed);
}

/// The full soak: 10,000 events through 1,000 disconnects, or
/// `SOAK_EVENTS` through `SOAK_DISCONNECTS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full soak: cargo test --release --all-features --test soak -- --ignored --nocapture"]
async fn soak_full() {
    let events = env_number("SOAK_EVENTS").map_or(10_000, |n| n as usize);
    let disconnects = env_number("SOAK_DISCONNECTS").map_or(1_000, |n| n as usize);
    let seed = seed();
    let figures = soak(events, disconnects, seed).await;
    check(&figures, events, disconnects, seed);
}

// ---------------------------------------------------------------------------
// Memory under an endless line (Linux: it reads /proc/self/status).

#[cfg(target_os = "linux")]
mod memory_check {
    use super::*;

    const MEMCHECK_CHILD: &str = "SSEFEED_MEMCHECK_CHILD";
    const LINE_LIMIT: usize = 8 << 20;

    /// Measures in a child process (this test binary again, running only
    /// `endless_line_memory_child`), so other tests do not move its peak RSS.
    #[tokio::test]
    async fn endless_line_peak_memory_stays_under_twice_the_line_limit() {
        let child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "memory_check::endless_line_memory_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(MEMCHECK_CHILD, "1")
            .kill_on_drop(true)
            .output();
        let output = timeout(Duration::from_secs(120), child)
            .await
            .expect("the child hung")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        let line = stdout
            .lines()
            .find_map(|line| Some(&line[line.find("MEMCHECK ")?..]))
            .unwrap_or_else(|| panic!("no MEMCHECK line: {stdout}\n{stderr}"));
        println!("{line}");
        let field = |name: &str| -> u64 {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {line}"))
        };
        let (limit, growth, sent) = (field("limit"), field("growth"), field("sent"));
        assert_eq!(limit, LINE_LIMIT as u64);
        assert!(sent > limit, "the server sent only {sent} bytes: {line}");
        assert!(
            growth < 2 * limit,
            "peak RSS grew by {} under a {} line limit: {line}",
            mib(growth),
            mib(limit)
        );
    }

    /// The measured run; only meaningful alone in its process, as the test
    /// above runs it (with `SSEFEED_MEMCHECK_CHILD=1`).
    #[tokio::test]
    #[ignore = "run in a child process by endless_line_peak_memory_stays_under_twice_the_line_limit"]
    async fn endless_line_memory_child() {
        if std::env::var_os(MEMCHECK_CHILD).is_none() {
            eprintln!("skipped: only meaningful alone in its process, with {MEMCHECK_CHILD}=1");
            return;
        }
        let total = 100 << 20;
        let server = TestServer::start(
            Script::new().then(Response::sse().body("data: ").repeat(b'x', total)),
        )
        .unwrap();
        let mut source = EventSource::builder(reqwest::Client::new().get(server.url_for("/feed")))
            .max_line_len(LINE_LIMIT)
            .build()
            .unwrap();
        let (_, baseline) = memory().expect("/proc/self/status");
        let items = timeout(Duration::from_secs(60), async {
            let mut items = Vec::new();
            while let Some(item) = source.next().await {
                items.push(item);
            }
            items
        })
        .await
        .expect("the client hung");
        let (peak, _) = memory().unwrap();
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(matches!(items[0], Ok(Event::Open(_))), "{items:?}");
        assert!(
            matches!(items[1], Err(Error::LineTooLong { limit }) if limit == LINE_LIMIT),
            "{items:?}"
        );
        server.wait_closed().await.unwrap();
        let sent = server.bytes_written() as usize;
        assert!(sent < total, "the client never hung up: {sent} bytes sent");
        assert_eq!(server.requests().len(), 1);
        println!(
            "MEMCHECK limit={LINE_LIMIT} baseline_rss={baseline} peak_rss={peak} growth={} sent={sent}",
            peak.saturating_sub(baseline)
        );
    }
}
