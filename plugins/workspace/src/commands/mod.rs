//! The workspace's commands, one file per family:
//!
//! - [`pyminer`]: PyMiner's socket-server commands (G1's ten and G2's additions), with
//!   the reply shapes PyMiner clients parse.
//! - [`native`]: `workspace.*`, JSON-first, for native clients.
//! - [`federation`]: other hosts' variables (`<host>/<name>`) and the commands the mqtt
//!   plugin uses to mirror them in and to publish this host's.
//!
//! Every command takes the workspace, an [`Events`](crate::events::Events) sink and the
//! params, so it can be tested without a host.

pub mod federation;
pub mod native;
pub mod pyminer;

#[cfg(test)]
mod tests;

use base64::Engine;
use labsocket_plugin_api::CommandError;

use crate::pickle;
use crate::workspace::WorkspaceError;

impl From<WorkspaceError> for CommandError {
    fn from(err: WorkspaceError) -> Self {
        match err {
            WorkspaceError::Invalid(reason) => CommandError::invalid_params(reason),
            WorkspaceError::Store(err) => CommandError::new(err.to_string()),
        }
    }
}

/// Storage failures while reading.
fn store_error(err: crate::store::StoreError) -> CommandError {
    CommandError::new(err.to_string())
}

/// Standard base64 with padding, as Python's `base64.b64encode`.
pub fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64, naming `what` in the error.
pub fn b64_decode(text: &str, what: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|err| format!("{what} is not valid base64: {err}"))
}

/// Checks a pickled value a client sent (after base64), with PyMiner's rules: an empty
/// value (what a client sends when pickling failed) and a pickled `None` are refused, and
/// so is anything that is not a pickle opcode stream.
pub fn check_pickled_value(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("the value is empty (it failed to pickle on the client)".to_owned());
    }
    if pickle::is_pickled_none(bytes) {
        return Err("the value is None, which the workspace does not store".to_owned());
    }
    pickle::check_opcodes(bytes).map_err(|err| format!("the value is not a pickle: {err}"))
}
