//! What differs between platforms, and nothing else: the clock, the timer,
//! whether futures must be `Send`, and what the HTTP client can tell.
//!
//! Native targets run on tokio (its clock, so that tests can pause time);
//! the browser (`wasm32-unknown-unknown`, reqwest's fetch backend) has
//! JavaScript timers, `performance.now()`, and futures that are not `Send`.
//! Both modules offer the same names.

#[cfg(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none")))]
mod browser;
#[cfg(not(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none"))))]
mod native;

// Each item keeps its own visibility; only `MaybeSend` is public.
#[cfg(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none")))]
pub use browser::*;
#[cfg(not(all(target_arch = "wasm32", any(target_os = "unknown", target_os = "none"))))]
pub use native::*;
