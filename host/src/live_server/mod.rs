//! The live server: a UDP listener for PyExpLabSys `LiveSocket` datagrams (reference §5).
//!
//! A PyExpLabSys `LiveSocket` pushes `{"host": h, "data": {codename: [x, y] | "RESET"}}`
//! to a central live server (UDP 9767), which relayed them to browsers. labsocket is that
//! server: point `common_liveserver_host`/`common_liveserver_port` at it and every
//! datagram is kept per `host:codename` ([`LiveHosts`], on the core) and published on the
//! bus as a `live` event ([`host_topics::LIVE`]), which the live web view (and any native subscriber) shows.
//!
//! - [`datagram`]: reading one datagram.
//! - [`hosts`]: the last values per host and the counters `status` shows.
//!
//! Nothing is ever sent back (LiveSockets expect no reply). A datagram over `[limits]
//! max_datagram` or one that is not a LiveSocket datagram is dropped, counted and logged
//! at a bounded rate; it never stops the listener.

pub mod datagram;
pub mod hosts;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use tokio::net::UdpSocket;

pub use hosts::LiveHosts;

use crate::events::host_topics;
use crate::failure_log::FailureLog;
use crate::host_core::{views, Core, Extensions};
use crate::shutdown::Shutdown;

/// `[live_server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveServerSection {
    /// Off by default: it is only useful once a lab points its LiveSockets here, and a
    /// server should not take a port nobody asked for.
    pub enabled: bool,
    /// PyExpLabSys' live-server port.
    pub port: u16,
    /// Defaults to `[server] bind`. LiveSockets run on other machines, so a lab that uses
    /// this sets `bind = "0.0.0.0"` (docs/user-guide.md).
    pub bind: Option<IpAddr>,
    /// Most `host:codename` series kept at once.
    pub max_series: usize,
    /// The peers served (`["10.1.2.0/24"]`): datagrams from any other address are
    /// dropped, and counted. None: every peer.
    pub allow: Option<crate::access::AllowList>,
}

impl Default for LiveServerSection {
    fn default() -> Self {
        Self {
            enabled: false,
            port: 9767,
            bind: None,
            max_series: 10_000,
            allow: None,
        }
    }
}

impl LiveServerSection {
    /// The checks types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_series == 0 {
            return Err("[live_server] max_series: must be at least 1".to_owned());
        }
        Ok(())
    }

    /// The address to bind, given `[server] bind`.
    pub fn address(&self, server_bind: IpAddr) -> SocketAddr {
        SocketAddr::new(self.bind.unwrap_or(server_bind), self.port)
    }
}

/// What the receive loop needs besides the core.
pub struct Settings {
    pub max_datagram: usize,
    pub max_series: usize,
    /// The peers served; datagrams from others are dropped and counted (none: all).
    pub allow: crate::access::SharedAllowList,
}

/// Registers the live server's `status` section and `views::LIVE_HOSTS` over `hosts`
/// (registered whether or not it runs: `status` always shows the counters).
pub fn register(extensions: &mut Extensions, hosts: &Arc<LiveHosts>) {
    let for_status = hosts.clone();
    extensions.status_section(views::LIVE_SERVER, move || for_status.stats());
    let hosts = hosts.clone();
    extensions.view(views::LIVE_HOSTS, move || hosts.snapshot());
}

/// Runs the receive loop on `socket` until shutdown, keeping what arrives in `hosts`.
pub fn spawn(
    core: Arc<Core>,
    hosts: Arc<LiveHosts>,
    socket: UdpSocket,
    settings: Settings,
    shutdown: &Shutdown,
) {
    let address = socket
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    core.add_front_end("live_server", address);
    let traffic = core.traffic("live_server");
    let token = shutdown.token.clone();
    shutdown.spawn(async move {
        // One byte more than allowed, so an oversized datagram shows as one (the kernel
        // silently cuts what does not fit).
        let mut buffer = vec![0u8; settings.max_datagram + 1];
        let mut malformed_log = FailureLog::default();
        let mut denied_log = FailureLog::default();
        loop {
            let received = tokio::select! {
                _ = token.cancelled() => break,
                received = socket.recv_from(&mut buffer) => received,
            };
            let (len, peer) = match received {
                Ok(received) => received,
                // ICMP errors from earlier sends and the like: nothing to do but go on.
                Err(err) => {
                    tracing::debug!("live_server: receive failed: {err}");
                    continue;
                }
            };
            if !crate::access::allowed(settings.allow.as_deref(), peer.ip()) {
                traffic.deny();
                let message = format!("dropped a datagram from {peer}: not in allow");
                if let Some(line) = denied_log.failed(Instant::now(), &message) {
                    tracing::warn!("live_server: {line}");
                }
                continue;
            }
            traffic.request();
            let parsed = if len > settings.max_datagram {
                Err(format!(
                    "datagram longer than [limits] max_datagram ({} bytes)",
                    settings.max_datagram
                ))
            } else {
                datagram::parse(&buffer[..len])
            };
            match parsed {
                Ok(update) => {
                    let now = labsocket_plugin_api::unix_now();
                    let accepted = hosts.apply(update, now, settings.max_series);
                    if !accepted.entries.is_empty() {
                        core.bus.publish(host_topics::LIVE, accepted.to_value());
                    }
                }
                Err(error) => {
                    traffic.error();
                    hosts.count_malformed();
                    let message = format!("malformed datagram from {peer}: {error}");
                    if let Some(line) = malformed_log.failed(Instant::now(), &message) {
                        tracing::warn!("live_server: {line}");
                    }
                }
            }
        }
    });
}
