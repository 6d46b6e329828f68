//! The request and the event source the options describe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

pub(crate) fn build(args: &Args, url: &str) -> Result<(EventSource, GaveUp), String> {
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
    // Only an error the policy would retry is given up on: a status it
    // does not retry was final at the first attempt.
    let connect_attempts = args.connect_attempts;
    let gave_up = GaveUp::default();
    let flag = gave_up.clone();
    policy = policy.on_retry(move |ctx| {
        let retried = ctx.default_delay().is_some();
        if retried && !ctx.has_opened() && ctx.attempt() >= connect_attempts {
            flag.0.store(true, Ordering::Relaxed);
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
    let source = builder
        .build()
        .map_err(|error| error.report().to_string())?;
    Ok((source, gave_up))
}
