//! `system`: this machine's metrics, compiled into the host.
//!
//! - `system.sample` → `{codename: y}` of numeric metrics ([`CODENAMES`]), for a timed
//!   source to feed a pull socket (the default `labsocket serve` serves them on 9000).
//! - `system.status` → PyExpLabSys' `system_status` dict, which the pull and push
//!   sockets' `status` reply embeds. A lab can ship its own plugin with this command.
//!
//! Metrics come from the `sysinfo` crate (load average, memory, disks, network counters,
//! uptime, host name, OS version: one well-kept, portable source). What it does not
//! cover is read from Linux files directly: this process's peak memory and thread count
//! (`/proc/self/status`), idle time (`/proc/uptime`) and the Raspberry Pi details; they
//! are `null` elsewhere. Nothing here does DNS or other network I/O: PyExpLabSys looked
//! up a database host to pick the interface for `mac_address`; here it is the first
//! non-loopback interface with a hardware address.
//!
//! `python_version` is `null`: there is no Python here, and a made-up version would
//! mislead a client comparing it. `last_git_fetch_unixtime` keeps its shape with `null`s
//! (no PyExpLabSys checkouts), and `last_apt_cache_change_unixtime` is the mtime of apt's
//! package cache, what the Python code meant to read (a bug made it `/proc/uptime`'s).
//!
//! Settings (`[plugins.system]`, all optional): `purpose_id`, `purpose` and
//! `long_description`, PyExpLabSys' `purpose` (which it read from `~/PURPOSE`).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::UNIX_EPOCH;

use labsocket_plugin_api::serde::{Deserialize, Serialize};
use labsocket_plugin_api::{json, plugin, CommandError, Ctx, NoParams, Value};
use sysinfo::{Disks, Networks, System};

/// The codenames `system.sample` returns, in order.
pub const CODENAMES: &[&str] = &[
    "load_1m",
    "load_5m",
    "load_15m",
    "mem_used_fraction",
    "mem_available_bytes",
    "disk_free_bytes",
    "uptime_secs",
    "net_rx_bytes",
    "net_tx_bytes",
];

/// `[plugins.system]`: PyExpLabSys' `purpose`, as `system.status` reports it (the keys of
/// the reply's `purpose` object are `id`, `purpose`, `long_description`).
#[derive(Default, Deserialize, Serialize)]
#[serde(crate = "labsocket_plugin_api::serde", deny_unknown_fields)]
struct Purpose {
    #[serde(rename(serialize = "id"))]
    purpose_id: Option<String>,
    purpose: Option<String>,
    long_description: Option<String>,
}

/// The plugin's state: the purpose from the config, and sysinfo's memory and network
/// state, refreshed on each call.
struct Metrics {
    purpose: Purpose,
    memory: Mutex<System>,
    networks: Mutex<Networks>,
}

fn init(_ctx: &Ctx, purpose: Purpose) -> Result<Metrics, String> {
    Ok(Metrics {
        purpose,
        memory: Mutex::new(System::new()),
        networks: Mutex::new(Networks::new_with_refreshed_list()),
    })
}

/// A lock that outlives a panic of another holder (the data is refreshed before use).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `(total, available)` bytes of the file system mounted at `/` (or the first one).
fn root_filesystem() -> Option<(u64, u64)> {
    let disks = Disks::new_with_refreshed_list();
    let list = disks.list();
    list.iter()
        .find(|disk| disk.mount_point() == Path::new("/"))
        .or_else(|| list.first())
        .map(|disk| (disk.total_space(), disk.available_space()))
}

/// `(received, transmitted)` bytes since boot over every non-loopback interface.
fn network_totals(metrics: &Metrics) -> (u64, u64) {
    let mut networks = lock(&metrics.networks);
    networks.refresh(true);
    networks
        .list()
        .iter()
        .filter(|(name, _)| !is_loopback(name))
        .fold((0, 0), |(rx, tx), (_, data)| {
            (rx + data.total_received(), tx + data.total_transmitted())
        })
}

fn is_loopback(interface: &str) -> bool {
    interface == "lo" || interface.starts_with("lo0") || interface.starts_with("Loopback")
}

/// `system.sample`: the numeric metrics, `{codename: y}`.
fn sample(metrics: &Metrics, _ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    let load = System::load_average();
    let (total_memory, available_memory) = {
        let mut memory = lock(&metrics.memory);
        memory.refresh_memory();
        (memory.total_memory(), memory.available_memory())
    };
    let used_fraction = if total_memory == 0 {
        Value::Null
    } else {
        Value::from(1.0 - available_memory as f64 / total_memory as f64)
    };
    let (rx, tx) = network_totals(metrics);
    Ok(json!({
        "load_1m": load.one,
        "load_5m": load.five,
        "load_15m": load.fifteen,
        "mem_used_fraction": used_fraction,
        "mem_available_bytes": available_memory,
        "disk_free_bytes": root_filesystem().map(|(_, free)| free),
        "uptime_secs": System::uptime(),
        "net_rx_bytes": rx,
        "net_tx_bytes": tx,
    }))
}

/// A `Key: value` field of `/proc/self/status`, as a number (the first word).
fn proc_status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| {
            text.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                .to_owned()
        })
        .filter(|text| !text.is_empty())
}

