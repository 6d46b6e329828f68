//! Persist the last event ID and resume after a restart: no event lost, none
//! repeated.
//!
//! ```text
//! cargo run --example resume            # against the demo feed; state in a temp file
//! cargo run --example resume -- URL FILE
//! ```
//!
//! Each run reads the ID saved by the previous one, sends it as
//! `Last-Event-ID`, takes up to five messages, saving the ID after each, and
//! exits. Against the demo feed it runs twice in one process to show the
//! second run picking up where the first stopped.

#[path = "../ssecat/src/demo.rs"]
mod demo;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::{Event, EventSource};

/// One "process lifetime": resume from `state`, take up to `limit` messages.
async fn run_once(url: &str, state: &Path, limit: usize) -> Result<(), Box<dyn std::error::Error>> {
    let saved = std::fs::read_to_string(state).unwrap_or_default();
    println!("starting, resuming after id {:?}", saved.trim());
    let request = reqwest::Client::new().get(url);
    let mut source = EventSource::builder(request)
        .last_event_id(saved.trim())
        .build()?;
    let mut taken = 0;
    while let Some(event) = source.next().await {
        let Event::Message(message) = event? else {
            continue;
        };
        println!("  got id={} {}", message.last_event_id(), message.data());
        // Save after handling, so a crash re-delivers rather than loses.
        // (Write-then-rename keeps the file whole if we die mid-write.)
        let temp = state.with_extension("tmp");
        std::fs::write(&temp, message.last_event_id())?;
        std::fs::rename(&temp, state)?;
        taken += 1;
        if taken == limit {
            break;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Err(error) = run().await else {
        return ExitCode::SUCCESS;
    };
    // Once, with its causes on one line (returning it from `main` would
    // print its `Debug` form), then a refused response's explanation.
    eprintln!("resume: {}", ssefeed::Report::of(&*error));
    let refusal = error
        .downcast_ref::<ssefeed::Error>()
        .and_then(ssefeed::Error::body);
    if let Some(body) = refusal.filter(|body| !body.trim().is_empty()) {
        eprintln!("{}", body.trim_end());
    }
    ExitCode::FAILURE
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if let (Some(url), Some(file)) = (args.next(), args.next()) {
        return run_once(&url, Path::new(&file), 5).await;
    }
    let config = demo::DemoConfig {
        events: 10,
        interval: Duration::from_millis(50),
        drop_every: 0,
        ..Default::default()
    };
    let server = demo::start(config)?;
    let url = server.url_for("/events");
    let state = std::env::temp_dir().join(format!("ssefeed-resume-{}.id", std::process::id()));
    run_once(&url, &state, 5).await?;
    println!("-- restart --");
    run_once(&url, &state, 5).await?;
    std::fs::remove_file(&state)?;
    Ok(())
}
