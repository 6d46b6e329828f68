//! `ssecat`: tail a Server-Sent Events feed in the terminal — like `curl -N`,
//! but parsed, reconnecting and resuming.
//!
//! ```text
//! cargo run -p ssecat -- --demo                 # a built-in feed on loopback
//! cargo run -p ssecat -- https://example.com/feed
//! cargo run -p ssecat -- --json -H 'Authorization: Bearer T' URL
//! cargo run -p ssecat -- --json-body @body.json --until '[DONE]' URL
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
//! `headers` and `body`; a reconnecting one, `delay_ms` and `attempt` (the
//! next request's number among the reconnects since the last message, from
//! 1); `closed` is always the last line. Stdout has these four kinds only:
//! with `--comments`, comments go to stderr as
//! `{"kind":"comment","text":"…"}` lines.
//!
//! Human output is coloured on a terminal, unless `NO_COLOR` is set.
//!
//! Exit status: 0 when the server ends the feed with 204 (or a one-shot
//! stream ends cleanly), the `--until` message arrives or `--max-events` is
//! reached; 1 with the reason on stderr when the connection fails (or,
//! before any connection has opened, after `--connect-attempts` attempts;
//! or a one-shot stream ends before the `--until` message); 2 for bad
//! arguments; 130 on Ctrl-C.

mod demo;

mod args;
mod output;
mod request;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser as _;
use futures_util::StreamExt;
use ssefeed::{CloseReason, Event, EventSource};

use request::GaveUp;

use args::Args;
use output::Output;

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
    // The demo server serves until ssecat exits.
    let mut demo_server = None;
    let url = if args.demo {
        match demo::start(demo::DemoConfig::default()) {
            Ok(server) => {
                let url = demo_server.insert(server).url_for("/events");
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
    let (mut source, gave_up) = match request::build(&args, &url) {
        Ok(built) => built,
        Err(reason) => {
            eprintln!("ssecat: {reason}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = Output {
        json: args.json,
        include: args.include,
        // https://no-color.org: NO_COLOR set and not empty turns it off.
        color: !args.json
            && stdout.is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
        stdout: stdout.lock(),
    };
    let mut first_event = None;
    let end = tail(&args, &mut source, &gave_up, &mut out, &mut first_event).await;
    if let Some(end) = end {
        let stats = args.stats.then(|| (source.stats(), first_event));
        if out.closed(end.reason, &end.message, stats).is_ok()
            && !args.json
            && end.reason != "error"
        {
            eprintln!("ssecat: {}", end.message);
        }
        return end.code;
    }
    // stdout closed (e.g. `| head`): stop quietly.
    ExitCode::SUCCESS
}

/// Tails the source until it ends; `None` when stdout is gone.
/// `first_event`: set to the time from the first request to the first
/// message.
async fn tail(
    args: &Args,
    source: &mut EventSource,
    gave_up: &GaveUp,
    out: &mut Output,
    first_event: &mut Option<std::time::Duration>,
) -> Option<End> {
    let started = source.stats().current.requested_at;
    // The current connection has not delivered a message yet.
    let mut awaiting_first = false;
    let mut messages = 0u64;
    // Requests sent after the last message (before one: all of them), as
    // the server counts them: what "gave up after N attempts" says.
    let mut attempts = 1u32;
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
                awaiting_first = true;
                out.open(&head)
            }
            Some(Ok(Event::Message(message))) => {
                messages += 1;
                attempts = 0;
                let current = source.stats().current;
                if let (None, Some(at), Some(started)) =
                    (*first_event, current.first_event_at, started)
                {
                    *first_event = Some(at - started);
                }
                let first_after = std::mem::take(&mut awaiting_first)
                    .then(|| output::first_event_after(&current))
                    .flatten();
                out.message(&message, first_after).ok()?;
                if args.max_events.is_some_and(|max| messages >= max) {
                    let plural = if messages == 1 { "" } else { "s" };
                    let message = format!("received {messages} message{plural}");
                    return Some(End::new(0, "max_events", message));
                }
                Ok(())
            }
            Some(Ok(Event::Comment(text))) => out.comment(&text),
            Some(Ok(Event::Reconnecting {
                error,
                delay,
                attempt,
                ..
            })) => {
                attempts += 1;
                let with = if args.resume_get { " with a GET" } else { "" };
                let resume = match source.last_event_id() {
                    "" => String::new(),
                    id => format!(", resuming{with} after id {id}"),
                };
                let human = format!(
                    "{}; reconnecting in {}{resume}",
                    error.report(),
                    output::human_delay(delay)
                );
                out.error(&error, &human, Some((delay, attempt)))
            }
            Some(Ok(_)) => Ok(()),
            Some(Err(error)) => {
                // The library counts reconnects only; ssecat counts every
                // request, as the server does, and says why it stopped.
                let (cause, giving_up) = match &error {
                    ssefeed::Error::RetriesExhausted { last_error, .. } => (&**last_error, true),
                    _ => (&error, gave_up.get()),
                };
                let human = if giving_up {
                    let plural = if attempts == 1 { "" } else { "s" };
                    let since = if messages > 0 {
                        " since the last message"
                    } else {
                        ""
                    };
                    format!(
                        "gave up after {attempts} attempt{plural}{since}: {}",
                        cause.report()
                    )
                } else {
                    error.report().to_string()
                };
                out.error(cause, &human, None).ok()?;
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
