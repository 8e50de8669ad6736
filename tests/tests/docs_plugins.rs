//! The complete example of `docs/plugins.md` ("A complete example"), run as written: its
//! `Cargo.toml`, `src/lib.rs` and `tests/oven.rs` are extracted from the guide into a
//! crate outside this workspace, whose own test must pass; the dylib it builds (one crate
//! with `crate-type = ["cdylib", "rlib"]` and `export_dylib!`, no wrapper) is loaded with
//! the guide's config into the real server and called over the native protocol. Only the
//! path of the `labsocket-plugin-api` dependency is replaced by this checkout's.

use labsocket_e2e::build::target_dir;
use labsocket_e2e::{cargo_outside, dylib_file, workspace_root, Server, TempDir, WAIT};
use serde_json::json;

const EXAMPLE: &str = "## 10. A complete example";
/// The dependency line as the guide writes it.
const API_PATH_IN_GUIDE: &str = "path = \"../labsocket/plugin-api\"";

/// The example's section of the guide.
fn example() -> String {
    let guide = std::fs::read_to_string(workspace_root().join("docs/plugins.md")).unwrap();
    let start = guide
        .find(EXAMPLE)
        .expect("the guide has the complete example");
    let section = &guide[start + EXAMPLE.len()..];
    let end = section.find("\n## ").unwrap_or(section.len());
    section[..end].to_owned()
}

/// The body of the fenced block of `kind` whose first line is `first_line`.
fn block(text: &str, kind: &str, first_line: &str) -> String {
    let opening = format!("```{kind}\n{first_line}\n");
    let open = text
        .find(&opening)
        .unwrap_or_else(|| panic!("no {kind} block starting with {first_line:?}"))
        + format!("```{kind}\n").len();
    let close = open + text[open..].find("\n```").expect("a closing fence") + 1;
    text[open..close].to_owned()
}

#[test]
fn the_complete_example_builds_passes_its_test_and_serves() {
    let example = example();
    let dir = TempDir::new("docs-plugins");
    let crate_dir = dir.path().join("oven");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    std::fs::create_dir_all(crate_dir.join("tests")).unwrap();

    let manifest = block(&example, "toml", "# oven/Cargo.toml");
    assert!(manifest.contains(API_PATH_IN_GUIDE), "{manifest}");
    let api = workspace_root().join("plugin-api");
    let manifest = manifest.replace(
        API_PATH_IN_GUIDE,
        &format!("path = {:?}", api.display().to_string()),
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        crate_dir.join("src/lib.rs"),
        block(&example, "rust", "// oven/src/lib.rs"),
    )
    .unwrap();
    std::fs::write(
        crate_dir.join("tests/oven.rs"),
        block(&example, "rust", "// oven/tests/oven.rs"),
    )
    .unwrap();
    // This workspace's lock file pins the dependencies to versions already built here.
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .unwrap();

    let manifest = crate_dir.join("Cargo.toml");
    let tested = cargo_outside("test", &manifest, "docs-plugins");
    assert!(
        tested.contains("test setpoints_are_checked_saved_and_published ... ok"),
        "the guide's test did not run:\n{tested}"
    );
    cargo_outside("build", &manifest, "docs-plugins");
    let dylib = target_dir()
        .join("docs-plugins/debug")
        .join(dylib_file("oven"));
    assert!(dylib.exists(), "{} was not built", dylib.display());

    // The guide's lab.toml, pointing at the library just built.
    let lab_toml = block(&example, "toml", "# lab.toml");
    let named = "oven/target/debug/liboven.so";
    assert!(lab_toml.contains(named), "{lab_toml}");
    let config = lab_toml.replace(named, &dylib.display().to_string());
    let mut server = Server::start(&config);
    let mut rpc = server.rpc();

    assert_eq!(
        rpc.call("oven.setpoint", json!({})),
        json!({"celsius": 20.0})
    );
    rpc.call("subscribe", json!({"topics": ["oven.setpoint"]}));
    assert_eq!(
        rpc.call("oven.set_setpoint", json!({"celsius": 180})),
        json!({"celsius": 180.0})
    );
    let event = rpc.next_notification("event", WAIT);
    assert_eq!(event["params"]["topic"], "oven.setpoint", "{event}");
    // An object payload's fields sit next to the topic.
    assert_eq!(event["params"]["celsius"], 180.0, "{event}");
    assert_eq!(rpc.call("get_point", json!(["oven_setpoint"]))["y"], 180.0);
    assert_eq!(rpc.call("oven.published", json!([]))["y"], 180.0);

    // The config's limit holds, and a misfit names the field.
    let too_hot = rpc.call_err("oven.set_setpoint", json!({"celsius": 300}));
    assert_eq!(too_hot["code"], -32602, "{too_hot}");
    let wrong = rpc.call_err("oven.set_setpoint", json!({"celsius": "hot"}));
    assert_eq!(wrong["code"], -32602, "{wrong}");
    assert!(
        wrong["message"].as_str().unwrap().contains("celsius"),
        "{wrong}"
    );

    // The listing shows the metadata of plugin!.
    let commands = rpc.call("commands", json!([]));
    let setpoint = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|command| command["name"] == "oven.setpoint")
        .expect("oven.setpoint is listed");
    assert_eq!(setpoint["plugin"], "oven");
    assert_eq!(setpoint["read_only"], true);
    assert_eq!(setpoint["result"], "{celsius}");

    // The shutdown hook ran on a graceful stop.
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    assert!(
        server.stderr().contains("oven stopped at 180 °C"),
        "{}",
        server.stderr()
    );
}
