//! Size limits the hardening added or that had no end-to-end test: UDP datagrams over
//! `[limits] max_datagram` on pull and push sockets, workspace values over
//! `[plugins.workspace] max_variable_bytes` on both the native and PyMiner front ends,
//! and oversized settings values. Each refusal is the protocol's own error and stores
//! nothing.

use base64::Engine;
use labsocket_e2e::pyminer::{g1_call, g1_call_text};
use labsocket_e2e::{Server, UdpClient};
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `pickle.dumps("x" * n, protocol=4)` without the frame opcode (`n` < 256).
fn pickled_text(n: u8) -> String {
    let mut pickle = vec![0x80, 0x04, 0x8c, n];
    pickle.extend(std::iter::repeat_n(b'x', usize::from(n)));
    pickle.extend_from_slice(b"\x94.");
    b64(&pickle)
}

#[test]
fn datagrams_over_max_datagram_are_refused_by_pull_and_push_sockets() {
    let server = Server::start(
        r#"
[limits]
max_datagram = 512
[[pull_socket]]
name = "p"
port = 0
codenames = ["a"]
[[push_socket]]
name = "q"
port = 0
"#,
    );
    let pull = UdpClient::new(server.address("pull.0"));
    let push = UdpClient::new(server.address("push.0"));
    let oversized = format!("json_wn#{{\"a\": \"{}\"}}", "y".repeat(600));
    assert_eq!(pull.request(&oversized), "UNKNOWN_COMMMAND");
    assert_eq!(
        push.request(&oversized),
        "ERROR#The request is longer than 512 bytes ([limits] max_datagram); nothing was stored"
    );
    let mut rpc = server.rpc();
    let port = server.address("push.0").port();
    assert_eq!(
        rpc.call("push_state", json!([port]))["last"],
        json!(null),
        "nothing was stored"
    );
    // Exactly at the limit is still served.
    let fits = format!("json_wn#{{\"a\": \"{}\"}}", "y".repeat(512 - 17));
    assert_eq!(fits.len(), 512);
    assert!(push.request(&fits).starts_with("ACK#"));
    assert_eq!(pull.request("name"), "p");
}

#[test]
fn workspace_values_over_max_variable_bytes_are_refused_on_every_front_end() {
    let server = Server::start(
        "[pyminer]\nheartbeat_secs = 0\n[plugins.workspace]\nmax_variable_bytes = 64\n",
    );
    let mut rpc = server.rpc();
    let pm = server.pyminer();

    let error = rpc.call_err(
        "workspace.set",
        json!({"name": "big", "encoding": "pickle", "data": pickled_text(100)}),
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("the limit is [plugins.workspace] max_variable_bytes = 64 bytes"),
        "{error}"
    );
    assert_eq!(
        g1_call_text(pm, "write_p", json!(["big", pickled_text(100)])),
        r#"{"message":"failed"}"#
    );
    assert_eq!(rpc.call("workspace.list", json!({})), json!([]));

    // The same shape under the limit is stored: the refusal was the size, not the pickle.
    assert_eq!(
        g1_call(pm, "write_p", json!(["small", pickled_text(40)]))["message"],
        "success"
    );
    assert_eq!(rpc.call("workspace.list", json!({}))[0]["name"], "small");
}

#[test]
fn a_bad_max_variable_bytes_keeps_the_workspace_from_loading() {
    let server = Server::start("[plugins.workspace]\nmax_variable_bytes = -1\n");
    let error = server.rpc().call_err("workspace.list", json!({}));
    assert_eq!(
        error["code"], -32006,
        "the workspace is not loaded: {error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("max_variable_bytes: must be a positive integer"),
        "calling it says why: {error}"
    );
    let log = server.stderr();
    assert!(
        log.contains("[plugins.workspace] max_variable_bytes: must be a positive integer"),
        "{log}"
    );
}

#[test]
fn oversized_settings_values_are_refused_and_nothing_changes() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let error = rpc.call_err(
        "settings.set",
        json!({"name": "locale", "value": "x".repeat(70_000)}),
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("more than the limit of 65536"),
        "{error}"
    );
    assert_eq!(
        rpc.call("settings.get", json!({}))["locale"],
        json!("en"),
        "the setting kept its value"
    );
}
