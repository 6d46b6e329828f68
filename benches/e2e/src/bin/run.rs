//! The one command: runs every test for every client, several times each,
//! and prints the Markdown tables and the goal check.
//!
//! ```text
//! run [--runs 5] [--idle-runs 3] [--latency-runs 5] [--slow-runs 3] [--scale 1]
//!     [--idle-conns 1000,10000] [--protos h1,h2c,h2]
//!     [--slow-feeds 10000] [--slow-secs 20] [--slow-interval-us 1000000]
//!     [--slow-protos h1,h2] [--max-streams 100000]
//!     [--latency-events 400] [--interval-us 5000]
//!     [--libs ssefeed,ldclient,...] [--only stream,idle,slow,latency]
//!     [--many-feeds 100000] [--many-per-client 10000] [--many-secs 60]
//!     [--many-protos h2c] [--many-runs 1]
//! ```
//!
//! Each test starts its own server (`server`, beside this binary; one per
//! protocol); each client run is a fresh `client` process, timed from spawn
//! to exit, whose CPU time (user + system) and peak RSS come from the OS
//! (`wait4`'s rusage). Runs of different clients are interleaved
//! (round-robin, the starting client rotating) so that a change in the
//! machine's load falls on all of them alike; each figure is the median of
//! the runs. A client that does not report exactly the events (and data
//! bytes) the server sent fails the whole run; one that reports
//! `unsupported=<reason>` (a library that cannot speak that protocol) shows
//! as "cannot: reason" in its cells.
//!
//! - stream: the bulk tests, over HTTP/1.1.
//! - idle: `--idle-conns` open feeds (each value, over each of `--protos`):
//!   KiB of RSS and file descriptors per feed.
//! - slow: `--slow-feeds` feeds at one event per `--slow-interval-us`, over
//!   each of `--slow-protos`, until `feeds × --slow-secs` events (at the
//!   default rate) have arrived: CPU µs per event of that steady phase (the
//!   client's own `getrusage`) and the process's peak RSS.
//! - latency: over HTTP/1.1, as before.
//! - many (only when `--only` names it): `--many-feeds` idle feeds over
//!   HTTP/2 in one process, spread over clients (so connections) of
//!   `--many-per-client` feeds, the server's stream limit per connection;
//!   the time to open them all, heap and RSS per feed, and how far memory
//!   moved over a `--many-secs` hold.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ssefeed_e2e::{Args, die};

const LIBS: [&str; 6] = [
    "ssefeed",
    "ldclient",
    "reqwest-eventsource",
    "sse-reqwest-client",
    "reqwest",
    "raw",
];

/// The label of each client in the tables.
fn label(lib: &str) -> &'static str {
    match lib {
        "ssefeed" => "ssefeed 0.1 (reqwest 0.13)",
        "ldclient" => "eventsource-client 0.18 (LaunchDarkly, hyper)",
        "reqwest-eventsource" => "reqwest-eventsource 0.6 (reqwest 0.12)",
        "sse-reqwest-client" => "sse-reqwest-client 0.4 (reqwest 0.13)",
        "reqwest" => "reqwest 0.13 + memchr (floor of the reqwest clients)",
        "raw" => "raw socket + memchr (floor)",
        _ => "?",
    }
}

struct StreamTest {
    name: &'static str,
    mode: &'static str,
    corpus: &'static str,
    events: u64,
    /// `--chunk-bytes` for the server (chunked tests): 0 is one event per chunk.
    chunk_bytes: u64,
}

/// What one client process cost.
#[derive(Debug, Clone)]
struct Measured {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    stdout: String,
}

