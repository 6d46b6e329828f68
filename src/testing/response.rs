//! What the server does on one connection.

use std::time::Duration;

use super::event::ServerEvent;
use super::gate::Gate;
use super::writes::Writes;

/// What the [`TestServer`](super::TestServer) does on one connection: the
/// response's head, its body (events, comments, raw bytes, pauses), how the
/// body is cut into writes, and how the connection ends.
///
/// The server writes exactly what it is told, nothing checked: a status no
/// client accepts, a header with a line break, a body that is not an event
/// stream. Every response is HTTP/1.1 with `connection: close` (unless
/// another `connection` header is set), and its body is close-delimited
/// (no `content-length` unless set): one request per connection.
///
/// ```
/// use std::time::Duration;
/// use ssefeed::testing::{Response, ServerEvent, Writes};
///
/// // An event stream cut in the middle of its second event, a byte at a time.
/// let cut = Response::sse()
///     .event(ServerEvent::data("one").id("1"))
///     .event(ServerEvent::data("two").id("2"))
///     .cut_after(20)
///     .writes(Writes::ByteByByte);
///
/// // A refusal with a body that explains it.
/// let refused = Response::status(429)
///     .header("retry-after", "2")
///     .header("content-type", "application/json")
///     .body(r#"{"error": "slow down"}"#);
///
/// // A feed that sends one event, then goes silent without closing.
/// let stalled = Response::sse().message("hello").hold_open();
/// # drop((cut, refused, stalled));
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    pub(super) head: Option<Head>,
    pub(super) body: Vec<Part>,
    pub(super) writes: Writes,
    pub(super) write_gap: Duration,
    pub(super) delay: Duration,
    pub(super) cut_after: Option<usize>,
    pub(super) end: End,
    pub(super) gzip: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) reason: Option<String>,
    pub(super) headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub(super) enum Part {
    Bytes(Vec<u8>),
    Repeat { byte: u8, len: usize },
    Pause(Duration),
    Gate(Gate),
}

/// How a connection ends once its response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Close,
    Reset,
    HoldOpen,
}

impl Response {
    /// `200 OK` with `content-type: text/event-stream` and an empty body:
    /// add events with [`event`](Self::event), [`message`](Self::message) and
    /// the rest.
    pub fn sse() -> Self {
        Self::status(200).header("content-type", "text/event-stream")
    }

    /// A response with this status (its standard reason phrase, if it has
    /// one) and no headers or body of its own.
    pub fn status(status: u16) -> Self {
        Self::with_head(Some(Head {
            status,
            reason: None,
            headers: Vec::new(),
        }))
    }

    /// `204 No Content`, which tells an `EventSource` to stop: what the
    /// server answers by default once a [`Script`](super::Script) has run
    /// out of connections.
    pub fn no_content() -> Self {
        Self::status(204)
    }

