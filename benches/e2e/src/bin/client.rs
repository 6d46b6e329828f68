//! One benchmark client: consumes a stream with one library, the way a user
//! of that library would, and reports what it saw.
//!
//! ```text
//! client --lib ssefeed|ldclient|reqwest-eventsource|sse-reqwest-client|reqwest|raw
//!        --url http://127.0.0.1:PORT/ --mode stream|latency|idle|slow
//!        [--proto h1|h2c|h2] [--ca CERT.pem]
//!        [--events N] [--conns 1000] [--secs S]
//! ```
//!
//! - `stream`: counts N message events and exits; prints
//!   `events=N data_bytes=B` (B, the data's total length, lets the runner
//!   check nothing was lost or mangled). Any error, reconnect or early end
//!   before N events is a failure (exit 1).
//! - `latency`: N events whose data is the server's clock; prints
//!   `events=N lat_ns=a,b,...`, each the client's clock at delivery minus
//!   the server's at sending.
//! - `idle`: opens one feed (so one-time setup is not counted), reads VmRSS
//!   and counts its open file descriptors, opens `--conns` more, waits until
//!   each delivered its first event, reads both again, then reads VmRSS once
//!   more after `malloc_trim(0)` (glibc hands back the free memory in its
//!   heap: what opening all feeds at once needed for a while and no longer
//!   does); prints `conns=C before_kib=X after_kib=Y trimmed_kib=Z
//!   fds_before=F fds_after=G heap_before=H heap_after=I`. The trimmed
//!   figure is measured from a trimmed start too; H and I are the heap bytes
//!   in use (a counting allocator, on in this mode only): what the feeds
//!   keep, whatever the allocator does with its pages.
//! - `slow`: opens `--conns` feeds in all (one first, then the rest) to the
//!   server's slow mode, waits until each delivered its first event, then
//!   takes the process's CPU time (`getrusage`, user + system) and counts
//!   the message events of all feeds until `--events` more have arrived (or
//!   for `--secs`); prints `feeds=N events=E cpu_us=X secs=Y min_feed=M`:
//!   the CPU time and wall time of that steady phase only, and the fewest
//!   events one feed delivered in it. Any feed's error, reconnect or end is
//!   a failure.
//! - `many`: as `idle`, for the scale of HTTP/2 (`--proto h2c` or `h2`):
//!   `--conns` feeds spread over HTTP clients of `--per-client` feeds each
//!   (each client its own pool, so its own connection, as a server's
//!   stream limit requires), each client's first feed first, then the rest
//!   at once; then `--secs` of holding them, the heap and VmRSS read each
//!   second. Prints `feeds=N measured=M clients=K open_ms=T heap_before=H
//!   heap_after=I rss_before_kib=X
//!   rss_after_kib=Y hold_heap_min= hold_heap_max= hold_rss_min_kib=
//!   hold_rss_max_kib= trimmed_before_kib= trimmed_kib=`: the M feeds opened
//!   at once, `open_ms` from the first of them until every one delivered
//!   its first event.
//!
//! `--proto` says what the server speaks; each library is configured the way
//! its user would to reach it: `h1` (the default) with each library's
//! default client, as before; `h2c` (HTTP/2 with prior knowledge) with
//! reqwest's `http2_prior_knowledge()`; `h2` (TLS, ALPN) with an `https://`
//! URL and the server's certificate (`--ca`) added to the client's roots.
//! Over HTTP/2 the client first checks that a response really is HTTP/2.
//! What a library cannot do it reports as `unsupported=<reason>` (exit 0).
//!
//! Every library runs on a current-thread tokio runtime, with one shared HTTP
//! client (or transport) per process and the library's default options.
//! `raw` is the floor: a plain tokio socket that counts `\n\n` with memchr
//! and parses nothing. `reqwest` is the floor of the reqwest-based clients:
//! reqwest 0.13's `bytes_stream`, split at `\n\n` with memchr, the `data: `
//! line's value handed on and nothing else parsed (no reconnection, no
//! checks); it speaks every `--proto`.
//!
//! Each feed of the idle and slow modes is a task of its library's own
//! future type, so that a task's size is its library's (one future that
//! matched on the library would be as large as the largest).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssefeed_e2e::{
    Args, CountingAlloc, Proto, count_heap, cpu_time_us, die, fd_count, heap_churn, heap_in_use,
    now_nanos, raise_fd_limit, trim_heap, vm_rss_kib,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lib {
    Ssefeed,
    LdClient,
    ReqwestEventsource,
    SseReqwestClient,
    /// reqwest 0.13 and memchr: the floor of the reqwest-based clients.
    Reqwest,
    Raw,
}

