//! [`ResponseBody`]: a response body that returns its connection to the pool when it
//! ends.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;

use super::pool::Pool;

/// The body of a [`Client`](super::Client) response: hyper's [`Incoming`] that, once
/// read to the end, hands its connection back to the client's pool for the next
/// request. Dropped before the end, it closes the connection (whatever is unread
/// would be in the way).
pub struct ResponseBody<B> {
    inner: Incoming,
    /// The connection and where it goes back; `None` once returned.
    pooled: Option<(Pool<B>, String, SendRequest<B>)>,
}

impl<B: Send + 'static> ResponseBody<B> {
    pub(super) fn new(inner: Incoming, pool: Pool<B>, key: String, send: SendRequest<B>) -> Self {
        let mut body = ResponseBody {
            inner,
            pooled: Some((pool, key, send)),
        };
        // An empty body (204, HEAD, `content-length: 0`) is over already.
        if body.inner.is_end_stream() {
            body.release();
        }
        body
    }

    fn release(&mut self) {
        if let Some((pool, key, send)) = self.pooled.take() {
            pool.put(key, send);
        }
    }
}

impl<B: Send + 'static> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &frame {
            None => self.release(),
            Some(Ok(_)) if self.inner.is_end_stream() => self.release(),
            Some(Ok(_)) => {}
            // The connection is broken: drop it, do not pool it.
            Some(Err(_)) => self.pooled = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
