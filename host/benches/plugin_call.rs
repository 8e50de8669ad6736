//! `bench-plugins`: the cost of a plugin command called from a dylib against the same
//! command compiled in.
//!
//! `cargo bench -p labsocket --bench plugin_call [-- --calls N --runs N]`
//!
//! Both registries hold the `units` plugin alone: one from its descriptor linked into
//! this program (what `use units as _;` in the host does), one from the
//! `liblabsocket_units` dylib that `units-dylib` builds from the same crate (built here
//! with `cargo build --release -p units-dylib` first). Each call is
//! `Registry::call_inline("units.convert", ...)`, the host's whole call path for an
//! `inline` command: the request encoded to JSON, the C ABI call, the plugin's decode,
//! work and encode, the reply decoded and released through the plugin's `free`. The two
//! sides alternate in `--runs` rounds of `--calls` calls; the medians and their ratio are
//! printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use labsocket::commands::core_command_names;
use labsocket::events::EventBus;
use labsocket::plugins::{load, load_one, Descriptor, HostServices, PluginSource, Registry};
use labsocket::points::PointTable;
use labsocket::pyjson::{self, Value};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is in the workspace")
        .to_path_buf()
}

/// Builds the `units` dylib (release) and returns its path.
fn units_dylib() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "units-dylib"])
        .current_dir(workspace_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p units-dylib failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("release").join(format!(
        "{}labsocket_units{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Nanoseconds per call over `calls` calls.
fn time_calls(registry: &Registry, params: &Value, calls: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        let outcome = registry
            .call_inline("units.convert", params)
            .expect("units.convert is an inline command");
        std::hint::black_box(outcome.expect("the conversion succeeds"));
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let (mut calls, mut runs) = (200_000usize, 9usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--calls" => calls = args.next().and_then(|v| v.parse().ok()).expect("--calls N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            // `cargo bench` passes `--bench`; other harness flags are not ours.
            _ => {}
        }
    }
    let path = units_dylib();
    let data_dir =
        std::env::temp_dir().join(format!("labsocket-bench-plugins-{}", std::process::id()));
    let bus = EventBus::new();
    let services = HostServices::new(bus.clone(), PointTable::new(bus), data_dir.clone());
    let reserved = core_command_names();
    let compiled_in = load_one(
        PluginSource::CompiledIn,
        Ok(Descriptor::compiled_in(&units::DESCRIPTOR)),
        &services,
        &reserved,
    )
    .expect("compiled-in units loads");
    let dylib = load_one(
        PluginSource::Dylib(path.clone()),
        load::open_dylib(&path),
        &services,
        &reserved,
    )
    .expect("the units dylib loads");
    let params = pyjson::parse(r#"{"value": 25, "from": "degC", "to": "K"}"#).expect("JSON");
    for registry in [&compiled_in, &dylib] {
        let reply = registry.call_inline("units.convert", &params);
        assert_eq!(reply, Some(Ok(Value::Float(298.15))));
    }
    // Warm both up, then alternate so that drift in machine load hits both alike.
    time_calls(&compiled_in, &params, calls / 10);
    time_calls(&dylib, &params, calls / 10);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ours.push(time_calls(&compiled_in, &params, calls));
        theirs.push(time_calls(&dylib, &params, calls));
    }
    let (compiled, loaded) = (median(&mut ours), median(&mut theirs));
    println!(
        "units.convert, {runs} rounds of {calls} calls (medians), load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!("  compiled in: {compiled:>8.0} ns per call");
    println!(
        "  dylib:       {loaded:>8.0} ns per call ({})",
        path.display()
    );
    println!("  dylib / compiled in: {:.3}x", loaded / compiled);
    let _ = std::fs::remove_dir_all(data_dir);
}
