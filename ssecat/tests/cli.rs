//! `ssecat` as a user runs it: the built binary (the `ssecat` package)
//! against a local server, its `--json` stdout checked line by line, and
//! its exit status.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use ssefeed::testing::{RecordedRequest, Response, Script, TestServer};
use support::request_line;

/// The binary under test, built by `cargo test` with its tests.
fn ssecat() -> &'static str {
    env!("CARGO_BIN_EXE_ssecat")
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

/// The `--json` lines, parsed.
fn objects(output: &Output) -> Vec<Value> {
    lines(output)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// Each line's contract keys only (`kind` and the keys the contract fixes
/// for it), so a test reads like the contract in DESIGN.md.
fn contract(output: &Output) -> Vec<Value> {
    objects(output)
        .into_iter()
        .map(|line| {
            let keys: &[&str] = match line["kind"].as_str().unwrap() {
                "open" | "closed" => &["kind"],
                "message" => &["kind", "type", "data", "last_event_id"],
                "error" => &["kind", "message", "reconnecting"],
                other => panic!("unknown kind {other}"),
            };
            let picked: serde_json::Map<String, Value> = keys
                .iter()
                .map(|&key| (key.to_owned(), line[key].clone()))
                .collect();
            Value::Object(picked)
        })
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn json_lines_show_open_messages_reconnect_and_resume_then_close_on_204() {
    let server = TestServer::start(Script::from_fn(|request| {
        match (request.index(), request.last_event_id()) {
            (0, None) => Response::sse()
                .body("retry: 10\nid: 1\nevent: update\ndata: a\n\nid: 2\ndata: b-cut"),
            (1, Some("1")) => Response::sse().body("id: 2\ndata: b\ndata: \"two\"\n\n"),
            _ => Response::no_content(),
        }
    }))
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", &url]).await;
    assert_eq!(
        contract(&output),
        [
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "update", "data": "a", "last_event_id": "1"}),
            json!({"kind": "error", "message": "the stream ended before it was complete", "reconnecting": true}),
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "b\n\"two\"", "last_event_id": "2"}),
            json!({"kind": "error", "message": "the server ended the stream", "reconnecting": true}),
            json!({"kind": "closed"}),
        ]
    );
    let all = objects(&output);
    assert_eq!(all[0]["status"], 200);
    assert_eq!(all[0]["http_version"], "HTTP/1.1");
    assert_eq!(all[0]["url"], url.as_str());
    assert!(all[0].get("headers").is_none(), "headers only with -i");
    assert_eq!(
        all[6],
        json!({"kind": "closed", "reason": "no_content", "message": "server ended the feed (204 No Content)"})
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[tokio::test]
async fn reconnect_lines_give_the_delay_and_attempt_the_server_sees() {
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().body("retry: 200\ndata: a\n\n"))
            .connection(Response::sse()),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", &url]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let reconnects: Vec<Value> = objects(&output)
        .into_iter()
        .filter(|line| line["kind"] == "error")
        .collect();
    assert_eq!(reconnects.len(), 2, "{reconnects:?}");
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    // 200 ms, then doubled after a connection without a message; jitter
    // adds at most a quarter.
    for (n, (line, (base, attempt))) in reconnects.iter().zip([(200, 1), (400, 2)]).enumerate() {
        assert_eq!(line["attempt"], attempt, "{line}");
        let delay = line["delay_ms"].as_u64().unwrap();
        assert!((base..=base * 5 / 4).contains(&delay), "{line}");
        let waited = seen[n + 1].at() - seen[n].at();
        assert!(waited >= Duration::from_millis(delay), "{waited:?} {line}");
    }
}

#[tokio::test]
async fn human_mode_prints_delays_for_people() {
    let server = TestServer::start(
        Script::new().connection(Response::sse().body("retry: 1500\ndata: a\n\n")),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(0));
    let text = stderr(&output);
    let shown = text
        .split_once("; reconnecting in ")
        .and_then(|(_, rest)| rest.split_once(" s\n"))
        .map(|(delay, _)| delay)
        .unwrap_or_else(|| panic!("no delay in seconds: {text}"));
    // 1.5 s plus at most a quarter of jitter, to two decimals at most.
    let secs: f64 = shown.parse().unwrap();
    assert!((1.5..=1.875).contains(&secs), "{text}");
    assert!(
        shown
            .split('.')
            .nth(1)
            .is_none_or(|decimals| decimals.len() <= 2),
        "{text}"
    );
}

