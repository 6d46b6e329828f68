//! The browser (`wasm32-unknown-unknown`, reqwest's fetch backend):
//! `performance.now()` through `web-time`, JavaScript timers through
//! `gloo-timers`, and futures that are not `Send`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use gloo_timers::future::TimeoutFuture;
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
pub trait MaybeSend {}

impl<T: ?Sized> MaybeSend for T {}

pub(in crate::client) type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
pub(in crate::client) type BoxStream<T> = Pin<Box<dyn Stream<Item = T>>>;
pub(in crate::client) type RequestFn = Box<dyn FnMut(&RequestContext) -> Parts>;
pub(in crate::client) type AsyncRequestFn =
    Box<dyn FnMut(RequestContext) -> BoxFuture<Result<Parts, BoxError>>>;

/// Now, on the page's monotonic clock (`performance.now()`).
pub(in crate::client) fn now() -> Instant {
    Instant::now()
}

/// The wall clock (`Date.now()`), for `Retry-After` dates, as the
/// `std::time::SystemTime` the rest of the crate takes: that type works in
/// the browser, only its `now()` panics.
pub(in crate::client) fn wall_clock() -> std::time::SystemTime {
    let since_epoch = web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .unwrap_or_default();
    std::time::UNIX_EPOCH + since_epoch
}

/// A deadline that wakes the task when it has passed; it can be moved.
///
/// A `setTimeout` is armed for the time left, rounded up to whole
/// milliseconds; when it fires, the clock is read again, since the browser
/// may fire early or late by its own clock.
pub(in crate::client) struct Timer {
    deadline: Instant,
    /// The pending `setTimeout`, if one is armed for `deadline`.
    wait: Option<TimeoutFuture>,
}

impl Timer {
    pub(in crate::client) fn at(deadline: Instant) -> Self {
        Self {
            deadline,
            wait: None,
        }
    }

    pub(in crate::client) fn reset(&mut self, deadline: Instant) {
        if deadline != self.deadline {
            self.deadline = deadline;
            // Dropping the future clears its `setTimeout`.
            self.wait = None;
        }
    }

    /// Ready once the deadline has passed.
    pub(in crate::client) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let left = self.deadline.saturating_duration_since(now());
            if left.is_zero() {
                self.wait = None;
                return Poll::Ready(());
            }
            let wait = self
                .wait
                .get_or_insert_with(|| TimeoutFuture::new(whole_millis(left)));
            match Pin::new(wait).poll(cx) {
                Poll::Ready(()) => self.wait = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// `left` in whole milliseconds, rounded up (so a timer never fires before
/// its deadline for rounding's sake), at least 1 and at most what
/// `setTimeout` takes.
fn whole_millis(left: Duration) -> u32 {
    let millis = left.as_nanos().div_ceil(1_000_000).max(1);
    // Browsers fire at once for delays past 2^31 - 1 ms; a longer wait is
    // several short ones.
    u32::try_from(millis).map_or(i32::MAX as u32, |millis| millis.min(i32::MAX as u32))
}

/// The response's HTTP version: fetch does not tell it.
pub(in crate::client) fn http_version(_response: &reqwest::Response) -> HttpVersion {
    HttpVersion::Unknown
}
