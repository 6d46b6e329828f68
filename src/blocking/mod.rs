//! A blocking event source (feature `blocking`; not on wasm32): an
//! [`Iterator`] of events over `reqwest::blocking`, for command-line tools,
//! build scripts and services without an async runtime.
//!
//! [`EventSource`] is the same [`Machine`] as the async
//! [`EventSource`](crate::EventSource), so it behaves the same: `retry:`,
//! `Last-Event-ID`, backoff and the [`RetryPolicy`](crate::RetryPolicy)
//! with its hook, one-shot mode for a POST, 204 as the end, refusals with
//! their body, the idle timeout, [`resume_with`](EventSourceBuilder::resume_with),
//! [`complete_on`](EventSourceBuilder::complete_on) and
//! [`dedupe_ids`](EventSourceBuilder::dedupe_ids). Its items are the async
//! stream's: `Ok(Event::Open)`, `Ok(Event::Message)`,
//! `Ok(Event::Reconnecting { .. })`; an `Err` is final and `None` follows
//! it; a 204 and [`close`](EventSource::close) end it with `None`.
//!
//! ```no_run
//! use ssefeed::Event;
//! use ssefeed::blocking::EventSource;
//!
//! let mut source = EventSource::get("https://example.com/feed")?;
//! for event in &mut source {
//!     match event? {
//!         Event::Message(message) => println!("{}: {}", message.event_type(), message.data()),
//!         Event::Reconnecting { error, delay, .. } => {
//!             eprintln!("{}; retrying in {delay:?}", error.report())
//!         }
//!         _ => {}
//!     }
//! }
//! eprintln!("ended: {:?}", source.close_reason());
//! # Ok::<(), ssefeed::Error>(())
//! ```
//!
//! # How it waits
//!
//! A read of a `reqwest::blocking` body cannot be interrupted: it parks its
//! thread until the next chunk, the end of the body, an error, or the
//! client's own timeout. So the source never reads on the caller's thread.
//! Each connection (the request, then its body) runs on a thread of its
//! own, which sends what it reads over a bounded channel (at most 8 chunks
//! ahead, so a slow consumer still slows the server down); `next` waits on
//! that channel until the machine's next deadline. No async runtime is
//! made: the only one is the one `reqwest::blocking` keeps per client. A
//! thread is started per connection, not per event.
//!
//! - **Closing from another thread.** [`EventSource::close_handle`] gives a
//!   [`CloseHandle`] that can be sent to another thread and cloned; its
//!   [`close`](CloseHandle::close) wakes a `next` blocked in its wait, which
//!   returns `None` at once (in the tests, well under a millisecond after
//!   the call; they allow 2 s for a loaded machine).
//! - **The idle timeout** is a deadline on that wait, the machine's, so it
//!   needs no runtime and no timeout on the client: a connection silent for
//!   longer is dropped and the source reconnects, as the async one does.
//! - **What is left behind.** A connection the source has let go of (after
//!   an idle timeout, a close, or a drop of the source) is closed by its
//!   thread when its read returns: at the server's next bytes, the end of
//!   its body, or the client's timeout. Until then that thread and its
//!   socket live on, sending nothing.
//!
//! # The idle timeout and the client's timeout
//!
//! A `reqwest::blocking::Client` has a timeout of 30 s by default, on the
//! request and on each read of the body: a feed silent for longer fails
//! with [`Error::Interrupted`] (whose causes say it timed out) and
//! reconnects. For a quiet feed, build the client with `.timeout(None)`
//! (as [`EventSource::get`] does) and choose with
//! [`idle_timeout`](EventSourceBuilder::idle_timeout); a client timeout
//! also bounds how long a connection let go of keeps its thread.
//!
//! # State and invariants
//!
//! For hackers:
//!
//! - `EventSource` owns the machine, the requests (`request.rs`: the first
//!   request, the resume factory) and the link to the connections'
//!   threads (`conn.rs`).
//! - One connection is current at a time, named by a number in an atomic
//!   shared with the threads; 0 is none. The machine's
//!   `Action::Disconnect` and a close set it to 0; a thread whose number is
//!   not current sends nothing more and stops at its next read, and what it
//!   sent before is discarded unread.
//! - A refused response's body is read from the channel until its limit,
//!   its end, or its deadline, then handed to the machine
//!   (`RefusedBody`); the machine's `Disconnect` follows.
//! - A close handle sets a flag and wakes the source; `next` looks at the
//!   flag before anything else, so a close wins over queued events.

mod builder;
mod conn;
mod request;

pub use builder::EventSourceBuilder;

use std::fmt;
use std::iter::FusedIterator;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use web_time::Instant;

use crate::client::RequestContext;
use crate::error::Error;
use crate::event::{CloseReason, Event, ReadyState};
use crate::machine::{Action, Machine};
use crate::response::{Refusal, ResponseHead};
use builder::Source;
use conn::{Closer, Link, Wire};
use request::Requests;