/// LaunchDarkly's transport over a custom (TLS) connector, as
/// `HyperTransportBuilder::build_with_connector` wraps it.
type LdTls = launchdarkly_sdk_transport::HyperTransport<
    hyper_http_proxy::ProxyConnector<
        hyper_timeout::TimeoutConnector<
            hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        >,
    >,
>;

/// The HTTP client each library shares across its connections.
enum Ctx {
    Reqwest13(reqwest::Client),
    Reqwest12(reqwest012::Client),
    Hyper(launchdarkly_sdk_transport::HyperTransport),
    HyperTls(LdTls),
    None,
}

/// What a library cannot do over `proto`, and why.
fn unsupported(lib: Lib, proto: Proto) -> Option<&'static str> {
    match (lib, proto) {
        (_, Proto::H1) => None,
        (Lib::Raw, _) => Some("the floor speaks HTTP/1.1 only"),
        // launchdarkly-sdk-transport 0.1.4, src/transport_hyper.rs:
        // build_with_connector ends in `HyperClient::builder(TokioExecutor::new())
        // .build(proxy_connector)`, hyper-util's client with its defaults,
        // and the builder has no HTTP/2 option: over plain TCP it speaks
        // HTTP/1.1; HTTP/2 only where the connector reports ALPN h2 (TLS).
        (Lib::LdClient, Proto::H2c) => {
            Some("no h2c: its hyper-util client has default options, HTTP/2 only by TLS ALPN")
        }
        _ => None,
    }
}

impl Ctx {
    fn new(lib: Lib, proto: Proto, ca: Option<&[u8]>) -> Result<Self, String> {
        let ca = || ca.ok_or("--proto h2 needs --ca");
        Ok(match (lib, proto) {
            (Lib::Ssefeed | Lib::SseReqwestClient | Lib::Reqwest, Proto::H1) => {
                Self::Reqwest13(reqwest::Client::new())
            }
            (Lib::Ssefeed | Lib::SseReqwestClient | Lib::Reqwest, Proto::H2c) => Self::Reqwest13(
                reqwest::Client::builder()
                    .http2_prior_knowledge()
                    .build()
                    .map_err(|e| e.to_string())?,
            ),
            (Lib::Ssefeed | Lib::SseReqwestClient | Lib::Reqwest, Proto::H2) => {
                let cert = reqwest::Certificate::from_pem(ca()?).map_err(|e| e.to_string())?;
                Self::Reqwest13(
                    // What `add_root_certificate` (deprecated in 0.13) did.
                    reqwest::Client::builder()
                        .tls_certs_merge([cert])
                        .build()
                        .map_err(|e| e.to_string())?,
                )
            }
            (Lib::ReqwestEventsource, Proto::H1) => Self::Reqwest12(reqwest012::Client::new()),
            (Lib::ReqwestEventsource, Proto::H2c) => Self::Reqwest12(
                reqwest012::Client::builder()
                    .http2_prior_knowledge()
                    .build()
                    .map_err(|e| e.to_string())?,
            ),
            (Lib::ReqwestEventsource, Proto::H2) => {
                let cert = reqwest012::Certificate::from_pem(ca()?).map_err(|e| e.to_string())?;
                Self::Reqwest12(
                    reqwest012::Client::builder()
                        .add_root_certificate(cert)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
            }
            (Lib::LdClient, Proto::H1) => Self::Hyper(
                launchdarkly_sdk_transport::HyperTransport::new().map_err(|e| e.to_string())?,
            ),
            (Lib::LdClient, Proto::H2) => Self::HyperTls(ld_tls(ca()?)?),
            (Lib::Raw, Proto::H1) => Self::None,
            (Lib::LdClient | Lib::Raw, Proto::H2c) | (Lib::Raw, Proto::H2) => {
                unreachable!("unsupported")
            }
        })
    }

    fn r13(&self) -> &reqwest::Client {
        match self {
            Self::Reqwest13(client) => client,
            _ => unreachable!(),
        }
    }

    /// Over HTTP/2: one request, to check that the response really is
    /// HTTP/2 (the connection stays in the client's pool for the feeds).
    async fn check_version(&self, url: &str) -> Result<(), String> {
        let version = match self {
            Self::Reqwest13(client) => {
                format!(
                    "{:?}",
                    client
                        .get(url)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .version()
                )
            }
            Self::Reqwest12(client) => {
                format!(
                    "{:?}",
                    client
                        .get(url)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .version()
                )
            }
            Self::HyperTls(transport) => {
                use launchdarkly_sdk_transport::HttpTransport as _;
                let request = hyper::Request::get(url)
                    .body(None)
                    .map_err(|e| e.to_string())?;
                let response = transport
                    .request(request)
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                format!("{:?}", response.version())
            }
            Self::Hyper(_) | Self::None => return Ok(()),
        };
        if version == "HTTP/2.0" {
            Ok(())
        } else {
            Err(format!("the response was {version}, not HTTP/2"))
        }
    }
}

/// LaunchDarkly's transport over TLS with the server's certificate as the
/// one root, the way its docs say to customize TLS: a hyper-rustls
/// connector (HTTP/1.1 and HTTP/2 by ALPN) given to `build_with_connector`.
fn ld_tls(ca: &[u8]) -> Result<LdTls, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    launchdarkly_sdk_transport::HyperTransport::builder()
        .build_with_connector(connector)
        .map_err(|e| e.to_string())
}

