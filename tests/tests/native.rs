//! The native protocol (JSON-RPC 2.0 over TCP lines) against the real binary.

use std::time::{Duration, Instant};

use labsocket_e2e::{RpcClient, Server, WAIT};
use serde_json::{json, Value};

#[test]
fn ping_echo_and_types_round_trip() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    assert_eq!(rpc.call("ping", json!([])), json!("pong"));
    let params = json!([1, 1.0, "é", null, true, {"nested": [1e16, 1e-5]}]);
    assert_eq!(rpc.call("echo", params.clone()), params);
    // Int vs float must survive: compare the raw line, serde_json would blur 1 and 1.0.
    rpc.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"echo\",\"params\":[1,1.0,NaN,-Infinity,1e16]}\n");
    assert_eq!(
        rpc.read_line().unwrap(),
        r#"{"jsonrpc":"2.0","id":"s","result":[1,1.0,NaN,-Infinity,1e+16]}"#
    );
}

#[test]
fn pipelined_replies_come_back_in_request_order() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    // A slow plugin call first: later, faster requests must still be answered after it.
    let mut batch = String::from(
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"hello.sleep\",\"params\":{\"ms\":300}}\n",
    );
    for id in 1..200 {
        batch.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"echo\",\"params\":[{id}]}}\n"
        ));
    }
    rpc.send_raw(batch.as_bytes());
    let first = rpc.read_json();
    assert_eq!(first["id"], 0);
    assert_eq!(first["result"]["slept_ms"], 300);
    for id in 1..200 {
        let reply = rpc.read_json();
        assert_eq!(reply["id"], id, "reply out of order: {reply}");
        assert_eq!(reply["result"], json!([id]));
    }
}

#[test]
fn requests_split_across_reads_and_coalesced_in_one_are_all_answered() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let big = "x".repeat(300_000);
    let stream = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"{big}\"]}}\n\
         {{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}}\n\
         {{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":[3]}}\n"
    );
    let bytes = stream.as_bytes();
    // Cut inside the first line (twice: its end is then searched for across several
    // reads) and inside the third, pausing so the pieces arrive as separate reads.
    let third = stream.rfind("{\"jsonrpc\"").unwrap() + 10;
    for piece in [
        &bytes[..10],
        &bytes[10..150_000],
        &bytes[150_000..third],
        &bytes[third..],
    ] {
        rpc.send_raw(piece);
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = rpc.read_json();
    assert_eq!(
        (
            first["id"].clone(),
            first["result"][0].as_str().map(str::len)
        ),
        (json!(1), Some(big.len()))
    );
    assert_eq!(
        rpc.read_json(),
        json!({"jsonrpc": "2.0", "id": 2, "result": "pong"})
    );
    assert_eq!(
        rpc.read_json(),
        json!({"jsonrpc": "2.0", "id": 3, "result": [3]})
    );
}

#[test]
fn bad_requests_get_json_rpc_errors_and_the_connection_keeps_working() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let cases: &[(&[u8], i64)] = &[
        (b"{not json\n", -32700),
        (b"\xff\xfe\n", -32700),
        (b"[]\n", -32600),
        (b"42\n", -32600),
        (
            b"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}\n",
            -32600,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no.such\"}\n",
            -32601,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set_point\",\"params\":[1]}\n",
            -32602,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello.greet\",\"params\":{\"name\":5}}\n",
            -32602,
        ),
    ];
    for (bytes, code) in cases {
        rpc.send_raw(bytes);
        let reply = rpc.read_json();
        assert_eq!(
            reply["error"]["code"],
            *code,
            "for {:?}: {reply}",
            String::from_utf8_lossy(bytes)
        );
        assert!(reply["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(rpc.call("ping", json!([])), "pong");
    // Another client was never disturbed either.
    assert_eq!(server.rpc().call("ping", json!([])), "pong");
}

#[test]
fn notifications_get_no_reply_and_batches_one_array() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    rpc.send_raw(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\n");
    rpc.send_raw(
        b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]\n",
    );
    let reply = rpc.read_json();
    let replies = reply.as_array().expect("a batch is answered with an array");
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["result"], "pong");
    assert_eq!(replies[1]["error"]["code"], -32601);
}

