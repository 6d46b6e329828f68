//! The one command: runs every test for every client, several times each,
//! and prints the Markdown tables and the goal check.
//!
//! ```text
//! run [--runs 5] [--idle-runs 3] [--latency-runs 5] [--scale 1]
//!     [--conns 1000] [--latency-events 400] [--interval-us 5000]
//!     [--libs ssefeed,ldclient,...] [--only stream,idle,latency]
//! ```
//!
//! Each test starts its own server (`server`, beside this binary); each
//! client run is a fresh `client` process, timed from spawn to exit, whose
//! CPU time (user + system) and peak RSS come from the OS (`wait4`'s
//! rusage). Runs of different clients are interleaved (round-robin, the
//! starting client rotating) so that a change in the machine's load falls
//! on all of them alike; each figure is the median of the runs. A client
//! that does not report exactly the events (and data bytes) the server
//! sent fails the whole run.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ssefeed_e2e::{Args, die};

const LIBS: [&str; 5] = [
    "ssefeed",
    "ldclient",
    "reqwest-eventsource",
    "sse-reqwest-client",
    "raw",
];

/// The label of each client in the tables.
fn label(lib: &str) -> &'static str {
    match lib {
        "ssefeed" => "ssefeed 0.1 (reqwest 0.13)",
        "ldclient" => "eventsource-client 0.18 (LaunchDarkly, hyper)",
        "reqwest-eventsource" => "reqwest-eventsource 0.6 (reqwest 0.12)",
        "sse-reqwest-client" => "sse-reqwest-client 0.4 (reqwest 0.13)",
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
    let scale = args.num_or("scale", 1).max(1);
    let conns = args.num_or("conns", 1000);
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
    let only = args.str_or("only", "stream,idle,latency").to_owned();
    let dir = std::env::current_exe()
        .expect("current exe")
        .parent()
        .expect("exe dir")
        .to_path_buf();
    let bins = Bins {
        server: dir.join("server"),
        client: dir.join("client"),
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
        "Stream tests: {runs} runs per client (medians); idle: {conns} connections, \
         {idle_runs} runs; latency: {latency_events} events at one per {} ms, \
         {latency_runs} runs pooled.{}\n",
        interval_us as f64 / 1000.0,
        if scale > 1 {
            format!(" Event counts scaled down by {scale}.")
        } else {
            String::new()
        }
    );

    let mut goals: Vec<String> = Vec::new();

    if only.contains("stream") {
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
            if let (Some(ld), Some(ours)) = (&ld, results.iter().find(|r| r.lib == "ssefeed")) {
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

    let mut idle = Vec::new();
    if only.contains("idle") {
        idle = idle_test(&bins, &libs, conns, idle_runs);
    }
    let mut latency = Vec::new();
    if only.contains("latency") {
        latency = latency_test(&bins, &libs, latency_events, interval_us, latency_runs);
    }
    if !idle.is_empty() || !latency.is_empty() {
        println!("| client | idle KiB/connection | latency p50 | latency p99 | latency max |");
        println!("|---|---:|---:|---:|---:|");
        for lib in &libs {
            let idle = idle
                .iter()
                .find(|(l, _)| l == lib)
                .map_or("–".into(), |(_, kib)| format!("{kib:.1}"));
            let lat = latency.iter().find(|(l, _)| l == lib);
            let (p50, p99, max) = match lat {
                Some((_, s)) => (
                    fmt_us(percentile(s, 50.0)),
                    fmt_us(percentile(s, 99.0)),
                    fmt_us(*s.last().unwrap()),
                ),
                None => ("–".into(), "–".into(), "–".into()),
            };
            println!("| {} | {idle} | {p50} | {p99} | {max} |", label(lib));
        }
        println!();
    }
    let peers = |lib: &&str| **lib != *"ssefeed" && **lib != *"raw";
    if let Some((_, ours)) = idle.iter().find(|(l, _)| *l == "ssefeed") {
        let best = idle
            .iter()
            .filter(|(l, _)| peers(l))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((peer, kib)) = best {
            goals.push(format!(
                "- idle: {ours:.1} KiB/connection against the leanest peer's {kib:.1} ({peer}): \
                 {}; the aim of 16 KiB: {}",
                pass(ours < kib),
                pass(*ours <= 16.0)
            ));
        }
    }
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
    rotate_clients(bins, &server, libs, runs, test.name, &args, |i, lib, m| {
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

fn idle_test(
    bins: &Bins,
    libs: &[&'static str],
    conns: u64,
    runs: usize,
) -> Vec<(&'static str, f64)> {
    let server = Server::start(bins, &["--mode", "idle"]);
    let conns_arg = conns.to_string();
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); libs.len()];
    let args = ["--mode", "idle", "--conns", &conns_arg];
    rotate_clients(bins, &server, libs, runs, "idle", &args, |i, lib, m| {
        let field = |name: &str| -> f64 {
            report_field(&m.stdout, name)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| die(&format!("idle / {lib}: bad report {:?}", m.stdout)))
        };
        let (before, after) = (field("before_kib="), field("after_kib="));
        per[i].push((after - before) / conns as f64);
    });
    drop(server);
    libs.iter()
        .zip(per)
        .map(|(lib, v)| (*lib, median(&v)))
        .collect()
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
    rotate_clients(bins, &server, libs, runs, "latency", &args, |i, lib, m| {
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
/// `--lib`, `--url` and `args`. Each round takes the libraries in a rotated
/// order, so that a machine whose speed drifts slows them all alike. Each
/// measurement goes to `each`, with the library's index in `libs`.
fn rotate_clients(
    bins: &Bins,
    server: &Server,
    libs: &[&'static str],
    runs: usize,
    test: &str,
    args: &[&str],
    mut each: impl FnMut(usize, &'static str, Measured),
) {
    for run in 0..runs {
        for k in 0..libs.len() {
            let i = (k + run) % libs.len();
            let lib = libs[i];
            eprintln!("{test} / {lib} / run {}", run + 1);
            let mut all = vec!["--lib", lib, "--url", &server.url];
            all.extend_from_slice(args);
            each(i, lib, run_client(bins, &all));
        }
    }
}

/// The value after `name` (`"key="`) in a line of `key=value` words.
fn report_field<'a>(report: &'a str, name: &str) -> Option<&'a str> {
    report
        .split_whitespace()
        .find_map(|word| word.strip_prefix(name))
}

/// A running `server`, killed when dropped.
struct Server {
    child: Child,
    url: String,
    data_bytes: u64,
}

impl Server {
    fn start(bins: &Bins, args: &[&str]) -> Self {
        let mut child = Command::new(&bins.server)
            .args(args)
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
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/"),
            data_bytes,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    if n % 1_000_000 == 0 {
        format!("{} M", n / 1_000_000)
    } else if n % 1000 == 0 {
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
