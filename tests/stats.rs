//! What a feed did, as `EventSource::stats` and `Event::Reconnecting` tell
//! it, against the test kit's server: counts, and times read with the clock
//! even when no idle timeout asks for the time of each chunk.

#![cfg(feature = "client")]

mod support;

use std::time::Duration;

use ssefeed::testing::{Response, Script, ServerEvent, TestServer};
use ssefeed::{Event, EventSource};
use support::{fast, next};

#[tokio::test]
async fn stats_count_requests_connections_events_and_time_the_first_event() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .pause(Duration::from_millis(150))
                    .event(ServerEvent::data("a").id("1"))
                    .message("b"),
            )
            .connection(Response::sse().message("c"))
            .then(Response::no_content()),
    )
    .unwrap();
    let mut source = EventSource::builder(reqwest::Client::new().get(server.url()))
        .retry_policy(fast())
        .build()
        .unwrap();
    // The first request is asked for when the source is built.
    assert_eq!(source.stats().requests, 1);
    let mut ended = None;
    while let Some(item) = next(&mut source).await {
        if let Event::Reconnecting { stats, .. } = item.unwrap() {
            ended.get_or_insert(*stats);
        }
    }
    let first = ended.expect("a reconnect");
    assert_eq!((first.events, first.bytes), (2, 24));
    let (asked, opened) = (first.requested_at.unwrap(), first.opened_at.unwrap());
    let (byte, event) = (first.first_byte_at.unwrap(), first.first_event_at.unwrap());
    // The server paused before its first bytes: their time was read then,
    // not taken from when the response arrived.
    assert!(
        byte - opened >= Duration::from_millis(140),
        "{:?}",
        byte - opened
    );
    assert!(asked <= opened && event >= byte);
    let stats = source.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!((stats.connections, stats.reconnects), (2, 2));
    assert_eq!((stats.events, stats.bytes), (3, 33));
}

#[tokio::test]
async fn with_an_idle_timeout_the_last_activity_is_the_last_chunks_time() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .message("a")
                    .pause(Duration::from_millis(150))
                    .message("b"),
            )
            .then(Response::no_content()),
    )
    .unwrap();
    let mut source = EventSource::builder(reqwest::Client::new().get(server.url()))
        .retry_policy(fast())
        .idle_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut ended = None;
    while let Some(item) = next(&mut source).await {
        if let Event::Reconnecting { stats, .. } = item.unwrap() {
            ended.get_or_insert(*stats);
        }
    }
    let stats = ended.expect("a reconnect");
    let gap = stats.last_activity_at.unwrap() - stats.first_byte_at.unwrap();
    assert!(gap >= Duration::from_millis(140), "{gap:?}");
}

#[tokio::test]
async fn the_last_bytes_before_an_error_are_kept_when_asked() {
    for keep in [0, 16] {
        let server = TestServer::start(
            Script::new().then(
                Response::sse()
                    .message("ok")
                    .body("data: {\"delta\": \"cut sh"),
            ),
        )
        .unwrap();
        let post = reqwest::Client::new().post(server.url()).body("{}");
        let mut source = EventSource::builder(post)
            .keep_recent_bytes(keep)
            .build()
            .unwrap();
        let mut failed = false;
        while let Some(item) = next(&mut source).await {
            if let Err(error) = item {
                assert!(matches!(error, ssefeed::Error::Truncated), "{error:?}");
                failed = true;
            }
        }
        assert!(failed);
        // The tail of the unfinished event, as the server cut it.
        let want: &[u8] = if keep == 0 {
            b""
        } else {
            b"\"delta\": \"cut sh"
        };
        assert_eq!(source.recent_bytes(), want);
    }
}

#[tokio::test]
async fn the_first_event_is_timed_when_it_comes_after_other_bytes() {
    // A keep-alive first (as LLM servers flush one), the first token later.
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .comment("keep-alive")
                    .pause(Duration::from_millis(150))
                    .message("token"),
            )
            .then(Response::no_content()),
    )
    .unwrap();
    let mut source = EventSource::builder(reqwest::Client::new().get(server.url()))
        .retry_policy(fast())
        .build()
        .unwrap();
    let mut ended = None;
    while let Some(item) = next(&mut source).await {
        if let Event::Reconnecting { stats, .. } = item.unwrap() {
            ended.get_or_insert(*stats);
        }
    }
    let stats = ended.expect("a reconnect");
    let wait = stats.first_event_at.unwrap() - stats.first_byte_at.unwrap();
    assert!(wait >= Duration::from_millis(140), "{wait:?}");
}
