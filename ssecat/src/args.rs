//! The command line: options and their value parsers.

use std::time::Duration;

/// Tail a Server-Sent Events feed: parsed, reconnecting, resuming.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ssecat",
    version,
    after_help = "Colour (on a terminal only) is off when NO_COLOR is set: https://no-color.org"
)]
pub(crate) struct Args {
    /// The feed's URL (not needed with --demo).
    #[arg(required_unless_present = "demo")]
    pub(crate) url: Option<String>,

    /// Start a demo SSE server on loopback and tail it.
    #[arg(long, conflicts_with = "url")]
    pub(crate) demo: bool,

    /// Print JSON Lines: one object per open, message, error and close.
    #[arg(long)]
    pub(crate) json: bool,

    /// Show the status and headers of each response, one that opens the
    /// stream or one refused (with --json, open lines get a "headers" key;
    /// error lines for a refusal always have it).
    #[arg(short = 'i', long)]
    pub(crate) include: bool,

    /// Add a request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub(crate) headers: Vec<String>,

    /// The request method: GET, or POST with a body (-d, --json-body).
    /// Only GET, HEAD and OPTIONS reconnect unless --reconnect is given.
    #[arg(short = 'X', long)]
    pub(crate) method: Option<String>,

    /// The request body, as curl's -d: sent with POST (unless -X says
    /// otherwise) and Content-Type: application/x-www-form-urlencoded
    /// (unless -H sets one); @FILE reads it from a file, as it is.
    #[arg(short = 'd', long, value_name = "BODY")]
    pub(crate) data: Option<String>,

    /// A JSON request body, as curl's --json: sent with POST (unless -X
    /// says otherwise), Content-Type: application/json and Accept:
    /// text/event-stream, application/json (unless -H sets them); @FILE
    /// reads it from a file.
    #[arg(long, value_name = "JSON", conflicts_with = "data")]
    pub(crate) json_body: Option<String>,

    /// Resume from this last event ID (sent as Last-Event-ID).
    #[arg(long, value_name = "ID")]
    pub(crate) last_event_id: Option<String>,

    /// Exit 0 after this many messages.
    #[arg(short = 'n', long, value_name = "N")]
    pub(crate) max_events: Option<u64>,

    /// End on the message whose data is exactly DATA (e.g. '[DONE]'): it is
    /// printed, then ssecat exits 0, even if the server holds the
    /// connection open. A one-shot stream that ends without it is an error.
    #[arg(long, value_name = "DATA")]
    // The text is --help's, where '[DONE]' is what to type, not a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    pub(crate) until: Option<String>,

    /// Reconnect when no bytes arrive for this many seconds (more than 0).
    #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
    pub(crate) idle_timeout: Option<Duration>,

    /// Retry these statuses instead of failing: a comma-separated list of
    /// codes (100-599), or 'transient' for 408, 429, 500, 502, 503, 504.
    /// A request sent once (a POST, --once) is sent again only when it is
    /// refused with one of these before its stream opened: the server did
    /// not act on it.
    #[arg(long, value_name = "LIST", value_parser = status_list)]
    pub(crate) retry_statuses: Option<Statuses>,

    /// Give up after this many reconnect attempts in a row without a message.
    #[arg(long, value_name = "N")]
    pub(crate) max_retries: Option<u32>,

    /// Until a first connection has opened, give up after this many
    /// attempts; one that gets no response is retried after 0.25 s, then
    /// 0.5 s, ..., so a wrong URL or port fails in under a second.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) connect_attempts: u32,

    /// Wait at most this many seconds when the server asks for a longer
    /// delay (`retry:`, `Retry-After`); default 600.
    #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
    pub(crate) max_server_delay: Option<Duration>,

    /// Never reconnect: for request/response streams such as LLM completions.
    #[arg(long, conflicts_with = "reconnect")]
    pub(crate) once: bool,

    /// Reconnect even when the method is not GET, HEAD or OPTIONS (the
    /// request, body and all, is sent again).
    #[arg(long)]
    pub(crate) reconnect: bool,

    /// Resume a one-shot request (-X POST) whose stream is cut before it
    /// completes (a reset, an event cut short, --idle-timeout, an end before
    /// the --until message) with a GET to the same URL: Last-Event-ID and
    /// the -H headers, no body, no Content-* header. The POST is never sent
    /// again; resuming needs an event ID. --max-retries, --retry-statuses
    /// and --max-server-delay apply to the GETs.
    // --once promises no request after the first, --reconnect sends the POST
    // again: both contradict this, so they are refused rather than ranked.
    #[arg(long, conflicts_with_all = ["once", "reconnect"])]
    pub(crate) resume_get: bool,

    /// Also trust the CA certificates in this PEM file (a private CA),
    /// besides the system's.
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Option<std::path::PathBuf>,

    /// Do not verify the server's certificate (any certificate for any
    /// host is accepted: for tests only).
    #[arg(short = 'k', long)]
    pub(crate) insecure: bool,

    /// Accept a 200 response whatever its Content-Type.
    #[arg(long)]
    pub(crate) any_content_type: bool,

    /// Show keep-alive comments (with --json, on stderr as
    /// {"kind":"comment","text":…} lines: stdout keeps its four kinds).
    #[arg(long)]
    pub(crate) comments: bool,

    /// On exit, say what the feed did: events, bytes, reconnects over how
    /// many connections, and the time from the request to the first event
    /// (on stderr; with --json, a `stats` object on the `closed` line).
    #[arg(long)]
    pub(crate) stats: bool,
}

/// `--retry-statuses`, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Statuses(pub(crate) Vec<u16>);

fn status_list(list: &str) -> Result<Statuses, String> {
    let mut statuses = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "transient" {
            statuses.extend(ssefeed::TRANSIENT_STATUSES);
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
