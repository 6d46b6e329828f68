//! What follows the end of a connection: a reconnect after the delay the
//! retry policy (and its hook) decides, or the failure of the stream.

use std::sync::Arc;
use std::time::Duration;

use web_time::Instant;

use crate::error::Error;
use crate::event::{CloseReason, Event};
use crate::retry::Ended;

use super::{Action, Machine, State};

impl Machine {
    /// A connection ended (or was refused) with `cause`: "reestablish the
    /// connection" after the delay the retry policy decides, or "fail the
    /// connection". `server_delay` is the response's `Retry-After`.
    pub(super) fn end_connection(
        &mut self,
        now: Instant,
        cause: Error,
        server_delay: Option<Duration>,
    ) {
        if !(self.may_connect_again() || self.may_resend_refused(&cause)) {
            self.fail(cause);
            return;
        }
        // A connection that delivered a message ends the run of failures.
        let failures = if self.state.progressed() {
            0
        } else {
            self.failures
        };
        let ended = Ended {
            cause,
            failures,
            since_progress: now.saturating_duration_since(self.last_progress),
            reconnection_time: self.reconnection_time(),
            server_delay,
            has_opened: self.has_opened,
        };
        match self.policy.after(ended, &mut self.jitter) {
            Ok((delay, cause)) => {
                self.failures = failures.saturating_add(1);
                self.wait_to_reconnect(now, delay, cause);
            }
            Err(error) => self.fail(error),
        }
    }

    /// Waits `delay` before the next attempt (the `failures`-th in a row),
    /// and says so.
    fn wait_to_reconnect(&mut self, now: Instant, delay: Duration, cause: Error) {
        let cause = Arc::new(cause);
        self.state = State::Waiting {
            until: now.checked_add(delay),
            cause: Arc::clone(&cause),
        };
        self.actions.push_back(Action::Disconnect);
        self.stats.reconnects += 1;
        self.events.push_back(Ok(Event::Reconnecting {
            error: cause,
            delay,
            attempt: self.failures,
            stats: Box::new(self.stats.current),
        }));
        self.assert_invariants();
    }

    /// Whether a connection that ends now may be followed by another
    /// request (if the retry policy agrees): always when reconnecting; in
    /// one-shot mode only to [resume](super::MachineConfig::resume) a stream
    /// that opened and has an event ID to resume from.
    pub(super) fn may_connect_again(&self) -> bool {
        self.config.reconnect
            || (self.config.resume && self.has_opened && !self.parser.last_event_id().is_empty())
    }

    /// Whether a one-shot request refused before any stream opened may be
    /// sent again: its status is one the retry policy retries (a 429 or 503:
    /// the server did not act on it), and the driver can resend it.
    fn may_resend_refused(&self, cause: &Error) -> bool {
        !self.has_opened
            && self.config.resend_refused
            && matches!(cause, Error::Status(refusal) if self.policy.retries_status(refusal.head().status()))
    }

    /// "Fail the connection": the error is the last item.
    pub(super) fn fail(&mut self, error: Error) {
        self.close_with(CloseReason::Failed);
        self.events.push_back(Err(error));
    }
}

#[cfg(test)]
mod tests {
    use web_time::Instant;

    use super::super::tests::*;
    use crate::error::Error;
    use crate::event::{CloseReason, ReadyState};
    use crate::machine::{Action, Machine, MachineConfig};
    use crate::retry::{RetryDecision, RetryPolicy};

    /// A one-shot machine that resumes, ending on `data: answer`.
    fn resumable(t0: Instant, policy: RetryPolicy) -> Machine {
        let config = MachineConfig::new()
            .reconnect(false)
            .resume(true)
            .complete_on(|m| m.data() == "answer");
        configured(t0, policy, config)
    }