fn main() {
    let args = Args::from_env();
    let lib = match args.required("lib") {
        "ssefeed" => Lib::Ssefeed,
        "ldclient" => Lib::LdClient,
        "reqwest-eventsource" => Lib::ReqwestEventsource,
        "sse-reqwest-client" => Lib::SseReqwestClient,
        "reqwest" => Lib::Reqwest,
        "raw" => Lib::Raw,
        other => die(&format!("unknown --lib {other}")),
    };
    let url = args.required("url").to_owned();
    let mode = args.str_or("mode", "stream").to_owned();
    if mode == "idle" || mode == "many" {
        count_heap();
    }
    let proto = Proto::parse(args.str_or("proto", "h1")).unwrap_or_else(|| die("bad --proto"));
    let ca = args
        .get("ca")
        .map(|path| std::fs::read(path).unwrap_or_else(|e| die(&format!("--ca {path}: {e}"))));
    let events = args.num_or("events", 1000);
    let conns = args.num_or("conns", 1000) as usize;
    let per_client = args.num_or("per-client", 10_000).max(1) as usize;
    let secs = args
        .get("secs")
        .map(|_| Duration::from_secs(args.num_or("secs", 0)));
    raise_fd_limit();
    if let Some(reason) = unsupported(lib, proto) {
        println!("unsupported={reason}");
        std::process::exit(0);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async move {
        let ctx = Arc::new(Ctx::new(lib, proto, ca.as_deref())?);
        if mode == "many" && proto == Proto::H1 {
            return Err("--mode many is for HTTP/2 (--proto h2c or h2)".to_owned());
        }
        if proto != Proto::H1 {
            ctx.check_version(&url).await?;
        }
        match mode.as_str() {
            "stream" => stream(lib, &ctx, &url, events).await,
            "latency" => latency(lib, &ctx, &url, events).await,
            "idle" => idle(lib, ctx, url, conns).await,
            "slow" => slow(lib, ctx, url, conns, events, secs).await,
            "many" => {
                let hold = secs.unwrap_or(Duration::from_secs(60));
                let many = Many {
                    feeds: conns,
                    per_client,
                    hold,
                };
                many.run(lib, proto, ca.as_deref(), ctx, url).await
            }
            other => die(&format!("unknown --mode {other}")),
        }
    });
    match result {
        Ok(report) => {
            println!("{report}");
            // Exit at once, as a program that got what it wanted does; the
            // teardown of runtimes and pools is not what is measured.
            std::process::exit(0);
        }
        Err(error) => {
            eprintln!("client --lib {lib:?}: {error}");
            std::process::exit(1);
        }
    }
}

async fn stream(lib: Lib, ctx: &Ctx, url: &str, events: u64) -> Result<String, String> {
    if lib == Lib::Raw {
        let count = raw_count(url, events).await?;
        return Ok(format!("events={count} data_bytes=-"));
    }
    if lib == Lib::Reqwest {
        let (mut count, mut data_bytes) = (0u64, 0u64);
        reqwest_events(ctx.r13(), url, |data| {
            count += 1;
            data_bytes += data.len() as u64;
            count == events
        })
        .await
        .map_err(|e| format!("after {count} events: {e}"))?;
        return Ok(format!("events={count} data_bytes={data_bytes}"));
    }
    let mut count = 0u64;
    let mut data_bytes = 0u64;
    consume(lib, ctx, url, |data| {
        count += 1;
        data_bytes += data.len() as u64;
        count == events
    })
    .await
    .map_err(|e| format!("after {count} events: {e}"))?;
    Ok(format!("events={count} data_bytes={data_bytes}"))
}

