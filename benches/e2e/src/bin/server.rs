//! The benchmark's SSE server on 127.0.0.1: writes a pre-built corpus as
//! fast as the socket takes it, holds idle connections, or sends events at a
//! low rate, over HTTP/1.1, cleartext HTTP/2 or HTTP/2 over TLS.
//!
//! ```text
//! server --mode stream-close|stream-chunked|idle|latency|slow
//!        [--proto h1|h2c|h2] [--max-streams 100000]
//!        [--corpus llm|notify] [--events N] [--chunk-bytes 0]
//!        [--interval-us 5000 (latency), 1000000 (slow)] [--seed 3]
//!        [--ready-bytes 0]
//! ```
//!
//! Prints `port=P events=N data_bytes=B` on its first line of stdout (with
//! ` cert=PATH` after it for `--proto h2`), then serves every connection (or
//! HTTP/2 stream) the same way until it is killed.
//!
//! - `stream-close`: a close-delimited body (no length, no chunking), the
//!   corpus written in as few writes as the socket allows, then FIN.
//! - `stream-chunked`: `Transfer-Encoding: chunked`, one chunk per event (as
//!   a server that flushes each event writes it), then the last chunk; with
//!   `--chunk-bytes B`, whole events packed into chunks of up to B bytes.
//! - `idle`: chunked; one `data: ready` event, then nothing, until the client
//!   closes. With `--ready-bytes N`, that first event is a burst instead:
//!   three `data:` lines of N/3 bytes each, written at once (the client's
//!   reads cut it where they fall), so what a client keeps after a large
//!   event shows in its idle memory.
//! - `latency`: chunked, `TCP_NODELAY`; N events, one per interval, each
//!   carrying the server's clock (`data: <nanoseconds since the epoch>`).
//! - `slow`: chunked, `TCP_NODELAY`; one ~200-byte event (`id:`, `event:`,
//!   a JSON `data:` line: the `notify` corpus) per `--interval-us` on every
//!   connection, each connection at its own phase (seeded, spread over the
//!   interval), for ever, until the client goes away.
//!
//! `--proto` (default `h1`): `h1` is HTTP/1.1 as above, written by hand on
//! the socket; `h2c` is HTTP/2 over plain TCP with prior knowledge and `h2`
//! HTTP/2 over TLS (ALPN `h2` only: a connection that does not negotiate it
//! is closed), both served by hyper with `--max-streams` concurrent streams
//! per connection, each stream a response as above: one DATA frame per chunk
//! or event, the close-delimited body as one frame that HTTP/2 splits, and
//! the end of the stream for FIN. For `h2` the server makes a self-signed
//! certificate for `127.0.0.1` and `localhost` at start-up and writes it as
//! PEM to the file `cert=` names, for the clients to trust.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssefeed_e2e::{Args, Corpus, Kind, Proto, die, now_nanos, phase_us, raise_fd_limit};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const HEAD_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\nconnection: close\r\n\r\n";
const HEAD_CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
const READY: &[u8] = b"data: ready\n\n";
/// How many distinct events the slow mode cycles through.
const SLOW_EVENTS: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    StreamClose,
    StreamChunked,
    Idle,
    Latency,
    Slow,
}

/// What every connection (or stream) is served from, shared.
struct Plan {
    mode: Mode,
    /// The corpus as HTTP/1.1 writes it (close-delimited or chunked).
    body: Bytes,
    /// The corpus without HTTP/1.1 framing, and its chunks (HTTP/2,
    /// `stream-chunked`; `stream-close` sends it as one body).
    raw: Bytes,
    chunks: Vec<std::ops::Range<usize>>,
    events: usize,
    interval: Duration,
    /// Slow mode: the events, bare (HTTP/2) and each as one HTTP/1.1 chunk.
    slow_raw: Vec<Bytes>,
    slow_chunked: Vec<Bytes>,
    seed: u64,
    /// Feeds served so far (the slow mode's phase index).
    feeds: AtomicU64,
    /// Idle mode: the one event each feed gets.
    ready: Bytes,
}

impl Plan {
    /// The next feed's index and its first event's delay.
    fn next_feed(&self) -> (usize, Duration) {
        let index = self.feeds.fetch_add(1, Ordering::Relaxed);
        let phase = phase_us(self.seed, index, self.interval.as_micros() as u64);
        (index as usize, Duration::from_micros(phase))
    }
}

