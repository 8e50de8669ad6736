//! The events the workspace publishes, behind a trait so command logic can be tested
//! without a host.

use labsocket_plugin_api::topics::{DATA_CHANGED, DATA_DELETED};
use labsocket_plugin_api::{json, Ctx, Level, Value};

use crate::meta::Meta;

/// Where events go: the host's bus in production, a recorder in tests.
pub trait Events {
    fn emit(&self, topic: &str, payload: Value);

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
}

impl Events for Ctx {
    fn emit(&self, topic: &str, payload: Value) {
        // The write is already durable; a lost notification is logged, not an error.
        if let Err(err) = Ctx::emit(self, topic, &payload) {
            self.log(Level::Warn, &format!("could not publish {topic}: {err}"));
        }
    }
}
