//! What the server, the clients and the runner of the end-to-end benchmark
//! share: the corpora, the argument parsing, and the process measurements.

use std::fmt::Write as _;

#[path = "../../support/events.rs"]
mod events;
use events::{NOTIFICATION_SEED, Rng, TOKEN_SEED};

/// The kinds of events a stream test sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An LLM streaming tokens: ~50-byte events, one short JSON `data:` line
    /// each (the same events as `benches/parser/parser.rs`'s `tokens` corpus).
    Llm,
    /// ~200-byte notifications with `id:`, `event:` and a JSON `data:` line
    /// (the same events as `benches/parser/parser.rs`'s `notifications` corpus).
    Notify,
}

impl Kind {
    /// Parses `llm` or `notify`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "llm" => Some(Self::Llm),
            "notify" => Some(Self::Notify),
            _ => None,
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Llm => "llm",
            Self::Notify => "notify",
        }
    }
}

/// The events of a stream test, each a complete event ending in a blank line.
#[derive(Debug)]
pub struct Corpus {
    /// The events back to back.
    pub bytes: Vec<u8>,
    /// Where each event ends in `bytes`.
    pub event_ends: Vec<usize>,
    /// The total length of the events' data, as a client sees it (what each
    /// client reports back, so a client that loses or mangles data fails).
    pub data_bytes: u64,
}

impl Corpus {
    /// `events` events of `kind`.
    pub fn build(kind: Kind, events: usize) -> Self {
        let mut rng = Rng(match kind {
            Kind::Llm => TOKEN_SEED,
            Kind::Notify => NOTIFICATION_SEED,
        });
        let mut text = String::with_capacity(events * if kind == Kind::Llm { 50 } else { 220 });
        let mut event_ends = Vec::with_capacity(events);
        let mut data_bytes = 0u64;
        for n in 0..events {
            let start = text.len();
            match kind {
                Kind::Llm => events::token(&mut rng, &mut text),
                Kind::Notify => events::notification(&mut rng, n, &mut text),
            }
            // Every event has exactly one `data: ` line.
            let event = &text[start..];
            let data_at = event.find("data: ").expect("a data line") + "data: ".len();
            let data_end = data_at + event[data_at..].find('\n').expect("a line end");
            data_bytes += (data_end - data_at) as u64;
            event_ends.push(text.len());
        }
        Self {
            bytes: text.into_bytes(),
            event_ends,
            data_bytes,
        }
    }

    /// The same events as a chunked HTTP/1.1 body, with the last chunk.
    ///
    /// With `chunk_bytes` 0, one chunk per event, as a server that flushes
    /// each event writes it; otherwise whole events packed into chunks of up
    /// to `chunk_bytes` (one event per chunk if it is larger).
    pub fn chunked(&self, chunk_bytes: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + self.event_ends.len() * 8 + 5);
        for chunk in self.chunk_ranges(chunk_bytes) {
            let chunk = &self.bytes[chunk];
            let _ = write!(Hex(&mut out), "{:x}\r\n", chunk.len());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    /// Where each chunk of [`chunked`](Self::chunked) lies in `bytes` (the
    /// HTTP/2 server sends each as one DATA frame).
    pub fn chunk_ranges(&self, chunk_bytes: usize) -> Vec<std::ops::Range<usize>> {
        let mut ranges = Vec::new();
        let (mut chunk_start, mut start) = (0, 0);
        for &end in &self.event_ends {
            if start > chunk_start && end - chunk_start > chunk_bytes {
                ranges.push(chunk_start..start);
                chunk_start = start;
            }
            start = end;
        }
        if start > chunk_start {
            ranges.push(chunk_start..start);
        }
        ranges
    }
}

/// The HTTP version and transport of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// HTTP/1.1 over plain TCP.
    H1,
    /// Cleartext HTTP/2 with prior knowledge (no upgrade, no TLS).
    H2c,
    /// HTTP/2 over TLS, negotiated with ALPN `h2`.
    H2,
}

impl Proto {
    /// Parses `h1`, `h2c` or `h2`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "h1" => Some(Self::H1),
            "h2c" => Some(Self::H2c),
            "h2" => Some(Self::H2),
            _ => None,
        }
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::H1 => "h1",
            Self::H2c => "h2c",
            Self::H2 => "h2",
        }
    }
}

