//! What an owned event costs in allocations: its data at most. A short
//! event type or ID (up to 15 bytes: counters, sequence numbers, most type
//! names) is kept inline in the event, so a feed whose every event has a new
//! `id:` allocates no more than one without IDs.

use ssefeed::parser::{Item, Parser};

const EVENTS: usize = 200;

/// Allocations a stream makes a few times, not per event (its buffers
/// growing to the longest line and ID).
const ONCE: u64 = 8;

/// Asserts that `allocated` is `expected` plus at most `ONCE`.
fn assert_about(allocated: u64, expected: u64, what: &str) {
    assert!(
        (expected..=expected + ONCE).contains(&allocated),
        "{what}: {allocated} allocations, expected {expected} (+ at most {ONCE})"
    );
}

/// The allocations made while `EVENTS` events, each built by `event` from
/// its number, are taken as owned items from a parser that holds them all.
fn allocations(event: impl Fn(usize) -> String) -> u64 {
    let text: String = (0..EVENTS).map(event).collect();
    let mut parser = Parser::new();
    parser.feed_slice(text.as_bytes());
    let mut events = Vec::with_capacity(EVENTS);
    let counted = allocation_counter::measure(|| {
        while let Some(item) = parser.next_item() {
            match item {
                Ok(Item::Event(event)) => events.push(event),
                other => panic!("{other:?}"),
            }
        }
    });
    assert_eq!(events.len(), EVENTS);
    // (The events are kept until now, so nothing they hold is reused.)
    assert_eq!(events[7].data(), "short data 7");
    counted.count_total
}

#[test]
fn a_short_id_or_event_type_costs_no_allocation() {
    let plain = allocations(|n| format!("data: short data {n}\n\n"));
    assert_about(plain, EVENTS as u64, "one copy of the data per event");
    let with_ids = allocations(|n| format!("id: {n}\ndata: short data {n}\n\n"));
    assert_about(with_ids, plain, "a new short id in every event");
    let typed = allocations(|n| {
        let kind = ["update", "delete", "user.created"][n % 3];
        format!("event: {kind}\nid: 1700000000-{n}\ndata: short data {n}\n\n")
    });
    assert_about(typed, plain, "short event types and ids");
}

#[test]
fn a_long_id_is_allocated_once_and_shared() {
    let id = "0190f3c2-7d4e-7a1b-9c3d-2e4f6a8b0c1d";
    let plain = allocations(|n| format!("data: short data {n}\n\n"));
    // Every event names the same long ID: one copy for all of them.
    let shared = allocations(|n| format!("id: {id}\ndata: short data {n}\n\n"));
    assert_about(shared, plain, "a long id that repeats");
    // A new long ID in every event: one more allocation each.
    let new_each = allocations(|n| format!("id: {id}-{n}\ndata: short data {n}\n\n"));
    assert_about(
        new_each,
        plain + EVENTS as u64,
        "a new long id in every event",
    );
}