/// A reconnecting Server-Sent Events client that blocks: an [`Iterator`]
/// of [`Event`]s over any `reqwest::blocking` request. See the
/// [module documentation](self).
#[must_use = "iterators do nothing unless iterated"]
pub struct EventSource {
    machine: Machine,
    requests: Requests,
    link: Link,
    /// A refused response whose body is being read.
    refused: Option<RefusedBody>,
    /// How much of a refused response's body is kept, and for how long it
    /// is read.
    refusal_body: (usize, Duration),
    /// The machine reads the time of each chunk (an idle timeout or
    /// `max_elapsed`); otherwise chunks carry `opened_at`.
    timed_chunks: bool,
    /// When the current response arrived.
    opened_at: Instant,
}

/// Closes an [`EventSource`] from any thread: see
/// [`EventSource::close_handle`].
#[derive(Debug, Clone)]
pub struct CloseHandle {
    closer: Closer,
}

impl CloseHandle {
    /// Closes the source, as [`EventSource::close`] does: a `next` blocked
    /// on the source returns `None` at once, and so does every later one.
    /// Does nothing more when the source is closed or gone.
    pub fn close(&self) {
        self.closer.close();
    }
}

/// The first part of a refused response's body, being read.
struct RefusedBody {
    head: ResponseHead,
    /// At most the refusal body limit.
    read: BytesMut,
    /// Reading stops at this instant with what has arrived.
    deadline: Option<Instant>,
}

impl EventSource {
    /// An event source with the default options over `request` (any
    /// method, headers and body). A GET reconnects; a POST (or any other
    /// method but HEAD and OPTIONS) is sent once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request cannot be built;
    /// [`Error::BodyNotCloneable`] when it must be sent again but its body
    /// is a reader.
    pub fn new(request: reqwest::blocking::RequestBuilder) -> Result<Self, Error> {
        Self::builder(request).build()
    }

    /// An event source with the default options that GETs `url` with a new
    /// client without a timeout (a quiet feed is not cut: see the
    /// [module documentation](self#the-idle-timeout-and-the-clients-timeout)).
    /// Not from within an async runtime, where `reqwest::blocking` cannot
    /// make a client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when `url` is not a valid URL or the client
    /// cannot be made (no TLS backend).
    pub fn get(url: impl reqwest::IntoUrl) -> Result<Self, Error> {
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .map_err(Error::InvalidRequest)?;
        Self::new(client.get(url))
    }

