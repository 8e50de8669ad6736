//! Federation (SPEC §9) with a real Mosquitto and real labsocket hosts on loopback:
//! points cross hosts (native `get_point`, UDP pull socket), a late joiner gets the
//! retained state, a killed host turns `OLD_DATA` at once, a broker restart loses no
//! change (outbox replay; a host that reconnects after the replay asks for a resend),
//! nothing loops back, and a duplicate host id is refused.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labsocket_e2e::federation::{mqtt_status, wait_federating, wait_for};
use labsocket_e2e::mosquitto::Mosquitto;
use labsocket_e2e::{RpcClient, Server, UdpClient, WAIT};
use serde_json::{json, Value};

/// A host in lab `lab1` on `broker`; `extra` is appended to the config (pull sockets).
fn host(broker: &Mosquitto, id: &str, keepalive: u64, extra: &str) -> Server {
    Server::start(&format!(
        "[mqtt]\nurl = \"{}\"\nlab = \"lab1\"\nhost = \"{id}\"\nkeepalive_secs = {keepalive}\n\n{extra}",
        broker.url()
    ))
}

/// `get_point` of `codename`, `None` while it has none.
fn point(rpc: &mut RpcClient, codename: &str) -> Option<Value> {
    rpc.request("get_point", json!([codename]))
        .get("result")
        .cloned()
}

#[test]
fn points_cross_hosts_and_a_late_joiner_gets_the_retained_state() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", 5, "");
    wait_federating(&a);
    let mut rpc_a = a.rpc();
    rpc_a.call("set_point", json!(["temp", 1795238169.25, 21.5]));

    // B starts after the point was set: it learns it from the retained pt/temp.
    let b = host(
        &broker,
        "pcB",
        5,
        "[[pull_socket]]\nname = \"remote\"\nport = 0\ncodenames = [\"pcA/temp\"]\n",
    );
    let mut rpc_b = b.rpc();
    let seen = wait_for(WAIT, "pcA/temp on B", || point(&mut rpc_b, "pcA/temp"));
    assert_eq!(seen["y"], json!(21.5));
    assert_eq!(seen["x"], json!(1795238169.25));
    let origin = point(&mut rpc_a, "temp").unwrap();
    assert_eq!(
        seen["set_at"], origin["set_at"],
        "the origin's set time is kept"
    );

    // A change after B joined arrives too, and B's pull socket serves it.
    wait_federating(&b);
    rpc_a.call("set_point", json!(["temp", 1795238170.5, 22]));
    let pull = UdpClient::new(b.address("pull.0"));
    wait_for(WAIT, "the new value on B's pull socket", || {
        (pull.request("pcA/temp#raw") == "1795238170.5,22").then_some(())
    });
    assert_eq!(pull.request("codenames_raw"), "pcA/temp");

    // A point set on B goes to A; B never republishes what it received from A.
    rpc_b.call("set_point", json!(["pressure", 1795238171.0, 1.0]));
    let mut rpc_a2 = a.rpc();
    wait_for(WAIT, "pcB/pressure on A", || {
        point(&mut rpc_a2, "pcB/pressure")
    });
    assert!(
        point(&mut rpc_a2, "pcB/pcA/temp").is_none(),
        "A must not get its own point back through B"
    );
    assert!(point(&mut rpc_b, "pcA/pcB/pressure").is_none());
    let status_a = mqtt_status(&mut rpc_a);
    let status_b = mqtt_status(&mut rpc_b);
    // B published only its own codename (pressure), never pcA/temp.
    assert_eq!(status_b["points_published"], json!(1), "{status_b}");
    assert_eq!(
        status_a["remote_hosts"]["pcB"]["online"],
        json!(true),
        "{status_a}"
    );
    assert_eq!(
        status_a["own_messages_dropped"],
        json!(0),
        "No Local: {status_a}"
    );
}

