//! `EventSource`: the [`Machine`] driven by reqwest and tokio.
//!
//! Nothing here decides anything: the machine says when to connect and what
//! each response means; this module moves bytes and time between reqwest,
//! tokio and the machine.
//!
//! # State and invariants
//!
//! - `Driver` (boxed in `EventSource`, so that the source is one pointer)
//!   owns the machine, the requests and the connection.
//! - The connection under way, `conn::Conn`: one state at a time (the table
//!   in `conn.rs`); dropped only by the machine's `Action::Disconnect` or
//!   `close`, and let go of where a future or body finished.
//! - Where requests come from, `request::Requests`: the first request's
//!   source, and the resume factory for every request after the first
//!   (`started` says which is next); a first request that cannot be cloned
//!   is sent once.
//! - The timer: armed for the machine's next deadline, moved only earlier
//!   (`sleep_at`), so an idle feed re-arms it once per idle period.

/// `EventSourceBuilder`: the options, and what requests are built from.
mod builder;
/// What is under way on the wire, state by state.
mod conn;
/// The clock, the timer and `Send`: native (tokio) or the browser.
pub(crate) mod platform;
/// The per-attempt request (factories, their context, the headers every
/// attempt adds) and the owned head of each response.
pub(crate) mod request;
/// Who sends a request: reqwest, or a middleware stack.
pub(crate) mod send;
/// A `tracing` span per connection (feature `tracing`).
mod span;

pub use builder::EventSourceBuilder;
pub use platform::MaybeSend;
pub use request::RequestContext;
pub use send::IntoRequest;

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use web_time::Instant;

use crate::error::{BoxError, Error};
use crate::event::{CloseReason, Event, ReadyState};
use crate::machine::{Action, Machine, Polled};
use crate::stats::FeedStats;
use builder::Source;
use conn::Conn;
use platform::{Timer, now};
use request::{Attempt, Requests, boxed_async, boxed_fn, is_repeatable, prepare, request_context};
use send::{ResponseFuture, Sender};

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

/// A reconnecting Server-Sent Events client: a [`Stream`] of
/// [`Event`]s over any reqwest request.
///
/// It sends `Accept: text/event-stream` and `Cache-Control: no-cache` (an
/// `Accept` or `Cache-Control` the request has is kept, with
/// `text/event-stream` added to an `Accept` that lacks it), plus
/// `Last-Event-ID` when the last event ID is not empty; opens on `200` with
/// `Content-Type: text/event-stream`; ends normally on `204`; fails on any
/// other status or content type (unless the [`RetryPolicy`](crate::RetryPolicy) retries that
/// status), keeping the response and the first part of its body in the
/// error; and reconnects after network errors and the end of the body,
/// waiting the reconnection time (the server's `retry:`) with backoff.
///
/// A request whose method is not GET, HEAD or OPTIONS (a POST to an LLM
/// API, say) is sent once, in one-shot mode, unless
/// [`reconnect(true)`](EventSourceBuilder::reconnect) asks for reconnects;
/// [`resume_with`](EventSourceBuilder::resume_with) resumes it with another
/// request when it is cut, and [`complete_on`](EventSourceBuilder::complete_on)
/// ends a stream on its last message.
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
    /// All the state, in one allocation made by the builder: moving an
    /// `EventSource`, or holding it across an `.await` (where a future may
    /// keep more than one copy of it), costs a pointer, not a kilobyte.
    driver: Box<Driver>,
}

/// The machine, the connection and the timer: what an [`EventSource`] is.
struct Driver {
    requests: Requests,
    machine: Machine,
    conn: Conn,
    /// The timer for the machine's deadlines; made at the first poll, since a
    /// timer needs the runtime and building an `EventSource` must not.
    sleep: Option<Timer>,
    /// How much of a refused response's body is kept, and for how long it
    /// is read.
    refusal_body: (usize, Duration),
    /// Whether the first request decides one-shot mode by its method.
    auto_one_shot: bool,
    /// The instant `sleep` is set for, if it is armed.
    sleep_at: Option<Instant>,
    /// The machine wants the time of each chunk (an idle timeout or
    /// `max_elapsed` is set); otherwise the clock is read for a
    /// connection's chunks until its first event, and later chunks carry
    /// `clock`.
    timed_chunks: bool,
    /// The current connection's `tracing` span, with the feature.
    span: span::ConnectionSpan,
    /// The last reading of the clock for the body: when the response
    /// arrived, or the last chunk read with the clock.
    clock: Instant,
}

