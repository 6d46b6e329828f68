//! [`EventSourceBuilder`]: the options of an [`EventSource`], and the
//! requests it is built from.

use std::fmt;
use std::time::Duration;

use super::EventSource;
use super::platform::MaybeSend;
use super::request::{
    AsyncRequestFn, Factory, Parts, RequestContext, RequestFn, RequestSource, Requests,
    boxed_async, boxed_fn, is_repeatable,
};
use super::send::{IntoRequest, Sender};
use crate::error::{BoxError, Error};
use crate::event::MessageEvent;
use crate::machine::{Machine, MachineConfig};
use crate::parser::Parser;
use crate::response::{DEFAULT_REFUSAL_BODY_LIMIT, DEFAULT_REFUSAL_BODY_TIMEOUT};
use crate::retry::RetryPolicy;

/// What the builder was given to make requests from.
pub(super) enum Source {
    /// One request, and who sends it.
    Parts(Box<Parts>),
    Response(Box<reqwest::Response>),
    Factory(RequestFn),
    AsyncFactory(AsyncRequestFn),
}

/// Options for an [`EventSource`].
///
/// ```no_run
/// use std::time::Duration;
/// use ssefeed::{EventSource, RetryPolicy};
///
/// let request = reqwest::Client::new()
///     .post("https://api.example.com/v1/chat")
///     .header("content-type", "application/json")
///     .body(r#"{"stream": true}"#);
/// let source = EventSource::builder(request) // a POST: sent once
///     .idle_timeout(Duration::from_secs(60))
///     .build()?;
/// # Ok::<(), ssefeed::Error>(())
/// ```
#[must_use]
pub struct EventSourceBuilder {
    source: Source,
    parser: crate::parser::ParserBuilder,
    policy: RetryPolicy,
    machine: MachineConfig,
    /// `None`: by the request's method.
    reconnect: Option<bool>,
    /// Makes the requests after the first.
    resume: Option<Factory>,
    last_event_id: Option<String>,
    refusal_body_limit: usize,
    refusal_body_timeout: Duration,
}

impl fmt::Debug for EventSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSourceBuilder")
            .field("parser", &self.parser)
            .field("policy", &self.policy)
            .field("machine", &self.machine)
            .field("reconnect", &self.reconnect)
            .field("resume", &self.resume.as_ref().map(|_| "FnMut"))
            .field("last_event_id", &self.last_event_id)
            .field("refusal_body_limit", &self.refusal_body_limit)
            .field("refusal_body_timeout", &self.refusal_body_timeout)
            .finish_non_exhaustive()
    }
}

impl EventSourceBuilder {
    pub(super) fn new(source: Source) -> Self {
        Self {
            source,
            parser: Parser::builder(),
            policy: RetryPolicy::new(),
            machine: MachineConfig::new(),
            reconnect: None,
            resume: None,
            last_event_id: None,
            refusal_body_limit: DEFAULT_REFUSAL_BODY_LIMIT,
            refusal_body_timeout: DEFAULT_REFUSAL_BODY_TIMEOUT,
        }
    }

