//! Workspace variables across federated hosts (SPEC §9, `ws/`, `ws-set/`, `ws-get/`), with
//! a real Mosquitto and real labsocket hosts on loopback: a variable set on A is read on B
//! as `pcA/<name>` by native, PyMiner and Python clients and by a late joiner; a write on
//! B of `pcA/<name>` is durable on A before B's call returns (it survives kill -9 of A);
//! a write to an offline or hung host fails in time naming it and is never applied later;
//! deletes propagate; a value above `max_value_bytes` travels by `ws-get`; nothing loops.

use std::process::Command;

use base64::Engine;
use std::time::{Duration, Instant};

use labsocket_e2e::federation::{wait_federating, wait_for};
use labsocket_e2e::mosquitto::Mosquitto;
use labsocket_e2e::pyminer::{g1_call, g2_call};
use labsocket_e2e::python::interpreter;
use labsocket_e2e::{RpcClient, Server, TempDir, WAIT};
use serde_json::{json, Value};

/// `cloudpickle.dumps(42)`, base64.
const PICKLED_42: &str = "gAVLKi4=";
/// The workspace's "no such variable" error code.
const NOT_FOUND: i64 = -32004;

/// The config of host `id` in lab `lab1` on `broker`, with `extra` `[mqtt]` keys.
fn config(broker: &Mosquitto, id: &str, extra: &str) -> String {
    config_with_keepalive(broker, id, 1, extra)
}

fn config_with_keepalive(broker: &Mosquitto, id: &str, keepalive: u32, extra: &str) -> String {
    format!(
        "[mqtt]\nurl = \"{}\"\nlab = \"lab1\"\nhost = \"{id}\"\nkeepalive_secs = {keepalive}\n{extra}\n",
        broker.url()
    )
}

fn host(broker: &Mosquitto, id: &str, extra: &str) -> Server {
    started(Server::start(&config(broker, id, extra)))
}

fn started(server: Server) -> Server {
    wait_federating(&server);
    server
}

/// Waits until `server` sees `host` online (requests to it are then sent).
fn wait_online(server: &Server, host: &str) {
    let mut rpc = server.rpc();
    wait_for(WAIT, &format!("{host} online"), || {
        let status = rpc.call("mqtt.status", json!({}));
        let remote = &status["remote_hosts"][host];
        (remote["online"] == true && remote["stale"] == false).then_some(())
    });
}

/// `workspace.get` of `name`: its reply, or the error object.
fn get(rpc: &mut RpcClient, name: &str) -> Result<Value, Value> {
    let reply = rpc.request("workspace.get", json!({"name": name}));
    match reply.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(reply["error"].clone()),
    }
}

/// Waits until `name` reads as `value` on `rpc`'s server.
fn wait_value(rpc: &mut RpcClient, name: &str, value: &Value) -> Value {
    wait_for(WAIT, &format!("{name} = {value}"), || {
        get(rpc, name).ok().filter(|reply| reply["value"] == *value)
    })
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|meta| meta["name"].as_str().unwrap().to_owned())
        .collect()
}

fn ws_status(rpc: &mut RpcClient) -> Value {
    rpc.call("mqtt.status", json!({}))["workspace"].clone()
}