async fn latency(lib: Lib, ctx: &Ctx, url: &str, events: u64) -> Result<String, String> {
    let mut samples = Vec::with_capacity(events as usize);
    let mut bad = None;
    let mut on_data = |data: &str| {
        let now = now_nanos();
        match data.trim().parse::<u64>() {
            Ok(sent) => samples.push(now.saturating_sub(sent)),
            Err(_) => bad = Some(data.to_owned()),
        }
        samples.len() as u64 == events || bad.is_some()
    };
    if lib == Lib::Raw {
        raw_latency(url, &mut on_data).await?;
    } else if lib == Lib::Reqwest {
        reqwest_events(ctx.r13(), url, on_data).await?;
    } else {
        consume(lib, ctx, url, on_data).await?;
    }
    if let Some(data) = bad {
        return Err(format!("not a timestamp: {data:?}"));
    }
    let list: Vec<String> = samples.iter().map(u64::to_string).collect();
    Ok(format!(
        "events={} lat_ns={}",
        samples.len(),
        list.join(",")
    ))
}

/// Starts one feed in its own task: `on_data` gets each message's data
/// (and returns false, to hold the feed); the feed's end or error goes to
/// `fail`. Each library's task is a future of its own type (see the top).
fn spawn_feed(
    lib: Lib,
    ctx: &Arc<Ctx>,
    url: &Arc<str>,
    fail: &UnboundedSender<String>,
    on_data: impl FnMut(&str) -> bool + Send + 'static,
) {
    let (ctx, url) = (ctx.clone(), url.clone());
    match lib {
        Lib::Ssefeed => spawn_reporting(fail, async move {
            ssefeed_consume(ctx.r13(), &url, on_data).await
        }),
        Lib::SseReqwestClient => spawn_reporting(fail, async move {
            sse_reqwest_client_consume(ctx.r13(), &url, on_data).await
        }),
        Lib::ReqwestEventsource => spawn_reporting(fail, async move {
            let Ctx::Reqwest12(client) = &*ctx else {
                unreachable!()
            };
            reqwest_eventsource_consume(client, &url, on_data).await
        }),
        Lib::LdClient => match &*ctx {
            Ctx::Hyper(_) => spawn_reporting(fail, async move {
                let Ctx::Hyper(transport) = &*ctx else {
                    unreachable!()
                };
                ld_consume(transport, &url, on_data).await
            }),
            _ => spawn_reporting(fail, async move {
                let Ctx::HyperTls(transport) = &*ctx else {
                    unreachable!()
                };
                ld_consume(transport, &url, on_data).await
            }),
        },
        Lib::Reqwest => spawn_reporting(fail, async move {
            reqwest_events(ctx.r13(), &url, on_data).await
        }),
        Lib::Raw => spawn_reporting(fail, async move { raw_idle(&url, on_data).await }),
    }
}

/// Runs `feed` in a task of its own; its end or error goes to `fail`.
fn spawn_reporting(
    fail: &UnboundedSender<String>,
    feed: impl Future<Output = Result<(), String>> + Send + 'static,
) {
    let fail = fail.clone();
    tokio::spawn(async move {
        let result = feed.await;
        let _ = fail.send(result.err().unwrap_or_else(|| "ended".into()));
    });
}

