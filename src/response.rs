//! What the server answered: the head of the response that opened (or
//! refused) a stream, as plain owned data, and the refused response's body.
//!
//! Built once per connection, never per event; no HTTP client type is needed
//! to read it, so the sans-I/O [`Machine`](crate::machine::Machine) and its
//! drivers share it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// The most of a refused response's body kept by default: 64 KiB.
pub const DEFAULT_REFUSAL_BODY_LIMIT: usize = 64 * 1024;

/// How long a refused response's body is read by default before what has
/// arrived is kept: 5 s.
pub const DEFAULT_REFUSAL_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The statuses that mean "try again later" (408, 429, 500, 502, 503 and
/// 504): what [`Error::is_retryable`](crate::Error::is_retryable) calls
/// retryable, and what
/// [`RetryPolicy::retry_transient_statuses`](crate::RetryPolicy::retry_transient_statuses)
/// retries.
pub const TRANSIENT_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// The HTTP version of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpVersion {
    /// HTTP/0.9.
    Http09,
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2.
    Http2,
    /// HTTP/3.
    Http3,
    /// Not known: the browser's fetch does not tell it. Shown as `HTTP/?`.
    Unknown,
}

impl fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http09 => "HTTP/0.9",
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
            Self::Http2 => "HTTP/2",
            Self::Http3 => "HTTP/3",
            Self::Unknown => "HTTP/?",
        })
    }
}

/// The status line and headers of a response, with the URL it came from.
///
/// [`Event::Open`](crate::Event::Open) carries the one that opened a
/// connection; a refused connection's error carries it in a [`Refusal`].
/// Cloning is cheap (it is shared).
///
/// ```
/// use ssefeed::{HttpVersion, ResponseHead};
///
/// let head = ResponseHead::new(200)
///     .with_header("Content-Type", "text/event-stream")
///     .with_header("X-Request-Id", "req-7")
///     .with_url("https://example.com/feed")
///     .with_version(HttpVersion::Http2);
/// assert_eq!(head.status(), 200);
/// assert_eq!(head.get("x-request-id"), Some("req-7"));
/// assert_eq!(head.content_type(), Some("text/event-stream"));
/// assert_eq!(head.url(), Some("https://example.com/feed"));
/// assert_eq!(head.version().to_string(), "HTTP/2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead {
    inner: Arc<Head>,
}

#[derive(Clone, PartialEq, Eq)]
struct Head {
    status: u16,
    version: HttpVersion,
    headers: Headers,
    url: Option<Box<str>>,
    /// When the client received the head, for a `Retry-After` date when the
    /// response has no `Date` header.
    received_at: Option<SystemTime>,
}

