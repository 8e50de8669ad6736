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
//! - [`events`]: the topics published.
//! - [`pickle`]: reading and writing pickles without ever executing one.

pub mod commands;
pub mod events;
pub mod meta;
pub mod names;
pub mod params;
pub mod pickle;
pub mod store;
pub mod workspace;

#[cfg(test)]
mod test_support;

use std::sync::OnceLock;

use labsocket_plugin_api::{plugin, CommandError, Ctx, Level, Value};

use crate::commands::{native, pyminer};
use crate::workspace::Workspace;

/// The workspace, opened by [`init`] (the plugin is not loaded if that fails).
static WORKSPACE: OnceLock<Workspace> = OnceLock::new();

/// Opens the store in `<data_dir>/workspace/`. `[plugins.workspace] max_variable_bytes`
/// limits the size of one stored value (default
/// [`DEFAULT_MAX_VARIABLE_BYTES`](workspace::DEFAULT_MAX_VARIABLE_BYTES)).
fn init(ctx: &Ctx, config: Value) -> Result<(), String> {
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
    WORKSPACE
        .set(workspace)
        .map_err(|_| "the workspace was initialised twice".to_owned())
}

fn opened() -> Result<&'static Workspace, CommandError> {
    WORKSPACE
        .get()
        .ok_or_else(|| CommandError::new("the workspace is not open"))
}

/// Defines each plugin-facing handler as a call of its implementation with the workspace
/// and the host context as the event sink.
macro_rules! handlers {
    ($($handler:ident => $implementation:path),* $(,)?) => {
        $(
            fn $handler(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
                $implementation(opened()?, ctx, params)
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
    set => native::set,
    get => native::get,
    delete => native::delete,
    list => native::list,
    meta_of => native::meta,
}

/// What front ends need to know about some of these commands, as `(command, annotations)`
/// where annotations is a JSON object keyed by front end (the 1.1 ABI's
/// `CommandMeta.annotations`; the host reads them through `labsocket::annotations` until
/// the `plugin!` entries below carry them):
///
/// - `{"pyminer": {"g1_failure": REPLY}}`: a failed call answers a G1 PyMiner client with
///   exactly `REPLY` (PyMiner G1 wrote `{"message":"failed"}` for a refused write, no
///   reason); the reason goes to the host's log instead.
/// - `{"http": {"variables": true}}`: the command that lists the workspace variables for
///   the live view's `/api/variables`.
/// - `{"http": {"variable": true}}`: the command that reads one variable (`{"name"}` →
///   `{"value"}` for JSON ones), for the small values `/api/variables` shows.
pub const ANNOTATIONS: &[(&str, &str)] = &[
    ("write_p", G1_WRITE_FAILED),
    ("write_var_dic", G1_WRITE_FAILED),
    ("workspace.list", r#"{"http": {"variables": true}}"#),
    ("workspace.get", r#"{"http": {"variable": true}}"#),
];

const G1_WRITE_FAILED: &str = r#"{"pyminer": {"g1_failure": "{\"message\":\"failed\"}"}}"#;

// `read_p` is `inline`: it reads one value from the store (memory-mapped, no lock shared
// with writers) and encodes it, which is quick; the hop to the blocking pool cost about
// 60 µs of CPU per call on the 2-core benchmark machine, three times the command itself
// (`bench-pyminer`, docs/performance.md). The other commands can touch every variable
// or write durably, so they keep running on the blocking pool.
plugin! {
    name: "workspace",
    init: init,
    commands: {
        "read_p" => read_p [inline]: "PyMiner: [name] -> {name: base64 pickle, \"message\": \"success\"}",
        "write_p" => write_p: "PyMiner: [name, base64 pickle, provider] stores a variable",
        "write_var_dic" => write_var_dic: "PyMiner: [base64 pickled {name: base64 pickle}, provider] stores several variables",
        "get_var_dic" => get_var_dic: "PyMiner: every variable as a base64 pickled dict",
        "get_vars" => get_vars: "PyMiner: [[name, ...]] those variables as a base64 pickled dict",
        "get_all_variable_names" => get_all_variable_names: "PyMiner: builtin type names and every variable name",
        "get_all_public_variable_names" => get_all_public_variable_names: "PyMiner: every variable name",
        "get_all_var_names_of_type" => get_all_var_names_of_type: "PyMiner: [string|array|table|numeric] names of that type (base64 pickled list)",
        "delete_variable" => delete_variable: "PyMiner: [name or [names], provider] deletes variables",
        "workspace.set" => set: "Stores {\"name\", \"value\"} (JSON) or {\"name\", \"encoding\", \"data\"} (base64); returns its metadata",
        "workspace.get" => get: "{\"name\"} -> {\"name\", \"encoding\", \"value\" or \"data\", \"meta\"}",
        "workspace.delete" => delete: "{\"name\", \"provider\"?} -> {\"name\", \"deleted\"}",
        "workspace.list" => list: "Every variable's metadata, in insertion order",
        "workspace.meta" => meta_of: "{\"name\"} -> the variable's metadata",
    }
}
