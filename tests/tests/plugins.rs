//! Plugin loading against the real binary: a dylib built here and loaded by the server,
//! and every loader error, each of which must leave the server running.

use std::path::Path;
use std::process::Command;

use labsocket_e2e::plugin_list::{config_with_dylibs, plugins_json_at};
use labsocket_e2e::{bad_plugin, labsocket_bin, units_dylib, Server, TempDir};
use serde_json::{json, Value};

/// `labsocket plugins --json` with `config`: (exit code, parsed stdout).
fn plugins_json(config: &str) -> (i32, Value) {
    let dir = TempDir::new("plugins");
    let path = dir.path().join("labsocket.toml");
    std::fs::write(&path, config).unwrap();
    plugins_json_at(&path, &[])
}

#[test]
fn dylib_plugin_is_loaded_and_callable() {
    let dylib = units_dylib();
    let server = Server::start(&config_with_dylibs(&[&dylib]));
    let mut rpc = server.rpc();
    let kelvin = rpc.call(
        "units.convert",
        json!({"value": 25, "from": "degC", "to": "K"}),
    );
    assert!((kelvin.as_f64().unwrap() - 298.15).abs() < 1e-9, "{kelvin}");
    let error = rpc.call_err(
        "units.convert",
        json!({"value": 1, "from": "K", "to": "bar"}),
    );
    assert_eq!(error["code"], -32602);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("cannot convert"),
        "{error}"
    );
    let plugins = rpc.call("plugins", json!([]));
    let units = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "units")
        .unwrap();
    assert_eq!(units["source"], "dylib");
    assert_eq!(units["path"], dylib.display().to_string());
}

#[test]
fn a_directory_of_dylibs_loads_every_library_in_it() {
    let dylib = units_dylib();
    let dir = TempDir::new("dylib-dir");
    std::fs::copy(&dylib, dir.path().join(dylib.file_name().unwrap())).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a library").unwrap();
    let (code, list) = plugins_json(&config_with_dylibs(&[dir.path()]));
    assert_eq!(code, 0, "{list}");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // Compiled-in plugins first (sorted by name), then the directory's one dylib.
    assert!(names.contains(&"hello"), "{names:?}");
    assert_eq!(names.iter().filter(|name| **name == "units").count(), 1);
    assert_eq!(names.last(), Some(&"units"), "{names:?}");
}

#[test]
fn plugins_subcommand_lists_compiled_in_and_dylib_plugins() {
    let dylib = units_dylib();
    let (code, list) = plugins_json(&config_with_dylibs(&[&dylib]));
    assert_eq!(code, 0);
    let list = list.as_array().unwrap();
    let hello = list.iter().find(|p| p["name"] == "hello").expect("hello");
    assert_eq!(hello["source"], "compiled-in");
    assert_eq!(hello["path"], Value::Null);
    assert!(hello["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("hello.greet")));
    let units = list.last().unwrap();
    assert_eq!(units["name"], "units");
    assert_eq!(units["source"], "dylib");
    assert_eq!(units["api_version"], "1.2.0");
    assert_eq!(units["commands"], json!(["units.convert", "units.list"]));
    assert_eq!(units["error"], Value::Null);
}

/// Loads `config` with `labsocket plugins --init` (inits run, as in `serve`) and with
/// `labsocket serve`; checks the error reported for the failing plugin. The server must
/// still start and serve.
fn refused(bad: &Path, expect: &[&str]) {
    let dir = TempDir::new("refused");
    let path = dir.path().join("labsocket.toml");
    std::fs::write(&path, config_with_dylibs(&[bad, &units_dylib()])).unwrap();
    let (code, list) = plugins_json_at(&path, &["--init"]);
    assert_eq!(code, 1, "a failed plugin makes `plugins` exit 1: {list}");
    let failed: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["error"].is_null())
        .collect();
    assert_eq!(failed.len(), 1, "{list}");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(!error.contains('\n'), "one-line error: {error}");
    for needle in expect {
        assert!(error.contains(needle), "'{needle}' missing from: {error}");
    }
    // The good plugins around it still load.
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "units" && p["error"].is_null()));

    let server = Server::start(&config_with_dylibs(&[bad, &units_dylib()]));
    let mut rpc = server.rpc();
    assert_eq!(rpc.call("ping", json!([])), "pong");
    assert!(rpc
        .call(
            "units.convert",
            json!({"value": 1, "from": "bar", "to": "Pa"})
        )
        .as_f64()
        .is_some());
    assert!(
        server.stderr().contains(expect[0]),
        "server log lacks the error:\n{}",
        server.stderr()
    );
}

