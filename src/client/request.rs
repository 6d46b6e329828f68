//! Where each attempt's request comes from, and what every attempt's
//! request and response carry: the factories and their context, the headers
//! added to each request, the owned head of each response.

use std::sync::Arc;

use reqwest::header::{self, HeaderValue};

pub(super) use super::platform::{AsyncRequestFn, RequestFn};
use super::send::{IntoRequest, Sender};

/// What a request becomes: who sends it, and the request (or why it cannot
/// be built).
pub(crate) type Parts = (Sender, Result<reqwest::Request, Error>);
use super::platform::{BoxFuture, http_version, wall_clock};
use crate::error::{BoxError, Error};
use crate::machine::Machine;
use crate::response::{Headers, ResponseHead};

pub(super) type BuilderFuture = BoxFuture<Result<Parts, BoxError>>;

/// What a request factory is told before each attempt: see
/// [`EventSource::builder_fn`](crate::EventSource::builder_fn) and
/// [`EventSource::builder_async`](crate::EventSource::builder_async).
#[derive(Debug, Clone)]
pub struct RequestContext {
    attempt: u32,
    last_event_id: String,
    cause: Option<Arc<Error>>,
}

impl RequestContext {
    /// 0 for the first request; then which attempt in a row without an
    /// event this is, from 1 (as in [`Event::Reconnecting`](crate::Event::Reconnecting)).
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
    /// first request (and after [`EventSource::reconnect_now`](crate::EventSource::reconnect_now) from an open
    /// connection).
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_deref()
    }
}

/// Where each attempt's request comes from.
pub(super) struct Requests {
    /// The first attempt's request, and every attempt's without `resume`.
    source: RequestSource,
    /// Makes every request after the first
    /// ([`resume_with`](crate::EventSourceBuilder::resume_with)), so that
    /// the first is never sent again.
    resume: Option<Factory>,
    /// The first attempt was made.
    started: bool,
}

/// What the first request is made from.
pub(super) enum RequestSource {
    /// The same request every time it is sent (cloned per attempt).
    Template(Sender, reqwest::Request),
    /// One request that cannot be cloned (a streamed body), sent once.
    Once(Option<(Sender, reqwest::Request)>),
    /// A response the caller already has: the first attempt's answer.
    Response(Option<Box<reqwest::Response>>),
    /// Rebuilt before each attempt.
    Factory(RequestFn),
    /// Rebuilt before each attempt, by a future.
    AsyncFactory(AsyncRequestFn),
}

/// A request factory, sync or async.
pub(super) enum Factory {
    Sync(RequestFn),
    Async(AsyncRequestFn),
}

impl Factory {
    fn make(&mut self, context: RequestContext) -> Result<Attempt, Error> {
        match self {
            Self::Sync(make) => sendable(make(&context)),
            Self::Async(make) => Ok(Attempt::Make(make(context))),
        }
    }
}

/// How an attempt starts.
// (Made and taken at once, never stored: its size costs nothing.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Attempt {
    /// Send this request.
    Send(Sender, reqwest::Request),
    /// This response is the answer already (a taken-over response).
    Answered(Box<reqwest::Response>),
    /// The async factory is making the request.
    Make(BuilderFuture),
}

impl Requests {
    pub(super) fn new(source: RequestSource, resume: Option<Factory>) -> Self {
        Self {
            source,
            resume,
            started: false,
        }
    }

    /// Whether the requests come from a factory, whose first request's
    /// method is known only when it is made.
    pub(super) fn is_factory(&self) -> bool {
        matches!(
            self.source,
            RequestSource::Factory(_) | RequestSource::AsyncFactory(_)
        )
    }

    /// The next attempt's request; `context` is what a factory is told.
    /// `opened`: a stream has opened, so a resume request follows; before
    /// that, an attempt sends the first request again (a refusal the policy
    /// retries).
    pub(super) fn next(
        &mut self,
        opened: bool,
        context: impl FnOnce() -> RequestContext,
    ) -> Result<Attempt, Error> {
        let first = !std::mem::replace(&mut self.started, true);
        if let (false, true, Some(resume)) = (first, opened, &mut self.resume) {
            return resume.make(context());
        }
        match &mut self.source {
            RequestSource::Template(sender, request) => {
                let request = request.try_clone().ok_or(Error::BodyNotCloneable)?;
                Ok(Attempt::Send(sender.clone(), request))
            }
            RequestSource::Once(once) => {
                let (sender, request) = once.take().ok_or(Error::BodyNotCloneable)?;
                Ok(Attempt::Send(sender, request))
            }
            RequestSource::Response(response) => response
                .take()
                .map(Attempt::Answered)
                .ok_or(Error::BodyNotCloneable),
            RequestSource::Factory(make) => sendable(make(&context())),
            RequestSource::AsyncFactory(make) => Ok(Attempt::Make(make(context()))),
        }
    }
}

/// A request factory, boxed: what it makes becomes [`Parts`] at once.
pub(super) fn boxed_fn<F, R>(mut make_request: F) -> RequestFn
where
    F: FnMut(&RequestContext) -> R + super::MaybeSend + 'static,
    R: IntoRequest,
{
    Box::new(move |context| make_request(context).into_parts())
}

