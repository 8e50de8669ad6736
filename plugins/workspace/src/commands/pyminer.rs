//! PyMiner's socket-server commands, with the exact G1 reply shapes (key order included).
//!
//! The plugin is generation-agnostic: it answers in G1's words (`success`, `succeed`,
//! `succeeded`) and the PyMiner front end rewrites the status word for G2 connections.
//! Where G1 acknowledged a write it then dropped (invalid name, builtin type name) or
//! closed the socket silently, these commands return an error with the reason instead;
//! the front end turns it into a `{"message": "failed", ...}` reply.
//!
//! Values are pickles the server never loads. Variables that native clients wrote as JSON
//! are served to PyMiner clients as a pickle of the JSON value; variables in encodings a
//! Python client cannot unpickle (`npy`, `arrow`, ...) are refused by `read_p` and left
//! out of `get_var_dic` / `get_vars`.

use std::borrow::Cow;

use labsocket_plugin_api::{CommandError, Value};
use serde_json::Map;

use super::{b64_decode, b64_encode, check_pickled_value, federation, store_error};
use crate::events::Events;
use crate::meta::{self, Meta};
use crate::names::{self, BUILTIN_TYPES};
use crate::params::Params;
use crate::pickle;
use crate::remote;
use crate::workspace::{NewValue, Workspace};

/// The provider PyMiner's socket writes default to.
const DEFAULT_WRITE_PROVIDER: &str = "server";
/// The provider PyMiner's deletes default to.
const DEFAULT_DELETE_PROVIDER: &str = "unknown";
/// The types `get_all_var_names_of_type` accepts.
const TYPES: [&str; 4] = ["string", "array", "table", "numeric"];

/// A JSON object with keys in the given order.
fn reply<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// The pickle a Python client loads for a stored variable.
fn pickle_of<'b>(meta: &Meta, bytes: &'b [u8]) -> Result<Cow<'b, [u8]>, String> {
    match meta.encoding.as_str() {
        meta::PICKLE => Ok(Cow::Borrowed(bytes)),
        meta::JSON => serde_json::from_slice::<Value>(bytes)
            .map(|value| Cow::Owned(pickle::write_json_value(&value)))
            .map_err(|err| format!("variable '{}' holds unreadable JSON: {err}", meta.name)),
        other => Err(format!(
            "variable '{}' is stored as '{other}', which PyMiner clients cannot load; read it with workspace.get",
            meta.name
        )),
    }
}

/// `{"message": "succeeded", key: base64(bytes)}`.
fn succeeded_with(key: &str, bytes: &[u8]) -> Value {
    reply([
        ("message", Value::from("succeeded")),
        (key, Value::from(b64_encode(bytes))),
    ])
}

/// `{"var_names": names, "message": "succeed"}`.
fn var_names(names: Vec<Value>) -> Value {
    reply([
        ("var_names", Value::Array(names)),
        ("message", Value::from("succeed")),
    ])
}

/// Parameter `key` at `index`: one name or a list of names.
fn one_or_more_names<'p>(
    params: &Params<'p>,
    index: usize,
    key: &str,
) -> Result<Vec<&'p str>, CommandError> {
    let wrong = || params.wrong_type(key, "a string or a list of strings");
    match params.required(index, key)? {
        Value::String(name) => Ok(vec![name.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(wrong))
            .collect(),
        _ => Err(wrong()),
    }
}

/// Parameter `provider` at `index` of a write: a label, "server" if left out.
fn write_provider<'p>(params: &Params<'p>, index: usize) -> Result<&'p str, CommandError> {
    let provider = params.str_or(index, "provider", DEFAULT_WRITE_PROVIDER)?;
    meta::check_label("provider", provider).map_err(CommandError::invalid_params)?;
    Ok(provider)
}

/// A pickle to store under `name`, typed from its contents.
fn pickled(name: String, bytes: Vec<u8>) -> NewValue<'static> {
    NewValue {
        name,
        encoding: meta::PICKLE.to_owned(),
        type_hint: pickle::type_hint(&bytes).to_owned(),
        bytes: bytes.into(),
    }
}

