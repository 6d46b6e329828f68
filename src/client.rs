//! `EventSource`: the [`Machine`] driven by reqwest and tokio.
//!
//! Nothing here decides anything: the machine says when to connect and what
//! each response means; this file moves bytes and time between reqwest,
//! tokio and the machine.

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use reqwest::header::{self, HeaderValue};
use tokio::time::{Instant, Sleep};

use crate::error::Error;
use crate::event::{Event, ReadyState};
use crate::machine::{Action, Machine};
use crate::parser::Parser;
use crate::retry::{RetryPolicy, parse_retry_after};

/// A `tracing` debug event when the feature is on; nothing otherwise.
#[cfg(feature = "tracing")]
macro_rules! debug {
    ($($arg:tt)*) => {{
        tracing::debug!($($arg)*);
    }};
}

#[cfg(not(feature = "tracing"))]
macro_rules! debug {
    ($($arg:tt)*) => {{}};
}

type ResponseFuture = Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send>>;
type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
type RequestFn = Box<dyn FnMut() -> reqwest::RequestBuilder + Send>;

/// Where each attempt's request comes from.
enum Requests {
    /// The same request every time (cloned per attempt).
    Template(reqwest::Client, reqwest::Request),
    /// One request, sent once (one-shot mode, whose body may be a stream).
    Once(Option<(reqwest::Client, reqwest::Request)>),
    /// Rebuilt before each attempt.
    Factory(RequestFn),
}

/// What is under way on the wire.
enum Conn {
    Idle,
    Requesting(ResponseFuture),
    Streaming(BodyStream),
}

/// A reconnecting Server-Sent Events client: a [`Stream`] of
/// [`Event`]s over any reqwest request.
///
/// It sends `Accept: text/event-stream` and `Cache-Control: no-cache`, plus
/// `Last-Event-ID` when the last event ID is not empty; opens on `200` with
/// `Content-Type: text/event-stream`; ends normally on `204`; fails on any
/// other status or content type (unless the [`RetryPolicy`] retries that
/// status); and reconnects after network errors and the end of the body,
/// waiting the reconnection time (the server's `retry:`) with backoff.
///
/// # Items and the end of the stream
///
/// - `Ok(Event::Open)` when a connection is announced, `Ok(Event::Message)`
///   for each event, `Ok(Event::Reconnecting { .. })` when a connection was
///   lost and will be retried.
/// - An `Err` item is final: the ready state is then `Closed` and the stream
///   yields `None` after it.
/// - A `204 No Content` ends the stream with `None`, no error; so does
///   [`close`](Self::close), at once.
///
/// # Cancel safety
///
/// `next()` is cancel safe: all state lives in the `EventSource`, so dropping
/// a pending `next()` future (in `tokio::select!`, say) loses no event.
///
/// # Example
///
/// ```no_run
/// use futures_util::StreamExt;
/// use ssefeed::{Event, EventSource};
///
/// # async fn run() -> Result<(), ssefeed::Error> {
/// let request = reqwest::Client::new().get("https://example.com/feed");
/// let mut source = EventSource::new(request)?;
/// while let Some(event) = source.next().await {
///     match event? {
///         Event::Open => eprintln!("connected"),
///         Event::Message(message) => println!("{}: {}", message.event_type(), message.data()),
///         Event::Reconnecting { error, delay, .. } => eprintln!("{error}; retrying in {delay:?}"),
///         _ => {}
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct EventSource {
    requests: Requests,
    machine: Machine,
    conn: Conn,
    /// The timer for the machine's deadlines; made at the first poll, since a
    /// timer needs the runtime and building an `EventSource` must not.
    sleep: Option<Pin<Box<Sleep>>>,
    /// The instant `sleep` is set for, if it is armed.
    sleep_at: Option<Instant>,
    /// The machine wants the time of each chunk (an idle timeout or
    /// `max_elapsed` is set); otherwise the clock is not read per chunk.
    timed_chunks: bool,
}

impl EventSource {
    /// An event source with the default options over `request` (any method,
    /// headers and body; the body must be cloneable, since a reconnect sends
    /// it again).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request cannot be built, or its body
    /// cannot be cloned (a stream: use one-shot mode, see
    /// [`EventSourceBuilder::reconnect`]).
    pub fn new(request: reqwest::RequestBuilder) -> Result<Self, Error> {
        Self::builder(request).build()
    }

