//! The reconnecting event source as a sans-I/O state machine: what happens
//! goes in, what to do comes out, and the caller owns the clock and sockets.
//!
//! [`Machine`] is the whole EventSource processing model of the spec —
//! announce, reestablish and fail the connection, the reconnection time, the
//! last event ID — with no HTTP client, no runtime and no sleeping. The
//! `EventSource` client is this machine driven by reqwest and tokio; drive it
//! with any other HTTP stack the same way.
//!
//! # Driving it
//!
//! 1. Take [`poll_action`](Machine::poll_action) until `None`, and act:
//!    [`Action::Connect`] starts a request (send `Last-Event-ID` when the ID
//!    it carries is not empty), [`Action::Disconnect`] drops the current one.
//! 2. Feed what happens on the connection: [`handle_response`](Machine::handle_response)
//!    for the status and headers (or, for a response the machine
//!    [`refuses`](Machine::refuses), [`handle_refusal`](Machine::handle_refusal)
//!    with the first part of its body), [`handle_bytes`](Machine::handle_bytes)
//!    for each body chunk, then [`handle_eof`](Machine::handle_eof) or
//!    [`handle_error`](Machine::handle_error).
//! 3. Take [`poll_event`](Machine::poll_event) until `None` after every input.
//!    When it returns `None` and [`ready_state`](Machine::ready_state) is
//!    [`ReadyState::Closed`], the stream is over.
//! 4. Call [`handle_timeout`](Machine::handle_timeout) when the instant from
//!    [`poll_timeout`](Machine::poll_timeout) has come (it changes after each
//!    input), then go to 1.
//!
//! # State and invariants
//!
//! For hackers: each piece of state, the type that owns it, and what it
//! guarantees (`debug_assert!`ed by `Machine::assert_invariants` after each
//! input).
//!
//! - The connection's state (`state.rs`'s `State`): `Connecting` holds when
//!   the request started and why the last connection ended; `Open` when the
//!   last bytes came and whether it delivered a message; `Waiting` until when
//!   and why; `Closed` its reason, which never changes. `Open` only after a
//!   200 `text/event-stream` (`has_opened` is then true); `Waiting` only with
//!   an attempt counted.
//! - The one attempt counter, `failures`: reconnect attempts made in a row
//!   since the last connection that delivered a message. Every attempt
//!   number (`Action::Connect`, `Event::Reconnecting`, the retry hook's) is
//!   read from it; 0 means the first request and nothing else.
//! - The last event ID and the reconnection time: the parser's (committed
//!   at each dispatch, and at each `retry:`), never copied.
//! - What to retry: the [`RetryPolicy`]'s one decision (`RetryPolicy::after`
//!   in `retry.rs`); the machine only says whether its mode allows another
//!   request at all (`may_connect_again`).
//! - Settings: the [`MachineConfig`], fixed at construction but for one-shot
//!   mode ([`Machine::set_one_shot`]); whether messages are inspected
//!   (`inspects`) follows from it.
//! - The queues of events and actions, emptied by the driver; an empty one
//!   holds no buffer.
//!
//! Times are `web_time::Instant`s: that is `std::time::Instant` itself on
//! every target but the browser (`wasm32-unknown-unknown`), where
//! `std::time::Instant::now()` panics and `web_time` reads
//! `performance.now()`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ssefeed::machine::{Action, Machine};
//! use ssefeed::{Event, ReadyState, ResponseHead};
//!
//! let start = Instant::now();
//! let mut machine = Machine::new(start);
//! assert!(matches!(machine.poll_action(), Some(Action::Connect { .. })));
//! let head = ResponseHead::new(200).with_header("content-type", "text/event-stream");
//! machine.handle_response(start, head);
//! machine.handle_bytes(start, "retry: 500\nid: 7\ndata: hi\n\n".into());
//! assert!(matches!(machine.poll_event(), Some(Ok(Event::Open(_)))));
//! assert!(matches!(machine.poll_event(), Some(Ok(Event::Message(m))) if m.data() == "hi"));
//!
//! // The server closes the stream: reconnect after the server's 500 ms.
//! machine.handle_eof(start);
//! assert!(matches!(machine.poll_event(), Some(Ok(Event::Reconnecting { .. }))));
//! assert_eq!(machine.ready_state(), ReadyState::Connecting);
//! let at = machine.poll_timeout().unwrap();
//! assert!(at >= start + Duration::from_millis(500));
//! machine.handle_timeout(at);
//! # assert!(matches!(machine.poll_action(), Some(Action::Disconnect)));
//! match machine.poll_action() {
//!     Some(Action::Connect { last_event_id, .. }) => assert_eq!(last_event_id, "7"),
//!     other => panic!("{other:?}"),
//! }
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use web_time::Instant;

use bytes::Bytes;
use ecow::EcoString;

use crate::error::Error;
use crate::event::{CloseReason, Event, MessageEvent, ReadyState};
use crate::parser::{Item, Parser, StreamEnd};
use crate::response::{Refusal, ResponseHead};
use crate::retry::{Jitter, RetryPolicy};
use crate::stats::FeedStats;

mod config;
mod delivery;
mod recent;
mod reconnect;
mod state;

pub use config::MachineConfig;
use recent::RecentBytes;
use state::State;

/// What [`Machine::poll_polled`] found: a message, or any other outcome as
/// [`Machine::poll_event`] gives it.
pub(crate) enum Polled {
    Message(MessageEvent),
    Other(Option<Result<Event, Error>>),
}

/// What the driver must do next, from [`Machine::poll_action`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Start a request. Send `Last-Event-ID: {last_event_id}` when it is not
    /// empty (and can be a header value).
    Connect {
        /// The last event ID to resume from; empty for none.
        last_event_id: String,
        /// 0 for the first request; then which attempt in a row without an
        /// event this is, from 1, as in
        /// [`Event::Reconnecting`]. Why the
        /// last connection ended is [`Machine::disconnect_cause`].
        attempt: u32,
    },
    /// Drop the current request or response body, if any.
    Disconnect,
}

/// The spec's EventSource processing model, sans I/O. See the
/// [module documentation](self) for how to drive it.
#[derive(Debug)]
pub struct Machine {
    state: State,
    /// Also the one source of the reconnection time: its latest `retry:`.
    parser: Parser,
    policy: RetryPolicy,
    config: MachineConfig,
    jitter: Jitter,
    /// The one attempt counter: reconnect attempts made in a row since the
    /// last connection that delivered a message (0 before any). Each
    /// `Reconnecting` and `Connect` numbers its attempt from it.
    failures: u32,
    /// When the last message arrived (or the machine started), for
    /// `max_elapsed`.
    last_progress: Instant,
    /// Some connection has opened: what follows a refusal is a resume, not
    /// the first request again.
    has_opened: bool,
    /// What the feed did: counted as it goes.
    stats: FeedStats,
    /// The end of the current (or last) connection's body, when asked for.
    recent: Option<RecentBytes>,
    /// A sentinel or de-duplication is configured: each message is
    /// inspected before it is delivered (`delivery.rs`).
    inspects: bool,
    /// The IDs of the last messages delivered with an `id:` of their own,
    /// oldest first; at most `config.dedupe_ids` of them.
    recent_ids: VecDeque<EcoString>,
    events: VecDeque<Result<Event, Error>>,
    actions: VecDeque<Action>,
}

