//! With the `tracing` feature: a span per connection, from its request to
//! its end, carrying what it did (its status, events, bytes, the time to its
//! first byte and first event). Without the feature, nothing.

#[cfg(feature = "tracing")]
use crate::stats::ConnectionStats;

/// The current connection's span.
#[derive(Debug, Default)]
pub(super) struct ConnectionSpan {
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
}

#[cfg(feature = "tracing")]
impl ConnectionSpan {
    /// A request starts (attempt `attempt`).
    pub(super) fn start(&mut self, attempt: u32) {
        self.span = Some(tracing::debug_span!(
            "ssefeed.connection",
            attempt,
            url = tracing::field::Empty,
            status = tracing::field::Empty,
            events = tracing::field::Empty,
            bytes = tracing::field::Empty,
            first_byte_ms = tracing::field::Empty,
            first_event_ms = tracing::field::Empty,
        ));
    }

    /// Its request is sent to `url`.
    pub(super) fn sent(&self, url: &reqwest::Url) {
        if let Some(span) = &self.span {
            span.record("url", tracing::field::display(url));
        }
    }

    /// Its response arrived with `status`.
    pub(super) fn answered(&self, status: u16) {
        if let Some(span) = &self.span {
            span.record("status", status);
        }
    }

    /// It ended, having done `stats`: the span records them and closes.
    pub(super) fn end(&mut self, stats: &ConnectionStats) {
        let Some(span) = self.span.take() else {
            return;
        };
        span.record("events", stats.events);
        span.record("bytes", stats.bytes);
        let since_request = |at: Option<web_time::Instant>| {
            Some(
                at?.saturating_duration_since(stats.requested_at?)
                    .as_millis() as u64,
            )
        };
        if let Some(ms) = since_request(stats.first_byte_at) {
            span.record("first_byte_ms", ms);
        }
        if let Some(ms) = since_request(stats.first_event_at) {
            span.record("first_event_ms", ms);
        }
        tracing::debug!(parent: &span, "ssefeed: connection ended");
    }
}

#[cfg(not(feature = "tracing"))]
impl ConnectionSpan {
    pub(super) fn start(&mut self, _attempt: u32) {}
    pub(super) fn sent(&self, _url: &reqwest::Url) {}
    pub(super) fn answered(&self, _status: u16) {}
    pub(super) fn end(&mut self, _stats: &crate::stats::ConnectionStats) {}
}
