//! The `[mqtt]` table of the host's config file (SPEC §9), as the plugin receives it (JSON).
//!
//! No `[mqtt]` table means federation is off: the plugin loads and idles. Unknown keys are
//! errors and every error names the key (`[mqtt] keepalive_secs: ...`).
//!
//! Paths (`password_file`, `ca_file`, `cert_file`, `key_file`) arrive resolved against the
//! config file's folder: the host does that for every path of the file. The files
//! themselves are read by [`Config::check_files`], which the host's config check runs too,
//! so a missing CA or a password file others can read stops the start with the key named.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

/// What a host can share (`share = [...]`).
pub(crate) const SHAREABLE: &[&str] = &["points", "events", "workspace"];

/// The whole `[mqtt]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// `mqtt://host:port` (port 1883 when left out) or `mqtts://host:port` (TLS, 8883).
    pub(crate) url: String,
    /// The lab: the topic namespace shared by every host of the lab.
    pub(crate) lab: String,
    /// This host's id in the lab; defaults to the machine's hostname.
    #[serde(default)]
    pub(crate) host: Option<String>,
    #[serde(default)]
    pub(crate) username: Option<String>,
    /// A file whose first line is the broker password.
    #[serde(default)]
    pub(crate) password_file: Option<PathBuf>,
    /// `mqtts://` only: the PEM certificate(s) of the CA that signed the broker's
    /// certificate; without it the system's trust store is used.
    #[serde(default)]
    pub(crate) ca_file: Option<PathBuf>,
    /// `mqtts://` only: a client certificate (PEM chain) for brokers that require one.
    #[serde(default)]
    pub(crate) cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    #[serde(default)]
    pub(crate) key_file: Option<PathBuf>,
    /// What this host publishes.
    #[serde(default = "default_share")]
    pub(crate) share: Vec<String>,
    /// Whose data this host takes in; `"*"`: every other host.
    #[serde(default = "default_hosts")]
    pub(crate) hosts: Vec<String>,
    /// MQTT keepalive and the period of the birth (`status`) republication, in seconds.
    #[serde(default = "default_keepalive_secs")]
    pub(crate) keepalive_secs: u64,
    /// Batches kept in the on-disk outbox while the broker is away; beyond it the oldest
    /// are dropped (counted in `mqtt.status`), so the disk use stays bounded.
    #[serde(default = "default_outbox_max_batches")]
    pub(crate) outbox_max_batches: u64,
    /// Workspace variables larger than this (stored bytes) are published in `ws/<name>`
    /// without their value; readers fetch it with a `ws-get` request.
    #[serde(default = "default_max_value_bytes")]
    pub(crate) max_value_bytes: u64,
    /// How long a write of another host's variable (`ws-set`) or a fetch (`ws-get`) waits
    /// for the owner's answer, in seconds.
    #[serde(default = "default_request_timeout_secs")]
    pub(crate) request_timeout_secs: f64,
}

fn default_share() -> Vec<String> {
    SHAREABLE.iter().map(|s| (*s).to_owned()).collect()
}

fn default_hosts() -> Vec<String> {
    vec!["*".to_owned()]
}

fn default_keepalive_secs() -> u64 {
    5
}

fn default_outbox_max_batches() -> u64 {
    100_000
}

fn default_max_value_bytes() -> u64 {
    1024 * 1024
}

fn default_request_timeout_secs() -> f64 {
    5.0
}

/// The broker's address, from `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broker {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `mqtts://`: the connection speaks TLS.
    pub(crate) tls: bool,
}

impl Config {
    /// The table the host handed to init: `null` or `{}` (no `[mqtt]` table) is `Ok(None)`.
    pub(crate) fn from_json(value: Value) -> Result<Option<Config>, String> {
        if value.is_null() || value.as_object().is_some_and(|table| table.is_empty()) {
            return Ok(None);
        }
        Config::parse(value).map(Some)
    }

    /// The host's check of a `[mqtt]` table: its keys, then the files it names.
    pub(crate) fn check(value: Value) -> Result<(), String> {
        Config::parse(value)?.check_files()
    }

    /// Reads the files the table names (password, CA, client certificate and key), so
    /// that a missing or unsafe one is reported at start, with its key.
    pub(crate) fn check_files(&self) -> Result<(), String> {
        self.password()?;
        crate::tls::client_config(self)?;
        Ok(())
    }

