//! The blocking client (`ssefeed::blocking`, feature `blocking`) against the
//! test kit's server: the same machine as the async client, driven by
//! `reqwest::blocking` from threads, with no async runtime in the test.

#![cfg(feature = "blocking")]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ssefeed::blocking::EventSource;
use ssefeed::testing::{Response, Script, ServerEvent, TestServer};
use ssefeed::{CloseReason, Error, Event, ReadyState, RetryDecision, RetryPolicy};

/// Every test runs under this bound, so a hang fails instead of blocking.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `test` on a thread of its own, failing if it takes longer than
/// [`TEST_TIMEOUT`] (a `next` that never returns).
fn within<T: Send + 'static>(test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(test());
    });
    match result.recv_timeout(TEST_TIMEOUT) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the source hung for {TEST_TIMEOUT:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test's thread panicked"),
    }
}

/// Reconnects after 10 ms, without jitter.
fn fast() -> RetryPolicy {
    RetryPolicy::new()
        .initial(Duration::from_millis(10))
        .min_delay(Duration::from_millis(10))
        .jitter(0.0)
}

/// A client without reqwest::blocking's default 30 s timeout, so that only
/// the source's own timing is under test.
fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap()
}

fn describe(item: &Result<Event, Error>) -> String {
    match item {
        Ok(Event::Open(head)) => format!("open {}", head.status()),
        Ok(Event::Message(message)) => {
            format!("message {} id={}", message.data(), message.last_event_id())
        }
        Ok(Event::Reconnecting { error, .. }) => format!("reconnecting: {error}"),
        Ok(other) => format!("{other:?}"),
        Err(error) => format!("error: {error}"),
    }
}

/// Every item until `None`, described.
fn collect_all(source: &mut EventSource) -> Vec<String> {
    source.map(|item| describe(&item)).collect()
}

#[test]
fn reconnects_with_last_event_id_after_the_server_ends_the_stream() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .event(ServerEvent::data("one").id("1"))
                    .event(ServerEvent::data("two").id("2")),
            )
            .connection(Response::sse().event(ServerEvent::data("three").id("3"))),
    )
    .unwrap(); // then 204
    let url = server.url();
    let (got, reason) = within(move || {
        let request = client().get(url);
        let mut source = EventSource::builder(request)
            .retry_policy(fast())
            .build()
            .unwrap();
        let got = collect_all(&mut source);
        (got, source.close_reason().cloned())
    });
    assert_eq!(
        got,
        [
            "open 200",
            "message one id=1",
            "message two id=2",
            "reconnecting: the server ended the stream",
            "open 200",
            "message three id=3",
            "reconnecting: the server ended the stream",
        ]
    );
    assert!(
        matches!(reason, Some(CloseReason::NoContent(_))),
        "{reason:?}"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].last_event_id(), None);
    assert_eq!(seen[1].last_event_id(), Some("2"));
    assert_eq!(seen[2].last_event_id(), Some("3"));
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));
    assert_eq!(seen[0].header("cache-control"), Some("no-cache"));
}

