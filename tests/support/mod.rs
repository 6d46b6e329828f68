//! Test support: event collection with timeouts, a recording wiremock
//! responder, and a raw TCP server for faults wiremock cannot make.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::{Event, EventSource, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

/// Every test awaits under this bound, so a hang fails instead of blocking.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A response that ends the feed.
pub const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";

/// The head of a close-delimited event stream.
pub const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

/// Reconnects at once for tests: 1 ms reconnection time and floor, no
/// jitter (the server's `retry:` is honoured above 1 ms).
pub fn fast() -> RetryPolicy {
    RetryPolicy::new()
        .initial(Duration::from_millis(1))
        .min_delay(Duration::from_millis(1))
        .jitter(0.0)
}

/// The source's next item, failing the test on a hang.
pub async fn next(source: &mut EventSource) -> Option<Result<Event, ssefeed::Error>> {
    tokio::time::timeout(TEST_TIMEOUT, source.next())
        .await
        .expect("the source hung")
}

/// An observable, as a short string for assertions.
pub fn describe(item: &Result<Event, ssefeed::Error>) -> String {
    match item {
        Ok(Event::Open(_)) => "open".to_owned(),
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

/// A one-shot event source (never reconnects) that POSTs `{}` to `url`, as
/// for an LLM completion.
pub fn one_shot_post(url: &str) -> EventSource {
    let request = reqwest::Client::new().post(url).body("{}");
    EventSource::builder(request)
        .reconnect(false)
        .build()
        .unwrap()
}

/// An event source that GETs `url` with `policy`.
pub fn get_source(url: &str, policy: RetryPolicy) -> EventSource {
    EventSource::builder(reqwest::Client::new().get(url))
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// Collects every item until the stream ends.
pub async fn collect_all(source: &mut EventSource) -> Vec<String> {
    collect(source, usize::MAX).await
}

/// The binary of the example `name`, built first: `cargo test --test X`
/// does not rebuild examples, and a stale binary would test old code. (A
/// no-op when `cargo test --all-features` built it already.)
pub fn example(name: &str) -> std::path::PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    built(&["--all-features", "--example", name])
        .join("examples")
        .join(file)
}

/// Runs `cargo build ARGS` once per test binary and set of arguments (the
/// tests of a file run at once); returns the target's profile directory.
fn built(args: &[&str]) -> std::path::PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let key = args.join(" ");
    let mut done = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !done.contains(&key) {
        let status = std::process::Command::new(env!("CARGO"))
            .arg("build")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "cargo build {key}");
        done.push(key);
    }
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/this-test → target/debug
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// A request as the raw server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// The head, decoded lossily.
    pub head: String,
    /// The head's bytes exactly as received.
    pub raw: Vec<u8>,
    /// The body, as long as its `Content-Length` says (empty without one).
    pub body: Vec<u8>,
    pub at: Instant,
}

impl SeenRequest {
    /// The request line's method.
    pub fn method(&self) -> &str {
        self.head.split(' ').next().unwrap_or_default()
    }

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
    /// Abort the connection: close it with a TCP reset (zero linger), which
    /// also discards whatever the kernel has not sent yet. Ends the script.
    Reset,
    /// Write `total` copies of `byte` in writes of `chunk` bytes, stopping
    /// early when the peer has gone; `sent` counts the bytes written.
    Flood {
        byte: u8,
        total: usize,
        chunk: usize,
        sent: Arc<AtomicUsize>,
    },
}

/// The response head for a close-delimited event stream.
pub fn sse_head() -> Step {
    Step::Write(SSE_HEAD.to_vec())
}

pub fn write(bytes: impl AsRef<[u8]>) -> Step {
    Step::Write(bytes.as_ref().to_vec())
}

/// A response head: `status` is the status line's tail (`"503 Service
/// Unavailable"`); `connection: close` is added.
pub fn head(status: &str, headers: &[(&str, &str)]) -> Step {
    let mut text = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("connection: close\r\n\r\n");
    Step::Write(text.into_bytes())
}

/// The first `at` bytes of `bytes`: with the end of the script, a
/// connection cut at that byte offset.
pub fn cut(bytes: impl AsRef<[u8]>, at: usize) -> Step {
    Step::Write(bytes.as_ref()[..at].to_vec())
}

/// An endless line (or anything endless): `total` bytes of `byte` in
/// `chunk`-byte writes, until the peer goes away. Returns the step and its
/// count of bytes written.
pub fn flood(byte: u8, total: usize, chunk: usize) -> (Step, Arc<AtomicUsize>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let step = Step::Flood {
        byte,
        total,
        chunk,
        sent: sent.clone(),
    };
    (step, sent)
}

/// The peak resident set size (`VmHWM`) and the current one (`VmRSS`) of
/// this process, in bytes, from `/proc/self/status` (Linux; `None`
/// elsewhere).
pub fn memory() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

type Script = dyn Fn(usize, &SeenRequest) -> Vec<Step> + Send + Sync;

