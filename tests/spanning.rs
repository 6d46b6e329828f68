//! Streams that span requests, as MCP's Streamable HTTP and resumable LLM
//! APIs make them: the caller's `Accept` kept, a response taken over, a
//! one-shot POST resumed with a GET, a sentinel that ends the stream, and
//! replayed IDs dropped. wiremock for headers; the raw TCP server where a
//! stream is cut, held open or replayed.

#![cfg(feature = "client")]

mod support;

use std::time::Duration;

use ssefeed::testing::{Response, Script, TestServer};
use ssefeed::{CloseReason, Error, Event, EventSource, ReadyState};
use support::{collect_all, fast, next};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// An MCP server's check: 406 unless the client accepts both JSON and an
/// event stream.
struct McpAccept;

impl Respond for McpAccept {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let accept = request
            .headers
            .get("accept")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if accept.contains("application/json") && accept.contains("text/event-stream") {
            ResponseTemplate::new(200).set_body_raw(
                b"id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n".to_vec(),
                "text/event-stream",
            )
        } else {
            ResponseTemplate::new(406).set_body_string("Not Acceptable")
        }
    }
}

#[tokio::test]
async fn the_callers_accept_and_cache_control_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(McpAccept)
        .mount(&server)
        .await;
    let request = reqwest::Client::new()
        .post(format!("{}/mcp", server.uri()))
        .header("accept", "application/json, text/event-stream")
        .header("cache-control", "no-store")
        .body("{}");
    let mut source = EventSource::new(request).unwrap();
    assert_eq!(
        collect_all(&mut source).await,
        [
            "open",
            r#"message message "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}" id=1"#
        ]
    );
    let seen = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        seen.headers["accept"],
        "application/json, text/event-stream"
    );
    assert_eq!(seen.headers["cache-control"], "no-store");

    // An `Accept` without the event stream gets it added, in one line.
    let request = reqwest::Client::new()
        .post(format!("{}/mcp", server.uri()))
        .header("accept", "application/json");
    let mut source = EventSource::new(request).unwrap();
    assert_eq!(collect_all(&mut source).await.len(), 2);
    let seen = &server.received_requests().await.unwrap()[1];
    assert_eq!(
        seen.headers["accept"],
        "application/json, text/event-stream"
    );
    assert_eq!(seen.headers["cache-control"], "no-cache");
}

#[tokio::test]
async fn a_response_taken_over_is_the_first_connection() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("mcp-session-id", "s-1")
                .set_body_raw(b"id: 1\ndata: a\n\n".to_vec(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let response = reqwest::Client::new()
        .post(format!("{}/mcp", server.uri()))
        .send()
        .await
        .unwrap();
    let mut source = EventSource::builder_from_response(response)
        .build()
        .unwrap();
    match next(&mut source).await {
        Some(Ok(Event::Open(head))) => assert_eq!(head.get("mcp-session-id"), Some("s-1")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        collect_all(&mut source).await,
        [r#"message message "a" id=1"#]
    );
    // One-shot: the clean end completes it; nothing is sent again.
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_json_response_taken_over_is_refused_with_its_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 1})))
        .mount(&server)
        .await;
    let response = reqwest::Client::new()
        .post(server.uri())
        .send()
        .await
        .unwrap();
    let mut source = EventSource::builder_from_response(response)
        .build()
        .unwrap();
    match next(&mut source).await {
        Some(Err(error @ Error::ContentType(_))) => {
            assert_eq!(error.body().as_deref(), Some(r#"{"id":1}"#));
        }
        other => panic!("{other:?}"),
    }
    assert!(next(&mut source).await.is_none());
}

#[tokio::test]
async fn a_response_taken_over_cannot_reconnect_without_a_resume_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let response = reqwest::get(server.uri()).await.unwrap();
    let built = EventSource::builder_from_response(response)
        .reconnect(true)
        .build();
    assert!(matches!(built, Err(Error::BodyNotCloneable)), "{built:?}");
}

/// The request line of request `n` the test server saw.
fn request_line(server: &TestServer, n: usize) -> String {
    support::request_line(&server.requests()[n])
}

