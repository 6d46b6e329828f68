//! The hostile-input matrix: each fault a hostile server or a flaky network
//! can produce, against the client, with its exact expected outcome (events
//! delivered, error variant, reconnect or not, requests made), each bounded
//! in time. RELIABILITY.md has the table.
//!
//! Run: `cargo test --all-features --test hostile`.

#![cfg(feature = "client")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::testing::{Response, Script, TestServer, Writes};
use ssefeed::{Error, Event, EventSource, ReadyState, RetryPolicy};
use support::{SSE_HEAD, TEST_TIMEOUT};
use tokio::time::{Instant, timeout};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Reconnects within milliseconds, with no jitter, so delays are exact;
/// backoff capped at 50 ms, so that a run of failures stays quick.
fn fast() -> RetryPolicy {
    support::fast().max_delay(ms(50))
}

fn builder(url: &str, policy: RetryPolicy) -> ssefeed::EventSourceBuilder {
    EventSource::builder(reqwest::Client::new().get(url)).retry_policy(policy)
}

fn source(server: &TestServer, policy: RetryPolicy) -> EventSource {
    builder(&feed(server), policy).build().unwrap()
}

fn feed(server: &TestServer) -> String {
    server.url_for("/feed")
}

/// One item of the stream, keeping the error values for `matches!`.
#[derive(Debug)]
enum Seen {
    Open,
    Message(String),
    Comment(String),
    Reconnecting {
        error: Arc<Error>,
        delay: Duration,
        attempt: u32,
    },
    Failed(Error),
}

impl Seen {
    fn new(item: Result<Event, Error>) -> Self {
        match item {
            Ok(Event::Open(_)) => Self::Open,
            Ok(Event::Message(m)) => Self::Message(format!(
                "{} {:?} id={:?}",
                m.event_type(),
                m.data(),
                m.last_event_id()
            )),
            Ok(Event::Comment(c)) => Self::Comment(c.to_string()),
            Ok(Event::Reconnecting {
                error,
                delay,
                attempt,
                ..
            }) => Self::Reconnecting {
                error,
                delay,
                attempt,
            },
            Err(error) => Self::Failed(error),
            Ok(other) => panic!("unexpected item {other:?}"),
        }
    }

    /// A short form for comparing whole sequences.
    fn short(&self) -> String {
        match self {
            Self::Open => "open".to_owned(),
            Self::Message(m) => format!("message {m}"),
            Self::Comment(c) => format!("comment {c:?}"),
            Self::Reconnecting { error, .. } => format!("reconnecting {}", kind(error)),
            Self::Failed(error) => format!("failed {}", kind(error)),
        }
    }
}

/// The error's variant name.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::LineTooLong { .. } => "LineTooLong",
        Error::EventTooLarge { .. } => "EventTooLarge",
        Error::Read(_) => "Read",
        Error::Status { .. } => "Status",
        Error::ContentType { .. } => "ContentType",
        Error::StreamEnded => "StreamEnded",
        Error::Truncated => "Truncated",
        Error::IdleTimeout { .. } => "IdleTimeout",
        Error::Transport(_) => "Transport",
        Error::Interrupted(_) => "Interrupted",
        Error::InvalidRequest(_) => "InvalidRequest",
        Error::BodyNotCloneable => "BodyNotCloneable",
        Error::RetriesExhausted { .. } => "RetriesExhausted",
        _ => "other",
    }
}

/// Polls until the stream ends (`None`) or `limit` items arrived; a hang
/// fails the test.
async fn observe(source: &mut EventSource, limit: usize) -> Vec<Seen> {
    let mut out = Vec::new();
    let done = timeout(TEST_TIMEOUT, async {
        while out.len() < limit {
            match source.next().await {
                Some(item) => out.push(Seen::new(item)),
                None => break,
            }
        }
    })
    .await;
    assert!(done.is_ok(), "timed out; got so far: {out:#?}");
    out
}

/// Polls until the stream ends; then it must stay ended.
async fn observe_all(source: &mut EventSource) -> Vec<Seen> {
    let seen = observe(source, usize::MAX).await;
    assert!(source.next().await.is_none(), "items after the end");
    assert_eq!(source.ready_state(), ReadyState::Closed);
    seen
}

fn shorts(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::short).collect()
}

fn reconnect_at(seen: &[Seen], index: usize) -> (&Error, Duration, u32) {
    match &seen[index] {
        Seen::Reconnecting {
            error,
            delay,
            attempt,
        } => (&**error, *delay, *attempt),
        other => panic!("item {index} is {other:?}, not a reconnect"),
    }
}

fn failure(seen: &[Seen]) -> &Error {
    match seen.last() {
        Some(Seen::Failed(error)) => error,
        other => panic!("the stream did not end with an error: {other:?}"),
    }
}

/// Whether `haystack` contains `needle`, ASCII case ignored.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// The whole chain of an error's messages, for diagnostics.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A run of one test case, bounded on its own.
async fn bounded<F: Future>(what: &str, case: F) -> F::Output {
    timeout(TEST_TIMEOUT, case)
        .await
        .unwrap_or_else(|_| panic!("{what}: timed out"))
}

// ---------------------------------------------------------------------------
// Cuts at any byte offset.

