//! The reconnect state machine under arbitrary sequences of responses, body
//! chunks, ends, errors, clock moves, timeouts and closes (see
//! `machine_input`), driven as a real driver would: a virtual clock, every
//! event and action taken after each input, `handle_timeout` only once
//! `poll_timeout` has come.
//!
//! Alongside runs a model of the documented behaviour, whose message events
//! come from the naive reference parser over the bytes of the current
//! connection. Every event, action, ready state, deadline, last event ID and
//! reconnection time must match it; and, stated on their own, the
//! invariants: CLOSED is final, never OPEN without a 200 `text/event-stream`
//! response in the current attempt, nothing after an error, no `Connect`
//! before the disconnect that scheduled it plus the minimum delay and the
//! reconnection time, and each `Connect` carries the last event ID.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ssefeed::machine::{Action, Machine};
use ssefeed::parser::Parser;
use ssefeed::retry::{DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_RECONNECTION_TIME};
use ssefeed::{Error, Event, ReadyState, RetryPolicy};
use ssefeed_fuzz::machine_input::{CONTENT_TYPES, Config, Input, Op, PREFEEDS, SEED_IDS};
use ssefeed_fuzz::{Out, drain, reference};

/// An error, without its details.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Status(u16),
    ContentType,
    StreamEnded,
    Truncated,
    IdleTimeout,
    Source,
    LineTooLong,
    EventTooLarge,
    Exhausted { attempts: u32, last: Box<Kind> },
}

