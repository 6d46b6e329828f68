//! What an owned event costs in allocations: its data at most. A short
//! event type or ID (up to 15 bytes: counters, sequence numbers, most type
//! names) is kept inline in the event, so a feed whose every event has a new
//! `id:` allocates no more than one without IDs.

use ssefeed::parser::{Item, Parser};

const EVENTS: usize = 200;

/// The allocations made while `EVENTS` events, each built by `event` from
/// its number, are taken as owned items from a parser that holds them all.
fn allocations_per_event(event: impl Fn(usize) -> String) -> usize {
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
    counted.count_total as usize / EVENTS
}

#[test]
fn a_short_id_or_event_type_costs_no_allocation() {
    let plain = allocations_per_event(|n| format!("data: short data {n}\n\n"));
    assert!(plain <= 1, "{plain} allocations per event without an id");
    let with_ids = allocations_per_event(|n| format!("id: {n}\ndata: short data {n}\n\n"));
    assert_eq!(with_ids, plain, "a new short id allocated");
    let typed = allocations_per_event(|n| {
        let kind = ["update", "delete", "user.created"][n % 3];
        format!("event: {kind}\nid: 1700000000000-{n}\ndata: short data {n}\n\n")
    });
    assert_eq!(typed, plain, "a short event type or id allocated");
}

#[test]
fn a_long_id_is_allocated_once_and_shared() {
    let id = "0190f3c2-7d4e-7a1b-9c3d-2e4f6a8b0c1d";
    let plain = allocations_per_event(|n| format!("data: short data {n}\n\n"));
    // Every event names the same long ID: one copy for all of them.
    let shared = allocations_per_event(|n| format!("id: {id}\ndata: short data {n}\n\n"));
    assert_eq!(shared, plain);
    // A new long ID in every event: one more allocation each.
    let new_each = allocations_per_event(|n| format!("id: {id}-{n}\ndata: short data {n}\n\n"));
    assert_eq!(new_each, plain + 1);
}
