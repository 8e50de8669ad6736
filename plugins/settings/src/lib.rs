//! `settings`: lab settings and the Qt style sheet, compiled into the host.
//!
//! Serves PyMiner's `get_settings`, `set_settings_param` and `get_style_sheet` (G1 reply
//! shapes) and the native `settings.get`, `settings.set`, `settings.style_sheet`, from
//! files in `<data_dir>/settings/` (see [`store`]). A change publishes
//! `settings_changed {"name", "value"}`.

pub mod store;

use std::sync::OnceLock;

use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Level, Value};
use serde_json::Map;

use crate::store::Settings;

/// Topic of a change: `{"name", "value"}`.
pub const SETTINGS_CHANGED: &str = "settings_changed";

static SETTINGS: OnceLock<Settings> = OnceLock::new();

fn init(ctx: &Ctx, _config: Value) -> Result<(), String> {
    let folder = ctx.data_dir().join("settings");
    let settings = Settings::open(&folder, ctx.data_dir())?;
    SETTINGS
        .set(settings)
        .map_err(|_| "the settings were initialised twice".to_owned())
}

fn opened() -> Result<&'static Settings, CommandError> {
    SETTINGS
        .get()
        .ok_or_else(|| CommandError::new("the settings are not loaded"))
}

/// A JSON object with keys in the given order.
fn reply<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// `(name, value)` from `[name, value]` or `{"name", "value"}`.
fn name_and_value(params: Value, usage: &str) -> Result<(String, Value), CommandError> {
    let (name, value) = match params {
        Value::Array(items) if items.len() == 2 => {
            let mut items = items.into_iter();
            (items.next(), items.next())
        }
        Value::Object(mut fields) => (fields.remove("name"), fields.remove("value")),
        _ => (None, None),
    };
    match (name, value) {
        (Some(Value::String(name)), Some(value)) => Ok((name, value)),
        _ => Err(CommandError::invalid_params(format!("expected {usage}"))),
    }
}

/// Applies a change durably and announces it.
fn change(ctx: &Ctx, name: &str, value: Value) -> Result<(), CommandError> {
    opened()?
        .set(name, value.clone())
        .map_err(CommandError::invalid_params)?;
    let payload = json!({"name": name, "value": value});
    if let Err(err) = ctx.emit(SETTINGS_CHANGED, &payload) {
        ctx.log(
            Level::Warn,
            &format!("could not publish {SETTINGS_CHANGED}: {err}"),
        );
    }
    Ok(())
}

/// PyMiner `get_settings []` → `{"message": "succeed", "settings": {...}}`.
fn get_settings(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(reply([
        ("message", Value::from("succeed")),
        ("settings", Value::Object(opened()?.all())),
    ]))
}

/// PyMiner `set_settings_param [name, value]` → `{"message": "succeed", "name", "value"}`
/// (PyMiner closed the connection without a reply and did not save the change).
fn set_settings_param(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let (name, value) = name_and_value(params, "set_settings_param [name, value]")?;
    change(ctx, &name, value.clone())?;
    Ok(reply([
        ("message", Value::from("succeed")),
        ("name", Value::from(name)),
        ("value", value),
    ]))
}

/// PyMiner `get_style_sheet []` → `{"style_sheet": "...", "message": "succeed"}`.
fn get_style_sheet(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    let style_sheet = opened()?.style_sheet().map_err(CommandError::new)?;
    Ok(reply([
        ("style_sheet", Value::from(style_sheet)),
        ("message", Value::from("succeed")),
    ]))
}

/// `settings.get` → every setting.
fn native_get(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Object(opened()?.all()))
}

/// `settings.set {"name", "value"}` → `{"name", "value"}` once saved.
fn native_set(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let (name, value) = name_and_value(params, "{\"name\", \"value\"}")?;
    change(ctx, &name, value.clone())?;
    Ok(json!({"name": name, "value": value}))
}

/// `settings.style_sheet` → the style sheet text.
fn native_style_sheet(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::from(
        opened()?.style_sheet().map_err(CommandError::new)?,
    ))
}

plugin! {
    name: "settings",
    init: init,
    commands: {
        "get_settings" => get_settings: "PyMiner: {\"message\": \"succeed\", \"settings\": {...}}",
        "set_settings_param" => set_settings_param: "PyMiner: [name, value] changes an existing setting (saved)",
        "get_style_sheet" => get_style_sheet: "PyMiner: {\"style_sheet\": \"...\", \"message\": \"succeed\"}",
        "settings.get" => native_get: "Every setting",
        "settings.set" => native_set: "{\"name\", \"value\"} changes an existing setting (saved, announced as settings_changed)",
        "settings.style_sheet" => native_style_sheet: "The Qt style sheet text (style.qss in the data directory)",
    }
}
