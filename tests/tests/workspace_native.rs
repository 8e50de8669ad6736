//! The workspace and settings over the native protocol: `workspace.*`, `settings.*`, and
//! the events every front end's writes publish.

use labsocket_e2e::pyminer::g1_call;
use labsocket_e2e::{Server, WAIT};
use serde_json::{json, Value};

#[test]
fn workspace_commands_round_trip_json_and_encoded_values_with_metadata() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let meta = rpc.call(
        "workspace.set",
        json!({"name": "t", "value": [1, 2.5, null, "é"]}),
    );
    assert_eq!(meta["name"], "t");
    assert_eq!(meta["encoding"], "json");
    assert_eq!(meta["type_hint"], "other");
    assert_eq!(meta["version"], 1);
    assert_eq!(meta["provider"], "native");
    assert_eq!(meta["size"], 17); // the compact JSON text
    assert!(meta["created"].as_f64().unwrap() > 1.6e9);
    let got = rpc.call("workspace.get", json!({"name": "t"}));
    assert_eq!(got["value"], json!([1, 2.5, null, "é"]));
    assert_eq!(got["meta"], meta);
    let meta = rpc.call(
        "workspace.set",
        json!({"name": "frame", "encoding": "parquet", "data": "UEFSMQ==", "provider": "daq"}),
    );
    assert_eq!(
        (meta["type_hint"].as_str(), meta["size"].as_u64()),
        (Some("table"), Some(4))
    );
    assert_eq!(
        rpc.call("workspace.get", json!({"name": "frame"}))["data"],
        "UEFSMQ=="
    );
    let list = rpc.call("workspace.list", json!({}));
    let names: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["name"])
        .collect();
    assert_eq!(names, [&json!("t"), &json!("frame")]);
    assert_eq!(
        rpc.call("workspace.meta", json!({"name": "frame"}))["provider"],
        "daq"
    );
    let error = rpc.call_err("workspace.get", json!({"name": "nope"}));
    assert_eq!(error["code"], -32004);
    assert_eq!(error["message"], "no variable named 'nope'");
    let error = rpc.call_err("workspace.set", json!({"name": "Matrix", "value": 1}));
    assert_eq!(error["code"], -32602);
    assert_eq!(
        rpc.call("workspace.delete", json!({"name": "t"})),
        json!({"name": "t", "deleted": true})
    );
    assert_eq!(
        rpc.call("workspace.delete", json!({"name": "t"}))["deleted"],
        false
    );
    // A PyMiner client reads a JSON variable as a pickle.
    rpc.call("workspace.set", json!({"name": "n", "value": 42}));
    assert_eq!(
        g1_call(server.pyminer(), "read_p", json!(["n"]))["n"],
        "gARLKi4="
    );
}

#[test]
fn writes_deletes_and_settings_changes_publish_events() {
    let server = Server::start("");
    let mut watcher = server.rpc();
    watcher.call(
        "subscribe",
        json!({"topics": ["data_changed", "data_deleted", "settings_changed"]}),
    );
    let mut rpc = server.rpc();
    rpc.call(
        "workspace.set",
        json!({"name": "a", "value": 1, "provider": "lab"}),
    );
    g1_call(server.pyminer(), "write_p", json!(["b", "gAVLKi4="]));
    rpc.call("workspace.delete", json!({"name": "a"}));
    rpc.call("settings.set", json!({"name": "theme", "value": "Windows"}));
    let mut events = Vec::new();
    for _ in 0..4 {
        events.push(watcher.next_notification("event", WAIT)["params"].clone());
    }
    assert_eq!(
        events,
        [
            json!({"topic": "data_changed", "data_name": "a", "data_source": "lab"}),
            json!({"topic": "data_changed", "data_name": "b", "data_source": "server"}),
            json!({"topic": "data_deleted", "data_name": "a", "data_source": "native"}),
            json!({"topic": "settings_changed", "name": "theme", "value": "Windows"}),
        ]
    );
    assert_eq!(rpc.call("settings.get", json!({}))["theme"], "Windows");
    assert!(rpc
        .call("settings.style_sheet", json!({}))
        .as_str()
        .unwrap()
        .contains("QMainWindow"));
    let error = rpc.call_err("settings.set", json!({"name": "theme", "value": 3}));
    assert!(
        error["message"].as_str().unwrap().contains("a string"),
        "{error}"
    );
}

#[test]
fn every_pyminer_command_is_registered() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let commands = rpc.call("commands", json!([]));
    let names: Vec<&str> = commands
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in [
        "read_p",
        "write_p",
        "get_settings",
        "set_settings_param",
        "get_style_sheet",
        "get_all_variable_names",
        "get_all_public_variable_names",
        "write_var_dic",
        "get_var_dic",
        "delete_variable",
        "get_vars",
        "get_all_var_names_of_type",
        "workspace.set",
        "workspace.get",
        "workspace.delete",
        "workspace.list",
        "workspace.meta",
        "settings.get",
        "settings.set",
        "settings.style_sheet",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
}
