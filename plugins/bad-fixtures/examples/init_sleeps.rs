//! A plugin whose init hangs (an instrument that never answers): the host must give up
//! after `[limits] plugin_init_timeout_secs` and start without it.
use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

fn init(_ctx: &Ctx, config: Value) -> Result<(), String> {
    let secs = config["sleep_secs"].as_f64().unwrap_or(60.0);
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(())
}

fn hello(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::from("awake"))
}

plugin! {
    name: "sleepy",
    init: init,
    commands: { "sleepy.hello" => hello: "Never callable: init times out" }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
