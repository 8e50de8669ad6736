//! The events the workspace publishes, and the commands it calls, behind a trait so
//! command logic can be tested without a host.

use labsocket_plugin_api::codes::METHOD_NOT_FOUND;
use labsocket_plugin_api::topics::{DATA_CHANGED, DATA_DELETED};
use labsocket_plugin_api::{json, CommandError, Ctx, Level, Value};

use crate::meta::Meta;

/// What the commands need of the host: its bus in production, a recorder in tests.
pub trait Events {
    fn emit(&self, topic: &str, payload: Value);

    /// Calls another command through the host (a write of another host's variable goes
    /// to the mqtt plugin's `mqtt.ws_set`). Without a host (unit tests) no command exists.
    fn call_command(&self, method: &str, _params: &Value) -> Result<Value, CommandError> {
        Err(CommandError::new(format!("unknown method '{method}'")).with_code(METHOD_NOT_FOUND))
    }

    /// One `data_changed` per written variable, in write order.
    fn changed(&self, metas: &[Meta]) {
        for meta in metas {
            self.emit(
                DATA_CHANGED,
                json!({"data_name": meta.name, "data_source": meta.provider}),
            );
        }
    }

    /// One `data_deleted`.
    fn deleted(&self, name: &str, provider: &str) {
        self.emit(
            DATA_DELETED,
            json!({"data_name": name, "data_source": provider}),
        );
    }

    /// `data_changed` of another host's variable (`<host>/<name>`), with `"host"` as every
    /// remote event has it (SPEC §9).
    fn remote_changed(&self, host: &str, meta: &Meta) {
        self.emit(
            DATA_CHANGED,
            json!({"data_name": meta.name, "data_source": meta.provider, "host": host}),
        );
    }

    /// `data_deleted` of another host's variable.
    fn remote_deleted(&self, host: &str, name: &str) {
        self.emit(
            DATA_DELETED,
            json!({"data_name": name, "data_source": host, "host": host}),
        );
    }
}

impl Events for Ctx {
    fn emit(&self, topic: &str, payload: Value) {
        // The write is already durable; a lost notification is logged, not an error.
        if let Err(err) = Ctx::emit(self, topic, &payload) {
            self.log(Level::Warn, &format!("could not publish {topic}: {err}"));
        }
    }

    fn call_command(&self, method: &str, params: &Value) -> Result<Value, CommandError> {
        Ctx::call(self, method, params)
    }
}