impl Machine {
    /// A machine with the default parser, [`RetryPolicy`] and
    /// [`MachineConfig`], which wants to connect at once.
    pub fn new(now: Instant) -> Self {
        Self::with_config(now, Parser::new(), RetryPolicy::new(), MachineConfig::new())
    }

    /// A machine with a configured parser (limits, comments, a seeded last
    /// event ID), retry policy and [`MachineConfig`]: the one way to
    /// configure it.
    pub fn with_config(
        now: Instant,
        parser: Parser,
        policy: RetryPolicy,
        config: MachineConfig,
    ) -> Self {
        let jitter = config
            .jitter_seed
            .map_or_else(Jitter::from_entropy, Jitter::from_seed);
        let inspects = config.complete_on.is_some() || config.dedupe_ids > 0;
        let recent =
            (config.keep_recent_bytes > 0).then(|| RecentBytes::new(config.keep_recent_bytes));
        let mut recent_ids = VecDeque::new();
        if config.dedupe_ids > 0 && !parser.last_event_id().is_empty() {
            // A server that replays the event a resumed stream names.
            recent_ids.push_back(parser.last_event_id().into());
        }
        let mut machine = Self {
            state: State::Connecting {
                since: now,
                cause: None,
            },
            parser,
            policy,
            config,
            jitter,
            failures: 0,
            last_progress: now,
            has_opened: false,
            stats: FeedStats::default(),
            recent,
            inspects,
            recent_ids,
            events: VecDeque::new(),
            actions: VecDeque::new(),
        };
        machine.stats.request(now);
        machine.actions.push_back(machine.connect_action(0));
        machine.assert_invariants();
        machine
    }

    /// Whether a connection has opened (a 200 `text/event-stream` response
    /// was announced): a driver then sends a resume request rather than the
    /// first one again.
    pub fn has_opened(&self) -> bool {
        self.has_opened
    }

    /// Whether the machine is in one-shot mode
    /// ([`MachineConfig::reconnect`]`(false)`): it never reconnects.
    pub fn is_one_shot(&self) -> bool {
        !self.config.reconnect
    }

    /// Turns one-shot mode on or off after the machine was built: for a
    /// driver that learns only at the first request whether it may be sent
    /// twice.
    pub fn set_one_shot(&mut self, one_shot: bool) {
        self.config.reconnect = !one_shot;
    }

