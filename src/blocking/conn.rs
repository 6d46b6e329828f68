//! The connections' threads, and the one channel their news comes back on.
//!
//! A `reqwest::blocking` read cannot be interrupted: it parks its thread
//! until a chunk, the end of the body, an error or the client's own timeout.
//! So each connection is read on a thread of its own, which sends what it
//! reads to the source over a bounded channel; the source waits on that
//! channel with the machine's next deadline (`recv_timeout`), and a
//! [`CloseHandle`](super::CloseHandle) wakes it with a message of its own.
//! The source never blocks in a read, so an idle timeout and a close take
//! effect at once, and no runtime is needed for either.
//!
//! A thread whose connection the source has let go of (a disconnect, a
//! close, a drop) stops after its read returns, without sending: at the
//! server's next bytes, the end of the body, or the client's timeout.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};

use crate::client::send::transport_error;
use crate::error::Error;
use crate::response::{Headers, HttpVersion, ResponseHead};

/// How many messages a connection's thread may be ahead of the source: it
/// then waits, and so does the server (TCP's flow control), as with a read
/// on the source's own thread.
const CHANNEL_BOUND: usize = 8;

/// The most a read asks for; a read goes on into what is left of the last
/// buffer while at least [`MIN_READ`] is left, so small chunks share one
/// allocation.
const READ_SIZE: usize = 16 * 1024;
const MIN_READ: usize = 1024;

/// How an attempt starts, on its thread.
// (Made once per attempt and moved into its thread: its size costs nothing.)
#[allow(clippy::large_enum_variant)]
pub(super) enum Attempt {
    /// Send this request.
    Send(reqwest::blocking::Client, reqwest::blocking::Request),
    /// The caller's response is the answer already.
    Answered(Box<reqwest::blocking::Response>),
}

/// What a connection's thread saw, in order: a head, then chunks, then the
/// end or an error (or just an error, for a request that failed).
pub(super) enum Wire {
    Head(ResponseHead),
    Chunk(Bytes),
    End,
    Failed(Error),
}

enum Message {
    /// From the connection numbered so.
    Wire(u64, Wire),
    /// A close handle was used.
    Wake,
}

/// What the source, its close handles and its connections' threads share.
#[derive(Debug, Default)]
struct Shared {
    /// The number of the connection the source reads; 0 for none. A thread
    /// of another number stops at its next read.
    current: AtomicU64,
    /// A close handle was used.
    closed: AtomicBool,
}

/// The source's end: starts connections and waits for their news.
pub(super) struct Link {
    shared: Arc<Shared>,
    sender: SyncSender<Message>,
    receiver: Receiver<Message>,
    /// The number of the last connection started.
    last: u64,
}

impl Link {
    pub(super) fn new() -> Self {
        let (sender, receiver) = std::sync::mpsc::sync_channel(CHANNEL_BOUND);
        Self {
            shared: Arc::default(),
            sender,
            receiver,
            last: 0,
        }
    }

    /// Starts `attempt` on a thread of its own; it becomes the connection
    /// the source reads.
    pub(super) fn connect(&mut self, attempt: Attempt) -> Result<(), Error> {
        self.last += 1;
        let id = self.last;
        self.shared.current.store(id, Ordering::Release);
        let thread = Connection {
            id,
            shared: Arc::clone(&self.shared),
            sender: self.sender.clone(),
        };
        std::thread::Builder::new()
            .name("ssefeed-blocking".into())
            .spawn(move || thread.run(attempt))
            .map(drop)
            .map_err(|error| {
                self.disconnect();
                Error::Read(Box::new(error))
            })
    }

    /// Lets go of the current connection: its thread stops at its next read.
    pub(super) fn disconnect(&self) {
        self.shared.current.store(0, Ordering::Release);
    }

