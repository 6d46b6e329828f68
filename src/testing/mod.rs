//! A scripted SSE server for tests (feature `testing`; not on wasm32).
//!
//! [`TestServer`] listens on loopback and plays a [`Script`]: for each
//! connection in order (the first, then each reconnect) a [`Response`] says
//! what the server does: the status and headers (a 401 with a JSON body, a
//! 503 with `Retry-After`, a redirect, a 204), the events, comments and raw
//! bytes of the body ([`ServerEvent`]; invalid UTF-8, CR-only line ends, a
//! BOM), how the body is cut into writes ([`Writes`]: whole, a byte at a
//! time, at given offsets, seeded random), pauses and [`Gate`]s between
//! writes, and how the connection ends: closed, cut mid-event, reset, or
//! held open in silence. It records every request ([`RecordedRequest`]:
//! method, path and query, headers such as `Last-Event-ID`, body, arrival
//! time), and a test can await the Nth.
//!
//! It serves any HTTP/1.1 client; with ssefeed's `EventSource`, a test of a
//! feed cut in the middle of an event:
//!
//! ```
//! # #[cfg(feature = "client")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use futures_util::StreamExt;
//! use ssefeed::testing::{Response, Script, ServerEvent, TestServer};
//! use ssefeed::{Event, EventSource, RetryPolicy};
//!
//! let server = TestServer::start(
//!     Script::new()
//!         .connection(
//!             Response::sse()
//!                 .event(ServerEvent::data("one").id("1"))
//!                 .event(ServerEvent::data("two").id("2"))
//!                 .cut_after(25), // inside "two"
//!         )
//!         .connection(Response::sse().event(ServerEvent::data("two").id("2"))),
//! )?; // then 204
//! let mut source = EventSource::builder(reqwest::Client::new().get(server.url()))
//!     .retry_policy(RetryPolicy::new().initial(Duration::from_millis(10)).jitter(0.0))
//!     .build()?;
//! let mut data = Vec::new();
//! while let Some(event) = source.next().await {
//!     if let Event::Message(message) = event? {
//!         data.push(message.data().to_owned());
//!     }
//! }
//! assert_eq!(data, ["one", "two"]);
//! assert_eq!(server.request(1).await?.last_event_id(), Some("1"));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "client"))]
//! # fn main() {}
//! ```
//!
//! The server runs on threads of its own, so it works with any runtime or
//! none; only [`TestServer::request`] and [`TestServer::wait_closed`] are
//! `async`, and they need no particular executor.
//!
//! For a server under test rather than a client, read its response in
//! process with [`EventStream::from_body`](crate::EventStream::from_body).
//!
//! # Bounds
//!
//! A broken test fails instead of hanging, and a runaway client cannot
//! make the server grow without end:
//!
//! - a connection lasts at most [`DEFAULT_CONNECTION_TIME_LIMIT`] (60 s)
//!   from its accept, then it is closed wherever its response stands
//!   ([`TestServerBuilder::connection_time_limit`]): a
//!   [`hold_open`](Response::hold_open), a long pause, a gate never opened,
//!   a client that does not read;
//! - a client has [`REQUEST_TIMEOUT`] (10 s) to send its request; a head
//!   over [`MAX_REQUEST_HEAD`] (64 KiB) is answered with 431 and a body over
//!   [`MAX_REQUEST_BODY`] (1 MiB) with 413, neither recorded nor scripted;
//! - the server records at most [`MAX_REQUESTS`] (10,000) requests; it
//!   closes further connections unanswered;
//! - [`TestServer::request`], [`TestServer::wait_closed`] and
//!   [`TestServer::restart`] give up with [`ServerError::Timeout`] after
//!   [`DEFAULT_WAIT_TIMEOUT`] (10 s;
//!   [`TestServerBuilder::wait_timeout`]);
//! - dropping the server closes its listener and every connection at once.
//!
//! The kit panics nowhere: its failures are [`ServerError`]s, and a panic in
//! a [`Script::from_fn`] closure (a test's own assertion) only drops that
//! connection.

mod connection;
mod event;
mod gate;
mod request;
mod response;
mod script;
mod server;
mod writes;

use std::time::Duration;

pub use event::ServerEvent;
pub use gate::Gate;
pub use request::RecordedRequest;
pub use response::Response;
pub use script::Script;
pub use server::{TestServer, TestServerBuilder};
pub use writes::Writes;

/// How long a connection may last, from its accept, unless
/// [`TestServerBuilder::connection_time_limit`] says otherwise.
pub const DEFAULT_CONNECTION_TIME_LIMIT: Duration = Duration::from_secs(60);

/// How long the test's waits last before they fail, unless
/// [`TestServerBuilder::wait_timeout`] says otherwise.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to send its request (head and body).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head the server reads, in bytes; a larger one gets
/// `431 Request Header Fields Too Large`.
pub const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// The largest request body the server reads, in bytes; a larger one gets
/// `413 Content Too Large`.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// How many requests one server records; it closes further connections
/// unanswered.
pub const MAX_REQUESTS: usize = 10_000;

/// What can go wrong with a [`TestServer`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The server could not listen on loopback (or get the address back on
    /// a [`restart`](TestServer::restart)), or start a thread.
    #[error("the test server could not start")]
    Start(#[source] std::io::Error),
    /// A wait ran out of time: the request awaited never came, or a
    /// connection stayed open.
    #[error("the test server waited {waited:?} for {what}")]
    Timeout {
        /// What was awaited (`"request 2"`).
        what: String,
        /// How long.
        waited: Duration,
    },
}
