//! A plugin named like the compiled-in `hello` plugin.
use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

fn other(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Null)
}

plugin! {
    name: "hello",
    commands: { "hello2.other" => other: "Owned by a second plugin called hello" }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
