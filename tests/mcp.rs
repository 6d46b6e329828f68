//! `examples/mcp_client.rs` against a local Streamable HTTP server that
//! plays the MCP spec's sequences: a JSON answer with a session ID, 202 for
//! a notification, an answer on a stream held open after it, and a priming
//! event with `retry: 500` and a close before the answer, which the client
//! must resume with a GET carrying `Last-Event-ID` no sooner than 500 ms.

#![cfg(feature = "client")]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use ssefeed::testing::{RecordedRequest, Response, Script, ServerEvent, TestServer};

/// A JSON response.
fn json_response(body: &Value) -> Response {
    let body = body.to_string();
    Response::status(200)
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .body(body)
}

fn event(id: &str, message: &Value) -> ServerEvent {
    ServerEvent::data(message.to_string())
        .id(id)
        .event_type("message")
}

/// The server's answer to one request, by its JSON-RPC method.
fn answer(request: &RecordedRequest) -> Response {
    if request.method() == "GET" {
        // The resumed stream: what came after the priming event.
        let result = json!({"content": [{"type": "text", "text": "3"}], "isError": false});
        return Response::sse().event(event(
            "call-1",
            &json!({"jsonrpc": "2.0", "id": 3, "result": result}),
        ));
    }
    let message: Value = serde_json::from_slice(request.body()).unwrap_or_default();
    match message["method"].as_str() {
        Some("initialize") => {
            let result = json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "test-server", "version": "1"}
            });
            let body = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
            json_response(&body).header("mcp-session-id", "s-42")
        }
        Some("notifications/initialized") => Response::status(202).header("content-length", "0"),
        Some("tools/list") => {
            let log = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "listing"}});
            let tools = json!({"tools": [{"name": "add", "inputSchema": {"type": "object"}}]});
            Response::sse()
                .event(event("list-0", &log))
                .event(event(
                    "list-1",
                    &json!({"jsonrpc": "2.0", "id": message["id"], "result": tools}),
                ))
                // The server holds the stream open after the answer.
                .hold_open()
        }
        // The priming event, then a close before the answer.
        Some("tools/call") => Response::sse().body("id: call-0\nretry: 500\ndata:\n\n"),
        _ => Response::status(400).header("content-length", "0"),
    }
}

#[tokio::test]
async fn a_tool_call_closed_after_its_priming_event_is_resumed_with_a_get() {
    let server = TestServer::start(Script::from_fn(answer)).unwrap();
    let run = tokio::process::Command::new(support::example("mcp_client"))
        .args([&server.url_for("/feed"), "add", r#"{"a":1,"b":2}"#])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("mcp_client hung")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "tool add");
    let result: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(result["content"][0]["text"], "3");
    assert!(stderr.contains("connected to test-server"), "{stderr}");
    assert!(stderr.contains("resuming in"), "{stderr}");
    assert!(stderr.contains("notifications/message"), "{stderr}");

    let seen = server.requests();
    let methods: Vec<String> = seen
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(request.body()).unwrap_or_default();
            format!(
                "{} {}",
                request.method(),
                body["method"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            "POST initialize",
            "POST notifications/initialized",
            "POST tools/list",
            "POST tools/call",
            "GET "
        ]
    );
    for request in &seen[..4] {
        assert_eq!(
            request.header("accept"),
            Some("application/json, text/event-stream")
        );
    }
    for request in &seen[1..] {
        assert_eq!(request.header("mcp-session-id"), Some("s-42"));
        assert_eq!(request.header("mcp-protocol-version"), Some("2025-11-25"));
    }
    let resume = &seen[4];
    assert_eq!(resume.header("last-event-id"), Some("call-0"));
    assert_eq!(resume.header("accept"), Some("text/event-stream"));
    assert!(resume.body().is_empty());
    let waited = resume.at() - seen[3].at();
    assert!(
        waited >= Duration::from_millis(500),
        "resumed after {waited:?}"
    );
}
