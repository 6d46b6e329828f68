//! The events of an `http_body::Body`: a hyper or axum response, read in
//! process.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_core::Stream;

use crate::stream::EventStream;

pin_project_lite::pin_project! {
    /// The data frames of an [`http_body::Body`] as a stream of chunks, for
    /// [`EventStream::from_body`]; trailers are skipped.
    #[derive(Debug)]
    pub struct BodySource<B> {
        #[pin]
        body: B,
    }
}

impl<B: http_body::Body> Stream for BodySource<B> {
    type Item = Result<Bytes, B::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut body = self.project().body;
        loop {
            return Poll::Ready(match ready!(body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    // `Bytes` hands itself over without a copy.
                    Ok(mut data) => Some(Ok(data.copy_to_bytes(data.remaining()))),
                    Err(_trailers) => continue,
                },
                Some(Err(error)) => Some(Err(error)),
                None => None,
            });
        }
    }
}

impl<B: http_body::Body> EventStream<BodySource<B>> {
    /// Decodes an HTTP body: a hyper response's, or an axum handler's
    /// answer read in process (`Router::oneshot`), with no socket. A body
    /// error ends the stream with [`Error::Read`](crate::Error::Read).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssefeed::EventStream;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ssefeed::Error> {
    /// // Any `http_body::Body`: axum's, here with the whole stream in it.
    /// let body = axum::body::Body::from("event: add\ndata: 1\n\ndata: 2\n\n");
    /// let mut events = EventStream::from_body(body);
    /// let first = events.next().await.unwrap()?;
    /// assert_eq!((first.event_type(), first.data()), ("add", "1"));
    /// assert_eq!(events.next().await.unwrap()?.data(), "2");
    /// assert!(events.next().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_body(body: B) -> Self {
        Self::new(BodySource { body })
    }
}
