//! Per-command annotations: what a plugin says front ends need to know about one of its
//! commands, a JSON object keyed by front end (the 1.1 ABI's `CommandMeta.annotations`,
//! declared in `plugin!` as `(annotations: "...")` and carried by the registry). Front
//! ends ask here instead of naming plugin commands.
//!
//! Keys read today:
//! - `pyminer.g1_failure` (string): the exact reply a G1 PyMiner client gets when the
//!   command fails ([`pyminer_g1_failure`]);
//! - `http.variables` (`true`): the command that lists workspace variables for
//!   `/api/variables` ([`http_variables_command`]);
//! - `http.history` (`true`): the command that answers `/api/history`
//!   ([`http_history_command`]).
//! - `http.variable` (`true`): the command that reads one variable, `{"name"}` →
//!   `{"value", ...}`, for the small values `/api/variables` includes
//!   ([`http_variable_command`]);
//! - `metrics` (`true`, top level): a command taking no params whose numeric result
//!   fields `/metrics` exports ([`metrics_commands`]).

use crate::host_core::Core;

/// `annotations[front_end][key]` of `entry`, if it declares it.
fn field<'a>(
    annotations: &'a Option<serde_json::Value>,
    front_end: &str,
    key: &str,
) -> Option<&'a serde_json::Value> {
    annotations.as_ref()?.get(front_end)?.get(key)
}

/// The exact G1 PyMiner reply to a failed `command` (`pyminer.g1_failure`), if its
/// plugin gives one; otherwise G1 gets the default `{"message": "failed", "content": …}`.
pub fn pyminer_g1_failure(core: &Core, command: &str) -> Option<String> {
    let entry = core.registry.command(command)?;
    field(&entry.info.annotations, "pyminer", "g1_failure")?
        .as_str()
        .map(str::to_owned)
}

/// The command annotated `{"http": {"variables": true}}`: it lists workspace variables.
pub fn http_variables_command(core: &Core) -> Option<&str> {
    http_flagged(core, "variables")
}

/// The command annotated `{"http": {"variable": true}}`: it reads one workspace variable.
pub fn http_variable_command(core: &Core) -> Option<&str> {
    http_flagged(core, "variable")
}

/// The command annotated `{"http": {"history": true}}`: it answers `/api/history` (the
/// `history.query` params, and `"format": "csv"` for CSV text).
pub fn http_history_command(core: &Core) -> Option<&str> {
    http_flagged(core, "history")
}

/// The first command annotated `{"http": {key: true}}`.
fn http_flagged<'a>(core: &'a Core, key: &str) -> Option<&'a str> {
    core.registry
        .commands()
        .into_iter()
        .find(|entry| {
            field(&entry.info.annotations, "http", key) == Some(&serde_json::Value::Bool(true))
        })
        .map(|entry| entry.name.as_str())
}

/// Every plugin command annotated `{"metrics": true}`, as `(plugin, command)`, sorted by
/// command name.
pub fn metrics_commands(core: &Core) -> Vec<(String, String)> {
    core.registry
        .commands()
        .into_iter()
        .filter(|entry| {
            matches!(
                entry
                    .info
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("metrics")),
                Some(serde_json::Value::Bool(true))
            )
        })
        .map(|entry| (entry.plugin.clone(), entry.name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::core_commands;
    use crate::dispatch::tests::core_with;
    use crate::host_core::Extensions;

    fn core() -> Core {
        let mut extensions = Extensions::default();
        extensions.commands(core_commands());
        core_with(extensions)
    }

    #[test]
    fn the_workspace_says_which_command_lists_variables_and_how_g1_writes_fail() {
        let core = core();
        assert_eq!(http_variables_command(&core), Some("workspace.list"));
        assert_eq!(http_variable_command(&core), Some("workspace.get"));
        let write = pyminer_g1_failure(&core, "write_p");
        assert_eq!(write.as_deref(), Some(r#"{"message":"failed"}"#));
        assert_eq!(pyminer_g1_failure(&core, "read_p"), None);
        assert_eq!(pyminer_g1_failure(&core, "ping"), None);
        // From the history plugin's own descriptor (`plugin!` annotations).
        assert_eq!(http_history_command(&core), Some("history.query"));
    }

    #[test]
    fn metrics_commands_come_from_the_registry() {
        let core = core();
        assert_eq!(
            metrics_commands(&core),
            [
                ("hello".to_owned(), "hello.stats".to_owned()),
                ("history".to_owned(), "history.stats".to_owned()),
                ("mqtt".to_owned(), "mqtt.stats".to_owned())
            ]
        );
    }
}