fn main() {
    let args = Args::from_env();
    let runs = args.num_or("runs", 5) as usize;
    let idle_runs = args.num_or("idle-runs", 3) as usize;
    let latency_runs = args.num_or("latency-runs", 5) as usize;
    let slow_runs = args.num_or("slow-runs", 3) as usize;
    let scale = args.num_or("scale", 1).max(1);
    let idle_conns: Vec<u64> = list(
        args.get("idle-conns")
            .or(args.get("conns"))
            .unwrap_or("1000,10000"),
    )
    .iter()
    .map(|n| {
        n.replace('_', "")
            .parse()
            .unwrap_or_else(|_| die(&format!("--idle-conns: not a number: {n}")))
    })
    .collect();
    let protos = parse_protos(args.str_or("protos", "h1,h2c,h2"));
    let slow_protos = parse_protos(args.str_or("slow-protos", "h1,h2"));
    let slow = Slow {
        feeds: args.num_or("slow-feeds", 10_000).max(1),
        secs: args.num_or("slow-secs", 20).max(1),
        interval_us: args.num_or("slow-interval-us", 1_000_000).max(1),
        runs: slow_runs,
    };
    let max_streams = args.num_or("max-streams", 100_000).to_string();
    let burst_bytes = args.num_or("burst-bytes", 30_000);
    let burst_conns = args.num_or("burst-conns", 1000).max(1);
    let latency_events = args.num_or("latency-events", 400);
    let interval_us = args.num_or("interval-us", 5000);
    let libs: Vec<&str> = match args.get("libs") {
        Some(list) => list
            .split(',')
            .map(|l| {
                *LIBS
                    .iter()
                    .find(|x| **x == l)
                    .unwrap_or_else(|| die(&format!("unknown lib {l}")))
            })
            .collect(),
        None => LIBS.to_vec(),
    };
    let many = Many {
        feeds: args.num_or("many-feeds", 100_000).max(1),
        per_client: args.num_or("many-per-client", 10_000).max(2),
        secs: args.num_or("many-secs", 60),
        protos: parse_protos(args.str_or("many-protos", "h2c")),
        runs: args.num_or("many-runs", 1).max(1) as usize,
    };
    let only = list(args.str_or("only", "stream,idle,slow,latency"));
    for test in &only {
        if !["stream", "idle", "slow", "latency", "many"].contains(&test.as_str()) {
            die(&format!("--only: unknown test {test}"));
        }
    }
    let only = |test: &str| only.iter().any(|t| t == test);
    let dir = std::env::current_exe()
        .expect("current exe")
        .parent()
        .expect("exe dir")
        .to_path_buf();
    let bins = Bins {
        server: dir.join("server"),
        client: dir.join("client"),
        max_streams,
    };
    for bin in [&bins.server, &bins.client] {
        if !bin.exists() {
            die(&format!(
                "{} is missing: cargo build --release first",
                bin.display()
            ));
        }
    }

    let started = Instant::now();
    let test = |name, mode, corpus, events: u64, chunk_bytes| StreamTest {
        name,
        mode,
        corpus,
        events: events / scale,
        chunk_bytes,
    };
    let tests = [
        test("llm, close-delimited", "stream-close", "llm", 2_000_000, 0),
        test(
            "llm, chunked (a chunk per event)",
            "stream-chunked",
            "llm",
            2_000_000,
            0,
        ),
        test(
            "llm, chunked (16 KiB chunks)",
            "stream-chunked",
            "llm",
            2_000_000,
            16 * 1024,
        ),
        test(
            "notify, close-delimited",
            "stream-close",
            "notify",
            500_000,
            0,
        ),
        test(
            "notify, chunked (a chunk per event)",
            "stream-chunked",
            "notify",
            500_000,
            0,
        ),
    ];

    println!("## ssefeed end-to-end benchmark\n");
    println!("{}\n", machine_line());
    if let Some(version) = ssefeed_version() {
        println!("{version}\n");
    }
    println!(
        "Stream tests: {runs} runs per client (medians); idle: {} feeds over {}, \
         {idle_runs} runs; slow: {} feeds at one event per {} ms for {} s over {}, \
         {slow_runs} runs; latency: {latency_events} events at one per {} ms, \
         {latency_runs} runs pooled.{}\n",
        idle_conns
            .iter()
            .map(|&n| fmt_count(n))
            .collect::<Vec<_>>()
            .join(" and "),
        protos.join(", "),
        fmt_count(slow.feeds),
        slow.interval_us as f64 / 1000.0,
        slow.secs,
        slow_protos.join(", "),
        interval_us as f64 / 1000.0,
        if scale > 1 {
            format!(" Event counts scaled down by {scale}.")
        } else {
            String::new()
        }
    );

    let mut goals: Vec<String> = Vec::new();

    if only("stream") {
        println!(
            "| test | client | events/s | × LD | CPU µs/event | CPU ÷ LD | peak RSS | \
             events/s min–max |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        for test in &tests {
            let results = stream_test(&bins, test, &libs, runs);
            let ld = results.iter().find(|r| r.lib == "ldclient").cloned();
            for r in &results {
                let (vs_rate, vs_cpu) = match &ld {
                    Some(ld) => (
                        format!("{:.2}×", r.rate / ld.rate),
                        format!("{:.2}", r.cpu_us / ld.cpu_us),
                    ),
                    None => ("–".into(), "–".into()),
                };
                println!(
                    "| {} ({}) | {} | {} | {} | {:.3} | {} | {:.1} MiB | {}–{} |",
                    test.name,
                    fmt_count(test.events),
                    label(r.lib),
                    fmt_rate(r.rate),
                    vs_rate,
                    r.cpu_us,
                    vs_cpu,
                    r.rss_kib as f64 / 1024.0,
                    fmt_rate(r.rate_min),
                    fmt_rate(r.rate_max),
                );
            }
            let ours = results.iter().find(|r| r.lib == "ssefeed");
            let leanest = results
                .iter()
                .filter(|r| is_peer(r.lib))
                .min_by_key(|r| r.rss_kib);
            if let (Some(ours), Some(peer)) = (ours, leanest) {
                goals.push(format!(
                    "- {}: peak RSS {:.1} MiB against the leanest peer's {:.1} MiB ({}) \
                     (goal: no higher): {}",
                    test.name,
                    ours.rss_kib as f64 / 1024.0,
                    peer.rss_kib as f64 / 1024.0,
                    peer.lib,
                    pass(ours.rss_kib <= peer.rss_kib)
                ));
            }
            if let (Some(ld), Some(ours)) = (&ld, ours) {
                let rate = ours.rate / ld.rate;
                let cpu = ours.cpu_us / ld.cpu_us;
                goals.push(format!(
                    "- {}: events/s {:.2}× LaunchDarkly's (goal ≥ 2×): {}; CPU/event {:.2} of \
                     its (goal ≤ 0.5): {}",
                    test.name,
                    rate,
                    pass(rate >= 2.0),
                    cpu,
                    pass(cpu <= 0.5)
                ));
            }
        }
        println!();
    }

    if only("idle") {
        let cells = idle_test(&bins, &libs, &protos, &idle_conns, idle_runs, &[]);
        print_idle(&cells, &libs, &protos, &idle_conns);
        idle_goals(&cells, &libs, &protos, &idle_conns, &mut goals);
        if burst_bytes > 0 {
            let ready = burst_bytes.to_string();
            let server_args = ["--ready-bytes", ready.as_str()];
            let burst = [burst_conns];
            let cells = idle_test(&bins, &libs, &protos, &burst, idle_runs, &server_args);
            println!(
                "Idle after a burst: each feed's one event was {} KiB of data in three \
                 lines, written at once.\n",
                burst_bytes / 1024
            );
            print_idle(&cells, &libs, &protos, &burst);
            burst_goals(&cells, &libs, &protos, burst_conns, &mut goals);
        }
    }
    if only("slow") {
        let cells = slow_test(&bins, &libs, &slow_protos, &slow);
        print!("| client |");
        for proto in &slow_protos {
            print!(" {proto}: CPU µs/event | {proto}: peak RSS |");
        }
        println!();
        println!("|---|{}", "---:|---:|".repeat(slow_protos.len()));
        for lib in &libs {
            print!("| {} |", label(lib));
            for proto in &slow_protos {
                match cells.get(lib, proto, slow.feeds) {
                    Some(Ok(v)) => print!(" {:.2} | {:.1} MiB |", v[0], v[1] / 1024.0),
                    Some(Err(reason)) => print!(" cannot: {reason} | – |"),
                    None => print!(" – | – |"),
                }
            }
            println!();
        }
        println!(
            "\n({} feeds, one ~200-byte event per {} ms each; CPU of the steady phase only.)\n",
            fmt_count(slow.feeds),
            slow.interval_us as f64 / 1000.0
        );
        for proto in &slow_protos {
            let ours = cells.get("ssefeed", proto, slow.feeds);
            let ld = cells.get("ldclient", proto, slow.feeds);
            match (ours, ld) {
                (Some(Ok(ours)), Some(Ok(ld))) => goals.push(format!(
                    "- slow, {proto}: CPU/event {:.2} of LaunchDarkly's (goal ≤ 0.5): {}",
                    ours[0] / ld[0],
                    pass(ours[0] / ld[0] <= 0.5)
                )),
                (Some(Ok(_)), Some(Err(reason))) => goals.push(format!(
                    "- slow, {proto}: LaunchDarkly cannot ({reason}): no comparison"
                )),
                (Some(Err(reason)), _) => goals.push(format!(
                    "- slow, {proto}: ssefeed cannot ({reason}): **not met**"
                )),
                _ => {}
            }
        }
    }
    if only("many") {
        many.run(&bins, &libs);
    }
    let mut latency = Vec::new();
    if only("latency") {
        latency = latency_test(&bins, &libs, latency_events, interval_us, latency_runs);
        println!("| client | latency p50 | latency p99 | latency max |");
        println!("|---|---:|---:|---:|");
        for lib in &libs {
            let lat = latency.iter().find(|(l, _)| l == lib);
            let (p50, p99, max) = match lat {
                Some((_, s)) => (
                    fmt_us(percentile(s, 50.0)),
                    fmt_us(percentile(s, 99.0)),
                    fmt_us(*s.last().unwrap()),
                ),
                None => ("–".into(), "–".into(), "–".into()),
            };
            println!("| {} | {p50} | {p99} | {max} |", label(lib));
        }
        println!();
    }
    let peers = |lib: &&str| is_peer(lib);
    if let Some((_, ours)) = latency.iter().find(|(l, _)| *l == "ssefeed") {
        let ours = percentile(ours, 99.0);
        let best = latency
            .iter()
            .filter(|(l, _)| peers(l))
            .map(|(l, s)| (l, percentile(s, 99.0)))
            .min_by_key(|(_, p)| *p);
        if let Some((peer, p99)) = best {
            goals.push(format!(
                "- latency: p99 {} against the best peer's {} ({peer}): {}",
                fmt_us(ours),
                fmt_us(p99),
                pass(ours <= p99)
            ));
        }
    }
    if !goals.is_empty() {
        println!("Goals:\n");
        for goal in goals {
            println!("{goal}");
        }
        println!();
    }
    println!(
        "Total time {:.0} s; load average at the end: {}.",
        started.elapsed().as_secs_f64(),
        load_average()
    );
}

