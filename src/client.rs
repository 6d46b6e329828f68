//! `EventSource`: the [`Machine`] driven by reqwest and tokio.
//!
//! Nothing here decides anything: the machine says when to connect and what
//! each response means; this file moves bytes and time between reqwest,
//! tokio and the machine.

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use reqwest::header::{self, HeaderValue};
use tokio::time::{Instant, Sleep};

use crate::error::{BoxError, Error};
use crate::event::{CloseReason, Event, ReadyState};
use crate::machine::{Action, Machine, MachineConfig};
use crate::parser::Parser;
use crate::response::{
    DEFAULT_REFUSAL_BODY_LIMIT, DEFAULT_REFUSAL_BODY_TIMEOUT, HttpVersion, Refusal, ResponseHead,
};
use crate::retry::RetryPolicy;

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
type RequestFn = Box<dyn FnMut(&RequestContext) -> reqwest::RequestBuilder + Send>;
type BuilderFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::RequestBuilder, BoxError>> + Send>>;
type AsyncRequestFn = Box<dyn FnMut(RequestContext) -> BuilderFuture + Send>;

/// What a request factory is told before each attempt: see
/// [`EventSource::builder_fn`] and [`EventSource::builder_async`].
#[derive(Debug, Clone)]
pub struct RequestContext {
    attempt: u32,
    last_event_id: String,
    cause: Option<Arc<Error>>,
}

impl RequestContext {
    /// 0 for the first request; then which attempt in a row without an
    /// event this is, from 1 (as in [`Event::Reconnecting`]).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The last event ID this attempt resumes from (also sent as
    /// `Last-Event-ID` when not empty): for servers that want it in the URL
    /// (`?since=`).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Why the last connection ended, for a reconnect: a 401 to refresh a
    /// token for, a network error to try another host after. `None` for the
    /// first request (and after [`EventSource::reconnect_now`] from an open
    /// connection).
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_deref()
    }
}

/// Where each attempt's request comes from.
enum Requests {
    /// The same request every time (cloned per attempt).
    Template(reqwest::Client, reqwest::Request),
    /// One request, sent once (one-shot mode, whose body may be a stream).
    Once(Option<(reqwest::Client, reqwest::Request)>),
    /// Rebuilt before each attempt.
    Factory(RequestFn),
    /// Rebuilt before each attempt, by a future.
    AsyncFactory(AsyncRequestFn),
}

/// What is under way on the wire.
enum Conn {
    Idle,
    /// The async factory is making the request.
    Preparing(BuilderFuture),
    Requesting(ResponseFuture),
    Streaming(BodyStream),
    /// A refused response's body is being read, for its explanation.
    Refused(Box<RefusedBody>),
}

/// The first part of a refused response's body, being read.
struct RefusedBody {
    head: ResponseHead,
    body: BodyStream,
    read: BytesMut,
    /// Reading stops at this instant with what has arrived.
    deadline: Pin<Box<Sleep>>,
}

/// Whether a request may be sent again without asking: the methods that
/// neither change server state nor cost per call.
fn is_repeatable(method: &reqwest::Method) -> bool {
    matches!(
        *method,
        reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS
    )
}

/// A reconnecting Server-Sent Events client: a [`Stream`] of
/// [`Event`]s over any reqwest request.
///
/// It sends `Accept: text/event-stream` and `Cache-Control: no-cache`, plus
/// `Last-Event-ID` when the last event ID is not empty; opens on `200` with
/// `Content-Type: text/event-stream`; ends normally on `204`; fails on any
/// other status or content type (unless the [`RetryPolicy`] retries that
/// status), keeping the response and the first part of its body in the
/// error; and reconnects after network errors and the end of the body,
/// waiting the reconnection time (the server's `retry:`) with backoff.
///
/// A request whose method is not GET, HEAD or OPTIONS (a POST to an LLM
/// API, say) is sent once, in one-shot mode, unless
/// [`reconnect(true)`](EventSourceBuilder::reconnect) asks for reconnects.
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
///         Event::Open(response) => eprintln!("connected: {}", response.status()),
///         Event::Message(message) => println!("{}: {}", message.event_type(), message.data()),
///         Event::Reconnecting { error, delay, .. } => {
///             eprintln!("{}; retrying in {delay:?}", error.report())
///         }
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
    /// How much of a refused response's body is kept, and for how long it
    /// is read.
    refusal_body: (usize, Duration),
    /// Whether the first request decides one-shot mode by its method.
    auto_one_shot: bool,
    /// The instant `sleep` is set for, if it is armed.
    sleep_at: Option<Instant>,
    /// The machine wants the time of each chunk (an idle timeout or
    /// `max_elapsed` is set); otherwise the clock is not read per chunk and
    /// chunks carry `opened_at`.
    timed_chunks: bool,
    /// When the current response arrived.
    opened_at: std::time::Instant,
}

