//! Large workspace values over the native protocol's binary frames (issue 11, "Large
//! values"): `{"$binary": N}` in the params followed by N raw bytes, and binary replies.
//!
//! Raw-socket tests speak the frames byte by byte (pipelining with JSON requests, a frame
//! cut short by a disconnect, a header over the limit, a batch); the Python client stores
//! and reads a 256 MiB numpy array, which survives a crash and a restart.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use labsocket_e2e::python::run_script;
use labsocket_e2e::{RpcClient, Server, WAIT};
use serde_json::{json, Value};

const CONFIG: &str = "[native]\nheartbeat_secs = 0\n";

/// `count` bytes that differ from their neighbours, so a shifted or cut copy is noticed.
fn pattern(count: usize) -> Vec<u8> {
    (0..count).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// A request line announcing `bytes.len()` raw bytes, then the bytes.
fn binary_set(id: i64, name: &str, bytes: &[u8]) -> Vec<u8> {
    let request = json!({"jsonrpc": "2.0", "id": id, "method": "workspace.set",
        "params": {"name": name, "encoding": "npy", "data": {"$binary": bytes.len()}}});
    let mut frame = format!("{request}\n").into_bytes();
    frame.extend_from_slice(bytes);
    frame
}

fn line(request: Value) -> Vec<u8> {
    format!("{request}\n").into_bytes()
}

#[test]
fn binary_sets_and_gets_pipeline_with_json_requests_in_order() {
    let server = Server::start(CONFIG);
    let mut rpc = server.rpc();
    let value = pattern(3 << 20);
    let other = pattern(100_001);
    // One write: binary sets between JSON requests. (Pipelined commands may run
    // concurrently, replies come in order: reads of these values come in the next write.)
    let mut stream = binary_set(1, "arr", &value);
    stream.extend(line(
        json!({"jsonrpc": "2.0", "id": 2, "method": "echo", "params": ["after the bytes"]}),
    ));
    stream.extend(binary_set(3, "other", &other));
    stream.extend(line(json!({"jsonrpc": "2.0", "id": 4, "method": "workspace.set", "params": {"name": "j", "value": [1, 2]}})));
    rpc.send_raw(&stream);
    let set = rpc.read_json();
    assert_eq!(set["id"], 1, "{set}");
    assert_eq!(set["result"]["size"], value.len());
    assert_eq!(set["result"]["encoding"], "npy");
    let echo = rpc.read_json();
    assert_eq!(
        (echo["id"].clone(), echo["result"].clone()),
        (json!(2), json!(["after the bytes"]))
    );
    let set = rpc.read_json();
    assert_eq!(
        (set["id"].clone(), set["result"]["size"].clone()),
        (json!(3), json!(other.len()))
    );
    assert_eq!(rpc.read_json()["id"], 4);

    // One write: binary gets between JSON requests.
    let mut stream = line(
        json!({"jsonrpc": "2.0", "id": 5, "method": "workspace.get", "params": {"name": "arr", "binary": true}}),
    );
    stream.extend(line(
        json!({"jsonrpc": "2.0", "id": 6, "method": "workspace.get", "params": {"name": "other"}}),
    ));
    stream.extend(line(json!({"jsonrpc": "2.0", "id": 7, "method": "workspace.get", "params": {"name": "other", "binary": true}})));
    stream.extend(line(json!({"jsonrpc": "2.0", "id": 8, "method": "workspace.get", "params": {"name": "j", "binary": true}})));
    stream.extend(line(json!({"jsonrpc": "2.0", "id": 9, "method": "ping"})));
    rpc.send_raw(&stream);
    let get = rpc.read_json();
    assert_eq!(get["id"], 5, "{get}");
    assert_eq!(
        get["result"]["data"],
        json!({"$binary": value.len()}),
        "{get}"
    );
    assert_eq!(get["result"]["meta"]["size"], value.len());
    assert!(
        rpc.read_bytes(value.len()) == value,
        "the binary reply's bytes differ"
    );
    // A client that did not ask for raw bytes gets base64, as before.
    let plain = rpc.read_json();
    assert_eq!(plain["id"], 6);
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(plain["result"]["data"].as_str().expect("base64 data"))
        .unwrap();
    assert!(decoded == other);
    let get = rpc.read_json();
    assert_eq!(
        (get["id"].clone(), get["result"]["data"].clone()),
        (json!(7), json!({"$binary": other.len()}))
    );
    assert!(rpc.read_bytes(other.len()) == other);
    // A JSON value stays JSON, also when raw bytes were allowed.
    let json_get = rpc.read_json();
    assert_eq!(
        (json_get["id"].clone(), json_get["result"]["value"].clone()),
        (json!(8), json!([1, 2]))
    );
    let pong = rpc.read_json();
    assert_eq!(
        (pong["id"].clone(), pong["result"].clone()),
        (json!(9), json!("pong"))
    );
}

#[test]
fn a_frame_cut_short_by_a_disconnect_stores_nothing() {
    let server = Server::start(CONFIG);
    let mut rpc = server.rpc();
    {
        let mut cut = TcpStream::connect(server.native()).unwrap();
        let frame = binary_set(1, "cut", &pattern(1 << 20));
        cut.write_all(&frame[..frame.len() - 1000]).unwrap();
        wait_for_native_connections(&mut rpc, 2);
    }
    // The server saw the disconnect once only this client's connection is left.
    wait_for_native_connections(&mut rpc, 1);
    assert_eq!(rpc.call("workspace.list", json!({})), json!([]));
    let error = rpc.call_err("workspace.get", json!({"name": "cut"}));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no variable named 'cut'"),
        "{error}"
    );
}

