//! The client against a wiremock server: request headers, statuses, content
//! types, redirects, Last-Event-ID and `retry:` on reconnect.

#![cfg(feature = "client")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssefeed::{EventSource, ReadyState, RetryPolicy};
use support::{collect, collect_all, one_shot_post};
use tokio::time::Instant;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn sse(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/event-stream")
}

/// A 20 ms reconnection time: the server's `retry:` is honoured above 1 ms.
fn fast() -> RetryPolicy {
    support::fast().initial(Duration::from_millis(20))
}

fn source(server: &MockServer, policy: RetryPolicy) -> EventSource {
    let request = reqwest::Client::new().get(format!("{}/feed", server.uri()));
    EventSource::builder(request)
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// Answers with `template` and records when each request came.
#[derive(Clone)]
struct Recording {
    template: ResponseTemplate,
    at: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for Recording {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.at.lock().unwrap().push(Instant::now());
        self.template.clone()
    }
}

#[tokio::test]
async fn sends_accept_and_cache_control_but_no_last_event_id_at_first() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .and(header("accept", "text/event-stream"))
        .and(header("cache-control", "no-cache"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    assert_eq!(collect_all(&mut source).await, Vec::<String>::new());
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("last-event-id").is_none());
}

#[tokio::test]
async fn opens_on_event_stream_with_parameters_in_any_case() {
    for content_type in [
        "text/event-stream; charset=utf-8",
        "Text/Event-Stream",
        "text/event-stream;",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(&b"data: hi\n\n"[..], content_type),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        let mut source = source(&server, fast());
        assert_eq!(
            collect_all(&mut source).await,
            [
                "open",
                "message message \"hi\" id=",
                "reconnecting: the server ended the stream"
            ],
            "{content_type}"
        );
        assert_eq!(source.ready_state(), ReadyState::Closed);
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_fails_without_reconnecting() {
    for content_type in [Some("text/plain"), Some("application/json"), None] {
        let server = MockServer::start().await;
        let template = match content_type {
            Some(content_type) => {
                ResponseTemplate::new(200).set_body_raw(&b"data: hi\n\n"[..], content_type)
            }
            None => ResponseTemplate::new(200).set_body_bytes(&b"data: hi\n\n"[..]),
        };
        Mock::given(method("GET"))
            .respond_with(template)
            .expect(1)
            .mount(&server)
            .await;
        let mut source = source(&server, fast());
        let got = collect_all(&mut source).await;
        let name = content_type.unwrap_or("(none)");
        assert_eq!(
            got,
            [format!(
                "error: the server answered with content type {name}, not text/event-stream"
            )]
        );
        assert_eq!(source.ready_state(), ReadyState::Closed);
    }
}

#[tokio::test]
async fn stops_on_204() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(sse("retry: 1\nid: 1\ndata: a\n\n"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"a\" id=1",
            "reconnecting: the server ended the stream"
        ]
    );
    // And nothing more, even later.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn client_and_server_errors_fail_without_the_retry_policy() {
    for (status, reason) in [
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (404, "Not Found"),
        (500, "Internal Server Error"),
        (503, "Service Unavailable"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).insert_header("retry-after", "1"))
            .expect(1)
            .mount(&server)
            .await;
        let mut source = source(&server, fast());
        let got = collect_all(&mut source).await;
        assert_eq!(
            got,
            [format!(
                "error: the server answered with status {status} {reason}"
            )]
        );
    }
}

#[tokio::test]
async fn error_carries_the_refused_response() {
    use futures_util::StreamExt;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "7")
                .set_body_raw("<h1>down for maintenance</h1>", "text/html"),
        )
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    let error = source.next().await.unwrap().unwrap_err();
    match &error {
        ssefeed::Error::Status(refused) => {
            assert_eq!(refused.head().status(), 503);
            assert_eq!(refused.head().retry_after(), Some(Duration::from_secs(7)));
            assert_eq!(refused.head().content_type(), Some("text/html"));
            assert_eq!(refused.body_text(), "<h1>down for maintenance</h1>");
            assert!(refused.body_is_complete());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.status(), Some(503));
    assert!(source.next().await.is_none());
}

