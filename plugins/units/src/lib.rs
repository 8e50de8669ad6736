//! `units`: converts lab quantities between units. Built as a dylib by `units-dylib` to
//! show (and test) loading a plugin without rebuilding the host.
//!
//! `units.convert {"value": 25, "from": "degC", "to": "K"}` → `298.15`.

use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Value};

/// A unit: its quantity, and how to get to the quantity's base unit (`base = v * scale + offset`).
struct Unit {
    symbol: &'static str,
    quantity: &'static str,
    scale: f64,
    offset: f64,
}

const UNITS: &[Unit] = &[
    unit("K", "temperature", 1.0, 0.0),
    unit("degC", "temperature", 1.0, 273.15),
    unit("degF", "temperature", 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0),
    unit("Pa", "pressure", 1.0, 0.0),
    unit("hPa", "pressure", 100.0, 0.0),
    unit("mbar", "pressure", 100.0, 0.0),
    unit("bar", "pressure", 1e5, 0.0),
    unit("Torr", "pressure", 101_325.0 / 760.0, 0.0),
    unit("atm", "pressure", 101_325.0, 0.0),
    unit("m", "length", 1.0, 0.0),
    unit("mm", "length", 1e-3, 0.0),
    unit("um", "length", 1e-6, 0.0),
    unit("nm", "length", 1e-9, 0.0),
    unit("s", "time", 1.0, 0.0),
    unit("min", "time", 60.0, 0.0),
    unit("h", "time", 3600.0, 0.0),
];

const fn unit(symbol: &'static str, quantity: &'static str, scale: f64, offset: f64) -> Unit {
    Unit {
        symbol,
        quantity,
        scale,
        offset,
    }
}

fn find(symbol: &str) -> Result<&'static Unit, CommandError> {
    UNITS
        .iter()
        .find(|unit| unit.symbol == symbol)
        .ok_or_else(|| CommandError::invalid_params(format!("unknown unit '{symbol}'")))
}

fn convert(_ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let value = params
        .get("value")
        .and_then(Value::as_f64)
        .ok_or_else(|| CommandError::invalid_params("'value' (a number) is required"))?;
    let text = |key: &str| {
        params
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| CommandError::invalid_params(format!("'{key}' (a unit) is required")))
    };
    let (from, to) = (find(text("from")?)?, find(text("to")?)?);
    if from.quantity != to.quantity {
        return Err(CommandError::invalid_params(format!(
            "cannot convert {} ({}) to {} ({})",
            from.symbol, from.quantity, to.symbol, to.quantity
        )));
    }
    let base = value * from.scale + from.offset;
    Ok(Value::from((base - to.offset) / to.scale))
}

fn list(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    let units: Vec<Value> = UNITS
        .iter()
        .map(|unit| json!({"unit": unit.symbol, "quantity": unit.quantity}))
        .collect();
    Ok(Value::Array(units))
}

plugin! {
    name: "units",
    description: "Converts lab quantities between units",
    commands: {
        "units.convert" => convert [inline, read_only]
            (params: "{value: number, from: unit, to: unit}", result: "number")
            : "Converts {\"value\"} from unit {\"from\"} to {\"to\"}",
        "units.list" => list [inline, read_only]
            (params: "{}", result: "[{unit, quantity}, ...]")
            : "Lists the known units and their quantities",
    }
}