impl EventSource {
    /// An event source with the default options over `request` (any method,
    /// headers and body; a reqwest `RequestBuilder`, or a
    /// `reqwest_middleware::RequestBuilder` with the `middleware` feature:
    /// see [`IntoRequest`]). A GET reconnects; a POST (or any other method
    /// but HEAD and OPTIONS) is sent once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when the request cannot be built;
    /// [`Error::BodyNotCloneable`] when it must be sent again but its body is
    /// a stream.
    pub fn new(request: impl IntoRequest) -> Result<Self, Error> {
        Self::builder(request).build()
    }

    /// An event source with the default options that GETs `url` with a new
    /// `reqwest::Client`: the shortest way to tail a feed. (Sources that
    /// share a client share its connection pool: for many feeds, make one
    /// client and use [`new`](Self::new).)
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), ssefeed::Error> {
    /// use futures_util::StreamExt;
    /// let mut source = ssefeed::EventSource::get("https://example.com/feed")?;
    /// while let Some(event) = source.next().await {
    ///     println!("{:?}", event?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when `url` is not a valid URL.
    pub fn get(url: impl reqwest::IntoUrl) -> Result<Self, Error> {
        Self::new(reqwest::Client::new().get(url))
    }

    /// Options for an event source over `request` (see [`new`](Self::new)).
    pub fn builder(request: impl IntoRequest) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Parts(Box::new(request.into_parts())))
    }

    /// Options for an event source that sends `request` with `client` (the
    /// body must be cloneable unless reconnecting is turned off).
    pub fn builder_from_request(
        client: reqwest::Client,
        request: reqwest::Request,
    ) -> EventSourceBuilder {
        let parts = (Sender::Reqwest(client), Ok(request));
        EventSourceBuilder::new(Source::Parts(Box::new(parts)))
    }

    /// Options for an event source over a response the caller already has:
    /// for a protocol whose server may answer the same request with JSON or
    /// with an event stream (MCP's Streamable HTTP), the caller sends the
    /// request, looks at the `Content-Type`, and hands a stream over. The
    /// response is the first connection: an `Event::Open` with its head, or
    /// a refusal (an error with its body) when it is not a 200
    /// `text/event-stream`. It cannot be sent again, so the source is
    /// one-shot unless [`resume_with`](EventSourceBuilder::resume_with) says
    /// how to continue it.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::StreamExt;
    /// let client = reqwest::Client::new();
    /// let response = client
    ///     .post("https://example.com/mcp")
    ///     .header("accept", "application/json, text/event-stream")
    ///     .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
    ///     .send()
    ///     .await?;
    /// let is_stream = response
    ///     .headers()
    ///     .get("content-type")
    ///     .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    /// if is_stream {
    ///     let mut source = ssefeed::EventSource::builder_from_response(response)
    ///         .resume_with(move |_ctx| client.get("https://example.com/mcp"))
    ///         .build()?;
    ///     while let Some(event) = source.next().await {
    ///         println!("{:?}", event?);
    ///     }
    /// } else {
    ///     println!("{}", response.text().await?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder_from_response(response: reqwest::Response) -> EventSourceBuilder {
        EventSourceBuilder::new(Source::Response(Box::new(response)))
    }

    /// Options for an event source that calls `make_request` before each
    /// attempt, with the attempt number, the last event ID and why the last
    /// attempt ended: to send a fresh auth token, resume with `?since=`, or
    /// move to another host. `Last-Event-ID`, `Accept` and `Cache-Control`
    /// are added to what it returns (an `Accept` or `Cache-Control` it sets
    /// is kept). Whether it reconnects follows the first
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
    pub fn builder_fn<F, R>(make_request: F) -> EventSourceBuilder
    where
        F: FnMut(&RequestContext) -> R + MaybeSend + 'static,
        R: IntoRequest,
    {
        EventSourceBuilder::new(Source::Factory(boxed_fn(make_request)))
    }

    /// Like [`builder_fn`](Self::builder_fn), for a factory that must await
    /// (a token refresh over the network). Its error is
    /// [`Error::RequestFactory`], retried like a network error unless the
    /// [retry hook](crate::RetryPolicy::on_retry) stops.
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
    pub fn builder_async<F, Fut, R, E>(make_request: F) -> EventSourceBuilder
    where
        F: FnMut(RequestContext) -> Fut + MaybeSend + 'static,
        Fut: Future<Output = Result<R, E>> + MaybeSend + 'static,
        R: IntoRequest,
        E: Into<BoxError>,
    {
        EventSourceBuilder::new(Source::AsyncFactory(boxed_async(make_request)))
    }

    /// An event source that has not connected yet (the builder's last step).
    fn start(
        requests: Requests,
        machine: Machine,
        now: Instant,
        refusal_body: (usize, Duration),
        auto_one_shot: bool,
    ) -> Self {
        let driver = Driver {
            requests,
            timed_chunks: machine.uses_chunk_time(),
            span: span::ConnectionSpan::default(),
            clock: now,
            machine,
            conn: Conn::Idle,
            sleep: None,
            sleep_at: None,
            refusal_body,
            auto_one_shot,
        };
        Self {
            driver: Box::new(driver),
        }
    }

    /// The spec's `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.driver.machine.ready_state()
    }

    /// The last event ID: what a reconnect resumes from. Save it to resume
    /// after a restart with [`EventSourceBuilder::last_event_id`].
    pub fn last_event_id(&self) -> &str {
        self.driver.machine.last_event_id()
    }

    /// What the feed did so far: its requests, connections, reconnects,
    /// events and bytes, and the current connection's: when it was asked
    /// for, opened, and brought its first byte and first event. Counted as
    /// it goes, so reading it costs nothing.
    ///
    /// ```no_run
    /// # async fn run(mut source: ssefeed::EventSource) {
    /// use futures_util::StreamExt;
    /// while let Some(Ok(event)) = source.next().await {
    ///     if let ssefeed::Event::Message(_) = event {
    ///         let current = source.stats().current;
    ///         if let (Some(asked), Some(first)) = (current.requested_at, current.first_event_at) {
    ///             println!("first event {:?} after the request", first - asked);
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    pub fn stats(&self) -> FeedStats {
        *self.driver.machine.stats()
    }

    /// The last bytes of the current (or last) connection's body, when
    /// [`keep_recent_bytes`](EventSourceBuilder::keep_recent_bytes) asks for
    /// them (empty otherwise): what the parser saw before a mid-stream error,
    /// or before a message whose JSON did not parse. Kept after the
    /// connection ended (with its error), until the next one opens.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), ssefeed::Error> {
    /// use futures_util::StreamExt;
    /// let request = reqwest::Client::new().post("https://api.example.com/v1/chat").body("{}");
    /// let mut source = ssefeed::EventSource::builder(request).keep_recent_bytes(512).build()?;
    /// while let Some(event) = source.next().await {
    ///     if let Err(error) = event {
    ///         let tail = String::from_utf8_lossy(source.recent_bytes());
    ///         eprintln!("{}; the stream ended with: {tail:?}", error.report());
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recent_bytes(&self) -> &[u8] {
        self.driver.machine.recent_bytes()
    }

    /// The current reconnection time (the server's latest `retry:`, or the
    /// policy's initial value).
    pub fn reconnection_time(&self) -> Duration {
        self.driver.machine.reconnection_time()
    }

    /// Why the source closed for good (a 204 and its response, the end of a
    /// one-shot stream, [`close`](Self::close), or a final error); `None`
    /// while it is not closed. A stream that yields `None` has a reason.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.driver.machine.close_reason()
    }

    /// Closes the source: drops the connection at once; the next poll yields
    /// `None`. Dropping the `EventSource` does the same.
    pub fn close(&mut self) {
        debug!("ssefeed: closed");
        self.driver.machine.close();
        self.driver.conn = Conn::Idle;
        self.driver.span.end(&self.driver.machine.stats().current);
        self.driver.sleep_at = None;
    }

    /// Drops the current connection (or cuts a reconnect wait short) and
    /// connects again at once, resuming with `Last-Event-ID`: for an app
    /// that sees its network change or wakes from sleep. Events already
    /// received are still delivered; an unfinished one is discarded, so the
    /// server resends it. Returns false, doing nothing, when the source is
    /// closed or one-shot (unless a one-shot stream can be resumed now: see
    /// [`resume_with`](EventSourceBuilder::resume_with)).
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
        self.driver.machine.reconnect_now(now())
    }
}

