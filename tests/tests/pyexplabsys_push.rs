//! PyExpLabSys push sockets over real UDP: parsing, every reply and error string, actions.

use std::time::{Duration, Instant};

use labsocket_e2e::{Server, UdpClient, WAIT};
use serde_json::json;

fn push_server(extra: &str) -> Server {
    Server::start(&format!(
        r#"
[[push_socket]]
name = "Test push socket"
port = 0
{extra}

[[pull_socket]]
name = "reader"
port = 0
codenames = ["a", "b"]
"#
    ))
}

#[test]
fn json_wn_raw_wn_and_every_error_string() {
    let server = push_server("");
    let push = UdpClient::new(server.address("push.0"));
    let cases = [
        ("name", "RET#Test push socket"),
        (
            "commands",
            r#"RET#["json_wn#", "raw_wn#", "name", "status", "commands"]"#,
        ),
        (r#"json_wn#{"a": 1}"#, "ACK#{'a': 1}"),
        (
            r#"json_wn#{"a": 1, "b": "x", "c": true, "d": null, "e": [1, 2.5], "f": {"g": 1}}"#,
            "ACK#{'a': 1, 'b': 'x', 'c': True, 'd': None, 'e': [1, 2.5], 'f': {'g': 1}}",
        ),
        ("json_wn#{}", "ACK#{}"),
        (r#"json_wn#{"a": NaN, "b": Infinity}"#, "ACK#{'a': nan, 'b': inf}"),
        (
            r#"json_wn#{"a": -0.0, "b": 1e16, "c": 1e-5, "d": 1E2}"#,
            "ACK#{'a': -0.0, 'b': 1e+16, 'c': 1e-05, 'd': 100.0}",
        ),
        (r#"json_wn#{"a": "it's"}"#, r#"ACK#{'a': "it's"}"#),
        (r#"json_wn#{"a": 1e400, "a": 123456789012345678901234567890}"#, "ACK#{'a': 123456789012345678901234567890}"),
        ("raw_wn#a:int:1,2", "ACK#{'a': [1, 2]}"),
        ("raw_wn#a:float:1", "ACK#{'a': 1.0}"),
        ("raw_wn#a:str:x y, z", "ACK#{'a': ['x y', ' z']}"),
        ("raw_wn#a:bool:True,False", "ACK#{'a': [True, False]}"),
        ("raw_wn#:int:1", "ACK#{'': 1}"),
        ("raw_wn#a:int: 007,1_000", "ACK#{'a': [7, 1000]}"),
        ("raw_wn#a:float:nan,-INFINITY", "ACK#{'a': [nan, -inf]}"),
        (
            "raw_wn#greeting:str:Live long and prosper;numbers:int:47,42",
            "ACK#{'greeting': 'Live long and prosper', 'numbers': [47, 42]}",
        ),
        ("json_wn", "ERROR#UNKNOWN_COMMMAND"),
        ("raw_wn", "ERROR#UNKNOWN_COMMMAND"),
        ("", "ERROR#UNKNOWN_COMMMAND"),
        (r#"json_wn#{"a#b": 1}"#, "ERROR#UNKNOWN_COMMMAND"),
        (r#"JSON_WN#{"a": 1}"#, "ERROR#UNKNOWN_COMMMAND"),
        ("status#", "ERROR#UNKNOWN_COMMMAND"),
        ("json_wn#", "ERROR#The string '' could not be decoded as JSON"),
        ("json_wn#{bad", "ERROR#The string '{bad' could not be decoded as JSON"),
        (
            "json_wn#\"nonsense\"",
            "ERROR#The object 'nonsense' returned after decoding the JSON string is not a dict",
        ),
        (
            "json_wn#[1, 2]",
            "ERROR#The object '[1, 2]' returned after decoding the JSON string is not a dict",
        ),
        (
            "raw_wn#",
            "ERROR#The data part '' did not match the expected format of 3 parts divided by ':'",
        ),
        (
            "raw_wn#a:int:1;",
            "ERROR#The data part '' did not match the expected format of 3 parts divided by ':'",
        ),
        (
            "raw_wn#a:int",
            "ERROR#The data part 'a:int' did not match the expected format of 3 parts divided by ':'",
        ),
        (
            "raw_wn#a:Int:1",
            "ERROR#The data type 'Int' is unknown. Only dict_keys(['int', 'float', 'str', 'bool']) are allowed",
        ),
        (
            "raw_wn#a:int:hh",
            "ERROR#Unable to convert values to 'int'. Error is: invalid literal for int() with base 10: 'hh'",
        ),
        (
            "raw_wn#a:float:abc",
            "ERROR#Unable to convert values to 'float'. Error is: could not convert string to float: 'abc'",
        ),
        (
            "raw_wn#a:bool:true",
            "ERROR#Unable to convert values to 'bool'. Error is: Cannot translate the string 'true' to a boolean. Only the strings 'True' or 'False' are allowed",
        ),
    ];
    for (request, reply) in cases {
        assert_eq!(push.request(request), reply, "for {request:?}");
    }
    // CPython's int() error shows at most 200 characters of the repr (`%.200R`).
    let digits = "1".repeat(300);
    assert_eq!(
        push.request(&format!("raw_wn#a:int:{digits}x")),
        format!(
            "ERROR#Unable to convert values to 'int'. Error is: invalid literal for int() \
             with base 10: '{}",
            &digits[..199]
        )
    );
    // A value that cannot be sent back as ASCII is stored, but no reply goes out.
    push.expect_no_reply(
        r#"json_wn#{"a": "\u00e9"}"#.as_bytes(),
        Duration::from_millis(300),
    );
    push.expect_no_reply("json_wn#{\"a\": 1}é".as_bytes(), Duration::from_millis(300));
    let state = server
        .rpc()
        .call("push_state", json!([server.address("push.0").port()]));
    assert_eq!(state["last"], json!({"a": "é"}));
}

#[test]
fn store_last_is_readable_over_the_native_protocol() {
    let server = push_server("");
    let port = server.address("push.0").port();
    let mut rpc = server.rpc();
    let empty = rpc.call("push_state", json!([port]));
    assert_eq!(
        empty,
        json!({"last": null, "last_time": null, "updated": {}, "updated_time": null})
    );
    let push = UdpClient::new(server.address("push.0"));
    push.request(r#"json_wn#{"a": 1, "b": 2}"#);
    push.request("raw_wn#b:str:x;c:bool:True");
    let state = rpc.call("push_state", json!({"port": port}));
    assert_eq!(state["last"], json!({"b": "x", "c": true}));
    assert_eq!(state["updated"], json!({"a": 1, "b": "x", "c": true}));
    assert!(state["last_time"].as_f64().unwrap() > 1e9);
    // A lone surrogate cannot be stored as sent: refused, so what is stored is what was
    // acknowledged (a retrying pusher never stores it twice).
    let reply = push.request(r#"json_wn#{"z": "\ud800"}"#);
    assert!(
        reply.starts_with("ERROR#") && reply.contains("lone UTF-16 surrogate"),
        "{reply}"
    );
    let after = rpc.call("push_state", json!({"port": port}));
    assert_eq!(after["last"], state["last"], "nothing stored");
    assert_eq!(after["updated"], state["updated"]);
    let error = rpc.call_err("push_state", json!([1]));
    assert_eq!(error["code"], -32004, "{error}");
    let error = rpc.call_err("push_take", json!([port, 1]));
    assert!(
        error["message"].as_str().unwrap().contains("store_last"),
        "{error}"
    );
}

#[test]
fn enqueue_is_drained_in_order_and_refuses_when_full() {
    let server = push_server("action = \"enqueue\"\nqueue_size = 3");
    let port = server.address("push.0").port();
    let mut rpc = server.rpc();
    let push = UdpClient::new(server.address("push.0"));
    for i in 0..3 {
        assert_eq!(
            push.request(&format!("json_wn#{{\"i\": {i}}}")),
            format!("ACK#{{'i': {i}}}")
        );
    }
    assert_eq!(
        push.request(r#"json_wn#{"i": 3}"#),
        "ERROR#The queue of this push socket is full (3 items); the data was not stored"
    );
    assert_eq!(
        rpc.call("push_state", json!([port]))["last"],
        json!({"i": 2})
    );
    assert_eq!(
        rpc.call("push_take", json!([port, 2])),
        json!([{"i": 0}, {"i": 1}])
    );
    assert_eq!(push.request(r#"json_wn#{"i": 4}"#), "ACK#{'i': 4}");
    assert_eq!(
        rpc.call("push_take", json!([port, 10])),
        json!([{"i": 2}, {"i": 4}])
    );
    assert_eq!(rpc.call("push_take", json!([port, 10])), json!([]));
}

#[test]
fn callback_direct_replies_in_each_return_format() {
    let server = Server::start(
        r#"
[[push_socket]]
name = "json"
port = 0
action = "callback_direct"
command = "echo"

[[push_socket]]
name = "raw"
port = 0
action = "callback_direct"
command = "echo"
return_format = "raw"

[[push_socket]]
name = "string"
port = 0
action = "callback_direct"
command = "echo"
return_format = "string"

[[push_socket]]
name = "plugin"
port = 0
action = "callback_direct"
command = "hello.greet"
"#,
    );
    let json = UdpClient::new(server.address("push.0"));
    let raw = UdpClient::new(server.address("push.1"));
    let string = UdpClient::new(server.address("push.2"));
    let plugin = UdpClient::new(server.address("push.3"));
    assert_eq!(
        json.request(r#"json_wn#{"x": 1.5, "s": "it's"}"#),
        r#"RET#{"x": 1.5, "s": "it's"}"#
    );
    assert_eq!(raw.request(r#"json_wn#{"x": 1.5}"#), "RET#x:float:1.5");
    assert_eq!(
        raw.request("raw_wn#myints:int:42,47"),
        "RET#myints:int:42,47"
    );
    assert_eq!(
        raw.request(r#"json_wn#{"x": "s", "y": true}"#),
        "RET#x:str:s;y:bool:True"
    );
    assert_eq!(raw.request("json_wn#{}"), "RET#");
    assert_eq!(
        raw.request(r#"json_wn#{"a": [1, 2.0]}"#),
        "EXCEP#Raw conversion failed with message:With return format raw, value in list must have same type"
    );
    assert_eq!(
        raw.request(r#"json_wn#{"a": null}"#),
        "EXCEP#Raw conversion failed with message:With return format raw, the item type can only be one of 'int', 'float', 'bool' and 'str'. Object: 'None' is of type: NoneType"
    );
    assert_eq!(string.request(r#"json_wn#{"x": 1.5}"#), "RET#{'x': 1.5}");
    // Through a plugin command: its result, and its error as EXCEP#.
    assert_eq!(
        plugin.request(r#"json_wn#{"name": "Ada"}"#),
        r#"RET#"Hello, Ada!""#
    );
    assert_eq!(
        plugin.request(r#"json_wn#{"name": 5}"#),
        "EXCEP#'name' must be a string"
    );
    // name/commands/status behave the same under every action.
    assert_eq!(plugin.request("name"), "RET#plugin");
    assert!(plugin
        .request("status")
        .starts_with("{\"system_status\": {"));
}

#[test]
fn a_slow_callback_delays_only_its_own_socket() {
    let server = Server::start(
        r#"
[[push_socket]]
name = "slow"
port = 0
action = "callback_direct"
command = "hello.sleep"

[[pull_socket]]
name = "quick"
port = 0
codenames = ["a"]
"#,
    );
    let slow = UdpClient::new(server.address("push.0"));
    let quick = UdpClient::new(server.address("pull.0"));
    let started = Instant::now();
    let slow_thread = std::thread::spawn(move || slow.request(r#"json_wn#{"ms": 3000}"#));
    // Give the slow request a head start so the callback is running when we ask.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(quick.request("name"), "quick");
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "the pull socket waited for the callback: {:?}",
        started.elapsed()
    );
    assert_eq!(slow_thread.join().unwrap(), r#"RET#{"slept_ms": 3000}"#);
    assert!(started.elapsed() >= Duration::from_millis(3000));
}

#[test]
fn callback_async_and_set_points_act_on_the_host() {
    let server = Server::start(
        r#"
[[push_socket]]
name = "async"
port = 0
action = "callback_async"
command = "hello.measure"

[[push_socket]]
name = "points"
port = 0
action = "set_points"

[[pull_socket]]
name = "reader"
port = 0
codenames = ["measured", "a", "b"]
"#,
    );
    let mut rpc = server.rpc();
    let callbacks = UdpClient::new(server.address("push.0"));
    let points = UdpClient::new(server.address("push.1"));
    let reader = UdpClient::new(server.address("pull.0"));
    // callback_async: ACK at once, the command runs afterwards.
    assert_eq!(
        callbacks.request(r#"json_wn#{"codename": "measured", "value": 5}"#),
        "ACK#{'codename': 'measured', 'value': 5}"
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = reader.request("measured#json");
        if reply.ends_with(", 5]") {
            break;
        }
        assert!(Instant::now() < deadline, "callback never ran: {reply}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // set_points: y means (now, y); [x, y] is taken as given.
    assert_eq!(
        points.request(r#"json_wn#{"a": 1.5, "b": [1995238169.25, "on"]}"#),
        "ACK#{'a': 1.5, 'b': [1995238169.25, 'on']}"
    );
    assert_eq!(reader.request("b#raw"), "1995238169.25,on");
    let a = rpc.call("get_point", json!(["a"]));
    assert_eq!(a["y"], json!(1.5));
    assert!(a["x"].as_f64().unwrap() > 1e9);
    assert_eq!(
        points.request(r#"json_wn#{"a": ["x", 1]}"#),
        "ERROR#The point for 'a' must be y or [x, y] with a number x, not ['x', 1]"
    );
    assert_eq!(points.request("raw_wn#b:int:7"), "ACK#{'b': 7}");
    assert!(reader.request("b#raw").ends_with(",7"));
}

#[test]
fn push_config_errors_use_the_reference_messages() {
    for (config, message) in [
        (
            "action = \"callback_direct\"",
            "command: Value for callback: 'None' is not callable",
        ),
        (
            "command = \"echo\"",
            "command: The 'callback' argument can only be used when the action is 'callback_async' or 'callback_direct'",
        ),
        (
            "return_format = \"xml\"",
            "The 'return_format' argument may only be one of the 'json', 'raw' or 'string' values",
        ),
        (
            "action = \"shout\"",
            "Unknown action 'shout'. Must be one of: ['store_last', 'enqueue', 'callback_async', 'callback_direct', 'set_points']",
        ),
        ("queue_size = 5", "queue_size: The 'queue' argument can only be used when the action is 'enqueue'"),
    ] {
        let failure = Server::start_with_args(
            &format!("[[push_socket]]\nname = \"p\"\nport = 0\n{config}\n"),
            &[],
        )
        .err()
        .unwrap_or_else(|| panic!("{config} should be refused"));
        assert!(failure.stderr.contains(message), "{config}: {}", failure.stderr);
    }
}
