//! A small SSE server on loopback, modelled on what real feeds carry: a
//! live-user count as `message` events, named smart-home room events with
//! JSON data, `id:` on every event, a `retry:` hint, `:` keep-alive
//! comments, and a connection dropped every so often — sometimes in the
//! middle of an event. It honours `Last-Event-ID`, so a client that resumes
//! loses nothing and sees nothing twice. After the last event it answers
//! `204 No Content`, which tells the client to stop.
//!
//! ssecat's `--demo`, and the library's examples (`#[path]`-included); not
//! part of the library.
#![allow(dead_code)] // each example uses part of it

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the demo feed behaves.
#[derive(Debug, Clone)]
pub(crate) struct DemoConfig {
    /// Events in the whole feed; then 204.
    pub(crate) events: u64,
    /// Time between events.
    pub(crate) interval: Duration,
    /// Drop the connection after this many events on it, while sending the
    /// next (0: never).
    pub(crate) drop_every: u64,
    /// The `retry:` hint, in milliseconds.
    pub(crate) retry_ms: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            events: 24,
            interval: Duration::from_millis(250),
            drop_every: 7,
            retry_ms: 1000,
        }
    }
}

/// Starts the demo server on 127.0.0.1 (a free port); returns its address.
/// The server runs until the process exits.
pub(crate) async fn start(config: DemoConfig) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut connection = 0u64;
        while let Ok((socket, _)) = listener.accept().await {
            connection += 1;
            tokio::spawn(serve(socket, config.clone(), connection));
        }
    });
    Ok(addr)
}

/// The `n`-th event of the feed (from 1), as SSE text with its `id:`.
pub(crate) fn event(n: u64) -> String {
    const ROOMS: [&str; 4] = ["kitchen", "hall", "bedroom", "garden"];
    let room = ROOMS[(n % 4) as usize];
    match n % 3 {
        0 => format!("id: {n}\ndata: {{\"users\":{}}}\n\n", 40 + (n * 7) % 13),
        1 => format!(
            "id: {n}\nevent: light\ndata: {{\"room\":\"{room}\",\"on\":{}}}\n\n",
            n.is_multiple_of(2)
        ),
        _ => format!(
            "id: {n}\nevent: thermostat\ndata: {{\"room\":\"{room}\",\"celsius\":{}.{}}}\n\n",
            18 + n % 5,
            n % 10
        ),
    }
}

async fn serve(mut socket: TcpStream, config: DemoConfig, connection: u64) {
    let Some(head) = read_head(&mut socket).await else {
        return;
    };
    if head.starts_with("POST ") {
        return serve_completion(socket, &head).await;
    }
    let last: u64 = header(&head, "last-event-id")
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    if last >= config.events {
        let _ = socket
            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .await;
        return;
    }
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\nconnection: close\r\n\r\n\
         : welcome, connection {connection}\nretry: {}\n\n",
        config.retry_ms
    );
    if socket.write_all(out.as_bytes()).await.is_err() {
        return;
    }
    for (sent, n) in (last + 1..=config.events).enumerate() {
        let sent = sent as u64;
        tokio::time::sleep(config.interval).await;
        out = event(n);
        if config.drop_every > 0 && sent == config.drop_every {
            // Drop the connection, every other time in the middle of the
            // event: the client must discard the partial event and resume
            // from the previous ID.
            if connection.is_multiple_of(2) {
                let _ = socket.write_all(&out.as_bytes()[..out.len() / 2]).await;
            }
            return;
        }
        if n.is_multiple_of(4) {
            out.insert_str(0, ": keep-alive\n");
        }
        if socket.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
    // The feed is over: end this stream; the reconnect gets a 204.
}

/// A POST gets an LLM-style completion: one token per event as a JSON
/// delta, then `data: [DONE]`, then the end of the body. The prompt is read
/// from the request body (`{"prompt": ...}`) only to echo its length.
async fn serve_completion(mut socket: TcpStream, head: &str) {
    let authorized =
        header(head, "authorization").is_some_and(|value| value.starts_with("Bearer "));
    if !authorized {
        let _ = socket
            .write_all(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
            .await;
        return;
    }
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
    );
    for token in [
        "Server", "-sent", " events", " stream", " tokens", " as", " they", " come", ".",
    ] {
        out.push_str(&format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":{}}}}}]}}\n\n",
            json_string(token)
        ));
        if socket.write_all(out.as_bytes()).await.is_err() {
            return;
        }
        out.clear();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let _ = socket.write_all(b"data: [DONE]\n\n").await;
}

fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

async fn read_head(socket: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}
