//! Command tests: exact reply shapes (key order included) and events, against a real
//! store in a temporary folder.

use labsocket_plugin_api::{json, Value};

use super::{native, pyminer};
use crate::pickle;
use crate::test_support::{Recorder, TempFolder};
use crate::workspace::Workspace;

/// `cloudpickle.dumps(42)` on Python 3.11, base64.
const PICKLED_42: &str = "gAVLKi4=";
/// `pickle.dumps(None, protocol=5)`, base64.
const PICKLED_NONE: &str = "gAVOLg==";

/// `workspace.set` and `workspace.get` as a JSON-only caller (no raw bytes) reaches them.
mod plain {
    use labsocket_plugin_api::{CommandError, Value};

    use crate::commands::native;
    use crate::events::Events;
    use crate::workspace::Workspace;

    pub fn set(ws: &Workspace, events: &dyn Events, params: Value) -> Result<Value, CommandError> {
        native::set(ws, events, params, None)
    }

    pub fn get(ws: &Workspace, events: &dyn Events, params: Value) -> Result<Value, CommandError> {
        native::get(ws, events, params, &|_| false)
    }
}

fn open(label: &str) -> (TempFolder, Workspace, Recorder) {
    let dir = TempFolder::new(label);
    let ws = Workspace::open(dir.path()).unwrap();
    (dir, ws, Recorder::default())
}

fn text(value: &Value) -> String {
    value.to_string()
}

fn b64(bytes: &[u8]) -> String {
    super::b64_encode(bytes)
}