    #[test]
    fn a_stream_that_ends_before_its_sentinel_resumes_after_retry_with_its_id() {
        // MCP's priming event, then a close before the answer.
        let t0 = Instant::now();
        let mut m = resumable(t0, RetryPolicy::new());
        open_with(&mut m, t0, "id: p1\nretry: 500\ndata:\n\n");
        m.handle_eof(t0 + ms(10));
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message  p1",
                "reconnecting #1 in 500ms: the stream ended before it was complete"
            ]
        );
        let (at, connect_to) = wait_reconnect(&mut m);
        assert_eq!(at, t0 + ms(510));
        assert_eq!(connect_to, connect("p1"));
        open_with(&mut m, at, "id: p2\ndata: answer\n\n");
        assert_eq!(events(&mut m), ["open", "message message answer p2"]);
        assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
    }

    #[test]
    fn cuts_errors_and_idle_timeouts_resume_too() {
        let t0 = Instant::now();
        let cut: fn(&mut Machine, Instant) = |m, t| m.handle_eof(t);
        let idle: fn(&mut Machine, Instant) =
            |m, t| m.handle_error(t, Error::IdleTimeout { timeout: secs(1) });
        let factory: fn(&mut Machine, Instant) =
            |m, t| m.handle_error(t, Error::RequestFactory("token service down".into()));
        for end in [cut, idle, factory] {
            let mut m = resumable(t0, RetryPolicy::new());
            open_with(&mut m, t0, "id: 1\ndata: a\n\nid: 2\ndata: cut sh");
            end(&mut m, t0);
            let got = events(&mut m);
            assert!(got[2].starts_with("reconnecting #1"), "{got:?}");
            assert_eq!(wait_reconnect(&mut m).1, connect("1"));
        }
        // Without a sentinel, a cut mid-event resumes too.
        let config = MachineConfig::new().reconnect(false).resume(true);
        let mut m = configured(t0, RetryPolicy::new(), config);
        open_with(&mut m, t0, "id: 1\ndata: a\n\ndata: cut sh");
        m.handle_eof(t0);
        assert_eq!(
            events(&mut m)[2],
            "reconnecting #1 in 3000ms: the stream ended before it was complete"
        );
        // ... and a clean end completes it.
        let config = MachineConfig::new().reconnect(false).resume(true);
        let mut m = configured(t0, RetryPolicy::new(), config);
        open_with(&mut m, t0, "id: 1\ndata: a\n\n");
        m.handle_eof(t0);
        assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
    }

    #[test]
    fn nothing_to_resume_from_is_final() {
        let t0 = Instant::now();
        let mut m = resumable(t0, RetryPolicy::new());
        open_with(&mut m, t0, "data: no id\n\n");
        m.handle_eof(t0);
        assert_eq!(
            events(&mut m),
            [
                "open",
                "message message no id ",
                "error: the stream ended before it was complete"
            ]
        );
        assert_eq!(m.ready_state(), ReadyState::Closed);
        let mut m = resumable(t0, RetryPolicy::new());
        open_with(&mut m, t0, "data: no id\n\n");
        m.handle_error(t0, Error::Read("reset".into()));
        assert_eq!(events(&mut m)[2], "error: reading the event stream failed");
    }

    #[test]
    fn the_first_request_is_never_resumed() {
        let t0 = Instant::now();
        // Refused, even with a seeded ID.
        let mut parser = crate::parser::Parser::new();
        parser.set_last_event_id("9");
        let config = MachineConfig::new().reconnect(false).resume(true);
        let mut m = Machine::with_config(t0, parser, RetryPolicy::new(), config);
        let _ = actions(&mut m);
        m.handle_response(t0, head(503, None));
        assert_eq!(
            events(&mut m),
            ["error: the server answered with status 503 Service Unavailable"]
        );
        // Or failed before it was answered.
        let mut m = resumable(t0, RetryPolicy::new());
        m.handle_error(t0, Error::Read("refused".into()));
        assert_eq!(events(&mut m), ["error: reading the event stream failed"]);
        assert!(!m.reconnect_now(t0));
    }

    #[test]
    fn a_one_shot_request_refused_with_a_retried_status_is_sent_again() {
        let t0 = Instant::now();
        let policy = RetryPolicy::new().retry_status(429).max_retries(2);
        for resume in [false, true] {
            let config = MachineConfig::new().reconnect(false).resume(resume);
            let mut m = configured(t0, policy.clone(), config);
            m.handle_response(t0, head(429, None).with_header("retry-after", "7"));
            assert_eq!(
                events(&mut m),
                [
                    "reconnecting #1 in 7000ms: the server answered with status 429 Too Many Requests"
                ]
            );
            // Not a resume: nothing opened, so the driver sends it again.
            assert!(!m.has_opened());
            let (at, _) = wait_reconnect(&mut m);
            open_with(&mut m, at, "data: a\n\n");
            m.handle_eof(at);
            assert_eq!(events(&mut m), ["open", "message message a "]);
            assert_eq!(m.close_reason(), Some(&CloseReason::Completed));
        }
        // A status the policy does not retry, or a request the driver
        // cannot send again, is final.
        let config = MachineConfig::new().reconnect(false);
        let mut m = configured(t0, policy.clone(), config.clone());
        m.handle_response(t0, head(503, None));
        assert_eq!(events(&mut m).len(), 1);
        assert_eq!(m.ready_state(), ReadyState::Closed);
        let mut once = config;
        once.resend_refused = false;
        let mut m = configured(t0, policy.clone(), once);
        m.handle_response(t0, head(429, None));
        assert_eq!(
            events(&mut m),
            ["error: the server answered with status 429 Too Many Requests"]
        );
        // The limits apply.
        let mut m = configured(t0, policy, MachineConfig::new().reconnect(false));
        for _ in 0..2 {
            m.handle_response(t0, head(429, None));
            let _ = events(&mut m);
            let _ = wait_reconnect(&mut m);
        }
        m.handle_response(t0, head(429, None));
        assert_eq!(
            events(&mut m),
            ["error: gave up reconnecting after 2 attempts"]
        );
    }

    #[test]
    fn a_resume_request_goes_through_the_policy() {
        let t0 = Instant::now();
        let policy = RetryPolicy::new().retry_status(503).max_retries(2);
        let mut m = resumable(t0, policy);
        open_with(&mut m, t0, "id: 1\ndata: a\n\n");
        m.handle_eof(t0);
        let _ = events(&mut m);
        let (at, _) = wait_reconnect(&mut m);
        // A retried status: another resume, backed off.
        m.handle_response(at, head(503, None));
        assert_eq!(
            events(&mut m),
            ["reconnecting #2 in 6000ms: the server answered with status 503 Service Unavailable"]
        );
        let (at, connect_to) = wait_reconnect(&mut m);
        assert_eq!(connect_to, connect("1"));
        // The limit fires.
        m.handle_response(at, head(503, None));
        assert_eq!(
            events(&mut m),
            ["error: gave up reconnecting after 2 attempts"]
        );
        // A status the policy does not retry is final.
        let mut m = resumable(t0, RetryPolicy::new());
        open_with(&mut m, t0, "id: 1\ndata: a\n\n");
        m.handle_eof(t0);
        let _ = events(&mut m);
        let (at, _) = wait_reconnect(&mut m);
        m.handle_response(at, head(405, None));
        assert_eq!(
            events(&mut m),
            ["error: the server answered with status 405 Method Not Allowed"]
        );
    }

    #[test]
    fn the_hook_decides_resumes() {
        let t0 = Instant::now();
        let policy = RetryPolicy::new().on_retry(|ctx| {
            assert!(ctx.has_opened());
            RetryDecision::Stop
        });
        let mut m = resumable(t0, policy);
        open_with(&mut m, t0, "id: 1\ndata: a\n\n");
        m.handle_eof(t0);
        assert_eq!(
            events(&mut m)[2],
            "error: the stream ended before it was complete"
        );
    }

    #[test]
    fn reconnect_now_resumes_an_open_stream_with_an_id() {
        let t0 = Instant::now();
        let mut m = resumable(t0, RetryPolicy::new());
        open_with(&mut m, t0, "data: a\n\n");
        assert!(!m.reconnect_now(t0), "no ID to resume from");
        m.handle_bytes(t0, "id: 5\ndata: b\n\n".into());
        let _ = events(&mut m);
        assert!(m.reconnect_now(t0));
        assert_eq!(
            actions(&mut m)
                .into_iter()
                .map(described)
                .collect::<Vec<_>>(),
            ["disconnect".to_owned(), connect("5")]
        );
        // Without `resume`, a one-shot stream never is.
        let mut m = configured(
            t0,
            RetryPolicy::new(),
            MachineConfig::new().reconnect(false),
        );
        open_with(&mut m, t0, "id: 5\ndata: b\n\n");
        assert!(!m.reconnect_now(t0));
        assert_eq!(actions(&mut m), Vec::<Action>::new());
    }
}
