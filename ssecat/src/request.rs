//! The request and the event source the options describe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ssefeed::{EventSource, RetryDecision, RetryPolicy};

use crate::args::Args;

/// Set when `--connect-attempts` stopped a feed that never opened, so that
/// its last error reads as giving up, not as a refusal the policy kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct GaveUp(Arc<AtomicBool>);

impl GaveUp {
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Before any connection has opened, the first wait after a request that
/// got no response, doubled after each.
const FIRST_CONNECT_DELAY: Duration = Duration::from_millis(250);

/// A request body and the headers curl sends with it (unless -H sets them).
struct Body {
    bytes: Vec<u8>,
    headers: &'static [(&'static str, &'static str)],
}

/// `-d`, as curl's: a form.
const FORM: &[(&str, &str)] = &[("Content-Type", "application/x-www-form-urlencoded")];

/// `--json-body`, as curl's `--json`, except that the stream ssecat reads
/// comes first in Accept: curl's `application/json` alone invites a server
/// that can answer either way to answer JSON, which ssecat cannot tail,
/// while MCP servers refuse a POST whose Accept lacks it.
const JSON: &[(&str, &str)] = &[
    ("Content-Type", "application/json"),
    ("Accept", "text/event-stream, application/json"),
];

fn body(args: &Args) -> Result<Option<Body>, String> {
    let (text, headers) = match (&args.data, &args.json_body) {
        (Some(data), _) => (data, FORM),
        (None, Some(json)) => (json, JSON),
        (None, None) => return Ok(None),
    };
    let bytes = match text.strip_prefix('@') {
        Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?,
        None => text.clone().into_bytes(),
    };
    Ok(Some(Body { bytes, headers }))
}

/// The HTTP client, trusting what --cacert and --insecure say.
fn client(args: &Args) -> Result<reqwest::Client, String> {
    let mut client = reqwest::Client::builder();
    if let Some(path) = &args.cacert {
        let name = path.display();
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{name}: {}", ssefeed::Report::of(&e)))?;
        if certs.is_empty() {
            return Err(format!("{name}: no PEM certificate in it"));
        }
        client = client.tls_certs_merge(certs);
    }
    if args.insecure {
        client = client.tls_danger_accept_invalid_certs(true);
    }
    client
        .build()
        .map_err(|e| format!("cannot set up TLS: {}", ssefeed::Report::of(&e)))
}

/// The URL, or what is wrong with it in a user's words.
fn parse_url(text: &str) -> Result<reqwest::Url, String> {
    // Without "://", "localhost:8080" would parse as the scheme "localhost".
    if !text.contains("://") {
        let guess = format!("http://{text}");
        return Err(match reqwest::Url::parse(&guess) {
            Ok(_) => format!("{text:?} has no scheme: did you mean {guess}?"),
            Err(_) => format!("{text:?} is not a URL such as https://example.com/feed"),
        });
    }
    reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a valid URL: {e}"))
}

pub(crate) fn build(args: &Args, url: &str) -> Result<(EventSource, GaveUp), String> {
    let url = parse_url(url)?;
    let body = body(args)?;
    let method = match &args.method {
        Some(name) => reqwest::Method::from_bytes(name.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("invalid method {name:?}"))?,
        // A body means POST, as in curl.
        None if body.is_some() => reqwest::Method::POST,
        None => reqwest::Method::GET,
    };
    let reconnects = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
    // These reconnect by themselves, with Last-Event-ID; with one of them
    // (GET is the default) --resume-get most likely means a forgotten
    // `-X POST`, which should not pass silently.
    if args.resume_get && reconnects {
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
    let client = client(args)?;
    let mut request = client.request(method, url.clone());
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        for &(name, value) in body.headers {
            if !headers
                .iter()
                .any(|(given, _)| given.eq_ignore_ascii_case(name))
            {
                request = request.header(name, value);
            }
        }
        request = request.body(body.bytes);
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
    // or port than a server blip: give up after a few attempts, and retry a
    // request that got no response at all (nothing listening, a DNS
    // failure) soon, so that a mistake shows in under a second, not after
    // the reconnection time (3 s, doubling) meant for a feed that dropped.
    // A refused status keeps the policy's delay: its server is up and may
    // have said when to come back. Only an error the policy would retry is
    // given up on: a status it does not retry was final at once.
    let connect_attempts = args.connect_attempts;
    let gave_up = GaveUp::default();
    let flag = gave_up.clone();
    policy = policy.on_retry(move |ctx| {
        let Some(delay) = ctx.default_delay() else {
            return RetryDecision::Default;
        };
        if ctx.has_opened() {
            RetryDecision::Default
        } else if ctx.attempt() >= connect_attempts {
            flag.0.store(true, Ordering::Relaxed);
            RetryDecision::Stop
        } else if ctx.cause().status().is_none() {
            let doubled = FIRST_CONNECT_DELAY.saturating_mul(1 << (ctx.attempt() - 1).min(16));
            RetryDecision::RetryAfter(doubled.min(delay))
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
        builder = builder.resume_with(move |_| {
            let get = client.get(url.clone());
            headers
                .iter()
                .fold(get, |get, (name, value)| get.header(name, value))
        });
    }
    let source = builder
        .build()
        .map_err(|error| error.report().to_string())?;
    Ok((source, gave_up))
}
