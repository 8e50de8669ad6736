//! The `[[source]]` tables of the configuration and the checks types cannot express.

use std::time::Duration;

use serde::Deserialize;

use crate::pyjson::Value;

/// One `[[source]]`: a command the host calls on a timer, storing what it returns as points.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The registered command to call (a plugin command or a core one such as `echo`).
    pub command: String,
    /// Seconds between calls.
    #[serde(default = "default_interval_secs")]
    pub interval_secs: f64,
    /// The params passed to every call: a table or an array (none: `null`).
    #[serde(default)]
    pub params: Option<toml::Value>,
}

/// The fastest timer a source may ask for: 100 calls a second is plenty for a timed point,
/// and a smaller value is far more likely a unit mistake (ms for s) than a wish.
pub const MIN_INTERVAL_SECS: f64 = 0.01;
/// The slowest: one day. It also keeps `Duration::from_secs_f64` far from overflowing.
pub const MAX_INTERVAL_SECS: f64 = 86_400.0;

fn default_interval_secs() -> f64 {
    1.0
}

impl SourceConfig {
    /// The timer period (valid after [`validate`]).
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.interval_secs)
    }

    /// The params as the JSON value every call receives.
    pub fn params_value(&self) -> Value {
        self.params
            .as_ref()
            .and_then(|params| serde_json::to_value(params).ok())
            .map(Value::from)
            .unwrap_or(Value::Null)
    }
}

/// Checks every source; the message reads `[[source]] #N key: what is wrong` (N from 1, in
/// file order).
pub fn validate(sources: &[SourceConfig]) -> Result<(), String> {
    for (index, source) in sources.iter().enumerate() {
        let number = index + 1;
        if source.command.trim().is_empty() {
            return Err(format!(
                "[[source]] #{number} command: must name a command (the 'commands' method lists them)"
            ));
        }
        let interval = source.interval_secs;
        if !interval.is_finite() || !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&interval) {
            return Err(format!(
                "[[source]] #{number} interval_secs: must be between {MIN_INTERVAL_SECS} and {MAX_INTERVAL_SECS} seconds, not {interval}"
            ));
        }
        if let Some(params) = &source.params {
            if !params.is_table() && !params.is_array() {
                return Err(format!(
                    "[[source]] #{number} params: must be a table {{...}} or an array [...], not a {}",
                    params.type_str()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        source: Vec<SourceConfig>,
    }

    fn parse(text: &str) -> Result<Vec<SourceConfig>, String> {
        let file: File = toml::from_str(text).map_err(|err| err.to_string())?;
        validate(&file.source)?;
        Ok(file.source)
    }

    #[test]
    fn a_full_source_parses_with_its_params() {
        let sources = parse(
            "[[source]]\ncommand = \"sine.sample\"\ninterval_secs = 0.5\nparams = { period_secs = 2, codenames = [\"sine\"] }\n",
        )
        .unwrap();
        assert_eq!(sources[0].command, "sine.sample");
        assert_eq!(sources[0].interval(), Duration::from_millis(500));
        let params = sources[0].params_value();
        assert_eq!(
            crate::pyjson::to_compact_json(&params),
            r#"{"codenames":["sine"],"period_secs":2}"#
        );
    }

    #[test]
    fn interval_defaults_to_one_second_and_params_to_null() {
        let sources = parse("[[source]]\ncommand = \"dummy.sample\"\n").unwrap();
        assert_eq!(sources[0].interval(), Duration::from_secs(1));
        assert_eq!(sources[0].params_value(), Value::Null);
    }

    #[test]
    fn bad_intervals_name_the_source_and_key() {
        for bad in ["0", "-1", "0.001", "nan", "inf", "1e300"] {
            let text = format!(
                "[[source]]\ncommand = \"a\"\n[[source]]\ncommand = \"b\"\ninterval_secs = {bad}\n"
            );
            let err = parse(&text).unwrap_err();
            assert!(
                err.starts_with("[[source]] #2 interval_secs: must be between 0.01 and 86400"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn empty_command_scalar_params_and_unknown_keys_are_refused() {
        let err = parse("[[source]]\ncommand = \" \"\n").unwrap_err();
        assert!(err.starts_with("[[source]] #1 command:"), "{err}");
        let err = parse("[[source]]\ncommand = \"a\"\nparams = 3\n").unwrap_err();
        assert!(err.starts_with("[[source]] #1 params:"), "{err}");
        let err = parse("[[source]]\ncommand = \"a\"\ninterval = 3\n").unwrap_err();
        assert!(err.contains("interval"), "{err}");
        let err = parse("[[source]]\ninterval_secs = 3\n").unwrap_err();
        assert!(err.contains("command"), "{err}");
    }
}
