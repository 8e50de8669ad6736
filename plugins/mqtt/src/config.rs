//! The `[mqtt]` table of the host's config file (SPEC §9), as the plugin receives it (JSON).
//!
//! No `[mqtt]` table means federation is off: the plugin loads and idles. Unknown keys are
//! errors and every error names the key (`[mqtt] keepalive_secs: ...`).

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

/// What a host can share (`share = [...]`).
pub(crate) const SHAREABLE: &[&str] = &["points", "events", "workspace"];

/// The whole `[mqtt]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// `mqtt://host:port` (port 1883 when left out).
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
}

impl Config {
    /// The table the host handed to init: `null` or `{}` (no `[mqtt]` table) is `Ok(None)`.
    pub(crate) fn from_json(value: Value) -> Result<Option<Config>, String> {
        if value.is_null() || value.as_object().is_some_and(|table| table.is_empty()) {
            return Ok(None);
        }
        Config::parse(value).map(Some)
    }

    /// A table that must configure federation (the host's check of a `[mqtt]` table).
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
        Ok(())
    }

    /// Host and port of `url`.
    pub(crate) fn broker(&self) -> Result<Broker, String> {
        let url = &self.url;
        let rest = if let Some(rest) = url.strip_prefix("mqtt://") {
            rest
        } else if url.starts_with("mqtts://") {
            return Err(format!(
                "[mqtt] url: '{url}': TLS (mqtts://) is not supported by this build yet; use mqtt:// on a trusted network"
            ));
        } else {
            return Err(format!(
                "[mqtt] url: '{url}' must start with mqtt:// (e.g. mqtt://127.0.0.1:1883)"
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
            _ => (rest, 1883),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') || port == 0 {
            return Err(format!("[mqtt] url: '{url}' has no broker host and port"));
        }
        Ok(Broker {
            host: host.to_owned(),
            port,
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

    /// The broker password (first line of `password_file`), if any.
    pub(crate) fn password(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.password_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|err| {
            format!(
                "[mqtt] password_file: cannot read {}: {err}",
                path.display()
            )
        })?;
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
                port: 1884
            }
        );
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
                json!({"url": "mqtt://a", "lab": "l", "request_timeout_secs": 0}),
                "request_timeout_secs",
            ),
            (
                json!({"url": "mqtt://a", "lab": "l", "max_value_bytes": -1}),
                "max_value_bytes",
            ),
            (json!({"url": "mqtts://a", "lab": "l"}), "TLS"),
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
}
