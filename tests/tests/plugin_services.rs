//! Plugin API 1.1 against the real binary: the host services a plugin calls (subscribe,
//! call, get_point, plugin_dir, stopping, shutdown), plugins that fail to load but stay
//! listed, the init timeout, and how dylib paths are expanded.

use std::path::Path;
use std::time::{Duration, Instant};

use labsocket_e2e::plugin_list::{config_with_dylibs, plugins_json_at};
use labsocket_e2e::points::PointSetter;
use labsocket_e2e::{bad_plugin, units_dylib, RpcClient, Server, TempDir};
use serde_json::{json, Value};

/// `labsocket plugins --json` with `config` written next to `dir`: (exit code, list).
fn plugins_json(dir: &TempDir, config: &str, args: &[&str]) -> (i32, Value) {
    let path = dir.path().join("labsocket.toml");
    std::fs::write(&path, config).unwrap();
    plugins_json_at(&path, args)
}

/// The entries of a plugin listing whose `name` is `name`.
fn entries<'l>(list: &'l Value, name: &str) -> Vec<&'l Value> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .collect()
}

/// Calls `method` until `done` accepts its result, for at most 10 s.
fn wait_for(rpc: &mut RpcClient, method: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = rpc.call(method, json!([]));
        if done(&result) {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "{method} never satisfied the wait: {result}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn probe_uses_every_host_service_and_shuts_down_last() {
    let probe = bad_plugin("probe");
    let mut server = Server::start(&config_with_dylibs(&[&probe]));
    let mut rpc = server.rpc();
    let plugin_dir = server.dir.path().join("labsocket-data/plugins/probe");

    // Init ran with its directory in place, and could not call commands yet.
    let report = rpc.call("probe.init_report", json!([]));
    assert_eq!(report["init_txt"], "written by init", "{report}");
    assert_eq!(
        Path::new(report["plugin_dir"].as_str().unwrap()),
        std::fs::canonicalize(&plugin_dir).unwrap()
    );
    assert!(
        report["call_during_init"]
            .as_str()
            .unwrap()
            .contains("commands can be called once every plugin is initialised"),
        "{report}"
    );
    assert_eq!(report["stopping"], false);

    // The points subscription sees points with their set time.
    rpc.call(
        "set_point",
        json!({"codename": "probe_a", "x": 1.5, "y": 2, "timestamp": 1234.5}),
    );
    let events = wait_for(&mut rpc, "probe.events", |events| {
        !events.as_array().unwrap().is_empty()
    });
    assert_eq!(
        events[0],
        json!({"topic": "points", "payload": {"probe_a": [1.5, 2]}, "time": 1234.5, "lost": 0})
    );

    // get_point through the host: the point, or null.
    assert_eq!(
        rpc.call("probe.get_point", json!(["probe_a"])),
        json!({"x": 1.5, "y": 2, "set_at": 1234.5})
    );
    assert_eq!(rpc.call("probe.get_point", json!(["nothing"])), Value::Null);

    // call through the host: core and plugin commands, errors passed through.
    let call = |rpc: &mut RpcClient, method: &str, params: Value| {
        rpc.call("probe.call", json!({"method": method, "params": params}))
    };
    assert_eq!(
        call(&mut rpc, "ping", json!(null)),
        json!({"result": "pong"})
    );
    assert_eq!(
        call(&mut rpc, "get_point", json!(["probe_a"]))["result"]["y"],
        2
    );
    assert_eq!(
        call(&mut rpc, "hello.greet", json!({"name": "probe"}))["result"],
        "Hello, probe!"
    );
    let unknown = call(&mut rpc, "no.such", json!(null));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // A command that calls itself through the host nests (a blocking-pool thread each).
    let nested = call(
        &mut rpc,
        "probe.call",
        json!({"method": "echo", "params": [1, "two"]}),
    );
    assert_eq!(nested, json!({"result": {"result": [1, "two"]}}));
    // From a thread of the plugin it works; from an inline handler it is refused.
    assert_eq!(
        rpc.call("probe.call_from_thread", json!([])),
        json!({"result": "pong"})
    );
    let inline = rpc.call("probe.call_inline", json!([]));
    let message = inline["error"]["message"].as_str().unwrap();
    assert!(message.contains("async worker"), "{inline}");

    // The listing shows metadata and read-only flags.
    let commands = rpc.call("commands", json!([]));
    let events_command = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "probe.events")
        .unwrap();
    assert_eq!(events_command["read_only"], true);
    assert_eq!(events_command["params"], "null");
    assert_eq!(
        events_command["result"],
        "[{\"topic\", \"payload\", \"time\", \"lost\"}]"
    );
    let call_command = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "probe.call")
        .unwrap();
    assert_eq!(call_command["read_only"], false);
    assert_eq!(call_command["result"], Value::Null);
    let ping = commands
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ping")
        .unwrap();
    assert_eq!(ping["read_only"], true);

    // SIGTERM: subscriptions end first, then the shutdown hook runs, seeing `stopping`.
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(plugin_dir.join("shutdown.json"))
            .unwrap_or_else(|err| panic!("no shutdown record ({err}):\n{}", server.stderr())),
    )
    .unwrap();
    assert_eq!(
        record,
        json!({"stopping": true, "subscription_ended": true, "events": 1})
    );
}