#[test]
fn write_p_then_read_p_round_trips_with_g1_shapes_and_one_event() {
    let (_dir, ws, events) = open("cmd-write-read");
    let reply = pyminer::write_p(&ws, &events, json!(["x", PICKLED_42, "tester"])).unwrap();
    assert_eq!(text(&reply), r#"{"message":"success"}"#);
    assert_eq!(
        events.take(),
        [(
            "data_changed".to_owned(),
            json!({"data_name": "x", "data_source": "tester"})
        )]
    );
    let reply = pyminer::read_p(&ws, &events, json!(["x"])).unwrap();
    assert_eq!(text(&reply), r#"{"x":"gAVLKi4=","message":"success"}"#);
    let meta = ws.meta("x").unwrap();
    assert_eq!(
        (meta.encoding.as_str(), meta.type_hint.as_str()),
        ("pickle", "numeric")
    );
    assert!(events.take().is_empty());
}

#[test]
fn write_p_defaults_the_provider_to_server() {
    let (_dir, ws, events) = open("cmd-provider");
    pyminer::write_p(&ws, &events, json!(["x", PICKLED_42])).unwrap();
    assert_eq!(events.take()[0].1["data_source"], "server");
}

#[test]
fn write_p_refuses_none_empty_garbage_and_bad_names_storing_nothing() {
    let (_dir, ws, events) = open("cmd-refuse");
    for (params, reason) in [
        (json!(["x", PICKLED_NONE]), "None"),
        (json!(["x", ""]), "failed to pickle"),
        (json!(["x", null]), "failed to pickle"),
        (json!(["x", "not base64!"]), "base64"),
        (json!(["x", b64(b"hello")]), "not a pickle"),
        (json!(["1bad", PICKLED_42]), "identifier"),
        (json!(["Matrix", PICKLED_42]), "builtin"),
        (json!(["x"]), "required"),
        (json!("x"), "array or an object"),
    ] {
        let err = pyminer::write_p(&ws, &events, params.clone()).unwrap_err();
        assert!(err.message.contains(reason), "{params}: {}", err.message);
    }
    assert!(ws.names().is_empty());
    assert!(events.take().is_empty());
}

#[test]
fn read_p_of_a_missing_name_escapes_it() {
    let (_dir, ws, events) = open("cmd-missing");
    let reply = pyminer::read_p(&ws, &events, json!(["a\"b"])).unwrap();
    assert_eq!(text(&reply), r#"{"message":"variable a\"b not found!"}"#);
    let err = pyminer::read_p(&ws, &events, json!(["message"])).unwrap_err();
    assert!(err.message.contains("status key"), "{}", err.message);
}

#[test]
fn write_var_dic_stores_in_order_skips_what_cannot_be_stored_and_emits_per_entry() {
    let (_dir, ws, events) = open("cmd-var-dic");
    let dict =
        json!({"b": PICKLED_42, "bad": null, "a": PICKLED_42, "Matrix": PICKLED_42, "e": ""});
    let outer = b64(&pickle::write_json_value(&dict));
    let reply = pyminer::write_var_dic(&ws, &events, json!([outer, "ipython"])).unwrap();
    assert_eq!(reply["message"], "success");
    let skipped: Vec<&String> = reply["skipped"].as_object().unwrap().keys().collect();
    assert_eq!(skipped, ["bad", "Matrix", "e"]);
    assert_eq!(ws.names(), ["b", "a"]);
    let topics: Vec<Value> = events.take().into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        topics,
        [
            json!({"data_name": "b", "data_source": "ipython"}),
            json!({"data_name": "a", "data_source": "ipython"}),
        ]
    );
    // A clean dict gets G1's exact reply.
    let outer = b64(&pickle::write_json_value(&json!({"c": PICKLED_42})));
    let reply = pyminer::write_var_dic(&ws, &events, json!([outer])).unwrap();
    assert_eq!(text(&reply), r#"{"message":"success"}"#);
}

#[test]
fn write_var_dic_refuses_a_bad_outer_layer() {
    let (_dir, ws, events) = open("cmd-var-dic-bad");
    for params in [
        json!([PICKLED_NONE]),
        json!([""]),
        json!([b64(b"\x80\x04K*.")]),
        json!([b64(b"\x80\x04cos\nsystem\n.")]),
    ] {
        assert!(pyminer::write_var_dic(&ws, &events, params).is_err());
    }
    assert!(ws.names().is_empty());
}

#[test]
fn get_var_dic_and_get_vars_wrap_the_stored_pickles() {
    let (_dir, ws, events) = open("cmd-get-var-dic");
    pyminer::write_p(&ws, &events, json!(["x", PICKLED_42])).unwrap();
    plain::set(&ws, &events, json!({"name": "j", "value": [1, "a"]})).unwrap();
    plain::set(
        &ws,
        &events,
        json!({"name": "n", "encoding": "npy", "data": "AAAA"}),
    )
    .unwrap();
    let reply = pyminer::get_var_dic(&ws, &events, json!([])).unwrap();
    let keys: Vec<&String> = reply.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["message", "var_dic"]);
    assert_eq!(reply["message"], "succeeded");
    let json_pickle = pickle::write_json_value(&json!([1, "a"]));
    let expected = pickle::write_dict_of_pickles(&[("x", b"\x80\x05K*."), ("j", &json_pickle)]);
    assert_eq!(reply["var_dic"], b64(&expected));
    let reply = pyminer::get_vars(&ws, &events, json!([["x", "missing"]])).unwrap();
    let expected = pickle::write_dict_of_pickles(&[("x", b"\x80\x05K*.")]);
    assert_eq!(reply["var_dic"], b64(&expected));
}

#[test]
fn read_p_serves_json_variables_as_pickles_and_refuses_opaque_ones() {
    let (_dir, ws, events) = open("cmd-read-json");
    plain::set(&ws, &events, json!({"name": "j", "value": {"k": 1.5}})).unwrap();
    let reply = pyminer::read_p(&ws, &events, json!(["j"])).unwrap();
    assert_eq!(
        reply["j"],
        b64(&pickle::write_json_value(&json!({"k": 1.5})))
    );
    plain::set(
        &ws,
        &events,
        json!({"name": "n", "encoding": "npy", "data": "AAAA"}),
    )
    .unwrap();
    let err = pyminer::read_p(&ws, &events, json!(["n"])).unwrap_err();
    assert!(err.message.contains("'npy'"), "{}", err.message);
}

#[test]
fn name_lists_have_g1_shapes() {
    let (_dir, ws, events) = open("cmd-names");
    let reply = pyminer::get_all_variable_names(&ws, &events, json!([])).unwrap();
    assert_eq!(
        text(&reply),
        r#"{"var_names":["Type","Complex","Matrix","Vector","TimeSeries","StateSpace","DataFrame","Series"],"message":"succeed"}"#
    );
    let reply = pyminer::get_all_public_variable_names(&ws, &events, json!([])).unwrap();
    assert_eq!(text(&reply), r#"{"var_names":[],"message":"succeed"}"#);
    pyminer::write_p(&ws, &events, json!(["z", PICKLED_42])).unwrap();
    pyminer::write_p(&ws, &events, json!(["a", PICKLED_42])).unwrap();
    let reply = pyminer::get_all_public_variable_names(&ws, &events, json!([])).unwrap();
    assert_eq!(reply["var_names"], json!(["z", "a"]));
    let reply = pyminer::get_all_variable_names(&ws, &events, json!([])).unwrap();
    assert_eq!(reply["var_names"].as_array().unwrap().len(), 10);
}

#[test]
fn names_of_type_are_a_pickled_list() {
    let (_dir, ws, events) = open("cmd-of-type");
    pyminer::write_p(&ws, &events, json!(["n", PICKLED_42])).unwrap();
    plain::set(&ws, &events, json!({"name": "s", "value": "text"})).unwrap();
    plain::set(&ws, &events, json!({"name": "f", "value": 2.5})).unwrap();
    let reply = pyminer::get_all_var_names_of_type(&ws, &events, json!(["numeric"])).unwrap();
    assert_eq!(reply["message"], "succeeded");
    assert_eq!(
        reply["var_names"],
        b64(&pickle::write_str_list(&["n", "f"]))
    );
    assert!(pyminer::get_all_var_names_of_type(&ws, &events, json!(["matrix"])).is_err());
}

#[test]
fn delete_variable_answers_like_g1_and_emits_only_for_existing_names() {
    let (_dir, ws, events) = open("cmd-delete");
    pyminer::write_p(&ws, &events, json!(["x", PICKLED_42])).unwrap();
    events.take();
    let reply = pyminer::delete_variable(&ws, &events, json!(["x", "ipython"])).unwrap();
    assert_eq!(
        text(&reply),
        r#"{"message":"succeeded","var_name":"x","data_source":"ipython"}"#
    );
    assert_eq!(
        events.take(),
        [(
            "data_deleted".to_owned(),
            json!({"data_name": "x", "data_source": "ipython"})
        )]
    );
    let reply = pyminer::delete_variable(&ws, &events, json!([["x", "y"]])).unwrap();
    assert_eq!(reply["var_name"], json!(["x", "y"]));
    assert_eq!(reply["data_source"], "unknown");
    assert!(events.take().is_empty());
}

#[test]
fn native_set_get_meta_list_delete() {
    let (_dir, ws, events) = open("cmd-native");
    let meta = plain::set(
        &ws,
        &events,
        json!({"name": "t", "value": [1, 2], "provider": "lab"}),
    )
    .unwrap();
    assert_eq!(meta["encoding"], "json");
    assert_eq!(meta["version"], 1);
    assert_eq!(meta["provider"], "lab");
    assert_eq!(meta["size"], 5);
    let meta = plain::set(
        &ws,
        &events,
        json!({"name": "t", "value": [1, 2, 3], "type_hint": "array"}),
    )
    .unwrap();
    assert_eq!(
        (meta["version"].clone(), meta["type_hint"].clone()),
        (json!(2), json!("array"))
    );
    let got = plain::get(&ws, &events, json!({"name": "t"})).unwrap();
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "encoding", "value", "meta"]);
    assert_eq!(got["value"], json!([1, 2, 3]));
    plain::set(
        &ws,
        &events,
        json!({"name": "p", "encoding": "pickle", "data": PICKLED_42}),
    )
    .unwrap();
    let got = plain::get(&ws, &events, json!(["p"])).unwrap();
    assert_eq!(got["data"], PICKLED_42);
    assert_eq!(got["meta"]["type_hint"], "numeric");
    let list = native::list(&ws, &events, json!({})).unwrap();
    let names: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["name"])
        .collect();
    assert_eq!(names, [&json!("t"), &json!("p")]);
    assert_eq!(
        native::meta(&ws, &events, json!({"name": "p"})).unwrap()["size"],
        5
    );
    let err = plain::get(&ws, &events, json!({"name": "nope"})).unwrap_err();
    assert_eq!(err.code, labsocket_plugin_api::codes::NOT_FOUND);
    assert_eq!(
        native::delete(&ws, &events, json!({"name": "t"})).unwrap(),
        json!({"name": "t", "deleted": true})
    );
    assert_eq!(
        native::delete(&ws, &events, json!({"name": "t"})).unwrap()["deleted"],
        false
    );
    let topics: Vec<String> = events.take().into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        topics,
        [
            "data_changed",
            "data_changed",
            "data_changed",
            "data_deleted"
        ]
    );
}