/// The phase, in microseconds below `interval_us`, of the `index`th feed of
/// the slow test: spread evenly at random (a seeded hash, so the same on
/// every run), so that many feeds' events do not all fall in one instant.
pub fn phase_us(seed: u64, index: u64, interval_us: u64) -> u64 {
    // splitmix64 of seed and index.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z % interval_us.max(1)
}

/// `fmt::Write` into a byte vector.
struct Hex<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `--name value` pairs from the command line.
#[derive(Debug)]
pub struct Args(Vec<(String, String)>);

impl Args {
    /// Reads the process's arguments; exits with a message on a stray one.
    pub fn from_env() -> Self {
        let mut pairs = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(name) = args.next() {
            let Some(name) = name.strip_prefix("--") else {
                die(&format!("unexpected argument {name:?}"));
            };
            let value = args
                .next()
                .unwrap_or_else(|| die(&format!("--{name} needs a value")));
            pairs.push((name.to_owned(), value));
        }
        Self(pairs)
    }

    /// The value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `--name`, or `default`.
    pub fn str_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// The value of `--name` as a number, or `default`.
    pub fn num_or(&self, name: &str, default: u64) -> u64 {
        self.get(name).map_or(default, |v| {
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| die(&format!("--{name}: not a number: {v}")))
        })
    }

    /// The value of `--name`; exits when it is missing.
    pub fn required(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| die(&format!("--{name} is required")))
    }
}

/// Prints `message` and exits with status 2.
pub fn die(message: &str) -> ! {
    eprintln!("{}: {message}", program());
    std::process::exit(2)
}

fn program() -> String {
    std::env::args()
        .next()
        .and_then(|p| p.rsplit('/').next().map(str::to_owned))
        .unwrap_or_default()
}

/// This process's resident set size, in KiB, from `/proc/self/status`.
pub fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// How many file descriptors this process has open (`/proc/self/fd`).
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// This process's CPU time so far (user + system, `getrusage`), in µs.
pub fn cpu_time_us() -> u64 {
    // SAFETY: getrusage on this process, writing into a zeroed struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Raises the open-file limit to its hard limit (1,000 connections need more
/// than the usual soft limit of 1,024 with everything else).
pub fn raise_fd_limit() {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Nanoseconds since the Unix epoch (the latency test's clock, shared by the
/// server and client processes on one machine).
pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

/// Hands the free memory of glibc's heap back to the system
/// (`malloc_trim(0)`), so that VmRSS counts what is in use, not what a
/// burst of allocations left free.
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks glibc's own heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The system allocator, counting the bytes in use once [`count_heap`] has
/// turned it on (off, it costs one relaxed load per call: the stream tests
/// leave it off).
pub struct CountingAlloc;

static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static HEAP_IN_USE: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

/// Turns on the count of heap bytes in use (call it first thing, so that
/// what is freed later was counted when allocated).
pub fn count_heap() {
    COUNTING.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The heap bytes in use since [`count_heap`]: what was allocated and not
/// freed, as the program asked for it (no allocator overhead, no pages).
pub fn heap_in_use() -> i64 {
    HEAP_IN_USE.load(std::sync::atomic::Ordering::Relaxed) as i64
}

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static ALLOCATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The allocations made since [`count_heap`] (a `realloc` counts as one),
/// and the bytes they asked for: what was freed too, so that the churn of
/// opening a feed shows beside what it keeps.
pub fn heap_churn() -> (u64, u64) {
    (
        ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed),
        ALLOCATED.load(std::sync::atomic::Ordering::Relaxed),
    )
}

fn count(delta: isize) {
    if COUNTING.load(std::sync::atomic::Ordering::Relaxed) {
        HEAP_IN_USE.fetch_add(delta, std::sync::atomic::Ordering::Relaxed);
    }
}

/// [`count`] of an allocation of `size` bytes, which the churn counts too
/// (one test of `COUNTING` for both).
fn count_allocation(size: usize) {
    if COUNTING.load(std::sync::atomic::Ordering::Relaxed) {
        HEAP_IN_USE.fetch_add(size as isize, std::sync::atomic::Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ALLOCATED.fetch_add(size as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

// SAFETY: every call goes to `System` unchanged; the count is a side effect.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count(-(layout.size() as isize));
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // (The churn counts a `realloc` as an allocation of its new size.)
        count_allocation(new_size);
        count(-(layout.size() as isize));
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}
