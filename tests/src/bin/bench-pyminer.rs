//! Benchmarks of the PyMiner front end against the real, optimised binary:
//!
//! - `read_p` of a 1 KB value: requests per second with 1 and 50 concurrent clients,
//!   each request on its own connection as PyMiner's `BaseClient` makes it
//!   (`request_data`, `conn_established`, request, reply, close), and for comparison on
//!   one G1 long connection per client;
//! - the time for one `data_changed` to reach 1,000 long connections: from the request
//!   that publishes it to the moment the last connection has read the frame.
//!
//! Run: `cargo run --release -p labsocket-e2e --bin bench-pyminer`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::io::AsRawFd;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use labsocket_e2e::pyminer::PmConnection;
use labsocket_e2e::Server;
use serde_json::json;

const CONFIG: &str = "[pyminer]\nheartbeat_secs = 0\n[native]\nheartbeat_secs = 0\n";

/// Reads until the buffer ends with `PMEND`; the bytes read.
fn read_reply(stream: &mut TcpStream, buffer: &mut Vec<u8>) {
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    while !buffer.ends_with(b"PMEND") {
        let n = stream.read(&mut chunk).expect("reply");
        assert!(n > 0, "server closed the connection");
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// Closes with a reset instead of a FIN, so that tens of thousands of benchmark
/// connections do not exhaust the ephemeral ports in TIME_WAIT.
fn close_at_once(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a correctly sized `linger`.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// `requests` read_p calls on fresh connections, as PyMiner's BaseClient makes them.
fn short_requests(address: SocketAddr, requests: usize, expected_len: usize) {
    let request =
        b"{\"method\": \"read_p\", \"params\": [\"v\"], \"jsonrpc\": \"2.0\", \"id\": 0}PMEND";
    let mut buffer = Vec::with_capacity(4096);
    for _ in 0..requests {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream.write_all(b"request_data").unwrap();
        let mut greeting = [0u8; 16];
        stream.read_exact(&mut greeting).unwrap();
        stream.write_all(request).unwrap();
        read_reply(&mut stream, &mut buffer);
        assert_eq!(buffer.len(), expected_len);
        close_at_once(stream);
    }
}

/// `requests` read_p calls, one after the other, on one G1 long connection.
fn long_requests(address: SocketAddr, requests: usize, expected_len: usize) {
    let request = b"{\"method\": \"read_p\", \"params\": [\"v\"]}PMEND";
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream.write_all(b"long_conn").unwrap();
    let mut buffer = Vec::with_capacity(4096);
    for _ in 0..requests {
        stream.write_all(request).unwrap();
        read_reply(&mut stream, &mut buffer);
        assert_eq!(buffer.len(), expected_len);
    }
}

/// Runs `clients` threads of `work(requests_each)`; requests per second overall.
fn rate(clients: usize, requests_each: usize, work: impl Fn(usize) + Send + Sync + 'static) -> f64 {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (work, start) = (work.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(requests_each);
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for thread in threads {
        thread.join().unwrap();
    }
    (clients * requests_each) as f64 / began.elapsed().as_secs_f64()
}

fn read_p_throughput(server: &Server) {
    let pm = server.pyminer();
    // A 1 KB value: a BINBYTES pickle of 1,000 bytes.
    let mut pickle = b"\x80\x04B\xe8\x03\x00\x00".to_vec();
    pickle.extend((0..1000u32).map(|i| (i * 7) as u8));
    pickle.push(b'.');
    let data = base64_encode(&pickle);
    let reply = labsocket_e2e::pyminer::g1_call_text(pm, "write_p", json!(["v", data]));
    assert_eq!(reply, r#"{"message": "success"}"#);
    let expected_len = format!("{{\"v\": \"{data}\", \"message\": \"success\"}}PMEND").len();
    println!("read_p of a 1 KB value ({} bytes of pickle):", pickle.len());
    for (clients, each) in [(1, 5_000), (50, 200)] {
        short_requests(pm, 200, expected_len); // warm-up
        let per_second = rate(clients, each, move |n| short_requests(pm, n, expected_len));
        println!("  {clients:>2} client(s), a connection per request (BaseClient): {per_second:>8.0} requests/s");
    }
    for (clients, each) in [(1, 20_000), (50, 1_000)] {
        let per_second = rate(clients, each, move |n| long_requests(pm, n, expected_len));
        println!("  {clients:>2} client(s), requests on a G1 long connection:     {per_second:>8.0} requests/s");
    }
}

fn fan_out_latency(server: &Server) {
    let pm = server.pyminer();
    const LONG: usize = 1_000;
    const READERS: usize = 8;
    const TRIALS: usize = 20;
    let connections: Vec<PmConnection> = (0..LONG).map(|_| PmConnection::g1_long(pm)).collect();
    // Wait until all are registered: status counts open PyMiner connections.
    let mut rpc = server.rpc();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = rpc.call("status", json!([]));
        let open = status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "pyminer")
            .and_then(|f| f["connections"].as_u64())
            .unwrap();
        if open as usize >= LONG {
            break;
        }
        assert!(Instant::now() < deadline, "only {open} long connections");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut groups: Vec<Vec<PmConnection>> = (0..READERS).map(|_| Vec::new()).collect();
    for (i, connection) in connections.into_iter().enumerate() {
        groups[i % READERS].push(connection);
    }
    for (label, method) in [
        ("hello.announce (publish only)", "announce"),
        ("write_p (durable write, then publish)", "write_p"),
    ] {
        let start = Arc::new(Barrier::new(READERS + 1));
        let done = Arc::new(Barrier::new(READERS + 1));
        let readers: Vec<_> = std::mem::take(&mut groups)
            .into_iter()
            .map(|mut group| {
                let (start, done) = (start.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut finished = Vec::with_capacity(TRIALS);
                    for _ in 0..TRIALS {
                        start.wait();
                        for connection in &mut group {
                            let frame = connection.read_text();
                            assert!(frame.contains("data_changed"), "{frame}");
                        }
                        finished.push(Instant::now());
                        done.wait();
                    }
                    (group, finished)
                })
            })
            .collect();
        let mut sent = Vec::with_capacity(TRIALS);
        for trial in 0..TRIALS {
            start.wait();
            sent.push(Instant::now());
            if method == "announce" {
                let payload = json!({"data_name": format!("t{trial}"), "data_source": "bench"});
                rpc.call(
                    "hello.announce",
                    json!({"topic": "data_changed", "payload": payload}),
                );
            } else {
                let reply = labsocket_e2e::pyminer::g1_call_text(
                    pm,
                    "write_p",
                    json!([format!("t{trial}"), "gAVLKi4=", "bench"]),
                );
                assert_eq!(reply, r#"{"message": "success"}"#);
            }
            done.wait();
        }
        let mut latencies = vec![Duration::ZERO; TRIALS];
        for reader in readers {
            let (group, finished) = reader.join().unwrap();
            for (trial, at) in finished.into_iter().enumerate() {
                latencies[trial] = latencies[trial].max(at - sent[trial]);
            }
            groups.push(group);
        }
        latencies.sort();
        println!(
            "one data_changed to {LONG} long connections via {label}: median {:.2} ms, best {:.2} ms, worst {:.2} ms ({TRIALS} trials)",
            ms(latencies[TRIALS / 2]),
            ms(latencies[0]),
            ms(latencies[TRIALS - 1])
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn main() {
    let server = Server::start_release(CONFIG);
    read_p_throughput(&server);
    fan_out_latency(&server);
}