/// A head's headers in the order received, in two allocations whatever
/// their number (a head is built for every connection: with 100,000 feeds
/// opening at once, two boxed strings per header were most of its cost).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers {
    /// Each header's name (lowercase ASCII) and value, back to back.
    text: String,
    /// Where each header's name and value end in `text`; a name starts
    /// where the value before it ended. Ascending, the last at `text.len()`.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// Adds a header; the name is lowercased.
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        self.text[start..].make_ascii_lowercase();
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// The headers of a response, values decoded lossily as UTF-8.
    #[cfg(feature = "client")]
    pub(crate) fn of(map: &reqwest::header::HeaderMap) -> Self {
        let bytes = map.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
        let mut headers = Self {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(map.len()),
        };
        for (name, value) in map {
            headers.push(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
        }
        headers
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        (0..self.ends.len()).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1].1 };
            let (name_end, value_end) = self.ends[i];
            (&self.text[start..name_end], &self.text[name_end..value_end])
        })
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl ResponseHead {
    /// A head with this status, no headers, no URL, HTTP/1.1.
    pub fn new(status: u16) -> Self {
        Self {
            inner: Arc::new(Head {
                status,
                version: HttpVersion::Http11,
                headers: Headers::default(),
                url: None,
                received_at: None,
            }),
        }
    }

    /// A head from its parts, built in one go (the client's path: once per
    /// connection). Header names must be lowercase already.
    #[cfg(feature = "client")]
    pub(crate) fn from_parts(
        status: u16,
        version: HttpVersion,
        headers: Headers,
        url: Option<Box<str>>,
        received_at: Option<SystemTime>,
    ) -> Self {
        Self {
            inner: Arc::new(Head {
                status,
                version,
                headers,
                url,
                received_at,
            }),
        }
    }

    fn head_mut(&mut self) -> &mut Head {
        Arc::make_mut(&mut self.inner)
    }

    /// Adds a header (the name is compared case-insensitively; a repeated
    /// name keeps every value).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.head_mut().headers.push(name, value);
        self
    }

    /// Sets the URL the response came from (after redirects).
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.head_mut().url = Some(url.into().into());
        self
    }

    /// Sets the HTTP version.
    #[must_use]
    pub fn with_version(mut self, version: HttpVersion) -> Self {
        self.head_mut().version = version;
        self
    }

    /// Sets when the response was received (the wall clock), against which a
    /// `Retry-After` date is measured when the response has no `Date`
    /// header. The client sets it; without it (and without `Date`), a
    /// `Retry-After` date is ignored.
    #[must_use]
    pub fn with_received_at(mut self, at: SystemTime) -> Self {
        self.head_mut().received_at = Some(at);
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// The HTTP version.
    pub fn version(&self) -> HttpVersion {
        self.inner.version
    }

    /// The URL the response came from, after redirects, when known.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// The first value of a header (the name in any case). Values are
    /// decoded from their bytes lossily, as UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.inner
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every value of a header, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.inner
            .headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Every header as `(lowercase name, value)`, in the order received.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.inner.headers.iter()
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.get("content-type")
    }

    /// The delay the `Retry-After` header asks for: delta-seconds, or an
    /// HTTP date measured against the response's `Date` header (or, without
    /// one, the time it was [received](Self::with_received_at)); a date in the
    /// past is no delay. `None` when there is no usable header.
    ///
    /// ```
    /// let head = ssefeed::ResponseHead::new(503)
    ///     .with_header("date", "Wed, 21 Oct 2015 07:28:00 GMT")
    ///     .with_header("retry-after", "Wed, 21 Oct 2015 07:30:00 GMT");
    /// assert_eq!(head.retry_after(), Some(std::time::Duration::from_secs(120)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.get("retry-after")?;
        let now = self
            .get("date")
            .and_then(|date| httpdate::parse_http_date(date.trim()).ok())
            .or(self.inner.received_at);
        parse_retry_after(value, now)
    }

    /// The canonical reason phrase of the status, such as "Not Found", when
    /// it has one.
    pub fn reason(&self) -> Option<&'static str> {
        reason_phrase(self.inner.status)
    }

    /// The status with its reason phrase: `404 Not Found`.
    pub(crate) fn status_line(&self) -> String {
        match self.reason() {
            Some(reason) => format!("{} {reason}", self.status()),
            None => self.status().to_string(),
        }
    }

    /// The status as the `http` crate's type (what reqwest and axum use);
    /// `None` for a number no HTTP status can be (a head built by hand).
    ///
    /// ```
    /// let head = ssefeed::ResponseHead::new(429);
    /// assert_eq!(head.status_code(), Some(ssefeed::reqwest::StatusCode::TOO_MANY_REQUESTS));
    /// ```
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    pub fn status_code(&self) -> Option<reqwest::StatusCode> {
        reqwest::StatusCode::from_u16(self.inner.status).ok()
    }

    /// The headers as the `http` crate's map, built anew on each call (the
    /// head keeps them as strings, decoded lossily: a value that was not
    /// UTF-8 holds U+FFFD in its place). A pair no header can carry (a head
    /// built by hand) is left out.
    ///
    /// ```
    /// let head = ssefeed::ResponseHead::new(200).with_header("X-Request-Id", "r-1");
    /// assert_eq!(head.header_map()["x-request-id"], "r-1");
    /// ```
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    pub fn header_map(&self) -> reqwest::header::HeaderMap {
        use reqwest::header::{HeaderName, HeaderValue};
        let mut map = reqwest::header::HeaderMap::with_capacity(self.inner.headers.iter().len());
        for (name, value) in self.inner.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

impl fmt::Debug for ResponseHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseHead")
            .field("status", &self.inner.status)
            .field("version", &self.inner.version)
            .field("url", &self.inner.url)
            .field("headers", &self.inner.headers)
            .finish()
    }
}

/// A response that did not open a stream (a status other than 200 and 204,
/// or 200 with another content type): its head and the first part of its
/// body, where an API explains the refusal.
///
/// ```
/// use bytes::Bytes;
/// use ssefeed::{Refusal, ResponseHead};
///
/// let head = ResponseHead::new(401).with_header("content-type", "application/json");
/// let refusal = Refusal::new(head, Bytes::from_static(br#"{"error":"bad key"}"#), true);
/// assert_eq!(refusal.head().status(), 401);
/// assert_eq!(refusal.body_text(), r#"{"error":"bad key"}"#);
/// assert!(refusal.body_is_complete());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Refusal {
    head: ResponseHead,
    body: Bytes,
    complete: bool,
}

impl Refusal {
    /// A refusal with what was read of its body; `complete` when the body
    /// ended there (not cut at the limit or by the read timeout).
    pub fn new(head: ResponseHead, body: Bytes, complete: bool) -> Self {
        Self {
            head,
            body,
            complete,
        }
    }

    /// The response's status and headers.
    pub fn head(&self) -> &ResponseHead {
        &self.head
    }

    /// The body's first bytes, as received (at most the configured limit,
    /// [`DEFAULT_REFUSAL_BODY_LIMIT`] unless set otherwise).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body decoded as UTF-8, invalid sequences replaced by U+FFFD.
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Whether [`body`](Self::body) is the whole body: false when it was cut
    /// at the limit, by the read timeout, or by a network error.
    pub fn body_is_complete(&self) -> bool {
        self.complete
    }
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refusal")
            .field("head", &self.head)
            .field("body", &self.body_text())
            .field("complete", &self.complete)
            .finish()
    }
}

