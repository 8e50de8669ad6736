//! `bench-federation`: two real labsocket hosts A and B federated through a loopback
//! Mosquitto (SPEC §9), each number beside its peer from the same run (issue 14's table).
//!
//! `cargo run --release -p labsocket-e2e --bin bench-federation [-- --samples N --secs N
//! --codenames N --connections N --outage-secs N --write-hz N]`
//!
//! 1. Latency: `set_point` on A (one at a time) until a native subscriber of B's `points`
//!    sees `A/lat` with that value; p50/p99 over `--samples` (default 2,000). Peer: the
//!    broker's own round trip, a raw MQTT 5 client (rumqttc) publishing at QoS 1 a payload
//!    of the shape and size of A's one-point `batch` to a subscriber on the same broker.
//! 2. Sustained: `--connections` (4) pipelined native connections set points on A over
//!    `--codenames` (100) for `--secs` (5); y is a per-codename counter, and the rate is the
//!    points that reached B (its `mqtt.status` `points_received`: batch points) divided
//!    by the time until B holds every codename's last value (`get_point` on B) and took
//!    in every point, or until the wait gives up (10 × `--secs`, at least 60 s). Peer: one MQTT message per point from a raw client to a raw
//!    subscriber for the same time, at QoS 1 (the guarantee of `batch`) and at QoS 0
//!    (what `mosquitto_pub` sends by default), counted at the subscriber.
//! 3. Convergence (run second, before B has a backlog): one connection sets points on A at `--write-hz` (2,000/s over 20
//!    codenames, y a per-codename counter, each reply counted as acknowledged); after 1 s
//!    the broker is killed (SIGKILL), restarted on the same port after `--outage-secs`
//!    (2), and writes go on for 1 s more. Measured: the time from the restart until B holds
//!    every codename's last acknowledged value and a native subscriber of B has seen every
//!    acknowledged value (the outbox replay has arrived); acknowledged values never seen
//!    on B are lost.
//!
//! A debug build of this program starts the debug `labsocket` (a quick check of the
//! benchmark itself on small settings); the release build starts the release one.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use labsocket_e2e::bench::mqtt::{federated_host, RawClient};
use labsocket_e2e::bench::stats::percentile;
use labsocket_e2e::federation::wait_federating;
use labsocket_e2e::mosquitto::Mosquitto;
use labsocket_e2e::points::now;
use labsocket_e2e::{RpcClient, Server, WAIT};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::{json, Value};

const LAB: &str = "bench";
/// Latency samples thrown away first (connections and caches warm up).
const WARMUP: usize = 50;
/// `set_point`s written at once per connection in the sustained row; two such chunks are
/// in flight at most, so neither side's socket buffers fill while the other waits.
const CHUNK: usize = 500;
/// Codenames written during the broker restart.
const RESTART_CODENAMES: usize = 20;

struct Options {
    samples: usize,
    secs: f64,
    codenames: usize,
    connections: usize,
    outage_secs: f64,
    write_hz: f64,
}

fn options() -> Options {
    let mut options = Options {
        samples: 2000,
        secs: 5.0,
        codenames: 100,
        connections: 4,
        outage_secs: 2.0,
        write_hz: 2000.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value: f64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{arg} takes a number"));
        match arg.as_str() {
            "--samples" => options.samples = value as usize,
            "--secs" => options.secs = value,
            "--codenames" => options.codenames = value as usize,
            "--connections" => options.connections = value as usize,
            "--outage-secs" => options.outage_secs = value,
            "--write-hz" => options.write_hz = value,
            other => panic!(
                "unknown argument {other} (usage: bench-federation [--samples N] [--secs N] [--codenames N] [--connections N] [--outage-secs N] [--write-hz N])"
            ),
        }
    }
    assert!(
        options.samples > 0 && options.codenames > 0 && options.connections > 0,
        "--samples, --codenames and --connections must be at least 1"
    );
    options
}

fn mqtt_status(server: &Server) -> Value {
    server.rpc().call("mqtt.status", json!({}))
}