/// Waits until `ready` reaches `target` (`limit` at most), then lets every
/// feed settle into waiting; any feed's failure is an error. Returns when
/// `target` was reached.
async fn wait_ready(
    ready: &AtomicUsize,
    target: usize,
    fail_rx: &mut UnboundedReceiver<String>,
    limit: Duration,
) -> Result<Instant, String> {
    let deadline = tokio::time::Instant::now() + limit;
    while ready.load(Ordering::Relaxed) < target {
        if let Ok(error) = fail_rx.try_recv() {
            return Err(format!("a connection failed: {error}"));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "only {} of {target} connections open after {limit:?}",
                ready.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let reached = Instant::now();
    // Let every connection settle into waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    match fail_rx.try_recv() {
        Ok(error) => Err(format!("a connection failed: {error}")),
        Err(_) => Ok(reached),
    }
}

/// Spawns `n` feeds that hold their connection, each counted in `ready`
/// at its first event.
fn spawn_idle(
    lib: Lib,
    ctx: &Arc<Ctx>,
    url: &Arc<str>,
    fail: &UnboundedSender<String>,
    ready: &Arc<AtomicUsize>,
    n: usize,
) {
    for _ in 0..n {
        let ready = ready.clone();
        let mut first = true;
        let on_data = move |_: &str| {
            if first {
                first = false;
                ready.fetch_add(1, Ordering::Relaxed);
            }
            false // never done: hold the connection
        };
        spawn_feed(lib, ctx, url, fail, on_data);
    }
}

async fn idle(lib: Lib, ctx: Arc<Ctx>, url: String, conns: usize) -> Result<String, String> {
    let url: Arc<str> = url.into();
    let ready = Arc::new(AtomicUsize::new(0));
    let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let open = |n: usize| spawn_idle(lib, &ctx, &url, &fail_tx, &ready, n);
    open(1);
    wait_ready(&ready, 1, &mut fail_rx, Duration::from_secs(60)).await?;
    let (before, fds_before, heap_before) = (vm_rss_kib(), fd_count(), heap_in_use());
    trim_heap();
    let trimmed_before = vm_rss_kib();
    let churn_before = heap_churn();
    open(conns);
    wait_ready(&ready, conns + 1, &mut fail_rx, Duration::from_secs(60)).await?;
    let (after, fds_after, heap_after) = (vm_rss_kib(), fd_count(), heap_in_use());
    let churn = heap_churn();
    trim_heap();
    let trimmed = vm_rss_kib();
    let (allocs, allocated) = (churn.0 - churn_before.0, churn.1 - churn_before.1);
    Ok(format!(
        "conns={conns} before_kib={before} after_kib={after} \
         trimmed_before_kib={trimmed_before} trimmed_kib={trimmed} \
         fds_before={fds_before} fds_after={fds_after} heap_before={heap_before} \
         heap_after={heap_after} allocs={allocs} allocated={allocated}"
    ))
}

/// The `many` mode: feeds at the scale of HTTP/2, over several clients.
struct Many {
    feeds: usize,
    per_client: usize,
    hold: Duration,
}

impl Many {
    async fn run(
        &self,
        lib: Lib,
        proto: Proto,
        ca: Option<&[u8]>,
        first: Arc<Ctx>,
        url: String,
    ) -> Result<String, String> {
        let url: Arc<str> = url.into();
        let ready = Arc::new(AtomicUsize::new(0));
        let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let open = |ctx: &Arc<Ctx>, n: usize| spawn_idle(lib, ctx, &url, &fail_tx, &ready, n);
        // The clients are made, and each opens its first feed, before the
        // clock starts: a client loads the system's root store, and over
        // TLS it cannot know that a connection will be HTTP/2 until ALPN
        // said so, so requests sent before its first connection is up each
        // open a connection of their own (10,000 at once: out of file
        // descriptors).
        let clients = self.feeds.div_ceil(self.per_client);
        let mut ctxs = vec![first];
        for _ in 1..clients {
            ctxs.push(Arc::new(Ctx::new(lib, proto, ca)?));
        }
        for ctx in &ctxs {
            open(ctx, 1);
        }
        wait_ready(&ready, clients, &mut fail_rx, Duration::from_secs(60)).await?;
        let (heap_before, rss_before) = (heap_in_use(), vm_rss_kib());
        trim_heap();
        let trimmed_before = vm_rss_kib();
        let start = Instant::now();
        let measured = self.feeds - clients;
        let mut left = measured;
        for ctx in &ctxs {
            let n = left.min(self.per_client - 1);
            open(ctx, n);
            left -= n;
        }
        debug_assert_eq!(left, 0);
        let limit = Duration::from_secs(60).max(Duration::from_millis(self.feeds as u64 * 3));
        let open_ms =
            (wait_ready(&ready, self.feeds, &mut fail_rx, limit).await? - start).as_millis();
        let (heap_after, rss_after) = (heap_in_use(), vm_rss_kib());
        let (mut heap_min, mut heap_max) = (heap_after, heap_after);
        let (mut rss_min, mut rss_max) = (rss_after, rss_after);
        let end = Instant::now() + self.hold;
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(error) = fail_rx.try_recv() {
                return Err(format!("a feed failed while held: {error}"));
            }
            let (heap, rss) = (heap_in_use(), vm_rss_kib());
            (heap_min, heap_max) = (heap_min.min(heap), heap_max.max(heap));
            (rss_min, rss_max) = (rss_min.min(rss), rss_max.max(rss));
        }
        trim_heap();
        let trimmed = vm_rss_kib();
        Ok(format!(
            "feeds={} measured={measured} clients={clients} open_ms={open_ms} \
             heap_before={heap_before} \
             heap_after={heap_after} rss_before_kib={rss_before} rss_after_kib={rss_after} \
             hold_heap_min={heap_min} hold_heap_max={heap_max} hold_rss_min_kib={rss_min} \
             hold_rss_max_kib={rss_max} trimmed_before_kib={trimmed_before} \
             trimmed_kib={trimmed}",
            self.feeds
        ))
    }
}

