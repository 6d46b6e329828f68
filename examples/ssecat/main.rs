//! `ssecat`: tail a Server-Sent Events feed in the terminal — like `curl -N`,
//! but parsed, reconnecting and resuming.
//!
//! ```text
//! cargo run --example ssecat -- --demo                 # a built-in feed on loopback
//! cargo run --example ssecat -- https://example.com/feed
//! cargo run --example ssecat -- --json -H 'Authorization: Bearer T' URL
//! cargo run --example ssecat -- -X POST -d @body.json --until '[DONE]' URL
//! ```
//!
//! With `--json` it prints one JSON object per line and nothing else on
//! stdout (more keys may follow those shown):
//!
//! ```text
//! {"kind":"open","status":200,"http_version":"HTTP/1.1","url":"…"}
//! {"kind":"message","type":"update","data":"…","last_event_id":"42"}
//! {"kind":"error","message":"…","reconnecting":true}
//! {"kind":"closed","reason":"no_content","message":"server ended the feed (204 No Content)"}
//! ```
//!
//! An error line for a refused response also carries its `status`,
//! `headers` and `body`; `closed` is always the last line.
//!
//! Exit status: 0 when the server ends the feed with 204 (or a one-shot
//! stream ends cleanly), the `--until` message arrives or `--max-events` is
//! reached; 1 with the reason on stderr when the connection fails (or,
//! before any connection has opened, after `--connect-attempts` attempts;
//! or a one-shot stream ends before the `--until` message); 2 for bad
//! arguments; 130 on Ctrl-C.

#[path = "../support/demo.rs"]
mod demo;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use futures_util::StreamExt;
use ssefeed::{
    CloseReason, Event, EventSource, MessageEvent, ResponseHead, RetryDecision, RetryPolicy,
};

/// Tail a Server-Sent Events feed: parsed, reconnecting, resuming.
#[derive(Debug, clap::Parser)]
#[command(name = "ssecat", version)]
struct Args {
    /// The feed's URL (not needed with --demo).
    #[arg(required_unless_present = "demo")]
    url: Option<String>,

    /// Start a demo SSE server on loopback and tail it.
    #[arg(long, conflicts_with = "url")]
    demo: bool,

    /// Print JSON Lines: one object per open, message, error and close.
    #[arg(long)]
    json: bool,

    /// Show the status and headers of each response that opens the stream.
    #[arg(short = 'i', long)]
    include: bool,

    /// Add a request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    headers: Vec<String>,

    /// The request method. Only GET, HEAD and OPTIONS reconnect unless
    /// --reconnect is given.
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,

    /// The request body; @FILE reads it from a file.
    #[arg(short = 'd', long, value_name = "BODY")]
    data: Option<String>,

    /// Resume from this last event ID (sent as Last-Event-ID).
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,

    /// Exit 0 after this many messages.
    #[arg(short = 'n', long, value_name = "N")]
    max_events: Option<u64>,

    /// End on the message whose data is exactly DATA (e.g. '[DONE]'): it is
    /// printed, then ssecat exits 0, even if the server holds the
    /// connection open. A one-shot stream that ends without it is an error.
    #[arg(long, value_name = "DATA")]
    until: Option<String>,

    /// Reconnect when no bytes arrive for this many seconds (more than 0).
    #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
    idle_timeout: Option<Duration>,

    /// Retry these statuses instead of failing: a comma-separated list of
    /// codes (100-599), or 'transient' for 408, 429, 500, 502, 503, 504.
    #[arg(long, value_name = "LIST", value_parser = status_list)]
    retry_statuses: Option<Statuses>,

    /// Give up after this many reconnect attempts in a row without a message.
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,

    /// Until a first connection has opened, give up after this many
    /// attempts (a wrong URL or port fails fast).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..))]
    connect_attempts: u32,

    /// Wait at most this many seconds when the server asks for a longer
    /// delay (`retry:`, `Retry-After`).
    #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
    max_server_delay: Option<Duration>,

    /// Never reconnect: for request/response streams such as LLM completions.
    #[arg(long, conflicts_with = "reconnect")]
    once: bool,

    /// Reconnect even when the method is not GET, HEAD or OPTIONS (the
    /// request, body and all, is sent again).
    #[arg(long)]
    reconnect: bool,

    /// Resume a one-shot request (-X POST) whose stream is cut before it
    /// completes (a reset, an event cut short, --idle-timeout, an end before
    /// the --until message) with a GET to the same URL: Last-Event-ID and
    /// the -H headers, no body, no Content-* header. The POST is never sent
    /// again; resuming needs an event ID. --max-retries, --retry-statuses
    /// and --max-server-delay apply to the GETs.
    // --once promises no request after the first, --reconnect sends the POST
    // again: both contradict this, so they are refused rather than ranked.
    #[arg(long, conflicts_with_all = ["once", "reconnect"])]
    resume_get: bool,

