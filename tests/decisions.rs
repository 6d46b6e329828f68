//! Who decides: errors that cannot heal end at once, the retry hook,
//! request factories told why the last attempt ended, and reconnecting on
//! demand.

#![cfg(feature = "client")]

mod support;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::testing::{Response, Script, TestServer};
use ssefeed::{CloseReason, Error, Event, EventSource, RetryDecision};
use support::{collect_all, fast, get_source, next, untrusted_tls_server};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_request_that_can_never_be_sent_ends_at_once() {
    // reqwest builds the request, then refuses to send it: no retry loop.
    let request = reqwest::Client::new().get("ftp://127.0.0.1:9/feed");
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .build()
        .unwrap();
    let error = match next(&mut source).await {
        Some(Err(error)) => error,
        other => panic!("{other:?}"),
    };
    assert!(matches!(error, Error::InvalidRequest(_)), "{error:?}");
    assert!(!error.is_retryable());
    assert!(
        error
            .report()
            .to_string()
            .contains("URL scheme is not allowed"),
        "{}",
        error.report()
    );
    assert!(next(&mut source).await.is_none());
}

#[tokio::test]
async fn a_factory_request_that_cannot_be_built_ends_at_once() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let mut source = EventSource::builder_fn(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        reqwest::Client::new()
            .get("http://127.0.0.1:9/")
            .header("bad header", "x")
    })
    .retry_policy(fast())
    .build()
    .unwrap();
    let got = next(&mut source).await;
    assert!(
        matches!(got, Some(Err(Error::InvalidRequest(_)))),
        "{got:?}"
    );
    assert!(next(&mut source).await.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_untrusted_certificate_ends_at_once() {
    let (url, accepted) = untrusted_tls_server().await;
    let mut source = get_source(&url, fast());
    let error = match next(&mut source).await {
        Some(Err(error)) => error,
        other => panic!("{other:?}"),
    };
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(!error.is_retryable(), "{}", error.report());
    assert!(
        error.report().to_string().contains("certificate"),
        "{}",
        error.report()
    );
    assert!(next(&mut source).await.is_none());
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_still_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let request = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/"));
    let mut source = EventSource::builder(request)
        .retry_policy(fast().max_retries(2))
        .build()
        .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("reconnecting: the request to the event stream failed"));
    assert_eq!(got[2], "error: gave up reconnecting after 2 attempts");
}

/// A server that ends every stream cleanly after one event.
async fn ending_server() -> TestServer {
    TestServer::start(Script::from_fn(|request| {
        let n = request.index();
        Response::sse().body(format!("id: {n}\ndata: {n}\n\n"))
    }))
    .unwrap()
}

#[tokio::test]
async fn the_hook_can_stop_and_its_cause_is_the_final_error() {
    let server = ending_server().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let policy = fast().on_retry(move |ctx| {
        log.lock().unwrap().push((
            ctx.attempt(),
            ctx.default_delay(),
            ctx.has_opened(),
            ctx.cause().to_string(),
        ));
        if log.lock().unwrap().len() >= 3 {
            RetryDecision::Stop
        } else {
            RetryDecision::Default
        }
    });
    let mut source = get_source(&server.url_for("/feed"), policy);
    let got = collect_all(&mut source).await;
    assert_eq!(got.last().unwrap(), "error: the server ended the stream");
    assert_eq!(server.requests().len(), 3);
    let seen = seen.lock().unwrap();
    // Each connection delivered an event, so every attempt is the first in
    // a row, and the default is the reconnection time (1 ms).
    assert_eq!(seen.len(), 3);
    for (attempt, default, opened, cause) in seen.iter() {
        assert_eq!(
            (*attempt, *default, *opened, cause.as_str()),
            (
                1,
                Some(Duration::from_millis(1)),
                true,
                "the server ended the stream"
            )
        );
    }
}

