//! The crate's one error type.

/// A boxed error from a byte source the crate does not know (see
/// [`EventStream`](crate::EventStream)).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

use std::borrow::Cow;
use std::fmt;

use crate::response::{Refusal, ResponseHead};

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading an event stream.
///
/// An `Err` item is final for the stream that returned it: an
/// [`EventStream`](crate::EventStream) or an `EventSource` yields nothing
/// after it (`None` from then on). (The parser alone returns its own
/// [`ParseError`](crate::parser::ParseError), which converts into the
/// variants of the same names here.) The same values also say why a
/// connection was lost in an [`Event::Reconnecting`](crate::Event::Reconnecting),
/// which is not final; [`is_retryable`](Self::is_retryable) tells whether
/// trying again can help, and [`report`](Self::report) prints the error with
/// its causes on one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A line (from its first byte to its line ending) was longer than the
    /// configured limit, [`DEFAULT_MAX_LINE_LEN`](crate::parser::DEFAULT_MAX_LINE_LEN)
    /// unless set otherwise. The parser stops rather than buffer without bound.
    #[error("event stream line longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },

    /// The data of one event (its `data:` values joined with line feeds) grew
    /// past the configured limit,
    /// [`DEFAULT_MAX_EVENT_LEN`](crate::parser::DEFAULT_MAX_EVENT_LEN) unless
    /// set otherwise.
    #[error("event data larger than the limit of {limit} bytes")]
    EventTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },

    /// The byte source given to an [`EventStream`](crate::EventStream)
    /// failed: the stream's or the reader's own error is the
    /// [`source`](std::error::Error::source) (an [`std::io::Error`] for a
    /// reader).
    #[error("reading the event stream failed")]
    Read(#[source] BoxError),

    /// The server answered with a status other than 200 (and 204, which ends
    /// the stream normally): the [`Refusal`] holds the response's status,
    /// headers and the first part of its body, where APIs explain why. Final
    /// unless the retry policy retries this status; then it is the cause of
    /// an [`Event::Reconnecting`](crate::Event::Reconnecting).
    #[error("the server answered with status {}", .0.head().status_line())]
    Status(Box<Refusal>),

    /// The server answered 200 but not with `text/event-stream`. Final (the
    /// spec fails the connection) unless the content type check is relaxed
    /// (`EventSourceBuilder::accept_any_content_type`).
    #[error("the server answered with content type {}, not text/event-stream", .0.head().content_type().unwrap_or("(none)"))]
    ContentType(Box<Refusal>),

    /// The server ended the stream at an event boundary. The cause of an
    /// [`Event::Reconnecting`](crate::Event::Reconnecting); never final.
    #[error("the server ended the stream")]
    StreamEnded,

    /// The body was cut short: it ended inside a line or an event (the
    /// unfinished event was discarded), or, for a one-shot stream with a
    /// sentinel (`EventSourceBuilder::complete_on`), before the sentinel.
    /// Final in one-shot mode unless the stream can be resumed
    /// (`EventSourceBuilder::resume_with`); otherwise the cause of a
    /// reconnect.
    #[error("the stream ended before it was complete")]
    Truncated,

    /// No bytes (not even a keep-alive comment) arrived within the idle
    /// timeout, or no response within it while connecting.
    #[error("no data from the server for {timeout:?}")]
    IdleTimeout {
        /// The configured idle timeout.
        timeout: std::time::Duration,
    },

    /// The request failed on the network before a response came: the
    /// connection was refused, a name did not resolve, the TLS handshake
    /// failed. The cause of an [`Event::Reconnecting`](crate::Event::Reconnecting),
    /// or final in one-shot mode.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    #[error("the request to the event stream failed")]
    Transport(#[source] reqwest::Error),

    /// The response's body failed after the stream opened: the connection
    /// was reset or cut inside the body's framing (reqwest calls that
    /// "error decoding response body"; its causes say what happened), or a
    /// compressed body was corrupt. Events completed before it were
    /// delivered; an unfinished one was discarded. The cause of an
    /// [`Event::Reconnecting`](crate::Event::Reconnecting) (or of a resume),
    /// or final in one-shot mode.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    #[error("the event stream was cut off")]
    Interrupted(#[source] reqwest::Error),

    /// The request could not be built (an invalid URL, scheme or header).
    /// Final: sending it again cannot help.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    #[error("the event stream request is invalid")]
    InvalidRequest(#[source] reqwest::Error),

    /// The async request factory
    /// (`EventSource::builder_async`) failed, with its own error as the
    /// source: a token refresh, say. Retried like a network error unless the
    /// retry hook stops.
    #[error("making the event stream request failed")]
    RequestFactory(#[source] BoxError),

    /// A middleware of a `reqwest_middleware` stack failed the request
    /// (feature `middleware`), with its error as the source. Retried like a
    /// network error unless the retry hook stops.
    #[error("a middleware failed the event stream request")]
    Middleware(#[source] BoxError),

    /// Reconnecting would send the request body again, but it is a stream
    /// that cannot be cloned. Use one-shot mode or a cloneable body. Final.
    #[error("the request body cannot be sent again for a reconnect")]
    BodyNotCloneable,

    /// The retry policy's limit on attempts or elapsed time was reached.
    /// Final.
    #[error("gave up reconnecting after {attempts} {}", if *.attempts == 1 { "attempt" } else { "attempts" })]
    RetriesExhausted {
        /// How many attempts were made in a row without receiving an event.
        attempts: u32,
        /// Why the last attempt failed.
        #[source]
        last_error: Box<Self>,
    },
}

impl Error {
    /// Whether trying again can help, by the error alone: true for network
    /// errors (a refused or reset connection, a DNS failure, a cut body:
    /// [`Interrupted`](Self::Interrupted)), the end of the stream, an idle
    /// timeout, and the statuses of
    /// [`TRANSIENT_STATUSES`](crate::TRANSIENT_STATUSES); false for a
    /// request that cannot be built (a bad URL scheme or header), a TLS
    /// failure (an untrusted certificate), other statuses and content types,
    /// the parser's limits, and a policy that gave up.
    ///
    /// Whether a source *did* retry is its policy's decision
    /// ([`RetryPolicy::retries`](crate::RetryPolicy::retries)), which agrees
    /// with this answer but for statuses: those it retries only when asked
    /// to (the spec fails on every status but 200), so a final 503 is
    /// retryable here though the default policy did not retry it. A
    /// [retry hook](crate::RetryPolicy::on_retry) may overrule both.
    ///
    /// ```
    /// use ssefeed::{Error, Refusal, ResponseHead, RetryPolicy};
    ///
    /// assert!(Error::StreamEnded.is_retryable());
    /// assert!(!Error::LineTooLong { limit: 10 }.is_retryable());
    /// let busy = Error::Status(Box::new(Refusal::new(ResponseHead::new(503), Default::default(), true)));
    /// assert!(busy.is_retryable());
    /// assert!(!RetryPolicy::new().retries(&busy));
    /// assert!(RetryPolicy::new().retry_transient_statuses().retries(&busy));
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::StreamEnded | Self::Truncated | Self::IdleTimeout { .. } => true,
            Self::RequestFactory(_) | Self::Middleware(_) => true,
            Self::Status(refusal) => {
                crate::response::TRANSIENT_STATUSES.contains(&refusal.head().status())
            }
            #[cfg(feature = "client")]
            Self::Transport(error) => !error.is_builder() && !is_tls_failure(error),
            #[cfg(feature = "client")]
            Self::Interrupted(_) => true,
            #[cfg(feature = "client")]
            Self::InvalidRequest(_) => false,
            Self::ContentType(_)
            | Self::LineTooLong { .. }
            | Self::EventTooLarge { .. }
            | Self::Read(_)
            | Self::BodyNotCloneable
            | Self::RetriesExhausted { .. } => false,
        }
    }

    /// The refused response ([`Status`](Self::Status),
    /// [`ContentType`](Self::ContentType), or the last error of
    /// [`RetriesExhausted`](Self::RetriesExhausted)).
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Status(refusal) | Self::ContentType(refusal) => Some(refusal),
            Self::RetriesExhausted { last_error, .. } => last_error.refusal(),
            _ => None,
        }
    }

    /// The status and headers of the refused response, if the error is one.
    pub fn response(&self) -> Option<&ResponseHead> {
        self.refusal().map(Refusal::head)
    }

    /// The HTTP status of the refused response, if the error is one.
    pub fn status(&self) -> Option<u16> {
        self.response().map(ResponseHead::status)
    }

    /// The first part of the refused response's body, decoded lossily: an
    /// API's explanation of a 401, 429 or 400.
    ///
    /// ```
    /// use ssefeed::{Error, Refusal, ResponseHead};
    ///
    /// let body = bytes::Bytes::from_static(br#"{"error":"invalid api key"}"#);
    /// let error = Error::Status(Box::new(Refusal::new(ResponseHead::new(401), body, true)));
    /// assert_eq!(error.to_string(), "the server answered with status 401 Unauthorized");
    /// assert_eq!(error.body().as_deref(), Some(r#"{"error":"invalid api key"}"#));
    /// ```
    pub fn body(&self) -> Option<Cow<'_, str>> {
        self.refusal().map(Refusal::body_text)
    }

    /// The error and its whole cause chain on one line, `a: b: c`, for logs
    /// and terminals. (`Display` shows this error alone, as Rust's
    /// convention is, so that reporters printing the chain do not repeat it.)
    ///
    /// ```
    /// let error = ssefeed::Error::Read(Box::new(std::io::Error::other("disk on fire")));
    /// assert_eq!(error.to_string(), "reading the event stream failed");
    /// assert_eq!(
    ///     error.report().to_string(),
    ///     "reading the event stream failed: disk on fire"
    /// );
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }
}

