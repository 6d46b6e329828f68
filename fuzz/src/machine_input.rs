//! The `machine` target's input: a [`Config`], then [`Op`]s until the data
//! runs out, both decoded with `arbitrary`. The encoders write the same
//! format (arbitrary 1.x: integers little-endian, `bool` the low bit of a
//! byte, `Option` a `bool` then the value, an enum a `u32` scaled to the
//! variant count, a `Vec` each element after a byte with the low bit set and
//! a byte with it clear at the end), so that seeds can be written as op
//! lists; the seed generator checks that they decode back.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use ssefeed::{Error, RetryDecision};

/// At most this many ops are applied (a longer input's tail is ignored).
pub const MAX_OPS: usize = 256;

/// Status codes a `Response` op picks from (see [`Op::status`]).
pub const STATUSES: [u16; 13] = [
    200, 200, 200, 204, 500, 503, 429, 408, 502, 504, 404, 301, 201,
];

/// The statuses [`Config::retried`] can make the policy retry, one bit each.
pub const RETRIABLE: [u16; 9] = [408, 429, 500, 502, 503, 504, 404, 200, 204];

/// Content types a `Response` op picks from, with whether each is
/// `text/event-stream`.
pub const CONTENT_TYPES: [(Option<&str>, bool); 11] = [
    (None, false),
    (Some("text/event-stream"), true),
    (Some("TEXT/Event-Stream; charset=utf-8"), true),
    (Some(" text/event-stream ;x=y"), true),
    (Some("text/event-stream;"), true),
    (Some("\ttext/event-stream"), true),
    (Some("text/plain"), false),
    (Some("text/event-streams"), false),
    (Some(""), false),
    (Some("text/event-stream, text/plain"), false),
    (Some("application/json; x=text/event-stream"), false),
];

/// IDs [`Config::seed_id`] can seed the parser with.
pub const SEED_IDS: [&str; 5] = ["", "41", "a b", "\u{FFFD}", "x\0y"];

/// Streams [`Config::prefeed`] can feed the parser (and drain) before the
/// machine gets it.
pub const PREFEEDS: [&[u8]; 5] = [
    b"id: 7\n\n",
    b"retry: 0\n",
    b"retry: 250\nid: x\n\ndata: pending",
    b"retry: 18446744073709551615\n",
    b"id: 1\ndata: a\n\nid: 2\n",
];

/// The rules [`Config::sentinel`] picks from for `MachineConfig::complete_on`.
pub const SENTINELS: [Sentinel; 6] = [
    Sentinel::Data("[DONE]"),
    Sentinel::Data("a"),
    // MCP's priming event (`data:` alone) among them.
    Sentinel::Data(""),
    Sentinel::Type("done"),
    // Every message without an `event:` field.
    Sentinel::Type("message"),
    // An inherited ID matches too.
    Sentinel::Id("2"),
];

/// A sentinel's rule, a pure function of the message, so that the model can
/// apply it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentinel {
    /// The data equals this.
    Data(&'static str),
    /// The event type equals this.
    Type(&'static str),
    /// The last event ID equals this.
    Id(&'static str),
}

impl Sentinel {
    /// Whether a message with these fields is the last one.
    pub fn is_last(self, event_type: &str, data: &str, last_event_id: &str) -> bool {
        match self {
            Self::Data(want) => data == want,
            Self::Type(want) => event_type == want,
            Self::Id(want) => last_event_id == want,
        }
    }
}

/// A duration for the retry policy.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// Milliseconds.
    Millis(u16),
    /// Seconds.
    Secs(u16),
    /// `Duration::MAX`.
    Max,
}

impl Delay {
    /// The duration.
    pub fn duration(self) -> Duration {
        match self {
            Self::Millis(ms) => Duration::from_millis(u64::from(ms)),
            Self::Secs(s) => Duration::from_secs(u64::from(s)),
            Self::Max => Duration::MAX,
        }
    }
}

/// How the machine is built.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `Machine::reconnect`.
    pub reconnect: bool,
    /// `Machine::idle_timeout`, in milliseconds.
    pub idle_timeout: Option<u16>,
    /// `RetryPolicy::initial`, if set.
    pub initial: Option<Delay>,
    /// `RetryPolicy::min_delay`, if set.
    pub min_delay: Option<Delay>,
    /// `RetryPolicy::max_delay`, if set.
    pub max_delay: Option<Delay>,
    /// `RetryPolicy::jitter`, as a fraction of 255.
    pub jitter: u8,
    /// `RetryPolicy::max_retries`.
    pub max_retries: Option<u8>,
    /// `RetryPolicy::max_elapsed`.
    pub max_elapsed: Option<Delay>,
    /// One bit per status of [`RETRIABLE`] for `RetryPolicy::retry_status`.
    pub retried: u16,
    /// Report comments.
    pub comments: bool,
    /// Small parser limits (line, event), each + 1.
    pub limits: Option<(u8, u8)>,
    /// An index into [`SEED_IDS`] for `Parser::set_last_event_id`.
    pub seed_id: Option<u8>,
    /// An index into [`PREFEEDS`].
    pub prefeed: Option<u8>,
    /// `Machine::jitter_seed`.
    pub jitter_seed: u64,
    /// `RetryPolicy::on_retry` with this rule.
    pub hook: Option<Hook>,
    /// `Machine::accept_any_content_type`.
    pub any_content_type: bool,
    /// `RetryPolicy::max_server_delay`.
    pub max_server_delay: Option<Delay>,
    /// `MachineConfig::resume`.
    pub resume: bool,
    /// An index into [`SENTINELS`] for `MachineConfig::complete_on`.
    pub sentinel: Option<u8>,
    /// `MachineConfig::dedupe_ids`: see [`Config::dedupe_window`].
    pub dedupe: Option<u8>,
}

