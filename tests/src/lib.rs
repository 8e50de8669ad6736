//! The end-to-end test harness: build the real binaries, start `labsocket serve` on free
//! loopback ports, and talk to it over real sockets.
//!
//! - [`build`]: runs `cargo build` for the binary and plugin dylibs once per test process.
//! - [`plugin_list`]: `[plugins] dylibs` config snippets and `labsocket plugins --json` runs.
//! - [`Server`]: a running server in its own temporary folder; killed when dropped.
//! - [`RpcClient`]: a blocking native-protocol (JSON-RPC over TCP lines) client.
//! - [`UdpClient`], [`UdpListener`]: PyExpLabSys-style UDP requests, and a stand-in
//!   live server.
//! - [`python`]: the virtual environment the Python-client tests run in.
//! - [`web`]: an HTTP `GET` and the live view's WebSocket client.
//! - [`points`]: pipelined `set_point`s for load tests.
//! - [`postgres`]: a throw-away PostgreSQL server (initdb + pg_ctl on a free port).
//! - [`durability`]: writers that record acknowledged writes, and the check after a crash.
//! - [`browser`]: headless Chromium driven over DevTools, for the live view's page.
//! - [`pyminer`]: a raw PyMiner (`PMEND` frames) client, G1 and G2.
//! - [`python`]: a venv with the real PyMiner clients, and running test scripts in it.
//! - [`mosquitto`]: a real Mosquitto broker on a free loopback port, for federation;
//!   [`federation`]: waits the federation tests share.
//! - [`tls`]: certificates made by the documented `openssl` commands, and a plain-to-TLS
//!   relay that lets every plain test client reach a TLS port.
//!
//! Nothing here sleeps and hopes: every wait is for a specific line or reply, bounded by a
//! timeout that fails the test with what was seen.

pub mod bench;
pub mod browser;
pub mod build;
pub mod durability;
pub mod federation;
pub mod mosquitto;
pub mod plugin_list;
pub mod points;
pub mod postgres;
pub mod pyminer;
pub mod python;
pub mod rpc;
pub mod server;
pub mod tls;
pub mod udp;
pub mod web;

pub use build::{
    bad_plugin, cargo_outside, dylib_file, labsocket_bin, labsocket_release_bin, units_dylib,
    workspace_root,
};
pub use rpc::RpcClient;
pub use server::{Server, TempDir};
pub use udp::{UdpClient, UdpListener};
pub use web::{http_get, http_get_with, LiveViewClient};

/// How long any single wait in a test may take before the test fails.
/// A TCP port on 127.0.0.1 free right now (the OS picks it; a helper binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("local address")
        .port()
}

pub const WAIT: std::time::Duration = std::time::Duration::from_secs(20);
