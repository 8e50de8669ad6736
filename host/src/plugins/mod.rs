//! Plugins: where commands come from.
//!
//! - [`load`]: finding dylibs, checking descriptors, the [`LoadError`] messages.
//! - [`host_api`]: the functions plugins call back into (emit, set/get points, log, call
//!   commands, subscribe, `stopping`, `last_error`).
//! - `subscription`: the delivery thread of each event subscription.
//! - [`payload`]: how `NaN`/`Infinity` cross into plugins and back.
//! - [`registry`]: the immutable command table, how a call crosses the C ABI, and the
//!   plugins' shutdown hooks.
//!
//! [`load_all`] runs once at start-up, before any listener binds: it runs foreign
//! initialisers (each on its own thread, with a timeout) and disk I/O, and the registry is
//! immutable afterwards (no locks on the call path). [`stop`] runs once at the end.
//!
//! This module is part of the core: it uses the bus, the point table and `pyjson`, and
//! reaches the command dispatcher only through the caller the server binds into
//! [`HostServices`] once the core exists.

pub mod host_api;
pub mod load;
pub mod payload;
pub mod registry;
mod subscription;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use labsocket_plugin_api::abi::{status, HostApi, InitFn, OwnedBuf, StrRef};

use crate::pyjson::Value;
pub use host_api::HostServices;
pub use load::{Descriptor, LoadError};
pub use registry::{CommandEntry, Registry};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    CompiledIn,
    Dylib(PathBuf),
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::CompiledIn => f.write_str("compiled-in"),
            PluginSource::Dylib(path) => write!(f, "{}", path.display()),
        }
    }
}

impl PluginSource {
    /// `("compiled-in" | "dylib", path or null)` for listings.
    fn kind_and_path(&self) -> (&'static str, Value) {
        match self {
            PluginSource::CompiledIn => ("compiled-in", Value::Null),
            PluginSource::Dylib(path) => ("dylib", Value::Str(path.display().to_string())),
        }
    }
}

/// One command of a plugin, as listings show it.
#[derive(Debug, Clone)]
pub struct CommandInfo {
    pub name: String,
    /// One line for listings.
    pub description: String,
    /// Flagged read-only: a `read` token may call it.
    pub read_only: bool,
    /// The params and result signatures; empty when the plugin gave none (1.0 plugins).
    pub params: String,
    pub result: String,
    /// Hints for front ends (a JSON object), if any.
    pub annotations: Option<serde_json::Value>,
}

impl CommandInfo {
    /// `{"name","plugin","description","read_only","params","result"}`, the form of the
    /// `commands` listing (an empty signature is `null`).
    pub(crate) fn to_value(&self, plugin: &str) -> Value {
        let signature = |text: &str| {
            if text.is_empty() {
                Value::Null
            } else {
                Value::Str(text.to_owned())
            }
        };
        dict([
            ("name", Value::Str(self.name.clone())),
            ("plugin", Value::Str(plugin.to_owned())),
            ("description", Value::Str(self.description.clone())),
            ("read_only", Value::Bool(self.read_only)),
            ("params", signature(&self.params)),
            ("result", signature(&self.result)),
        ])
    }
}

/// A loaded plugin, as `labsocket plugins` and the `plugins` command show it.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub build_info: String,
    /// One line about the plugin; empty when not given.
    pub description: String,
    pub source: PluginSource,
    /// In declaration order.
    pub commands: Vec<CommandInfo>,
    /// Events its subscriptions lost because their handlers fell behind.
    pub lost_events: Arc<AtomicU64>,
}

impl PluginInfo {
    /// `{"name","version","api_version","description","source","path","commands",
    /// "command_details","error": null}`: `commands` lists the names (as before 1.1),
    /// `command_details` each command as the `commands` listing shows it.
    pub(crate) fn to_value(&self) -> Value {
        let (kind, path) = self.source.kind_and_path();
        let text = |s: &str| Value::Str(s.to_owned());
        dict([
            ("name", text(&self.name)),
            ("version", text(&self.version)),
            ("api_version", text(&self.api_version)),
            ("description", text(&self.description)),
            ("source", text(kind)),
            ("path", path),
            (
                "commands",
                Value::List(self.commands.iter().map(|c| text(&c.name)).collect()),
            ),
            (
                "command_details",
                Value::List(
                    self.commands
                        .iter()
                        .map(|command| command.to_value(&self.name))
                        .collect(),
                ),
            ),
            ("error", Value::Null),
        ])
    }
}

