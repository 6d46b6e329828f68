//! Server-Sent Events for Rust.
//!
//! `ssefeed` reads `text/event-stream` feeds exactly as a browser's
//! `EventSource` does (the WHATWG HTML standard, section
//! [Server-sent events](https://html.spec.whatwg.org/multipage/server-sent-events.html)):
//! an incremental, sans-I/O [`Parser`](parser::Parser) that gives the same
//! events however the network splits the bytes, with bounded memory, and
//! adapters that decode any byte stream or reader with it.
//!
//! # Example
//!
//! ```
//! use ssefeed::parser::{Item, Parser};
//!
//! let mut parser = Parser::new();
//! parser.feed_slice(b"event: token\ndata: {\"delta\":\"Hel\"}\n\n: keep-alive\ndata: lo\n\n");
//! let mut data = Vec::new();
//! while let Some(item) = parser.next_item() {
//!     if let Item::Event(event) = item? {
//!         data.push(format!("{}={}", event.event_type(), event.data()));
//!     }
//! }
//! assert_eq!(data, [r#"token={"delta":"Hel"}"#, "message=lo"]);
//! # Ok::<(), ssefeed::Error>(())
//! ```
//!
//! # Design
//!
//! ```text
//! bytes ──► Parser (sans-I/O) ──► Item::Event(MessageEvent), Item::Retry, …
//!              ▲
//!   Stream<Bytes> / AsyncRead ──► EventStream (a Stream of MessageEvent)
//! ```
//!
//! # Spec conformance
//!
//! The parser implements the spec's "parse" and "interpret an event stream"
//! steps as written. Deliberate choices where the spec is silent or where a
//! library differs from a browser:
//!
//! - **Limits.** A line longer than
//!   [`DEFAULT_MAX_LINE_LEN`](parser::DEFAULT_MAX_LINE_LEN) or event data larger
//!   than [`DEFAULT_MAX_EVENT_LEN`](parser::DEFAULT_MAX_EVENT_LEN) (both
//!   configurable) is an error instead of unbounded buffering.
//! - **`retry:` overflow and emptiness.** A value of only digits that does not
//!   fit a `u64` of milliseconds is ignored, as Chromium does; so is an empty
//!   value (browsers disagree on it).
//! - **Retry timing.** `retry:` is reported when its line is parsed, as the
//!   spec applies it, not at the next dispatch.
//! - **A new stream keeps the last event ID.** [`Parser::reset`](parser::Parser::reset)
//!   starts a new connection's stream with the last event ID buffer set to
//!   the last event ID, so events of a resumed stream without `id:` report the
//!   ID they resumed from, as browsers do.
//!
//! # Feature flags
//!
//! - `json`: [`MessageEvent::json`] deserializes an event's data with serde.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.88.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
mod client;
mod error;
mod event;
pub mod machine;
pub mod parser;
pub mod retry;
mod stream;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{EventSource, EventSourceBuilder};
pub use error::{BoxError, Error, Result};
pub use event::{DEFAULT_EVENT_TYPE, Event, MessageEvent, ReadyState};
pub use retry::RetryPolicy;
pub use stream::{EventStream, ReaderSource};

/// The string type of event data, re-exported from the `bytestring` crate.
pub use bytestring::ByteString;
