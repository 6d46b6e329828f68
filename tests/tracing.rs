//! With the `tracing` feature, each connection is a span that carries what
//! it did: checked with a subscriber that records the spans' fields.

#![cfg(all(feature = "client", feature = "tracing"))]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ssefeed::EventSource;
use ssefeed::testing::{Response, Script, TestServer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields as text.
type Recorded = (String, BTreeMap<String, String>);

/// Each span, by id.
#[derive(Default, Clone)]
struct Spans(Arc<Mutex<BTreeMap<u64, Recorded>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut spans = self.0.lock().unwrap();
        let id = spans.len() as u64 + 1;
        let mut fields = BTreeMap::new();
        span.record(&mut Fields(&mut fields));
        spans.insert(id, (span.metadata().name().to_owned(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, fields)) = spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn each_connection_is_a_span_with_what_it_did() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().message("a").message("b"))
            .then(Response::no_content()),
    )
    .unwrap();
    let spans = Spans::default();
    tracing::subscriber::with_default(spans.clone(), || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut source = EventSource::builder(reqwest::Client::new().get(server.url()))
                .retry_policy(support::fast())
                .build()
                .unwrap();
            support::collect_all(&mut source).await;
        });
    });
    let spans = spans.0.lock().unwrap();
    let connections: Vec<_> = spans
        .values()
        .filter(|(name, _)| name == "ssefeed.connection")
        .map(|(_, fields)| fields)
        .collect();
    assert_eq!(connections.len(), 2, "{spans:?}");
    let first = connections[0];
    assert_eq!(first["attempt"], "0");
    assert_eq!(first["status"], "200");
    assert_eq!(first["events"], "2");
    assert_eq!(first["bytes"], "18");
    assert!(first.contains_key("first_event_ms"), "{first:?}");
    assert!(first["url"].starts_with("http://127.0.0.1:"), "{first:?}");
    let second = connections[1];
    assert_eq!(second["status"], "204");
    assert_eq!(second["events"], "0");
}
