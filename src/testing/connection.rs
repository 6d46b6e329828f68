//! Playing one [`Response`] on one connection: writes, pauses, gates, the
//! end. Every wait is bounded by the connection's deadline and cut short
//! when the server stops.

use std::borrow::Cow;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::response::{End, Part, Response};
use super::writes::Cuts;

/// The largest write of a [`Part::Repeat`].
const REPEAT_WRITE: usize = 64 * 1024;

/// How often a held connection looks whether the server stopped.
const POLL: Duration = Duration::from_millis(20);

/// Whether the server (this run of it) has stopped; waits end early when it
/// does.
#[derive(Debug, Default)]
pub(super) struct Lifecycle {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Lifecycle {
    pub(super) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    pub(super) fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps for `time`, at most until `deadline`; false if the sleep was
    /// cut short (the server stopped, or the deadline came first).
    fn sleep(&self, time: Duration, deadline: Instant) -> bool {
        let wake = Instant::now().checked_add(time);
        let until = wake.map_or(deadline, |wake| wake.min(deadline));
        let mut stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *stopped {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return wake.is_some_and(|wake| wake <= deadline);
            }
            stopped = self
                .changed
                .wait_timeout(stopped, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// One connection being answered.
pub(super) struct Connection<'a> {
    pub(super) socket: TcpStream,
    pub(super) deadline: Instant,
    pub(super) life: &'a Lifecycle,
    pub(super) written: &'a AtomicU64,
}

/// How writing the body went.
enum Body {
    /// All of it was written.
    Whole,
    /// `cut_after` stopped it.
    Cut,
    /// The client left, the server stopped, or time ran out.
    Gone,
}

impl Connection<'_> {
    /// Plays `response`; `gzip` says whether the client accepts it.
    pub(super) fn play(mut self, response: &Response, accepts_gzip: bool) {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || self.socket.set_write_timeout(Some(remaining)).is_err() {
            return;
        }
        if !self.life.sleep(response.delay, self.deadline) {
            return;
        }
        let gzip = response.gzip && response.head.is_some() && accepts_gzip;
        if let Some(head) = response.head_bytes(gzip)
            && !self.write(&head)
        {
            return;
        }
        let mut body = BodyWriter {
            cuts: Cuts::new(&response.writes),
            pos: 0,
            limit: response.cut_after.unwrap_or(usize::MAX),
            gap: response.write_gap,
            first: true,
            gzip: gzip.then(|| GzEncoder::new(Vec::new(), Compression::default())),
        };
        match body.write_parts(&mut self, &response.body) {
            Body::Gone => return,
            Body::Cut => {}
            Body::Whole => {
                if let Some(gzip) = body.gzip.take() {
                    let Ok(trailer) = gzip.finish() else { return };
                    if !self.write(&trailer) {
                        return;
                    }
                }
            }
        }
        match response.end {
            End::Close => self.close(),
            End::Reset => self.reset(),
            End::HoldOpen => {
                self.hold();
                self.close();
            }
        }
    }

    /// Writes `bytes` at once; false if the client is gone.
    fn write(&mut self, bytes: &[u8]) -> bool {
        if self.life.is_stopped() || self.socket.write_all(bytes).is_err() {
            return false;
        }
        self.written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        true
    }

    /// A close: FIN once everything written has gone out.
    fn close(self) {
        let _ = self.socket.shutdown(Shutdown::Write);
    }

    /// A reset: zero linger makes the close send RST and drop what is
    /// unsent.
    fn reset(self) {
        let _ = socket2::SockRef::from(&self.socket).set_linger(Some(Duration::ZERO));
    }

    /// Waits, writing nothing, until the client hangs up, the server stops
    /// or the deadline passes; what the client sends is read and dropped.
    fn hold(&mut self) {
        let mut sink = [0u8; 1024];
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.life.is_stopped() {
                return;
            }
            if self.socket.set_read_timeout(Some(left.min(POLL))).is_err() {
                return;
            }
            match self.socket.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }
}

/// Where the body stands: its offset, the cuts still to come, gzip's state.
struct BodyWriter {
    cuts: Cuts,
    pos: usize,
    limit: usize,
    gap: Duration,
    first: bool,
    gzip: Option<GzEncoder<Vec<u8>>>,
}

impl BodyWriter {
    fn write_parts(&mut self, conn: &mut Connection<'_>, parts: &[Part]) -> Body {
        for part in parts {
            if self.pos >= self.limit {
                return Body::Cut;
            }
            let ok = match part {
                Part::Bytes(bytes) => self.write_data(conn, bytes.len(), usize::MAX, |from, to| {
                    Cow::Borrowed(&bytes[from..to])
                }),
                Part::Repeat { byte, len } => {
                    self.write_data(conn, *len, REPEAT_WRITE, |from, to| {
                        Cow::Owned(vec![*byte; to - from])
                    })
                }
                Part::Pause(time) => conn.life.sleep(*time, conn.deadline),
                Part::Gate(gate) => loop {
                    if gate.wait(conn.deadline, POLL) {
                        break true;
                    }
                    if conn.life.is_stopped() || Instant::now() >= conn.deadline {
                        break false;
                    }
                },
            };
            if !ok {
                return Body::Gone;
            }
        }
        if self.limit != usize::MAX && self.pos >= self.limit {
            return Body::Cut;
        }
        Body::Whole
    }

    /// Writes a part of `len` bytes, `slice(from, to)` giving its bytes,
    /// in writes of at most `largest`, cut where the cuts and the limit say.
    fn write_data<'a>(
        &mut self,
        conn: &mut Connection<'_>,
        len: usize,
        largest: usize,
        slice: impl Fn(usize, usize) -> Cow<'a, [u8]>,
    ) -> bool {
        let mut from = 0;
        while from < len && self.pos < self.limit {
            let mut to = len
                .min(from + (self.limit - self.pos))
                .min(from.saturating_add(largest));
            if let Some(cut) = self.cuts.next_after(self.pos) {
                to = to.min(from + (cut - self.pos));
            }
            if !self.first && !conn.life.sleep(self.gap, conn.deadline) {
                return false;
            }
            self.first = false;
            let bytes = slice(from, to);
            let ok = match &mut self.gzip {
                None => conn.write(&bytes),
                Some(gzip) => {
                    // A sync flush: what is written so far decompresses now.
                    if gzip.write_all(&bytes).is_err() || gzip.flush().is_err() {
                        return false;
                    }
                    let compressed = std::mem::take(gzip.get_mut());
                    conn.write(&compressed)
                }
            };
            if !ok {
                return false;
            }
            self.pos += to - from;
            from = to;
        }
        true
    }
}
