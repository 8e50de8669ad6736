//! A plugin written only against plugin API 1.0.0 (the frozen copy beside it): init with a
//! config, a command, emit, set_point and log. The compatibility test loads its `.so`
//! into the current host and checks that everything a 1.0 plugin could do still works.

use std::sync::OnceLock;

use labsocket_plugin_api::{plugin, CommandError, Ctx, Level, Value};

/// The `[plugins.compat]` table init received.
static CONFIG: OnceLock<Value> = OnceLock::new();

fn init(ctx: &Ctx, config: Value) -> Result<(), String> {
    ctx.log(
        Level::Info,
        &format!("compat plugin initialised with {config}"),
    );
    CONFIG.set(config).map_err(|_| "init ran twice".to_owned())
}

fn config(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(CONFIG.get().cloned().unwrap_or(Value::Null))
}

/// `{"topic", "payload"}`: publishes the payload.
fn emit(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let topic = params["topic"].as_str().unwrap_or_default();
    ctx.emit(topic, &params["payload"])
        .map_err(|err| CommandError::new(err.to_string()))?;
    Ok(Value::Bool(true))
}

/// `[codename, x, y]`: sets a point.
fn set_point(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let codename = params[0].as_str().unwrap_or_default();
    ctx.set_point(codename, params[1].clone(), params[2].clone())
        .map_err(|err| CommandError::new(err.to_string()))?;
    Ok(Value::Bool(true))
}

/// `[message]`: logs it as a warning.
fn log(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    ctx.log(Level::Warn, params[0].as_str().unwrap_or_default());
    Ok(Value::Bool(true))
}

plugin! {
    name: "compat",
    init: init,
    commands: {
        "compat.config" => config: "The config init received",
        "compat.emit" => emit: "Publishes {\"topic\", \"payload\"}",
        "compat.set_point" => set_point: "Sets [codename, x, y]",
        "compat.log" => log: "Logs [message] as a warning",
    }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
