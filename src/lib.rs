//! Server-Sent Events for Rust, exactly as a browser reads them.
//!
//! `ssefeed` implements the `text/event-stream` format and the `EventSource`
//! behaviour of the WHATWG HTML standard, section
//! [Server-sent events](https://html.spec.whatwg.org/multipage/server-sent-events.html):
//!
//! - [`parser::Parser`]: an incremental, sans-I/O parser that gives the same
//!   events however the network splits the bytes, with bounded memory;
//! - [`machine::Machine`]: the reconnect state machine (CONNECTING, OPEN,
//!   CLOSED; `retry:`, `Last-Event-ID`, 204, backoff), also sans-I/O;
//! - `EventSource` (feature `client`, on by default): both driven by reqwest
//!   and tokio, as a [`Stream`](futures_core::Stream) of [`Event`]s; in the
//!   browser (`wasm32-unknown-unknown`), by reqwest's fetch backend and the
//!   browser's timers, with no tokio runtime;
//! - `blocking::EventSource` (feature `blocking`): both driven by
//!   `reqwest::blocking`, as an [`Iterator`] of [`Event`]s, for code without
//!   an async runtime;
//! - [`EventStream`]: the parser over any byte stream, `AsyncRead` or HTTP
//!   body, for other HTTP stacks, test servers and captured files;
//! - `testing` (feature `testing`): a scripted SSE server for tests of SSE
//!   clients, and the events of an in-process response for tests of SSE
//!   servers.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn run() -> Result<(), ssefeed::Error> {
//! use futures_util::StreamExt;
//! use ssefeed::{Event, EventSource};
//!
//! let mut source = EventSource::new(reqwest::Client::new().get("https://example.com/feed"))?;
//! while let Some(event) = source.next().await {
//!     match event? {
//!         Event::Message(message) => println!("{}: {}", message.event_type(), message.data()),
//!         Event::Reconnecting { error, delay, .. } => {
//!             eprintln!("{}; retrying in {delay:?}", error.report())
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The parser alone, with no network:
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
//! bytes ──► Parser (sans-I/O) ──► MessageEvent ──► Machine (sans-I/O) ──► EventSource (Stream)
//!              ▲                                    │  CONNECTING ─► OPEN ─► CLOSED
//!   reqwest body ─────────────────────────────────────┘  retry:, Last-Event-ID, backoff, 204
//! ```
//!
//! The parser and the machine know nothing of sockets, runtimes or clocks
//! (time is passed in), so every rule is tested without a server or a
//! sleep; `EventSource` only moves bytes and time between reqwest, tokio and
//! the machine.
//!
//! # Items, errors and the end of a stream
//!
//! `EventSource` yields `Result<Event, Error>`: [`Event::Open`] when a
//! connection is announced (with the [`ResponseHead`] that opened it),
//! [`Event::Message`] for each event, and [`Event::Reconnecting`] when a
//! connection was lost and will be retried, so a consumer's `?` ends its loop
//! only on a real failure.
//!
//! - An `Err` item is **final**: the ready state is CLOSED and `None` follows.
//!   A refused connection's error keeps the response and the first part of
//!   its body ([`Error::status`], [`Error::response`], [`Error::body`]);
//!   [`Error::report`] prints an error with its causes on one line.
//! - A **204** is a normal close: the stream ends with `None`, no error.
//! - **`close()`** (or dropping the source) ends it at once.
//! - After `None`, the source's `close_reason()` says which ([`CloseReason`]).
//!
//! # Reconnection
//!
//! - A network error, the end of the body, or an idle timeout (no bytes, not
//!   even a keep-alive comment, for the configured time) reconnects: the ready
//!   state becomes CONNECTING, an [`Event::Reconnecting`] reports the cause
//!   and the delay, and the next request carries `Last-Event-ID` (when the
//!   last event ID is not empty). An `id:` of an event cut off by the
//!   disconnect is not committed, so the server resends that event.
//! - The delay is the reconnection time — the server's latest `retry:`,
//!   else [`RetryPolicy::initial`] (3 s) — never less; doubled after each
//!   attempt in a row that delivered no event, up to
//!   [`RetryPolicy::max_delay`]; plus up to 25 % random jitter, only ever
//!   added. A connection that delivers an event resets the backoff.
//! - `200` with `Content-Type: text/event-stream` (parameters and case
//!   ignored) opens; `204` ends; any other status or content type fails,
//!   unless the [`RetryPolicy`] retries that status (opt-in, e.g. 503 with
//!   `Retry-After`, in seconds or as an HTTP date). The content type check
//!   can be relaxed for servers that get it wrong.
//! - Errors that retrying cannot heal end the stream at once: a request that
//!   cannot be built or sent (a bad URL scheme or header) and a TLS failure
//!   ([`Error::is_retryable`]).
//! - A [retry hook](RetryPolicy::on_retry) sees each cause and the attempt
//!   number and may answer with the default, its own delay, or stop; a
//!   request factory is told the attempt, the last event ID and the cause.
//! - [`RetryPolicy::max_retries`] and [`RetryPolicy::max_elapsed`] end a
//!   run of failed attempts with [`Error::RetriesExhausted`].
//! - One-shot mode (`reconnect(false)`) is for request/response streams such
//!   as LLM completions: the request is sent once (again only after a
//!   refusal the retry policy retries, such as a 429, before any stream
//!   opened), a clean end of the body ends the stream, and a body cut
//!   mid-event is [`Error::Truncated`]. It is the default for a request
//!   whose method is not GET, HEAD or OPTIONS.
//!   With a resume request (`EventSourceBuilder::resume_with`), a one-shot
//!   stream cut before it completes is resumed with that request (a GET with
//!   `Last-Event-ID`, never the first request again), as MCP's Streamable
//!   HTTP and resumable LLM APIs require; a sentinel
//!   (`EventSourceBuilder::complete_on`) ends a stream on its last message.
//!
//! # Spec conformance
//!
//! The parser implements the spec's "parse" and "interpret an event stream"
//! steps as written, and the machine its "announce", "reestablish" and "fail
//! the connection". Deliberate choices where the spec is silent, or where a
//! library differs from a browser:
//!
//! - **Limits.** A line longer than
//!   [`DEFAULT_MAX_LINE_LEN`](parser::DEFAULT_MAX_LINE_LEN) (8 MiB) or event
//!   data larger than [`DEFAULT_MAX_EVENT_LEN`](parser::DEFAULT_MAX_EVENT_LEN)
//!   (16 MiB), both configurable, fails the connection instead of buffering
//!   without bound; or, with
//!   [`skip_oversized_events`](parser::ParserBuilder::skip_oversized_events),
//!   the event is skipped ([`Event::Skipped`]) and the stream goes on.
//! - **`retry:` overflow and emptiness.** A value of only digits that does
//!   not fit a `u64` of milliseconds is ignored, as Chromium does; so is an
//!   empty value (browsers disagree on it).
//! - **A new connection keeps the last event ID.** Taken literally, the spec
//!   starts each stream with an empty last event ID buffer; like browsers
//!   (and as WPT `format-field-id-2` requires), a new stream starts from the
//!   last committed ID.
//! - **A cap on the server's delays.** A `retry:` or `Retry-After` longer
//!   than [`RetryPolicy::max_server_delay`] (10 minutes by default) is cut to
//!   it, so that a broken server cannot park the client for years; the spec
//!   sets no cap, and `max_server_delay(Duration::MAX)` sets none either.
//! - **A reconnection floor.** The delay is at least
//!   [`RetryPolicy::min_delay`] (100 ms) even after `retry: 0`, so a
//!   misbehaving server cannot make the client spin.
//! - **Backoff and jitter** are added on repeated failures, as the spec
//!   allows ("optionally, wait some more").
//! - **204 is not an error.** The spec "fails the connection" on any status
//!   but 200; since its introduction presents 204 as the way to stop a client,
//!   `ssefeed` ends the stream normally on 204 and reports other statuses as
//!   errors.
//! - **Retrying statuses** (5xx, 429) is possible but opt-in; by default they
//!   fail the connection, as the spec says.
//! - **Non-idempotent requests are not resent.** A browser's `EventSource`
//!   only sends GET; a POST stream reconnects only when asked.
//! - **An unsendable `Last-Event-ID`.** An ID with control characters no header
//!   can carry is not sent (the spec's IDs can hold them; HTTP cannot).
//! - **Retry timing.** `retry:` is applied when its line is parsed, not at the
//!   next dispatch, as the spec says; parsers that defer it are wrong.
//!
//! # Cancel safety
//!
//! `EventSource::next()` and `EventStream::next()` are cancel safe: their
//! state lives in the stream, so dropping a pending `next()` (in
//! `tokio::select!`, say) loses no event.
//!
//! # Feature flags
//!
//! - `client` (default): `EventSource` over reqwest 0.13 and tokio, with no
//!   TLS stack or HTTP version of its own choosing: the application's
//!   reqwest dependency decides (re-exported as `ssefeed::reqwest`
//!   when this feature is on).
//! - `blocking`: `ssefeed::blocking::EventSource`, an [`Iterator`] of
//!   events over `reqwest::blocking`, driven by the same machine, with a
//!   handle that closes it from another thread; implies `client`. Not on
//!   wasm32 (the module is left out there).
//! - `rustls`, `http2`: conveniences that turn on reqwest's features of the
//!   same names.
#![cfg_attr(
    feature = "json",
    doc = " - `json`: [`MessageEvent::json`] deserializes an event's data with serde."
)]
#![cfg_attr(
    not(feature = "json"),
    doc = " - `json`: `MessageEvent::json` deserializes an event's data with serde."
)]
//! - `tracing`: debug-level `tracing` events for connect, open, reconnect and
//!   close; nothing the server sends is logged above debug.
//! - `middleware`: `EventSource` over a `reqwest_middleware::RequestBuilder`
//!   (see [`IntoRequest`]): the middleware stack sees every attempt.
//! - `http-body`: `EventStream::from_body`, the events of any
//!   `http_body::Body` (a hyper response, an axum handler's answer read in
//!   process).
//! - `testing`: `ssefeed::testing`, a scripted SSE server on loopback for
//!   tests (not on wasm32), and `http-body`. For dev-dependencies: it adds
//!   nothing to a build without it.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.88.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(all(
    feature = "blocking",
    not(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none")))
))]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
#[cfg(feature = "http-body")]
mod body;
#[cfg(feature = "client")]
mod client;
mod error;
mod event;
pub mod machine;
pub mod parser;
mod response;
mod retry;
mod stats;
mod stream;
#[cfg(all(
    feature = "testing",
    not(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none")))
))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "http-body")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-body")))]
pub use body::BodySource;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{EventSource, EventSourceBuilder, IntoRequest, MaybeSend, RequestContext};
pub use error::{BoxError, Error, Report, Result};
pub use event::{CloseReason, DEFAULT_EVENT_TYPE, Event, MessageEvent, ReadyState, SkippedEvent};
pub use response::{
    DEFAULT_REFUSAL_BODY_LIMIT, DEFAULT_REFUSAL_BODY_TIMEOUT, HttpVersion, Refusal, ResponseHead,
    TRANSIENT_STATUSES,
};
pub use retry::{
    DEFAULT_MAX_DELAY, DEFAULT_MAX_SERVER_DELAY, DEFAULT_MIN_DELAY, DEFAULT_RECONNECTION_TIME,
    RetryContext, RetryDecision, RetryPolicy,
};
pub use stats::{ConnectionStats, FeedStats};
pub use stream::{EventStream, ReaderSource};

/// The reqwest that `EventSource` takes requests of (0.13), so that an
/// application can always name the matching version.
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use reqwest;

/// The string type of event data, re-exported from the `bytestring` crate.
pub use bytestring::ByteString;

/// The README's examples, compiled and run as doc tests so they stay true
/// (the `#[tokio::test]`s of "Testing with ssefeed" are compiled here and
/// run by `.ci/readme-deps.sh`, as a user's `tests/` would). The crate's
/// dev-dependency on itself turns on the features they need (`testing`,
/// `middleware`, `blocking`), so a plain `cargo test` runs them too.
#[cfg(all(doctest, feature = "client", feature = "testing", feature = "blocking"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
