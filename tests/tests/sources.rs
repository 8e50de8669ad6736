//! Timed-point sources (`[[source]]`) against the real binary: points arrive as events,
//! failures are logged once and isolated, slow commands do not pile up, and an unknown
//! command stops the start.

use std::time::{Duration, Instant};

use labsocket_e2e::{bad_plugin, RpcClient, Server, WAIT};
use serde_json::{json, Value};

/// Subscribes `rpc` to `points` events.
fn subscribe_points(rpc: &mut RpcClient) {
    rpc.call("subscribe", json!({"topics": ["points"]}));
}

/// The next `points` event that carries `codename`, as its params object.
fn next_points_with(rpc: &mut RpcClient, codename: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = rpc.next_notification("event", left);
        let params = &event["params"];
        if params["topic"] == "points" && params.get(codename).is_some() {
            return params.clone();
        }
    }
}

/// `status.sources[index]`.
fn source_status(rpc: &mut RpcClient, index: usize) -> Value {
    rpc.call("status", json!([]))["sources"][index].clone()
}

/// Polls `status` until `done` holds for source `index` (each poll is a real request).
fn wait_for_source(rpc: &mut RpcClient, index: usize, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = source_status(rpc, index);
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "source never got there: {status}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sine_source_publishes_moving_points_until_shutdown() {
    let mut server = Server::start(
        "[[source]]\ncommand = \"sine.sample\"\ninterval_secs = 0.05\nparams = { period_secs = 2 }\n",
    );
    let mut rpc = server.rpc();
    subscribe_points(&mut rpc);
    let mut last_x = 0.0;
    let mut sines = Vec::new();
    for _ in 0..6 {
        let event = next_points_with(&mut rpc, "sine");
        for codename in ["sine", "cosine", "sawtooth", "random_walk"] {
            let pair = event[codename]
                .as_array()
                .unwrap_or_else(|| panic!("{event}"));
            assert_eq!(pair.len(), 2, "{event}");
            assert_eq!(pair[0], event["sine"][0], "one sample, one x: {event}");
        }
        let x = event["sine"][0].as_f64().unwrap();
        assert!(x > last_x, "x must increase: {x} after {last_x}");
        last_x = x;
        sines.push(event["sine"][1].as_f64().unwrap());
    }
    assert!(
        sines.windows(2).any(|pair| pair[0] != pair[1]),
        "the sine moves: {sines:?}"
    );
    let point = rpc.call("get_point", json!(["sine"]));
    assert!(point["x"].as_f64().unwrap() >= last_x, "{point}");
    assert!(point["y"].as_f64().unwrap().abs() <= 1.0, "{point}");
    let status = source_status(&mut rpc, 0);
    assert_eq!(status["command"], "sine.sample");
    assert_eq!(status["interval_secs"], 0.05);
    assert_eq!(status["errors"], 0, "{status}");
    assert!(status["calls"].as_u64().unwrap() >= 6, "{status}");
    // Sources stop with everything else on SIGTERM.
    assert!(server.terminate().success(), "{}", server.stderr());
}

#[test]
fn both_result_shapes_keep_their_types() {
    // `echo` returns its params: one fixed [x, y] pair and one bare value (x = now).
    let server = Server::start(
        "[[source]]\ncommand = \"echo\"\ninterval_secs = 0.05\nparams = { fixed = [12.5, 7], bare = 1.0 }\n\
         [[source]]\ncommand = \"dummy.sample\"\ninterval_secs = 0.05\n",
    );
    let mut rpc = server.rpc();
    subscribe_points(&mut rpc);
    let before = now();
    let first = next_points_with(&mut rpc, "counter")["counter"][1]
        .as_u64()
        .expect("counter is an int");
    let second = next_points_with(&mut rpc, "counter")["counter"][1]
        .as_u64()
        .unwrap();
    assert!(second > first, "{first} then {second}");
    next_points_with(&mut rpc, "fixed");
    // Compare raw lines: serde_json would blur 7 and 7.0.
    rpc.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":\"f\",\"method\":\"get_point\",\"params\":[\"fixed\"]}\n",
    );
    let line = raw_reply(&mut rpc, "\"f\"");
    assert!(line.contains("\"x\":12.5,\"y\":7,"), "{line}");
    rpc.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"get_point\",\"params\":[\"bare\"]}\n",
    );
    let line = raw_reply(&mut rpc, "\"b\"");
    assert!(line.contains("\"y\":1.0,"), "{line}");
    let bare: Value = serde_json::from_str(&line).unwrap();
    assert!(
        bare["result"]["x"].as_f64().unwrap() >= before - 1.0,
        "x is now: {line}"
    );
}

