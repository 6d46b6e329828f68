//! Who sends a request: reqwest's client, or (feature `middleware`) a
//! `reqwest-middleware` stack. The one code path for sending; everything
//! else in the client is the same for both.

use super::platform::BoxFuture;
use crate::error::Error;

/// The response to a request, its error already the crate's.
pub(super) type ResponseFuture = BoxFuture<Result<reqwest::Response, Error>>;

/// A request an `EventSource` can send: reqwest's `RequestBuilder`, or,
/// with the `middleware` feature, `reqwest_middleware::RequestBuilder`
/// (tracing, auth, caching: every middleware of the stack sees each
/// attempt). Sealed: the crate implements it for those two.
pub trait IntoRequest: Sealed {}

impl IntoRequest for reqwest::RequestBuilder {}

#[cfg(feature = "middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "middleware")))]
impl IntoRequest for reqwest_middleware::RequestBuilder {}

use private::Sealed;
pub(super) use private::Sender;

mod private {
    use super::ResponseFuture;
    use crate::error::Error;

    /// What sends the requests of one source.
    #[derive(Clone, Debug)]
    pub enum Sender {
        Reqwest(reqwest::Client),
        #[cfg(feature = "middleware")]
        Middleware(reqwest_middleware::ClientWithMiddleware),
    }

    /// The sealed half of [`IntoRequest`](super::IntoRequest).
    pub trait Sealed {
        /// The sender and the request (or why it cannot be built).
        fn into_parts(self) -> (Sender, Result<reqwest::Request, Error>);
    }

    impl Sealed for reqwest::RequestBuilder {
        fn into_parts(self) -> (Sender, Result<reqwest::Request, Error>) {
            let (client, request) = self.build_split();
            (
                Sender::Reqwest(client),
                request.map_err(Error::InvalidRequest),
            )
        }
    }

    #[cfg(feature = "middleware")]
    impl Sealed for reqwest_middleware::RequestBuilder {
        fn into_parts(self) -> (Sender, Result<reqwest::Request, Error>) {
            let (client, request) = self.build_split();
            (
                Sender::Middleware(client),
                request.map_err(Error::InvalidRequest),
            )
        }
    }

    impl Sender {
        /// Sends `request`.
        pub fn send(&self, request: reqwest::Request) -> ResponseFuture {
            match self {
                Self::Reqwest(client) => {
                    let response = client.execute(request);
                    Box::pin(async move { response.await.map_err(super::transport_error) })
                }
                #[cfg(feature = "middleware")]
                Self::Middleware(client) => {
                    let client = client.clone();
                    Box::pin(async move {
                        client.execute(request).await.map_err(|error| match error {
                            reqwest_middleware::Error::Reqwest(error) => {
                                super::transport_error(error)
                            }
                            reqwest_middleware::Error::Middleware(error) => {
                                Error::Middleware(error.into())
                            }
                        })
                    })
                }
            }
        }
    }
}

/// A reqwest error as the crate's: one that says the request could never
/// be sent (a URL scheme reqwest does not speak, say) is an invalid request.
pub(crate) fn transport_error(error: reqwest::Error) -> Error {
    if error.is_builder() {
        Error::InvalidRequest(error)
    } else {
        Error::Transport(error)
    }
}
