//! What the server said: the response that opened a stream (status,
//! headers, final URL, HTTP version), the response that refused one (its
//! body too, bounded in size and time), and the content type check.

#![cfg(feature = "client")]

mod support;

use std::time::Duration;

use ssefeed::testing::{Response, Script, TestServer, Writes};
use ssefeed::{CloseReason, Error, Event, EventSource, HttpVersion};
use support::{collect_all, fast, next};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The final error of a source that is expected to fail at once.
async fn refusal_of(source: &mut EventSource) -> Error {
    let error = match next(source).await {
        Some(Err(error)) => error,
        other => panic!("expected a final error, got {other:?}"),
    };
    assert!(next(source).await.is_none());
    assert_eq!(source.close_reason(), Some(&CloseReason::Failed));
    error
}

#[tokio::test]
async fn open_carries_headers_the_final_url_and_the_version_after_a_redirect() {
    let server = MockServer::start().await;
    Mock::given(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/feed?v=2"))
        .mount(&server)
        .await;
    Mock::given(path("/feed"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req-7")
                .append_header("set-cookie", "a=1")
                .append_header("set-cookie", "b=2")
                .set_body_raw("data: hi\n\n", "text/event-stream"),
        )
        .mount(&server)
        .await;
    let request = reqwest::Client::new().get(format!("{}/start", server.uri()));
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .build()
        .unwrap();
    let Some(Ok(Event::Open(response))) = next(&mut source).await else {
        panic!("no open");
    };
    assert_eq!(response.status(), 200);
    assert_eq!(response.url(), Some(&*format!("{}/feed?v=2", server.uri())));
    assert_eq!(response.version(), HttpVersion::Http11);
    assert_eq!(response.get("X-Request-Id"), Some("req-7"));
    assert_eq!(
        response.get_all("set-cookie").collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
    assert_eq!(response.content_type(), Some("text/event-stream"));
    assert!(matches!(next(&mut source).await, Some(Ok(Event::Message(m))) if m.data() == "hi"));
}

#[tokio::test]
async fn each_connection_reports_its_own_response() {
    let server = TestServer::start(Script::from_fn(|request| match request.index() {
        n @ (0 | 1) => Response::sse()
            .header("x-connection", n.to_string())
            .body("retry: 1\ndata: x\n\n"),
        _ => Response::no_content().header("x-reason", "done"),
    }))
    .unwrap();
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .build()
        .unwrap();
    let mut seen = Vec::new();
    while let Some(item) = next(&mut source).await {
        if let Event::Open(response) = item.unwrap() {
            seen.push(response.get("x-connection").unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["0", "1"]);
    match source.close_reason() {
        Some(CloseReason::NoContent(response)) => {
            assert_eq!(response.status(), 204);
            assert_eq!(response.get("x-reason"), Some("done"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_401_json_error_body_is_readable_from_the_error() {
    let body =
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("request-id", "req_011")
                .set_body_raw(body, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let request = reqwest::Client::new().post(server.uri()).body("{}");
    let mut source = EventSource::new(request).unwrap();
    let error = refusal_of(&mut source).await;
    assert_eq!(
        error.to_string(),
        "the server answered with status 401 Unauthorized"
    );
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.body().as_deref(), Some(body));
    let refusal = error.refusal().unwrap();
    assert!(refusal.body_is_complete());
    assert_eq!(refusal.head().get("request-id"), Some("req_011"));
    assert_eq!(refusal.head().content_type(), Some("application/json"));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_endless_error_body_is_cut_at_the_limit() {
    let server = TestServer::start(
        Script::new().then(
            Response::status(500)
                .header("content-type", "text/plain")
                .repeat(b'x', 64 << 20),
        ),
    )
    .unwrap();
    for (limit, expected) in [(None, 64 * 1024), (Some(1000), 1000), (Some(0), 0)] {
        let request = reqwest::Client::new().get(server.url_for("/feed"));
        let mut builder = EventSource::builder(request).retry_policy(fast());
        if let Some(limit) = limit {
            builder = builder.refusal_body_limit(limit);
        }
        let mut source = builder.build().unwrap();
        let error = refusal_of(&mut source).await;
        let refusal = error.refusal().unwrap();
        assert_eq!(refusal.body().len(), expected, "{limit:?}");
        assert!(refusal.body().iter().all(|&b| b == b'x'));
        assert!(!refusal.body_is_complete());
    }
    // The client stopped reading: the server could not send it all.
    server.wait_closed().await.unwrap();
    assert!(server.bytes_written() < 3 * (64 << 20));
}

#[tokio::test]
async fn a_trickling_error_body_is_cut_by_the_read_timeout() {
    let server = TestServer::start(
        Script::new().then(
            Response::status(429)
                .header("content-type", "text/plain")
                .body("slowdown please")
                .writes(Writes::At((4..15).collect()))
                .write_gap(Duration::from_secs(1)),
        ),
    )
    .unwrap();
    let request = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(request)
        .refusal_body_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = refusal_of(&mut source).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let refusal = error.refusal().unwrap();
    assert!(refusal.body_text().starts_with("slow"), "{refusal:?}");
    assert!(!refusal.body_is_complete());
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_shown_lossily_and_kept_as_sent() {
    let server = TestServer::start(
        Script::new().then(
            Response::status(400)
                .header("content-length", "4")
                .body(b"ok\xff!"),
        ),
    )
    .unwrap();
    let mut source = EventSource::new(reqwest::Client::new().get(server.url_for("/feed"))).unwrap();
    let error = refusal_of(&mut source).await;
    assert_eq!(error.refusal().unwrap().body(), b"ok\xff!");
    assert_eq!(error.body().as_deref(), Some("ok\u{fffd}!"));
}

#[tokio::test]
async fn a_wrong_content_type_keeps_the_body_it_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
        .expect(1)
        .mount(&server)
        .await;
    let mut source = EventSource::new(reqwest::Client::new().get(server.uri())).unwrap();
    let error = refusal_of(&mut source).await;
    assert!(matches!(error, Error::ContentType(_)), "{error:?}");
    assert_eq!(error.status(), Some(200));
    assert_eq!(error.body().as_deref(), Some("<html>login</html>"));
}

#[tokio::test]
async fn a_missing_content_type_is_accepted_only_when_asked() {
    // A 200 with no content type at all.
    let untyped = Response::status(200).body("id: 1\ndata: {\"token\":\"hi\"}\n\n");
    let server = TestServer::start(
        Script::new()
            .connection(untyped.clone())
            .connection(untyped)
            .connection(
                Response::sse()
                    .header("content-type", "application/json")
                    .body("data: also\n\n"),
            ),
    )
    .unwrap();
    let strict = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(strict).build().unwrap();
    let error = refusal_of(&mut source).await;
    assert!(matches!(error, Error::ContentType(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the server answered with content type (none), not text/event-stream"
    );

    let lenient = reqwest::Client::new().get(server.url_for("/feed"));
    let mut source = EventSource::builder(lenient)
        .retry_policy(fast())
        .accept_any_content_type(true)
        .build()
        .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"{\\\"token\\\":\\\"hi\\\"}\" id=1",
            "reconnecting: the server ended the stream",
            "open",
            "message message \"also\" id=1",
            "reconnecting: the server ended the stream",
        ]
    );
    assert!(matches!(
        source.close_reason(),
        Some(CloseReason::NoContent(_))
    ));
}
