//! The workspace's side of federation (SPEC §9): other hosts' variables `<host>/<name>`.
//!
//! Why the mqtt plugin mirrors remote variables in (`workspace.mirror`) rather than the
//! workspace asking it on every read: `read_p` runs inline on the host's async workers,
//! where `Ctx::call` is refused, so a read has to be answered from this plugin's memory;
//! mirroring also keeps reads local and fast, and lets a host read the last known value
//! of a host that is offline. Values above `[mqtt] max_value_bytes` are not in the
//! retained `ws/` message: the mqtt plugin fetches them (`ws-get`) before mirroring them.
//! Writes go the other way: `workspace.set`/`write_p` of `<host>/<name>` call
//! `mqtt.ws_set`, which returns once the owner stored the value durably.
//!
//! Commands for the mqtt plugin: `workspace.mirror` (hold or forget a remote variable),
//! `workspace.export` (a local variable as its `ws/` payload) and `workspace.store` (a
//! write received from another host: `workspace.set` that also returns the rev).

use labsocket_plugin_api::codes::METHOD_NOT_FOUND;
use labsocket_plugin_api::{json, CommandError, Value};

use super::native::{self, not_found};
use super::{b64_decode, b64_encode, store_error};
use crate::events::Events;
use crate::meta::{self, Meta};
use crate::names;
use crate::params::Params;
use crate::remote;
use crate::workspace::{NewValue, Workspace};

/// The mqtt plugin's command that writes `<host>/<name>` on its host.
const WS_SET: &str = "mqtt.ws_set";

/// Sends `value` (named `<host>/<name>`) to its host and, once the host acknowledged it
/// as durable, holds it here too (so a read right after the write sees it) and publishes
/// `data_changed`. Returns the owner's metadata under the local name.
pub fn remote_write(
    ws: &Workspace,
    events: &dyn Events,
    value: NewValue,
    provider: &str,
) -> Result<Meta, CommandError> {
    let name = value.name.as_str();
    let (host, var) = remote::split(name).ok_or_else(|| {
        CommandError::invalid_params(format!(
            "variable name {name:?} is not <host>/<name> (another host's variable)"
        ))
    })?;
    names::check_name(var).map_err(CommandError::invalid_params)?;
    let mut params = json!({
        "name": name,
        "encoding": value.encoding,
        "type_hint": value.type_hint,
        "provider": provider,
    });
    if value.encoding == meta::JSON {
        params["value"] = serde_json::from_slice(&value.bytes)
            .map_err(|err| CommandError::invalid_params(format!("unreadable JSON: {err}")))?;
    } else {
        params["data"] = Value::from(b64_encode(&value.bytes));
    }
    let reply = events.call_command(WS_SET, &params).map_err(|err| {
        if err.code == METHOD_NOT_FOUND {
            CommandError::new(format!(
                "cannot write '{name}': it is a variable of host '{host}', and this server does not federate (no mqtt plugin)"
            ))
        } else {
            err
        }
    })?;
    let rev = reply.get("rev").and_then(Value::as_u64).unwrap_or(0);
    let meta = remote::meta_from_json(name, rev, reply.get("meta").unwrap_or(&Value::Null))
        .map_err(|err| {
            CommandError::new(format!(
                "host '{host}' stored '{var}' but answered with unreadable metadata: {}",
                err.message
            ))
        })?;
    if ws
        .remotes()
        .put(rev, meta.clone(), value.bytes.into_owned())
    {
        events.remote_changed(host, &meta);
    }
    Ok(meta)
}

/// Deletes are local: another host's variable is deleted on its host.
pub fn refuse_remote_delete(name: &str) -> Result<(), CommandError> {
    match remote::split(name) {
        Some((host, var)) => Err(CommandError::invalid_params(format!(
            "'{name}' is the variable '{var}' of host '{host}': delete it on that host"
        ))),
        None => Ok(()),
    }
}

