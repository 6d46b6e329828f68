//! Against a server nobody here wrote: axum's `Sse` response, with its own
//! framing of multi-line data, `retry`, ids, named events and keep-alive
//! comments, over hyper. Then the stream ends, the client resumes with
//! `Last-Event-ID`, and a 204 stops it. And the same handler read in
//! process (`Router::oneshot`, `EventStream::from_body`), with no socket.

#![cfg(feature = "client")]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, StreamExt};
use ssefeed::{CloseReason, Error, Event, EventSource, EventStream};
use support::{fast, next};

/// The feed: which connection this is decides what it sends.
async fn feed(State(connections): State<Arc<AtomicUsize>>, headers: HeaderMap) -> Response {
    let last_event_id = headers
        .get("last-event-id")
        .map(|id| id.to_str().unwrap().to_owned());
    let events = match connections.fetch_add(1, Ordering::SeqCst) {
        0 => vec![
            SseEvent::default()
                .retry(Duration::from_millis(5))
                .id("1")
                .data("line one\nline two"),
            SseEvent::default()
                .event("update")
                .id("2")
                .data(r#"{"price": 101}"#),
        ],
        1 => vec![SseEvent::default().id("3").data(format!(
            "resumed after {}",
            last_event_id.as_deref().unwrap_or("nothing")
        ))],
        _ => return StatusCode::NO_CONTENT.into_response(),
    };
    // The events, then a pause in which only keep-alive comments come, then
    // the end of the body.
    let pause = stream::once(tokio::time::sleep(Duration::from_millis(60)))
        .filter_map(|()| async { None::<Result<SseEvent, Infallible>> });
    let body = stream::iter(events.into_iter().map(Ok)).chain(pause);
    Sse::new(body)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_millis(20))
                .text("keep-alive"),
        )
        .into_response()
}

/// An axum server on loopback; its URL and its count of connections.
async fn axum_server() -> (String, Arc<AtomicUsize>) {
    let connections = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/feed", get(feed))
        .with_state(connections.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, connections)
}

/// The next item that is not a keep-alive comment.
async fn next_but_comments(source: &mut EventSource, comments: &mut usize) -> Option<Event> {
    loop {
        match next(source).await {
            Some(Ok(Event::Comment(text))) => {
                assert_eq!(text, "keep-alive");
                *comments += 1;
            }
            Some(Ok(event)) => return Some(event),
            Some(Err(error)) => panic!("unexpected error: {}", error.report()),
            None => return None,
        }
    }
}

fn message(event: Option<Event>) -> ssefeed::MessageEvent {
    match event {
        Some(Event::Message(message)) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn reads_an_axum_sse_stream_resumes_and_stops_on_204() {
    let (url, connections) = axum_server().await;
    let request = reqwest::Client::new().get(&url);
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .comments(true)
        .build()
        .unwrap();
    let mut comments = 0;

    let Some(Event::Open(head)) = next_but_comments(&mut source, &mut comments).await else {
        panic!("expected the open event");
    };
    assert_eq!(head.content_type(), Some("text/event-stream"));

    // axum writes the two lines as two `data:` fields; the spec joins them.
    let first = message(next_but_comments(&mut source, &mut comments).await);
    assert_eq!(first.data(), "line one\nline two");
    assert_eq!(
        (first.event_type(), first.last_event_id()),
        ("message", "1")
    );
    assert_eq!(source.reconnection_time(), Duration::from_millis(5));

    let update = message(next_but_comments(&mut source, &mut comments).await);
    assert_eq!(update.event_type(), "update");
    assert_eq!(update.data(), r#"{"price": 101}"#);
    assert_eq!(update.last_event_id(), "2");

    // The body ends after the pause: a reconnect after the server's 5 ms.
    match next_but_comments(&mut source, &mut comments).await {
        Some(Event::Reconnecting { error, delay, .. }) => {
            assert!(matches!(*error, Error::StreamEnded), "{error}");
            assert_eq!(delay, Duration::from_millis(5));
        }
        other => panic!("expected a reconnect, got {other:?}"),
    }
    assert!(comments >= 1, "no keep-alive comment in the pause");

    assert!(matches!(
        next_but_comments(&mut source, &mut comments).await,
        Some(Event::Open(_))
    ));
    let resumed = message(next_but_comments(&mut source, &mut comments).await);
    assert_eq!(resumed.data(), "resumed after 2");
    assert!(matches!(
        next_but_comments(&mut source, &mut comments).await,
        Some(Event::Reconnecting { .. })
    ));

    // The third connection is answered 204: the end, without an error.
    assert!(
        next_but_comments(&mut source, &mut comments)
            .await
            .is_none()
    );
    assert!(matches!(
        source.close_reason(),
        Some(CloseReason::NoContent(head)) if head.status() == 204
    ));
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_axum_handler_is_read_in_process_without_a_socket() {
    use tower::ServiceExt;

    let app = axum::Router::new()
        .route("/feed", get(feed))
        .with_state(Arc::new(AtomicUsize::new(0)));
    let request = Request::get("/feed")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = EventStream::from_body(response.into_body());
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(
        (first.event_type(), first.data(), first.last_event_id()),
        ("message", "line one\nline two", "1")
    );
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(
        (second.event_type(), second.data(), second.last_event_id()),
        ("update", r#"{"price": 101}"#, "2")
    );
    // The keep-alive comments are dropped; then the body ends.
    assert!(events.next().await.is_none());
    assert_eq!(events.reconnection_time(), Some(Duration::from_millis(5)));
}
