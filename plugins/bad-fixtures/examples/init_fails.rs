//! A plugin whose init hook returns an error (e.g. its instrument is unplugged).
use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

fn init(_ctx: &Ctx, _config: Value) -> Result<(), String> {
    Err("instrument not found on /dev/ttyUSB9".to_owned())
}

fn never(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Null)
}

plugin! {
    name: "initfails",
    init: init,
    commands: { "initfails.never" => never: "Never callable: init fails" }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