#[test]
fn a_204_ends_the_iterator_cleanly() {
    let server =
        TestServer::start(Script::new().connection(Response::no_content().header("x-why", "done")))
            .unwrap();
    let url = server.url();
    let (first, again, reason, state) = within(move || {
        let mut source = EventSource::new(client().get(url)).unwrap();
        let first = source.next().map(|item| describe(&item));
        let again = source.next().map(|item| describe(&item));
        (
            first,
            again,
            source.close_reason().cloned(),
            source.ready_state(),
        )
    });
    assert_eq!((first, again), (None, None));
    assert_eq!(state, ReadyState::Closed);
    match reason {
        Some(CloseReason::NoContent(head)) => assert_eq!(head.get("x-why"), Some("done")),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_idle_timeout_reconnects_a_stalled_connection() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .event(ServerEvent::data("one").id("1"))
                    .hold_open(),
            )
            .connection(Response::sse().event(ServerEvent::data("two").id("2"))),
    )
    .unwrap();
    let idle = Duration::from_millis(300);
    let url = server.url();
    let (got, stalled_for) = within(move || {
        let mut source = EventSource::builder(client().get(url))
            .retry_policy(fast())
            .idle_timeout(idle)
            .build()
            .unwrap();
        let mut got = Vec::new();
        let mut last_message = Instant::now();
        let mut stalled_for = Duration::ZERO;
        for item in &mut source {
            match &item {
                Ok(Event::Message(_)) => last_message = Instant::now(),
                Ok(Event::Reconnecting { error, .. })
                    if matches!(**error, Error::IdleTimeout { .. }) =>
                {
                    stalled_for = last_message.elapsed();
                }
                _ => {}
            }
            got.push(describe(&item));
        }
        (got, stalled_for)
    });
    assert_eq!(
        got,
        [
            "open 200",
            "message one id=1",
            "reconnecting: no data from the server for 300ms",
            "open 200",
            "message two id=2",
            "reconnecting: the server ended the stream",
        ]
    );
    assert!(
        stalled_for >= idle && stalled_for < idle + Duration::from_secs(2),
        "the stalled connection was given up after {stalled_for:?}"
    );
    assert_eq!(server.requests()[1].last_event_id(), Some("1"));
}

#[test]
fn a_connection_let_go_of_is_not_heard_from_again() {
    // The stalled connection speaks again while the next one is open: its
    // event must not leak into the new stream.
    let mut next = Response::sse().event(ServerEvent::data("two").id("2"));
    for _ in 0..10 {
        // Kept alive past the idle timeout, and past the stale event.
        next = next.pause(Duration::from_millis(150)).comment("");
    }
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .event(ServerEvent::data("one").id("1"))
                    .pause(Duration::from_millis(700))
                    .event(ServerEvent::data("stale").id("9")),
            )
            .connection(next.event(ServerEvent::data("three").id("3"))),
    )
    .unwrap();
    let url = server.url();
    let got = within(move || {
        let mut source = EventSource::builder(client().get(url))
            .retry_policy(fast())
            .idle_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        source
            .by_ref()
            .take(6)
            .map(|item| describe(&item))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        got,
        [
            "open 200",
            "message one id=1",
            "reconnecting: no data from the server for 300ms",
            "open 200",
            "message two id=2",
            "message three id=3",
        ]
    );
}

#[test]
fn the_idle_timeout_also_bounds_the_wait_for_the_response_head() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .message("late")
                    .delay(Duration::from_secs(5)),
            )
            .connection(Response::sse().message("prompt")),
    )
    .unwrap();
    let url = server.url();
    let got = within(move || {
        let mut source = EventSource::builder(client().get(url))
            .retry_policy(fast())
            .idle_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        source
            .by_ref()
            .take(3)
            .map(|item| describe(&item))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        got,
        [
            "reconnecting: no data from the server for 200ms",
            "open 200",
            "message prompt id=",
        ]
    );
}

#[test]
fn a_refusal_keeps_its_status_and_body_in_the_final_error() {
    let body = r#"{"error":{"message":"invalid api key"}}"#;
    let server = TestServer::start(
        Script::new().connection(
            Response::status(401)
                .header("content-type", "application/json")
                .header("x-request-id", "abc")
                .body(body),
        ),
    )
    .unwrap();
    let url = server.url();
    let items = within(move || {
        let source = EventSource::new(client().get(url)).unwrap();
        source.collect::<Vec<_>>()
    });
    let [Err(error)] = &items[..] else {
        panic!("{:?}", items.iter().map(describe).collect::<Vec<_>>());
    };
    assert!(matches!(error, Error::Status(_)), "{error:?}");
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.body().as_deref(), Some(body));
    assert_eq!(error.response().unwrap().get("x-request-id"), Some("abc"));
    assert!(error.refusal().unwrap().body_is_complete());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_refusal_body_is_cut_at_its_limit() {
    let server =
        TestServer::start(Script::new().connection(Response::status(500).repeat(b'x', 100_000)))
            .unwrap();
    let url = server.url();
    let error = within(move || {
        let mut source = EventSource::builder(client().get(url))
            .refusal_body_limit(1000)
            .build()
            .unwrap();
        source.next().unwrap().unwrap_err()
    });
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.body().unwrap().len(), 1000);
    assert!(!error.refusal().unwrap().body_is_complete());
}

