//! Finding, checking and initialising plugins.
//!
//! Compiled-in plugins come from `inventory`; dylibs from the paths the config names (a
//! directory means every dynamic library in it). Both take the same path through
//! [`validate`] and then [`super::Loader::accept`]. A plugin that fails any check is
//! reported with a [`LoadError`] and skipped; the host keeps running without it.
//!
//! Libraries are never unloaded, not even after a failed check: a library's initialisers
//! have already run when `dlopen` returns, and unloading Rust code that may have started
//! threads or registered thread-local destructors is unsound (see
//! `reference/plugin-design.md` §1.6).

use std::collections::HashSet;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};

use labsocket_plugin_api::abi::{
    CommandDesc, CommandMeta, DescriptorFn, InitFn, PluginDescriptor, ShutdownFn, StrRef,
    ABI_MAGIC, ABI_VERSION, COMMAND_FLAG_READ_ONLY, DESCRIPTOR_SIZE_1_0, DESCRIPTOR_SYMBOL,
};
use semver::{Version, VersionReq};

use super::PluginSource;

/// Why a plugin was refused. Every message names the plugin's file (or "compiled-in").
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin file {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("cannot load {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    #[error(
        "{} is not a labsocket plugin: it exports no `{symbol}` symbol (not a plugin, or built for another plugin-API major)",
        path.display()
    )]
    NotAPlugin { path: PathBuf, symbol: &'static str },
    #[error("{origin}: the descriptor pointer is null")]
    NullDescriptor { origin: PluginSource },
    #[error("{origin}: bad magic {magic:#018x} (expected {ABI_MAGIC:#018x}): not a labsocket plugin descriptor")]
    BadMagic { origin: PluginSource, magic: u64 },
    #[error(
        "{origin}: descriptor is {size} bytes, smaller than the {minimum} of plugin API 1.0.0"
    )]
    TooSmall {
        origin: PluginSource,
        size: u32,
        minimum: usize,
    },
    #[error("{origin}: {field} is not valid UTF-8")]
    InvalidUtf8 { origin: PluginSource, field: String },
    #[error("{origin}: {field} '{value}' is not a semver version: {reason}")]
    BadVersion {
        origin: PluginSource,
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Incompatible(Box<Incompatibility>),
    #[error("{origin}: {problem}")]
    BadCommands {
        origin: PluginSource,
        problem: String,
    },
    #[error("plugin name '{name}' is taken: {first} and {second} both provide it")]
    DuplicatePlugin {
        name: String,
        first: PluginSource,
        second: PluginSource,
    },
    #[error(
        "command '{command}' is claimed by plugin '{first}' and by plugin '{second}' ({origin})"
    )]
    DuplicateCommand {
        command: String,
        first: String,
        second: String,
        origin: PluginSource,
    },
    #[error("plugin '{plugin}' ({origin}) failed to initialise: {message}")]
    InitFailed {
        plugin: String,
        origin: PluginSource,
        message: String,
    },
    #[error("plugin '{plugin}' ({origin}) failed to initialise: init did not finish within {secs} s ([limits] plugin_init_timeout_secs)")]
    InitTimedOut {
        plugin: String,
        origin: PluginSource,
        secs: f64,
    },
}

impl LoadError {
    /// The plugin's name, when the failure came after its descriptor was read.
    pub(crate) fn plugin_name(&self) -> Option<&str> {
        match self {
            LoadError::Incompatible(incompatibility) => Some(&incompatibility.plugin),
            LoadError::DuplicatePlugin { name, .. } => Some(name),
            LoadError::DuplicateCommand { second, .. } => Some(second),
            LoadError::InitFailed { plugin, .. } | LoadError::InitTimedOut { plugin, .. } => {
                Some(plugin)
            }
            _ => None,
        }
    }
}