    /// Accept a 200 response whatever its Content-Type.
    #[arg(long)]
    any_content_type: bool,

    /// Show keep-alive comments.
    #[arg(long)]
    comments: bool,
}

/// `--retry-statuses`, parsed.
#[derive(Debug, Clone)]
struct Statuses(Vec<u16>);

fn status_list(list: &str) -> Result<Statuses, String> {
    let mut statuses = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "transient" {
            statuses.extend(ssefeed::retry::TRANSIENT_STATUSES);
            continue;
        }
        match item.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => statuses.push(code),
            _ => return Err(format!("{item:?} is not an HTTP status (100-599)")),
        }
    }
    if statuses.is_empty() {
        return Err("no status given".to_owned());
    }
    Ok(Statuses(statuses))
}

fn positive_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if secs <= 0.0 {
        return Err("must be more than 0 seconds".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} seconds is out of range"))
}

/// What goes to stdout, as text or JSON Lines.
struct Output {
    json: bool,
    include: bool,
    color: bool,
    stdout: std::io::StdoutLock<'static>,
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
    },
    Error {
        message: &'a str,
        reconnecting: bool,
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
    },
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

    fn open(&mut self, head: &ResponseHead) -> std::io::Result<()> {
        if self.json {
            return self.json_line(&Line::Open {
                status: head.status(),
                http_version: head.version().to_string(),
                url: head.url(),
                headers: self.include.then(|| headers_of(head)),
            });
        }
        if self.include {
            let reason = head.reason().unwrap_or_default();
            writeln!(self.stdout, "{} {} {reason}", head.version(), head.status())?;
            for (name, value) in head.headers() {
                writeln!(self.stdout, "{name}: {value}")?;
            }
            writeln!(self.stdout)?;
            self.stdout.flush()?;
        }
        eprintln!("ssecat: connected");
        Ok(())
    }

    fn message(&mut self, message: &MessageEvent) -> std::io::Result<()> {
        if self.json {
            return self.json_line(&Line::Message {
                event_type: message.event_type(),
                data: message.data(),
                last_event_id: message.last_event_id(),
            });
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

    fn comment(&mut self, text: &str) -> std::io::Result<()> {
        if !self.json {
            let (dim, reset) = if self.color {
                ("\x1b[2m", "\x1b[0m")
            } else {
                ("", "")
            };
            writeln!(self.stdout, "{dim}: {text}{reset}")?;
            self.stdout.flush()?;
        }
        Ok(())
    }

    /// An error: a JSON line, or (in human mode) `human` and the refused
    /// response's body on stderr.
    fn error(
        &mut self,
        error: &ssefeed::Error,
        human: &str,
        reconnecting: bool,
    ) -> std::io::Result<()> {
        let body = error.body();
        let body = body.as_deref().filter(|body| !body.trim().is_empty());
        if self.json {
            return self.json_line(&Line::Error {
                message: &error.report().to_string(),
                reconnecting,
                status: error.status(),
                headers: error.response().map(headers_of),
                body,
            });
        }
        eprintln!("ssecat: {human}");
        if let Some(body) = body {
            eprint!("{}", body_excerpt(body));
        }
        Ok(())
    }

    fn closed(&mut self, reason: &str, message: &str) -> std::io::Result<()> {
        if self.json {
            return self.json_line(&Line::Closed { reason, message });
        }
        Ok(())
    }
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

fn build(args: &Args, url: &str) -> Result<EventSource, String> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {:?}", args.method))?;
    // These reconnect by themselves, with Last-Event-ID; with one of them
    // (GET is the default) --resume-get most likely means a forgotten
    // `-X POST`, which should not pass silently.
    if args.resume_get && matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        return Err(format!(
            "--resume-get resumes a request sent once, such as -X POST; \
             a {method} reconnects with Last-Event-ID by itself"
        ));
    }
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("invalid header {header:?}: expected 'Name: value'"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let client = reqwest::Client::new();
    let mut request = client.request(method, url);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    if let Some(data) = &args.data {
        let body = match data.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?,
            None => data.clone().into_bytes(),
        };
        request = request.body(body);
    }
    let mut policy = RetryPolicy::new();
    for &status in args.retry_statuses.iter().flat_map(|list| &list.0) {
        policy = policy.retry_status(status);
    }
    if let Some(max) = args.max_retries {
        policy = policy.max_retries(max);
    }
    if let Some(cap) = args.max_server_delay {
        policy = policy.max_server_delay(cap);
    }
    // Until a connection has opened, a failure is more likely a wrong URL
    // than a server blip: give up after a few attempts.
    let connect_attempts = args.connect_attempts;
    policy = policy.on_retry(move |ctx| {
        if !ctx.has_opened() && ctx.attempt() >= connect_attempts {
            RetryDecision::Stop
        } else {
            RetryDecision::Default
        }
    });
    let mut builder = EventSource::builder(request)
        .retry_policy(policy)
        .comments(args.comments)
        .accept_any_content_type(args.any_content_type);
    if args.once {
        builder = builder.reconnect(false);
    } else if args.reconnect {
        builder = builder.reconnect(true);
    }
    if let Some(id) = &args.last_event_id {
        builder = builder.last_event_id(id.clone());
    }
    if let Some(timeout) = args.idle_timeout {
        builder = builder.idle_timeout(timeout);
    }
    if let Some(until) = args.until.clone() {
        builder = builder.complete_on(move |message| message.data() == until);
    }
    if args.resume_get {
        // The GET has no body, so the headers that describe one stay behind.
        headers.retain(|(name, _)| !name.to_ascii_lowercase().starts_with("content-"));
        let url = url.to_owned();
        builder = builder.resume_with(move |_| {
            let get = client.get(&url);
            headers
                .iter()
                .fold(get, |get, (name, value)| get.header(name, value))
        });
    }
    builder.build().map_err(|error| error.report().to_string())
}