/// A stream built line by line that knows, for every byte offset, what a
/// client cut off there has seen.
struct Reference {
    body: Vec<u8>,
    /// `clean[k]`: a cut after `k` bytes discards nothing (no partial line,
    /// no fields of an undispatched event).
    clean: Vec<bool>,
    /// Each event: the offset after which it is dispatched, the offset
    /// where it (with its blank line) ends, its ID, its short form.
    events: Vec<(usize, usize, String, String)>,
    pending: bool,
}

impl Reference {
    fn new() -> Self {
        Self {
            body: Vec::new(),
            clean: vec![true],
            events: Vec::new(),
            pending: false,
        }
    }

    /// Raw bytes that form no line of their own (the byte order mark).
    fn raw(&mut self, bytes: &[u8]) {
        for _ in 1..bytes.len() {
            self.clean.push(false);
        }
        self.clean.push(!self.pending);
        self.body.extend_from_slice(bytes);
    }

    /// A line: `content` then `eol`. After its first line-ending byte the
    /// state is clean when `pending` (an event is being built) is false.
    fn line(&mut self, content: &str, eol: &str, pending: bool) {
        self.body.extend_from_slice(content.as_bytes());
        self.clean.extend(std::iter::repeat_n(false, content.len()));
        self.body.extend_from_slice(eol.as_bytes());
        self.clean.extend(std::iter::repeat_n(!pending, eol.len()));
        self.pending = pending;
    }

    /// An event: its field lines, then a blank line.
    fn event(&mut self, id: &str, fields: &[&str], eol: &str, short: &str) {
        self.line(&format!("id: {id}"), eol, true);
        for field in fields {
            self.line(field, eol, true);
        }
        let dispatched_at = self.body.len() + 1;
        self.line("", eol, false);
        self.events.push((
            dispatched_at,
            self.body.len(),
            id.to_owned(),
            short.to_owned(),
        ));
    }
}

/// BOM, `retry:`, comments, LF, CR and CRLF line endings, 2-, 3- and 4-byte
/// UTF-8 characters, multi-line data, an event type.
fn reference_stream() -> Reference {
    let mut s = Reference::new();
    s.raw("\u{FEFF}".as_bytes());
    s.line("retry: 1", "\r\n", false);
    s.line(": hi \u{e9}", "\n", false);
    s.event(
        "1",
        &["data: caf\u{e9}", "data: \u{1F600}!"],
        "\r\n",
        "message \"caf\u{e9}\\n\u{1F600}!\" id=\"1\"",
    );
    s.event(
        "2",
        &["event: add", "data: 7\u{20AC}"],
        "\r",
        "add \"7\u{20AC}\" id=\"2\"",
    );
    s.line(": keep-alive", "\r\n", false);
    s.event(
        "3",
        &["data:\u{2026}", "data"],
        "\n",
        "message \"\u{2026}\\n\" id=\"3\"",
    );
    s.event(
        "4",
        &["data: last \u{10348}"],
        "\r\n",
        "message \"last \u{10348}\" id=\"4\"",
    );
    s
}

#[tokio::test]
async fn cut_at_every_byte_offset_delivers_each_event_exactly_once() {
    let script = Arc::new(reference_stream());
    let body = &script.body;
    let (mut mid_line, mut mid_crlf, mut mid_char, mut clean) = (0, 0, 0, 0);
    for k in 0..=body.len() {
        // The cut's kind, to prove every kind was tried.
        if k > 0 && k < body.len() {
            mid_crlf += usize::from(body[k - 1] == b'\r' && body[k] == b'\n');
            mid_char += usize::from((0x80..0xC0).contains(&body[k]));
            mid_line += usize::from(!matches!(body[k - 1], b'\r' | b'\n'));
        }
        clean += usize::from(script.clean[k]);

        let delivered: Vec<_> = script.events.iter().filter(|e| e.0 <= k).collect();
        let resume_id = delivered.last().map(|e| e.2.clone());
        let resume_at = delivered.last().map_or(0, |e| e.1);
        let server = TestServer::start(
            Script::new()
                .connection(Response::sse().body(&script.body).cut_after(k))
                .connection(Response::sse().body(&script.body[resume_at..])),
        )
        .unwrap();
        let mut source = source(&server, fast());
        let seen = bounded(&format!("cut at {k}"), observe_all(&mut source)).await;

        let cause = if script.clean[k] {
            "StreamEnded"
        } else {
            "Truncated"
        };
        let mut expected = vec!["open".to_owned()];
        expected.extend(delivered.iter().map(|e| format!("message {}", e.3)));
        expected.push(format!("reconnecting {cause}"));
        expected.push("open".to_owned());
        let rest: Vec<_> = script.events.iter().filter(|e| e.0 > k).collect();
        expected.extend(rest.iter().map(|e| format!("message {}", e.3)));
        expected.push("reconnecting StreamEnded".to_owned());
        assert_eq!(shorts(&seen), expected, "cut after {k} bytes");
        // The first reconnect is attempt 1; so is the second, unless the
        // resumed connection had nothing left to deliver.
        let last = seen.len() - 1;
        let first = delivered.len() + 1;
        assert_eq!(reconnect_at(&seen, first).2, 1, "cut after {k} bytes");
        let second = if rest.is_empty() { 2 } else { 1 };
        assert_eq!(reconnect_at(&seen, last).2, second, "cut after {k} bytes");

        let requests = server.requests();
        assert_eq!(requests.len(), 3, "cut after {k} bytes");
        assert_eq!(requests[0].header("last-event-id"), None);
        assert_eq!(
            requests[1].header("last-event-id"),
            resume_id.as_deref(),
            "cut after {k} bytes"
        );
        assert_eq!(requests[2].header("last-event-id"), Some("4"));
    }
    assert!(
        mid_line > 50 && mid_crlf >= 5 && mid_char >= 10 && clean >= 10,
        "{mid_line} {mid_crlf} {mid_char} {clean}"
    );
}