#[test]
fn variables_cross_hosts_to_every_client_and_a_late_joiner_without_loops() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", "");
    let b = host(&broker, "pcB", "");
    let mut rpc_a = a.rpc();
    let mut rpc_b = b.rpc();
    let mut watcher = b.rpc();
    watcher.call("subscribe", json!({"topics": ["data_changed"]}));

    rpc_a.call("workspace.set", json!({"name": "gain", "value": 2.5}));
    let reply = g1_call(a.pyminer(), "write_p", json!(["pk", PICKLED_42, "console"]));
    assert_eq!(reply["message"], "success", "{reply}");

    // Native: the value, with the owner's metadata under the remote name.
    let got = wait_value(&mut rpc_b, "pcA/gain", &json!(2.5));
    assert_eq!(got["name"], "pcA/gain");
    assert_eq!(got["meta"]["name"], "pcA/gain");
    assert_eq!(got["meta"]["provider"], "native");
    let event = watcher.next_notification("event", WAIT)["params"].clone();
    assert_eq!(event["topic"], "data_changed", "{event}");
    assert_eq!(event["host"], "pcA", "{event}");
    assert!(
        event["data_name"].as_str().unwrap().starts_with("pcA/"),
        "{event}"
    );
    wait_for(WAIT, "pcA/pk on B", || get(&mut rpc_b, "pcA/pk").ok());

    // PyMiner: read_p answers exactly what A answers for its own variable; name listings
    // leave remote variables out (their names are not Python identifiers).
    let local = g1_call(a.pyminer(), "read_p", json!(["gain"]));
    let remote = g1_call(b.pyminer(), "read_p", json!(["pcA/gain"]));
    assert_eq!(remote["message"], "success", "{remote}");
    assert_eq!(remote["pcA/gain"], local["gain"]);
    let remote = g1_call(b.pyminer(), "read_p", json!(["pcA/pk"]));
    assert_eq!(remote["pcA/pk"], PICKLED_42, "{remote}");
    let public = g1_call(b.pyminer(), "get_all_public_variable_names", json!([]));
    assert_eq!(public["var_names"], json!([]), "{public}");
    let listed = names(&rpc_b.call("workspace.list", json!({})));
    assert!(
        listed.contains(&"pcA/gain".to_owned()) && listed.contains(&"pcA/pk".to_owned()),
        "{listed:?}"
    );

    // The Python client.
    let script = format!(
        "import labsocket\nc = labsocket.Client(port={})\nassert c.get('pcA/gain') == 2.5, c.get('pcA/gain')\nc.set('pcA/from_python', [1, 2])\nassert c.get('pcA/from_python') == [1, 2]\nprint('OK')\n",
        b.native().port()
    );
    let output = Command::new(interpreter())
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python runs");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("OK"),
        "python client: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    assert_eq!(
        get(&mut rpc_a, "from_python").unwrap()["value"],
        json!([1, 2])
    );

    // A late joiner gets the retained variables.
    let c = host(&broker, "pcC", "");
    let mut rpc_c = c.rpc();
    wait_value(&mut rpc_c, "pcA/gain", &json!(2.5));

    // A change reaches both; nobody publishes what it received.
    rpc_a.call("workspace.set", json!({"name": "gain", "value": 3}));
    wait_value(&mut rpc_b, "pcA/gain", &json!(3));
    wait_value(&mut rpc_c, "pcA/gain", &json!(3));
    rpc_b.call("workspace.set", json!({"name": "offset", "value": -1}));
    wait_value(&mut rpc_a, "pcB/offset", &json!(-1));
    wait_value(&mut rpc_c, "pcB/offset", &json!(-1));
    for rpc in [&mut rpc_a, &mut rpc_b, &mut rpc_c] {
        let listed = names(&rpc.call("workspace.list", json!({})));
        assert!(
            listed.iter().all(|name| name.matches('/').count() <= 1),
            "a received variable came back: {listed:?}"
        );
    }
    assert_eq!(ws_status(&mut rpc_b)["published"], json!(1), "only offset");
    assert_eq!(ws_status(&mut rpc_c)["published"], json!(0));
}

