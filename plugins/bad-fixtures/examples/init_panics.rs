//! A plugin whose init hook panics.
use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

fn init(_ctx: &Ctx, _config: Value) -> Result<(), String> {
    panic!("init exploded")
}

fn never(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Null)
}

plugin! {
    name: "initpanics",
    init: init,
    commands: { "initpanics.never" => never: "Never callable: init fails" }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
