//! Serving connections under deadlines, so that a slow client cannot hold the server.
//!
//! A client gets `limits.request_header_seconds` to send a request's headers and
//! `limits.request_body_seconds` to send its whole body; one that trickles either (a
//! byte a second, say: "slowloris") gets 408 with the API's JSON error body, and its
//! connection is closed. `axum::serve` has neither deadline, so connections are served here
//! with hyper's HTTP/1.1 server, whose `header_read_timeout` ends the header wait; hyper
//! then closes the connection without a word, so the 408 is written on a second handle
//! of the socket, and only when the client had started a request (an idle keep-alive
//! connection is simply closed: a 408 there could be read as the answer to the client's
//! next request).
//!
//! HTTP/1.1 only: the auto-detecting server reads the first bytes to tell HTTP/2 apart
//! with no deadline at all, and vidflow's clients and proxies speak HTTP/1.1.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::error::ApiError;

/// A request body that did not arrive in full within its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs())]
pub struct BodyDeadline(pub Duration);

/// Middleware: the request's body must arrive in full within `deadline` of the request's
/// start; past it, reading the body fails with [`BodyDeadline`] (handlers answer 408,
/// see [`crate::jobs_api`]). Every 408 closes its connection: the rest of the body may
/// still be on its way, and the next request cannot be told from it.
pub async fn bound_body(State(deadline): State<Duration>, req: Request, next: Next) -> Response {
    let until = tokio::time::Instant::now() + deadline;
    let (parts, body) = req.into_parts();
    // The body's frames until the deadline; past it one error, and the stream ends.
    let bounded =
        futures_util::stream::unfold(Some(body.into_data_stream()), move |frames| async move {
            let mut frames = frames?;
            match tokio::time::timeout_at(until, frames.next()).await {
                Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(frames))),
                Ok(Some(Err(e))) => Some((Err(BoxError::from(e)), None)),
                Ok(None) => None,
                Err(_) => Some((Err(BoxError::from(BodyDeadline(deadline))), None)),
            }
        });
    let req = Request::from_parts(parts, Body::from_stream(bounded));
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::REQUEST_TIMEOUT {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The 408 a [`BodyDeadline`] becomes, when `error` (a body-reading failure) is one.
pub fn body_deadline_answer(error: &(dyn std::error::Error + 'static)) -> Option<ApiError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(deadline) = e.downcast_ref::<BodyDeadline>() {
            return Some(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!("{deadline} (limits.request_body_seconds); send the whole body at once"),
            ));
        }
        current = e.source();
    }
    None
}

/// Accepts connections on `listener` and serves `router` on each until `shutdown`
/// resolves; then stops accepting and waits for the open connections to finish their
/// requests. Each request sees its peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_deadline: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_deadline);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (stream, spare) = match with_spare(stream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!("cannot serve a connection from {peer}: {e}");
                continue;
            }
        };
        let mid_request = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(Watched {
            stream,
            mid_request: mid_request.clone(),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req.map(Body::new))
        });
        let conn = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            let Err(e) = conn.await else { return };
            if e.is_timeout() && mid_request.load(Ordering::Relaxed) {
                tracing::info!("{peer} was too slow sending a request's headers: 408");
                answer_timeout(spare, header_deadline).await;
            } else {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// `stream` and a second handle on the same socket, kept to answer after hyper has let go.
fn with_spare(stream: TcpStream) -> io::Result<(TcpStream, std::net::TcpStream)> {
    let stream = stream.into_std()?;
    let spare = stream.try_clone()?;
    Ok((TcpStream::from_std(stream)?, spare))
}

/// Writes a 408 with the API's error body on `spare`, then closes it, draining what the
/// client still sends for a moment so that the close does not reset the connection
/// before the client has read the answer.
async fn answer_timeout(spare: std::net::TcpStream, deadline: Duration) {
    let Ok(mut stream) = TcpStream::from_std(spare) else {
        return;
    };
    let body = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
        format!(
            "the request's headers did not arrive within {} s (limits.request_header_seconds)",
            deadline.as_secs()
        ),
    )
    .into_response()
    .into_body();
    let Ok(body) = axum::body::to_bytes(body, 4096).await else {
        return;
    };
    let head = format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    if tokio::time::timeout(Duration::from_secs(2), write)
        .await
        .is_err()
    {
        return;
    }
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// A connection that notes whether a request has begun arriving and not yet been answered:
/// bytes read set it, bytes written (the answer) clear it.
struct Watched {
    stream: TcpStream,
    mid_request: Arc<AtomicBool>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.mid_request.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.mid_request.store(false, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.mid_request.store(false, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