/// `is_terminated` is true once the stream has nothing more to yield
/// (closed, and its last item taken), so `select!` loops can skip it.
impl futures_core::FusedStream for EventSource {
    fn is_terminated(&self) -> bool {
        self.driver.machine.is_finished()
    }
}

impl Stream for EventSource {
    type Item = Result<Event, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self.get_mut().driver;
        loop {
            // The hot path: the next event of the chunks already read.
            match this.machine.poll_polled() {
                Polled::Message(message) => return Poll::Ready(Some(Ok(Event::Message(message)))),
                Polled::Other(Some(event)) => {
                    trace_event(&event);
                    return Poll::Ready(Some(event));
                }
                Polled::Other(None) => {}
            }
            if let ControlFlow::Break(poll) = this.poll_io(cx) {
                return poll;
            }
        }
    }
}

impl Driver {
    /// Starts an attempt: the request, the async factory that makes it, or
    /// the response taken over.
    fn connect(&mut self, last_event_id: &str, attempt: u32) -> Result<Conn, Error> {
        let machine = &self.machine;
        let context = || request_context(machine, last_event_id, attempt);
        Ok(match self.requests.next(machine.has_opened(), context)? {
            Attempt::Send(sender, request) => {
                Conn::Requesting(self.send(sender, request, last_event_id))
            }
            Attempt::Answered(response) => {
                Conn::Requesting(Box::pin(std::future::ready(Ok(*response))))
            }
            Attempt::Make(making) => Conn::Preparing(making),
        })
    }

