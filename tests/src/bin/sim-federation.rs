//! `sim-federation`: a lab of many PCs on this one machine (issue 14, item 6). Simulated
//! hosts publish the labsocket topic scheme (SPEC §9) through one loopback Mosquitto to a
//! real labsocket host that takes everything in (`hosts = ["*"]`); the load is ramped up
//! until the broker or the real host saturates.
//!
//! `cargo run --release -p labsocket-e2e --bin sim-federation [-- --max-hosts N
//! --codenames N --hz N --step-secs N --batch-ms N --pt-ms N --no-history --nagle]`
//!
//! The real host runs the default configuration, so its history plugin records every
//! point it takes in; `--no-history` turns that off to see what the intake alone costs.
//! The simulated hosts set TCP_NODELAY as plugins/mqtt does; `--nagle` leaves rumqttc's
//! default (Nagle's algorithm on).
//!
//! Each simulated host is one rumqttc v5 client (all of them tasks of one two-thread tokio
//! runtime) doing what `plugins/mqtt` does: a retained `status` birth (republished every
//! keepalive) with a retained offline will, a retained `meta/<codename>` per codename,
//! and every `--batch-ms` (5) one QoS 1 `batch` with the points that came due since the
//! last one plus one retained QoS 0 `pt/<codename>` per changed codename (`--pt-ms N`: at
//! most one `pt` per codename every N ms instead, to see what that would save). Every
//! codename changes at `--hz`; x and the point time are the send time.
//!
//! Steps: 1, 2, 5, 10, 25, 50 hosts × `--codenames` (200) at `--hz` (10), then `--max-hosts` (50)
//! hosts at 2×, 4×, 8×, 16× the rate, each for `--step-secs` (8: 2 s to settle, the rest
//! measured), stopping after the first saturated step. Per step: the points offered and
//! sent, the messages, what the real host took in (`mqtt.status` `points_received`, which
//! counts `pt` and batch points) against what was sent, the CPU share of the broker, the
//! real host and this program (from `/proc/<pid>/stat`), and the latency from the send
//! time in x to a native `points` subscriber of the real host (over 1 s of each step). A
//! step is saturated when the real host took in less than 95% of what was sent, when the
//! latency p99 is above 100 ms, or when the simulated hosts could not send 95% of the
//! offered points.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labsocket_e2e::bench::mqtt::{cpu_share, federated_host};
use labsocket_e2e::bench::process::cpu_time;
use labsocket_e2e::bench::stats::percentile;
use labsocket_e2e::federation::wait_federating;
use labsocket_e2e::mosquitto::Mosquitto;
use labsocket_e2e::points::now;
use labsocket_e2e::Server;
use rumqttc::v5::mqttbytes::v5::{LastWill, LastWillProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, MqttOptions};
use serde_json::{json, Value};

const LAB: &str = "sim";
/// The simulated hosts' birth period (the plugin's `keepalive_secs` default).
const KEEPALIVE: Duration = Duration::from_secs(5);
/// How long each step settles before it is measured.
const SETTLE: Duration = Duration::from_secs(2);
/// How long each step's latency is sampled at the real host.
const LATENCY_WINDOW: Duration = Duration::from_secs(1);

struct Options {
    max_hosts: usize,
    codenames: usize,
    hz: f64,
    step_secs: f64,
    batch_ms: u64,
    pt_ms: u64,
    /// The real host records no history (`[history] enabled = false`).
    no_history: bool,
    /// The simulated hosts leave Nagle's algorithm on (plugins/mqtt turns it off).
    nagle: bool,
}

