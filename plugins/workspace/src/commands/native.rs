//! `workspace.*`: the JSON-first workspace API of the native protocol.
//!
//! A value is either JSON (`"value"`, stored with encoding `json`, readable by every
//! client, served to PyMiner clients as a pickle) or opaque bytes in base64 with an
//! encoding tag (`"encoding": "pickle"|"npy"|"arrow"|"parquet"|..., "data"`). Every reply
//! carries the variable's metadata.
//!
//! Large values skip base64: on a native binary frame `"data"` is `{"$binary": N}` and
//! the N raw bytes come beside the params (plugin ABI 1.2 `attachment`); `workspace.get`
//! with `"binary": true` answers `"data": {"$binary": N}` and attaches the bytes to its
//! reply when the caller can take them (base64 otherwise).

use std::borrow::Cow;

use labsocket_plugin_api::codes::NOT_FOUND;
use labsocket_plugin_api::{json, CommandError, Value};

use super::{b64_decode, b64_encode, check_pickled_value, federation, store_error};
use crate::events::Events;
use crate::meta::{self, Meta};
use crate::params::Params;
use crate::pickle;
use crate::remote;
use crate::workspace::{NewValue, Workspace};

/// The provider of native writes and deletes unless the client names one.
const DEFAULT_PROVIDER: &str = "native";

pub(super) fn not_found(name: &str) -> CommandError {
    CommandError::new(format!("no variable named '{name}'")).with_code(NOT_FOUND)
}

/// The N of a binary marker `{"$binary": N}`.
fn binary_marker(value: &Value) -> Option<u64> {
    let fields = value.as_object()?;
    (fields.len() == 1).then(|| fields.get("$binary")?.as_u64())?
}

/// `workspace.set {"name", "value"}` or `{"name", "encoding", "data"}`, optional
/// `"provider"` and `"type_hint"` (see [`meta::resolve_type_hint`]) → the variable's
/// metadata, once durable. `"data"` is base64, or `{"$binary": N}` when the request
/// came with N raw bytes (`attachment`). A `<host>/<name>` goes to its host, which stores
/// it durably before this returns (see [`federation::remote_write`]).
pub fn set(
    ws: &Workspace,
    events: &dyn Events,
    params: Value,
    attachment: Option<&[u8]>,
) -> Result<Value, CommandError> {
    let params = Params::new(&params, SET_USAGE, 1)?;
    let (value, provider) = parse_set(&params, attachment)?;
    if remote::is_remote(&value.name) {
        return federation::remote_write(ws, events, value, provider).map(|meta| meta.to_json());
    }
    let metas = ws.set_many(vec![value], provider)?;
    events.changed(&metas);
    Ok(metas[0].to_json())
}

const SET_USAGE: &str = "workspace.set {\"name\", \"value\"} or {\"name\", \"encoding\", \"data\"}, optional \"provider\", \"type_hint\"";

/// The value and provider of a `workspace.set` (also of `workspace.store`, which has no
/// `attachment`).
pub(super) fn parse_set<'p>(
    params: &Params<'p>,
    attachment: Option<&'p [u8]>,
) -> Result<(NewValue<'p>, &'p str), CommandError> {
    let name = params.str(0, "name")?;
    let provider = params.field_str_or("provider", DEFAULT_PROVIDER)?;
    meta::check_label("provider", provider).map_err(CommandError::invalid_params)?;
    let encoding = params.field_str_or("encoding", meta::JSON)?;
    meta::check_encoding(encoding).map_err(CommandError::invalid_params)?;
    let (bytes, derived_hint) = match (params.field("value"), params.field("data")) {
        (Some(_), Some(_)) => {
            return Err(CommandError::invalid_params(
                "give either \"value\" (JSON) or \"data\" (base64), not both",
            ))
        }
        (Some(value), None) if encoding == meta::JSON => {
            let bytes = serde_json::to_vec(value).expect("a JSON value serialises");
            (Cow::Owned(bytes), meta::json_type_hint(value))
        }
        (Some(_), None) => {
            return Err(CommandError::invalid_params(format!(
                "\"value\" is stored as JSON; for encoding '{encoding}' send \"data\" in base64"
            )))
        }
        (None, Some(Value::String(data))) if encoding != meta::JSON => {
            let bytes = b64_decode(data, "\"data\"").map_err(CommandError::invalid_params)?;
            let hint = if encoding == meta::PICKLE {
                check_pickled_value(&bytes).map_err(CommandError::invalid_params)?;
                pickle::type_hint(&bytes)
            } else {
                meta::opaque_type_hint(encoding)
            };
            (Cow::Owned(bytes), hint)
        }
        (None, Some(Value::String(_))) => {
            return Err(CommandError::invalid_params(
                "a JSON value goes in \"value\", not in \"data\"",
            ))
        }
        (None, Some(marker)) if binary_marker(marker).is_some() => {
            let announced = binary_marker(marker).unwrap_or_default();
            let bytes = match attachment {
                Some(bytes) if bytes.len() as u64 == announced => bytes,
                Some(bytes) => {
                    return Err(CommandError::invalid_params(format!(
                        "\"data\" announces {announced} raw bytes but {} came",
                        bytes.len()
                    )))
                }
                None => {
                    return Err(CommandError::invalid_params(
                        "\"data\" is {\"$binary\": N} but no raw bytes came with the request (send it as a native binary frame)",
                    ))
                }
            };
            if encoding == meta::JSON {
                return Err(CommandError::invalid_params(
                    "raw bytes need an \"encoding\" other than json (npy, pickle, ...); a JSON value goes in \"value\"",
                ));
            }
            let hint = if encoding == meta::PICKLE {
                check_pickled_value(bytes).map_err(CommandError::invalid_params)?;
                pickle::type_hint(bytes)
            } else {
                meta::opaque_type_hint(encoding)
            };
            (Cow::Borrowed(bytes), hint)
        }
        (None, Some(_)) => {
            return Err(params.wrong_type("data", "a base64 string or {\"$binary\": N}"))
        }
        (None, None) => {
            return Err(CommandError::invalid_params(
                "\"value\" (JSON) or \"encoding\" and \"data\" (base64) is required",
            ))
        }
    };
    let given_hint = match params.field("type_hint") {
        None | Some(Value::Null) => None,
        Some(Value::String(hint)) => Some(hint.as_str()),
        Some(_) => return Err(params.wrong_type("type_hint", "a string")),
    };
    let type_hint =
        meta::resolve_type_hint(derived_hint, given_hint).map_err(CommandError::invalid_params)?;
    let value = NewValue {
        name: name.to_owned(),
        encoding: encoding.to_owned(),
        type_hint,
        bytes,
    };
    Ok((value, provider))
}