/// A loopback HTTP/1.1 server that runs a script per connection and then
/// closes it. `script(n, request)` gives the steps for the n-th connection
/// (from 0, counted across restarts).
pub struct RawServer {
    pub url: String,
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<SeenRequest>>>,
    script: Arc<Script>,
    count: Arc<AtomicUsize>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    task: Option<JoinHandle<()>>,
}

impl RawServer {
    pub async fn start<F>(script: F) -> Self
    where
        F: Fn(usize, &SeenRequest) -> Vec<Step> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Self {
            url: format!("http://{addr}/feed"),
            addr,
            requests: Arc::default(),
            script: Arc::new(script),
            count: Arc::default(),
            conns: Arc::default(),
            task: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: TcpListener) {
        let seen = self.requests.clone();
        let script = self.script.clone();
        let count = self.count.clone();
        let conns = self.conns.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                let script = script.clone();
                let conn = tokio::spawn(async move {
                    let mut socket = socket;
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    seen.lock().unwrap().push(request.clone());
                    let steps = script(n, &request);
                    if run_steps(&mut socket, steps).await {
                        let _ = socket.shutdown().await;
                    }
                });
                let mut conns = conns.lock().unwrap();
                conns.retain(|conn| !conn.is_finished());
                conns.push(conn.abort_handle());
            }
        }));
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until every connection's script has ended (the client hung up,
    /// or the script ran out); a hang fails the test.
    pub async fn wait_closed(&self) {
        let deadline = Instant::now() + TEST_TIMEOUT;
        while !self
            .conns
            .lock()
            .unwrap()
            .iter()
            .all(AbortHandle::is_finished)
        {
            assert!(Instant::now() < deadline, "connections still open");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the server as a crash would: the listener closes (connections
    /// are refused) and every open connection is dropped.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }

    /// Stops the server if it runs, then starts it again on the same
    /// address, with the same script, connection count and request log.
    pub async fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + TEST_TIMEOUT;
        let listener = loop {
            // The aborted accept task drops its listener when it next runs.
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(error) => panic!("cannot bind {} again: {error}", self.addr),
            }
        };
        self.serve(listener);
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a connection's script; false when the connection is already gone
/// (reset, or the peer left).
async fn run_steps(socket: &mut TcpStream, steps: Vec<Step>) -> bool {
    for step in steps {
        let ok = match step {
            Step::Write(bytes) => socket.write_all(&bytes).await.is_ok(),
            Step::Trickle(bytes, gap) => {
                let mut ok = true;
                for byte in bytes {
                    ok = socket.write_all(&[byte]).await.is_ok() && socket.flush().await.is_ok();
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
            Step::Reset => {
                // Zero linger: the close sends RST at once and never blocks.
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
                return false;
            }
            Step::Flood {
                byte,
                total,
                chunk,
                sent,
            } => {
                let buf = vec![byte; chunk.max(1)];
                let mut left = total;
                let mut ok = true;
                while left > 0 {
                    let n = left.min(buf.len());
                    if socket.write_all(&buf[..n]).await.is_err() {
                        ok = false;
                        break;
                    }
                    sent.fetch_add(n, Ordering::SeqCst);
                    left -= n;
                }
                ok
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Reads a request's head and its body (as long as `Content-Length` says,
/// so that a POST's body is not left unread: closing a socket with unread
/// bytes resets it).
async fn read_request(socket: &mut TcpStream) -> Option<SeenRequest> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 || raw.len() > 64 * 1024 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let mut body = raw.split_off(end);
    let mut request = SeenRequest {
        head: String::from_utf8_lossy(&raw).into_owned(),
        raw,
        body: Vec::new(),
        at: Instant::now(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    while body.len() < length.min(1024 * 1024) {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    request.body = body;
    Some(request)
}

/// A TLS server on loopback whose certificate (self-signed, for 127.0.0.1
/// and localhost, in `tests/support/tls/`) no client trusts: each handshake
/// fails. Returns its `https://` URL and the count of connections it took.
pub async fn untrusted_tls_server() -> (String, Arc<AtomicUsize>) {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let cert = CertificateDer::from(include_bytes!("tls/cert.der").to_vec());
    let key = PrivatePkcs8KeyDer::from(include_bytes!("tls/key.der").to_vec());
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/feed", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The client aborts the handshake; if it did not, it would
                // get this stream.
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: x\n\n")
                        .await;
                }
            });
        }
    });
    (url, accepted)
}

/// A TLS server on loopback with a certificate for 127.0.0.1 and localhost
/// signed by the test CA (`tests/support/tls/ca.pem`, which no system
/// trusts): each connection that completes a handshake gets one event,
/// `data: over tls`, in a body of known length. Returns its port and the
/// count of connections it took.
pub async fn tls_feed() -> (u16, Arc<AtomicUsize>) {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let cert = CertificateDer::from(include_bytes!("tls/server.der").to_vec());
    let key = PrivatePkcs8KeyDer::from(include_bytes!("tls/server-key.der").to_vec());
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "data: over tls\n\n";
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                if tls.write_all(response.as_bytes()).await.is_ok() {
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (port, accepted)
}
