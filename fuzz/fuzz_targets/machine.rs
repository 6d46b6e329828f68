//! The reconnect state machine under arbitrary sequences of responses, body
//! chunks, ends, errors, clock moves, timeouts and closes (see
//! `machine_input`), driven as a real driver would: a virtual clock, every
//! event and action taken after each input, `handle_timeout` only once
//! `poll_timeout` has come.
//!
//! Alongside runs a model of the documented behaviour, whose message events
//! come from the naive reference parser over the bytes of the current
//! connection. Every event, action, ready state, deadline, last event ID and
//! reconnection time must match it, with the retry hook's rule (see
//! `machine_input::Hook`) applied by both; and, stated on their own, the
//! invariants: CLOSED is final and has a reason, never OPEN without a 200
//! `text/event-stream` response (or any 200, when any content type is
//! accepted) in the current attempt, nothing after an error, no `Connect`
//! before the disconnect that scheduled it plus the delay it announced
//! (unless `reconnect_now`), each `Connect` carries the last event ID,
//! nothing after a delivered sentinel (which completes the stream), and in
//! one-shot mode no second `Connect` or `Reconnecting` but a resume (with
//! `resume`, once a stream opened, with a last event ID to resume from) or,
//! before any stream opened, the first request sent again after a refusal
//! with a status the policy retries.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssefeed::machine::{Action, Machine, MachineConfig};
use ssefeed::parser::Parser;
use ssefeed::{
    CloseReason, DEFAULT_MAX_DELAY, DEFAULT_MAX_SERVER_DELAY, DEFAULT_MIN_DELAY,
    DEFAULT_RECONNECTION_TIME, Error, Event, ReadyState, Refusal, ResponseHead, RetryDecision,
    RetryPolicy,
};
use ssefeed_fuzz::machine_input::{
    CONTENT_TYPES, Config, Hook, Input, Op, PREFEEDS, SEED_IDS, Sentinel,
};
use ssefeed_fuzz::{Out, drain, reference};

/// An error, without its details.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Status(u16),
    ContentType,
    StreamEnded,
    Truncated,
    IdleTimeout,
    Read,
    RequestFactory,
    LineTooLong,
    EventTooLarge,
    Exhausted { attempts: u32, last: Box<Kind> },
}

fn kind(error: &Error) -> Kind {
    match error {
        Error::Status(refusal) => Kind::Status(refusal.head().status()),
        Error::ContentType(_) => Kind::ContentType,
        Error::RequestFactory(_) => Kind::RequestFactory,
        Error::StreamEnded => Kind::StreamEnded,
        Error::Truncated => Kind::Truncated,
        Error::IdleTimeout { .. } => Kind::IdleTimeout,
        Error::Read(_) => Kind::Read,
        Error::LineTooLong { .. } => Kind::LineTooLong,
        Error::EventTooLarge { .. } => Kind::EventTooLarge,
        Error::RetriesExhausted {
            attempts,
            last_error,
        } => Kind::Exhausted {
            attempts: *attempts,
            last: Box::new(kind(last_error)),
        },
        other => panic!("unexpected error {other:?}"),
    }
}

/// The errors an `Error` op picks from: four that retrying can heal, and
/// one (a failed byte source) that it cannot.
fn network_error(pick: u8) -> Error {
    match pick % 5 {
        0 => Error::StreamEnded,
        1 => Error::Truncated,
        2 => Error::IdleTimeout {
            timeout: Duration::from_secs(1),
        },
        3 => Error::RequestFactory(Box::new(std::io::Error::other("token service down"))),
        _ => Error::Read(Box::new(std::io::Error::other("connection reset"))),
    }
}

