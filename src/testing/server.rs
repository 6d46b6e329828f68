//! The server: a listener on loopback, a thread per connection, and the log
//! of requests that tests read and await.

use std::future::poll_fn;
use std::io::Write;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::task::{Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::connection::{Connection, Lifecycle};
use super::request::{ReadFailure, RecordedRequest, read_request};
use super::script::Script;
use super::{
    DEFAULT_CONNECTION_TIME_LIMIT, DEFAULT_WAIT_TIMEOUT, MAX_REQUESTS, REQUEST_TIMEOUT, ServerError,
};

/// A scripted HTTP/1.1 server on loopback for testing SSE clients: each
/// connection gets the next [`Response`](super::Response) of its
/// [`Script`], and every request is recorded.
///
/// It runs on threads of its own (no async runtime needed, any test harness
/// will do) until it is dropped, which closes the listener and every
/// connection. [`stop`](Self::stop) and [`restart`](Self::restart) play a
/// crash and a comeback on the same port. What it waits for is bounded (see
/// the [module docs](super#bounds)), so a broken test fails instead of
/// hanging.
///
/// ```
/// use ssefeed::testing::{Response, Script, TestServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = TestServer::start(Script::new().connection(Response::sse().message("hi")))?;
/// let url = server.url_for("/events?topic=a");
/// // ... point the client under test at `url` ...
/// # let mut socket = std::net::TcpStream::connect(server.addr())?;
/// # std::io::Write::write_all(&mut socket, b"GET /events?topic=a HTTP/1.1\r\nhost: x\r\n\r\n")?;
/// let request = server.request(0).await?;
/// assert_eq!((request.path(), request.query()), ("/events", Some("topic=a")));
/// # Ok(())
/// # }
/// ```
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    life: Arc<Lifecycle>,
    accept: Option<JoinHandle<()>>,
}

/// Settings of a [`TestServer`]: its time bounds.
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    connection_time_limit: Duration,
    wait_timeout: Duration,
}

/// What the server's threads and the test share.
struct Shared {
    script: Script,
    settings: TestServerBuilder,
    state: Mutex<State>,
    written: AtomicU64,
}

#[derive(Default)]
struct State {
    requests: Vec<RecordedRequest>,
    /// Connections being served: a handle to shut each down, and its thread.
    open: Vec<(u64, TcpStream)>,
    threads: Vec<JoinHandle<()>>,
    next_connection: u64,
    /// Tasks awaiting a change (a request, a closed connection).
    waiters: Vec<Waker>,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        Self {
            connection_time_limit: DEFAULT_CONNECTION_TIME_LIMIT,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }
}

impl TestServerBuilder {
    /// How long one connection may last, from its accept: then it is closed
    /// wherever its response stands (a pause, a held connection, a write the
    /// client does not read). [`DEFAULT_CONNECTION_TIME_LIMIT`] unless set.
    pub fn connection_time_limit(mut self, limit: Duration) -> Self {
        self.connection_time_limit = limit;
        self
    }

    /// How long [`TestServer::request`], [`TestServer::wait_closed`] and
    /// [`TestServer::restart`] wait before they fail.
    /// [`DEFAULT_WAIT_TIMEOUT`] unless set.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Starts the server on `127.0.0.1`, on a free port.
    ///
    /// # Errors
    ///
    /// [`ServerError::Start`] when no port or thread can be had.
    pub fn start(self, script: Script) -> Result<TestServer, ServerError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(ServerError::Start)?;
        let addr = listener.local_addr().map_err(ServerError::Start)?;
        let shared = Arc::new(Shared {
            script,
            settings: self,
            state: Mutex::default(),
            written: AtomicU64::new(0),
        });
        let mut server = TestServer {
            addr,
            shared,
            life: Arc::default(),
            accept: None,
        };
        server.serve(listener)?;
        Ok(server)
    }
}

impl TestServer {
    /// Starts a server that plays `script`, with the default bounds.
    ///
    /// # Errors
    ///
    /// [`ServerError::Start`] when no port or thread can be had.
    pub fn start(script: Script) -> Result<Self, ServerError> {
        Self::builder().start(script)
    }

