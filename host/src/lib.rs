//! labsocket: one host for live laboratory data and shared data workspaces.
//!
//! The core owns sockets, connections, heartbeats, the event bus and the point table;
//! everything a lab customises comes from plugins (compiled in or loaded from dylibs)
//! through the stable API of the `labsocket-plugin-api` crate.
//!
//! Map of the modules, in layers. A module may use its own layer's lower neighbours and
//! every layer below it, never one above; `host/tests/layers.rs` reads these files and
//! fails on any reference that breaks the rule (and on any import cycle between them).
//!
//! **Foundation** (no labsocket state, usable by everything):
//! - [`pyjson`]: JSON and `repr()` exactly as CPython writes them (the legacy protocols
//!   compare bytes).
//! - `shutdown`: the cancellation token and task tracker every task obeys.
//! - `failure_log`: rate-limited logging of repeated failures.
//!
//! **Core** (references the foundation only: no front end, source runner, CLI or config):
//! - [`events`]: the event bus (bounded, lossy for slow subscribers); topic names are
//!   `labsocket_plugin_api::topics`, error codes `labsocket_plugin_api::codes`.
//! - [`points`]: the point table (latest `(x, y)` per codename).
//! - [`plugins`]: loading (compiled-in and dylib), the command registry, the host functions
//!   plugins call.
//! - [`commands`]: the core commands, one file per family, one table.
//! - `annotations`: what plugins say front ends need to know about their commands.
//! - [`call`]: what every call shares: [`call::CallError`] and argument helpers.
//! - `dispatch`: routing a call over the commands on the core (the core table and what
//!   front ends registered) and then the plugin registry.
//! - `host_core`: `host_core::Core`, the state every front end shares, with what front
//!   ends registered on it (`host_core::Extensions`: their commands and `status`
//!   sections).
//! - [`access`]: who may do what: token roles, the role each command needs, allow-lists.
//! - `tcp_listener`: the accept loop, connection slots and `max_connections` refusal every
//!   TCP front end shares.
//! - `tls`: TLS for the native and HTTP front ends (`[tls]`, reloaded on SIGHUP) and
//!   for the clients.
//!
//! **Front ends and the source runner** (reference the core and the foundation only: not
//! each other, not the configuration; their settings are passed in):
//! - [`native`]: the JSON-RPC 2.0 front end (TCP, one JSON object per line).
//! - [`pyminer`]: the PyMiner front end (TCP, JSON frames ending in `PMEND`).
//! - [`pyexplabsys`]: the PyExpLabSys UDP front ends (pull, push and live sockets).
//! - `http`: the live web view (a page, its WebSocket stream, a JSON API).
//! - [`live_server`]: the PyExpLabSys live server (LiveSocket datagrams over UDP).
//! - `sources`: timed-point sources, commands called on a timer whose results become
//!   points.
//!
//! **Boot** (on top; may use everything):
//! - `data_dir_lock`: one server per data directory (taken by `serve` before it listens).
//! - [`config`]: the TOML configuration and its validation.
//! - `server`: builds the core from a [`config::Config`], lets each front end register
//!   what it owns, starts everything and shuts it down cleanly.
//! - [`cli`]: the command line (`serve`, `plugins`, `call`, `watch`, `get`).

pub mod access;
pub(crate) mod annotations;
pub mod call;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod data_dir_lock;
pub(crate) mod dispatch;
pub mod events;
pub(crate) mod failure_log;
pub(crate) mod host_core;
pub(crate) mod http;
pub mod live_server;
pub mod native;
pub mod plugins;
pub mod points;
pub mod pyexplabsys;
pub mod pyjson;
pub mod pyminer;
pub(crate) mod server;
pub(crate) mod shutdown;
pub(crate) mod sources;
pub(crate) mod tcp_listener;
pub(crate) mod tls;

/// The plugin API version this host provides.
pub use labsocket_plugin_api::abi::ABI_VERSION;

/// The host's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// Compiled-in plugins. Naming each crate makes the linker keep it, and with it the
// plugin's `inventory` registration (an unreferenced crate is silently dropped).
use hello as _;
use history as _;
use mqtt as _;
use settings as _;
use sine as _;
use system as _;
use workspace as _;
