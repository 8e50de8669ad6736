//! `set_point`, `set_point_now`, `get_point`: the point table over any front end;
//! `set_points`: many points in one call, each with its own time (federation's take-in);
//! `set_stale`: marks a codename prefix `OLD_DATA` (the federation plugin, SPEC §9).

use indexmap::IndexMap;

use crate::call::{arg, number_arg, str_arg, CallError};
use crate::host_core::{Command, Core};
use crate::pyjson::Value;

pub(crate) fn commands() -> Vec<Command> {
    vec![
        Command::now(
            "set_point",
            "Sets a point (x and y any JSON): [codename, x, y] or {\"codename\",\"x\",\"y\",\"timestamp\"?}",
            "[codename, x, y] | {codename, x, y, timestamp?}",
            set_point,
        )
        .returns("true"),
        Command::now(
            "set_points",
            "Sets many points in one call, one points event each, in order: {\"points\": [[codename, x, y, time?], ...], \"newer_only\"?: a point older than the stored one is published but not stored}",
            "{points: [[codename, x, y, time?], ...], newer_only?} | [points, newer_only?]",
            set_points,
        )
        .returns("how many points were stored"),
        Command::now(
            "set_point_now",
            "Sets a point to (now, y): [codename, y]",
            "[codename, y]",
            set_point_now,
        )
        .returns("x (now, Unix seconds)"),
        Command::now(
            "get_point",
            "The latest point of [codename]: {\"x\",\"y\",\"set_at\"}",
            "[codename]",
            get_point,
        )
        .returns("{codename, x, y, set_at}")
        .read_only(),
        Command::now(
            "set_stale",
            "Marks every codename starting with prefix as stale (OLD_DATA on pull sockets) or fresh: {\"prefix\", \"stale\"}",
            "{prefix, stale}",
            set_stale,
        ),
    ]
}

fn set_stale(core: &Core, params: &Value) -> Result<Value, CallError> {
    let prefix = str_arg(params, 0, "prefix")?;
    if prefix.is_empty() {
        return Err(CallError::invalid_params(
            "'prefix' must not be empty (it would mark every point stale)",
        ));
    }
    let stale = match arg(params, 1, "stale") {
        Some(Value::Bool(stale)) => *stale,
        _ => return Err(CallError::invalid_params("'stale' must be true or false")),
    };
    core.points.set_stale(prefix, stale);
    Ok(Value::Bool(true))
}

fn set_point(core: &Core, params: &Value) -> Result<Value, CallError> {
    let codename = str_arg(params, 0, "codename")?;
    // Any JSON x, as PyExpLabSys' `set_point` took any Python object: a `data` socket
    // serving a string or `null` x must be able to move here. Only a `date` socket reads x
    // as a time, and only when it is a number.
    let x = arg(params, 1, "x").ok_or_else(|| CallError::invalid_params("'x' is required"))?;
    let y = arg(params, 2, "y").ok_or_else(|| CallError::invalid_params("'y' is required"))?;
    let timestamp = number_arg(params, 3, "timestamp")?;
    core.points.set(codename, x.clone(), y.clone(), timestamp);
    Ok(Value::Bool(true))
}

fn set_points(core: &Core, params: &Value) -> Result<Value, CallError> {
    let Some(Value::List(entries)) = arg(params, 0, "points") else {
        return Err(CallError::invalid_params(
            "'points' must be a list of [codename, x, y, time?]",
        ));
    };
    let newer_only = match arg(params, 1, "newer_only") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(CallError::invalid_params(
                "'newer_only' must be true or false",
            ))
        }
    };
    // Checked whole before anything is set: a bad entry sets nothing.
    let mut points = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let bad = || {
            CallError::invalid_params(format!(
                "points[{i}] must be [codename, x, y] or [codename, x, y, time] (time a number)"
            ))
        };
        let Value::List(fields) = entry else {
            return Err(bad());
        };
        let (Some(Value::Str(codename)), Some(x), Some(y)) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            return Err(bad());
        };
        let time = match fields.get(3) {
            None | Some(Value::Null) => None,
            Some(time) => Some(time.as_f64().ok_or_else(bad)?),
        };
        if fields.len() > 4 {
            return Err(bad());
        }
        points.push((codename.clone(), x.clone(), y.clone(), time));
    }
    Ok(Value::Int(core.points.set_each(points, newer_only) as i64))
}

fn set_point_now(core: &Core, params: &Value) -> Result<Value, CallError> {
    let codename = str_arg(params, 0, "codename")?;
    let y = arg(params, 1, "y").ok_or_else(|| CallError::invalid_params("'y' is required"))?;
    let now = labsocket_plugin_api::unix_now();
    core.points
        .set(codename, Value::Float(now), y.clone(), Some(now));
    Ok(Value::Float(now))
}

fn get_point(core: &Core, params: &Value) -> Result<Value, CallError> {
    let codename = str_arg(params, 0, "codename")?;
    let point = core
        .points
        .get(codename)
        .ok_or_else(|| CallError::not_found(format!("no point has been set for '{codename}'")))?;
    let mut fields = IndexMap::new();
    fields.insert("codename".to_owned(), Value::Str(codename.to_owned()));
    fields.insert("x".to_owned(), point.x.clone());
    fields.insert("y".to_owned(), point.y.clone());
    fields.insert("set_at".to_owned(), Value::Float(point.set_at));
    if core.points.is_stale(codename) {
        fields.insert("stale".to_owned(), Value::Bool(true));
    }
    Ok(Value::Dict(fields))
}
