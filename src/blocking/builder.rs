//! [`EventSourceBuilder`]: the options of a blocking [`EventSource`], and
//! the requests it is built from.

use std::fmt;
use std::time::Duration;

use reqwest::blocking::{Client, Request, RequestBuilder, Response};

use super::EventSource;
use super::request::{First, RequestFn, Requests};
use crate::client::RequestContext;
use crate::client::request::is_repeatable;
use crate::error::Error;
use crate::event::MessageEvent;
use crate::machine::{Machine, MachineConfig};
use crate::parser::{Parser, ParserBuilder};
use crate::response::{DEFAULT_REFUSAL_BODY_LIMIT, DEFAULT_REFUSAL_BODY_TIMEOUT};
use crate::retry::RetryPolicy;

/// What the builder was given to make requests from.
pub(super) enum Source {
    Builder(Box<RequestBuilder>),
    Request(Client, Box<Request>),
    Response(Box<Response>),
    Factory(RequestFn),
}

/// Options for a blocking [`EventSource`]: those of the async
/// [`EventSourceBuilder`](crate::EventSourceBuilder) that a thread that
/// blocks can use, with the same defaults.
///
/// ```no_run
/// use std::time::Duration;
/// use ssefeed::RetryPolicy;
/// use ssefeed::blocking::EventSource;
///
/// let request = reqwest::blocking::Client::new().get("https://example.com/feed");
/// let source = EventSource::builder(request)
///     .idle_timeout(Duration::from_secs(60))
///     .retry_policy(RetryPolicy::new().max_retries(10))
///     .build()?;
/// # Ok::<(), ssefeed::Error>(())
/// ```
#[must_use]
pub struct EventSourceBuilder {
    source: Source,
    parser: ParserBuilder,
    policy: RetryPolicy,
    machine: MachineConfig,
    /// `None`: by the request's method.
    reconnect: Option<bool>,
    /// Makes the requests after the first.
    resume: Option<RequestFn>,
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