    /// A server with other bounds.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        self.url_for("/")
    }

    /// The URL of `path` (and query) on this server; a missing leading `/`
    /// is added.
    pub fn url_for(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order ([`RecordedRequest::index`]
    /// is the position).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The request `index` (from 0), once it has arrived.
    ///
    /// # Errors
    ///
    /// [`ServerError::Timeout`] when it has not arrived within the wait
    /// timeout.
    pub async fn request(&self, index: usize) -> Result<RecordedRequest, ServerError> {
        self.wait(format!("request {index}"), |state| {
            state.requests.get(index).cloned()
        })
        .await
    }

    /// Waits until no connection is being served: each response has been
    /// played out, or its client hung up.
    ///
    /// # Errors
    ///
    /// [`ServerError::Timeout`] when some connection is still open after the
    /// wait timeout.
    pub async fn wait_closed(&self) -> Result<(), ServerError> {
        self.wait("every connection to close".to_owned(), |state| {
            state.open.is_empty().then_some(())
        })
        .await
    }

    /// The bytes written to clients so far, heads included.
    pub fn bytes_written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Stops the server as a crash would: the listener closes (connections
    /// are refused) and every open connection is closed where it stands.
    /// The requests stay recorded. Does nothing if it is stopped.
    pub fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.life.stop();
        // Wake the accept loop, which then sees the stop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = accept.join();
        let threads = {
            let mut state = self.shared.lock();
            for (_, socket) in &state.open {
                let _ = socket.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut state.threads)
        };
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Stops the server if it runs, then starts it again on the same
    /// address, with the same script; the requests recorded so far stay and
    /// the count goes on.
    ///
    /// # Errors
    ///
    /// [`ServerError::Start`] when the address cannot be had again within
    /// the wait timeout.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.stop();
        let deadline = Instant::now() + self.shared.settings.wait_timeout;
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(listener) => break listener,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(error) => return Err(ServerError::Start(error)),
            }
        };
        self.life = Arc::default();
        self.serve(listener)
    }

    fn serve(&mut self, listener: TcpListener) -> Result<(), ServerError> {
        let shared = self.shared.clone();
        let life = self.life.clone();
        let accept = std::thread::Builder::new()
            .name("ssefeed-test-server".to_owned())
            .spawn(move || accept_loop(&listener, &shared, &life))
            .map_err(ServerError::Start)?;
        self.accept = Some(accept);
        Ok(())
    }

    /// Waits until `check` finds what it looks for, at most the wait
    /// timeout.
    async fn wait<T>(
        &self,
        what: String,
        mut check: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, ServerError> {
        let waited = self.shared.settings.wait_timeout;
        let deadline = Instant::now() + waited;
        // The deadline's alarm: a thread that wakes the task then, so that the
        // wait ends even if nothing happens; it ends early when this wait
        // does (the sender is dropped).
        let mut alarm: Option<(Arc<Mutex<Waker>>, mpsc::Sender<()>)> = None;
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some(found) = check(&state) {
                return Poll::Ready(Ok(found));
            }
            let now = Instant::now();
            if now >= deadline {
                return Poll::Ready(Err(ServerError::Timeout {
                    what: what.clone(),
                    waited,
                }));
            }
            state.waiters.push(cx.waker().clone());
            match &alarm {
                Some((waker, _)) => {
                    *waker.lock().unwrap_or_else(PoisonError::into_inner) = cx.waker().clone();
                }
                None => {
                    let waker = Arc::new(Mutex::new(cx.waker().clone()));
                    let (cancel, cancelled) = mpsc::channel::<()>();
                    let wake = waker.clone();
                    let sleep = deadline - now;
                    let spawned = std::thread::Builder::new()
                        .name("ssefeed-test-server-alarm".to_owned())
                        .spawn(move || {
                            if let Err(mpsc::RecvTimeoutError::Timeout) =
                                cancelled.recv_timeout(sleep)
                            {
                                wake.lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .wake_by_ref();
                            }
                        });
                    if let Err(error) = spawned {
                        return Poll::Ready(Err(ServerError::Start(error)));
                    }
                    alarm = Some((waker, cancel));
                }
            }
            Poll::Pending
        })
        .await
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("running", &self.accept.is_some())
            .field("script", &self.shared.script)
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `change` on the state and wakes every waiting task.
    fn change<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let (result, waiters) = {
            let mut state = self.lock();
            let result = change(&mut state);
            (result, std::mem::take(&mut state.waiters))
        };
        for waiter in waiters {
            waiter.wake();
        }
        result
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, life: &Arc<Lifecycle>) {
    for socket in listener.incoming() {
        if life.is_stopped() {
            return;
        }
        let Ok(socket) = socket else {
            // Out of file descriptors, say: let some close.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let Ok(handle) = socket.try_clone() else {
            continue;
        };
        let id = shared.change(|state| {
            state.threads.retain(|thread| !thread.is_finished());
            state.next_connection += 1;
            state.open.push((state.next_connection, handle));
            state.next_connection
        });
        let (conn_shared, conn_life) = (shared.clone(), life.clone());
        let thread = std::thread::Builder::new()
            .name("ssefeed-test-connection".to_owned())
            .spawn(move || {
                let _open = Open {
                    shared: &conn_shared,
                    id,
                };
                serve(socket, &conn_shared, &conn_life);
            });
        match thread {
            Ok(thread) => shared.lock().threads.push(thread),
            Err(_) => shared.change(|state| state.open.retain(|(open, _)| *open != id)),
        }
    }
}

/// A connection being served: removed from the open ones when its thread
/// ends, even by a panic in the script.
struct Open<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        let id = self.id;
        self.shared
            .change(|state| state.open.retain(|(open, _)| *open != id));
    }
}

/// Reads the request, records it, and plays the script's response.
fn serve(mut socket: TcpStream, shared: &Shared, life: &Lifecycle) {
    let deadline = Instant::now() + shared.settings.connection_time_limit;
    let _ = socket.set_nodelay(true);
    let read_time = REQUEST_TIMEOUT.min(shared.settings.connection_time_limit);
    if socket.set_read_timeout(Some(read_time)).is_err() {
        return;
    }
    let mut request = match read_request(&mut socket) {
        Ok(request) => request,
        Err(ReadFailure::Gone) => return,
        Err(ReadFailure::TooLarge(status)) => {
            let reply =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = socket.write_all(reply.as_bytes());
            let _ = socket.shutdown(Shutdown::Write);
            return;
        }
    };
    let recorded = shared.change(|state| {
        if state.requests.len() >= MAX_REQUESTS {
            return false;
        }
        request.index = state.requests.len();
        state.requests.push(request.clone());
        true
    });
    if !recorded {
        return;
    }
    let response = shared.script.respond(&request);
    let connection = Connection {
        socket,
        deadline,
        life,
        written: &shared.written,
    };
    connection.play(&response, request.accepts_gzip());
}
