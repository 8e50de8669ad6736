//! The command registry and the call path across the C ABI.
//!
//! The table is built once by the loader and never changes, so lookups need no lock.
//! A call runs the plugin's handler on tokio's blocking pool, bounded by a semaphore:
//! a slow or hung instrument driver then occupies one blocking thread, never an async
//! worker, and other connections keep being served. Handlers flagged `inline` (quick,
//! never blocking) skip the hop. Waiting is bounded by the command timeout; a handler
//! that overruns it keeps its thread (blocking code cannot be aborted) but the caller
//! gets an error reply.
//!
//! The registry also remembers the plugins that failed to load (listings show them with
//! their error, and calling one of their commands says why it is unavailable) and each
//! loaded plugin's shutdown hook.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use labsocket_plugin_api::abi::{
    status, CommandHandler, HostApi, OwnedBuf, ShutdownFn, COMMAND_FLAG_INLINE,
};
use labsocket_plugin_api::{codes, CommandError};
use tokio::sync::Semaphore;

use super::host_api::PluginBytes;
use super::load::ValidatedCommand;
use super::{dict, host_api, payload, CommandInfo, FailedPlugin, PluginInfo};
use crate::call::CallError;
use crate::pyjson::{self, Value};

/// One registered command.
pub struct CommandEntry {
    pub name: String,
    pub plugin: String,
    /// What listings show (description, signatures, read-only).
    pub info: CommandInfo,
    inline: bool,
    handler: CommandHandler,
    host: &'static HostApi,
}

/// A command of a plugin that failed to load.
pub(crate) struct Unavailable {
    pub(crate) plugin: String,
    pub(crate) reason: String,
}

/// A loaded plugin's table and shutdown hook, kept in load order.
pub(crate) struct Hooks {
    pub(crate) plugin: String,
    pub(crate) host: &'static HostApi,
    pub(crate) shutdown: Option<ShutdownFn>,
}

/// What the loader collects for [`Registry::new`].
#[derive(Default)]
pub(crate) struct Parts {
    pub(crate) commands: HashMap<String, CommandEntry>,
    pub(crate) plugins: Vec<PluginInfo>,
    pub(crate) failed: Vec<FailedPlugin>,
    pub(crate) unavailable: HashMap<String, Unavailable>,
    pub(crate) hooks: Vec<Hooks>,
}

impl CommandEntry {
    pub(super) fn new(
        command: &ValidatedCommand,
        info: CommandInfo,
        plugin: &str,
        host: &'static HostApi,
    ) -> Self {
        Self {
            name: command.name.clone(),
            plugin: plugin.to_owned(),
            info,
            inline: command.desc.flags & COMMAND_FLAG_INLINE != 0,
            handler: command.desc.handler,
            host,
        }
    }