#[tokio::test]
async fn cut_inside_the_response_head_at_every_offset_is_a_transport_error_that_reconnects() {
    for k in 0..SSE_HEAD.len() {
        let server = TestServer::start(
            Script::new()
                .connection(Response::verbatim(SSE_HEAD).cut_after(k))
                .connection(Response::sse().body("id: 1\ndata: a\n\n")),
        )
        .unwrap();
        let mut source = source(&server, fast());
        let seen = bounded(&format!("head cut at {k}"), observe_all(&mut source)).await;
        assert_eq!(
            shorts(&seen),
            [
                "reconnecting Transport",
                "open",
                "message message \"a\" id=\"1\"",
                "reconnecting StreamEnded"
            ],
            "head cut after {k} bytes"
        );
        assert!(matches!(
            reconnect_at(&seen, 0),
            (Error::Transport(_), _, 1)
        ));
        assert_eq!(server.requests().len(), 3);
    }
}

#[tokio::test]
async fn reset_mid_event_is_an_interrupted_stream_and_the_event_is_resent_once() {
    let server = TestServer::start(Script::from_fn(|request| match request.index() {
        0 => Response::sse()
            .body("id: 1\ndata: one\n\nid: 2\ndata: tw")
            .pause(ms(100))
            .reset(),
        1 => {
            // Whether the reset overtook "one" or not, resume from what the
            // client committed.
            let body = match request.header("last-event-id") {
                None => "id: 1\ndata: one\n\nid: 2\ndata: two\n\n",
                Some("1") => "id: 2\ndata: two\n\n",
                Some(other) => panic!("unexpected last-event-id {other}"),
            };
            Response::sse().body(body)
        }
        _ => Response::no_content(),
    }))
    .unwrap();
    let mut source = source(&server, fast());
    let seen = observe_all(&mut source).await;
    let messages: Vec<_> = shorts(&seen)
        .into_iter()
        .filter(|s| s.starts_with("message"))
        .collect();
    assert_eq!(
        messages,
        [
            "message message \"one\" id=\"1\"",
            "message message \"two\" id=\"2\""
        ]
    );
    let first = seen
        .iter()
        .position(|s| matches!(s, Seen::Reconnecting { .. }))
        .unwrap();
    assert!(matches!(
        reconnect_at(&seen, first).0,
        Error::Interrupted(_)
    ));
    assert_eq!(server.requests().len(), 3);
}

// ---------------------------------------------------------------------------
// Stalls.

#[tokio::test]
async fn stall_mid_line_shorter_than_the_idle_timeout_delivers_the_event_intact() {
    let server = TestServer::start(
        Script::new().connection(
            Response::sse()
                .body("id: 1\ndata: hel")
                .pause(ms(300))
                .body("lo\n\n"),
        ),
    )
    .unwrap();
    let mut source = builder(&feed(&server), fast())
        .idle_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "open",
            "message message \"hello\" id=\"1\"",
            "reconnecting StreamEnded"
        ]
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn stall_before_the_response_head_is_an_idle_timeout_that_reconnects() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().delay(Duration::from_secs(60)))
            .connection(Response::sse().body("id: 1\ndata: a\n\n")),
    )
    .unwrap();
    let mut source = builder(&feed(&server), fast())
        .idle_timeout(ms(200))
        .build()
        .unwrap();
    let start = Instant::now();
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "reconnecting IdleTimeout",
            "open",
            "message message \"a\" id=\"1\"",
            "reconnecting StreamEnded"
        ]
    );
    assert!(matches!(
        reconnect_at(&seen, 0),
        (Error::IdleTimeout { timeout }, _, 1) if *timeout == ms(200)
    ));
    assert!(start.elapsed() >= ms(200));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn stall_mid_event_past_the_idle_timeout_reconnects_and_the_event_is_resent_once() {
    let server = TestServer::start(Script::from_fn(|request| match request.index() {
        0 => Response::sse()
            .body("id: 1\ndata: one\n\nid: 2\ndata: tw")
            .hold_open(),
        1 => {
            assert_eq!(request.header("last-event-id"), Some("1"));
            Response::sse().body("id: 2\ndata: two\n\n")
        }
        _ => Response::no_content(),
    }))
    .unwrap();
    let mut source = builder(&feed(&server), fast())
        .idle_timeout(ms(200))
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "open",
            "message message \"one\" id=\"1\"",
            "reconnecting IdleTimeout",
            "open",
            "message message \"two\" id=\"2\"",
            "reconnecting StreamEnded"
        ]
    );
    assert_eq!(server.requests().len(), 3);
}