impl EventSource {
    /// An event source with the default options over `request` (any method,
    /// headers and body). A GET reconnects; a POST (or any other method but
    /// HEAD and OPTIONS) is sent once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request cannot be built;
    /// [`Error::BodyNotCloneable`] when it must be sent again but its body is
    /// a stream.
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
    /// attempt, with the attempt number, the last event ID and why the last
    /// attempt ended: to send a fresh auth token, resume with `?since=`, or
    /// move to another host. `Last-Event-ID`, `Accept` and `Cache-Control`
    /// are added to what it returns. Whether it reconnects follows the first
    /// request's method, as for [`builder`](Self::builder).
    ///
    /// ```no_run
    /// # fn token(refresh: bool) -> String { String::new() }
    /// let client = reqwest::Client::new();
    /// let feed = reqwest::Url::parse("https://example.com/feed").unwrap();
    /// let source = ssefeed::EventSource::builder_fn(move |ctx| {
    ///     let refresh = ctx.cause().and_then(|error| error.status()) == Some(401);
    ///     let mut url = feed.clone();
    ///     url.query_pairs_mut().append_pair("since", ctx.last_event_id());
    ///     client.get(url).bearer_auth(token(refresh))
    /// })
    /// .build()?;
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn builder_fn<F>(make_request: F) -> EventSourceBuilder
    where
        F: FnMut(&RequestContext) -> reqwest::RequestBuilder + Send + 'static,
    {
        EventSourceBuilder::new(Source::Factory(Box::new(make_request)))
    }

    /// Like [`builder_fn`](Self::builder_fn), for a factory that must await
    /// (a token refresh over the network). Its error is
    /// [`Error::RequestFactory`], retried like a network error unless the
    /// [retry hook](RetryPolicy::on_retry) stops.
    ///
    /// ```no_run
    /// # async fn fetch_token() -> Result<String, std::io::Error> { Ok(String::new()) }
    /// let client = reqwest::Client::new();
    /// let source = ssefeed::EventSource::builder_async(move |_ctx| {
    ///     let request = client.get("https://example.com/feed");
    ///     async move { Ok::<_, std::io::Error>(request.bearer_auth(fetch_token().await?)) }
    /// })
    /// .build()?;
    /// # Ok::<(), ssefeed::Error>(())
    /// ```
    pub fn builder_async<F, Fut, E>(mut make_request: F) -> EventSourceBuilder
    where
        F: FnMut(RequestContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<reqwest::RequestBuilder, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        EventSourceBuilder::new(Source::AsyncFactory(Box::new(move |context| {
            let future = make_request(context);
            Box::pin(async move { future.await.map_err(Into::into) })
        })))
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

    /// Why the source closed for good (a 204 and its response, the end of a
    /// one-shot stream, [`close`](Self::close), or a final error); `None`
    /// while it is not closed. A stream that yields `None` has a reason.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.machine.close_reason()
    }

    /// Closes the source: drops the connection at once; the next poll yields
    /// `None`. Dropping the `EventSource` does the same.
    pub fn close(&mut self) {
        debug!("ssefeed: closed");
        self.machine.close();
        self.conn = Conn::Idle;
        self.sleep_at = None;
    }

    /// Drops the current connection (or cuts a reconnect wait short) and
    /// connects again at once, resuming with `Last-Event-ID`: for an app
    /// that sees its network change or wakes from sleep. Events already
    /// received are still delivered; an unfinished one is discarded, so the
    /// server resends it. Returns false, doing nothing, when the source is
    /// closed or one-shot.
    ///
    /// ```no_run
    /// # async fn run(mut source: ssefeed::EventSource, mut network_changed: tokio::sync::mpsc::Receiver<()>) {
    /// use futures_util::StreamExt;
    /// loop {
    ///     tokio::select! {
    ///         event = source.next() => match event {
    ///             Some(Ok(event)) => println!("{event:?}"),
    ///             _ => break,
    ///         },
    ///         Some(()) = network_changed.recv() => {
    ///             source.reconnect_now();
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    pub fn reconnect_now(&mut self) -> bool {
        debug!("ssefeed: reconnect now");
        self.machine.reconnect_now(Instant::now().into_std())
    }