fn options() -> Options {
    let mut options = Options {
        max_hosts: 50,
        codenames: 200,
        hz: 10.0,
        step_secs: 8.0,
        batch_ms: 5,
        pt_ms: 0,
        no_history: false,
        nagle: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--no-history" {
            options.no_history = true;
            continue;
        }
        if arg == "--nagle" {
            options.nagle = true;
            continue;
        }
        let value: f64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{arg} takes a number"));
        match arg.as_str() {
            "--max-hosts" => options.max_hosts = value as usize,
            "--codenames" => options.codenames = value as usize,
            "--hz" => options.hz = value,
            "--step-secs" => options.step_secs = value,
            "--batch-ms" => options.batch_ms = value as u64,
            "--pt-ms" => options.pt_ms = value as u64,
            other => panic!(
                "unknown argument {other} (usage: sim-federation [--max-hosts N] [--codenames N] [--hz N] [--step-secs N] [--batch-ms N] [--pt-ms N] [--no-history] [--nagle])"
            ),
        }
    }
    assert!(
        options.max_hosts > 0 && options.codenames > 0 && options.hz > 0.0 && options.batch_ms > 0,
        "--max-hosts, --codenames, --hz and --batch-ms must be positive"
    );
    assert!(
        options.step_secs > (SETTLE + LATENCY_WINDOW).as_secs_f64(),
        "--step-secs must be above {:?}",
        SETTLE + LATENCY_WINDOW
    );
    options
}

/// What the main thread tells the simulated hosts, and what they count.
#[derive(Default)]
struct Control {
    /// Hosts `0..active` publish points; the others only their birth.
    active: AtomicUsize,
    /// Changes per codename per second, in thousandths.
    milli_hz: AtomicU64,
    stop: AtomicBool,
    points: AtomicU64,
    batches: AtomicU64,
    pts: AtomicU64,
}

fn topic(host: usize, rest: &str) -> String {
    format!("labsocket/v1/{LAB}/sim{host:02}/{rest}")
}

fn status_payload(online: bool, boot_id: &str) -> String {
    json!({
        "state": if online { "online" } else { "offline" },
        "boot_id": boot_id,
        "version": "sim",
        "time": now(),
    })
    .to_string()
}

/// One simulated host: connects, publishes its birth and metas, then a batch (and its
/// `pt`s) every `batch` while active, until `control.stop`.
async fn sim_host(
    host: usize,
    broker: SocketAddr,
    codenames: usize,
    batch: Duration,
    pt_every: Duration,
    nagle: bool,
    control: Arc<Control>,
) {
    let boot_id = format!("{:016x}", fastrand::u64(..));
    let mut options = MqttOptions::new(
        format!("labsocket-{LAB}-sim{host:02}-{boot_id}"),
        broker.ip().to_string(),
        broker.port(),
    );
    options.set_keep_alive(KEEPALIVE);
    options.set_max_packet_size(Some(16 * 1024 * 1024));
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(!nagle);
    options.set_network_options(network);
    options.set_last_will(LastWill::new(
        topic(host, "status"),
        status_payload(false, &boot_id),
        QoS::AtLeastOnce,
        true,
        None::<LastWillProperties>,
    ));
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    let polling = {
        let control = Arc::clone(&control);
        tokio::spawn(async move {
            while !control.stop.load(Ordering::Relaxed) {
                if eventloop.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        })
    };
    // An error only means the run is over (the event loop is gone).
    let send = |topic: String, qos: QoS, retain: bool, payload: String| {
        let client = client.clone();
        async move { client.publish(topic, qos, retain, payload).await.is_ok() }
    };
    let names: Vec<String> = (0..codenames).map(|j| format!("c{j:03}")).collect();
    let pt_topics: Vec<String> = names
        .iter()
        .map(|name| topic(host, &format!("pt/{name}")))
        .collect();
    for name in &names {
        let meta = json!({"timeout": null, "kind": null}).to_string();
        send(
            topic(host, &format!("meta/{name}")),
            QoS::AtMostOnce,
            true,
            meta,
        )
        .await;
    }
    let mut birth = Instant::now() - KEEPALIVE;
    let mut ticks = tokio::time::interval(batch);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_tick = Instant::now();
    let mut due = 0.0f64;
    let mut next = 0usize;
    let mut seq = 0u64;
    let mut last_pt = vec![Instant::now() - pt_every; codenames];
    let mut value = 0u64;
    while !control.stop.load(Ordering::Relaxed) {
        ticks.tick().await;
        if birth.elapsed() >= KEEPALIVE {
            birth = Instant::now();
            send(
                topic(host, "status"),
                QoS::AtMostOnce,
                true,
                status_payload(true, &boot_id),
            )
            .await;
        }
        let elapsed = last_tick.elapsed();
        last_tick = Instant::now();
        if host >= control.active.load(Ordering::Relaxed) {
            due = 0.0;
            continue;
        }
        let hz = control.milli_hz.load(Ordering::Relaxed) as f64 / 1e3;
        // Points that came due since the last batch: a late tick coalesces more of them,
        // as the plugin's publisher does.
        due += elapsed.as_secs_f64() * hz * codenames as f64;
        let count = due.floor() as usize;
        if count == 0 {
            continue;
        }
        due -= count as f64;
        let t = now();
        let mut points = String::with_capacity(count * 48);
        let mut changed = Vec::with_capacity(count.min(codenames));
        for i in 0..count {
            let j = next % codenames;
            next += 1;
            value += 1;
            if i > 0 {
                points.push(',');
            }
            points.push_str(&format!("[\"{}\",{t},{t},{value}]", names[j]));
            if i < codenames {
                changed.push((j, value));
            }
        }
        seq += 1;
        let batch = format!("{{\"seq\":{seq},\"replay\":false,\"points\":[{points}]}}");
        if !send(topic(host, "batch"), QoS::AtLeastOnce, false, batch).await {
            break;
        }
        control.batches.fetch_add(1, Ordering::Relaxed);
        control.points.fetch_add(count as u64, Ordering::Relaxed);
        for (j, y) in changed {
            if last_pt[j].elapsed() < pt_every {
                continue;
            }
            last_pt[j] = Instant::now();
            let payload = format!("{{\"x\":{t},\"y\":{y},\"time\":{t}}}");
            if !send(pt_topics[j].clone(), QoS::AtMostOnce, true, payload).await {
                break;
            }
            control.pts.fetch_add(1, Ordering::Relaxed);
        }
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), polling).await;
}

