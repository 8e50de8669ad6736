//! The PyMiner front end: PyMiner's TCP workspace protocol, frames ending in `PMEND`
//! (SPEC §1; the wire facts are in `reference/pyminer-socket-server.md`).
//!
//! It serves both client generations on one port: G1 (PyMiner's 2020 plugin and clients)
//! and G2 (pmgwidgets 0.9). It does not implement commands: each request's `method` and
//! `params` go through `dispatch::call` like every front end's,
//! and the PyMiner command names (`read_p`, `write_p`, ...) are registered by the
//! `workspace` and `settings` plugins. What is PyMiner-specific lives here:
//!
//! - [`handshake`]: telling G1 from G2 and short from long connections;
//! - [`framing`]: `PMEND` frames, robust to splits, coalescing and `PMEND` in data;
//! - [`connection`]: one connection's task;
//! - [`reply`]: reply bytes in each generation's words, failures included;
//! - [`broadcast`]: long connections, the heartbeat and `data_changed` pushes.

pub mod broadcast;
pub mod connection;
pub mod framing;
pub mod handshake;
pub mod reply;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::net::TcpListener;

use crate::host_core::Core;
use crate::shutdown::Shutdown;
use crate::tcp_listener::{self, Refusal};

/// The `[pyminer]` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PyMinerSection {
    pub enabled: bool,
    pub port: u16,
    /// Defaults to `[server] bind`. The protocol has no authentication: only a trusted
    /// network should reach it (docs/security.md).
    pub bind: Option<std::net::IpAddr>,
    /// Seconds between `Are you alive?` broadcasts to long connections; 0 turns them off.
    pub heartbeat_secs: f64,
    /// The peers served (`["127.0.0.1/32", "10.1.2.0/24"]`): a connection from any other
    /// address is closed at accept, and counted. None: every peer.
    pub allow: Option<crate::access::AllowList>,
}

impl Default for PyMinerSection {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 12306,
            bind: None,
            heartbeat_secs: 10.0,
            allow: None,
        }
    }
}

impl PyMinerSection {
    /// The checks types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        let heartbeat = self.heartbeat_secs;
        if !heartbeat.is_finite() || heartbeat < 0.0 {
            return Err(format!(
                "[pyminer] heartbeat_secs: must be 0 (off) or a positive number of seconds, not {heartbeat}"
            ));
        }
        Ok(())
    }

    /// The heartbeat period, if on.
    pub fn heartbeat(&self) -> Option<Duration> {
        (self.heartbeat_secs > 0.0).then(|| Duration::from_secs_f64(self.heartbeat_secs))
    }
}

/// Runs the accept loop on `listener`, and the broadcaster, until shutdown.
pub fn spawn(
    core: Arc<Core>,
    listener: TcpListener,
    section: &PyMinerSection,
    max_frame_bytes: usize,
    shutdown: &Shutdown,
) {
    let refusal = Refusal {
        message: busy_frame,
        drain: false,
    };
    let listener = tcp_listener::Listener::new("pyminer", listener, &core, refusal, shutdown)
        .allow(section.allow.clone().map(Arc::new));
    core.set_heartbeat_secs("pyminer", section.heartbeat_secs);
    let shared = Arc::new(connection::Shared {
        core: core.clone(),
        traffic: core.traffic("pyminer"),
        long_connections: Arc::default(),
        max_frame_bytes,
    });
    broadcast::spawn(
        core,
        shared.long_connections.clone(),
        section.heartbeat(),
        shutdown,
    );
    listener.spawn(move |stream, _peer, token| connection::serve(shared.clone(), stream, token));
}

/// The refusal over `max_connections`: a G1 failure frame (sent before any handshake
/// says which generation the client is).
fn busy_frame(limit: usize) -> Vec<u8> {
    let message = tcp_listener::busy_message(limit);
    reply::failure(handshake::Generation::G1, None, &message).into()
}
