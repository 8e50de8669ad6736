//! `labsocket new-plugin NAME` writes a project that builds, passes its own tests, and
//! loads into the real server as a dylib — exactly what a lab does with it.

use std::process::Command;

use labsocket_e2e::{cargo_outside, dylib_file, labsocket_bin, Server, TempDir};
use serde_json::json;

#[test]
fn new_plugin_builds_passes_its_test_and_loads() {
    let dir = TempDir::new("new-plugin");
    let project = dir.path().join("mylab");
    let out = Command::new(labsocket_bin())
        .args(["new-plugin", "mylab", "--dir"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = project.join("Cargo.toml");

    // Its own unit tests (on the plugin API's mock host) pass.
    let test_output = cargo_outside("test", &manifest, "new-plugin");
    assert!(
        test_output.contains("test result: ok. 3 passed"),
        "the generated tests did not all run:\n{test_output}"
    );

    // Its dylib loads into the server, which hands it its config table.
    cargo_outside("build", &manifest, "new-plugin");
    let dylib = labsocket_e2e::build::target_dir()
        .join("new-plugin/debug")
        .join(dylib_file("labsocket_mylab"));
    assert!(dylib.exists(), "{} was not built", dylib.display());
    let config = format!(
        "[plugins]\ndylibs = [{:?}]\n\n[plugins.mylab]\ngreeting = \"Hi\"\n",
        dylib.display().to_string()
    );
    let server = Server::start(&config);
    let mut rpc = server.rpc();
    assert_eq!(
        rpc.call("mylab.greet", json!({"name": "Ada"})),
        json!("Hi, Ada!")
    );
    assert_eq!(rpc.call("get_point", json!(["mylab.greetings"]))["y"], 1);
    let error = rpc.call_err("mylab.greet", json!({"name": 7}));
    assert_eq!(error["code"], -32602, "{error}");
}

#[test]
fn new_plugin_refuses_bad_names_and_non_empty_folders() {
    let dir = TempDir::new("new-plugin-refusals");
    let out = Command::new(labsocket_bin())
        .args(["new-plugin", "My-Lab", "--dir"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a plugin name"));

    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let out = Command::new(labsocket_bin())
        .args(["new-plugin", "mylab", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
}
