//! Push sockets (`DataPushSocket`): `json_wn#`/`raw_wn#` parsing, the `ACK#`/`ERROR#`/
//! `RET#`/`EXCEP#` replies, the actions, and the native `push_state`/`push_take` commands.
//!
//! Dispatch follows the reference (§4.1) exactly: `name`, `commands` and `status` first,
//! then anything without exactly one `#` is `ERROR#UNKNOWN_COMMMAND`. Every received dict
//! is stored as `last` and merged into `updated` before the action runs, as in Python.
//!
//! Actions:
//! - `store_last`: storage only, `ACK#<Python str() of the dict>`.
//! - `enqueue`: also queued for `push_take`. The queue is bounded (`queue_size`); when it
//!   is full the dict is refused with an `ERROR#` reply and nothing is stored, so the
//!   sender knows and queued data is never silently dropped.
//! - `callback_async`: queued (same bound) for a worker task that calls `command` with the
//!   dict as params, one at a time in arrival order; `ACK#` at once.
//! - `callback_direct`: calls `command` and replies `RET#`/`EXCEP#`. The socket handles
//!   requests one after another like the original, so callbacks never overlap and run in
//!   arrival order; a slow callback delays only this socket (the command runs on the
//!   plugin call pool, never on a thread other sockets need).
//! - `set_points` (new): every key is a codename and its value `y` (x = now) or `[x, y]`;
//!   the points are set in one batch, then `ACK#` as for `store_last`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::{PushAction, PushSocketConfig, ReturnFormat};
use super::python_literals::{python_float, python_int};
use super::{raw_format, Directory, UNKNOWN_COMMAND};
use crate::call::{self, arg, CallError};
use crate::dispatch;
use crate::host_core::{Command, Core};
use crate::pyjson::{self, python_str, Value};

/// The reply to `commands`, byte for byte.
const COMMANDS_REPLY: &str = r#"RET#["json_wn#", "raw_wn#", "name", "status", "commands"]"#;

/// A received dict, in arrival order of its keys.
type Dict = IndexMap<String, Value>;

/// What to do with a request.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Reply(String),
    /// Send the `status` JSON.
    Status,
    /// Send nothing (the request was not ASCII, as PyExpLabSys).
    Nothing,
}

/// What a push socket has received.
#[derive(Default)]
struct State {
    last: Option<Dict>,
    last_time: Option<f64>,
    updated: Dict,
    updated_time: Option<f64>,
    queue: VecDeque<Value>,
}

/// One push socket.
pub struct PushSocket {
    pub name: String,
    pub action: PushAction,
    command: Option<String>,
    return_format: ReturnFormat,
    queue_size: usize,
    state: Mutex<State>,
    callbacks: Option<mpsc::Sender<Value>>,
}

