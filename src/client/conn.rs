//! What is under way on the wire, and how each state of it is polled.
//!
//! | state | holds | polled until | then |
//! |---|---|---|---|
//! | `Idle` | nothing | — | the machine's `Connect` starts `Preparing` or `Requesting` |
//! | `Preparing` | the async factory's future | it makes the request | `Requesting`; its error goes to the machine |
//! | `Requesting` | the response future | the head arrives | `Streaming` (it opens), `Refused` (its body is read), or the error goes to the machine |
//! | `Refused` | the head, the body, what was read, a deadline | the body ends, or the limit or the deadline is reached | the refusal goes to the machine |
//! | `Streaming` | the body | each chunk | each chunk goes to the machine; so does its end or error |
//!
//! A connection under way is dropped by the machine's
//! [`Action::Disconnect`](crate::machine::Action::Disconnect) (and `close`)
//! only. A future or body that has finished is let go of where it finished
//! (the state becomes `Idle` before the machine hears of it), since it must
//! not be polled again.

use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};

use super::Driver;
use super::platform::{BoxStream, Timer, now};
use super::request::{BuilderFuture, Parts, response_head};
use super::send::ResponseFuture;
use crate::error::{BoxError, Error};
use crate::response::{Refusal, ResponseHead};

pub(super) type BodyStream = BoxStream<reqwest::Result<Bytes>>;

/// What is under way on the wire: see the module's table.
pub(super) enum Conn {
    Idle,
    /// The async factory is making the request.
    Preparing(BuilderFuture),
    Requesting(ResponseFuture),
    Streaming(BodyStream),
    /// A refused response's body is being read, for its explanation.
    Refused(Box<RefusedBody>),
}

/// The first part of a refused response's body, being read.
pub(super) struct RefusedBody {
    head: ResponseHead,
    body: BodyStream,
    /// At most the refusal body limit.
    read: BytesMut,
    /// Reading stops at this instant with what has arrived.
    deadline: Timer,
}

impl RefusedBody {
    /// Reads until the body ends (`Ready(true)`: complete), or the `limit`,
    /// the deadline or an error cuts it (`Ready(false)`).
    fn poll_read(&mut self, cx: &mut Context<'_>, limit: usize) -> Poll<bool> {
        loop {
            match self.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    let room = limit - self.read.len();
                    if bytes.len() > room {
                        self.read.extend_from_slice(&bytes[..room]);
                        return Poll::Ready(false);
                    }
                    self.read.extend_from_slice(&bytes);
                }
                // A cut body keeps what arrived.
                Poll::Ready(Some(Err(_))) => return Poll::Ready(false),
                Poll::Ready(None) => return Poll::Ready(true),
                Poll::Pending => return self.deadline.poll_expired(cx).map(|()| false),
            }
        }
    }
}

impl Driver {
    /// Polls the connection in its state, and hands what came to the
    /// machine; false when nothing did.
    pub(super) fn poll_conn(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.conn {
            Conn::Idle => false,
            Conn::Preparing(making) => {
                let Poll::Ready(made) = making.as_mut().poll(cx) else {
                    return false;
                };
                self.conn = Conn::Idle;
                self.made(made);
                true
            }
            Conn::Requesting(response) => {
                let Poll::Ready(answer) = response.as_mut().poll(cx) else {
                    return false;
                };
                self.conn = Conn::Idle;
                self.answered(answer);
                true
            }
            Conn::Refused(refused) => {
                let Poll::Ready(complete) = refused.poll_read(cx, self.refusal_body.0) else {
                    return false;
                };
                if let Conn::Refused(refused) = std::mem::replace(&mut self.conn, Conn::Idle) {
                    let RefusedBody { head, read, .. } = *refused;
                    let refusal = Refusal::new(head, read.freeze(), complete);
                    self.machine.handle_refusal(now(), refusal);
                }
                true
            }
            Conn::Streaming(body) => {
                let Poll::Ready(chunk) = body.as_mut().poll_next(cx) else {
                    return false;
                };
                self.streamed(chunk);
                true
            }
        }
    }

    /// The async factory made the request (or failed to).
    fn made(&mut self, made: Result<Parts, BoxError>) {
        let made = made
            .map_err(Error::RequestFactory)
            .and_then(|(sender, request)| Ok((sender, request?)));
        match made {
            Ok((sender, request)) => {
                let last_event_id = self.machine.last_event_id().to_owned();
                self.conn = Conn::Requesting(self.send(sender, request, &last_event_id));
            }
            Err(error) => self.machine.handle_error(now(), error),
        }
    }

    /// The response's head arrived (or the request failed).
    fn answered(&mut self, answer: Result<reqwest::Response, Error>) {
        let now = now();
        let response = match answer {
            Ok(response) => response,
            Err(error) => return self.machine.handle_error(now, error),
        };
        let head = response_head(&response);
        self.span.answered(head.status());
        let body: BodyStream = Box::pin(response.bytes_stream());
        if self.machine.refuses(&head) {
            self.conn = Conn::Refused(Box::new(RefusedBody {
                head,
                body,
                read: BytesMut::new(),
                deadline: Timer::at(now + self.refusal_body.1),
            }));
        } else {
            self.conn = Conn::Streaming(body);
            self.clock = now;
            self.machine.handle_response(now, head);
        }
    }

    /// A chunk of the body arrived, or the body ended or failed.
    #[inline]
    fn streamed(&mut self, chunk: Option<reqwest::Result<Bytes>>) {
        match chunk {
            Some(Ok(bytes)) => {
                // The clock is read per chunk only when the machine uses the
                // time (an idle timeout, `max_elapsed`); otherwise until the
                // connection's first event, for the statistics' times to
                // first byte and first event. (Once per wake-up cost a
                // chunk-per-event stream 4 % of its CPU: BENCHMARKS.md,
                // session 8.)
                if self.timed_chunks || self.machine.stats().current.first_event_at.is_none() {
                    self.clock = now();
                }
                self.machine.handle_bytes(self.clock, bytes);
            }
            Some(Err(error)) => {
                self.conn = Conn::Idle;
                self.machine.handle_error(now(), Error::Interrupted(error));
            }
            None => {
                self.conn = Conn::Idle;
                self.machine.handle_eof(now());
            }
        }
    }
}
