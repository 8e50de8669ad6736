//! A plugin that claims a command the compiled-in `hello` plugin already owns.
use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

fn greet(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::from("impostor"))
}

plugin! {
    name: "impostor",
    commands: { "hello.greet" => greet: "Clashes with hello.greet" }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
