//! Where each attempt's request comes from: the blocking twin of the async
//! client's `Requests`, over `reqwest::blocking`'s types.

use reqwest::blocking::{Client, Request, RequestBuilder, Response};

use super::conn::Attempt;
use crate::client::RequestContext;
use crate::client::request::{is_repeatable, prepare_headers, request_context};
use crate::error::Error;
use crate::machine::Machine;

/// A request factory: see [`EventSource::builder_fn`](super::EventSource::builder_fn).
pub(super) type RequestFn = Box<dyn FnMut(&RequestContext) -> RequestBuilder + Send>;

/// What the first request is made from.
pub(super) enum First {
    /// The same request every time it is sent (cloned per attempt).
    Template(Client, Request),
    /// One request that cannot be cloned (a streamed body), sent once.
    Once(Option<(Client, Request)>),
    /// A response the caller already has: the first attempt's answer.
    Response(Option<Box<Response>>),
    /// Rebuilt before each attempt.
    Factory(RequestFn),
}

/// Where each attempt's request comes from.
pub(super) struct Requests {
    /// The first attempt's request, and every attempt's without `resume`.
    first: First,
    /// Makes every request after the first once a stream has opened, so
    /// that the first is never sent again.
    resume: Option<RequestFn>,
    /// The first attempt was made.
    started: bool,
    /// The first request's method decides one-shot mode (a factory's, known
    /// only when it is made).
    auto_one_shot: bool,
}

impl Requests {
    pub(super) fn new(first: First, resume: Option<RequestFn>, auto_one_shot: bool) -> Self {
        Self {
            first,
            resume,
            started: false,
            auto_one_shot,
        }
    }

    /// The next attempt, with the headers every attempt carries; the
    /// machine is told when a factory's first request is one-shot.
    pub(super) fn next(
        &mut self,
        machine: &mut Machine,
        last_event_id: &str,
        attempt: u32,
    ) -> Result<Attempt, Error> {
        let first = !std::mem::replace(&mut self.started, true);
        let context = || request_context(machine, last_event_id, attempt);
        let (client, mut request) = match (&mut self.resume, &mut self.first) {
            (Some(resume), _) if !first && machine.has_opened() => built(resume(&context()))?,
            (_, First::Template(client, request)) => {
                let request = request.try_clone().ok_or(Error::BodyNotCloneable)?;
                (client.clone(), request)
            }
            (_, First::Once(once)) => once.take().ok_or(Error::BodyNotCloneable)?,
            (_, First::Response(response)) => {
                let response = response.take().ok_or(Error::BodyNotCloneable)?;
                return Ok(Attempt::Answered(response));
            }
            (_, First::Factory(make)) => built(make(&context()))?,
        };
        if std::mem::take(&mut self.auto_one_shot) && !is_repeatable(request.method()) {
            machine.set_one_shot(true);
        }
        prepare_headers(request.headers_mut(), last_event_id);
        Ok(Attempt::Send(client, request))
    }
}

/// A factory's request builder, built.
fn built(builder: RequestBuilder) -> Result<(Client, Request), Error> {
    let (client, request) = builder.build_split();
    Ok((client, request.map_err(Error::InvalidRequest)?))
}
