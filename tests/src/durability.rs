//! Crash durability, shared by the kill -9 test (`tests/workspace_durability.rs`) and the
//! 100-cycle soak (`src/bin/soak-durability.rs`): writers that record every acknowledged
//! write, and the check that a restarted server lost none of them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::json;

use crate::pyminer::g1_call_text;
use crate::RpcClient;

/// What the writers were told: per variable, the last acknowledged value.
pub type Acknowledged = Arc<Mutex<HashMap<String, i32>>>;

/// base64 of `pickle.dumps(n, protocol=4)` for a 32-bit `n` (`BININT`).
pub fn pickled_int(n: i32) -> String {
    let mut pickle = b"\x80\x04J".to_vec();
    pickle.extend_from_slice(&n.to_le_bytes());
    pickle.push(b'.');
    base64::engine::general_purpose::STANDARD.encode(pickle)
}

/// The int in a pickle written by [`pickled_int`].
pub fn unpickle_int(data: &str) -> i32 {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(&bytes[..3], b"\x80\x04J", "{bytes:?}");
    i32::from_le_bytes(bytes[3..7].try_into().unwrap())
}

/// Writes `name` = `first`, `first + 1`, ... until `stop`, alternating PyMiner and native
/// writes, and records every acknowledged value. Stops quietly when the server dies
/// mid-write; panics if a live server refuses a write.
pub fn writer(
    pyminer: SocketAddr,
    native: SocketAddr,
    name: String,
    first: i32,
    acked: Acknowledged,
    stop: Arc<AtomicBool>,
) {
    let mut value = first;
    while !stop.load(Ordering::Relaxed) {
        let stored = std::panic::catch_unwind(|| {
            if value % 2 == 0 {
                g1_call_text(
                    pyminer,
                    "write_p",
                    json!([name, pickled_int(value), "crash"]),
                ) == r#"{"message": "success"}"#
            } else {
                let mut rpc = RpcClient::connect(native);
                let reply = rpc.request(
                    "workspace.set",
                    json!({"name": name, "encoding": "pickle", "data": pickled_int(value)}),
                );
                reply.get("result").is_some()
            }
        });
        match stored {
            Ok(true) => {
                acked.lock().unwrap().insert(name.clone(), value);
            }
            Ok(false) => panic!("write {value} of {name} refused"),
            Err(_) => return,
        }
        value += 1;
    }
}

/// Checks, on a restarted server, that every acknowledged value is stored (or the one
/// write after it, which may have been committed just before the crash without being
/// acknowledged) and that its version counts one per write. Returns the stored values.
pub fn check_acknowledged(
    rpc: &mut RpcClient,
    acked: &HashMap<String, i32>,
) -> Result<HashMap<String, i32>, String> {
    let mut stored_values = HashMap::new();
    for (name, value) in acked {
        let reply = rpc.request("workspace.get", json!({"name": name}));
        let Some(got) = reply.get("result") else {
            return Err(format!("{name}: acknowledged {value}, now {reply}"));
        };
        let stored = unpickle_int(got["data"].as_str().unwrap());
        if stored != *value && stored != value + 1 {
            return Err(format!("{name} = {stored}, acknowledged {value}"));
        }
        if got["meta"]["version"] != json!(stored) {
            return Err(format!(
                "{name}: version {} for value {stored}",
                got["meta"]["version"]
            ));
        }
        stored_values.insert(name.clone(), stored);
    }
    Ok(stored_values)
}