    /// Whether a [`CloseHandle`](super::CloseHandle) was used.
    pub(super) fn close_requested(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    pub(super) fn close_handle(&self) -> super::CloseHandle {
        super::CloseHandle {
            closer: Closer {
                shared: Arc::clone(&self.shared),
                sender: self.sender.clone(),
            },
        }
    }

    /// The current connection's next news, waiting at most until
    /// `deadline` (for ever without one); `None` when the deadline has
    /// passed or a close handle woke the source.
    pub(super) fn wait(&self, deadline: Option<Instant>) -> Option<Wire> {
        loop {
            let message = match deadline {
                None => self.receiver.recv().ok()?,
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    match self.receiver.recv_timeout(left) {
                        Ok(message) => message,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                            return None;
                        }
                    }
                }
            };
            match message {
                Message::Wire(id, wire) if id == self.shared.current.load(Ordering::Acquire) => {
                    return Some(wire);
                }
                // From a connection let go of.
                Message::Wire(..) => {}
                Message::Wake => return None,
            }
        }
    }
}

/// A [`CloseHandle`](super::CloseHandle)'s state: the flag, and the way to
/// wake a source blocked in `next`.
#[derive(Debug, Clone)]
pub(super) struct Closer {
    shared: Arc<Shared>,
    sender: SyncSender<Message>,
}

impl Closer {
    pub(super) fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        // The connection's thread stops at its next read.
        self.shared.current.store(0, Ordering::Release);
        match self.sender.try_send(Message::Wake) {
            // A full channel: the source is not blocked, and sees the flag
            // when it next looks. A gone one: the source was dropped.
            Ok(()) | Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Wire(..) => "Wire",
            Self::Wake => "Wake",
        })
    }
}

/// A connection's thread.
struct Connection {
    id: u64,
    shared: Arc<Shared>,
    sender: SyncSender<Message>,
}

impl Connection {
    fn run(self, attempt: Attempt) {
        let response = match attempt {
            Attempt::Send(client, request) => match client.execute(request) {
                Ok(response) => response,
                Err(error) => {
                    self.send(Wire::Failed(transport_error(error)));
                    return;
                }
            },
            Attempt::Answered(response) => *response,
        };
        if self.send(Wire::Head(response_head(&response))) {
            self.read(response);
        }
    }

    /// Reads the body until it ends, fails, or the source lets go of it.
    fn read(&self, mut response: reqwest::blocking::Response) {
        let mut buffer = BytesMut::new();
        loop {
            if buffer.capacity() < MIN_READ {
                buffer.reserve(READ_SIZE);
            }
            buffer.resize(buffer.capacity().min(READ_SIZE), 0);
            let wire = match response.read(&mut buffer) {
                Ok(0) => Wire::End,
                Ok(read) => {
                    buffer.truncate(read);
                    Wire::Chunk(buffer.split().freeze())
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => Wire::Failed(read_error(error)),
            };
            let more = matches!(wire, Wire::Chunk(_));
            if !(self.send(wire) && more) {
                return;
            }
        }
    }

    /// Sends news to the source; false when the source let go of this
    /// connection (or is gone), and the thread should stop.
    fn send(&self, wire: Wire) -> bool {
        self.shared.current.load(Ordering::Acquire) == self.id
            && self.sender.send(Message::Wire(self.id, wire)).is_ok()
    }
}

/// A body's read error as the crate's: reqwest's own error inside the I/O
/// error (a reset, a cut chunk, the client's timeout) is
/// [`Error::Interrupted`], as the async client says of its body's errors.
fn read_error(error: io::Error) -> Error {
    match error.downcast::<reqwest::Error>() {
        Ok(error) => Error::Interrupted(error),
        Err(error) => Error::Read(Box::new(error)),
    }
}

/// The owned head of a response.
fn response_head(response: &reqwest::blocking::Response) -> ResponseHead {
    let version = match response.version() {
        reqwest::Version::HTTP_09 => HttpVersion::Http09,
        reqwest::Version::HTTP_10 => HttpVersion::Http10,
        reqwest::Version::HTTP_2 => HttpVersion::Http2,
        reqwest::Version::HTTP_3 => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    };
    let headers = Headers::of(response.headers());
    ResponseHead::from_parts(
        response.status().as_u16(),
        version,
        headers,
        Some(response.url().as_str().into()),
        Some(SystemTime::now()),
    )
}
