//! The HTTP front end: the live web view, its WebSocket stream and a small JSON API.
//!
//! People would rather look at a plot than read numbers, so the binary serves a page (no
//! build step; every file embedded) that shows the points, their plots, the live-server
//! hosts, the workspace variables and the server status, updating as events arrive.
//!
//! - [`assets`]: the page and its vendored plotting library (uPlot), embedded.
//! - [`api`]: `GET /api/status|points|sockets|variables|history|live`, JSON (and CSV for
//!   `/api/history?format=csv`).
//! - [`metrics`]: `GET /metrics`, the Prometheus text format.
//! - [`ws`]: `GET /ws`, a WebSocket that streams a snapshot, events and heartbeats.
//! - [`outbox`]: a WebSocket connection's bounded, coalescing queue: a slow browser
//!   never slows the server or other clients.
//! - [`listener`]: the shared TCP accept loop adapted to axum, with a `503` refusal.
//! - [`origin`]: the Host and Origin checks that keep other web sites out.
//! - [`auth`]: the bearer-token check on `/api/*`, `/metrics` and `/ws` once
//!   `[[auth.token]]` is configured.
//!
//! Built on axum (hyper, tokio): well kept, small, and on the runtime the host already
//! runs. It is on by default, on loopback: opening `http://127.0.0.1:8080` is the easiest
//! way to see that a server works, and loopback exposes nothing to the network.

pub mod api;
pub mod assets;
pub mod auth;
pub mod listener;
pub mod metrics;
pub mod origin;
pub mod outbox;
pub mod ws;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::host_core::{Core, Traffic};
use crate::shutdown::Shutdown;

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    pub enabled: bool,
    pub port: u16,
    /// Defaults to `[server] bind`.
    pub bind: Option<IpAddr>,
    /// Seconds between WebSocket heartbeats (each carries the server status).
    pub heartbeat_secs: f64,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 8080,
            bind: None,
            heartbeat_secs: 2.0,
        }
    }
}

impl HttpSection {
    /// The checks types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        let heartbeat = self.heartbeat_secs;
        if !heartbeat.is_finite() || !(0.1..=3600.0).contains(&heartbeat) {
            return Err(format!(
                "[http] heartbeat_secs: must be between 0.1 and 3600 seconds, not {heartbeat}"
            ));
        }
        Ok(())
    }

    /// The address to bind, given `[server] bind`.
    pub fn address(&self, server_bind: IpAddr) -> SocketAddr {
        SocketAddr::new(self.bind.unwrap_or(server_bind), self.port)
    }
}

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub heartbeat: Duration,
    pub shutdown: Shutdown,
}

/// Serves HTTP on `listener` until shutdown; HTTPS only with `tls`; with `tokens`, data
/// needs a bearer token.
pub fn spawn(
    core: Arc<Core>,
    listener: TcpListener,
    section: &HttpSection,
    tokens: Option<Arc<crate::access::Tokens>>,
    tls: Option<Arc<crate::tls::ServerTls>>,
    shutdown: &Shutdown,
) {
    let listener = listener::Limited::new(listener, &core, tls, shutdown);
    core.set_heartbeat_secs("http", section.heartbeat_secs);
    let address = axum::serve::Listener::local_addr(&listener)
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let state = AppState {
        core: core.clone(),
        heartbeat: Duration::from_secs_f64(section.heartbeat_secs),
        shutdown: shutdown.clone(),
    };
    let guard = origin::HostGuard::new(address.ip());
    let traffic = core.traffic("http");
    let mut app = router(state);
    if let Some(tokens) = tokens {
        app = app.layer(axum::middleware::from_fn_with_state(
            auth::Guard::new(tokens),
            auth::check,
        ));
    }
    // Outermost, so that requests the host check refuses are counted too.
    let app = app
        .layer(axum::middleware::from_fn_with_state(
            guard,
            origin::check_host,
        ))
        .layer(axum::middleware::from_fn_with_state(traffic, count));
    let stop = shutdown.token.clone();
    shutdown.spawn(async move {
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        {
            tracing::error!("http: server stopped: {err}");
        }
    });
}

/// Counts every HTTP request, and those answered 4xx or 5xx as errors, for `/metrics`.
async fn count(
    State(traffic): State<Arc<Traffic>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    traffic.request();
    let response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        traffic.error();
    }
    response
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{*path}", get(assets::file))
        .route("/api/status", get(api::status))
        .route("/api/points", get(api::points))
        .route("/api/sockets", get(api::sockets))
        .route("/api/variables", get(api::variables))
        .route("/api/history", get(api::history))
        .route("/api/live", get(api::live))
        .route("/metrics", get(metrics::metrics))
        .route("/ws", get(ws::upgrade))
        .fallback(api::not_found)
        .with_state(state)
}
