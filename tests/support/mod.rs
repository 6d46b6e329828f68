//! Test support: event collection with timeouts, a recording wiremock
//! responder, and a raw TCP server for faults wiremock cannot make.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::{Event, EventSource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// Every test awaits under this bound, so a hang fails instead of blocking.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An observable, as a short string for assertions.
pub fn describe(item: &Result<Event, ssefeed::Error>) -> String {
    match item {
        Ok(Event::Open) => "open".to_owned(),
        Ok(Event::Message(m)) => format!(
            "message {} {:?} id={}",
            m.event_type(),
            m.data(),
            m.last_event_id()
        ),
        Ok(Event::Comment(c)) => format!("comment {c}"),
        Ok(Event::Reconnecting { error, .. }) => format!("reconnecting: {error}"),
        Ok(other) => format!("{other:?}"),
        Err(error) => format!("error: {error}"),
    }
}

/// Collects until the stream ends or `limit` items, failing the test on a
/// hang.
pub async fn collect(source: &mut EventSource, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    tokio::time::timeout(TEST_TIMEOUT, async {
        while out.len() < limit {
            match source.next().await {
                Some(item) => out.push(describe(&item)),
                None => break,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; got so far: {out:#?}"));
    out
}

/// Collects every item until the stream ends.
pub async fn collect_all(source: &mut EventSource) -> Vec<String> {
    collect(source, usize::MAX).await
}

/// A request as the raw server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub head: String,
    pub at: Instant,
}

impl SeenRequest {
    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// What the raw server does on one connection.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes.
    Write(Vec<u8>),
    /// Write these bytes one at a time, flushing each.
    Trickle(Vec<u8>, Duration),
    /// Do nothing for this long.
    Sleep(Duration),
}

/// The response head for a close-delimited event stream.
pub fn sse_head() -> Step {
    Step::Write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n".to_vec(),
    )
}

pub fn write(bytes: impl AsRef<[u8]>) -> Step {
    Step::Write(bytes.as_ref().to_vec())
}

/// A loopback HTTP/1.1 server that runs a script per connection and then
/// closes it. `script(n, request)` gives the steps for the n-th connection
/// (from 0).
pub struct RawServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<SeenRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    pub async fn start<F>(script: F) -> Self
    where
        F: Fn(usize, &SeenRequest) -> Vec<Step> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/feed", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<SeenRequest>>> = Arc::default();
        let seen = requests.clone();
        let script = Arc::new(script);
        let task = tokio::spawn(async move {
            let mut count = 0;
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = count;
                count += 1;
                let seen = seen.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut socket).await else {
                        return;
                    };
                    let request = SeenRequest {
                        head,
                        at: Instant::now(),
                    };
                    seen.lock().unwrap().push(request.clone());
                    for step in script(n, &request) {
                        let ok = match step {
                            Step::Write(bytes) => socket.write_all(&bytes).await.is_ok(),
                            Step::Trickle(bytes, gap) => {
                                let mut ok = true;
                                for byte in bytes {
                                    ok = socket.write_all(&[byte]).await.is_ok()
                                        && socket.flush().await.is_ok();
                                    if !ok {
                                        break;
                                    }
                                    tokio::time::sleep(gap).await;
                                }
                                ok
                            }
                            Step::Sleep(time) => {
                                tokio::time::sleep(time).await;
                                true
                            }
                        };
                        if !ok {
                            return;
                        }
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_head(socket: &mut tokio::net::TcpStream) -> Option<String> {
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