/// A retry hook's rule, a pure function of the cause and the attempt, so
/// that the model can apply it too.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hook {
    /// Which rule: see [`Hook::decide`].
    pub mode: u8,
    /// The attempt after which mode 1 stops.
    pub after: u8,
    /// The delay modes 2 and 3 retry after, in milliseconds.
    pub delay_ms: u16,
}

impl Hook {
    /// The decision for a cause and an attempt: mode 0 the default; 1 stop
    /// after `after` attempts; 2 always retry after `delay_ms`; 3 retry
    /// refused responses after `delay_ms`, else the default.
    pub fn decide(&self, cause: &Error, attempt: u32) -> RetryDecision {
        let delay = Duration::from_millis(u64::from(self.delay_ms));
        match self.mode % 4 {
            0 => RetryDecision::Default,
            1 if attempt > u32::from(self.after) => RetryDecision::Stop,
            1 => RetryDecision::Default,
            2 => RetryDecision::RetryAfter(delay),
            _ if cause.refusal().is_some() => RetryDecision::RetryAfter(delay),
            _ => RetryDecision::Default,
        }
    }
}

impl Config {
    /// A plain configuration: defaults everywhere, no jitter.
    pub fn plain() -> Self {
        Self {
            reconnect: true,
            idle_timeout: None,
            initial: None,
            min_delay: None,
            max_delay: None,
            jitter: 0,
            max_retries: None,
            max_elapsed: None,
            retried: 0,
            comments: false,
            limits: None,
            seed_id: None,
            prefeed: None,
            jitter_seed: 0,
            hook: None,
            any_content_type: false,
            max_server_delay: None,
            resume: false,
            sentinel: None,
            dedupe: None,
        }
    }

    /// The sentinel's rule, if any.
    pub fn sentinel_rule(&self) -> Option<Sentinel> {
        self.sentinel
            .map(|i| SENTINELS[usize::from(i) % SENTINELS.len()])
    }

    /// The de-duplication window: 0 (off, as the default) to 4, small
    /// enough that IDs leave it within an input.
    pub fn dedupe_window(&self) -> usize {
        self.dedupe.map_or(0, |w| usize::from(w % 5))
    }

    /// The retried statuses.
    pub fn retried_statuses(&self) -> Vec<u16> {
        RETRIABLE
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.retried & (1 << bit) != 0)
            .map(|(_, &status)| status)
            .collect()
    }
}

/// One thing happening to the machine.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `handle_response`: see [`Op::status`] and [`CONTENT_TYPES`];
    /// `Retry-After` in seconds.
    Response {
        /// Picks the status.
        status: u16,
        /// An index into [`CONTENT_TYPES`].
        content_type: u8,
        /// `Retry-After`, in seconds.
        retry_after: Option<u8>,
    },
    /// `handle_bytes`.
    Bytes(Vec<u8>),
    /// `handle_eof`.
    Eof,
    /// `handle_error` with one of four errors.
    Error(u8),
    /// The clock moves on this many milliseconds.
    Advance(u16),
    /// The clock moves to `poll_timeout` (if later) and `handle_timeout`.
    Timeout,
    /// `close`.
    Close,
    /// `reconnect_now`.
    ReconnectNow,
}

