//! Native protocol round trips: `ping` request/reply per second and latency, with 1 and
//! with 50 connections, each connection sending one request at a time (no pipelining),
//! plus a 16-deep pipelined run.
//!
//! Run: `cargo run --release -p labsocket-e2e --bin bench-native [seconds-per-run]`
//! It builds and starts the release `labsocket` binary on a free loopback port.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use labsocket_e2e::bench::{median_of, micros, RunStats};
use labsocket_e2e::Server;

const PING: &[u8] = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";

/// `connections` clients, each with `depth` requests in flight, for `seconds`.
fn run(address: SocketAddr, connections: usize, depth: usize, seconds: f64) -> RunStats {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let stream = TcpStream::connect(address).expect("connect");
                stream.set_nodelay(true).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let burst: Vec<u8> = PING.repeat(depth);
                let mut latencies = Vec::new();
                let mut line = String::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    writer.write_all(&burst).unwrap();
                    for _ in 0..depth {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        assert!(line.contains("pong"), "unexpected reply {line}");
                    }
                    // With pipelining each reply of the burst counts as one operation whose
                    // latency is the burst's round trip.
                    latencies.extend(std::iter::repeat_n(sent.elapsed(), depth));
                }
                latencies
            })
        })
        .collect();
    let latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    RunStats::from_latencies(latencies, started.elapsed())
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let server = Server::start_release("[native]\nheartbeat_secs = 0\n");
    let address = server.native();
    println!("labsocket native protocol, ping, {seconds} s per run, median of 3 runs");
    println!(
        "{:<36} {:>12} {:>10} {:>10}",
        "clients", "ops/s", "p50", "p99"
    );
    for (label, connections, depth) in [
        ("1 connection, 1 in flight", 1, 1),
        ("50 connections, 1 in flight each", 50, 1),
        ("1 connection, 16-deep pipeline", 1, 16),
        ("50 connections, 16-deep pipeline", 50, 16),
    ] {
        let stats = median_of(3, || run(address, connections, depth, seconds));
        println!(
            "{label:<36} {:>12.0} {:>10} {:>10}",
            stats.ops_per_sec,
            micros(stats.p50),
            micros(stats.p99)
        );
    }
}