    /// Sends an attempt's request, with the headers every attempt carries.
    fn send(
        &mut self,
        sender: Sender,
        mut request: reqwest::Request,
        last_event_id: &str,
    ) -> ResponseFuture {
        if std::mem::take(&mut self.auto_one_shot) && !is_repeatable(request.method()) {
            // A request built by a factory: its first method decides.
            self.machine.set_one_shot(true);
        }
        prepare(&mut request, last_event_id);
        self.span.sent(request.url());
        debug!(url = %request.url(), resume = !last_event_id.is_empty(), "ssefeed: connecting");
        sender.send(request)
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
        let sleep = self.sleep.get_or_insert_with(|| Timer::at(deadline));
        if self.sleep_at.is_none_or(|armed| deadline < armed) {
            sleep.reset(deadline);
            self.sleep_at = Some(deadline);
        }
        if sleep.poll_expired(cx).is_ready() {
            self.sleep_at = None;
            return true;
        }
        false
    }

    /// Acts on the machine's actions, then polls the connection and the
    /// timer: `Continue` when the machine took an input (and may have an
    /// event), `Break` with what `poll_next` returns otherwise. Kept out of
    /// line, so that `poll_next`, called once per event, stays small.
    #[inline(never)]
    fn poll_io(&mut self, cx: &mut Context<'_>) -> ControlFlow<Poll<Option<Result<Event, Error>>>> {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Disconnect => {
                    self.conn = Conn::Idle;
                    self.span.end(&self.machine.stats().current);
                }
                Action::Connect {
                    last_event_id,
                    attempt,
                } => {
                    self.span.start(attempt);
                    match self.connect(&last_event_id, attempt) {
                        Ok(conn) => self.conn = conn,
                        Err(error) => {
                            self.conn = Conn::Idle;
                            self.machine.handle_error(now(), error);
                            // The machine has an event (a reconnect, or the
                            // final error) to hand out before anything else.
                            return ControlFlow::Continue(());
                        }
                    }
                }
            }
        }
        if self.machine.ready_state() == ReadyState::Closed {
            self.conn = Conn::Idle;
            return ControlFlow::Break(Poll::Ready(None));
        }
        if !self.poll_conn(cx) {
            if !self.poll_timer(cx) {
                // About to wait: an idle feed keeps no space for the large
                // events it saw last.
                self.machine.shrink_buffers();
                return ControlFlow::Break(Poll::Pending);
            }
            self.machine.handle_timeout(now());
        }
        // Something happened: the machine may have an event now.
        ControlFlow::Continue(())
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use futures_util::{FutureExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn an_event_source_is_one_pointer() {
        // Moved into a task, or held across an `.await` (where a future may
        // keep more than one copy), it costs 8 bytes, not the kilobyte of
        // its state.
        assert_eq!(size_of::<EventSource>(), size_of::<usize>());
    }

    #[tokio::test]
    async fn a_waiting_source_keeps_no_space_for_the_burst_it_read() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let big = "x".repeat(10_000);
        let burst = format!("data: {big}\ndata: {big}\ndata: {big}\n\n");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = [0; 4096];
            let _ = socket.read(&mut head).await.unwrap();
            let response =
                format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n{burst}");
            // In pieces, as a server that flushes as it goes sends it.
            for piece in response.as_bytes().chunks(4_000) {
                socket.write_all(piece).await.unwrap();
                socket.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Then the feed idles.
            std::future::pending::<()>().await;
        });
        let mut source = EventSource::new(reqwest::Client::new().get(url)).unwrap();
        assert!(matches!(source.next().await, Some(Ok(Event::Open(_)))));
        match source.next().await {
            Some(Ok(Event::Message(message))) => assert_eq!(message.data().len(), 30_002),
            other => panic!("{other:?}"),
        }
        assert!(source.next().now_or_never().is_none(), "waits for more");
        let kept = source.driver.machine.buffer_capacity();
        assert!(kept <= 4 * 1024, "{kept} bytes kept while waiting");
        server.abort();
    }
}
