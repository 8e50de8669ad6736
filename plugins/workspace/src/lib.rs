//! `workspace`: the shared data workspace, compiled into the host.
//!
//! Variables are named values stored durably with their metadata. PyMiner clients reach
//! them through the PyMiner front end with PyMiner's own command names (`read_p`,
//! `write_p`, ...); native clients through `workspace.*`. Every write publishes
//! `data_changed`, every delete `data_deleted`, whichever front end it came from.
//!
//! - [`workspace`]: [`Workspace`](workspace::Workspace), the variables in order, over
//! - [`store`]: the durable redb store (why redb: see there).
//! - [`meta`]: per-variable metadata and encodings; [`names`]: which names are allowed.
//! - [`commands`]: the PyMiner and native commands; [`params`]: reading their params.
//! - [`remote`]: other hosts' variables (`<host>/<name>`), mirrored in by the mqtt
//!   plugin (federation, SPEC §9).
//! - [`events`]: the topics published.
//! - [`pickle`]: reading and writing pickles without ever executing one.

pub mod commands;
pub mod events;
pub mod meta;
pub mod names;
pub mod params;
pub mod pickle;
pub mod remote;
pub mod store;
pub mod workspace;

#[cfg(test)]
mod test_support;

use labsocket_plugin_api::{plugin, CommandError, Ctx, Level, Value};

use crate::commands::{federation, native, pyminer};
use crate::workspace::Workspace;

/// Opens the store in `<data_dir>/workspace/` and returns it as the plugin's state (the
/// plugin is not loaded if that fails). `[plugins.workspace] max_variable_bytes` limits
/// the size of one stored value (default
/// [`DEFAULT_MAX_VARIABLE_BYTES`](workspace::DEFAULT_MAX_VARIABLE_BYTES)).
fn init(ctx: &Ctx, config: Value) -> Result<Workspace, String> {
    let max_variable_bytes = match config.get("max_variable_bytes") {
        None => workspace::DEFAULT_MAX_VARIABLE_BYTES,
        Some(limit) => limit.as_u64().filter(|limit| *limit > 0).ok_or_else(|| {
            format!(
                "[plugins.workspace] max_variable_bytes: must be a positive integer, not {limit}"
            )
        })?,
    };
    if let Some(key) = config
        .as_object()
        .and_then(|table| table.keys().find(|key| *key != "max_variable_bytes"))
    {
        return Err(format!(
            "[plugins.workspace] {key}: unknown key (the only one is max_variable_bytes)"
        ));
    }
    let folder = ctx.data_dir().join("workspace");
    let workspace = Workspace::open(&folder)
        .map_err(|err| err.to_string())?
        .limit_variable_bytes(max_variable_bytes);
    ctx.log(
        Level::Info,
        &format!(
            "workspace opened in {} with {} variables",
            folder.display(),
            workspace.names().len()
        ),
    );
    Ok(workspace)
}

/// Defines each plugin-facing handler as a call of its implementation with the
/// workspace (the plugin's state) and the host context as the event sink. The params stay
/// `Value`: the PyMiner commands take positional lists and answer bad ones in their own
/// words, which a serde type would change.
macro_rules! handlers {
    ($($handler:ident => $implementation:path),* $(,)?) => {
        $(
            fn $handler(ws: &Workspace, ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
                $implementation(ws, ctx, params)
            }
        )*
    };
}

handlers! {
    read_p => pyminer::read_p,
    write_p => pyminer::write_p,
    write_var_dic => pyminer::write_var_dic,
    get_var_dic => pyminer::get_var_dic,
    get_vars => pyminer::get_vars,
    get_all_variable_names => pyminer::get_all_variable_names,
    get_all_public_variable_names => pyminer::get_all_public_variable_names,
    get_all_var_names_of_type => pyminer::get_all_var_names_of_type,
    delete_variable => pyminer::delete_variable,
    delete => native::delete,
    list => native::list,
    meta_of => native::meta,
    mirror => federation::mirror,
    export => federation::export,
    store => federation::store,
}

/// `workspace.set`, with the raw bytes of a native binary frame when the call has them.
fn set(ws: &Workspace, ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let mut params = Some(params);
    let mut take = || params.take().unwrap_or(Value::Null);
    match ctx.with_attachment(|bytes| native::set(ws, ctx, take(), Some(bytes))) {
        Some(outcome) => outcome,
        None => native::set(ws, ctx, take(), None),
    }
}

/// `workspace.get`, attaching the value's raw bytes to the reply when asked and possible.
fn get(ws: &Workspace, ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    native::get(ws, ctx, params, &|bytes| ctx.attach_reply(bytes).is_ok())
}