/// A plugin that failed to load, as listings show it.
#[derive(Debug, Clone)]
pub struct FailedPlugin {
    pub source: PluginSource,
    /// Known when its descriptor was read.
    pub name: Option<String>,
    pub error: String,
}

impl FailedPlugin {
    fn new(source: &PluginSource, error: &LoadError) -> Self {
        Self {
            source: source.clone(),
            name: error.plugin_name().map(str::to_owned),
            error: error.to_string(),
        }
    }

    /// The same fields as [`PluginInfo::to_value`], with `error` set.
    pub(crate) fn to_value(&self) -> Value {
        let (kind, path) = self.source.kind_and_path();
        dict([
            ("name", self.name.clone().map_or(Value::Null, Value::Str)),
            ("version", Value::Null),
            ("api_version", Value::Null),
            ("description", Value::Null),
            ("source", Value::Str(kind.to_owned())),
            ("path", path),
            ("commands", Value::List(Vec::new())),
            ("command_details", Value::List(Vec::new())),
            ("error", Value::Str(self.error.clone())),
        ])
    }
}

/// The outcome of loading one plugin.
#[derive(Debug)]
pub struct PluginReport {
    pub source: PluginSource,
    pub outcome: Result<PluginInfo, LoadError>,
}

impl PluginReport {
    /// The plugin's listing entry ([`PluginInfo::to_value`] or [`FailedPlugin::to_value`]).
    pub(crate) fn to_value(&self) -> Value {
        match &self.outcome {
            Ok(info) => info.to_value(),
            Err(error) => FailedPlugin::new(&self.source, error).to_value(),
        }
    }
}

/// Builds a JSON object from `(key, value)` pairs, keeping their order.
fn dict<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Dict(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// Everything [`load_all`] produced.
pub struct Loaded {
    pub registry: Registry,
    pub reports: Vec<PluginReport>,
}

/// What the loader needs from the configuration.
pub struct LoadOptions<'a> {
    /// Dylib files or directories, already resolved against the config file's folder.
    pub dylibs: &'a [PathBuf],
    /// Each plugin's `[plugins.<name>]` table, as JSON.
    pub plugin_config: &'a BTreeMap<String, serde_json::Value>,
    /// Command names the host itself owns; a plugin may not claim them.
    pub reserved_commands: &'a [&'a str],
    /// Run each plugin's init (serving). Without it plugins are checked and listed only:
    /// nothing of theirs runs (`labsocket plugins` next to a running server).
    pub run_init: bool,
    /// How long one plugin's init may take before the plugin is refused.
    pub init_timeout: Duration,
}

/// How long a plugin's init may take by default (`[limits] plugin_init_timeout_secs`).
pub(crate) const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Loads the compiled-in plugins (sorted by name) and then the configured dylibs, in order.
/// A plugin that fails is reported and skipped; the rest are loaded.
pub fn load_all(options: &LoadOptions<'_>, services: &HostServices) -> Loaded {
    let mut loader = Loader::new(options, services);
    let mut compiled_in: Vec<_> = labsocket_plugin_api::compiled_in().collect();
    // inventory yields in unspecified order; sort so loading (and clash reports) is stable.
    // SAFETY: compiled-in descriptors are statics of this binary built by `plugin!`.
    compiled_in.sort_by_key(|descriptor| unsafe { descriptor.name.as_bytes() }.to_vec());
    for descriptor in compiled_in {
        loader.accept(
            PluginSource::CompiledIn,
            Ok(Descriptor::compiled_in(descriptor)),
        );
    }
    for dylib in load::expand_dylib_paths(options.dylibs) {
        let descriptor = load::open_dylib(&dylib.path);
        if dylib.in_folder {
            if let Err(error @ LoadError::NotAPlugin { .. }) = &descriptor {
                // A folder may hold other libraries (a plugin's own dependencies).
                tracing::debug!("skipped: {error}");
                continue;
            }
        }
        loader.accept(PluginSource::Dylib(dylib.path), descriptor);
    }
    loader.finish()
}

