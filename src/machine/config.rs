//! The machine's settings besides its parser and retry policy.

use std::time::Duration;

#[cfg(doc)]
use super::Machine;
#[cfg(doc)]
use crate::error::Error;

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
///     .idle_timeout(Some(Duration::from_secs(30)));
/// let machine = Machine::with_config(Instant::now(), Default::default(), Default::default(), config);
/// assert!(!machine.reconnects());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct MachineConfig {
    pub(super) reconnect: bool,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) any_content_type: bool,
    pub(super) jitter_seed: Option<u64>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MachineConfig {
    /// Reconnecting, no idle timeout, the spec's content type check, jitter
    /// from entropy.
    pub fn new() -> Self {
        Self {
            reconnect: true,
            idle_timeout: None,
            any_content_type: false,
            jitter_seed: None,
        }
    }

    /// One-shot mode (`false`): never reconnect, as for a POST whose
    /// response is the stream (an LLM completion). A clean end of the body
    /// ends the stream; a truncated one is [`Error::Truncated`]; a network
    /// error is final.
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
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
}