/// `workspace.mirror {"name": "<host>/<name>", "rev", "encoding", "meta", "value"}` (the
/// `ws/` payload: `value` is JSON for encoding `json`, base64 otherwise) or `{"name",
/// "deleted": true}` → `{"name", "changed": bool}`; `changed` is false for a value older
/// than the one held (or a delete of nothing).
pub fn mirror(ws: &Workspace, events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(
        &params,
        "workspace.mirror {\"name\", \"rev\", \"encoding\", \"meta\", \"value\"} or {\"name\", \"deleted\": true}",
        0,
    )?;
    let name = params.str(0, "name")?;
    let (host, _) = remote::split(name)
        .ok_or_else(|| CommandError::invalid_params(format!("'{name}' is not <host>/<name>")))?;
    if params.field("deleted") == Some(&Value::Bool(true)) {
        let changed = ws.remotes().remove(name);
        if changed {
            events.remote_deleted(host, name);
        }
        return Ok(json!({"name": name, "changed": changed}));
    }
    let rev = params
        .field("rev")
        .and_then(Value::as_u64)
        .ok_or_else(|| params.wrong_type("rev", "a whole number"))?;
    let encoding = params.str(1, "encoding")?;
    let mut meta = remote::meta_from_json(name, rev, params.required(2, "meta")?)?;
    meta.encoding = encoding.to_owned();
    let value = params.required(3, "value")?;
    let bytes = if encoding == meta::JSON {
        serde_json::to_vec(value).expect("a JSON value serialises")
    } else {
        let data = value
            .as_str()
            .ok_or_else(|| params.wrong_type("value", "base64 for a binary encoding"))?;
        b64_decode(data, "\"value\"").map_err(CommandError::invalid_params)?
    };
    meta.size = bytes.len() as u64;
    let changed = ws.remotes().put(rev, meta.clone(), bytes);
    if changed {
        events.remote_changed(host, &meta);
    }
    Ok(json!({"name": name, "changed": changed}))
}

/// `workspace.export {"name", "max_value_bytes"?}` → `{"rev", "encoding", "meta",
/// "value"}`: a local variable as its `ws/<name>` payload (`value` JSON for encoding
/// `json`, base64 otherwise, left out above `max_value_bytes`).
pub fn export(ws: &Workspace, _events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(
        &params,
        "workspace.export {\"name\", \"max_value_bytes\"?}",
        0,
    )?;
    let name = params.str(0, "name")?;
    if remote::is_remote(name) {
        return Err(CommandError::invalid_params(format!(
            "'{name}' is another host's variable: only local ones are exported"
        )));
    }
    let limit = match params.field("max_value_bytes") {
        None | Some(Value::Null) => u64::MAX,
        Some(limit) => limit
            .as_u64()
            .ok_or_else(|| params.wrong_type("max_value_bytes", "a whole number"))?,
    };
    let found = ws
        .read(name, |meta, bytes| {
            let mut payload = json!({
                "rev": meta.rev,
                "encoding": meta.encoding,
                "meta": meta.to_json(),
            });
            if meta.size <= limit {
                payload["value"] = if meta.encoding == meta::JSON {
                    serde_json::from_slice(bytes).map_err(|err| {
                        CommandError::new(format!("variable '{name}' holds unreadable JSON: {err}"))
                    })?
                } else {
                    Value::from(b64_encode(bytes))
                };
            }
            Ok(payload)
        })
        .map_err(store_error)?;
    found.unwrap_or_else(|| Err(not_found(name)))
}

/// `workspace.store` (params of `workspace.set`, local names only) → `{"rev", "meta"}`
/// once durable: a write another host sent (`ws-set`), answered with the rev the writer
/// mirrors it under.
pub fn store(ws: &Workspace, events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(&params, "workspace.store {params of workspace.set}", 0)?;
    let (value, provider) = native::parse_set(&params, None)?;
    if remote::is_remote(&value.name) {
        return Err(CommandError::invalid_params(format!(
            "'{}' is another host's variable: a host stores only its own",
            value.name
        )));
    }
    let metas = ws.set_many(vec![value], provider)?;
    events.changed(&metas);
    Ok(json!({"rev": metas[0].rev, "meta": metas[0].to_json()}))
}