// ---------------------------------------------------------------------------
// One byte at a time.

#[tokio::test]
async fn head_and_body_one_byte_at_a_time() {
    let script = reference_stream();
    let mut bytes = SSE_HEAD.to_vec();
    bytes.extend_from_slice(&script.body);
    let server = TestServer::start(
        Script::new().connection(Response::verbatim(bytes).writes(Writes::ByteByByte)),
    )
    .unwrap();
    let mut source = source(&server, RetryPolicy::new().jitter(0.0));
    let seen = observe_all(&mut source).await;
    let mut expected = vec!["open".to_owned()];
    expected.extend(script.events.iter().map(|e| format!("message {}", e.3)));
    expected.push("reconnecting StreamEnded".to_owned());
    assert_eq!(shorts(&seen), expected);
    // The trickled `retry: 1` was applied (then floored at 100 ms).
    assert_eq!(source.reconnection_time(), ms(1));
    assert_eq!(reconnect_at(&seen, seen.len() - 1).1, ms(100));
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------
// `retry:` values.

#[tokio::test]
async fn retry_zero_one_and_overflow_are_floored_or_ignored() {
    // (value, reconnection time afterwards, delay before the next attempt)
    // with a 100 ms floor and a 250 ms initial reconnection time.
    let rows = [
        ("0", ms(0), ms(100)),
        ("1", ms(1), ms(100)),
        ("18446744073709551616", ms(250), ms(250)),
    ];
    for (value, time, delay) in rows {
        let body = format!("retry: {value}\ndata: x\n\n");
        let server =
            TestServer::start(Script::new().connection(Response::sse().body(&body))).unwrap();
        let policy = RetryPolicy::new().initial(ms(250)).jitter(0.0);
        let mut source = source(&server, policy);
        let seen = bounded(value, observe_all(&mut source)).await;
        assert_eq!(
            shorts(&seen),
            [
                "open",
                "message message \"x\" id=\"\"",
                "reconnecting StreamEnded"
            ],
            "retry: {value}"
        );
        assert_eq!(reconnect_at(&seen, 2).1, delay, "retry: {value}");
        assert_eq!(source.reconnection_time(), time, "retry: {value}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        // Timers never fire early: the gap is at least the delay.
        assert!(
            requests[1].at() - requests[0].at() >= delay,
            "retry: {value}"
        );
    }
}

#[tokio::test]
async fn retry_of_u64_max_milliseconds_waits_without_overflowing() {
    let server = TestServer::start(
        Script::new().then(Response::sse().body("retry: 18446744073709551615\ndata: x\n\n")),
    )
    .unwrap();
    // With the default cap lifted, as the spec has none.
    let mut source = source(&server, fast().max_server_delay(Duration::MAX));
    let seen = observe(&mut source, 3).await;
    let forever = Duration::from_millis(u64::MAX);
    assert_eq!(
        shorts(&seen),
        [
            "open",
            "message message \"x\" id=\"\"",
            "reconnecting StreamEnded"
        ]
    );
    assert_eq!(reconnect_at(&seen, 2).1, forever);
    assert_eq!(source.reconnection_time(), forever);
    // It waits (no panic, no spin, no early attempt) until closed.
    assert!(timeout(ms(300), source.next()).await.is_err());
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    assert_eq!(server.requests().len(), 1);
    source.close();
    assert!(source.next().await.is_none());
}

// ---------------------------------------------------------------------------
// Endless input.

#[tokio::test]
async fn endless_line_fails_with_line_too_long_and_does_not_reconnect() {
    let server = TestServer::start(
        Script::new().then(
            Response::sse()
                .body("id: 1\ndata: before\n\ndata: ")
                .repeat(b'x', 64 << 20),
        ),
    )
    .unwrap();
    let mut source = builder(&feed(&server), fast())
        .max_line_len(64 << 10)
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "open",
            "message message \"before\" id=\"1\"",
            "failed LineTooLong"
        ]
    );
    assert!(matches!(failure(&seen), Error::LineTooLong { limit } if *limit == 64 << 10));
    // The client hung up: the server's writes failed long before 64 MiB.
    server.wait_closed().await.unwrap();
    let sent = server.bytes_written();
    assert!(sent < 64 << 20, "{sent} bytes sent");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn endless_event_fails_with_event_too_large_and_does_not_reconnect() {
    let server = TestServer::start(
        Script::new().then(Response::sse().body("data: 0123456789abcdef\n".repeat(10_000))),
    )
    .unwrap();
    let mut source = builder(&feed(&server), fast())
        .max_event_len(64 << 10)
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["open", "failed EventTooLarge"]);
    assert!(matches!(failure(&seen), Error::EventTooLarge { limit } if *limit == 64 << 10));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn endless_response_head_is_a_transport_error() {
    let server = TestServer::start(
        Script::new().then(
            Response::verbatim("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-junk: ")
                .repeat(b'a', 64 << 20),
        ),
    )
    .unwrap();
    let mut source = builder(&feed(&server), fast())
        .reconnect(false)
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["failed Transport"]);
    server.wait_closed().await.unwrap();
    assert_eq!(server.requests().len(), 1);
}

