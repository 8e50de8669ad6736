//! `bench-pyminer`: the PyMiner front end and long-connection fan-out, against the
//! release binary.
//!
//! `cargo run --release -p labsocket-e2e --bin bench-pyminer [-- OPTIONS]`
//!
//! - `read_p`: `read_p` of a 1 KB value, 50 clients, on G1 long connections (requests on
//!   one connection) and on a connection per request as PyMiner's `BaseClient` makes it
//!   (`request_data`, `conn_established`, request, reply, close). One client thread
//!   multiplexes the 50 clients (see `labsocket_e2e::bench::tcp`).
//! - `fanout`: one `data_changed` (published by a native `hello.announce` call) to N long
//!   connections, from the call to the moment the last connection has read the frame;
//!   p50/p99 over `--trials` trials at N = 1,000 and 10,000.
//! - `deliveries`: fan-out throughput: `--events` events published back to back to 1,000
//!   long connections; deliveries (frames read by clients) per second.
//! - `idle`: `--idle-connections` (10,000) long connections held for `--idle-secs` (600)
//!   with a heartbeat every `--heartbeat-secs` (10); counts dropped connections and
//!   heartbeats, and the server's resident memory per connection. `--idle-protocol
//!   native` holds native-protocol connections (JSON-RPC heartbeat notifications)
//!   instead of PyMiner G1 long connections.
//!
//! `--only NAME` runs one of them; `--runs N` (3) sets the runs per `read_p` row and
//! `--secs N` (3) their length. The open-file limit is raised to its hard limit first
//! (the server inherits it) so that 10,000 connections fit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use labsocket_e2e::bench::process::{cpu_time, raise_fd_limit, rss_bytes};
use labsocket_e2e::bench::stats::{percentile, RunStats};
use labsocket_e2e::bench::tcp::{self, Framing, Load};
use labsocket_e2e::bench::{median_of, micros};
use labsocket_e2e::pyminer::{PmConnection, HEARTBEAT};
use labsocket_e2e::{RpcClient, Server};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Options {
    only: Option<String>,
    runs: usize,
    secs: f64,
    trials: usize,
    events: usize,
    idle_connections: usize,
    idle_secs: f64,
    heartbeat_secs: f64,
    idle_protocol: String,
}

fn options() -> Options {
    let mut options = Options {
        only: None,
        runs: 3,
        secs: 3.0,
        trials: 100,
        events: 1000,
        idle_connections: 10_000,
        idle_secs: 600.0,
        heartbeat_secs: 10.0,
        idle_protocol: "pyminer".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{arg} takes a value"));
        let number = || -> f64 {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{arg} takes a number"))
        };
        match arg.as_str() {
            "--only" => options.only = Some(value.clone()),
            "--runs" => options.runs = number() as usize,
            "--secs" => options.secs = number(),
            "--trials" => options.trials = number() as usize,
            "--events" => options.events = number() as usize,
            "--idle-connections" => options.idle_connections = number() as usize,
            "--idle-secs" => options.idle_secs = number(),
            "--heartbeat-secs" => options.heartbeat_secs = number(),
            "--idle-protocol" => options.idle_protocol = value.clone(),
            other => panic!("unknown argument {other} (see the top of bench-pyminer.rs)"),
        }
    }
    options
}