    /// Starts an attempt: the request, or the async factory that makes it.
    fn connect(&mut self, last_event_id: &str, attempt: u32) -> Result<Conn, Error> {
        let (client, request) = match &mut self.requests {
            Requests::Template(client, request) => {
                let request = request.try_clone().ok_or(Error::BodyNotCloneable)?;
                (client.clone(), request)
            }
            Requests::Once(once) => once.take().ok_or(Error::BodyNotCloneable)?,
            Requests::Factory(make) => {
                let context = request_context(&self.machine, last_event_id, attempt);
                let (client, request) = make(&context).build_split();
                (client, request.map_err(Error::InvalidRequest)?)
            }
            Requests::AsyncFactory(make) => {
                let context = request_context(&self.machine, last_event_id, attempt);
                return Ok(Conn::Preparing(make(context)));
            }
        };
        Ok(Conn::Requesting(self.send(client, request, last_event_id)))
    }

    /// Sends an attempt's request, with the headers every attempt carries.
    fn send(
        &mut self,
        client: reqwest::Client,
        mut request: reqwest::Request,
        last_event_id: &str,
    ) -> ResponseFuture {
        if std::mem::take(&mut self.auto_one_shot) && !is_repeatable(request.method()) {
            // A request built by a factory: its first method decides.
            self.machine.set_reconnect(false);
        }
        prepare(&mut request, last_event_id);
        debug!(url = %request.url(), resume = !last_event_id.is_empty(), "ssefeed: connecting");
        Box::pin(client.execute(request))
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
                Action::Connect {
                    last_event_id,
                    attempt,
                } => match self.connect(&last_event_id, attempt) {
                    Ok(conn) => self.conn = conn,
                    Err(error) => {
                        self.conn = Conn::Idle;
                        self.machine.handle_error(Instant::now().into_std(), error);
                        // The machine has an event (a reconnect, or the
                        // final error) to hand out before anything else.
                        return ControlFlow::Continue(());
                    }
                },
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
            Conn::Preparing(making) => {
                let Poll::Ready(made) = making.as_mut().poll(cx) else {
                    return false;
                };
                self.conn = Conn::Idle;
                let made = made.map_err(Error::RequestFactory).and_then(|builder| {
                    let (client, request) = builder.build_split();
                    Ok((client, request.map_err(Error::InvalidRequest)?))
                });
                match made {
                    Ok((client, request)) => {
                        let last_event_id = self.machine.last_event_id().to_owned();
                        self.conn = Conn::Requesting(self.send(client, request, &last_event_id));
                    }
                    Err(error) => self.machine.handle_error(Instant::now().into_std(), error),
                }
                true
            }
            Conn::Requesting(response) => {
                let Poll::Ready(result) = response.as_mut().poll(cx) else {
                    return false;
                };
                let now = Instant::now();
                match result {
                    Ok(response) => {
                        let head = response_head(&response);
                        let body: BodyStream = Box::pin(response.bytes_stream());
                        if self.machine.refuses(&head) {
                            let timeout = self.refusal_body.1;
                            self.conn = Conn::Refused(Box::new(RefusedBody {
                                head,
                                body,
                                read: BytesMut::new(),
                                deadline: Box::pin(tokio::time::sleep_until(now + timeout)),
                            }));
                        } else {
                            self.conn = Conn::Streaming(body);
                            self.opened_at = now.into_std();
                            self.machine.handle_response(self.opened_at, head);
                        }
                    }
                    Err(error) => {
                        self.conn = Conn::Idle;
                        self.machine
                            .handle_error(now.into_std(), transport_error(error));
                    }
                }
                true
            }
            Conn::Refused(refused) => {
                let limit = self.refusal_body.0;
                let complete = match refused.body.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(bytes))) => {
                        let room = limit - refused.read.len();
                        if bytes.len() <= room {
                            refused.read.extend_from_slice(&bytes);
                            return true;
                        }
                        refused.read.extend_from_slice(&bytes[..room]);
                        false
                    }
                    // A cut body keeps what arrived.
                    Poll::Ready(Some(Err(_))) => false,
                    Poll::Ready(None) => true,
                    Poll::Pending if refused.deadline.as_mut().poll(cx).is_pending() => {
                        return false;
                    }
                    Poll::Pending => false,
                };
                let Conn::Refused(refused) = std::mem::replace(&mut self.conn, Conn::Idle) else {
                    unreachable!("matched above");
                };
                let RefusedBody { head, read, .. } = *refused;
                let refusal = Refusal::new(head, read.freeze(), complete);
                self.machine
                    .handle_refusal(Instant::now().into_std(), refusal);
                true
            }
            Conn::Streaming(body) => {
                let Poll::Ready(chunk) = body.as_mut().poll_next(cx) else {
                    return false;
                };
                match chunk {
                    Some(Ok(bytes)) => {
                        // The clock is read per chunk only when the machine
                        // uses the time (an idle timeout, `max_elapsed`).
                        let now = if self.timed_chunks {
                            Instant::now().into_std()
                        } else {
                            self.opened_at
                        };
                        self.machine.handle_bytes(now, bytes);
                    }
                    Some(Err(error)) => {
                        self.conn = Conn::Idle;
                        let now = Instant::now().into_std();
                        self.machine.handle_error(now, transport_error(error));
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

/// The context a request factory is given for an attempt.
fn request_context(machine: &Machine, last_event_id: &str, attempt: u32) -> RequestContext {
    RequestContext {
        attempt,
        last_event_id: last_event_id.to_owned(),
        cause: machine.reconnect_cause().cloned(),
    }
}

/// A reqwest error as the crate's: one that says the request could never
/// be sent (a URL scheme reqwest does not speak, say) is an invalid request.
fn transport_error(error: reqwest::Error) -> Error {
    if error.is_builder() {
        Error::InvalidRequest(error)
    } else {
        Error::Transport(error)
    }
}

/// The owned head of a response: built once per connection.
fn response_head(response: &reqwest::Response) -> ResponseHead {
    let version = match response.version() {
        reqwest::Version::HTTP_09 => HttpVersion::Http09,
        reqwest::Version::HTTP_10 => HttpVersion::Http10,
        reqwest::Version::HTTP_2 => HttpVersion::Http2,
        reqwest::Version::HTTP_3 => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    };
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().into(),
                String::from_utf8_lossy(value.as_bytes()).into(),
            )
        })
        .collect();
    ResponseHead::from_parts(
        response.status().as_u16(),
        version,
        headers,
        Some(response.url().as_str().into()),
        Some(SystemTime::now()),
    )
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
        #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
        Ok(Event::Open(response)) => debug!(status = response.status(), "ssefeed: open"),
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

/// What the builder was given to make requests from.
enum Source {
    Builder(Box<reqwest::RequestBuilder>),
    Request(reqwest::Client, Box<reqwest::Request>),
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
            .field("last_event_id", &self.last_event_id)
            .field("refusal_body_limit", &self.refusal_body_limit)
            .field("refusal_body_timeout", &self.refusal_body_timeout)
            .finish_non_exhaustive()
    }
}