/// x of a native `points` event line for one codename (the send time), without a JSON
/// parse: the watcher must cost the machine as little as possible.
fn point_x(line: &str) -> Option<f64> {
    let rest =
        line.strip_prefix(r#"{"jsonrpc":"2.0","method":"event","params":{"topic":"points","#)?;
    let rest = &rest[rest.find("\":[")? + 3..];
    rest[..rest.find(',')?].parse().ok()
}

/// Latencies (send time in x → now) of the `points` events of the real host over
/// `window`, and the events its connection lost (`events_lost` notices).
fn sample_latency(native: SocketAddr, window: Duration) -> (Vec<f64>, u64) {
    let mut stream = TcpStream::connect(native).expect("connect to the real host");
    stream
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"topics\":[\"points\"]}}\n")
        .expect("subscribe");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut reader = BufReader::with_capacity(1 << 20, stream.try_clone().unwrap());
    let mut line = String::new();
    let mut latencies = Vec::new();
    let mut lost = 0;
    let mut until: Option<Instant> = None;
    let mut unsubscribed = false;
    loop {
        if until.is_some_and(|until| Instant::now() >= until) && !unsubscribed {
            stream
                .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"unsubscribe\",\"params\":{\"topics\":[\"points\"]}}\n")
                .expect("unsubscribe");
            unsubscribed = true;
        }
        match reader.read_line(&mut line) {
            Ok(0) => panic!("the real host closed the watcher's connection"),
            Ok(_) if line.ends_with('\n') => {}
            Ok(_) => continue,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(err) => panic!("the watcher's connection failed: {err}"),
        }
        if line.starts_with(r#"{"jsonrpc":"2.0","id":1,"#) {
            until = Some(Instant::now() + window);
        } else if line.starts_with(r#"{"jsonrpc":"2.0","id":2,"#) {
            return (latencies, lost);
        } else if let Some(x) = point_x(&line) {
            if !unsubscribed {
                latencies.push(now() - x);
            }
        } else if line.contains(r#""topic":"events_lost""#) {
            let message: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            lost += message["params"]["count"].as_u64().unwrap_or(1);
        }
        line.clear();
    }
}

