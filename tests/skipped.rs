//! Skip mode (`skip_oversized_events`) through each consumer of the parser:
//! the machine, `EventStream` and the `EventSource` client.

#![cfg(feature = "client")]

mod support;

use std::time::Instant;

use futures_util::{StreamExt, stream};
use ssefeed::machine::{Action, Machine, MachineConfig};
use ssefeed::parser::Parser;
use ssefeed::{Event, EventSource, EventStream, ResponseHead, RetryPolicy, SkippedEvent};
use support::collect_all;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Skips events whose data is over 8 bytes.
fn skipping() -> Parser {
    Parser::builder()
        .max_event_len(8)
        .skip_oversized_events(true)
        .build()
}

fn events(machine: &mut Machine) -> Vec<String> {
    std::iter::from_fn(|| machine.poll_event())
        .map(|event| match event {
            Ok(Event::Open(_)) => "open".to_owned(),
            Ok(Event::Message(m)) => format!("message {} id={}", m.data(), m.last_event_id()),
            Ok(Event::Skipped(s)) => format!("skipped {} {}", s.event_type(), s.len()),
            Ok(Event::Reconnecting { attempt, .. }) => format!("reconnecting #{attempt}"),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Connects `machine` (its connect action taken) and feeds it `body`.
fn connection(machine: &mut Machine, now: Instant, body: &'static str) {
    let head = ResponseHead::new(200).with_header("content-type", "text/event-stream");
    machine.handle_response(now, head);
    machine.handle_bytes(now, body.into());
}

fn next_connect(machine: &mut Machine) -> String {
    let at = machine.poll_timeout().expect("a reconnect is due");
    machine.handle_timeout(at);
    std::iter::from_fn(|| machine.poll_action())
        .find_map(|action| match action {
            Action::Connect { last_event_id, .. } => Some(last_event_id),
            _ => None,
        })
        .expect("a connect action")
}

#[test]
fn the_machine_hands_out_a_skipped_event_which_is_not_progress() {
    let now = Instant::now();
    let policy = RetryPolicy::new().jitter(0.0);
    let mut machine = Machine::with_config(now, skipping(), policy, MachineConfig::new());
    let _ = machine.poll_action();
    connection(
        &mut machine,
        now,
        "id: 1\ndata: a\n\nevent: big\nid: 2\ndata: 0123456789\n\n",
    );
    machine.handle_eof(now);
    assert_eq!(
        events(&mut machine),
        [
            "open",
            "message a id=1",
            "skipped big 10",
            "reconnecting #1"
        ]
    );
    // The resume asks for the skipped event again.
    assert_eq!(next_connect(&mut machine), "1");
    // A connection that only skips makes no progress: the attempts go on
    // counting.
    connection(&mut machine, now, "id: 2\ndata: 0123456789\n\n");
    machine.handle_eof(now);
    assert_eq!(
        events(&mut machine),
        ["open", "skipped message 10", "reconnecting #2"]
    );
    assert_eq!(next_connect(&mut machine), "1");
}

#[tokio::test]
async fn event_stream_drops_skipped_events() {
    let chunks = [
        "id: 1\ndata: a\n\nid: 2\ndata: 0123",
        "456789\n\ndata: b\n\n",
    ];
    let source = stream::iter(chunks.map(|c| Ok::<_, std::io::Error>(c.as_bytes())));
    let mut events = EventStream::with_parser(source, skipping());
    let mut got = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.unwrap();
        got.push((event.data().to_owned(), event.last_event_id().to_owned()));
    }
    assert_eq!(
        got,
        [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(events.last_event_id(), "1");
}

#[tokio::test]
async fn event_source_skips_oversized_events_when_asked() {
    let server = MockServer::start().await;
    let body = "data: a\n\nevent: big\ndata: 0123456789\n\ndata: b\n\n";
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/event-stream"),
        )
        .mount(&server)
        .await;
    let source = |skip| {
        EventSource::builder(reqwest::Client::new().get(server.uri()))
            .reconnect(false)
            .max_event_len(8)
            .skip_oversized_events(skip)
            .build()
            .unwrap()
    };
    let skipped = format!("{:?}", SkippedEvent::new("big", 10));
    assert_eq!(
        collect_all(&mut source(true)).await,
        [
            "open".to_owned(),
            "message message \"a\" id=".to_owned(),
            format!("Skipped({skipped})"),
            "message message \"b\" id=".to_owned(),
        ]
    );
    // Off (the default), the limit fails the stream.
    let got = collect_all(&mut source(false)).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[2].starts_with("error: event data larger"), "{got:?}");
}