// ---------------------------------------------------------------------------
// Bytes that are not text.

#[tokio::test]
async fn invalid_utf8_becomes_replacement_characters_and_nul_passes_through() {
    let body: &[u8] = b"data: a\xFFb\n\n\
        data: \xC3\n\n\
        data: \xED\xA0\x80\n\n\
        data: nul\x00inside\n\n\
        event: \xFE\x00\ndata: t\n\n\
        id: 5\ndata: five\n\n\
        id: 6\x00bad\ndata: six\n\n\
        da\x00ta: not data\n\n\
        \x00: not a comment\n\n\
        id: \xFF\ndata: ff\n\n";
    let server = TestServer::start(Script::new().connection(Response::sse().body(body))).unwrap();
    let mut source = source(&server, fast());
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "open",
            "message message \"a\u{FFFD}b\" id=\"\"",
            "message message \"\u{FFFD}\" id=\"\"",
            "message message \"\u{FFFD}\u{FFFD}\u{FFFD}\" id=\"\"",
            "message message \"nul\\0inside\" id=\"\"",
            "message \u{FFFD}\0 \"t\" id=\"\"",
            "message message \"five\" id=\"5\"",
            // An `id:` holding NUL is ignored, as the spec says.
            "message message \"six\" id=\"5\"",
            "message message \"ff\" id=\"\u{FFFD}\"",
            "reconnecting StreamEnded"
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The replacement character goes out as its UTF-8 bytes.
    assert!(
        contains(
            requests[1].raw_head(),
            b"\r\nlast-event-id: \xEF\xBF\xBD\r\n"
        ),
        "{:?}",
        String::from_utf8_lossy(requests[1].raw_head())
    );
}

// ---------------------------------------------------------------------------
// Statuses, content types, redirects.

#[tokio::test]
async fn status_500_fails_without_reconnecting_by_default() {
    let server = TestServer::start(
        Script::new().then(
            Response::status(500)
                .header("content-type", "text/plain")
                .body("oops"),
        ),
    )
    .unwrap();
    let mut source = source(&server, fast());
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["failed Status"]);
    assert!(matches!(
        failure(&seen),
        Error::Status(refused) if refused.head().status() == 500
            && refused.head().retry_after().is_none()
            && refused.head().content_type() == Some("text/plain")
            && refused.body_text() == "oops"
    ));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn status_500_with_the_transient_policy_reconnects() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::status(500))
            .connection(Response::sse().body("id: 1\ndata: back\n\n")),
    )
    .unwrap();
    let mut source = source(&server, fast().retry_transient_statuses());
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "reconnecting Status",
            "open",
            "message message \"back\" id=\"1\"",
            "reconnecting StreamEnded"
        ]
    );
    assert!(matches!(
        reconnect_at(&seen, 0),
        (error, delay, 1) if error.status() == Some(500) && delay == ms(1)
    ));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn status_503_with_retry_after_waits_exactly_that_long() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::status(503).header("retry-after", "1"))
            .connection(Response::sse().body("id: 1\ndata: back\n\n")),
    )
    .unwrap();
    let mut source = source(&server, fast().retry_transient_statuses());
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "reconnecting Status",
            "open",
            "message message \"back\" id=\"1\"",
            "reconnecting StreamEnded"
        ]
    );
    assert!(matches!(
        reconnect_at(&seen, 0),
        (error, delay, 1) if error.status() == Some(503)
            && error.response().unwrap().retry_after() == Some(Duration::from_secs(1))
            && delay == Duration::from_secs(1)
    ));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[1].at() - requests[0].at() >= Duration::from_secs(1));
}

#[tokio::test]
async fn status_503_with_an_http_date_retry_after_waits_until_that_date() {
    // Two seconds from the server's clock (which is the client's here); the
    // date has whole seconds, so the wait is between one and two seconds.
    let server = TestServer::start(Script::from_fn(|request| match request.index() {
        0 => {
            let at = std::time::SystemTime::now() + Duration::from_secs(2);
            let date = httpdate::fmt_http_date(at);
            Response::status(503).header("retry-after", date)
        }
        _ => Response::no_content(),
    }))
    .unwrap();
    let mut source = source(&server, fast().retry_transient_statuses());
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["reconnecting Status"]);
    let (error, delay, attempt) = reconnect_at(&seen, 0);
    assert_eq!((error.status(), attempt), (Some(503), 1));
    assert!(
        delay >= Duration::from_millis(900) && delay <= Duration::from_secs(2),
        "{delay:?}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].at() - requests[0].at() >= Duration::from_millis(900));
}

