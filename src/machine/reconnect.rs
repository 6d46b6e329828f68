//! What follows the end of a connection: a reconnect after the delay the
//! retry policy (and its hook) decides, or the failure of the stream.

use std::sync::Arc;
use std::time::Duration;

use web_time::Instant;

use crate::error::Error;
use crate::event::{CloseReason, Event};
use crate::retry::{RetryContext, RetryDecision};

use super::{Action, Machine, State};

impl Machine {
    /// A connection ended (or was refused) with `cause`: "reestablish the
    /// connection" after the delay the policy and its hook decide, or "fail
    /// the connection". `server_delay` is the response's `Retry-After`.
    pub(super) fn end_connection(
        &mut self,
        now: Instant,
        cause: Error,
        server_delay: Option<Duration>,
    ) {
        self.first_attempt = false;
        if !self.config.reconnect || !consults_policy(&cause) {
            self.fail(cause);
            return;
        }
        if self.progressed {
            self.failures = 0;
            self.progressed = false;
        }
        let attempt = self.failures.saturating_add(1);
        let out_of_attempts = self.policy.max_retries.is_some_and(|max| attempt > max);
        let out_of_time = self
            .policy
            .max_elapsed
            .is_some_and(|max| now.saturating_duration_since(self.last_progress) >= max);
        let exhausted = out_of_attempts || out_of_time;
        let retryable = match &cause {
            Error::Status(refusal) => self.policy.retries_status(refusal.head().status()),
            other => other.is_retryable(),
        };
        let default_delay = (retryable && !exhausted).then(|| {
            let base = self
                .policy
                .base_delay(self.reconnection_time(), self.failures);
            let server = server_delay.map(|delay| self.policy.cap_server_delay(delay));
            self.policy
                .with_jitter(base, self.jitter.next_u64())
                .max(server.unwrap_or_default())
        });
        let context = RetryContext {
            cause: &cause,
            attempt,
            default_delay,
            has_opened: self.has_opened,
        };
        let delay = match (self.policy.decide(&context), default_delay) {
            (RetryDecision::RetryAfter(delay), _) | (RetryDecision::Default, Some(delay)) => delay,
            (RetryDecision::Default, None) if retryable && exhausted => {
                self.fail(Error::RetriesExhausted {
                    attempts: self.failures,
                    last_error: Box::new(cause),
                });
                return;
            }
            (RetryDecision::Default | RetryDecision::Stop, _) => {
                self.fail(cause);
                return;
            }
        };
        self.failures = attempt;
        self.state = State::Waiting {
            until: now.checked_add(delay),
        };
        self.actions.push_back(Action::Disconnect);
        let cause = Arc::new(cause);
        self.reconnect_cause = Some(Arc::clone(&cause));
        self.events.push_back(Ok(Event::Reconnecting {
            error: cause,
            delay,
            attempt,
        }));
    }

    /// "Fail the connection": the error is the last item.
    pub(super) fn fail(&mut self, error: Error) {
        self.close_with(CloseReason::Failed);
        self.events.push_back(Err(error));
    }
}

/// Whether the retry policy (and its hook) decides what follows `cause`:
/// not for the parser's limits, a request that cannot be sent again, or a
/// policy that already gave up, which are final.
fn consults_policy(cause: &Error) -> bool {
    !matches!(
        cause,
        Error::LineTooLong { .. }
            | Error::EventTooLarge { .. }
            | Error::BodyNotCloneable
            | Error::RetriesExhausted { .. }
    )
}