/// An error of `kind`, for the hook's rule in the model.
fn error_of(kind: &Kind) -> Error {
    match kind {
        Kind::Status(status) => Error::Status(Box::new(Refusal::new(
            ResponseHead::new(*status),
            Bytes::new(),
            true,
        ))),
        Kind::ContentType => Error::ContentType(Box::new(Refusal::new(
            ResponseHead::new(200),
            Bytes::new(),
            true,
        ))),
        Kind::StreamEnded => Error::StreamEnded,
        Kind::Truncated => Error::Truncated,
        Kind::IdleTimeout => Error::IdleTimeout {
            timeout: Duration::from_secs(1),
        },
        Kind::RequestFactory => Error::RequestFactory("x".into()),
        Kind::Read => Error::Read("x".into()),
        other => panic!("{other:?} is not a cause the hook sees"),
    }
}

/// What `poll_event` returned, comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Open,
    Item(Out),
    Reconnecting {
        cause: Kind,
        delay: Duration,
        attempt: u32,
    },
    Err(Kind),
}

fn got(event: Result<Event, Error>) -> Got {
    match event {
        Ok(Event::Open(_)) => Got::Open,
        Ok(Event::Message(m)) => Got::Item(Out::Event {
            event_type: m.event_type().to_owned(),
            data: m.data().to_owned(),
            last_event_id: m.last_event_id().to_owned(),
        }),
        Ok(Event::Comment(text)) => Got::Item(Out::Comment(text.to_string())),
        Ok(Event::Reconnecting {
            error,
            delay,
            attempt,
            ..
        }) => Got::Reconnecting {
            cause: kind(&error),
            delay,
            attempt,
        },
        Ok(other) => panic!("unknown event {other:?}"),
        Err(error) => Got::Err(kind(&error)),
    }
}

/// What the model expects from `poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Open,
    Item(Out),
    /// A delay within `lo..=hi`.
    Reconnecting {
        cause: Kind,
        attempt: u32,
        lo: Duration,
        hi: Duration,
    },
    Err(Kind),
}

impl Want {
    fn matches(&self, got: &Got) -> bool {
        match (self, got) {
            (Self::Open, Got::Open) => true,
            (Self::Item(a), Got::Item(b)) => a == b,
            (Self::Err(a), Got::Err(b)) => a == b,
            (
                Self::Reconnecting {
                    cause,
                    attempt,
                    lo,
                    hi,
                },
                Got::Reconnecting {
                    cause: got_cause,
                    delay,
                    attempt: got_attempt,
                },
            ) => cause == got_cause && attempt == got_attempt && lo <= delay && delay <= hi,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting { since: Instant },
    Open { last_activity: Instant },
    Waiting { until: Option<Instant> },
    Closed,
}

/// The current connection's body.
#[derive(Debug)]
struct Conn {
    bytes: Vec<u8>,
    start_id: String,
    start_rt: Duration,
    /// How many reference items were delivered (or, for `retry:`, applied).
    seen: usize,
}

/// The documented behaviour of the machine.
#[derive(Debug)]
struct Model {
    reconnect: bool,
    resume: bool,
    sentinel: Option<Sentinel>,
    dedupe_window: usize,
    hook: Option<Hook>,
    any_content_type: bool,
    /// The cap on `retry:` and `Retry-After` (the policy's default when the
    /// config sets none).
    max_server_delay: Duration,
    idle: Option<Duration>,
    min_delay: Duration,
    max_delay: Duration,
    jitter: f64,
    max_retries: Option<u32>,
    max_elapsed: Option<Duration>,
    retried: Vec<u16>,
    comments: bool,
    limited: bool,

    state: State,
    conn: Option<Conn>,
    last_event_id: String,
    reconnection_time: Duration,
    failures: u32,
    progressed: bool,
    last_progress: Instant,
    /// A 200 `text/event-stream` response arrived since the last `Connect`.
    ok_response: bool,
    /// Some connection has opened.
    has_opened: bool,
    /// No connection has ended yet.
    first_attempt: bool,
    /// Why the machine closed.
    close_reason: Option<CloseReason>,
    /// When the pending reconnect was scheduled, and the least delay it
    /// announced.
    scheduled: Option<(Instant, Duration)>,
    /// The IDs of the messages delivered with an `id:` of their own, after
    /// the last event ID the machine started from (when not empty): the
    /// last `dedupe_window` of them are replays.
    delivered_ids: Vec<String>,

    want: Vec<Want>,
    want_actions: Vec<Action>,
}

impl Model {
    fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Connecting { since } => self.idle.and_then(|t| since.checked_add(t)),
            State::Open { last_activity } => self.idle.and_then(|t| last_activity.checked_add(t)),
            State::Waiting { until } => until,
            State::Closed => None,
        }
    }

