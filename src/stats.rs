//! Plain data: what a feed did. Counted by the machine as it goes (a few
//! additions per chunk and per event), read at any time.

use web_time::Instant;

/// What one connection did: the one under way, or the one that ended (see
/// [`Event::Reconnecting`](crate::Event::Reconnecting)'s `stats`).
///
/// The instants are the machine's clock (`web_time::Instant`, which is
/// `std::time::Instant` but in the browser). `EventSource` reads the clock
/// for each chunk only when it needs the time anyway (an
/// [idle timeout](crate::EventSourceBuilder::idle_timeout) or
/// [`max_elapsed`](crate::RetryPolicy::max_elapsed) is set): then
/// `last_activity_at` is the time of the last chunk. Without them it reads
/// the clock for a connection's chunks until its first event only (a clock
/// read per chunk costs a stream with a chunk per event 4 % of its CPU), and
/// `last_activity_at` stays at that first event's time.
///
/// ```
/// # fn show(stats: ssefeed::ConnectionStats) {
/// if let (Some(asked), Some(first)) = (stats.requested_at, stats.first_event_at) {
///     println!("time to first event: {:?}", first - asked);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// When the request was asked for (the machine's `Connect`).
    pub requested_at: Option<Instant>,
    /// When the response opened the stream (a 200 `text/event-stream`).
    pub opened_at: Option<Instant>,
    /// When the first bytes of the body arrived.
    pub first_byte_at: Option<Instant>,
    /// When the first message was delivered (the time of the bytes that
    /// completed it).
    pub first_event_at: Option<Instant>,
    /// When the last bytes arrived (see above: with an idle timeout or
    /// `max_elapsed`; else when those of the first event did).
    pub last_activity_at: Option<Instant>,
    /// Body bytes received.
    pub bytes: u64,
    /// Messages delivered.
    pub events: u64,
    /// Comment lines (keep-alives) delivered, when comments are asked for.
    pub comments: u64,
}

/// What a source did since it started: its requests, connections and
/// reconnects, its totals, and the current connection's
/// [`ConnectionStats`].
///
/// ```
/// # fn show(stats: ssefeed::FeedStats) {
/// println!(
///     "{} events, {} bytes, {} reconnects over {} connections",
///     stats.events, stats.bytes, stats.reconnects, stats.connections
/// );
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FeedStats {
    /// Requests started (the first one, reconnects and resumes).
    pub requests: u64,
    /// Connections that opened.
    pub connections: u64,
    /// Reconnects scheduled (each `Event::Reconnecting`).
    pub reconnects: u64,
    /// Messages delivered, in all.
    pub events: u64,
    /// Body bytes received, in all.
    pub bytes: u64,
    /// The connection under way (or the last one).
    pub current: ConnectionStats,
}

impl FeedStats {
    /// A request starts at `now`: a new current connection.
    pub(crate) fn request(&mut self, now: Instant) {
        self.requests += 1;
        self.current = ConnectionStats {
            requested_at: Some(now),
            ..ConnectionStats::default()
        };
    }

    /// The current connection opened at `now`.
    pub(crate) fn opened(&mut self, now: Instant) {
        self.connections += 1;
        self.current.opened_at = Some(now);
    }

    /// `len` bytes of the body arrived at `now`.
    #[inline]
    pub(crate) fn bytes(&mut self, now: Instant, len: usize) {
        let current = &mut self.current;
        current.first_byte_at.get_or_insert(now);
        current.last_activity_at = Some(now);
        current.bytes += len as u64;
        self.bytes += len as u64;
    }

    /// A message was delivered, completed by the bytes of `at`.
    #[inline]
    pub(crate) fn event(&mut self, at: Instant) {
        self.current.first_event_at.get_or_insert(at);
        self.current.events += 1;
        self.events += 1;
    }
}