fn main() {
    let args = Args::from_env();
    let mode = match args.required("mode") {
        "stream-close" => Mode::StreamClose,
        "stream-chunked" => Mode::StreamChunked,
        "idle" => Mode::Idle,
        "latency" => Mode::Latency,
        "slow" => Mode::Slow,
        other => die(&format!("unknown --mode {other}")),
    };
    let proto = Proto::parse(args.str_or("proto", "h1")).unwrap_or_else(|| die("bad --proto"));
    let max_streams = args.num_or("max-streams", 100_000) as u32;
    let kind = Kind::parse(args.str_or("corpus", "llm")).unwrap_or_else(|| die("bad --corpus"));
    let events = args.num_or("events", 1000) as usize;
    let default_interval = if mode == Mode::Slow { 1_000_000 } else { 5000 };
    let interval = Duration::from_micros(args.num_or("interval-us", default_interval).max(1));
    let chunk_bytes = args.num_or("chunk-bytes", 0) as usize;
    let seed = args.num_or("seed", 3);
    raise_fd_limit();

    let mut plan = Plan {
        mode,
        body: Bytes::new(),
        raw: Bytes::new(),
        chunks: Vec::new(),
        events,
        interval,
        slow_raw: Vec::new(),
        slow_chunked: Vec::new(),
        seed,
        feeds: AtomicU64::new(0),
        ready: Bytes::from_static(READY),
    };
    let ready_bytes = args.num_or("ready-bytes", 0) as usize;
    if ready_bytes > 0 {
        let line = format!("data: {}\n", "x".repeat(ready_bytes / 3));
        plan.ready = format!("{line}{line}{line}\n").into();
    }
    let mut data_bytes = 0;
    match mode {
        Mode::StreamClose | Mode::StreamChunked => {
            let corpus = Corpus::build(kind, events);
            data_bytes = corpus.data_bytes;
            if mode == Mode::StreamChunked {
                plan.chunks = corpus.chunk_ranges(chunk_bytes);
            }
            plan.body = if mode == Mode::StreamChunked {
                corpus.chunked(chunk_bytes).into()
            } else {
                corpus.bytes.clone().into()
            };
            plan.raw = corpus.bytes.into();
        }
        Mode::Slow => {
            let corpus = Corpus::build(Kind::Notify, SLOW_EVENTS);
            let raw = Bytes::from(corpus.bytes);
            let mut start = 0;
            for &end in &corpus.event_ends {
                let event = raw.slice(start..end);
                let mut chunk = format!("{:x}\r\n", event.len()).into_bytes();
                chunk.extend_from_slice(&event);
                chunk.extend_from_slice(b"\r\n");
                plan.slow_chunked.push(chunk.into());
                plan.slow_raw.push(event);
                start = end;
            }
        }
        Mode::Idle | Mode::Latency => {}
    }
    let plan = Arc::new(plan);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        // A deep backlog: the idle and slow tests connect 10,000 at once.
        let listener = socket.listen(65535).expect("listen");
        let port = listener.local_addr().expect("address").port();
        let tls = (proto == Proto::H2).then(|| {
            let (acceptor, path) = tls_acceptor();
            print!("port={port} events={events} data_bytes={data_bytes} cert={path}");
            acceptor
        });
        if tls.is_none() {
            print!("port={port} events={events} data_bytes={data_bytes}");
        }
        println!();
        use std::io::Write as _;
        std::io::stdout().flush().expect("stdout");
        let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        h2.max_concurrent_streams(max_streams);
        let h2 = Arc::new(h2);
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let plan = plan.clone();
            let (tls, h2) = (tls.clone(), h2.clone());
            tokio::spawn(async move {
                // A client that goes away early is not the server's problem.
                match proto {
                    Proto::H1 => {
                        let _ = serve(socket, &plan).await;
                    }
                    Proto::H2c => serve_h2(socket, plan, &h2).await,
                    Proto::H2 => {
                        let Some(tls) = tls else { unreachable!() };
                        let Ok(stream) = tls.accept(socket).await else {
                            return;
                        };
                        if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                            eprintln!("server: a TLS client did not negotiate h2: closed");
                            return;
                        }
                        serve_h2(stream, plan, &h2).await
                    }
                }
            });
        }
    });
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM to
/// a file in the temporary directory; the acceptor offers ALPN `h2` only.
fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let made = rcgen::generate_simple_self_signed(names)
        .unwrap_or_else(|e| die(&format!("certificate: {e}")));
    let path = std::env::temp_dir().join(format!("ssefeed-e2e-{}.pem", std::process::id()));
    std::fs::write(&path, made.cert.pem())
        .unwrap_or_else(|e| die(&format!("{}: {e}", path.display())));
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key.into())
        .unwrap_or_else(|e| die(&format!("TLS config: {e}")));
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    (acceptor, path.display().to_string())
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Serves one HTTP/2 connection: every stream gets the mode's response.
/// Its end, whether the client closed or broke it, is not the server's
/// problem.
async fn serve_h2<S>(
    socket: S,
    plan: Arc<Plan>,
    h2: &hyper::server::conn::http2::Builder<TokioExecutor>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |_request| {
        let plan = plan.clone();
        async move {
            let response = hyper::Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(h2_body(&plan))
                .expect("a response");
            Ok::<_, Infallible>(response)
        }
    });
    let _ = h2.serve_connection(TokioIo::new(socket), service).await;
}

