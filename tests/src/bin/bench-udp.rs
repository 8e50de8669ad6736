//! `bench-udp`: `<codename>#json` request rate and latency of a labsocket pull socket
//! against a Python `socketserver.UDPServer` pull server (PyExpLabSys' architecture,
//! `tests/python/pull_server.py`), measured side by side in one run.
//!
//! `cargo run --release -p labsocket-e2e --bin bench-udp [-- --secs N]`
//!
//! For each server and each of 1 and 16 requests in flight (1: a blocking client thread;
//! 16: sixteen UDP sockets with one request outstanding each, multiplexed by one client
//! thread), it sends the same request for N seconds (default 3) and prints requests/s and
//! p50/p99 round-trip latency, then the ratios. Everything runs on 127.0.0.1 and stops by
//! itself.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labsocket_e2e::build::workspace_root;
use labsocket_e2e::{labsocket_release_bin, RpcClient, TempDir};
use serde_json::json;

const CODENAME: &str = "temperature";
const VALUE: f64 = 21.5;
const IN_FLIGHT: [usize; 2] = [1, 16];

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads stdout lines of `child` until `until` returns a value.
fn read_until<T>(child: &mut Child, mut until: impl FnMut(&str) -> Option<T>) -> T {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("the server exited before it was ready")
            .expect("stdout is readable");
        if let Some(found) = until(&line) {
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return found;
        }
    }
}

fn start_labsocket(dir: &TempDir) -> (Process, SocketAddr) {
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"data\"\n[[pull_socket]]\nname = \"bench\"\nport = 0\n\
             codenames = [\"{CODENAME}\"]\ntimeout = 3600.0\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(labsocket_release_bin())
        .args(["serve", "--native-port", "0", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("labsocket starts");
    let mut native = None;
    let mut pull = None;
    read_until(&mut child, |line| {
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("listening"), Some("native"), Some(address)) => native = address.parse().ok(),
            (Some("listening"), Some("pull.0"), Some(address)) => pull = address.parse().ok(),
            (Some("ready"), None, None) => return Some(()),
            _ => {}
        }
        None
    });
    let native: SocketAddr = native.expect("native front end");
    RpcClient::connect(native).call("set_point_now", json!([CODENAME, VALUE]));
    (Process(child), pull.expect("pull socket"))
}

fn start_python() -> (Process, SocketAddr) {
    let script = workspace_root().join("tests/python/pull_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args([CODENAME, &VALUE.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let port: u16 = read_until(&mut child, |line| {
        line.strip_prefix("listening ")
            .and_then(|port| port.parse().ok())
    });
    (Process(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

struct Measurement {
    requests_per_sec: f64,
    p50: Duration,
    p99: Duration,
    lost: usize,
}

fn measure(server: SocketAddr, in_flight: usize, duration: Duration) -> Measurement {
    let (mut latencies, lost, elapsed) = if in_flight == 1 {
        measure_blocking(server, duration)
    } else {
        measure_multiplexed(server, in_flight, duration)
    };
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Measurement {
        requests_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(0.50),
        p99: percentile(0.99),
        lost,
    }
}

fn check_reply(reply: &[u8]) {
    assert!(
        reply.starts_with(b"[") && reply.ends_with(b", 21.5]"),
        "unexpected reply {:?}",
        String::from_utf8_lossy(reply)
    );
}

/// One request at a time from a blocking thread: the kernel wakes it the moment the
/// reply lands, so the latency is the server's plus the loopback's, nothing else.
fn measure_blocking(server: SocketAddr, duration: Duration) -> (Vec<Duration>, usize, Duration) {
    let request = format!("{CODENAME}#json");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(server).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buffer = [0u8; 2048];
    let mut latencies = Vec::with_capacity(1 << 20);
    let mut lost = 0;
    let started = Instant::now();
    while started.elapsed() < duration {
        let sent = Instant::now();
        socket.send(request.as_bytes()).unwrap();
        match socket.recv(&mut buffer) {
            Ok(length) => {
                latencies.push(sent.elapsed());
                check_reply(&buffer[..length]);
            }
            Err(_) => lost += 1,
        }
    }
    (latencies, lost, started.elapsed())
}

/// `in_flight` sockets, each with one request outstanding, multiplexed by one thread
/// (a single-threaded tokio runtime, i.e. epoll): on 2 cores, one client thread per
/// socket spent the CPU the server needed on switching between client threads.
fn measure_multiplexed(
    server: SocketAddr,
    in_flight: usize,
    duration: Duration,
) -> (Vec<Duration>, usize, Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let request = format!("{CODENAME}#json");
        let started = Instant::now();
        let deadline = started + duration;
        let clients: Vec<_> = (0..in_flight)
            .map(|_| {
                let request = request.clone();
                tokio::spawn(async move {
                    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    socket.connect(server).await.unwrap();
                    let mut buffer = [0u8; 2048];
                    let mut latencies = Vec::with_capacity(1 << 18);
                    let mut lost = 0;
                    while Instant::now() < deadline {
                        let sent = Instant::now();
                        socket.send(request.as_bytes()).await.unwrap();
                        let reply =
                            tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buffer));
                        match reply.await {
                            Ok(Ok(length)) => {
                                latencies.push(sent.elapsed());
                                check_reply(&buffer[..length]);
                            }
                            _ => lost += 1,
                        }
                    }
                    (latencies, lost)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut lost = 0;
        for client in clients {
            let (mine, mine_lost) = client.await.expect("client task");
            latencies.extend(mine);
            lost += mine_lost;
        }
        (latencies, lost, started.elapsed())
    })
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut secs = 3.0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => {
                secs = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--secs takes a number")
            }
            other => panic!("unknown argument {other} (usage: bench-udp [--secs N])"),
        }
    }
    let duration = Duration::from_secs_f64(secs);
    let dir = TempDir::new("bench-udp");
    let (_labsocket, labsocket) = start_labsocket(&dir);
    let (_python, python) = start_python();
    println!(
        "bench-udp: '{CODENAME}#json', {secs} s per cell, {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<24} {:>9} {:>12} {:>10} {:>10} {:>6}",
        "server", "in flight", "requests/s", "p50 us", "p99 us", "lost"
    );
    let mut rows = Vec::new();
    for in_flight in IN_FLIGHT {
        // A short warm-up so neither side pays first-use costs in the measurement.
        measure(labsocket, in_flight, Duration::from_millis(200));
        measure(python, in_flight, Duration::from_millis(200));
        let ours = measure(labsocket, in_flight, duration);
        let theirs = measure(python, in_flight, duration);
        for (name, m) in [("labsocket", &ours), ("python socketserver", &theirs)] {
            println!(
                "{name:<24} {in_flight:>9} {:>12.0} {:>10.1} {:>10.1} {:>6}",
                m.requests_per_sec,
                micros(m.p50),
                micros(m.p99),
                m.lost
            );
        }
        rows.push((in_flight, ours, theirs));
    }
    println!();
    println!(
        "{:<9} {:>22} {:>22} {:>22}",
        "in flight", "requests/s ratio", "p50 latency ratio", "p99 latency ratio"
    );
    for (in_flight, ours, theirs) in rows {
        println!(
            "{in_flight:<9} {:>21.1}x {:>21.1}x {:>21.1}x",
            ours.requests_per_sec / theirs.requests_per_sec,
            micros(theirs.p50) / micros(ours.p50),
            micros(theirs.p99) / micros(ours.p99),
        );
    }
    println!("(ratios: labsocket over Python for requests/s; Python over labsocket for latency)");
    let _ = std::io::stdout().flush();
}
