//! The JSON endpoints: what the page loads at start and what scripts can poll.
//!
//! Each endpoint is a thin view over a command that already exists (`status`, the
//! variables command, the history command) or over the core's tables and views, so the
//! HTTP API never disagrees with the native protocol. Bodies are standard JSON for
//! browsers: `JSON.parse` has no `NaN` or `Infinity`, so non-finite floats are written as
//! `null` here (the native protocol keeps them, for Python clients). `/api/history` also
//! answers CSV (`text/csv`), the history command's own CSV text.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::annotations;
use crate::call::{object, CallError};
use crate::dispatch;
use crate::host_core::{views, Core};
use crate::pyjson::Value;
use labsocket_plugin_api::codes;

/// `{}`: what a view reads as when its front end did not register it.
pub fn empty_object() -> Value {
    Value::Dict(Default::default())
}

/// `value` as standard JSON (non-finite floats become `null`, as in `JSON.stringify`).
pub fn browser_json(value: &Value) -> String {
    value.to_serde_json().to_string()
}

fn json(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        browser_json(value),
    )
        .into_response()
}

fn error(status: StatusCode, error: &CallError) -> Response {
    let body = object([(
        "error",
        object([
            ("code", Value::Int(error.code)),
            ("message", Value::Str(error.message.clone())),
        ]),
    )]);
    json(status, &body)
}

/// `GET /api/status`: the `status` command's result.
pub async fn status(State(state): State<AppState>) -> Response {
    match dispatch::call(&state.core, "status", Value::Null).await {
        Ok(status) => json(StatusCode::OK, &status),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, &err),
    }
}

/// `GET /api/points`: `{"ts", "points": {codename: {"x", "y", "set_at", "age_secs"}}}`,
/// where `age_secs` is the time since the point was set.
pub async fn points(State(state): State<AppState>) -> Response {
    let now = labsocket_plugin_api::unix_now();
    let body = object([
        ("ts", Value::Float(now)),
        ("points", points_value(&state.core, Some(now))),
    ]);
    json(StatusCode::OK, &body)
}

/// Every point as `{codename: {"x", "y", "set_at"}}`, with `age_secs` when `now` is given.
pub fn points_value(core: &Core, now: Option<f64>) -> Value {
    let points = core.points.snapshot().into_iter().map(|(codename, point)| {
        let mut fields = indexmap::IndexMap::with_capacity(4);
        fields.insert("x".to_owned(), point.x.clone());
        fields.insert("y".to_owned(), point.y.clone());
        fields.insert("set_at".to_owned(), Value::Float(point.set_at));
        if let Some(now) = now {
            fields.insert("age_secs".to_owned(), Value::Float(now - point.set_at));
        }
        (codename, Value::Dict(fields))
    });
    Value::Dict(points.collect())
}

/// `GET /api/sockets`: `{"sockets": [...], "note"?}`, the [`views::PULL_SOCKETS`] view.
pub async fn sockets(State(state): State<AppState>) -> Response {
    json(StatusCode::OK, &sockets_value(&state.core))
}

/// The body of `/api/sockets`, also part of the WebSocket snapshot.
pub fn sockets_value(core: &Core) -> Value {
    let sockets = match core.view(views::PULL_SOCKETS) {
        Some(Value::List(sockets)) => sockets,
        _ => Vec::new(),
    };
    if sockets.is_empty() {
        return object([
            ("sockets", Value::List(sockets)),
            (
                "note",
                Value::Str(
                    "no [[pull_socket]] is configured: points are listed without timeouts"
                        .to_owned(),
                ),
            ),
        ]);
    }
    object([("sockets", Value::List(sockets))])
}

/// `GET /api/variables`: `{"variables": [meta, ...]}` from the command annotated
/// `{"http": {"variables": true}}` (the workspace's `workspace.list`), or an empty list and
/// a `note` when no plugin provides one. Small JSON variables (at most
/// [`SMALL_VALUE_BYTES`]) also carry their `value`, read with the command annotated
/// `{"http": {"variable": true}}`, so the page can show them; larger or binary ones only
/// their metadata.
pub async fn variables(State(state): State<AppState>) -> Response {
    match variables_value(&state.core).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(err) => error(StatusCode::BAD_GATEWAY, &err),
    }
}

/// The body of `/api/variables`.
pub async fn variables_value(core: &Core) -> Result<Value, CallError> {
    let Some(command) = annotations::http_variables_command(core) else {
        return Ok(no_variables());
    };
    let params = Value::Dict(indexmap::IndexMap::new());
    match dispatch::call(core, command, params).await {
        Ok(list) => Ok(object([("variables", with_small_values(core, list).await)])),
        Err(err) if err.code == codes::METHOD_NOT_FOUND => Ok(no_variables()),
        Err(err) => Err(err),
    }
}

/// The largest variable (stored bytes) whose value `/api/variables` includes.
pub const SMALL_VALUE_BYTES: i64 = 4096;
/// The most value bytes one `/api/variables` answer includes, so that a workspace of many
/// small variables still answers quickly; the rest show their metadata only.
const VALUE_BUDGET_BYTES: i64 = 256 * 1024;

