//! Map a feed's named events onto a Rust enum, so the rest of the program
//! matches on types instead of strings.
//!
//! ```text
//! cargo run --example typed_events --features json
//! ```
//!
//! It tails the demo feed (a smart-home panel: `light` and `thermostat`
//! events, and a live-user count as plain `message` events).

#[path = "../ssecat/src/demo.rs"]
mod demo;

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use ssefeed::{Event, EventSource, MessageEvent};

#[derive(Debug, serde::Deserialize)]
struct Light {
    room: String,
    on: bool,
}

#[derive(Debug, serde::Deserialize)]
struct Thermostat {
    room: String,
    celsius: f64,
}

#[derive(Debug, serde::Deserialize)]
struct Users {
    users: u32,
}

/// Everything the feed can say.
#[derive(Debug)]
enum Home {
    Light(Light),
    Thermostat(Thermostat),
    Users(Users),
    /// An event type this program does not know yet: kept, not an error.
    Unknown(String),
}

impl TryFrom<&MessageEvent> for Home {
    type Error = serde_json::Error;

    fn try_from(message: &MessageEvent) -> Result<Self, Self::Error> {
        Ok(match message.event_type() {
            "light" => Self::Light(message.json()?),
            "thermostat" => Self::Thermostat(message.json()?),
            "message" => Self::Users(message.json()?),
            other => Self::Unknown(other.to_owned()),
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Err(error) = run().await else {
        return ExitCode::SUCCESS;
    };
    // Once, with its causes on one line (returning it from `main` would
    // print its `Debug` form), then a refused response's explanation.
    eprintln!("typed_events: {}", ssefeed::Report::of(&*error));
    let refusal = error
        .downcast_ref::<ssefeed::Error>()
        .and_then(ssefeed::Error::body);
    if let Some(body) = refusal.filter(|body| !body.trim().is_empty()) {
        eprintln!("{}", body.trim_end());
    }
    ExitCode::FAILURE
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = demo::DemoConfig {
        events: 12,
        interval: Duration::from_millis(100),
        ..Default::default()
    };
    let server = demo::start(config)?;
    let url = server.url_for("/home");
    let mut source = EventSource::new(reqwest::Client::new().get(url))?;
    while let Some(event) = source.next().await {
        let Event::Message(message) = event? else {
            continue;
        };
        match Home::try_from(&message)? {
            Home::Light(Light { room, on }) => {
                println!("💡 {room}: {}", if on { "on" } else { "off" })
            }
            Home::Thermostat(Thermostat { room, celsius }) => {
                println!("🌡  {room}: {celsius:.1} °C")
            }
            Home::Users(Users { users }) => println!("👥 {users} people online"),
            Home::Unknown(kind) => println!("(unknown event {kind:?})"),
        }
    }
    Ok(())
}
