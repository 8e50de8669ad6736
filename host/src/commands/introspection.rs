//! `commands`, `plugins`, `status`: what the host serves, and how it is doing. `status`
//! shows the sections front ends and the source runner registered on the core, after its
//! own fields.

use crate::call::object;
use crate::host_core::{Command, Core};
use crate::plugins::{PluginInfo, PluginSource};
use crate::pyjson::Value;

pub(crate) fn commands() -> Vec<Command> {
    vec![
        Command::now(
            "commands",
            "Lists every command with its plugin and description",
            "none",
            |core, _| Ok(list_commands(core)),
        ),
        Command::now("plugins", "Lists the loaded plugins", "none", |core, _| {
            Ok(Value::List(
                core.registry.plugins().iter().map(plugin_json).collect(),
            ))
        }),
        Command::now(
            "status",
            "Server version, uptime, front ends, connections, plugins",
            "none",
            |core, _| Ok(status(core)),
        ),
    ]
}

/// A loaded plugin as JSON: `{"name","version","api_version","source","path","commands"}`.
pub fn plugin_json(info: &PluginInfo) -> Value {
    report_json(&info.source, Ok(info))
}

/// A plugin load report as JSON: [`plugin_json`], or the same keys with `"error"` set.
pub fn report_json(source: &PluginSource, outcome: Result<&PluginInfo, String>) -> Value {
    let (kind, path) = match source {
        PluginSource::CompiledIn => ("compiled-in", Value::Null),
        PluginSource::Dylib(path) => ("dylib", Value::Str(path.display().to_string())),
    };
    let text = |s: &str| Value::Str(s.to_owned());
    match outcome {
        Ok(info) => object([
            ("name", text(&info.name)),
            ("version", text(&info.version)),
            ("api_version", text(&info.api_version)),
            ("source", text(kind)),
            ("path", path),
            (
                "commands",
                Value::List(info.commands.iter().map(|(name, _)| text(name)).collect()),
            ),
            ("error", Value::Null),
        ]),
        Err(error) => object([
            ("name", Value::Null),
            ("version", Value::Null),
            ("api_version", Value::Null),
            ("source", text(kind)),
            ("path", path),
            ("commands", Value::List(Vec::new())),
            ("error", Value::Str(error)),
        ]),
    }
}

fn list_commands(core: &Core) -> Value {
    let host = core.commands().iter().map(|command| {
        object([
            ("name", Value::Str(command.name.to_owned())),
            ("plugin", Value::Str("core".to_owned())),
            ("description", Value::Str(command.description.to_owned())),
            ("params", Value::Str(command.params.to_owned())),
        ])
    });
    let plugins = core.registry.commands().into_iter().map(|entry| {
        object([
            ("name", Value::Str(entry.name.clone())),
            ("plugin", Value::Str(entry.plugin.clone())),
            ("description", Value::Str(entry.description.clone())),
        ])
    });
    Value::List(host.chain(plugins).collect())
}

fn status(core: &Core) -> Value {
    let front_ends: Vec<Value> = core
        .front_ends()
        .iter()
        .map(|front_end| {
            let heartbeat = front_end
                .heartbeat_secs
                .map(|secs| ("heartbeat_secs", Value::Float(secs)));
            let fields = [
                ("name", Value::Str(front_end.name.clone())),
                ("address", Value::Str(front_end.address.to_string())),
                (
                    "connections",
                    Value::Int(front_end.open_connections() as i64),
                ),
            ]
            .into_iter()
            .chain(heartbeat)
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
            Value::Dict(fields)
        })
        .collect();
    let mut fields: indexmap::IndexMap<String, Value> = [
        ("version", Value::Str(crate::VERSION.to_owned())),
        ("api_version", Value::Str(crate::ABI_VERSION.to_owned())),
        (
            "uptime_secs",
            Value::Float(core.started.elapsed().as_secs_f64()),
        ),
        ("front_ends", Value::List(front_ends)),
        ("max_connections", Value::Int(core.max_connections as i64)),
        ("plugins", Value::Int(core.registry.plugins().len() as i64)),
        (
            "commands",
            Value::Int((core.commands().len() + core.registry.commands().len()) as i64),
        ),
        ("points", Value::Int(core.points.len() as i64)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    for (name, value) in core.status_sections() {
        fields.insert(name.to_owned(), value);
    }
    Value::Dict(fields)
}
