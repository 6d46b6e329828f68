//! `examples/mcp_client.rs` against a local Streamable HTTP server that
//! plays the MCP spec's sequences: a JSON answer with a session ID, 202 for
//! a notification, an answer on a stream held open after it, and a priming
//! event with `retry: 500` and a close before the answer, which the client
//! must resume with a GET carrying `Last-Event-ID` no sooner than 500 ms.

#![cfg(feature = "client")]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{RawServer, SSE_HEAD, SeenRequest, Step, write};

/// A JSON response with these extra header lines.
fn json_response(body: &Value, extra: &str) -> Step {
    let body = body.to_string();
    write(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn event(id: &str, message: &Value) -> Step {
    write(format!("id: {id}\nevent: message\ndata: {message}\n\n"))
}

/// The server's answer to one request, by its JSON-RPC method.
fn answer(request: &SeenRequest) -> Vec<Step> {
    if request.method() == "GET" {
        // The resumed stream: what came after the priming event.
        let result = json!({"content": [{"type": "text", "text": "3"}], "isError": false});
        return vec![
            Step::Write(SSE_HEAD.to_vec()),
            event(
                "call-1",
                &json!({"jsonrpc": "2.0", "id": 3, "result": result}),
            ),
        ];
    }
    let message: Value = serde_json::from_slice(&request.body).unwrap_or_default();
    match message["method"].as_str() {
        Some("initialize") => {
            let result = json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "test-server", "version": "1"}
            });
            let body = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
            vec![json_response(&body, "mcp-session-id: s-42\r\n")]
        }
        Some("notifications/initialized") => vec![write(
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )],
        Some("tools/list") => {
            let log = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "listing"}});
            let tools = json!({"tools": [{"name": "add", "inputSchema": {"type": "object"}}]});
            vec![
                Step::Write(SSE_HEAD.to_vec()),
                event("list-0", &log),
                event(
                    "list-1",
                    &json!({"jsonrpc": "2.0", "id": message["id"], "result": tools}),
                ),
                // The server holds the stream open after the answer.
                Step::Sleep(Duration::from_secs(60)),
            ]
        }
        // The priming event, then a close before the answer.
        Some("tools/call") => vec![
            Step::Write(SSE_HEAD.to_vec()),
            write("id: call-0\nretry: 500\ndata:\n\n"),
        ],
        _ => vec![write(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )],
    }
}

#[tokio::test]
async fn a_tool_call_closed_after_its_priming_event_is_resumed_with_a_get() {
    let server = RawServer::start(|_, request| answer(request)).await;
    let run = tokio::process::Command::new(support::example("mcp_client"))
        .args([&server.url, "add", r#"{"a":1,"b":2}"#])
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

    let seen = server.seen();
    let methods: Vec<String> = seen
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
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
            request.header("accept").as_deref(),
            Some("application/json, text/event-stream")
        );
    }
    for request in &seen[1..] {
        assert_eq!(request.header("mcp-session-id").as_deref(), Some("s-42"));
        assert_eq!(
            request.header("mcp-protocol-version").as_deref(),
            Some("2025-11-25")
        );
    }
    let resume = &seen[4];
    assert_eq!(resume.header("last-event-id").as_deref(), Some("call-0"));
    assert_eq!(
        resume.header("accept").as_deref(),
        Some("text/event-stream")
    );
    assert!(resume.body.is_empty());
    let waited = resume.at - seen[3].at;
    assert!(
        waited >= Duration::from_millis(500),
        "resumed after {waited:?}"
    );
}
