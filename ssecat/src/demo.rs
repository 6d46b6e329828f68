//! A small SSE server on loopback, modelled on what real feeds carry: a
//! live-user count as `message` events, named smart-home room events with
//! JSON data, `id:` on every event, a `retry:` hint, `:` keep-alive
//! comments, and a connection dropped every so often — sometimes in the
//! middle of an event. It honours `Last-Event-ID`, so a client that resumes
//! loses nothing and sees nothing twice. After the last event it answers
//! `204 No Content`, which tells the client to stop.
//!
//! ssecat's `--demo`, and the library's examples (`#[path]`-included); not
//! part of the library. It is a script for the library's test kit
//! (`ssefeed::testing`), which does the HTTP.
#![allow(dead_code)] // each example uses part of it

use std::time::Duration;

use ssefeed::testing::{RecordedRequest, Response, Script, ServerError, ServerEvent, TestServer};

/// How the demo feed behaves.
#[derive(Debug, Clone)]
pub(crate) struct DemoConfig {
    /// Events in the whole feed; then 204.
    pub(crate) events: u64,
    /// Time between events.
    pub(crate) interval: Duration,
    /// Drop the connection after this many events on it, while sending the
    /// next (0: never).
    pub(crate) drop_every: u64,
    /// The `retry:` hint, in milliseconds.
    pub(crate) retry_ms: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            events: 24,
            interval: Duration::from_millis(250),
            drop_every: 7,
            retry_ms: 1000,
        }
    }
}

/// Starts the demo server on 127.0.0.1 (a free port): ssefeed's test kit,
/// answering each request as the feed goes. It runs until the returned
/// server is dropped.
pub(crate) fn start(config: DemoConfig) -> Result<TestServer, ServerError> {
    TestServer::start(Script::from_fn(move |request| {
        if request.method() == "POST" {
            completion(request)
        } else {
            feed(&config, request)
        }
    }))
}

/// The `n`-th event of the feed (from 1), as SSE text with its `id:`.
pub(crate) fn event(n: u64) -> String {
    const ROOMS: [&str; 4] = ["kitchen", "hall", "bedroom", "garden"];
    let room = ROOMS[(n % 4) as usize];
    match n % 3 {
        0 => format!("id: {n}\ndata: {{\"users\":{}}}\n\n", 40 + (n * 7) % 13),
        1 => format!(
            "id: {n}\nevent: light\ndata: {{\"room\":\"{room}\",\"on\":{}}}\n\n",
            n.is_multiple_of(2)
        ),
        _ => format!(
            "id: {n}\nevent: thermostat\ndata: {{\"room\":\"{room}\",\"celsius\":{}.{}}}\n\n",
            18 + n % 5,
            n % 10
        ),
    }
}

/// The feed from the event after `Last-Event-ID`; 204 once it is over.
fn feed(config: &DemoConfig, request: &RecordedRequest) -> Response {
    let connection = request.index() as u64 + 1;
    let last: u64 = request
        .last_event_id()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    if last >= config.events {
        return Response::no_content();
    }
    let mut response = Response::sse()
        .header("cache-control", "no-store")
        .comment(format!("welcome, connection {connection}"))
        .event(ServerEvent::new().retry(Duration::from_millis(config.retry_ms)));
    for (sent, n) in (last + 1..=config.events).enumerate() {
        response = response.pause(config.interval);
        let out = event(n);
        if config.drop_every > 0 && sent as u64 == config.drop_every {
            // Drop the connection, every other time in the middle of the
            // event: the client must discard the partial event and resume
            // from the previous ID.
            if connection.is_multiple_of(2) {
                response = response.body(&out.as_bytes()[..out.len() / 2]);
            }
            return response;
        }
        if n.is_multiple_of(4) {
            response = response.comment("keep-alive");
        }
        response = response.body(out);
    }
    // The feed is over: end this stream; the reconnect gets a 204.
    response
}

/// A POST gets an LLM-style completion: one token per event as a JSON
/// delta, then `data: [DONE]`, then the end of the body; without a bearer
/// token, 401.
fn completion(request: &RecordedRequest) -> Response {
    let authorized = request
        .header("authorization")
        .is_some_and(|value| value.starts_with("Bearer "));
    if !authorized {
        return Response::status(401).header("content-length", "0");
    }
    let mut response = Response::sse();
    for token in [
        "Server", "-sent", " events", " stream", " tokens", " as", " they", " come", ".",
    ] {
        response = response
            .message(format!(
                "{{\"choices\":[{{\"delta\":{{\"content\":{}}}}}]}}",
                json_string(token)
            ))
            .pause(Duration::from_millis(60));
    }
    response.message("[DONE]")
}

fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