fn counter(status: &Value, key: &str) -> u64 {
    status[key].as_u64().unwrap_or(0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// p50 and p99 of `samples`.
fn p50_p99(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

/// `set_point` on A until B's `points` subscriber sees the value, `samples` times.
fn latency_federation(a: &Server, b: &Server, samples: usize) -> Vec<Duration> {
    let mut watcher = b.rpc();
    watcher.call("subscribe", json!({"topics": ["points"]}));
    let mut rpc = a.rpc();
    let mut out = Vec::with_capacity(samples);
    for i in 0..WARMUP + samples {
        let started = Instant::now();
        rpc.call("set_point", json!(["lat", now(), i]));
        // B sees each value twice (the retained `pt` and the `batch`): the first counts,
        // the late copy of an earlier value is skipped.
        loop {
            let event = watcher.next_notification("event", WAIT);
            if event["params"]["A/lat"][1] == json!(i) {
                break;
            }
        }
        if i >= WARMUP {
            out.push(started.elapsed());
        }
    }
    out
}

/// A one-point `batch` payload of A, as the plugin writes it.
fn batch_payload(seq: usize) -> Vec<u8> {
    let x = now();
    format!("{{\"seq\":{seq},\"replay\":false,\"points\":[[\"lat\",{x},{x},{seq}]]}}").into_bytes()
}

/// The broker's round trip: a raw publish at QoS 1 until a raw subscriber has it.
fn latency_broker(broker: SocketAddr, samples: usize) -> Vec<Duration> {
    let subscriber = RawClient::connect(broker, "bench-rtt-sub");
    subscriber.subscribe("bench/rtt", QoS::AtLeastOnce);
    let publisher = RawClient::connect(broker, "bench-rtt-pub");
    let mut out = Vec::with_capacity(samples);
    for i in 0..WARMUP + samples {
        let payload = batch_payload(i);
        let started = Instant::now();
        publisher
            .client
            .publish("bench/rtt", QoS::AtLeastOnce, false, payload.clone())
            .expect("publish");
        loop {
            let message = subscriber
                .messages
                .recv_timeout(WAIT)
                .expect("the broker delivers the message");
            if message.payload == payload {
                if i >= WARMUP {
                    out.push(message.at.duration_since(started));
                }
                break;
            }
        }
    }
    out
}

/// Result of the sustained A → B row.
struct Sustained {
    sent: u64,
    send: Duration,
    /// Until B held every codename's last value (or the wait gave up).
    delivered: Duration,
    /// Codenames whose last value B did not hold when the wait gave up.
    behind: usize,
    /// Whether B took in as many points as A sent (batch points + `pt`).
    all_in: bool,
    /// `points` events A's plugin never saw (host bus, `mqtt.status` `events_lost`).
    a_lost: u64,
    batches: u64,
    pt_published: u64,
    b_received: u64,
}

fn sustained_codename(j: usize) -> String {
    format!("s{j:04}")
}

/// Pipelines `set_point`s on the codenames `j % connections == c` until `deadline`;
/// returns each one's last y (a counter from 1).
fn pipeline(
    native: SocketAddr,
    c: usize,
    connections: usize,
    codenames: usize,
    deadline: Instant,
) -> Vec<(usize, u64)> {
    let mine: Vec<usize> = (c..codenames).step_by(connections).collect();
    let mut last = vec![0u64; mine.len()];
    let mut stream = TcpStream::connect(native).expect("connect to A");
    stream.set_nodelay(true).unwrap();
    let mut replies = BufReader::new(stream.try_clone().unwrap());
    replies.get_mut().set_read_timeout(Some(WAIT)).unwrap();
    let mut line = String::new();
    let mut pending = 0;
    let mut id = 0u64;
    let mut next = 0;
    while Instant::now() < deadline {
        let x = now();
        let mut chunk = String::with_capacity(CHUNK * 96);
        for _ in 0..CHUNK {
            let k = next % mine.len();
            next += 1;
            last[k] += 1;
            id += 1;
            chunk.push_str(&format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"set_point\",\"params\":[\"{}\",{x},{}]}}\n",
                sustained_codename(mine[k]),
                last[k]
            ));
        }
        stream.write_all(chunk.as_bytes()).expect("send to A");
        read_replies(&mut replies, &mut line, pending);
        pending = CHUNK;
    }
    read_replies(&mut replies, &mut line, pending);
    mine.into_iter().zip(last).collect()
}

fn read_replies(replies: &mut BufReader<TcpStream>, line: &mut String, n: usize) {
    for _ in 0..n {
        line.clear();
        let read = replies.read_line(line).expect("a reply from A");
        assert!(read > 0, "A closed the connection");
        assert!(line.contains("\"result\""), "set_point failed: {line}");
    }
}

/// Codenames (of `last`) whose value on B is not yet `A/<codename>` = the last one set.
fn behind_on_b(rpc: &mut RpcClient, last: &[(String, u64)]) -> Vec<(String, u64)> {
    last.iter()
        .filter(|(codename, y)| {
            let reply = rpc.request("get_point", json!([format!("A/{codename}")]));
            reply["result"]["y"] != json!(y)
        })
        .cloned()
        .collect()
}

fn sustained_federation(a: &Server, b: &Server, options: &Options) -> Sustained {
    let (a0, b0) = (mqtt_status(a), mqtt_status(b));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(options.secs);
    let native = a.native();
    let mut last: Vec<(String, u64)> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..options.connections)
            .map(|c| {
                scope.spawn(move || {
                    pipeline(native, c, options.connections, options.codenames, deadline)
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|writer| writer.join().expect("writer"))
            .map(|(j, y)| (sustained_codename(j), y))
            .collect()
    });
    let send = started.elapsed();
    let sent = last.iter().map(|(_, y)| y).sum();
    // Done when B holds every codename's last value and took in every batch point (B takes
    // a live `pt` in only from a host that sends no batches, so `points_received` counts
    // the batch points here).
    let delta = |after: &Value, before: &Value, key| counter(after, key) - counter(before, key);
    let mut rpc = b.rpc();
    let give_up = Instant::now() + Duration::from_secs_f64((10.0 * options.secs).max(60.0));
    loop {
        if !last.is_empty() {
            last = behind_on_b(&mut rpc, &last);
        }
        let all_in = delta(&mqtt_status(b), &b0, "points_received") >= sent;
        if (last.is_empty() && all_in) || Instant::now() > give_up {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let delivered = started.elapsed();
    let (a1, b1) = (mqtt_status(a), mqtt_status(b));
    Sustained {
        sent,
        send,
        delivered,
        behind: last.len(),
        all_in: delta(&b1, &b0, "points_received") >= sent,
        a_lost: delta(&a1, &a0, "events_lost"),
        batches: delta(&a1, &a0, "batches_sent"),
        pt_published: delta(&a1, &a0, "points_published"),
        b_received: delta(&b1, &b0, "points_received"),
    }
}

/// One raw MQTT message per point for `secs`, to a raw subscriber: (sent, received,
/// received per second from the first publish to the last receipt).
fn sustained_raw(broker: SocketAddr, secs: f64, codenames: usize, qos: QoS) -> (u64, u64, f64) {
    let level = qos as u8;
    let subscriber = RawClient::connect(broker, &format!("bench-raw-sub-{level}"));
    subscriber.subscribe(&format!("bench/raw{level}/+"), qos);
    let publisher = RawClient::connect(broker, &format!("bench-raw-pub-{level}"));
    let topics: Vec<String> = (0..codenames)
        .map(|j| format!("bench/raw{level}/{}", sustained_codename(j)))
        .collect();
    let sent_total = Arc::new(AtomicU64::new(u64::MAX));
    let counting = {
        let sent_total = Arc::clone(&sent_total);
        std::thread::spawn(move || {
            let mut received = 0u64;
            let mut last_at = None;
            loop {
                match subscriber.messages.recv_timeout(Duration::from_millis(200)) {
                    Ok(message) => {
                        received += 1;
                        last_at = Some(message.at);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                let sent = sent_total.load(Ordering::SeqCst);
                let quiet =
                    last_at.is_some_and(|at: Instant| at.elapsed() > Duration::from_secs(3));
                if received >= sent || (sent != u64::MAX && quiet) {
                    break;
                }
            }
            (received, last_at)
        })
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        for _ in 0..256 {
            let j = sent as usize % codenames;
            let x = now();
            let payload = format!("{{\"x\":{x},\"y\":{sent},\"time\":{x}}}");
            publisher
                .client
                .publish(topics[j].as_str(), qos, false, payload)
                .expect("publish");
            sent += 1;
        }
    }
    sent_total.store(sent, Ordering::SeqCst);
    let (received, last_at) = counting.join().expect("counting thread");
    let span = last_at.map_or(Duration::MAX, |at| at.duration_since(started));
    (sent, received, received as f64 / span.as_secs_f64())
}

/// Result of the broker-restart row.
struct Convergence {
    acked: u64,
    acked_in_outage: u64,
    /// From the restart until B converged; `None` if it did not within the wait.
    converged: Option<Duration>,
    after_last_write: Option<Duration>,
    lost: u64,
    /// Events where B's value of a codename went back to an older one (the replay).
    regressions: u64,
    /// `events_lost` notices the watcher of B got (its own view is then incomplete).
    watcher_lost: u64,
    outbox_dropped: u64,
}

/// B's `points` events for `A/c..` codenames, as (codename index, y), until the receiver
/// is gone or B closes; `ready` once subscribed. Reads with a short timeout and keeps
/// waiting, so a quiet spell (the broker down) is not an error.
fn watch_points(
    native: SocketAddr,
    ready: mpsc::Sender<()>,
    out: mpsc::Sender<(usize, u64)>,
    lost: Arc<AtomicU64>,
) {
    let mut stream = TcpStream::connect(native).expect("the watcher connects to B");
    stream
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"topics\":[\"points\"]}}\n")
        .expect("subscribe");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) if line.ends_with('\n') => {}
            // A timeout may leave part of a line read: the rest comes with the next read.
            Ok(_) => continue,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(err) => panic!("the watcher's connection to B failed: {err}"),
        }
        let message: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        line.clear();
        if message["id"] == json!(1) {
            assert!(
                message.get("result").is_some(),
                "subscribe failed: {message}"
            );
            let _ = ready.send(());
            continue;
        }
        let Some(params) = message["params"].as_object() else {
            continue;
        };
        if params.get("topic") == Some(&json!("events_lost")) {
            lost.fetch_add(params["count"].as_u64().unwrap_or(1), Ordering::SeqCst);
            continue;
        }
        for (codename, point) in params {
            let Some(index) = codename
                .strip_prefix("A/c")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            if let Some(y) = point[1].as_u64() {
                if out.send((index, y)).is_err() {
                    return;
                }
            }
        }
    }
}

fn convergence(broker: &mut Mosquitto, a: &Server, b: &Server, options: &Options) -> Convergence {
    let watcher_lost = Arc::new(AtomicU64::new(0));
    let (seen_tx, seen_rx) = mpsc::channel();
    let (ready_tx, ready) = mpsc::channel();
    {
        let native = b.native();
        let lost = Arc::clone(&watcher_lost);
        std::thread::spawn(move || watch_points(native, ready_tx, seen_tx, lost));
    }
    ready
        .recv_timeout(WAIT)
        .expect("B's watcher subscribes before the first write");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let writer = {
        let (native, stop, acked) = (a.native(), Arc::clone(&stop), Arc::clone(&acked));
        let period = Duration::from_secs_f64(1.0 / options.write_hz);
        std::thread::spawn(move || {
            let mut rpc = RpcClient::connect(native);
            let mut last = [0u64; RESTART_CODENAMES];
            let mut next = Instant::now();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let j = i % RESTART_CODENAMES;
                i += 1;
                last[j] += 1;
                rpc.call("set_point", json!([format!("c{j:02}"), now(), last[j]]));
                acked.fetch_add(1, Ordering::SeqCst);
                next += period;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            last
        })
    };
    let mut seen: Vec<HashSet<u64>> = vec![HashSet::new(); RESTART_CODENAMES];
    let mut highest = [0u64; RESTART_CODENAMES];
    let mut regressions = 0;
    let mut take = |(j, y): (usize, u64), seen: &mut Vec<HashSet<u64>>| {
        if j < RESTART_CODENAMES {
            if y < highest[j] {
                regressions += 1;
            }
            highest[j] = highest[j].max(y);
            seen[j].insert(y);
        }
    };
    // The scenario's phases are timed (writes go on through them), not waited for.
    std::thread::sleep(Duration::from_secs(1));
    let before_outage = acked.load(Ordering::SeqCst);
    broker.kill();
    std::thread::sleep(Duration::from_secs_f64(options.outage_secs));
    let acked_in_outage = acked.load(Ordering::SeqCst) - before_outage;
    broker.restart();
    let restarted = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    let last = writer.join().expect("writer");
    let last_write = Instant::now();
    let complete = |seen: &Vec<HashSet<u64>>| {
        (0..RESTART_CODENAMES).all(|j| (1..=last[j]).all(|y| seen[j].contains(&y)))
    };
    let mut rpc = b.rpc();
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut converged = None;
    while Instant::now() < give_up {
        match seen_rx.recv_timeout(Duration::from_millis(5)) {
            Ok(point) => {
                take(point, &mut seen);
                while let Ok(point) = seen_rx.try_recv() {
                    take(point, &mut seen);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if complete(&seen) {
            let finals: Vec<(String, u64)> = (0..RESTART_CODENAMES)
                .map(|j| (format!("c{j:02}"), last[j]))
                .collect();
            if behind_on_b(&mut rpc, &finals).is_empty() {
                converged = Some(restarted.elapsed());
                break;
            }
        }
    }
    let lost = (0..RESTART_CODENAMES)
        .map(|j| (1..=last[j]).filter(|y| !seen[j].contains(y)).count() as u64)
        .sum();
    Convergence {
        acked: acked.load(Ordering::SeqCst),
        acked_in_outage,
        converged,
        after_last_write: converged.map(|_| last_write.elapsed()),
        lost,
        regressions,
        watcher_lost: watcher_lost.load(Ordering::SeqCst),
        outbox_dropped: counter(&mqtt_status(a), "outbox_dropped"),
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn main() {
    let options = options();
    let mut broker = Mosquitto::start();
    let url = broker.url();
    let a = federated_host(&url, LAB, "A", "");
    let b = federated_host(&url, LAB, "B", "");
    wait_federating(&a);
    wait_federating(&b);
    println!(
        "bench-federation: {} build, Mosquitto {} on 127.0.0.1:{}, {} CPUs, load average {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        mosquitto_version(),
        broker.address().port(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let (fed_p50, fed_p99) = p50_p99(latency_federation(&a, &b, options.samples));
    let (rtt_p50, rtt_p99) = p50_p99(latency_broker(broker.address(), options.samples));
    println!(
        "latency: {} samples each; set_point→B p50 {:.3} ms p99 {:.3} ms; broker QoS 1 p50 {:.3} ms p99 {:.3} ms",
        options.samples,
        ms(fed_p50),
        ms(fed_p99),
        ms(rtt_p50),
        ms(rtt_p99)
    );

    // The restart runs before the sustained row, whose backlog on B (B takes in more
    // slowly than A sends) would otherwise still be draining during it.
    let restart = convergence(&mut broker, &a, &b, &options);
    println!(
        "broker restart: {} points acknowledged ({} while the broker was down); {} regressions of B's value during the replay; watcher events_lost {}; A outbox_dropped {}",
        restart.acked,
        restart.acked_in_outage,
        restart.regressions,
        restart.watcher_lost,
        restart.outbox_dropped
    );

    let sustained = sustained_federation(&a, &b, &options);
    // The points of A's that reached B: all of them when B converged, else the batch
    // points B took in before the wait gave up (its count less A's `pt`s).
    let reached = sustained
        .b_received
        .saturating_sub(sustained.pt_published)
        .min(sustained.sent);
    let fed_rate = reached as f64 / sustained.delivered.as_secs_f64();
    println!(
        "sustained: {} points set on A in {:.2} s ({:.0}/s acknowledged), B held every last value and took in every point after {:.2} s{}; A sent {} batches and {} retained pt, B took in {} points (pt + batch), A's plugin lost {} points events",
        sustained.sent,
        sustained.send.as_secs_f64(),
        sustained.sent as f64 / sustained.send.as_secs_f64(),
        sustained.delivered.as_secs_f64(),
        if sustained.behind > 0 || !sustained.all_in {
            format!(
                " (NOT: the wait gave up with {} codenames behind)",
                sustained.behind
            )
        } else {
            String::new()
        },
        sustained.batches,
        sustained.pt_published,
        sustained.b_received,
        sustained.a_lost
    );
    let (q1_sent, q1_received, q1_rate) = sustained_raw(
        broker.address(),
        options.secs,
        options.codenames,
        QoS::AtLeastOnce,
    );
    let (q0_sent, q0_received, q0_rate) = sustained_raw(
        broker.address(),
        options.secs,
        options.codenames,
        QoS::AtMostOnce,
    );
    println!(
        "raw one message per point: QoS 1 {q1_received} of {q1_sent} received ({q1_rate:.0}/s); QoS 0 {q0_received} of {q0_sent} received ({q0_rate:.0}/s)"
    );

    println!();
    println!(
        "{:<50} {:>14} {:>40} {:>8}   goal",
        "what", "labsocket", "peer (same run)", "ratio"
    );
    let latency_row = |label: &str, ours: Duration, peer: Duration, goal_ms: f64| {
        println!(
            "{:<50} {:>11.3} ms {:>37.3} ms {:>7.1}x   <= {goal_ms} ms: {}",
            label,
            ms(ours),
            ms(peer),
            ours.as_secs_f64() / peer.as_secs_f64(),
            met(ms(ours) <= goal_ms)
        );
    };
    latency_row(
        "set_point on A -> B's subscriber, p50 (vs broker)",
        fed_p50,
        rtt_p50,
        2.0,
    );
    latency_row(
        "set_point on A -> B's subscriber, p99 (vs broker)",
        fed_p99,
        rtt_p99,
        10.0,
    );
    let complete = sustained.behind == 0 && sustained.all_in;
    for (label, peer, peer_sent, peer_received) in [
        (
            "raw QoS 1, one message per point",
            q1_rate,
            q1_sent,
            q1_received,
        ),
        (
            "raw QoS 0, one message per point",
            q0_rate,
            q0_sent,
            q0_received,
        ),
    ] {
        println!(
            "{:<50} {:>12.0}/s {:>38.0}/s {:>7.2}x   >= 100,000/s and >= 1.0x: {}",
            format!("sustained A -> B vs {label}"),
            fed_rate,
            peer,
            fed_rate / peer,
            met(complete && fed_rate >= 100_000.0 && fed_rate >= peer)
        );
        if peer_received < peer_sent {
            println!(
                "{:<50} (the raw subscriber got {peer_received} of {peer_sent})",
                ""
            );
        }
    }
    match restart.converged {
        Some(took) => println!(
            "{:<50} {:>12.2} s {:>40} {:>8}   <= 5 s: {} ({:.2} s after the last write)",
            "convergence after a broker restart",
            took.as_secs_f64(),
            "-",
            "-",
            met(took <= Duration::from_secs(5)),
            restart.after_last_write.unwrap_or_default().as_secs_f64()
        ),
        None => println!(
            "{:<50} {:>14} {:>40} {:>8}   <= 5 s: NOT met",
            "convergence after a broker restart", "> 60 s", "-", "-"
        ),
    }
    println!(
        "{:<50} {:>14} {:>40} {:>8}   0: {}",
        format!("acknowledged points lost (of {})", restart.acked),
        restart.lost,
        "-",
        "-",
        met(restart.lost == 0 && restart.watcher_lost == 0)
    );
    let _ = std::io::stdout().flush();
}

/// `mosquitto -h`'s version line, e.g. `2.0.11`.
fn mosquitto_version() -> String {
    let output = std::process::Command::new(labsocket_e2e::mosquitto::mosquitto_binary())
        .arg("-h")
        .output();
    output
        .ok()
        .and_then(|output| {
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.split_whitespace()
                .skip_while(|word| *word != "version")
                .nth(1)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "(version unknown)".to_owned())
}
