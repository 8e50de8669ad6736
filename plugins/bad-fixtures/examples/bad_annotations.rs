//! A plugin whose command annotations are not a JSON object.
use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

fn noop(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Null)
}

plugin! {
    name: "badmeta",
    commands: {
        "badmeta.noop" => noop (annotations: "[1, 2]"): "Annotations must be an object"
    }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
