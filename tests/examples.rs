//! The usage examples as a user runs them, when something goes wrong: the
//! failure is told once, as a sentence, with the server's explanation of a
//! refusal, and never as a `Debug` dump.

#![cfg(all(feature = "client", feature = "json"))]

mod support;

use std::process::Output;
use std::time::Duration;

use ssefeed::testing::{Response, Script, TestServer};

async fn run(example: &str, args: &[&str]) -> Output {
    let child = tokio::process::Command::new(support::example(example))
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(30), child)
        .await
        .expect("the example hung")
        .unwrap()
}

const BODY: &str = r#"{"error": {"message": "invalid api key"}}"#;

async fn unauthorized() -> TestServer {
    TestServer::start(
        Script::new().then(
            Response::status(401)
                .header("content-type", "application/json")
                .header("content-length", BODY.len().to_string())
                .body(BODY),
        ),
    )
    .unwrap()
}

#[tokio::test]
async fn llm_stream_tells_a_refusal_once_with_the_api_explanation() {
    let server = unauthorized().await;
    let output = run("llm_stream", &[&server.url_for("/feed")]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("llm_stream: the server answered with status 401 Unauthorized\n{BODY}\n")
    );
}

#[tokio::test]
async fn resume_tells_a_refusal_once() {
    let server = unauthorized().await;
    let state = std::env::temp_dir().join(format!("ssefeed-resume-test-{}.id", std::process::id()));
    let output = run(
        "resume",
        &[&server.url_for("/feed"), &state.display().to_string()],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("resume: the server answered with status 401 Unauthorized\n{BODY}\n")
    );
}

#[tokio::test]
async fn llm_stream_tells_a_bad_chunk_once() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("data: {\"choices\": 7}\n\n")))
            .unwrap();
    let output = run("llm_stream", &[&server.url_for("/feed")]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.starts_with("llm_stream: invalid type: integer `7`, expected a sequence"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn mcp_client_tells_why_the_network_failed() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = run("mcp_client", &[&format!("http://127.0.0.1:{port}/mcp")]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.starts_with("mcp_client: "), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}
