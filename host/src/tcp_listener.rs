//! The accept loop every TCP front end (native, PyMiner, HTTP) shares, with its share of
//! `[limits] max_connections`.
//!
//! Each accepted connection takes a slot from one semaphore across all TCP front ends
//! (`Core::connection_slots`), so a flood on one port never takes memory or file
//! descriptors from the clients already served on another. A connection over the limit
//! gets its front end's refusal, in that front end's protocol, and is closed. A failing
//! `accept` (usually EMFILE) backs off briefly instead of spinning. Each admitted
//! connection counts in its front end's `status` connection count until it is dropped.
//! A front end with an allow-list ([`Listener::allow`]) closes a connection from any other
//! address at once, before it takes a slot, and counts it as denied.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::access::{self, SharedAllowList};
use crate::failure_log::FailureLog;
use crate::host_core::{Core, Traffic};
use crate::shutdown::Shutdown;

/// How long a refused connection may take to be answered (and drained) before it is closed.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// The most of a refused connection's request that is read before closing anyway.
const MAX_DRAIN_BYTES: usize = 64 * 1024;
/// The pause after a failed `accept`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The words every front end uses to refuse a connection over `max_connections`.
pub fn busy_message(max_connections: usize) -> String {
    format!("server busy: max_connections ({max_connections}) reached, try again later")
}

/// How a front end turns away a connection over `max_connections`.
pub struct Refusal {
    /// The bytes sent, in the front end's protocol, given `max_connections`.
    pub message: fn(usize) -> Vec<u8>,
    /// Read what the client sent until it closes before closing too. For protocols whose
    /// clients send first (HTTP): closing a socket with unread bytes sends a reset, which
    /// can destroy the answer before the client reads it.
    pub drain: bool,
}

/// A front end's listening socket that hands out only connections holding a slot.
pub struct Listener {
    name: &'static str,
    listener: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
    open: Arc<AtomicUsize>,
    refusal: Refusal,
    tasks: Shutdown,
    allow: SharedAllowList,
    traffic: Arc<Traffic>,
    /// Denied connections are logged at a bounded rate: a scan must not fill the log.
    denied_log: FailureLog,
}

/// An admitted connection's slot and place in its front end's connection count, both
/// given back when this is dropped.
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Listener {
    /// Records front end `name` as listening (for `status`) and wraps its socket.
    pub fn new(
        name: &'static str,
        listener: TcpListener,
        core: &Core,
        refusal: Refusal,
        tasks: &Shutdown,
    ) -> Listener {
        let address = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let open = core.add_front_end(name, address);
        Listener {
            name,
            open,
            traffic: core.traffic(name),
            allow: None,
            denied_log: FailureLog::default(),
            listener,
            slots: core.connection_slots.clone(),
            max_connections: core.max_connections,
            refusal,
            tasks: tasks.clone(),
        }
    }

    /// Serves only peers `allow` lists (none: every peer).
    pub fn allow(mut self, allow: SharedAllowList) -> Self {
        self.allow = allow;
        self
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The next connection that gets a slot; connections over the limit are refused on
    /// the way. Cancel-safe: nothing is lost when the future is dropped.
    pub async fn accept(&mut self) -> (TcpStream, SocketAddr, Admitted) {
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!("{}: accept failed: {err}", self.name);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            if !access::allowed(self.allow.as_deref(), peer.ip()) {
                self.traffic.deny();
                let message = format!(
                    "{}: refused a connection from {peer}: not in allow",
                    self.name
                );
                if let Some(line) = self.denied_log.failed(std::time::Instant::now(), &message) {
                    tracing::warn!("{line}");
                }
                continue;
            }
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                self.refuse(stream, peer);
                continue;
            };
            self.open.fetch_add(1, Ordering::Relaxed);
            let admitted = Admitted {
                _slot: slot,
                open: self.open.clone(),
            };
            return (stream, peer, admitted);
        }
    }

    fn refuse(&self, mut stream: TcpStream, peer: SocketAddr) {
        tracing::warn!(%peer, "{}: refusing connection: max_connections reached", self.name);
        let message = (self.refusal.message)(self.max_connections);
        let drain = self.refusal.drain;
        self.tasks.spawn(async move {
            let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
                stream.write_all(&message).await?;
                if drain {
                    stream.shutdown().await?;
                    let mut sink = [0u8; 4096];
                    let mut drained = 0;
                    while drained < MAX_DRAIN_BYTES {
                        match stream.read(&mut sink).await? {
                            0 => break,
                            n => drained += n,
                        }
                    }
                }
                Ok::<_, io::Error>(())
            })
            .await;
        });
    }

    /// Accepts until shutdown, serving each admitted connection with `serve` on its own
    /// task; `serve` gets the peer's address and the shutdown token to stop at.
    pub fn spawn<S, F>(mut self, serve: S)
    where
        S: Fn(TcpStream, SocketAddr, CancellationToken) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let tasks = self.tasks.clone();
        tasks.clone().spawn(async move {
            loop {
                let (stream, peer, admitted) = tokio::select! {
                    _ = tasks.token.cancelled() => break,
                    accepted = self.accept() => accepted,
                };
                let name = self.name;
                let connection = serve(stream, peer, tasks.token.clone());
                tasks.spawn(async move {
                    tracing::debug!(%peer, "{name}: connection opened");
                    connection.await;
                    tracing::debug!(%peer, "{name}: connection closed");
                    drop(admitted);
                });
            }
        });
    }
}
