//! `history.query` and `history.codenames`: their params, M4 downsampling and reply shapes.
//!
//! `history.query {"codenames": [...], "from": t0, "to"?: t1, "max_points"?: n}` →
//! `{"<codename>": {"time": [...], "x": [...], "y": [...]}}`, columns in time order
//! (`from ≤ time ≤ to`), empty columns for a codename without rows there.
//!
//! With `max_points` (≥ 4) each codename is downsampled with M4 ([`crate::m4`]): every
//! returned row is a stored row, at most `max_points` of them.
//!
//! Without `max_points`, a reply holds at most `[history] max_query_rows` rows in all (the
//! store reads no more): each codename's first rows in time order until the budget is
//! spent, and a codename that lost rows to the cap has `"truncated": true` next to its
//! columns (so a client can ask again from its last time, or ask for `max_points`).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::store::{Columns, Reader};
use labsocket_plugin_api::CommandError;

/// Params of `history.query`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    pub codenames: Vec<String>,
    pub from: f64,
    #[serde(default)]
    pub to: Option<f64>,
    #[serde(default)]
    pub max_points: Option<u64>,
}

/// Runs a query; `now` is the default `to`; a raw query returns at most `max_rows` rows.
pub(crate) fn query(
    reader: &mut Reader,
    params: &QueryParams,
    now: f64,
    max_rows: usize,
) -> Result<Value, CommandError> {
    let from = params.from;
    let to = params.to.unwrap_or(now);
    if !from.is_finite() || !to.is_finite() {
        return Err(CommandError::invalid_params(
            "history.query: from and to must be finite Unix seconds",
        ));
    }
    if to < from {
        return Err(CommandError::invalid_params(format!(
            "history.query: to ({to}) is before from ({from})"
        )));
    }
    if let Some(n) = params.max_points {
        if n < 4 {
            return Err(CommandError::invalid_params(format!(
                "history.query: max_points must be at least 4 (one M4 bucket), got {n}"
            )));
        }
    }
    let mut reply = Map::new();
    let mut budget = max_rows;
    for codename in &params.codenames {
        if reply.contains_key(codename) {
            continue;
        }
        let (columns, truncated) = match params.max_points {
            None => {
                // One row more than the budget tells whether the cap cut this codename.
                let mut columns = reader
                    .rows(codename, from, to, budget.saturating_add(1))
                    .map_err(CommandError::new)?;
                let truncated = columns.time.len() > budget;
                columns.time.truncate(budget);
                columns.x.truncate(budget);
                columns.y.truncate(budget);
                budget -= columns.time.len();
                (columns, truncated)
            }
            Some(n) => (
                reader
                    .downsample(codename, from, to, n)
                    .map_err(CommandError::new)?,
                false,
            ),
        };
        let mut columns = columns_json(columns);
        if truncated {
            columns["truncated"] = Value::Bool(true);
        }
        reply.insert(codename.clone(), columns);
    }
    Ok(Value::Object(reply))
}

/// Whether `max_query_rows` cut a `query` reply.
pub(crate) fn is_truncated(reply: &Value) -> bool {
    reply
        .as_object()
        .is_some_and(|codenames| codenames.values().any(|c| c["truncated"] == true))
}

fn columns_json(columns: Columns) -> Value {
    json!({"time": columns.time, "x": columns.x, "y": columns.y})
}

/// `history.codenames` → `[{"codename", "first", "last", "rows"}]`.
pub(crate) fn codenames(reader: &mut Reader) -> Result<Value, CommandError> {
    let list = reader.codenames().map_err(CommandError::new)?;
    serde_json::to_value(list).map_err(|err| CommandError::new(err.to_string()))
}