/// The reason phrases of the statuses an SSE client meets.
fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// Parses a `Retry-After` header value: delta-seconds, or an HTTP date
/// (RFC 9110) measured from `now`, the time the response was sent or
/// received (a date is `None` without it; a past date is no delay).
/// ([`ResponseHead::retry_after`] is the public way to it.)
fn parse_retry_after(value: &str, now: Option<SystemTime>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now?).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_in_any_case_and_keep_every_value() {
        let head = ResponseHead::new(200)
            .with_header("Set-Cookie", "a=1")
            .with_header("set-cookie", "b=2")
            .with_header("X-Id", "7");
        assert_eq!(head.get("SET-COOKIE"), Some("a=1"));
        assert_eq!(
            head.get_all("set-cookie").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
        assert_eq!(
            head.headers().collect::<Vec<_>>(),
            [("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-id", "7")]
        );
        assert_eq!(head.get("missing"), None);
    }

    #[test]
    fn headers_keep_each_name_and_value_apart_in_their_one_string() {
        let head = ResponseHead::new(200)
            .with_header("X-Empty", "")
            .with_header("Content-Type", "Text/Event-Stream")
            .with_header("x-last", "é");
        assert_eq!(
            head.headers().collect::<Vec<_>>(),
            [
                ("x-empty", ""),
                ("content-type", "Text/Event-Stream"),
                ("x-last", "é")
            ]
        );
        assert_eq!(head.headers().len(), 3);
        assert_eq!(head.get("x-empty"), Some(""));
        assert_eq!(
            format!("{:?}", head.inner.headers),
            r#"[("x-empty", ""), ("content-type", "Text/Event-Stream"), ("x-last", "é")]"#
        );
        // The same headers make the same head, however they were added.
        let again = ResponseHead::new(200)
            .with_header("x-empty", "")
            .with_header("content-type", "Text/Event-Stream")
            .with_header("X-LAST", "é");
        assert_eq!(head, again);
        assert_ne!(head, again.with_header("x-more", "1"));
    }

    #[cfg(feature = "client")]
    #[test]
    fn headers_of_a_response_decode_values_lossily_in_order() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.append("set-cookie", HeaderValue::from_static("a=1"));
        map.append("x-raw", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        map.append("set-cookie", HeaderValue::from_static("b=2"));
        let headers = Headers::of(&map);
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            [
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("x-raw", "caf\u{FFFD}")
            ]
        );
        // Sized once: names and values that need no replacement fill the
        // string exactly.
        map.remove("x-raw");
        let headers = Headers::of(&map);
        assert_eq!(headers.text.capacity(), headers.text.len());
        assert_eq!(headers.ends.capacity(), 2);
    }

    #[test]
    fn retry_after_date_needs_a_reference_time() {
        let head =
            ResponseHead::new(503).with_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(head.retry_after(), None);
        let at = httpdate::parse_http_date("Wed, 21 Oct 2015 07:27:30 GMT").unwrap();
        assert_eq!(
            head.clone().with_received_at(at).retry_after(),
            Some(Duration::from_secs(30))
        );
        // The server's own Date wins over the local clock (no skew).
        let skewed = head
            .with_header("date", "Wed, 21 Oct 2015 07:27:00 GMT")
            .with_received_at(at);
        assert_eq!(skewed.retry_after(), Some(Duration::from_secs(60)));
        let seconds = ResponseHead::new(429).with_header("retry-after", "7");
        assert_eq!(seconds.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn status_line_names_known_statuses() {
        assert_eq!(ResponseHead::new(401).status_line(), "401 Unauthorized");
        assert_eq!(ResponseHead::new(599).status_line(), "599");
    }

    #[test]
    fn retry_after_accepts_delta_seconds_only() {
        assert_eq!(
            parse_retry_after(" 120 ", None),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", None),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("-1", None), None);
        assert_eq!(parse_retry_after("", None), None);
        assert_eq!(parse_retry_after("1.5", None), None);
    }

    #[test]
    fn retry_after_date_is_measured_from_now_and_never_negative() {
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let at = httpdate::parse_http_date(date).unwrap();
        assert_eq!(parse_retry_after(date, None), None);
        assert_eq!(
            parse_retry_after(date, Some(at - Duration::from_secs(45))),
            Some(Duration::from_secs(45))
        );
        assert_eq!(
            parse_retry_after(date, Some(at + Duration::from_secs(45))),
            Some(Duration::ZERO)
        );
        // The obsolete forms RFC 9110 requires recipients to accept.
        for old in [
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            assert_eq!(
                parse_retry_after(old, Some(at)),
                Some(Duration::ZERO),
                "{old}"
            );
        }
        assert_eq!(
            parse_retry_after("Wed, 32 Oct 2015 07:28:00 GMT", Some(at)),
            None
        );
    }
}
