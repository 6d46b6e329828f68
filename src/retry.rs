//! The reconnection delay policy: pure arithmetic, no clock, no I/O. Its
//! public items are re-exported at the crate root.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::response::TRANSIENT_STATUSES;

/// The default reconnection time before a server sends `retry:`: 3 s, as
/// Chromium.
pub const DEFAULT_RECONNECTION_TIME: Duration = Duration::from_secs(3);

/// The default shortest delay between attempts, whatever `retry:` says
/// (a server sending `retry: 0` must not make the client spin): 100 ms.
pub const DEFAULT_MIN_DELAY: Duration = Duration::from_millis(100);

/// The default cap on the backoff: 60 s.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);

/// The default cap on a delay the server asks for (`retry:`,
/// `Retry-After`): 10 minutes. A longer request is cut to it, so that a
/// broken or hostile server (`Retry-After: Wed, 01 Jan 2099 …`) cannot park
/// the client for years; see [`RetryPolicy::max_server_delay`].
pub const DEFAULT_MAX_SERVER_DELAY: Duration = Duration::from_secs(10 * 60);

/// When and how soon the client reconnects.
///
/// The delay before reconnect attempt *n* (counting attempts since the last
/// connection that made progress, from 0) is
///
/// ```text
/// base  = max(reconnection time, min_delay)      reconnection time: server `retry:`, else `initial`
/// delay = min(base × 2ⁿ, max(max_delay, base))   doubling only after failures, never below base
///       + jitter: uniform in [0, jitter × delay]  never shorter than the reconnection time
/// ```
///
/// A connection makes progress when it delivers at least one event; that
/// resets *n* to 0. What the server asks for (`retry:`, `Retry-After`) is
/// capped at [`max_server_delay`](Self::max_server_delay).
///
/// ```
/// use std::time::Duration;
/// use ssefeed::RetryPolicy;
///
/// let policy = RetryPolicy::new()
///     .initial(Duration::from_secs(1))
///     .max_delay(Duration::from_secs(30))
///     .max_retries(10)
///     .retry_transient_statuses();
/// # drop(policy);
/// ```
#[derive(Clone)]
#[must_use]
pub struct RetryPolicy {
    pub(crate) initial: Duration,
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) jitter: f64,
    pub(crate) max_retries: Option<u32>,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) statuses: Vec<u16>,
    /// The cap on delays the server asks for (`retry:`, `Retry-After`).
    pub(crate) max_server_delay: Duration,
    pub(crate) hook: Option<RetryHook>,
}

/// A user's retry decision function; see [`RetryPolicy::on_retry`].
type RetryHook = Arc<dyn Fn(&RetryContext<'_>) -> RetryDecision + Send + Sync>;

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("initial", &self.initial)
            .field("min_delay", &self.min_delay)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("max_retries", &self.max_retries)
            .field("max_elapsed", &self.max_elapsed)
            .field("statuses", &self.statuses)
            .field("max_server_delay", &self.max_server_delay)
            .field("hook", &self.hook.as_ref().map(|_| "Fn"))
            .finish()
    }
}

/// What a [retry hook](RetryPolicy::on_retry) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Do what the policy would do: [`RetryContext::default_delay`]. When
    /// that is to stop because `max_retries` or `max_elapsed` was reached,
    /// the final error is [`Error::RetriesExhausted`].
    Default,
    /// Reconnect after exactly this delay (no floor, no jitter, no limit:
    /// the hook has the last word).
    RetryAfter(Duration),
    /// Stop: the cause becomes the stream's final error.
    Stop,
}

/// What a [retry hook](RetryPolicy::on_retry) is told about a connection
/// that ended or was refused.
#[derive(Debug)]
pub struct RetryContext<'a> {
    pub(crate) cause: &'a Error,
    pub(crate) attempt: u32,
    pub(crate) default_delay: Option<Duration>,
    pub(crate) has_opened: bool,
}