    fn ready_state(&self) -> ReadyState {
        match self.state {
            State::Connecting { .. } | State::Waiting { .. } => ReadyState::Connecting,
            State::Open { .. } => ReadyState::Open,
            State::Closed => ReadyState::Closed,
        }
    }

    /// Enters CLOSED, once.
    fn close(&mut self, reason: CloseReason) {
        if self.state != State::Closed {
            self.want_actions.push(Action::Disconnect);
            self.close_reason = Some(reason);
        }
        self.state = State::Closed;
        self.conn = None;
    }

    /// "Fail the connection".
    fn fail(&mut self, cause: Kind) {
        self.close(CloseReason::Failed);
        self.want.push(Want::Err(cause));
    }

    /// Whether a connection that ends may be followed by another request:
    /// always when reconnecting; in one-shot mode, a resume, once a stream
    /// has opened and there is a last event ID to resume from.
    fn may_connect_again(&self) -> bool {
        self.reconnect || (self.resume && self.has_opened && !self.last_event_id.is_empty())
    }

    /// A message the reference parser dispatched: dropped when its own
    /// non-empty `id:` repeats one of the recent delivered IDs; otherwise
    /// delivered (progress), and when it is the sentinel the stream is
    /// complete.
    fn deliver(&mut self, now: Instant, message: &Out, own_id: bool) {
        let Out::Event {
            event_type,
            data,
            last_event_id,
        } = message
        else {
            unreachable!("only events are delivered")
        };
        if self.dedupe_window > 0 && own_id && !last_event_id.is_empty() {
            let mut recent = self.delivered_ids.iter().rev().take(self.dedupe_window);
            if recent.any(|id| id == last_event_id) {
                return;
            }
            self.delivered_ids.push(last_event_id.clone());
        }
        self.progressed = true;
        self.last_progress = now;
        self.want.push(Want::Item(message.clone()));
        if self
            .sentinel
            .is_some_and(|rule| rule.is_last(event_type, data, last_event_id))
        {
            self.close(CloseReason::Completed);
        }
    }

    fn connect_action(&self) -> Action {
        Action::Connect {
            last_event_id: self.last_event_id.clone(),
            // Never 0 after the first request, which is what 0 means.
            attempt: if self.first_attempt {
                0
            } else {
                self.failures.max(1)
            },
        }
    }

    /// A connection ended with `cause`: "reestablish the connection" after
    /// the delay the policy and the hook decide, or fail; the state becomes
    /// `Waiting` once the actual delay is known.
    fn schedule(&mut self, now: Instant, cause: Kind, server_delay: Option<Duration>) {
        self.conn = None;
        self.first_attempt = false;
        // A refusal the policy retries, before any stream opened: the
        // server did not act on the request, which is sent again.
        let resend =
            !self.has_opened && matches!(&cause, Kind::Status(s) if self.retried.contains(s));
        if !self.may_connect_again() && !resend {
            self.fail(cause);
            return;
        }
        if self.progressed {
            self.failures = 0;
            self.progressed = false;
        }
        let attempt = self.failures.saturating_add(1);
        let out_of_attempts = self.max_retries.is_some_and(|max| attempt > max);
        let out_of_time = self
            .max_elapsed
            .is_some_and(|max| now.saturating_duration_since(self.last_progress) >= max);
        let exhausted = out_of_attempts || out_of_time;
        let retryable = match &cause {
            Kind::Status(status) => self.retried.contains(status),
            Kind::ContentType | Kind::Read => false,
            _ => true,
        };
        let decision = self.hook.map_or(RetryDecision::Default, |hook| {
            hook.decide(&error_of(&cause), attempt)
        });
        let (lo, hi) = match decision {
            RetryDecision::RetryAfter(delay) => (delay, delay),
            RetryDecision::Default if retryable && !exhausted => {
                // The formula of the retry module's documentation.
                let floor = self.reconnection_time.max(self.min_delay);
                let factor = 2u32.saturating_pow(self.failures.min(31));
                let base = floor.saturating_mul(factor).min(self.max_delay.max(floor));
                let jitter = Duration::try_from_secs_f64(base.as_secs_f64() * self.jitter)
                    .unwrap_or(Duration::MAX);
                let at_least = server_delay
                    .map(|delay| delay.min(self.max_server_delay))
                    .unwrap_or_default();
                let lo = base.max(at_least);
                let hi = base
                    .saturating_add(jitter)
                    .saturating_add(Duration::from_micros(1))
                    .max(at_least);
                (lo, hi)
            }
            RetryDecision::Default if retryable => {
                self.fail(Kind::Exhausted {
                    attempts: self.failures,
                    last: Box::new(cause),
                });
                return;
            }
            _ => {
                self.fail(cause);
                return;
            }
        };
        self.failures = attempt;
        self.want.push(Want::Reconnecting {
            cause,
            attempt,
            lo,
            hi,
        });
        self.want_actions.push(Action::Disconnect);
        self.scheduled = Some((now, lo));
        // Until the delay is known.
        self.state = State::Waiting { until: None };
    }
}