/// `read_p [name]` → `{"<name>": "<b64 pickle>", "message": "success"}`, or
/// `{"message": "variable <name> not found!"}`.
pub fn read_p(ws: &Workspace, _events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(&params, "read_p [name]", 1)?;
    let name = params.str(0, "name")?;
    if name == "message" {
        // G1 answered {"message": "success"} without the value: the name is the key.
        return Err(CommandError::new(
            "a variable named 'message' cannot be read with read_p (its name is the reply's status key); use get_vars or workspace.get",
        ));
    }
    let encode = |meta: &Meta, bytes: &[u8]| pickle_of(meta, bytes).map(|p| b64_encode(&p));
    let found = if remote::is_remote(name) {
        ws.remotes().read(name, encode)
    } else {
        ws.read(name, encode).map_err(store_error)?
    };
    match found {
        None => Ok(reply([(
            "message",
            Value::from(format!("variable {name} not found!")),
        )])),
        Some(Err(reason)) => Err(CommandError::new(reason)),
        Some(Ok(data)) => Ok(reply([
            (name, Value::from(data)),
            ("message", Value::from("success")),
        ])),
    }
}

/// `write_p [name, b64 pickle, provider="server"]` → `{"message": "success"}` once stored.
pub fn write_p(ws: &Workspace, events: &dyn Events, params: Value) -> Result<Value, CommandError> {
    let params = Params::new(
        &params,
        "write_p [name, base64_pickle, provider=\"server\"]",
        3,
    )?;
    let name = params.str(0, "name")?;
    let data = match params.required(1, "data")? {
        Value::String(data) => data,
        Value::Null => {
            return Err(CommandError::invalid_params(
                "the value is null (it failed to pickle on the client)",
            ))
        }
        _ => return Err(params.wrong_type("data", "a base64 string")),
    };
    let provider = write_provider(&params, 2)?;
    let bytes = b64_decode(data, "the value").map_err(CommandError::invalid_params)?;
    check_pickled_value(&bytes).map_err(CommandError::invalid_params)?;
    let value = pickled(name.to_owned(), bytes);
    if remote::is_remote(name) {
        federation::remote_write(ws, events, value, provider)?;
        return Ok(reply([("message", Value::from("success"))]));
    }
    let metas = ws.set_many(vec![value], provider)?;
    events.changed(&metas);
    Ok(reply([("message", Value::from("success"))]))
}

/// `write_var_dic [b64(pickle({name: b64 pickle})), provider="server"]` →
/// `{"message": "success"}`. Entries that cannot be stored (a value that failed to pickle
/// on the client, an invalid name, bytes that are not a pickle) are skipped and listed in
/// `"skipped": {name: reason}`; the others are stored together, atomically.
pub fn write_var_dic(
    ws: &Workspace,
    events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    let params = Params::new(
        &params,
        "write_var_dic [base64_pickled_dict, provider=\"server\"]",
        2,
    )?;
    let data = match params.required(0, "data")? {
        Value::String(data) if !data.is_empty() => data,
        Value::String(_) | Value::Null => {
            return Err(CommandError::invalid_params(
                "the dict is empty (it failed to pickle on the client)",
            ))
        }
        _ => return Err(params.wrong_type("data", "a base64 string")),
    };
    let provider = write_provider(&params, 1)?;
    let outer = b64_decode(data, "the dict").map_err(CommandError::invalid_params)?;
    if pickle::is_pickled_none(&outer) {
        return Err(CommandError::invalid_params(
            "the dict is None, which the workspace does not store",
        ));
    }
    let entries = pickle::read_str_dict(&outer)
        .map_err(|err| CommandError::invalid_params(format!("the dict is not readable: {err}")))?;
    let mut values = Vec::with_capacity(entries.len());
    let mut skipped = Map::new();
    for (name, inner) in entries {
        let checked = names::check_name(&name).and_then(|()| match inner.as_deref() {
            None | Some("") => Err("the value failed to pickle on the client".to_owned()),
            Some(inner) => {
                let bytes = b64_decode(inner, "the value")?;
                check_pickled_value(&bytes).map(|()| bytes)
            }
        });
        match checked {
            Ok(bytes) => values.push(pickled(name, bytes)),
            Err(reason) => {
                skipped.insert(name, Value::from(reason));
            }
        }
    }
    if !values.is_empty() {
        let metas = ws.set_many(values, provider)?;
        events.changed(&metas);
    }
    if skipped.is_empty() {
        Ok(reply([("message", Value::from("success"))]))
    } else {
        Ok(reply([
            ("message", Value::from("success")),
            ("skipped", Value::Object(skipped)),
        ]))
    }
}

