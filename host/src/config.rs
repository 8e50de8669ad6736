//! The TOML configuration (SPEC §4) and its validation.
//!
//! Parsing is serde + `toml` with `deny_unknown_fields`, so a typo is an error that names
//! the key, not a silently ignored setting. [`Config::load`] then checks what types cannot
//! express (ranges, clashes) and reports `file: [section] key: what is wrong`. A bad config
//! starts nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::pyexplabsys::config::{LiveSocketConfig, PullKind, PullSocketConfig, PushSocketConfig};

mod toml_errors;

/// How logs name the legacy `[native] auth_token*` (an admin token without a name).
const LEGACY_TOKEN: &str = "[native] auth_token";

/// The plugin whose config is the top-level `[history]` table.
const HISTORY_PLUGIN: &str = "history";

/// A config the server refuses, with the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("config error in {file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

/// The whole configuration. Every section is optional; [`Config::default`] is the
/// built-in default `labsocket serve` runs with no `--config`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerSection,
    pub native: NativeSection,
    /// `[[auth.token]]`: named tokens with roles (SPEC §10).
    pub auth: AuthSection,
    pub http: crate::http::HttpSection,
    pub live_server: crate::live_server::LiveServerSection,
    pub pyminer: crate::pyminer::PyMinerSection,
    /// `[tls]`: with it, the native and HTTP front ends speak TLS only (SPEC §10).
    pub tls: Option<TlsSection>,
    pub limits: LimitsSection,
    pub plugins: PluginsSection,
    /// `[history]` (SPEC §8): the `history` plugin's table, at the top level because
    /// recording is on by default and users look for it there. Passed through as that
    /// plugin's config; checked at load by the plugin's own parser so a bad key stops the
    /// start (§4) instead of only failing the plugin.
    #[serde(default)]
    pub history: Option<toml::Table>,
    /// Federation through an MQTT 5 broker (SPEC §9): handed as is to the `mqtt` plugin,
    /// which checks its keys. No table: federation is off.
    pub mqtt: Option<toml::Value>,
    /// Timed-point sources, `[[source]]`. Empty by default in a file: the built-in
    /// default's system source must not appear in a config file that lists none.
    #[serde(default)]
    pub source: Vec<crate::sources::SourceConfig>,
    /// PyExpLabSys UDP sockets. Field defaults are empty lists: the built-in default's
    /// pull socket must not appear in a config file that lists none.
    #[serde(default)]
    pub pull_socket: Vec<PullSocketConfig>,
    #[serde(default)]
    pub push_socket: Vec<PushSocketConfig>,
    #[serde(default)]
    pub live_socket: Vec<LiveSocketConfig>,
    /// The folder relative paths are resolved against: the config file's, else the
    /// working directory.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this came from (`None` for the built-in default).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// The address every front end binds unless it says otherwise. Loopback by default:
    /// exposing labsocket on a network is a deliberate act (docs/security.md).
    pub bind: IpAddr,
    /// Where persistent state (workspace, settings) lives; relative to `base_dir`.
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NativeSection {
    pub enabled: bool,
    pub port: u16,
    /// Defaults to `[server] bind`.
    pub bind: Option<IpAddr>,
    /// Seconds between `heartbeat` notifications on every connection; 0 turns them off.
    pub heartbeat_secs: f64,
    /// A shared secret every connection must send with `auth` first (docs/security.md).
    /// Prefer `auth_token_file`: a config file is often shared, a secret should not be.
    pub auth_token: Option<crate::access::Secret>,
    /// A file whose first line is the secret, relative to the config file; it must not
    /// be accessible to other users.
    pub auth_token_file: Option<PathBuf>,
}

/// `[auth]`: the tokens native clients (and, once any is named here, HTTP clients) use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub token: Vec<TokenConfig>,
}

/// One `[[auth.token]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Named in logs (refusals) instead of the secret.
    pub name: String,
    /// A file whose first line is the secret, relative to the config file; private
    /// (mode 600), at least 16 characters.
    pub token_file: PathBuf,
    pub role: crate::access::Role,
}

/// `[tls]`: the server's certificate and key; paths are relative to the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM: the server's certificate first, then any intermediate CA certificates.
    pub cert_file: PathBuf,
    /// PEM: the certificate's private key.
    pub key_file: PathBuf,
    /// How long a client may take to finish its TLS handshake before it is dropped.
    #[serde(default = "default_handshake_timeout_secs")]
    pub handshake_timeout_secs: f64,
}