/// The body of one HTTP/2 stream: one DATA frame per chunk or event.
fn h2_body(plan: &Arc<Plan>) -> Body {
    fn data(bytes: Bytes) -> Result<Frame<Bytes>, Infallible> {
        Ok(Frame::data(bytes))
    }
    match plan.mode {
        Mode::StreamClose => Full::new(plan.raw.clone()).boxed_unsync(),
        Mode::StreamChunked => {
            let plan = plan.clone();
            let frames =
                (0..plan.chunks.len()).map(move |i| data(plan.raw.slice(plan.chunks[i].clone())));
            StreamBody::new(stream::iter(frames)).boxed_unsync()
        }
        Mode::Idle => StreamBody::new(
            stream::once(std::future::ready(data(plan.ready.clone()))).chain(stream::pending()),
        )
        .boxed_unsync(),
        Mode::Latency => {
            let mut ticks = tokio::time::interval(plan.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let frames = stream::unfold((ticks, 0), |(mut ticks, n)| async move {
                if n == 0 {
                    ticks.tick().await;
                }
                ticks.tick().await;
                let event = format!("data: {}\n\n", now_nanos());
                Some((data(event.into()), (ticks, n + 1)))
            });
            StreamBody::new(frames.take(plan.events)).boxed_unsync()
        }
        Mode::Slow => {
            let (index, phase) = plan.next_feed();
            let next = tokio::time::Instant::now() + phase;
            let plan = plan.clone();
            let frames = stream::unfold((plan, index, next), |(plan, n, next)| async move {
                tokio::time::sleep_until(next).await;
                let event = plan.slow_raw[n % plan.slow_raw.len()].clone();
                let after = next + plan.interval;
                Some((data(event), (plan, n + 1, after)))
            });
            StreamBody::new(frames).boxed_unsync()
        }
    }
}

async fn serve(mut socket: TcpStream, plan: &Plan) -> std::io::Result<()> {
    read_request(&mut socket).await?;
    match plan.mode {
        Mode::StreamClose => {
            socket.write_all(HEAD_CLOSE).await?;
            socket.write_all(&plan.body).await?;
            socket.shutdown().await?;
        }
        Mode::StreamChunked => {
            socket.write_all(HEAD_CHUNKED).await?;
            socket.write_all(&plan.body).await?;
            drain(&mut socket).await;
        }
        Mode::Idle => {
            let mut head = HEAD_CHUNKED.to_vec();
            head.extend_from_slice(format!("{:x}\r\n", plan.ready.len()).as_bytes());
            head.extend_from_slice(&plan.ready);
            head.extend_from_slice(b"\r\n");
            socket.write_all(&head).await?;
            drain(&mut socket).await;
        }
        Mode::Latency => {
            socket.set_nodelay(true)?;
            socket.write_all(HEAD_CHUNKED).await?;
            let mut ticks = tokio::time::interval(plan.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            for _ in 0..plan.events {
                ticks.tick().await;
                let event = format!("data: {}\n\n", now_nanos());
                let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                socket.write_all(chunk.as_bytes()).await?;
            }
            socket.write_all(b"0\r\n\r\n").await?;
            drain(&mut socket).await;
        }
        Mode::Slow => {
            socket.set_nodelay(true)?;
            socket.write_all(HEAD_CHUNKED).await?;
            let (mut n, phase) = plan.next_feed();
            let mut next = tokio::time::Instant::now() + phase;
            // Until a write fails: the client has gone.
            loop {
                tokio::time::sleep_until(next).await;
                let chunk = &plan.slow_chunked[n % plan.slow_chunked.len()];
                socket.write_all(chunk).await?;
                n += 1;
                next += plan.interval;
            }
        }
    }
    Ok(())
}

/// Reads the request head (and ignores it).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if memchr::memmem::find(&head, b"\r\n\r\n").is_some() {
            return Ok(());
        }
        if head.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

/// Waits for the client to close (or send anything more, which is ignored).
async fn drain(socket: &mut TcpStream) {
    let mut buf = [0u8; 256];
    while let Ok(n) = socket.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}
