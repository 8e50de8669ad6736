//! The `status` reply of pull and push sockets (reference §3.5):
//! `{"system_status": {...}, "socket_server_status": {...}}`.
//!
//! `socket_server_status` covers every UDP server of the process, keyed by port string,
//! in start order. `system_status` comes from the registered `system.status` command (the
//! `system` plugin; a lab can ship its own), cached for a second so a burst of `status`
//! requests costs one call. The reply is built on its own task, so a slow command never
//! holds up the socket's other requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::Directory;
use crate::call;
use crate::dispatch;
use crate::host_core::Core;
use crate::pyjson::{self, Value};

/// The command that provides `system_status`.
pub const SYSTEM_STATUS_COMMAND: &str = "system.status";
/// How long one `system.status` result is reused.
const CACHE_FOR: Duration = Duration::from_secs(1);
/// How long a status reply waits for `system.status` before answering without it.
const COMMAND_WAIT: Duration = Duration::from_secs(2);
/// Status replies being built at once; more wait their turn on their socket.
const IN_FLIGHT: usize = 16;

/// The shared `system_status` cache and the bound on replies in flight.
pub struct StatusCache {
    system: Mutex<Option<(Instant, Value)>>,
    in_flight: Arc<Semaphore>,
}

impl Default for StatusCache {
    fn default() -> Self {
        Self {
            system: Mutex::new(None),
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }
}

/// A slot for building one status reply; waits while `IN_FLIGHT` are being built, so
/// a flood of `status` requests slows only the socket it arrives on.
pub async fn permit(directory: &Directory) -> Option<OwnedSemaphorePermit> {
    directory
        .status
        .in_flight
        .clone()
        .acquire_owned()
        .await
        .ok()
}

/// The whole `status` reply.
pub async fn status_json(core: &Core, directory: &Directory) -> String {
    let system = system_status(core, directory).await;
    let sockets = directory.socket_server_status(labsocket_plugin_api::unix_now());
    pyjson::to_python_json(&call::object([
        ("system_status", system),
        ("socket_server_status", sockets),
    ]))
}

async fn system_status(core: &Core, directory: &Directory) -> Value {
    let mut cache = directory.status.system.lock().await;
    if let Some((at, value)) = cache.as_ref() {
        if at.elapsed() < CACHE_FOR {
            return value.clone();
        }
    }
    let call = dispatch::call(core, SYSTEM_STATUS_COMMAND, Value::Null);
    let value = match tokio::time::timeout(COMMAND_WAIT, call).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            tracing::warn!("status: {SYSTEM_STATUS_COMMAND} failed: {}", error.message);
            Value::Dict(Default::default())
        }
        Err(_) => {
            tracing::warn!("status: {SYSTEM_STATUS_COMMAND} took longer than {COMMAND_WAIT:?}");
            Value::Dict(Default::default())
        }
    };
    *cache = Some((Instant::now(), value.clone()));
    value
}