impl Op {
    /// The status a `Response` op's `status` picks: from [`STATUSES`] below
    /// 0xF000, else its low ten bits.
    pub fn status(status: u16) -> u16 {
        if status < 0xF000 {
            STATUSES[usize::from(status) % STATUSES.len()]
        } else {
            status & 0x3FF
        }
    }
}

/// A whole input: the configuration, then ops until the data runs out
/// (`cargo fuzz fmt machine FILE` prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// How the machine is built.
    pub config: Config,
    /// What happens to it, in order.
    pub ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let config = Config::arbitrary(u)?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::arbitrary(u)?);
        }
        Ok(Self { config, ops })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Self::arbitrary(&mut u)
    }
}

/// Reads a whole input.
pub fn decode(data: &[u8]) -> arbitrary::Result<Input> {
    Input::arbitrary_take_rest(Unstructured::new(data))
}

/// Writes an input that [`decode`]s to `config` and `ops`.
pub fn encode(config: &Config, ops: &[Op]) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.config(config);
    for op in ops {
        w.op(op);
    }
    w.0
}

struct Writer(Vec<u8>);

impl Writer {
    fn bool(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }

    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// An enum variant: `(u32 * count) >> 32 == index`.
    fn variant(&mut self, index: u64, count: u64) {
        let v = (index << 32).div_ceil(count);
        assert_eq!((v * count) >> 32, index);
        self.0
            .extend_from_slice(&u32::try_from(v).expect("fits").to_le_bytes());
    }

    fn option<T>(&mut self, v: &Option<T>, mut some: impl FnMut(&mut Self, &T)) {
        self.bool(v.is_some());
        if let Some(v) = v {
            some(self, v);
        }
    }

    fn delay(&mut self, d: &Delay) {
        match *d {
            Delay::Millis(ms) => {
                self.variant(0, 3);
                self.u16(ms);
            }
            Delay::Secs(s) => {
                self.variant(1, 3);
                self.u16(s);
            }
            Delay::Max => self.variant(2, 3),
        }
    }

    fn config(&mut self, c: &Config) {
        self.bool(c.reconnect);
        self.option(&c.idle_timeout, |w, &v| w.u16(v));
        self.option(&c.initial, Self::delay);
        self.option(&c.min_delay, Self::delay);
        self.option(&c.max_delay, Self::delay);
        self.u8(c.jitter);
        self.option(&c.max_retries, |w, &v| w.u8(v));
        self.option(&c.max_elapsed, Self::delay);
        self.u16(c.retried);
        self.bool(c.comments);
        self.option(&c.limits, |w, &(line, event)| {
            w.u8(line);
            w.u8(event);
        });
        self.option(&c.seed_id, |w, &v| w.u8(v));
        self.option(&c.prefeed, |w, &v| w.u8(v));
        self.u64(c.jitter_seed);
        self.option(&c.hook, |w, hook| {
            w.u8(hook.mode);
            w.u8(hook.after);
            w.u16(hook.delay_ms);
        });
        self.bool(c.any_content_type);
        self.option(&c.max_server_delay, Self::delay);
        self.bool(c.resume);
        self.option(&c.sentinel, |w, &v| w.u8(v));
        self.option(&c.dedupe, |w, &v| w.u8(v));
    }

    fn op(&mut self, op: &Op) {
        const COUNT: u64 = 8;
        match op {
            Op::Response {
                status,
                content_type,
                retry_after,
            } => {
                self.variant(0, COUNT);
                self.u16(*status);
                self.u8(*content_type);
                self.option(retry_after, |w, &v| w.u8(v));
            }
            Op::Bytes(bytes) => {
                self.variant(1, COUNT);
                for &b in bytes {
                    self.bool(true);
                    self.u8(b);
                }
                self.bool(false);
            }
            Op::Eof => self.variant(2, COUNT),
            Op::Error(kind) => {
                self.variant(3, COUNT);
                self.u8(*kind);
            }
            Op::Advance(ms) => {
                self.variant(4, COUNT);
                self.u16(*ms);
            }
            Op::Timeout => self.variant(5, COUNT),
            Op::Close => self.variant(6, COUNT),
            Op::ReconnectNow => self.variant(7, COUNT),
        }
    }
}
