//! Test support: event collection with timeouts, the binaries of the
//! examples, and TLS servers (the test kit, `ssefeed::testing`, speaks
//! plain HTTP only).
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::testing::RecordedRequest;
use ssefeed::{Event, EventSource, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Every test awaits under this bound, so a hang fails instead of blocking.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The head of a close-delimited event stream, as `Response::sse()` writes
/// it, for replies written verbatim (a head cut short, trickled, or not
/// from the kit).
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

/// A request's line (`GET /feed?since=1 HTTP/1.1`), as the server read it.
pub fn request_line(request: &RecordedRequest) -> String {
    format!(
        "{} {} {}",
        request.method(),
        request.target(),
        request.version()
    )
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