#[test]
fn native_set_refuses_ambiguous_or_malformed_values() {
    let (_dir, ws, events) = open("cmd-native-bad");
    for (params, reason) in [
        (json!({"name": "a", "value": 1, "data": "AA=="}), "not both"),
        (json!({"name": "a"}), "required"),
        (
            json!({"name": "a", "encoding": "npy", "value": 1}),
            "base64",
        ),
        (json!({"name": "a", "data": "AA=="}), "\"value\""),
        (
            json!({"name": "a", "encoding": "NPY", "data": "AA=="}),
            "encoding",
        ),
        (
            json!({"name": "a", "encoding": "npy", "data": "%%"}),
            "base64",
        ),
        (
            json!({"name": "a", "encoding": "pickle", "data": PICKLED_NONE}),
            "None",
        ),
        (json!({"name": "a b", "value": 1}), "identifier"),
        // What the Python client used to send (issue 11): not the workspace's vocabulary.
        (
            json!({"name": "a", "value": 2.5, "type_hint": "float"}),
            "not one of",
        ),
        (
            json!({"name": "a", "encoding": "npy", "data": "AA==", "type_hint": "numpy.ndarray[float64, 3]"}),
            "not one of",
        ),
        (
            json!({"name": "a", "value": "S1", "type_hint": "numeric"}),
            "contradicts",
        ),
        (
            json!({"name": "a", "value": 1, "type_hint": 3}),
            "type_hint",
        ),
    ] {
        let err = plain::set(&ws, &events, params.clone()).unwrap_err();
        assert!(err.message.contains(reason), "{params}: {}", err.message);
    }
    assert!(ws.names().is_empty());
}

