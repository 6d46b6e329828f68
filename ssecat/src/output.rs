//! What goes to stdout: human text or the JSON Lines of the contract.

use std::io::Write;
use std::time::Duration;

use ssefeed::{FeedStats, MessageEvent, ResponseHead};

/// What goes to stdout, as text or JSON Lines.
pub(crate) struct Output {
    pub(crate) json: bool,
    pub(crate) include: bool,
    pub(crate) color: bool,
    pub(crate) stdout: std::io::StdoutLock<'static>,
}

/// Header names and values; a repeated name's values joined with ", ".
type Headers = serde_json::Map<String, serde_json::Value>;

#[derive(serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Line<'a> {
    Open {
        status: u16,
        http_version: String,
        url: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        headers: Option<Headers>,
    },
    Message {
        #[serde(rename = "type")]
        event_type: &'a str,
        data: &'a str,
        last_event_id: &'a str,
        /// With `-i`, on a connection's first message: the milliseconds
        /// from its request.
        #[serde(skip_serializing_if = "Option::is_none")]
        first_event_ms: Option<u64>,
    },
    Error {
        message: &'a str,
        reconnecting: bool,
        /// When reconnecting: the wait before the next request.
        #[serde(skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
        /// When reconnecting: which reconnect in a row since the last
        /// message the next request is, from 1.
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        headers: Option<Headers>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<&'a str>,
    },
    Closed {
        reason: &'a str,
        message: &'a str,
        /// With `--stats`.
        #[serde(skip_serializing_if = "Option::is_none")]
        stats: Option<serde_json::Value>,
    },
}

/// The time from a connection's request to its first event.
pub(crate) fn first_event_after(stats: &ssefeed::ConnectionStats) -> Option<Duration> {
    Some(stats.first_event_at? - stats.requested_at?)
}

/// `--stats`: what the feed did, in a sentence.
fn stats_sentence(stats: &FeedStats, first_event: Option<Duration>) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "{}, {}, {} over {}",
        plural(stats.events, "event"),
        plural(stats.bytes, "byte"),
        plural(stats.reconnects, "reconnect"),
        plural(stats.connections, "connection"),
    );
    if let Some(after) = first_event {
        text.push_str(&format!(
            "; first event {} after the request",
            human_delay(after)
        ));
    }
    text
}

fn headers_of(head: &ResponseHead) -> Headers {
    let mut map = Headers::new();
    for (name, value) in head.headers() {
        match map.get_mut(name) {
            Some(serde_json::Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(value);
            }
            _ => {
                map.insert(name.to_owned(), value.into());
            }
        }
    }
    map
}

/// At most this much of a refused response's body goes to the terminal.
const BODY_LINES: usize = 20;
const BODY_LINE_CHARS: usize = 200;

impl Output {
    fn json_line(&mut self, line: &Line<'_>) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.stdout, line)?;
        self.stdout.write_all(b"\n")?;
        self.stdout.flush()
    }

    pub(crate) fn open(&mut self, head: &ResponseHead) -> std::io::Result<()> {
        if self.json {
            return self.json_line(&Line::Open {
                status: head.status(),
                http_version: head.version().to_string(),
                url: head.url(),
                headers: self.include.then(|| headers_of(head)),
            });
        }
        self.head(head)?;
        eprintln!("ssecat: connected");
        Ok(())
    }

    /// With `-i`, in human mode: a response's status line and headers, as
    /// curl shows them.
    fn head(&mut self, head: &ResponseHead) -> std::io::Result<()> {
        if !self.include {
            return Ok(());
        }
        let reason = head.reason().unwrap_or_default();
        writeln!(self.stdout, "{} {} {reason}", head.version(), head.status())?;
        for (name, value) in head.headers() {
            writeln!(self.stdout, "{name}: {value}")?;
        }
        writeln!(self.stdout)?;
        self.stdout.flush()
    }