#[test]
fn a_remote_write_is_durable_on_its_host_before_it_is_acknowledged_and_deletes_propagate() {
    let broker = Mosquitto::start();
    let config_a = config(&broker, "pcA", "");
    let a = host(&broker, "pcA", "");
    let b = host(&broker, "pcB", "");
    wait_online(&b, "pcA");
    let mut rpc_a = a.rpc();
    let mut rpc_b = b.rpc();
    rpc_a.call("workspace.set", json!({"name": "x", "value": 1}));
    wait_value(&mut rpc_b, "pcA/x", &json!(1));

    // Native write: once it returns, A holds it, and so does B's own read.
    let meta = rpc_b.call(
        "workspace.set",
        json!({"name": "pcA/x", "value": {"k": [1, 2]}, "provider": "pcB-console"}),
    );
    assert_eq!(meta["name"], "pcA/x", "{meta}");
    assert_eq!(meta["version"], 2, "{meta}");
    assert_eq!(get(&mut rpc_a, "x").unwrap()["value"], json!({"k": [1, 2]}));
    assert_eq!(
        get(&mut rpc_a, "x").unwrap()["meta"]["provider"],
        "pcB-console"
    );
    assert_eq!(
        get(&mut rpc_b, "pcA/x").unwrap()["value"],
        json!({"k": [1, 2]})
    );
    // PyMiner write of a new variable of A.
    let reply = g1_call(b.pyminer(), "write_p", json!(["pcA/y", PICKLED_42]));
    assert_eq!(reply["message"], "success", "{reply}");
    let read = g1_call(a.pyminer(), "read_p", json!(["y"]));
    assert_eq!(read["y"], PICKLED_42, "{read}");
    // A bad name is refused by the writer's host, before anything is sent.
    let err = rpc_b.call_err("workspace.set", json!({"name": "pcA/1bad", "value": 1}));
    assert!(
        err["message"].as_str().unwrap().contains("identifier"),
        "{err}"
    );
    assert_eq!(ws_status(&mut rpc_b)["writes_sent"], json!(2));

    // Acknowledged means durable: kill -9 and restart A.
    let dir: TempDir = a.kill9();
    let a = Server::start_in(dir, &config_a, &[]).unwrap();
    let mut rpc_a = a.rpc();
    assert_eq!(get(&mut rpc_a, "x").unwrap()["value"], json!({"k": [1, 2]}));
    assert_eq!(
        g1_call(a.pyminer(), "read_p", json!(["y"]))["y"],
        PICKLED_42
    );
    wait_federating(&a);

    // Revs keep growing across the restart: a new value on A replaces B's copy.
    rpc_a.call(
        "workspace.set",
        json!({"name": "x", "value": "after restart"}),
    );
    wait_value(&mut rpc_b, "pcA/x", &json!("after restart"));

    // Deletes are the owner's; they reach B.
    let err = rpc_b.call_err("workspace.delete", json!({"name": "pcA/x"}));
    assert!(err["message"].as_str().unwrap().contains("pcA"), "{err}");
    rpc_a.call("workspace.delete", json!({"name": "x"}));
    wait_for(WAIT, "the delete on B", || {
        get(&mut rpc_b, "pcA/x")
            .err()
            .filter(|err| err["code"] == NOT_FOUND)
    });
    assert!(!names(&rpc_b.call("workspace.list", json!({}))).contains(&"pcA/x".to_owned()));
}

#[test]
fn a_write_to_an_offline_or_hung_host_fails_in_time_naming_it_and_is_never_applied() {
    let broker = Mosquitto::start();
    let timeout = 2.0;
    // What the client sees beyond the server's timeout: a loaded 2-core test machine
    // (several test binaries at once) adds up to about a second.
    let slack = 1.5;
    let extra = format!("request_timeout_secs = {timeout}");
    // A keeps a 5 s keepalive: stopped for the ~2 s of the write, its connection must
    // outlive the stop (the broker drops a client silent for 1.5 × keepalive, and a QoS 0
    // request on a dropped connection never reaches A to be counted as expired).
    let a = started(Server::start(&config_with_keepalive(
        &broker, "pcA", 5, &extra,
    )));
    let b = host(&broker, "pcB", &extra);
    wait_online(&b, "pcA");
    let mut rpc_a = a.rpc();
    let mut rpc_b = b.rpc();
    rpc_a.call("workspace.set", json!({"name": "x", "value": "original"}));
    wait_value(&mut rpc_b, "pcA/x", &json!("original"));

    // A hung host (SIGSTOP): the write times out naming it; when A resumes, the request
    // is past its deadline and A drops it.
    // SAFETY: signals to our own child process, by its pid.
    unsafe { libc::kill(a.pid() as libc::pid_t, libc::SIGSTOP) };
    let started = Instant::now();
    let err = rpc_b.call_err("workspace.set", json!({"name": "pcA/x", "value": "late"}));
    let took = started.elapsed();
    // SAFETY: as above.
    unsafe { libc::kill(a.pid() as libc::pid_t, libc::SIGCONT) };
    assert!(err["message"].as_str().unwrap().contains("pcA"), "{err}");
    assert!(
        took <= Duration::from_secs_f64(timeout + slack),
        "failed after {took:?}"
    );
    wait_for(WAIT, "A to drop the expired request", || {
        (ws_status(&mut rpc_a)["requests_expired"] == 1).then_some(())
    });
    assert_eq!(get(&mut rpc_a, "x").unwrap()["value"], "original");

    // A dead host: fails within the timeout, naming it; B still reads the last value.
    wait_online(&b, "pcA");
    let _dir = a.kill9();
    let started = Instant::now();
    let err = rpc_b.call_err("workspace.set", json!({"name": "pcA/x", "value": "lost"}));
    assert!(err["message"].as_str().unwrap().contains("pcA"), "{err}");
    assert!(started.elapsed() <= Duration::from_secs_f64(timeout + slack));
    wait_for(WAIT, "B to see A offline", || {
        let status = rpc_b.call("mqtt.status", json!({}));
        (status["remote_hosts"]["pcA"]["online"] == false).then_some(())
    });
    let started = Instant::now();
    let err = rpc_b.call_err("workspace.set", json!({"name": "pcA/x", "value": "lost"}));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("host 'pcA' is offline"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs_f64(timeout),
        "known offline: at once, not after the timeout"
    );
    let (_, err) = g2_call(b.pyminer(), "write_p", json!(["pcZ/x", PICKLED_42]));
    assert_eq!(err["message"], "failed", "{err}");
    assert!(err["content"].as_str().unwrap().contains("pcZ"), "{err}");
    assert_eq!(get(&mut rpc_b, "pcA/x").unwrap()["value"], "original");
}

