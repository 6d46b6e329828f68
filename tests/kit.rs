//! The test kit (`ssefeed::testing`) seen from a raw TCP client: each
//! response setting, byte for byte and in time; the recorded requests; the
//! bounds that make a broken test fail instead of hang.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use flate2::write::GzDecoder;
use ssefeed::testing::{
    Gate, MAX_REQUEST_BODY, MAX_REQUEST_HEAD, MAX_REQUESTS, Response, Script, ServerError,
    ServerEvent, TestServer, Writes,
};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

const GET: &[u8] = b"GET /feed HTTP/1.1\r\nhost: test\r\n\r\n";

/// How a reply ended, for the raw client.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// A clean close (FIN).
    Closed,
    /// A TCP reset.
    Reset,
    /// Still open after `quiet` without a byte.
    Open,
}

/// What the raw client read: each read with its time since the request
/// went out, and how the reply ended.
#[derive(Debug)]
struct Reply {
    reads: Vec<(Duration, Vec<u8>)>,
    end: End,
}

impl Reply {
    fn bytes(&self) -> Vec<u8> {
        self.reads
            .iter()
            .flat_map(|(_, bytes)| bytes.clone())
            .collect()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// The reads after the head, with their times (the rest of the read
    /// the head ended in, if any, first).
    fn body_reads(&self) -> Vec<(Duration, Vec<u8>)> {
        let mut head = 0;
        for (index, (at, bytes)) in self.reads.iter().enumerate() {
            let seen: Vec<u8> = self.reads[..=index]
                .iter()
                .flat_map(|r| r.1.clone())
                .collect();
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let rest = seen.len() - (end + 4);
                let mut body = Vec::new();
                if rest > 0 {
                    body.push((*at, bytes[bytes.len() - rest..].to_vec()));
                }
                body.extend(self.reads[index + 1..].iter().cloned());
                return body;
            }
            head += bytes.len();
        }
        panic!("no whole head in {head} bytes: {:?}", self.text())
    }
}

/// Sends `request` and reads until the server closes or resets, or
/// nothing comes for `quiet`.
fn exchange_on(mut socket: TcpStream, request: &[u8], quiet: Duration) -> Reply {
    socket.set_read_timeout(Some(quiet)).unwrap();
    socket.write_all(request).unwrap();
    let sent = Instant::now();
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let end = loop {
        match socket.read(&mut buf) {
            Ok(0) => break End::Closed,
            Ok(n) => reads.push((sent.elapsed(), buf[..n].to_vec())),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break End::Reset,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break End::Open;
            }
            Err(e) => panic!("read: {e}"),
        }
    };
    Reply { reads, end }
}

fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    exchange_on(TcpStream::connect(addr).unwrap(), request, ms(2000))
}

