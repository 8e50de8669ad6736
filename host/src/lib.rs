//! labsocket: one host for live laboratory data and shared data workspaces.
//!
//! The core owns sockets, connections, heartbeats, the event bus and the point table;
//! everything a lab customises comes from plugins (compiled in or loaded from dylibs)
//! through the stable API of the `labsocket-plugin-api` crate.
//!
//! Map of the modules, outside in:
//!
//! - [`cli`]: the command line (`serve`, `plugins`, `call`, `watch`, `get`).
//! - [`config`]: the TOML configuration and its validation.
//! - `data_dir_lock`: one server per data directory (taken by `serve` before it listens).
//! - [`server`]: starts everything from a [`config::Config`] and shuts it down cleanly.
//! - [`native`]: the JSON-RPC 2.0 front end (TCP, one JSON object per line).
//! - [`pyexplabsys`]: the PyExpLabSys UDP front ends (pull, push and live sockets).
//! - [`http`]: the live web view (a page, its WebSocket stream, a JSON API).
//! - [`live_server`]: the PyExpLabSys live server (LiveSocket datagrams over UDP).
//! - [`pyminer`]: the PyMiner front end (TCP, JSON frames ending in `PMEND`).
//! - [`dispatch`]: the core commands and routing to plugin commands, shared by every
//!   front end.
//! - [`plugins`]: loading (compiled-in and dylib), the command registry, the host functions
//!   plugins call.
//! - [`host_core`]: [`host_core::Core`], the state every front end shares.
//! - [`events`]: the event bus (topics, bounded, lossy for slow subscribers).
//! - [`points`]: the point table (latest `(x, y)` per codename).
//! - [`pyjson`]: JSON and `repr()` exactly as CPython writes them (the legacy protocols
//!   compare bytes).
//! - [`shutdown`]: the cancellation token and task tracker every task obeys.
//! - [`sources`]: timed-point sources, commands called on a timer whose results become
//!   points.
//! - [`tcp_listener`]: the accept loop and `max_connections` refusal every TCP front end
//!   shares.

pub mod cli;
pub mod config;
pub(crate) mod data_dir_lock;
pub mod dispatch;
pub mod events;
pub mod host_core;
pub mod http;
pub mod live_server;
pub mod native;
pub mod plugins;
pub mod points;
pub mod pyexplabsys;
pub mod pyjson;
pub mod pyminer;
pub mod server;
pub mod shutdown;
pub mod sources;
pub mod tcp_listener;

/// The plugin API version this host provides.
pub use labsocket_plugin_api::abi::ABI_VERSION;

/// The host's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// Compiled-in plugins. Naming each crate makes the linker keep it, and with it the
// plugin's `inventory` registration (an unreferenced crate is silently dropped).
use hello as _;
use settings as _;
use sine as _;
use system as _;
use workspace as _;