/// How a run ends: the exit status and the `closed` line.
struct End {
    code: ExitCode,
    reason: &'static str,
    message: String,
}

impl End {
    fn new(code: u8, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::from(code),
            reason,
            message: message.into(),
        }
    }
}

async fn run(args: Args) -> ExitCode {
    let url = if args.demo {
        match demo::start(demo::DemoConfig::default()).await {
            Ok(addr) => {
                let url = format!("http://{addr}/events");
                eprintln!(
                    "ssecat: demo feed at {url} (drops the connection after every 7 events, \
                     sometimes mid-event; ends with 204)"
                );
                url
            }
            Err(error) => {
                eprintln!("ssecat: cannot start the demo server: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.url.clone().unwrap_or_default()
    };
    let mut source = match build(&args, &url) {
        Ok(source) => source,
        Err(reason) => {
            eprintln!("ssecat: {reason}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = Output {
        json: args.json,
        include: args.include,
        color: !args.json && stdout.is_terminal(),
        stdout: stdout.lock(),
    };
    let end = tail(&args, &mut source, &mut out).await;
    if let Some(end) = end {
        if out.closed(end.reason, &end.message).is_ok() && !args.json && end.reason != "error" {
            eprintln!("ssecat: {}", end.message);
        }
        return end.code;
    }
    // stdout closed (e.g. `| head`): stop quietly.
    ExitCode::SUCCESS
}

/// Tails the source until it ends; `None` when stdout is gone.
async fn tail(args: &Args, source: &mut EventSource, out: &mut Output) -> Option<End> {
    let mut messages = 0u64;
    let mut opened = false;
    if args.max_events == Some(0) {
        return Some(End::new(0, "max_events", "received 0 messages"));
    }
    loop {
        let item = tokio::select! {
            item = source.next() => item,
            _ = tokio::signal::ctrl_c() => {
                source.close();
                return Some(End::new(130, "interrupted", "interrupted"));
            }
        };
        let written = match item {
            None => {
                return Some(match source.close_reason() {
                    Some(reason @ CloseReason::NoContent(_)) => {
                        End::new(0, "no_content", reason.to_string())
                    }
                    // With a sentinel, nothing else completes a stream.
                    _ => match &args.until {
                        Some(until) => End::new(0, "completed", format!("received {until:?}")),
                        None => End::new(0, "completed", "the stream ended"),
                    },
                });
            }
            Some(Ok(Event::Open(head))) => {
                opened = true;
                out.open(&head)
            }
            Some(Ok(Event::Message(message))) => {
                messages += 1;
                out.message(&message).ok()?;
                if args.max_events.is_some_and(|max| messages >= max) {
                    let plural = if messages == 1 { "" } else { "s" };
                    let message = format!("received {messages} message{plural}");
                    return Some(End::new(0, "max_events", message));
                }
                Ok(())
            }
            Some(Ok(Event::Comment(text))) => out.comment(&text),
            Some(Ok(Event::Reconnecting { error, delay, .. })) => {
                let with = if args.resume_get { " with a GET" } else { "" };
                let resume = match source.last_event_id() {
                    "" => String::new(),
                    id => format!(", resuming{with} after id {id}"),
                };
                let human = format!(
                    "{}; reconnecting in {:.1}s{resume}",
                    error.report(),
                    delay.as_secs_f64()
                );
                out.error(&error, &human, true)
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) => {
                let gave_up = !opened && error.is_retryable();
                let human = if gave_up {
                    let attempts = args.connect_attempts;
                    let plural = if attempts == 1 { "" } else { "s" };
                    format!(
                        "gave up after {attempts} attempt{plural}: {}",
                        error.report()
                    )
                } else {
                    error.report().to_string()
                };
                out.error(&error, &human, false).ok()?;
                return Some(End::new(1, "error", human));
            }
        };
        written.ok()?;
    }
}
fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ssecat: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}