#[test]
fn a_failing_source_is_logged_once_and_disturbs_nothing() {
    let server = Server::start(
        "[[source]]\ncommand = \"sine.sample\"\ninterval_secs = 0.01\nparams = { period_secs = 0 }\n\
         [[source]]\ncommand = \"hello.panic\"\ninterval_secs = 0.05\n\
         [[source]]\ncommand = \"dummy.sample\"\ninterval_secs = 0.05\n",
    );
    let mut rpc = server.rpc();
    subscribe_points(&mut rpc);
    // About a second of failing every 10 ms.
    let failed = wait_for_source(&mut rpc, 0, |s| s["errors"].as_u64().unwrap() >= 80);
    assert_eq!(failed["failing"], true);
    assert_eq!(failed["last_ok"], Value::Null);
    let error = failed["last_error"].as_str().unwrap();
    assert!(error.contains("period_secs"), "{failed}");
    let panicked = wait_for_source(&mut rpc, 1, |s| s["errors"].as_u64().unwrap() >= 5);
    assert!(
        panicked["last_error"]
            .as_str()
            .unwrap()
            .contains("panicked"),
        "{panicked}"
    );
    // The healthy source and the clients are untouched.
    next_points_with(&mut rpc, "counter");
    assert_eq!(source_status(&mut rpc, 2)["errors"], 0);
    assert_eq!(rpc.call("ping", json!([])), "pong");
    let stderr = server.stderr();
    for source in [
        "source #1 (sine.sample) failed:",
        "source #2 (hello.panic) failed:",
    ] {
        assert_eq!(stderr.matches(source).count(), 1, "{source} in:\n{stderr}");
    }
    assert!(
        stderr.contains("source #1 (sine.sample) failed: 'period_secs' must be a positive number"),
        "{stderr}"
    );
}

#[test]
fn a_source_recovers_when_its_command_works_again() {
    // `get_point` fails (not found) until a client sets the point it reads.
    let server = Server::start(
        "[[source]]\ncommand = \"get_point\"\ninterval_secs = 0.05\nparams = [\"probe\"]\n",
    );
    let mut rpc = server.rpc();
    let failing = wait_for_source(&mut rpc, 0, |s| s["errors"].as_u64().unwrap() >= 3);
    assert_eq!(failing["failing"], true);
    rpc.call("set_point", json!(["probe", 1.5, 2]));
    let recovered = wait_for_source(&mut rpc, 0, |s| s["failing"] == false);
    assert!(recovered["last_ok"].as_f64().is_some(), "{recovered}");
    // The source's result ({"codename": "probe", "x": .., ...}) became points.
    assert_eq!(rpc.call("get_point", json!(["codename"]))["y"], "probe");
    let stderr = server.stderr();
    assert_eq!(
        stderr.matches("source #1 (get_point) failed:").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("source #1 (get_point) recovered after"),
        "{stderr}"
    );
}