impl EventSourceBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            parser: Parser::builder(),
            policy: RetryPolicy::new(),
            machine: MachineConfig::new(),
            reconnect: None,
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

    /// `false` for one-shot mode: never reconnect and never send the request
    /// twice (an LLM completion over POST). The body ending at an event
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
        self.machine = self.machine.jitter_seed(seed);
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
        let mut reconnect = self.reconnect.unwrap_or(true);
        let mut requests = |client, request: reqwest::Request| {
            reconnect = self
                .reconnect
                .unwrap_or_else(|| is_repeatable(request.method()));
            sent_again(client, request, reconnect)
        };
        let requests = match self.source {
            Source::Builder(builder) => {
                let (client, request) = (*builder).build_split();
                requests(client, request.map_err(Error::InvalidRequest)?)?
            }
            Source::Request(client, request) => requests(client, *request)?,
            Source::Factory(make) => Requests::Factory(make),
            Source::AsyncFactory(make) => Requests::AsyncFactory(make),
        };
        let auto_one_shot = self.reconnect.is_none()
            && matches!(requests, Requests::Factory(_) | Requests::AsyncFactory(_));
        let mut parser = self.parser.build();
        if let Some(id) = &self.last_event_id {
            parser.set_last_event_id(id);
        }
        let now = Instant::now().into_std();
        let config = self.machine.reconnect(reconnect);
        let machine = Machine::with_config(now, parser, self.policy, config);
        Ok(EventSource {
            requests,
            timed_chunks: machine.uses_chunk_time(),
            opened_at: now,
            machine,
            conn: Conn::Idle,
            sleep: None,
            sleep_at: None,
            refusal_body: (self.refusal_body_limit, self.refusal_body_timeout),
            auto_one_shot,
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
