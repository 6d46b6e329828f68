//! One benchmark client: consumes a stream with one library, the way a user
//! of that library would, and reports what it saw.
//!
//! ```text
//! client --lib ssefeed|ldclient|reqwest-eventsource|sse-reqwest-client|raw
//!        --url http://127.0.0.1:PORT/ --mode stream|latency|idle
//!        [--events N] [--conns 1000]
//! ```
//!
//! - `stream`: counts N message events and exits; prints
//!   `events=N data_bytes=B` (B, the data's total length, lets the runner
//!   check nothing was lost or mangled). Any error, reconnect or early end
//!   before N events is a failure (exit 1).
//! - `latency`: N events whose data is the server's clock; prints
//!   `events=N lat_ns=a,b,...`, each the client's clock at delivery minus
//!   the server's at sending.
//! - `idle`: opens one connection (so one-time setup is not counted), reads
//!   VmRSS, opens `--conns` more, waits until each delivered its first event,
//!   reads VmRSS again; prints `conns=C before_kib=X after_kib=Y`.
//!
//! Every library runs on a current-thread tokio runtime, with one shared HTTP
//! client (or transport) per process and the library's default options.
//! `raw` is the floor: a plain tokio socket that counts `\n\n` with memchr
//! and parses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed_e2e::{Args, die, now_nanos, raise_fd_limit, vm_rss_kib};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lib {
    Ssefeed,
    LdClient,
    ReqwestEventsource,
    SseReqwestClient,
    Raw,
}

/// The HTTP client each library shares across its connections.
enum Ctx {
    Reqwest13(reqwest::Client),
    Reqwest12(reqwest012::Client),
    Hyper(launchdarkly_sdk_transport::HyperTransport),
    None,
}

impl Ctx {
    fn new(lib: Lib) -> Self {
        match lib {
            Lib::Ssefeed | Lib::SseReqwestClient => Self::Reqwest13(reqwest::Client::new()),
            Lib::ReqwestEventsource => Self::Reqwest12(reqwest012::Client::new()),
            Lib::LdClient => Self::Hyper(
                launchdarkly_sdk_transport::HyperTransport::new().expect("hyper transport"),
            ),
            Lib::Raw => Self::None,
        }
    }

    fn r13(&self) -> &reqwest::Client {
        match self {
            Self::Reqwest13(client) => client,
            _ => unreachable!(),
        }
    }
}