/// The slow test's counters, shared by all feeds.
struct Counts {
    ready: AtomicUsize,
    events: AtomicU64,
    per_feed: Box<[AtomicU32]>,
    /// The count of `events` that ends the steady phase (none before it).
    target: AtomicU64,
    done: tokio::sync::Notify,
}

async fn slow(
    lib: Lib,
    ctx: Arc<Ctx>,
    url: String,
    feeds: usize,
    events: u64,
    secs: Option<Duration>,
) -> Result<String, String> {
    let feeds = feeds.max(1);
    let url: Arc<str> = url.into();
    let counts = Arc::new(Counts {
        ready: AtomicUsize::new(0),
        events: AtomicU64::new(0),
        per_feed: (0..feeds).map(|_| AtomicU32::new(0)).collect(),
        target: AtomicU64::new(u64::MAX),
        done: tokio::sync::Notify::new(),
    });
    let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let open = |range: std::ops::Range<usize>| {
        for feed in range {
            let counts = counts.clone();
            let on_data = move |_: &str| {
                if counts.per_feed[feed].fetch_add(1, Ordering::Relaxed) == 0 {
                    counts.ready.fetch_add(1, Ordering::Relaxed);
                }
                let n = counts.events.fetch_add(1, Ordering::Relaxed) + 1;
                if n == counts.target.load(Ordering::Relaxed) {
                    counts.done.notify_one();
                }
                false
            };
            spawn_feed(lib, &ctx, &url, &fail_tx, on_data);
        }
    };
    open(0..1);
    wait_ready(&counts.ready, 1, &mut fail_rx, Duration::from_secs(60)).await?;
    open(1..feeds);
    wait_ready(&counts.ready, feeds, &mut fail_rx, Duration::from_secs(60)).await?;

    let snapshot = || -> Vec<u32> {
        counts
            .per_feed
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    };
    let first = snapshot();
    let (cpu0, count0, started) = (
        cpu_time_us(),
        counts.events.load(Ordering::Relaxed),
        Instant::now(),
    );
    // Woken by the feed whose event makes the count, not by polling (a
    // timer's wake-ups would be CPU time of the steady phase too).
    counts
        .target
        .store(count0 + events.max(1), Ordering::Relaxed);
    let enough = async {
        match secs {
            Some(secs) => tokio::time::sleep(secs).await,
            None => counts.done.notified().await,
        }
    };
    tokio::select! {
        () = enough => {}
        error = fail_rx.recv() => {
            return Err(format!("a feed failed: {}", error.unwrap_or_default()));
        }
    }
    let (cpu1, count1, wall) = (
        cpu_time_us(),
        counts.events.load(Ordering::Relaxed),
        started.elapsed(),
    );
    let min_feed = snapshot()
        .iter()
        .zip(&first)
        .map(|(end, start)| end - start)
        .min()
        .unwrap_or(0);
    Ok(format!(
        "feeds={feeds} events={} cpu_us={} secs={:.3} min_feed={min_feed}",
        count1 - count0,
        cpu1 - cpu0,
        wall.as_secs_f64()
    ))
}

/// Reads the stream at `url` with `lib`, handing each message's data to
/// `on_data` until it returns true. Anything else before that (an error, a
/// reconnect, the end of the stream) is an error.
async fn consume(
    lib: Lib,
    ctx: &Ctx,
    url: &str,
    on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    match (lib, ctx) {
        (Lib::Ssefeed, _) => ssefeed_consume(ctx.r13(), url, on_data).await,
        (Lib::SseReqwestClient, _) => sse_reqwest_client_consume(ctx.r13(), url, on_data).await,
        (Lib::ReqwestEventsource, Ctx::Reqwest12(client)) => {
            reqwest_eventsource_consume(client, url, on_data).await
        }
        (Lib::LdClient, Ctx::Hyper(transport)) => ld_consume(transport, url, on_data).await,
        (Lib::LdClient, Ctx::HyperTls(transport)) => ld_consume(transport, url, on_data).await,
        (Lib::Reqwest, _) => reqwest_events(ctx.r13(), url, on_data).await,
        (Lib::Raw, _) => unreachable!("raw has its own loops"),
        _ => unreachable!("a library with another library's client"),
    }
}