fn main() {
    let options = options();
    let fd_limit = raise_fd_limit();
    let wanted = |name: &str| options.only.as_deref().is_none_or(|only| only == name);
    println!(
        "bench-pyminer: {} CPUs, open-file limit {fd_limit}, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    if wanted("read_p") || wanted("fanout") || wanted("deliveries") {
        let server = Server::start_release(
            "[pyminer]\nheartbeat_secs = 0\n[native]\nheartbeat_secs = 0\n\
             [limits]\nmax_connections = 15000\n",
        );
        if wanted("read_p") {
            read_p(&server, &options);
        }
        if wanted("fanout") {
            for connections in [1_000, 10_000] {
                fan_out_latency(&server, connections, options.trials);
            }
        }
        if wanted("deliveries") {
            deliveries(&server, 1_000, options.events);
        }
    }
    if wanted("idle") {
        idle(&options);
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Waits until the server counts `count` open PyMiner connections.
fn wait_for_connections(rpc: &mut RpcClient, count: usize) {
    wait_for_front_end(rpc, "pyminer", count);
}

/// Waits until the server counts `count` open connections on front end `name`.
fn wait_for_front_end(rpc: &mut RpcClient, name: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = rpc.call("status", json!([]));
        let open = status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["connections"].as_u64())
            .unwrap() as usize;
        if open == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} {name} connections, expected {count}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// read_p

fn read_p(server: &Server, options: &Options) {
    let pm = server.pyminer();
    // A 1 KB value: a BINBYTES pickle of 1,000 bytes.
    let mut pickle = b"\x80\x04B\xe8\x03\x00\x00".to_vec();
    pickle.extend((0..1000u32).map(|i| (i * 7) as u8));
    pickle.push(b'.');
    let data = base64_encode(&pickle);
    // The write's data_changed must be out before the measured long connections join.
    let mut watcher = PmConnection::g1_long(pm);
    wait_for_connections(&mut server.rpc(), 1);
    let reply = labsocket_e2e::pyminer::g1_call_text(pm, "write_p", json!(["v", data]));
    assert_eq!(reply, r#"{"message": "success"}"#);
    assert!(watcher.read_text().contains("data_changed"));
    drop(watcher);
    wait_for_connections(&mut server.rpc(), 0);
    let expected = format!("{{\"v\": \"{data}\", \"message\": \"success\"}}PMEND").into_bytes();
    println!(
        "read_p of a 1 KB value ({} bytes of pickle, {} bytes of reply), median of {} runs of {} s, server CPU per request:",
        pickle.len(),
        expected.len(),
        options.runs,
        options.secs
    );
    let pid = server.pid();
    for clients in [1, 50] {
        let load = Load {
            connections: clients,
            depth: 1,
            duration: Duration::from_secs_f64(options.secs),
            hello: b"long_conn".to_vec(),
            request: b"{\"method\": \"read_p\", \"params\": [\"v\"]}PMEND".to_vec(),
            reply: expected.clone(),
            framing: Framing::Suffix(b"PMEND"),
            tls: None,
        };
        let (stats, cpu) = with_cpu(pid, options.runs, options.secs, || tcp::run(pm, &load));
        println!(
            "  {clients:>2} client(s), G1 long connections:           {:>8.0} requests/s  p50 {:>10}  p99 {:>10}  CPU {}",
            stats.ops_per_sec,
            micros(stats.p50),
            micros(stats.p99),
            micros(cpu)
        );
    }
    for clients in [1, 50] {
        let (stats, cpu) = with_cpu(pid, options.runs, options.secs, || {
            short_connections(
                pm,
                clients,
                Duration::from_secs_f64(options.secs),
                &expected,
            )
        });
        println!(
            "  {clients:>2} client(s), a connection per request:      {:>8.0} requests/s  p50 {:>10}  p99 {:>10}  CPU {}",
            stats.ops_per_sec,
            micros(stats.p50),
            micros(stats.p99),
            micros(cpu)
        );
    }
}

/// `run` `runs` times (after one short warm-up run); the median stats and the server's
/// CPU time per request over the measured runs.
fn with_cpu(
    pid: u32,
    runs: usize,
    secs: f64,
    mut run: impl FnMut() -> RunStats,
) -> (RunStats, Duration) {
    use labsocket_e2e::bench::process::cpu_time;
    run();
    let before = cpu_time(pid).unwrap_or_default();
    let mut requests = 0.0;
    let stats = median_of(runs, || {
        let stats = run();
        requests += stats.ops_per_sec * secs;
        stats
    });
    let cpu = (cpu_time(pid).unwrap_or_default() - before).div_f64(requests.max(1.0));
    (stats, cpu)
}

/// `clients` clients each making requests for `duration`, each on a new connection as
/// PyMiner's `BaseClient` does, all multiplexed by one client thread.
fn short_connections(
    address: SocketAddr,
    clients: usize,
    duration: Duration,
    expected: &[u8],
) -> RunStats {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let deadline = started + duration;
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let expected = expected.to_vec();
                tokio::spawn(async move {
                    let request = b"{\"method\": \"read_p\", \"params\": [\"v\"], \"jsonrpc\": \"2.0\", \"id\": 0}PMEND";
                    let mut latencies = Vec::new();
                    let mut buffer = Vec::with_capacity(4096);
                    while Instant::now() < deadline {
                        let sent = Instant::now();
                        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
                        stream.set_nodelay(true).unwrap();
                        // Close with a reset, not a FIN, so that the benchmark's
                        // connections do not exhaust the ephemeral ports in TIME_WAIT.
                        stream.set_zero_linger().unwrap();
                        stream.write_all(b"request_data").await.unwrap();
                        let mut greeting = [0u8; 16];
                        stream.read_exact(&mut greeting).await.unwrap();
                        assert_eq!(&greeting, b"conn_established");
                        stream.write_all(request).await.unwrap();
                        buffer.clear();
                        while !buffer.ends_with(b"PMEND") {
                            let read = stream.read_buf(&mut buffer).await.expect("reply");
                            assert!(read > 0, "server closed the connection");
                        }
                        assert_eq!(buffer, expected);
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        RunStats::from_latencies(latencies, started.elapsed())
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------------------------
// fan-out latency

/// Publishes one `data_changed` per trial to `count` long connections and measures the
/// time until the last connection has read it. The connections are read by one client
/// thread with epoll (a task per connection on a single-threaded runtime): blocking
/// reader threads chased the server's writes, sleeping and waking once per connection.
fn fan_out_latency(server: &Server, count: usize, trials: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    let pm = server.pyminer();
    let native = server.native();
    let mut rpc = server.rpc();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let streams = runtime.block_on(long_connections(pm, count));
    wait_for_connections(&mut rpc, count);
    let server_cpu_before = cpu_time(server.pid()).unwrap_or_default();
    let client_cpu_before = cpu_time(std::process::id()).unwrap_or_default();
    let latencies = runtime.block_on(async {
        let arrived = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(Mutex::new(Instant::now()));
        let all_arrived = Arc::new(tokio::sync::Notify::new());
        let readers: Vec<_> = streams
            .into_iter()
            .map(|mut stream| {
                let (arrived, last, all_arrived) =
                    (arrived.clone(), last.clone(), all_arrived.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::with_capacity(1024);
                    loop {
                        match stream.read_buf(&mut buffer).await {
                            Ok(n) if n > 0 => {}
                            _ => return,
                        }
                        let frames = take_frames(&mut buffer, |frame| {
                            assert!(
                                frame.starts_with(b"{\"name\": \"broadcast\", \"message\": \"data_changed\""),
                                "{}",
                                String::from_utf8_lossy(frame)
                            )
                        });
                        if frames > 0 {
                            *last.lock().unwrap() = Instant::now();
                            if arrived.fetch_add(frames, Ordering::Relaxed) + frames == count {
                                all_arrived.notify_one();
                            }
                        }
                    }
                })
            })
            .collect();
        let mut publisher = tokio::net::TcpStream::connect(native).await.unwrap();
        publisher.set_nodelay(true).unwrap();
        let mut reply = Vec::new();
        let mut latencies = Vec::with_capacity(trials);
        for trial in 0..trials {
            arrived.store(0, Ordering::Relaxed);
            let request = format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{trial},\"method\":\"hello.announce\",\"params\":{{\"topic\":\"data_changed\",\"payload\":{{\"data_name\":\"t{trial}\",\"data_source\":\"bench\"}}}}}}\n"
            );
            let sent = Instant::now();
            publisher.write_all(request.as_bytes()).await.unwrap();
            all_arrived.notified().await;
            latencies.push(*last.lock().unwrap() - sent);
            while !reply.ends_with(b"\n") {
                publisher.read_buf(&mut reply).await.unwrap();
            }
            assert!(reply.starts_with(b"{\"jsonrpc\":\"2.0\",\"id\":"), "{}", String::from_utf8_lossy(&reply));
            reply.clear();
            // Let the connections settle between trials, as separate events would.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for reader in readers {
            reader.abort();
        }
        latencies
    });
    // CPU time per delivery (server: publish, broadcast and write; client: read), which
    // other load on the machine delays but does not inflate.
    let deliveries = (count * trials) as f64;
    let server_cpu =
        (cpu_time(server.pid()).unwrap_or_default() - server_cpu_before).div_f64(deliveries);
    let client_cpu =
        (cpu_time(std::process::id()).unwrap_or_default() - client_cpu_before).div_f64(deliveries);
    let mut latencies = latencies;
    latencies.sort();
    println!(
        "one data_changed to {count:>6} long connections, until the last has read it: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({trials} trials, load average {}); CPU per delivery: server {}, client {}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[trials - 1]),
        load_average(),
        micros(server_cpu),
        micros(client_cpu)
    );
    drop(runtime);
    wait_for_connections(&mut rpc, 0);
}

/// `count` G1 long connections (`long_conn`).
async fn long_connections(address: SocketAddr, count: usize) -> Vec<tokio::net::TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(b"long_conn").await.unwrap();
        streams.push(stream);
    }
    streams
}

// ---------------------------------------------------------------------------------------
// fan-out throughput

/// Publishes `events` `data_changed` events back to back (pipelined on one native
/// connection) to `count` long connections; frames read by the clients per second, from
/// the first publish to the last frame read.
fn deliveries(server: &Server, count: usize, events: usize) {
    let pm = server.pyminer();
    let mut rpc = server.rpc();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let streams = runtime.block_on(long_connections(pm, count));
    wait_for_connections(&mut rpc, count);
    let mut requests = String::new();
    for event in 0..events {
        let params = json!({"topic": "data_changed", "payload": {"data_name": format!("d{event}"), "data_source": "bench"}});
        requests.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{event},\"method\":\"hello.announce\",\"params\":{params}}}\n"
        ));
    }
    let started = Instant::now();
    rpc.send_raw(requests.as_bytes());
    let received: usize = runtime.block_on(async {
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|mut stream| {
                tokio::spawn(async move {
                    let mut buffer = Vec::with_capacity(64 * 1024);
                    let mut frames = 0;
                    while frames < events {
                        let read = stream.read_buf(&mut buffer).await.expect("frames");
                        assert!(read > 0, "the server dropped a long connection");
                        frames += take_frames(&mut buffer, |frame| {
                            assert!(
                                frame.starts_with(
                                    b"{\"name\": \"broadcast\", \"message\": \"data_changed\""
                                ),
                                "{}",
                                String::from_utf8_lossy(frame)
                            )
                        });
                    }
                    frames
                })
            })
            .collect();
        let mut received = 0;
        for task in tasks {
            received += task.await.unwrap();
        }
        received
    });
    let elapsed = started.elapsed();
    for _ in 0..events {
        rpc.read_line().expect("an announce reply");
    }
    println!(
        "fan-out throughput: {events} events to {count} long connections: {received} deliveries in {:.1} ms = {:.0} deliveries/s (load average {})",
        ms(elapsed),
        received as f64 / elapsed.as_secs_f64(),
        load_average()
    );
}