    /// Options for an event source over `request`.
    pub fn builder(request: reqwest::RequestBuilder) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Builder(Box::new(request)))
    }

    /// Options for an event source that sends `request` with `client` (the
    /// body must be cloneable unless reconnecting is turned off).
    pub fn from_request(client: reqwest::Client, request: reqwest::Request) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Request(client, Box::new(request)))
    }

    /// Options for an event source that calls `make_request` before each
    /// attempt: to send a fresh auth token, or move to another URL.
    /// `Last-Event-ID`, `Accept` and `Cache-Control` are added to what it
    /// returns.
    ///
    /// ```no_run
    /// # fn token() -> String { String::new() }
    /// let client = reqwest::Client::new();
    /// let source = ssefeed::EventSource::builder_fn(move || {
    ///     client.get("https://example.com/feed").bearer_auth(token())
    /// })
    /// .build()?;
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn builder_fn<F>(make_request: F) -> EventSourceBuilder
    where
        F: FnMut() -> reqwest::RequestBuilder + Send + 'static,
    {
        EventSourceBuilder::new(Source::Factory(Box::new(make_request)))
    }

    /// The spec's `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.machine.ready_state()
    }

    /// The last event ID: what a reconnect resumes from. Save it to resume
    /// after a restart with [`EventSourceBuilder::last_event_id`].
    pub fn last_event_id(&self) -> &str {
        self.machine.last_event_id()
    }

    /// The current reconnection time (the server's latest `retry:`, or the
    /// policy's initial value).
    pub fn reconnection_time(&self) -> Duration {
        self.machine.reconnection_time()
    }

    /// Closes the source: drops the connection at once; the next poll yields
    /// `None`. Dropping the `EventSource` does the same.
    pub fn close(&mut self) {
        debug!("ssefeed: closed");
        self.machine.close();
        self.conn = Conn::Idle;
        self.sleep_at = None;
    }

    /// Starts the request for an attempt.
    fn connect(&mut self, last_event_id: &str) -> Result<ResponseFuture, Error> {
        let (client, mut request) = match &mut self.requests {
            Requests::Template(client, request) => {
                let request = request.try_clone().ok_or(Error::BodyNotCloneable)?;
                (client.clone(), request)
            }
            Requests::Once(once) => once.take().ok_or(Error::BodyNotCloneable)?,
            Requests::Factory(make) => {
                let (client, request) = make().build_split();
                (client, request.map_err(Error::InvalidRequest)?)
            }
        };
        prepare(&mut request, last_event_id);
        debug!(url = %request.url(), resume = !last_event_id.is_empty(), "ssefeed: connecting");
        Ok(Box::pin(client.execute(request)))
    }

    /// Arms the timer for the machine's next deadline; true when it fired.
    ///
    /// The idle deadline moves with every chunk, so the timer is only moved
    /// earlier, never later: when it fires early, the machine sees that its
    /// deadline has not come and the timer is re-armed once. That costs one
    /// timer update per idle period instead of one per chunk.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.machine.poll_timeout() else {
            return false;
        };
        let deadline = Instant::from_std(deadline);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if self.sleep_at.is_none_or(|armed| deadline < armed) {
            sleep.as_mut().reset(deadline);
            self.sleep_at = Some(deadline);
        }
        if sleep.as_mut().poll(cx).is_ready() {
            self.sleep_at = None;
            return true;
        }
        false
    }
}

impl Stream for EventSource {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            // The hot path: the next event of the chunks already read.
            if let Some(event) = this.machine.poll_event() {
                trace_event(&event);
                return Poll::Ready(Some(event));
            }
            if let ControlFlow::Break(poll) = this.poll_io(cx) {
                return poll;
            }
        }
    }
}