#[test]
fn a_slow_source_does_not_pile_up_or_delay_other_clients() {
    // Each call takes 500 ms; ticks every 50 ms must not start overlapping calls.
    let server = Server::start(
        "[[source]]\ncommand = \"hello.sleep\"\ninterval_secs = 0.05\nparams = { ms = 500 }\n",
    );
    let mut events = server.rpc();
    subscribe_points(&mut events);
    let mut pings = server.rpc();
    let pinger = std::thread::spawn(move || {
        let mut slowest = Duration::ZERO;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(1500) {
            let sent = Instant::now();
            assert_eq!(pings.call("ping", json!([])), "pong");
            slowest = slowest.max(sent.elapsed());
            std::thread::sleep(Duration::from_millis(20));
        }
        (slowest, pings)
    });
    let mut xs = Vec::new();
    for _ in 0..4 {
        xs.push(
            next_points_with(&mut events, "slept_ms")["slept_ms"][0]
                .as_f64()
                .unwrap(),
        );
    }
    // Serial calls finish about 500 ms apart; overlapping ones would finish 50 ms apart.
    for pair in xs.windows(2) {
        assert!(pair[1] - pair[0] >= 0.45, "samples too close: {xs:?}");
    }
    let (slowest_ping, mut pings) = pinger.join().unwrap();
    assert!(
        slowest_ping < Duration::from_millis(400),
        "a ping took {slowest_ping:?}"
    );
    let before = source_status(&mut pings, 0)["calls"].as_u64().unwrap();
    let started = Instant::now();
    next_points_with(&mut events, "slept_ms");
    next_points_with(&mut events, "slept_ms");
    let calls = source_status(&mut pings, 0)["calls"].as_u64().unwrap() - before;
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        calls as f64 <= seconds / 0.5 + 2.0,
        "{calls} calls in {seconds:.2} s"
    );
}

#[test]
fn an_unknown_source_command_stops_the_start_with_a_clear_error() {
    let failure = Server::start_with_args(
        "[[source]]\ncommand = \"sine.sample\"\n[[source]]\ncommand = \"system.sampel\"\n",
        &[],
    )
    .err()
    .expect("the server must not start");
    assert_eq!(
        failure.status.and_then(|s| s.code()),
        Some(2),
        "{}",
        failure.stderr
    );
    assert!(
        failure.stderr.contains(
            "[[source]] #2 command: no command 'system.sampel' is registered (`labsocket plugins` lists"
        ),
        "{}",
        failure.stderr
    );
}

#[test]
fn an_unknown_source_command_is_skipped_when_a_plugin_failed_to_load() {
    // The failed plugin may be the one providing the command: the rest must still run.
    let config = format!(
        "[plugins]\ndylibs = [{:?}]\n[[source]]\ncommand = \"mylab.read\"\n[[source]]\ncommand = \"dummy.sample\"\ninterval_secs = 0.05\n",
        bad_plugin("init_fails")
    );
    let server = Server::start(&config);
    let mut rpc = server.rpc();
    let running = wait_for_source(&mut rpc, 0, |s| s["calls"].as_u64().unwrap() >= 1);
    assert_eq!(running["command"], "dummy.sample");
    assert_eq!(running["source"], 2);
    let stderr = server.stderr();
    assert!(
        stderr.contains("[[source]] #1 command: no command 'mylab.read' is registered"),
        "{stderr}"
    );
    assert!(stderr.contains("this source is skipped"), "{stderr}");
}

#[test]
fn a_bad_source_config_is_refused_with_the_key() {
    let failure = Server::start_with_args(
        "[[source]]\ncommand = \"sine.sample\"\ninterval_secs = 0\n",
        &[],
    )
    .err()
    .expect("the server must not start");
    assert_eq!(failure.status.and_then(|s| s.code()), Some(2));
    assert!(
        failure
            .stderr
            .contains("[[source]] #1 interval_secs: must be between 0.01 and 86400 seconds, not 0"),
        "{}",
        failure.stderr
    );
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The raw reply line with `id` (a JSON literal), skipping notifications.
fn raw_reply(rpc: &mut RpcClient, id: &str) -> String {
    let needle = format!("\"id\":{id},");
    loop {
        let line = rpc.read_line().expect("server closed the connection");
        if line.contains(&needle) {
            return line;
        }
    }
}