/// Removes the complete `PMEND` frames at the start of `buffer`, checking each (without
/// its terminator) with `check`; how many there were.
fn take_frames(buffer: &mut Vec<u8>, check: impl Fn(&[u8])) -> usize {
    take_terminated(buffer, b"PMEND", check)
}

/// Removes the complete `terminator`-ended messages at the start of `buffer`, checking
/// each (without its terminator) with `check`; how many there were.
fn take_terminated(buffer: &mut Vec<u8>, terminator: &[u8], check: impl Fn(&[u8])) -> usize {
    let mut frames = 0;
    let mut consumed = 0;
    while let Some(at) = buffer[consumed..]
        .windows(terminator.len())
        .position(|window| window == terminator)
    {
        check(&buffer[consumed..consumed + at]);
        frames += 1;
        consumed += at + terminator.len();
    }
    buffer.drain(..consumed);
    frames
}

// ---------------------------------------------------------------------------------------
// idle long connections

/// Holds `--idle-connections` long connections for `--idle-secs` with heartbeats, each
/// read by its own task of one client thread; reports drops, heartbeats and the server's
/// resident memory per connection.
fn idle(options: &Options) {
    let count = options.idle_connections;
    let native = options.idle_protocol == "native";
    let (pyminer_beat, native_beat) = if native {
        (0.0, options.heartbeat_secs)
    } else {
        (options.heartbeat_secs, 0.0)
    };
    let server = Server::start_release(&format!(
        "[pyminer]\nheartbeat_secs = {pyminer_beat}\n[native]\nheartbeat_secs = {native_beat}\n[limits]\nmax_connections = {}\n",
        count + 100
    ));
    let mut rpc = server.rpc();
    let pid = server.pid();
    std::thread::sleep(Duration::from_secs(1));
    let rss_before = rss_bytes(pid).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hold = Duration::from_secs_f64(options.idle_secs);
    // The status connection is a native connection too.
    let (front_end, others) = if native {
        ("native", 1)
    } else {
        ("pyminer", 0)
    };
    let streams = if native {
        runtime.block_on(async {
            let mut streams = Vec::with_capacity(count);
            for _ in 0..count {
                streams.push(
                    tokio::net::TcpStream::connect(server.native())
                        .await
                        .expect("connect"),
                );
            }
            streams
        })
    } else {
        runtime.block_on(long_connections(server.pyminer(), count))
    };
    wait_for_front_end(&mut rpc, front_end, count + others);
    let started = Instant::now();
    let (terminator, heartbeat): (&'static [u8], Vec<u8>) = if native {
        (
            b"\n",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"ts\":".to_vec(),
        )
    } else {
        (b"PMEND", HEARTBEAT.as_bytes().to_vec())
    };
    let tasks: Vec<_> = runtime.block_on(async {
        streams
            .into_iter()
            .map(|mut stream| {
                let heartbeat = heartbeat.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::with_capacity(256);
                    let mut beats = 0usize;
                    let end = tokio::time::Instant::from_std(started + hold);
                    loop {
                        let read = tokio::select! {
                            _ = tokio::time::sleep_until(end) => return (beats, false, stream),
                            read = stream.read_buf(&mut buffer) => read,
                        };
                        match read {
                            Ok(n) if n > 0 => {
                                beats += take_terminated(&mut buffer, terminator, |frame| {
                                    assert!(
                                        frame.starts_with(&heartbeat),
                                        "{}",
                                        String::from_utf8_lossy(frame)
                                    )
                                });
                            }
                            _ => return (beats, true, stream),
                        }
                    }
                })
            })
            .collect()
    });
    // Memory once every connection is established and has had a heartbeat or two.
    let settle =
        Duration::from_secs_f64((options.heartbeat_secs * 2.5).min(options.idle_secs / 2.0));
    runtime.block_on(async { tokio::time::sleep(settle).await });
    let rss_held = rss_bytes(pid).unwrap_or_default();
    let outcomes: Vec<(usize, bool, tokio::net::TcpStream)> = runtime.block_on(async {
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        outcomes
    });
    let rss_end = rss_bytes(pid).unwrap_or_default();
    let dropped = outcomes.iter().filter(|(_, dropped, _)| *dropped).count();
    let mut beats: Vec<usize> = outcomes.iter().map(|(beats, _, _)| *beats).collect();
    beats.sort_unstable();
    let expected = (options.idle_secs / options.heartbeat_secs).floor() as usize;
    let per_connection = |rss: u64| rss.saturating_sub(rss_before) as f64 / count as f64 / 1024.0;
    println!(
        "idle: {count} {front_end} long connections held {:.0} s, heartbeat every {} s: {dropped} dropped; heartbeats per connection min {} median {} max {} (about {expected} expected)",
        started.elapsed().as_secs_f64(),
        options.heartbeat_secs,
        beats[0],
        beats[beats.len() / 2],
        beats[beats.len() - 1]
    );
    println!(
        "idle: server RSS {:.1} MB before, {:.1} MB held, {:.1} MB at the end: {:.2} KB per connection held, {:.2} KB at the end (load average {})",
        rss_before as f64 / 1e6,
        rss_held as f64 / 1e6,
        rss_end as f64 / 1e6,
        per_connection(rss_held),
        per_connection(rss_end),
        load_average()
    );
    wait_for_front_end(&mut rpc, front_end, count - dropped + others);
}