    /// A table that must configure federation.
    pub(crate) fn parse(value: Value) -> Result<Config, String> {
        let config: Config = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            if path == "." {
                format!("[mqtt] {}", err.inner())
            } else {
                format!("[mqtt] {path}: {}", err.inner())
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        self.broker()?;
        if self.lab.is_empty() {
            return Err("[mqtt] lab: must not be empty".to_owned());
        }
        if self.host.as_deref() == Some("") {
            return Err("[mqtt] host: must not be empty".to_owned());
        }
        if let Some(bad) = self.share.iter().find(|s| !SHAREABLE.contains(&s.as_str())) {
            return Err(format!(
                "[mqtt] share: unknown '{bad}' (choose among {SHAREABLE:?})"
            ));
        }
        if self.hosts.iter().any(String::is_empty) {
            return Err("[mqtt] hosts: a host id must not be empty".to_owned());
        }
        if !(1..=3600).contains(&self.keepalive_secs) {
            return Err(format!(
                "[mqtt] keepalive_secs: must be a whole number of seconds from 1 to 3600, not {}",
                self.keepalive_secs
            ));
        }
        if self.outbox_max_batches == 0 {
            return Err("[mqtt] outbox_max_batches: must be at least 1".to_owned());
        }
        if !(self.request_timeout_secs > 0.0 && self.request_timeout_secs <= 3600.0) {
            return Err(format!(
                "[mqtt] request_timeout_secs: must be a number of seconds above 0 and at most 3600, not {}",
                self.request_timeout_secs
            ));
        }
        if self.password_file.is_some() && self.username.is_none() {
            return Err("[mqtt] password_file: needs a username".to_owned());
        }
        if !self.broker()?.tls {
            let tls_keys = [
                ("ca_file", &self.ca_file),
                ("cert_file", &self.cert_file),
                ("key_file", &self.key_file),
            ];
            if let Some((key, _)) = tls_keys.iter().find(|(_, path)| path.is_some()) {
                return Err(format!(
                    "[mqtt] {key}: only used with TLS (url = \"mqtts://...\"); the url is '{}'",
                    self.url
                ));
            }
        }
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => return Err("[mqtt] cert_file: needs key_file".to_owned()),
            (None, Some(_)) => return Err("[mqtt] key_file: needs cert_file".to_owned()),
            _ => {}
        }
        Ok(())
    }

    /// Host and port of `url`.
    pub(crate) fn broker(&self) -> Result<Broker, String> {
        let url = &self.url;
        let (rest, tls, default_port) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (rest, false, 1883)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (rest, true, 8883)
        } else {
            return Err(format!(
                "[mqtt] url: '{url}' must start with mqtt:// or mqtts:// (e.g. mqtt://127.0.0.1:1883)"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                let port = port.parse::<u16>().map_err(|_| {
                    format!("[mqtt] url: '{url}': the port is not a number 1-65535")
                })?;
                (host, port)
            }
            _ => (rest, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') || port == 0 {
            return Err(format!("[mqtt] url: '{url}' has no broker host and port"));
        }
        Ok(Broker {
            host: host.to_owned(),
            port,
            tls,
        })
    }

    /// Whether this host publishes `what` (`points`, `events`, `workspace`).
    pub(crate) fn shares(&self, what: &str) -> bool {
        self.share.iter().any(|s| s == what)
    }

    /// Whether this host takes in `host`'s data.
    pub(crate) fn takes_in(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == "*" || h == host)
    }

    /// The broker password (first line of `password_file`), if any. A file other users
    /// may read is refused: a password everyone on the machine can read protects nothing.
    pub(crate) fn password(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.password_file else {
            return Ok(None);
        };
        let text = read_private("password_file", path)?;
        Ok(Some(text.lines().next().unwrap_or("").to_owned()))
    }

    /// This host's id: `host`, else the machine's hostname.
    pub(crate) fn host_id(&self) -> Result<String, String> {
        if let Some(host) = &self.host {
            return Ok(host.clone());
        }
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty());
        name.ok_or_else(|| {
            "[mqtt] host: the machine's hostname is unknown; set host = \"...\"".to_owned()
        })
    }
}

