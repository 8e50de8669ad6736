//! The PyMiner front end over raw sockets: G1 and G2 exchanges byte for byte, long
//! connections, heartbeat and broadcasts, framing edge cases and bad input.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;

use labsocket_e2e::pyminer::{g1_call, g1_call_text, g1_request, g2_call, PmConnection, HEARTBEAT};
use labsocket_e2e::{Server, WAIT};
use serde_json::{json, Value};

/// No heartbeats unless a test wants them.
const QUIET: &str = "[pyminer]\nheartbeat_secs = 0\n";

/// `cloudpickle.dumps(42)` on Python 3.11, base64.
const PICKLED_42: &str = "gAVLKi4=";
/// `pickle.dumps({'a': b64(pickle.dumps(1.5, protocol=4))}, protocol=4)`, base64: the
/// outer layer of `write_var_dic` (reference §1.3).
const VAR_DIC_A: &str = "gASVJwAAAAAAAAB9lIwBYZSMHGdBU1ZDZ0FBQUFBQUFBQkhQL2dBQUFBQUFBQXWUcy4=";
/// `base64(pickle.dumps(1.5, protocol=4))`, the inner value of [`VAR_DIC_A`].
const PICKLED_1_5: &str = "gASVCgAAAAAAAABHP/gAAAAAAAAu";

fn data_changed(name: &str, source: &str) -> String {
    format!(
        r#"{{"name": "broadcast", "message": "data_changed", "data_name": "{name}", "data_source": "{source}"}}"#
    )
}

/// Waits until the PyMiner front end reports `expected` open connections.
fn wait_for_connections(server: &Server, expected: i64) {
    let mut rpc = server.rpc();
    let deadline = Instant::now() + WAIT;
    loop {
        let status = rpc.call("status", json!([]));
        let open = status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|front_end| front_end["name"] == "pyminer")
            .map(|front_end| front_end["connections"].as_i64().unwrap())
            .unwrap();
        if open == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pyminer connections stayed at {open}, expected {expected}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn g1_commands_answer_byte_for_byte() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    assert_eq!(
        g1_call_text(pm, "get_all_variable_names", json!([])),
        r#"{"var_names": ["Type", "Complex", "Matrix", "Vector", "TimeSeries", "StateSpace", "DataFrame", "Series"], "message": "succeed"}"#
    );
    assert_eq!(
        g1_call_text(pm, "get_all_public_variable_names", json!([])),
        r#"{"var_names": [], "message": "succeed"}"#
    );
    assert_eq!(
        g1_call_text(pm, "write_p", json!(["x", PICKLED_42, "tester"])),
        r#"{"message": "success"}"#
    );
    assert_eq!(
        g1_call_text(pm, "read_p", json!(["x"])),
        r#"{"x": "gAVLKi4=", "message": "success"}"#
    );
    assert_eq!(
        g1_call_text(pm, "read_p", json!(["nope"])),
        r#"{"message": "variable nope not found!"}"#
    );
    assert_eq!(
        g1_call_text(pm, "write_var_dic", json!([VAR_DIC_A, "ipython"])),
        r#"{"message": "success"}"#
    );
    assert_eq!(
        g1_call_text(pm, "read_p", json!(["a"])),
        format!(r#"{{"a": "{PICKLED_1_5}", "message": "success"}}"#)
    );
    assert_eq!(
        g1_call_text(pm, "get_all_public_variable_names", json!([])),
        r#"{"var_names": ["x", "a"], "message": "succeed"}"#
    );
    let var_dic = g1_call(pm, "get_var_dic", json!([]));
    let keys: Vec<&String> = var_dic.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["message", "var_dic"]);
    assert_eq!(var_dic["message"], "succeeded");
    assert!(
        var_dic["var_dic"].as_str().unwrap().starts_with("gAR9KI"),
        "{var_dic}"
    );
    assert_eq!(
        g1_call_text(pm, "delete_variable", json!(["x", "ipython"])),
        r#"{"message": "succeeded", "var_name": "x", "data_source": "ipython"}"#
    );
    // G1 answered the same for a name that does not exist.
    assert_eq!(
        g1_call_text(pm, "delete_variable", json!(["x"])),
        r#"{"message": "succeeded", "var_name": "x", "data_source": "unknown"}"#
    );
    assert_eq!(
        g1_call_text(pm, "read_p", json!(["x"])),
        r#"{"message": "variable x not found!"}"#
    );
}

