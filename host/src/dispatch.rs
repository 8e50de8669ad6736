//! Command dispatch shared by every front end: the core commands, then plugin commands.
//!
//! A front end turns its wire request into `(method, params)` and calls [`call`]; it turns
//! the result or [`CallError`] back into its own wire form. Commands that need per-connection
//! state (`subscribe`, `unsubscribe`) are answered by the native front end itself and are
//! listed here only so that `commands` shows them.

use indexmap::IndexMap;

use crate::host_core::Core;
use crate::pyjson::Value;

/// Error codes: JSON-RPC's standard ones and labsocket's application codes.
pub mod codes {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// A plugin command panicked (the host caught it and kept serving).
    pub const PLUGIN_PANICKED: i64 = -32001;
    /// A plugin command did not answer within the command timeout.
    pub const COMMAND_TIMED_OUT: i64 = -32002;
    /// The connection must authenticate first, or sent a wrong token (`native::auth`).
    pub const AUTH_REQUIRED: i64 = -32003;
    /// The named thing (point, push socket, variable) does not exist.
    pub const NOT_FOUND: i64 = -32004;
    /// The server refused the connection or request for lack of capacity.
    pub const BUSY: i64 = -32005;
}

/// A failed call, in JSON-RPC terms.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl CallError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_PARAMS, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(codes::NOT_FOUND, message)
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for CallError {}

/// The core commands: always present, owned by the host (no plugin may claim them).
pub const CORE_COMMANDS: &[(&str, &str)] = &[
    ("ping", "Answers \"pong\""),
    ("echo", "Returns its params unchanged"),
    (
        "commands",
        "Lists every command with its plugin and description",
    ),
    ("plugins", "Lists the loaded plugins"),
    (
        "status",
        "Server version, uptime, front ends, connections, plugins",
    ),
    (
        "subscribe",
        "Subscribes this connection to {\"topics\": [...]} (\"*\" for all)",
    ),
    (
        "unsubscribe",
        "Unsubscribes this connection from {\"topics\": [...]}",
    ),
    (
        "set_point",
        "Sets a point: [codename, x, y] or {\"codename\",\"x\",\"y\",\"timestamp\"?}",
    ),
    ("set_point_now", "Sets a point to (now, y): [codename, y]"),
    (
        "get_point",
        "The latest point of [codename]: {\"x\",\"y\",\"set_at\"}",
    ),
    (
        "push_state",
        "A UDP push socket's received data: [port] -> {\"last\",\"last_time\",\"updated\",\"updated_time\"}",
    ),
    (
        "push_take",
        "Removes and returns the oldest queued dicts of an 'enqueue' push socket: [port, max]",
    ),
    (
        "live_reset",
        "Sends \"RESET\" for [codenames] from the live sockets that list them",
    ),
];

/// The core commands that change nothing (`commands` lists them as `read_only`).
const CORE_READ_ONLY: &[&str] = &[
    "ping",
    "echo",
    "commands",
    "plugins",
    "status",
    "subscribe",
    "unsubscribe",
    "get_point",
    "push_state",
];

/// The names of [`CORE_COMMANDS`], for the loader's clash check.
pub fn core_command_names() -> Vec<&'static str> {
    CORE_COMMANDS.iter().map(|(name, _)| *name).collect()
}

/// What [`call_now`] did with a call.
pub enum Immediate {
    /// The command ran to completion on the caller's thread.
    Done(Result<Value, CallError>),
    /// The command must be awaited ([`call_later`]); its params are handed back.
    Later(Value),
}

/// Runs `method` with `params` (a JSON array, object or null).
pub async fn call(core: &Core, method: &str, params: Value) -> Result<Value, CallError> {
    match call_now(core, method, params) {
        Immediate::Done(outcome) => outcome,
        Immediate::Later(params) => call_later(core, method, params).await,
    }
}

/// Runs `method` right away if it completes without waiting: every core command but
/// `live_reset`, and plugin commands flagged `inline`. Front ends answer these without
/// creating (and boxing) a future per request, which is most of a request's cost when
/// the command itself is as cheap as `ping` or `get_point`.
pub fn call_now(core: &Core, method: &str, params: Value) -> Immediate {
    Immediate::Done(match method {
        "ping" => Ok(Value::Str("pong".to_owned())),
        "echo" => Ok(params),
        "commands" => Ok(commands(core)),
        "plugins" => Ok(plugins(core)),
        "status" => Ok(status(core)),
        "set_point" => set_point(core, &params),
        "set_point_now" => set_point_now(core, &params),
        "get_point" => get_point(core, &params),
        "push_state" => crate::pyexplabsys::push::push_state(core, &params),
        "push_take" => crate::pyexplabsys::push::push_take(core, &params),
        "live_reset" => return Immediate::Later(params),
        "subscribe" | "unsubscribe" => Err(CallError::new(
            codes::INVALID_REQUEST,
            format!("'{method}' is only available on a native protocol connection"),
        )),
        _ => match core.registry.call_inline(method, &params) {
            Some(outcome) => outcome,
            None if core.registry.contains(method) => return Immediate::Later(params),
            None => Err(CallError::new(
                codes::METHOD_NOT_FOUND,
                format!("unknown method '{method}' (the 'commands' method lists them)"),
            )),
        },
    })
}