#[test]
fn binary_frames_store_raw_bytes_and_binary_gets_attach_them() {
    let (_dir, ws, events) = open("cmd-binary");
    let raw: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let meta = native::set(
        &ws,
        &events,
        json!({"name": "arr", "encoding": "npy", "data": {"$binary": raw.len()}}),
        Some(&raw),
    )
    .unwrap();
    assert_eq!(meta["size"], raw.len());
    assert_eq!(meta["type_hint"], "array");

    // A caller that takes raw bytes gets them attached, and the marker in "data".
    let attached = std::cell::RefCell::new(None);
    let reply = native::get(
        &ws,
        &events,
        json!({"name": "arr", "binary": true}),
        &|bytes| {
            *attached.borrow_mut() = Some(bytes);
            true
        },
    )
    .unwrap();
    assert_eq!(reply["data"], json!({"$binary": raw.len()}));
    assert_eq!(attached.into_inner().as_deref(), Some(raw.as_slice()));
    // One that cannot gets base64, as without "binary".
    let reply = native::get(
        &ws,
        &events,
        json!({"name": "arr", "binary": true}),
        &|_| false,
    )
    .unwrap();
    assert_eq!(reply["data"], b64(&raw));

    // The marker without bytes, bytes of another length, or raw JSON are refused.
    for (params, bytes, expected) in [
        (
            json!({"name": "a", "encoding": "npy", "data": {"$binary": 3}}),
            None,
            "no raw bytes came",
        ),
        (
            json!({"name": "a", "encoding": "npy", "data": {"$binary": 3}}),
            Some(&b"ab"[..]),
            "announces 3 raw bytes but 2 came",
        ),
        (
            json!({"name": "a", "data": {"$binary": 2}}),
            Some(&b"ab"[..]),
            "other than json",
        ),
    ] {
        let error = native::set(&ws, &events, params, bytes).unwrap_err();
        assert!(error.message.contains(expected), "{}", error.message);
    }
    assert_eq!(ws.names(), ["arr"]);
}

