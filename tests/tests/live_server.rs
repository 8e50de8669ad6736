//! The PyExpLabSys live server against the real binary, with real UDP datagrams as a
//! LiveSocket sends them: they reach the WebSocket, the JSON API and native subscribers;
//! RESET forgets a series; bad datagrams are counted, logged once and ignored.

use std::net::UdpSocket;
use std::process::Command;

use labsocket_e2e::{http_get, labsocket_bin, LiveViewClient, Server, TempDir};
use serde_json::{json, Value};

fn sender() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

fn next_live(ws: &mut LiveViewClient) -> Value {
    ws.next_matching("a live event", |m| m["topic"] == "live")["data"].clone()
}

#[test]
fn livesocket_datagrams_reach_the_websocket_the_api_and_native_subscribers() {
    let server = Server::start("[live_server]\nenabled = true\n");
    let live = server.address("live_server");
    let http = server.address("http");
    let mut ws = LiveViewClient::connect(http, "/ws");
    assert_eq!(ws.next_message()["type"], "snapshot");
    let mut rpc = server.rpc();
    rpc.call("subscribe", json!({"topics": ["live"]}));

    // The bytes PyExpLabSys' LiveSocket.set_batch sends (json.dumps, reference §5).
    let udp = sender();
    udp.send_to(
        br#"{"host": "vm", "data": {"c1": [1795238203.5888622, 1.5], "c2": [123.0, "running"]}}"#,
        live,
    )
    .unwrap();
    let expected =
        json!({"host": "vm", "data": {"c1": [1795238203.5888622, 1.5], "c2": [123.0, "running"]}});
    assert_eq!(next_live(&mut ws), expected);
    let event = rpc.next_notification("event", labsocket_e2e::WAIT);
    assert_eq!(event["params"]["topic"], "live");
    assert_eq!(event["params"]["host"], "vm");
    assert_eq!(event["params"]["data"], expected["data"]);

    let hosts = http_get(http, "/api/live", None).json()["hosts"].clone();
    assert_eq!(hosts["vm"]["c1"]["x"], 1795238203.5888622);
    assert_eq!(hosts["vm"]["c2"]["y"], "running");
    assert!(hosts["vm"]["c1"]["received_at"].as_f64().unwrap() > 1.7e9);

    // A new connection's snapshot has the last values per host.
    let mut late = LiveViewClient::connect(http, "/ws");
    let snapshot = late.next_message();
    assert_eq!(snapshot["live"]["vm"]["c2"]["y"], "running");

    // LiveSocket.reset(["c1"]).
    udp.send_to(br#"{"host": "vm", "data": {"c1": "RESET"}}"#, live)
        .unwrap();
    assert_eq!(
        next_live(&mut ws),
        json!({"host": "vm", "data": {"c1": "RESET"}})
    );
    let hosts = http_get(http, "/api/live", None).json()["hosts"].clone();
    assert_eq!(hosts["vm"].get("c1"), None, "{hosts}");
    assert_eq!(hosts["vm"]["c2"]["x"], 123.0);

    let stats = rpc.call("status", json!([]))["live_server"].clone();
    assert_eq!(
        stats,
        json!({"datagrams": 2, "malformed": 0, "refused_series": 0, "hosts": 1, "series": 1})
    );
}

#[test]
fn bad_datagrams_are_counted_logged_once_and_never_stop_the_listener() {
    let server = Server::start("[limits]\nmax_datagram = 256\n[live_server]\nenabled = true\n");
    let live = server.address("live_server");
    let mut ws = LiveViewClient::connect(server.address("http"), "/ws");
    assert_eq!(ws.next_message()["type"], "snapshot");
    let udp = sender();
    let oversized = format!(
        r#"{{"host": "vm", "data": {{"c": [1, "{}"]}}}}"#,
        "x".repeat(1000)
    );
    let bad: [&[u8]; 7] = [
        b"RESET",
        b"\xff\xfe\x00",
        b"[1, 2]",
        br#"{"host": 1, "data": {}}"#,
        br#"{"host": "vm", "data": {"c": [1]}}"#,
        br#"{"host": "vm", "data": {"c": ["t", 1]}}"#,
        oversized.as_bytes(),
    ];
    for datagram in bad {
        udp.send_to(datagram, live).unwrap();
    }
    // Datagrams from one sender are handled in order: once this one shows, all the bad
    // ones were seen.
    udp.send_to(br#"{"host": "vm", "data": {"ok": [2, 3]}}"#, live)
        .unwrap();
    assert_eq!(
        next_live(&mut ws),
        json!({"host": "vm", "data": {"ok": [2, 3]}})
    );
    let stats = server.rpc().call("status", json!([]))["live_server"].clone();
    assert_eq!(stats["datagrams"], 8, "{stats}");
    assert_eq!(stats["malformed"], 7, "{stats}");
    let log = server.stderr();
    let logged: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("malformed datagram"))
        .collect();
    assert_eq!(logged.len(), 1, "one line per minute at most:\n{log}");
    assert!(logged[0].contains("not JSON"), "{}", logged[0]);
}

#[test]
fn series_beyond_max_series_are_refused() {
    let server = Server::start("[live_server]\nenabled = true\nmax_series = 2\n");
    let live = server.address("live_server");
    let mut ws = LiveViewClient::connect(server.address("http"), "/ws");
    assert_eq!(ws.next_message()["type"], "snapshot");
    let udp = sender();
    udp.send_to(
        br#"{"host": "a", "data": {"x": [1, 1], "y": [1, 2], "z": [1, 3]}}"#,
        live,
    )
    .unwrap();
    assert_eq!(
        next_live(&mut ws),
        json!({"host": "a", "data": {"x": [1, 1], "y": [1, 2]}})
    );
    // Known series still update; freeing one makes room.
    udp.send_to(br#"{"host": "a", "data": {"x": "RESET"}}"#, live)
        .unwrap();
    next_live(&mut ws);
    udp.send_to(br#"{"host": "b", "data": {"z": [2, 2]}}"#, live)
        .unwrap();
    assert_eq!(
        next_live(&mut ws),
        json!({"host": "b", "data": {"z": [2, 2]}})
    );
    let stats = server.rpc().call("status", json!([]))["live_server"].clone();
    assert_eq!(stats["refused_series"], 1, "{stats}");
    assert_eq!(stats["series"], 2, "{stats}");
}

#[test]
fn bad_http_and_live_server_settings_are_config_errors() {
    let dir = TempDir::new("webconfig");
    let path = dir.path().join("lab.toml");
    for (config, expected) in [
        (
            "[live_server]\nmax_series = 0\n",
            "[live_server] max_series",
        ),
        ("[http]\nheartbeat_secs = 0\n", "[http] heartbeat_secs"),
        ("[http]\nprot = 1\n", "prot"),
    ] {
        std::fs::write(&path, config).unwrap();
        let out = Command::new(labsocket_bin())
            .args(["serve", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{config}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{config}: {stderr}");
    }
}

#[test]
fn a_udp_port_in_use_is_a_clear_start_error() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let failure = Server::start_with_args(
        "[live_server]\nenabled = true\n",
        &["--live-server-port", &port],
    )
    .err()
    .expect("started on a taken port");
    assert!(
        failure.stderr.contains("cannot listen on 127.0.0.1:")
            && failure.stderr.contains("live_server"),
        "{}",
        failure.stderr
    );
}
