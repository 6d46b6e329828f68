//! A point in a response where the server waits for the test.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A gate a response waits at ([`Response::wait_for`](super::Response::wait_for))
/// until the test opens it: "send the next event only once the client has
/// the first", without guessing at sleeps. Clones share the gate; once open
/// it stays open.
///
/// ```
/// use ssefeed::testing::{Gate, Response};
///
/// let gate = Gate::new();
/// let response = Response::sse().message("first").wait_for(&gate).message("second");
/// // ... once the client has read "first":
/// gate.open();
/// # drop(response);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the gate: every response waiting at it goes on.
    pub fn open(&self) {
        let (open, changed) = &*self.inner;
        *open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        changed.notify_all();
    }

    /// Whether [`open`](Self::open) was called.
    pub fn is_open(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the gate opens or `until`; true if it opened.
    pub(super) fn wait(&self, until: Instant, step: Duration) -> bool {
        let (open, changed) = &*self.inner;
        let guard = open.lock().unwrap_or_else(PoisonError::into_inner);
        let wait = until.saturating_duration_since(Instant::now()).min(step);
        let (guard, _) = changed
            .wait_timeout_while(guard, wait, |open| !*open)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}
