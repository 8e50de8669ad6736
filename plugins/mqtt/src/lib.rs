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
//! - `tls`: the rustls client configuration of `mqtts://` (CA, client certificate).
//! - `link`: the rumqttc client, its poll thread and the publisher thread.
//! - `ws`: workspace variables across hosts (`ws/<name>`, `ws-set`/`ws-get` requests).
//!
//! Commands: `mqtt.status` → the link's state and counters (`{"enabled": false}` when off);
//! `mqtt.stats` → the same numbers flat, for `/metrics` (annotated `{"metrics": true}`);
//! `mqtt.ws_set` → a write of another host's variable, answered once that host stored it
//! (called by the workspace plugin).
//!
//! `meta/<codename>` and the MQTT message expiry of `pt/<codename>` come from the host's
//! pull sockets (core command `point_meta`): the longest timeout of the sockets listing
//! the codename. The broker connection may use TLS (`mqtts://`, module `tls`) and a
//! username with a password file.

mod config;
mod link;
mod outbox;
mod tls;
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
        "mqtt.stats" => stats_command [read_only]
            (result: "{\"connected\", \"messages_in_total\", \"messages_out_total\", \"outbox_batches\", \"remote_hosts_online\", ...}",
             annotations: "{\"metrics\": true}"):
            "The federation link's numbers for /metrics: connection state, MQTT messages in/out, outbox rows, remote hosts online ({} when federation is off)",
        "mqtt.ws_set" => ws_set_command
            (params: "{name: \"<host>/<name>\", encoding, value | data (base64), provider?, type_hint?}", result: "{rev, meta}")
            : "Federation (used by the workspace plugin): writes another host's variable; answers once that host stored it durably",
    }
}

/// Checks a `[mqtt]` table (as JSON, paths resolved) without starting anything, reading
/// the files it names: the host calls it while validating its config, so a bad table or
/// an unusable password/CA/key file stops the start with the key named instead of only
/// failing the plugin's init.
pub fn check_config(table: Value) -> Result<(), String> {
    Config::check(table)
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

/// Flat numbers (not `mqtt.status`, whose per-host map would make one metric name per
/// host); nothing when federation is off, so `/metrics` has no `mqtt` family then.
fn stats_command(mqtt: &Mqtt, _ctx: &Ctx, _params: NoParams) -> Result<Value, CommandError> {
    Ok(match &mqtt.link {
        Some(link) => link.stats(),
        None => json!({}),
    })
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
