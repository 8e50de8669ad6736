//! A plugin whose shutdown hook fails (its buffer cannot be flushed): the host logs the
//! failure with the plugin's name and goes on stopping the others.
use labsocket_plugin_api::{plugin, CommandError, Ctx, Level, Value};

fn shutdown(ctx: &Ctx) -> Result<(), String> {
    ctx.log(Level::Info, "flusher: shutdown hook runs");
    Err("cannot flush the buffer".to_owned())
}

fn noop(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Null)
}

plugin! {
    name: "flusher",
    shutdown: shutdown,
    commands: { "flusher.noop" => noop: "Does nothing" }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
