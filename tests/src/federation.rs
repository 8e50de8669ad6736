//! What the federation tests share: polling with a deadline, a host's `mqtt.status`, and
//! waiting until a host federates.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{RpcClient, Server, WAIT};

/// Polls `probe` until it returns `Some`, failing with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The host's `mqtt.status`.
pub fn mqtt_status(rpc: &mut RpcClient) -> Value {
    rpc.call("mqtt.status", json!({}))
}

/// Waits until `server` is connected to its broker and federating; fails with its status
/// and log otherwise.
pub fn wait_federating(server: &Server) {
    let mut rpc = server.rpc();
    let deadline = Instant::now() + WAIT;
    loop {
        let status = mqtt_status(&mut rpc);
        if status["phase"] == "federating" && status["connected"] == true {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the host did not federate: {status}\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