/// `list` with a `value` added to each small JSON variable's metadata.
async fn with_small_values(core: &Core, list: Value) -> Value {
    let (Some(read), Value::List(metas)) = (annotations::http_variable_command(core), &list) else {
        return list;
    };
    let mut budget = VALUE_BUDGET_BYTES;
    let mut out = Vec::with_capacity(metas.len());
    for meta in metas {
        let Value::Dict(fields) = meta else {
            out.push(meta.clone());
            continue;
        };
        let small = match (
            fields.get("encoding"),
            fields.get("size"),
            fields.get("name"),
        ) {
            (Some(Value::Str(encoding)), Some(Value::Int(size)), Some(Value::Str(name)))
                if encoding == "json" && *size <= SMALL_VALUE_BYTES && *size <= budget =>
            {
                Some((name.clone(), *size))
            }
            _ => None,
        };
        let mut fields = fields.clone();
        if let Some((name, size)) = small {
            let params = object([("name", Value::Str(name))]);
            // A variable deleted meanwhile (or unreadable) just shows no value.
            if let Ok(Value::Dict(mut read)) = dispatch::call(core, read, params).await {
                if let Some(value) = read.shift_remove("value") {
                    fields.insert("value".to_owned(), value);
                    budget -= size;
                }
            }
        }
        out.push(Value::Dict(fields));
    }
    Value::List(out)
}

/// `/api/variables` when no plugin lists variables.
fn no_variables() -> Value {
    object([
        ("variables", Value::List(Vec::new())),
        (
            "note",
            Value::Str(
                "no workspace plugin is loaded (no command is annotated {\"http\": {\"variables\": true}})"
                    .to_owned(),
            ),
        ),
    ])
}

/// `GET /api/history?codename=a&codename=b&from=T0&to=T1&max_points=N[&format=csv]`
/// (SPEC §8): the command annotated `{"http": {"history": true}}` (the history plugin's
/// `history.query`) called with those params; its JSON reply, or with `format=csv` its
/// CSV text as `text/csv`. Bad params are a 400 naming the parameter, a missing history
/// command a 404.
pub async fn history(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let params = match query {
        Ok(Query(pairs)) => history_params(&pairs),
        Err(rejection) => Err(rejection.body_text()),
    };
    let (params, csv) = match params {
        Ok(params) => params,
        Err(message) => {
            let err = CallError::invalid_params(format!("/api/history: {message}"));
            return error(StatusCode::BAD_REQUEST, &err);
        }
    };
    let Some(command) = annotations::http_history_command(&state.core) else {
        let err = CallError::not_found(
            "/api/history: no history here: no loaded plugin has a command annotated {\"http\": {\"history\": true}} (the history plugin is not loaded or failed to load; see the server log or `labsocket plugins`)",
        );
        return error(StatusCode::NOT_FOUND, &err);
    };
    match dispatch::call(&state.core, command, params).await {
        Ok(Value::Str(text)) if csv => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Ok(reply) => json(StatusCode::OK, &reply),
        Err(err) => {
            let status = match err.code {
                codes::INVALID_PARAMS => StatusCode::BAD_REQUEST,
                codes::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
                codes::INTERNAL_ERROR | codes::PLUGIN_PANICKED => StatusCode::INTERNAL_SERVER_ERROR,
                // The store is unreachable, history is off, the plugin failed to load or
                // is busy: the server works, history does not answer now.
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            error(status, &err)
        }
    }
}

/// The history command's params from the query string, and whether CSV was asked for.
fn history_params(pairs: &[(String, String)]) -> Result<(Value, bool), String> {
    fn number(key: &str, text: &str) -> Result<f64, String> {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("{key}: must be a number of Unix seconds, got '{text}'"))
    }
    let mut codenames = Vec::new();
    let mut fields = indexmap::IndexMap::new();
    let mut csv = false;
    for (key, text) in pairs {
        let value = match key.as_str() {
            "codename" => {
                codenames.push(Value::Str(text.clone()));
                continue;
            }
            "from" | "to" => Value::Float(number(key, text)?),
            // The range (at least 4) is the command's to check.
            "max_points" => match text.trim().parse::<i64>() {
                Ok(n) => Value::Int(n),
                _ => return Err(format!("max_points: must be an integer, got '{text}'")),
            },
            "format" => match text.as_str() {
                "json" => Value::Str("json".to_owned()),
                "csv" => {
                    csv = true;
                    Value::Str("csv".to_owned())
                }
                _ => return Err(format!("format: must be 'json' or 'csv', got '{text}'")),
            },
            _ => {
                return Err(format!(
                    "unknown parameter '{key}' (known: codename, from, to, max_points, format)"
                ))
            }
        };
        if fields.insert(key.clone(), value).is_some() {
            return Err(format!("{key}: given more than once"));
        }
    }
    if codenames.is_empty() {
        return Err("codename: at least one is required (codename=a&codename=b)".to_owned());
    }
    if !fields.contains_key("from") {
        return Err("from: required (Unix seconds)".to_owned());
    }
    fields.insert("codenames".to_owned(), Value::List(codenames));
    Ok((Value::Dict(fields), csv))
}

/// `GET /api/live`: `{"ts", "hosts": {host: {codename: {"x", "y", "received_at"}}},
/// "stats": {...}}`, what the live server received.
pub async fn live(State(state): State<AppState>) -> Response {
    let core = &state.core;
    let body = object([
        ("ts", Value::Float(labsocket_plugin_api::unix_now())),
        (
            "hosts",
            core.view(views::LIVE_HOSTS).unwrap_or_else(empty_object),
        ),
        (
            "stats",
            core.view(views::LIVE_SERVER).unwrap_or_else(empty_object),
        ),
    ]);
    json(StatusCode::OK, &body)
}

/// Anything else: a 404 that says where to look.
pub async fn not_found() -> Response {
    let err = CallError::not_found(
        "no such page: the live view is at /, the API at /api/status, /api/points, /api/sockets, /api/variables, /api/history, /api/live and /ws",
    );
    error(StatusCode::NOT_FOUND, &err)
}