#[test]
fn a_killed_host_is_old_data_within_one_and_a_half_keepalives() {
    let broker = Mosquitto::start();
    let keepalive = 2;
    let a = host(&broker, "pcA", keepalive, "");
    let b = host(
        &broker,
        "pcB",
        keepalive,
        "[[pull_socket]]\nname = \"remote\"\nport = 0\ncodenames = [\"pcA/t\"]\n",
    );
    wait_federating(&a);
    wait_federating(&b);
    a.rpc().call("set_point", json!(["t", 1795238169.0, 1]));
    let pull = UdpClient::new(b.address("pull.0"));
    wait_for(WAIT, "pcA/t on B", || {
        (pull.request("pcA/t#raw") == "1795238169.0,1").then_some(())
    });

    let _dir = a.kill9();
    let killed = Instant::now();
    wait_for(WAIT, "OLD_DATA on B", || {
        (pull.request("pcA/t#raw") == "OLD_DATA").then_some(())
    });
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs_f64(1.5 * keepalive as f64),
        "OLD_DATA after {took:?}"
    );
    let mut rpc_b = b.rpc();
    assert_eq!(point(&mut rpc_b, "pcA/t").unwrap()["stale"], json!(true));
    assert_eq!(
        mqtt_status(&mut rpc_b)["remote_hosts"]["pcA"]["online"],
        json!(false)
    );
}

#[test]
fn a_broker_restart_loses_no_change() {
    let mut broker = Mosquitto::start();
    let a = host(&broker, "pcA", 1, "");
    let b = host(&broker, "pcB", 1, "");
    wait_federating(&a);
    wait_federating(&b);
    let mut watcher = b.rpc();
    watcher.call("subscribe", json!({"topics": ["points"]}));
    let mut rpc_a = a.rpc();
    rpc_a.call("set_point", json!(["n", 1795238100.0, 0]));
    wait_for(WAIT, "the first value on B", || {
        point(&mut b.rpc(), "pcA/n")
    });

    broker.kill();
    // Both hosts keep serving locally while the broker is away.
    let changes = 50;
    for i in 1..=changes {
        rpc_a.call("set_point", json!(["n", 1795238100.0 + i as f64, i]));
    }
    assert_eq!(point(&mut rpc_a, "n").unwrap()["y"], json!(changes));
    wait_for(WAIT, "A to notice the outage and hold its batches", || {
        let status = mqtt_status(&mut rpc_a);
        (status["connected"] == false && status["outbox_batches"].as_u64() > Some(0)).then_some(())
    });

    broker.restart();
    // Every change made during the outage reaches B (batch replay; the retained pt/n
    // alone would carry only the last one).
    let mut seen = Vec::new();
    let all_seen = |seen: &Vec<i64>| (1..=changes).all(|i| seen.contains(&i));
    let deadline = Instant::now() + WAIT;
    while !all_seen(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "B saw only {seen:?}");
        let event = watcher.next_notification("event", left);
        if let Some(y) = event["params"]["pcA/n"][1].as_i64() {
            seen.push(y);
        }
    }
    // The replayed batch ends with the latest value, so B ends on it.
    wait_for(WAIT, "B to hold the latest value", || {
        (point(&mut b.rpc(), "pcA/n")?["y"] == json!(changes)).then_some(())
    });
    wait_for(WAIT, "A's outbox to empty", || {
        (mqtt_status(&mut rpc_a)["outbox_batches"] == 0).then_some(())
    });
}

/// A loopback TCP relay to the broker that can be shut: while shut it drops new
/// connections at once, so the host behind it reconnects only when the test opens it
/// (a host reaching a restarted broker later than another one). A connection ends on
/// both sides when either side closes.
struct Gate {
    port: u16,
    open: Arc<AtomicBool>,
}