impl EventSource {
    /// Acts on the machine's actions, then polls the connection and the
    /// timer: `Continue` when the machine took an input (and may have an
    /// event), `Break` with what `poll_next` returns otherwise. Kept out of
    /// line, so that `poll_next`, called once per event, stays small.
    #[inline(never)]
    fn poll_io(&mut self, cx: &mut Context<'_>) -> ControlFlow<Poll<Option<Result<Event, Error>>>> {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Disconnect => self.conn = Conn::Idle,
                Action::Connect { last_event_id } => match self.connect(&last_event_id) {
                    Ok(response) => self.conn = Conn::Requesting(response),
                    Err(error) => {
                        self.close();
                        return ControlFlow::Break(Poll::Ready(Some(Err(error))));
                    }
                },
                #[allow(unreachable_patterns)] // Action is non_exhaustive
                _ => {}
            }
        }
        if self.machine.ready_state() == ReadyState::Closed {
            self.conn = Conn::Idle;
            return ControlFlow::Break(Poll::Ready(None));
        }
        if !self.poll_conn(cx) {
            if !self.poll_timer(cx) {
                return ControlFlow::Break(Poll::Pending);
            }
            self.machine.handle_timeout(Instant::now().into_std());
        }
        // Something happened: the machine may have an event now.
        ControlFlow::Continue(())
    }

    /// Polls the request or the body, and hands what came to the machine;
    /// false when nothing did.
    fn poll_conn(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.conn {
            Conn::Idle => false,
            Conn::Requesting(response) => {
                let Poll::Ready(result) = response.as_mut().poll(cx) else {
                    return false;
                };
                let now = Instant::now().into_std();
                match result {
                    Ok(response) => {
                        let headers = response.headers();
                        let content_type = header_str(headers, header::CONTENT_TYPE);
                        let retry_after = header_str(headers, header::RETRY_AFTER)
                            .as_deref()
                            .and_then(parse_retry_after);
                        let status = response.status().as_u16();
                        self.conn = Conn::Streaming(Box::pin(response.bytes_stream()));
                        self.machine.handle_response(
                            now,
                            status,
                            content_type.as_deref(),
                            retry_after,
                        );
                    }
                    Err(error) => {
                        self.conn = Conn::Idle;
                        self.machine.handle_error(now, Error::Transport(error));
                    }
                }
                true
            }
            Conn::Streaming(body) => {
                let Poll::Ready(chunk) = body.as_mut().poll_next(cx) else {
                    return false;
                };
                match chunk {
                    // The clock is read per chunk only when the machine
                    // uses the time (an idle timeout, `max_elapsed`).
                    Some(Ok(bytes)) if !self.timed_chunks => {
                        self.machine.handle_bytes_untimed(bytes);
                    }
                    Some(Ok(bytes)) => self.machine.handle_bytes(Instant::now().into_std(), bytes),
                    Some(Err(error)) => {
                        self.conn = Conn::Idle;
                        let now = Instant::now().into_std();
                        self.machine.handle_error(now, Error::Transport(error));
                    }
                    None => {
                        self.conn = Conn::Idle;
                        self.machine.handle_eof(Instant::now().into_std());
                    }
                }
                true
            }
        }
    }
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("ready_state", &self.ready_state())
            .field("last_event_id", &self.last_event_id())
            .field("reconnection_time", &self.reconnection_time())
            .finish_non_exhaustive()
    }
}

/// Logs the connection's life (never the data) at debug level.
fn trace_event(event: &Result<Event, Error>) {
    match event {
        Ok(Event::Open) => debug!("ssefeed: open"),
        #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
        Ok(Event::Reconnecting {
            error,
            delay,
            attempt,
            ..
        }) => {
            debug!(%error, ?delay, attempt, "ssefeed: reconnecting");
        }
        #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
        Err(error) => debug!(%error, "ssefeed: closed with an error"),
        _ => {}
    }
}

/// Adds the headers every attempt carries.
fn prepare(request: &mut reqwest::Request, last_event_id: &str) {
    let headers = request.headers_mut();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.remove("last-event-id");
    if last_event_id.is_empty() {
        return;
    }
    // The spec sends the ID as UTF-8 bytes. An ID that no header can carry
    // (control characters such as U+0001) is not sent: the server then
    // resumes from the start, which is better than a request that fails.
    if let Ok(value) = HeaderValue::from_bytes(last_event_id.as_bytes()) {
        headers.insert("last-event-id", value);
    }
}

fn header_str(headers: &header::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// What the builder was given to make requests from.
enum Source {
    Builder(Box<reqwest::RequestBuilder>),
    Request(reqwest::Client, Box<reqwest::Request>),
    Factory(RequestFn),
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
/// let source = EventSource::builder(request)
///     .reconnect(false) // a completion: never send the POST twice
///     .idle_timeout(Duration::from_secs(60))
///     .build()?;
/// # Ok::<(), ssefeed::Error>(())
/// ```
#[must_use]
pub struct EventSourceBuilder {
    source: Source,
    parser: crate::parser::ParserBuilder,
    policy: RetryPolicy,
    reconnect: bool,
    idle_timeout: Option<Duration>,
    last_event_id: Option<String>,
    jitter_seed: Option<u64>,
}

impl fmt::Debug for EventSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSourceBuilder")
            .field("parser", &self.parser)
            .field("policy", &self.policy)
            .field("reconnect", &self.reconnect)
            .field("idle_timeout", &self.idle_timeout)
            .field("last_event_id", &self.last_event_id)
            .finish_non_exhaustive()
    }
}