#[test]
fn values_over_the_limit_name_the_variable_and_the_limit_on_every_command() {
    let dir = TempFolder::new("cmd-too-big");
    let ws = Workspace::open(dir.path())
        .unwrap()
        .limit_variable_bytes(1 << 20);
    let events = Recorder::default();
    let big = vec![7u8; (3 << 19) + 1];
    let expected =
        "value of 'big' is 1.5 MiB; the limit is [plugins.workspace] max_variable_bytes = 1 MiB";
    let error = native::set(
        &ws,
        &events,
        json!({"name": "big", "encoding": "npy", "data": {"$binary": big.len()}}),
        Some(&big),
    )
    .unwrap_err();
    assert_eq!(error.message, expected);
    let error = plain::set(
        &ws,
        &events,
        json!({"name": "big", "encoding": "npy", "data": b64(&big)}),
    )
    .unwrap_err();
    assert_eq!(error.message, expected);
    // `pickle.dumps(bytes(...), protocol=4)`: PROTO 4, BINBYTES, STOP.
    let mut pickled = vec![0x80, 0x04, b'B'];
    pickled.extend_from_slice(&(big.len() as u32).to_le_bytes());
    pickled.extend_from_slice(&big);
    pickled.push(b'.');
    let error = pyminer::write_p(&ws, &events, json!(["big", b64(&pickled)])).unwrap_err();
    assert!(error.message.starts_with("value of 'big' is 1.5 MiB; the limit is [plugins.workspace] max_variable_bytes = 1 MiB"), "{}", error.message);
    assert!(ws.names().is_empty());
}

mod federation {
    use std::sync::Mutex;

    use labsocket_plugin_api::{json, CommandError, Value};

    use super::super::{federation, native, pyminer};
    use super::{open, PICKLED_42};
    use crate::events::Events;
    use crate::test_support::Recorder;

    /// A host whose `mqtt.ws_set` stores nothing and answers rev 7 with the owner's meta.
    #[derive(Default)]
    struct Owner {
        events: Recorder,
        calls: Mutex<Vec<(String, Value)>>,
    }

    impl Events for Owner {
        fn emit(&self, topic: &str, payload: Value) {
            self.events.emit(topic, payload);
        }

        fn call_command(&self, method: &str, params: &Value) -> Result<Value, CommandError> {
            self.calls
                .lock()
                .unwrap()
                .push((method.to_owned(), params.clone()));
            Ok(json!({"rev": 7, "meta": {
                "name": "x", "encoding": params["encoding"], "type_hint": "numeric",
                "size": 2, "version": 3, "provider": params["provider"],
                "created": 1.0, "modified": 2.0,
            }}))
        }
    }

    fn mirrored(name: &str, rev: u64, value: Value) -> Value {
        json!({"name": name, "rev": rev, "encoding": "json", "value": value, "meta": {
            "name": "x", "encoding": "json", "type_hint": "numeric", "size": 1,
            "version": 1, "provider": "native", "created": 1.0, "modified": 1.0,
        }})
    }

