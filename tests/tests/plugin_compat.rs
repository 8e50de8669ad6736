//! Plugin API 1.0.0 compatibility, for real: a plugin built against a frozen copy of the
//! 1.0.0 API (`tests/compat/`, its own workspace) is loaded into the current host and
//! everything a 1.0 plugin could do is exercised over the native protocol. The current
//! plugins (compiled in, and the units dylib) are built against this host's API.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use labsocket_e2e::build::{cargo_outside, dylib_file, target_dir, workspace_root};
use labsocket_e2e::{labsocket_bin, units_dylib, Server, TempDir};
use serde_json::{json, Value};

/// Builds `tests/compat/plugin-1.0.0` into `<target>/compat` (once per test process) and
/// returns its `.so`.
fn compat_plugin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let target = target_dir().join("compat");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--locked",
                    "-p",
                    "compat-plugin",
                    "--manifest-path",
                ])
                .arg(workspace_root().join("tests/compat/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .status()
                .expect("cargo can be run");
            assert!(status.success(), "building the 1.0.0 compat plugin failed");
            let path = target.join("debug").join(format!(
                "{}labsocket_compat{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ));
            assert!(path.exists(), "{} was not built", path.display());
            path
        })
        .clone()
}

/// The same 1.0.0 plugin's source, built against this checkout's `plugin-api` (the source
/// promise of 1.x: a plugin written for 1.0 compiles unchanged against every 1.y).
fn compat_source_on_current_api(dir: &TempDir) -> PathBuf {
    let root = workspace_root();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::copy(
        root.join("tests/compat/plugin-1.0.0/src/lib.rs"),
        dir.path().join("src/lib.rs"),
    )
    .unwrap();
    // The workspace's lock file as a starting point: the same dependency versions, offline.
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let manifest = dir.path().join("Cargo.toml");
    std::fs::write(
        &manifest,
        format!(
            "[package]\nname = \"compat-plugin\"\nversion = \"0.3.1\"\nedition = \"2021\"\npublish = false\n\n\
             [lib]\nname = \"labsocket_compat\"\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nlabsocket-plugin-api = {{ path = {:?} }}\n\n[workspace]\n",
            root.join("plugin-api").display().to_string()
        ),
    )
    .unwrap();
    cargo_outside("build", &manifest, "compat-source");
    let path = target_dir()
        .join("compat-source/debug")
        .join(dylib_file("labsocket_compat"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn config(dylibs: &[&PathBuf]) -> String {
    let list: Vec<String> = dylibs
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    format!(
        "[plugins]\ndylibs = [{}]\n\n[plugins.compat]\ngreeting = \"hi\"\nlevel = 3\n",
        list.join(", ")
    )
}

#[test]
fn a_plugin_built_against_api_1_0_0_works_in_this_host() {
    let compat = compat_plugin();
    let mut server = Server::start(&config(&[&compat]));
    let mut rpc = server.rpc();

    // Init saw its config table.
    assert_eq!(
        rpc.call("compat.config", json!([])),
        json!({"greeting": "hi", "level": 3})
    );
    assert!(server
        .stderr()
        .contains(r#"compat plugin initialised with {"greeting":"hi","level":3}"#));

    // emit reaches a native subscriber.
    rpc.call("subscribe", json!({"topics": ["compat_topic"]}));
    assert_eq!(
        rpc.call(
            "compat.emit",
            json!({"topic": "compat_topic", "payload": {"n": 1, "f": 2.5}})
        ),
        true
    );
    let event = rpc.next_notification("event", Duration::from_secs(10));
    assert_eq!(
        event["params"],
        json!({"topic": "compat_topic", "n": 1, "f": 2.5})
    );
    // A refusal still reaches a 1.0 plugin as an error (it has no last_error to ask).
    let refused = rpc.call_err("compat.emit", json!({"topic": "", "payload": 1}));
    assert!(
        refused["message"].as_str().unwrap().contains("emit"),
        "{refused}"
    );

    // set_point is visible to get_point, with its JSON types.
    assert_eq!(
        rpc.call("compat.set_point", json!(["compat_a", 1.5, 42])),
        true
    );
    let point = rpc.call("get_point", json!(["compat_a"]));
    assert_eq!(
        (point["x"].clone(), point["y"].clone()),
        (json!(1.5), json!(42))
    );

    // log lands in the host log, tagged with the plugin.
    rpc.call("compat.log", json!(["a 1.0 plugin speaking"]));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.stderr().contains("a 1.0 plugin speaking") {
        assert!(
            std::time::Instant::now() < deadline,
            "log line missing:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let line = server
        .stderr()
        .lines()
        .find(|line| line.contains("a 1.0 plugin speaking"))
        .unwrap()
        .to_owned();
    assert!(line.contains("WARN") && line.contains("compat"), "{line}");

    // Listed as a 1.0.0 plugin, without 1.1 metadata.
    let plugins = rpc.call("plugins", json!([]));
    let entry = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "compat")
        .unwrap();
    assert_eq!(entry["api_version"], "1.0.0");
    assert_eq!(entry["version"], "0.3.1");
    assert_eq!(entry["description"], "");
    assert!(entry["command_details"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["read_only"] == false && c["params"].is_null() && c["result"].is_null()));

    // A 1.0 plugin has no shutdown hook: the host stops cleanly without one.
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.stderr());
}

#[test]
fn the_1_0_0_plugin_source_builds_against_this_api_and_works() {
    let dir = TempDir::new("compat-source");
    let compat = compat_source_on_current_api(&dir);
    let server = Server::start(&config(&[&compat]));
    let mut rpc = server.rpc();
    assert_eq!(
        rpc.call("compat.config", json!([])),
        json!({"greeting": "hi", "level": 3})
    );
    assert_eq!(
        rpc.call("compat.set_point", json!(["compat_src", 2.5, 7])),
        true
    );
    let point = rpc.call("get_point", json!(["compat_src"]));
    assert_eq!(
        (point["x"].clone(), point["y"].clone()),
        (json!(2.5), json!(7))
    );
    let plugins = rpc.call("plugins", json!([]));
    let compat = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "compat")
        .unwrap_or_else(|| panic!("compat not listed: {plugins}"));
    // Built against this API now, not the frozen 1.0.0 (the listing test pins the version).
    assert_ne!(compat["api_version"], "1.0.0", "{compat}");
}

#[test]
fn current_plugins_are_built_against_this_hosts_api() {
    let dir = TempDir::new("compat-listing");
    let path = dir.path().join("labsocket.toml");
    std::fs::write(&path, config(&[&units_dylib(), &compat_plugin()])).unwrap();
    let out = Command::new(labsocket_bin())
        .args(["plugins", "--json", "--init", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    for plugin in list.as_array().unwrap() {
        let expected = if plugin["name"] == "compat" {
            "1.0.0"
        } else {
            "1.2.0"
        };
        assert_eq!(plugin["api_version"], expected, "{plugin}");
        assert_eq!(plugin["error"], Value::Null, "{plugin}");
    }
    assert!(list.as_array().unwrap().len() >= 3, "{list}");
}