/// A one-shot POST to `server` that resumes with a GET to the same URL and
/// ends on the data `answer`.
fn mcp_call(server: &TestServer) -> EventSource {
    let client = reqwest::Client::new();
    let url = server.url_for("/feed");
    let call = client
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#);
    EventSource::builder(call)
        .retry_policy(fast())
        .resume_with(move |_ctx| client.get(&url))
        .complete_on(|message| message.data() == "answer")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_priming_event_then_a_close_resumes_with_a_get_after_retry() {
    let server = TestServer::start(
        Script::new()
            // The priming event: an ID, empty data, `retry: 500`; then a
            // close before the answer.
            .connection(Response::sse().body("id: p-1\nretry: 500\ndata:\n\n"))
            .then(Response::sse().body("id: p-2\ndata: answer\n\n")),
    )
    .unwrap();
    let mut source = mcp_call(&server);
    assert_eq!(
        collect_all(&mut source).await,
        [
            "open",
            r#"message message "" id=p-1"#,
            "reconnecting: the stream ended before it was complete",
            "open",
            r#"message message "answer" id=p-2"#,
        ]
    );
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "the POST is sent once, then one GET");
    assert!(request_line(&server, 0).starts_with("POST /feed "));
    assert!(request_line(&server, 1).starts_with("GET /feed "));
    assert_eq!(seen[0].header("last-event-id"), None);
    assert_eq!(seen[1].header("last-event-id"), Some("p-1"));
    // The GET keeps the POST's Accept only if asked: it asks for the stream.
    assert_eq!(seen[1].header("accept"), Some("text/event-stream"));
    let waited = seen[1].at() - seen[0].at();
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
}

