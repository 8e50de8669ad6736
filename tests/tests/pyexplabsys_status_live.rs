//! PyExpLabSys `status` (system and socket server status) and live sockets over real UDP.

use std::time::{Duration, Instant};

use labsocket_e2e::{Server, UdpClient, UdpListener, WAIT};
use serde_json::{json, Value};

#[test]
fn status_covers_the_machine_and_every_udp_socket() {
    let server = Server::start(
        r#"
[[pull_socket]]
name = "my date socket"
port = 0
codenames = ["a"]
activity_timeout = 1.0

[[pull_socket]]
name = "quiet"
kind = "data"
port = 0
codenames = ["q"]
activity_timeout = 1.0

[[pull_socket]]
name = "back-dated"
kind = "data"
port = 0
codenames = ["o"]
activity_timeout = 1.0

[[pull_socket]]
name = "unwatched"
port = 0
codenames = ["u"]
check_activity = false

[[push_socket]]
name = "pusher"
port = 0
"#,
    );
    let ports: Vec<String> = ["pull.0", "pull.1", "pull.3", "push.0", "pull.2"]
        .iter()
        .map(|name| server.address(name).port().to_string())
        .collect();
    let mut rpc = server.rpc();
    // Wait past both activity timeouts (real time), then poke "a" by setting a point:
    // requests never count as activity, a set does.
    std::thread::sleep(Duration::from_millis(1100));
    rpc.call("set_point_now", json!(["a", 1.0]));
    // A point set now with an old timestamp is activity too: PyExpLabSys pokes on
    // `set_point`, whatever timestamp it is given.
    let long_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1000.0;
    rpc.call("set_point", json!(["o", 5, 6, long_ago]));
    for client in [
        UdpClient::new(server.address("pull.0")),
        UdpClient::new(server.address("push.0")),
    ] {
        let reply = client.request("status");
        let status: Value = serde_json::from_str(&reply).expect("status is JSON");
        // Sorted: serde_json keeps insertion order only when a crate in the build asks
        // for it; the reply's own order is checked on the bytes just below.
        let mut keys: Vec<&String> = status.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["socket_server_status", "system_status"]);
        assert!(
            reply.starts_with("{\"system_status\": {\"filesystem_usage\": {"),
            "{reply}"
        );
        let sockets = &status["socket_server_status"];
        let order: Vec<&String> = sockets.as_object().unwrap().keys().collect();
        assert_eq!(order.len(), 5, "{sockets}");
        for port in &ports {
            assert!(
                sockets.get(port).is_some(),
                "port {port} missing: {sockets}"
            );
        }
        let a = &sockets[&ports[0]];
        assert_eq!(a["name"], "my date socket");
        assert_eq!(a["type"], "date");
        assert_eq!(a["status"], "OK");
        assert!(
            a["since_last_activity"].as_f64().unwrap() < 1.0,
            "poked by set: {a}"
        );
        let quiet = &sockets[&ports[1]];
        assert_eq!(
            (quiet["type"].as_str(), quiet["status"].as_str()),
            (Some("data"), Some("INACTIVE"))
        );
        let unwatched = &sockets[&ports[2]];
        assert_eq!(unwatched["status"], "DISABLED");
        assert_eq!(unwatched["since_last_activity"], Value::Null);
        let back_dated = &sockets[&ports[4]];
        assert_eq!(
            back_dated["status"], "OK",
            "set with an old timestamp: {back_dated}"
        );
        assert!(
            back_dated["since_last_activity"].as_f64().unwrap() < 1.0,
            "{back_dated}"
        );
        let push = &sockets[&ports[3]];
        assert_eq!(
            (push["type"].as_str(), push["status"].as_str()),
            (Some("push"), Some("DISABLED"))
        );

        let system = &status["system_status"];
        let keys: Vec<&String> = system.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "filesystem_usage",
                "last_apt_cache_change_unixtime",
                "last_git_fetch_unixtime",
                "load_average",
                "mac_address",
                "machine_name",
                "max_python_mem_usage_bytes",
                "number_of_python_threads",
                "os_version",
                "purpose",
                "python_version",
                "rpi_model",
                "rpi_temperature",
                "sd_card_serial",
                "uptime",
            ]
        );
        // Real values from this machine.
        assert!(system["load_average"]["1m"].as_f64().unwrap() >= 0.0);
        assert!(system["filesystem_usage"]["total_bytes"].as_u64().unwrap() > 0);
        assert!(system["uptime"]["uptime_sec"].as_f64().unwrap() > 0.0);
        assert!(system["number_of_python_threads"].as_u64().unwrap() >= 2);
        assert!(system["max_python_mem_usage_bytes"].as_u64().unwrap() > 1_000_000);
        assert!(!system["machine_name"].as_str().unwrap().is_empty());
    }
}

