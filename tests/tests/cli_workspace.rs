//! `labsocket vars` against the real workspace plugin.

use std::process::Command;

use labsocket_e2e::{labsocket_bin, Server};

#[test]
fn vars_lists_every_variable_with_its_metadata() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let mut rpc = server.rpc();
    rpc.call(
        "workspace.set",
        serde_json::json!({"name": "gain", "value": 2.5}),
    );
    rpc.call(
        "workspace.set",
        serde_json::json!({"name": "spectrum", "value": [1, 2, 3]}),
    );
    let out = Command::new(labsocket_bin())
        .args(["vars", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["name", "encoding", "type", "size", "version", "provider", "modified"],
        "{table}"
    );
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        table.contains("gain") && table.contains("spectrum"),
        "{table}"
    );
    assert!(
        lines[1..].iter().all(|line| line.contains(" json ")),
        "{table}"
    );

    let out = Command::new(labsocket_bin())
        .args(["vars", "--json", "--port", &port])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|meta| meta["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["gain", "spectrum"]);
}
