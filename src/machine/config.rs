//! The machine's settings besides its parser and retry policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use super::Machine;
#[cfg(doc)]
use crate::error::Error;
use crate::event::MessageEvent;

/// A predicate that marks the last message of a stream; see
/// [`MachineConfig::complete_on`].
pub(crate) type Sentinel = Arc<dyn Fn(&MessageEvent) -> bool + Send + Sync>;

/// How a [`Machine`] behaves, besides its parser and retry policy: the one
/// place these settings live (an `EventSourceBuilder` holds one and hands it
/// over).
///
/// ```
/// use std::time::{Duration, Instant};
/// use ssefeed::machine::{Machine, MachineConfig};
///
/// let config = MachineConfig::new()
///     .reconnect(false)
///     .idle_timeout(Some(Duration::from_secs(30)))
///     .complete_on(|message| message.data() == "[DONE]");
/// let machine = Machine::with_config(Instant::now(), Default::default(), Default::default(), config);
/// assert!(machine.is_one_shot());
/// ```
#[derive(Clone)]
#[must_use]
pub struct MachineConfig {
    pub(super) reconnect: bool,
    pub(super) resume: bool,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) any_content_type: bool,
    pub(super) jitter_seed: Option<u64>,
    pub(super) complete_on: Option<Sentinel>,
    pub(super) dedupe_ids: usize,
    pub(super) keep_recent_bytes: usize,
    /// The driver can send a one-shot request again after a refusal the
    /// policy retries (false for a streamed body or a response taken over).
    pub(crate) resend_refused: bool,
}

impl fmt::Debug for MachineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineConfig")
            .field("reconnect", &self.reconnect)
            .field("resume", &self.resume)
            .field("idle_timeout", &self.idle_timeout)
            .field("any_content_type", &self.any_content_type)
            .field("jitter_seed", &self.jitter_seed)
            .field("complete_on", &self.complete_on.as_ref().map(|_| "Fn"))
            .field("dedupe_ids", &self.dedupe_ids)
            .field("keep_recent_bytes", &self.keep_recent_bytes)
            .field("resend_refused", &self.resend_refused)
            .finish()
    }
}

impl Default for MachineConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MachineConfig {
    /// Reconnecting, no idle timeout, the spec's content type check, jitter
    /// from entropy, no sentinel, no de-duplication.
    pub fn new() -> Self {
        Self {
            reconnect: true,
            resume: false,
            idle_timeout: None,
            any_content_type: false,
            jitter_seed: None,
            complete_on: None,
            dedupe_ids: 0,
            keep_recent_bytes: 0,
            resend_refused: true,
        }
    }

    /// One-shot mode (`false`): never reconnect, as for a POST whose
    /// response is the stream (an LLM completion). A clean end of the body
    /// ends the stream; a truncated one is [`Error::Truncated`]; a network
    /// error is final. One request is sent again: one refused, before any
    /// stream opened, with a status the retry policy retries (a 429 or a
    /// 503 with `Retry-After`), which the server did not act on. See
    /// [`resume`](Self::resume) for a one-shot stream that can be resumed.
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// In one-shot mode, resume a stream that was cut before it completed
    /// (`true`; default `false`): a network error, a body cut inside an
    /// event, an idle timeout, or, with a [sentinel](Self::complete_on), a
    /// clean end before it. When a connection has opened and the last event
    /// ID is not empty, the machine then waits the reconnection time (the
    /// server's `retry:`, the retry policy and its hook decide, as for a
    /// reconnect) and asks for another request: the driver sends a resume
    /// request (a GET with `Last-Event-ID`, say), never the first one again.
    /// With no event ID there is nothing to resume from, and the stream
    /// fails as in one-shot mode. Nothing is resumed before a stream opened:
    /// a first request that fails then is final, and one refused with a
    /// status the policy retries is sent again, as in one-shot mode.
    ///
    /// Resuming goes on until the stream completes: it ends cleanly without
    /// a sentinel, or with its sentinel's message.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Treat a connection that receives no bytes for this long (or a request
    /// not answered in this long) as dead (default: no timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Open on a 200 response whatever its `Content-Type` (`true`), for
    /// servers that send a valid stream with a missing or wrong one. Default
    /// `false`: the spec fails the connection.
    pub fn accept_any_content_type(mut self, any: bool) -> Self {
        self.any_content_type = any;
        self
    }

    /// Seeds the jitter's random source, for reproducible delays.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// The message for which `is_last` returns true completes the stream
    /// (`data: [DONE]`, `event: message_stop`, the JSON-RPC response a
    /// client awaits): it is delivered, the connection is dropped, nothing
    /// after it is, and the machine closes with
    /// [`CloseReason::Completed`](crate::CloseReason::Completed), even when
    /// the server would hold the connection open. In one-shot mode a clean
    /// end of the body before the sentinel is [`Error::Truncated`] (or a
    /// [resume](Self::resume)), not a completed stream. Default: none.
    pub fn complete_on<F>(mut self, is_last: F) -> Self
    where
        F: Fn(&MessageEvent) -> bool + Send + Sync + 'static,
    {
        self.complete_on = Some(Arc::new(is_last));
        self
    }

    /// At-least-once delivery made exactly-once for servers that replay:
    /// drop a message whose own `id:` field repeats the ID of one of the
    /// last `window` messages delivered with an `id:` of their own (or the
    /// last event ID the machine started from), as a server does that
    /// resends the event named by `Last-Event-ID`. Messages without an `id:`
    /// field are never dropped. A dropped message counts as no progress and
    /// completes nothing, even if it matches the
    /// [sentinel](Self::complete_on); the last event ID still becomes its
    /// ID, as the spec's dispatch says. Default 0: off, every message is
    /// delivered, as the spec says.
    pub fn dedupe_ids(mut self, window: usize) -> Self {
        self.dedupe_ids = window;
        self
    }

    /// Keep the last `bytes` bytes of each connection's body (default 0:
    /// none), for [`Machine::recent_bytes`]: what the parser saw before a
    /// mid-stream error (a truncated body, a line or event over a limit) or
    /// before a message a consumer could not use (a JSON error). It costs a
    /// copy of at most `bytes` bytes per chunk; a few hundred is enough.
    pub fn keep_recent_bytes(mut self, bytes: usize) -> Self {
        self.keep_recent_bytes = bytes;
        self
    }
}
