//! Federation operations (SPEC §9) with a real Mosquitto and real labsocket hosts: TLS to
//! the broker (`mqtts://`, CA, client certificate), a wrong CA failing clearly while the
//! host keeps serving locally, username + password file (right one federates, wrong one is
//! refused clearly, a file others can read stops the start), and the MQTT 5 message
//! expiry of the retained `pt/<codename>` with its `meta/<codename>`, read by a raw MQTT
//! client.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use labsocket_e2e::federation::{mqtt_status, wait_federating, wait_for};
use labsocket_e2e::mosquitto::{Mosquitto, Options, Pki};
use labsocket_e2e::{RpcClient, Server, TempDir, UdpClient, WAIT};
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Event, MqttOptions};
use serde_json::{json, Value};

fn point(rpc: &mut RpcClient, codename: &str) -> Option<Value> {
    rpc.request("get_point", json!([codename]))
        .get("result")
        .cloned()
}

/// The `[mqtt]` table of host `id` on `broker`, with `extra` keys appended.
fn mqtt_table(broker: &Mosquitto, id: &str, extra: &str) -> String {
    format!(
        "[mqtt]\nurl = \"{}\"\nlab = \"lab1\"\nhost = \"{id}\"\nkeepalive_secs = 5\n{extra}\n",
        broker.url()
    )
}

/// `key = "path"` lines for TOML.
fn path_key(key: &str, path: &std::path::Path) -> String {
    format!("{key} = \"{}\"\n", path.display())
}