    /// The spec's `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.state.ready_state()
    }

    /// The last event ID: what the next connection resumes from.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// Lets go of buffer space that holds nothing now, before the driver
    /// waits for input: see [`Parser::shrink_buffers`]. Cheap when there is
    /// nothing to free, so it can be called before every wait.
    pub fn shrink_buffers(&mut self) {
        self.parser.shrink_buffers();
    }

    /// The parser's buffer capacity, for tests of what a waiting source keeps.
    #[cfg(all(test, feature = "client"))]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.parser.buffer_capacity()
    }

    /// The reconnection time: the server's latest `retry:` (capped by
    /// [`RetryPolicy::max_server_delay`]), else the policy's initial value.
    pub fn reconnection_time(&self) -> Duration {
        self.parser
            .reconnection_time()
            .map_or(self.policy.initial, |time| {
                self.policy.cap_server_delay(time)
            })
    }

    /// Why the last connection ended (the `error` of the last
    /// [`Event::Reconnecting`]), from then until the next connection opens;
    /// `None` before the first attempt ends and while open.
    pub fn disconnect_cause(&self) -> Option<&Arc<Error>> {
        self.state.cause()
    }

    /// The last bytes of the current (or last) connection's body, when
    /// [`MachineConfig::keep_recent_bytes`] asks for them (empty otherwise):
    /// what the parser saw before an error. Kept after the connection ended,
    /// until the next one opens.
    pub fn recent_bytes(&self) -> &[u8] {
        self.recent.as_ref().map_or(&[], RecentBytes::bytes)
    }

    /// What the feed did so far: requests, connections, reconnects, events
    /// and bytes, and the current connection's [`ConnectionStats`](crate::ConnectionStats).
    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }

    /// Whether the machine has nothing more to say: it is
    /// [`ReadyState::Closed`] and every event was taken, so
    /// [`poll_event`](Self::poll_event) returns `None` from now on.
    pub fn is_finished(&self) -> bool {
        self.state.is_closed() && self.events.is_empty()
    }

    /// Why the machine closed for good; `None` while it is not
    /// [`ReadyState::Closed`].
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match &self.state {
            State::Closed { reason } => Some(reason),
            _ => None,
        }
    }

    /// The next thing the driver must do.
    #[must_use]
    #[inline]
    pub fn poll_action(&mut self) -> Option<Action> {
        if self.actions.is_empty() {
            return None;
        }
        let action = self.actions.pop_front();
        if self.actions.is_empty() {
            // Actions come a few per connection: hold no buffer between.
            self.actions = VecDeque::new();
        }
        action
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called:
    /// the end of the reconnect wait, or of the idle timeout.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { until, .. } => until,
            State::Connecting { since, .. } => self.idle_deadline(since),
            State::Open { last_activity, .. } => self.idle_deadline(last_activity),
            State::Closed { .. } => None,
        }
    }

    fn idle_deadline(&self, from: Instant) -> Option<Instant> {
        self.config
            .idle_timeout
            .and_then(|timeout| from.checked_add(timeout))
    }

    /// The next event or final error. `None` means "nothing now" — or, when
    /// [`ready_state`](Self::ready_state) is `Closed`, "nothing ever".
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<Result<Event, Error>> {
        match self.poll_polled() {
            Polled::Message(message) => Some(Ok(Event::Message(message))),
            Polled::Other(event) => event,
        }
    }

    /// [`poll_event`](Self::poll_event), with a message apart from every
    /// other outcome: the client's hot loop returns it as it is built,
    /// where one value for all outcomes was built on the stack and copied
    /// (a store-forwarding stall per event; BENCHMARKS.md, session 10).
    #[inline(always)]
    pub(crate) fn poll_polled(&mut self) -> Polled {
        if self.events.is_empty() && matches!(self.state, State::Open { .. }) {
            if self.inspects {
                return Polled::Other(self.poll_inspected());
            }
            // The hot path: an open connection's events, straight from the
            // parser. Its arms are `take_item`'s, written out: calling
            // `take_item` here, or a message going through one more
            // function, cost the bulk stream 15-20 % (extra copies of the
            // message; BENCHMARKS.md, session 8).
            loop {
                let Some(item) = self.parser.next_item_inline() else {
                    return Polled::Other(None);
                };
                match item {
                    Ok(Item::Event(message)) => {
                        self.take_message();
                        return Polled::Message(message);
                    }
                    // "Set the event stream's reconnection time to that
                    // integer": the parser has, and `reconnection_time`
                    // reads it there.
                    Ok(Item::Retry(_)) => {}
                    Ok(Item::Comment(text)) => {
                        self.stats.current.comments += 1;
                        return Polled::Other(Some(Ok(Event::Comment(text))));
                    }
                    Ok(Item::Skipped(skipped)) => {
                        return Polled::Other(Some(Ok(Event::Skipped(skipped))));
                    }
                    Err(error) => {
                        self.fail(error.into());
                        break;
                    }
                }
            }
        }
        Polled::Other(self.pop_queued())
    }

    /// The next queued event (an open, a reconnect, a final error, or the
    /// events completed at the end of a body).
    pub(super) fn pop_queued(&mut self) -> Option<Result<Event, Error>> {
        let event = self.events.pop_front();
        if event.is_some() && self.events.is_empty() {
            // Queued events come a few per connection: hold no buffer
            // between (an idle connection keeps none).
            self.events = VecDeque::new();
        }
        event
    }

    /// A message event is delivered: the connection made progress.
    #[inline]
    fn take_message(&mut self) {
        if let State::Open {
            last_activity,
            progressed,
        } = &mut self.state
        {
            *progressed = true;
            self.last_progress = *last_activity;
            self.stats.event(*last_activity);
        }
    }

    /// Applies a parser item; returns the event it makes, if any.
    fn take_item(&mut self, item: Item) -> Option<Event> {
        match item {
            Item::Event(message) => {
                if self.inspects && !self.admit(&message) {
                    return None;
                }
                self.take_message();
                Some(Event::Message(message))
            }
            // "Set the event stream's reconnection time to that integer": the
            // parser has, and `reconnection_time` reads it there.
            Item::Retry(_) => None,
            Item::Comment(text) => {
                self.stats.current.comments += 1;
                Some(Event::Comment(text))
            }
            // Not progress: the last event ID stays before it, so a resume
            // asks for it again (and the attempt count keeps growing).
            Item::Skipped(skipped) => Some(Event::Skipped(skipped)),
        }
    }

    /// Whether this response does not open a stream: a status other than
    /// 200 and 204, or a 200 whose `Content-Type` is not `text/event-stream`
    /// (unless [any content type](MachineConfig::accept_any_content_type) is
    /// accepted). A driver reads the first part of such a response's body
    /// and hands it to [`handle_refusal`](Self::handle_refusal).
    pub fn refuses(&self, response: &ResponseHead) -> bool {
        match response.status() {
            204 => false,
            200 => {
                !self.config.any_content_type
                    && !response.content_type().is_some_and(is_event_stream)
            }
            _ => true,
        }
    }

    /// The response's status and headers arrived. Ignored unless connecting.
    ///
    /// A 200 `text/event-stream` opens the connection; a 204 closes the
    /// machine; any other response is [refused](Self::refuses) with an empty
    /// body (see [`handle_refusal`](Self::handle_refusal) to keep its body).
    pub fn handle_response(&mut self, now: Instant, response: ResponseHead) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        if self.refuses(&response) {
            self.refuse(now, Refusal::new(response, Bytes::new(), false));
        } else if response.status() == 204 {
            // "clients will be told to stop reconnecting using 204": the
            // stream ends normally.
            self.close_with(CloseReason::NoContent(response));
        } else {
            // "announce the connection"
            self.parser.reset();
            self.has_opened = true;
            self.stats.opened(now);
            if let Some(recent) = &mut self.recent {
                recent.clear();
            }
            self.state = State::Open {
                last_activity: now,
                progressed: false,
            };
            self.events.push_back(Ok(Event::Open(response)));
        }
        self.assert_invariants();
    }

    /// A [refused](Self::refuses) response arrived, with the first part of
    /// its body: "fail the connection", or reconnect when the retry policy
    /// says so (honouring `Retry-After`). Ignored unless connecting, and for
    /// a response that is not refused.
    pub fn handle_refusal(&mut self, now: Instant, refusal: Refusal) {
        if matches!(self.state, State::Connecting { .. }) && self.refuses(refusal.head()) {
            self.refuse(now, refusal);
        }
    }

    /// "Fail the connection" on a refused response, or reconnect: the part
    /// of [`handle_refusal`](Self::handle_refusal) after its checks.
    fn refuse(&mut self, now: Instant, refusal: Refusal) {
        let retry_after = refusal.head().retry_after();
        let error = if refusal.head().status() == 200 {
            Error::ContentType(Box::new(refusal))
        } else {
            Error::Status(Box::new(refusal))
        };
        self.end_connection(now, error, retry_after);
    }

    /// A chunk of the response body arrived. Ignored unless open.
    ///
    /// `now` is read only when [`uses_chunk_time`](Self::uses_chunk_time)
    /// is true; otherwise a driver may pass any earlier instant (the time of
    /// the response, say) and save a clock read per chunk.
    #[inline]
    pub fn handle_bytes(&mut self, now: Instant, bytes: Bytes) {
        if let State::Open { last_activity, .. } = &mut self.state {
            *last_activity = now;
            self.stats.bytes(now, bytes.len());
            if let Some(recent) = &mut self.recent {
                recent.push(&bytes);
            }
            self.parser.feed(bytes);
        }
    }

    /// Whether [`handle_bytes`](Self::handle_bytes) reads its `now`: only an
    /// idle timeout and [`RetryPolicy::max_elapsed`] need the time of each
    /// chunk.
    pub fn uses_chunk_time(&self) -> bool {
        self.config.idle_timeout.is_some() || self.policy.max_elapsed.is_some()
    }

    /// The response body ended without a network error. Reconnects — or, in
    /// one-shot mode, ends the stream (with [`Error::Truncated`] when it
    /// stopped inside an event).
    pub fn handle_eof(&mut self, now: Instant) {
        if !matches!(self.state, State::Open { .. }) {
            return;
        }
        let Some(end) = self.finish_body() else {
            return;
        };
        let cause = match end {
            StreamEnd::Truncated => Error::Truncated,
            _ if self.config.reconnect => Error::StreamEnded,
            // A one-shot stream that was to end with its sentinel was cut
            // short.
            _ if self.config.complete_on.is_some() => Error::Truncated,
            _ => return self.close_with(CloseReason::Completed),
        };
        self.end_connection(now, cause, None);
    }

    /// The request or the body failed (a network error, or a request that
    /// could not be made). Reconnects when retrying can help
    /// ([`Error::is_retryable`], or the retry hook says so); otherwise, and
    /// in one-shot mode, fails with `error`.
    pub fn handle_error(&mut self, now: Instant, error: Error) {
        if !matches!(self.state, State::Open { .. } | State::Connecting { .. }) {
            return;
        }
        if matches!(self.state, State::Open { .. }) && self.finish_body().is_none() {
            return;
        }
        self.end_connection(now, error, None);
    }

    /// Drops the current connection (or cuts a reconnect wait short) and
    /// connects again at once, resuming from the last event ID: for an app
    /// that sees its network change or wakes from sleep. Events the current
    /// connection completed are still delivered; an unfinished one is
    /// discarded, so the server resends it. Not counted as a failed attempt.
    ///
    /// Returns false, doing nothing, when the machine is closed or in
    /// one-shot mode (whose stream, once open, is never requested again),
    /// unless the stream can be [resumed](MachineConfig::resume) now.
    pub fn reconnect_now(&mut self, now: Instant) -> bool {
        if !self.may_connect_again() || self.state.is_closed() {
            return false;
        }
        if matches!(self.state, State::Open { .. }) && self.finish_body().is_none() {
            return false;
        }
        if self.state.progressed() {
            // A connection that delivered a message ends the run of failed
            // attempts (the next `end_connection` would see no progress).
            self.failures = 0;
        }
        let cause = self.state.cause().cloned();
        self.state = State::Connecting { since: now, cause };
        self.stats.request(now);
        self.actions.push_back(Action::Disconnect);
        // Never attempt 0, which says "the first request".
        let action = self.connect_action(self.failures.max(1));
        self.actions.push_back(action);
        self.assert_invariants();
        true
    }

    /// Time has passed: starts the next attempt when the wait is over, and
    /// treats a connection idle past the idle timeout as lost.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.state {
            State::Waiting {
                until: Some(until),
                cause,
            } if now >= *until => {
                let cause = Some(Arc::clone(cause));
                self.state = State::Connecting { since: now, cause };
                self.stats.request(now);
                let action = self.connect_action(self.failures);
                self.actions.push_back(action);
            }
            &State::Connecting { since, .. }
            | &State::Open {
                last_activity: since,
                ..
            } if self
                .idle_deadline(since)
                .is_some_and(|deadline| now >= deadline) =>
            {
                let timeout = self.config.idle_timeout.unwrap_or_default();
                self.handle_error(now, Error::IdleTimeout { timeout });
            }
            _ => {}
        }
    }

    /// Closes for good: no more events, actions or timeouts.
    pub fn close(&mut self) {
        self.close_with(CloseReason::ClosedByUser);
        self.events = VecDeque::new();
        self.parser.reset();
        self.assert_invariants();
    }

    /// Enters `Closed` (once: the first reason stays).
    fn close_with(&mut self, reason: CloseReason) {
        if !self.state.is_closed() {
            self.actions.push_back(Action::Disconnect);
            self.state = State::Closed { reason };
        }
    }

    /// Start a request, numbered `attempt`: 0 for the first one only.
    fn connect_action(&self, attempt: u32) -> Action {
        Action::Connect {
            last_event_id: self.parser.last_event_id().to_owned(),
            attempt,
        }
    }

    /// The invariants the fields' documents state, in debug builds.
    #[inline]
    fn assert_invariants(&self) {
        debug_assert_eq!(
            self.inspects,
            self.config.complete_on.is_some() || self.config.dedupe_ids > 0
        );
        debug_assert!(self.recent_ids.len() <= self.config.dedupe_ids.max(1));
        debug_assert!(
            !matches!(self.state, State::Open { .. }) || self.has_opened,
            "open, but no connection has opened"
        );
        debug_assert!(
            !matches!(self.state, State::Waiting { .. }) || self.failures >= 1,
            "waiting to reconnect, but no attempt counted"
        );
        debug_assert!(
            !self.state.is_closed() || self.actions.back() != Some(&self.connect_action(0)),
            "closed, with a connect to come"
        );
    }

    /// Ends the body: what it completed is queued as events, the rest
    /// discarded. `None` when the machine closed meanwhile: a limit error
    /// failed it, or a sentinel completed the stream.
    fn finish_body(&mut self) -> Option<StreamEnd> {
        self.parser.finish();
        while let Some(item) = self.parser.next_item() {
            match item {
                Ok(item) => {
                    if let Some(event) = self.take_item(item) {
                        self.events.push_back(Ok(event));
                    }
                    if self.state.is_closed() {
                        return None;
                    }
                }
                Err(error) => {
                    self.fail(error.into());
                    return None;
                }
            }
        }
        self.parser.stream_end()
    }
}