#[test]
fn plugins_json_shows_descriptions_signatures_and_read_only() {
    let dir = TempDir::new("plugins-meta");
    let (code, list) = plugins_json(&dir, &config_with_dylibs(&[&bad_plugin("probe")]), &[]);
    assert_eq!(code, 0, "{list}");
    let probe = entries(&list, "probe")[0];
    assert_eq!(
        probe["description"],
        "Exercises the host services of plugin API 1.1 (tests only)"
    );
    assert_eq!(probe["api_version"], "1.2.0");
    let details = probe["command_details"].as_array().unwrap();
    assert_eq!(details.len(), probe["commands"].as_array().unwrap().len());
    let get_point = details
        .iter()
        .find(|c| c["name"] == "probe.get_point")
        .unwrap();
    assert_eq!(
        get_point,
        &json!({
            "name": "probe.get_point",
            "plugin": "probe",
            "description": "The point of a codename through the host",
            "read_only": true,
            "params": "[codename]",
            "result": null,
        })
    );
    let inline = details
        .iter()
        .find(|c| c["name"] == "probe.call_inline")
        .unwrap();
    assert_eq!(inline["read_only"], false);
    assert_eq!(inline["params"], Value::Null);
}

#[test]
fn annotations_that_are_not_an_object_are_refused() {
    let dir = TempDir::new("bad-meta");
    let (code, list) = plugins_json(
        &dir,
        &config_with_dylibs(&[&bad_plugin("bad_annotations")]),
        &[],
    );
    assert_eq!(code, 1, "{list}");
    let failed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["error"].as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{list}");
    assert!(
        failed[0].contains("command 'badmeta.noop' annotations are not a JSON object: [1, 2]"),
        "{}",
        failed[0]
    );
}

#[test]
fn commands_of_a_failed_plugin_say_why_they_are_unavailable() {
    let init_fails = bad_plugin("init_fails");
    let duplicate = bad_plugin("duplicate_command");
    let server = Server::start(&config_with_dylibs(&[&init_fails, &duplicate]));
    let mut rpc = server.rpc();

    let error = rpc.call_err("initfails.never", json!([]));
    assert_eq!(error["code"], -32006, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "command 'initfails.never' belongs to plugin 'initfails', which failed to load: "
        ) && message.contains("instrument not found on /dev/ttyUSB9"),
        "{message}"
    );
    // The clashing command stays its first owner's; unknown names stay unknown.
    assert_eq!(
        rpc.call("hello.greet", json!({"name": "x"})),
        "Hello, x!",
        "hello keeps hello.greet"
    );
    assert_eq!(rpc.call_err("initfails.other", json!([]))["code"], -32601);

    // Both failures stay listed with their error, by `plugins` and `status`.
    let plugins = rpc.call("plugins", json!([]));
    let initfails = entries(&plugins, "initfails");
    assert_eq!(initfails.len(), 1, "{plugins}");
    assert!(initfails[0]["error"]
        .as_str()
        .unwrap()
        .contains("failed to initialise: instrument not found"));
    let impostor = entries(&plugins, "impostor");
    assert!(impostor[0]["error"]
        .as_str()
        .unwrap()
        .contains("is claimed by plugin 'hello' and by plugin 'impostor'"));
    let status = rpc.call("status", json!([]));
    let health = status["plugin_health"].as_array().unwrap();
    let failed: Vec<&str> = health
        .iter()
        .filter(|p| !p["error"].is_null())
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["initfails", "impostor"], "{status}");
    let hello = health.iter().find(|p| p["name"] == "hello").unwrap();
    assert_eq!(hello["lost_events"], 0);
}

#[test]
fn an_init_that_hangs_is_refused_after_the_timeout_and_the_host_serves() {
    let sleepy = bad_plugin("init_sleeps");
    let config = format!(
        "{}[limits]\nplugin_init_timeout_secs = 0.5\n[plugins.sleepy]\nsleep_secs = 30\n",
        config_with_dylibs(&[&sleepy, &units_dylib()])
    );
    let started = Instant::now();
    let server = Server::start(&config);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the host waited for the hung init"
    );
    let mut rpc = server.rpc();
    assert_eq!(rpc.call("ping", json!([])), "pong");
    // Plugins after the hung one still load.
    assert!(rpc
        .call(
            "units.convert",
            json!({"value": 1, "from": "bar", "to": "Pa"})
        )
        .is_number());
    let error = rpc.call_err("sleepy.hello", json!([]));
    assert_eq!(error["code"], -32006);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("plugin 'sleepy'") && message.contains("init did not finish within 0.5 s"),
        "{message}"
    );
    assert!(server.stderr().contains("init did not finish within 0.5 s"));
}

