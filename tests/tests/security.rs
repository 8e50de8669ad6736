//! Security: the native protocol's optional shared secret (`[native] auth_token_file`),
//! with the CLI and its `--token`/`LABSOCKET_TOKEN`, and refusals of unsafe token files.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use labsocket_e2e::{labsocket_bin, RpcClient, Server, TempDir};
use serde_json::{json, Value};

const TOKEN: &str = "e2e-token-3f9a1c0b7d2e4f6a";

/// A folder with a private token file and the config naming it (relative path).
fn secured_dir(mode: u32) -> TempDir {
    let dir = TempDir::new("auth");
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

const CONFIG: &str = "[native]\nauth_token_file = \"token\"\nheartbeat_secs = 0\n";

fn error_code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {reply}"))
}

#[test]
fn calls_wait_for_the_token_and_three_failures_close_the_connection() {
    let server = Server::start_in(secured_dir(0o600), CONFIG, &[]).unwrap();

    // Nothing runs before `auth`: not a read, not a write, not a subscription.
    let mut rpc = server.rpc();
    let refused = rpc.request("set_point_now", json!(["leak", 1]));
    assert_eq!(error_code(&refused), -32003, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("authentication required"));
    let wrong = rpc.request("auth", json!({"token": "guess-guess-guess"}));
    assert_eq!(error_code(&wrong), -32003, "{wrong}");
    rpc.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"subscribe\",\"params\":{\"topics\":[\"*\"]}}\n");
    let closing = rpc.read_json();
    assert!(
        closing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("closing the connection"),
        "{closing}"
    );
    assert_eq!(rpc.read_line(), None, "closed after three failures");

    // The right token opens the connection; the refused write never happened.
    let mut rpc = server.rpc();
    let ok = rpc.call("auth", json!({"token": TOKEN}));
    assert_eq!(
        ok,
        json!({"authenticated": true, "required": true, "role": "admin"})
    );
    let missing = rpc.request("get_point", json!(["leak"]));
    assert_eq!(error_code(&missing), -32004, "{missing}");
    assert_eq!(rpc.call("echo", json!([1])), json!([1]));
    // Pipelined after `auth` on a fresh connection: served in order.
    let mut fresh = RpcClient::connect(server.native());
    fresh.send_raw(
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"auth\",\"params\":[\"{TOKEN}\"]}}\n\
             {{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}}\n"
        )
        .as_bytes(),
    );
    assert_eq!(fresh.read_json()["id"], 1);
    assert!(fresh.read_json().get("result").is_some());
}

#[test]
fn the_cli_sends_the_token_from_the_option_or_the_environment() {
    let server = Server::start_in(secured_dir(0o600), CONFIG, &[]).unwrap();
    let port = server.native().port().to_string();
    let call = |extra: &[&str], env: Option<&str>| {
        let mut command = Command::new(labsocket_bin());
        command
            .args(["call", "--port", &port])
            .args(extra)
            .args(["echo", "[7]"])
            .env_remove("LABSOCKET_TOKEN");
        if let Some(token) = env {
            command.env("LABSOCKET_TOKEN", token);
        }
        command.output().unwrap()
    };
    let without = call(&[], None);
    assert!(!without.status.success());
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(stderr.contains("authentication required"), "{stderr}");
    let with_option = call(&["--token", TOKEN], None);
    assert!(with_option.status.success(), "{with_option:?}");
    assert_eq!(String::from_utf8_lossy(&with_option.stdout).trim(), "[7]");
    let with_env = call(&[], Some(TOKEN));
    assert!(with_env.status.success(), "{with_env:?}");
    let wrong = call(&["--token", "wrong-wrong-wrong-wrong"], None);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong token"));
}

#[test]
fn unusable_token_settings_stop_the_start_with_a_clear_error() {
    let readable = Server::start_in(secured_dir(0o644), CONFIG, &[]).map(|_| ());
    let failure = readable.expect_err("a world-readable token file is refused");
    assert!(
        failure.stderr.contains("[native] auth_token_file: ")
            && failure.stderr.contains("chmod 600"),
        "{}",
        failure.stderr
    );
    let missing = Server::start_in(TempDir::new("auth"), CONFIG, &[])
        .map(|_| ())
        .expect_err("a missing token file is refused");
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);
    let short = Server::start_with_args("[native]\nauth_token = \"short\"\n", &[])
        .map(|_| ())
        .expect_err("a short token is refused");
    assert!(short.stderr.contains("at least 16"), "{}", short.stderr);
    let both = Server::start_with_args(
        "[native]\nauth_token = \"0123456789abcdef0\"\nauth_token_file = \"t\"\n",
        &[],
    )
    .map(|_| ())
    .expect_err("both settings are refused");
    assert!(both.stderr.contains("not both"), "{}", both.stderr);
}

#[test]
fn each_tcp_front_end_can_have_its_own_bind_address() {
    let server = Server::start(
        "[server]\nbind = \"127.0.0.1\"\n[native]\nbind = \"127.0.0.2\"\n[pyminer]\nbind = \"127.0.0.3\"\n",
    );
    assert_eq!(server.native().ip().to_string(), "127.0.0.2");
    assert_eq!(server.pyminer().ip().to_string(), "127.0.0.3");
    assert_eq!(server.address("http").ip().to_string(), "127.0.0.1");
    assert_eq!(server.rpc().call("ping", json!([])), "pong");
    assert!(
        !server.stderr().contains("without [[auth.token]]"),
        "no warning for a loopback address"
    );
}
