//! Native targets: tokio's clock and timer; every future is `Send`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use web_time::Instant;

use crate::error::BoxError;
use crate::response::HttpVersion;

use super::super::RequestContext;
use super::super::request::Parts;

/// `Send`, on every platform but the browser: the bound on what an
/// [`EventSource`](crate::EventSource) holds (request factories and their
/// futures), so that the event source can move between threads where
/// threads exist. In the browser (`wasm32-unknown-unknown`) it asks nothing,
/// since JavaScript's futures are not `Send`.
pub trait MaybeSend: Send {}

impl<T: Send + ?Sized> MaybeSend for T {}

pub(in crate::client) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub(in crate::client) type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;
pub(in crate::client) type RequestFn = Box<dyn FnMut(&RequestContext) -> Parts + Send>;
pub(in crate::client) type AsyncRequestFn =
    Box<dyn FnMut(RequestContext) -> BoxFuture<Result<Parts, BoxError>> + Send>;

/// Now, on tokio's clock (which tests may pause and advance).
pub(in crate::client) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The wall clock, for `Retry-After` dates.
pub(in crate::client) fn wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

/// A deadline that wakes the task when it has passed; it can be moved.
pub(in crate::client) struct Timer(Pin<Box<tokio::time::Sleep>>);

impl Timer {
    /// A timer for `deadline`. Needs the tokio runtime, so it is made when
    /// first polled, not when the event source is built.
    pub(in crate::client) fn at(deadline: Instant) -> Self {
        Self(Box::pin(tokio::time::sleep_until(deadline.into())))
    }

    pub(in crate::client) fn reset(&mut self, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }

    /// Ready once the deadline has passed.
    pub(in crate::client) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// The response's HTTP version.
pub(in crate::client) fn http_version(response: &reqwest::Response) -> HttpVersion {
    match response.version() {
        reqwest::Version::HTTP_09 => HttpVersion::Http09,
        reqwest::Version::HTTP_10 => HttpVersion::Http10,
        reqwest::Version::HTTP_2 => HttpVersion::Http2,
        reqwest::Version::HTTP_3 => HttpVersion::Http3,
        _ => HttpVersion::Http11,
    }
}
