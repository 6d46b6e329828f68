//! `EventSource` over a `reqwest_middleware` stack (feature `middleware`):
//! every attempt goes through the middlewares, and every ssefeed behaviour
//! (Last-Event-ID, refusals with their body, one-shot POST, resume) is the
//! same as over reqwest alone.

#![cfg(feature = "middleware")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::Extensions;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use ssefeed::testing::{Response, Script, ServerEvent, TestServer};
use ssefeed::{Error, EventSource};
use support::{collect_all, fast};

/// Adds `x-trace: <n>` to each request, `n` counting from 1.
struct Tracing(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Middleware for Tracing {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        request
            .headers_mut()
            .insert("x-trace", n.to_string().parse().unwrap());
        next.run(request, extensions).await
    }
}

/// Fails the second request without sending it.
struct Refuses2nd(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Middleware for Refuses2nd {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(reqwest_middleware::Error::middleware(
                std::io::Error::other("quota exceeded"),
            ));
        }
        next.run(request, extensions).await
    }
}

fn traced(count: &Arc<AtomicUsize>) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(Tracing(count.clone()))
        .build()
}

#[tokio::test]
async fn every_attempt_goes_through_the_stack_and_resumes_with_last_event_id() {
    let server = TestServer::start(
        Script::new()
            .connection(
                Response::sse()
                    .message("a")
                    .event(ServerEvent::new().with_data("b").id("2")),
            )
            .connection(Response::sse().message("c"))
            .then(Response::no_content()),
    )
    .unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let request = traced(&count).get(server.url());
    let mut source = EventSource::builder(request)
        .retry_policy(fast())
        .build()
        .unwrap();
    let items = collect_all(&mut source).await;
    let messages: Vec<_> = items.iter().filter(|i| i.starts_with("message")).collect();
    assert_eq!(messages.len(), 3, "{items:?}");
    let seen = server.requests();
    assert_eq!(count.load(Ordering::SeqCst), seen.len());
    let traces: Vec<_> = seen.iter().map(|r| r.header("x-trace")).collect();
    assert_eq!(traces, [Some("1"), Some("2"), Some("3")]);
    // The headers every attempt carries are there, through the stack.
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));
    assert_eq!(seen[0].last_event_id(), None);
    assert_eq!(seen[1].last_event_id(), Some("2"));
}

#[tokio::test]
async fn a_refusal_keeps_its_body_and_a_one_shot_post_is_sent_once() {
    let server =
        TestServer::start(Script::new().then(Response::status(401).body(r#"{"error":"bad key"}"#)))
            .unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let post = traced(&count).post(server.url()).body("{}");
    let mut source = EventSource::new(post).unwrap();
    let error = loop {
        match support::next(&mut source).await {
            Some(Err(error)) => break error,
            Some(Ok(_)) => {}
            None => panic!("no error"),
        }
    };
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.body().as_deref(), Some(r#"{"error":"bad key"}"#));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_middleware_error_is_retried_like_a_network_error() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().event(ServerEvent::new().with_data("a").id("1")))
            .connection(Response::sse().message("b"))
            .then(Response::no_content()),
    )
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(Refuses2nd(calls.clone()))
        .build();
    let url = server.url();
    let mut source = EventSource::builder_fn(move |_ctx| client.get(&url))
        .retry_policy(fast())
        .build()
        .unwrap();
    let items = collect_all(&mut source).await;
    assert!(
        items
            .iter()
            .any(|i| i == "reconnecting: a middleware failed the event stream request"),
        "{items:?}"
    );
    assert_eq!(
        server.requests().len(),
        3,
        "the failed one never reached it"
    );
    assert!(Error::Middleware("x".into()).is_retryable());
}