impl EventSourceBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            parser: Parser::builder(),
            policy: RetryPolicy::new(),
            reconnect: true,
            idle_timeout: None,
            last_event_id: None,
            jitter_seed: None,
        }
    }

    /// When and how soon to reconnect (default [`RetryPolicy::new`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// `false` for one-shot mode: never reconnect and never send the request
    /// twice (an LLM completion over POST). The body ending at an event
    /// boundary ends the stream; ending inside an event is
    /// [`Error::Truncated`]; a network error is final. Default `true`.
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Treat a connection that receives no bytes for this long as dead and
    /// reconnect (default: none). Servers send `:` comments to keep quiet
    /// feeds alive; set this a little above their interval. It also bounds the
    /// wait for response headers. Unlike a whole-request timeout, it never
    /// cuts a healthy long-lived stream.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Resume from this last event ID: the first request sends it as
    /// `Last-Event-ID` (when not empty).
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Also yield comment lines as [`Event::Comment`] (default: off).
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

    /// Seeds the jitter's random source, for reproducible delays in tests.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Builds the event source. It connects when first polled.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request builder holds an error (an
    /// invalid URL or header); [`Error::BodyNotCloneable`] when reconnecting
    /// is on and the body is a stream that cannot be sent twice.
    pub fn build(self) -> Result<EventSource, Error> {
        let requests = match self.source {
            Source::Builder(builder) => {
                let (client, request) = (*builder).build_split();
                sent_again(
                    client,
                    request.map_err(Error::InvalidRequest)?,
                    self.reconnect,
                )?
            }
            Source::Request(client, request) => sent_again(client, *request, self.reconnect)?,
            Source::Factory(make) => Requests::Factory(make),
        };
        let mut parser = self.parser.build();
        if let Some(id) = &self.last_event_id {
            parser.set_last_event_id(id);
        }
        let mut machine = Machine::with_parts(Instant::now().into_std(), parser, self.policy)
            .reconnect(self.reconnect)
            .idle_timeout(self.idle_timeout);
        if let Some(seed) = self.jitter_seed {
            machine = machine.jitter_seed(seed);
        }
        Ok(EventSource {
            requests,
            timed_chunks: machine.chunks_need_time(),
            machine,
            conn: Conn::Idle,
            sleep: None,
            sleep_at: None,
        })
    }
}

/// How a fixed request is sent on each attempt.
fn sent_again(
    client: reqwest::Client,
    request: reqwest::Request,
    reconnect: bool,
) -> Result<Requests, Error> {
    if !reconnect {
        Ok(Requests::Once(Some((client, request))))
    } else if request.try_clone().is_none() {
        Err(Error::BodyNotCloneable)
    } else {
        Ok(Requests::Template(client, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn event_source_is_send_and_unpin() {
        fn assert_impls<T: Send + Unpin>() {}
        assert_impls::<EventSource>();
        assert_impls::<EventSourceBuilder>();
    }

    fn request() -> reqwest::Request {
        reqwest::Client::new()
            .get("http://localhost/feed")
            .build()
            .unwrap()
    }

    #[test]
    fn every_attempt_asks_for_an_uncached_event_stream() {
        let mut req = request();
        prepare(&mut req, "");
        assert_eq!(req.headers()["accept"], "text/event-stream");
        assert_eq!(req.headers()["cache-control"], "no-cache");
        assert!(req.headers().get("last-event-id").is_none());
    }

    #[test]
    fn last_event_id_is_sent_as_utf8_bytes() {
        let mut req = request();
        prepare(&mut req, "id-\u{2026}");
        assert_eq!(
            req.headers()["last-event-id"].as_bytes(),
            "id-\u{2026}".as_bytes()
        );
        // A later attempt with an empty ID sends none.
        prepare(&mut req, "");
        assert!(req.headers().get("last-event-id").is_none());
    }

    #[test]
    fn id_that_cannot_be_a_header_is_not_sent_and_does_not_panic() {
        for id in ["a\u{1}b", "tab\tis fine", "del\u{7f}"] {
            let mut req = request();
            prepare(&mut req, id);
            let sent = req
                .headers()
                .get("last-event-id")
                .map(HeaderValue::as_bytes);
            if id.contains('\t') {
                assert_eq!(sent, Some(id.as_bytes()));
            } else {
                assert_eq!(sent, None, "{id:?}");
            }
        }
    }
}
