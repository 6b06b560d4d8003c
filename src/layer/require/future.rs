//! The response future of [`RequireRuleService`](super::RequireRuleService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Response, StatusCode};
use pin_project_lite::pin_project;

use crate::response::DenialBody;

pin_project! {
    /// The response future of [`RequireRuleService`](super::RequireRuleService): the inner
    /// service's future (its response given the next DPoP server nonce when there is one to
    /// hand out), the denial's response, ready at once, or (rarely) a request that waits for
    /// its issuer's keys before it is decided.
    pub struct ResponseFuture<F: Future, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    // Only the rare waits are boxed, so the local path pays nothing for them.
    #[project = KindProj]
    enum Kind<F: Future, B> {
        Allowed { #[pin] future: F },
        AllowedWithNonce { #[pin] future: F, nonce: Option<String> },
        Denied { response: Option<Response<B>> },
        WaitingForKeys { future: Pin<Box<dyn Future<Output = F::Output> + Send>> },
    }
}

impl<F: Future, B> ResponseFuture<F, B> {
    /// The inner service's answer, with the DPoP server nonce `nonce` when there is one.
    pub(super) fn allowed(future: F, nonce: Option<String>) -> Self {
        let kind = match nonce {
            None => Kind::Allowed { future },
            nonce @ Some(_) => Kind::AllowedWithNonce { future, nonce },
        };
        ResponseFuture { kind }
    }

    /// A denial, ready at once.
    pub(super) fn denied(response: Response<B>) -> Self {
        let kind = Kind::Denied {
            response: Some(response),
        };
        ResponseFuture { kind }
    }

    /// A decision that waits for an issuer's keys first.
    pub(super) fn waiting(future: Pin<Box<dyn Future<Output = F::Output> + Send>>) -> Self {
        let kind = Kind::WaitingForKeys { future };
        ResponseFuture { kind }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: DenialBody,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Allowed { future } => future.poll(cx),
            KindProj::AllowedWithNonce { future, nonce } => {
                let mut output = std::task::ready!(future.poll(cx));
                if let (Ok(response), Some(nonce)) = (&mut output, nonce.take()) {
                    crate::dpop::add_nonce(response.headers_mut(), &nonce);
                }
                Poll::Ready(output)
            }
            KindProj::WaitingForKeys { future } => future.as_mut().poll(cx),
            // Polling again after completion breaks the `Future` contract; answer 500 rather
            // than panic.
            KindProj::Denied { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(internal_error)))
            }
        }
    }
}

/// An empty 500: for what should not happen, never a panic and never an allow.
pub(super) fn internal_error<B: DenialBody>() -> Response<B> {
    let mut response = Response::new(B::from_denial(Bytes::new()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