/// [`consume`] for ssefeed.
async fn ssefeed_consume(
    client: &reqwest::Client,
    url: &str,
    mut on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    // As the README says: EventSource::new over a reqwest request.
    let mut source = ssefeed::EventSource::new(client.get(url)).map_err(|e| e.to_string())?;
    while let Some(event) = source.next().await {
        match event {
            Ok(ssefeed::Event::Message(message)) => {
                if on_data(message.data()) {
                    return Ok(());
                }
            }
            Ok(ssefeed::Event::Reconnecting { error, .. }) => {
                return Err(format!("reconnecting: {}", error.report()));
            }
            Ok(_) => {}
            Err(error) => return Err(error.report().to_string()),
        }
    }
    Err("the stream ended".into())
}

/// [`consume`] for sse-reqwest-client.
async fn sse_reqwest_client_consume(
    client: &reqwest::Client,
    url: &str,
    mut on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    use sse_reqwest_client::SseEvent;
    let mut source = sse_reqwest_client::EventSource::new(client.get(url));
    while let Some(event) = source.next().await {
        match event {
            Ok(SseEvent::Message(message)) => {
                if on_data(&message.data) {
                    return Ok(());
                }
            }
            Ok(SseEvent::Open) => {}
            Ok(other) => return Err(format!("{other:?}")),
            Err(error) => return Err(error.to_string()),
        }
    }
    Err("the stream ended".into())
}

/// [`consume`] for reqwest-eventsource.
async fn reqwest_eventsource_consume(
    client: &reqwest012::Client,
    url: &str,
    mut on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    use reqwest_eventsource::Event;
    let mut source =
        reqwest_eventsource::EventSource::new(client.get(url)).map_err(|e| e.to_string())?;
    while let Some(event) = source.next().await {
        match event {
            Ok(Event::Message(message)) => {
                if on_data(&message.data) {
                    return Ok(());
                }
            }
            Ok(Event::Open) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Err("the stream ended".into())
}

/// The floor of the reqwest-based clients: reqwest's body chunks split at
/// `\n\n`, each event's `data: ` value handed to `on_data` until it returns
/// true. Only what is needed: the tail of an event that a chunk cuts is
/// kept, and nothing else is parsed (the corpora have one `data: ` line per
/// event and LF line ends).
async fn reqwest_events(
    client: &reqwest::Client,
    url: &str,
    mut on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    let response = client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let mut body = response.bytes_stream();
    let finder = memchr::memmem::Finder::new(b"\n\n");
    let mut tail: Vec<u8> = Vec::new();
    // Hands on each complete event in `bytes`; returns where the rest starts.
    let events = |bytes: &[u8], on_data: &mut dyn FnMut(&str) -> bool| {
        let mut start = 0;
        for end in finder.find_iter(bytes) {
            let event = &bytes[start..end + 1];
            start = end + 2;
            let value = memchr::memmem::find(event, b"data: ").map_or(&[][..], |at| {
                let value = &event[at + 6..];
                &value[..memchr::memchr(b'\n', value).unwrap_or(value.len())]
            });
            if on_data(std::str::from_utf8(value).unwrap_or("")) {
                return None;
            }
        }
        Some(start)
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if tail.is_empty() {
            let Some(rest) = events(&chunk, &mut on_data) else {
                return Ok(());
            };
            tail.extend_from_slice(&chunk[rest..]);
        } else {
            tail.extend_from_slice(&chunk);
            let Some(rest) = events(&tail, &mut on_data) else {
                return Ok(());
            };
            tail.drain(..rest);
        }
        // A large event's space is not kept (as ssefeed does not keep it).
        if tail.is_empty() && tail.capacity() > 4096 {
            tail = Vec::new();
        }
    }
    Err("the stream ended".into())
}

/// [`consume`] for LaunchDarkly's client over `transport`.
async fn ld_consume<T: launchdarkly_sdk_transport::HttpTransport>(
    transport: &T,
    url: &str,
    mut on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    use eventsource_client::{Client as _, ClientBuilder, SSE};
    let client = ClientBuilder::for_url(url)
        .map_err(|e| format!("{e:?}"))?
        .build_with_transport(transport.clone());
    let mut source = client.stream();
    while let Some(event) = source.next().await {
        match event {
            Ok(SSE::Event(event)) => {
                if on_data(&event.data) {
                    return Ok(());
                }
            }
            Ok(SSE::Connected(_) | SSE::Comment(_)) => {}
            Err(error) => return Err(format!("{error:?}")),
        }
    }
    Err("the stream ended".into())
}

// --------------------------------------------------------------- the floor

/// Connects and sends the request; returns the socket and the first bytes of
/// the body (after the response head).
async fn raw_connect(url: &str) -> Result<(TcpStream, Vec<u8>), String> {
    let rest = url.strip_prefix("http://").ok_or("raw: http URLs only")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut socket = TcpStream::connect(authority)
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {authority}\r\naccept: text/event-stream\r\n\
         cache-control: no-cache\r\n\r\n"
    );
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(4096);
    // On the heap: a buffer in this future would be in every library's, as
    // they all run in the same async blocks (a 4 KiB array here made each
    // idle connection's task 4.5 KiB instead of 1.1 KiB, whatever the library).
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("raw: closed in the response head".into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = memchr::memmem::find(&head, b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 200") {
                return Err("raw: not 200".into());
            }
            return Ok((socket, head.split_off(end + 4)));
        }
    }
}