fn policy(config: &Config) -> RetryPolicy {
    let mut policy = RetryPolicy::new().jitter(f64::from(config.jitter) / 255.0);
    if let Some(d) = config.initial {
        policy = policy.initial(d.duration());
    }
    if let Some(d) = config.min_delay {
        policy = policy.min_delay(d.duration());
    }
    if let Some(d) = config.max_delay {
        policy = policy.max_delay(d.duration());
    }
    if let Some(n) = config.max_retries {
        policy = policy.max_retries(u32::from(n));
    }
    if let Some(d) = config.max_elapsed {
        policy = policy.max_elapsed(d.duration());
    }
    for status in config.retried_statuses() {
        policy = policy.retry_status(status);
    }
    if let Some(cap) = config.max_server_delay {
        policy = policy.max_server_delay(cap.duration());
    }
    if let Some(hook) = config.hook {
        policy = policy.on_retry(move |ctx| hook.decide(ctx.cause(), ctx.attempt()));
    }
    policy
}

fn parser(config: &Config, prefeed: Option<&[u8]>) -> (Parser, Vec<Out>) {
    let mut builder = Parser::builder().comments(config.comments);
    if let Some((line, event)) = config.limits {
        builder = builder
            .max_line_len(usize::from(line) + 1)
            .max_event_len(usize::from(event) + 1);
    }
    let mut parser = builder.build();
    if let Some(i) = config.seed_id {
        parser.set_last_event_id(SEED_IDS[usize::from(i) % SEED_IDS.len()]);
    }
    let mut items = Vec::new();
    if let Some(bytes) = prefeed {
        parser.feed_slice(bytes);
        drain(&mut parser, &mut items);
    }
    (parser, items)
}

/// In one-shot mode, another attempt is a resume (`resume` is on, a stream
/// opened, and there is an ID to resume from) or, before any stream opened,
/// a refusal the policy retries sent again (`last_cause`).
fn assert_another_attempt(
    what: &str,
    model: &Model,
    opened: bool,
    last_cause: Option<&Kind>,
    last_event_id: &str,
) {
    if !opened {
        let retried = matches!(last_cause, Some(Kind::Status(s)) if model.retried.contains(s));
        assert!(
            retried,
            "{what} before a stream opened, not after a retried refusal"
        );
        return;
    }
    assert!(model.resume, "{what} in one-shot mode without resume");
    assert!(
        !last_event_id.is_empty(),
        "{what} with no ID to resume from"
    );
}