/// A plugin built against an API version this host cannot serve (boxed: it is the
/// largest error and rare).
#[derive(Debug, thiserror::Error)]
#[error(
    "plugin '{plugin}' {version} ({origin}) requires plugin API ^{required}, host provides {host}: {why} (plugin built with {build_info})"
)]
pub struct Incompatibility {
    pub plugin: String,
    pub version: String,
    pub origin: PluginSource,
    pub required: String,
    pub host: &'static str,
    pub why: &'static str,
    pub build_info: String,
}

/// A plugin's descriptor as the host reads it.
///
/// A dylib built against an older minor has a shorter descriptor than this host's
/// `PluginDescriptor` type, so no `&PluginDescriptor` is ever made from a plugin's pointer:
/// each field is read through the raw pointer, the 1.1 fields only when the descriptor's
/// `struct_size` reaches them.
#[derive(Clone, Copy)]
pub struct Descriptor(*const PluginDescriptor);

// SAFETY: a descriptor is immutable static data of a never-unloaded library (or of this
// binary), so reading it from any thread cannot race.
unsafe impl Send for Descriptor {}

impl Descriptor {
    /// A descriptor compiled into this binary (full size: built with this ABI).
    pub fn compiled_in(descriptor: &'static PluginDescriptor) -> Self {
        Self(descriptor)
    }

    /// Whether the plugin's descriptor holds the field that ends at byte `end`.
    fn reaches(&self, end: usize) -> bool {
        // SAFETY: `struct_size` is a 1.0 field; a descriptor is at least 1.0-sized once
        // `validate` checked it (and `magic`/`struct_size` are its first bytes anyway).
        let size = unsafe { std::ptr::addr_of!((*self.0).struct_size).read() };
        size as usize >= end
    }
}

/// Reads field `$field` of a descriptor through its raw pointer.
macro_rules! field {
    ($descriptor:expr, $field:ident) => {
        // SAFETY: the pointer is non-null and points to a descriptor at least as large as
        // the field's end (1.0 fields: checked by `validate` before any other read; 1.1
        // fields: callers check `reaches` first). Plugins never write their descriptor.
        unsafe { std::ptr::addr_of!((*$descriptor.0).$field).read() }
    };
}

/// The byte where field `$field` of [`PluginDescriptor`] ends.
macro_rules! end_of {
    ($field:ident, $ty:ty) => {
        offset_of!(PluginDescriptor, $field) + size_of::<$ty>()
    };
}

/// A descriptor whose strings were checked and copied.
pub struct Validated {
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub build_info: String,
    /// One line about the plugin (1.1; empty when not given).
    pub description: String,
    pub init: Option<InitFn>,
    pub shutdown: Option<ShutdownFn>,
    pub commands: Vec<ValidatedCommand>,
}

pub struct ValidatedCommand {
    pub name: String,
    pub description: String,
    pub desc: &'static CommandDesc,
    pub read_only: bool,
    /// The params and result signatures (1.1 command metadata; empty when not given).
    pub params: String,
    pub result: String,
    /// Hints for front ends: a JSON object, or `None`.
    pub annotations: Option<serde_json::Value>,
}

/// A dylib to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DylibPath {
    pub path: PathBuf,
    /// Found by listing a configured folder, not named in the config: a library there
    /// without the entry symbol is skipped, not reported.
    pub in_folder: bool,
}

/// Expands the configured dylib paths: files as given, directories to the dynamic
/// libraries directly inside them (sorted, so load order is stable). Paths are
/// canonicalised, and a library reached twice (named, and again through its folder) is
/// loaded once.
pub fn expand_dylib_paths(paths: &[PathBuf]) -> Vec<DylibPath> {
    let mut expanded = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|file| {
                    file.is_file()
                        && file.extension().and_then(|e| e.to_str())
                            == Some(std::env::consts::DLL_EXTENSION)
                })
                .collect();
            found.sort();
            expanded.extend(found.into_iter().map(|path| DylibPath {
                path,
                in_folder: true,
            }));
        } else {
            expanded.push(DylibPath {
                path: path.clone(),
                in_folder: false,
            });
        }
    }
    let mut seen = HashSet::new();
    expanded
        .into_iter()
        .filter_map(|mut dylib| {
            // A missing file keeps its configured path, for the "does not exist" error.
            if let Ok(canonical) = std::fs::canonicalize(&dylib.path) {
                dylib.path = canonical;
            }
            if seen.insert(dylib.path.clone()) {
                Some(dylib)
            } else {
                tracing::debug!(
                    "plugin library {} is configured more than once; loading it once",
                    dylib.path.display()
                );
                None
            }
        })
        .collect()
}

