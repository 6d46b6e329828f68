//! `ssecat` as a user runs it: the built example against a local server,
//! its `--json` stdout checked line by line, and its exit status.

#![cfg(feature = "client")]

mod support;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use support::{RawServer, Step, sse_head, write};

const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";

/// The `ssecat` example binary, built by `cargo test` (or built here when
/// only this test target was built).
fn ssecat() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir
        .join("examples")
        .join(format!("ssecat{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--example", "ssecat"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

async fn run(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(ssecat())
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(30), child)
        .await
        .expect("ssecat hung")
        .unwrap()
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn json_lines_show_open_messages_reconnect_and_resume_then_exit_0_on_204() {
    let server =
        RawServer::start(
            |n, request| match (n, request.header("last-event-id").as_deref()) {
                (0, None) => vec![
                    sse_head(),
                    write("retry: 10\nid: 1\nevent: update\ndata: a\n\nid: 2\ndata: b-cut"),
                ],
                (1, Some("1")) => vec![sse_head(), write("id: 2\ndata: b\ndata: \"two\"\n\n")],
                _ => vec![write(NO_CONTENT)],
            },
        )
        .await;
    let output = run(&["--json", &server.url]).await;
    assert_eq!(
        lines(&output),
        [
            r#"{"kind":"open"}"#,
            r#"{"kind":"message","type":"update","data":"a","last_event_id":"1"}"#,
            r#"{"kind":"error","message":"the stream ended in the middle of an event","reconnecting":true}"#,
            r#"{"kind":"open"}"#,
            r#"{"kind":"message","type":"message","data":"b\n\"two\"","last_event_id":"2"}"#,
            r#"{"kind":"error","message":"the server ended the stream","reconnecting":true}"#,
        ]
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn failure_exits_1_with_a_one_line_reason() {
    let server =
        RawServer::start(|_, _| vec![write("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")])
            .await;
    let output = run(&["--json", &server.url]).await;
    assert_eq!(
        lines(&output),
        [
            r#"{"kind":"error","message":"the server answered with status 404","reconnecting":false}"#
        ]
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "ssecat: the server answered with status 404\n"
    );
}

#[tokio::test]
async fn max_events_exits_0_after_n_messages() {
    let server = RawServer::start(|_, _| {
        let mut steps = vec![sse_head()];
        for n in 0..1000 {
            steps.push(write(format!("id: {n}\ndata: {n}\n\n")));
            steps.push(Step::Sleep(Duration::from_millis(5)));
        }
        steps
    })
    .await;
    let output = run(&["--json", "--max-events", "3", &server.url]).await;
    let got = lines(&output);
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(
        got[3],
        r#"{"kind":"message","type":"message","data":"2","last_event_id":"2"}"#
    );
    assert_eq!(output.status.code(), Some(0));
}

#[tokio::test]
async fn sends_method_headers_body_from_a_file_and_last_event_id() {
    let server = RawServer::start(|_, _| vec![sse_head(), write("data: ok\n\n")]).await;
    let body = std::env::temp_dir().join(format!("ssecat-body-{}.json", std::process::id()));
    std::fs::write(&body, r#"{"prompt":"hi"}"#).unwrap();
    let data = format!("@{}", body.display());
    let output = run(&[
        "--json",
        "--once",
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer t0k",
        "-H",
        "X-Trace: 1",
        "-d",
        &data,
        "--last-event-id",
        "41",
        &server.url,
    ])
    .await;
    std::fs::remove_file(&body).ok();
    assert_eq!(
        lines(&output),
        [
            r#"{"kind":"open"}"#,
            r#"{"kind":"message","type":"message","data":"ok","last_event_id":"41"}"#
        ]
    );
    assert_eq!(output.status.code(), Some(0));
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "--once never reconnects");
    assert!(seen[0].head.starts_with("POST /feed "));
    assert_eq!(
        seen[0].header("authorization").as_deref(),
        Some("Bearer t0k")
    );
    assert_eq!(seen[0].header("x-trace").as_deref(), Some("1"));
    assert_eq!(seen[0].header("last-event-id").as_deref(), Some("41"));
    assert_eq!(seen[0].header("content-length").as_deref(), Some("15"));
}

#[tokio::test]
async fn bad_arguments_exit_2() {
    let output = run(&["--header", "no-colon", "http://127.0.0.1:9/"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let output = run(&[]).await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn demo_feed_resumes_without_loss_or_repeats() {
    let output = run(&["--demo", "--json"]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ids: Vec<u64> = lines(&output)
        .iter()
        .filter(|line| line.contains(r#""kind":"message""#))
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["last_event_id"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(ids, (1..=24).collect::<Vec<_>>());
    let reconnects = lines(&output)
        .iter()
        .filter(|line| line.contains(r#""reconnecting":true"#))
        .count();
    assert!(reconnects >= 3, "{reconnects} reconnects");
}
