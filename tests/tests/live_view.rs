//! The HTTP front end against the real binary: the JSON API, the WebSocket stream
//! (snapshot, events, heartbeats, topic choice) and the checks that keep other web sites
//! out.

use std::time::{Duration, Instant};

use labsocket_e2e::{http_get, LiveViewClient, Server};
use serde_json::{json, Value};

#[test]
fn json_api_answers_status_points_sockets_variables_and_live() {
    let server = Server::start("");
    let http = server.address("http");
    let mut rpc = server.rpc();
    rpc.call("set_point", json!(["temp", 1795238169.25, 21.5]));
    rpc.call("set_point", json!(["bad", 1.0, f64::NAN]));

    let status = http_get(http, "/api/status", None);
    assert_eq!(status.status, 200);
    assert_eq!(status.header("content-type"), Some("application/json"));
    let status = status.json();
    let front_ends: Vec<&str> = status["front_ends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(front_ends, ["native", "pyminer", "http"], "{status}");
    assert_eq!(status["points"], 2);

    let points = http_get(http, "/api/points", None).json();
    let temp = &points["points"]["temp"];
    assert_eq!(temp["x"], 1795238169.25);
    assert_eq!(temp["y"], 21.5);
    let age = temp["age_secs"].as_f64().unwrap();
    assert!((0.0..10.0).contains(&age), "{points}");
    // Browsers' JSON.parse has no NaN: it is written as null here.
    assert_eq!(points["points"]["bad"]["y"], Value::Null);

    let sockets = http_get(http, "/api/sockets", None).json();
    assert_eq!(sockets["sockets"], json!([]));
    assert!(sockets["note"]
        .as_str()
        .unwrap()
        .contains("[[pull_socket]]"));

    let variables = http_get(http, "/api/variables", None).json();
    assert_eq!(variables["variables"], json!([]), "{variables}");
    rpc.call(
        "workspace.set",
        json!({"name": "spectrum", "value": [1, 2, 3]}),
    );
    let variables = http_get(http, "/api/variables", None).json();
    let spectrum = &variables["variables"][0];
    assert_eq!(spectrum["name"], "spectrum", "{variables}");
    assert_eq!(spectrum["encoding"], "json");
    assert_eq!(spectrum["version"], 1);
    // Small JSON values come along for the page; larger ones only their metadata.
    assert_eq!(spectrum["value"], json!([1, 2, 3]), "{variables}");
    rpc.call(
        "workspace.set",
        json!({"name": "wide", "value": vec![1234567.5; 1000]}),
    );
    let variables = http_get(http, "/api/variables", None).json();
    let wide = variables["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "wide")
        .unwrap_or_else(|| panic!("{variables}"));
    assert!(wide["size"].as_u64().unwrap() > 4096, "{wide}");
    assert!(wide.get("value").is_none(), "{wide}");

    let live = http_get(http, "/api/live", None).json();
    assert_eq!(live["hosts"], json!({}));
    assert_eq!(live["stats"]["datagrams"], 0);

    let missing = http_get(http, "/api/nope", None);
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/api/status"));
}

#[test]
fn page_and_assets_are_served_from_the_binary() {
    let server = Server::start("");
    let http = server.address("http");
    let page = http_get(http, "/", None);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("/assets/app.js"));
    for (path, content_type) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/style.css", "text/css; charset=utf-8"),
        (
            "/assets/vendor/uPlot.iife.min.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/vendor/uPlot.min.css", "text/css; charset=utf-8"),
    ] {
        let asset = http_get(http, path, None);
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), Some(content_type), "{path}");
        assert!(asset.body.len() > 500, "{path}");
    }
    assert_eq!(http_get(http, "/assets/../Cargo.toml", None).status, 404);
}

#[test]
fn other_sites_cannot_read_a_loopback_server() {
    let server = Server::start("");
    let http = server.address("http");
    // DNS rebinding: a foreign name pointing at 127.0.0.1 is refused...
    let rebound = http_get(http, "/api/status", Some("evil.example:8080"));
    assert_eq!(rebound.status, 421);
    assert!(rebound.body.contains("loopback only"), "{}", rebound.body);
    // ...loopback names are fine.
    let port = http.port();
    assert_eq!(
        http_get(http, "/api/status", Some(&format!("localhost:{port}"))).status,
        200
    );
    // A page from another origin may not open the WebSocket; the page's own origin may,
    // and so may a client that sends no Origin.
    let refused = LiveViewClient::try_connect(http, "/ws", &[("origin", "https://evil.example")])
        .err()
        .expect("a cross-origin WebSocket is refused");
    assert!(refused.starts_with("403"), "{refused}");
    let own_origin = format!("http://{http}");
    let mut own = LiveViewClient::try_connect(http, "/ws", &[("origin", &own_origin)]).unwrap();
    assert_eq!(own.next_message()["type"], "snapshot");
    let mut script = LiveViewClient::connect(http, "/ws");
    assert_eq!(script.next_message()["type"], "snapshot");
}