#[tokio::test]
async fn a_body_cut_mid_event_or_reset_resumes_until_complete() {
    let stream = "id: 1\ndata: one\n\nid: 2\ndata: two\n\n";
    let server = TestServer::start(
        Script::new()
            // Cut inside the second event: its ID is not committed.
            .connection(Response::sse().body(stream).cut_after(25))
            // A reset after the second event.
            .connection(Response::sse().body("id: 2\ndata: two\n\n").reset())
            .then(Response::sse().body("id: 3\ndata: three\n\n")),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let url = server.url_for("/feed");
    let mut source = EventSource::builder(client.post(&url).body("{}"))
        .retry_policy(fast())
        .resume_with(move |ctx| {
            client
                .get(&url)
                .header("x-attempt", ctx.attempt().to_string())
        })
        .build()
        .unwrap();
    let items = collect_all(&mut source).await;
    let messages: Vec<_> = items.iter().filter(|i| i.starts_with("message")).collect();
    assert_eq!(
        messages,
        [
            r#"message message "one" id=1"#,
            r#"message message "two" id=2"#,
            r#"message message "three" id=3"#
        ]
    );
    assert_eq!(
        items[2],
        "reconnecting: the stream ended before it was complete"
    );
    assert_eq!(items[5], "reconnecting: the event stream was cut off");
    // Without a sentinel, the clean end of the resumed stream completes it.
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
    let seen = server.requests();
    let ids: Vec<_> = seen
        .iter()
        .map(|r| r.header("last-event-id").map(str::to_owned))
        .collect();
    assert_eq!(ids, [None, Some("1".to_owned()), Some("2".to_owned())]);
    assert!(request_line(&server, 0).starts_with("POST "));
    assert!(request_line(&server, 1).starts_with("GET "));
    assert!(request_line(&server, 2).starts_with("GET "));
    let attempts: Vec<_> = seen
        .iter()
        .map(|r| r.header("x-attempt").map(str::to_owned))
        .collect();
    assert_eq!(attempts, [None, Some("1".to_owned()), Some("1".to_owned())]);
}

#[tokio::test]
async fn with_no_event_id_there_is_nothing_to_resume_from() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("data: partial answer\n\n")))
            .unwrap();
    let mut source = mcp_call(&server);
    assert_eq!(
        collect_all(&mut source).await,
        [
            "open",
            r#"message message "partial answer" id="#,
            "error: the stream ended before it was complete"
        ]
    );
    assert!(matches!(source.close_reason(), Some(CloseReason::Failed)));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_post_is_sent_again_when_the_policy_retries_its_status_never_resumed() {
    let refused = Response::status(429).header("retry-after", "0");
    let server = TestServer::start(
        Script::new()
            .connection(refused.clone())
            .connection(refused)
            .then(Response::sse().body("id: 1\ndata: answer\n\n")),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let url = server.url_for("/feed");
    let mut source = EventSource::builder(client.post(&url).body("{}"))
        .retry_policy(fast().retry_status(429))
        .last_event_id("seeded")
        .resume_with(move |_| client.get(&url))
        .build()
        .unwrap();
    let items = collect_all(&mut source).await;
    assert_eq!(
        items,
        [
            "reconnecting: the server answered with status 429 Too Many Requests",
            "reconnecting: the server answered with status 429 Too Many Requests",
            "open",
            r#"message message "answer" id=1"#
        ]
    );
    // The POST, body and all, three times: the server did not act on it.
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for request in &seen {
        assert_eq!(request.method(), "POST");
        assert_eq!(request.body(), b"{}");
    }
    // A status the policy does not retry is final.
    let server = TestServer::start(Script::new().then(Response::status(503))).unwrap();
    let mut source = EventSource::builder(
        reqwest::Client::new()
            .post(server.url_for("/feed"))
            .body("{}"),
    )
    .retry_policy(fast().retry_status(429))
    .build()
    .unwrap();
    assert_eq!(
        collect_all(&mut source).await,
        ["error: the server answered with status 503 Service Unavailable"]
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_streamed_post_refused_cannot_be_sent_again_and_says_why() {
    let server = TestServer::start(Script::new().then(Response::status(429))).unwrap();
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("{}")]);
    let post = reqwest::Client::new()
        .post(server.url_for("/feed"))
        .body(reqwest::Body::wrap_stream(chunks));
    let mut source = EventSource::builder(post)
        .retry_policy(fast().retry_status(429))
        .build()
        .unwrap();
    assert_eq!(
        collect_all(&mut source).await,
        ["error: the server answered with status 429 Too Many Requests"]
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_sentinel_ends_a_stream_the_server_holds_open() {
    let server = TestServer::start(
        Script::new().then(
            Response::sse()
                .body("data: token\n\ndata: [DONE]\n\ndata: never delivered\n\n")
                // The server would hold the connection for a minute.
                .hold_open(),
        ),
    )
    .unwrap();
    let request = reqwest::Client::new()
        .post(server.url_for("/feed"))
        .body("{}");
    let mut source = EventSource::builder(request)
        .complete_on(|message| message.data() == "[DONE]")
        .build()
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        collect_all(&mut source).await,
        [
            "open",
            r#"message message "token" id="#,
            r#"message message "[DONE]" id="#
        ]
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(source.ready_state(), ReadyState::Closed);
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_feed_that_replays_the_named_event_delivers_it_once_with_dedupe() {
    for (window, want) in [(0, ["a", "b", "b", "c"].as_slice()), (8, &["a", "b", "c"])] {
        let server = TestServer::start(
            Script::new()
                .connection(Response::sse().body("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"))
                // Resends the event the request names, then goes on.
                .connection(Response::sse().body("id: 2\ndata: b\n\nid: 3\ndata: c\n\n")),
        )
        .unwrap();
        let mut source = EventSource::builder(reqwest::Client::new().get(server.url_for("/feed")))
            .retry_policy(fast())
            .dedupe_ids(window)
            .build()
            .unwrap();
        let mut data = Vec::new();
        while let Some(item) = next(&mut source).await {
            if let Event::Message(message) = item.unwrap() {
                data.push(message.data().to_owned());
            }
        }
        assert_eq!(data, want, "window {window}");
        assert_eq!(server.requests()[1].header("last-event-id"), Some("2"));
    }
}

#[tokio::test]
async fn a_streamed_post_can_start_a_reconnecting_feed_that_goes_on_with_gets() {
    let server =
        TestServer::start(Script::new().connection(Response::sse().body("id: 1\ndata: a\n\n")))
            .unwrap();
    let client = reqwest::Client::new();
    let url = server.url_for("/feed");
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("{}")]);
    let post = client.post(&url).body(reqwest::Body::wrap_stream(chunks));
    // The body cannot be sent twice, and need not be: GETs follow it.
    let mut source = EventSource::builder(post)
        .reconnect(true)
        .retry_policy(fast())
        .resume_with(move |_| client.get(&url))
        .build()
        .unwrap();
    let items = collect_all(&mut source).await;
    assert_eq!(items[..2], ["open", r#"message message "a" id=1"#]);
    assert!(matches!(
        source.close_reason(),
        Some(CloseReason::NoContent(_))
    ));
    assert!(request_line(&server, 0).starts_with("POST "));
    assert!(request_line(&server, 1).starts_with("GET "));
}

#[tokio::test]
async fn an_async_resume_factory_may_fail_and_is_retried() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().body("id: 1\ndata: a\n\n"))
            .then(Response::sse().body("id: 2\ndata: [DONE]\n\n")),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let url = server.url_for("/feed");
    let calls = Arc::new(AtomicU32::new(0));
    let made = calls.clone();
    let mut source = EventSource::builder(client.post(&url).body("{}"))
        .retry_policy(fast())
        .complete_on(|message| message.data() == "[DONE]")
        .resume_with_async(move |ctx| {
            let call = made.fetch_add(1, Ordering::SeqCst);
            let request = client.get(&url);
            let id = ctx.last_event_id().to_owned();
            async move {
                tokio::task::yield_now().await;
                if call == 0 {
                    return Err(std::io::Error::other("token service down"));
                }
                Ok(request.bearer_auth(format!("token-{call}-{id}")))
            }
        })
        .build()
        .unwrap();
    assert_eq!(
        collect_all(&mut source).await,
        [
            "open",
            r#"message message "a" id=1"#,
            "reconnecting: the stream ended before it was complete",
            "reconnecting: making the event stream request failed",
            "open",
            r#"message message "[DONE]" id=2"#,
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("authorization"), Some("Bearer token-1-1"));
    assert_eq!(seen[1].header("last-event-id"), Some("1"));
}