/// The text of a secret file (`key` names it in errors), refused when other users may
/// read or write it.
pub(crate) fn read_private(key: &str, path: &std::path::Path) -> Result<String, String> {
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path)
            .map_err(|err| format!("[mqtt] {key}: cannot read {shown}: {err}"))?;
        let mode = metadata.permissions().mode();
        if mode & 0o007 != 0 {
            return Err(format!(
                "[mqtt] {key}: {shown} is accessible to every user (mode {:o}); make it private with `chmod 600 {shown}`",
                mode & 0o777
            ));
        }
    }
    std::fs::read_to_string(path).map_err(|err| format!("[mqtt] {key}: cannot read {shown}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Option<Config>, String> {
        Config::from_json(value)
    }

    #[test]
    fn no_table_is_off() {
        assert!(parse(Value::Null).unwrap().is_none());
        assert!(parse(json!({})).unwrap().is_none());
        assert!(Config::parse(json!({})).unwrap_err().contains("url"));
    }

    #[test]
    fn defaults_follow_the_spec() {
        let config = parse(json!({"url": "mqtt://127.0.0.1:1884", "lab": "lab1", "host": "pc1"}))
            .unwrap()
            .unwrap();
        assert_eq!(config.keepalive_secs, 5);
        assert_eq!(config.max_value_bytes, 1024 * 1024);
        assert_eq!(config.request_timeout_secs, 5.0);
        assert!(config.shares("points") && config.shares("events") && config.shares("workspace"));
        assert!(config.takes_in("anything"));
        assert_eq!(
            config.broker().unwrap(),
            Broker {
                host: "127.0.0.1".into(),
                port: 1884,
                tls: false,
            }
        );
        let config = parse(json!({"url": "mqtts://broker.lab", "lab": "l"}))
            .unwrap()
            .unwrap();
        let broker = config.broker().unwrap();
        assert!(broker.tls && broker.port == 8883, "{broker:?}");
        let config = parse(json!({"url": "mqtt://broker", "lab": "l", "hosts": ["a"]}))
            .unwrap()
            .unwrap();
        assert_eq!(config.broker().unwrap().port, 1883);
        assert!(config.takes_in("a") && !config.takes_in("b"));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                json!({"url": "mqtt://a", "lab": "l", "keepalive": 1}),
                "keepalive",
            ),
            (
                json!({"url": "mqtt://a", "lab": "l", "keepalive_secs": 0}),
                "keepalive_secs",
            ),
            (
                json!({"url": "mqtt://a", "lab": "l", "keepalive_secs": 1.5}),
                "keepalive_secs",
            ),
            (json!({"url": "http://a", "lab": "l"}), "url"),
            (
                json!({"url": "mqtt://a", "lab": "l", "ca_file": "ca.pem"}),
                "ca_file",
            ),
            (
                json!({"url": "mqtts://a", "lab": "l", "cert_file": "c.pem"}),
                "key_file",
            ),
            (
                json!({"url": "mqtts://a", "lab": "l", "key_file": "k.pem"}),
                "cert_file",
            ),
            (
                json!({"url": "mqtt://a", "lab": "l", "request_timeout_secs": 0}),
                "request_timeout_secs",
            ),
            (
                json!({"url": "mqtt://a", "lab": "l", "max_value_bytes": -1}),
                "max_value_bytes",
            ),
            (json!({"url": "mqtt://a:99999", "lab": "l"}), "port"),
            (json!({"url": "mqtt://a", "lab": ""}), "lab"),
            (
                json!({"url": "mqtt://a", "lab": "l", "share": ["pointz"]}),
                "share",
            ),
            (json!({"url": "mqtt://a"}), "lab"),
            (
                json!({"url": "mqtt://a", "lab": "l", "password_file": "p"}),
                "username",
            ),
        ];
        for (table, key) in cases {
            let err = parse(table.clone()).unwrap_err();
            assert!(err.starts_with("[mqtt]"), "{err}");
            assert!(err.contains(key), "{table}: {err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_password_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mqtt.password");
        std::fs::write(&file, "secret\nignored\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let table = json!({"url": "mqtt://a", "lab": "l", "username": "u", "password_file": file});
        let err = Config::check(table.clone()).unwrap_err();
        assert!(
            err.contains("password_file") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Config::check(table.clone()).unwrap();
        let config = Config::parse(table).unwrap();
        assert_eq!(config.password().unwrap().as_deref(), Some("secret"));
        let missing = json!({"url": "mqtt://a", "lab": "l", "username": "u", "password_file": dir.path().join("nope")});
        let err = Config::check(missing).unwrap_err();
        assert!(
            err.contains("password_file") && err.contains("nope"),
            "{err}"
        );
    }
}
