//! A minimal MCP client over Streamable HTTP (spec 2025-11-25): initialize,
//! `notifications/initialized`, `tools/list`, then `tools/call`.
//!
//! ```text
//! cargo run --example mcp_client -- http://127.0.0.1:8000/mcp            # list the tools
//! cargo run --example mcp_client -- http://127.0.0.1:8000/mcp add '{"a":1,"b":2}'
//! ```
//!
//! Each JSON-RPC message is POSTed with `Accept: application/json,
//! text/event-stream`; the server answers a notification with 202, and a
//! request with one JSON object or with an event stream. A stream may carry
//! the server's own notifications before the answer, and may be closed
//! early after a priming event (an `id:`, empty data, a `retry:`): the
//! client then waits the `retry:` time and resumes with a GET to the same
//! endpoint carrying `Last-Event-ID`, until the answer arrives. ssefeed does
//! all of that given `resume_with` and `complete_on`.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use ssefeed::{Event, EventSource, RetryPolicy};

const PROTOCOL_VERSION: &str = "2025-11-25";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A Streamable HTTP session: the endpoint, the headers every request after
/// `initialize` carries, and the next request ID.
#[derive(Clone)]
struct Session {
    client: reqwest::Client,
    url: String,
    session_id: Option<String>,
    negotiated: bool,
    next_id: u64,
}

impl Session {
    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, &self.url);
        if let Some(id) = &self.session_id {
            request = request.header("mcp-session-id", id);
        }
        if self.negotiated {
            request = request.header("mcp-protocol-version", PROTOCOL_VERSION);
        }
        request
    }

    fn post(&self, message: &Value) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(message.to_string())
    }

    /// Sends a notification: the server accepts it with 202 and no body.
    async fn notify(&self, method: &str) -> Result<()> {
        let message = json!({"jsonrpc": "2.0", "method": method});
        let response = self.post(&message).send().await?;
        if response.status() != 202 {
            return Err(format!("{method}: the server answered {}", response.status()).into());
        }
        Ok(())
    }

    /// Sends a request and waits for its response, read from JSON or from
    /// an event stream (resumed as often as the server closes it early).
    async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self.post(&message).send().await?;
        if let Some(session) = response.headers().get("mcp-session-id") {
            self.session_id = Some(session.to_str()?.to_owned());
        }
        let content_type = response.headers().get("content-type").cloned();
        let is_json =
            content_type.is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
        let answer: Value = if is_json && response.status() == 200 {
            serde_json::from_slice(&response.bytes().await?)?
        } else {
            self.answer_from_stream(response, id).await?
        };
        match answer.get("error") {
            Some(error) => Err(format!("{method}: {error}").into()),
            None => Ok(answer["result"].clone()),
        }
    }

    async fn answer_from_stream(&self, response: reqwest::Response, id: u64) -> Result<Value> {
        let session = self.clone();
        let mut source = EventSource::builder_from_response(response)
            // Resume with a GET: Last-Event-ID is added; the POST is never
            // sent again.
            .resume_with(move |_ctx| session.request(reqwest::Method::GET))
            .complete_on(move |message| is_response_to(&parse(message.data()), id))
            .retry_policy(RetryPolicy::new().max_retries(5))
            .idle_timeout(Duration::from_secs(300))
            .build()?;
        while let Some(event) = source.next().await {
            // A refusal's error keeps the server's explanation.
            let event = event.map_err(|error| match error.body() {
                Some(body) => format!("{}: {body}", error.report()),
                None => error.report().to_string(),
            })?;
            match event {
                // A priming event has empty data: nothing to read.
                Event::Message(message) if message.data().is_empty() => {}
                Event::Message(message) => {
                    let message = parse(message.data());
                    if is_response_to(&message, id) {
                        return Ok(message);
                    }
                    eprintln!("server: {message}");
                }
                Event::Reconnecting { delay, .. } => {
                    let secs = delay.as_secs_f64();
                    eprintln!("stream closed early; resuming in {secs:.1} s")
                }
                _ => {}
            }
        }
        Err("the stream ended without an answer".into())
    }
}

fn parse(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or(Value::Null)
}

/// Whether a JSON-RPC message is the response to request `id`.
fn is_response_to(message: &Value, id: u64) -> bool {
    message["id"] == id && (message.get("result").is_some() || message.get("error").is_some())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // With its causes: a network error's reason is one of them.
            eprintln!("mcp_client: {}", ssefeed::Report::of(&*error));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: mcp_client URL [TOOL [ARGUMENTS_JSON]]")?;
    let tool = args.next();
    let arguments: Value = serde_json::from_str(&args.next().unwrap_or_else(|| "{}".into()))?;
    let client = reqwest::Client::new();
    let mut session = Session {
        client,
        url,
        session_id: None,
        negotiated: false,
        next_id: 0,
    };

    let client_info = json!({"name": "ssefeed-mcp-example", "version": "0.1"});
    let init =
        json!({"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": client_info});
    let server = session.call("initialize", init).await?;
    let name = server["serverInfo"]["name"].as_str().unwrap_or("?");
    eprintln!("connected to {name}");
    session.negotiated = true;
    session.notify("notifications/initialized").await?;

    let tools = session.call("tools/list", json!({})).await?;
    for tool in tools["tools"].as_array().into_iter().flatten() {
        println!("tool {}", tool["name"].as_str().unwrap_or("?"));
    }
    if let Some(name) = tool {
        let params = json!({"name": name, "arguments": arguments});
        println!("{}", session.call("tools/call", params).await?);
    }
    Ok(())
}