#[tokio::test]
async fn the_hook_can_set_the_delay() {
    let server =
        TestServer::start(Script::new().connection(Response::sse().body("data: a\n\n"))).unwrap();
    let policy = fast().on_retry(|_| RetryDecision::RetryAfter(Duration::from_millis(300)));
    let mut source = get_source(&server.url_for("/feed"), policy);
    let mut delays = Vec::new();
    while let Some(item) = next(&mut source).await {
        if let Event::Reconnecting { delay, .. } = item.unwrap() {
            delays.push(delay);
        }
    }
    assert_eq!(delays, [Duration::from_millis(300)]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].at() - requests[0].at() >= Duration::from_millis(300));
}

#[tokio::test]
async fn the_hook_can_retry_a_status_the_policy_would_not() {
    // A 500 the policy does not retry: the hook retries it twice, then lets
    // the default (stop) stand.
    let server = TestServer::start(
        Script::new().then(
            Response::status(500)
                .header("content-length", "4")
                .body("oops"),
        ),
    )
    .unwrap();
    let policy = fast().on_retry(|ctx| {
        assert_eq!(ctx.default_delay(), None);
        assert!(!ctx.has_opened());
        assert_eq!(ctx.cause().body().as_deref(), Some("oops"));
        if ctx.attempt() <= 2 {
            RetryDecision::RetryAfter(Duration::ZERO)
        } else {
            RetryDecision::Default
        }
    });
    let mut source = get_source(&server.url_for("/feed"), policy);
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "reconnecting: the server answered with status 500 Internal Server Error",
            "reconnecting: the server answered with status 500 Internal Server Error",
            "error: the server answered with status 500 Internal Server Error",
        ]
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_401_is_retried_once_after_a_token_refresh_in_the_factory() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer stale"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(r#"{"error":"token expired"}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer fresh"))
        .and(header("last-event-id", "1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("authorization", "Bearer fresh"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("retry: 1\nid: 1\ndata: hi\n\n", "text/event-stream"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let uri = server.uri();
    let contexts = Arc::new(Mutex::new(Vec::new()));
    let log = contexts.clone();
    let mut source = EventSource::builder_fn(move |ctx| {
        let refresh = ctx.cause().and_then(Error::status) == Some(401);
        log.lock().unwrap().push((
            ctx.attempt(),
            ctx.last_event_id().to_owned(),
            ctx.cause().map(ToString::to_string),
        ));
        let token = if refresh || ctx.attempt() > 0 {
            "fresh"
        } else {
            "stale"
        };
        client.get(&uri).bearer_auth(token)
    })
    .retry_policy(fast().on_retry(|ctx| match ctx.cause().status() {
        Some(401) if ctx.attempt() == 1 => RetryDecision::RetryAfter(Duration::ZERO),
        _ => RetryDecision::Default,
    }))
    .build()
    .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "reconnecting: the server answered with status 401 Unauthorized",
            "open",
            "message message \"hi\" id=1",
            "reconnecting: the server ended the stream",
        ]
    );
    assert!(matches!(
        source.close_reason(),
        Some(CloseReason::NoContent(_))
    ));
    let contexts = contexts.lock().unwrap();
    assert_eq!(
        *contexts,
        [
            (0, String::new(), None),
            (
                1,
                String::new(),
                Some("the server answered with status 401 Unauthorized".to_owned())
            ),
            (
                1,
                "1".to_owned(),
                Some("the server ended the stream".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn a_second_401_is_final() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let policy = fast().on_retry(|ctx| match ctx.cause().status() {
        Some(401) if ctx.attempt() == 1 => RetryDecision::RetryAfter(Duration::ZERO),
        _ => RetryDecision::Default,
    });
    let mut source = get_source(&server.uri(), policy);
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "reconnecting: the server answered with status 401 Unauthorized",
            "error: the server answered with status 401 Unauthorized",
        ]
    );
}

#[tokio::test]
async fn an_async_factory_awaits_its_token_and_its_failure_is_retried() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("data: ok\n\n", "text/event-stream"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let uri = server.uri();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let mut source = EventSource::builder_async(move |ctx| {
        let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
        let request = client.get(&uri);
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if n == 1 {
                assert!(ctx.cause().is_none());
                return Err(std::io::Error::other("token service down"));
            }
            if n == 2 {
                assert!(matches!(ctx.cause(), Some(Error::RequestFactory(_))));
            }
            Ok(request.bearer_auth(format!("token-{n}")))
        }
    })
    .retry_policy(fast())
    .build()
    .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        [
            "reconnecting: making the event stream request failed",
            "open",
            "message message \"ok\" id=",
            "reconnecting: the server ended the stream",
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_factory_can_put_the_last_event_id_in_the_url() {
    let server = TestServer::start(Script::from_fn(|request| {
        let since = format!(
            "{} {} {}",
            request.method(),
            request.target(),
            request.version()
        );
        match request.index() {
            0 => {
                assert!(since.starts_with("GET /feed?since= "), "{since}");
                Response::sse().body("retry: 1\nid: 41\ndata: a\n\n")
            }
            _ => {
                assert!(since.starts_with("GET /feed?since=41 "), "{since}");
                Response::no_content()
            }
        }
    }))
    .unwrap();
    let feed = reqwest::Url::parse(&server.url_for("/feed")).unwrap();
    let mut source = EventSource::builder_fn(move |ctx| {
        let mut url = feed.clone();
        url.query_pairs_mut()
            .append_pair("since", ctx.last_event_id());
        reqwest::Client::new().get(url)
    })
    .build()
    .unwrap();
    let got = collect_all(&mut source).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn reconnect_now_resumes_with_last_event_id_at_once() {
    // The first connection delivers one event and then idles; the second
    // must come at once (not after the 1 h reconnection time) with the ID.
    let server = TestServer::start(Script::from_fn(|request| match request.index() {
        0 => Response::sse()
            .body("retry: 3600000\nid: 5\ndata: first\n\nid: 6\ndata: cut")
            .hold_open(),
        1 => {
            assert_eq!(request.header("last-event-id"), Some("5"));
            Response::sse().body("id: 6\ndata: again\n\n")
        }
        _ => Response::no_content(),
    }))
    .unwrap();
    let mut source = EventSource::builder(reqwest::Client::new().get(server.url_for("/feed")))
        .build()
        .unwrap();
    assert!(matches!(next(&mut source).await, Some(Ok(Event::Open(_)))));
    assert!(matches!(next(&mut source).await, Some(Ok(Event::Message(m))) if m.data() == "first"));
    // Nothing more comes on this connection.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), source.next())
            .await
            .is_err()
    );
    assert!(source.reconnect_now());
    assert!(matches!(next(&mut source).await, Some(Ok(Event::Open(_)))));
    assert!(matches!(next(&mut source).await, Some(Ok(Event::Message(m))) if m.data() == "again"));
    assert_eq!(source.last_event_id(), "6");
    source.close();
    assert!(!source.reconnect_now());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn reconnect_now_cuts_a_reconnect_wait_short() {
    let server = TestServer::start(
        Script::new().connection(Response::sse().body("retry: 3600000\nid: 1\ndata: a\n\n")),
    )
    .unwrap();
    let mut source = EventSource::builder(reqwest::Client::new().get(server.url_for("/feed")))
        .build()
        .unwrap();
    let mut waiting = false;
    while let Some(item) = next(&mut source).await {
        if let Event::Reconnecting { delay, .. } = item.unwrap() {
            // An hour asked for, capped at the default 10 minutes.
            assert!(delay >= Duration::from_secs(600));
            waiting = true;
            assert!(source.reconnect_now());
        }
    }
    assert!(waiting);
    assert!(matches!(
        source.close_reason(),
        Some(CloseReason::NoContent(_))
    ));
    assert_eq!(server.requests()[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn reconnect_now_does_nothing_in_one_shot_mode() {
    let server = TestServer::start(
        Script::new().then(
            Response::sse()
                .body("data: a\n\n")
                .pause(Duration::from_millis(300))
                .body("data: b\n\n"),
        ),
    )
    .unwrap();
    let request = reqwest::Client::new()
        .post(server.url_for("/feed"))
        .body("{}");
    let mut source = EventSource::new(request).unwrap();
    assert!(matches!(next(&mut source).await, Some(Ok(Event::Open(_)))));
    assert!(!source.reconnect_now());
    let got = collect_all(&mut source).await;
    assert_eq!(
        got,
        ["message message \"a\" id=", "message message \"b\" id="]
    );
    assert_eq!(server.requests().len(), 1);
}