/// Opens a dylib and returns its descriptor. The library is leaked (never unloaded).
pub fn open_dylib(path: &Path) -> Result<Descriptor, LoadError> {
    if !path.exists() {
        return Err(LoadError::Missing {
            path: path.to_owned(),
        });
    }
    let library = open_library(path).map_err(|err| LoadError::Open {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    // Never unload (module docs): from here on the library lives as long as the process.
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    let symbol = format!("{DESCRIPTOR_SYMBOL}\0");
    // SAFETY: the symbol's type is fixed by the ABI (`DescriptorFn`); a library exporting
    // this name with another type is not a labsocket plugin, and loading it is trusting it.
    let entry = unsafe { library.get::<DescriptorFn>(symbol.as_bytes()) }.map_err(|_| {
        LoadError::NotAPlugin {
            path: path.to_owned(),
            symbol: DESCRIPTOR_SYMBOL,
        }
    })?;
    // SAFETY: calling the plugin's entry point, which only returns a pointer to its static.
    let descriptor = unsafe { entry() };
    if descriptor.is_null() {
        return Err(LoadError::NullDescriptor {
            origin: PluginSource::Dylib(path.to_owned()),
        });
    }
    // Non-null, and points into the (never unloaded) library's static data. The magic and
    // size are checked before any other field is trusted.
    Ok(Descriptor(descriptor))
}

#[cfg(unix)]
fn open_library(path: &Path) -> Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // RTLD_NOW: unresolved symbols fail here, with a message, not at the first call.
    // SAFETY: loading runs the library's initialisers; the config named this file, and
    // loading a plugin is trusting it (docs/security.md).
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Into::into)
}

#[cfg(not(unix))]
fn open_library(path: &Path) -> Result<libloading::Library, libloading::Error> {
    // SAFETY: as on Unix: the config named this file.
    unsafe { libloading::Library::new(path) }
}

/// Checks everything in a descriptor that can be checked without running plugin code.
pub fn validate(descriptor: Descriptor, source: &PluginSource) -> Result<Validated, LoadError> {
    let magic = field!(descriptor, magic);
    if magic != ABI_MAGIC {
        return Err(LoadError::BadMagic {
            origin: source.clone(),
            magic,
        });
    }
    let struct_size = field!(descriptor, struct_size);
    if (struct_size as usize) < DESCRIPTOR_SIZE_1_0 {
        return Err(LoadError::TooSmall {
            origin: source.clone(),
            size: struct_size,
            minimum: DESCRIPTOR_SIZE_1_0,
        });
    }
    let text = |value: StrRef, field: &str| -> Result<String, LoadError> {
        // SAFETY: descriptor strings point into the plugin's static data (ABI contract).
        let bytes = unsafe { value.as_bytes() };
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| LoadError::InvalidUtf8 {
                origin: source.clone(),
                field: field.to_owned(),
            })
    };
    let name = text(field!(descriptor, name), "name")?;
    let version = text(field!(descriptor, version), "version")?;
    let api_version = text(field!(descriptor, abi_version), "abi_version")?;
    let build_info = text(field!(descriptor, build_info), "build_info")?;
    let semver = |field: &'static str, value: &str| {
        Version::parse(value).map_err(|err| LoadError::BadVersion {
            origin: source.clone(),
            field,
            value: value.to_owned(),
            reason: err.to_string(),
        })
    };
    let required = semver("plugin API version", &api_version)?;
    semver("version", &version)?;
    if let Err(why) = check_compatible(&required) {
        return Err(LoadError::Incompatible(Box::new(Incompatibility {
            plugin: name,
            version,
            origin: source.clone(),
            required: api_version,
            host: ABI_VERSION,
            why,
            build_info,
        })));
    }
    check_name(&name).map_err(|problem| LoadError::BadCommands {
        origin: source.clone(),
        problem,
    })?;
    let description = if descriptor.reaches(end_of!(description, StrRef)) {
        text(field!(descriptor, description), "description")?
    } else {
        String::new()
    };
    let shutdown = if descriptor.reaches(end_of!(shutdown, Option<ShutdownFn>)) {
        field!(descriptor, shutdown)
    } else {
        None
    };
    let commands = validate_commands(descriptor, source, &text)?;
    Ok(Validated {
        name,
        version,
        api_version,
        build_info,
        description,
        init: field!(descriptor, init),
        shutdown,
        commands,
    })
}