/// The reply of `workspace.get` for a stored value (local or another host's): raw bytes go
/// to `attach` when the caller asked for `binary` and can take them.
fn get_reply(
    meta: &Meta,
    bytes: &[u8],
    binary: bool,
    attach: &dyn Fn(Vec<u8>) -> bool,
) -> Result<Value, CommandError> {
    let mut reply = json!({"name": meta.name, "encoding": meta.encoding});
    if meta.encoding == meta::JSON {
        let value = serde_json::from_slice::<Value>(bytes).map_err(|err| {
            CommandError::new(format!(
                "variable '{}' holds unreadable JSON: {err}",
                meta.name
            ))
        })?;
        reply["value"] = value;
    } else if binary && attach(bytes.to_vec()) {
        reply["data"] = json!({"$binary": bytes.len()});
    } else {
        reply["data"] = Value::from(b64_encode(bytes));
    }
    reply["meta"] = meta.to_json();
    Ok(reply)
}

/// `workspace.get {"name", "binary"?}` → `{"name", "encoding", "value" | "data", "meta"}`.
/// With `"binary": true`, the bytes of a non-JSON value are handed to `attach` (the reply's
/// raw bytes) and `"data"` is `{"$binary": N}`; when `attach` refuses them (the caller
/// cannot take raw bytes) `"data"` is base64 as usual.
pub fn get(
    ws: &Workspace,
    _events: &dyn Events,
    params: Value,
    attach: &dyn Fn(Vec<u8>) -> bool,
) -> Result<Value, CommandError> {
    let params = Params::new(&params, "workspace.get {\"name\", \"binary\"?}", 1)?;
    let name = params.str(0, "name")?;
    let binary = match params.field("binary") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(binary)) => *binary,
        Some(_) => return Err(params.wrong_type("binary", "true or false")),
    };
    let reply = |meta: &Meta, bytes: &[u8]| get_reply(meta, bytes, binary, attach);
    let found = if remote::is_remote(name) {
        ws.remotes().read(name, reply)
    } else {
        ws.read(name, reply).map_err(store_error)?
    };
    found.unwrap_or_else(|| Err(not_found(name)))
}

/// `workspace.delete {"name", "provider"?}` → `{"name", "deleted": bool}`.
pub fn delete(ws: &Workspace, events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(&params, "workspace.delete {\"name\", \"provider\"?}", 2)?;
    let name = params.str(0, "name")?;
    let provider = params.str_or(1, "provider", DEFAULT_PROVIDER)?;
    federation::refuse_remote_delete(name)?;
    let deleted = ws.delete(&[name])?[0];
    if deleted {
        events.deleted(name, provider);
    }
    Ok(json!({"name": name, "deleted": deleted}))
}

/// `workspace.list {}` → every variable's metadata in insertion order, then other hosts'
/// variables (`<host>/<name>`) in the order they were first seen.
pub fn list(ws: &Workspace, _events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    Params::new(&params, "workspace.list {}", 0)?;
    let remote = ws.remotes().metas();
    Ok(Value::Array(
        ws.metas()
            .iter()
            .chain(&remote)
            .map(Meta::to_json)
            .collect(),
    ))
}

/// `workspace.meta {"name"}` → the variable's metadata.
pub fn meta(ws: &Workspace, _events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(&params, "workspace.meta {\"name\"}", 1)?;
    let name = params.str(0, "name")?;
    let meta = if remote::is_remote(name) {
        ws.remotes().meta(name)
    } else {
        ws.meta(name)
    };
    meta.map(|meta| meta.to_json())
        .ok_or_else(|| not_found(name))
}
