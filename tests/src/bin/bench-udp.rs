//! `bench-udp`: `<codename>#json` request rate and latency of a labsocket pull socket
//! against a Python `socketserver.UDPServer` pull server (PyExpLabSys' architecture,
//! `tests/python/pull_server.py`), measured side by side in one run.
//!
//! `cargo run --release -p labsocket-e2e --bin bench-udp [-- --secs N]`
//!
//! For each server and each of 1 and 16 requests in flight (one client thread and
//! socket; with 16, replies are taken and new requests sent in batches with `recvmmsg`
//! and `sendmmsg`), it sends the same request for N seconds (default 3), `--runs` times
//! (default 3), and prints the median requests/s and p50/p99 round-trip latency, the
//! server's and the client's CPU time per request, then the ratios. Everything runs on 127.0.0.1 and stops
//! by itself.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labsocket_e2e::bench::peers::Process;
use labsocket_e2e::bench::process::cpu_time;
use labsocket_e2e::build::workspace_root;
use labsocket_e2e::{labsocket_release_bin, RpcClient, TempDir};
use serde_json::json;

const CODENAME: &str = "temperature";
const VALUE: f64 = 21.5;
const IN_FLIGHT: [usize; 2] = [1, 16];

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
        measure_batched(server, in_flight, duration)
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

/// `in_flight` requests outstanding at all times from one client thread and socket:
/// each `recvmmsg` takes every reply that has arrived, and one `sendmmsg` sends as many
/// new requests. On 2 cores, a thread or a syscall per request made the client, not the
/// server, the limit. Both servers answer one socket's datagrams in order, so the n-th
/// reply answers the n-th request; every reply is still checked.
fn measure_batched(
    server: SocketAddr,
    in_flight: usize,
    duration: Duration,
) -> (Vec<Duration>, usize, Duration) {
    let request = format!("{CODENAME}#json");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(server).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buffers = vec![[0u8; 2048]; in_flight];
    let mut sent_at = std::collections::VecDeque::with_capacity(in_flight);
    let mut latencies = Vec::with_capacity(1 << 20);
    let mut lost = 0;
    let started = Instant::now();
    send_requests(&socket, request.as_bytes(), in_flight);
    sent_at.extend(std::iter::repeat_n(Instant::now(), in_flight));
    while started.elapsed() < duration {
        let received = match receive_replies(&socket, &mut buffers) {
            Ok(received) => received,
            Err(_) => {
                // Nothing for a second: count what was outstanding as lost, start over.
                lost += sent_at.len();
                sent_at.clear();
                send_requests(&socket, request.as_bytes(), in_flight);
                sent_at.extend(std::iter::repeat_n(Instant::now(), in_flight));
                continue;
            }
        };
        let now = Instant::now();
        for (buffer, length) in buffers.iter().zip(&received) {
            check_reply(&buffer[..*length]);
            let sent = sent_at
                .pop_front()
                .expect("a reply answers an outstanding request");
            latencies.push(now - sent);
        }
        send_requests(&socket, request.as_bytes(), received.len());
        sent_at.extend(std::iter::repeat_n(Instant::now(), received.len()));
    }
    (latencies, lost, started.elapsed())
}

/// Sends `count` copies of `request` with one `sendmmsg` (as often as it takes).
fn send_requests(socket: &UdpSocket, request: &[u8], count: usize) {
    let mut iovec = libc::iovec {
        iov_base: request.as_ptr() as *mut libc::c_void,
        iov_len: request.len(),
    };
    let mut messages: Vec<libc::mmsghdr> = (0..count)
        .map(|_| {
            // SAFETY: all-zero is a valid mmsghdr; the socket is connected, so no name.
            let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
            message.msg_hdr.msg_iov = &mut iovec;
            message.msg_hdr.msg_iovlen = 1;
            message
        })
        .collect();
    let mut next = 0;
    while next < count {
        let rest = &mut messages[next..];
        // SAFETY: every message points at `iovec`, which points at `request`; both
        // outlive the call and the kernel only reads them.
        let sent =
            unsafe { libc::sendmmsg(socket.as_raw_fd(), rest.as_mut_ptr(), rest.len() as u32, 0) };
        assert!(sent > 0, "sendmmsg: {}", std::io::Error::last_os_error());
        next += sent as usize;
    }
}

