//! A request as the server received it, and reading one off a socket.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

use super::{MAX_REQUEST_BODY, MAX_REQUEST_HEAD};

/// A request the [`TestServer`](super::TestServer) received: what a client
/// sent, for assertions (`Last-Event-ID` on a reconnect, a POST's body, the
/// time between attempts).
///
/// Header values are decoded as UTF-8 with invalid bytes replaced;
/// [`raw_head`](Self::raw_head) keeps the bytes exactly as received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub(super) index: usize,
    pub(super) method: String,
    pub(super) target: String,
    pub(super) version: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) raw_head: Vec<u8>,
    pub(super) body: Vec<u8>,
    pub(super) at: Instant,
}

impl RecordedRequest {
    /// Which request this is, from 0: the server's first, then each
    /// reconnect (one request per connection).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The method (`GET`, `POST`, ...).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: the path and the query (`/feed?since=3`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query (after `?`), if there is one.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The HTTP version of the request line (`HTTP/1.1`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The first value of a header (name compared ASCII case-insensitively),
    /// trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).next()
    }

    /// Every value of a header, in the order sent.
    pub fn header_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let name = name.to_owned();
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(&name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header as sent: names as spelled, values trimmed.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The `Last-Event-ID` header, if sent.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id")
    }

    /// The body (decoded from chunked framing if it came so); empty without
    /// one.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The head (request line and headers, up to and including the blank
    /// line) exactly as received.
    pub fn raw_head(&self) -> &[u8] {
        &self.raw_head
    }

    /// When the head had arrived (the server's clock).
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Whether the client asked for gzip (`Accept-Encoding`).
    pub(super) fn accepts_gzip(&self) -> bool {
        self.header_all("accept-encoding").any(|value| {
            value.split(',').any(|coding| {
                coding
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("gzip")
            })
        })
    }
}

/// Why no request was read.
#[derive(Debug)]
pub(super) enum ReadFailure {
    /// The client left, sent nothing in time, or sent something that is
    /// not a request head.
    Gone,
    /// A head or a body over the kit's limits: answered with this status.
    TooLarge(&'static str),
}

/// Reads one request: the head, then the body its `Content-Length` or
/// chunked framing announces (read whole, since closing a socket with
/// unread bytes resets the connection).
pub(super) fn read_request(socket: &mut TcpStream) -> Result<RecordedRequest, ReadFailure> {
    let (raw_head, rest) = read_head(socket)?;
    let at = Instant::now();
    let mut request = parse_head(raw_head, at).ok_or(ReadFailure::Gone)?;
    let chunked = request
        .header_all("transfer-encoding")
        .any(|value| value.to_ascii_lowercase().contains("chunked"));
    let mut reader = Prefixed {
        prefix: rest,
        socket,
    };
    request.body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let length = request
            .header("content-length")
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0);
        if length > MAX_REQUEST_BODY as u64 {
            return Err(ReadFailure::TooLarge("413 Content Too Large"));
        }
        let mut body = vec![0; length as usize];
        reader
            .read_exact(&mut body)
            .map_err(|_| ReadFailure::Gone)?;
        body
    };
    Ok(request)
}

/// The request's head (through its blank line), and what was read past it.
fn read_head(socket: &mut TcpStream) -> Result<(Vec<u8>, Vec<u8>), ReadFailure> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            if end + 4 > MAX_REQUEST_HEAD {
                return Err(ReadFailure::TooLarge("431 Request Header Fields Too Large"));
            }
            break end + 4;
        }
        if buffer.len() > MAX_REQUEST_HEAD {
            return Err(ReadFailure::TooLarge("431 Request Header Fields Too Large"));
        }
        match socket.read(&mut chunk) {
            Ok(0) | Err(_) => return Err(ReadFailure::Gone),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let rest = buffer.split_off(head_end);
    Ok((buffer, rest))
}

/// The request line and headers of `raw_head`, with no body yet; `None`
/// when it is not a request line.
fn parse_head(raw_head: Vec<u8>, at: Instant) -> Option<RecordedRequest> {
    let text = String::from_utf8_lossy(&raw_head);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let mut word = || request_line.next().unwrap_or_default().to_owned();
    let (method, target, version) = (word(), word(), word());
    if method.is_empty() || target.is_empty() {
        return None;
    }
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect();
    Some(RecordedRequest {
        index: 0,
        method,
        target,
        version,
        headers,
        raw_head,
        body: Vec::new(),
        at,
    })
}

/// A chunked body, decoded; trailers are read and dropped.
fn read_chunked(reader: &mut Prefixed<'_>) -> Result<Vec<u8>, ReadFailure> {
    let mut body = Vec::new();
    loop {
        let line = reader.line()?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| ReadFailure::Gone)?;
        if size == 0 {
            while !reader.line()?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_REQUEST_BODY {
            return Err(ReadFailure::TooLarge("413 Content Too Large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|_| ReadFailure::Gone)?;
        reader.line()?;
    }
}

/// The socket, after the bytes already read past the head.
struct Prefixed<'a> {
    prefix: Vec<u8>,
    socket: &'a mut TcpStream,
}

impl Prefixed<'_> {
    /// One CRLF-ended line (at most 4 KiB), without its end.
    fn line(&mut self) -> Result<String, ReadFailure> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() > 4096 {
                return Err(ReadFailure::Gone);
            }
            self.read_exact(&mut byte).map_err(|_| ReadFailure::Gone)?;
            line.push(byte[0]);
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }
}

impl Read for Prefixed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix.is_empty() {
            return self.socket.read(buf);
        }
        let n = buf.len().min(self.prefix.len());
        buf[..n].copy_from_slice(&self.prefix[..n]);
        self.prefix.drain(..n);
        Ok(n)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
