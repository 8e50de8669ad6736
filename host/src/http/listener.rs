//! The HTTP accept loop's share of `[limits] max_connections`.
//!
//! HTTP connections take a slot from the same semaphore as every other TCP front end, so
//! a flood of browsers or scripts cannot take file descriptors from the lab's clients. A
//! connection over the limit gets a `503` and is closed. The slot and the `status`
//! connection count live in the stream itself, so they are released whenever hyper drops
//! it: at the end of a keep-alive connection or of a WebSocket.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::host_core::Core;
use crate::shutdown::Shutdown;

/// The most a refused connection's request is read before closing anyway.
const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// A [`TcpListener`] that hands out only connections holding a slot.
pub struct Limited {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
    open: Arc<AtomicUsize>,
    tasks: Shutdown,
}

impl Limited {
    pub fn new(
        listener: TcpListener,
        core: &Core,
        open: Arc<AtomicUsize>,
        tasks: &Shutdown,
    ) -> Self {
        Self {
            listener,
            slots: core.connection_slots.clone(),
            max_connections: core.max_connections,
            open,
            tasks: tasks.clone(),
        }
    }

    fn refuse(&self, mut stream: TcpStream, peer: SocketAddr) {
        tracing::warn!(%peer, "http: refusing connection: max_connections reached");
        let body = format!(
            "server busy: max_connections ({}) reached, try again later\n",
            self.max_connections
        );
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
            body.len()
        );
        self.tasks.spawn(async move {
            // Answer, then read what the client sent until it closes: closing a socket
            // with unread request bytes sends a reset, which can destroy the answer before
            // the client reads it.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                stream.write_all(response.as_bytes()).await?;
                stream.shutdown().await?;
                let mut sink = [0u8; 4096];
                let mut drained = 0;
                while drained < MAX_DRAIN_BYTES {
                    match stream.read(&mut sink).await? {
                        0 => break,
                        n => drained += n,
                    }
                }
                Ok::<_, io::Error>(())
            })
            .await;
        });
    }
}

impl axum::serve::Listener for Limited {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually EMFILE: back off briefly instead of spinning on the error.
                    tracing::warn!("http: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                self.refuse(stream, peer);
                continue;
            };
            let _ = stream.set_nodelay(true);
            self.open.fetch_add(1, Ordering::Relaxed);
            let counted = Counted {
                stream,
                _slot: slot,
                open: self.open.clone(),
            };
            return (counted, peer);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An accepted connection that holds its slot and is counted until dropped.
pub struct Counted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
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
