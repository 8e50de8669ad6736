//! `commands`, `plugins`, `status`: what the host serves, and how it is doing. `status`
//! shows the sections front ends and the source runner registered on the core, after its
//! own fields.

use crate::call::object;
use crate::host_core::{Command, Core};
use crate::pyjson::Value;

pub(crate) fn commands() -> Vec<Command> {
    vec![
        Command::now(
            "commands",
            "Lists every command with its plugin and description",
            "none",
            |core, _| Ok(list_commands(core)),
        )
        .returns("[{name, plugin, description, read_only, params, result}, ...]")
        .read_only(),
        Command::now("plugins", "Lists the loaded plugins", "none", |core, _| {
            Ok(core.registry.listing())
        })
        .returns("[{name, version, api_version, description, source, path, commands, command_details, error}, ...]")
        .read_only(),
        Command::now(
            "status",
            "Server version, uptime, front ends, connections, plugins",
            "none",
            |core, _| Ok(status(core)),
        )
        .returns("{version, api_version, uptime_secs, front_ends, max_connections, plugins, plugin_health, commands, points, ...}")
        .read_only(),
    ]
}

fn list_commands(core: &Core) -> Value {
    let host = core.commands().iter().map(|command| {
        object([
            ("name", Value::Str(command.name.to_owned())),
            ("plugin", Value::Str("core".to_owned())),
            ("description", Value::Str(command.description.to_owned())),
            ("read_only", Value::Bool(command.read_only)),
            ("params", Value::Str(command.params.to_owned())),
            (
                "result",
                match command.result {
                    "" => Value::Null,
                    result => Value::Str(result.to_owned()),
                },
            ),
        ])
    });
    let plugins = core
        .registry
        .commands()
        .into_iter()
        .map(crate::plugins::CommandEntry::to_value);
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
        ("plugin_health", core.registry.health()),
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