/// Waits until the native front end has `count` open connections.
fn wait_for_native_connections(rpc: &mut RpcClient, count: i64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = rpc.call("status", json!({}));
        let native = status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|front_end| front_end["name"] == "native")
            .expect("a native front end")
            .clone();
        if native["connections"] == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "native connections stayed {}",
            native["connections"]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_frame_over_the_limit_is_refused_before_its_bytes_and_the_connection_stays_usable() {
    let server = Server::start(&format!("{CONFIG}[limits]\nmax_binary_bytes = 1048576\n"));
    let mut rpc = server.rpc();
    let value = pattern(2 << 20);
    let frame = binary_set(1, "huge", &value);
    let header = frame.len() - value.len();
    // Only the line: the refusal comes before a single raw byte is sent.
    rpc.send_raw(&frame[..header]);
    let refusal = rpc.read_json();
    assert_eq!(refusal["id"], 1, "{refusal}");
    assert_eq!(refusal["error"]["code"], -32602);
    assert_eq!(
        refusal["error"]["message"],
        "value of 'huge' is 2 MiB; the limit is [limits] max_binary_bytes = 1 MiB"
    );
    // The announced bytes are read and dropped; the next request is answered.
    rpc.send_raw(&frame[header..]);
    assert_eq!(rpc.call("ping", json!([])), json!("pong"));
    assert_eq!(rpc.call("workspace.list", json!({})), json!([]));
    // Under the limit, the same connection stores a frame.
    rpc.send_raw(&binary_set(9, "fits", &value[..1 << 20]));
    assert_eq!(rpc.reply_for(&json!(9))["result"]["size"], 1 << 20);

    // Malformed markers and a command that takes no bytes are refused in JSON-RPC terms.
    let error = rpc.call_err(
        "workspace.set",
        json!({"name": "m", "encoding": "npy", "data": {"$binary": -1}}),
    );
    assert_eq!(error["code"], -32602, "{error}");
    rpc.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":20,\"method\":\"echo\",\"params\":[{\"$binary\":3}]}\nabc",
    );
    let echo = rpc.reply_for(&json!(20));
    assert!(
        echo["error"]["message"]
            .as_str()
            .unwrap()
            .contains("takes no binary data"),
        "{echo}"
    );
    assert_eq!(rpc.call("ping", json!([])), json!("pong"));
}