/// An error with its causes, on one line: see [`Error::report`].
#[derive(Debug, Clone, Copy)]
pub struct Report<'a>(&'a (dyn std::error::Error + 'static));

impl<'a> Report<'a> {
    /// The report of any error, not just this crate's.
    pub fn of(error: &'a (dyn std::error::Error + 'static)) -> Self {
        Self(error)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Some libraries repeat their source in their own message.
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            source = cause.source();
        }
        Ok(())
    }
}

/// Whether a connection failed in the TLS handshake (an untrusted or
/// invalid certificate, no shared protocol): a setup fault that retrying
/// does not heal. rustls reports handshake failures as `InvalidData` I/O
/// errors; native TLS stacks name the certificate.
#[cfg(all(
    feature = "client",
    not(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none")))
))]
fn is_tls_failure(error: &reqwest::Error) -> bool {
    if !error.is_connect() {
        return false;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let io_kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind);
        if io_kind == Some(std::io::ErrorKind::InvalidData)
            || cause.to_string().contains("certificate")
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The browser does not say how a connection failed (reqwest's fetch backend
/// has no `is_connect`), and its TLS failures are not the page's to see.
#[cfg(all(
    feature = "client",
    target_arch = "wasm32",
    any(target_os = "unknown", target_os = "none")
))]
fn is_tls_failure(_error: &reqwest::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn assert_impls<T: Send + Sync + 'static + std::error::Error>() {}
        assert_impls::<Error>();
    }

    #[test]
    fn display_is_lowercase_and_does_not_repeat_the_source() {
        let io = Error::Read(Box::new(std::io::Error::other("disk on fire")));
        let text = io.to_string();
        assert!(!text.contains("disk on fire"), "{text}");
        assert!(std::error::Error::source(&io).is_some());
        let limit = Error::LineTooLong { limit: 10 }.to_string();
        assert_eq!(limit, "event stream line longer than the limit of 10 bytes");
    }

    fn refused(status: u16, body: &'static [u8]) -> Error {
        Error::Status(Box::new(Refusal::new(
            ResponseHead::new(status),
            bytes::Bytes::from_static(body),
            true,
        )))
    }

    #[test]
    fn retryable_kinds() {
        assert!(refused(503, b"").is_retryable());
        assert!(refused(429, b"").is_retryable());
        assert!(!refused(401, b"").is_retryable());
        assert!(Error::Truncated.is_retryable());
        assert!(
            Error::IdleTimeout {
                timeout: std::time::Duration::from_secs(1)
            }
            .is_retryable()
        );
        assert!(!Error::BodyNotCloneable.is_retryable());
        assert!(!Error::EventTooLarge { limit: 1 }.is_retryable());
    }

    #[test]
    fn refusal_is_reachable_through_an_exhausted_policy() {
        let error = Error::RetriesExhausted {
            attempts: 1,
            last_error: Box::new(refused(429, b"slow down")),
        };
        assert_eq!(error.to_string(), "gave up reconnecting after 1 attempt");
        assert_eq!(error.status(), Some(429));
        assert_eq!(error.body().as_deref(), Some("slow down"));
        assert_eq!(
            error.report().to_string(),
            "gave up reconnecting after 1 attempt: the server answered with status 429 Too Many Requests"
        );
    }

    #[test]
    fn report_skips_a_cause_its_error_already_shows() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Repeats(#[source] std::io::Error);
        let error = Repeats(std::io::Error::other("inner"));
        assert_eq!(Report::of(&error).to_string(), "outer: inner");
    }
}