#[test]
fn a_bad_init_timeout_is_a_config_error() {
    for bad in ["0", "-1", "nan", "4000"] {
        let failure = Server::start_with_args(
            &format!("[limits]\nplugin_init_timeout_secs = {bad}\n"),
            &[],
        )
        .err()
        .unwrap_or_else(|| panic!("plugin_init_timeout_secs = {bad} was accepted"));
        assert!(
            failure.stderr.contains("plugin_init_timeout_secs"),
            "{}",
            failure.stderr
        );
    }
}

#[test]
fn a_dylib_named_twice_loads_once() {
    let dir = TempDir::new("dedup");
    let folder = dir.path().join("libs");
    std::fs::create_dir(&folder).unwrap();
    let units = units_dylib();
    let copy = folder.join(units.file_name().unwrap());
    std::fs::copy(&units, &copy).unwrap();
    // The file itself, its folder, and the file again through a `..` detour.
    let detour = folder
        .join("..")
        .join("libs")
        .join(units.file_name().unwrap());
    let (code, list) = plugins_json(&dir, &config_with_dylibs(&[&copy, &folder, &detour]), &[]);
    assert_eq!(code, 0, "{list}");
    let loaded = entries(&list, "units");
    assert_eq!(loaded.len(), 1, "{list}");
    assert_eq!(
        loaded[0]["path"],
        std::fs::canonicalize(&copy).unwrap().display().to_string()
    );
}

#[test]
fn a_folder_skips_libraries_that_are_not_plugins() {
    let dir = TempDir::new("folder-skip");
    let folder = dir.path().join("libs");
    std::fs::create_dir(&folder).unwrap();
    let units = units_dylib();
    std::fs::copy(&units, folder.join(units.file_name().unwrap())).unwrap();
    let helper = bad_plugin("no_symbol");
    std::fs::copy(&helper, folder.join(helper.file_name().unwrap())).unwrap();
    let (code, list) = plugins_json(&dir, &config_with_dylibs(&[&folder]), &[]);
    assert_eq!(code, 0, "{list}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|p| p["error"].is_null()),
        "{list}"
    );
    assert_eq!(entries(&list, "units").len(), 1);
    // Named explicitly, the same library is still an error.
    let named = folder.join(helper.file_name().unwrap());
    let (code, list) = plugins_json(&dir, &config_with_dylibs(&[&named]), &[]);
    assert_eq!(code, 1, "{list}");
    assert!(
        list.to_string().contains("is not a labsocket plugin"),
        "{list}"
    );
}

#[test]
fn a_subscriber_that_falls_behind_is_told_what_it_lost() {
    let probe = bad_plugin("probe");
    // The default bound (64 MiB) would take the whole burst; 64 KiB holds ~100 events.
    let config = format!(
        "{}\n[limits]\nsubscription_buffer_bytes = 65536\n",
        config_with_dylibs(&[&probe])
    );
    let server = Server::start(&config);
    let mut rpc = server.rpc();
    rpc.call("probe.hold", json!([true]));
    // More events than the bus holds for one subscriber, while its handler waits.
    const POINTS: u64 = 6000;
    let mut setter = PointSetter::connect(server.native());
    setter.set_all((0..POINTS).map(|i| (format!("lag_{i}"), i.to_string())));
    assert_eq!(setter.finish(), POINTS);
    rpc.call("probe.hold", json!([false]));
    let events = wait_for(&mut rpc, "probe.events", |events| {
        let events = events.as_array().unwrap();
        let lost: u64 = events.iter().map(|e| e["lost"].as_u64().unwrap()).sum();
        events.len() as u64 + lost == POINTS
    });
    let events = events.as_array().unwrap();
    let lost: u64 = events.iter().map(|e| e["lost"].as_u64().unwrap()).sum();
    assert!(lost > 0, "nothing was lost: {} events", events.len());
    // The newest events survive, in order.
    let newest = &events.last().unwrap()["payload"];
    assert_eq!(
        newest[format!("lag_{}", POINTS - 1)][1],
        POINTS - 1,
        "{newest}"
    );
    let status = rpc.call("status", json!([]));
    let health = status["plugin_health"].as_array().unwrap();
    let probe = health.iter().find(|p| p["name"] == "probe").unwrap();
    assert_eq!(probe["lost_events"], lost, "{status}");
    assert!(
        server
            .stderr()
            .contains("an event subscription of plugin 'probe' lost"),
        "{}",
        server.stderr()
    );
}

#[test]
fn shutdown_hooks_run_in_reverse_load_order_and_failures_are_logged() {
    let config = config_with_dylibs(&[&bad_plugin("probe"), &bad_plugin("shutdown_fails")]);
    let mut server = Server::start(&config);
    assert_eq!(server.rpc().call("flusher.noop", json!([])), Value::Null);
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.stderr());
    let log = server.stderr();
    let position = |needle: &str| {
        log.find(needle)
            .unwrap_or_else(|| panic!("'{needle}' missing from the log:\n{log}"))
    };
    let flusher = position("flusher: shutdown hook runs");
    let failure =
        position("plugin 'flusher' failed to shut down (status 1): cannot flush the buffer");
    let probe = position("probe: shutdown hook runs");
    assert!(flusher < failure && failure < probe, "order:\n{log}");
}
