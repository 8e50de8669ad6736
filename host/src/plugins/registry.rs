//! The command registry and the call path across the C ABI.
//!
//! The table is built once by the loader and never changes, so lookups need no lock.
//! A call runs the plugin's handler on tokio's blocking pool, bounded by a semaphore:
//! a slow or hung instrument driver then occupies one blocking thread, never an async
//! worker, and other connections keep being served. Handlers flagged `inline` (quick,
//! never blocking) skip the hop. Waiting is bounded by the command timeout; a handler
//! that overruns it keeps its thread (blocking code cannot be aborted) but the caller
//! gets an error reply.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use labsocket_plugin_api::abi::{status, CommandHandler, HostApi, OwnedBuf, COMMAND_FLAG_INLINE};
use labsocket_plugin_api::CommandError;
use tokio::sync::Semaphore;

use super::load::ValidatedCommand;
use super::payload;
use super::PluginInfo;
use crate::call::CallError;
use crate::pyjson::{self, Value};
use labsocket_plugin_api::codes;

/// One registered command.
pub struct CommandEntry {
    pub name: String,
    pub description: String,
    pub plugin: String,
    inline: bool,
    handler: CommandHandler,
    host: &'static HostApi,
}

impl CommandEntry {
    pub(super) fn new(command: &ValidatedCommand, plugin: &str, host: &'static HostApi) -> Self {
        Self {
            name: command.name.clone(),
            description: command.description.clone(),
            plugin: plugin.to_owned(),
            inline: command.desc.flags & COMMAND_FLAG_INLINE != 0,
            handler: command.desc.handler,
            host,
        }
    }

    /// Calls the handler on this thread and decodes its reply.
    fn invoke(&self, request: &[u8]) -> Result<Value, CallError> {
        let mut reply = OwnedBuf::empty();
        // SAFETY: `handler` comes from a validated descriptor of a never-unloaded plugin;
        // `host` is 'static; `request` outlives the call; `reply` is a local slot.
        let code =
            unsafe { (self.handler)(self.host, request.as_ptr(), request.len(), &mut reply) };
        let reply = Reply(reply);
        let bytes = reply.bytes();
        match code {
            status::OK => pyjson::parse_bytes(bytes)
                .map(payload::from_plugin)
                .map_err(|err| {
                    CallError::internal(format!(
                        "command '{}' of plugin '{}' replied with invalid JSON: {err}",
                        self.name, self.plugin
                    ))
                }),
            status::ERROR => Err(serde_json::from_slice(bytes)
                .ok()
                .and_then(|json| CommandError::from_json(&json))
                .map(|error| CallError {
                    code: error.code,
                    message: error.message,
                    data: error
                        .data
                        .map(|data| payload::from_plugin(Value::from(data))),
                })
                .unwrap_or_else(|| {
                    CallError::internal(format!(
                        "command '{}' of plugin '{}' failed with an unreadable error",
                        self.name, self.plugin
                    ))
                })),
            status::PANIC => Err(CallError::new(
                codes::PLUGIN_PANICKED,
                format!(
                    "command '{}' of plugin '{}' {}",
                    self.name,
                    self.plugin,
                    String::from_utf8_lossy(bytes)
                ),
            )),
            status::BAD_REQUEST => Err(CallError::invalid_params(
                String::from_utf8_lossy(bytes).into_owned(),
            )),
            other => Err(CallError::internal(format!(
                "command '{}' of plugin '{}' returned unknown status {other}",
                self.name, self.plugin
            ))),
        }
    }
}

/// A reply buffer from a plugin, released with the plugin's own `free` when dropped.
struct Reply(OwnedBuf);

impl Reply {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the buffer was written by the plugin's thunk (`OwnedBuf::from_vec` of its
        // copy of the API) and is released only in `drop`.
        unsafe { self.0.as_slice() }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        // SAFETY: the fields are exactly what the plugin wrote; released once, here.
        unsafe { self.0.release() };
    }
}

/// Reads a plugin-written message buffer as text and releases it.
pub(super) fn take_text(buffer: OwnedBuf) -> String {
    let reply = Reply(buffer);
    String::from_utf8_lossy(reply.bytes()).into_owned()
}

/// The request bytes a plugin handler receives for `params`.
fn encode_request(params: &Value) -> Result<Vec<u8>, CallError> {
    // Plugins speak strict JSON: non-finite floats cross as tagged objects.
    serde_json::to_vec(&payload::to_plugin(params))
        .map_err(|err| CallError::invalid_params(err.to_string()))
}

/// Every plugin command, by name.
pub struct Registry {
    commands: HashMap<String, Arc<CommandEntry>>,
    plugins: Vec<PluginInfo>,
    blocking_slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Registry {
    /// How many plugin handlers may run on blocking threads at once by default.
    pub const DEFAULT_BLOCKING_SLOTS: usize = 64;
    /// How long a caller waits for a plugin command by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    pub(super) fn new(commands: HashMap<String, CommandEntry>, plugins: Vec<PluginInfo>) -> Self {
        Self {
            commands: commands
                .into_iter()
                .map(|(name, entry)| (name, Arc::new(entry)))
                .collect(),
            plugins,
            blocking_slots: Arc::new(Semaphore::new(Self::DEFAULT_BLOCKING_SLOTS)),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Sets how long a caller waits for a plugin command.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The loaded plugins, in load order.
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.plugins
    }

    /// Every command, sorted by name.
    pub fn commands(&self) -> Vec<&CommandEntry> {
        let mut commands: Vec<&CommandEntry> = self.commands.values().map(Arc::as_ref).collect();
        commands.sort_by(|a, b| a.name.cmp(&b.name));
        commands
    }

    /// Whether `name` is a plugin command.
    pub fn contains(&self, name: &str) -> bool {
        self.commands.contains_key(name)
    }

    /// Calls plugin command `name` on this thread if it is flagged `inline`; `None` when
    /// no plugin has it or it must run on the blocking pool ([`Registry::call`]).
    pub fn call_inline(&self, name: &str, params: &Value) -> Option<Result<Value, CallError>> {
        let entry = self.commands.get(name).filter(|entry| entry.inline)?;
        Some(encode_request(params).and_then(|request| entry.invoke(&request)))
    }

    /// Calls plugin command `name`; `None` when no plugin has it.
    pub async fn call(&self, name: &str, params: &Value) -> Option<Result<Value, CallError>> {
        let entry = self.commands.get(name)?.clone();
        let request = match encode_request(params) {
            Ok(request) => request,
            Err(error) => return Some(Err(error)),
        };
        if entry.inline {
            return Some(entry.invoke(&request));
        }
        let slots = self.blocking_slots.clone();
        let run = async move {
            let permit = slots.acquire_owned().await.map_err(|_| {
                CallError::internal("the plugin call pool is closed (shutting down)")
            })?;
            let worker = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                entry.invoke(&request)
            });
            worker
                .await
                .map_err(|err| CallError::internal(format!("plugin call failed: {err}")))?
        };
        Some(match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(CallError::new(
                codes::COMMAND_TIMED_OUT,
                format!(
                    "command '{name}' did not answer within {:.1} s (it may still be running)",
                    self.timeout.as_secs_f64()
                ),
            )),
        })
    }
}