impl RetryContext<'_> {
    /// Why the connection ended: a refused response
    /// ([`Error::Status`], [`Error::ContentType`], with the response and its
    /// body), a network error (`Error::Transport`, `Error::Interrupted`), the end
    /// of the body ([`Error::StreamEnded`], [`Error::Truncated`]) or an
    /// [`Error::IdleTimeout`].
    pub fn cause(&self) -> &Error {
        self.cause
    }

    /// Which attempt in a row without an event the next one would be, from
    /// 1 (as in [`Event::Reconnecting`](crate::Event::Reconnecting)).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// What the policy alone decides: `Some(delay)` to reconnect after
    /// `delay`, `None` to stop (a status it does not retry, an error that
    /// retrying cannot heal, or `max_retries` / `max_elapsed` reached).
    pub fn default_delay(&self) -> Option<Duration> {
        self.default_delay
    }

    /// Whether any connection of this source has opened (a 200
    /// `text/event-stream`), so that a first connection can fail fast while
    /// an established feed keeps reconnecting.
    pub fn has_opened(&self) -> bool {
        self.has_opened
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// Defaults: 3 s reconnection time, 100 ms minimum, backoff capped at
    /// 60 s, up to 25 % jitter, server-asked delays capped at 10 minutes,
    /// retrying network errors and ended streams forever, failing on any
    /// status other than 200 (and ending on 204).
    pub fn new() -> Self {
        Self {
            initial: DEFAULT_RECONNECTION_TIME,
            min_delay: DEFAULT_MIN_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            jitter: 0.25,
            max_retries: None,
            max_elapsed: None,
            statuses: Vec::new(),
            max_server_delay: DEFAULT_MAX_SERVER_DELAY,
            hook: None,
        }
    }

    /// The reconnection time until the server sends `retry:` (default 3 s).
    pub fn initial(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The shortest delay between attempts (default 100 ms), applied even
    /// when the server asks for less with `retry:`.
    pub fn min_delay(mut self, delay: Duration) -> Self {
        self.min_delay = delay;
        self
    }

    /// The cap on the exponential backoff (default 60 s). It never shortens
    /// the reconnection time: a larger `retry:` from the server (or
    /// [`initial`](Self::initial)) is waited in full, just not doubled.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Random extra delay, as a fraction of the delay (default 0.25; clamped
    /// to 0..=1). It is only ever added: the client never reconnects sooner
    /// than the reconnection time.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Give up after this many reconnect attempts in a row without an event
    /// (default: never). The stream then ends with
    /// [`Error::RetriesExhausted`].
    pub fn max_retries(mut self, attempts: u32) -> Self {
        self.max_retries = Some(attempts);
        self
    }

    /// Give up when this much time has passed since the last connection that
    /// delivered an event (or since the start) and another attempt would be
    /// needed (default: never).
    pub fn max_elapsed(mut self, time: Duration) -> Self {
        self.max_elapsed = Some(time);
        self
    }

    /// Also reconnect (with backoff, honouring `Retry-After`) when a response
    /// has this status, instead of failing. The spec fails on every status
    /// but 200; this is opt-in.
    pub fn retry_status(mut self, status: u16) -> Self {
        if !self.statuses.contains(&status) {
            self.statuses.push(status);
        }
        self
    }

    /// [`retry_status`](Self::retry_status) for each of
    /// [`TRANSIENT_STATUSES`].
    pub fn retry_transient_statuses(self) -> Self {
        TRANSIENT_STATUSES
            .iter()
            .fold(self, |policy, &status| policy.retry_status(status))
    }

    /// The longest delay the server may ask for with `retry:` or
    /// `Retry-After` (default [`DEFAULT_MAX_SERVER_DELAY`], 10 minutes). A
    /// longer request is cut to this, so that a hostile or broken server
    /// cannot park the client for days; `Duration::MAX` honours any delay,
    /// as the spec does.
    pub fn max_server_delay(mut self, delay: Duration) -> Self {
        self.max_server_delay = delay;
        self
    }

    /// Decides each reconnect: `hook` sees why a connection ended or was
    /// refused, the attempt number and the policy's own decision, and
    /// answers [`RetryDecision::Default`], [`RetryAfter`](RetryDecision::RetryAfter)
    /// or [`Stop`](RetryDecision::Stop). It is not called when a one-shot
    /// stream ends (unless it can be resumed), for parser limit errors, or
    /// when the request cannot be sent again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ssefeed::{RetryDecision, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new().on_retry(|ctx| match ctx.cause().status() {
    ///     // The request factory sends a fresh token after a 401: retry once.
    ///     Some(401) if ctx.attempt() == 1 => RetryDecision::RetryAfter(Duration::ZERO),
    ///     // Fail fast until a first connection has opened.
    ///     _ if !ctx.has_opened() && ctx.attempt() > 3 => RetryDecision::Stop,
    ///     _ => RetryDecision::Default,
    /// });
    /// # drop(policy);
    /// ```
    pub fn on_retry<F>(mut self, hook: F) -> Self
    where
        F: Fn(&RetryContext<'_>) -> RetryDecision + Send + Sync + 'static,
    {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// A server-requested delay, capped by
    /// [`max_server_delay`](Self::max_server_delay).
    pub(crate) fn cap_server_delay(&self, delay: Duration) -> Duration {
        delay.min(self.max_server_delay)
    }

    /// The one retry decision, after a connection ended (or was refused):
    /// `Ok` with the delay before the next attempt and the cause (for its
    /// `Reconnecting` event), or `Err` with the stream's final error. The
    /// policy's own answer ([`retries`](Self::retries), its limits, the
    /// backoff, `Retry-After`), then its hook's, which has the last word.
    /// `jitter` is drawn from only when a default delay is computed.
    pub(crate) fn after(
        &self,
        ended: Ended,
        jitter: &mut Jitter,
    ) -> Result<(Duration, Error), Error> {
        let Ended {
            cause,
            failures,
            since_progress,
            reconnection_time,
            server_delay,
            has_opened,
        } = ended;
        if is_final(&cause) {
            return Err(cause);
        }
        let attempt = failures.saturating_add(1);
        let out_of_attempts = self.max_retries.is_some_and(|max| attempt > max);
        let out_of_time = self.max_elapsed.is_some_and(|max| since_progress >= max);
        let exhausted = out_of_attempts || out_of_time;
        let retries = self.retries(&cause);
        let default_delay = (retries && !exhausted).then(|| {
            let base = self.base_delay(reconnection_time, failures);
            let server = server_delay.map(|delay| self.cap_server_delay(delay));
            self.with_jitter(base, jitter.next_u64())
                .max(server.unwrap_or_default())
        });
        let context = RetryContext {
            cause: &cause,
            attempt,
            default_delay,
            has_opened,
        };
        let decision = self
            .hook
            .as_ref()
            .map_or(RetryDecision::Default, |hook| hook(&context));
        match (decision, default_delay) {
            (RetryDecision::RetryAfter(delay), _) | (RetryDecision::Default, Some(delay)) => {
                Ok((delay, cause))
            }
            (RetryDecision::Default, None) if retries && exhausted => {
                Err(Error::RetriesExhausted {
                    attempts: failures,
                    last_error: Box::new(cause),
                })
            }
            (RetryDecision::Default | RetryDecision::Stop, _) => Err(cause),
        }
    }

    /// Whether this policy, before its limits and its hook, retries after
    /// `cause`: a refusal when it lists the status
    /// ([`retry_status`](Self::retry_status)); anything else when trying
    /// again can heal it ([`Error::is_retryable`]). (`is_retryable` answers
    /// for the error alone, so it calls a 503 retryable; this policy
    /// retries one only when asked to.)
    pub fn retries(&self, cause: &Error) -> bool {
        match cause {
            Error::Status(refusal) => self.retries_status(refusal.head().status()),
            other => other.is_retryable(),
        }
    }

    /// Whether a response with `status` is retried.
    pub fn retries_status(&self, status: u16) -> bool {
        self.statuses.contains(&status)
    }

    /// The delay before the attempt that follows `failures` attempts in a row
    /// without progress, for the given reconnection time, before jitter.
    pub(crate) fn base_delay(&self, reconnection_time: Duration, failures: u32) -> Duration {
        let base = reconnection_time.max(self.min_delay);
        // Backoff grows up to the cap; the reconnection time itself is never
        // cut short, whatever the cap.
        let factor = 2u32.saturating_pow(failures.min(31));
        base.saturating_mul(factor).min(self.max_delay.max(base))
    }

    /// `delay` plus jitter drawn from `random` (uniform in `0..=u64::MAX`).
    pub(crate) fn with_jitter(&self, delay: Duration, random: u64) -> Duration {
        if self.jitter <= 0.0 {
            return delay;
        }
        let unit = random as f64 / u64::MAX as f64;
        // `mul_f64` and `+` would panic for a delay near `Duration::MAX`.
        let extra = Duration::try_from_secs_f64(self.jitter * unit * delay.as_secs_f64())
            .unwrap_or(Duration::MAX);
        delay.saturating_add(extra)
    }
}

/// What the retry decision ([`RetryPolicy::after`]) is told about a
/// connection that ended.
#[derive(Debug)]
pub(crate) struct Ended {
    /// Why it ended.
    pub(crate) cause: Error,
    /// Reconnect attempts made in a row without a message, before this end.
    pub(crate) failures: u32,
    /// Time since the last message (or the start), for `max_elapsed`.
    pub(crate) since_progress: Duration,
    /// The reconnection time: the server's `retry:` (capped), or `initial`.
    pub(crate) reconnection_time: Duration,
    /// The response's `Retry-After`, if it had one.
    pub(crate) server_delay: Option<Duration>,
    /// Some connection of the source has opened.
    pub(crate) has_opened: bool,
}

/// Errors no policy retries, nor its hook sees: the parser's limits, a
/// request that cannot be sent again, a policy that already gave up.
fn is_final(cause: &Error) -> bool {
    matches!(
        cause,
        Error::LineTooLong { .. }
            | Error::EventTooLarge { .. }
            | Error::BodyNotCloneable
            | Error::RetriesExhausted { .. }
    )
}

/// A small, fast, non-cryptographic random source (SplitMix64) for jitter.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn from_seed(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn from_entropy() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5EED);
        Self(hasher.finish())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_attempt_waits_the_reconnection_time() {
        let policy = RetryPolicy::new();
        assert_eq!(
            policy.base_delay(DEFAULT_RECONNECTION_TIME, 0),
            DEFAULT_RECONNECTION_TIME
        );
        assert_eq!(policy.base_delay(1500 * MS, 0), 1500 * MS);
    }

    #[test]
    fn retry_zero_is_floored_at_the_minimum_delay() {
        let policy = RetryPolicy::new();
        assert_eq!(policy.base_delay(Duration::ZERO, 0), DEFAULT_MIN_DELAY);
        assert_eq!(policy.base_delay(Duration::ZERO, 1), 2 * DEFAULT_MIN_DELAY);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::new().max_delay(Duration::from_secs(10));
        let delays: Vec<_> = (0..6)
            .map(|n| policy.base_delay(Duration::from_secs(1), n))
            .collect();
        let secs: Vec<_> = delays.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
        assert_eq!(
            policy.base_delay(Duration::from_secs(1), u32::MAX),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn server_retry_above_the_cap_is_honoured_but_not_grown() {
        let policy = RetryPolicy::new().max_delay(Duration::from_secs(60));
        let long = Duration::from_secs(120);
        assert_eq!(policy.base_delay(long, 0), long);
        assert_eq!(policy.base_delay(long, 5), long);
        let huge = Duration::from_millis(u64::MAX);
        assert_eq!(policy.base_delay(huge, 40), huge);
    }

    #[test]
    fn cap_below_the_initial_time_does_not_shorten_it() {
        let policy = RetryPolicy::new()
            .initial(Duration::from_secs(5))
            .max_delay(Duration::from_secs(1));
        assert_eq!(
            policy.base_delay(Duration::from_secs(5), 0),
            Duration::from_secs(5)
        );
        assert_eq!(
            policy.base_delay(Duration::from_secs(5), 3),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn jitter_only_adds_and_stays_within_the_fraction() {
        let policy = RetryPolicy::new().jitter(0.5);
        let delay = Duration::from_secs(2);
        let mut random = Jitter::from_seed(7);
        let mut seen_extra = false;
        for _ in 0..1000 {
            let jittered = policy.with_jitter(delay, random.next_u64());
            assert!(
                jittered >= delay && jittered <= delay + delay / 2,
                "{jittered:?}"
            );
            seen_extra |= jittered > delay;
        }
        assert!(seen_extra);
        assert_eq!(
            policy.with_jitter(delay, u64::MAX),
            3 * Duration::from_secs(1)
        );
        assert_eq!(
            RetryPolicy::new().jitter(0.0).with_jitter(delay, u64::MAX),
            delay
        );
        assert_eq!(RetryPolicy::new().jitter(f64::NAN).jitter, 0.0);
    }

    #[test]
    fn transient_statuses_are_opt_in() {
        assert!(!RetryPolicy::new().retries_status(503));
        let policy = RetryPolicy::new().retry_transient_statuses();
        assert!(policy.retries_status(503) && policy.retries_status(429));
        assert!(!policy.retries_status(404));
    }
}