fn main() {
    let args = Args::from_env();
    let lib = match args.required("lib") {
        "ssefeed" => Lib::Ssefeed,
        "ldclient" => Lib::LdClient,
        "reqwest-eventsource" => Lib::ReqwestEventsource,
        "sse-reqwest-client" => Lib::SseReqwestClient,
        "raw" => Lib::Raw,
        other => die(&format!("unknown --lib {other}")),
    };
    let url = args.required("url").to_owned();
    let mode = args.str_or("mode", "stream").to_owned();
    let events = args.num_or("events", 1000);
    let conns = args.num_or("conns", 1000) as usize;
    raise_fd_limit();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async move {
        match mode.as_str() {
            "stream" => stream(lib, &url, events).await,
            "latency" => latency(lib, &url, events).await,
            "idle" => idle(lib, url, conns).await,
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

async fn stream(lib: Lib, url: &str, events: u64) -> Result<String, String> {
    if lib == Lib::Raw {
        let count = raw_count(url, events).await?;
        return Ok(format!("events={count} data_bytes=-"));
    }
    let ctx = Ctx::new(lib);
    let mut count = 0u64;
    let mut data_bytes = 0u64;
    consume(lib, &ctx, url, |data| {
        count += 1;
        data_bytes += data.len() as u64;
        count == events
    })
    .await
    .map_err(|e| format!("after {count} events: {e}"))?;
    Ok(format!("events={count} data_bytes={data_bytes}"))
}

async fn latency(lib: Lib, url: &str, events: u64) -> Result<String, String> {
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
    } else {
        let ctx = Ctx::new(lib);
        consume(lib, &ctx, url, on_data).await?;
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

async fn idle(lib: Lib, url: String, conns: usize) -> Result<String, String> {
    let ctx = Arc::new(Ctx::new(lib));
    let url: Arc<str> = url.into();
    let ready = Arc::new(AtomicUsize::new(0));
    let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let open = |n: usize| {
        for _ in 0..n {
            let (ctx, url, ready, fail) =
                (ctx.clone(), url.clone(), ready.clone(), fail_tx.clone());
            tokio::spawn(async move {
                let mut first = true;
                let on_data = |_: &str| {
                    if first {
                        first = false;
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                    false // never done: hold the connection
                };
                let result = if lib == Lib::Raw {
                    raw_idle(&url, on_data).await
                } else {
                    consume(lib, &ctx, &url, on_data).await
                };
                let _ = fail.send(result.err().unwrap_or_else(|| "ended".into()));
            });
        }
    };
    let wait_for =
        async |target: usize, fail_rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>| {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while ready.load(Ordering::Relaxed) < target {
                if let Ok(error) = fail_rx.try_recv() {
                    return Err(format!("a connection failed: {error}"));
                }
                if tokio::time::Instant::now() > deadline {
                    return Err(format!(
                        "only {} of {target} connections open after 60 s",
                        ready.load(Ordering::Relaxed)
                    ));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Let every connection settle into waiting.
            tokio::time::sleep(Duration::from_millis(300)).await;
            match fail_rx.try_recv() {
                Ok(error) => Err(format!("a connection failed: {error}")),
                Err(_) => Ok(()),
            }
        };
    open(1);
    wait_for(1, &mut fail_rx).await?;
    let before = vm_rss_kib();
    open(conns);
    wait_for(conns + 1, &mut fail_rx).await?;
    let after = vm_rss_kib();
    Ok(format!(
        "conns={conns} before_kib={before} after_kib={after}"
    ))
}

/// Reads the stream at `url` with `lib`, handing each message's data to
/// `on_data` until it returns true. Anything else before that (an error, a
/// reconnect, the end of the stream) is an error.
async fn consume(
    lib: Lib,
    ctx: &Ctx,
    url: &str,
    mut on_data: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    match lib {
        Lib::Ssefeed => {
            // As the README says: EventSource::new over a reqwest request.
            let mut source =
                ssefeed::EventSource::new(ctx.r13().get(url)).map_err(|e| e.to_string())?;
            while let Some(event) = source.next().await {
                match event {
                    Ok(ssefeed::Event::Message(message)) => {
                        if on_data(message.data()) {
                            return Ok(());
                        }
                    }
                    Ok(ssefeed::Event::Reconnecting { error, .. }) => {
                        return Err(format!("reconnecting: {error}"));
                    }
                    Ok(_) => {}
                    Err(error) => return Err(error.to_string()),
                }
            }
        }
        Lib::SseReqwestClient => {
            use sse_reqwest_client::SseEvent;
            let mut source = sse_reqwest_client::EventSource::new(ctx.r13().get(url));
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
        }
        Lib::ReqwestEventsource => {
            use reqwest_eventsource::Event;
            let Ctx::Reqwest12(client) = ctx else {
                unreachable!()
            };
            let mut source = reqwest_eventsource::EventSource::new(client.get(url))
                .map_err(|e| e.to_string())?;
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
        }
        Lib::LdClient => {
            use eventsource_client::{Client as _, ClientBuilder, SSE};
            let Ctx::Hyper(transport) = ctx else {
                unreachable!()
            };
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
        }
        Lib::Raw => unreachable!("raw has its own loops"),
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

/// Waits for the first event, then holds the socket until it closes.
async fn raw_idle(url: &str, mut on_data: impl FnMut(&str) -> bool) -> Result<(), String> {
    let (socket, mut pending) = raw_connect(url).await?;
    let mut buf = [0u8; 64];
    while memchr::memmem::find(&pending, b"\n\n").is_none() {
        socket.readable().await.map_err(|e| e.to_string())?;
        match socket.try_read(&mut buf) {
            Ok(0) => return Err("raw: closed".into()),
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    drop(pending);
    on_data("ready");
    loop {
        socket.readable().await.map_err(|e| e.to_string())?;
        match socket.try_read(&mut buf) {
            Ok(0) => return Err("raw: closed".into()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
