//! A gzip-compressed event stream (`Content-Encoding: gzip`), flushed after
//! each event as a compressing proxy or middleware that streams does: with
//! reqwest's `gzip` feature, each event arrives when it is sent, not when
//! the compressed body ends.

#![cfg(feature = "client")]

mod support;

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use ssefeed::{CloseReason, Event, EventSource};
use support::next;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// What one event's bytes are, compressed and sync-flushed onto `gzip`'s
/// output so far.
fn flushed(gzip: &mut GzEncoder<Vec<u8>>, event: &str) -> Vec<u8> {
    gzip.write_all(event.as_bytes()).unwrap();
    // A sync flush: everything written so far can be decompressed now.
    gzip.flush().unwrap();
    std::mem::take(gzip.get_mut())
}

/// A server that sends one gzip-compressed event, waits until `sent_next`
/// says the client has it, then sends a second and ends the body. The
/// request's head goes to `requests`.
async fn gzip_server(
    requests: mpsc::UnboundedSender<String>,
    sent_next: oneshot::Receiver<()>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        requests.send(String::from_utf8(head).unwrap()).unwrap();
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                  content-encoding: gzip\r\nconnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        let first = flushed(&mut gzip, "id: 1\ndata: first, alone on the wire\n\n");
        socket.write_all(&first).await.unwrap();
        sent_next.await.unwrap();
        let second = flushed(&mut gzip, "id: 2\ndata: second\n\n");
        socket.write_all(&second).await.unwrap();
        socket.write_all(&gzip.finish().unwrap()).await.unwrap();
    });
    url
}

#[tokio::test]
async fn gzip_events_arrive_as_they_are_sent() {
    let (requests, mut seen) = mpsc::unbounded_channel();
    let (send_next, sent_next) = oneshot::channel();
    let url = gzip_server(requests, sent_next).await;
    // One-shot, so that the end of the body ends the test.
    let mut source = EventSource::builder(reqwest::Client::new().get(&url))
        .reconnect(false)
        .build()
        .unwrap();

    assert!(matches!(next(&mut source).await, Some(Ok(Event::Open(_)))));
    let head = seen.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.contains("accept-encoding: gzip"), "{head}");

    // The server sends the second event only after the first has arrived:
    // a client that waited for the end of the compressed body would hang
    // here, and `next` fails the test after its timeout.
    let Some(Ok(Event::Message(first))) = next(&mut source).await else {
        panic!("expected the first event");
    };
    assert_eq!(first.data(), "first, alone on the wire");
    send_next.send(()).unwrap();

    let Some(Ok(Event::Message(second))) = next(&mut source).await else {
        panic!("expected the second event");
    };
    assert_eq!((second.data(), second.last_event_id()), ("second", "2"));
    assert!(next(&mut source).await.is_none());
    assert_eq!(source.close_reason(), Some(&CloseReason::Completed));
}