#[tokio::test]
async fn human_mode_says_why_the_feed_closed() {
    let server =
        TestServer::start(Script::new().connection(Response::sse().body("retry: 1\ndata: a\n\n")))
            .unwrap();
    let url = server.url_for("/feed");
    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).ends_with("ssecat: server ended the feed (204 No Content)\n"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn refusal_shows_the_error_body_on_stderr_and_in_json_and_exits_1() {
    let body = r#"{"error": {"type": "authentication_error", "message": "invalid x-api-key"}}"#;
    let server = TestServer::start(
        Script::new().then(
            Response::status(401)
                .header("content-type", "application/json")
                .header("content-length", body.len().to_string())
                .header("x-request-id", "req-42")
                .body(body),
        ),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!("ssecat: the server answered with status 401 Unauthorized\n  {body}\n")
    );

    let output = run(&["--json", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    let all = objects(&output);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["kind"], "error");
    assert_eq!(all[0]["reconnecting"], false);
    assert_eq!(all[0]["status"], 401);
    assert_eq!(all[0]["body"], body);
    assert_eq!(all[0]["headers"]["x-request-id"], "req-42");
    assert_eq!(all[1]["kind"], "closed");
    assert_eq!(all[1]["reason"], "error");
    assert_eq!(server.requests().len(), 2, "one request per run");
}

#[tokio::test]
async fn long_error_bodies_are_cut_to_their_first_lines_on_stderr() {
    let body: String = (1..=30).map(|n| format!("line {n}\n")).collect();
    let server = TestServer::start(
        Script::new().then(
            Response::status(400)
                .header("content-type", "text/plain")
                .body(&body),
        ),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&[&url]).await;
    let text = stderr(&output);
    assert!(text.contains("  line 20\n  … (10 more lines)\n"), "{text}");
    assert!(!text.contains("line 21"), "{text}");
}

#[tokio::test]
async fn a_dead_port_gives_up_after_the_connect_attempts() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let output = run(&["--json", "--connect-attempts", "2", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    let all = objects(&output);
    let kinds: Vec<_> = all
        .iter()
        .map(|line| line["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["error", "error", "closed"], "{all:?}");
    assert_eq!(all[0]["reconnecting"], true);
    assert_eq!(all[0]["attempt"], 1);
    assert_eq!(all[1]["reconnecting"], false);
    assert!(all[1].get("attempt").is_none() && all[1].get("delay_ms").is_none());
    let message = all[2]["message"].as_str().unwrap();
    assert!(
        message.starts_with("gave up after 2 attempts: "),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");

    let output = run(&["--connect-attempts", "1", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.starts_with("ssecat: gave up after 1 attempt: "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn a_dead_port_fails_in_under_a_second_by_default() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = std::time::Instant::now();
    let output = run(&["--json", &format!("http://127.0.0.1:{port}/")]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(1));
    let all = objects(&output);
    let delays: Vec<_> = all
        .iter()
        .filter_map(|line| line["delay_ms"].as_u64())
        .collect();
    assert_eq!(delays, [250, 500], "{all:?}");
    let message = all.last().unwrap()["message"].as_str().unwrap();
    assert!(
        message.starts_with("gave up after 3 attempts: "),
        "{message}"
    );
}

/// A response refused with `status` (e.g. 503).
fn refused(status: u16) -> Response {
    Response::status(status).header("content-length", "0")
}

#[tokio::test]
async fn a_refusal_the_policy_does_not_retry_is_one_attempt_not_a_giving_up() {
    let server = TestServer::start(Script::new().then(refused(429))).unwrap();
    let url = server.url_for("/feed");
    let output = run(&[&url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "ssecat: the server answered with status 429 Too Many Requests\n"
    );
    assert_eq!(server.requests().len(), 1);

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = run(&["--json", "--once", &format!("http://127.0.0.1:{port}/")]).await;
    assert_eq!(output.status.code(), Some(1));
    let closed = objects(&output).pop().unwrap();
    let message = closed["message"].as_str().unwrap();
    assert!(
        message.starts_with("the request to the event stream failed"),
        "a one-shot request is sent once: {message}"
    );
}

#[tokio::test]
async fn giving_up_on_a_retried_status_counts_the_requests_sent() {
    let server = TestServer::start(Script::new().then(refused(503))).unwrap();
    let url = server.url_for("/feed");
    let output = run(&[
        "--json",
        "--retry-statuses",
        "503",
        "--connect-attempts",
        "2",
        &url,
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    let closed = objects(&output).pop().unwrap();
    assert_eq!(
        closed["message"],
        "gave up after 2 attempts: the server answered with status 503 Service Unavailable"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn max_retries_counts_the_requests_sent_not_only_the_reconnects() {
    let server = TestServer::start(Script::new().then(refused(503))).unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--retry-statuses", "503", "--max-retries", "1", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).ends_with(
            "ssecat: gave up after 2 attempts: \
             the server answered with status 503 Service Unavailable\n"
        ),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.requests().len(), 2, "the request and one reconnect");

    // After a message, the count starts again: the reconnects since it.
    let server = TestServer::start(
        Script::new()
            .connection(Response::sse().body("retry: 10\ndata: a\n\n"))
            .then(refused(503)),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&[
        "--json",
        "--retry-statuses",
        "503",
        "--max-retries",
        "1",
        &url,
    ])
    .await;
    let all = objects(&output);
    assert_eq!(
        all.last().unwrap()["message"],
        "gave up after 1 attempt since the last message: \
         the server answered with status 503 Service Unavailable"
    );
    // The error line carries the cause; the count is the closed line's.
    assert_eq!(
        all[all.len() - 2]["message"],
        "the server answered with status 503 Service Unavailable"
    );
    assert_eq!(server.requests().len(), 2, "the feed and one reconnect");
}

#[tokio::test]
async fn a_request_that_cannot_be_sent_fails_at_once() {
    let output = run(&["--json", "ftp://127.0.0.1:9/feed"]).await;
    assert_eq!(output.status.code(), Some(1));
    let all = objects(&output);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["reconnecting"], false);
    assert!(
        all[0]["message"]
            .as_str()
            .unwrap()
            .contains("URL scheme is not allowed"),
        "{all:?}"
    );
}

/// The test CA's certificate, as a user hands it to `--cacert`.
const TEST_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/support/tls/ca.pem");

#[tokio::test]
async fn a_private_ca_is_trusted_with_cacert_and_any_certificate_with_insecure() {
    let (port, accepted) = support::tls_feed().await;
    let by_ip = format!("https://127.0.0.1:{port}/feed");
    let by_name = format!("https://localhost:{port}/feed");
    let over_tls =
        json!({"kind": "message", "type": "message", "data": "over tls", "last_event_id": ""});

    // Untrusted by default: final at once, never retried.
    let output = run(&["--json", &by_ip]).await;
    assert_eq!(output.status.code(), Some(1));
    let all = objects(&output);
    assert_eq!(all.len(), 2, "{all:?}");
    let message = all[0]["message"].as_str().unwrap();
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);

    for url in [&by_ip, &by_name] {
        let output = run(&["--json", "-n", "1", "--cacert", TEST_CA, url]).await;
        assert_eq!(output.status.code(), Some(0), "{url}: {}", stderr(&output));
        assert_eq!(contract(&output)[1], over_tls, "{url}");
    }
    for flag in ["-k", "--insecure"] {
        let output = run(&["--json", "-n", "1", flag, &by_ip]).await;
        assert_eq!(output.status.code(), Some(0), "{flag}: {}", stderr(&output));
        assert_eq!(contract(&output)[1], over_tls, "{flag}");
    }
}

#[tokio::test]
async fn cacert_that_is_not_a_pem_certificate_exits_2() {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/support/tls/server-key.der"
    );
    let output = run(&["--cacert", key, "https://127.0.0.1:9/"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!("ssecat: {key}: no PEM certificate in it\n")
    );
    let output = run(&["--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:9/"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("ssecat: cannot read /nonexistent/ca.pem: "),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn include_shows_the_opening_response() {
    let server = TestServer::start(
        Script::new().then(
            Response::sse()
                .header("x-ratelimit-remaining", "99")
                .body("data: a\n\n"),
        ),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&["-i", "--max-events", "1", &url]).await;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        text.starts_with(
            "HTTP/1.1 200 OK\ncontent-type: text/event-stream\nx-ratelimit-remaining: 99\n"
        ),
        "{text}"
    );
    let output = run(&["--json", "--include", "--max-events", "1", &url]).await;
    let all = objects(&output);
    assert_eq!(all[0]["headers"]["x-ratelimit-remaining"], "99");
    assert_eq!(all[0]["headers"]["content-type"], "text/event-stream");
}

#[tokio::test]
async fn include_shows_a_refused_response_too() {
    let server = TestServer::start(
        Script::new().then(
            Response::status(401)
                .header("www-authenticate", r#"Bearer realm="feed""#)
                .header("content-length", "0"),
        ),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&["-i", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 401 Unauthorized\nwww-authenticate: Bearer realm=\"feed\"\n"),
        "{text}"
    );
    assert!(text.ends_with("\n\n"), "{text}");
    assert_eq!(
        stderr(&output),
        "ssecat: the server answered with status 401 Unauthorized\n"
    );
}

#[tokio::test]
async fn json_comments_go_to_stderr_and_leave_stdout_to_the_four_kinds() {
    let server = TestServer::start(
        Script::new().then(
            Response::sse()
                .body(": keep-alive\n:\ndata: a\n\n")
                .hold_open(),
        ),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", "--comments", "-n", "1", &url]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        contract(&output),
        [
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "a", "last_event_id": ""}),
            json!({"kind": "closed"}),
        ]
    );
    assert_eq!(
        stderr(&output),
        "{\"kind\":\"comment\",\"text\":\"keep-alive\"}\n{\"kind\":\"comment\",\"text\":\"\"}\n"
    );

    let output = run(&["--comments", "-n", "1", &url]).await;
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        ": keep-alive\n: \nmessage\n  a\n"
    );
}

/// Colour is for terminals: util-linux `script` runs ssecat on one.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn no_color_turns_colour_off_on_a_terminal() {
    let server = TestServer::start(
        Script::new().then(Response::sse().body("id: 7\ndata: a\n\n").hold_open()),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let command = format!("'{}' -n 1 {url}", ssecat());
    for (no_color, coloured) in [(None, true), (Some(""), true), (Some("1"), false)] {
        let mut script = tokio::process::Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR")
            .kill_on_drop(true);
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        let output = tokio::time::timeout(Duration::from_secs(30), script.output())
            .await
            .expect("ssecat hung")
            .expect("util-linux script runs ssecat on a terminal");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("id=7"), "NO_COLOR={no_color:?}: {text:?}");
        assert_eq!(
            text.contains('\x1b'),
            coloured,
            "NO_COLOR={no_color:?}: {text:?}"
        );
    }
}

#[tokio::test]
async fn max_events_exits_0_after_n_messages() {
    let mut response = Response::sse();
    for n in 0..1000 {
        response = response
            .body(format!("id: {n}\ndata: {n}\n\n"))
            .pause(Duration::from_millis(5));
    }
    let server = TestServer::start(Script::new().then(response)).unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", "--max-events", "3", &url]).await;
    let got = objects(&output);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(
        got[3],
        json!({"kind": "message", "type": "message", "data": "2", "last_event_id": "2"})
    );
    assert_eq!(
        got[4],
        json!({"kind": "closed", "reason": "max_events", "message": "received 3 messages"})
    );
    assert_eq!(output.status.code(), Some(0));
}

#[tokio::test]
async fn sends_method_headers_body_from_a_file_and_last_event_id() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("data: ok\n\n"))).unwrap();
    let url = server.url_for("/feed");
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
        &url,
    ])
    .await;
    std::fs::remove_file(&body).ok();
    assert_eq!(
        contract(&output),
        [
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "ok", "last_event_id": "41"}),
            json!({"kind": "closed"}),
        ]
    );
    assert_eq!(objects(&output)[2]["reason"], "completed");
    assert_eq!(output.status.code(), Some(0));
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "--once never reconnects");
    assert!(request_line(&seen[0]).starts_with("POST /feed "));
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0k"));
    assert_eq!(seen[0].header("x-trace"), Some("1"));
    assert_eq!(seen[0].header("last-event-id"), Some("41"));
    assert_eq!(seen[0].header("content-length"), Some("15"));
}

/// How many times the request's head names `name`.
fn header_count(request: &RecordedRequest, name: &str) -> usize {
    request.header_all(name).count()
}

#[tokio::test]
async fn data_is_a_form_post_sent_once_as_curl_sends_it() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("retry: 1\ndata: ok\n\n")))
            .unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", "-d", "q=sse&n=1", &url]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(objects(&output).last().unwrap()["reason"], "completed");
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "a POST is not sent again");
    assert_eq!(seen[0].method(), "POST");
    assert_eq!(seen[0].body(), b"q=sse&n=1");
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen[0].header("accept"), Some("text/event-stream"));

    // -H replaces the form's Content-Type; -X keeps its method.
    let output = run(&[
        "--once",
        "-X",
        "PUT",
        "-d",
        "hello",
        "-H",
        "content-type: text/plain",
        &url,
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let put = server.requests().pop().unwrap();
    assert_eq!(put.method(), "PUT");
    assert_eq!(put.header("content-type"), Some("text/plain"));
    assert_eq!(header_count(&put, "content-type"), 1);
}

#[tokio::test]
async fn json_body_posts_json_and_accepts_a_stream_first() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("data: ok\n\n"))).unwrap();
    let url = server.url_for("/feed");
    let body = std::env::temp_dir().join(format!("ssecat-json-{}.json", std::process::id()));
    std::fs::write(&body, r#"{"stream":true}"#).unwrap();
    let output = run(&["--json-body", &format!("@{}", body.display()), &url]).await;
    std::fs::remove_file(&body).ok();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let post = server.requests().pop().unwrap();
    assert_eq!(post.method(), "POST");
    assert_eq!(post.body(), br#"{"stream":true}"#);
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(
        post.header("accept"),
        Some("text/event-stream, application/json")
    );

    // A caller's Accept is kept, and the library adds the stream to it.
    let output = run(&["--json-body", "{}", "-H", "Accept: application/json", &url]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let post = server.requests().pop().unwrap();
    assert_eq!(
        post.header("accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(header_count(&post, "accept"), 1);
}

#[tokio::test]
async fn retry_statuses_sends_a_refused_post_again_and_never_after_its_stream() {
    for once in [false, true] {
        let server = TestServer::start(
            Script::new()
                .connection(Response::status(503).header("retry-after", "0"))
                .then(Response::sse().body("data: a\n\n")),
        )
        .unwrap();
        let url = server.url_for("/feed");
        let mut args = vec!["--json", "-d", "x", "--retry-statuses", "503"];
        if once {
            args.push("--once");
        }
        args.push(&url);
        let output = run(&args).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let kinds: Vec<_> = objects(&output)
            .iter()
            .map(|line| line["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["error", "open", "message", "closed"]);
        assert_eq!(objects(&output)[0]["reconnecting"], true);
        // The POST twice, body and all; its clean end is the end.
        let seen = server.requests();
        assert_eq!(seen.len(), 2, "--once: {once}");
        assert!(
            seen.iter()
                .all(|r| r.method() == "POST" && r.body() == b"x")
        );
    }
}

#[tokio::test]
async fn a_post_is_sent_once_unless_reconnect_is_asked() {
    let token = Response::sse().body("retry: 1\ndata: tok\n\n");
    let server =
        TestServer::start(Script::new().connection(token.clone()).connection(token)).unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", "-X", "POST", "-d", "{}", &url]).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(objects(&output).last().unwrap()["reason"], "completed");
    assert_eq!(server.requests().len(), 1);

    let output = run(&["--json", "-X", "POST", "-d", "{}", "--reconnect", &url]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(objects(&output).last().unwrap()["reason"], "no_content");
    assert_eq!(server.requests().len(), 3, "sent again, then the 204");
}

#[tokio::test]
async fn until_prints_the_sentinel_and_exits_0_while_the_server_holds_the_connection() {
    let server = TestServer::start(
        Script::new().then(
            Response::sse()
                .body("data: token\n\ndata: [DONE]\n\ndata: never printed\n\n")
                .hold_open(),
        ),
    )
    .unwrap();
    let url = server.url_for("/feed");
    let started = std::time::Instant::now();
    let output = run(&["--json", "-X", "POST", "--until", "[DONE]", &url]).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        contract(&output),
        [
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "token", "last_event_id": ""}),
            json!({"kind": "message", "type": "message", "data": "[DONE]", "last_event_id": ""}),
            json!({"kind": "closed"}),
        ]
    );
    assert_eq!(
        objects(&output)[3],
        json!({"kind": "closed", "reason": "completed", "message": "received \"[DONE]\""})
    );

    let output = run(&["-X", "POST", "--until", "[DONE]", &url]).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stdout).ends_with("message\n  [DONE]\n"),
        "{output:?}"
    );
    assert!(
        stderr(&output).ends_with("ssecat: received \"[DONE]\"\n"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn until_fails_a_one_shot_stream_that_ends_before_the_sentinel() {
    let server =
        TestServer::start(Script::new().then(Response::sse().body("data: partial\n\n"))).unwrap();
    let url = server.url_for("/feed");
    let output = run(&["--json", "-X", "POST", "--until", "[DONE]", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        contract(&output),
        [
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "partial", "last_event_id": ""}),
            json!({"kind": "error", "message": "the stream ended before it was complete", "reconnecting": false}),
            json!({"kind": "closed"}),
        ]
    );
    assert_eq!(objects(&output)[3]["reason"], "error");

    let output = run(&["-X", "POST", "--until", "[DONE]", &url]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).ends_with("ssecat: the stream ended before it was complete\n"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.requests().len(), 2, "one request per run");
}

#[tokio::test]
async fn resume_get_resumes_a_cut_post_with_a_get_carrying_the_headers_but_no_body() {
    let server = TestServer::start(Script::from_fn(|request| {
        if request.method() == "POST" {
            // Closed before the sentinel: the stream was cut.
            Response::sse().body("retry: 100\nid: 1\ndata: a\n\n")
        } else {
            Response::sse().body("id: 2\ndata: b\n\ndata: [DONE]\n\n")
        }
    }))
    .unwrap();
    let url = server.url_for("/feed");
    let args = [
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer t0k",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"stream":true}"#,
        "--until",
        "[DONE]",
        "--resume-get",
        &url,
    ];
    let output = run(&[&["--json"], &args[..]].concat()).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        contract(&output),
        [
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "a", "last_event_id": "1"}),
            json!({"kind": "error", "message": "the stream ended before it was complete", "reconnecting": true}),
            json!({"kind": "open"}),
            json!({"kind": "message", "type": "message", "data": "b", "last_event_id": "2"}),
            json!({"kind": "message", "type": "message", "data": "[DONE]", "last_event_id": "2"}),
            json!({"kind": "closed"}),
        ]
    );
    assert_eq!(objects(&output)[6]["reason"], "completed");
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "the POST is sent once, then one GET");
    let (post, get) = (&seen[0], &seen[1]);
    assert!(
        request_line(post).starts_with("POST /feed "),
        "{}",
        request_line(post)
    );
    assert_eq!(post.header("content-length"), Some("15"));
    assert_eq!(post.header("last-event-id"), None);
    assert!(
        request_line(get).starts_with("GET /feed "),
        "{}",
        request_line(get)
    );
    assert_eq!(get.header("last-event-id"), Some("1"));
    assert_eq!(get.header("authorization"), Some("Bearer t0k"));
    for name in ["content-type", "content-length", "transfer-encoding"] {
        assert_eq!(get.header(name), None, "{name}: the GET has no body");
    }
    assert!(
        get.at() - post.at() >= Duration::from_millis(100),
        "retry: 100"
    );

    let output = run(&args).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(", resuming with a GET after id 1\n"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn resume_get_is_refused_with_a_method_that_reconnects_once_or_reconnect() {
    let server = TestServer::start(Script::new()).unwrap();
    let url = server.url_for("/feed");
    let url = url.as_str();
    for args in [
        &["--resume-get", url][..],
        &["-X", "get", "--resume-get", url],
        &["-X", "HEAD", "--resume-get", url],
        &["-X", "options", "--resume-get", url],
        &["-X", "POST", "--once", "--resume-get", url],
        &["-X", "POST", "--reconnect", "--resume-get", url],
    ] {
        let output = run(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(stderr(&output).contains("--resume-get"), "{args:?}");
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn bad_arguments_exit_2() {
    for args in [
        &["--header", "no-colon", "http://127.0.0.1:9/"][..],
        &[],
        &["--idle-timeout", "0", "http://127.0.0.1:9/"],
        &["--idle-timeout", "-1", "http://127.0.0.1:9/"],
        &["--idle-timeout", "soon", "http://127.0.0.1:9/"],
        &["--retry-statuses", "99", "http://127.0.0.1:9/"],
        &["--retry-statuses", "503,600", "http://127.0.0.1:9/"],
        &["--retry-statuses", ",", "http://127.0.0.1:9/"],
        &["--connect-attempts", "0", "http://127.0.0.1:9/"],
        &["--max-server-delay", "0", "http://127.0.0.1:9/"],
        &["--once", "--reconnect", "http://127.0.0.1:9/"],
        &["-d", "a", "--json-body", "{}", "http://127.0.0.1:9/"],
    ] {
        let output = run(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn a_url_without_a_scheme_exits_2_suggesting_http() {
    for (url, said) in [
        (
            "127.0.0.1:9/feed",
            "ssecat: \"127.0.0.1:9/feed\" has no scheme: did you mean http://127.0.0.1:9/feed?\n",
        ),
        (
            "localhost:9",
            "ssecat: \"localhost:9\" has no scheme: did you mean http://localhost:9?\n",
        ),
        (
            "http://127.0.0.1:99999/",
            "ssecat: \"http://127.0.0.1:99999/\" is not a valid URL: invalid port number\n",
        ),
    ] {
        let output = run(&["--json", url]).await;
        assert_eq!(output.status.code(), Some(2), "{url}");
        assert!(output.stdout.is_empty(), "{url}");
        assert_eq!(stderr(&output), said);
    }
}

#[tokio::test]
async fn demo_feed_resumes_without_loss_or_repeats() {
    let output = run(&["--demo", "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let all = objects(&output);
    let ids: Vec<u64> = all
        .iter()
        .filter(|line| line["kind"] == "message")
        .map(|line| line["last_event_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=24).collect::<Vec<_>>());
    // Each connection delivers the 7 events the banner promises.
    let mut per_connection = Vec::new();
    for line in &all {
        match line["kind"].as_str().unwrap() {
            "open" => per_connection.push(0),
            "message" => *per_connection.last_mut().unwrap() += 1,
            _ => {}
        }
    }
    assert_eq!(per_connection, [7, 7, 7, 3], "{per_connection:?}");
    assert_eq!(all.last().unwrap()["reason"], "no_content");
}

#[tokio::test]
async fn stats_say_what_the_feed_did_and_include_times_the_first_event() {
    let script = || {
        Script::new()
            .connection(
                Response::sse()
                    .retry(Duration::from_millis(5))
                    .pause(Duration::from_millis(120))
                    .message("a")
                    .message("b"),
            )
            .connection(Response::sse().message("c"))
            .then(Response::no_content())
    };
    let server = TestServer::start(script()).unwrap();
    let output = run(&["--json", "--stats", "-i", &server.url()]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = objects(&output);
    let closed = lines.last().unwrap();
    let stats = &closed["stats"];
    assert_eq!(
        (&stats["events"], &stats["bytes"], &stats["connections"]),
        (&json!(3), &json!(36), &json!(2))
    );
    assert_eq!(
        (&stats["reconnects"], &stats["requests"]),
        (&json!(2), &json!(3))
    );
    assert!(stats["first_event_ms"].as_u64().unwrap() >= 110, "{stats}");
    // With -i, each connection's first message says when it came.
    let firsts: Vec<_> = lines
        .iter()
        .filter(|line| line["kind"] == "message")
        .map(|line| line.get("first_event_ms").is_some())
        .collect();
    assert_eq!(firsts, [true, false, true]);
    // Human mode: a sentence on stderr.
    let server = TestServer::start(script()).unwrap();
    let output = run(&["--stats", &server.url()]).await;
    let text = stderr(&output);
    assert!(
        text.contains("ssecat: 3 events, 36 bytes, 2 reconnects over 2 connections; first event "),
        "{text}"
    );
    // Without --stats, no stats.
    let server = TestServer::start(script()).unwrap();
    let output = run(&["--json", &server.url()]).await;
    assert!(objects(&output).last().unwrap().get("stats").is_none());
}