/// `{"message": "succeeded", "var_dic": b64(pickle({name: value}))}` for `names`; other
/// hosts' variables (`<host>/<name>`) among them come after the local ones.
fn var_dic<'n>(
    ws: &Workspace,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<Value, CommandError> {
    let mut pickles: Vec<(String, Vec<u8>)> = Vec::new();
    // Variables no Python client can unpickle are left out (see the module doc).
    let mut keep = |meta: &Meta, bytes: &[u8]| {
        if let Ok(pickle) = pickle_of(meta, bytes) {
            pickles.push((meta.name.clone(), pickle.into_owned()));
        }
    };
    let (remote_names, local_names): (Vec<&str>, Vec<&str>) =
        names.into_iter().partition(|name| remote::is_remote(name));
    ws.read_each(local_names, &mut keep).map_err(store_error)?;
    for name in remote_names {
        ws.remotes().read(name, &mut keep);
    }
    let entries: Vec<(&str, &[u8])> = pickles
        .iter()
        .map(|(name, pickle)| (name.as_str(), pickle.as_slice()))
        .collect();
    Ok(succeeded_with(
        "var_dic",
        &pickle::write_dict_of_pickles(&entries),
    ))
}

/// `get_var_dic []` → every public variable as `b64(pickle({name: value}))`.
pub fn get_var_dic(
    ws: &Workspace,
    _events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    Params::new(&params, "get_var_dic []", 0)?;
    let names = ws.names();
    var_dic(ws, names.iter().map(String::as_str))
}

/// `get_vars [[name, ...]]` (G2) → the named variables, as `get_var_dic`; unknown names
/// are left out.
pub fn get_vars(
    ws: &Workspace,
    _events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    let params = Params::new(&params, "get_vars [[name, ...]]", 1)?;
    var_dic(ws, one_or_more_names(&params, 0, "names")?)
}

/// `get_all_variable_names []` → PyMiner's builtin type names, then every variable.
pub fn get_all_variable_names(
    ws: &Workspace,
    _events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    Params::new(&params, "get_all_variable_names []", 0)?;
    let names = BUILTIN_TYPES
        .iter()
        .map(|name| Value::from(*name))
        .chain(ws.names().into_iter().map(Value::from))
        .collect();
    Ok(var_names(names))
}

/// `get_all_public_variable_names []` → every variable (the builtins are not public).
pub fn get_all_public_variable_names(
    ws: &Workspace,
    _events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    Params::new(&params, "get_all_public_variable_names []", 0)?;
    Ok(var_names(ws.names().into_iter().map(Value::from).collect()))
}

/// `get_all_var_names_of_type [type]` (G2) → `{"message": "succeeded", "var_names":
/// b64(pickle([name, ...]))}` for variables whose type hint is `type`.
pub fn get_all_var_names_of_type(
    ws: &Workspace,
    _events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    let params = Params::new(
        &params,
        "get_all_var_names_of_type [\"string\"|\"array\"|\"table\"|\"numeric\"]",
        1,
    )?;
    let wanted = params.str(0, "type")?;
    if !TYPES.contains(&wanted) {
        return Err(params.wrong_type(
            "type",
            "one of \"string\", \"array\", \"table\", \"numeric\"",
        ));
    }
    let metas = ws.metas();
    let names: Vec<&str> = metas
        .iter()
        .filter(|meta| meta.type_hint == wanted)
        .map(|meta| meta.name.as_str())
        .collect();
    Ok(succeeded_with("var_names", &pickle::write_str_list(&names)))
}

/// `delete_variable [name or [names], provider="unknown"]` →
/// `{"message": "succeeded", "var_name": <as sent>, "data_source": provider}`, also for a
/// name that did not exist (as in PyMiner), once the delete is durable.
pub fn delete_variable(
    ws: &Workspace,
    events: &dyn Events,
    params: Value,
) -> Result<Value, CommandError> {
    let params = Params::new(
        &params,
        "delete_variable [name or [names], provider=\"unknown\"]",
        2,
    )?;
    let names = one_or_more_names(&params, 0, "name")?;
    let sent = params.required(0, "name")?;
    let provider = params.str_or(1, "provider", DEFAULT_DELETE_PROVIDER)?;
    for name in &names {
        federation::refuse_remote_delete(name)?;
    }
    let existed = ws.delete(&names)?;
    for (name, existed) in names.iter().zip(existed) {
        if existed {
            events.deleted(name, provider);
        }
    }
    Ok(reply([
        ("message", Value::from("succeeded")),
        ("var_name", sent.clone()),
        ("data_source", Value::from(provider)),
    ]))
}
