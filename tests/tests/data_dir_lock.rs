//! One server per data directory (issue 11): a second `labsocket serve` on a data
//! directory in use exits non-zero, naming the directory and the first server's pid,
//! without printing `ready`; once the first one stops, even by crashing, the directory is
//! free again.

use labsocket_e2e::{Server, TempDir};
use serde_json::json;

#[test]
fn a_second_server_on_the_same_data_dir_does_not_start() {
    let shared = TempDir::new("shared-data");
    let data_dir = shared.path().join("data");
    let config = format!(
        "[server]\ndata_dir = {:?}\n",
        data_dir.to_str().expect("a UTF-8 temp path")
    );
    let mut first = Server::start(&config);
    let mut rpc = first.rpc();
    rpc.call("workspace.set", json!({"name": "x", "value": 1}));

    let second = match Server::start_with_args(&config, &[]) {
        Ok(_) => panic!("a second server on {} started", data_dir.display()),
        Err(failure) => failure,
    };
    let stderr = &second.stderr;
    assert_eq!(
        second.status.and_then(|status| status.code()),
        Some(1),
        "stderr:\n{stderr}"
    );
    let canonical = std::fs::canonicalize(&data_dir).unwrap();
    assert!(
        stderr.contains(&canonical.display().to_string())
            && stderr.contains(&format!("pid {}", first.pid()))
            && stderr.contains("in use"),
        "{stderr}"
    );
    // The first server is unaffected.
    assert_eq!(
        rpc.call("workspace.get", json!({"name": "x"}))["value"],
        json!(1)
    );

    // Stopped (even by SIGTERM's clean exit), it leaves the directory free.
    assert!(first.terminate().success());
    let third = Server::start(&config);
    assert_eq!(
        third.rpc().call("workspace.get", json!({"name": "x"}))["value"],
        json!(1)
    );
    // A crash releases the lock too (the kernel drops it with the process).
    drop(third.kill9());
    let fourth = Server::start(&config);
    assert_eq!(fourth.rpc().call("ping", json!([])), json!("pong"));
}
