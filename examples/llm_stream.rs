//! Stream an LLM completion: POST a JSON body with headers, deserialize each
//! delta with serde, print tokens as they arrive, stop on `[DONE]`.
//!
//! ```text
//! cargo run --example llm_stream --features json            # against a local mock
//! cargo run --example llm_stream --features json -- URL     # OpenAI-style API; key in $API_KEY
//! ```
//!
//! One-shot mode: a completion is a request/response stream, so the POST is
//! never sent twice, and a body cut off mid-event is an error, not a quiet
//! end.

#[path = "../ssecat/src/demo.rs"]
mod demo;

use std::io::Write;
use std::process::ExitCode;

use futures_util::StreamExt;
use ssefeed::{Event, EventSource};

#[derive(serde::Deserialize)]
struct Chunk {
    choices: Vec<Choice>,
}

#[derive(serde::Deserialize)]
struct Choice {
    delta: Delta,
}

#[derive(serde::Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Err(error) = run().await else {
        return ExitCode::SUCCESS;
    };
    // Once, with its causes on one line (returning it from `main` would
    // print its `Debug` form), then the API's own explanation of a refusal.
    eprintln!("llm_stream: {}", ssefeed::Report::of(&*error));
    let refusal = error
        .downcast_ref::<ssefeed::Error>()
        .and_then(ssefeed::Error::body);
    if let Some(body) = refusal.filter(|body| !body.trim().is_empty()) {
        eprintln!("{}", body.trim_end());
    }
    ExitCode::FAILURE
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The demo server, when there is no URL: it serves until dropped.
    let mut demo_server = None;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => demo_server
            .insert(demo::start(demo::DemoConfig::default())?)
            .url_for("/v1/chat/completions"),
    };
    let key = std::env::var("API_KEY").unwrap_or_else(|_| "demo-key".to_owned());
    let body = serde_json::json!({
        "model": "any",
        "stream": true,
        "messages": [{"role": "user", "content": "Say something about SSE."}],
    });
    let request = reqwest::Client::new()
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string());
    // A POST is one-shot: never sent twice, a cut body is an error.
    let mut source = EventSource::new(request)?;

    let mut stdout = std::io::stdout();
    while let Some(event) = source.next().await {
        let Event::Message(message) = event? else {
            continue;
        };
        if message.data() == "[DONE]" {
            break;
        }
        let chunk: Chunk = message.json()?;
        for choice in chunk.choices {
            if let Some(token) = choice.delta.content {
                write!(stdout, "{token}")?;
                stdout.flush()?;
            }
        }
    }
    writeln!(stdout)?;
    Ok(())
}
