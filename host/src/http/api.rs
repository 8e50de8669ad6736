//! The JSON endpoints: what the page loads at start and what scripts can poll.
//!
//! Each endpoint is a thin view over a command that already exists (`status`, the
//! variables command) or over the core's tables and views, so the HTTP API never disagrees with the
//! native protocol. Bodies are standard JSON for browsers: `JSON.parse` has no `NaN` or
//! `Infinity`, so non-finite floats are written as `null` here (the native protocol keeps
//! them, for Python clients).

use axum::extract::State;
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
        "no such page: the live view is at /, the API at /api/status, /api/points, /api/sockets, /api/variables, /api/live and /ws",
    );
    error(StatusCode::NOT_FOUND, &err)
}