// Annotations (a JSON object keyed by front end, read by the host's `annotations` module):
//
// - `{"pyminer": {"g1_failure": REPLY}}` on `write_p` and `write_var_dic`: a failed call
//   answers a G1 PyMiner client with exactly `REPLY` (PyMiner G1 wrote
//   `{"message":"failed"}` for a refused write, no reason); the reason goes to the host's
//   log instead.
// - `{"http": {"variables": true}}` on `workspace.list`: the command that lists the
//   workspace variables for the live view's `/api/variables`.
// - `{"http": {"variable": true}}` on `workspace.get`: the command that reads one variable
//   (`{"name"}` -> `{"value"}` for JSON ones), for the small values `/api/variables` shows.
//
// `read_p` is `inline`: it reads one value from the store (memory-mapped, no lock shared
// with writers) and encodes it, which is quick; the hop to the blocking pool cost about
// 60 µs of CPU per call on the 2-core benchmark machine, three times the command itself
// (`bench-pyminer`, docs/performance.md). The other commands can touch every variable
// or write durably, so they keep running on the blocking pool.
plugin! {
    name: "workspace",
    description: "The shared data workspace: variables stored durably, for PyMiner and native clients",
    state: Workspace,
    init: init,
    commands: {
        "read_p" => read_p [inline, read_only]
            (params: "[name]", result: "{name: base64 pickle, \"message\": \"success\"} | {\"message\": \"variable <name> not found!\"}")
            : "PyMiner: reads a variable as a base64 pickle",
        "write_p" => write_p
            (params: "[name, base64 pickle, provider?]", result: "{\"message\": \"success\"}",
             annotations: "{\"pyminer\": {\"g1_failure\": \"{\\\"message\\\":\\\"failed\\\"}\"}}")
            : "PyMiner: stores a variable",
        "write_var_dic" => write_var_dic
            (params: "[base64 pickled {name: base64 pickle}, provider?]", result: "{\"message\": \"success\", \"skipped\"?: {name: reason}}",
             annotations: "{\"pyminer\": {\"g1_failure\": \"{\\\"message\\\":\\\"failed\\\"}\"}}")
            : "PyMiner: stores several variables",
        "get_var_dic" => get_var_dic [read_only]
            (params: "[]", result: "{\"message\": \"succeeded\", \"var_dic\": base64 pickled {name: value}}")
            : "PyMiner: every variable as a base64 pickled dict",
        "get_vars" => get_vars [read_only]
            (params: "[[name, ...]]", result: "{\"message\": \"succeeded\", \"var_dic\": base64 pickled {name: value}}")
            : "PyMiner: those variables as a base64 pickled dict",
        "get_all_variable_names" => get_all_variable_names [read_only]
            (params: "[]", result: "{\"var_names\": [name, ...], \"message\": \"succeed\"}")
            : "PyMiner: builtin type names and every variable name",
        "get_all_public_variable_names" => get_all_public_variable_names [read_only]
            (params: "[]", result: "{\"var_names\": [name, ...], \"message\": \"succeed\"}")
            : "PyMiner: every variable name",
        "get_all_var_names_of_type" => get_all_var_names_of_type [read_only]
            (params: "[string|array|table|numeric]", result: "{\"message\": \"succeeded\", \"var_names\": base64 pickled [name, ...]}")
            : "PyMiner: the names of the variables of that type",
        "delete_variable" => delete_variable
            (params: "[name | [name, ...], provider?]", result: "{\"message\": \"succeeded\", \"var_name\", \"data_source\"}")
            : "PyMiner: deletes variables",
        "workspace.set" => set
            (params: "{name, value} | {name, encoding, data (base64 | {\"$binary\": N} + N raw bytes)}, provider?", result: "meta")
            : "Stores a variable (JSON value or encoded bytes); returns its metadata",
        "workspace.get" => get [read_only]
            (params: "{name, binary?}", result: "{name, encoding, value | data (base64 | {\"$binary\": N} + N raw bytes), meta}",
             annotations: "{\"http\": {\"variable\": true}}")
            : "Reads a variable with its metadata",
        "workspace.delete" => delete
            (params: "{name, provider?}", result: "{name, deleted}")
            : "Deletes a variable",
        "workspace.list" => list [read_only]
            (params: "{}", result: "[meta, ...]", annotations: "{\"http\": {\"variables\": true}}")
            : "Every variable's metadata, in insertion order",
        "workspace.meta" => meta_of [read_only]
            (params: "{name}", result: "meta")
            : "A variable's metadata",
        "workspace.mirror" => mirror
            (params: "{name: \"<host>/<name>\", rev, encoding, meta, value} | {name, deleted: true}", result: "{name, changed}")
            : "Federation (used by the mqtt plugin): holds or forgets another host's variable",
        "workspace.export" => export [read_only]
            (params: "{name, max_value_bytes?}", result: "{rev, encoding, meta, value?}")
            : "Federation (used by the mqtt plugin): a variable as its ws/<name> payload",
        "workspace.store" => store
            (params: "{name, value} | {name, encoding, data (base64)}, provider?", result: "{rev, meta}")
            : "Federation (used by the mqtt plugin): stores a write another host sent; returns its rev",
    }
}