/// Loads one plugin alone into a registry of its own, with no other plugin and the
/// `reserved` command names; its load error if it fails. `bench-plugins` uses it to call
/// the same plugin compiled in and as a dylib side by side.
pub fn load_one(
    source: PluginSource,
    descriptor: Result<Descriptor, LoadError>,
    services: &HostServices,
    reserved: &[&str],
) -> Result<Registry, LoadError> {
    let options = LoadOptions {
        dylibs: &[],
        plugin_config: &BTreeMap::new(),
        reserved_commands: reserved,
        run_init: true,
        init_timeout: DEFAULT_INIT_TIMEOUT,
    };
    let mut loader = Loader::new(&options, services);
    loader.accept(source, descriptor);
    let mut loaded = loader.finish();
    match loaded.reports.pop().map(|report| report.outcome) {
        Some(Err(error)) => Err(error),
        _ => Ok(loaded.registry),
    }
}

/// The host's stop sequence for plugins, after the front ends stopped: signals
/// `stopping`, ends every subscription (each delivers what was queued, then drops its
/// user data), then calls each plugin's `shutdown` hook in reverse load order. Each step
/// waits at most `timeout` per plugin. Blocks: run it off the async workers.
pub(crate) fn stop(registry: &Registry, services: &HostServices, timeout: Duration) {
    services.end_subscriptions(timeout);
    registry.shut_down_plugins(timeout);
}

struct Loader<'a> {
    services: &'a HostServices,
    options: &'a LoadOptions<'a>,
    parts: registry::Parts,
    reports: Vec<PluginReport>,
}

impl<'a> Loader<'a> {
    fn new(options: &'a LoadOptions<'a>, services: &'a HostServices) -> Self {
        Self {
            services,
            options,
            parts: registry::Parts::default(),
            reports: Vec::new(),
        }
    }

    fn finish(self) -> Loaded {
        Loaded {
            registry: Registry::new(self.parts),
            reports: self.reports,
        }
    }

    fn accept(&mut self, source: PluginSource, descriptor: Result<Descriptor, LoadError>) {
        let outcome = descriptor
            .and_then(|descriptor| load::validate(descriptor, &source))
            .and_then(|plugin| {
                self.register(&plugin, &source).inspect_err(|error| {
                    self.mark_unavailable(&plugin, error);
                })
            });
        match &outcome {
            Ok(info) => tracing::info!(
                plugin = %info.name,
                version = %info.version,
                source = %info.source,
                commands = info.commands.len(),
                "plugin loaded"
            ),
            Err(error) => {
                tracing::error!("plugin not loaded: {error}");
                self.parts.failed.push(FailedPlugin::new(&source, error));
            }
        }
        self.reports.push(PluginReport { source, outcome });
    }

    /// Remembers the commands of a plugin that was read but not loaded, so calling one
    /// says why instead of "unknown method" (commands another plugin or the core owns
    /// stay theirs).
    fn mark_unavailable(&mut self, plugin: &load::Validated, error: &LoadError) {
        for command in &plugin.commands {
            if self.parts.commands.contains_key(&command.name)
                || self
                    .options
                    .reserved_commands
                    .contains(&command.name.as_str())
            {
                continue;
            }
            self.parts.unavailable.insert(
                command.name.clone(),
                registry::Unavailable {
                    plugin: plugin.name.clone(),
                    reason: error.to_string(),
                },
            );
        }
    }