#[test]
fn system_sample_returns_numeric_metrics() {
    let server = Server::start("");
    let sample = server.rpc().call("system.sample", json!({}));
    for codename in [
        "load_1m",
        "load_5m",
        "load_15m",
        "mem_used_fraction",
        "mem_available_bytes",
        "disk_free_bytes",
        "uptime_secs",
        "net_rx_bytes",
        "net_tx_bytes",
    ] {
        assert!(sample[codename].is_number(), "{codename}: {sample}");
    }
    let used = sample["mem_used_fraction"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&used), "{used}");
}

fn next_json(listener: &UdpListener) -> Value {
    let datagram = listener.next();
    serde_json::from_str(&datagram).unwrap_or_else(|err| panic!("{err}: {datagram}"))
}

#[test]
fn live_socket_sends_changes_batches_and_resets() {
    let listener = UdpListener::new();
    let server = Server::start(&format!(
        r#"
[[live_socket]]
name = "live stuff"
codenames = ["c1", "c2"]
live_server = "{}"
internal_port = 0

[[push_socket]]
name = "points"
port = 0
action = "set_points"
"#,
        listener.address()
    ));
    let mut rpc = server.rpc();
    let host = rpc.call("system.status", json!({}))["machine_name"].clone();
    rpc.call("set_point", json!(["c1", 1795238203.5888622, 1.5]));
    let first = listener.next();
    assert_eq!(
        first,
        format!("{{\"host\": {host}, \"data\": {{\"c1\": [1795238203.5888622, 1.5]}}}}")
    );
    // Codenames the socket does not list are not sent.
    rpc.call("set_point", json!(["elsewhere", 1.0, 2.0]));
    rpc.call("set_point", json!(["c2", 123.0, "running"]));
    assert_eq!(
        next_json(&listener),
        json!({"host": host, "data": {"c2": [123.0, "running"]}})
    );
    // Points set together travel together.
    let push = UdpClient::new(server.address("push.0"));
    push.request(r#"json_wn#{"c1": [5, true], "c2": [5, null], "other": 1}"#);
    assert_eq!(
        next_json(&listener),
        json!({"host": host, "data": {"c1": [5, true], "c2": [5, null]}})
    );
    assert_eq!(rpc.call("live_reset", json!(["c1"])), json!(1));
    assert_eq!(
        next_json(&listener),
        json!({"host": host, "data": {"c1": "RESET"}})
    );
    let error = rpc.call_err("live_reset", json!(["nope"]));
    assert_eq!(error["message"], "The codename: 'nope' is not registered");
    // The internal data pull socket answers as PyExpLabSys' did.
    let internal = UdpClient::new(server.address("live.0"));
    assert_eq!(internal.request("name"), "live stuff");
    assert_eq!(
        internal.request("json_wn"),
        r#"{"c1": [5, true], "c2": [5, null]}"#
    );
    assert_eq!(internal.request("c1#raw"), "5,True");
}

#[test]
fn live_socket_without_internal_pull_socket_still_sends() {
    let listener = UdpListener::new();
    let server = Server::start(&format!(
        "[[live_socket]]\nname = \"l\"\ncodenames = [\"a\"]\nlive_server = \"{}\"\ninternal_pull_socket = false\n",
        listener.address()
    ));
    let deadline = Instant::now() + WAIT;
    let mut rpc = server.rpc();
    rpc.call("set_point", json!(["a", 1.0, 2]));
    assert_eq!(next_json(&listener)["data"], json!({"a": [1.0, 2]}));
    assert!(Instant::now() < deadline);
    let status = rpc.call("status", json!({}));
    let names: Vec<&str> = status["front_ends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"live.0"), "{names:?}");
}
