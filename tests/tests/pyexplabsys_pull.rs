//! PyExpLabSys pull sockets over real UDP: every command, rendering, timeouts.

use std::time::{Duration, Instant};

use labsocket_e2e::{RpcClient, Server, UdpClient};
use serde_json::json;

const CONFIG: &str = r#"
[[pull_socket]]
name = "my date socket"
port = 0
codenames = ["a", "b", "c"]
timeouts = { b = 1.0, c = 0.5 }

[[pull_socket]]
name = "my xy socket"
kind = "data"
port = 0
codenames = ["x1", "x2"]
timeout = 0.5

[[pull_socket]]
name = "odd codenames"
port = 0
codenames = ["", "raw", "sp ace", "json"]
"#;

/// A point in the future (2033), so date-socket timeouts never mark it old.
const T: f64 = 1995238169.2582886;

fn set_raw(rpc: &mut RpcClient, params: &str) {
    // Raw lines: serde_json cannot write NaN or keep 12345678901234567890 exact.
    rpc.send_raw(
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":\"raw\",\"method\":\"set_point\",\"params\":{params}}}\n"
        )
        .as_bytes(),
    );
    let reply = rpc.reply_for(&json!("raw"));
    assert_eq!(reply["result"], json!(true), "{reply}");
}

#[test]
fn every_command_before_anything_is_set() {
    let server = Server::start(CONFIG);
    let date = UdpClient::new(server.address("pull.0"));
    let cases = [
        ("raw", "0.0,0.0;OLD_DATA;OLD_DATA"),
        ("json", r#"[[0.0, 0.0], "OLD_DATA", "OLD_DATA"]"#),
        ("raw_wn", "a:0.0,0.0;b:OLD_DATA;c:OLD_DATA"),
        (
            "json_wn",
            r#"{"a": [0.0, 0.0], "b": "OLD_DATA", "c": "OLD_DATA"}"#,
        ),
        ("a#raw", "0.0,0.0"),
        ("a#json", "[0.0, 0.0]"),
        ("b#raw", "OLD_DATA"),
        ("b#json", "\"OLD_DATA\""),
        ("codenames_raw", "a,b,c"),
        ("codenames_json", r#"["a", "b", "c"]"#),
        ("name", "my date socket"),
        ("zz#raw", "UNKNOWN_COMMMAND"),
        ("a#", "UNKNOWN_COMMMAND"),
        ("#raw", "UNKNOWN_COMMMAND"),
        ("a#RAW", "UNKNOWN_COMMMAND"),
        ("a#xml", "UNKNOWN_COMMMAND"),
        ("a#raw#x", "UNKNOWN_COMMMAND"),
        ("raw\n", "UNKNOWN_COMMMAND"),
        ("raw ", "UNKNOWN_COMMMAND"),
        (" raw", "UNKNOWN_COMMMAND"),
        ("RAW", "UNKNOWN_COMMMAND"),
        ("help", "UNKNOWN_COMMMAND"),
        ("commands", "UNKNOWN_COMMMAND"),
        ("codenames", "UNKNOWN_COMMMAND"),
        ("data", "UNKNOWN_COMMMAND"),
        ("sane_interval", "UNKNOWN_COMMMAND"),
        ("", "UNKNOWN_COMMMAND"),
    ];
    for (request, reply) in cases {
        assert_eq!(date.request(request), reply, "for {request:?}");
    }
    let odd = UdpClient::new(server.address("pull.2"));
    assert_eq!(odd.request("codenames_raw"), ",raw,sp ace,json");
    for request in ["#raw", "raw#raw", "sp ace#json", "json#json"] {
        assert!(odd.request(request).starts_with(['0', '[']), "{request}");
    }
    // Not ASCII: no reply at all, as PyExpLabSys; the socket keeps serving.
    date.expect_no_reply("é".as_bytes(), Duration::from_millis(300));
    assert_eq!(date.request("name"), "my date socket");
}

#[test]
fn values_keep_their_python_rendering_and_type() {
    let server = Server::start(CONFIG);
    let mut rpc = server.rpc();
    let date = UdpClient::new(server.address("pull.0"));
    rpc.call("set_point", json!(["a", T, 42.0]));
    rpc.call("set_point", json!(["b", T, 1]));
    rpc.call("set_point", json!(["c", T, "hello"]));
    assert_eq!(
        date.request("raw"),
        "1995238169.2582886,42.0;1995238169.2582886,1;1995238169.2582886,hello"
    );
    assert_eq!(
        date.request("json"),
        r#"[[1995238169.2582886, 42.0], [1995238169.2582886, 1], [1995238169.2582886, "hello"]]"#
    );
    assert_eq!(
        date.request("json_wn"),
        r#"{"a": [1995238169.2582886, 42.0], "b": [1995238169.2582886, 1], "c": [1995238169.2582886, "hello"]}"#
    );
    assert_eq!(
        date.request("raw_wn"),
        "a:1995238169.2582886,42.0;b:1995238169.2582886,1;c:1995238169.2582886,hello"
    );
    set_raw(&mut rpc, r#"["a", 1995238169.2582886, NaN]"#);
    set_raw(&mut rpc, r#"["b", 1995238169.2582886, Infinity]"#);
    set_raw(&mut rpc, r#"["c", 1995238169.2582886, null]"#);
    assert_eq!(
        date.request("raw"),
        "1995238169.2582886,nan;1995238169.2582886,inf;1995238169.2582886,None"
    );
    assert_eq!(
        date.request("json"),
        "[[1995238169.2582886, NaN], [1995238169.2582886, Infinity], [1995238169.2582886, null]]"
    );
    set_raw(&mut rpc, r#"["a", 1995238169.2582886, true]"#);
    set_raw(&mut rpc, r#"["b", 1995238169.2582886, [1, 2]]"#);
    set_raw(&mut rpc, r#"["c", 1995238169.2582886, 1e16]"#);
    assert_eq!(
        date.request("raw"),
        "1995238169.2582886,True;1995238169.2582886,[1, 2];1995238169.2582886,1e+16"
    );
    assert_eq!(
        date.request("json"),
        "[[1995238169.2582886, true], [1995238169.2582886, [1, 2]], [1995238169.2582886, 1e+16]]"
    );
    set_raw(&mut rpc, r#"["a", 1995238169.2582886, 1e-05]"#);
    set_raw(
        &mut rpc,
        r#"["b", 1995238169.2582886, 12345678901234567890]"#,
    );
    set_raw(&mut rpc, r#"["c", 1995238169.2582886, -0.0]"#);
    assert_eq!(date.request("a#raw"), "1995238169.2582886,1e-05");
    assert_eq!(
        date.request("b#json"),
        "[1995238169.2582886, 12345678901234567890]"
    );
    assert_eq!(date.request("c#raw"), "1995238169.2582886,-0.0");
    // Non-ASCII: escaped in JSON; the raw reply cannot be ASCII, so none is sent.
    rpc.call("set_point", json!(["c", T, "hé"]));
    assert_eq!(date.request("c#json"), r#"[1995238169.2582886, "h\u00e9"]"#);
    date.expect_no_reply(b"c#raw", Duration::from_millis(300));

    let xy = UdpClient::new(server.address("pull.1"));
    rpc.call("set_point", json!(["x1", 1, 2.5]));
    rpc.call("set_point", json!(["x2", 0.1, 1e-7]));
    assert_eq!(xy.request("raw"), "1,2.5;0.1,1e-07");
    assert_eq!(
        xy.request("json_wn"),
        r#"{"x1": [1, 2.5], "x2": [0.1, 1e-07]}"#
    );
}

#[test]
fn timeouts_mask_old_points_after_real_time() {
    let server = Server::start(
        r#"
[[pull_socket]]
name = "date"
port = 0
codenames = ["fresh", "never"]
timeouts = { fresh = 1.5 }

[[pull_socket]]
name = "data"
kind = "data"
port = 0
codenames = ["x1"]
timeout = 1.5
"#,
    );
    let mut rpc = server.rpc();
    let date = UdpClient::new(server.address("pull.0"));
    let data = UdpClient::new(server.address("pull.1"));
    assert_eq!(date.request("fresh#raw"), "OLD_DATA", "unset x is 0.0: old");
    assert_eq!(
        date.request("never#raw"),
        "0.0,0.0",
        "no timeout: never old"
    );

    let before_set = Instant::now();
    rpc.call("set_point_now", json!(["fresh", 7]));
    rpc.call("set_point", json!(["x1", 5, 6]));
    let reply = date.request("fresh#raw");
    assert!(reply.ends_with(",7"), "fresh right after set: {reply}");
    assert_eq!(data.request("x1#raw"), "5,6");
    // Poll until both turn OLD_DATA; neither may do so before the timeout has passed.
    let mut date_old = None;
    let mut data_old = None;
    while date_old.is_none() || data_old.is_none() {
        assert!(
            before_set.elapsed() < Duration::from_secs(15),
            "never went OLD_DATA"
        );
        if date_old.is_none() && date.request("fresh#raw") == "OLD_DATA" {
            date_old = Some(before_set.elapsed());
        }
        if data_old.is_none() && data.request("x1#json") == "\"OLD_DATA\"" {
            data_old = Some(before_set.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for old_after in [date_old.unwrap(), data_old.unwrap()] {
        assert!(
            old_after > Duration::from_millis(1500),
            "old too early: {old_after:?}"
        );
    }
    // The point is masked, not cleared: setting it again serves it.
    rpc.call("set_point_now", json!(["fresh", 8]));
    assert!(date.request("fresh#raw").ends_with(",8"));
    // A data socket judges the set time it is given, not x.
    let ten_ago = labsocket_now() - 10.0;
    rpc.call(
        "set_point",
        json!({"codename": "x1", "x": 5, "y": 6, "timestamp": ten_ago}),
    );
    assert_eq!(data.request("x1#raw"), "OLD_DATA");
    rpc.call("set_point", json!(["x1", 0.0, 6]));
    assert_eq!(data.request("x1#raw"), "0.0,6");
}

fn labsocket_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn bad_codenames_and_port_clashes_are_config_errors() {
    let failure = Server::start_with_args(
        "[[pull_socket]]\nname = \"Test date socket\"\nport = 0\ncodenames = [\"a\", \"b\", \"a\"]\n",
        &[],
    )
    .err()
    .expect("a duplicate codename is refused");
    assert!(
        failure.stderr.contains(
            "[[pull_socket]] #1 \"Test date socket\" codenames: Codenames must be unique; 'a' is present more than once"
        ),
        "{}",
        failure.stderr
    );
    let failure = Server::start_with_args(
        "[[pull_socket]]\nname = \"p\"\nport = 0\ncodenames = [\"a,b\"]\n",
        &[],
    )
    .err()
    .expect("a bad character is refused");
    assert!(
        failure
            .stderr
            .contains("The character ',' is not allowed in the codenames"),
        "{}",
        failure.stderr
    );
    // A port already taken by another process: the bind error names the socket.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let failure = Server::start_with_args(
        &format!("[[pull_socket]]\nname = \"p\"\nport = {port}\ncodenames = [\"a\"]\n"),
        &[],
    )
    .err()
    .expect("a taken port is refused");
    assert!(
        failure.stderr.contains(&format!("127.0.0.1:{port}")) && failure.stderr.contains("pull.0"),
        "{}",
        failure.stderr
    );
}

#[test]
fn labsocket_get_reads_a_pull_socket() {
    let server = Server::start(CONFIG);
    server.rpc().call("set_point", json!(["a", T, 42.0]));
    let port = server.address("pull.0").port().to_string();
    let get = |codename: &str| {
        std::process::Command::new(labsocket_e2e::labsocket_bin())
            .args(["get", codename, "--udp-port", &port])
            .output()
            .expect("labsocket get runs")
    };
    let fresh = get("a");
    assert!(fresh.status.success());
    assert_eq!(
        String::from_utf8_lossy(&fresh.stdout),
        "1995238169.2582886 42.0\n"
    );
    let old = get("b");
    assert_eq!(old.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&old.stderr).contains("OLD_DATA"));
}

#[test]
fn sigterm_stops_udp_sockets_gracefully() {
    let mut server = Server::start(
        "[[pull_socket]]\nname = \"p\"\nport = 0\ncodenames = [\"a\"]\n\
         [[push_socket]]\nname = \"q\"\nport = 0\naction = \"callback_async\"\ncommand = \"echo\"\n",
    );
    assert_eq!(
        UdpClient::new(server.address("pull.0")).request("name"),
        "p"
    );
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert!(server.stderr().contains("stopped"), "{}", server.stderr());
    assert!(
        !server.stderr().contains("did not finish"),
        "{}",
        server.stderr()
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn any_x_is_served_and_a_date_socket_ages_only_numeric_x() {
    let server = Server::start(
        r#"
[[pull_socket]]
name = "date"
port = 0
codenames = ["a"]
timeout = 0.5

[[pull_socket]]
name = "data"
kind = "data"
port = 0
codenames = ["x1"]
timeout = 1000.0
"#,
    );
    let mut rpc = server.rpc();
    let date = UdpClient::new(server.address("pull.0"));
    let data = UdpClient::new(server.address("pull.1"));
    // PyExpLabSys' set_point took any x; a data socket serving one must be able to move.
    for (x, raw, json) in [
        (json!("abc"), "abc,1", r#"["abc", 1]"#),
        (json!(true), "True,1", "[true, 1]"),
        (json!(null), "None,1", "[null, 1]"),
        (json!([1, 2]), "[1, 2],1", "[[1, 2], 1]"),
    ] {
        rpc.call("set_point", json!(["x1", x, 1]));
        assert_eq!(data.request("x1#raw"), raw);
        assert_eq!(data.request("x1#json"), json);
        // A date socket judges only a numeric x (1970 is old); a string has no age.
        rpc.call("set_point", json!(["a", x, 1]));
        let expected = if x == json!(true) { "OLD_DATA" } else { raw };
        assert_eq!(date.request("a#raw"), expected, "x = {x}");
    }
    // NaN ages compare false in Python: a NaN x is never OLD_DATA.
    set_raw(&mut rpc, r#"["a", NaN, 1]"#);
    assert_eq!(date.request("a#raw"), "nan,1");
    assert_eq!(date.request("json"), "[[NaN, 1]]");
}