#[test]
fn websocket_sends_a_snapshot_then_events_then_heartbeats() {
    let server = Server::start("[http]\nheartbeat_secs = 0.2\n");
    let http = server.address("http");
    let mut rpc = server.rpc();
    rpc.call("set_point", json!(["before", 100.5, 1]));

    let mut ws = LiveViewClient::connect(http, "/ws");
    let snapshot = ws.next_message();
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["points"]["before"]["x"], 100.5);
    assert_eq!(snapshot["points"]["before"]["y"], 1);
    assert!(snapshot["points"]["before"]["set_at"].is_f64());
    assert_eq!(snapshot["heartbeat_secs"], 0.2);
    assert_eq!(
        snapshot["status"]["version"],
        rpc.call("status", json!([]))["version"]
    );
    assert_eq!(snapshot["live"], json!({}));

    rpc.call("set_point", json!(["after", 200.25, "running"]));
    let event = ws.next_matching("a points event", |m| m["topic"] == "points");
    assert_eq!(event["type"], "event");
    assert_eq!(event["data"], json!({"after": [200.25, "running"]}));
    assert!(event["ts"].as_f64().unwrap() > 1.7e9);
    assert!(event.get("coalesced").is_none());

    rpc.call(
        "hello.announce",
        json!({"topic": "data_changed", "payload": {"data_name": "x", "data_source": "test"}}),
    );
    let changed = ws.next_matching("a data_changed event", |m| m["topic"] == "data_changed");
    assert_eq!(
        changed["data"],
        json!({"data_name": "x", "data_source": "test"})
    );
    // Topics the page does not ask for are not sent.
    rpc.call(
        "hello.announce",
        json!({"topic": "lab.alarm", "payload": {"level": 2}}),
    );
    rpc.call(
        "hello.announce",
        json!({"topic": "data_deleted", "payload": {"data_name": "x"}}),
    );
    let next_event = ws.next_matching("an event", |m| m["type"] == "event");
    assert_eq!(next_event["topic"], "data_deleted", "{next_event}");

    // Heartbeats carry the time and the status, every heartbeat_secs.
    let first = ws.next_matching("a heartbeat", |m| m["type"] == "heartbeat");
    let started = Instant::now();
    let second = ws.next_matching("a heartbeat", |m| m["type"] == "heartbeat");
    let gap = started.elapsed();
    assert!(
        gap >= Duration::from_millis(100) && gap <= Duration::from_secs(2),
        "{gap:?}"
    );
    assert!(second["ts"].as_f64() > first["ts"].as_f64());
    assert_eq!(second["status"]["points"], 2);
}

#[test]
fn websocket_topics_can_be_chosen() {
    let server = Server::start("");
    let http = server.address("http");
    let mut rpc = server.rpc();
    let mut only_alarms = LiveViewClient::connect(http, "/ws?topics=lab.alarm");
    let mut everything = LiveViewClient::connect(http, "/ws?topics=*");
    assert_eq!(only_alarms.next_message()["type"], "snapshot");
    assert_eq!(everything.next_message()["type"], "snapshot");
    rpc.call("set_point", json!(["p", 1, 2]));
    rpc.call(
        "hello.announce",
        json!({"topic": "lab.alarm", "payload": {"level": 3}}),
    );
    let alarm = only_alarms.next_matching("an event", |m| m["type"] == "event");
    assert_eq!(alarm["topic"], "lab.alarm", "the points event was not sent");
    assert_eq!(alarm["data"], json!({"level": 3}));
    let first = everything.next_matching("an event", |m| m["type"] == "event");
    assert_eq!(first["topic"], "points");
    let second = everything.next_matching("an event", |m| m["type"] == "event");
    assert_eq!(second["topic"], "lab.alarm");
}

#[test]
fn http_connections_count_against_max_connections_and_show_in_status() {
    let server = Server::start("[limits]\nmax_connections = 2\n");
    let http = server.address("http");
    let mut first = LiveViewClient::connect(http, "/ws");
    assert_eq!(first.next_message()["type"], "snapshot");
    let mut rpc = server.rpc();
    rpc.call("ping", json!([]));
    // Both slots are taken (one WebSocket, one native connection): HTTP gets a 503.
    let refused = http_get(http, "/api/status", None);
    assert_eq!(refused.status, 503);
    assert!(
        refused.body.contains("max_connections (2)"),
        "{}",
        refused.body
    );
    let status = rpc.call("status", json!([]));
    let open = |name: &str| {
        status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["connections"].clone())
    };
    assert_eq!(open("http"), Some(json!(1)), "{status}");
    assert_eq!(open("native"), Some(json!(1)), "{status}");
    // Closing the WebSocket gives the slot back.
    drop(first);
    drop(rpc);
    let deadline = Instant::now() + labsocket_e2e::WAIT;
    loop {
        if http_get(http, "/api/status", None).status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never released");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn http_can_be_turned_off_and_closes_websockets_on_shutdown() {
    let server = Server::start("[http]\nenabled = false\n");
    let status = server.rpc().call("status", json!([]));
    assert!(
        status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .all(|front_end| front_end["name"] != "http"),
        "{status}"
    );

    let mut server = Server::start("");
    let mut ws = LiveViewClient::connect(server.address("http"), "/ws");
    assert_eq!(ws.next_message()["type"], "snapshot");
    let exit = server.terminate();
    assert!(exit.success(), "{}", server.stderr());
    ws.wait_closed();
}

#[test]
fn api_sockets_lists_pull_sockets_with_their_timeouts() {
    let server = Server::start(
        "[[pull_socket]]\nname = \"gauges\"\nkind = \"data\"\nport = 0\ncodenames = [\"p1\", \"p2\"]\ntimeouts = { p2 = 0.5 }\n",
    );
    let http = server.address("http");
    let sockets = http_get(http, "/api/sockets", None).json();
    let port = server.address("pull.0").port();
    assert_eq!(
        sockets["sockets"],
        json!([{
            "name": "gauges",
            "kind": "data",
            "port": port,
            "codenames": ["p1", "p2"],
            "timeouts": {"p2": 0.5}
        }]),
        "{sockets}"
    );
    assert!(sockets.get("note").is_none(), "{sockets}");
}