fn get(server: &TestServer) -> Reply {
    exchange(server.addr(), GET)
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

const SSE_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";

// ---------------------------------------------------------------------------
// What is written.

#[test]
fn events_comments_and_retry_are_written_as_the_format_says() {
    let response = Response::sse()
        .comment("welcome")
        .retry(ms(1500))
        .event(
            ServerEvent::data("line one\nline two")
                .event_type("update")
                .id("7"),
        )
        .message("plain");
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let reply = get(&server);
    assert_eq!(
        reply.text(),
        format!(
            "{SSE_HEAD}: welcome\nretry: 1500\n\
             event: update\nid: 7\ndata: line one\ndata: line two\n\ndata: plain\n\n"
        )
    );
    assert_eq!(reply.end, End::Closed);
}

#[test]
fn status_reason_headers_and_a_body_that_is_not_an_event_stream() {
    let response = Response::status(401)
        .header("content-type", "application/json")
        .header("www-authenticate", "Bearer")
        .append_header("set-cookie", "a=1")
        .append_header("set-cookie", "b=2")
        .body(r#"{"error":"invalid key"}"#);
    let retry_after = Response::status(503)
        .reason("Come Back Later")
        .header("retry-after", "2");
    let no_type = Response::sse().without_header("content-type").message("x");
    let script = Script::new()
        .connection(response)
        .connection(retry_after)
        .connection(Response::redirect(307, "/moved"))
        .connection(no_type);
    let server = TestServer::start(script).unwrap();
    assert_eq!(
        get(&server).text(),
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\
         www-authenticate: Bearer\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\
         connection: close\r\n\r\n{\"error\":\"invalid key\"}"
    );
    assert_eq!(
        get(&server).text(),
        "HTTP/1.1 503 Come Back Later\r\nretry-after: 2\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        get(&server).text(),
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: /moved\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        get(&server).text(),
        "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\ndata: x\n\n"
    );
}

#[test]
fn after_the_scripted_connections_come_204s_or_what_then_says() {
    let server =
        TestServer::start(Script::new().connection(Response::sse().message("once"))).unwrap();
    assert!(get(&server).text().ends_with("data: once\n\n"));
    for _ in 0..2 {
        let reply = get(&server);
        assert_eq!(
            reply.text(),
            "HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
        );
        assert_eq!(reply.end, End::Closed);
    }
    let server = TestServer::start(Script::new().then(Response::status(500))).unwrap();
    for _ in 0..2 {
        assert!(
            get(&server)
                .text()
                .starts_with("HTTP/1.1 500 Internal Server Error\r\n")
        );
    }
}

#[test]
fn from_fn_answers_each_request_by_what_it_asks() {
    let script = Script::from_fn(|request| match (request.path(), request.last_event_id()) {
        ("/feed", None) => Response::sse().message(format!("first, request {}", request.index())),
        ("/feed", Some(id)) => Response::sse().message(format!("after {id}")),
        _ => Response::status(404),
    });
    let server = TestServer::start(script).unwrap();
    assert!(get(&server).text().ends_with("data: first, request 0\n\n"));
    let resumed = exchange(
        server.addr(),
        b"GET /feed HTTP/1.1\r\nlast-event-id: 41\r\n\r\n",
    );
    assert!(resumed.text().ends_with("data: after 41\n\n"));
    let elsewhere = exchange(server.addr(), b"GET /other HTTP/1.1\r\n\r\n");
    assert!(elsewhere.text().starts_with("HTTP/1.1 404 Not Found\r\n"));
}

#[test]
fn a_panic_in_the_script_drops_that_connection_only() {
    let script = Script::from_fn(|request| {
        assert_ne!(request.index(), 0, "a test's assertion fails");
        Response::sse().message("fine")
    });
    let server = TestServer::start(script).unwrap();
    let first = get(&server);
    assert!(first.reads.is_empty(), "{first:?}");
    assert_ne!(first.end, End::Open);
    assert!(get(&server).text().ends_with("data: fine\n\n"));
    block_on(server.wait_closed()).unwrap();
}

#[test]
fn verbatim_writes_only_its_bytes_and_body_bytes_pass_untouched() {
    let raw: &[u8] = b"\xEF\xBB\xBFdata: caf\xC3\r\rdata: \xFF\x00\r\n\r\n";
    let script = Script::new()
        .connection(Response::verbatim("SSH-2.0-OpenSSH_9.6\r\n"))
        .connection(Response::sse().body(raw));
    let server = TestServer::start(script).unwrap();
    assert_eq!(get(&server).bytes(), b"SSH-2.0-OpenSSH_9.6\r\n");
    let mut expected = SSE_HEAD.as_bytes().to_vec();
    expected.extend_from_slice(raw);
    assert_eq!(get(&server).bytes(), expected);
}

// ---------------------------------------------------------------------------
// How the body is cut into writes, and when.

/// The body's reads, each with its bytes.
fn pieces(reply: &Reply) -> Vec<String> {
    reply
        .body_reads()
        .iter()
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .collect()
}

/// The gaps between consecutive body reads.
fn gaps(reply: &Reply) -> Vec<Duration> {
    reply
        .body_reads()
        .windows(2)
        .map(|pair| pair[1].0 - pair[0].0)
        .collect()
}

#[test]
fn byte_by_byte_writes_each_byte_alone_with_the_gap_between() {
    let response = Response::sse()
        .body("data: ab\n\n")
        .writes(Writes::ByteByByte)
        .write_gap(ms(30));
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let reply = get(&server);
    assert_eq!(
        pieces(&reply),
        ["d", "a", "t", "a", ":", " ", "a", "b", "\n", "\n"]
    );
    assert!(
        gaps(&reply).iter().all(|gap| *gap >= ms(25)),
        "{:?}",
        gaps(&reply)
    );
}

#[test]
fn writes_start_at_the_given_offsets() {
    let response = Response::sse()
        .body("id: 1\ndata: one\n\nid: 2\ndata: two\n\n")
        .writes(Writes::At(vec![17, 3, 99]))
        .write_gap(ms(30));
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    assert_eq!(
        pieces(&get(&server)),
        ["id:", " 1\ndata: one\n\n", "id: 2\ndata: two\n\n"]
    );
}

#[test]
fn seeded_random_writes_are_the_same_on_every_run() {
    let body = "data: 0123456789abcdefghij\n\n";
    let cut = |seed| {
        let response = Response::sse()
            .body(body)
            .writes(Writes::Random { seed, max_len: 5 })
            .write_gap(ms(15));
        let server = TestServer::start(Script::new().connection(response)).unwrap();
        pieces(&get(&server))
    };
    let first = cut(7);
    assert_eq!(first.concat(), body);
    assert!(first.len() >= body.len() / 5, "{first:?}");
    assert!(
        first.iter().all(|piece| (1..=5).contains(&piece.len())),
        "{first:?}"
    );
    assert_eq!(cut(7), first);
    assert_ne!(cut(8), first);
}

#[test]
fn whole_writes_the_body_at_once() {
    let body = "data: one\n\n".repeat(50);
    let response = Response::sse().body(&body).write_gap(ms(200));
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    assert_eq!(pieces(&get(&server)), [body]);
}

#[test]
fn pauses_and_the_delay_hold_back_what_follows() {
    let response = Response::sse()
        .delay(ms(150))
        .message("a")
        .pause(ms(200))
        .message("b");
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let reply = get(&server);
    assert!(
        reply.reads[0].0 >= ms(150),
        "the head after the delay: {reply:?}"
    );
    assert_eq!(pieces(&reply), ["data: a\n\n", "data: b\n\n"]);
    assert!(gaps(&reply)[0] >= ms(190), "{:?}", gaps(&reply));
}

#[test]
fn a_gate_holds_the_rest_until_the_test_opens_it() {
    let gate = Gate::new();
    let response = Response::sse().message("a").wait_for(&gate).message("b");
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let mut socket = TcpStream::connect(server.addr()).unwrap();
    let held = exchange_on(socket.try_clone().unwrap(), GET, ms(300));
    assert_eq!(held.end, End::Open);
    assert!(held.text().ends_with("data: a\n\n"), "{held:?}");
    assert!(!gate.is_open());
    gate.open();
    let mut rest = String::new();
    socket.set_read_timeout(Some(ms(2000))).unwrap();
    socket.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "data: b\n\n");
}

// ---------------------------------------------------------------------------
// How the connection ends.

#[test]
fn cut_after_closes_in_the_middle_of_an_event() {
    let response = Response::sse()
        .event(ServerEvent::data("one").id("1"))
        .event(ServerEvent::data("two").id("2"))
        .cut_after(25)
        .writes(Writes::At(vec![10]));
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let reply = get(&server);
    assert_eq!(
        reply.text(),
        format!("{SSE_HEAD}id: 1\ndata: one\n\nid: 2\nda")
    );
    assert_eq!(reply.end, End::Closed);
}

#[test]
fn reset_ends_the_connection_with_a_tcp_reset() {
    let response = Response::sse().message("a").pause(ms(100)).reset();
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let reply = get(&server);
    assert!(reply.text().ends_with("data: a\n\n"), "{reply:?}");
    assert_eq!(reply.end, End::Reset);
}

#[test]
fn hold_open_keeps_the_connection_silent_until_the_client_leaves() {
    let response = Response::sse().message("last").hold_open();
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let socket = TcpStream::connect(server.addr()).unwrap();
    let reply = exchange_on(socket.try_clone().unwrap(), GET, ms(500));
    assert!(reply.text().ends_with("data: last\n\n"));
    assert_eq!(reply.end, End::Open);
    assert!(
        block_on(
            TestServer::builder()
                .wait_timeout(ms(1))
                .start(Script::new())
                .unwrap()
                .wait_closed()
        )
        .is_ok(),
        "a server with no connections is closed"
    );
    socket.shutdown(Shutdown::Both).unwrap();
    drop(socket);
    block_on(server.wait_closed()).unwrap();
}

#[test]
fn gzip_is_sent_to_a_client_that_asks_and_each_write_decodes_alone() {
    let response = Response::sse()
        .message("first")
        .pause(ms(100))
        .message("second")
        .gzip();
    let server = TestServer::start(Script::new().then(response)).unwrap();
    let plain = get(&server);
    assert_eq!(
        plain.text(),
        format!("{SSE_HEAD}data: first\n\ndata: second\n\n")
    );
    let asked = exchange(
        server.addr(),
        b"GET / HTTP/1.1\r\naccept-encoding: br, gzip;q=0.8\r\n\r\n",
    );
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                content-encoding: gzip\r\nconnection: close\r\n\r\n";
    assert!(asked.bytes().starts_with(head.as_bytes()), "{asked:?}");
    let mut decoder = GzDecoder::new(Vec::new());
    let body = asked.body_reads();
    decoder.write_all(&body[0].1).unwrap();
    decoder.flush().unwrap();
    assert_eq!(
        decoder.get_ref(),
        b"data: first\n\n",
        "the first write alone"
    );
    for (_, bytes) in &body[1..] {
        decoder.write_all(bytes).unwrap();
    }
    assert_eq!(
        decoder.finish().unwrap(),
        b"data: first\n\ndata: second\n\n"
    );
}

#[test]
fn repeat_floods_until_the_client_hangs_up() {
    let response = Response::sse().body("data: ").repeat(b'x', 1 << 30);
    let server = TestServer::start(Script::new().connection(response)).unwrap();
    let mut socket = TcpStream::connect(server.addr()).unwrap();
    socket.write_all(GET).unwrap();
    let mut start = [0u8; 4096];
    socket.read_exact(&mut start).unwrap();
    assert!(String::from_utf8_lossy(&start).contains("\r\n\r\ndata: xxxx"));
    drop(socket);
    block_on(server.wait_closed()).unwrap();
    let written = server.bytes_written();
    assert!(written > 4096 && written < 1 << 28, "{written} bytes");
}

// ---------------------------------------------------------------------------
// What is recorded.

#[test]
fn requests_are_recorded_with_their_method_target_headers_body_and_time() {
    let server = TestServer::start(Script::new().then(Response::sse())).unwrap();
    let before = Instant::now();
    get(&server);
    exchange(
        server.addr(),
        b"POST /chat?stream=1 HTTP/1.1\r\nLast-Event-ID: 9\r\nx-two: a\r\nX-Two: b\r\n\
          content-length: 5\r\n\r\nhello",
    );
    exchange(
        server.addr(),
        b"POST /up HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\ntrailer: z\r\n\r\n",
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let [first, post, chunked] = &requests[..] else {
        unreachable!()
    };
    assert_eq!(
        (first.index(), first.method(), first.target()),
        (0, "GET", "/feed")
    );
    assert_eq!(
        (first.last_event_id(), first.header("host")),
        (None, Some("test"))
    );
    assert_eq!(first.raw_head(), GET);
    assert_eq!(first.version(), "HTTP/1.1");
    assert_eq!(post.index(), 1);
    assert_eq!((post.path(), post.query()), ("/chat", Some("stream=1")));
    assert_eq!(post.last_event_id(), Some("9"));
    assert_eq!(post.header_all("x-two").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        post.headers()[0],
        ("Last-Event-ID".to_owned(), "9".to_owned())
    );
    assert_eq!(post.body(), b"hello");
    assert_eq!(chunked.body(), b"abcde");
    assert!(before <= first.at() && first.at() <= post.at() && post.at() <= chunked.at());
}

#[test]
fn a_test_awaits_the_nth_request_and_a_missing_one_times_out() {
    let server = TestServer::builder()
        .wait_timeout(ms(300))
        .start(Script::new())
        .unwrap();
    let addr = server.addr();
    let client = std::thread::spawn(move || {
        std::thread::sleep(ms(100));
        exchange(addr, GET);
        exchange(addr, b"GET /second HTTP/1.1\r\n\r\n");
    });
    let second = block_on(server.request(1)).unwrap();
    assert_eq!(second.path(), "/second");
    client.join().unwrap();
    let start = Instant::now();
    let missing = block_on(server.request(2));
    assert!(
        matches!(&missing, Err(ServerError::Timeout { what, waited }) if what == "request 2" && *waited == ms(300)),
        "{missing:?}"
    );
    assert!(start.elapsed() >= ms(300) && start.elapsed() < ms(3000));
}

#[test]
fn stop_refuses_connections_and_restart_serves_again_on_the_same_address() {
    let script = Script::from_fn(|request| {
        Response::sse()
            .message(request.index().to_string())
            .hold_open()
    });
    let mut server = TestServer::start(script).unwrap();
    let held = TcpStream::connect(server.addr()).unwrap();
    let reply = exchange_on(held.try_clone().unwrap(), GET, ms(200));
    assert_eq!(reply.end, End::Open);
    server.stop();
    // The open connection was closed, and no new one is taken.
    let mut rest = Vec::new();
    held.try_clone().unwrap().read_to_end(&mut rest).unwrap();
    assert!(TcpStream::connect(server.addr()).is_err());
    let addr = server.addr();
    server.restart().unwrap();
    assert_eq!(server.addr(), addr);
    let after = exchange_on(TcpStream::connect(addr).unwrap(), GET, ms(200));
    assert!(after.text().ends_with("data: 1\n\n"), "{after:?}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn stop_closes_a_connection_blocked_in_a_write_at_once() {
    let flood = Response::sse().repeat(b'x', 1 << 30);
    let mut server = TestServer::start(Script::new().connection(flood)).unwrap();
    // A client that asks and never reads: the server's writes block.
    let mut socket = TcpStream::connect(server.addr()).unwrap();
    socket.write_all(GET).unwrap();
    std::thread::sleep(ms(300));
    let start = Instant::now();
    server.stop();
    assert!(start.elapsed() < ms(2000), "{:?}", start.elapsed());
    assert!(server.bytes_written() < 1 << 30);
}

// ---------------------------------------------------------------------------
// Bounds.

#[test]
fn a_connection_is_closed_at_its_time_limit_wherever_it_stands() {
    for response in [
        Response::sse().message("a").hold_open(),
        Response::sse()
            .message("a")
            .pause(Duration::from_secs(3600)),
        Response::sse().message("a").wait_for(&Gate::new()),
        Response::sse().delay(Duration::MAX),
    ] {
        let server = TestServer::builder()
            .connection_time_limit(ms(300))
            .start(Script::new().connection(response.clone()))
            .unwrap();
        let reply = get(&server);
        assert_eq!(reply.end, End::Closed, "{response:?}");
        let last = reply.reads.last().map_or(Duration::ZERO, |read| read.0);
        assert!(last < ms(300), "{response:?}");
        block_on(server.wait_closed()).unwrap();
    }
}

#[test]
fn a_client_that_sends_nothing_is_closed_at_the_time_limit() {
    let server = TestServer::builder()
        .connection_time_limit(ms(200))
        .start(Script::new())
        .unwrap();
    let start = Instant::now();
    let reply = exchange_on(
        TcpStream::connect(server.addr()).unwrap(),
        b"GET /",
        ms(2000),
    );
    assert_eq!(reply.end, End::Closed);
    assert!(reply.reads.is_empty());
    assert!(start.elapsed() >= ms(190), "{:?}", start.elapsed());
    assert!(server.requests().is_empty());
}

#[test]
fn heads_and_bodies_over_the_limits_are_refused_unrecorded() {
    let server = TestServer::start(Script::new()).unwrap();
    let mut big_head = b"GET / HTTP/1.1\r\nx-big: ".to_vec();
    big_head.extend(std::iter::repeat_n(b'a', MAX_REQUEST_HEAD + 1));
    big_head.extend_from_slice(b"\r\n\r\n");
    let reply = exchange(server.addr(), &big_head);
    assert!(
        reply.text().starts_with("HTTP/1.1 431 "),
        "{}",
        reply.text()
    );
    let big_body = format!(
        "POST / HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
        MAX_REQUEST_BODY + 1
    );
    let reply = exchange(server.addr(), big_body.as_bytes());
    assert!(
        reply.text().starts_with("HTTP/1.1 413 "),
        "{}",
        reply.text()
    );
    assert!(server.requests().is_empty());
    // At the limit, it is read.
    let mut at_limit =
        format!("POST / HTTP/1.1\r\ncontent-length: {MAX_REQUEST_BODY}\r\n\r\n").into_bytes();
    at_limit.resize(at_limit.len() + MAX_REQUEST_BODY, b'b');
    assert!(
        exchange(server.addr(), &at_limit)
            .text()
            .starts_with("HTTP/1.1 204 ")
    );
    assert_eq!(server.requests()[0].body().len(), MAX_REQUEST_BODY);
}

#[test]
fn the_log_keeps_at_most_max_requests_then_connections_are_closed_unanswered() {
    let server = TestServer::start(Script::new()).unwrap();
    for _ in 0..MAX_REQUESTS {
        let mut socket = TcpStream::connect(server.addr()).unwrap();
        socket.write_all(GET).unwrap();
        let mut sink = Vec::new();
        socket.read_to_end(&mut sink).unwrap();
    }
    assert_eq!(server.requests().len(), MAX_REQUESTS);
    let reply = get(&server);
    assert!(reply.reads.is_empty(), "{}", reply.text());
    assert_eq!(server.requests().len(), MAX_REQUESTS);
}