/// Whether a `Content-Type` value's essence is `text/event-stream`
/// (parameters and case ignored).
pub(crate) fn is_event_stream(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .eq_ignore_ascii_case("text/event-stream")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryDecision;

    pub(super) const SSE: Option<&str> = Some("text/event-stream");

    pub(super) fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    pub(super) fn ms(m: u64) -> Duration {
        Duration::from_millis(m)
    }

    /// A machine without jitter, started at `t0`, with its first Connect
    /// taken.
    pub(super) fn machine_with(t0: Instant, policy: RetryPolicy) -> Machine {
        let mut machine =
            Machine::with_config(t0, Parser::new(), policy.jitter(0.0), MachineConfig::new());
        assert_eq!(
            machine.poll_action(),
            Some(Action::Connect {
                last_event_id: String::new(),
                attempt: 0,
            })
        );
        assert_eq!(machine.poll_action(), None);
        machine
    }

    /// [`machine_with`], with a configuration.
    pub(super) fn configured(t0: Instant, policy: RetryPolicy, config: MachineConfig) -> Machine {
        let mut machine = Machine::with_config(t0, Parser::new(), policy.jitter(0.0), config);
        assert!(matches!(
            machine.poll_action(),
            Some(Action::Connect { attempt: 0, .. })
        ));
        assert_eq!(machine.poll_action(), None);
        machine
    }

    pub(super) fn machine(t0: Instant) -> Machine {
        machine_with(t0, RetryPolicy::new())
    }

    /// Every event now, as short strings.
    pub(super) fn events(machine: &mut Machine) -> Vec<String> {
        std::iter::from_fn(|| machine.poll_event())
            .map(|event| match event {
                Ok(Event::Open(_)) => "open".to_owned(),
                Ok(Event::Message(m)) => format!(
                    "message {} {} {}",
                    m.event_type(),
                    m.data(),
                    m.last_event_id()
                ),
                Ok(Event::Comment(c)) => format!("comment {c}"),
                Ok(Event::Skipped(s)) => format!("skipped {} {}", s.event_type(), s.len()),
                Ok(Event::Reconnecting {
                    error,
                    delay,
                    attempt,
                    ..
                }) => {
                    format!(
                        "reconnecting #{attempt} in {}ms: {error}",
                        delay.as_millis()
                    )
                }
                Err(error) => format!("error: {error}"),
            })
            .collect()
    }

    pub(super) fn actions(machine: &mut Machine) -> Vec<Action> {
        std::iter::from_fn(|| machine.poll_action()).collect()
    }

    /// A `Connect` action's last event ID, for comparing actions without
    /// their attempt numbers.
    pub(super) fn connect(id: &str) -> String {
        format!("connect {id:?}")
    }

    pub(super) fn described(action: Action) -> String {
        match action {
            Action::Connect { last_event_id, .. } => connect(&last_event_id),
            Action::Disconnect => "disconnect".to_owned(),
        }
    }

    pub(super) fn head(status: u16, content_type: Option<&str>) -> ResponseHead {
        let head = ResponseHead::new(status);
        match content_type {
            Some(content_type) => head.with_header("content-type", content_type),
            None => head,
        }
    }

    /// Opens the connection and feeds `body`.
    pub(super) fn open_with(machine: &mut Machine, now: Instant, body: &str) {
        machine.handle_response(now, head(200, SSE));
        machine.handle_bytes(now, Bytes::copy_from_slice(body.as_bytes()));
    }

    /// Waits out the reconnect delay: nothing happens a millisecond early,
    /// a Connect comes at the deadline. Returns the deadline and the action.
    pub(super) fn wait_reconnect(machine: &mut Machine) -> (Instant, String) {
        assert_eq!(actions(machine), [Action::Disconnect]);
        let at = machine.poll_timeout().expect("a reconnect deadline");
        machine.handle_timeout(at - ms(1));
        assert_eq!(machine.ready_state(), ReadyState::Connecting);
        assert_eq!(actions(machine), []);
        machine.handle_timeout(at);
        let mut taken = actions(machine);
        assert_eq!(taken.len(), 1, "{taken:?}");
        (at, described(taken.remove(0)))
    }

    #[test]
    fn drained_queues_hold_no_buffer() {
        // An idle connection keeps no event or action buffer.
        let t0 = Instant::now();
        let mut m = machine(t0);
        assert_eq!(m.actions.capacity(), 0);
        m.handle_response(t0, head(200, SSE));
        assert_eq!(events(&mut m), ["open"]);
        assert_eq!(m.events.capacity(), 0);
        m.handle_eof(t0);
        assert_eq!(events(&mut m).len(), 1);
        assert_eq!(actions(&mut m), [Action::Disconnect]);
        assert_eq!((m.events.capacity(), m.actions.capacity()), (0, 0));
    }

    #[test]
    fn opens_on_200_event_stream_with_any_parameters_and_case() {
        for content_type in [
            "text/event-stream",
            "text/event-stream;",
            "TEXT/Event-Stream; charset=utf-8",
            " text/event-stream ;x=y",
        ] {
            let t0 = Instant::now();
            let mut m = machine(t0);
            assert_eq!(m.ready_state(), ReadyState::Connecting);
            m.handle_response(t0, head(200, Some(content_type)));
            assert_eq!(m.ready_state(), ReadyState::Open, "{content_type}");
            assert_eq!(events(&mut m), ["open"]);
        }
    }

    #[test]
    fn wrong_or_missing_content_type_fails_for_good() {
        for content_type in [
            Some("text/plain"),
            Some("text/event-streams"),
            Some("x bogus"),
            None,
        ] {
            let t0 = Instant::now();
            let mut m = machine(t0);
            m.handle_response(t0, head(200, content_type));
            assert_eq!(m.ready_state(), ReadyState::Closed);
            let got = events(&mut m);
            assert_eq!(got.len(), 1);
            assert!(
                got[0].starts_with("error: the server answered with content type"),
                "{got:?}"
            );
            assert_eq!(actions(&mut m), [Action::Disconnect]);
            m.handle_timeout(t0 + secs(3600));
            assert_eq!(actions(&mut m), []);
            assert_eq!(m.poll_timeout(), None);
        }
    }

    #[test]
    fn status_204_ends_the_stream_without_error() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        m.handle_response(t0, head(204, None));
        assert_eq!(m.ready_state(), ReadyState::Closed);
        assert_eq!(events(&mut m), Vec::<String>::new());
        assert_eq!(actions(&mut m), [Action::Disconnect]);
    }

    #[test]
    fn other_statuses_fail_unless_the_policy_retries_them() {
        for status in [201, 205, 301, 404, 500, 503] {
            let t0 = Instant::now();
            let mut m = machine(t0);
            m.handle_response(t0, head(status, SSE));
            assert_eq!(m.ready_state(), ReadyState::Closed);
            assert_eq!(
                events(&mut m),
                [format!(
                    "error: the server answered with status {}",
                    ResponseHead::new(status).status_line()
                )]
            );
        }
        let t0 = Instant::now();
        let mut m = machine_with(t0, RetryPolicy::new().retry_transient_statuses());
        m.handle_response(t0, head(503, None).with_header("retry-after", "10"));
        assert_eq!(
            events(&mut m),
            ["reconnecting #1 in 10000ms: the server answered with status 503 Service Unavailable"]
        );
        let (at, action) = wait_reconnect(&mut m);
        assert_eq!((at - t0, action), (secs(10), connect("")));
        // Without Retry-After the backoff applies: 3 s doubled on the 2nd.
        m.handle_response(at, head(500, None));
        assert_eq!(
            events(&mut m),
            [
                "reconnecting #2 in 6000ms: the server answered with status 500 Internal Server Error"
            ]
        );
    }

    #[test]
    fn end_of_body_reconnects_after_the_reconnection_time_with_last_event_id() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(
            &mut m,
            t0,
            "id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: cut",
        );
        m.handle_eof(t0 + secs(1));
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message a 1",
                "message message b 2",
                "reconnecting #1 in 3000ms: the stream ended before it was complete"
            ]
        );
        assert_eq!(m.ready_state(), ReadyState::Connecting);
        let (at, action) = wait_reconnect(&mut m);
        assert_eq!((at, action), (t0 + secs(4), connect("2")));
        // The new stream resumes: events without id: report the old one.
        open_with(&mut m, at, "data: c\n\n");
        assert_eq!(events(&mut m), ["open", "message message c 2"]);
    }

    #[test]
    fn server_retry_sets_the_delay_and_retry_zero_does_not_spin() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(&mut m, t0, "retry: 1500\ndata: x\n\n");
        m.handle_eof(t0);
        let (at, _) = wait_reconnect(&mut m);
        assert_eq!(at - t0, ms(1500));
        assert_eq!(m.reconnection_time(), ms(1500));
        // retry: 0 with an event each time: the 100 ms floor, no doubling.
        let mut now = at;
        for _ in 0..3 {
            open_with(&mut m, now, "retry: 0\ndata: x\n\n");
            m.handle_eof(now);
            let (at, _) = wait_reconnect(&mut m);
            assert_eq!(at - now, ms(100));
            now = at;
        }
        // retry: 0 with no event: backoff grows from the floor (the attempt
        // after the last eventful connection waited 100 ms; each empty one
        // doubles it).
        let mut gaps = Vec::new();
        for _ in 0..4 {
            open_with(&mut m, now, "retry: 0\n");
            m.handle_eof(now);
            let (at, _) = wait_reconnect(&mut m);
            gaps.push((at - now).as_millis());
            now = at;
        }
        assert_eq!(gaps, [200, 400, 800, 1600]);
    }

    #[test]
    fn bogus_retry_is_ignored() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(
            &mut m,
            t0,
            "retry: 1000\nretry: 1000x\nretry: +5\ndata: x\n\n",
        );
        m.handle_eof(t0);
        let (at, _) = wait_reconnect(&mut m);
        assert_eq!(at - t0, ms(1000));
    }

    #[test]
    fn network_errors_back_off_exponentially_capped_and_reset_after_an_event() {
        let t0 = Instant::now();
        let mut m = machine_with(t0, RetryPolicy::new().max_delay(secs(20)));
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..6 {
            m.handle_error(now, Error::StreamEnded);
            let (at, action) = wait_reconnect(&mut m);
            assert_eq!(action, connect(""));
            delays.push((at - now).as_secs());
            now = at;
        }
        assert_eq!(delays, [3, 6, 12, 20, 20, 20]);
        // A connection that delivers an event resets the backoff.
        open_with(&mut m, now, "data: x\n\n");
        m.handle_error(now, Error::StreamEnded);
        let (at, _) = wait_reconnect(&mut m);
        assert_eq!(at - now, secs(3));
        // A connection that opens but delivers nothing does not.
        open_with(&mut m, at, ": just a comment\n");
        m.handle_eof(at);
        let (next, _) = wait_reconnect(&mut m);
        assert_eq!(next - at, secs(6));
    }

    #[test]
    fn jitter_never_shortens_the_delay() {
        let t0 = Instant::now();
        let mut m = Machine::with_config(
            t0,
            Parser::new(),
            RetryPolicy::new().jitter(0.5),
            MachineConfig::new().jitter_seed(3),
        );
        let _ = actions(&mut m);
        let mut now = t0;
        let mut seen_longer = false;
        for _ in 0..20 {
            open_with(&mut m, now, "data: x\n\n");
            m.handle_eof(now);
            let at = m.poll_timeout().unwrap();
            assert!(
                at - now >= secs(3) && at - now <= ms(4500),
                "{:?}",
                at - now
            );
            seen_longer |= at - now > secs(3);
            m.handle_timeout(at);
            now = at;
        }
        assert!(seen_longer);
    }

    #[test]
    fn empty_id_resets_and_uncommitted_id_is_not_sent() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(&mut m, t0, "id: 5\ndata: a\n\nid\ndata: b\n\nid: 9\n");
        m.handle_eof(t0);
        let (_, action) = wait_reconnect(&mut m);
        assert_eq!(action, connect(""));
        let mut parser = Parser::new();
        parser.set_last_event_id("41");
        let mut seeded = Machine::with_config(t0, parser, RetryPolicy::new(), MachineConfig::new());
        assert_eq!(seeded.poll_action().map(described), Some(connect("41")));
    }

    #[test]
    fn id_only_block_updates_the_id_sent_on_reconnect() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(&mut m, t0, "data: a\n\nid: 77\n\n");
        m.handle_error(t0, Error::StreamEnded);
        assert_eq!(m.last_event_id(), "77");
        let (_, action) = wait_reconnect(&mut m);
        assert_eq!(action, connect("77"));
    }

    #[test]
    fn max_retries_really_fires() {
        let t0 = Instant::now();
        let mut m = machine_with(t0, RetryPolicy::new().max_retries(3));
        let mut now = t0;
        for attempt in 1..=3 {
            m.handle_error(now, Error::StreamEnded);
            let got = events(&mut m);
            assert!(
                got[0].starts_with(&format!("reconnecting #{attempt}")),
                "{got:?}"
            );
            (now, _) = wait_reconnect(&mut m);
        }
        m.handle_error(now, Error::StreamEnded);
        assert_eq!(
            events(&mut m),
            ["error: gave up reconnecting after 3 attempts"]
        );
        assert_eq!(m.ready_state(), ReadyState::Closed);
    }

    #[test]
    fn max_elapsed_really_fires() {
        let t0 = Instant::now();
        let mut m = machine_with(t0, RetryPolicy::new().max_elapsed(secs(10)));
        m.handle_error(t0, Error::StreamEnded); // wait 3 s
        let (now, _) = wait_reconnect(&mut m);
        m.handle_error(now, Error::StreamEnded); // at 3 s: wait 6 s
        let (now, _) = wait_reconnect(&mut m);
        assert_eq!(now - t0, secs(9));
        m.handle_error(now + secs(1), Error::StreamEnded); // at 10 s: give up
        assert_eq!(
            events(&mut m).last().unwrap(),
            "error: gave up reconnecting after 2 attempts"
        );
        assert_eq!(m.ready_state(), ReadyState::Closed);
    }

    #[test]
    fn idle_connection_is_treated_as_lost() {
        let t0 = Instant::now();
        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().idle_timeout(Some(secs(30))),
        );
        assert_eq!(m.poll_timeout(), Some(t0 + secs(30)));
        open_with(&mut m, t0 + secs(1), "data: x\n\n");
        m.handle_bytes(t0 + secs(20), Bytes::from_static(b": keep-alive\n"));
        assert_eq!(m.poll_timeout(), Some(t0 + secs(50)));
        m.handle_timeout(t0 + secs(49));
        assert_eq!(m.ready_state(), ReadyState::Open);
        m.handle_timeout(t0 + secs(50));
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message x ",
                "reconnecting #1 in 3000ms: no data from the server for 30s"
            ]
        );
        assert_eq!(actions(&mut m), [Action::Disconnect]);
    }

    #[test]
    fn unanswered_request_times_out_too() {
        let t0 = Instant::now();
        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().idle_timeout(Some(secs(5))),
        );
        m.handle_timeout(t0 + secs(5));
        assert_eq!(
            events(&mut m),
            ["reconnecting #1 in 3000ms: no data from the server for 5s"]
        );
    }

    #[test]
    fn one_shot_never_reconnects_and_tells_clean_from_truncated() {
        let t0 = Instant::now();
        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        open_with(&mut m, t0, "data: a\n\n");
        m.handle_eof(t0);
        assert_eq!(events(&mut m), ["open", "message message a "]);
        assert_eq!(m.ready_state(), ReadyState::Closed);

        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        open_with(&mut m, t0, "data: a\n\ndata: b");
        m.handle_eof(t0);
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message a ",
                "error: the stream ended before it was complete"
            ]
        );

        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        open_with(&mut m, t0, "data: a\n\ndata: b\n");
        m.handle_error(t0, Error::IdleTimeout { timeout: secs(1) });
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message a ",
                "error: no data from the server for 1s"
            ]
        );
        m.handle_timeout(t0 + secs(3600));
        assert_eq!(actions(&mut m), [Action::Disconnect]);
    }

    #[test]
    fn close_stops_everything_at_once() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(&mut m, t0, "data: a\n\ndata: b\n\n");
        m.close();
        assert_eq!(m.ready_state(), ReadyState::Closed);
        assert_eq!(events(&mut m), Vec::<String>::new());
        assert_eq!(actions(&mut m), [Action::Disconnect]);
        m.handle_response(t0, head(200, SSE));
        m.handle_bytes(t0, Bytes::from_static(b"data: c\n\n"));
        m.handle_eof(t0);
        m.handle_timeout(t0 + secs(60));
        assert_eq!(events(&mut m), Vec::<String>::new());
        assert_eq!(actions(&mut m), []);
        assert_eq!(m.poll_timeout(), None);
    }

    #[test]
    fn limit_error_is_final() {
        let t0 = Instant::now();
        let parser = Parser::builder().max_line_len(8).build();
        let mut m = Machine::with_config(t0, parser, RetryPolicy::new(), MachineConfig::new());
        let _ = actions(&mut m);
        open_with(&mut m, t0, "data: 1\n\ndata: 123456789\n\n");
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message 1 ",
                "error: event stream line longer than the limit of 8 bytes"
            ]
        );
        assert_eq!(m.ready_state(), ReadyState::Closed);
    }

    #[test]
    fn responses_are_ignored_unless_connecting() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        m.handle_error(t0, Error::StreamEnded);
        let _ = events(&mut m);
        m.handle_response(t0, head(200, SSE));
        assert_eq!(m.ready_state(), ReadyState::Connecting);
        assert_eq!(events(&mut m), Vec::<String>::new());
    }

    fn ended_with(m: &mut Machine, now: Instant, body: &str) -> Vec<String> {
        open_with(m, now, body);
        m.handle_eof(now);
        events(m)
    }

    #[test]
    fn the_hook_sees_the_cause_and_the_default_and_has_the_last_word() {
        use std::sync::Mutex;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let policy = RetryPolicy::new().on_retry(move |ctx| {
            log.lock().unwrap().push((
                ctx.cause().to_string(),
                ctx.attempt(),
                ctx.default_delay(),
                ctx.has_opened(),
            ));
            match ctx.cause() {
                Error::Truncated => RetryDecision::Stop,
                Error::Status(_) => RetryDecision::RetryAfter(ms(7)),
                _ => RetryDecision::Default,
            }
        });
        let t0 = Instant::now();
        let mut m = machine_with(t0, policy);
        // A 401 the policy does not retry: the hook retries it.
        m.handle_response(t0, head(401, None));
        assert_eq!(
            events(&mut m),
            ["reconnecting #1 in 7ms: the server answered with status 401 Unauthorized"]
        );
        let (at, _) = wait_reconnect(&mut m);
        assert_eq!(at - t0, ms(7));
        // The end of the body: the default (3 s doubled once).
        assert_eq!(
            ended_with(&mut m, at, ": nothing\n"),
            [
                "open",
                "reconnecting #2 in 6000ms: the server ended the stream"
            ]
        );
        let (at, _) = wait_reconnect(&mut m);
        // A cut event: the hook stops, and the cause is the final error.
        assert_eq!(
            ended_with(&mut m, at, "data: cut"),
            ["open", "error: the stream ended before it was complete"]
        );
        assert_eq!(m.close_reason(), Some(&CloseReason::Failed));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                (
                    "the server answered with status 401 Unauthorized".to_owned(),
                    1,
                    None,
                    false
                ),
                (
                    "the server ended the stream".to_owned(),
                    2,
                    Some(secs(6)),
                    true
                ),
                (
                    "the stream ended before it was complete".to_owned(),
                    3,
                    Some(secs(12)),
                    true
                ),
            ]
        );
    }

    #[test]
    fn the_hook_is_not_asked_in_one_shot_mode_or_about_limits() {
        let policy = RetryPolicy::new().on_retry(|_| panic!("the hook must not be asked"));
        let t0 = Instant::now();
        let mut m = configured(t0, policy.clone(), MachineConfig::new().reconnect(false));
        assert_eq!(
            ended_with(&mut m, t0, "data: cut"),
            ["open", "error: the stream ended before it was complete"]
        );
        let parser = Parser::builder().max_line_len(4).build();
        let mut m = Machine::with_config(t0, parser, policy, MachineConfig::new());
        let _ = actions(&mut m);
        open_with(&mut m, t0, "data: too long\n");
        assert_eq!(
            events(&mut m),
            [
                "open",
                "error: event stream line longer than the limit of 4 bytes"
            ]
        );
    }

    #[test]
    fn exhausted_retries_stay_exhausted_unless_the_hook_retries() {
        let t0 = Instant::now();
        let mut m = machine_with(t0, RetryPolicy::new().max_retries(0));
        m.handle_error(t0, Error::StreamEnded);
        assert_eq!(
            events(&mut m),
            ["error: gave up reconnecting after 0 attempts"]
        );
        let policy = RetryPolicy::new()
            .max_retries(0)
            .on_retry(|_| RetryDecision::RetryAfter(ms(1)));
        let mut m = machine_with(t0, policy);
        m.handle_error(t0, Error::StreamEnded);
        assert_eq!(
            events(&mut m),
            ["reconnecting #1 in 1ms: the server ended the stream"]
        );
    }

    #[test]
    fn errors_that_cannot_heal_are_final_without_a_hook() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        m.handle_error(t0, Error::Read(Box::new(std::io::Error::other("x"))));
        assert_eq!(events(&mut m), ["error: reading the event stream failed"]);
        let mut m = machine(t0);
        m.handle_error(t0, Error::BodyNotCloneable);
        assert_eq!(
            events(&mut m),
            ["error: the request body cannot be sent again for a reconnect"]
        );
        let mut m = machine(t0);
        m.handle_error(t0, Error::RequestFactory("token service down".into()));
        assert_eq!(
            events(&mut m),
            ["reconnecting #1 in 3000ms: making the event stream request failed"]
        );
        assert!(matches!(
            m.disconnect_cause().map(|cause| &**cause),
            Some(Error::RequestFactory(_))
        ));
    }

    #[test]
    fn a_refusal_keeps_its_body_and_a_bare_response_has_none() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        let refused = head(429, Some("application/json")).with_header("retry-after", "1");
        assert!(m.refuses(&refused));
        assert!(!m.refuses(&head(200, SSE)) && !m.refuses(&head(204, None)));
        m.handle_refusal(
            t0,
            Refusal::new(refused.clone(), Bytes::from_static(b"{\"slow\":1}"), true),
        );
        let Some(Err(error)) = m.poll_event() else {
            panic!("not failed");
        };
        assert_eq!(error.body().as_deref(), Some("{\"slow\":1}"));
        assert_eq!(error.response(), Some(&refused));
        // A response that opens is not a refusal, and is ignored as one.
        let mut m = machine(t0);
        m.handle_refusal(t0, Refusal::new(head(200, SSE), Bytes::new(), true));
        assert_eq!(m.ready_state(), ReadyState::Connecting);
        assert_eq!(events(&mut m), Vec::<String>::new());
        let mut m = machine(t0);
        m.handle_response(t0, head(500, None));
        let Some(Err(error)) = m.poll_event() else {
            panic!("not failed");
        };
        assert_eq!(error.body().as_deref(), Some(""));
    }

    #[test]
    fn any_content_type_opens_only_when_asked() {
        let t0 = Instant::now();
        for content_type in [None, Some("text/plain")] {
            let mut m = configured(
                t0,
                RetryPolicy::new(),
                MachineConfig::new().accept_any_content_type(true),
            );
            assert!(!m.refuses(&head(200, content_type)));
            m.handle_response(t0, head(200, content_type));
            assert_eq!(m.ready_state(), ReadyState::Open);
            m.handle_bytes(t0, Bytes::from_static(b"data: x\n\n"));
            assert_eq!(events(&mut m), ["open", "message message x "]);
            // Other statuses are still refused.
            assert!(m.refuses(&head(201, SSE)));
        }
    }

    #[test]
    fn server_delays_are_capped_at_10_minutes_or_as_asked() {
        let t0 = Instant::now();
        let mut m = machine_with(t0, RetryPolicy::new().max_server_delay(secs(30)));
        open_with(&mut m, t0, "retry: 86400000\ndata: x\n\n");
        let _ = events(&mut m);
        assert_eq!(m.reconnection_time(), secs(30));
        let mut m = machine_with(
            t0,
            RetryPolicy::new()
                .retry_status(503)
                .max_server_delay(secs(30)),
        );
        m.handle_response(t0, head(503, None).with_header("retry-after", "86400"));
        assert_eq!(
            events(&mut m),
            ["reconnecting #1 in 30000ms: the server answered with status 503 Service Unavailable"]
        );
        // By default, at 10 minutes: a server asking for years parks no
        // client.
        let mut m = machine_with(t0, RetryPolicy::new().retry_status(503));
        let years = "1000000000000";
        m.handle_response(t0, head(503, None).with_header("retry-after", years));
        assert!(events(&mut m)[0].starts_with("reconnecting #1 in 600000ms"));
        let mut m = machine(t0);
        open_with(&mut m, t0, "retry: 1000000000000\ndata: x\n\n");
        let _ = events(&mut m);
        assert_eq!(
            m.reconnection_time(),
            crate::retry::DEFAULT_MAX_SERVER_DELAY
        );
        // With no cap, the server's word stands.
        let uncapped = RetryPolicy::new()
            .retry_status(503)
            .max_server_delay(Duration::MAX);
        let mut m = machine_with(t0, uncapped);
        m.handle_response(t0, head(503, None).with_header("retry-after", "86400"));
        assert!(events(&mut m)[0].starts_with("reconnecting #1 in 86400000ms"));
    }

    #[test]
    fn reconnect_now_delivers_what_was_complete_and_resumes_at_once() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        open_with(&mut m, t0, "id: 1\ndata: a\n\nid: 2\ndata: cut");
        assert!(m.reconnect_now(t0 + secs(1)));
        assert_eq!(events(&mut m), ["open", "message message a 1"]);
        assert_eq!(
            actions(&mut m)
                .into_iter()
                .map(described)
                .collect::<Vec<_>>(),
            ["disconnect".to_owned(), connect("1")]
        );
        assert_eq!(m.ready_state(), ReadyState::Connecting);
        // From a reconnect wait: at once, and the attempt count stays.
        m.handle_error(t0 + secs(1), Error::StreamEnded);
        let _ = events(&mut m);
        let _ = actions(&mut m);
        assert!(m.reconnect_now(t0 + secs(2)));
        assert!(matches!(
            &actions(&mut m)[..],
            [Action::Disconnect, Action::Connect { attempt: 1, .. }]
        ));
        m.close();
        assert!(!m.reconnect_now(t0));
        let mut one_shot = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        open_with(&mut one_shot, t0, "data: a\n");
        assert!(!one_shot.reconnect_now(t0));
        assert_eq!(one_shot.ready_state(), ReadyState::Open);
    }

    #[test]
    fn connects_carry_the_attempt_and_the_cause_is_kept_until_open() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        m.handle_error(t0, Error::StreamEnded);
        let _ = events(&mut m);
        assert_eq!(actions(&mut m), [Action::Disconnect]);
        m.handle_timeout(m.poll_timeout().unwrap());
        assert!(matches!(
            &actions(&mut m)[..],
            [Action::Connect { attempt: 1, .. }]
        ));
        assert!(matches!(
            m.disconnect_cause().map(|cause| &**cause),
            Some(Error::StreamEnded)
        ));
        m.handle_response(t0, head(200, SSE));
        assert!(m.disconnect_cause().is_none());
        // After a message, reconnect_now starts a new run of attempts.
        m.handle_bytes(t0, "data: a\n\n".into());
        let _ = events(&mut m);
        m.handle_eof(t0);
        m.handle_timeout(m.poll_timeout().unwrap());
        let _ = (events(&mut m), actions(&mut m));
        m.handle_error(t0, Error::StreamEnded);
        m.handle_timeout(m.poll_timeout().unwrap());
        let _ = events(&mut m);
        assert!(matches!(
            &actions(&mut m)[..],
            [Action::Disconnect, Action::Connect { attempt: 2, .. }]
        ));
        m.handle_response(t0, head(200, SSE));
        m.handle_bytes(t0, "data: b\n\n".into());
        let _ = events(&mut m);
        assert!(m.reconnect_now(t0));
        assert!(matches!(
            &actions(&mut m)[..],
            [Action::Disconnect, Action::Connect { attempt: 1, .. }]
        ));
    }

    #[test]
    fn stats_count_what_the_feed_did() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        assert_eq!(m.stats().requests, 1);
        assert_eq!(m.stats().current.requested_at, Some(t0));
        m.handle_response(t0 + ms(10), head(200, SSE));
        // (Events taken after each input, as the module says to.)
        m.handle_bytes(t0 + ms(20), "id: 1\ndata: a\n\ndata: b".into());
        let _ = events(&mut m);
        m.handle_bytes(t0 + ms(30), "\n\n".into());
        let _ = events(&mut m);
        let current = m.stats().current;
        assert_eq!(current.opened_at, Some(t0 + ms(10)));
        assert_eq!(current.first_byte_at, Some(t0 + ms(20)));
        assert_eq!(current.first_event_at, Some(t0 + ms(20)));
        assert_eq!(current.last_activity_at, Some(t0 + ms(30)));
        assert_eq!((current.bytes, current.events), (24, 2));
        // The connection ends: its stats go with the reconnect.
        m.handle_eof(t0 + ms(40));
        match m.poll_event() {
            Some(Ok(Event::Reconnecting { stats, .. })) => assert_eq!(*stats, current),
            other => panic!("{other:?}"),
        }
        let (at, _) = wait_reconnect(&mut m);
        let stats = *m.stats();
        assert_eq!(
            (stats.requests, stats.connections, stats.reconnects),
            (2, 1, 1)
        );
        assert_eq!(stats.current.requested_at, Some(at));
        assert_eq!(stats.current.bytes, 0);
        m.handle_response(at, head(200, SSE));
        m.handle_bytes(at, "data: c\n\n".into());
        let _ = events(&mut m);
        let stats = *m.stats();
        assert_eq!((stats.connections, stats.events, stats.bytes), (2, 3, 33));
        assert_eq!(stats.current.events, 1);
    }

    #[test]
    fn close_reasons() {
        let t0 = Instant::now();
        let mut m = machine(t0);
        assert_eq!(m.close_reason(), None);
        let no_content = head(204, None).with_header("x-why", "done");
        m.handle_response(t0, no_content.clone());
        assert_eq!(m.close_reason(), Some(&CloseReason::NoContent(no_content)));
        // The first reason stays.
        m.close();
        assert!(matches!(m.close_reason(), Some(CloseReason::NoContent(_))));
        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        ended_with(&mut m, t0, "data: a\n\n");
        assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
        let mut m = machine(t0);
        m.close();
        assert_eq!(m.close_reason(), Some(&CloseReason::ClosedByUser));
    }

    /// Found by the `machine` fuzz target: jitter on a delay near
    /// `Duration::MAX` overflowed (a panic) instead of saturating.
    #[test]
    fn jitter_on_a_huge_delay_saturates() {
        for policy in [
            RetryPolicy::new().min_delay(Duration::MAX),
            RetryPolicy::new().initial(Duration::MAX),
        ] {
            let t0 = Instant::now();
            let mut m = Machine::with_config(
                t0,
                Parser::new(),
                policy.jitter(1.0),
                MachineConfig::new().jitter_seed(1),
            );
            let _ = actions(&mut m);
            m.handle_error(t0, Error::StreamEnded);
            assert_eq!(
                events(&mut m),
                [format!(
                    "reconnecting #1 in {}ms: the server ended the stream",
                    Duration::MAX.as_millis()
                )]
            );
            assert_eq!(actions(&mut m), [Action::Disconnect]);
            // Too far to represent: only `close` ends the wait.
            assert_eq!(m.poll_timeout(), None);
            assert_eq!(m.ready_state(), ReadyState::Connecting);
        }
    }
}