#[test]
fn a_one_shot_post_is_sent_once() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().message("Hel").message("lo"))
            .connection(Response::sse().message("again")),
    )
    .unwrap();
    let url = server.url();
    let (got, reason) = within(move || {
        let request = client().post(url).body(r#"{"stream":true}"#);
        let mut source = EventSource::builder(request)
            .retry_policy(fast())
            .build()
            .unwrap();
        (collect_all(&mut source), source.close_reason().cloned())
    });
    assert_eq!(got, ["open 200", "message Hel id=", "message lo id="]);
    assert_eq!(reason, Some(CloseReason::Completed));
    // Long enough for a second request to arrive, were one sent.
    std::thread::sleep(Duration::from_millis(100));
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method(), "POST");
    assert_eq!(seen[0].body(), br#"{"stream":true}"#);
}

#[test]
fn a_post_reconnects_with_its_body_unless_the_body_is_streamed() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().message("one"))
            .connection(Response::status(204)),
    )
    .unwrap();
    let url = server.url();
    let streamed = client()
        .post(url.clone())
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(
            b"{}".to_vec(),
        )));
    let built = EventSource::builder(streamed).reconnect(true).build();
    assert!(matches!(built, Err(Error::BodyNotCloneable)));
    let got = within(move || {
        let request = client().post(url).body("{}");
        let mut source = EventSource::builder(request)
            .reconnect(true)
            .retry_policy(fast())
            .build()
            .unwrap();
        collect_all(&mut source)
    });
    assert_eq!(got[..2], ["open 200", "message one id="]);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|request| request.body() == b"{}"));
}

#[test]
fn a_one_shot_stream_cut_mid_event_is_truncated() {
    let server = TestServer::start(
        Script::new().connection(Response::sse().message("whole").body("data: cu")),
    )
    .unwrap();
    let url = server.url();
    let got = within(move || {
        let mut source = EventSource::new(client().post(url).body("{}")).unwrap();
        collect_all(&mut source)
    });
    assert_eq!(
        got,
        [
            "open 200",
            "message whole id=",
            "error: the stream ended before it was complete"
        ]
    );
}

#[test]
fn a_cut_post_resumes_with_the_resume_request_until_its_sentinel() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .event(ServerEvent::data("a").id("1"))
                    .body("id: 2\ndata: cu"),
            )
            .connection(
                Response::sse()
                    .event(ServerEvent::data("b").id("2"))
                    .message("[DONE]")
                    .hold_open(),
            ),
    )
    .unwrap();
    let (post, get) = (server.url_for("/call"), server.url_for("/resume"));
    let (got, reason) = within(move || {
        let client = client();
        let mut source = EventSource::builder(client.post(post).body("{}"))
            .retry_policy(fast())
            .resume_with(move |ctx| {
                assert!(matches!(ctx.cause(), Some(Error::Truncated)));
                client.get(&get)
            })
            .complete_on(|message| message.data() == "[DONE]")
            .build()
            .unwrap();
        (collect_all(&mut source), source.close_reason().cloned())
    });
    assert_eq!(
        got,
        [
            "open 200",
            "message a id=1",
            "reconnecting: the stream ended before it was complete",
            "open 200",
            "message b id=2",
            "message [DONE] id=2",
        ]
    );
    assert_eq!(reason, Some(CloseReason::Completed));
    let seen = server.requests();
    assert_eq!((seen[0].method(), seen[0].path()), ("POST", "/call"));
    assert_eq!((seen[1].method(), seen[1].path()), ("GET", "/resume"));
    assert_eq!(seen[1].last_event_id(), Some("1"));
}