/// Runs a command [`call_now`] handed back as [`Immediate::Later`].
pub async fn call_later(core: &Core, method: &str, params: Value) -> Result<Value, CallError> {
    match method {
        "live_reset" => crate::pyexplabsys::live::live_reset(core, &params).await,
        _ => match core.registry.call(method, &params).await {
            Some(result) => result,
            None => Err(CallError::new(
                codes::METHOD_NOT_FOUND,
                format!("unknown method '{method}' (the 'commands' method lists them)"),
            )),
        },
    }
}

/// A positional (`[a, b]`) or named (`{"a": .., "b": ..}`) argument.
pub fn arg<'a>(params: &'a Value, index: usize, name: &str) -> Option<&'a Value> {
    match params {
        Value::List(items) => items.get(index),
        Value::Dict(fields) => fields.get(name),
        _ => None,
    }
}

/// A required string argument.
pub fn str_arg<'a>(params: &'a Value, index: usize, name: &str) -> Result<&'a str, CallError> {
    match arg(params, index, name) {
        Some(Value::Str(text)) => Ok(text),
        Some(_) => Err(CallError::invalid_params(format!(
            "'{name}' must be a string"
        ))),
        None => Err(CallError::invalid_params(format!("'{name}' is required"))),
    }
}

/// Builds a JSON object from `(key, value)` pairs, keeping their order.
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Dict(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

fn commands(core: &Core) -> Value {
    let mut list: Vec<Value> = CORE_COMMANDS
        .iter()
        .map(|(name, description)| {
            object([
                ("name", Value::Str((*name).to_owned())),
                ("plugin", Value::Str("core".to_owned())),
                ("description", Value::Str((*description).to_owned())),
                ("read_only", Value::Bool(CORE_READ_ONLY.contains(name))),
                ("params", Value::Null),
                ("result", Value::Null),
            ])
        })
        .collect();
    list.extend(
        core.registry
            .commands()
            .into_iter()
            .map(crate::plugins::CommandEntry::to_value),
    );
    Value::List(list)
}

fn plugins(core: &Core) -> Value {
    core.registry.listing()
}

fn status(core: &Core) -> Value {
    let front_ends: Vec<Value> = core
        .front_ends()
        .iter()
        .map(|front_end| {
            let heartbeat = front_end
                .heartbeat_secs
                .map(|secs| ("heartbeat_secs", Value::Float(secs)));
            let fields = [
                ("name", Value::Str(front_end.name.clone())),
                ("address", Value::Str(front_end.address.to_string())),
                (
                    "connections",
                    Value::Int(front_end.open_connections() as i64),
                ),
            ]
            .into_iter()
            .chain(heartbeat)
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
            Value::Dict(fields)
        })
        .collect();
    object([
        ("version", Value::Str(crate::VERSION.to_owned())),
        ("api_version", Value::Str(crate::ABI_VERSION.to_owned())),
        (
            "uptime_secs",
            Value::Float(core.started.elapsed().as_secs_f64()),
        ),
        ("front_ends", Value::List(front_ends)),
        ("max_connections", Value::Int(core.max_connections as i64)),
        ("plugins", Value::Int(core.registry.plugins().len() as i64)),
        ("plugin_health", core.registry.health()),
        (
            "commands",
            Value::Int((CORE_COMMANDS.len() + core.registry.commands().len()) as i64),
        ),
        ("points", Value::Int(core.points.len() as i64)),
        ("sources", core.sources.to_value()),
        ("live_server", core.live_hosts.stats()),
    ])
}

fn number_arg(params: &Value, index: usize, name: &str) -> Result<Option<f64>, CallError> {
    match arg(params, index, name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| CallError::invalid_params(format!("'{name}' must be a number"))),
    }
}

fn set_point(core: &Core, params: &Value) -> Result<Value, CallError> {
    let codename = str_arg(params, 0, "codename")?;
    let x = arg(params, 1, "x").ok_or_else(|| CallError::invalid_params("'x' is required"))?;
    if x.as_f64().is_none() {
        return Err(CallError::invalid_params("'x' must be a number"));
    }
    let y = arg(params, 2, "y").ok_or_else(|| CallError::invalid_params("'y' is required"))?;
    let timestamp = number_arg(params, 3, "timestamp")?;
    core.points.set(codename, x.clone(), y.clone(), timestamp);
    Ok(Value::Bool(true))
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
    Ok(Value::Dict(fields))
}