/// Drives the machine and the model through `ops`.
struct Driver {
    machine: Machine,
    model: Model,
    now: Instant,
    /// An error was delivered: nothing may follow.
    errored: bool,
    /// CLOSED was seen after an op's events were taken.
    closed: bool,
    /// A message the sentinel's rule matches was delivered: nothing may
    /// follow.
    completed: bool,
    /// An `Open` event was seen.
    opened: bool,
    /// The cause of the last `Reconnecting` seen.
    last_cause: Option<Kind>,
    /// How many `Connect`s were seen.
    connects: u32,
    last_action: Option<Action>,
}

impl Driver {
    fn new(config: &Config) -> Self {
        let t0 = Instant::now();
        let initial = config
            .initial
            .map_or(DEFAULT_RECONNECTION_TIME, |d| d.duration());
        let seed_id = config
            .seed_id
            .map_or("", |i| SEED_IDS[usize::from(i) % SEED_IDS.len()]);
        let prefeed = config
            .prefeed
            .map(|i| PREFEEDS[usize::from(i) % PREFEEDS.len()]);
        let (mut parser, mut items) = parser(config, prefeed);
        let mut last_event_id = seed_id.to_owned();
        let max_server_delay = config
            .max_server_delay
            .map_or(DEFAULT_MAX_SERVER_DELAY, |d| d.duration());
        let mut reconnection_time = initial;
        if let Some(bytes) = prefeed {
            if items.iter().any(|item| matches!(item, Out::Error(_))) {
                // Too long for the limits: start without it.
                (parser, items) = self::parser(config, None);
                assert!(items.is_empty());
            } else {
                let expected = reference::parse(bytes, config.comments, seed_id);
                assert_eq!(items, expected.items);
                last_event_id = expected.last_event_id;
                if let Some(ms) = expected.retry {
                    let time = Duration::from_millis(ms);
                    reconnection_time = time.min(max_server_delay);
                }
            }
        }
        let idle = config
            .idle_timeout
            .map(|ms| Duration::from_millis(u64::from(ms)));
        let mut settings = MachineConfig::new()
            .reconnect(config.reconnect)
            .resume(config.resume)
            .idle_timeout(idle)
            .accept_any_content_type(config.any_content_type)
            .jitter_seed(config.jitter_seed)
            .dedupe_ids(config.dedupe_window());
        if let Some(rule) = config.sentinel_rule() {
            settings = settings.complete_on(move |message| {
                rule.is_last(
                    message.event_type(),
                    message.data(),
                    message.last_event_id(),
                )
            });
        }
        let machine = Machine::with_config(t0, parser, policy(config), settings);
        // The ID the machine starts from counts as delivered.
        let delivered_ids = if last_event_id.is_empty() {
            Vec::new()
        } else {
            vec![last_event_id.clone()]
        };
        let model = Model {
            reconnect: config.reconnect,
            resume: config.resume,
            sentinel: config.sentinel_rule(),
            dedupe_window: config.dedupe_window(),
            hook: config.hook,
            any_content_type: config.any_content_type,
            max_server_delay,
            idle,
            min_delay: config.min_delay.map_or(DEFAULT_MIN_DELAY, |d| d.duration()),
            max_delay: config.max_delay.map_or(DEFAULT_MAX_DELAY, |d| d.duration()),
            jitter: f64::from(config.jitter) / 255.0,
            max_retries: config.max_retries.map(u32::from),
            max_elapsed: config.max_elapsed.map(|d| d.duration()),
            retried: config.retried_statuses(),
            comments: config.comments,
            limited: config.limits.is_some(),
            state: State::Connecting { since: t0 },
            conn: None,
            last_event_id,
            reconnection_time,
            failures: 0,
            progressed: false,
            last_progress: t0,
            ok_response: false,
            has_opened: false,
            first_attempt: true,
            close_reason: None,
            scheduled: None,
            delivered_ids,
            want: Vec::new(),
            want_actions: Vec::new(),
        };
        let mut driver = Self {
            machine,
            model,
            now: t0,
            errored: false,
            closed: false,
            completed: false,
            opened: false,
            last_cause: None,
            connects: 0,
            last_action: None,
        };
        let connect = driver.model.connect_action();
        driver.model.want_actions.push(connect);
        driver.check(false);
        driver
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now;
        let m = &mut self.model;
        // Whether the parser reads in this op: bytes for an open connection,
        // or its end (an end, an error or an idle timeout). Only then can a
        // limit error come.
        let parses = matches!(m.state, State::Open { .. })
            && matches!(
                op,
                Op::Bytes(_) | Op::Eof | Op::Error(_) | Op::Timeout | Op::ReconnectNow
            );
        match op {
            Op::Response {
                status,
                content_type,
                retry_after,
            } => {
                let status = Op::status(*status);
                let pick = usize::from(*content_type);
                let (content_type, valid) = CONTENT_TYPES[pick % CONTENT_TYPES.len()];
                let mut head = ResponseHead::new(status);
                if let Some(content_type) = content_type {
                    head = head.with_header("content-type", content_type);
                }
                if let Some(seconds) = retry_after {
                    head = head.with_header("retry-after", &seconds.to_string());
                }
                let retry_after = retry_after.map(|s| Duration::from_secs(u64::from(s)));
                let opens = status == 200 && (valid || m.any_content_type);
                assert_eq!(
                    self.machine.refuses(&head),
                    !opens && status != 204,
                    "refuses {head:?}"
                );
                if self.machine.refuses(&head) && pick % 2 == 0 {
                    // A driver that read the refused response's body.
                    let body = Bytes::copy_from_slice(&status.to_be_bytes());
                    self.machine
                        .handle_refusal(now, Refusal::new(head, body, true));
                } else {
                    self.machine.handle_response(now, head);
                }
                if let State::Connecting { .. } = m.state {
                    if opens {
                        m.ok_response = true;
                        m.has_opened = true;
                        m.state = State::Open { last_activity: now };
                        m.progressed = false;
                        m.conn = Some(Conn {
                            bytes: Vec::new(),
                            start_id: m.last_event_id.clone(),
                            start_rt: m.reconnection_time,
                            seen: 0,
                        });
                        m.want.push(Want::Open);
                    } else if status == 204 {
                        m.close(CloseReason::NoContent(ResponseHead::new(204)));
                    } else if status != 200 {
                        m.schedule(now, Kind::Status(status), retry_after);
                    } else {
                        m.schedule(now, Kind::ContentType, None);
                    }
                }
            }
            Op::Bytes(bytes) => {
                self.machine
                    .handle_bytes(now, Bytes::copy_from_slice(bytes));
                if let State::Open { .. } = m.state {
                    m.state = State::Open { last_activity: now };
                    let conn = m.conn.as_mut().expect("open has a connection");
                    conn.bytes.extend_from_slice(bytes);
                    let expected = reference::parse(&conn.bytes, m.comments, &conn.start_id);
                    let seen = std::mem::replace(&mut conn.seen, expected.items.len());
                    m.reconnection_time = expected.retry.map_or(conn.start_rt, |ms| {
                        let time = Duration::from_millis(ms);
                        time.min(m.max_server_delay)
                    });
                    m.last_event_id = expected.last_event_id;
                    let new = expected.items[seen..].iter().zip(&expected.own_id[seen..]);
                    for (item, &own_id) in new {
                        match item {
                            Out::Retry(_) => {}
                            Out::Event { .. } => m.deliver(now, item, own_id),
                            _ => m.want.push(Want::Item(item.clone())),
                        }
                        if m.state == State::Closed {
                            // The sentinel: what follows is dropped (the
                            // ID and reconnection time are not compared
                            // once closed).
                            break;
                        }
                    }
                }
            }
            Op::Eof => {
                self.machine.handle_eof(now);
                if let State::Open { .. } = m.state {
                    let conn = m.conn.take().expect("open has a connection");
                    let expected = reference::parse(&conn.bytes, m.comments, &conn.start_id);
                    assert_eq!(expected.items.len(), conn.seen);
                    match (expected.complete, m.reconnect, m.sentinel) {
                        (false, _, _) => m.schedule(now, Kind::Truncated, None),
                        (true, true, _) => m.schedule(now, Kind::StreamEnded, None),
                        // One-shot, ended before its sentinel: cut short.
                        (true, false, Some(_)) => m.schedule(now, Kind::Truncated, None),
                        (true, false, None) => m.close(CloseReason::Completed),
                    }
                }
            }
            Op::Error(pick) => {
                let error = network_error(*pick);
                let cause = kind(&error);
                self.machine.handle_error(now, error);
                if let State::Open { .. } | State::Connecting { .. } = m.state {
                    m.schedule(now, cause, None);
                }
            }
            Op::Advance(ms) => {
                self.now = now
                    .checked_add(Duration::from_millis(u64::from(*ms)))
                    .unwrap_or(now);
            }
            Op::Timeout => {
                // A driver sleeps until the deadline, then tells the machine.
                if let Some(deadline) = self.machine.poll_timeout() {
                    let now = now.max(deadline);
                    self.now = now;
                    self.machine.handle_timeout(now);
                    match m.state {
                        State::Waiting { until: Some(until) } => {
                            assert!(now >= until);
                            m.state = State::Connecting { since: now };
                            m.ok_response = false;
                            let connect = m.connect_action();
                            m.want_actions.push(connect);
                        }
                        State::Connecting { .. } | State::Open { .. } => {
                            m.conn = None;
                            m.schedule(now, Kind::IdleTimeout, None);
                        }
                        State::Waiting { until: None } | State::Closed => {
                            panic!("a deadline in {:?}", m.state)
                        }
                    }
                }
            }
            Op::Close => {
                self.machine.close();
                m.close(CloseReason::ClosedByUser);
            }
            Op::ReconnectNow => {
                let started = self.machine.reconnect_now(now);
                let expected = m.state != State::Closed && m.may_connect_again();
                if expected {
                    // Every complete event was delivered when its bytes came;
                    // the rest is discarded.
                    m.conn = None;
                    m.state = State::Connecting { since: now };
                    m.ok_response = false;
                    m.scheduled = None;
                    m.first_attempt = false;
                    if m.progressed {
                        // Its connection delivered a message: the run of
                        // failed attempts is over, and the request is the
                        // first of a new one.
                        m.failures = 0;
                    }
                    m.want_actions.push(Action::Disconnect);
                    let connect = m.connect_action();
                    m.want_actions.push(connect);
                }
                // A limit error while finishing the body also says false.
                if !parses {
                    assert_eq!(started, expected, "reconnect_now");
                }
            }
        }
        self.check(parses);
    }