    /// The command as the `commands` listing shows it.
    pub(crate) fn to_value(&self) -> Value {
        self.info.to_value(&self.plugin)
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
            status::REFUSED => Err(CallError::internal(format!(
                "command '{}' of plugin '{}' was refused by the host: {}",
                self.name,
                self.plugin,
                String::from_utf8_lossy(bytes)
            ))),
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
    failed: Vec<FailedPlugin>,
    unavailable: HashMap<String, Unavailable>,
    hooks: Vec<Hooks>,
    blocking_slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Registry {
    /// How many plugin handlers may run on blocking threads at once by default.
    pub const DEFAULT_BLOCKING_SLOTS: usize = 64;
    /// How long a caller waits for a plugin command by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    pub(super) fn new(parts: Parts) -> Self {
        Self {
            commands: parts
                .commands
                .into_iter()
                .map(|(name, entry)| (name, Arc::new(entry)))
                .collect(),
            plugins: parts.plugins,
            failed: parts.failed,
            unavailable: parts.unavailable,
            hooks: parts.hooks,
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

    /// Every plugin, loaded or failed, as the `plugins` command lists it.
    pub(crate) fn listing(&self) -> Value {
        Value::List(
            self.plugins
                .iter()
                .map(PluginInfo::to_value)
                .chain(self.failed.iter().map(FailedPlugin::to_value))
                .collect(),
        )
    }

    /// Every plugin's health for `status`: `{"name","error","lost_events"}` (a failed
    /// plugin's name may be null, its `lost_events` is 0).
    pub(crate) fn health(&self) -> Value {
        let loaded = self.plugins.iter().map(|info| {
            dict([
                ("name", Value::Str(info.name.clone())),
                ("error", Value::Null),
                (
                    "lost_events",
                    Value::Int(
                        i64::try_from(info.lost_events.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
                    ),
                ),
            ])
        });
        let failed = self.failed.iter().map(|failed| {
            dict([
                ("name", failed.name.clone().map_or(Value::Null, Value::Str)),
                ("error", Value::Str(failed.error.clone())),
                ("lost_events", Value::Int(0)),
            ])
        });
        Value::List(loaded.chain(failed).collect())
    }

    /// The error for a command of a plugin that failed to load, if `name` is one.
    fn unavailable(&self, name: &str) -> Option<CallError> {
        let unavailable = self.unavailable.get(name)?;
        Some(CallError::new(
            codes::PLUGIN_UNAVAILABLE,
            format!(
                "command '{name}' belongs to plugin '{}', which failed to load: {}",
                unavailable.plugin, unavailable.reason
            ),
        ))
    }

    /// Calls each loaded plugin's `shutdown` hook, in reverse load order, each on a
    /// thread of its own and waited for at most `timeout`; failures are logged with the
    /// plugin's name. Blocks: run it off the async workers.
    pub(crate) fn shut_down_plugins(&self, timeout: Duration) {
        for hooks in self.hooks.iter().rev() {
            let Some(shutdown) = hooks.shutdown else {
                continue;
            };
            let plugin = hooks.plugin.as_str();
            let host = hooks.host;
            let (sender, receiver) = mpsc::sync_channel(1);
            let spawned = std::thread::Builder::new()
                .name(format!("plugin-{plugin}-shutdown"))
                .spawn(move || {
                    let mut error = OwnedBuf::empty();
                    // SAFETY: `shutdown` comes from a validated descriptor; `host` is
                    // 'static and `error` a local slot (the ShutdownFn contract).
                    let code = unsafe { shutdown(host, &mut error) };
                    let _ = sender.send((code, take_text(error)));
                });
            if let Err(err) = spawned {
                tracing::error!(
                    plugin,
                    "cannot start the shutdown thread of plugin '{plugin}': {err}"
                );
                continue;
            }
            match receiver.recv_timeout(timeout) {
                Ok((status::OK, _)) => tracing::debug!(plugin, "plugin '{plugin}' shut down"),
                Ok((code, message)) => tracing::error!(
                    plugin,
                    "plugin '{plugin}' failed to shut down (status {code}): {message}"
                ),
                Err(mpsc::RecvTimeoutError::Timeout) => tracing::error!(
                    plugin,
                    "plugin '{plugin}' did not shut down within {timeout:?}; not waiting for it"
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => tracing::error!(
                    plugin,
                    "the shutdown thread of plugin '{plugin}' ended without answering"
                ),
            }
        }
    }

    /// Every command, sorted by name.
    pub fn commands(&self) -> Vec<&CommandEntry> {
        let mut commands: Vec<&CommandEntry> = self.commands.values().map(Arc::as_ref).collect();
        commands.sort_by(|a, b| a.name.cmp(&b.name));
        commands
    }

    /// The plugin command `name`, if one is registered.
    pub fn command(&self, name: &str) -> Option<&CommandEntry> {
        self.commands.get(name).map(Arc::as_ref)
    }

    /// Whether `name` is a plugin command.
    pub fn contains(&self, name: &str) -> bool {
        self.commands.contains_key(name)
    }

    /// Calls plugin command `name` on this thread if it is flagged `inline`; `None` when
    /// no plugin has it or it must run on the blocking pool ([`Registry::call`]).
    /// A command of a plugin that failed to load answers its error here.
    pub fn call_inline(&self, name: &str, params: &Value) -> Option<Result<Value, CallError>> {
        if let Some(error) = self.unavailable(name) {
            return Some(Err(error));
        }
        let entry = self.commands.get(name).filter(|entry| entry.inline)?;
        Some(encode_request(params).and_then(|request| entry.invoke(&request)))
    }

    /// Calls plugin command `name`; `None` when no plugin has it.
    pub async fn call(&self, name: &str, params: &Value) -> Option<Result<Value, CallError>> {
        if let Some(error) = self.unavailable(name) {
            return Some(Err(error));
        }
        let entry = self.commands.get(name)?.clone();
        let request = match encode_request(params) {
            Ok(request) => request,
            Err(error) => return Some(Err(error)),
        };
        if entry.inline {
            return Some(entry.invoke(&request));
        }
        let run = self.on_blocking_pool(move || entry.invoke(&request));
        Some(self.within_timeout(name, run).await)
    }

    /// Calls plugin command `name` with raw bytes beside its params (`input`, which the
    /// handler reads with the ABI 1.2 `attachment`), allowing a binary reply when
    /// `accepts_reply` (what the handler attached with `attach_reply`); `None` when no
    /// plugin has it. Always on the blocking pool, also for `inline` commands: these
    /// calls carry up to hundreds of megabytes.
    pub async fn call_binary(
        &self,
        name: &str,
        params: &Value,
        input: Option<bytes::Bytes>,
        accepts_reply: bool,
    ) -> Option<Result<(Value, Option<PluginBytes>), CallError>> {
        if let Some(error) = self.unavailable(name) {
            return Some(Err(error));
        }
        let entry = self.commands.get(name)?.clone();
        let request = match encode_request(params) {
            Ok(request) => request,
            Err(error) => return Some(Err(error)),
        };
        let run = self.on_blocking_pool(move || {
            match host_api::with_call_bytes(input, accepts_reply, || entry.invoke(&request)) {
                (Ok(result), reply) => Ok((result, reply)),
                (Err(error), _) => Err(error),
            }
        });
        Some(self.within_timeout(name, run).await)
    }

    /// Runs `invoke` (a handler call) on the blocking pool, within the slot limit.
    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        invoke: impl FnOnce() -> Result<T, CallError> + Send + 'static,
    ) -> Result<T, CallError> {
        let permit = self
            .blocking_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CallError::internal("the plugin call pool is closed (shutting down)"))?;
        let worker = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A handler here may call other commands through the host (`call`).
            host_api::allowing_blocking_calls(invoke)
        });
        worker
            .await
            .map_err(|err| CallError::internal(format!("plugin call failed: {err}")))?
    }

    /// Waits for `run` at most the command timeout.
    async fn within_timeout<T>(
        &self,
        name: &str,
        run: impl std::future::Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(CallError::new(
                codes::COMMAND_TIMED_OUT,
                format!(
                    "command '{name}' did not answer within {:.1} s (it may still be running)",
                    self.timeout.as_secs_f64()
                ),
            )),
        }
    }
}