impl PushSocket {
    /// A push socket; for `callback_async` also the receiving end of its callback queue,
    /// for [`run_callbacks`].
    pub fn new(config: &PushSocketConfig) -> (Self, Option<mpsc::Receiver<Value>>) {
        let (callbacks, receiver) = if config.action == PushAction::CallbackAsync {
            let (sender, receiver) = mpsc::channel(config.queue_size());
            (Some(sender), Some(receiver))
        } else {
            (None, None)
        };
        let socket = Self {
            name: config.name.clone(),
            action: config.action,
            command: config.command.clone(),
            return_format: config.return_format,
            queue_size: config.queue_size(),
            state: Mutex::default(),
            callbacks,
        };
        (socket, receiver)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one request.
    pub async fn answer(&self, core: &Core, request: &[u8]) -> Answer {
        let Some(request) = std::str::from_utf8(request).ok().filter(|r| r.is_ascii()) else {
            return Answer::Nothing;
        };
        match request {
            "name" => return Answer::Reply(format!("RET#{}", self.name)),
            "commands" => return Answer::Reply(COMMANDS_REPLY.to_owned()),
            "status" => return Answer::Status,
            _ => {}
        }
        let parsed = match request.split_once('#') {
            Some((_, data)) if data.contains('#') => return unknown(),
            Some(("json_wn", data)) => parse_json_wn(data),
            Some(("raw_wn", data)) => parse_raw_wn(data),
            _ => return unknown(),
        };
        Answer::Reply(match parsed {
            Ok(dict) => self.receive(core, dict).await,
            Err(message) => format!("ERROR#{message}"),
        })
    }

    /// Stores `dict`, runs the action and builds the reply.
    async fn receive(&self, core: &Core, dict: Dict) -> String {
        let now = labsocket_plugin_api::unix_now();
        let points = match self.action {
            PushAction::SetPoints => match points_of(&dict, now) {
                Ok(points) => Some(points),
                Err(message) => return format!("ERROR#{message}"),
            },
            _ => None,
        };
        {
            let mut state = self.state();
            match self.action {
                PushAction::Enqueue if state.queue.len() >= self.queue_size => {
                    return self.full();
                }
                PushAction::Enqueue => state.queue.push_back(Value::Dict(dict.clone())),
                PushAction::CallbackAsync => {
                    let sent = self
                        .callbacks
                        .as_ref()
                        .map(|c| c.try_send(Value::Dict(dict.clone())));
                    match sent {
                        Some(Ok(())) => {}
                        Some(Err(mpsc::error::TrySendError::Full(_))) => return self.full(),
                        _ => return "ERROR#The callback worker has stopped".to_owned(),
                    }
                }
                _ => {}
            }
            state.last = Some(dict.clone());
            state.last_time = Some(now);
            state
                .updated
                .extend(dict.iter().map(|(k, v)| (k.clone(), v.clone())));
            state.updated_time = Some(now);
        }
        let value = Value::Dict(dict);
        if let Some(points) = points {
            core.points.set_many(points, Some(now));
        }
        if self.action != PushAction::CallbackDirect {
            return format!("ACK#{}", python_str(&value));
        }
        let command = self.command.as_deref().unwrap_or_default();
        match dispatch::call(core, command, value).await {
            Ok(result) => self.render_return(&result),
            Err(error) => format!("EXCEP#{}", error.message),
        }
    }

    fn full(&self) -> String {
        tracing::warn!(socket = %self.name, "push: queue full ({} dicts); refusing", self.queue_size);
        format!(
            "ERROR#The queue of this push socket is full ({} items); the data was not stored",
            self.queue_size
        )
    }

    /// `RET#...` for a `callback_direct` result.
    fn render_return(&self, result: &Value) -> String {
        match self.return_format {
            ReturnFormat::Json => format!("RET#{}", pyjson::to_python_json(result)),
            ReturnFormat::String => format!("RET#{}", python_str(result)),
            ReturnFormat::Raw => match raw_format::format(result) {
                Ok(text) => format!("RET#{text}"),
                Err(message) => format!("EXCEP#Raw conversion failed with message:{message}"),
            },
        }
    }

    /// `push_state`: what was received last and the merged view of everything received.
    pub fn state_json(&self) -> Value {
        let state = self.state();
        let time = |t: Option<f64>| t.map(Value::Float).unwrap_or(Value::Null);
        call::object([
            (
                "last",
                state.last.clone().map(Value::Dict).unwrap_or(Value::Null),
            ),
            ("last_time", time(state.last_time)),
            ("updated", Value::Dict(state.updated.clone())),
            ("updated_time", time(state.updated_time)),
        ])
    }

    /// `push_take`: removes and returns up to `max` of the oldest queued dicts.
    pub fn take(&self, max: usize) -> Vec<Value> {
        let mut state = self.state();
        let count = max.min(state.queue.len());
        state.queue.drain(..count).collect()
    }
}

fn unknown() -> Answer {
    Answer::Reply(format!("ERROR#{UNKNOWN_COMMAND}"))
}

/// `json_wn#<json>`: Python `json.loads`, which must give a dict.
///
/// One difference: a string with a lone UTF-16 surrogate (`"\ud800"`) is refused with
/// `ERROR#` and nothing is stored. Python stores it and acknowledges it; labsocket cannot
/// hold it (it would become U+FFFD), and storing a changed value whose acknowledgement
/// cannot be sent in ASCII would leave a retrying pusher storing it again and again.
///
/// Public so the fuzz targets and property tests (`tests/fuzz`, `host/tests/parsers.rs`)
/// can reach the parser without a socket; the front end is its only production caller.
pub fn parse_json_wn(data: &str) -> Result<Dict, String> {
    match pyjson::parse_counting_lone_surrogates(data) {
        Ok((Value::Dict(_), lone)) if lone > 0 => Err(format!(
            "The string '{data}' holds a lone UTF-16 surrogate (\\ud800-\\udfff without its \
             pair), which cannot be stored; nothing was stored"
        )),
        Ok((Value::Dict(dict), _)) => Ok(dict),
        Ok((other, _)) => Err(format!(
            "The object '{}' returned after decoding the JSON string is not a dict",
            python_str(&other)
        )),
        Err(_) => Err(format!("The string '{data}' could not be decoded as JSON")),
    }
}

/// `raw_wn#name:type:v1,v2;...` (reference §4.3). Public for the fuzz targets and
/// property tests, as [`parse_json_wn`].
pub fn parse_raw_wn(data: &str) -> Result<Dict, String> {
    let mut dict = Dict::new();
    for part in data.split(';') {
        let fields: Vec<&str> = part.split(':').collect();
        let [codename, data_type, values] = fields[..] else {
            return Err(format!(
                "The data part '{part}' did not match the expected format of 3 parts divided \
                 by ':'"
            ));
        };
        let convert: fn(&str) -> Result<Value, String> = match data_type {
            "int" => python_int,
            "float" => |text| python_float(text).map(Value::Float),
            "str" => |text| Ok(Value::Str(text.to_owned())),
            "bool" => bool_translate,
            _ => {
                return Err(format!(
                    "The data type '{data_type}' is unknown. Only dict_keys(['int', 'float', \
                     'str', 'bool']) are allowed"
                ))
            }
        };
        let mut converted = values
            .split(',')
            .map(convert)
            .collect::<Result<Vec<Value>, String>>()
            .map_err(|message| {
                format!("Unable to convert values to '{data_type}'. Error is: {message}")
            })?;
        let value = if converted.len() == 1 {
            converted.remove(0)
        } else {
            Value::List(converted)
        };
        dict.insert(codename.to_owned(), value);
    }
    Ok(dict)
}

fn bool_translate(text: &str) -> Result<Value, String> {
    match text {
        "True" => Ok(Value::Bool(true)),
        "False" => Ok(Value::Bool(false)),
        _ => Err(format!(
            "Cannot translate the string '{text}' to a boolean. Only the strings 'True' or \
             'False' are allowed"
        )),
    }
}

/// The points a `set_points` dict sets: `y` means `(now, y)`, a two-item list `[x, y]`
/// with a numeric x means `(x, y)`.
fn points_of(dict: &Dict, now: f64) -> Result<Vec<(String, Value, Value)>, String> {
    dict.iter()
        .map(|(codename, value)| match value {
            Value::List(xy) if xy.len() == 2 => {
                if xy[0].as_f64().is_none() {
                    return Err(format!(
                        "The point for '{codename}' must be y or [x, y] with a number x, not {}",
                        python_str(value)
                    ));
                }
                Ok((codename.clone(), xy[0].clone(), xy[1].clone()))
            }
            y => Ok((codename.clone(), Value::Float(now), y.clone())),
        })
        .collect()
}

/// Calls `command` with each dict of a `callback_async` socket, in order, until shutdown;
/// then finishes what is already queued (bounded by the shutdown grace).
pub async fn run_callbacks(
    core: Arc<Core>,
    socket: String,
    command: String,
    mut queue: mpsc::Receiver<Value>,
    token: CancellationToken,
) {
    loop {
        let dict = tokio::select! {
            _ = token.cancelled() => break,
            dict = queue.recv() => dict,
        };
        let Some(dict) = dict else { return };
        call_back(&core, &socket, &command, dict).await;
    }
    queue.close();
    while let Some(dict) = queue.recv().await {
        call_back(&core, &socket, &command, dict).await;
    }
}

async fn call_back(core: &Core, socket: &str, command: &str, dict: Value) {
    if let Err(error) = dispatch::call(core, command, dict).await {
        tracing::warn!(%socket, %command, "push: callback failed: {}", error.message);
    }
}

/// The commands this module owns, answered over the sockets in `directory`.
pub(crate) fn commands(directory: &Arc<Directory>) -> Vec<Command> {
    let (for_state, for_take) = (directory.clone(), directory.clone());
    vec![
        Command::now(
            "push_state",
            "A UDP push socket's received data: [port] -> {\"last\",\"last_time\",\"updated\",\"updated_time\"}",
            "[port]",
            move |_, params| push_state(&for_state, params),
        )
        .read_only(),
        Command::now(
            "push_take",
            "Removes and returns the oldest queued dicts of an 'enqueue' push socket: [port, max]",
            "[port, max?]",
            move |_, params| push_take(&for_take, params),
        ),
    ]
}

/// The native `push_state` command: `[port]`.
fn push_state(directory: &Directory, params: &Value) -> Result<Value, CallError> {
    Ok(socket_at(directory, params)?.state_json())
}

/// The native `push_take` command: `[port, max]` (max defaults to 100).
fn push_take(directory: &Directory, params: &Value) -> Result<Value, CallError> {
    let socket = socket_at(directory, params)?;
    if socket.action != PushAction::Enqueue {
        return Err(CallError::invalid_params(format!(
            "the push socket '{}' has action '{}'; only 'enqueue' sockets queue dicts",
            socket.name,
            socket.action.as_str()
        )));
    }
    let max = match arg(params, 1, "max") {
        None | Some(Value::Null) => 100,
        Some(Value::Int(max)) if *max >= 0 => *max as usize,
        Some(_) => {
            return Err(CallError::invalid_params(
                "'max' must be a whole number >= 0",
            ))
        }
    };
    Ok(Value::List(socket.take(max)))
}

fn socket_at(directory: &Directory, params: &Value) -> Result<Arc<PushSocket>, CallError> {
    let port = match arg(params, 0, "port") {
        Some(Value::Int(port)) => u16::try_from(*port).ok(),
        _ => None,
    }
    .ok_or_else(|| CallError::invalid_params("'port' (a UDP port number) is required"))?;
    directory
        .push_socket(port)
        .ok_or_else(|| CallError::not_found(format!("no push socket listens on port {port}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack_of(result: Result<Dict, String>) -> String {
        match result {
            Ok(dict) => format!("ACK#{}", python_str(&Value::Dict(dict))),
            Err(message) => format!("ERROR#{message}"),
        }
    }

    #[test]
    fn json_wn_replies_match_the_reference() {
        let cases = [
            (r#"{"a": 1}"#, "ACK#{'a': 1}"),
            (
                r#"{"a": 1, "b": "x", "c": true, "d": null, "e": [1, 2.5], "f": {"g": 1}}"#,
                "ACK#{'a': 1, 'b': 'x', 'c': True, 'd': None, 'e': [1, 2.5], 'f': {'g': 1}}",
            ),
            ("{}", "ACK#{}"),
            (r#"{"a": NaN, "b": Infinity}"#, "ACK#{'a': nan, 'b': inf}"),
            (
                r#"{"a": -0.0, "b": 1e16, "c": 1e-5, "d": 1E2}"#,
                "ACK#{'a': -0.0, 'b': 1e+16, 'c': 1e-05, 'd': 100.0}",
            ),
            (r#" {"a": 1, "a": 2} "#, "ACK#{'a': 2}"),
            ("", "ERROR#The string '' could not be decoded as JSON"),
            (
                "{bad",
                "ERROR#The string '{bad' could not be decoded as JSON",
            ),
            (
                "\"nonsense\"",
                "ERROR#The object 'nonsense' returned after decoding the JSON string is not a dict",
            ),
            (
                "[1, 2]",
                "ERROR#The object '[1, 2]' returned after decoding the JSON string is not a dict",
            ),
        ];
        for (data, reply) in cases {
            assert_eq!(ack_of(parse_json_wn(data)), reply, "for {data:?}");
        }
    }

    #[test]
    fn a_lone_surrogate_is_refused_so_what_is_stored_is_what_is_answered() {
        // Stored as U+FFFD, its ACK would not be ASCII and would never be sent: refused
        // with an ERROR# instead, and (by `receive`) nothing is stored.
        let data = r#"{"a": "\ud800"}"#;
        assert_eq!(
            ack_of(parse_json_wn(data)),
            format!(
                "ERROR#The string '{data}' holds a lone UTF-16 surrogate (\\ud800-\\udfff \
                 without its pair), which cannot be stored; nothing was stored"
            )
        );
        // A pair, and an escaped U+FFFD, are stored and answered as before (the latter,
        // not ASCII, gets no reply, as in Python).
        assert_eq!(
            ack_of(parse_json_wn(r#"{"a": "\ud83d\ude00"}"#)),
            "ACK#{'a': '\u{1f600}'}"
        );
        assert_eq!(
            ack_of(parse_json_wn(r#"{"a": "\ufffd"}"#)),
            "ACK#{'a': '\u{fffd}'}"
        );
    }

    #[test]
    fn raw_wn_replies_match_the_reference() {
        let cases = [
            ("a:int:1,2", "ACK#{'a': [1, 2]}"),
            ("a:float:1", "ACK#{'a': 1.0}"),
            ("a:str:x y, z", "ACK#{'a': ['x y', ' z']}"),
            ("a:bool:True,False", "ACK#{'a': [True, False]}"),
            (":int:1", "ACK#{'': 1}"),
            ("a:str:", "ACK#{'a': ''}"),
            ("a:int:1;a:int:2", "ACK#{'a': 2}"),
            (
                "greeting:str:Live long and prosper;numbers:int:47,42",
                "ACK#{'greeting': 'Live long and prosper', 'numbers': [47, 42]}",
            ),
            (
                "",
                "ERROR#The data part '' did not match the expected format of 3 parts divided by ':'",
            ),
            (
                "a:int:1;",
                "ERROR#The data part '' did not match the expected format of 3 parts divided by ':'",
            ),
            (
                "a:int:1:2",
                "ERROR#The data part 'a:int:1:2' did not match the expected format of 3 parts divided by ':'",
            ),
            (
                "a:INT:1",
                "ERROR#The data type 'INT' is unknown. Only dict_keys(['int', 'float', 'str', 'bool']) are allowed",
            ),
            (
                "a:int:hh",
                "ERROR#Unable to convert values to 'int'. Error is: invalid literal for int() with base 10: 'hh'",
            ),
            (
                "a:float:abc",
                "ERROR#Unable to convert values to 'float'. Error is: could not convert string to float: 'abc'",
            ),
            (
                "a:bool:true",
                "ERROR#Unable to convert values to 'bool'. Error is: Cannot translate the string 'true' to a boolean. Only the strings 'True' or 'False' are allowed",
            ),
        ];
        for (data, reply) in cases {
            assert_eq!(ack_of(parse_raw_wn(data)), reply, "for {data:?}");
        }
    }

    #[test]
    fn set_points_takes_y_or_x_y() {
        let dict = parse_json_wn(r#"{"a": 1.5, "b": [10, "on"], "c": [1, 2, 3]}"#).unwrap();
        let points = points_of(&dict, 99.0).unwrap();
        assert_eq!(
            points,
            vec![
                ("a".into(), Value::Float(99.0), Value::Float(1.5)),
                ("b".into(), Value::Int(10), Value::Str("on".into())),
                (
                    "c".into(),
                    Value::Float(99.0),
                    Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
                ),
            ]
        );
        let dict = parse_json_wn(r#"{"a": ["x", 1]}"#).unwrap();
        assert_eq!(
            points_of(&dict, 0.0).unwrap_err(),
            "The point for 'a' must be y or [x, y] with a number x, not ['x', 1]"
        );
    }
}