/// Waits (up to the read timeout) for a reply, then takes every other one already
/// there; the length of each.
fn receive_replies(socket: &UdpSocket, buffers: &mut [[u8; 2048]]) -> std::io::Result<Vec<usize>> {
    let mut iovecs: Vec<libc::iovec> = buffers
        .iter_mut()
        .map(|buffer| libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        })
        .collect();
    let mut messages: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iovec| {
            // SAFETY: all-zero is a valid mmsghdr; the sender's address is not needed.
            let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
            message.msg_hdr.msg_iov = iovec;
            message.msg_hdr.msg_iovlen = 1;
            message
        })
        .collect();
    // SAFETY: every message points at a live buffer of the stated length.
    let count = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            messages.as_mut_ptr(),
            messages.len() as u32,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut(),
        )
    };
    if count < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(messages[..count as usize]
        .iter()
        .map(|message| message.msg_len as usize)
        .collect())
}

/// The median throughput of `runs`, with the median p50 and p99 and the total lost.
fn median_measurement(runs: &mut [Measurement]) -> Measurement {
    let middle = runs.len() / 2;
    let mut pick = |key: fn(&Measurement) -> f64| {
        runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
        key(&runs[middle])
    };
    let requests_per_sec = pick(|m| m.requests_per_sec);
    let p50 = pick(|m| m.p50.as_secs_f64());
    let p99 = pick(|m| m.p99.as_secs_f64());
    Measurement {
        requests_per_sec,
        p50: Duration::from_secs_f64(p50),
        p99: Duration::from_secs_f64(p99),
        lost: runs.iter().map(|m| m.lost).sum(),
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut secs, mut runs) = (3.0, 3);
    while let Some(arg) = args.next() {
        let mut number = || -> f64 {
            args.next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{arg} takes a number"))
        };
        match arg.as_str() {
            "--secs" => secs = number(),
            "--runs" => runs = number() as usize,
            other => panic!("unknown argument {other} (usage: bench-udp [--secs N] [--runs N])"),
        }
    }
    let duration = Duration::from_secs_f64(secs);
    let dir = TempDir::new("bench-udp");
    let (labsocket_process, labsocket) = start_labsocket(&dir);
    let (python_process, python) = start_python();
    let servers = [
        ("labsocket", labsocket, labsocket_process.0.id()),
        ("python socketserver", python, python_process.0.id()),
    ];
    println!(
        "bench-udp: '{CODENAME}#json', median of {runs} runs of {secs} s per cell, {} CPUs, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "{:<24} {:>9} {:>12} {:>10} {:>10} {:>6} {:>14} {:>14}",
        "server",
        "in flight",
        "requests/s",
        "p50 us",
        "p99 us",
        "lost",
        "server CPU/req",
        "client CPU/req"
    );
    let mut rows = Vec::new();
    for in_flight in IN_FLIGHT {
        let mut results = Vec::new();
        for (name, address, pid) in servers {
            // A short warm-up so neither side pays first-use costs in the measurement.
            measure(address, in_flight, Duration::from_millis(200));
            let cpu_before = cpu_time(pid);
            let client_cpu_before = cpu_time(std::process::id());
            let mut measurements: Vec<Measurement> = (0..runs)
                .map(|_| measure(address, in_flight, duration))
                .collect();
            let requests: f64 = measurements.iter().map(|m| m.requests_per_sec * secs).sum();
            let cpu = cpu_before
                .zip(cpu_time(pid))
                .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / requests);
            let client_cpu = client_cpu_before
                .zip(cpu_time(std::process::id()))
                .map(|(before, after)| (after - before).as_secs_f64() * 1e6 / requests);
            let m = median_measurement(&mut measurements);
            println!(
                "{name:<24} {in_flight:>9} {:>12.0} {:>10.1} {:>10.1} {:>6} {:>11.1} us {:>11.1} us",
                m.requests_per_sec,
                micros(m.p50),
                micros(m.p99),
                m.lost,
                cpu.unwrap_or(f64::NAN),
                client_cpu.unwrap_or(f64::NAN)
            );
            results.push(m);
        }
        let theirs = results.pop().expect("python");
        let ours = results.pop().expect("labsocket");
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
