//! `bench-native`: native-protocol (JSON-RPC lines over TCP) round trips against the
//! release binary, with `redis-server` GET as the peer in the same run.
//!
//! `cargo run --release -p labsocket-e2e --bin bench-native [-- --secs N --runs N]`
//!
//! Rows: `ping` on 1 connection (latency); `ping`, `echo` and `get_point` on 50
//! connections with one request in flight each; the same with 16-deep pipelining. Every
//! labsocket row and the Redis GET row are driven by the same single-threaded epoll
//! client ([`labsocket_e2e::bench::tcp`]); `redis-benchmark`'s own numbers for the same
//! shape are printed beside them. Each number is the median of `--runs` runs of `--secs`
//! seconds (default 3 × 3 s).
//!
//! `--tls` runs every row over TLS: labsocket with `[tls]` and Redis with `--tls-port`,
//! both with the same certificate (made by the documented `openssl` commands, EC P-256),
//! the client's handshakes done before the clock starts; `redis-benchmark --tls` beside.
//!
//! `--server HOST:PORT` measures a server started by hand (e.g. under `perf record`,
//! `valgrind --tool=callgrind` or `strace -c`) instead of starting one; `--only TEXT`
//! runs only the rows whose label (`labsocket ping 50x1`, `redis 50x16`) contains it.

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use labsocket_e2e::bench::peers::{redis_benchmark, start_redis, RedisTls};
use labsocket_e2e::bench::process::cpu_time;
use labsocket_e2e::bench::tcp::{self, Framing, Load};
use labsocket_e2e::bench::{median_of, micros, RunStats};
use labsocket_e2e::tls::{client_config, make_lab_ca, tls_table, Relay};
use labsocket_e2e::{RpcClient, Server, TempDir};

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
const ECHO: &str = r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":["hello"]}"#;
const GET_POINT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"get_point","params":["temperature"]}"#;
const REDIS_GET: &[u8] = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
const REDIS_VALUE: &str = "hello";

struct Options {
    secs: f64,
    runs: usize,
    /// A server already running (e.g. under `perf` or `valgrind`), instead of starting one.
    server: Option<SocketAddr>,
    /// Only the rows whose label contains this.
    only: Option<String>,
    /// Everything over TLS.
    tls: bool,
}

fn options() -> Options {
    let mut options = Options {
        secs: 3.0,
        runs: 3,
        server: None,
        only: None,
        tls: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} takes a value"));
        let number = |text: String| -> f64 {
            text.parse()
                .unwrap_or_else(|_| panic!("{arg} takes a number"))
        };
        match arg.as_str() {
            "--secs" => options.secs = number(value()),
            "--runs" => options.runs = number(value()) as usize,
            "--server" => options.server = Some(value().parse().expect("--server takes HOST:PORT")),
            "--only" => options.only = Some(value()),
            "--tls" => options.tls = true,
            other => panic!("unknown argument {other} (usage: bench-native [--secs N] [--runs N] [--server HOST:PORT] [--only TEXT] [--tls])"),
        }
    }
    options
}

/// The exact reply line labsocket gives to `request` (used to check every reply).
fn reply_to(address: SocketAddr, request: &str) -> Vec<u8> {
    let mut client = RpcClient::connect(address);
    client.send_raw(format!("{request}\n").as_bytes());
    let line = client.read_line().expect("a reply");
    assert!(line.contains("\"result\""), "{request} failed: {line}");
    format!("{line}\n").into_bytes()
}

/// The client side of `--tls`.
struct Tls {
    config: Arc<rustls::ClientConfig>,
    /// A plain port that reaches labsocket over TLS, for the set-up calls.
    relay: Relay,
}

/// One labsocket row; `plain` reaches the server without TLS (for the expected reply).
fn native_load(
    plain: SocketAddr,
    request: &str,
    connections: usize,
    depth: usize,
    secs: f64,
    tls: Option<&Tls>,
) -> Load {
    Load {
        connections,
        depth,
        duration: Duration::from_secs_f64(secs),
        hello: Vec::new(),
        request: format!("{request}\n").into_bytes(),
        reply: reply_to(plain, request),
        framing: Framing::Suffix(b"\n"),
        tls: tls.map(|tls| tls.config.clone()),
    }
}

fn redis_load(connections: usize, depth: usize, secs: f64, tls: Option<&Tls>) -> Load {
    Load {
        tls: tls.map(|tls| tls.config.clone()),
        connections,
        depth,
        duration: Duration::from_secs_f64(secs),
        hello: Vec::new(),
        request: REDIS_GET.to_vec(),
        reply: format!("${}\r\n{REDIS_VALUE}\r\n", REDIS_VALUE.len()).into_bytes(),
        framing: Framing::Resp,
    }
}

fn row(label: &str, stats: &RunStats, cpu_per_op: Option<Duration>) {
    println!(
        "{label:<44} {:>12.0} {:>11} {:>11} {:>11}",
        stats.ops_per_sec,
        micros(stats.p50),
        micros(stats.p99),
        cpu_per_op.map_or_else(|| "-".to_owned(), micros)
    );
}