    /// Takes every event and action, and compares them and the machine's
    /// state with the model. `parses`: whether the op made the parser read
    /// (the only time a limit error can come).
    fn check(&mut self, parses: bool) {
        let now = self.now;
        let mut events = Vec::new();
        while let Some(event) = self.machine.poll_event() {
            let event = got(event);
            // Nothing after an error; nothing at all once seen CLOSED.
            assert!(!self.errored, "{event:?} after an error");
            assert!(!self.closed, "{event:?} after CLOSED");
            assert!(!self.completed, "{event:?} after the sentinel");
            if let Got::Err(_) = event {
                self.errored = true;
                assert_eq!(self.machine.ready_state(), ReadyState::Closed);
            }
            if let Got::Open = event {
                assert!(
                    self.model.ok_response,
                    "OPEN without a 200 event-stream response"
                );
                self.opened = true;
            }
            if let Got::Reconnecting { cause, .. } = &event {
                self.last_cause = Some(cause.clone());
                if !self.model.reconnect {
                    let id = self.machine.last_event_id();
                    let cause = self.last_cause.as_ref();
                    assert_another_attempt("a reconnect", &self.model, self.opened, cause, id);
                }
            }
            if let Got::Item(Out::Event {
                event_type,
                data,
                last_event_id,
            }) = &event
            {
                self.completed = self
                    .model
                    .sentinel
                    .is_some_and(|rule| rule.is_last(event_type, data, last_event_id));
            }
            events.push(event);
        }
        assert!(self.machine.poll_event().is_none());
        if self.completed {
            assert_eq!(
                self.machine.close_reason(),
                Some(&CloseReason::Completed),
                "the sentinel completes the stream"
            );
        }
        // What `EventSource` does before it waits for the next input.
        self.machine.shrink_buffers();
        let actions: Vec<Action> = std::iter::from_fn(|| self.machine.poll_action()).collect();

        let m = &mut self.model;
        let mut want = std::mem::take(&mut m.want);
        let mut want_actions = std::mem::take(&mut m.want_actions);
        // A limit error ends the messages early: what came before it is a
        // prefix of what the reference reads, and it fails the connection
        // instead of whatever the end of the body would have done.
        if let Some(Got::Err(Kind::LineTooLong | Kind::EventTooLarge)) = events.last() {
            assert!(parses, "a limit error while the parser did not read");
            assert!(m.limited, "a limit error with the default limits");
            let before = events.len() - 1;
            assert!(want.len() >= before);
            want.truncate(before);
            want_actions.clear();
            let limit = events[before].clone();
            let Got::Err(limit) = limit else {
                unreachable!()
            };
            // The connection was open when the parser failed.
            m.state = State::Open { last_activity: now };
            m.fail(limit);
            want.append(&mut m.want);
            want_actions.append(&mut m.want_actions);
        }
        assert_eq!(
            events.len(),
            want.len(),
            "events {events:?}, expected {want:?}"
        );
        for (got, want) in events.iter().zip(&want) {
            assert!(want.matches(got), "event {got:?}, expected {want:?}");
        }
        assert_eq!(actions, want_actions, "actions");
        // The delay is known now.
        if let (Some(Got::Reconnecting { delay, .. }), State::Waiting { until }) =
            (events.last(), &mut m.state)
        {
            *until = now.checked_add(*delay);
        }

        for action in &actions {
            match action {
                Action::Connect { last_event_id, .. } => {
                    assert!(!self.closed, "Connect after CLOSED");
                    self.connects += 1;
                    if self.connects > 1 && !m.reconnect {
                        let cause = self.last_cause.as_ref();
                        let (what, id) = ("a second Connect", last_event_id);
                        assert_another_attempt(what, m, self.opened, cause, id);
                    }
                    assert!(
                        !matches!(self.last_action, Some(Action::Connect { .. })),
                        "two Connects without a Disconnect"
                    );
                    assert_eq!(last_event_id, self.machine.last_event_id());
                    if let Some((at, wait)) = m.scheduled.take() {
                        let earliest = at.checked_add(wait).expect("a reachable deadline");
                        assert!(
                            now >= earliest,
                            "Connect {:?} after the disconnect, sooner than {wait:?}",
                            now - at
                        );
                    }
                }
                Action::Disconnect => {}
                other => panic!("unknown action {other:?}"),
            }
            self.last_action = Some(action.clone());
        }

        let state = self.machine.ready_state();
        assert_eq!(state, m.ready_state(), "ready state");
        assert_eq!(self.machine.poll_timeout(), m.deadline(), "deadline");
        match state {
            ReadyState::Open => {
                assert!(m.ok_response, "OPEN without a 200 event-stream response");
                assert!(matches!(self.last_action, Some(Action::Connect { .. })));
            }
            ReadyState::Closed => {
                let reason = self.machine.close_reason().expect("CLOSED has a reason");
                match (reason, m.close_reason.as_ref().expect("the model closed")) {
                    (CloseReason::NoContent(head), CloseReason::NoContent(_)) => {
                        assert_eq!(head.status(), 204);
                    }
                    (got, want) => assert_eq!(got, want, "close reason"),
                }
                assert_eq!(self.machine.poll_timeout(), None);
                assert!(self.machine.poll_action().is_none());
                assert_eq!(self.last_action, Some(Action::Disconnect));
                self.closed = true;
            }
            ReadyState::Connecting => {}
        }
        if state != ReadyState::Closed {
            assert_eq!(
                self.machine.last_event_id(),
                m.last_event_id,
                "last event ID"
            );
            assert_eq!(
                self.machine.reconnection_time(),
                m.reconnection_time,
                "reconnection time"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let mut driver = Driver::new(&input.config);
    for op in &input.ops {
        driver.apply(op);
    }
});