#[test]
fn a_value_above_max_value_bytes_travels_by_ws_get() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", "max_value_bytes = 1000");
    let b = host(&broker, "pcB", "");
    let mut rpc_a = a.rpc();
    let mut rpc_b = b.rpc();
    let big = "z".repeat(5000);
    rpc_a.call("workspace.set", json!({"name": "small", "value": 1}));
    rpc_a.call("workspace.set", json!({"name": "big", "value": big}));
    // Above the default max_value_bytes too.
    let size = 2 * 1024 * 1024;
    let data: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let data = base64::engine::general_purpose::STANDARD.encode(&data);
    rpc_a.call(
        "workspace.set",
        json!({"name": "blob", "encoding": "npy", "data": data}),
    );

    wait_value(&mut rpc_b, "pcA/big", &json!(big));
    let deadline = Instant::now() + WAIT;
    let blob = loop {
        if let Ok(blob) = get(&mut rpc_b, "pcA/blob") {
            break blob;
        }
        assert!(
            Instant::now() < deadline,
            "pcA/blob never reached B ({} / {})\nA's log:\n{}\nB's log:\n{}",
            ws_status(&mut a.rpc()),
            ws_status(&mut b.rpc()),
            a.stderr(),
            b.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(blob["data"], json!(data));
    assert_eq!(blob["encoding"], "npy");
    assert_eq!(blob["meta"]["size"], size);
    wait_value(&mut rpc_b, "pcA/small", &json!(1));
    // read_p (inline on B) serves the fetched value too.
    let read = g1_call(b.pyminer(), "read_p", json!(["pcA/big"]));
    assert_eq!(
        read["pcA/big"],
        g1_call(a.pyminer(), "read_p", json!(["big"]))["big"]
    );
    // Two fetches (big, blob), answered by A; small came in its ws/ message.
    assert_eq!(ws_status(&mut rpc_b)["fetches_sent"], json!(2));
    assert_eq!(ws_status(&mut rpc_a)["gets_served"], json!(2));
}

#[test]
fn without_federation_a_remote_write_says_federation_is_off() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let err = rpc.call_err("workspace.set", json!({"name": "pcA/x", "value": 1}));
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("pcA/x") && message.contains("federation is off"),
        "{err}"
    );
    assert!(get(&mut rpc, "pcA/x").is_err());
}

