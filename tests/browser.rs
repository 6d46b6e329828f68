//! `EventSource` in a real browser: compiled to `wasm32-unknown-unknown`
//! and run by `wasm-bindgen-test` in headless Chromium, over reqwest's fetch
//! backend, against `tests/support/browser_server.py` on another origin (so
//! every request goes through CORS). `tests/browser.sh` starts the server
//! and the browser; its address is compiled in from
//! `SSEFEED_BROWSER_SERVER`.
//!
//! What only the browser build has is tested here: the timers (the
//! reconnection wait, the idle timeout), the clock, and futures that are not
//! `Send`. Everything else is tested natively.
#![cfg(all(
    feature = "client",
    target_arch = "wasm32",
    any(target_os = "unknown", target_os = "none")
))]

use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::{CloseReason, Error, Event, EventSource, MessageEvent, RetryPolicy};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_time::Instant;

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: &str = match option_env!("SSEFEED_BROWSER_SERVER") {
    Some(url) => url,
    None => "http://127.0.0.1:8765",
};

/// A feed URL for one test: its own session, so the server counts its
/// requests apart from the other tests'.
fn feed(path: &str, session: &str) -> String {
    format!("{SERVER}{path}?session={session}")
}

/// The next item, which must be an event.
async fn next(source: &mut EventSource) -> Event {
    match source.next().await {
        Some(Ok(event)) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn message(source: &mut EventSource) -> MessageEvent {
    match next(source).await {
        Event::Message(message) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// What the server saw of a session's requests to `path`: how many, and the
/// `Last-Event-ID` of each.
async fn requests(path: &str, session: &str) -> (u64, Vec<Option<String>>) {
    let url = format!("{SERVER}/count?path={path}&session={session}");
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    let count: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids = count["last_event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().map(str::to_owned))
        .collect();
    (count["requests"].as_u64().unwrap(), ids)
}

#[wasm_bindgen_test]
async fn messages_and_named_events_arrive_with_the_response() {
    let request = reqwest::Client::new().get(feed("/events", "messages"));
    let mut source = EventSource::new(request).unwrap();

    let Event::Open(head) = next(&mut source).await else {
        panic!("expected the open event");
    };
    assert_eq!(head.status(), 200);
    assert_eq!(head.content_type(), Some("text/event-stream"));
    // A header the server exposes to the page through CORS.
    assert_eq!(head.get("x-feed"), Some("browser-test"));
    assert!(head.url().is_some_and(|url| url.starts_with(SERVER)));

    let first = message(&mut source).await;
    assert_eq!((first.event_type(), first.data()), ("message", "first"));
    let tick = message(&mut source).await;
    assert_eq!(tick.event_type(), "tick");
    assert_eq!(tick.data(), "1\n2");
    assert_eq!(tick.last_event_id(), "7");
    assert_eq!(message(&mut source).await.data(), "last");
    assert_eq!(source.last_event_id(), "7");
    source.close();
    assert!(source.next().await.is_none());
    assert_eq!(source.close_reason(), Some(&CloseReason::ClosedByUser));
}

#[wasm_bindgen_test]
async fn a_reconnect_waits_the_retry_time_resumes_with_last_event_id_and_stops_on_204() {
    let request = reqwest::Client::new().get(feed("/resume", "resume"));
    let policy = RetryPolicy::new()
        .min_delay(Duration::from_millis(1))
        .jitter(0.0);
    let mut source = EventSource::builder(request)
        .retry_policy(policy)
        .build()
        .unwrap();

    assert!(matches!(next(&mut source).await, Event::Open(_)));
    assert_eq!(message(&mut source).await.data(), "first");
    // The end of the body: a reconnect after the server's `retry: 50`,
    // which only a browser timer can end, and not before it.
    match next(&mut source).await {
        Event::Reconnecting { error, delay, .. } => {
            assert!(matches!(*error, Error::StreamEnded), "{error}");
            assert_eq!(delay, Duration::from_millis(50));
        }
        other => panic!("expected a reconnect, got {other:?}"),
    }
    let waiting = Instant::now();
    assert!(matches!(next(&mut source).await, Event::Open(_)));
    let waited = waiting.elapsed();
    assert!(
        waited >= Duration::from_millis(50),
        "reconnected after {waited:?}"
    );
    assert_eq!(message(&mut source).await.data(), "resumed after 1");
    assert!(matches!(
        next(&mut source).await,
        Event::Reconnecting { .. }
    ));
    // The third request gets 204: the end, with no error.
    assert!(source.next().await.is_none());
    let Some(CloseReason::NoContent(head)) = source.close_reason() else {
        panic!("expected a 204, got {:?}", source.close_reason());
    };
    assert_eq!(head.status(), 204);

    let (count, ids) = requests("/resume", "resume").await;
    assert_eq!(count, 3);
    assert_eq!(ids, [None, Some("1".into()), Some("2".into())]);
}

#[wasm_bindgen_test]
async fn an_idle_timeout_fires_in_the_browser() {
    let request = reqwest::Client::new().get(feed("/silent", "idle"));
    let mut source = EventSource::builder(request)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    assert!(matches!(next(&mut source).await, Event::Open(_)));
    assert_eq!(message(&mut source).await.data(), "before the silence");
    match next(&mut source).await {
        Event::Reconnecting { error, .. } => {
            assert!(matches!(*error, Error::IdleTimeout { .. }), "{error}");
        }
        other => panic!("expected a reconnect after the silence, got {other:?}"),
    }
    assert!(matches!(next(&mut source).await, Event::Open(_)));
    assert_eq!(message(&mut source).await.data(), "after the reconnect");
    source.close();
}

#[wasm_bindgen_test]
async fn a_post_is_sent_once() {
    let request = reqwest::Client::new()
        .post(feed("/chat", "post"))
        .header("content-type", "application/json")
        .body(r#"{"prompt": "say hi twice"}"#);
    let mut source = EventSource::new(request).unwrap();

    assert!(matches!(next(&mut source).await, Event::Open(_)));
    let mut tokens = Vec::new();
    loop {
        let data = message(&mut source).await.into_data();
        if data == "[DONE]" {
            break;
        }
        let token: serde_json::Value = serde_json::from_str(&data).unwrap();
        tokens.push(token["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(tokens, ["say", "hi", "twice"]);
    // The end of the body ends a one-shot stream: no reconnect, no error.
    assert!(source.next().await.is_none());
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
    assert_eq!(requests("/chat", "post").await.0, 1);
}

#[wasm_bindgen_test]
async fn a_refusal_keeps_the_status_and_the_body() {
    let request = reqwest::Client::new().get(feed("/denied", "denied"));
    let mut source = EventSource::new(request).unwrap();

    let error = match source.next().await {
        Some(Err(error)) => error,
        other => panic!("expected the refusal, got {other:?}"),
    };
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.body().as_deref(), Some("token expired"));
    assert!(!error.is_retryable());
    assert!(source.next().await.is_none());
}
