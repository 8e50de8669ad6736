//! The `[history]` table of the host's config file (SPEC §8), as the plugin receives it (JSON).
//!
//! ```toml
//! [history]
//! enabled = true                # false: the plugin loads, records nothing, its commands say so
//! store = "sqlite"              # "sqlite" (a file in <data_dir>/plugins/history/) | "postgres"
//! url = "postgres://lab@127.0.0.1:5432/lab"   # postgres only, required there
//! password_file = "pgpass"      # postgres only: first line; else the url's, else PGPASSWORD
//! retention_days = 30           # rows older than this are deleted (hourly); 0 keeps everything
//! flush_interval_secs = 0.5     # a point reaches the store at most this late
//! max_buffered_points = 1000000 # points waiting for the writer; beyond it points are dropped
//!                               # (counted in history.stats and logged), memory stays bounded
//! max_query_rows = 1000000      # a query without max_points returns at most this many rows
//!                               # (then "truncated": true; CSV: an error), memory stays bounded
//! spool_max_bytes = 1073741824  # postgres only: the on-disk spool for rows PostgreSQL could
//!                               # not take (unreachable); beyond it rows are lost, counted, logged
//!
//! [[history.record]]            # optional; none = every set_point is a row
//! codenames = ["*"]             # glob patterns: * ? [a-z] [!x] and \ to escape
//! min_change = 0.0              # absolute deadband
//! min_change_relative = 0.0     # relative deadband
//! max_interval_secs = 600.0     # a row at least this often while the value holds
//! ```
//!
//! Unknown keys are errors; every error names the key (`record[1].min_change: ...`).

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::glob::Glob;

/// Where rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sqlite,
    Postgres,
}

/// The whole `[history]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub store: StoreKind,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_retention_days")]
    pub retention_days: f64,
    #[serde(default = "default_flush_interval_secs")]
    pub flush_interval_secs: f64,
    #[serde(default = "default_max_buffered_points")]
    pub max_buffered_points: usize,
    #[serde(default = "default_max_query_rows")]
    pub max_query_rows: usize,
    /// Postgres only; `None`: [`DEFAULT_SPOOL_MAX_BYTES`].
    #[serde(default)]
    pub spool_max_bytes: Option<u64>,
    #[serde(default)]
    pub record: Vec<RecordEntry>,
}

/// One `[[history.record]]` entry: which codenames, and when a new value is worth a row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEntry {
    #[serde(default = "default_codenames")]
    pub codenames: Vec<String>,
    #[serde(default)]
    pub min_change: f64,
    #[serde(default)]
    pub min_change_relative: f64,
    #[serde(default)]
    pub max_interval_secs: Option<f64>,
}

fn default_enabled() -> bool {
    true
}

fn default_retention_days() -> f64 {
    30.0
}

fn default_flush_interval_secs() -> f64 {
    0.5
}

/// About 100 MB of queued points at worst: a minute of 15,000 points/s with the store away.
fn default_max_buffered_points() -> usize {
    1_000_000
}

/// About 100 MB of reply: a day of one codename at 10 Hz fits; a year of it needs max_points.
fn default_max_query_rows() -> usize {
    1_000_000
}

/// The spool's bound when `spool_max_bytes` is not set: 1 GiB, some ten million rows (a
/// day of 100 codenames at 1 Hz, with room to spare).
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 1 << 30;

/// The smallest `spool_max_bytes`: the spool file's own pages take some kilobytes.
const MIN_SPOOL_MAX_BYTES: u64 = 1 << 20;

fn default_codenames() -> Vec<String> {
    vec!["*".to_owned()]
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: default_enabled(),
            store: StoreKind::default(),
            url: None,
            password_file: None,
            retention_days: default_retention_days(),
            flush_interval_secs: default_flush_interval_secs(),
            max_buffered_points: default_max_buffered_points(),
            max_query_rows: default_max_query_rows(),
            spool_max_bytes: None,
            record: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and checks the table (`{}` or `null` when the config file has none).
    pub fn from_json(value: Value) -> Result<Config, String> {
        let value = if value.is_null() {
            Value::Object(Default::default())
        } else {
            value
        };
        let config: Config = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            if path == "." {
                format!("[history]: {}", err.inner())
            } else {
                format!("[history] {path}: {}", err.inner())
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The checks serde cannot express; each error names its key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.retention_days.is_finite() && self.retention_days >= 0.0) {
            return Err(format!(
                "[history] retention_days: must be a number ≥ 0 (0 keeps everything), got {}",
                self.retention_days
            ));
        }
        if !(self.flush_interval_secs.is_finite()
            && self.flush_interval_secs > 0.0
            && self.flush_interval_secs <= 3600.0)
        {
            return Err(format!(
                "[history] flush_interval_secs: must be > 0 and ≤ 3600, got {}",
                self.flush_interval_secs
            ));
        }
        if self.max_buffered_points == 0 {
            return Err("[history] max_buffered_points: must be at least 1".to_owned());
        }
        if self.max_query_rows == 0 {
            return Err("[history] max_query_rows: must be at least 1".to_owned());
        }
        if let Some(bytes) = self.spool_max_bytes {
            if bytes < MIN_SPOOL_MAX_BYTES {
                return Err(format!(
                    "[history] spool_max_bytes: must be at least {MIN_SPOOL_MAX_BYTES} (1 MiB), got {bytes}"
                ));
            }
        }
        match self.store {
            StoreKind::Sqlite => {
                if self.url.is_some() {
                    return Err(
                        "[history] url: only used with store = \"postgres\" (store is \"sqlite\")"
                            .to_owned(),
                    );
                }
                if self.password_file.is_some() {
                    return Err("[history] password_file: only used with store = \"postgres\" (store is \"sqlite\")".to_owned());
                }
                if self.spool_max_bytes.is_some() {
                    return Err("[history] spool_max_bytes: only used with store = \"postgres\" (store is \"sqlite\")".to_owned());
                }
            }
            StoreKind::Postgres => {
                if self.url.is_none() {
                    return Err(
                        "[history] url: required with store = \"postgres\" (postgres://user@host:port/db)"
                            .to_owned(),
                    );
                }
            }
        }
        for (i, entry) in self.record.iter().enumerate() {
            entry
                .validate()
                .map_err(|e| format!("[history] record[{i}].{e}"))?;
        }
        Ok(())
    }
}