/// An async request factory, boxed, its error boxed.
pub(super) fn boxed_async<F, Fut, R, E>(mut make_request: F) -> AsyncRequestFn
where
    F: FnMut(RequestContext) -> Fut + super::MaybeSend + 'static,
    Fut: Future<Output = Result<R, E>> + super::MaybeSend + 'static,
    R: IntoRequest,
    E: Into<BoxError>,
{
    Box::new(move |context| {
        let future = make_request(context);
        Box::pin(async move { Ok(future.await.map_err(Into::into)?.into_parts()) })
    })
}

/// A factory's request as an attempt.
pub(super) fn sendable((sender, request): Parts) -> Result<Attempt, Error> {
    Ok(Attempt::Send(sender, request?))
}

/// Whether a request may be sent again without asking: the methods that
/// neither change server state nor cost per call.
pub(crate) fn is_repeatable(method: &reqwest::Method) -> bool {
    matches!(
        *method,
        reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS
    )
}

/// The context a request factory is given for an attempt.
pub(crate) fn request_context(
    machine: &Machine,
    last_event_id: &str,
    attempt: u32,
) -> RequestContext {
    RequestContext {
        attempt,
        last_event_id: last_event_id.to_owned(),
        cause: machine.disconnect_cause().cloned(),
    }
}

/// The owned head of a response: built once per connection.
pub(super) fn response_head(response: &reqwest::Response) -> ResponseHead {
    let version = http_version(response);
    let headers = Headers::of(response.headers());
    ResponseHead::from_parts(
        response.status().as_u16(),
        version,
        headers,
        Some(response.url().as_str().into()),
        Some(wall_clock()),
    )
}

/// Adds the headers every attempt carries: `Accept` and `Cache-Control`
/// unless the caller set them (an `Accept` without `text/event-stream` gets
/// it appended), and `Last-Event-ID`.
pub(super) fn prepare(request: &mut reqwest::Request, last_event_id: &str) {
    prepare_headers(request.headers_mut(), last_event_id);
}

/// [`prepare`] on a request's headers, for the blocking client's requests.
pub(crate) fn prepare_headers(headers: &mut header::HeaderMap, last_event_id: &str) {
    accept_event_stream(headers);
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
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

/// `Accept: text/event-stream`, or the caller's `Accept` (protocols such as
/// MCP need `application/json, text/event-stream`) with `text/event-stream`
/// appended when no media range of it names it. Several `Accept` lines
/// become one: some servers read only the first.
fn accept_event_stream(headers: &mut header::HeaderMap) {
    const EVENT_STREAM: &[u8] = b"text/event-stream";
    if !headers.contains_key(header::ACCEPT) {
        // (The usual case: a static value, no allocation per attempt.)
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        return;
    }
    let names_event_stream = |value: &[u8]| {
        value.split(|&b| b == b',').any(|range| {
            let essence = range.split(|&b| b == b';').next().unwrap_or_default();
            essence.trim_ascii().eq_ignore_ascii_case(EVENT_STREAM)
        })
    };
    let values: Vec<&[u8]> = headers
        .get_all(header::ACCEPT)
        .iter()
        .map(|value| value.as_bytes().trim_ascii())
        .filter(|value| !value.is_empty())
        .collect();
    let named = values.iter().any(|value| names_event_stream(value));
    if named && values.len() == 1 && headers.get_all(header::ACCEPT).iter().count() == 1 {
        return;
    }
    let mut joined = values.join(&b", "[..]);
    if !named {
        if !joined.is_empty() {
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(EVENT_STREAM);
    }
    // (Valid header values joined by ", " make a valid value.)
    if let Ok(value) = HeaderValue::from_bytes(&joined) {
        headers.insert(header::ACCEPT, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// The `Accept` header after `prepare`, for a request that had these.
    fn accept_after(accepts: &[&str]) -> Vec<String> {
        let mut builder = reqwest::Client::new().post("http://localhost/mcp");
        for accept in accepts {
            builder = builder.header("accept", *accept);
        }
        let mut req = builder.build().unwrap();
        prepare(&mut req, "");
        prepare(&mut req, "7"); // a later attempt changes nothing
        req.headers()
            .get_all("accept")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_callers_accept_is_kept_and_given_text_event_stream_when_it_lacks_it() {
        // MCP's Streamable HTTP requires both: a server answers 406 otherwise.
        let mcp = "application/json, text/event-stream";
        assert_eq!(accept_after(&[mcp]), [mcp]);
        assert_eq!(
            accept_after(&["application/json;q=0.9, TEXT/Event-Stream ; q=1"]),
            ["application/json;q=0.9, TEXT/Event-Stream ; q=1"]
        );
        assert_eq!(
            accept_after(&["application/vnd.api+json"]),
            ["application/vnd.api+json, text/event-stream"]
        );
        // A type that only starts like it is not it.
        assert_eq!(
            accept_after(&["text/event-streams"]),
            ["text/event-streams, text/event-stream"]
        );
        // Several lines become one (some servers read only the first).
        assert_eq!(
            accept_after(&["application/json", "text/event-stream"]),
            ["application/json, text/event-stream"]
        );
        assert_eq!(accept_after(&[""]), ["text/event-stream"]);
        assert_eq!(accept_after(&[]), ["text/event-stream"]);
    }

    #[test]
    fn the_callers_cache_control_is_kept() {
        let mut req = reqwest::Client::new()
            .get("http://localhost/feed")
            .header("cache-control", "max-age=0")
            .build()
            .unwrap();
        prepare(&mut req, "");
        assert_eq!(req.headers()["cache-control"], "max-age=0");
        assert_eq!(req.headers().get_all("cache-control").iter().count(), 1);
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