    #[test]
    fn mirrored_variables_are_read_by_every_reader_but_not_listed_to_pyminer() {
        let (_dir, ws, events) = open("fed-mirror");
        let reply = federation::mirror(&ws, &events, mirrored("pcA/x", 3, json!(42))).unwrap();
        assert_eq!(reply, json!({"name": "pcA/x", "changed": true}));
        assert_eq!(
            events.take(),
            [(
                "data_changed".to_owned(),
                json!({"data_name": "pcA/x", "data_source": "native", "host": "pcA"})
            )]
        );
        // An older rev changes nothing.
        let reply = federation::mirror(&ws, &events, mirrored("pcA/x", 2, json!(1))).unwrap();
        assert_eq!(reply["changed"], false);
        let got = native::get(&ws, &events, json!({"name": "pcA/x"}), &|_| false).unwrap();
        assert_eq!(got["value"], 42);
        assert_eq!(got["meta"]["name"], "pcA/x");
        let read = pyminer::read_p(&ws, &events, json!(["pcA/x"])).unwrap();
        assert_eq!(read["message"], "success");
        assert!(read["pcA/x"].is_string(), "{read}");
        let list = native::list(&ws, &events, json!({})).unwrap();
        assert_eq!(list[0]["name"], "pcA/x");
        let names = pyminer::get_all_public_variable_names(&ws, &events, json!([])).unwrap();
        assert_eq!(names["var_names"], json!([]));
        // Deletes are the owner's: refused here; a mirrored delete forgets it.
        let err = native::delete(&ws, &events, json!({"name": "pcA/x"})).unwrap_err();
        assert!(err.message.contains("host 'pcA'"), "{}", err.message);
        let reply =
            federation::mirror(&ws, &events, json!({"name": "pcA/x", "deleted": true})).unwrap();
        assert_eq!(reply["changed"], true);
        assert!(native::get(&ws, &events, json!({"name": "pcA/x"}), &|_| false).is_err());
    }

    #[test]
    fn a_remote_write_goes_to_mqtt_ws_set_and_is_held_once_acknowledged() {
        let (_dir, ws, _) = open("fed-write");
        let owner = Owner::default();
        let reply = pyminer::write_p(&ws, &owner, json!(["pcA/x", PICKLED_42, "me"])).unwrap();
        assert_eq!(reply["message"], "success");
        let calls = owner.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, "mqtt.ws_set");
        assert_eq!(
            calls[0].1,
            json!({"name": "pcA/x", "encoding": "pickle", "type_hint": "numeric", "provider": "me", "data": PICKLED_42})
        );
        assert!(ws.names().is_empty(), "nothing is stored locally");
        let read = pyminer::read_p(&ws, &owner, json!(["pcA/x"])).unwrap();
        assert_eq!(read["pcA/x"], PICKLED_42);
        assert_eq!(ws.remotes().meta("pcA/x").unwrap().rev, 7);
    }

    #[test]
    fn without_the_mqtt_plugin_a_remote_write_says_so() {
        let (_dir, ws, events) = open("fed-nomqtt");
        let err =
            native::set(&ws, &events, json!({"name": "pcA/x", "value": 1}), None).unwrap_err();
        assert!(
            err.message.contains("host 'pcA'") && err.message.contains("does not federate"),
            "{}",
            err.message
        );
    }

    #[test]
    fn export_leaves_large_values_out_and_store_returns_the_rev() {
        let (_dir, ws, events) = open("fed-export");
        let stored =
            federation::store(&ws, &events, json!({"name": "s", "value": "abcdef"})).unwrap();
        let rev = stored["rev"].as_u64().unwrap();
        assert!(rev > 0);
        assert_eq!(stored["meta"]["name"], "s");
        let small = federation::export(&ws, &events, json!({"name": "s"})).unwrap();
        assert_eq!(small["value"], "abcdef");
        assert_eq!(small["rev"], rev);
        let large =
            federation::export(&ws, &events, json!({"name": "s", "max_value_bytes": 3})).unwrap();
        assert!(large.get("value").is_none(), "{large}");
        assert_eq!(large["meta"]["size"], 8);
        let err =
            federation::store(&ws, &events, json!({"name": "pcA/s", "value": 1})).unwrap_err();
        assert!(err.message.contains("another host"), "{}", err.message);
    }
}