/// One measured step.
struct Step {
    hosts: usize,
    hz: f64,
    offered: f64,
    sent: f64,
    batches: f64,
    pts: f64,
    taken_in: f64,
    broker_cpu: f64,
    host_cpu: f64,
    sim_cpu: f64,
    p50_ms: f64,
    p99_ms: f64,
    samples: usize,
    watcher_lost: u64,
}

impl Step {
    /// Why the step counts as saturated, if it does.
    fn saturated(&self) -> Option<String> {
        let expected = self.sent + self.pts;
        if self.sent < 0.95 * self.offered {
            Some(format!(
                "the simulated hosts sent {:.0}% of the offered points",
                100.0 * self.sent / self.offered
            ))
        } else if self.taken_in < 0.95 * expected {
            Some(format!(
                "the real host took in {:.0}% of what was sent",
                100.0 * self.taken_in / expected
            ))
        } else if self.samples == 0 {
            Some("no point reached the real host's subscriber".to_owned())
        } else if self.p99_ms > 100.0 {
            Some(format!("latency p99 {:.0} ms > 100 ms", self.p99_ms))
        } else {
            None
        }
    }
}

fn points_received(server: &Server) -> u64 {
    server.rpc().call("mqtt.status", json!({}))["points_received"]
        .as_u64()
        .unwrap_or(0)
}

fn measure(
    control: &Control,
    real: &Server,
    broker_pid: u32,
    hosts: usize,
    hz: f64,
    codenames: usize,
    step: Duration,
) -> Step {
    control.milli_hz.store((hz * 1e3) as u64, Ordering::SeqCst);
    control.active.store(hosts, Ordering::SeqCst);
    // The step's timing is the experiment (the load runs through it), not a wait.
    std::thread::sleep(SETTLE);
    let cpu = |pid: u32| cpu_time(pid).unwrap_or_default();
    let me = std::process::id();
    let started = Instant::now();
    let (broker0, host0, sim0) = (cpu(broker_pid), cpu(real.pid()), cpu(me));
    let (points0, batches0, pts0) = (
        control.points.load(Ordering::SeqCst),
        control.batches.load(Ordering::SeqCst),
        control.pts.load(Ordering::SeqCst),
    );
    let taken0 = points_received(real);
    let (mut latencies, watcher_lost) = sample_latency(real.native(), LATENCY_WINDOW);
    let rest = step.saturating_sub(SETTLE + started.elapsed());
    std::thread::sleep(rest);
    let wall = started.elapsed();
    let per_sec = |n: u64| n as f64 / wall.as_secs_f64();
    let taken = per_sec(points_received(real) - taken0);
    latencies.sort_by(f64::total_cmp);
    let (p50_ms, p99_ms) = if latencies.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (
            percentile(&latencies, 0.50) * 1e3,
            percentile(&latencies, 0.99) * 1e3,
        )
    };
    Step {
        hosts,
        hz,
        offered: hosts as f64 * codenames as f64 * hz,
        sent: per_sec(control.points.load(Ordering::SeqCst) - points0),
        batches: per_sec(control.batches.load(Ordering::SeqCst) - batches0),
        pts: per_sec(control.pts.load(Ordering::SeqCst) - pts0),
        taken_in: taken,
        broker_cpu: cpu_share(broker0, cpu(broker_pid), wall),
        host_cpu: cpu_share(host0, cpu(real.pid()), wall),
        sim_cpu: cpu_share(sim0, cpu(me), wall),
        p50_ms,
        p99_ms,
        samples: latencies.len(),
        watcher_lost,
    }
}