    /// When and how soon to reconnect (default [`RetryPolicy::new`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// `false` for one-shot mode: never reconnect, and send the request
    /// again only when it is refused, before its stream opened, with a
    /// status the [`RetryPolicy`] retries (a 429: the server did not act on
    /// it). For an LLM completion over POST. The body ending at an event
    /// boundary ends the stream; ending inside an event is
    /// [`Error::Truncated`]; a network error is final.
    ///
    /// Default: reconnect for GET, HEAD and OPTIONS; one-shot for any other
    /// method, whose request may not be safe to send again (a POST re-sent
    /// after each clean end would pay for a new completion each time).
    /// `true` reconnects whatever the method.
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = Some(reconnect);
        self
    }

    /// Gives a one-shot stream a way back: when it is cut before it
    /// completes (a network error, a body cut inside an event, an idle
    /// timeout, or a clean end before the [sentinel](Self::complete_on)),
    /// and the last event ID is not empty, wait the reconnection time (the
    /// server's `retry:`; the [`RetryPolicy`], its hook and its limits
    /// apply) and send the request `make_request` returns, with
    /// `Last-Event-ID`; go on until the stream completes. The first request
    /// (a POST) is never sent again; with no event ID there is nothing to
    /// resume from, and the stream fails as in one-shot mode. Resuming
    /// never starts before the first response opened a stream: a refused or
    /// failed first request is final.
    ///
    /// This is how MCP's Streamable HTTP and resumable LLM APIs continue a
    /// POST's response stream with a GET to the same endpoint. Every request
    /// after the first comes from `make_request`, also when
    /// [`reconnect(true)`](Self::reconnect) reconnects a feed.
    ///
    /// ```no_run
    /// let client = reqwest::Client::new();
    /// let url = "https://example.com/mcp";
    /// let call = client
    ///     .post(url)
    ///     .header("accept", "application/json, text/event-stream")
    ///     .body(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow"}}"#);
    /// let source = ssefeed::EventSource::builder(call)
    ///     .resume_with(move |_ctx| client.get(url))
    ///     .complete_on(|message| message.data().contains(r#""id":7"#))
    ///     .build()?;
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn resume_with<F, R>(mut self, make_request: F) -> Self
    where
        F: FnMut(&RequestContext) -> R + MaybeSend + 'static,
        R: IntoRequest,
    {
        self.resume = Some(Factory::Sync(boxed_fn(make_request)));
        self.machine = self.machine.resume(true);
        self
    }

    /// Like [`resume_with`](Self::resume_with), for a factory that must
    /// await (a fresh token for the resume request). Its error is
    /// [`Error::RequestFactory`], retried like a network error unless the
    /// retry hook stops.
    ///
    /// ```no_run
    /// # async fn fresh_token() -> Result<String, std::io::Error> { Ok(String::new()) }
    /// let client = reqwest::Client::new();
    /// let call = client.post("https://example.com/mcp").body("{}");
    /// let source = ssefeed::EventSource::builder(call)
    ///     .resume_with_async(move |_ctx| {
    ///         let resume = client.get("https://example.com/mcp");
    ///         async move { Ok::<_, std::io::Error>(resume.bearer_auth(fresh_token().await?)) }
    ///     })
    ///     .build()?;
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn resume_with_async<F, Fut, R, E>(mut self, make_request: F) -> Self
    where
        F: FnMut(RequestContext) -> Fut + MaybeSend + 'static,
        Fut: Future<Output = Result<R, E>> + MaybeSend + 'static,
        R: IntoRequest,
        E: Into<BoxError>,
    {
        self.resume = Some(Factory::Async(boxed_async(make_request)));
        self.machine = self.machine.resume(true);
        self
    }

    /// The message for which `is_last` returns true completes the stream
    /// (`data: [DONE]`, `event: message_stop`, the JSON-RPC response a
    /// client awaits): it is delivered, the connection is dropped, nothing
    /// after it is delivered, `None` follows, and
    /// [`close_reason`](EventSource::close_reason) is
    /// [`CloseReason::Completed`](crate::CloseReason::Completed), even when
    /// the server holds the connection open. For a one-shot stream, a clean
    /// end of the body before the sentinel is [`Error::Truncated`] (or a
    /// [resume](Self::resume_with)), not a completed stream.
    ///
    /// ```no_run
    /// let request = reqwest::Client::new()
    ///     .post("https://api.example.com/v1/chat/completions")
    ///     .body(r#"{"stream": true}"#);
    /// let source = ssefeed::EventSource::builder(request)
    ///     .complete_on(|message| message.data() == "[DONE]")
    ///     .build()?;
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn complete_on<F>(mut self, is_last: F) -> Self
    where
        F: Fn(&MessageEvent) -> bool + Send + Sync + 'static,
    {
        self.machine = self.machine.complete_on(is_last);
        self
    }

    /// Drops a message whose own `id:` repeats one of the last `window`
    /// IDs delivered (default 0: off), for servers that resend the event
    /// named by `Last-Event-ID` when a stream resumes; see
    /// [`MachineConfig::dedupe_ids`](crate::machine::MachineConfig::dedupe_ids).
    pub fn dedupe_ids(mut self, window: usize) -> Self {
        self.machine = self.machine.dedupe_ids(window);
        self
    }

    /// Open on a 200 response whatever its `Content-Type` (`true`), for
    /// servers that send a valid event stream with a missing or wrong one
    /// (some OpenAI-compatible endpoints). Default `false`: as the spec says,
    /// anything but `text/event-stream` fails with [`Error::ContentType`].
    pub fn accept_any_content_type(mut self, any: bool) -> Self {
        self.machine = self.machine.accept_any_content_type(any);
        self
    }

    /// How much of a refused response's body the error keeps (default
    /// [`DEFAULT_REFUSAL_BODY_LIMIT`], 64 KiB); what follows is not read.
    pub fn refusal_body_limit(mut self, bytes: usize) -> Self {
        self.refusal_body_limit = bytes;
        self
    }

    /// How long a refused response's body is read before the error is made
    /// with what has arrived (default [`DEFAULT_REFUSAL_BODY_TIMEOUT`], 5 s),
    /// so a body that never ends cannot hold the error back.
    pub fn refusal_body_timeout(mut self, timeout: Duration) -> Self {
        self.refusal_body_timeout = timeout;
        self
    }

    /// Treat a connection that receives no bytes for this long as dead and
    /// reconnect (default: none). Servers send `:` comments to keep quiet
    /// feeds alive; set this a little above their interval. It also bounds the
    /// wait for response headers. Unlike a whole-request timeout, it never
    /// cuts a healthy long-lived stream.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.machine = self.machine.idle_timeout(Some(timeout));
        self
    }

    /// Resume from this last event ID: the first request sends it as
    /// `Last-Event-ID` (when not empty).
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Also yield comment lines as [`Event::Comment`](crate::Event::Comment) (default: off).
    pub fn comments(mut self, on: bool) -> Self {
        self.parser = self.parser.comments(on);
        self
    }

    /// The longest line accepted; see [`ParserBuilder::max_line_len`](crate::parser::ParserBuilder::max_line_len).
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.parser = self.parser.max_line_len(bytes);
        self
    }

    /// The largest event accepted; see [`ParserBuilder::max_event_len`](crate::parser::ParserBuilder::max_event_len).
    pub fn max_event_len(mut self, bytes: usize) -> Self {
        self.parser = self.parser.max_event_len(bytes);
        self
    }

    /// Skip an event too large for the limits, yielding
    /// [`Event::Skipped`](crate::Event::Skipped), instead of failing; see
    /// [`ParserBuilder::skip_oversized_events`](crate::parser::ParserBuilder::skip_oversized_events).
    pub fn skip_oversized_events(mut self, on: bool) -> Self {
        self.parser = self.parser.skip_oversized_events(on);
        self
    }

    /// Keep the last `bytes` bytes of each connection's body for
    /// [`EventSource::recent_bytes`] (default 0: none): the context of a
    /// mid-stream error. See
    /// [`MachineConfig::keep_recent_bytes`](crate::machine::MachineConfig::keep_recent_bytes).
    pub fn keep_recent_bytes(mut self, bytes: usize) -> Self {
        self.machine = self.machine.keep_recent_bytes(bytes);
        self
    }

    /// Seeds the jitter's random source, for reproducible delays in tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.machine = self.machine.jitter_seed(seed);
        self
    }

    /// Builds the event source. It connects when first polled.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request builder holds an error (an
    /// invalid URL or header); [`Error::BodyNotCloneable`] when reconnecting
    /// is on and the request cannot be sent twice (its body is a stream, or
    /// it is a [response taken over](EventSource::builder_from_response)) and no
    /// [`resume_with`](Self::resume_with) makes the requests after it.
    pub fn build(self) -> Result<EventSource, Error> {
        let mut reconnect = self.reconnect.unwrap_or(true);
        let resumes = self.resume.is_some();
        let mut resendable = true;
        let source = match self.source {
            Source::Parts(parts) => {
                let (sender, request) = *parts;
                let request = request?;
                reconnect = self
                    .reconnect
                    .unwrap_or_else(|| is_repeatable(request.method()));
                sent_again(sender, request, reconnect && !resumes)?
            }
            Source::Response(response) => {
                reconnect = self.reconnect.unwrap_or(false);
                if reconnect && !resumes {
                    return Err(Error::BodyNotCloneable);
                }
                resendable = false;
                RequestSource::Response(Some(response))
            }
            Source::Factory(make) => RequestSource::Factory(make),
            Source::AsyncFactory(make) => RequestSource::AsyncFactory(make),
        };
        if matches!(source, RequestSource::Once(_)) {
            resendable = false;
        }
        let requests = Requests::new(source, self.resume);
        let auto_one_shot = self.reconnect.is_none() && requests.is_factory();
        let mut parser = self.parser.build();
        if let Some(id) = &self.last_event_id {
            parser.set_last_event_id(id);
        }
        let now = super::platform::now();
        let mut config = self.machine.reconnect(reconnect);
        config.resend_refused = resendable;
        let machine = Machine::with_config(now, parser, self.policy, config);
        let refusal_body = (self.refusal_body_limit, self.refusal_body_timeout);
        Ok(EventSource::start(
            requests,
            machine,
            now,
            refusal_body,
            auto_one_shot,
        ))
    }
}