#[test]
fn malformed_workspace_messages_change_nothing_and_break_nothing() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", "");
    let b = host(&broker, "pcB", "");
    wait_online(&b, "pcA");
    let mut rpc_a = a.rpc();
    let mut rpc_b = b.rpc();
    rpc_a.call("workspace.set", json!({"name": "x", "value": "original"}));
    wait_value(&mut rpc_b, "pcA/x", &json!("original"));

    // A third-party MQTT client sends requests and variables no labsocket host sends.
    let script = format!(
        r#"
import time
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

lab = "labsocket/v1/lab1"
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
c.connect("127.0.0.1", {port})
c.loop_start()

def request(payload, response_topic):
    props = Properties(PacketTypes.PUBLISH)
    if response_topic is not None:
        props.ResponseTopic = response_topic
        props.CorrelationData = b"c1"
    c.publish(lab + "/pcA/ws-set/x", payload, qos=1, properties=props).wait_for_publish()

future = time.time() + 60
request('[1, 2]', lab + "/pcB/reply")
request('"text"', lab + "/pcB/reply")
request('not json', lab + "/pcB/reply")
request('{{"deadline": %f, "encoding": "json", "value": "evil"}}' % future, "elsewhere/topic")
request('{{"deadline": %f, "encoding": "json", "value": "evil"}}' % future, None)
request('{{"deadline": 1, "encoding": "json", "value": "expired"}}', lab + "/pcB/reply")
for payload in ['not json', '[1]', '{{"rev": "a"}}',
                '{{"rev": 1, "encoding": "npy", "meta": {{}}, "value": "!!"}}',
                '{{"rev": 1, "encoding": "json", "meta": {{"encoding": "json"}}, "value": 1}}']:
    c.publish(lab + "/pcX/ws/y", payload, qos=1).wait_for_publish()
good = '{{"rev": 1, "encoding": "json", "meta": {{"encoding": "json", "type_hint": "numeric", "provider": "paho"}}, "value": 7}}'
c.publish(lab + "/pcX/ws/z", good, qos=1).wait_for_publish()
c.publish(lab + "/pcB/reply", '{{"ok": true}}', qos=1).wait_for_publish()
c.loop_stop()
print("OK")
"#,
        port = broker.address().port()
    );
    let output = Command::new(interpreter())
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python runs");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("OK"),
        "paho: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Only the well-formed expired request reached the worker, and it was dropped.
    wait_for(WAIT, "A to drop the expired request", || {
        (ws_status(&mut rpc_a)["requests_expired"] == 1).then_some(())
    });
    assert_eq!(ws_status(&mut rpc_a)["sets_served"], 0);
    assert_eq!(get(&mut rpc_a, "x").unwrap()["value"], "original");
    // Both hosts still federate: a real write goes through.
    rpc_b.call("workspace.set", json!({"name": "pcA/x", "value": "real"}));
    assert_eq!(get(&mut rpc_a, "x").unwrap()["value"], "real");
    // The well-formed variable after the malformed ones arrives; none of those does.
    wait_value(&mut rpc_b, "pcX/z", &json!(7));
    let listed = names(&rpc_b.call("workspace.list", json!({})));
    assert!(!listed.contains(&"pcX/y".to_owned()), "{listed:?}");
}

#[test]
fn a_host_back_without_a_variable_clears_what_it_had_published() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", "");
    let b = host(&broker, "pcB", "");
    let mut rpc_b = b.rpc();
    a.rpc()
        .call("workspace.set", json!({"name": "gone", "value": 1}));
    a.rpc()
        .call("workspace.set", json!({"name": "kept", "value": 2}));
    wait_value(&mut rpc_b, "pcA/gone", &json!(1));
    wait_value(&mut rpc_b, "pcA/kept", &json!(2));

    // pcA comes back on a workspace without `gone` (here: a fresh data directory; in a
    // lab, a variable deleted while the server was stopped, or a restored backup).
    let _old = a.kill9();
    let a = host(&broker, "pcA", "");
    a.rpc()
        .call("workspace.set", json!({"name": "kept", "value": 3}));
    wait_value(&mut rpc_b, "pcA/kept", &json!(3));
    wait_for(WAIT, "B to forget pcA/gone", || {
        get(&mut rpc_b, "pcA/gone")
            .err()
            .filter(|err| err["code"] == NOT_FOUND)
    });
}
