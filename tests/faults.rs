//! The client against a raw TCP server, for what wiremock cannot do: a
//! connection cut mid-event, a stalled body, a byte at a time, a server that
//! accepts and closes at once.

#![cfg(feature = "client")]

mod support;

use std::time::Duration;

use ssefeed::testing::{Response, Script, TestServer, Writes};
use ssefeed::{EventSource, ReadyState, RetryPolicy};
use support::{collect, collect_all, one_shot_post};
use tokio::time::Instant;

/// Reconnects at the server's `retry:` (the default 3 s without one).
fn fast() -> RetryPolicy {
    support::fast().initial(ssefeed::DEFAULT_RECONNECTION_TIME)
}

fn source(server: &TestServer, policy: RetryPolicy) -> EventSource {
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    EventSource::builder(request)
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn cut_mid_event_resumes_from_the_last_complete_id_and_delivers_once() {
    let server = TestServer::start(Script::from_fn(|request| {
        match (request.index(), request.last_event_id()) {
            (0, _) => Response::sse().body("retry: 10\nid: 1\ndata: one\n\nid: 2\ndata: tw"),
            (1, Some("1")) => Response::sse().body("id: 2\ndata: two\n\nid: 3\ndata: three\n\n"),
            _ => Response::no_content(),
        }
    }))
    .unwrap();
    let mut source = source(&server, fast());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"one\" id=1",
            "reconnecting: the stream ended before it was complete",
            "open",
            "message message \"two\" id=2",
            "message message \"three\" id=3",
            "reconnecting: the server ended the stream",
        ]
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].header("last-event-id"), None);
    assert_eq!(seen[2].header("last-event-id"), Some("3"));
}

#[tokio::test]
async fn cut_inside_a_multibyte_character_and_a_crlf_loses_only_the_partial_event() {
    let server =
        TestServer::start(
            Script::new()
                .connection(Response::sse().body(
                    b"retry: 1\r\nid: a\r\ndata: \xE2\x82\xAC\r\n\r\nid: b\r\ndata: \xE2\x82",
                ))
                .connection(Response::sse().body("data: after\r")),
        )
        .unwrap();
    let mut source = source(&server, fast());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"\u{20AC}\" id=a",
            "reconnecting: the stream ended before it was complete",
            "open",
            "reconnecting: the stream ended before it was complete",
        ]
    );
    assert_eq!(server.requests()[1].header("last-event-id"), Some("a"));
}

#[tokio::test]
async fn stalled_body_is_reconnected_by_the_idle_timeout() {
    let server = TestServer::start(
        Script::new().connection(Response::sse().body("id: 1\ndata: a\n\n").hold_open()),
    )
    .unwrap();
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(request)
        .retry_policy(fast().initial(Duration::from_millis(10)))
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let start = Instant::now();
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"a\" id=1",
            "reconnecting: no data from the server for 300ms"
        ]
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn keep_alive_comments_keep_an_idle_connection_open() {
    let mut response = Response::sse();
    for _ in 0..6 {
        response = response
            .pause(Duration::from_millis(100))
            .comment("keep-alive");
    }
    response = response.message("still here");
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .idle_timeout(Duration::from_millis(400))
        .comments(true)
        .build()
        .unwrap();
    let got = collect(&mut source, 8).await;
    assert_eq!(got[0], "open");
    assert_eq!(got[1..7], ["comment keep-alive"; 6]);
    assert_eq!(got[7], "message message \"still here\" id=");
}

#[tokio::test]
async fn body_sent_one_byte_at_a_time() {
    let body =
        "\u{FEFF}event: add\r\ndata: 73857293\r\n\r\n: c\rid: 7\rdata: a\rdata: \u{20AC}\r\r";
    let server = TestServer::start(
        Script::new().connection(Response::sse().body(body).writes(Writes::ByteByByte)),
    )
    .unwrap();
    let mut source = source(&server, fast());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message add \"73857293\" id=",
            "message message \"a\\n\u{20AC}\" id=7",
            "reconnecting: the server ended the stream"
        ]
    );
}

#[tokio::test]
async fn accept_and_close_with_retry_zero_does_not_spin() {
    let server = TestServer::start(Script::new().then(Response::sse().body("retry: 0\n"))).unwrap();
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(request)
        .retry_policy(RetryPolicy::new().jitter(0.0))
        .build()
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(1600), collect_all(&mut source)).await;
    // Delays 100, 200, 400, 800 ms: at most 5 connections in 1.6 s, however
    // fast the machine.
    let count = server.requests().len();
    assert!((3..=5).contains(&count), "{count} connections");
    assert_eq!(source.ready_state(), ReadyState::Connecting);
}

#[tokio::test]
async fn retry_zero_with_events_reconnects_at_the_floor_rate() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("retry: 0\ndata: x\n\n")))
            .unwrap();
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(request)
        .retry_policy(RetryPolicy::new().jitter(0.0))
        .build()
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_millis(1000), collect_all(&mut source)).await;
    let count = server.requests().len();
    assert!(
        (3..=11).contains(&count),
        "{count} connections in 1 s at a 100 ms floor"
    );
}

#[tokio::test]
async fn refused_connections_back_off_and_max_retries_fires() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let request = reqwest::Client::new().get(url);
    let mut source = EventSource::builder(request)
        .retry_policy(fast().initial(Duration::from_millis(5)).max_retries(2))
        .build()
        .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "reconnecting: the request to the event stream failed",
            "reconnecting: the request to the event stream failed",
            "error: gave up reconnecting after 2 attempts"
        ]
    );
}

#[tokio::test]
async fn one_shot_network_error_mid_event_is_final() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("data: a\n\ndata: b"))).unwrap();
    let mut source = one_shot_post(&server.url_for("/feed"));
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"a\" id=",
            "error: the stream ended before it was complete"
        ]
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn chunked_body_cut_mid_chunk_is_a_network_error_that_reconnects() {
    let server = TestServer::start(
        Script::new().connection(
            Response::sse()
                .header("transfer-encoding", "chunked")
                .body("f\r\nid: 1\ndata: a\n\n\r\n20\r\ndata: cut"),
        ),
    )
    .unwrap();
    let mut source = source(&server, fast().initial(Duration::from_millis(5)));
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"a\" id=1",
            "reconnecting: the event stream was cut off"
        ]
    );
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
}