    /// Checks for clashes, runs init (if asked), and adds the commands.
    fn register(
        &mut self,
        plugin: &load::Validated,
        source: &PluginSource,
    ) -> Result<PluginInfo, LoadError> {
        if let Some(first) = self.parts.plugins.iter().find(|p| p.name == plugin.name) {
            return Err(LoadError::DuplicatePlugin {
                name: plugin.name.clone(),
                first: first.source.clone(),
                second: source.clone(),
            });
        }
        for command in &plugin.commands {
            let owner = if self
                .options
                .reserved_commands
                .contains(&command.name.as_str())
            {
                Some("core".to_owned())
            } else {
                self.parts
                    .commands
                    .get(&command.name)
                    .map(|c| c.plugin.clone())
            };
            if let Some(first) = owner {
                return Err(LoadError::DuplicateCommand {
                    command: command.name.clone(),
                    first,
                    second: plugin.name.clone(),
                    origin: source.clone(),
                });
            }
        }
        let lost_events = Arc::new(AtomicU64::new(0));
        let host = host_api::table_for(&plugin.name, self.services, lost_events.clone());
        if self.options.run_init {
            // A plugin that never uses its directory must not fail for it (a read-only
            // data directory); one that does gets the OS error when it uses it.
            let dir = host_api::plugin_dir(&self.services.data_dir, &plugin.name);
            if let Err(err) = std::fs::create_dir_all(&dir) {
                tracing::warn!(
                    plugin = %plugin.name,
                    "cannot create the directory {} of plugin '{}': {err}",
                    dir.display(),
                    plugin.name
                );
            }
            if let Some(init) = plugin.init {
                self.run_init(init, host, plugin, source)?;
            }
        }
        let commands: Vec<CommandInfo> = plugin
            .commands
            .iter()
            .map(|command| CommandInfo {
                name: command.name.clone(),
                description: command.description.clone(),
                read_only: command.read_only,
                params: command.params.clone(),
                result: command.result.clone(),
                annotations: command.annotations.clone(),
            })
            .collect();
        for (command, info) in plugin.commands.iter().zip(&commands) {
            self.parts.unavailable.remove(&command.name);
            self.parts.commands.insert(
                command.name.clone(),
                CommandEntry::new(command, info.clone(), &plugin.name, host),
            );
        }
        self.parts.hooks.push(registry::Hooks {
            plugin: plugin.name.clone(),
            host,
            shutdown: plugin.shutdown,
        });
        let info = PluginInfo {
            name: plugin.name.clone(),
            version: plugin.version.clone(),
            api_version: plugin.api_version.clone(),
            build_info: plugin.build_info.clone(),
            description: plugin.description.clone(),
            source: source.clone(),
            commands,
            lost_events,
        };
        self.parts.plugins.push(info.clone());
        Ok(info)
    }

    /// Runs `init` on a thread of its own, waiting at most the init timeout: a plugin
    /// whose init hangs (an instrument that never answers) is refused, and the host
    /// starts without it. The thread is left to finish on its own.
    fn run_init(
        &self,
        init: InitFn,
        host: &'static HostApi,
        plugin: &load::Validated,
        source: &PluginSource,
    ) -> Result<(), LoadError> {
        let config = self
            .options
            .plugin_config
            .get(&plugin.name)
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}))
            .to_string();
        let failed = |message: String| LoadError::InitFailed {
            plugin: plugin.name.clone(),
            origin: source.clone(),
            message,
        };
        let (sender, receiver) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(format!("plugin-{}-init", plugin.name))
            .spawn(move || {
                let mut error = OwnedBuf::empty();
                // SAFETY: `init` comes from a validated descriptor; `host` is 'static,
                // `config` outlives the call and `error` is a local slot (InitFn contract).
                let code = unsafe { init(host, StrRef::borrowed(&config), &mut error) };
                let _ = sender.send((code, registry::take_text(error)));
            })
            .map_err(|err| failed(format!("cannot start its init thread: {err}")))?;
        match receiver.recv_timeout(self.options.init_timeout) {
            Ok((status::OK, _)) => Ok(()),
            Ok((code, message)) => Err(failed(if message.is_empty() {
                format!("init returned status {code}")
            } else {
                message
            })),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(LoadError::InitTimedOut {
                plugin: plugin.name.clone(),
                origin: source.clone(),
                secs: self.options.init_timeout.as_secs_f64(),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(failed("its init thread ended without answering".to_owned()))
            }
        }
    }
}
