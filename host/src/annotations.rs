//! Per-command annotations: what a plugin says front ends need to know about one of its
//! commands, a JSON object keyed by front end (the 1.1 ABI's `CommandMeta.annotations`).
//! Front ends ask here instead of naming plugin commands.
//!
//! Keys read today:
//! - `pyminer.g1_failure` (string): the exact reply a G1 PyMiner client gets when the
//!   command fails ([`pyminer_g1_failure`]);
//! - `http.variables` (`true`): the command that lists workspace variables for
//!   `/api/variables` ([`http_variables_command`]);
//! - `http.variable` (`true`): the command that reads one variable, `{"name"}` →
//!   `{"value", ...}`, for the small values `/api/variables` includes
//!   ([`http_variable_command`]);
//! - `metrics` (`true`, top level): a command taking no params whose numeric result
//!   fields `/metrics` exports ([`metrics_commands`]; read from the registry, where every
//!   plugin's descriptor puts its annotations).
//!
//! Until the registry carries each command's annotations from its descriptor, they come
//! from the compiled-in `workspace` plugin's own table (`workspace::ANNOTATIONS`), and only
//! for commands that plugin actually registered.

use crate::host_core::Core;
use crate::pyjson::{self, Value};

/// The plugin whose declared table is read until the registry carries annotations.
const DECLARING_PLUGIN: &str = "workspace";

/// Every registered command with annotations, and those annotations.
fn annotated(core: &Core) -> impl Iterator<Item = (&'static str, Value)> + '_ {
    workspace::ANNOTATIONS
        .iter()
        .filter(|(command, _)| {
            core.registry
                .commands()
                .iter()
                .any(|entry| entry.name == *command && entry.plugin == DECLARING_PLUGIN)
        })
        .filter_map(|(command, json)| match pyjson::parse(json) {
            Ok(value @ Value::Dict(_)) => Some((*command, value)),
            _ => {
                tracing::warn!(command, "annotations are not a JSON object; ignored");
                None
            }
        })
}

/// `annotations[front_end][key]` of `command`.
fn lookup(core: &Core, command: &str, front_end: &str, key: &str) -> Option<Value> {
    annotated(core)
        .find(|(name, _)| *name == command)
        .and_then(|(_, annotations)| field(&annotations, front_end, key).cloned())
}

fn field<'a>(annotations: &'a Value, front_end: &str, key: &str) -> Option<&'a Value> {
    match annotations {
        Value::Dict(fields) => match fields.get(front_end)? {
            Value::Dict(inner) => inner.get(key),
            _ => None,
        },
        _ => None,
    }
}

/// The exact G1 PyMiner reply to a failed `command` (`pyminer.g1_failure`), if its
/// plugin gives one; otherwise G1 gets the default `{"message": "failed", "content": …}`.
pub fn pyminer_g1_failure(core: &Core, command: &str) -> Option<String> {
    match lookup(core, command, "pyminer", "g1_failure")? {
        Value::Str(reply) => Some(reply),
        _ => None,
    }
}

/// The command annotated `{"http": {"variables": true}}`: it lists workspace variables.
pub fn http_variables_command(core: &Core) -> Option<&'static str> {
    http_flagged(core, "variables")
}

/// The command annotated `{"http": {"variable": true}}`: it reads one workspace variable.
pub fn http_variable_command(core: &Core) -> Option<&'static str> {
    http_flagged(core, "variable")
}

/// The command whose annotations say `{"http": {key: true}}`.
fn http_flagged(core: &Core, key: &str) -> Option<&'static str> {
    annotated(core)
        .find(|(_, annotations)| matches!(field(annotations, "http", key), Some(Value::Bool(true))))
        .map(|(command, _)| command)
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
    }

    #[test]
    fn metrics_commands_come_from_the_registry() {
        let core = core();
        assert_eq!(
            metrics_commands(&core),
            [("hello".to_owned(), "hello.stats".to_owned())]
        );
    }
}