    /// When and how soon to reconnect, and the hook that may decide
    /// otherwise (default [`RetryPolicy::new`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// `false` for one-shot mode, `true` to reconnect whatever the method;
    /// by default GET, HEAD and OPTIONS reconnect and other methods (a POST
    /// to an LLM API) are sent once. See
    /// [`EventSourceBuilder::reconnect`](crate::EventSourceBuilder::reconnect).
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = Some(reconnect);
        self
    }

    /// Resumes a one-shot stream cut before it completed with the request
    /// `make_request` returns (a GET with `Last-Event-ID`), never the first
    /// one again; see
    /// [`EventSourceBuilder::resume_with`](crate::EventSourceBuilder::resume_with).
    pub fn resume_with<F>(mut self, make_request: F) -> Self
    where
        F: FnMut(&RequestContext) -> RequestBuilder + Send + 'static,
    {
        self.resume = Some(Box::new(make_request));
        self.machine = self.machine.resume(true);
        self
    }

    /// The message for which `is_last` returns true completes the stream
    /// (`data: [DONE]`): it is delivered, and `None` follows; see
    /// [`EventSourceBuilder::complete_on`](crate::EventSourceBuilder::complete_on).
    pub fn complete_on<F>(mut self, is_last: F) -> Self
    where
        F: Fn(&MessageEvent) -> bool + Send + Sync + 'static,
    {
        self.machine = self.machine.complete_on(is_last);
        self
    }

    /// Drops a message whose own `id:` repeats one of the last `window`
    /// delivered (default 0: off); see
    /// [`MachineConfig::dedupe_ids`].
    pub fn dedupe_ids(mut self, window: usize) -> Self {
        self.machine = self.machine.dedupe_ids(window);
        self
    }

    /// Open on a 200 response whatever its `Content-Type` (default `false`).
    pub fn accept_any_content_type(mut self, any: bool) -> Self {
        self.machine = self.machine.accept_any_content_type(any);
        self
    }

    /// How much of a refused response's body the error keeps (default
    /// [`DEFAULT_REFUSAL_BODY_LIMIT`], 64 KiB).
    pub fn refusal_body_limit(mut self, bytes: usize) -> Self {
        self.refusal_body_limit = bytes;
        self
    }

    /// How long a refused response's body is read before the error is made
    /// with what has arrived (default [`DEFAULT_REFUSAL_BODY_TIMEOUT`], 5 s).
    pub fn refusal_body_timeout(mut self, timeout: Duration) -> Self {
        self.refusal_body_timeout = timeout;
        self
    }

    /// Treat a connection that receives no bytes for this long (or a
    /// request not answered in this long) as dead and reconnect (default:
    /// none). The source waits for the connection's thread with this
    /// deadline, so it works whatever the client's own timeout; see the
    /// [module documentation](super#the-idle-timeout-and-the-clients-timeout).
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

    /// Also yield comment lines as [`Event::Comment`](crate::Event::Comment)
    /// (default: off).
    pub fn comments(mut self, on: bool) -> Self {
        self.parser = self.parser.comments(on);
        self
    }

    /// The longest line accepted; see [`ParserBuilder::max_line_len`].
    pub fn max_line_len(mut self, bytes: usize) -> Self {
        self.parser = self.parser.max_line_len(bytes);
        self
    }

    /// The largest event accepted; see [`ParserBuilder::max_event_len`].
    pub fn max_event_len(mut self, bytes: usize) -> Self {
        self.parser = self.parser.max_event_len(bytes);
        self
    }

    /// Skip an event too large for the limits instead of failing; see
    /// [`ParserBuilder::skip_oversized_events`].
    pub fn skip_oversized_events(mut self, on: bool) -> Self {
        self.parser = self.parser.skip_oversized_events(on);
        self
    }

    /// Seeds the jitter's random source, for reproducible delays in tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.machine = self.machine.jitter_seed(seed);
        self
    }

    /// Builds the event source. It connects at the first call of `next`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request builder holds an error (an
    /// invalid URL or header); [`Error::BodyNotCloneable`] when reconnecting
    /// is on and the request cannot be sent twice (its body is a reader, or
    /// it is a [response taken over](EventSource::builder_from_response))
    /// and no [`resume_with`](Self::resume_with) makes the requests after it.
    pub fn build(self) -> Result<EventSource, Error> {
        let resumes = self.resume.is_some();
        let (first, reconnect) = first_request(self.source, self.reconnect, resumes)?;
        // Whether a one-shot request refused with a status the policy
        // retries can be sent again.
        let resendable = matches!(first, First::Template(..) | First::Factory(_));
        let auto_one_shot = self.reconnect.is_none() && matches!(first, First::Factory(_));
        let requests = Requests::new(first, self.resume, auto_one_shot);
        let mut parser = self.parser.build();
        if let Some(id) = &self.last_event_id {
            parser.set_last_event_id(id);
        }
        let mut config = self.machine.reconnect(reconnect);
        config.resend_refused = resendable;
        let now = web_time::Instant::now();
        let machine = Machine::with_config(now, parser, self.policy, config);
        let refusal_body = (self.refusal_body_limit, self.refusal_body_timeout);
        Ok(EventSource::start(requests, machine, refusal_body))
    }
}

/// The first request, and whether the source reconnects: as asked, else
/// by the request's method (a factory's decides when it is made, and a
/// response taken over is one-shot).
fn first_request(
    source: Source,
    reconnect: Option<bool>,
    resumes: bool,
) -> Result<(First, bool), Error> {
    let sent = |client, request: Request| {
        let again = reconnect.unwrap_or_else(|| is_repeatable(request.method()));
        // (As `try_clone` decides, without a clone made to be dropped.)
        if request.body().is_none_or(|body| body.as_bytes().is_some()) {
            Ok((First::Template(client, request), again))
        } else if again && !resumes {
            Err(Error::BodyNotCloneable)
        } else {
            Ok((First::Once(Some((client, request))), again))
        }
    };
    match source {
        Source::Builder(builder) => {
            let (client, request) = builder.build_split();
            sent(client, request.map_err(Error::InvalidRequest)?)
        }
        Source::Request(client, request) => sent(client, *request),
        Source::Response(response) => {
            let again = reconnect.unwrap_or(false);
            if again && !resumes {
                return Err(Error::BodyNotCloneable);
            }
            Ok((First::Response(Some(response)), again))
        }
        Source::Factory(make) => Ok((First::Factory(make), reconnect.unwrap_or(true))),
    }
}
