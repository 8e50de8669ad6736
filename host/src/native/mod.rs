//! The native front end: JSON-RPC 2.0 over TCP, one JSON object per line (SPEC §5).
//!
//! - [`rpc`]: request parsing and reply rendering; [`plain_request`]: its fast path.
//! - [`auth`]: the optional token check every connection passes first, and the role
//!   check of every call after it.
//! - [`connection`]: one connection's loop (pipelining, events, heartbeats).
//! - `binary`: raw-byte frames beside request and reply lines (large values).
//! - [`client`]: the client the CLI uses.
//!
//! The accept loop is `tcp_listener`'s: a connection over
//! `max_connections` gets one JSON-RPC error line and is closed. With `[tls]` every
//! connection is TLS from its first byte: the handshake runs on the connection's own
//! task (`tls::ServerTls::accept`, time-limited), then the same connection loop serves
//! the TLS stream.

pub mod auth;
pub(crate) mod binary;
pub mod client;
pub mod connection;
pub mod plain_request;
pub mod rpc;

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::call::CallError;
use crate::host_core::Core;
use crate::pyjson::Value;
use crate::shutdown::Shutdown;
use crate::tcp_listener::{self, Refusal};
use labsocket_plugin_api::codes;

pub use connection::{BinaryLimit, Settings};

/// Runs the accept loop on `listener` until shutdown.
pub fn spawn(core: Arc<Core>, listener: TcpListener, settings: Settings, shutdown: &Shutdown) {
    let refusal = Refusal {
        message: busy_line,
        drain: false,
    };
    let listener = tcp_listener::Listener::new("native", listener, &core, refusal, shutdown);
    let heartbeat_secs = settings
        .heartbeat
        .map_or(0.0, |period| period.as_secs_f64());
    core.set_heartbeat_secs("native", heartbeat_secs);
    let settings = Arc::new(settings);
    let traffic = core.traffic("native");
    listener.spawn(move |stream, peer, token| {
        let _ = stream.set_nodelay(true);
        let (core, settings, traffic) = (core.clone(), settings.clone(), traffic.clone());
        async move {
            match settings.tls.clone() {
                None => connection::serve(core, stream, settings, traffic, token).await,
                Some(tls) => {
                    // The handshake also ends at shutdown: a stalled client must not hold
                    // up the stop.
                    let accepted = tokio::select! {
                        accepted = tls.accept(stream, "native", peer) => accepted,
                        _ = token.cancelled() => None,
                    };
                    if let Some(stream) = accepted {
                        connection::serve(core, stream, settings, traffic, token).await;
                    }
                }
            }
        }
    });
}

/// The refusal over `max_connections`: one JSON-RPC error line.
fn busy_line(limit: usize) -> Vec<u8> {
    let error = CallError::new(codes::BUSY, tcp_listener::busy_message(limit));
    rpc::reply_line(&Value::Null, &Err(error)).into_bytes()
}
