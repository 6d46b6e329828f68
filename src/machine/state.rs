//! Where the connection stands, with the data that is valid in each state
//! and only there.

use std::sync::Arc;

use web_time::Instant;

use crate::error::Error;
use crate::event::{CloseReason, ReadyState};

/// The machine's state. Each variant holds what is true in it only: the
/// cause of the last disconnect while waiting and connecting again, the
/// progress of an open connection, the reason of a closed machine.
#[derive(Debug, Clone)]
pub(super) enum State {
    /// A request is under way since `since`. `cause`: why the connection
    /// before it ended; `None` for the first request (and after
    /// `reconnect_now` from an open connection).
    Connecting {
        since: Instant,
        cause: Option<Arc<Error>>,
    },
    /// Connected; the last bytes arrived at `last_activity`; `progressed`:
    /// this connection delivered a message.
    Open {
        last_activity: Instant,
        progressed: bool,
    },
    /// Waiting to reconnect after `cause`, until `until` (`None`: a delay
    /// too long to represent, so only `close` ends it).
    Waiting {
        until: Option<Instant>,
        cause: Arc<Error>,
    },
    /// Closed for good, for `reason` (the first one: it never changes).
    Closed { reason: CloseReason },
}

impl State {
    /// The spec's `readyState`.
    pub(super) fn ready_state(&self) -> ReadyState {
        match self {
            Self::Connecting { .. } | Self::Waiting { .. } => ReadyState::Connecting,
            Self::Open { .. } => ReadyState::Open,
            Self::Closed { .. } => ReadyState::Closed,
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        matches!(self, Self::Closed { .. })
    }

    /// Why the last connection ended, while one is awaited.
    pub(super) fn cause(&self) -> Option<&Arc<Error>> {
        match self {
            Self::Connecting { cause, .. } => cause.as_ref(),
            Self::Waiting { cause, .. } => Some(cause),
            Self::Open { .. } | Self::Closed { .. } => None,
        }
    }

    /// Whether the open connection delivered a message (false in any other
    /// state).
    pub(super) fn progressed(&self) -> bool {
        matches!(
            self,
            Self::Open {
                progressed: true,
                ..
            }
        )
    }
}