#[test]
fn panicking_plugin_command_becomes_an_error_and_server_keeps_serving() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let error = rpc.call_err("hello.panic", json!({}));
    assert_eq!(error["code"], -32001);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("hello.panic was called"),
        "{error}"
    );
    assert_eq!(
        rpc.call("hello.greet", json!({"name": "Ada"})),
        "Hello, Ada!"
    );
}

#[test]
fn slow_plugin_command_does_not_stall_other_connections() {
    let server = Server::start("");
    let mut slow = server.rpc();
    slow.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello.sleep\",\"params\":{\"ms\":3000}}\n",
    );
    // Make sure the slow call is in progress before measuring the others.
    let mut other = server.rpc();
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(other.call("hello.greet", json!({})), "Hello, lab!");
        assert_eq!(other.call("ping", json!([])), "pong");
    }
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "other connection waited for the slow command: {:?}",
        started.elapsed()
    );
    assert_eq!(slow.read_json()["result"]["slept_ms"], 3000);
}

#[test]
fn subscribers_get_events_from_plugins_and_points() {
    let server = Server::start("");
    let mut watcher = server.rpc();
    let mut other = server.rpc();
    let topics = watcher.call("subscribe", json!({"topics": ["lab.alarm", "points"]}));
    assert_eq!(topics["topics"], json!(["lab.alarm", "points"]));
    other.call(
        "hello.announce",
        json!({"topic": "lab.alarm", "payload": {"level": 3}}),
    );
    other.call(
        "hello.announce",
        json!({"topic": "not.watched", "payload": {}}),
    );
    let event = watcher.next_notification("event", WAIT);
    assert_eq!(event["params"], json!({"topic": "lab.alarm", "level": 3}));
    other.call("set_point", json!(["alpha", 1.5, 42]));
    let event = watcher.next_notification("event", WAIT);
    assert_eq!(
        event["params"],
        json!({"topic": "points", "alpha": [1.5, 42]})
    );
    // After unsubscribing nothing more arrives: a later ping is the next line.
    watcher.call("unsubscribe", json!({"topics": ["lab.alarm", "points"]}));
    other.call(
        "hello.announce",
        json!({"topic": "lab.alarm", "payload": {}}),
    );
    watcher.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"ping\"}\n");
    assert_eq!(watcher.read_json()["id"], 99);
}

#[test]
fn points_set_by_plugins_and_clients_are_readable() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    rpc.call("hello.measure", json!({"codename": "temp", "value": 21.5}));
    let point = rpc.call("get_point", json!(["temp"]));
    assert_eq!(point["y"], 21.5);
    assert!(point["x"].as_f64().unwrap() > 1.7e9);
    rpc.call(
        "set_point",
        json!({"codename": "p", "x": 1, "y": "on", "timestamp": 5.0}),
    );
    assert_eq!(rpc.call("get_point", json!(["p"]))["set_at"], 5.0);
    let now = rpc
        .call("set_point_now", json!(["q", true]))
        .as_f64()
        .unwrap();
    assert_eq!(rpc.call("get_point", json!(["q"]))["x"], now);
    assert_eq!(rpc.call_err("get_point", json!(["never"]))["code"], -32004);
}

#[test]
fn heartbeats_arrive_at_the_configured_period() {
    let server = Server::start("[native]\nheartbeat_secs = 0.2\n");
    let mut rpc = server.rpc();
    let first = rpc.next_notification("heartbeat", Duration::from_secs(5));
    let second = rpc.next_notification("heartbeat", Duration::from_secs(5));
    let gap = second["params"]["ts"].as_f64().unwrap() - first["params"]["ts"].as_f64().unwrap();
    assert!((0.1..2.0).contains(&gap), "heartbeats {gap} s apart");
}

