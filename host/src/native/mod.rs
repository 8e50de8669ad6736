//! The native front end: JSON-RPC 2.0 over TCP, one JSON object per line (SPEC §5).
//!
//! - [`rpc`]: request parsing and reply rendering.
//! - [`auth`]: the optional shared-secret check every connection passes first.
//! - [`connection`]: one connection's loop (pipelining, events, heartbeats).
//! - [`client`]: the client the CLI uses.
//!
//! The accept loop enforces `max_connections` across all TCP front ends: a connection
//! over the limit gets one JSON-RPC error line and is closed, so a flood never takes
//! memory or file descriptors from the clients already served.

pub mod auth;
pub mod client;
pub mod connection;
pub mod rpc;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::dispatch::{codes, CallError};
use crate::host_core::Core;
use crate::pyjson::Value;
use crate::shutdown::Shutdown;

pub use connection::Settings;

/// Runs the accept loop on `listener` until shutdown.
pub fn spawn(core: Arc<Core>, listener: TcpListener, settings: Settings, shutdown: &Shutdown) {
    let address = listener
        .local_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
    let open = core.add_front_end("native", address);
    let settings = Arc::new(settings);
    let tasks = shutdown.clone();
    shutdown.spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = tasks.token.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (mut stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually EMFILE: back off briefly instead of spinning on the error.
                    tracing::warn!("native: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = core.connection_slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "native: refusing connection: max_connections reached");
                let refusal = busy_line(core.max_connections);
                tasks.spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        stream.write_all(refusal.as_bytes()),
                    )
                    .await;
                });
                continue;
            };
            let (core, settings, token, open) = (
                core.clone(),
                settings.clone(),
                tasks.token.clone(),
                open.clone(),
            );
            tasks.spawn(async move {
                open.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%peer, "native: connection opened");
                connection::serve(core, stream, settings, token).await;
                open.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!(%peer, "native: connection closed");
                drop(slot);
            });
        }
    });
}

fn busy_line(limit: usize) -> String {
    let error = CallError::new(
        codes::BUSY,
        format!("server busy: max_connections ({limit}) reached, try again later"),
    );
    rpc::reply_line(&Value::Null, &Err(error))
}
