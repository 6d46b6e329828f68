//! What the server said: the response that opened a stream (status,
//! headers, final URL, HTTP version), the response that refused one (its
//! body too, bounded in size and time), and the content type check.

#![cfg(feature = "client")]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use ssefeed::{CloseReason, Error, Event, EventSource, HttpVersion};
use support::{RawServer, Step, collect_all, fast, flood, head, next, write};
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
    let server = RawServer::start(|n, _| match n {
        0 | 1 => vec![
            head(
                "200 OK",
                &[
                    ("content-type", "text/event-stream"),
                    ("x-connection", &n.to_string()),
                ],
            ),
            write("retry: 1\ndata: x\n\n"),
        ],
        _ => vec![head("204 No Content", &[("x-reason", "done")])],
    })
    .await;
    let request = reqwest::Client::new().get(&server.url);
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
    let (endless, sent) = flood(b'x', 64 << 20, 16 << 10);
    let server = RawServer::start(move |_, _| {
        vec![
            head(
                "500 Internal Server Error",
                &[("content-type", "text/plain")],
            ),
            endless.clone(),
        ]
    })
    .await;
    for (limit, expected) in [(None, 64 * 1024), (Some(1000), 1000), (Some(0), 0)] {
        let request = reqwest::Client::new().get(&server.url);
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
    server.wait_closed().await;
    assert!(sent.load(Ordering::SeqCst) < 3 * (64 << 20));
}

#[tokio::test]
async fn a_trickling_error_body_is_cut_by_the_read_timeout() {
    let server = RawServer::start(|_, _| {
        vec![
            head("429 Too Many Requests", &[("content-type", "text/plain")]),
            write("slow"),
            Step::Trickle(b"down please".to_vec(), Duration::from_secs(1)),
        ]
    })
    .await;
    let request = reqwest::Client::new().get(&server.url);
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
    let server = RawServer::start(|_, _| {
        vec![
            head("400 Bad Request", &[("content-length", "4")]),
            write(b"ok\xff!"),
        ]
    })
    .await;
    let mut source = EventSource::new(reqwest::Client::new().get(&server.url)).unwrap();
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
    let server = RawServer::start(|n, _| match n {
        0 | 1 => vec![
            write("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"),
            write("id: 1\ndata: {\"token\":\"hi\"}\n\n"),
        ],
        2 => vec![
            head("200 OK", &[("content-type", "application/json")]),
            write("data: also\n\n"),
        ],
        _ => vec![head("204 No Content", &[])],
    })
    .await;
    let strict = reqwest::Client::new().get(&server.url);
    let mut source = EventSource::builder(strict).build().unwrap();
    let error = refusal_of(&mut source).await;
    assert!(matches!(error, Error::ContentType(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the server answered with content type (none), not text/event-stream"
    );

    let lenient = reqwest::Client::new().get(&server.url);
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