impl RecordEntry {
    fn validate(&self) -> Result<(), String> {
        if self.codenames.is_empty() {
            return Err("codenames: an empty list matches nothing (use [\"*\"] for all)".into());
        }
        for pattern in &self.codenames {
            Glob::new(pattern).map_err(|e| format!("codenames: {e}"))?;
        }
        for (key, value) in [
            ("min_change", self.min_change),
            ("min_change_relative", self.min_change_relative),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{key}: must be a number ≥ 0, got {value}"));
            }
        }
        if let Some(secs) = self.max_interval_secs {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(format!("max_interval_secs: must be > 0, got {secs}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_when_the_table_is_absent() {
        for absent in [json!({}), Value::Null] {
            let config = Config::from_json(absent).unwrap();
            assert!(config.enabled);
            assert_eq!(config.store, StoreKind::Sqlite);
            assert_eq!(config.retention_days, 30.0);
            assert_eq!(config.flush_interval_secs, 0.5);
            assert_eq!(config.max_buffered_points, 1_000_000);
            assert_eq!(config.max_query_rows, 1_000_000);
            assert_eq!(config.spool_max_bytes, None);
            assert!(config.record.is_empty());
        }
    }

    #[test]
    fn full_table_with_toml_integers() {
        let config = Config::from_json(json!({
            "enabled": false, "retention_days": 0, "flush_interval_secs": 2,
            "max_buffered_points": 10,
            "record": [{"codenames": ["temp_*"], "min_change": 0.5, "max_interval_secs": 600},
                       {"min_change_relative": 0.01}]
        }))
        .unwrap();
        assert!(!config.enabled);
        assert_eq!(config.retention_days, 0.0);
        assert_eq!(config.flush_interval_secs, 2.0);
        assert_eq!(config.record.len(), 2);
        assert_eq!(config.record[0].max_interval_secs, Some(600.0));
        assert_eq!(config.record[1].codenames, vec!["*"]);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                json!({"retension_days": 3}),
                "unknown field `retension_days`",
            ),
            (
                json!({"retention_days": "a"}),
                "[history] retention_days: invalid type",
            ),
            (
                json!({"retention_days": -1}),
                "[history] retention_days: must be",
            ),
            (
                json!({"flush_interval_secs": 0}),
                "[history] flush_interval_secs",
            ),
            (
                json!({"store": "mysql"}),
                "[history] store: unknown variant `mysql`",
            ),
            (json!({"store": "postgres"}), "[history] url: required"),
            (json!({"url": "postgres://x"}), "[history] url: only used"),
            (
                json!({"max_buffered_points": 0}),
                "[history] max_buffered_points",
            ),
            (json!({"max_query_rows": 0}), "[history] max_query_rows"),
            (
                json!({"spool_max_bytes": 1 << 30}),
                "[history] spool_max_bytes: only used with store = \"postgres\"",
            ),
            (
                json!({"store": "postgres", "url": "postgres://x", "spool_max_bytes": 1000}),
                "[history] spool_max_bytes: must be at least 1048576",
            ),
            (
                json!({"record": [{"codename": ["a"]}]}),
                "[history] record[0].codename: unknown field `codename`",
            ),
            (
                json!({"record": [{}, {"min_change": -1}]}),
                "[history] record[1].min_change: must be",
            ),
            (
                json!({"record": [{"codenames": []}]}),
                "[history] record[0].codenames: an empty list",
            ),
            (
                json!({"record": [{"codenames": ["a["]}]}),
                "[history] record[0].codenames: `a[`",
            ),
            (
                json!({"record": [{"max_interval_secs": 0}]}),
                "[history] record[0].max_interval_secs",
            ),
        ];
        for (input, expected) in cases {
            let err = Config::from_json(input.clone()).unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }
}