#[test]
fn missing_file_is_refused() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("libnothing.so");
    refused(&path, &["does not exist", "libnothing.so"]);
}

#[test]
fn library_without_the_symbol_is_not_a_plugin() {
    let path = bad_plugin("no_symbol");
    refused(
        &path,
        &[
            "is not a labsocket plugin",
            "labsocket_plugin_descriptor_v1",
        ],
    );
}

#[test]
fn bad_magic_is_refused() {
    refused(&bad_plugin("bad_magic"), &["bad magic"]);
}

#[test]
fn incompatible_api_major_names_both_versions() {
    let path = bad_plugin("bad_abi_major");
    refused(
        &path,
        &[
            "requires plugin API ^2.0.0, host provides 1.2.0",
            "major versions differ",
            "future",
        ],
    );
}

#[test]
fn duplicate_command_names_both_plugins() {
    refused(
        &bad_plugin("duplicate_command"),
        &["command 'hello.greet' is claimed by plugin 'hello' and by plugin 'impostor'"],
    );
}

#[test]
fn duplicate_plugin_name_names_both_sources() {
    refused(
        &bad_plugin("duplicate_name"),
        &[
            "plugin name 'hello' is taken: compiled-in and",
            "duplicate_name",
        ],
    );
}

#[test]
fn init_that_panics_is_refused() {
    refused(
        &bad_plugin("init_panics"),
        &[
            "plugin 'initpanics'",
            "failed to initialise",
            "init exploded",
        ],
    );
}

#[test]
fn init_that_fails_is_refused() {
    refused(
        &bad_plugin("init_fails"),
        &[
            "plugin 'initfails'",
            "failed to initialise",
            "instrument not found",
        ],
    );
}

#[test]
fn plugins_text_output_is_readable() {
    let dir = TempDir::new("plugins-text");
    let path = dir.path().join("labsocket.toml");
    std::fs::write(&path, config_with_dylibs(&[&bad_plugin("bad_abi_major")])).unwrap();
    let out = Command::new(labsocket_bin())
        .args(["plugins", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("hello 0.1.0  [compiled-in]  plugin API 1.2.0"),
        "{text}"
    );
    assert!(text.contains("    hello.greet"), "{text}");
    assert!(text.contains("FAILED ["), "{text}");
}

/// The entry of plugin `name` in a `plugins --json` list.
fn entry<'l>(list: &'l Value, name: &str) -> &'l Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plugin '{name}': {list}"))
}

#[test]
fn plugins_lists_without_running_init_unless_asked() {
    let dir = TempDir::new("no-init");
    let path = dir.path().join("labsocket.toml");
    std::fs::write(&path, config_with_dylibs(&[&bad_plugin("init_fails")])).unwrap();
    let (code, list) = plugins_json_at(&path, &[]);
    assert_eq!(code, 0, "{list}");
    assert_eq!(entry(&list, "initfails")["error"], Value::Null);
    assert!(
        !dir.path().join("labsocket-data").exists(),
        "listing creates no data directory"
    );
    let (code, list) = plugins_json_at(&path, &["--init"]);
    assert_eq!(code, 1, "{list}");
    let failed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !p["error"].is_null());
    let error = failed.expect("the init failure is reported")["error"]
        .as_str()
        .unwrap();
    assert!(error.contains("instrument not found"), "{error}");
}

#[test]
fn plugins_next_to_a_running_server_lists_and_init_explains_the_lock() {
    let server = Server::start("");
    let config = server.dir.path().join("labsocket.toml");
    let (code, list) = plugins_json_at(&config, &[]);
    assert_eq!(code, 0, "{list}");
    let workspace = entry(&list, "workspace");
    assert_eq!(workspace["error"], Value::Null);
    assert!(workspace["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("workspace.set")));
    let (code, list) = plugins_json_at(&config, &["--init"]);
    assert_eq!(code, 1, "{list}");
    let failed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["error"].as_str())
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "only the workspace's store is locked: {list}"
    );
    assert!(
        failed[0].contains("plugin 'workspace'")
            && failed[0].contains(
                "is in use by another process (a labsocket server running on this data_dir?)"
            ),
        "{}",
        failed[0]
    );
    // The running server did not notice.
    let mut rpc = server.rpc();
    rpc.call("workspace.set", json!({"name": "x", "value": 1}));
    assert_eq!(rpc.call("workspace.get", json!({"name": "x"}))["value"], 1);
}