#[test]
fn the_retry_hook_decides_and_errors_map_as_the_async_clients() {
    // A body reset by the server is `Interrupted`; then the hook stops.
    let server = TestServer::start(
        Script::new().connection(Response::sse().message("one").body("data: tw").reset()),
    )
    .unwrap();
    let url = server.url();
    let got = within(move || {
        let policy = fast().on_retry(|ctx| match ctx.cause() {
            Error::Interrupted(_) => RetryDecision::Stop,
            _ => RetryDecision::Default,
        });
        let mut source = EventSource::builder(client().get(url))
            .retry_policy(policy)
            .build()
            .unwrap();
        collect_all(&mut source)
    });
    assert_eq!(
        got,
        [
            "open 200",
            "message one id=",
            "error: the event stream was cut off"
        ]
    );
    // A connection refused is `Transport`, retried; a URL reqwest cannot
    // send is `InvalidRequest`, final.
    let mut stopped = TestServer::start(Script::new()).unwrap();
    let url = stopped.url();
    stopped.stop();
    let (refused, invalid) = within(move || {
        let policy = fast().max_retries(1);
        let mut source = EventSource::builder(client().get(url))
            .retry_policy(policy)
            .build()
            .unwrap();
        let refused = source.next().unwrap().unwrap();
        let invalid = EventSource::new(client().get("ftp://example.com/feed"))
            .unwrap()
            .next()
            .unwrap();
        (refused, invalid)
    });
    match refused {
        Event::Reconnecting { error, .. } => assert!(matches!(*error, Error::Transport(_))),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(invalid, Err(Error::InvalidRequest(_))),
        "{invalid:?}"
    );
}

#[test]
fn close_from_another_thread_ends_a_blocked_next_at_once() {
    let server =
        TestServer::start(Script::new().connection(Response::sse().message("hi").hold_open()))
            .unwrap();
    let url = server.url();
    let (got, waited, reason) = within(move || {
        let mut source = EventSource::new(client().get(url)).unwrap();
        let mut got: Vec<String> = source
            .by_ref()
            .take(2)
            .map(|item| describe(&item))
            .collect();
        let handle = source.close_handle();
        let closer = std::thread::spawn(move || {
            // Long enough for `next` to be blocked on the silent feed.
            std::thread::sleep(Duration::from_millis(200));
            let at = Instant::now();
            handle.close();
            at
        });
        let last = source.next();
        let returned = Instant::now();
        got.extend(last.map(|item| describe(&item)));
        let closed_at = closer.join().unwrap();
        assert!(source.next().is_none());
        (got, returned - closed_at, source.close_reason().cloned())
    });
    assert_eq!(got, ["open 200", "message hi id="]);
    eprintln!("next returned {waited:?} after close");
    assert!(
        waited < Duration::from_secs(2),
        "next returned {waited:?} after close"
    );
    assert_eq!(reason, Some(CloseReason::ClosedByUser));
}

#[test]
fn close_from_another_thread_ends_a_reconnect_wait() {
    let server = TestServer::start(
        Script::new().connection(Response::sse().retry(Duration::from_secs(3600))),
    )
    .unwrap();
    let url = server.url();
    let (got, waited) = within(move || {
        let mut source = EventSource::new(client().get(url)).unwrap();
        let got: Vec<String> = source
            .by_ref()
            .take(2)
            .map(|item| describe(&item))
            .collect();
        let handle = source.close_handle();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let at = Instant::now();
            handle.close();
            at
        });
        assert!(source.next().is_none());
        (got, closer.join().unwrap().elapsed())
    });
    assert_eq!(
        got,
        ["open 200", "reconnecting: the server ended the stream"]
    );
    assert!(
        waited < Duration::from_secs(2),
        "next returned {waited:?} after close"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_source_moves_between_threads_and_its_close_handle_is_shared() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync + Clone>() {}
    send::<EventSource>();
    send::<ssefeed::blocking::EventSourceBuilder>();
    send_sync::<ssefeed::blocking::CloseHandle>();
}
