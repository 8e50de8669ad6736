//! `mqtt`: federation of labsocket hosts through an MQTT 5 broker (SPEC §9).
//!
//! Each host publishes under `labsocket/v1/<lab>/<host>/` its birth/will `status`, the
//! retained latest `pt/<codename>` (and `meta/<codename>`) of its points, and every change
//! in QoS 1 `batch` messages sent from an on-disk outbox; it takes in the hosts it names,
//! whose points enter the local point table as `<host>/<codename>` and go `OLD_DATA` (core
//! `set_stale`) while their host is offline. Events travel as `ev/<topic>` (QoS 0) and
//! reach local subscribers with `"host"` added.
//!
//! Map of the crate:
//! - `config`: the `[mqtt]` table (no table: federation off, the plugin idles).
//! - `topic`: topic names and the percent-encoding of a level.
//! - `outbox`: the bounded SQLite outbox of batches not yet acknowledged by the broker.
//! - `link`: the rumqttc client, its poll thread and the publisher thread.
//! - `ws`: workspace variables across hosts (`ws/<name>`, `ws-set`/`ws-get` requests).
//!
//! Commands: `mqtt.status` → the link's state and counters (`{"enabled": false}` when
//! off); `mqtt.ws_set` → a write of another host's variable, answered once that host
//! stored it (called by the workspace plugin).
//!
//! Not yet implemented (docs/user-guide.md, Federation): TLS,
//! MQTT message expiry on `pt` (the plugin API offers no way to learn pull-socket
//! timeouts, so `meta` says `"timeout": null` and `pt` has no expiry).

mod config;
mod link;
mod outbox;
mod topic;
mod ws;

use labsocket_plugin_api::{json, plugin, CommandError, Ctx, NoParams, Value};

use config::Config;
use link::Link;

/// The plugin's state: the running link, or nothing when there is no `[mqtt]` table.
pub struct Mqtt {
    link: Option<Link>,
}

plugin! {
    name: "mqtt",
    description: "Federation through an MQTT 5 broker: shares points, events and workspace variables, takes in other hosts' as <host>/<codename> and <host>/<name>",
    state: Mqtt,
    init: init,
    shutdown: shutdown,
    commands: {
        "mqtt.status" => status_command [read_only]
            (result: "{\"enabled\", \"host\", \"connected\", \"phase\", \"error\", \"remote_hosts\", ...}"):
            "State of the federation link: connection, phase (federating, duplicate, ...), counters, remote hosts",
        "mqtt.ws_set" => ws_set_command
            (params: "{name: \"<host>/<name>\", encoding, value | data (base64), provider?, type_hint?}", result: "{rev, meta}")
            : "Federation (used by the workspace plugin): writes another host's variable; answers once that host stored it durably",
    }
}

/// Checks a `[mqtt]` table (as JSON) without starting anything: the host calls it while
/// validating its config, so a bad table stops the start with the key named instead of
/// only failing the plugin's init.
pub fn check_config(table: Value) -> Result<(), String> {
    Config::parse(table).map(|_| ())
}

/// Reads `[mqtt]` and starts the link; without the table the plugin idles.
fn init(ctx: &Ctx, config: Value) -> Result<Mqtt, String> {
    let link = match Config::from_json(config)? {
        Some(config) => Some(Link::start(ctx, config)?),
        None => None,
    };
    Ok(Mqtt { link })
}

/// The host stops: changes go to the outbox, the offline status out, the link closes.
fn shutdown(mqtt: &Mqtt, _ctx: &Ctx) {
    if let Some(link) = &mqtt.link {
        link.stop();
    }
}

fn status_command(mqtt: &Mqtt, _ctx: &Ctx, _params: NoParams) -> Result<Value, CommandError> {
    Ok(match &mqtt.link {
        Some(link) => link.status(),
        None => json!({"enabled": false}),
    })
}

fn ws_set_command(mqtt: &Mqtt, _ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    match &mqtt.link {
        Some(link) => link.ws_set(params),
        None => Err(CommandError::new(format!(
            "cannot write {}: federation is off on this host (no [mqtt] table)",
            params.get("name").unwrap_or(&Value::Null)
        ))),
    }
}