    /// A redirect: `status` (301, 302, 303, 307 or 308) with `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::status(status).header("location", location)
    }

    /// No generated head: the server writes these bytes and nothing else
    /// (then what [`body`](Self::body) and the rest add): a reply that is not
    /// HTTP, a head cut short, chunked framing of your own. The body's
    /// settings (writes, pauses, [`cut_after`](Self::cut_after), the end)
    /// count from its first byte; [`gzip`](Self::gzip) and the head's
    /// settings do nothing.
    pub fn verbatim(bytes: impl AsRef<[u8]>) -> Self {
        Self::with_head(None).body(bytes)
    }

    fn with_head(head: Option<Head>) -> Self {
        Self {
            head,
            body: Vec::new(),
            writes: Writes::Whole,
            write_gap: Duration::ZERO,
            delay: Duration::ZERO,
            cut_after: None,
            end: End::Close,
            gzip: false,
        }
    }

    /// The reason phrase of the status line (`503 Slow Down`), in place of
    /// the standard one.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        if let Some(head) = &mut self.head {
            head.reason = Some(reason.into());
        }
        self
    }

    /// Sets a header, in place of any of the same name (ASCII case
    /// ignored); headers are written in the order first set.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if let Some(head) = &mut self.head {
            match head
                .headers
                .iter_mut()
                .find(|(key, _)| key.eq_ignore_ascii_case(&name))
            {
                Some(header) => header.1 = value,
                None => head.headers.push((name, value)),
            }
        }
        self
    }

    /// Adds a header, after any of the same name (a second `set-cookie`).
    pub fn append_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Some(head) = &mut self.head {
            head.headers.push((name.into(), value.into()));
        }
        self
    }

    /// Removes a header, such as the content type of [`sse`](Self::sse).
    pub fn without_header(mut self, name: &str) -> Self {
        if let Some(head) = &mut self.head {
            head.headers
                .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        }
        self
    }

    /// Appends an event to the body.
    pub fn event(self, event: ServerEvent) -> Self {
        let text = event.to_string();
        self.body(text)
    }

    /// Appends an event with only data (a `message` event).
    pub fn message(self, data: impl Into<String>) -> Self {
        self.event(ServerEvent::data(data))
    }

    /// Appends a `:` comment line (a keep-alive).
    pub fn comment(self, text: impl AsRef<str>) -> Self {
        self.body(format!(": {}\n", text.as_ref()))
    }

    /// Appends a `retry:` line on its own, in whole milliseconds.
    pub fn retry(self, time: Duration) -> Self {
        self.body(format!("retry: {}\n", time.as_millis()))
    }

    /// Appends bytes to the body exactly as given: a body that is not an
    /// event stream, invalid UTF-8, CR-only line ends, a BOM, half an event.
    pub fn body(mut self, bytes: impl AsRef<[u8]>) -> Self {
        let bytes = bytes.as_ref();
        match self.body.last_mut() {
            // Kept together, so that `Writes::Whole` writes them at once.
            Some(Part::Bytes(last)) => last.extend_from_slice(bytes),
            _ => self.body.push(Part::Bytes(bytes.to_vec())),
        }
        self
    }

    /// Appends `len` copies of `byte`, made as they are written, not held in
    /// memory: an endless line, a flood. A client that hangs up stops it.
    pub fn repeat(mut self, byte: u8, len: usize) -> Self {
        self.body.push(Part::Repeat { byte, len });
        self
    }

    /// Waits this long before writing the rest of the body (a stall that
    /// ends; [`hold_open`](Self::hold_open) for one that does not).
    pub fn pause(mut self, time: Duration) -> Self {
        self.body.push(Part::Pause(time));
        self
    }

    /// Waits here until the test opens `gate` (or the connection's time
    /// limit passes, which ends the connection).
    pub fn wait_for(mut self, gate: &Gate) -> Self {
        self.body.push(Part::Gate(gate.clone()));
        self
    }

    /// Waits this long after the request before writing anything, the head
    /// included.
    pub fn delay(mut self, time: Duration) -> Self {
        self.delay = time;
        self
    }

    /// How the body is cut into writes (whole by default).
    pub fn writes(mut self, writes: Writes) -> Self {
        self.writes = writes;
        self
    }

    /// Waits this long between two writes of the body (a trickle).
    pub fn write_gap(mut self, gap: Duration) -> Self {
        self.write_gap = gap;
        self
    }

    /// Writes only the first `len` bytes of the body, then ends the
    /// connection as it would end anyway (closed, unless
    /// [`reset`](Self::reset) or [`hold_open`](Self::hold_open)): a close in
    /// the middle of an event, say. A gzip body is cut before compression,
    /// and its end is never written.
    pub fn cut_after(mut self, len: usize) -> Self {
        self.cut_after = Some(len);
        self
    }

    /// Ends the connection with a TCP reset (RST) instead of a close, which
    /// also throws away what the client's kernel has not read yet.
    pub fn reset(mut self) -> Self {
        self.end = End::Reset;
        self
    }

    /// Keeps the connection open after the body, writing nothing more, until
    /// the client hangs up or the connection's time limit passes: a feed
    /// that goes quiet, or a half-open connection.
    pub fn hold_open(mut self) -> Self {
        self.end = End::HoldOpen;
        self
    }

    /// Compresses the body with gzip when the request's `Accept-Encoding`
    /// allows it (`content-encoding: gzip` is added then), flushing after
    /// each write so that each arrives whole, as a streaming compressor
    /// does; otherwise the body goes plain.
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    /// The head's bytes, `gzip` saying whether the body is compressed.
    pub(super) fn head_bytes(&self, gzip: bool) -> Option<Vec<u8>> {
        let head = self.head.as_ref()?;
        let reason = head.reason.clone().unwrap_or_else(|| {
            http::StatusCode::from_u16(head.status)
                .ok()
                .and_then(|status| status.canonical_reason())
                .unwrap_or("")
                .to_owned()
        });
        let mut text = format!("HTTP/1.1 {} {reason}\r\n", head.status);
        for (name, value) in &head.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        if gzip {
            text.push_str("content-encoding: gzip\r\n");
        }
        if !head
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("connection"))
        {
            text.push_str("connection: close\r\n");
        }
        text.push_str("\r\n");
        Some(text.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(response: &Response) -> String {
        String::from_utf8(response.head_bytes(false).unwrap()).unwrap()
    }

    #[test]
    fn the_head_has_the_status_the_headers_in_order_and_connection_close() {
        let response = Response::sse()
            .header("x-a", "1")
            .header("Content-Type", "text/plain")
            .append_header("x-a", "2");
        assert_eq!(
            head(&response),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-a: 1\r\nx-a: 2\r\nconnection: close\r\n\r\n"
        );
        let response = Response::status(503)
            .reason("Busy")
            .header("connection", "keep-alive");
        assert_eq!(
            head(&response),
            "HTTP/1.1 503 Busy\r\nconnection: keep-alive\r\n\r\n"
        );
        assert_eq!(
            head(&Response::status(799).without_header("x")),
            "HTTP/1.1 799 \r\nconnection: close\r\n\r\n"
        );
        assert!(Response::verbatim("x").head_bytes(false).is_none());
    }

    #[test]
    fn adjacent_bytes_are_one_part() {
        let response = Response::sse().message("a").comment("c").body(b"\xFF");
        assert!(
            matches!(&response.body[..], [Part::Bytes(bytes)] if bytes == b"data: a\n\n: c\n\xFF")
        );
        let response = Response::sse()
            .message("a")
            .pause(Duration::ZERO)
            .message("b");
        assert_eq!(response.body.len(), 3);
    }
}