impl Gate {
    fn new(broker: &Mosquitto) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let (target, gate_open) = (broker.address(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !gate_open.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                let Ok(upstream) = TcpStream::connect(target) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                    (upstream, client),
                ] {
                    std::thread::spawn(move || pipe(from, to));
                }
            }
        });
        Gate { port, open }
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either ends, then closes both.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buffer) {
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[test]
fn a_host_reconnecting_after_the_replay_asks_for_it_again_and_keeps_the_newest_value() {
    let mut broker = Mosquitto::start();
    let gate = Gate::new(&broker);
    let a = host(&broker, "pcA", 1, "");
    let b = Server::start(&format!(
        "[mqtt]\nurl = \"{}\"\nlab = \"lab1\"\nhost = \"pcB\"\nkeepalive_secs = 1\n",
        gate.url()
    ));
    wait_federating(&a);
    wait_federating(&b);
    let mut watcher = b.rpc();
    watcher.call("subscribe", json!({"topics": ["points"]}));
    let mut rpc_a = a.rpc();
    let mut rpc_b = b.rpc();
    rpc_a.call("set_point", json!(["n", 1795238100.0, 0]));
    wait_for(WAIT, "the first value on B", || point(&mut rpc_b, "pcA/n"));

    gate.set_open(false);
    broker.kill();
    let changes = 50;
    for i in 1..=changes {
        rpc_a.call("set_point", json!(["n", 1795238100.0 + i as f64, i]));
    }
    wait_for(WAIT, "both hosts to notice the outage", || {
        let (status_a, status_b) = (mqtt_status(&mut rpc_a), mqtt_status(&mut rpc_b));
        (status_a["connected"] == false
            && status_a["outbox_batches"].as_u64() > Some(0)
            && status_b["connected"] == false)
            .then_some(())
    });

    // A reconnects and replays while B still cannot reach the broker: the broker
    // acknowledges the replay with no subscriber of B's there.
    broker.restart();
    wait_for(
        WAIT,
        "A to replay its outbox to the restarted broker",
        || {
            let status = mqtt_status(&mut rpc_a);
            (status["connected"] == true && status["outbox_batches"] == 0).then_some(())
        },
    );
    assert_eq!(mqtt_status(&mut rpc_b)["connected"], false);

    // B comes back later: the retained pt/n (50) arrives at once, the changes 1..=49 only
    // when A resends them on B's request.
    gate.set_open(true);
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !(1..=changes).all(|i| seen.contains(&i)) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "B saw only {seen:?}");
        let event = watcher.next_notification("event", left);
        if let Some(y) = event["params"]["pcA/n"][1].as_i64() {
            seen.push(y);
        }
    }
    // The resent changes are older than the value B already holds: B keeps the newest.
    assert_eq!(point(&mut rpc_b, "pcA/n").unwrap()["y"], json!(changes));
}

#[test]
fn a_second_host_with_the_same_id_refuses_to_federate() {
    let broker = Mosquitto::start();
    let first = host(&broker, "pc1", 1, "");
    wait_federating(&first);
    let observer = host(&broker, "watch", 1, "");
    wait_federating(&observer);
    let second = host(&broker, "pc1", 1, "");
    let mut rpc_second = second.rpc();
    let status = wait_for(WAIT, "the duplicate to be refused", || {
        let status = mqtt_status(&mut rpc_second);
        (status["phase"] == "duplicate").then_some(status)
    });
    assert!(
        status["error"].as_str().unwrap().contains("pc1"),
        "{status}"
    );
    assert!(second
        .stderr()
        .contains("another live host uses the id 'pc1'"));
    // The refused host keeps serving locally and publishes nothing.
    rpc_second.call("set_point", json!(["only_local", 1.0, 1]));
    let mut rpc_first = first.rpc();
    rpc_first.call("set_point", json!(["shared", 1.0, 2]));
    let mut rpc_observer = observer.rpc();
    wait_for(WAIT, "the first host's point", || {
        point(&mut rpc_observer, "pc1/shared")
    });
    assert!(point(&mut rpc_observer, "pc1/only_local").is_none());
    // The refused host left cleanly: the first is still online (no will fired for it).
    let status_first = mqtt_status(&mut rpc_first);
    assert_eq!(status_first["phase"], "federating", "{status_first}");
    let seen = mqtt_status(&mut rpc_observer);
    assert_eq!(seen["remote_hosts"]["pc1"]["stale"], json!(false), "{seen}");
}

#[test]
fn a_bad_mqtt_table_stops_the_start_with_the_key() {
    let failure = Server::start_with_args(
        "[mqtt]\nurl = \"mqtt://127.0.0.1:1\"\nlab = \"l\"\nkeepalive_secs = 0\n",
        &[],
    )
    .err()
    .expect("a bad [mqtt] table is refused");
    assert!(
        failure.stderr.contains("[mqtt] keepalive_secs"),
        "{}",
        failure.stderr
    );
    // No [mqtt] table: the plugin loads and idles.
    let server = Server::start("");
    assert_eq!(
        server.rpc().call("mqtt.status", json!({})),
        json!({"enabled": false})
    );
}