/// Runs `load` `runs` times (after a short warm-up) and measures the CPU time the
/// server process `pid` spent per operation over those runs.
fn measure(
    address: SocketAddr,
    load: &Load,
    runs: usize,
    pid: Option<u32>,
) -> (RunStats, Option<Duration>) {
    tcp::run(
        address,
        &Load {
            duration: Duration::from_millis(300),
            ..load.clone()
        },
    );
    let cpu_before = pid.and_then(cpu_time);
    let mut operations = 0.0;
    let stats = median_of(runs, || {
        let stats = tcp::run(address, load);
        operations += stats.ops_per_sec * load.duration.as_secs_f64();
        stats
    });
    let cpu_per_op = cpu_before
        .zip(pid.and_then(cpu_time))
        .map(|(before, after)| (after - before).div_f64(operations));
    (stats, cpu_per_op)
}

fn main() {
    let Options {
        secs,
        runs,
        server,
        only,
        tls,
    } = options();
    assert!(
        !(tls && server.is_some()),
        "--tls measures a server it starts itself, not --server"
    );
    // The certificates of both servers (and Redis's CA), with the documented commands.
    let pki = tls.then(|| {
        let dir = TempDir::new("bench-tls");
        make_lab_ca(dir.path());
        dir
    });
    let config = match &pki {
        Some(dir) => format!(
            "{}[native]\nheartbeat_secs = 0\n",
            tls_table(dir.path(), 10.0)
        ),
        None => "[native]\nheartbeat_secs = 0\n".to_owned(),
    };
    let started = server.is_none().then(|| Server::start_release(&config));
    let native = server.unwrap_or_else(|| started.as_ref().expect("started").native());
    let tls = pki.as_ref().map(|dir| Tls {
        config: client_config(&dir.path().join("lab-ca.crt")),
        relay: Relay::start(native, &dir.path().join("lab-ca.crt")),
    });
    let plain = tls.as_ref().map_or(native, |tls| tls.relay.address);
    let wanted = |label: &str| {
        only.as_ref()
            .is_none_or(|only| label.contains(only.as_str()))
    };
    RpcClient::connect(plain).call(
        "set_point",
        serde_json::json!(["temperature", 1795238169.25, 21.5]),
    );
    let redis_tls = pki.as_ref().map(|dir| RedisTls { dir: dir.path() });
    let redis = start_redis(REDIS_VALUE, redis_tls.as_ref());
    let server_pid = started.as_ref().map(Server::pid);
    let redis_pid = redis.as_ref().map(|(process, _)| process.0.id());
    println!(
        "bench-native{}: {runs} runs of {secs} s per row (medians), one client thread, {} CPUs, load average {}",
        if tls.is_some() { " --tls" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "{:<44} {:>12} {:>11} {:>11} {:>11}",
        "what", "ops/s", "p50", "p99", "server CPU/op"
    );
    for (connections, depth) in [(1, 1), (50, 1), (50, 16)] {
        println!("-- {connections} connection(s), {depth} in flight each");
        let mut ping_rate = 0.0;
        for (name, request) in [("ping", PING), ("echo", ECHO), ("get_point", GET_POINT)] {
            let label = format!("labsocket {name} {connections}x{depth}");
            if (connections == 1 && name != "ping") || !wanted(&label) {
                continue;
            }
            let load = native_load(plain, request, connections, depth, secs, tls.as_ref());
            let (stats, cpu) = measure(native, &load, runs, server_pid);
            row(&label, &stats, cpu);
            if name == "ping" {
                ping_rate = stats.ops_per_sec;
            }
        }
        let Some((_, redis_address)) = &redis else {
            continue;
        };
        if !wanted(&format!("redis {connections}x{depth}")) {
            continue;
        }
        let load = redis_load(connections, depth, secs, tls.as_ref());
        let (stats, cpu) = measure(*redis_address, &load, runs, redis_pid);
        row("redis-server GET (same client)", &stats, cpu);
        let requests = ((stats.ops_per_sec * secs) as usize).max(10_000);
        let mut peer_runs: Vec<_> = (0..runs)
            .filter_map(|_| {
                redis_benchmark(
                    *redis_address,
                    connections,
                    depth,
                    requests,
                    redis_tls.as_ref(),
                )
            })
            .collect();
        if !peer_runs.is_empty() {
            peer_runs.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
            let median = &peer_runs[peer_runs.len() / 2];
            println!(
                "{:<44} {:>12.0} {:>8.1} µs {:>8.1} µs",
                "redis-server GET (redis-benchmark)",
                median.requests_per_sec,
                median.p50_ms * 1000.0,
                median.p99_ms * 1000.0
            );
        }
        println!(
            "{:<44} {:>11.2}x",
            "ratio labsocket ping / redis GET (same client)",
            ping_rate / stats.ops_per_sec
        );
    }
}