#[tokio::test]
async fn server_delays_are_capped_when_asked() {
    // A Retry-After date decades away and a retry: of a day: both cut to
    // the cap of 50 ms.
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::status(503)
                    .header("retry-after", "Wed, 21 Oct 2099 07:28:00 GMT")
                    .header("date", "Wed, 21 Oct 2026 07:28:00 GMT"),
            )
            .connection(Response::sse().body(
                "retry: 86400000
id: 1
data: x

",
            )),
    )
    .unwrap();
    let policy = fast().retry_transient_statuses().max_server_delay(ms(50));
    let mut source = source(&server, policy);
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "reconnecting Status",
            "open",
            "message message \"x\" id=\"1\"",
            "reconnecting StreamEnded"
        ]
    );
    assert_eq!(reconnect_at(&seen, 0).1, ms(50));
    assert_eq!(reconnect_at(&seen, 3).1, ms(50));
    assert_eq!(source.reconnection_time(), ms(50));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn status_204_first_ends_the_stream_with_no_items() {
    let server = TestServer::start(Script::new()).unwrap();
    let mut source = source(&server, fast());
    let seen = observe_all(&mut source).await;
    assert!(seen.is_empty(), "{seen:?}");
    tokio::time::sleep(ms(50)).await;
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn other_2xx_statuses_fail() {
    for status in ["201 Created", "206 Partial Content"] {
        let code: u16 = status[..3].parse().unwrap();
        let server = TestServer::start(
            Script::new().then(
                Response::status(code)
                    .header("content-type", "text/event-stream")
                    .body("data: no\n\n"),
            ),
        )
        .unwrap();
        let mut source = source(&server, fast().retry_transient_statuses());
        let seen = bounded(status, observe_all(&mut source)).await;
        assert_eq!(shorts(&seen), ["failed Status"], "{status}");
        assert_eq!(failure(&seen).status(), Some(code));
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn near_miss_content_types_fail_without_reconnecting() {
    for content_type in [
        "text/event-streams",
        "text/event",
        "application/event-stream",
        "text/plain; format=text/event-stream",
        "text/event-stream, text/plain",
        "",
    ] {
        let server = TestServer::start(
            Script::new().then(
                Response::sse()
                    .header("content-type", content_type)
                    .body("data: no\n\n"),
            ),
        )
        .unwrap();
        let mut source = source(&server, fast().retry_transient_statuses());
        let seen = bounded(content_type, observe_all(&mut source)).await;
        assert_eq!(shorts(&seen), ["failed ContentType"], "{content_type:?}");
        assert!(
            matches!(failure(&seen), Error::ContentType(refused)
                if refused.head().content_type() == Some(content_type)
                    && refused.body_text() == "data: no\n\n"),
            "{content_type:?}"
        );
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn redirects_of_every_kind_are_followed_to_the_stream() {
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let code: u16 = status[..3].parse().unwrap();
        let server = TestServer::start(Script::from_fn(move |request| {
            match (request.method(), request.path()) {
                ("GET", "/feed") => Response::redirect(code, "/moved"),
                ("GET", "/moved") => Response::sse().body("id: 1\ndata: here\n\n").pause(ms(50)),
                _ => Response::status(404),
            }
        }))
        .unwrap();
        let mut source = source(&server, fast());
        let seen = bounded(status, observe(&mut source, 2)).await;
        assert_eq!(
            shorts(&seen),
            ["open", "message message \"here\" id=\"1\""],
            "{status}"
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{status}");
        assert_eq!(
            (requests[1].method(), requests[1].path()),
            ("GET", "/moved"),
            "{status}"
        );
        assert_eq!(requests[1].header("accept"), Some("text/event-stream"));
    }
}

#[tokio::test]
async fn redirect_loop_is_a_transport_error_final_in_one_shot_mode() {
    let server = TestServer::start(Script::new().then(Response::redirect(302, "/feed"))).unwrap();
    let mut source = builder(&feed(&server), fast())
        .reconnect(false)
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["failed Transport"]);
    // reqwest follows up to 10 redirects: 11 requests, then gives up.
    assert_eq!(server.requests().len(), 11);
}

#[tokio::test]
async fn redirect_loop_with_reconnects_ends_when_retries_run_out() {
    let server = TestServer::start(Script::new().then(Response::redirect(307, "/feed"))).unwrap();
    let mut source = source(&server, fast().max_retries(1));
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        ["reconnecting Transport", "failed RetriesExhausted"]
    );
    assert!(matches!(
        failure(&seen),
        Error::RetriesExhausted { attempts: 1, last_error } if matches!(**last_error, Error::Transport(_))
    ));
    assert_eq!(server.requests().len(), 22);
}

#[tokio::test]
async fn redirect_without_location_is_a_status_error() {
    let server = TestServer::start(Script::new().then(Response::status(302))).unwrap();
    let mut source = source(&server, fast());
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["failed Status"]);
    assert_eq!(failure(&seen).status(), Some(302));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn redirect_to_a_non_http_scheme_is_not_followed() {
    // reqwest hands back a redirect to a scheme it cannot fetch (file:,
    // data:) as the 302 itself, and refuses ftp: outright: never followed.
    for (location, outcome) in [
        ("file:///etc/passwd", "failed Status"),
        ("data:text/event-stream,data: x", "failed Status"),
        ("ftp://127.0.0.1/feed", "failed InvalidRequest"),
    ] {
        let server =
            TestServer::start(Script::new().then(Response::redirect(302, location))).unwrap();
        let mut source = builder(&feed(&server), fast())
            .reconnect(false)
            .build()
            .unwrap();
        let seen = bounded(location, observe_all(&mut source)).await;
        assert_eq!(shorts(&seen), [outcome], "{location}");
        assert!(
            matches!(
                failure(&seen),
                Error::Status(refused) if refused.head().status() == 302
            ) || matches!(failure(&seen), Error::InvalidRequest(_)),
            "{location}"
        );
        assert_eq!(server.requests().len(), 1, "{location}");
    }
}

// ---------------------------------------------------------------------------
// Not HTTP at all; a server that restarts.

#[tokio::test]
async fn non_http_reply_is_a_transport_error() {
    let server =
        TestServer::start(Script::new().then(Response::verbatim("SSH-2.0-OpenSSH_9.6\r\n\r\n")))
            .unwrap();
    let mut source = builder(&feed(&server), fast())
        .reconnect(false)
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["failed Transport"]);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_restart_between_connections_resumes_with_last_event_id() {
    let mut server = TestServer::start(Script::from_fn(|request| match request.index() {
        0 => Response::sse()
            .body("id: 1\ndata: one\n\nid: 2\ndata: two\n\nid: 3\ndata: thr")
            .hold_open(),
        1 => {
            assert_eq!(request.header("last-event-id"), Some("2"));
            Response::sse().body("id: 3\ndata: three\n\n")
        }
        _ => Response::no_content(),
    }))
    .unwrap();
    let mut source = source(&server, fast().initial(ms(20)));
    let first = observe(&mut source, 3).await;
    assert_eq!(
        shorts(&first),
        [
            "open",
            "message message \"one\" id=\"1\"",
            "message message \"two\" id=\"2\""
        ]
    );
    // The server dies with the connection open: the cut event is lost,
    // then connections are refused until it is back.
    server.stop();
    let down = observe(&mut source, 3).await;
    assert_eq!(
        shorts(&down),
        [
            "reconnecting Truncated",
            "reconnecting Transport",
            "reconnecting Transport"
        ]
    );
    assert!(matches!(reconnect_at(&down, 1), (Error::Transport(e), _, 2) if e.is_connect()));
    server.restart().unwrap();
    let after = observe_all(&mut source).await;
    let tail: Vec<_> = shorts(&after)
        .into_iter()
        .skip_while(|s| s == "reconnecting Transport")
        .collect();
    assert_eq!(
        tail,
        [
            "open",
            "message message \"three\" id=\"3\"",
            "reconnecting StreamEnded"
        ]
    );
    assert_eq!(server.requests().len(), 3);
}

// ---------------------------------------------------------------------------
// Security. Credentials (Authorization, cookies) are not sent across a
// cross-origin redirect: tests/http.rs, cross_origin_redirect_drops_credentials.

#[tokio::test]
async fn server_sent_ids_cannot_inject_header_bytes() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().body("id: a\rX-Injected: 1\ndata: one\n\n"))
            .connection(Response::sse().body("id: b\x0bX-Injected: 2\x0cY: 3\x7f\ndata: two\n\n"))
            .connection(Response::sse().body("id: \u{e9}t\u{e9}\ndata: three\n\n")),
    )
    .unwrap();
    let mut source = source(&server, fast());
    let seen = observe_all(&mut source).await;
    assert_eq!(
        shorts(&seen),
        [
            "open",
            "message message \"one\" id=\"a\"",
            "reconnecting StreamEnded",
            "open",
            "message message \"two\" id=\"b\\u{b}X-Injected: 2\\u{c}Y: 3\\u{7f}\"",
            "reconnecting StreamEnded",
            "open",
            "message message \"three\" id=\"\u{e9}t\u{e9}\"",
            "reconnecting StreamEnded"
        ]
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    // The CR ended the `id:` line: "a" and nothing else.
    assert_eq!(requests[1].header("last-event-id"), Some("a"));
    // Control characters no header can carry: the ID is not sent at all.
    assert_eq!(requests[2].header("last-event-id"), None);
    // Non-ASCII goes out as its UTF-8 bytes.
    assert!(
        contains(
            requests[3].raw_head(),
            b"\r\nlast-event-id: \xC3\xA9t\xC3\xA9\r\n"
        ),
        "{}",
        String::from_utf8_lossy(requests[3].raw_head())
    );
    for request in &requests {
        let head = request
            .raw_head()
            .strip_suffix(b"\r\n\r\n")
            .expect("a whole head");
        for line in String::from_utf8_lossy(head).split("\r\n") {
            assert!(
                !line.chars().any(|c| c.is_control() && c != '\t'),
                "control character in a request line: {line:?}"
            );
            let name = line.split(':').next().unwrap().to_ascii_lowercase();
            assert!(
                name != "x-injected" && name != "y",
                "injected header: {:?}",
                String::from_utf8_lossy(request.raw_head())
            );
        }
    }
}

#[tokio::test]
async fn https_is_tls_even_to_a_plain_tcp_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let first_bytes = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        let read = timeout(TEST_TIMEOUT, socket.read_exact(&mut buf)).await;
        // Answer in plain HTTP, as a server that does not speak TLS would.
        let _ = socket.write_all(SSE_HEAD).await;
        let _ = socket.write_all(b"data: plain\n\n").await;
        read.map(|r| r.map(|_| buf))
    });
    let mut source = builder(&format!("https://{addr}/feed"), fast())
        .reconnect(false)
        .build()
        .unwrap();
    let seen = observe_all(&mut source).await;
    assert_eq!(shorts(&seen), ["failed Transport"]);
    let Error::Transport(error) = failure(&seen) else {
        unreachable!()
    };
    let text = chain(error);
    assert!(error.is_connect(), "{text}");
    assert!(!text.contains("scheme"), "{text}");
    // The client opened with a TLS handshake record (0x16, version 3.x).
    let first = first_bytes.await.unwrap().unwrap().unwrap();
    assert_eq!(first[..2], [0x16, 0x03], "{first:?}; {text}");
}