fn main() {
    let options = options();
    let started = Instant::now();
    let broker = Mosquitto::start();
    let broker_pid = broker.pid().expect("the broker runs");
    let history = if options.no_history {
        "\n[history]\nenabled = false\n"
    } else {
        ""
    };
    let real = federated_host(
        &broker.url(),
        LAB,
        "real",
        &format!("hosts = [\"*\"]\n{history}"),
    );
    wait_federating(&real);
    println!(
        "sim-federation: {} build; {} simulated hosts × {} codenames, a batch every {} ms, pt {}, Nagle {}; the real host records history: {}; {} CPUs, load average {}",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        options.max_hosts,
        options.codenames,
        options.batch_ms,
        if options.pt_ms == 0 {
            "on every change (as plugins/mqtt)".to_owned()
        } else {
            format!("at most every {} ms per codename", options.pt_ms)
        },
        if options.nagle { "on" } else { "off" },
        !options.no_history,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let control = Arc::new(Control::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let hosts: Vec<_> = (0..options.max_hosts)
        .map(|host| {
            runtime.spawn(sim_host(
                host,
                broker.address(),
                options.codenames,
                Duration::from_millis(options.batch_ms),
                Duration::from_millis(options.pt_ms),
                options.nagle,
                Arc::clone(&control),
            ))
        })
        .collect();
    // Every simulated host is known to the real host (its birth arrived) before the load.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = real.rpc().call("mqtt.status", json!({}));
        let online = status["remote_hosts"].as_object().map_or(0, |hosts| {
            hosts.values().filter(|h| h["online"] == true).count()
        });
        if online == options.max_hosts {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {online} of {} simulated hosts came online at the real host",
            options.max_hosts
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut steps: Vec<(usize, f64)> = [1, 2, 5, 10, 25, 50]
        .into_iter()
        .filter(|&hosts| hosts < options.max_hosts)
        .map(|hosts| (hosts, options.hz))
        .collect();
    for factor in [1.0, 2.0, 4.0, 8.0, 16.0] {
        steps.push((options.max_hosts, options.hz * factor));
    }
    println!();
    println!(
        "{:>5} {:>6} {:>10} {:>10} {:>9} {:>9} {:>16} {:>7} {:>7} {:>7} {:>11} {:>10} {:>9} {:>9}  saturated?",
        "hosts",
        "Hz",
        "offered/s",
        "sent/s",
        "batch/s",
        "pt/s",
        "taken in/s",
        "broker",
        "host",
        "sim",
        "broker/msg",
        "host/pt",
        "p50 ms",
        "p99 ms"
    );
    let mut saturation = None;
    for (hosts, hz) in steps {
        let step = measure(
            &control,
            &real,
            broker_pid,
            hosts,
            hz,
            options.codenames,
            Duration::from_secs_f64(options.step_secs),
        );
        let why = step.saturated();
        println!(
            "{:>5} {:>6.0} {:>10.0} {:>10.0} {:>9.0} {:>9.0} {:>9.0} ({:>3.0}%) {:>6.0}% {:>6.0}% {:>6.0}% {:>8.1} µs {:>7.1} µs {:>9.1} {:>9.1}  {}{}",
            step.hosts,
            step.hz,
            step.offered,
            step.sent,
            step.batches,
            step.pts,
            step.taken_in,
            100.0 * step.taken_in / (step.sent + step.pts),
            100.0 * step.broker_cpu,
            100.0 * step.host_cpu,
            100.0 * step.sim_cpu,
            1e6 * step.broker_cpu / (step.batches + step.pts),
            1e6 * step.host_cpu / step.taken_in,
            step.p50_ms,
            step.p99_ms,
            why.as_deref().unwrap_or("no"),
            if step.watcher_lost > 0 {
                format!(" (the latency watcher lost {} events)", step.watcher_lost)
            } else {
                String::new()
            }
        );
        let _ = std::io::stdout().flush();
        if let Some(why) = why {
            saturation = Some((step.hosts, step.hz, why));
            break;
        }
    }
    control.stop.store(true, Ordering::SeqCst);
    runtime.block_on(async {
        for host in hosts {
            let _ = tokio::time::timeout(Duration::from_secs(2), host).await;
        }
    });
    println!();
    match saturation {
        Some((hosts, hz, why)) => println!(
            "saturated at {hosts} hosts × {} codenames × {hz} Hz = {:.0} points/s offered: {why}",
            options.codenames,
            hosts as f64 * options.codenames as f64 * hz
        ),
        None => println!("not saturated at the highest step"),
    }
    println!(
        "(taken in = the real host's mqtt.status points_received per second, pt and batch points; its % is of sent + pt/s; CPU = share of one core over the step; broker/msg = broker CPU per message published (batch + pt); host/pt = the real host's CPU per point taken in; {:.0} s in all)",
        started.elapsed().as_secs_f64()
    );
}