struct Bins {
    server: PathBuf,
    client: PathBuf,
    /// The servers' `--max-streams` (HTTP/2 streams per connection).
    max_streams: String,
}

/// The slow test's parameters.
struct Slow {
    feeds: u64,
    secs: u64,
    interval_us: u64,
    runs: usize,
}

/// The `many` test's parameters.
struct Many {
    feeds: u64,
    per_client: u64,
    secs: u64,
    protos: Vec<&'static str>,
    runs: usize,
}

impl Many {
    /// Runs the test and prints its table: medians of `runs`.
    fn run(&self, bins: &Bins, libs: &[&'static str]) {
        // The server allows `per_client` streams per connection.
        let bins = Bins {
            server: bins.server.clone(),
            client: bins.client.clone(),
            max_streams: self.per_client.to_string(),
        };
        println!(
            "{} idle feeds in one process over HTTP/2, {} per client (connection), \
             held {} s; {} run(s), medians.\n",
            fmt_count(self.feeds),
            fmt_count(self.per_client),
            self.secs,
            self.runs
        );
        println!(
            "| client | proto | connections | open all | heap per feed | RSS per feed \
             (after `malloc_trim`) | heap moved over the hold | RSS moved over the hold |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        for proto in &self.protos {
            let server = Server::start(&bins, proto, &["--mode", "idle"]);
            let (feeds, per, secs) = (
                self.feeds.to_string(),
                self.per_client.to_string(),
                self.secs.to_string(),
            );
            let args = [
                "--mode",
                "many",
                "--conns",
                &feeds,
                "--per-client",
                &per,
                "--secs",
                &secs,
            ];
            let name = format!("many, {proto}, {feeds} feeds");
            let mut per_lib: Vec<Vec<[f64; 6]>> = vec![Vec::new(); libs.len()];
            let mut clients = vec![0.0; libs.len()];
            let cannot = rotate_clients(
                &bins,
                &server,
                libs,
                self.runs,
                &name,
                &args,
                |i, lib, m| {
                    let field = |name: &str| -> f64 {
                        report_field(&m.stdout, name)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or_else(|| {
                                die(&format!("{name} / {lib}: bad report {:?}", m.stdout))
                            })
                    };
                    let n = field("measured=");
                    clients[i] = field("clients=");
                    per_lib[i].push([
                        field("open_ms=") / 1000.0,
                        (field("heap_after=") - field("heap_before=")) / n / 1024.0,
                        (field("rss_after_kib=") - field("rss_before_kib=")) / n,
                        (field("trimmed_kib=") - field("trimmed_before_kib=")) / n,
                        (field("hold_heap_max=") - field("hold_heap_min=")) / 1024.0 / 1024.0,
                        (field("hold_rss_max_kib=") - field("hold_rss_min_kib=")) / 1024.0,
                    ]);
                },
            );
            for (i, lib) in libs.iter().enumerate() {
                if let Some(reason) = &cannot[i] {
                    println!("| {} | {proto} | cannot: {reason} | | | | | |", label(lib));
                    continue;
                }
                let m = |k: usize| median(&per_lib[i].iter().map(|x| x[k]).collect::<Vec<_>>());
                println!(
                    "| {} | {proto} | {} | {:.1} s | {:.2} KiB | {:.1} ({:.1}) KiB | {:.2} MiB | \
                     {:.2} MiB |",
                    label(lib),
                    clients[i],
                    m(0),
                    m(1),
                    m(2),
                    m(3),
                    m(4),
                    m(5)
                );
            }
        }
        println!();
    }
}

/// A library the goals compare ssefeed with (not itself, not the floor).
fn is_peer(lib: &str) -> bool {
    !["ssefeed", "reqwest", "raw"].contains(&lib)
}

/// The words of a comma-separated list.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `--protos`: each of h1, h2c, h2.
fn parse_protos(text: &str) -> Vec<&'static str> {
    list(text)
        .iter()
        .map(|p| match p.as_str() {
            "h1" => "h1",
            "h2c" => "h2c",
            "h2" => "h2",
            other => die(&format!("unknown protocol {other}")),
        })
        .collect()
}