#[cfg(feature = "tracing")]
mod logging {
    //! Nothing the server sends is logged above debug level — nor at all.

    use std::fmt::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event as TraceEvent, Level, Metadata, Subscriber};

    use super::*;

    /// A recording subscriber: every event and span, with its level.
    #[derive(Default, Clone)]
    struct Recorder {
        records: Arc<Mutex<Vec<(Level, String)>>>,
        next_id: Arc<AtomicU64>,
    }

    struct Text<'a>(&'a mut String);

    impl Visit for Text<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            let _ = write!(self.0, " {}={}", field.name(), value);
        }
    }

    impl Recorder {
        fn push(&self, metadata: &Metadata<'_>, text: String) {
            let line = format!("{} {}:{text}", metadata.target(), metadata.name());
            self.records.lock().unwrap().push((*metadata.level(), line));
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            let mut text = String::new();
            span.record(&mut Text(&mut text));
            self.push(span.metadata(), text);
            Id::from_u64(self.next_id.fetch_add(1, Ordering::SeqCst) + 1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            let mut text = String::new();
            values.record(&mut Text(&mut text));
            self.records
                .lock()
                .unwrap()
                .push((Level::TRACE, format!("span record:{text}")));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &TraceEvent<'_>) {
            let mut text = String::new();
            event.record(&mut Text(&mut text));
            self.push(event.metadata(), text);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    const CHILD: &str = "SSEFEED_HOSTILE_LOGGING_CHILD";

    /// Runs the check in a process of its own: tracing caches each
    /// callsite's interest process-wide, so a callsite first hit by a test
    /// on another thread while this one installs its subscriber could stay
    /// disabled for it.
    #[tokio::test]
    async fn nothing_from_the_server_is_logged_above_debug_and_no_payload_at_all() {
        let child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "logging::recorded_in_a_child_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .kill_on_drop(true)
            .output();
        let output = timeout(TEST_TIMEOUT, child)
            .await
            .expect("the child hung")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("LOGGING CHECKED") && stdout.contains("1 passed"),
            "{stdout}\n{stderr}"
        );
    }

    /// The check itself; run by the test above in a child process.
    #[tokio::test]
    #[ignore = "run in a child process by nothing_from_the_server_is_logged_above_debug_and_no_payload_at_all"]
    async fn recorded_in_a_child_process() {
        if std::env::var_os(CHILD).is_none() {
            eprintln!("skipped: only meaningful alone in its process, with {CHILD}=1");
            return;
        }
        let recorder = Recorder::default();
        let _guard = tracing::subscriber::set_default(recorder.clone());
        let server = TestServer::start(
            Script::new()
                .connection(Response::sse().body(
                    "id: SECRET-ID\nevent: SECRET-TYPE\ndata: SECRET-DATA\n: SECRET-COMMENT\n\n\
                     retry: 1\ndata: SECRET-PARTIAL",
                ))
                .connection(
                    Response::status(503)
                        .reason("SECRET-REASON")
                        .header("retry-after", "0")
                        .header("x-secret", "SECRET-HEADER"),
                )
                .connection(
                    Response::sse()
                        .body("data: SECRET-TWO\n\ndata: SECRET-LONG")
                        .body("x".repeat(4096)),
                ),
        )
        .unwrap();
        let mut source = builder(&feed(&server), fast().retry_transient_statuses())
            .comments(true)
            .max_line_len(1024)
            .build()
            .unwrap();
        let seen = observe_all(&mut source).await;
        assert_eq!(
            shorts(&seen),
            [
                "open",
                "comment \"SECRET-COMMENT\"",
                "message SECRET-TYPE \"SECRET-DATA\" id=\"SECRET-ID\"",
                "reconnecting Truncated",
                "reconnecting Status",
                "open",
                "message message \"SECRET-TWO\" id=\"SECRET-ID\"",
                "failed LineTooLong"
            ]
        );
        let records = recorder.records.lock().unwrap().clone();
        let text: Vec<_> = records.iter().map(|(_, line)| line.as_str()).collect();
        for expected in [
            "ssefeed: connecting",
            "ssefeed: open",
            "ssefeed: reconnecting",
            "ssefeed: closed with an error",
        ] {
            assert!(
                text.iter().any(|line| line.contains(expected)),
                "no {expected:?} in {text:#?}"
            );
        }
        for (level, line) in &records {
            assert!(
                *level == Level::DEBUG || *level == Level::TRACE,
                "logged at {level}: {line}"
            );
            assert!(!line.contains("SECRET"), "server bytes logged: {line}");
        }
        println!("LOGGING CHECKED: {} records", records.len());
    }
}