    /// Options for an event source over `request`.
    pub fn builder(request: reqwest::blocking::RequestBuilder) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Builder(Box::new(request)))
    }

    /// Options for an event source that sends `request` with `client`.
    pub fn builder_from_request(
        client: reqwest::blocking::Client,
        request: reqwest::blocking::Request,
    ) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Request(client, Box::new(request)))
    }

    /// Options for an event source over a response the caller already has
    /// (a server that may answer with JSON or with a stream): the first
    /// connection, one-shot unless
    /// [`resume_with`](EventSourceBuilder::resume_with) says how to go on.
    /// See [`EventSource::builder_from_response`](crate::EventSource::builder_from_response).
    pub fn builder_from_response(response: reqwest::blocking::Response) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Response(Box::new(response)))
    }

    /// Options for an event source that calls `make_request` before each
    /// attempt, with the attempt number, the last event ID and why the last
    /// attempt ended (a fresh token after a 401, `?since=`); see
    /// [`EventSource::builder_fn`](crate::EventSource::builder_fn).
    pub fn builder_fn<F>(make_request: F) -> EventSourceBuilder
    where
        F: FnMut(&RequestContext) -> reqwest::blocking::RequestBuilder + Send + 'static,
    {
        EventSourceBuilder::new(Source::Factory(Box::new(make_request)))
    }

    /// An event source that has not connected yet (the builder's last step).
    fn start(requests: Requests, machine: Machine, refusal_body: (usize, Duration)) -> Self {
        Self {
            timed_chunks: machine.uses_chunk_time(),
            machine,
            requests,
            link: Link::new(),
            refused: None,
            refusal_body,
            opened_at: Instant::now(),
        }
    }

    /// The spec's `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.machine.ready_state()
    }

    /// The last event ID: what a reconnect resumes from.
    pub fn last_event_id(&self) -> &str {
        self.machine.last_event_id()
    }

    /// The current reconnection time (the server's latest `retry:`, or the
    /// policy's initial value).
    pub fn reconnection_time(&self) -> Duration {
        self.machine.reconnection_time()
    }

    /// Why the source closed for good; `None` while it is not closed.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.machine.close_reason()
    }

    /// Closes the source: lets go of the connection; `next` yields `None`
    /// from now on. Dropping the source does the same.
    pub fn close(&mut self) {
        self.machine.close();
        self.link.disconnect();
        self.refused = None;
    }

    /// A handle that closes this source from another thread, even while
    /// `next` is blocked:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use ssefeed::blocking::EventSource;
    /// use ssefeed::testing::{Response, Script, TestServer};
    ///
    /// // A feed that sends one event, then nothing.
    /// let server = TestServer::start(Script::new().connection(Response::sse().message("hi").hold_open()))?;
    /// let mut source = EventSource::new(reqwest::blocking::Client::new().get(server.url()))?;
    /// let handle = source.close_handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(100));
    ///     handle.close();
    /// });
    /// let events = source.by_ref().count(); // Open and the message, then None
    /// assert_eq!(events, 2);
    /// assert_eq!(source.close_reason(), Some(&ssefeed::CloseReason::ClosedByUser));
    /// # Ok(())
    /// # }
    /// ```
    pub fn close_handle(&self) -> CloseHandle {
        self.link.close_handle()
    }

    /// Acts on the machine's actions; false when an attempt could not start
    /// (the machine was told, and has an event).
    fn act(&mut self) -> bool {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Disconnect => {
                    self.link.disconnect();
                    self.refused = None;
                }
                Action::Connect {
                    last_event_id,
                    attempt,
                } => {
                    let started = self
                        .requests
                        .next(&mut self.machine, &last_event_id, attempt)
                        .and_then(|attempt| self.link.connect(attempt));
                    if let Err(error) = started {
                        self.machine.handle_error(Instant::now(), error);
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Waits for the connection's next news or the next deadline, and
    /// hands what came to the machine.
    fn wait(&mut self) {
        let refusal_deadline = self.refused.as_ref().and_then(|refused| refused.deadline);
        let deadline = match (self.machine.poll_timeout(), refusal_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // About to wait: an idle feed keeps no space for its last large event.
        self.machine.shrink_buffers();
        match self.link.wait(deadline) {
            Some(wire) if self.refused.is_some() => self.take_refused(wire),
            Some(wire) => self.take(wire),
            None => {
                let now = Instant::now();
                if refusal_deadline.is_some_and(|at| now >= at) {
                    self.refuse(false);
                }
                if self.machine.poll_timeout().is_some_and(|at| now >= at) {
                    self.machine.handle_timeout(now);
                }
            }
        }
    }

    /// The connection's news, while no refused body is being read.
    fn take(&mut self, wire: Wire) {
        match wire {
            Wire::Head(head) => {
                let now = Instant::now();
                if self.machine.refuses(&head) {
                    self.refused = Some(RefusedBody {
                        head,
                        read: BytesMut::new(),
                        deadline: now.checked_add(self.refusal_body.1),
                    });
                } else {
                    self.opened_at = now;
                    self.machine.handle_response(now, head);
                }
            }
            Wire::Chunk(bytes) => {
                let now = if self.timed_chunks {
                    Instant::now()
                } else {
                    self.opened_at
                };
                self.machine.handle_bytes(now, bytes);
            }
            Wire::End => self.machine.handle_eof(Instant::now()),
            Wire::Failed(error) => self.machine.handle_error(Instant::now(), error),
        }
    }

    /// A refused response's body, until its limit or its end.
    fn take_refused(&mut self, wire: Wire) {
        let (Some(refused), Wire::Chunk(bytes)) = (&mut self.refused, &wire) else {
            // Its end (complete), or an error (cut: it keeps what came).
            return self.refuse(matches!(wire, Wire::End));
        };
        let room = self.refusal_body.0.saturating_sub(refused.read.len());
        if bytes.len() > room {
            refused.read.extend_from_slice(&bytes[..room]);
            self.refuse(false);
        } else {
            refused.read.extend_from_slice(bytes);
        }
    }

    /// Hands the refused response, with what was read of its body, to the
    /// machine.
    fn refuse(&mut self, complete: bool) {
        if let Some(RefusedBody { head, read, .. }) = self.refused.take() {
            let refusal = Refusal::new(head, Bytes::from(read), complete);
            self.machine.handle_refusal(Instant::now(), refusal);
        }
    }
}

impl Iterator for EventSource {
    type Item = Result<Event, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.link.close_requested() && !self.machine.is_finished() {
                self.close();
            }
            if let Some(event) = self.machine.poll_event() {
                return Some(event);
            }
            if !self.act() {
                continue;
            }
            if self.machine.ready_state() == ReadyState::Closed {
                self.link.disconnect();
                return None;
            }
            self.wait();
        }
    }
}

/// `None` once, `None` for ever: a closed machine yields nothing more.
impl FusedIterator for EventSource {}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("ready_state", &self.ready_state())
            .field("last_event_id", &self.last_event_id())
            .field("reconnection_time", &self.reconnection_time())
            .finish_non_exhaustive()
    }
}
