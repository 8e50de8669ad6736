//! Plugins: where commands come from.
//!
//! - [`load`]: finding dylibs, checking descriptors, the [`LoadError`] messages.
//! - [`host_api`]: the functions plugins call back into (emit, set_point, log).
//! - [`payload`]: how `NaN`/`Infinity` cross into plugins and back.
//! - [`registry`]: the immutable command table and how a call crosses the C ABI.
//!
//! [`load_all`] runs once at start-up, before any listener binds: it runs foreign
//! initialisers and disk I/O, and the registry is immutable afterwards (no locks on the
//! call path).

pub mod host_api;
pub mod load;
pub mod payload;
pub mod registry;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use labsocket_plugin_api::abi::{status, OwnedBuf, StrRef};

pub use host_api::HostServices;
pub use load::LoadError;
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

/// A loaded plugin, as `labsocket plugins` and the `plugins` command show it.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub build_info: String,
    pub source: PluginSource,
    /// `(name, one-line description)` in declaration order.
    pub commands: Vec<(String, String)>,
}

/// The outcome of loading one plugin.
#[derive(Debug)]
pub struct PluginReport {
    pub source: PluginSource,
    pub outcome: Result<PluginInfo, LoadError>,
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
}

/// Loads the compiled-in plugins (sorted by name) and then the configured dylibs, in order.
/// A plugin that fails is reported and skipped; the rest are loaded.
pub fn load_all(options: &LoadOptions<'_>, services: &HostServices) -> Loaded {
    let mut loader = Loader {
        services,
        options,
        commands: HashMap::new(),
        plugins: Vec::new(),
        reports: Vec::new(),
    };
    let mut compiled_in: Vec<_> = labsocket_plugin_api::compiled_in().collect();
    // inventory yields in unspecified order; sort so loading (and clash reports) is stable.
    // SAFETY: compiled-in descriptors are statics of this binary built by `plugin!`.
    compiled_in.sort_by_key(|descriptor| unsafe { descriptor.name.as_bytes() }.to_vec());
    for descriptor in compiled_in {
        loader.accept(PluginSource::CompiledIn, Ok(descriptor));
    }
    for path in load::expand_dylib_paths(options.dylibs) {
        let descriptor = load::open_dylib(&path);
        loader.accept(PluginSource::Dylib(path), descriptor);
    }
    Loaded {
        registry: Registry::new(loader.commands, loader.plugins),
        reports: loader.reports,
    }
}

/// Loads one plugin alone into a registry of its own, with no other plugin and
/// `reserved_commands` (the host's command names) reserved; its load error if it fails. `bench-plugins` uses it to call
/// the same plugin compiled in and as a dylib side by side.
pub fn load_one(
    source: PluginSource,
    descriptor: Result<&'static labsocket_plugin_api::abi::PluginDescriptor, LoadError>,
    services: &HostServices,
    reserved_commands: &[&str],
) -> Result<Registry, LoadError> {
    let options = LoadOptions {
        dylibs: &[],
        plugin_config: &BTreeMap::new(),
        reserved_commands,
        run_init: true,
    };
    let mut loader = Loader {
        services,
        options: &options,
        commands: HashMap::new(),
        plugins: Vec::new(),
        reports: Vec::new(),
    };
    loader.accept(source, descriptor);
    match loader.reports.pop().map(|report| report.outcome) {
        Some(Err(error)) => Err(error),
        _ => Ok(Registry::new(loader.commands, loader.plugins)),
    }
}

struct Loader<'a> {
    services: &'a HostServices,
    options: &'a LoadOptions<'a>,
    commands: HashMap<String, CommandEntry>,
    plugins: Vec<PluginInfo>,
    reports: Vec<PluginReport>,
}

impl Loader<'_> {
    fn accept(
        &mut self,
        source: PluginSource,
        descriptor: Result<&'static labsocket_plugin_api::abi::PluginDescriptor, LoadError>,
    ) {
        let outcome = descriptor
            .and_then(|descriptor| load::validate(descriptor, &source))
            .and_then(|plugin| self.register(plugin, &source));
        match &outcome {
            Ok(info) => tracing::info!(
                plugin = %info.name,
                version = %info.version,
                source = %info.source,
                commands = info.commands.len(),
                "plugin loaded"
            ),
            Err(err) => tracing::error!("plugin not loaded: {err}"),
        }
        self.reports.push(PluginReport { source, outcome });
    }

    /// Checks for clashes, runs init (if asked), and adds the commands.
    fn register(
        &mut self,
        plugin: load::Validated,
        source: &PluginSource,
    ) -> Result<PluginInfo, LoadError> {
        if let Some(first) = self.plugins.iter().find(|p| p.name == plugin.name) {
            return Err(LoadError::DuplicatePlugin {
                name: plugin.name,
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
                self.commands.get(&command.name).map(|c| c.plugin.clone())
            };
            if let Some(first) = owner {
                return Err(LoadError::DuplicateCommand {
                    command: command.name.clone(),
                    first,
                    second: plugin.name,
                    origin: source.clone(),
                });
            }
        }
        let host = host_api::table_for(&plugin.name, self.services);
        if let Some(init) = plugin.descriptor.init.filter(|_| self.options.run_init) {
            let config = self
                .options
                .plugin_config
                .get(&plugin.name)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}))
                .to_string();
            let mut error = OwnedBuf::empty();
            // SAFETY: `init` comes from a validated descriptor; `host` is 'static, `config`
            // outlives the call and `error` is a local slot (the InitFn contract).
            let code = unsafe { init(host, StrRef::borrowed(&config), &mut error) };
            let message = registry::take_text(error);
            if code != status::OK {
                return Err(LoadError::InitFailed {
                    plugin: plugin.name,
                    origin: source.clone(),
                    message: if message.is_empty() {
                        format!("init returned status {code}")
                    } else {
                        message
                    },
                });
            }
        }
        for command in &plugin.commands {
            self.commands.insert(
                command.name.clone(),
                CommandEntry::new(command, &plugin.name, host),
            );
        }
        let info = PluginInfo {
            name: plugin.name,
            version: plugin.version,
            api_version: plugin.api_version,
            build_info: plugin.build_info,
            source: source.clone(),
            commands: plugin
                .commands
                .iter()
                .map(|c| (c.name.clone(), c.description.clone()))
                .collect(),
        };
        self.plugins.push(info.clone());
        Ok(info)
    }
}
