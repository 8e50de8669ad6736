//! The workspace and settings survive restarts and crashes: a write acknowledged on any
//! front end is on disk, kill -9 at any moment loses none and corrupts nothing, and the
//! variable order and metadata come back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labsocket_e2e::durability::{
    check_acknowledged, pickled_int, unpickle_int, writer, Acknowledged,
};
use labsocket_e2e::pyminer::{g1_call, g1_call_text};
use labsocket_e2e::{Server, WAIT};
use serde_json::json;

const CONFIG: &str = "[pyminer]\nheartbeat_secs = 0\n";

#[test]
fn a_graceful_restart_keeps_variables_order_metadata_and_settings() {
    let mut server = Server::start(CONFIG);
    let pm = server.pyminer();
    let mut rpc = server.rpc();
    g1_call(pm, "write_p", json!(["zeta", pickled_int(1), "ipython"]));
    rpc.call(
        "workspace.set",
        json!({"name": "alpha", "value": {"k": [1, 2.5, "é"]}, "provider": "lab"}),
    );
    g1_call(pm, "write_p", json!(["mid", pickled_int(2)]));
    g1_call(pm, "write_p", json!(["zeta", pickled_int(3), "ipython"]));
    rpc.call(
        "workspace.set",
        json!({"name": "blob", "encoding": "npy", "data": "AAEC"}),
    );
    g1_call(pm, "delete_variable", json!(["mid"]));
    g1_call(pm, "set_settings_param", json!(["locale", "zh_CN"]));
    let before = rpc.call("workspace.list", json!({}));
    drop(rpc);
    assert!(server.terminate().success());
    let dir = server.kill9();

    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let pm = server.pyminer();
    let mut rpc = server.rpc();
    assert_eq!(rpc.call("workspace.list", json!({})), before);
    let names: Vec<&str> = before
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["zeta", "alpha", "blob"]);
    assert_eq!(before[0]["version"], 2);
    assert_eq!(before[0]["provider"], "ipython");
    assert!(before[0]["created"].as_f64() < before[0]["modified"].as_f64());
    assert_eq!(
        g1_call_text(pm, "get_all_public_variable_names", json!([])),
        r#"{"var_names": ["zeta", "alpha", "blob"], "message": "succeed"}"#
    );
    assert_eq!(
        unpickle_int(
            g1_call(pm, "read_p", json!(["zeta"]))["zeta"]
                .as_str()
                .unwrap()
        ),
        3
    );
    assert_eq!(
        rpc.call("workspace.get", json!({"name": "alpha"}))["value"],
        json!({"k": [1, 2.5, "é"]})
    );
    assert_eq!(
        rpc.call("workspace.get", json!({"name": "blob"}))["data"],
        "AAEC"
    );
    assert_eq!(
        g1_call(pm, "get_settings", json!([]))["settings"]["locale"],
        "zh_CN"
    );
}

#[test]
fn kill_9_during_writes_loses_no_acknowledged_write_and_corrupts_nothing() {
    let mut dir = labsocket_e2e::TempDir::new("crash");
    let mut acked_before: HashMap<String, i32> = HashMap::new();
    // Crash after different amounts of work: each writer has had at least this many
    // writes acknowledged (and others may be in flight).
    for (round, writes) in [(0, 20), (1, 60), (2, 5)] {
        let server = Server::start_in(dir, CONFIG, &[]).unwrap();
        let (pm, native) = (server.pyminer(), server.native());
        // Everything acknowledged before the previous crash is still there.
        let mut rpc = server.rpc();
        for (name, value) in &acked_before {
            let got = rpc.call("workspace.get", json!({"name": name}));
            let stored = unpickle_int(got["data"].as_str().unwrap());
            assert!(
                stored >= *value,
                "round {round}: {name} = {stored}, acknowledged {value}"
            );
        }
        drop(rpc);
        let acked: Acknowledged = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|i| {
                let (acked, stop) = (acked.clone(), stop.clone());
                let name = format!("r{round}w{i}");
                std::thread::spawn(move || writer(pm, native, name, 1, acked, stop))
            })
            .collect();
        let deadline = Instant::now() + WAIT;
        while acked
            .lock()
            .unwrap()
            .values()
            .filter(|v| **v >= writes)
            .count()
            < 4
        {
            assert!(Instant::now() < deadline, "round {round}: writers too slow");
            std::thread::sleep(Duration::from_millis(1));
        }
        // The crash: no shutdown, no flush, while writes are in flight.
        dir = server.kill9();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        assert_eq!(
            acked.len(),
            4,
            "round {round}: every writer got some writes acknowledged"
        );
        acked_before.extend(acked);
    }
    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let mut rpc = server.rpc();
    let list = rpc.call("workspace.list", json!({}));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    // Insertion order survived three crashes: round by round.
    let mut sorted_by_round = names.clone();
    sorted_by_round.sort_by_key(|name| &name[..2]);
    assert_eq!(names, sorted_by_round);
    if let Err(lost) = check_acknowledged(&mut rpc, &acked_before) {
        panic!("{lost}");
    }
}