/// Results by (library, protocol, feeds): a pair of medians, or the reason
/// the library cannot.
struct Cells(Vec<(&'static str, &'static str, u64, Cell)>);

/// Medians (idle: heap KiB, RSS KiB, RSS KiB after `malloc_trim` and fds,
/// per feed; slow: CPU µs per event and peak KiB), or why the library
/// cannot.
type Cell = Result<Vec<f64>, String>;

impl Cells {
    fn get(&self, lib: &str, proto: &str, feeds: u64) -> Option<&Cell> {
        self.0
            .iter()
            .find(|(l, p, f, _)| *l == lib && *p == proto && *f == feeds)
            .map(|(_, _, _, r)| r)
    }
}

fn idle_goals(
    cells: &Cells,
    libs: &[&'static str],
    protos: &[&'static str],
    conns: &[u64],
    goals: &mut Vec<String>,
) {
    for proto in protos {
        // HTTP/1.1: below every peer at each count; HTTP/2: also the aim of
        // 8 KiB at the largest count.
        let counts: Vec<u64> = if *proto == "h1" {
            conns.to_vec()
        } else {
            conns.iter().max().into_iter().copied().collect()
        };
        for n in counts {
            let aim = (*proto != "h1").then_some(8.0);
            let what = format!("idle, {proto}, {} feeds", fmt_count(n));
            for (k, measure) in [(0, "heap"), (1, "RSS"), (2, "trimmed RSS")] {
                goals.push(compare(cells, libs, proto, n, k, &what, measure, aim));
            }
        }
    }
}

/// After a burst: ssefeed below every peer in heap per feed.
fn burst_goals(
    cells: &Cells,
    libs: &[&'static str],
    protos: &[&'static str],
    n: u64,
    goals: &mut Vec<String>,
) {
    for proto in protos {
        let what = format!("idle after a burst, {proto}, {} feeds", fmt_count(n));
        goals.push(compare(cells, libs, proto, n, 0, &what, "heap", None));
    }
}

/// One goal line: ssefeed's `k`th measure against the leanest peer's (and
/// an aim in KiB, if any).
#[allow(clippy::too_many_arguments)]
fn compare(
    cells: &Cells,
    libs: &[&'static str],
    proto: &str,
    n: u64,
    k: usize,
    what: &str,
    measure: &str,
    aim: Option<f64>,
) -> String {
    let ours = match cells.get("ssefeed", proto, n) {
        Some(Ok(v)) => v[k],
        Some(Err(reason)) => return format!("- {what}: ssefeed cannot ({reason}): **not met**"),
        None => return format!("- {what}: not run"),
    };
    let leanest = libs
        .iter()
        .filter(|l| is_peer(l))
        .filter_map(|l| match cells.get(l, proto, n) {
            Some(Ok(v)) => Some((*l, v[k])),
            _ => None,
        })
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let peer = match leanest {
        Some((peer, kib)) => format!(
            "against the leanest peer's {kib:.2} ({peer}): {}",
            pass(ours < kib)
        ),
        None => "no peer can".into(),
    };
    let aim = aim.map_or(String::new(), |aim| {
        format!("; the aim of {aim:.0} KiB: {}", pass(ours <= aim))
    });
    format!("- {what}: {measure} {ours:.2} KiB/feed {peer}{aim}")
}

#[derive(Debug, Clone)]
struct StreamResult {
    lib: &'static str,
    rate: f64,
    rate_min: f64,
    rate_max: f64,
    cpu_us: f64,
    rss_kib: u64,
}

fn stream_test(
    bins: &Bins,
    test: &StreamTest,
    libs: &[&'static str],
    runs: usize,
) -> Vec<StreamResult> {
    let events = test.events.to_string();
    let chunk_bytes = test.chunk_bytes.to_string();
    let server = Server::start(
        bins,
        "h1",
        &[
            "--mode",
            test.mode,
            "--corpus",
            test.corpus,
            "--events",
            &events,
            "--chunk-bytes",
            &chunk_bytes,
        ],
    );
    let mut samples: Vec<Vec<Measured>> = vec![Vec::new(); libs.len()];
    let args = ["--mode", "stream", "--events", &events];
    let cannot = rotate_clients(bins, &server, libs, runs, test.name, &args, |i, lib, m| {
        let want_data = if lib == "raw" {
            "-".to_owned()
        } else {
            server.data_bytes.to_string()
        };
        let want = format!("events={events} data_bytes={want_data}");
        if m.stdout.trim() != want {
            die(&format!(
                "{}: {lib} reported {:?}, the server sent {want:?}",
                test.name,
                m.stdout.trim()
            ));
        }
        samples[i].push(m);
    });
    if let Some((lib, reason)) = libs
        .iter()
        .zip(&cannot)
        .find_map(|(l, c)| Some((l, c.as_ref()?)))
    {
        die(&format!("{}: {lib} cannot: {reason}", test.name));
    }
    drop(server);
    libs.iter()
        .zip(samples)
        .map(|(lib, ms)| {
            let rates: Vec<f64> = ms
                .iter()
                .map(|m| test.events as f64 / m.wall.as_secs_f64())
                .collect();
            let cpus: Vec<f64> = ms
                .iter()
                .map(|m| m.cpu.as_secs_f64() * 1e6 / test.events as f64)
                .collect();
            let rss: Vec<f64> = ms.iter().map(|m| m.max_rss_kib as f64).collect();
            StreamResult {
                lib,
                rate: median(&rates),
                rate_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
                rate_max: rates.iter().copied().fold(0.0, f64::max),
                cpu_us: median(&cpus),
                rss_kib: median(&rss) as u64,
            }
        })
        .collect()
}

/// The idle test over each of `protos` at each of `conns`; `server_args`
/// are added to the server's (a burst as the first event). Each cell holds
/// the medians of heap KiB, RSS KiB, trimmed RSS KiB and fds, per feed.
fn idle_test(
    bins: &Bins,
    libs: &[&'static str],
    protos: &[&'static str],
    conns: &[u64],
    runs: usize,
    server_args: &[&str],
) -> Cells {
    let mut cells = Vec::new();
    for proto in protos {
        let mut args = vec!["--mode", "idle"];
        args.extend_from_slice(server_args);
        let server = Server::start(bins, proto, &args);
        for &n in conns {
            let conns_arg = n.to_string();
            let mut per: Vec<Vec<[f64; 4]>> = vec![Vec::new(); libs.len()];
            let args = ["--mode", "idle", "--conns", &conns_arg];
            let name = format!("idle, {proto}, {n} feeds {server_args:?}");
            let cannot = rotate_clients(bins, &server, libs, runs, &name, &args, |i, lib, m| {
                let field = |name: &str| -> f64 {
                    report_field(&m.stdout, name)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| {
                            die(&format!("{name} / {lib}: bad report {:?}", m.stdout))
                        })
                };
                let per_feed =
                    |before: &str, after: &str| (field(after) - field(before)) / n as f64;
                per[i].push([
                    per_feed("heap_before=", "heap_after=") / 1024.0,
                    per_feed("before_kib=", "after_kib="),
                    per_feed("trimmed_before_kib=", "trimmed_kib="),
                    per_feed("fds_before=", "fds_after="),
                ]);
            });
            for ((lib, v), cannot) in libs.iter().zip(per).zip(cannot) {
                let cell = match cannot {
                    Some(reason) => Err(reason),
                    None => Ok((0..4)
                        .map(|k| median(&v.iter().map(|x| x[k]).collect::<Vec<_>>()))
                        .collect()),
                };
                cells.push((*lib, *proto, n, cell));
            }
        }
    }
    Cells(cells)
}

/// Prints the idle tables: heap and fds per feed, then RSS per feed (and
/// after `malloc_trim`).
fn print_idle(cells: &Cells, libs: &[&'static str], protos: &[&'static str], conns: &[u64]) {
    let header = || {
        print!("| client |");
        for proto in protos {
            for &n in conns {
                print!(" {proto}, {} feeds |", fmt_count(n));
            }
        }
        println!();
        println!("|---|{}", "---:|".repeat(protos.len() * conns.len()));
    };
    let rows = |cell: &dyn Fn(&[f64]) -> String| {
        for lib in libs {
            print!("| {} |", label(lib));
            for proto in protos {
                for &n in conns {
                    let text = match cells.get(lib, proto, n) {
                        Some(Ok(v)) => cell(v),
                        Some(Err(reason)) => format!("cannot: {reason}"),
                        None => "–".into(),
                    };
                    print!(" {text} |");
                }
            }
            println!();
        }
    };
    header();
    rows(&|v| format!("{:.2} KiB · {:.2} fd", v[0], v[3]));
    println!(
        "\n(Heap bytes in use per open feed, from a counting allocator: what the \
         feed keeps; and file descriptors per feed.)\n"
    );
    header();
    rows(&|v| format!("{:.1} ({:.1}) KiB", v[1], v[2]));
    println!(
        "\n(RSS per open feed, all opened at once; in brackets after `malloc_trim(0)`, \
         which hands back the heap that opening them needed for a while.)\n"
    );
}

fn slow_test(bins: &Bins, libs: &[&'static str], protos: &[&'static str], slow: &Slow) -> Cells {
    let mut cells = Vec::new();
    // Events each feed delivers in the steady phase, and all of them.
    let per_feed = slow.secs as f64 * 1e6 / slow.interval_us as f64;
    let events = ((slow.feeds as f64 * per_feed).round() as u64).max(1);
    for proto in protos {
        let interval = slow.interval_us.to_string();
        let server = Server::start(bins, proto, &["--mode", "slow", "--interval-us", &interval]);
        let (feeds_arg, events_arg) = (slow.feeds.to_string(), events.to_string());
        let args = [
            "--mode",
            "slow",
            "--conns",
            &feeds_arg,
            "--events",
            &events_arg,
        ];
        let mut per: Vec<Vec<(f64, f64)>> = vec![Vec::new(); libs.len()];
        let name = format!("slow, {proto}");
        let cannot = rotate_clients(bins, &server, libs, slow.runs, &name, &args, |i, lib, m| {
            let field = |name: &str| -> f64 {
                report_field(&m.stdout, name)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| die(&format!("slow / {lib}: bad report {:?}", m.stdout)))
            };
            let (feeds, got) = (field("feeds="), field("events="));
            let (cpu_us, min_feed) = (field("cpu_us="), field("min_feed="));
            if feeds as u64 != slow.feeds || (got as u64) < events {
                die(&format!(
                    "slow, {proto} / {lib}: reported {:?}, wanted {} feeds and {events} events",
                    m.stdout.trim(),
                    slow.feeds
                ));
            }
            // Every feed must have had about its share: none starved.
            if min_feed < (per_feed / 2.0).floor() {
                die(&format!(
                    "slow, {proto} / {lib}: a feed delivered only {min_feed} events in the \
                     steady phase (its share: {per_feed:.0}); {:?}",
                    m.stdout.trim()
                ));
            }
            per[i].push((cpu_us / got, m.max_rss_kib as f64));
        });
        for ((lib, v), cannot) in libs.iter().zip(per).zip(cannot) {
            let cell = match cannot {
                Some(reason) => Err(reason),
                None => {
                    let cpu: Vec<f64> = v.iter().map(|x| x.0).collect();
                    let rss: Vec<f64> = v.iter().map(|x| x.1).collect();
                    Ok(vec![median(&cpu), median(&rss)])
                }
            };
            cells.push((*lib, *proto, slow.feeds, cell));
        }
    }
    Cells(cells)
}

fn latency_test(
    bins: &Bins,
    libs: &[&'static str],
    events: u64,
    interval_us: u64,
    runs: usize,
) -> Vec<(&'static str, Vec<u64>)> {
    let events_arg = events.to_string();
    let server = Server::start(
        bins,
        "h1",
        &[
            "--mode",
            "latency",
            "--events",
            &events_arg,
            "--interval-us",
            &interval_us.to_string(),
        ],
    );
    let mut pooled: Vec<Vec<u64>> = vec![Vec::new(); libs.len()];
    let args = ["--mode", "latency", "--events", &events_arg];
    let cannot = rotate_clients(bins, &server, libs, runs, "latency", &args, |i, lib, m| {
        let samples: Vec<u64> = report_field(&m.stdout, "lat_ns=")
            .map(|list| list.split(',').filter_map(|v| v.parse().ok()).collect())
            .unwrap_or_default();
        if samples.len() as u64 != events {
            die(&format!(
                "latency / {lib}: {} samples, the server sent {events}",
                samples.len()
            ));
        }
        pooled[i].extend(samples);
    });
    if let Some((lib, reason)) = libs
        .iter()
        .zip(&cannot)
        .find_map(|(l, c)| Some((l, c.as_ref()?)))
    {
        die(&format!("latency: {lib} cannot: {reason}"));
    }
    drop(server);
    libs.iter()
        .zip(pooled)
        .map(|(lib, mut s)| {
            s.sort_unstable();
            (*lib, s)
        })
        .collect()
}

/// Runs the client `runs` times for each of `libs` against `server`, with
/// `--lib`, `--url`, `--proto` (and `--ca`) and `args`. Each round takes the
/// libraries in a rotated order, so that a machine whose speed drifts slows
/// them all alike. Each measurement goes to `each`, with the library's index
/// in `libs`. Returns, for each library, the reason it gave if it cannot do
/// the test (`unsupported=`; it is not run again).
fn rotate_clients(
    bins: &Bins,
    server: &Server,
    libs: &[&'static str],
    runs: usize,
    test: &str,
    args: &[&str],
    mut each: impl FnMut(usize, &'static str, Measured),
) -> Vec<Option<String>> {
    let mut cannot: Vec<Option<String>> = vec![None; libs.len()];
    for run in 0..runs {
        for k in 0..libs.len() {
            let i = (k + run) % libs.len();
            let lib = libs[i];
            if cannot[i].is_some() {
                continue;
            }
            eprintln!("{test} / {lib} / run {}", run + 1);
            let mut all = vec!["--lib", lib, "--url", &server.url, "--proto", server.proto];
            if let Some(cert) = &server.cert {
                all.extend_from_slice(&["--ca", cert]);
            }
            all.extend_from_slice(args);
            let measured = run_client(bins, &all);
            if let Some(reason) = measured.stdout.trim().strip_prefix("unsupported=") {
                cannot[i] = Some(reason.to_owned());
                continue;
            }
            each(i, lib, measured);
        }
    }
    cannot
}

/// The value after `name` (`"key="`) in a line of `key=value` words.
fn report_field<'a>(report: &'a str, name: &str) -> Option<&'a str> {
    report
        .split_whitespace()
        .find_map(|word| word.strip_prefix(name))
}

/// A running `server`, killed when dropped (and its certificate file
/// removed).
struct Server {
    child: Child,
    url: String,
    proto: &'static str,
    /// The PEM file of its certificate (`h2`).
    cert: Option<String>,
    data_bytes: u64,
}

impl Server {
    fn start(bins: &Bins, proto: &'static str, args: &[&str]) -> Self {
        let mut child = Command::new(&bins.server)
            .args(args)
            .args(["--proto", proto, "--max-streams", &bins.max_streams])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| die(&format!("cannot start the server: {e}")));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("server stdout"))
            .read_line(&mut line)
            .expect("server's first line");
        let field = |name: &str| -> u64 {
            report_field(&line, name)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| die(&format!("the server said {line:?}")))
        };
        let port = field("port=");
        let data_bytes = field("data_bytes=");
        let cert = report_field(&line, "cert=").map(str::to_owned);
        if proto == "h2" && cert.is_none() {
            die(&format!("the h2 server named no certificate: {line:?}"));
        }
        let scheme = if proto == "h2" { "https" } else { "http" };
        Self {
            child,
            url: format!("{scheme}://127.0.0.1:{port}/"),
            proto,
            cert,
            data_bytes,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(cert) = &self.cert {
            let _ = std::fs::remove_file(cert);
        }
    }
}

/// Runs one client to its end: wall time from spawn to exit, and the OS's
/// account of its CPU time and peak RSS. Exits the runner if it fails.
fn run_client(bins: &Bins, args: &[&str]) -> Measured {
    let started = Instant::now();
    let mut child = Command::new(&bins.client)
        .args(args)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| die(&format!("cannot start the client: {e}")));
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let limit = Instant::now() + Duration::from_secs(180);
            while !done.load(Ordering::Acquire) {
                if Instant::now() > limit {
                    // Our own child, not reaped yet: it is reaped only after
                    // this thread is joined, so the pid cannot be reused.
                    // SAFETY: kill(2) on our child's pid.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        })
    };
    let mut stdout = String::new();
    let _ = child
        .stdout
        .take()
        .expect("client stdout")
        .read_to_string(&mut stdout);
    // Wait without reaping first, so the watchdog can never kill a reused pid.
    // SAFETY: waitid on our own child with a zeroed siginfo.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
    }
    let wall = started.elapsed();
    done.store(true, Ordering::Release);
    let killed = watchdog.join().unwrap_or(false);
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into a zeroed rusage.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let reaped = libc::wait4(pid, &mut status, 0, &mut usage);
        assert_eq!(reaped, pid, "wait4");
        usage
    };
    // The child is reaped: std must not wait for it again.
    std::mem::forget(child);
    if killed {
        die(&format!("client {args:?} took over 180 s and was killed"));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        die(&format!(
            "client {args:?} failed (status {status}); its output: {stdout:?}"
        ));
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
        stdout,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn pass(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

fn fmt_rate(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else {
        format!("{:.0} k", rate / 1e3)
    }
}

fn fmt_count(n: u64) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{} M", n / 1_000_000)
    } else if n.is_multiple_of(1000) {
        format!("{} k", n / 1000)
    } else {
        n.to_string()
    }
}

fn fmt_us(ns: u64) -> String {
    format!("{:.0} µs", ns as f64 / 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The ssefeed commit the harness was built from, when it sits in a git
/// checkout (`../..` from this crate), and whether `src/` had changes.
fn ssefeed_version() -> Option<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--", "src", "Cargo.toml"]).is_some_and(|s| !s.is_empty());
    Some(format!(
        "ssefeed: commit {commit}{} (as checked out when this runs; the build is from the same tree).",
        if dirty {
            ", with uncommitted changes in src/ or Cargo.toml"
        } else {
            ""
        }
    ))
}

fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "Machine: {cpu}, {cores} cores; load average at the start: {}.",
        load_average()
    )
}
