//! The benchmark's SSE server on 127.0.0.1: writes a pre-built corpus as
//! fast as the socket takes it, holds idle connections, or sends timestamped
//! events at a low rate.
//!
//! ```text
//! server --mode stream-close|stream-chunked|idle|latency [--corpus llm|notify]
//!        [--events N] [--chunk-bytes 0] [--interval-us 5000]
//! ```
//!
//! Prints `port=P events=N data_bytes=B` on its first line of stdout, then
//! serves every connection the same way until it is killed.
//!
//! - `stream-close`: a close-delimited body (no length, no chunking), the
//!   corpus written in as few writes as the socket allows, then FIN.
//! - `stream-chunked`: `Transfer-Encoding: chunked`, one chunk per event (as
//!   a server that flushes each event writes it), then the last chunk; with
//!   `--chunk-bytes B`, whole events packed into chunks of up to B bytes.
//! - `idle`: chunked; one `data: ready` event, then nothing, until the client
//!   closes.
//! - `latency`: chunked, `TCP_NODELAY`; N events, one per interval, each
//!   carrying the server's clock (`data: <nanoseconds since the epoch>`).

use std::sync::Arc;
use std::time::Duration;

use ssefeed_e2e::{Args, Corpus, Kind, die, now_nanos, raise_fd_limit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HEAD_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\nconnection: close\r\n\r\n";
const HEAD_CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    StreamClose,
    StreamChunked,
    Idle,
    Latency,
}

fn main() {
    let args = Args::from_env();
    let mode = match args.required("mode") {
        "stream-close" => Mode::StreamClose,
        "stream-chunked" => Mode::StreamChunked,
        "idle" => Mode::Idle,
        "latency" => Mode::Latency,
        other => die(&format!("unknown --mode {other}")),
    };
    let kind = Kind::parse(args.str_or("corpus", "llm")).unwrap_or_else(|| die("bad --corpus"));
    let events = args.num_or("events", 1000) as usize;
    let interval = Duration::from_micros(args.num_or("interval-us", 5000));
    let chunk_bytes = args.num_or("chunk-bytes", 0) as usize;
    raise_fd_limit();

    let (body, data_bytes): (Arc<Vec<u8>>, u64) = match mode {
        Mode::StreamClose | Mode::StreamChunked => {
            let corpus = Corpus::build(kind, events);
            let body = if mode == Mode::StreamChunked {
                corpus.chunked(chunk_bytes)
            } else {
                corpus.bytes
            };
            (Arc::new(body), corpus.data_bytes)
        }
        Mode::Idle | Mode::Latency => (Arc::new(Vec::new()), 0),
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        println!("port={port} events={events} data_bytes={data_bytes}");
        use std::io::Write as _;
        std::io::stdout().flush().expect("stdout");
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                // A client that goes away early is not the server's problem.
                let _ = serve(socket, mode, &body, events, interval).await;
            });
        }
    });
}

async fn serve(
    mut socket: TcpStream,
    mode: Mode,
    body: &[u8],
    events: usize,
    interval: Duration,
) -> std::io::Result<()> {
    read_request(&mut socket).await?;
    match mode {
        Mode::StreamClose => {
            socket.write_all(HEAD_CLOSE).await?;
            socket.write_all(body).await?;
            socket.shutdown().await?;
        }
        Mode::StreamChunked => {
            socket.write_all(HEAD_CHUNKED).await?;
            socket.write_all(body).await?;
            drain(&mut socket).await;
        }
        Mode::Idle => {
            let ready = b"data: ready\n\n";
            let mut head = HEAD_CHUNKED.to_vec();
            head.extend_from_slice(format!("{:x}\r\n", ready.len()).as_bytes());
            head.extend_from_slice(ready);
            head.extend_from_slice(b"\r\n");
            socket.write_all(&head).await?;
            drain(&mut socket).await;
        }
        Mode::Latency => {
            socket.set_nodelay(true)?;
            socket.write_all(HEAD_CHUNKED).await?;
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            for _ in 0..events {
                ticks.tick().await;
                let event = format!("data: {}\n\n", now_nanos());
                let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                socket.write_all(chunk.as_bytes()).await?;
            }
            socket.write_all(b"0\r\n\r\n").await?;
            drain(&mut socket).await;
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