#[test]
fn without_a_frame_limit_the_workspace_limit_refuses_a_frame_before_its_bytes() {
    let server = Server::start(&format!(
        "{CONFIG}[plugins.workspace]\nmax_variable_bytes = 1048576\n"
    ));
    let mut rpc = server.rpc();
    let value = pattern((2 << 20) + 5);
    let frame = binary_set(1, "w", &value);
    rpc.send_raw(&frame[..frame.len() - value.len()]);
    let refusal = rpc.read_json();
    assert_eq!(
        refusal["error"]["message"],
        "value of 'w' is 2.0 MiB; the limit is [plugins.workspace] max_variable_bytes = 1 MiB",
        "{refusal}"
    );
    rpc.send_raw(&frame[frame.len() - value.len()..]);
    assert_eq!(rpc.call("ping", json!([])), json!("pong"));
}

#[test]
fn a_batch_cannot_carry_binary_data() {
    let server = Server::start(CONFIG);
    let mut rpc = server.rpc();
    rpc.send_raw(br#"[{"jsonrpc":"2.0","id":1,"method":"workspace.set","params":{"name":"b","encoding":"npy","data":{"$binary":4}}}]"#);
    rpc.send_raw(b"\nabcd");
    let refusal = rpc.read_json();
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("a batch cannot carry binary data"),
        "{refusal}"
    );
    assert_eq!(
        rpc.read_line(),
        None,
        "the connection is closed after the refusal"
    );
}

fn python(server: &Server, args: &[&str]) -> Value {
    let address = server.native();
    let mut all = vec![address.ip().to_string(), address.port().to_string()];
    all.extend(args.iter().map(|arg| arg.to_string()));
    let out = run_script("large_values.py", &all, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "large_values.py {args:?} failed ({}):\n{}\n{}\nserver:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

#[test]
fn a_256_mib_numpy_array_round_trips_through_the_python_client_and_survives_a_crash() {
    // A debug build stores 256 MiB in about 20 s (redb's checksums unoptimised): more
    // room than the default 30 s command timeout leaves on a busy machine.
    let config = format!("{CONFIG}[limits]\ncommand_timeout_secs = 300\n");
    let server = Server::start(&config);
    let report = python(&server, &["round_trip", "256"]);
    assert_eq!(report["array_bytes"], 256 << 20, "{report}");
    assert_eq!(report["encoding"], "npy");
    // The stored .npy is the array plus its 128-byte header.
    assert_eq!(report["size"], (256 << 20) + 128, "{report}");
    println!("256 MiB through the Python client (debug build): {report}");

    let dir = server.kill9();
    let server = Server::start_in(dir, &config, &[]).expect("the server restarts");
    assert_eq!(python(&server, &["check", "256"]), json!({"equal": true}));
}

#[test]
fn the_python_client_reports_too_big_values_with_the_limit_and_the_key() {
    let server = Server::start(&format!(
        "{CONFIG}[limits]\nmax_binary_bytes = 4194304\n[plugins.workspace]\nmax_variable_bytes = 1048576\n"
    ));
    let report = python(&server, &["too_big"]);
    assert_eq!(
        report["over_variable"],
        "value of 'over_variable' is 2.0 MiB; the limit is [plugins.workspace] max_variable_bytes = 1 MiB",
        "{report}"
    );
    assert_eq!(
        report["over_frame"],
        "value of 'over_frame' is 8.0 MiB; the limit is [limits] max_binary_bytes = 4 MiB",
        "{report}"
    );
    assert_eq!(report["small_back"], true);
    assert_eq!(report["names"], json!(["small"]));
}

#[test]
fn a_binary_frame_refused_for_want_of_authentication_has_its_bytes_skipped() {
    let server = Server::start(
        "[native]\nheartbeat_secs = 0\nauth_token = \"a-secret-long-enough-for-the-tests-0123\"\n",
    );
    let mut rpc = server.rpc();
    // The raw bytes hold many newlines: read as lines they would each get an answer.
    let value = pattern(70_000);
    assert!(value.iter().filter(|byte| **byte == b'\n').count() > 100);
    rpc.send_raw(&binary_set(1, "sneaky", &value));
    let refused = rpc.read_json();
    assert_eq!(refused["id"], 1, "{refused}");
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
    // The very next line is the answer to the next request: the bytes were skipped.
    let auth = rpc.request(
        "auth",
        json!({"token": "a-secret-long-enough-for-the-tests-0123"}),
    );
    assert_eq!(auth["result"]["authenticated"], true, "{auth}");
    assert_eq!(rpc.call("workspace.list", json!({})), json!([]));
}
