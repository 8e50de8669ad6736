//! `settings`: lab settings and the Qt style sheet, compiled into the host.
//!
//! Serves PyMiner's `get_settings`, `set_settings_param` and `get_style_sheet` (G1 reply
//! shapes) and the native `settings.get`, `settings.set`, `settings.style_sheet`, from
//! files in `<data_dir>/settings/` (see [`store`]). A change publishes
//! `settings_changed {"name", "value"}`.

pub mod store;

use labsocket_plugin_api::topics::SETTINGS_CHANGED;
use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Level, NoParams, Value};
use serde_json::Map;

use crate::store::Settings;

/// Loads the settings files; they are the plugin's state.
fn init(ctx: &Ctx, _config: Value) -> Result<Settings, String> {
    let folder = ctx.data_dir().join("settings");
    Settings::open(&folder, ctx.data_dir())
}

/// A JSON object with keys in the given order.
fn reply<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// Refuses a positional array longer than the command takes: PyMiner spread `params`
/// into the handler (`handler(*params)`), which raised on extra arguments (and closed the
/// connection); labsocket answers `failed` with the reason, as the workspace does.
fn check_arity(params: &Value, max_args: usize, usage: &str) -> Result<(), CommandError> {
    match params {
        Value::Array(items) if items.len() > max_args => {
            Err(CommandError::invalid_params(format!(
                "too many arguments: {} given, at most {max_args} taken: {usage}",
                items.len()
            )))
        }
        _ => Ok(()),
    }
}

/// `(name, value)` from `[name, value]` or `{"name", "value"}`.
fn name_and_value(params: Value, usage: &str) -> Result<(String, Value), CommandError> {
    check_arity(&params, 2, usage)?;
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
fn change(settings: &Settings, ctx: &Ctx, name: &str, value: Value) -> Result<(), CommandError> {
    settings
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
fn get_settings(settings: &Settings, _ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    check_arity(&params, 0, "get_settings []")?;
    Ok(reply([
        ("message", Value::from("succeed")),
        ("settings", Value::Object(settings.all())),
    ]))
}

/// PyMiner `set_settings_param [name, value]` → `{"message": "succeed", "name", "value"}`
/// (PyMiner closed the connection without a reply and did not save the change).
fn set_settings_param(
    settings: &Settings,
    ctx: &Ctx,
    params: Value,
) -> Result<Value, CommandError> {
    let (name, value) = name_and_value(params, "set_settings_param [name, value]")?;
    change(settings, ctx, &name, value.clone())?;
    Ok(reply([
        ("message", Value::from("succeed")),
        ("name", Value::from(name)),
        ("value", value),
    ]))
}

/// PyMiner `get_style_sheet []` → `{"style_sheet": "...", "message": "succeed"}`.
fn get_style_sheet(settings: &Settings, _ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    check_arity(&params, 0, "get_style_sheet []")?;
    let style_sheet = settings.style_sheet().map_err(CommandError::new)?;
    Ok(reply([
        ("style_sheet", Value::from(style_sheet)),
        ("message", Value::from("succeed")),
    ]))
}

/// `settings.get` → every setting.
fn native_get(settings: &Settings, _ctx: &Ctx, _: NoParams) -> Result<Value, CommandError> {
    Ok(Value::Object(settings.all()))
}

/// `settings.set {"name", "value"}` → `{"name", "value"}` once saved.
fn native_set(settings: &Settings, ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let (name, value) = name_and_value(params, "{\"name\", \"value\"}")?;
    change(settings, ctx, &name, value.clone())?;
    Ok(json!({"name": name, "value": value}))
}

/// `settings.style_sheet` → the style sheet text.
fn native_style_sheet(settings: &Settings, _ctx: &Ctx, _: NoParams) -> Result<Value, CommandError> {
    Ok(Value::from(
        settings.style_sheet().map_err(CommandError::new)?,
    ))
}

// The PyMiner commands keep `Value` params: G1 ignored the params of its getters, and
// `set_settings_param` answers a misfit with its usage line. `settings.set` takes a list
// or an object, so it reads its params itself too.
plugin! {
    name: "settings",
    description: "Lab settings and the Qt style sheet, from files in the data directory",
    state: Settings,
    init: init,
    commands: {
        "get_settings" => get_settings [read_only]
            (params: "[]", result: "{\"message\": \"succeed\", \"settings\": {name: value}}")
            : "PyMiner: every setting",
        "set_settings_param" => set_settings_param
            (params: "[name, value]", result: "{\"message\": \"succeed\", \"name\", \"value\"}")
            : "PyMiner: changes an existing setting (saved)",
        "get_style_sheet" => get_style_sheet [read_only]
            (params: "[]", result: "{\"style_sheet\": string, \"message\": \"succeed\"}")
            : "PyMiner: the Qt style sheet",
        "settings.get" => native_get [read_only]
            (params: "{}", result: "{name: value}")
            : "Every setting",
        "settings.set" => native_set
            (params: "{name, value} | [name, value]", result: "{name, value}")
            : "Changes an existing setting (saved, announced as settings_changed)",
        "settings.style_sheet" => native_style_sheet [read_only]
            (params: "{}", result: "string")
            : "The Qt style sheet text (style.qss in the data directory)",
    }
}