#[tokio::test]
async fn retry_policy_retries_server_errors_honouring_retry_after() {
    let server = MockServer::start().await;
    let at = Arc::new(Mutex::new(Vec::new()));
    let unavailable = Recording {
        template: ResponseTemplate::new(503).insert_header("retry-after", "1"),
        at: at.clone(),
    };
    Mock::given(method("GET"))
        .respond_with(unavailable)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let ok = Recording {
        template: sse("data: back\n\n"),
        at: at.clone(),
    };
    Mock::given(method("GET"))
        .respond_with(ok)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let mut source = source(&server, fast().retry_transient_statuses());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "reconnecting: the server answered with status 503 Service Unavailable",
            "open",
            "message message \"back\" id=",
            "reconnecting: the server ended the stream"
        ]
    );
    let at = at.lock().unwrap();
    let gap = at[1] - at[0];
    assert!(
        gap >= Duration::from_secs(1) && gap < Duration::from_secs(5),
        "{gap:?}"
    );
}

#[tokio::test]
async fn reconnects_with_last_event_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("last-event-id", "2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(sse(
            "retry: 5\nid: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: unfinished\n",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"a\" id=1",
            "message message \"b\" id=2",
            "reconnecting: the stream ended before it was complete"
        ]
    );
    assert_eq!(source.last_event_id(), "2");
}

#[tokio::test]
async fn last_event_id_is_absent_after_an_empty_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(sse("retry: 5\nid: 1\ndata: a\n\nid\ndata: b\n\n"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header_exists("last-event-id"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got.last().unwrap(),
        "reconnecting: the server ended the stream"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].headers.get("last-event-id").is_none());
}

#[tokio::test]
async fn seeded_last_event_id_is_sent_on_the_first_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("last-event-id", "resume-41"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let request = reqwest::Client::new().get(server.uri());
    let mut source = EventSource::builder(request)
        .last_event_id("resume-41")
        .build()
        .unwrap();
    assert_eq!(collect_all(&mut source).await, Vec::<String>::new());
}

#[tokio::test]
async fn server_retry_sets_the_gap_between_requests() {
    let server = MockServer::start().await;
    let at = Arc::new(Mutex::new(Vec::new()));
    let first = Recording {
        template: sse("retry: 400\ndata: a\n\n"),
        at: at.clone(),
    };
    Mock::given(method("GET"))
        .respond_with(first)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let second = Recording {
        template: ResponseTemplate::new(204),
        at: at.clone(),
    };
    Mock::given(method("GET"))
        .respond_with(second)
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    collect_all(&mut source).await;
    let at = at.lock().unwrap();
    assert_eq!(at.len(), 2);
    let gap = at[1] - at[0];
    assert!(
        gap >= Duration::from_millis(400) && gap < Duration::from_secs(3),
        "{gap:?}"
    );
}

#[tokio::test]
async fn follows_redirect_chains() {
    for status in [301, 302, 307] {
        let server = MockServer::start().await;
        Mock::given(path("/a"))
            .respond_with(ResponseTemplate::new(status).insert_header("location", "/b"))
            .mount(&server)
            .await;
        Mock::given(path("/b"))
            .respond_with(ResponseTemplate::new(status).insert_header("location", "/feed"))
            .mount(&server)
            .await;
        Mock::given(path("/feed"))
            .respond_with(sse("data: here\n\n"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/feed"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        let request = reqwest::Client::new().get(format!("{}/a", server.uri()));
        let mut source = EventSource::builder(request)
            .retry_policy(fast())
            .build()
            .unwrap();
        let got = collect(&mut source, 2).await;
        assert_eq!(got, ["open", "message message \"here\" id="], "{status}");
    }
}

#[tokio::test]
async fn cross_origin_redirect_drops_credentials() {
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    // Another port is another origin.
    Mock::given(path("/feed"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/feed", second.uri())),
        )
        .mount(&first)
        .await;
    Mock::given(path("/feed"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&second)
        .await;
    let request = reqwest::Client::new()
        .get(format!("{}/feed", first.uri()))
        .bearer_auth("secret-token")
        .header("cookie", "session=1");
    let mut source = EventSource::builder(request).build().unwrap();
    assert_eq!(collect_all(&mut source).await, Vec::<String>::new());
    let on_first = &first.received_requests().await.unwrap()[0];
    assert!(on_first.headers.get("authorization").is_some());
    let on_second = &second.received_requests().await.unwrap()[0];
    assert!(on_second.headers.get("authorization").is_none());
    assert!(on_second.headers.get("cookie").is_none());
    assert_eq!(
        on_second.headers.get("accept").unwrap(),
        "text/event-stream"
    );
}

#[tokio::test]
async fn posts_a_body_and_resends_it_on_reconnect_when_asked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string(r#"{"prompt":"hi"}"#))
        .and(header_exists("last-event-id"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string(r#"{"prompt":"hi"}"#))
        .respond_with(sse("retry: 1\nid: 9\ndata: tok\n\n"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let request = reqwest::Client::new()
        .post(server.uri())
        .body(r#"{"prompt":"hi"}"#);
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .reconnect(true)
        .build()
        .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(got[..2], ["open", "message message \"tok\" id=9"]);
}

#[tokio::test]
async fn a_post_is_not_sent_again_after_a_clean_end_by_default() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse("retry: 1\nid: 9\ndata: tok\n\n"))
        .expect(1)
        .mount(&server)
        .await;
    let request = reqwest::Client::new().post(server.uri()).body("{}");
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .build()
        .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(got, ["open", "message message \"tok\" id=9"]);
    assert_eq!(
        source.close_reason(),
        Some(&ssefeed::CloseReason::Completed)
    );
    // Give a wrongly scheduled reconnect the time to show (retry: 1 ms).
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.verify().await;
}

#[tokio::test]
async fn a_factory_post_is_one_shot_by_default_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse("retry: 1\ndata: tok\n\n"))
        .expect(1)
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let uri = server.uri();
    let mut source = EventSource::builder_fn(move |_| client.post(&uri).body("{}"))
        .retry_policy(fast())
        .build()
        .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(got, ["open", "message message \"tok\" id="]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.verify().await;
}

#[tokio::test]
async fn one_shot_post_is_sent_once_and_ends_cleanly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse("data: {\"t\":\"a\"}\n\ndata: [DONE]\n\n"))
        .expect(1)
        .mount(&server)
        .await;
    let mut source = one_shot_post(&server.uri());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"{\\\"t\\\":\\\"a\\\"}\" id=",
            "message message \"[DONE]\" id="
        ]
    );
    assert_eq!(source.ready_state(), ReadyState::Closed);
}

#[tokio::test]
async fn one_shot_reports_a_truncated_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse("data: complete\n\ndata: cut"))
        .expect(1)
        .mount(&server)
        .await;
    let mut source = one_shot_post(&server.uri());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "open",
            "message message \"complete\" id=",
            "error: the stream ended before it was complete"
        ]
    );
}