fn mtime(path: &str) -> Option<f64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_secs_f64())
}

/// `VERSION` of `/etc/os-release` (e.g. `12 (bookworm)`, as PyExpLabSys reported it).
fn os_version() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok();
    release
        .as_deref()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("VERSION="))
                .map(|value| value.trim_matches('"').to_owned())
        })
        .or_else(System::os_version)
}

fn mac_address(metrics: &Metrics) -> String {
    let networks = lock(&metrics.networks);
    let mut interfaces: Vec<_> = networks
        .list()
        .iter()
        .filter(|(name, data)| !is_loopback(name) && !data.mac_address().is_unspecified())
        .collect();
    interfaces.sort_by(|a, b| a.0.cmp(b.0));
    interfaces
        .first()
        .map(|(_, data)| data.mac_address().to_string())
        .unwrap_or_else(|| "MAC ADDRESS UNKNOWN".to_owned())
}

/// `system.status`: PyExpLabSys' `system_status` (keys in alphabetical order).
fn status(metrics: &Metrics, _ctx: &Ctx, _: NoParams) -> Result<Value, CommandError> {
    let load = System::load_average();
    let process = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let (uptime, idle) = match read_trimmed("/proc/uptime") {
        Some(text) => {
            let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
            (fields.next().flatten(), fields.next().flatten())
        }
        None => (Some(System::uptime() as f64), None),
    };
    let rpi_model = read_trimmed("/proc/device-tree/model").filter(|m| m.contains("Raspberry Pi"));
    let rpi_temperature = rpi_model
        .as_ref()
        .and_then(|_| read_trimmed("/sys/class/thermal/thermal_zone0/temp"))
        .and_then(|milli| milli.parse::<f64>().ok())
        .map(|milli| milli / 1000.0);
    let filesystem = root_filesystem();
    Ok(json!({
        "filesystem_usage": {
            "total_bytes": filesystem.map(|(total, _)| total),
            "free_bytes": filesystem.map(|(_, free)| free),
        },
        "last_apt_cache_change_unixtime": mtime("/var/cache/apt/pkgcache.bin"),
        "last_git_fetch_unixtime": {"PyExpLabSys": null, "machines": null},
        "load_average": {"1m": load.one, "5m": load.five, "15m": load.fifteen},
        "mac_address": mac_address(metrics),
        "machine_name": System::host_name(),
        "max_python_mem_usage_bytes": proc_status_field(&process, "VmHWM").map(|kb| kb * 1024),
        "number_of_python_threads": proc_status_field(&process, "Threads"),
        "os_version": os_version(),
        "purpose": metrics.purpose,
        "python_version": null,
        "rpi_model": rpi_model,
        "rpi_temperature": rpi_temperature,
        "sd_card_serial": read_trimmed("/sys/block/mmcblk0/device/serial"),
        "uptime": {"uptime_sec": uptime, "idle_sec": idle},
    }))
}

// `system.sample` keeps `Value` params: a `[[source]]` table may pass any params to the
// command it runs, and this one ignores them.
plugin! {
    name: "system",
    description: "This machine's metrics, and PyExpLabSys' system_status",
    state: Metrics,
    init: init,
    commands: {
        "system.sample" => sample [read_only]
            (params: "any (ignored)", result: "{codename: number | null}")
            : "This machine's metrics as {codename: value}: load, memory, disk, uptime, network",
        "system.status" => status [read_only]
            (params: "{}", result: "PyExpLabSys system_status object")
            : "PyExpLabSys' system_status dict (the 'status' reply of UDP sockets embeds it)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labsocket_plugin_api::codes;
    use labsocket_plugin_api::testing::MockHost;

    #[test]
    fn status_reports_the_configured_purpose_and_refuses_unknown_keys() {
        let host = MockHost::named("system");
        host.init(
            &DESCRIPTOR,
            json!({"purpose_id": "B312", "purpose": "oven"}),
        )
        .unwrap();
        let status = host
            .command(&DESCRIPTOR, "system.status", Value::Null)
            .unwrap();
        assert_eq!(
            status["purpose"],
            json!({"id": "B312", "purpose": "oven", "long_description": null})
        );
        let extra = host
            .command(&DESCRIPTOR, "system.status", json!({"x": 1}))
            .unwrap_err();
        assert_eq!(extra.code, codes::INVALID_PARAMS);

        let typo = MockHost::named("system")
            .init(&DESCRIPTOR, json!({"purpos": "oven"}))
            .unwrap_err();
        assert!(
            typo.contains("invalid config") && typo.contains("purpos"),
            "{typo}"
        );
        let not_text = MockHost::named("system")
            .init(&DESCRIPTOR, json!({"purpose": 5}))
            .unwrap_err();
        assert!(not_text.contains("purpose"), "{not_text}");
    }

    #[test]
    fn proc_status_fields_are_read_as_numbers() {
        let status = "Name:\tlabsocket\nVmHWM:\t  12345 kB\nThreads:\t7\n";
        assert_eq!(proc_status_field(status, "VmHWM"), Some(12345));
        assert_eq!(proc_status_field(status, "Threads"), Some(7));
        assert_eq!(proc_status_field(status, "Missing"), None);
    }
}