/// Counts events as `\n\n` pairs (the corpora have no other), across reads.
async fn raw_count(url: &str, events: u64) -> Result<u64, String> {
    let (mut socket, first) = raw_connect(url).await?;
    let finder = memchr::memmem::Finder::new(b"\n\n");
    let mut count = finder.find_iter(&first).count() as u64;
    let mut last_lf = first.last() == Some(&b'\n');
    let mut buf = vec![0u8; 64 * 1024];
    while count < events {
        let n = socket.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!("raw: the stream ended after {count} events"));
        }
        let chunk = &buf[..n];
        if last_lf && chunk[0] == b'\n' {
            count += 1;
        }
        count += finder.find_iter(chunk).count() as u64;
        last_lf = chunk[n - 1] == b'\n';
    }
    Ok(count)
}

/// Hands the value of each `data: ` line to `on_data` until it returns true.
async fn raw_latency(url: &str, on_data: &mut impl FnMut(&str) -> bool) -> Result<(), String> {
    let (mut socket, mut pending) = raw_connect(url).await?;
    let mut buf = [0u8; 4096];
    loop {
        while let Some(at) = memchr::memmem::find(&pending, b"data: ") {
            let Some(len) = memchr::memchr(b'\n', &pending[at..]) else {
                break;
            };
            let line = String::from_utf8_lossy(&pending[at + 6..at + len]).into_owned();
            pending.drain(..at + len);
            if on_data(&line) {
                return Ok(());
            }
        }
        let n = socket.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("raw: the stream ended".into());
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

thread_local! {
    /// The floor's read buffer for its many feeds, shared: each read copies
    /// out of the socket and counts without awaiting, so one buffer serves
    /// every feed of the (current-thread) runtime, and no feed's future
    /// carries one (see `raw_connect`).
    static SCRATCH: std::cell::RefCell<[u8; 4096]> = const { std::cell::RefCell::new([0; 4096]) };
}

/// Counts the events (`\n\n`, the corpora have no other) in `bytes`, which
/// follow bytes that ended in a line feed if `last_lf`.
fn count_events(bytes: &[u8], last_lf: &mut bool) -> usize {
    let Some(&last) = bytes.last() else {
        return 0;
    };
    let straddles = *last_lf && bytes[0] == b'\n';
    *last_lf = last == b'\n';
    usize::from(straddles) + memchr::memmem::find_iter(bytes, b"\n\n").count()
}

/// Holds the socket until it closes, handing `on_data` an empty string for
/// each event (the idle and slow modes count events, not data).
async fn raw_idle(url: &str, mut on_data: impl FnMut(&str) -> bool) -> Result<(), String> {
    let (socket, first) = raw_connect(url).await?;
    let mut last_lf = false;
    for _ in 0..count_events(&first, &mut last_lf) {
        on_data("");
    }
    drop(first);
    loop {
        socket.readable().await.map_err(|e| e.to_string())?;
        let events = SCRATCH.with_borrow_mut(|buf| {
            let mut events = 0;
            loop {
                match socket.try_read(buf) {
                    Ok(0) => return Err("raw: closed".to_owned()),
                    Ok(n) => events += count_events(&buf[..n], &mut last_lf),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(events),
                    Err(e) => return Err(e.to_string()),
                }
            }
        })?;
        for _ in 0..events {
            on_data("");
        }
    }
}