#[tokio::test]
async fn request_fn_is_called_before_each_attempt() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer token-1"))
        .respond_with(sse("retry: 1\ndata: x\n\n"))
        .expect(1)
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let uri = server.uri();
    let mut n = 0;
    let mut source = EventSource::builder_fn(move |_| {
        n += 1;
        client.get(&uri).bearer_auth(format!("token-{n}"))
    })
    .retry_policy(fast())
    .build()
    .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(got.len(), 3, "{got:?}");
}

#[tokio::test]
async fn max_retries_fires_against_a_server_that_keeps_failing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    let mut source = source(&server, fast().retry_status(503).max_retries(3));
    let got = collect_all(&mut source).await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[3], "error: gave up reconnecting after 3 attempts");
}

#[tokio::test]
async fn close_ends_the_stream_at_once() {
    use futures_util::StreamExt;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(sse(": hi\n\n").set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    let pending = tokio::time::timeout(Duration::from_millis(100), source.next()).await;
    assert!(pending.is_err(), "nothing yet");
    source.close();
    assert_eq!(source.ready_state(), ReadyState::Closed);
    assert!(source.next().await.is_none());
}

#[tokio::test]
async fn invalid_request_is_an_error_not_a_panic() {
    let request = reqwest::Client::new().get("not a url");
    assert!(matches!(
        EventSource::new(request),
        Err(ssefeed::Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn get_tails_a_url_with_the_defaults_and_refuses_a_bad_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .and(header("accept", "text/event-stream"))
        .respond_with(sse("id: 1\ndata: a\n\n"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let mut source = EventSource::get(format!("{}/feed", server.uri())).unwrap();
    // The defaults: it reconnects (a GET) after the 3 s reconnection time.
    assert_eq!(
        collect(&mut source, 3).await,
        [
            "open",
            r#"message message "a" id=1"#,
            "reconnecting: the server ended the stream"
        ]
    );
    assert_eq!(source.reconnection_time(), Duration::from_secs(3));
    assert!(matches!(
        EventSource::get("not a url"),
        Err(ssefeed::Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn a_source_is_terminated_once_it_has_nothing_more_to_yield() {
    use futures_util::stream::FusedStream;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let mut source = source(&server, fast());
    assert!(!source.is_terminated());
    let failure = support::next(&mut source).await;
    assert!(matches!(failure, Some(Err(_))), "{failure:?}");
    assert!(source.is_terminated());
    assert!(support::next(&mut source).await.is_none());
    // Events can be kept and cloned.
    let event = ssefeed::Event::Message(ssefeed::MessageEvent::new("t", "d", "1"));
    assert!(matches!(event.clone(), ssefeed::Event::Message(m) if m.data() == "d"));
}
