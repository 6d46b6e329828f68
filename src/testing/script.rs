//! What the server does on each connection, in order.

use std::fmt;
use std::sync::Arc;

use super::request::RecordedRequest;
use super::response::Response;

type Respond = dyn Fn(&RecordedRequest) -> Response + Send + Sync;

/// What the [`TestServer`](super::TestServer) answers, request by request:
/// the first connection, then each reconnect, in order.
///
/// A script is a list of [`Response`]s, one per connection, and what to
/// answer after them ([`then`](Self::then); `204 No Content` unless set,
/// which stops an `EventSource`), or a function of the request
/// ([`from_fn`](Self::from_fn)) when the answer depends on it (the path, the
/// `Last-Event-ID`, a POST's body).
///
/// ```
/// use ssefeed::testing::{Response, Script, ServerEvent};
///
/// // A feed cut mid-event, resumed on the reconnect, then stopped with 204.
/// let script = Script::new()
///     .connection(Response::sse().body("id: 1\ndata: one\n\nid: 2\ndata: tw"))
///     .connection(Response::sse().event(ServerEvent::data("two").id("2")));
///
/// // The same, driven by what the client asks for.
/// let script = Script::from_fn(|request| match request.last_event_id() {
///     None => Response::sse().body("id: 1\ndata: one\n\nid: 2\ndata: tw"),
///     Some("1") => Response::sse().event(ServerEvent::data("two").id("2")),
///     Some(_) => Response::no_content(),
/// });
/// # drop(script);
/// ```
#[derive(Clone)]
pub struct Script {
    connections: Vec<Response>,
    then: Then,
}

#[derive(Clone)]
enum Then {
    Response(Response),
    Respond(Arc<Respond>),
}

impl Script {
    /// A script with no connections yet: every request gets `204 No
    /// Content`.
    pub fn new() -> Self {
        Self {
            connections: Vec::new(),
            then: Then::Response(Response::no_content()),
        }
    }

    /// Every request gets what `respond` makes of it
    /// ([`RecordedRequest::index`] counts them, from 0). It runs on the
    /// server's thread for that connection: a panic in it (a failed
    /// assertion) drops the connection and is printed with the test's
    /// output.
    pub fn from_fn<F>(respond: F) -> Self
    where
        F: Fn(&RecordedRequest) -> Response + Send + Sync + 'static,
    {
        Self {
            connections: Vec::new(),
            then: Then::Respond(Arc::new(respond)),
        }
    }

    /// The response for the next connection.
    pub fn connection(mut self, response: Response) -> Self {
        self.connections.push(response);
        self
    }

    /// What every connection after the scripted ones gets (`204 No
    /// Content` by default).
    pub fn then(mut self, response: Response) -> Self {
        self.then = Then::Response(response);
        self
    }

    /// The response to `request`.
    pub(super) fn respond(&self, request: &RecordedRequest) -> Response {
        if let Some(response) = self.connections.get(request.index()) {
            return response.clone();
        }
        match &self.then {
            Then::Response(response) => response.clone(),
            Then::Respond(respond) => respond(request),
        }
    }
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Script");
        debug.field("connections", &self.connections);
        match &self.then {
            Then::Response(response) => debug.field("then", response),
            Then::Respond(_) => debug.field("then", &"Fn(&RecordedRequest) -> Response"),
        };
        debug.finish()
    }
}