/// Writes `text` to `dir/name` with `mode`.
fn write_file(dir: &TempDir, name: &str, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Waits until `mqtt.status` reports an error containing every one of `words`.
fn wait_error(rpc: &mut RpcClient, words: &[&str]) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = mqtt_status(rpc);
        let error = status["error"].as_str().unwrap_or("");
        if words.iter().all(|w| error.contains(w)) {
            assert_eq!(status["connected"], json!(false), "{status}");
            return error.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no mqtt.status error with {words:?}: {status}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn points_cross_hosts_over_tls_with_client_certificates() {
    let pki = Pki::new();
    let broker = Mosquitto::start_with(Options {
        tls: Some(pki.broker(true)),
        ..Options::default()
    });
    assert!(broker.url().starts_with("mqtts://"));
    let tls = path_key("ca_file", &pki.file("ca.crt"))
        + &path_key("cert_file", &pki.file("client.crt"))
        + &path_key("key_file", &pki.file("client.key"));
    let a = Server::start(&mqtt_table(&broker, "pcA", &tls));
    let b = Server::start(&format!(
        "{}\n[[pull_socket]]\nname = \"remote\"\nport = 0\ncodenames = [\"pcA/temp\"]\n",
        mqtt_table(&broker, "pcB", &tls)
    ));
    wait_federating(&a);
    wait_federating(&b);
    let mut rpc_a = a.rpc();
    assert_eq!(mqtt_status(&mut rpc_a)["tls"], json!(true));
    rpc_a.call("set_point", json!(["temp", 1795238169.25, 21.5]));
    let pull = UdpClient::new(b.address("pull.0"));
    wait_for(WAIT, "pcA/temp on B's pull socket over TLS", || {
        (pull.request("pcA/temp#raw") == "1795238169.25,21.5").then_some(())
    });

    // Without a client certificate this broker refuses the handshake.
    let c = Server::start(&mqtt_table(
        &broker,
        "pcC",
        &path_key("ca_file", &pki.file("ca.crt")),
    ));
    let error = wait_error(&mut c.rpc(), &["TLS"]);
    assert!(!error.is_empty());
}

#[test]
fn a_wrong_ca_fails_clearly_and_the_host_keeps_serving_locally() {
    let pki = Pki::new();
    let broker = Mosquitto::start_with(Options {
        tls: Some(pki.broker(false)),
        ..Options::default()
    });
    let server = Server::start(&format!(
        "{}\n[[pull_socket]]\nname = \"local\"\nport = 0\ncodenames = [\"temp\"]\n",
        mqtt_table(
            &broker,
            "pcA",
            &path_key("ca_file", &pki.file("other-ca.crt"))
        )
    ));
    let mut rpc = server.rpc();
    let error = wait_error(&mut rpc, &["TLS", "ca_file"]);
    assert!(
        error.contains("UnknownIssuer") || error.contains("certificate"),
        "{error}"
    );
    let status = mqtt_status(&mut rpc);
    assert_eq!(status["phase"], json!("connecting"), "{status}");
    // The log says it too, as an error (the operator must act).
    wait_for(WAIT, "the TLS error in the log", || {
        let log = server.stderr();
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("TLS with the broker failed"))
            .then_some(())
    });
    // Locally everything still works.
    rpc.call("set_point", json!(["temp", 1795238169.0, 3]));
    assert_eq!(point(&mut rpc, "temp").unwrap()["y"], json!(3));
    let pull = UdpClient::new(server.address("pull.0"));
    assert_eq!(pull.request("temp#raw"), "1795238169.0,3");
    let connects = mqtt_status(&mut rpc)["connects"].clone();
    assert_eq!(connects, json!(0));
}

#[test]
fn a_username_and_password_file_federate_and_a_wrong_password_is_refused() {
    let broker = Mosquitto::start_with(Options {
        users: vec![
            ("pcA".to_owned(), "right horse battery".to_owned()),
            ("pcB".to_owned(), "staple".to_owned()),
        ],
        ..Options::default()
    });
    // The password file is named relative to the config file (the server's folder).
    let dir_a = TempDir::new("server");
    write_file(&dir_a, "mqtt.password", "right horse battery\n", 0o600);
    let a = Server::start_in(
        dir_a,
        &mqtt_table(
            &broker,
            "pcA",
            "username = \"pcA\"\npassword_file = \"mqtt.password\"",
        ),
        &[],
    )
    .unwrap_or_else(|failure| panic!("A did not start: {}", failure.stderr));
    wait_federating(&a);

    let dir_b = TempDir::new("server");
    write_file(&dir_b, "mqtt.password", "not staple\n", 0o600);
    let b = Server::start_in(
        dir_b,
        &mqtt_table(
            &broker,
            "pcB",
            "username = \"pcB\"\npassword_file = \"mqtt.password\"",
        ),
        &[],
    )
    .unwrap_or_else(|failure| panic!("B did not start: {}", failure.stderr));
    let mut rpc_b = b.rpc();
    let error = wait_error(&mut rpc_b, &["refused", "password_file"]);
    // Mosquitto 2.0 answers a wrong password "not authorized", as the user guide shows.
    assert!(error.contains("NotAuthorized"), "{error}");
    rpc_b.call("set_point", json!(["local", 1795238169.0, 1]));
    assert_eq!(point(&mut rpc_b, "local").unwrap()["y"], json!(1));
    // A federates, B does not: A never hears of B.
    let mut rpc_a = a.rpc();
    rpc_a.call("set_point", json!(["temp", 1795238169.0, 2]));
    let status_a = mqtt_status(&mut rpc_a);
    assert!(
        status_a["remote_hosts"].get("pcB").is_none(),
        "{status_a}; broker log:\n{}",
        broker.log()
    );
}

#[test]
fn unusable_secret_files_stop_the_start_with_the_key_named() {
    let broker = Mosquitto::start();
    let dir = TempDir::new("server");
    write_file(&dir, "mqtt.password", "secret\n", 0o644);
    let failure = Server::start_in(
        dir,
        &mqtt_table(
            &broker,
            "pcA",
            "username = \"pcA\"\npassword_file = \"mqtt.password\"",
        ),
        &[],
    )
    .err()
    .expect("a password file others can read stops the start");
    assert!(
        failure.stderr.contains("[mqtt] password_file")
            && failure.stderr.contains("mqtt.password")
            && failure.stderr.contains("chmod 600"),
        "{}",
        failure.stderr
    );

    let failure = Server::start_with_args(
        &format!(
            "[mqtt]\nurl = \"mqtts://127.0.0.1:{}\"\nlab = \"lab1\"\nhost = \"pcA\"\nca_file = \"no-such-ca.crt\"\n",
            broker.port()
        ),
        &[],
    )
    .err()
    .expect("a missing CA file stops the start");
    assert!(
        failure.stderr.contains("[mqtt] ca_file") && failure.stderr.contains("no-such-ca.crt"),
        "{}",
        failure.stderr
    );
}

/// The messages under `filter` a fresh MQTT 5 client gets right after it subscribes (the
/// retained ones, and any published meanwhile), by topic: `(payload JSON, message expiry interval)`. Collected until
/// `required` has come and nothing more for 300 ms.
fn retained(port: u16, filter: &str, required: &str) -> HashMap<String, (Value, Option<u32>)> {
    let id = format!("test-reader-{}", fastrand::u64(..));
    let (client, mut connection) = Client::new(MqttOptions::new(id, "127.0.0.1", port), 64);
    client.subscribe(filter, QoS::AtMostOnce).unwrap();
    let mut found = HashMap::new();
    let deadline = Instant::now() + WAIT;
    let mut quiet_since: Option<Instant> = None;
    while Instant::now() < deadline {
        if quiet_since.is_some_and(|at| at.elapsed() > Duration::from_millis(300)) {
            break;
        }
        match connection.recv_timeout(Duration::from_millis(50)) {
            // Live ones too: a message published just after the subscription is what
            // the broker holds as well.
            Ok(Ok(Event::Incoming(Packet::Publish(publish)))) => {
                let topic = String::from_utf8(publish.topic.to_vec()).unwrap();
                let payload = serde_json::from_slice(&publish.payload).unwrap_or(Value::Null);
                let expiry = publish
                    .properties
                    .as_ref()
                    .and_then(|p| p.message_expiry_interval);
                found.insert(topic, (payload, expiry));
                if found.contains_key(required) {
                    quiet_since = Some(Instant::now());
                }
            }
            Ok(Err(err)) => panic!("test reader: {err}"),
            _ => {}
        }
    }
    let _ = client.disconnect();
    assert!(found.contains_key(required), "no {required} in {found:?}");
    found
}

#[test]
fn pt_expires_after_the_longest_pull_socket_timeout_and_meta_says_it() {
    let broker = Mosquitto::start();
    // temp: 2.5 s on a date socket, 4.2 s on a data socket → 4.2 s, "data", expiry 5 s.
    // free: listed without a timeout → no expiry.
    let a = Server::start(&format!(
        "{}\n[[pull_socket]]\nname = \"p1\"\nport = 0\ncodenames = [\"temp\", \"free\"]\ntimeouts = {{temp = 2.5}}\n\n\
         [[pull_socket]]\nname = \"p2\"\nkind = \"data\"\nport = 0\ncodenames = [\"temp\"]\ntimeout = 4.2\n",
        mqtt_table(&broker, "pcA", "")
    ));
    wait_federating(&a);
    let mut rpc = a.rpc();
    assert_eq!(
        rpc.call("point_meta", json!([])),
        json!({"temp": {"timeout": 4.2, "kind": "data"}, "free": {"timeout": null, "kind": "date"}})
    );
    rpc.call("set_point", json!(["free", 1795238169.0, 1]));
    rpc.call("set_point", json!(["temp", 1795238169.0, 2]));
    let set_at = Instant::now();
    let prefix = "labsocket/v1/lab1/pcA";
    let pt_temp = format!("{prefix}/pt/temp");
    let pt_free = format!("{prefix}/pt/free");
    let meta_temp = format!("{prefix}/meta/temp");
    let meta_free = format!("{prefix}/meta/free");

    let port = broker.port();
    let seen = wait_for(WAIT, "both pt and meta retained", || {
        let seen = retained(port, &format!("{prefix}/#"), &pt_free);
        [&pt_temp, &meta_temp, &meta_free]
            .iter()
            .all(|t| seen.contains_key(*t))
            .then_some(seen)
    });
    assert_eq!(
        seen[&meta_temp].0,
        json!({"timeout": 4.2, "kind": "data"}),
        "{seen:?}"
    );
    assert_eq!(seen[&meta_free].0, json!({"timeout": null, "kind": "date"}));
    let (payload, expiry) = &seen[&pt_temp];
    assert_eq!(payload["y"], json!(2));
    // The broker forwards the remaining interval: at most 5 s (4.2 rounded up).
    assert!(
        matches!(expiry, Some(1..=5)),
        "pt/temp expiry {expiry:?} (expected 5 s, less what has passed)"
    );
    assert_eq!(seen[&pt_free].1, None, "no timeout, no expiry: {seen:?}");

    // The broker drops pt/temp once expired; pt/free stays.
    wait_for(WAIT, "pt/temp to expire on the broker", || {
        let seen = retained(port, &format!("{prefix}/pt/+"), &pt_free);
        (!seen.contains_key(&pt_temp)).then_some(())
    });
    let gone_after = set_at.elapsed();
    assert!(
        gone_after >= Duration::from_secs(4),
        "pt/temp expired after {gone_after:?}, before its 5 s"
    );
}