fn kind(error: &Error) -> Kind {
    match error {
        Error::Status { status, .. } => Kind::Status(*status),
        Error::ContentType { .. } => Kind::ContentType,
        Error::StreamEnded => Kind::StreamEnded,
        Error::Truncated => Kind::Truncated,
        Error::IdleTimeout { .. } => Kind::IdleTimeout,
        Error::Source(_) => Kind::Source,
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

/// The errors an `Error` op picks from.
fn network_error(pick: u8) -> Error {
    match pick % 4 {
        0 => Error::StreamEnded,
        1 => Error::Truncated,
        2 => Error::IdleTimeout {
            timeout: Duration::from_secs(1),
        },
        _ => Error::Source(Box::new(std::io::Error::other("connection reset"))),
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
        Ok(Event::Open) => Got::Open,
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
    /// When the pending reconnect was scheduled, and the reconnection time
    /// then.
    scheduled: Option<(Instant, Duration)>,

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

    /// "Fail the connection".
    fn fail(&mut self, cause: Kind) {
        if self.state != State::Closed {
            self.want_actions.push(Action::Disconnect);
        }
        self.state = State::Closed;
        self.conn = None;
        self.want.push(Want::Err(cause));
    }

    /// "Reestablish the connection", with the policy's delay; the state
    /// becomes `Waiting` once the actual delay is known.
    fn schedule(&mut self, now: Instant, cause: Kind, at_least: Option<Duration>) {
        self.conn = None;
        if self.progressed {
            self.failures = 0;
            self.progressed = false;
        }
        let attempt = self.failures.saturating_add(1);
        let out_of_attempts = self.max_retries.is_some_and(|max| attempt > max);
        let out_of_time = self
            .max_elapsed
            .is_some_and(|max| now.saturating_duration_since(self.last_progress) >= max);
        if out_of_attempts || out_of_time {
            self.fail(Kind::Exhausted {
                attempts: self.failures,
                last: Box::new(cause),
            });
            return;
        }
        // The formula of the retry module's documentation.
        let floor = self.reconnection_time.max(self.min_delay);
        let factor = 2u32.saturating_pow(self.failures.min(31));
        let base = floor.saturating_mul(factor).min(self.max_delay.max(floor));
        let jitter =
            Duration::try_from_secs_f64(base.as_secs_f64() * self.jitter).unwrap_or(Duration::MAX);
        let at_least = at_least.unwrap_or_default();
        let lo = base.max(at_least);
        let hi = base
            .saturating_add(jitter)
            .saturating_add(Duration::from_micros(1))
            .max(at_least);
        self.failures = attempt;
        self.want.push(Want::Reconnecting {
            cause,
            attempt,
            lo,
            hi,
        });
        self.want_actions.push(Action::Disconnect);
        self.scheduled = Some((now, self.reconnection_time));
        // Until the delay is known.
        self.state = State::Waiting { until: None };
    }

    fn lost(&mut self, now: Instant, cause: Kind) {
        if self.reconnect {
            self.schedule(now, cause, None);
        } else {
            self.fail(cause);
        }
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

/// Drives the machine and the model through `ops`.
struct Driver {
    machine: Machine,
    model: Model,
    now: Instant,
    /// An error was delivered: nothing may follow.
    errored: bool,
    /// CLOSED was seen after an op's events were taken.
    closed: bool,
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
                    reconnection_time = Duration::from_millis(ms);
                }
            }
        }
        let idle = config
            .idle_timeout
            .map(|ms| Duration::from_millis(u64::from(ms)));
        let machine = Machine::with_parts(t0, parser, policy(config))
            .reconnect(config.reconnect)
            .idle_timeout(idle)
            .jitter_seed(config.jitter_seed);
        let model = Model {
            reconnect: config.reconnect,
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
            scheduled: None,
            want: Vec::new(),
            want_actions: Vec::new(),
        };
        let mut driver = Self {
            machine,
            model,
            now: t0,
            errored: false,
            closed: false,
            last_action: None,
        };
        let connect = Action::Connect {
            last_event_id: driver.model.last_event_id.clone(),
        };
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
            && matches!(op, Op::Bytes(_) | Op::Eof | Op::Error(_) | Op::Timeout);
        match op {
            Op::Response {
                status,
                content_type,
                retry_after,
            } => {
                let status = Op::status(*status);
                let (content_type, valid) =
                    CONTENT_TYPES[usize::from(*content_type) % CONTENT_TYPES.len()];
                let retry_after = retry_after.map(|s| Duration::from_secs(u64::from(s)));
                self.machine
                    .handle_response(now, status, content_type, retry_after);
                if let State::Connecting { .. } = m.state {
                    if status == 200 && valid {
                        m.ok_response = true;
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
                        m.want_actions.push(Action::Disconnect);
                        m.state = State::Closed;
                    } else if status != 200 {
                        let cause = Kind::Status(status);
                        if m.reconnect && m.retried.contains(&status) {
                            m.schedule(now, cause, retry_after);
                        } else {
                            m.fail(cause);
                        }
                    } else {
                        m.fail(Kind::ContentType);
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
                    for item in &expected.items[conn.seen..] {
                        match item {
                            Out::Retry(_) => {}
                            Out::Event { .. } => {
                                m.progressed = true;
                                m.last_progress = now;
                                m.want.push(Want::Item(item.clone()));
                            }
                            _ => m.want.push(Want::Item(item.clone())),
                        }
                    }
                    conn.seen = expected.items.len();
                    m.last_event_id = expected.last_event_id;
                    m.reconnection_time =
                        expected.retry.map_or(conn.start_rt, Duration::from_millis);
                }
            }
            Op::Eof => {
                self.machine.handle_eof(now);
                if let State::Open { .. } = m.state {
                    let conn = m.conn.take().expect("open has a connection");
                    let expected = reference::parse(&conn.bytes, m.comments, &conn.start_id);
                    assert_eq!(expected.items.len(), conn.seen);
                    match (m.reconnect, expected.complete) {
                        (true, false) => m.schedule(now, Kind::Truncated, None),
                        (true, true) => m.schedule(now, Kind::StreamEnded, None),
                        (false, false) => m.fail(Kind::Truncated),
                        (false, true) => {
                            m.want_actions.push(Action::Disconnect);
                            m.state = State::Closed;
                        }
                    }
                }
            }
            Op::Error(pick) => {
                let error = network_error(*pick);
                let cause = kind(&error);
                self.machine.handle_error(now, error);
                if let State::Open { .. } | State::Connecting { .. } = m.state {
                    m.lost(now, cause);
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
                            let connect = Action::Connect {
                                last_event_id: m.last_event_id.clone(),
                            };
                            m.want_actions.push(connect);
                        }
                        State::Connecting { .. } | State::Open { .. } => {
                            m.conn = None;
                            m.lost(now, Kind::IdleTimeout);
                        }
                        State::Waiting { until: None } | State::Closed => {
                            panic!("a deadline in {:?}", m.state)
                        }
                    }
                }
            }
            Op::Close => {
                self.machine.close();
                if m.state != State::Closed {
                    m.want_actions.push(Action::Disconnect);
                }
                m.state = State::Closed;
                m.conn = None;
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
            if let Got::Err(_) = event {
                self.errored = true;
                assert_eq!(self.machine.ready_state(), ReadyState::Closed);
            }
            if let Got::Open = event {
                assert!(
                    self.model.ok_response,
                    "OPEN without a 200 event-stream response"
                );
            }
            events.push(event);
        }
        assert!(self.machine.poll_event().is_none());
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
                Action::Connect { last_event_id } => {
                    assert!(!self.closed, "Connect after CLOSED");
                    assert!(
                        !matches!(self.last_action, Some(Action::Connect { .. })),
                        "two Connects without a Disconnect"
                    );
                    assert_eq!(last_event_id, self.machine.last_event_id());
                    if let Some((at, reconnection_time)) = m.scheduled.take() {
                        let wait = m.min_delay.max(reconnection_time);
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
