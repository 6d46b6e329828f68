//! `ssecat`: tail a Server-Sent Events feed in the terminal — like `curl -N`,
//! but parsed, reconnecting and resuming.
//!
//! ```text
//! cargo run --example ssecat -- --demo                 # a built-in feed on loopback
//! cargo run --example ssecat -- https://example.com/feed
//! cargo run --example ssecat -- --json -H 'Authorization: Bearer T' URL
//! ```
//!
//! With `--json` it prints one JSON object per line and nothing else on
//! stdout:
//!
//! ```text
//! {"kind":"open"}
//! {"kind":"message","type":"update","data":"…","last_event_id":"42"}
//! {"kind":"error","message":"…","reconnecting":true}
//! ```
//!
//! Exit status: 0 when the server ends the feed with 204 (or a one-shot
//! stream ends cleanly) or `--max-events` is reached; 1 with a one-line
//! reason on stderr when the connection fails; 2 for bad arguments; 130 on
//! Ctrl-C.

#[path = "../support/demo.rs"]
mod demo;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use futures_util::StreamExt;
use ssefeed::{Event, EventSource, MessageEvent, RetryPolicy};

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

    /// Print JSON Lines: one object per open, message and error.
    #[arg(long)]
    json: bool,

    /// Add a request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    headers: Vec<String>,

    /// The request method.
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

    /// Reconnect when no bytes arrive for this many seconds.
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<f64>,

    /// Retry these statuses instead of failing: a comma-separated list, or
    /// 'transient' for 408, 429, 500, 502, 503, 504.
    #[arg(long, value_name = "LIST")]
    retry_statuses: Option<String>,

    /// Give up after this many reconnect attempts in a row without a message.
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,

    /// Never reconnect: for request/response streams such as LLM completions.
    #[arg(long)]
    once: bool,

    /// Show keep-alive comments.
    #[arg(long)]
    comments: bool,
}

/// What goes to stdout, as text or JSON Lines.
struct Output {
    json: bool,
    color: bool,
    stdout: std::io::StdoutLock<'static>,
}

#[derive(serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Line<'a> {
    Open,
    Message {
        #[serde(rename = "type")]
        event_type: &'a str,
        data: &'a str,
        last_event_id: &'a str,
    },
    Error {
        message: &'a str,
        reconnecting: bool,
    },
}

impl Output {
    fn json_line(&mut self, line: &Line<'_>) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.stdout, line)?;
        self.stdout.write_all(b"\n")?;
        self.stdout.flush()
    }

    fn open(&mut self) -> std::io::Result<()> {
        if self.json {
            return self.json_line(&Line::Open);
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

    fn error(&mut self, message: &str, reconnecting: bool) -> std::io::Result<()> {
        if self.json {
            self.json_line(&Line::Error {
                message,
                reconnecting,
            })?;
        }
        Ok(())
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn build(args: &Args, url: &str) -> Result<EventSource, String> {
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {:?}", args.method))?;
    let mut request = reqwest::Client::new().request(method, url);
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("invalid header {header:?}: expected 'Name: value'"))?;
        request = request.header(name.trim(), value.trim());
    }
    if let Some(data) = &args.data {
        let body = match data.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?,
            None => data.clone().into_bytes(),
        };
        request = request.body(body);
    }
    let mut policy = RetryPolicy::new();
    if let Some(list) = &args.retry_statuses {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            policy = match item {
                "transient" => policy.retry_transient_statuses(),
                code => policy.retry_status(
                    code.parse()
                        .map_err(|_| format!("invalid status {code:?}"))?,
                ),
            };
        }
    }
    if let Some(max) = args.max_retries {
        policy = policy.max_retries(max);
    }
    let mut builder = EventSource::builder(request)
        .retry_policy(policy)
        .reconnect(!args.once)
        .comments(args.comments);
    if let Some(id) = &args.last_event_id {
        builder = builder.last_event_id(id.clone());
    }
    if let Some(secs) = args.idle_timeout {
        let timeout = Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("invalid idle timeout {secs}"))?;
        builder = builder.idle_timeout(timeout);
    }
    builder.build().map_err(|error| chain(&error))
}

async fn run(args: Args) -> ExitCode {
    let url = if args.demo {
        match demo::start(demo::DemoConfig::default()).await {
            Ok(addr) => {
                let url = format!("http://{addr}/events");
                eprintln!(
                    "ssecat: demo feed at {url} (drops the connection every 7 events; ends with 204)"
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
        color: !args.json && stdout.is_terminal(),
        stdout: stdout.lock(),
    };
    let mut messages = 0u64;
    if args.max_events == Some(0) {
        return ExitCode::SUCCESS;
    }
    loop {
        let item = tokio::select! {
            item = source.next() => item,
            _ = tokio::signal::ctrl_c() => {
                source.close();
                eprintln!("ssecat: interrupted");
                return ExitCode::from(130);
            }
        };
        let written = match item {
            None => return ExitCode::SUCCESS,
            Some(Ok(Event::Open)) => out.open(),
            Some(Ok(Event::Message(message))) => {
                messages += 1;
                let written = out.message(&message);
                if args.max_events.is_some_and(|max| messages >= max) {
                    return if written.is_ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    };
                }
                written
            }
            Some(Ok(Event::Comment(text))) => out.comment(&text),
            Some(Ok(Event::Reconnecting { error, delay, .. })) => {
                let message = chain(&error);
                if !args.json {
                    let resume = match source.last_event_id() {
                        "" => String::new(),
                        id => format!(", resuming after id {id}"),
                    };
                    eprintln!(
                        "ssecat: {message}; reconnecting in {:.1}s{resume}",
                        delay.as_secs_f64()
                    );
                }
                out.error(&message, true)
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) => {
                let message = chain(&error);
                let _ = out.error(&message, false);
                eprintln!("ssecat: {message}");
                return ExitCode::FAILURE;
            }
        };
        if written.is_err() {
            // stdout closed (e.g. `| head`): stop quietly.
            return ExitCode::SUCCESS;
        }
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