fn default_handshake_timeout_secs() -> f64 {
    crate::tls::DEFAULT_HANDSHAKE_TIMEOUT.as_secs_f64()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Open TCP connections across all TCP front ends; one more is refused with an error.
    pub max_connections: usize,
    /// Longest native protocol line (request) in bytes.
    pub max_line_bytes: usize,
    /// Largest raw-byte frame after a native request line (`{"$binary": N}`), in bytes;
    /// unset: the workspace's `max_variable_bytes` (the largest value it stores).
    pub max_binary_bytes: Option<usize>,
    /// Longest PyMiner frame in bytes (PyMiner allows 300 MB base64 values).
    pub max_frame_bytes: usize,
    /// Largest UDP datagram read whole.
    pub max_datagram: usize,
    /// How long a caller waits for a plugin command, in seconds.
    pub command_timeout_secs: f64,
    /// Events a front-end subscriber (a native connection, the web view, a live socket) may
    /// fall behind before it loses the oldest (it is told how many).
    pub event_buffer: usize,
    /// Bytes of events a plugin's subscription may hold unread before it loses the oldest
    /// (it is told how many).
    pub subscription_buffer_bytes: usize,
    /// How long one plugin's init may take at start-up before the plugin is refused.
    pub plugin_init_timeout_secs: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PluginsSection {
    /// Dynamic-library plugins: files, or folders whose libraries are all loaded.
    pub dylibs: Vec<PathBuf>,
    /// Every other key is a plugin's own table, `[plugins.<name>]`, handed to its init.
    #[serde(flatten)]
    pub tables: BTreeMap<String, toml::Value>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerSection::default(),
            native: NativeSection::default(),
            auth: AuthSection::default(),
            http: Default::default(),
            live_server: Default::default(),
            pyminer: crate::pyminer::PyMinerSection::default(),
            tls: None,
            limits: LimitsSection::default(),
            plugins: PluginsSection::default(),
            history: None,
            mqtt: None,
            source: vec![system_source()],
            pull_socket: vec![system_pull_socket()],
            push_socket: Vec::new(),
            live_socket: Vec::new(),
            base_dir: PathBuf::from("."),
            file: None,
        }
    }
}

/// The built-in default's source: the machine's own metrics every second, which feed
/// [`system_pull_socket`].
fn system_source() -> crate::sources::SourceConfig {
    crate::sources::SourceConfig {
        command: "system.sample".to_owned(),
        interval_secs: 1.0,
        params: None,
    }
}

/// The built-in default's date pull socket on 9000, serving the `system` plugin's metrics
/// (SPEC §3). The timeout marks them `OLD_DATA` if the source feeding them stops.
fn system_pull_socket() -> PullSocketConfig {
    PullSocketConfig {
        name: "labsocket system".to_owned(),
        kind: PullKind::Date,
        port: Some(9000),
        codenames: system::CODENAMES.iter().map(|c| (*c).to_owned()).collect(),
        timeouts: BTreeMap::new(),
        timeout: Some(5.0),
        check_activity: true,
        activity_timeout: 900.0,
        allow: None,
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            data_dir: PathBuf::from("labsocket-data"),
        }
    }
}