/// A plugin name names its directory (`<data_dir>/plugins/<name>/`) and prefixes log
/// lines: it must be a plain, visible file name.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the plugin name is empty".to_owned());
    }
    if name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "the plugin name '{}' is not a plain file name (no path separators, white space or '.'/'..')",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// The compatibility rule (Falco's): same major, host minor at least the plugin's. A
/// pre-release ABI is never accepted, because semver pre-releases only match themselves.
pub fn check_compatible(required: &Version) -> Result<(), &'static str> {
    let host = Version::parse(ABI_VERSION).expect("ABI_VERSION is a valid semver version");
    if !required.pre.is_empty() {
        return Err("pre-release plugin API versions are not accepted");
    }
    if required.major != host.major {
        return Err("the major versions differ");
    }
    let caret = VersionReq::parse(&format!("^{required}")).map_err(|_| "unparseable version")?;
    if caret.matches(&host) {
        Ok(())
    } else {
        Err("the plugin needs a newer host")
    }
}

/// Most commands one plugin may declare; a larger count means a corrupt descriptor.
const MAX_COMMANDS: usize = 10_000;

fn validate_commands(
    descriptor: Descriptor,
    source: &PluginSource,
    text: &dyn Fn(StrRef, &str) -> Result<String, LoadError>,
) -> Result<Vec<ValidatedCommand>, LoadError> {
    let problem = |problem: String| LoadError::BadCommands {
        origin: source.clone(),
        problem,
    };
    let n_commands = field!(descriptor, n_commands);
    let pointer = field!(descriptor, commands);
    if n_commands > MAX_COMMANDS {
        return Err(problem(format!(
            "{n_commands} commands declared (at most {MAX_COMMANDS})"
        )));
    }
    if n_commands > 0 && pointer.is_null() {
        return Err(problem("the command table pointer is null".to_owned()));
    }
    let table: &'static [CommandDesc] = if n_commands == 0 {
        &[]
    } else {
        // SAFETY: non-null, and the descriptor promises `n_commands` entries in static data
        // (CommandDesc has the same layout in every 1.x).
        unsafe { std::slice::from_raw_parts(pointer, n_commands) }
    };
    let meta_pointer = if descriptor.reaches(end_of!(command_meta, *const CommandMeta)) {
        field!(descriptor, command_meta)
    } else {
        std::ptr::null()
    };
    let meta: &'static [CommandMeta] = if meta_pointer.is_null() || n_commands == 0 {
        &[]
    } else {
        // SAFETY: non-null, and the 1.1 contract promises `n_commands` entries, in the
        // order of the command table, in the plugin's static data.
        unsafe { std::slice::from_raw_parts(meta_pointer, n_commands) }
    };
    let mut seen = HashSet::new();
    let mut commands = Vec::with_capacity(table.len());
    for (index, desc) in table.iter().enumerate() {
        let name = text(desc.name, &format!("command #{index} name"))?;
        let description = text(desc.description, &format!("command '{name}' description"))?;
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(problem(format!(
                "command #{index} has an empty name or one with white space: '{name}'"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(problem(format!("command '{name}' is declared twice")));
        }
        let (params, result, annotations) = match meta.get(index) {
            Some(meta) => {
                let params = text(meta.params, &format!("command '{name}' params"))?;
                let result = text(meta.result, &format!("command '{name}' result"))?;
                let annotations = text(meta.annotations, &format!("command '{name}' annotations"))?;
                let annotations = if annotations.is_empty() {
                    None
                } else {
                    match serde_json::from_str::<serde_json::Value>(&annotations) {
                        Ok(object @ serde_json::Value::Object(_)) => Some(object),
                        _ => {
                            return Err(problem(format!(
                                "command '{name}' annotations are not a JSON object: {annotations}"
                            )))
                        }
                    }
                };
                (params, result, annotations)
            }
            None => (String::new(), String::new(), None),
        };
        commands.push(ValidatedCommand {
            name,
            description,
            desc,
            read_only: desc.flags & COMMAND_FLAG_READ_ONLY != 0,
            params,
            result,
            annotations,
        });
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use labsocket_plugin_api::abi::{HostApi, OwnedBuf};

    use super::*;

    unsafe extern "C" fn never_shut_down(_host: *const HostApi, _error: *mut OwnedBuf) -> u32 {
        0
    }

    /// A descriptor whose 1.1 fields hold values the host must not read when the
    /// descriptor says it is 1.0-sized.
    static OLD: PluginDescriptor = PluginDescriptor {
        magic: ABI_MAGIC,
        struct_size: DESCRIPTOR_SIZE_1_0 as u32,
        abi_version: StrRef::from_static("1.0.0"),
        name: StrRef::from_static("old"),
        version: StrRef::from_static("0.1.0"),
        build_info: StrRef::from_static("test"),
        commands: std::ptr::null(),
        n_commands: 0,
        init: None,
        command_meta: std::ptr::null(),
        shutdown: Some(never_shut_down),
        description: StrRef::from_static("must not be read"),
    };

    #[test]
    fn a_1_0_descriptor_has_no_1_1_fields() {
        let validated = validate(Descriptor::compiled_in(&OLD), &PluginSource::CompiledIn)
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(validated.api_version, "1.0.0");
        assert!(validated.shutdown.is_none());
        assert_eq!(validated.description, "");
        assert_eq!(
            DESCRIPTOR_SIZE_1_0,
            offset_of!(PluginDescriptor, command_meta),
            "1.1 fields start where 1.0 ended"
        );
    }

    #[test]
    fn a_descriptor_smaller_than_1_0_is_refused() {
        static TINY: PluginDescriptor = PluginDescriptor {
            struct_size: 8,
            ..OLD
        };
        let error = validate(Descriptor::compiled_in(&TINY), &PluginSource::CompiledIn)
            .err()
            .expect("refused");
        assert!(error
            .to_string()
            .contains("descriptor is 8 bytes, smaller than the 104"));
    }

    #[test]
    fn plugin_names_must_be_plain_file_names() {
        assert!(check_name("units").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a b", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn compatible(required: &str) -> bool {
        check_compatible(&Version::parse(required).unwrap()).is_ok()
    }

    #[test]
    fn version_rule_is_same_major_and_host_minor_at_least_plugins() {
        let host = Version::parse(ABI_VERSION).unwrap();
        assert!(compatible(ABI_VERSION));
        assert!(compatible(&format!("{}.0.0", host.major)));
        assert!(!compatible(&format!("{}.{}.0", host.major, host.minor + 1)));
        assert!(!compatible(&format!("{}.0.0", host.major + 1)));
        if host.major > 0 {
            assert!(!compatible(&format!("{}.9.9", host.major - 1)));
        }
        assert!(!compatible(&format!("{}-alpha", ABI_VERSION)));
    }
}