#[test]
fn a_hung_host_is_old_data_after_three_silent_keepalives_and_fresh_when_it_resumes() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", 1, "");
    let b = host(
        &broker,
        "pcB",
        1,
        "[[pull_socket]]\nname = \"remote\"\nport = 0\ncodenames = [\"pcA/t\"]\n",
    );
    wait_federating(&a);
    wait_federating(&b);
    a.rpc().call("set_point", json!(["t", 1795238169.0, 1]));
    let pull = UdpClient::new(b.address("pull.0"));
    wait_for(WAIT, "pcA/t on B", || {
        (pull.request("pcA/t#raw") == "1795238169.0,1").then_some(())
    });

    // SIGSTOP: the TCP connection stays open, so no will comes before the broker's own
    // keepalive (at least 5 s); the birth heartbeat (1 s) stops at once.
    // SAFETY: signalling our own child process by its pid.
    unsafe { libc::kill(a.pid() as libc::pid_t, libc::SIGSTOP) };
    let stopped = Instant::now();
    wait_for(WAIT, "OLD_DATA on B", || {
        (pull.request("pcA/t#raw") == "OLD_DATA").then_some(())
    });
    let took = stopped.elapsed();
    // SAFETY: as above.
    unsafe { libc::kill(a.pid() as libc::pid_t, libc::SIGCONT) };
    assert!(
        took >= Duration::from_secs(2) && took <= Duration::from_millis(4500),
        "OLD_DATA after {took:?}, expected about 3 keepalives (3 s)"
    );
    // Its next birth makes the point fresh again.
    wait_for(WAIT, "pcA/t fresh again on B", || {
        (pull.request("pcA/t#raw") == "1795238169.0,1").then_some(())
    });
}

#[test]
fn a_python_paho_consumer_reads_the_documented_topics() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", 5, "");
    wait_federating(&a);
    let mut rpc = a.rpc();
    rpc.call("set_point", json!(["temp", 1795238169.25, 21.5]));
    wait_for(WAIT, "A's first batch", || {
        (mqtt_status(&mut rpc)["batches_sent"].as_u64() > Some(0)).then_some(())
    });
    let port = broker.address().port().to_string();
    let args: Vec<String> = [port.as_str(), "lab1", "pcA", "temp"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let consumer = std::thread::spawn(move || {
        labsocket_e2e::python::run_script("mqtt_consumer.py", &args, WAIT)
    });
    // Changes keep coming until the consumer (subscribed at its own pace) has a batch.
    let mut y = 0;
    while !consumer.is_finished() {
        y += 1;
        rpc.call("set_point", json!(["temp", 1795238170.0, y]));
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = consumer.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: Value = serde_json::from_str(stdout.trim()).unwrap();
    let pt = &found["pt"];
    assert!(pt["x"].is_number() && pt["time"].is_number(), "{pt}");
    let batch = &found["batch"];
    assert!(batch["seq"].as_i64().unwrap() > 0, "{batch}");
    assert_eq!(batch["replay"], json!(false), "{batch}");
    let point = batch["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "temp")
        .unwrap();
    assert_eq!(
        point[2],
        json!(1795238170.0),
        "[codename, time, x, y]: {point}"
    );
    assert!(point[1].is_number() && point[3].is_i64(), "{point}");
}

#[test]
fn remote_events_reach_local_subscribers_with_their_host_and_are_not_republished() {
    let broker = Mosquitto::start();
    let a = host(&broker, "pcA", 5, "");
    let b = host(&broker, "pcB", 5, "");
    wait_federating(&a);
    wait_federating(&b);
    let mut watcher_b = b.rpc();
    watcher_b.call("subscribe", json!({"topics": ["lab.alarm"]}));
    let mut watcher_a = a.rpc();
    watcher_a.call("subscribe", json!({"topics": ["lab.alarm"]}));
    let mut rpc_a = a.rpc();
    rpc_a.call(
        "hello.announce",
        json!({"topic": "lab.alarm", "payload": {"level": 3}}),
    );
    let event = watcher_b.next_notification("event", WAIT);
    assert_eq!(
        event["params"],
        json!({"topic": "lab.alarm", "level": 3, "host": "pcA"})
    );
    let local = watcher_a.next_notification("event", WAIT);
    assert_eq!(local["params"], json!({"topic": "lab.alarm", "level": 3}));
    // B emitted the remote event locally but never published it: A sees no echo.
    let mut rpc_b = b.rpc();
    let status_b = mqtt_status(&mut rpc_b);
    assert_eq!(status_b["events_received"], json!(1), "{status_b}");
    assert_eq!(status_b["events_published"], json!(0), "{status_b}");
    // A later local event of B still goes out (the echo mark was used once).
    rpc_b.call(
        "hello.announce",
        json!({"topic": "lab.alarm", "payload": {"level": 4}}),
    );
    let from_b = watcher_a.next_notification("event", WAIT);
    assert_eq!(
        from_b["params"],
        json!({"topic": "lab.alarm", "level": 4, "host": "pcB"})
    );
    let status_a = mqtt_status(&mut rpc_a);
    assert_eq!(status_a["events_published"], json!(1), "{status_a}");
    assert_eq!(status_a["events_received"], json!(1), "{status_a}");
}