    /// A message; `first_after`: with `-i`, the time from its connection's
    /// request, on that connection's first message.
    pub(crate) fn message(
        &mut self,
        message: &MessageEvent,
        first_after: Option<Duration>,
    ) -> std::io::Result<()> {
        let first_after = first_after.filter(|_| self.include);
        if self.json {
            return self.json_line(&Line::Message {
                event_type: message.event_type(),
                data: message.data(),
                last_event_id: message.last_event_id(),
                first_event_ms: first_after.map(|after| after.as_millis() as u64),
            });
        }
        if let Some(after) = first_after {
            eprintln!(
                "ssecat: first event {} after the request",
                human_delay(after)
            );
        }
        let (bold, dim, reset) = if self.color {
            ("\x1b[1;36m", "\x1b[2m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        let id = message.last_event_id();
        if id.is_empty() {
            writeln!(self.stdout, "{bold}{}{reset}", message.event_type())?;
        } else {
            writeln!(
                self.stdout,
                "{bold}{}{reset} {dim}id={id}{reset}",
                message.event_type()
            )?;
        }
        for line in message.data().split('\n') {
            writeln!(self.stdout, "  {line}")?;
        }
        self.stdout.flush()
    }

    /// A comment: in human mode on stdout; with `--json` on stderr, as a
    /// line of its own kind, since stdout's four kinds are fixed for the
    /// tools that read them (DESIGN.md), and a fifth would break those that
    /// match them. Riding on the next line as a key would keep them on
    /// stdout but late, and keep-alives are about timing.
    pub(crate) fn comment(&mut self, text: &str) -> std::io::Result<()> {
        if self.json {
            eprintln!("{}", serde_json::json!({"kind": "comment", "text": text}));
            return Ok(());
        }
        let (dim, reset) = if self.color {
            ("\x1b[2m", "\x1b[0m")
        } else {
            ("", "")
        };
        writeln!(self.stdout, "{dim}: {text}{reset}")?;
        self.stdout.flush()
    }

    /// An error: a JSON line, or (in human mode) `human` and the refused
    /// response's body on stderr. `reconnect` is the delay and attempt
    /// number of the reconnect that follows, if one does.
    pub(crate) fn error(
        &mut self,
        error: &ssefeed::Error,
        human: &str,
        reconnect: Option<(Duration, u32)>,
    ) -> std::io::Result<()> {
        let body = error.body();
        let body = body.as_deref().filter(|body| !body.trim().is_empty());
        if self.json {
            return self.json_line(&Line::Error {
                message: &error.report().to_string(),
                reconnecting: reconnect.is_some(),
                delay_ms: reconnect
                    .map(|(delay, _)| delay.as_millis().try_into().unwrap_or(u64::MAX)),
                attempt: reconnect.map(|(_, attempt)| attempt),
                status: error.status(),
                headers: error.response().map(headers_of),
                body,
            });
        }
        if let Some(head) = error.response() {
            self.head(head)?;
        }
        eprintln!("ssecat: {human}");
        if let Some(body) = body {
            eprint!("{}", body_excerpt(body));
        }
        Ok(())
    }

    /// The last line; `stats` with `--stats` (and the time from the first
    /// connection's request to the feed's first event).
    pub(crate) fn closed(
        &mut self,
        reason: &str,
        message: &str,
        stats: Option<(FeedStats, Option<Duration>)>,
    ) -> std::io::Result<()> {
        if self.json {
            let stats = stats.map(|(stats, first_event)| {
                serde_json::json!({
                    "requests": stats.requests,
                    "connections": stats.connections,
                    "reconnects": stats.reconnects,
                    "events": stats.events,
                    "bytes": stats.bytes,
                    "first_event_ms": first_event.map(|after| after.as_millis() as u64),
                })
            });
            return self.json_line(&Line::Closed {
                reason,
                message,
                stats,
            });
        }
        if let Some((stats, first_event)) = stats {
            eprintln!("ssecat: {}", stats_sentence(&stats, first_event));
        }
        Ok(())
    }
}

/// A delay for people: `5 ms`, `0.53 s`, `3 s`, `45 s`, `2.5 min`, `1 h`.
pub(crate) fn human_delay(delay: Duration) -> String {
    let secs = delay.as_secs_f64();
    if secs < 0.01 {
        return format!("{} ms", delay.as_millis());
    }
    let (value, unit, decimals) = if secs < 10.0 {
        (secs, "s", 2)
    } else if secs < 120.0 {
        (secs, "s", 0)
    } else if secs < 7200.0 {
        (secs / 60.0, "min", 1)
    } else {
        (secs / 3600.0, "h", 1)
    };
    let text = format!("{value:.decimals$}");
    // "3.00" reads "3", "0.50" reads "0.5".
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text} {unit}")
}

/// The first lines of a body, trimmed and indented, for the terminal.
fn body_excerpt(body: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = body.trim().lines().collect();
    for line in lines.iter().take(BODY_LINES) {
        let line = line.trim_end();
        let cut: String = line.chars().take(BODY_LINE_CHARS).collect();
        let more = if cut.len() < line.len() { "…" } else { "" };
        out.push_str(&format!("  {cut}{more}\n"));
    }
    if lines.len() > BODY_LINES {
        out.push_str(&format!("  … ({} more lines)\n", lines.len() - BODY_LINES));
    }
    out
}