/// How a fixed request is sent: cloned per attempt when it can be, else
/// once, which is an error when it must be sent `again` (to reconnect).
fn sent_again(
    sender: Sender,
    request: reqwest::Request,
    again: bool,
) -> Result<RequestSource, Error> {
    // (As `try_clone` decides, without a clone made to be dropped: only a
    // streaming body cannot be cloned.)
    if request.body().is_none_or(|body| body.as_bytes().is_some()) {
        Ok(RequestSource::Template(sender, request))
    } else if again {
        Err(Error::BodyNotCloneable)
    } else {
        Ok(RequestSource::Once(Some((sender, request))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ReadyState;
    #[test]
    fn building_outside_a_runtime_does_not_panic() {
        let request = reqwest::Client::new().get("http://localhost/feed");
        let source = EventSource::builder(request)
            .idle_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        assert_eq!(source.ready_state(), ReadyState::Connecting);
        drop(source);
    }

    #[test]
    fn the_clock_is_read_per_chunk_only_when_the_machine_uses_the_time() {
        let timed = |configure: fn(EventSourceBuilder) -> EventSourceBuilder| {
            let request = reqwest::Client::new().get("http://localhost/feed");
            configure(EventSource::builder(request))
                .build()
                .unwrap()
                .driver
                .timed_chunks
        };
        assert!(!timed(|b| b));
        assert!(!timed(|b| b.retry_policy(RetryPolicy::new().max_retries(3))));
        assert!(timed(|b| b.idle_timeout(Duration::from_secs(1))));
        assert!(timed(|b| {
            b.retry_policy(RetryPolicy::new().max_elapsed(Duration::from_secs(1)))
        }));
    }

    #[test]
    fn only_a_streamed_body_is_refused_when_the_request_must_be_sent_again() {
        let post = || reqwest::Client::new().post("http://localhost/feed");
        let streamed = || {
            let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("{}")]);
            post().body(reqwest::Body::wrap_stream(chunks))
        };
        let build = |request, reconnect| {
            EventSource::builder(request)
                .reconnect(reconnect)
                .build()
                .map(drop)
        };
        assert!(build(post().body("{}"), true).is_ok());
        assert!(build(post(), true).is_ok());
        assert!(matches!(
            build(streamed(), true),
            Err(Error::BodyNotCloneable)
        ));
        assert!(build(streamed(), false).is_ok());
    }

    #[test]
    fn event_source_is_send_and_unpin() {
        fn assert_impls<T: Send + Unpin>() {}
        assert_impls::<EventSource>();
        assert_impls::<EventSourceBuilder>();
    }
}
