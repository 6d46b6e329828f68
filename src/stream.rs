//! Decoding any byte stream: a [`Stream`] of chunks or an [`AsyncRead`].

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

use crate::error::{BoxError, Error};
use crate::event::MessageEvent;
use crate::parser::{Item, Parser, StreamEnd};

pin_project_lite::pin_project! {
    /// The events of one byte stream, for users with their own HTTP stack, a
    /// test server's response, or a file of captured events.
    ///
    /// It yields each [`MessageEvent`] the bytes dispatch, with the same
    /// parser (and conformance) as the `EventSource` client. It does not
    /// reconnect: the stream ends when the source does, and an unfinished
    /// event at the end is discarded, as the spec says
    /// ([`stream_end`](Self::stream_end) tells whether that happened).
    /// `retry:` values are kept for [`reconnection_time`](Self::reconnection_time).
    ///
    /// With a parser that skips oversized events
    /// ([`ParserBuilder::skip_oversized_events`](crate::parser::ParserBuilder::skip_oversized_events)),
    /// a skipped event is dropped, as comments are: this stream yields
    /// messages, and an error would end it, which is what skipping avoids.
    /// Its ID is not adopted, so [`last_event_id`](Self::last_event_id)
    /// still names the event before it, and a resume from there asks for it
    /// again; for the notices themselves, drive the [`Parser`] or use the
    /// `EventSource` client ([`Event::Skipped`](crate::Event::Skipped)).
    ///
    /// An `Err` item is final: `None` follows it.
    ///
    /// ```
    /// use futures_util::{StreamExt, stream};
    /// use ssefeed::EventStream;
    ///
    /// # tokio_test_block_on(async {
    /// let chunks = ["data: hel", "lo\n\nid: 2\ndata: world\n\n"];
    /// let source = stream::iter(chunks.map(|c| Ok::<_, std::io::Error>(c.as_bytes())));
    /// let mut events = EventStream::new(source);
    /// let first = events.next().await.unwrap()?;
    /// assert_eq!(first.data(), "hello");
    /// let second = events.next().await.unwrap()?;
    /// assert_eq!((second.data(), second.last_event_id()), ("world", "2"));
    /// assert!(events.next().await.is_none());
    /// # Ok::<(), ssefeed::Error>(())
    /// # }).unwrap();
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    #[derive(Debug)]
    pub struct EventStream<S> {
        #[pin]
        source: S,
        parser: Parser,
        done: bool,
    }
}

impl<S> EventStream<S> {
    /// Decodes `source`, a stream of byte chunks, with the default parser.
    pub fn new(source: S) -> Self {
        Self::with_parser(source, Parser::new())
    }

    /// Decodes `source` with a configured parser (limits, comments are not
    /// reported by this stream).
    pub fn with_parser(source: S, parser: Parser) -> Self {
        Self {
            source,
            parser,
            done: false,
        }
    }

    /// The parser, for its last event ID.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The last event ID committed so far.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The reconnection time the server asked for with `retry:`, if it did.
    pub fn reconnection_time(&self) -> Option<std::time::Duration> {
        self.parser.reconnection_time()
    }

    /// How the source ended, once it has: [`StreamEnd::Truncated`] when it
    /// stopped inside a line or an event.
    pub fn stream_end(&self) -> Option<StreamEnd> {
        self.parser.stream_end()
    }
}

impl<R: AsyncRead> EventStream<ReaderSource<R>> {
    /// Decodes everything read from `reader`.
    pub fn from_reader(reader: R) -> Self {
        Self::new(ReaderSource {
            inner: ReaderStream::with_capacity(reader, READ_CAPACITY),
        })
    }
}

/// How much [`EventStream::from_reader`] reads at once.
const READ_CAPACITY: usize = 16 * 1024;

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    type Item = Result<MessageEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match this.parser.next_item() {
                Some(Ok(Item::Event(event))) => return Poll::Ready(Some(Ok(event))),
                // (Comments, `retry:` and skipped events: see the type's
                // documentation.)
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    *this.done = true;
                    return Poll::Ready(Some(Err(error.into())));
                }
                None if *this.done || this.parser.stream_end().is_some() => {
                    return Poll::Ready(None);
                }
                None => {}
            }
            let Poll::Ready(next) = this.source.as_mut().poll_next(cx) else {
                // About to wait: keep no space for the large events just read.
                this.parser.shrink_buffers();
                return Poll::Pending;
            };
            match next {
                Some(Ok(chunk)) => this.parser.feed(chunk.into()),
                Some(Err(error)) => {
                    *this.done = true;
                    return Poll::Ready(Some(Err(Error::Read(error.into()))));
                }
                None => this.parser.finish(),
            }
        }
    }
}

/// `is_terminated` is true once the stream has nothing more to yield (its
/// source ended and was read, or an error was yielded).
impl<S, B, E> futures_core::FusedStream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    fn is_terminated(&self) -> bool {
        self.done || self.parser.stream_end().is_some()
    }
}

pin_project_lite::pin_project! {
    /// The chunks of an [`AsyncRead`], for [`EventStream::from_reader`].
    #[derive(Debug)]
    pub struct ReaderSource<R> {
        #[pin]
        inner: ReaderStream<R>,
    }
}

impl<R: AsyncRead> Stream for ReaderSource<R> {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project().inner.poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt, StreamExt, stream};

    use super::*;
    use futures_core::FusedStream;

    #[test]
    fn it_is_terminated_once_it_has_nothing_more_to_yield() {
        let chunks = ["data: a\n\ndata: unfinished"].map(|c| Ok::<_, std::io::Error>(c.as_bytes()));
        let mut events = EventStream::new(stream::iter(chunks));
        assert!(!events.is_terminated());
        assert!(matches!(events.next().now_or_never(), Some(Some(Ok(_)))));
        assert!(!events.is_terminated(), "the end is not known yet");
        assert!(matches!(events.next().now_or_never(), Some(None)));
        assert!(events.is_terminated());
        // And after an error.
        let failing = [Err(std::io::Error::other("reset"))];
        let mut events = EventStream::new(stream::iter(failing).map(|r: Result<&[u8], _>| r));
        assert!(matches!(
            events.next().now_or_never(),
            Some(Some(Err(Error::Read(_))))
        ));
        assert!(events.is_terminated());
    }

    #[test]
    fn a_waiting_stream_keeps_no_space_for_the_burst_it_read() {
        let big = "x".repeat(10_000);
        let burst = format!("data: {big}\ndata: {big}\ndata: {big}\n\n");
        // The burst in pieces, as reads deliver it, then nothing more.
        let pieces: Vec<Result<Bytes, std::io::Error>> = burst
            .as_bytes()
            .chunks(4_000)
            .map(|piece| Ok(Bytes::copy_from_slice(piece)))
            .collect();
        let mut events = EventStream::new(stream::iter(pieces).chain(stream::pending()));
        let event = events.next().now_or_never().flatten().unwrap().unwrap();
        assert_eq!(event.data().len(), 3 * big.len() + 2);
        assert!(events.next().now_or_never().is_none(), "waits for more");
        let kept = events.parser().buffer_capacity();
        assert!(kept <= 4 * 1024, "{kept} bytes kept while waiting");
    }
}