#[test]
fn g1_write_failures_keep_g1s_literal_reply_and_store_nothing() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    for params in [
        json!(["x", "gAVOLg=="]),
        json!(["x", ""]),
        json!(["x", "%%%"]),
        json!(["1bad", PICKLED_42]),
        json!(["Matrix", PICKLED_42]),
    ] {
        assert_eq!(
            g1_call_text(pm, "write_p", params),
            r#"{"message":"failed"}"#
        );
    }
    assert_eq!(
        g1_call_text(pm, "write_var_dic", json!(["gAVOLg=="])),
        r#"{"message":"failed"}"#
    );
    assert_eq!(
        g1_call_text(pm, "get_all_public_variable_names", json!([])),
        r#"{"var_names": [], "message": "succeed"}"#
    );
}

#[test]
fn settings_and_style_sheet_over_pyminer() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let text = g1_call_text(pm, "get_settings", json!([]));
    let work_dir = std::fs::canonicalize(server.dir.path().join("labsocket-data")).unwrap();
    assert_eq!(
        text,
        format!(
            r##"{{"message": "succeed", "settings": {{"work_dir": {}, "main_theme": "#F7F7F7", "margin_theme": "#DADADA", "locale": "en", "theme": "Fusion"}}}}"##,
            json!(work_dir.display().to_string())
        )
    );
    // G1 closed the connection without a reply here; labsocket answers.
    assert_eq!(
        g1_call_text(pm, "set_settings_param", json!(["theme", "Qdarkstyle"])),
        r#"{"message": "succeed", "name": "theme", "value": "Qdarkstyle"}"#
    );
    assert_eq!(
        g1_call(pm, "get_settings", json!([]))["settings"]["theme"],
        "Qdarkstyle"
    );
    assert_eq!(
        g1_call_text(pm, "set_settings_param", json!(["nope", 1])),
        r#"{"message": "failed", "content": "Parameter name 'nope' not in settings!"}"#
    );
    let style = g1_call_text(pm, "get_style_sheet", json!([]));
    assert!(
        style.starts_with(r#"{"style_sheet": "/* labsocket"#),
        "{style}"
    );
    assert!(
        style.ends_with(r#"QMainWindow { background-color: #F7F7F7; }\n", "message": "succeed"}"#),
        "{style}"
    );
    // A lab swaps the style sheet file; the next request serves it.
    let qss = server.dir.path().join("labsocket-data/settings/style.qss");
    std::fs::write(&qss, "QWidget { color: \"red\"; }").unwrap();
    assert_eq!(
        g1_call_text(pm, "get_style_sheet", json!([])),
        r#"{"style_sheet": "QWidget { color: \"red\"; }", "message": "succeed"}"#
    );
}

#[test]
fn g2_short_connections_get_json_greetings_and_succeeded() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let mut connection = PmConnection::connect(pm);
    connection
        .send(br#"{"timestamp": 1.5, "name": "A", "contents": "", "method": "request_data"}"#);
    let greeting = connection.read_text();
    let prefix = r#"{"message": "succeeded", "content": "connection established", "timestamp": "#;
    assert!(greeting.starts_with(prefix), "{greeting}");
    let timestamp: f64 = greeting[prefix.len()..greeting.len() - 1].parse().unwrap();
    assert!(timestamp > 1.6e9, "{greeting}");
    let (_, reply) = g2_call(pm, "write_p", json!(["x", PICKLED_42, "g2"]));
    assert_eq!(reply, json!({"message": "succeeded"}));
    let (_, reply) = g2_call(pm, "read_p", json!(["x"]));
    assert_eq!(reply, json!({"x": PICKLED_42, "message": "succeeded"}));
    let (_, reply) = g2_call(pm, "get_all_variable_names", json!([]));
    assert_eq!(reply["message"], "succeeded");
    let (_, reply) = g2_call(pm, "get_all_var_names_of_type", json!(["numeric"]));
    assert_eq!(reply["message"], "succeeded");
    // b64(pickle(['x'])) as the server writes it (protocol 4, no memo).
    assert_eq!(
        reply["var_names"],
        "gASVKE1eAXhhLg=="[..0].to_owned() + &b64_of(b"\x80\x04](\x8c\x01xe.")
    );
    let (_, reply) = g2_call(pm, "get_vars", json!([["x"]]));
    assert_eq!(reply["message"], "succeeded");
    let (_, reply) = g2_call(pm, "nope", json!([]));
    assert_eq!(reply["message"], "failed");
    assert!(reply["content"]
        .as_str()
        .unwrap()
        .contains("unknown method 'nope'"));
    assert!(reply["timestamp"].is_number());
}

fn b64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn g2_long_connection_names_and_immediate_reconnection() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let (first, reply) = PmConnection::g2_long(pm, "A");
    assert_eq!(reply["message"], "succeeded");
    assert_eq!(reply["content"], "socket connected");
    let (mut second, reply) = PmConnection::g2_long(pm, "A");
    assert_eq!(reply["message"], "failed");
    assert_eq!(reply["content"], "socket name 'A' already connected");
    assert!(second.closed_within(WAIT), "a refused connection is closed");
    let mut nameless = PmConnection::connect(pm);
    nameless.send(br#"{"method": "start_long_connection", "id": 0}PMEND"#);
    let reply = nameless.read_json();
    assert_eq!(
        (reply["message"].as_str(), reply["content"].as_str()),
        (Some("failed"), Some("socket name is None"))
    );
    // The client goes away: the name is free as soon as the server sees the FIN, not
    // two or three heartbeats later.
    wait_for_connections(&server, 1);
    first.shutdown();
    wait_for_connections(&server, 0);
    let (_again, reply) = PmConnection::g2_long(pm, "A");
    assert_eq!(reply["content"], "socket connected");
}

#[test]
fn heartbeat_reaches_long_connections_on_time_with_exact_bytes() {
    let server = Server::start("[pyminer]\nheartbeat_secs = 0.3\n");
    let pm = server.pyminer();
    let mut g1 = PmConnection::g1_long(pm);
    let (mut g2, _) = PmConnection::g2_long(pm, "hb");
    let started = Instant::now();
    assert_eq!(g1.read_text(), HEARTBEAT);
    let first = started.elapsed();
    assert!(
        first < Duration::from_secs(2),
        "first heartbeat after {first:?}"
    );
    assert_eq!(g1.read_text(), HEARTBEAT);
    assert_eq!(g1.read_text(), HEARTBEAT);
    let three = started.elapsed();
    assert!(
        three >= Duration::from_millis(400),
        "three heartbeats in {three:?}: not every 0.3 s"
    );
    assert!(
        three < Duration::from_secs(4),
        "three heartbeats took {three:?}"
    );
    assert_eq!(g2.read_text(), HEARTBEAT);
    // A short connection never gets one.
    let mut short = PmConnection::connect(pm);
    short.send(b"request_data");
    assert_eq!(short.read_exact(16), b"conn_established");
    assert!(!short.closed_within(Duration::from_millis(800)));
    short.send_frame(br#"{"method": "ping", "params": []}"#);
    assert_eq!(
        short.read_text(),
        r#"{"message": "success", "result": "pong"}"#
    );
}

#[test]
fn data_changed_reaches_every_long_connection_and_native_subscribers() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let mut longs: Vec<PmConnection> = (0..3).map(|_| PmConnection::g1_long(pm)).collect();
    for name in ["g2-a", "g2-b"] {
        longs.push(PmConnection::g2_long(pm, name).0);
    }
    wait_for_connections(&server, 5);
    let mut rpc = server.rpc();
    rpc.call(
        "subscribe",
        json!({"topics": ["data_changed", "data_deleted"]}),
    );
    g1_call(pm, "write_p", json!(["x", PICKLED_42, "tester"]));
    for long in &mut longs {
        assert_eq!(long.read_text(), data_changed("x", "tester"));
    }
    let event = rpc.next_notification("event", WAIT);
    assert_eq!(
        event["params"],
        json!({"topic": "data_changed", "data_name": "x", "data_source": "tester"})
    );
    // write_var_dic: one broadcast per entry; default provider "server".
    g1_call(pm, "write_var_dic", json!([VAR_DIC_A]));
    assert_eq!(longs[0].read_text(), data_changed("a", "server"));
    // A native write is broadcast to PyMiner clients too.
    rpc.call(
        "workspace.set",
        json!({"name": "n", "value": 1, "provider": "lab"}),
    );
    assert_eq!(longs[3].read_text(), data_changed("a", "server"));
    assert_eq!(longs[3].read_text(), data_changed("n", "lab"));
    // A delete is a native data_deleted event only (G1 never broadcast deletes).
    g1_call(pm, "delete_variable", json!(["x", "ipython"]));
    g1_call(pm, "write_p", json!(["y", PICKLED_42]));
    assert_eq!(longs[0].read_text(), data_changed("n", "lab"));
    assert_eq!(longs[0].read_text(), data_changed("y", "server"));
    let mut topics = Vec::new();
    for _ in 0..4 {
        let event = rpc.next_notification("event", WAIT);
        topics.push(event["params"]["topic"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        topics,
        [
            "data_changed",
            "data_changed",
            "data_deleted",
            "data_changed"
        ]
    );
}

#[test]
fn requests_on_a_long_connection_are_answered_on_it_between_broadcasts() {
    let server = Server::start("[pyminer]\nheartbeat_secs = 0.05\n");
    let pm = server.pyminer();
    let mut long = PmConnection::g1_long(pm);
    for i in 0..20 {
        let request = json!({"method": "write_p", "params": [format!("v{i}"), PICKLED_42, "long"]});
        long.send_frame(request.to_string().as_bytes());
        // The reply and this write's own broadcast, in some order, among heartbeats.
        let mut got = vec![
            long.read_text_skipping_heartbeats(),
            long.read_text_skipping_heartbeats(),
        ];
        got.sort();
        assert_eq!(
            got,
            [
                r#"{"message": "success"}"#.to_owned(),
                data_changed(&format!("v{i}"), "long"),
            ]
        );
    }
    let request = json!({"method": "read_p", "params": ["v7"]});
    long.send_frame(request.to_string().as_bytes());
    assert_eq!(
        long.read_text_skipping_heartbeats(),
        r#"{"v7": "gAVLKi4=", "message": "success"}"#
    );
}

#[test]
fn frames_split_anywhere_or_coalesced_are_handled() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let request = br#"{"method": "write_p", "params": ["s", "gAVLKi4=", "split"]}PMEND"#;
    // Byte by byte, terminator included.
    let mut connection = PmConnection::connect(pm);
    for byte in b"request_data" {
        connection.send(&[*byte]);
    }
    assert_eq!(connection.read_exact(16), b"conn_established");
    for byte in request {
        connection.send(&[*byte]);
    }
    assert_eq!(connection.read_text(), r#"{"message": "success"}"#);
    // Handshake and two requests in one write (G1 failed this).
    let mut connection = PmConnection::connect(pm);
    let mut all = b"request_data".to_vec();
    all.extend_from_slice(br#"{"method": "read_p", "params": ["s"]}PMEND{"method": "ping"}PMEND"#);
    connection.send(&all);
    assert_eq!(connection.read_exact(16), b"conn_established");
    assert_eq!(
        connection.read_text(),
        r#"{"s": "gAVLKi4=", "message": "success"}"#
    );
    assert_eq!(
        connection.read_text(),
        r#"{"message": "success", "result": "pong"}"#
    );
    // A G1 long handshake with a stray terminator in the next packet.
    let mut long = PmConnection::g1_long(pm);
    long.send(b"PMEND");
    long.send_frame(br#"{"method": "ping", "params": []}"#);
    assert_eq!(
        long.read_text(),
        r#"{"message": "success", "result": "pong"}"#
    );
}

#[test]
fn pmend_inside_json_strings_is_data_in_both_directions() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let mut long = PmConnection::g1_long(pm);
    wait_for_connections(&server, 1);
    // The provider string contains the terminator: the request is still one frame...
    let reply = g1_call_text(pm, "write_p", json!(["p", PICKLED_42, "xPMENDy"]));
    assert_eq!(reply, r#"{"message": "success"}"#);
    // ...and the broadcast never carries a raw PMEND: Python's json.loads reads the escape.
    assert_eq!(
        long.read_text(),
        r#"{"name": "broadcast", "message": "data_changed", "data_name": "p", "data_source": "x\u0050MENDy"}"#
    );
    let mut rpc = server.rpc();
    assert_eq!(
        rpc.call("workspace.meta", json!({"name": "p"}))["provider"],
        "xPMENDy"
    );
    // A pickle whose base64 contains PMEND (about 9 % of 100 MB values do), up and down.
    let tricky = "gARDCwAAPMENDAAAAQEBLg==";
    assert_eq!(
        g1_call_text(pm, "write_p", json!(["t", tricky])),
        r#"{"message": "success"}"#
    );
    assert_eq!(
        g1_call_text(pm, "read_p", json!(["t"])),
        r#"{"t": "gARDCwAA\u0050MENDAAAAQEBLg==", "message": "success"}"#
    );
    assert_eq!(g1_call(pm, "read_p", json!(["t"]))["t"], tricky);
}

#[test]
fn large_values_round_trip_intact() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    // 12 MB of pickled bytes (16 MB of base64), in a BINBYTES pickle.
    let payload: Vec<u8> = (0..12_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut pickle = b"\x80\x04B".to_vec();
    pickle.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    pickle.extend_from_slice(&payload);
    pickle.push(b'.');
    let data = b64_of(&pickle);
    assert_eq!(
        g1_call_text(pm, "write_p", json!(["big", data, "bulk"])),
        r#"{"message": "success"}"#
    );
    let reply = g1_call(pm, "read_p", json!(["big"]));
    assert!(reply["big"] == json!(data), "the value came back changed");
    let mut rpc = server.rpc();
    assert_eq!(
        rpc.call("workspace.meta", json!({"name": "big"}))["size"],
        json!(pickle.len())
    );
}

#[test]
fn bad_input_gets_failure_replies_and_harms_no_one() {
    let server = Server::start("[pyminer]\nheartbeat_secs = 0\n[limits]\nmax_frame_bytes = 4096\n");
    let pm = server.pyminer();
    // Connect and leave without a word (froze G1), and connect and say nothing.
    drop(PmConnection::connect(pm));
    let _silent = PmConnection::connect(pm);
    let mut half = PmConnection::connect(pm);
    half.send(b"reque");
    for (frame, expected) in [
        (&b"not json"[..], "invalid request json"),
        (b"[1, 2]", "JSON object"),
        (br#"{"params": []}"#, "\"method\""),
        (br#"{"method": "read_p", "params": 5}"#, "\"params\""),
        (
            br#"{"method": "nope", "params": []}"#,
            "unknown method 'nope'",
        ),
        (
            br#"{"method": "read_p", "params": []}"#,
            "'name' is required",
        ),
        (
            br#"{"method": "set_settings_param", "params": ["theme"]}"#,
            "expected",
        ),
    ] {
        let reply: Value = serde_json::from_slice(&g1_request(pm, frame)).unwrap();
        assert_eq!(reply["message"], "failed", "{reply}");
        let content = reply["content"].as_str().unwrap();
        assert!(content.contains(expected), "{content}");
    }
    // Malformed JSON whose terminator sits inside an open string still gets an answer.
    let started = Instant::now();
    let reply: Value =
        serde_json::from_slice(&g1_request(pm, br#"{"method": "read_p", "params": ["x]}"#))
            .unwrap();
    assert_eq!(reply["message"], "failed");
    assert!(started.elapsed() < Duration::from_secs(5));
    // A frame over max_frame_bytes is refused and the connection closed.
    let mut big = PmConnection::connect(pm);
    big.send(b"request_data");
    assert_eq!(big.read_exact(16), b"conn_established");
    let mut frame = br#"{"method": "write_p", "params": ["big", ""#.to_vec();
    frame.extend(std::iter::repeat_n(b'A', 8192));
    big.send(&frame);
    let reply: Value = serde_json::from_slice(&big.read_frame().unwrap()).unwrap();
    assert!(
        reply["content"]
            .as_str()
            .unwrap()
            .contains("[limits] max_frame_bytes = 4 KiB"),
        "{reply}"
    );
    assert!(big.closed_within(WAIT));
    // A request cut off by EOF (no PMEND) is answered before the close.
    let mut cut = PmConnection::connect(pm);
    cut.send(b"request_data");
    assert_eq!(cut.read_exact(16), b"conn_established");
    cut.send(br#"{"method": "ping"}"#);
    cut.shutdown_write();
    let reply: Value = serde_json::from_slice(&cut.read_frame().unwrap()).unwrap();
    assert!(
        reply["content"].as_str().unwrap().contains("PMEND"),
        "{reply}"
    );
    // Everyone else is still served.
    assert_eq!(
        g1_call_text(pm, "ping", json!([])),
        r#"{"message": "success", "result": "pong"}"#
    );
}

#[test]
fn a_long_connection_that_stops_reading_is_dropped_without_delaying_others() {
    let server = Server::start(QUIET);
    let pm = server.pyminer();
    let mut stalled = PmConnection::g1_long(pm);
    let mut reader = PmConnection::g1_long(pm);
    wait_for_connections(&server, 2);
    // ~30,000 broadcasts of ~600 bytes: far more than the socket buffers plus the
    // per-connection queue can hold for a peer that never reads.
    let provider = "p".repeat(250);
    let names: Vec<String> = (0..1000)
        .map(|i| format!("v{i:04}{}", "x".repeat(240)))
        .collect();
    let dict = pickled_str_dict(names.iter().map(|name| (name.as_str(), PICKLED_42)));
    let rounds = 30;
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        for _ in 0..rounds {
            let reply = g1_call_text(pm, "write_var_dic", json!([dict, provider]));
            assert_eq!(reply, r#"{"message": "success"}"#);
        }
    });
    for _ in 0..rounds * 1000 {
        assert!(reader.read_text().contains("data_changed"));
    }
    writer.join().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the reader was held up: {:?}",
        started.elapsed()
    );
    assert!(
        server.stderr().contains("stopped reading"),
        "{}",
        server.stderr()
    );
    // The stalled connection was closed by the server: reading it now ends in EOF.
    stalled.set_read_timeout(WAIT);
    let _ = stalled.read_to_end();
    wait_for_connections(&server, 1);
}

/// base64 of a protocol-4 pickle of `{name: value}` with str values (the outer layer of
/// `write_var_dic`), written the way CPython does for short strings.
fn pickled_str_dict<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pickle = b"\x80\x04}(".to_vec();
    for (name, value) in entries {
        for text in [name, value] {
            pickle.push(0x8c);
            pickle.push(u8::try_from(text.len()).unwrap());
            pickle.extend_from_slice(text.as_bytes());
        }
    }
    pickle.extend_from_slice(b"u.");
    b64_of(&pickle)
}

#[test]
fn pyminer_can_be_disabled_and_its_port_configured() {
    let server = Server::start("[pyminer]\nenabled = false\n");
    let mut rpc = server.rpc();
    let status = rpc.call("status", json!([]));
    let names: Vec<&str> = status["front_ends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"pyminer"), "{names:?}");
    let failure = Server::start_with_args("[pyminer]\nheartbeat_secs = -1\n", &[])
        .err()
        .expect("a bad config is refused");
    assert!(
        failure.stderr.contains("[pyminer] heartbeat_secs"),
        "{}",
        failure.stderr
    );
}

#[test]
fn connections_past_max_connections_get_a_failure_frame() {
    let server = Server::start(&format!("{QUIET}[limits]\nmax_connections = 2\n"));
    let pm = server.pyminer();
    let first = PmConnection::g1_long(pm);
    let _second = PmConnection::g1_long(pm);
    let mut third = PmConnection::connect(pm);
    assert_eq!(
        third.read_text(),
        r#"{"message": "failed", "content": "server busy: max_connections (2) reached, try again later"}"#
    );
    assert!(third.closed_within(WAIT), "closed after the refusal");
    drop(first);
    // The freed slot is usable again (the server notices the close asynchronously).
    let deadline = Instant::now() + WAIT;
    let admitted = || {
        // A refused connection may be reset before its refusal is read: that is a "no".
        let mut stream = TcpStream::connect(pm).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut reply = [0u8; 16];
        stream.write_all(b"request_data").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"conn_established"
    };
    while !admitted() {
        assert!(Instant::now() < deadline, "slot never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}
