//! The real PyMiner G2 clients (PyPI pmgwidgets 0.9.4: BaseClient, GeneralClient,
//! PMClient) against the real binary, unchanged, through `tests/python/`.

use std::time::Duration;

use labsocket_e2e::python::run_script;
use labsocket_e2e::Server;

/// Runs one scenario of `pmgwidgets_clients.py` against a fresh server and checks that it
/// reports success.
fn scenario(name: &str) {
    let server = Server::start("[pyminer]\nheartbeat_secs = 0.2\n");
    let args = [
        name.to_owned(),
        server.pyminer().port().to_string(),
        server.native().port().to_string(),
    ];
    let output = run_script("pmgwidgets_clients.py", &args, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(&format!("OK {name}")),
        "scenario {name} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        server.stderr()
    );
}

#[test]
fn base_client_covers_every_command() {
    scenario("base_client");
}

#[test]
fn json_variables_and_pickles_cross_between_native_and_pyminer_clients() {
    scenario("json_interop");
}

#[test]
fn general_clients_get_heartbeats_broadcasts_and_reconnect_at_once() {
    scenario("general_client");
}

#[test]
fn qt_pm_client_gets_data_changed_signals() {
    scenario("pm_client");
}