impl Default for NativeSection {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 12307,
            bind: None,
            heartbeat_secs: 10.0,
            auth_token: None,
            auth_token_file: None,
        }
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_line_bytes: 16 * 1024 * 1024,
            max_binary_bytes: None,
            max_frame_bytes: 512 * 1024 * 1024,
            max_datagram: 65_507,
            command_timeout_secs: 30.0,
            event_buffer: crate::events::EventBus::CAPACITY,
            subscription_buffer_bytes: crate::events::EventBus::SUBSCRIPTION_BYTES,
            plugin_init_timeout_secs: 30.0,
        }
    }
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            file: file.clone(),
            message: format!("cannot read the file: {err}"),
        })?;
        let mut config = Self::from_toml(&text, &file)?;
        config.base_dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        config.file = Some(path.to_owned());
        // After base_dir: the checks read files named relative to the config file.
        config.validate().map_err(|message| ConfigError {
            file: file.clone(),
            message,
        })?;
        Ok(config)
    }

    /// Parses and validates TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let config = Self::from_toml(text, file)?;
        config.validate().map_err(|message| ConfigError {
            file: file.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// TOML text as a config, not yet validated.
    fn from_toml(text: &str, file: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|err| ConfigError {
            file: file.to_owned(),
            message: toml_errors::describe(text, &err),
        })
    }

    /// The file name for messages (`<built-in default>` without one).
    pub fn file_name(&self) -> String {
        self.file
            .as_ref()
            .map(|file| file.display().to_string())
            .unwrap_or_else(|| "<built-in default>".to_owned())
    }

    /// `path` resolved against the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The data directory, resolved.
    pub fn data_dir(&self) -> PathBuf {
        self.resolve(&self.server.data_dir)
    }

    /// Each plugin's own table as JSON, for its init hook. The top-level tables of
    /// first-party subsystems are included under their plugin's name: `[mqtt]` as the
    /// `mqtt` plugin's, `[history]` as the `history` plugin's.
    pub fn plugin_tables_json(&self) -> BTreeMap<String, serde_json::Value> {
        let mut tables: BTreeMap<String, serde_json::Value> = self
            .plugins
            .tables
            .iter()
            .map(|(name, table)| {
                let json = serde_json::to_value(table).unwrap_or(serde_json::Value::Null);
                (name.to_owned(), json)
            })
            .collect();
        if let Some(mqtt) = self.mqtt_json() {
            tables.insert("mqtt".to_owned(), mqtt);
        }
        if let Some(history) = self.history_json() {
            tables.insert(HISTORY_PLUGIN.to_owned(), history);
        }
        tables
    }

    /// `[history]` as JSON, with a relative `password_file` resolved against the config
    /// file's folder (like every other path in the file).
    fn history_json(&self) -> Option<serde_json::Value> {
        let json = serde_json::to_value(self.history.as_ref()?).ok()?;
        Some(self.resolve_keys(json, &["password_file"]))
    }

    /// `[mqtt]` as JSON, with its relative file paths resolved like `[history]`'s.
    fn mqtt_json(&self) -> Option<serde_json::Value> {
        let json = serde_json::to_value(self.mqtt.as_ref()?).ok()?;
        Some(self.resolve_keys(json, &["password_file", "ca_file", "cert_file", "key_file"]))
    }

    /// `table` with the string values of `keys` resolved against the config file's folder.
    fn resolve_keys(&self, mut table: serde_json::Value, keys: &[&str]) -> serde_json::Value {
        for key in keys {
            if let Some(file) = table.get_mut(*key) {
                if let Some(path) = file.as_str() {
                    *file = self.resolve(Path::new(path)).display().to_string().into();
                }
            }
        }
        table
    }

    /// Every token the server accepts, token files read now: the legacy `[native]
    /// auth_token*` (an admin token) and each `[[auth.token]]`. The error names the key
    /// and the file (missing, readable by others, too short, a secret used twice).
    pub fn tokens(&self) -> Result<crate::access::Tokens, String> {
        use crate::access::{read_token_file, Role, Tokens};
        let mut tokens = Tokens::default();
        let native = &self.native;
        match (&native.auth_token, &native.auth_token_file) {
            (None, None) => {}
            (Some(_), Some(_)) => {
                return Err(
                    "[native] auth_token, auth_token_file: set one of them, not both".to_owned(),
                )
            }
            (Some(secret), None) => tokens.add(
                "[native] auth_token",
                LEGACY_TOKEN,
                Role::Admin,
                secret.clone(),
            )?,
            (None, Some(file)) => {
                let key = "[native] auth_token_file";
                let secret = read_token_file(key, &self.resolve(file))?;
                tokens.add(key, LEGACY_TOKEN, Role::Admin, secret)?;
            }
        }
        for (i, token) in self.auth.token.iter().enumerate() {
            let key = format!("[[auth.token]] #{} \"{}\" token_file", i + 1, token.name);
            let secret = read_token_file(&key, &self.resolve(&token.token_file))?;
            tokens.add(&key, &token.name, token.role, secret)?;
        }
        Ok(tokens)
    }

    /// The checks types cannot express. Re-run after command-line overrides.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for (i, token) in self.auth.token.iter().enumerate() {
            let key = format!("[[auth.token]] #{} name", i + 1);
            if token.name.trim().is_empty() || token.name == LEGACY_TOKEN {
                return Err(format!(
                    "{key}: must be a non-empty name other than '{LEGACY_TOKEN}'"
                ));
            }
            if !names.insert(token.name.as_str()) {
                return Err(format!("{key}: '{}' is used twice", token.name));
            }
        }
        let heartbeat = self.native.heartbeat_secs;
        if !heartbeat.is_finite() || heartbeat < 0.0 {
            return Err(format!(
                "[native] heartbeat_secs: must be 0 (off) or a positive number of seconds, not {heartbeat}"
            ));
        }
        self.pyminer.validate()?;
        if let Some(tls) = &self.tls {
            let timeout = tls.handshake_timeout_secs;
            if !(timeout > 0.0 && timeout <= 3600.0) {
                return Err(format!(
                    "[tls] handshake_timeout_secs: must be above 0 and at most 3600 seconds, not {timeout}"
                ));
            }
        }
        let limits = &self.limits;
        if !(16..=16 * 1024 * 1024).contains(&limits.event_buffer) {
            return Err("[limits] event_buffer: must be between 16 and 16777216".to_owned());
        }
        if limits.subscription_buffer_bytes < 64 * 1024 {
            return Err("[limits] subscription_buffer_bytes: must be at least 65536".to_owned());
        }
        if limits.max_connections == 0 {
            return Err("[limits] max_connections: must be at least 1".to_owned());
        }
        if limits.max_line_bytes < 64 {
            return Err("[limits] max_line_bytes: must be at least 64".to_owned());
        }
        if limits.max_frame_bytes < 64 {
            return Err("[limits] max_frame_bytes: must be at least 64".to_owned());
        }
        if !(1..=65_507).contains(&limits.max_datagram) {
            return Err("[limits] max_datagram: must be between 1 and 65507".to_owned());
        }
        if !limits.command_timeout_secs.is_finite() || limits.command_timeout_secs <= 0.0 {
            return Err("[limits] command_timeout_secs: must be a positive number".to_owned());
        }
        if !(limits.plugin_init_timeout_secs > 0.0 && limits.plugin_init_timeout_secs <= 3600.0) {
            return Err(
                "[limits] plugin_init_timeout_secs: must be a number of seconds above 0 and at most 3600"
                    .to_owned(),
            );
        }
        if let Some((name, _)) = self
            .plugins
            .tables
            .iter()
            .find(|(_, table)| !table.is_table())
        {
            return Err(format!(
                "[plugins] {name}: unknown key (plugin settings go in a [plugins.{name}] table; the only other key is 'dylibs')"
            ));
        }
        if let Some(mqtt) = &self.mqtt {
            if !mqtt.is_table() {
                return Err("mqtt: must be a table, [mqtt]".to_owned());
            }
            if self.plugins.tables.contains_key("mqtt") {
                return Err(
                    "[plugins.mqtt]: federation is configured in the top-level [mqtt] table; remove [plugins.mqtt]"
                        .to_owned(),
                );
            }
            mqtt::check_config(self.mqtt_json().unwrap_or_default())?;
        }
        if self.history.is_some() && self.plugins.tables.contains_key(HISTORY_PLUGIN) {
            return Err(
                "[plugins.history]: history is configured in [history]; remove one of the two"
                    .to_owned(),
            );
        }
        if let Some(history) = self.history_json() {
            history::Config::from_json(history)?;
        }
        crate::sources::config::validate(&self.source)?;
        crate::pyexplabsys::config::validate(
            &self.pull_socket,
            &self.push_socket,
            &self.live_socket,
        )?;
        self.http.validate()?;
        self.live_server.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        let config = Config::parse("", "x.toml").unwrap();
        assert_eq!(config.native.port, 12307);
        assert_eq!(config.pyminer.port, 12306);
        assert!(config.pyminer.enabled);
        assert_eq!(config.server.bind, IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn unknown_key_names_the_key_and_file() {
        let err = Config::parse("[native]\nprot = 1\n", "lab.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("config error in lab.toml:"), "{text}");
        assert!(text.contains("prot"), "{text}");
    }

    #[test]
    fn wrong_type_names_the_line() {
        let err = Config::parse("[native]\nport = \"x\"\n", "lab.toml").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn range_checks_name_section_and_key() {
        let err = Config::parse("[native]\nheartbeat_secs = -1\n", "lab.toml").unwrap_err();
        assert!(err.to_string().contains("[native] heartbeat_secs"), "{err}");
        let err = Config::parse("[pyminer]\nheartbeat_secs = nan\n", "lab.toml").unwrap_err();
        assert!(
            err.to_string().contains("[pyminer] heartbeat_secs"),
            "{err}"
        );
        let err = Config::parse("[limits]\nmax_datagram = 70000\n", "lab.toml").unwrap_err();
        assert!(err.to_string().contains("[limits] max_datagram"), "{err}");
    }

    #[test]
    fn plugin_tables_are_kept_and_stray_keys_refused() {
        let config = Config::parse(
            "[plugins]\ndylibs = [\"a.so\"]\n[plugins.hello]\nx = 1\n",
            "f",
        )
        .unwrap();
        assert_eq!(config.plugins.dylibs, [PathBuf::from("a.so")]);
        assert_eq!(config.plugin_tables_json()["hello"]["x"], 1);
        let config =
            Config::parse("[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\nlab = \"l\"\n", "f").unwrap();
        assert_eq!(config.plugin_tables_json()["mqtt"]["lab"], "l");
        assert!(!Config::default().plugin_tables_json().contains_key("mqtt"));
        let err = Config::parse("[mqtt]\n[plugins.mqtt]\n", "f").unwrap_err();
        assert!(err.to_string().contains("[plugins.mqtt]"), "{err}");
        let err = Config::parse("[plugins]\ndylib = \"a.so\"\n", "f").unwrap_err();
        assert!(err.to_string().contains("[plugins] dylib"), "{err}");
    }

    #[test]
    fn history_is_passed_to_its_plugin_and_checked_at_load() {
        assert!(!Config::default()
            .plugin_tables_json()
            .contains_key("history"));
        let config = Config::parse(
            "[history]\nflush_interval_secs = 0.1\n[[history.record]]\ncodenames = [\"a*\"]\n",
            "f",
        )
        .unwrap();
        let table = &config.plugin_tables_json()["history"];
        assert_eq!(table["flush_interval_secs"], 0.1);
        assert_eq!(table["record"][0]["codenames"][0], "a*");
        let err = Config::parse("[history]\nflush_intervall = 1\n", "lab.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config error in lab.toml: [history]"),
            "{err}"
        );
        assert!(err.to_string().contains("flush_intervall"), "{err}");
        let err = Config::parse("[[history.record]]\nmin_change = -1\n", "lab.toml").unwrap_err();
        assert!(
            err.to_string().contains("[history] record[0].min_change"),
            "{err}"
        );
        let err = Config::parse("[history]\n[plugins.history]\n", "lab.toml").unwrap_err();
        assert!(err.to_string().contains("[plugins.history]"), "{err}");
    }

    #[test]
    fn udp_sockets_only_come_from_the_file() {
        assert_eq!(Config::default().pull_socket[0].port(), 9000);
        let config = Config::parse("", "f").unwrap();
        assert!(config.pull_socket.is_empty());
        let config = Config::parse(
            "[[pull_socket]]\nname = \"p\"\ncodenames = [\"a\"]\ntimeouts = { a = 1.5 }\n",
            "f",
        )
        .unwrap();
        assert_eq!(config.pull_socket[0].timeout_of("a"), Some(1.5));
        let err = Config::parse(
            "[[pull_socket]]\nname = \"p\"\ncodenames = [\"a\", \"a\"]\n",
            "lab.toml",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error in lab.toml: [[pull_socket]] #1 \"p\" codenames: Codenames must be \
             unique; 'a' is present more than once"
        );
        let err = Config::parse(
            "[[push_socket]]\nname = \"q\"\naction = \"shout\"\n",
            "lab.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("Unknown action 'shout'"), "{err}");
        let err = Config::parse(
            "[[pull_socket]]\nname = \"p\"\ncodenames = []\n[[push_socket]]\nname = \"q\"\nport = 9000\n",
            "lab.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(
                "[[push_socket]] #1 \"q\" port: A UDP server already exists on port: 9000"
            ),
            "{err}"
        );
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = std::env::temp_dir().join(format!("labsocket-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lab.toml");
        std::fs::write(&file, "[server]\ndata_dir = \"state\"\n").unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.data_dir(), dir.join("state"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn allow_lists_parse_and_a_bad_entry_names_the_key() {
        let config = Config::parse(
            "[pyminer]\nallow = [\"127.0.0.1/32\", \"10.1.2.0/24\"]\n\
             [live_server]\nallow = [\"::1\"]\n\
             [[pull_socket]]\nname = \"p\"\ncodenames = []\nallow = [\"127.0.0.1\"]\n\
             [[push_socket]]\nname = \"q\"\nallow = []\n",
            "f",
        )
        .unwrap();
        let allow = config.pyminer.allow.unwrap();
        assert!(allow.allows("10.1.2.9".parse().unwrap()));
        assert!(!allow.allows("10.1.3.9".parse().unwrap()));
        assert!(config
            .live_server
            .allow
            .unwrap()
            .allows("::1".parse().unwrap()));
        assert!(config.pull_socket[0].allow.is_some());
        assert!(!config.push_socket[0]
            .allow
            .as_ref()
            .unwrap()
            .allows("127.0.0.1".parse().unwrap()));
        for (text, key) in [
            ("[pyminer]\nallow = [\"10.1.2.0/33\"]\n", "[pyminer] allow"),
            ("[live_server]\nallow = [\"lab\"]\n", "[live_server] allow"),
            (
                "[[pull_socket]]\nname = \"p\"\ncodenames = []\nallow = [\"1.2.3\"]\n",
                "[[pull_socket]] allow",
            ),
        ] {
            let err = Config::parse(text, "lab.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
            assert!(err.contains("CIDR"), "{err}");
        }
    }

    #[test]
    fn token_names_must_be_unique_and_roles_known() {
        let token = |name: &str, role: &str| {
            format!("[[auth.token]]\nname = \"{name}\"\ntoken_file = \"t\"\nrole = \"{role}\"\n")
        };
        let config = Config::parse(&token("alice", "read"), "f").unwrap();
        assert_eq!(config.auth.token[0].role, crate::access::Role::Read);
        let twice = format!("{}{}", token("a", "read"), token("a", "admin"));
        let err = Config::parse(&twice, "f").unwrap_err().to_string();
        assert!(
            err.contains("[[auth.token]] #2 name: 'a' is used twice"),
            "{err}"
        );
        let err = Config::parse(&token("a", "root"), "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("role") && err.contains("root"), "{err}");
        let err = Config::parse(&token(" ", "read"), "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[[auth.token]] #1 name"), "{err}");
    }

    #[test]
    fn tls_needs_both_files_and_a_sane_handshake_timeout() {
        assert!(Config::default().tls.is_none());
        let config =
            Config::parse("[tls]\ncert_file = \"a.crt\"\nkey_file = \"a.key\"\n", "f").unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert_file, PathBuf::from("a.crt"));
        assert_eq!(tls.handshake_timeout_secs, 10.0);
        let err = Config::parse("[tls]\ncert_file = \"a.crt\"\n", "lab.toml").unwrap_err();
        assert!(err.to_string().contains("key_file"), "{err}");
        let err = Config::parse(
            "[tls]\ncert_file = \"a\"\nkey_file = \"b\"\nhandshake_timeout_secs = 0\n",
            "lab.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("[tls] handshake_timeout_secs"),
            "{err}"
        );
    }

    #[test]
    fn event_buffer_has_a_default_and_a_range() {
        assert_eq!(
            Config::default().limits.event_buffer,
            crate::events::EventBus::CAPACITY
        );
        let config = Config::parse("[limits]\nevent_buffer = 4096\n", "f").unwrap();
        assert_eq!(config.limits.event_buffer, 4096);
        let err = Config::parse("[limits]\nevent_buffer = 1\n", "f").unwrap_err();
        assert!(err.to_string().contains("[limits] event_buffer"), "{err}");
    }

    #[test]
    fn subscription_buffer_bytes_has_a_default_and_a_range() {
        assert_eq!(
            Config::default().limits.subscription_buffer_bytes,
            crate::events::EventBus::SUBSCRIPTION_BYTES
        );
        let config = Config::parse("[limits]\nsubscription_buffer_bytes = 1048576\n", "f").unwrap();
        assert_eq!(config.limits.subscription_buffer_bytes, 1 << 20);
        let err = Config::parse("[limits]\nsubscription_buffer_bytes = 100\n", "f").unwrap_err();
        assert!(
            err.to_string()
                .contains("[limits] subscription_buffer_bytes"),
            "{err}"
        );
    }
}
