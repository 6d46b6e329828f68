//! The crate's one error type.

/// A boxed error from a byte source the crate does not know (see
/// [`EventStream`](crate::EventStream)).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading an event stream.
///
/// Every variant is final for the stream that returned it: a parser, an
/// [`EventStream`](crate::EventStream) or an `EventSource` yields nothing
/// after an error (`None` from then on).
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
    Source(#[source] BoxError),

    /// The server answered with a status other than 200 (and 204, which ends
    /// the stream normally). Final unless the retry policy retries this
    /// status; then it is the cause of an
    /// [`Event::Reconnecting`](crate::Event::Reconnecting).
    #[error("the server answered with status {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The response's `Retry-After`, when it was given in seconds.
        retry_after: Option<std::time::Duration>,
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
    },

    /// The server answered 200 but not with `text/event-stream`. Final: the
    /// spec fails the connection.
    #[error("the server answered with content type {}, not text/event-stream", .content_type.as_deref().unwrap_or("(none)"))]
    ContentType {
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
    },

    /// The server ended the stream at an event boundary. The cause of an
    /// [`Event::Reconnecting`](crate::Event::Reconnecting); never final.
    #[error("the server ended the stream")]
    StreamEnded,

    /// The stream ended inside a line or an event: the body was cut short.
    /// The unfinished event was discarded. Final in one-shot mode, otherwise
    /// the cause of a reconnect.
    #[error("the stream ended in the middle of an event")]
    Truncated,

    /// No bytes (not even a keep-alive comment) arrived within the idle
    /// timeout, or no response within it while connecting.
    #[error("no data from the server for {timeout:?}")]
    IdleTimeout {
        /// The configured idle timeout.
        timeout: std::time::Duration,
    },

    /// The request failed on the network, or its body did. The cause of an
    /// [`Event::Reconnecting`](crate::Event::Reconnecting), or final in
    /// one-shot mode.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    #[error("the request to the event stream failed")]
    Transport(#[source] reqwest::Error),

    /// The request could not be built (an invalid URL or header). Final.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    #[error("the event stream request is invalid")]
    InvalidRequest(#[source] reqwest::Error),

    /// Reconnecting would send the request body again, but it is a stream
    /// that cannot be cloned. Use one-shot mode or a cloneable body. Final.
    #[error("the request body cannot be sent again for a reconnect")]
    BodyNotCloneable,

    /// The retry policy's limit on attempts or elapsed time was reached.
    /// Final.
    #[error("gave up reconnecting after {attempts} attempts")]
    RetriesExhausted {
        /// How many attempts were made in a row without receiving an event.
        attempts: u32,
        /// Why the last attempt failed.
        #[source]
        last_error: Box<Self>,
    },
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
        let io = Error::Source(Box::new(std::io::Error::other("disk on fire")));
        let text = io.to_string();
        assert!(!text.contains("disk on fire"), "{text}");
        assert!(std::error::Error::source(&io).is_some());
        let limit = Error::LineTooLong { limit: 10 }.to_string();
        assert_eq!(limit, "event stream line longer than the limit of 10 bytes");
    }
}