#[test]
fn introspection_lists_core_and_plugin_commands() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let commands = rpc.call("commands", json!([]));
    let find = |name: &str| {
        commands
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from {commands}"))
    };
    assert_eq!(find("ping")["plugin"], "core");
    assert_eq!(find("hello.greet")["plugin"], "hello");
    assert!(find("hello.greet")["description"]
        .as_str()
        .unwrap()
        .contains("Greets"));
    let status = rpc.call("status", json!([]));
    assert_eq!(status["api_version"], "1.2.0");
    assert_eq!(status["front_ends"][0]["name"], "native");
    assert!(status["front_ends"][0]["connections"].as_i64().unwrap() >= 1);
    let plugins = rpc.call("plugins", json!([]));
    let hello = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hello")
        .unwrap_or_else(|| panic!("hello missing from {plugins}"));
    assert_eq!(hello["source"], "compiled-in");
}

#[test]
fn over_long_lines_are_refused_without_hurting_others() {
    let server = Server::start("[limits]\nmax_line_bytes = 1024\n");
    let mut rpc = server.rpc();
    rpc.send_raw(&vec![b'x'; 4096]);
    let reply = rpc.read_json();
    assert_eq!(reply["error"]["code"], -32600);
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_line_bytes"));
    assert!(
        rpc.read_line().is_none(),
        "the connection is closed after the refusal"
    );
    assert_eq!(server.rpc().call("ping", json!([])), "pong");
}

#[test]
fn a_refusal_comes_after_the_replies_still_owed_to_earlier_pipelined_requests() {
    let server = Server::start("[limits]\nmax_line_bytes = 1024\n");
    let mut rpc = server.rpc();
    // A slow command (awaited), a quick one queued behind it, then a line over the limit,
    // all in one write: both replies must arrive, in order, before the refusal.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(
        br#"{"jsonrpc":"2.0","id":1,"method":"hello.sleep","params":{"ms":300}}"#,
    );
    bytes.push(b'\n');
    bytes.extend_from_slice(br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
    bytes.push(b'\n');
    bytes.extend(vec![b'x'; 4096]);
    bytes.push(b'\n');
    rpc.send_raw(&bytes);
    let first = rpc.read_json();
    assert_eq!(first["id"], 1, "{first}");
    assert!(first.get("error").is_none(), "{first}");
    let second = rpc.read_json();
    assert_eq!(
        (second["id"].clone(), second["result"].clone()),
        (json!(2), json!("pong"))
    );
    let refusal = rpc.read_json();
    assert_eq!(refusal["error"]["code"], -32600, "{refusal}");
    assert!(
        rpc.read_line().is_none(),
        "the connection is closed after the refusal"
    );
}

#[test]
fn connections_past_max_connections_are_refused_cleanly() {
    let server = Server::start("[limits]\nmax_connections = 2\n");
    let mut first = server.rpc();
    let mut second = server.rpc();
    assert_eq!(first.call("ping", json!([])), "pong");
    assert_eq!(second.call("ping", json!([])), "pong");
    let mut third = RpcClient::connect(server.native());
    let refusal = third.read_json();
    assert_eq!(refusal["error"]["code"], -32005);
    assert!(third.read_line().is_none());
    drop(first);
    // The freed slot is usable again (the server notices the close asynchronously).
    let deadline = Instant::now() + WAIT;
    loop {
        let mut retry = RpcClient::connect(server.native());
        retry.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
        let reply: Value = retry.read_json();
        if reply.get("result").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed: {reply}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let mut server = Server::start("");
    let mut rpc = server.rpc();
    assert_eq!(rpc.call("ping", json!([])), "pong");
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(server.stderr().contains("stopped"), "{}", server.stderr());
    assert!(
        rpc.read_line().is_none(),
        "connections are closed on shutdown"
    );
}
