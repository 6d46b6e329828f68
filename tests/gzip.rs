//! A gzip-compressed event stream (`Content-Encoding: gzip`), flushed after
//! each event as a compressing proxy or middleware that streams does: with
//! reqwest's `gzip` feature, each event arrives when it is sent, not when
//! the compressed body ends.

#![cfg(feature = "client")]

mod support;

use ssefeed::testing::{Gate, Response, Script, TestServer};
use ssefeed::{CloseReason, Event, EventSource};
use support::next;

/// A server that sends one gzip-compressed event, waits at `sent_next`
/// until the client has it, then sends a second and ends the body; each
/// event is sync-flushed, as a compressing proxy or middleware that streams
/// does.
fn gzip_server(sent_next: &Gate) -> TestServer {
    TestServer::start(
        Script::new().connection(
            Response::sse()
                .body("id: 1\ndata: first, alone on the wire\n\n")
                .wait_for(sent_next)
                .body("id: 2\ndata: second\n\n")
                .gzip(),
        ),
    )
    .unwrap()
}

#[tokio::test]
async fn gzip_events_arrive_as_they_are_sent() {
    let send_next = Gate::new();
    let server = gzip_server(&send_next);
    let url = server.url_for("/feed");
    // One-shot, so that the end of the body ends the test.
    let mut source = EventSource::builder(reqwest::Client::new().get(&url))
        .reconnect(false)
        .build()
        .unwrap();

    assert!(matches!(next(&mut source).await, Some(Ok(Event::Open(_)))));
    let request = server.request(0).await.unwrap();
    let head = String::from_utf8_lossy(request.raw_head()).to_ascii_lowercase();
    assert!(head.contains("accept-encoding: gzip"), "{head}");

    // The server sends the second event only after the first has arrived:
    // a client that waited for the end of the compressed body would hang
    // here, and `next` fails the test after its timeout.
    let Some(Ok(Event::Message(first))) = next(&mut source).await else {
        panic!("expected the first event");
    };
    assert_eq!(first.data(), "first, alone on the wire");
    send_next.open();

    let Some(Ok(Event::Message(second))) = next(&mut source).await else {
        panic!("expected the second event");
    };
    assert_eq!((second.data(), second.last_event_id()), ("second", "2"));
    assert!(next(&mut source).await.is_none());
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
}
