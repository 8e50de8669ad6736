//! The HTTP front end's listener for axum: [`tcp_listener`](crate::tcp_listener)'s accept
//! loop and `max_connections` slot, with a `503` for connections over the limit.
//!
//! The slot and the `status` connection count live in the stream itself ([`Counted`]), so
//! they are released whenever hyper drops it: at the end of a keep-alive connection or of
//! a WebSocket.
//!
//! With `[tls]`, axum gets only connections whose TLS handshake succeeded. axum asks for
//! one connection at a time, so the handshakes run on tasks of their own (in a
//! `JoinSet`, each bounded by the handshake time limit) while accepting goes on: a client
//! that stalls its handshake delays no one.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::either::Either;

use crate::host_core::Core;
use crate::shutdown::Shutdown;
use crate::tcp_listener::{self, Admitted, Refusal};
use crate::tls::{ServerStream, ServerTls};

/// A [`TcpListener`] that hands out only connections holding a slot (and, with TLS,
/// having finished their handshake).
pub struct Limited {
    listener: tcp_listener::Listener,
    tls: Option<Arc<ServerTls>>,
    /// TLS handshakes in progress; dropping the listener (at shutdown) aborts them.
    handshakes: JoinSet<Option<(Counted, SocketAddr)>>,
}

impl Limited {
    /// Records the `http` front end as listening and wraps its socket.
    pub fn new(
        listener: TcpListener,
        core: &Core,
        tls: Option<Arc<ServerTls>>,
        tasks: &Shutdown,
    ) -> Self {
        let refusal = Refusal {
            message: busy_response,
            // A browser sends its request first: read it, or the close resets the answer.
            drain: true,
        };
        Self {
            listener: tcp_listener::Listener::new("http", listener, core, refusal, tasks),
            tls,
            handshakes: JoinSet::new(),
        }
    }
}

/// The refusal over `max_connections`: `503 Service Unavailable`, `retry-after: 1`.
fn busy_response(limit: usize) -> Vec<u8> {
    let body = format!("{}\n", tcp_listener::busy_message(limit));
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl axum::serve::Listener for Limited {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        let Some(tls) = &self.tls else {
            let (stream, peer, admitted) = self.listener.accept().await;
            let _ = stream.set_nodelay(true);
            let counted = Counted {
                stream: Either::Left(stream),
                _admitted: admitted,
            };
            return (counted, peer);
        };
        loop {
            // Both branches are cancel-safe: axum drops this future at shutdown.
            tokio::select! {
                (stream, peer, admitted) = self.listener.accept() => {
                    let _ = stream.set_nodelay(true);
                    let tls = tls.clone();
                    self.handshakes.spawn(async move {
                        let stream = tls.accept(stream, "http", peer).await?;
                        let counted = Counted {
                            stream: Either::Right(Box::new(stream)),
                            _admitted: admitted,
                        };
                        Some((counted, peer))
                    });
                }
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(accepted)) = done {
                        return accepted;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An accepted connection that holds its slot and is counted until dropped.
pub struct Counted {
    stream: Either<TcpStream, Box<ServerStream>>,
    _admitted: Admitted,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
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
