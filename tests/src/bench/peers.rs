//! The peers labsocket is measured against in the same run: `redis-server` (driven both
//! by our own client and by `redis-benchmark`). They are Debian packages; when one is
//! missing the benchmark says which `apt-get` command installs it and skips the column.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The command that installs the Redis peer.
pub const REDIS_INSTALL: &str = "apt-get install -y redis-server redis-tools";

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `program` runs (`program --version` exits successfully).
pub fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The TLS options of `redis-server`, `redis-cli` and `redis-benchmark` for the
/// certificates [`crate::tls::make_lab_ca`] made in a folder.
pub struct RedisTls<'a> {
    pub dir: &'a Path,
}

impl RedisTls<'_> {
    fn server_args(&self, port: u16) -> Vec<String> {
        let file = |name: &str| self.dir.join(name).display().to_string();
        vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            file("server.crt"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("lab-ca.crt"),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
    }

    fn client_args(&self) -> Vec<String> {
        vec![
            "--tls".into(),
            "--cacert".into(),
            self.dir.join("lab-ca.crt").display().to_string(),
        ]
    }
}

/// A throwaway `redis-server` on loopback with persistence off, and key `key` set to
/// `value`; `None` (after saying why) when Redis is not installed. With `tls`, Redis
/// speaks TLS only (Debian's build has it).
pub fn start_redis(value: &str, tls: Option<&RedisTls>) -> Option<(Process, SocketAddr)> {
    if !installed("redis-server") || !installed("redis-cli") {
        println!("(redis-server/redis-cli not installed: `{REDIS_INSTALL}`; no Redis column)");
        return None;
    }
    // Redis cannot be told to pick a port itself.
    let port = crate::free_port();
    let listen = match tls {
        None => vec!["--port".to_owned(), port.to_string()],
        Some(tls) => tls.server_args(port),
    };
    let client_tls = tls.map(RedisTls::client_args).unwrap_or_default();
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1"])
        .args(&listen)
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let process = Process(child);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let set = Command::new("redis-cli")
        .args(&client_tls)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "SET",
            "key",
            value,
        ])
        .output()
        .expect("redis-cli runs");
    assert!(
        String::from_utf8_lossy(&set.stdout).contains("OK"),
        "SET failed"
    );
    Some((process, address))
}

/// `redis-benchmark`'s own result for GET: requests per second, p50 and p99 (ms).
pub struct RedisBenchmark {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Runs `redis-benchmark -t get` with `clients` connections and `pipeline` requests in
/// flight on each, for `requests` requests; `None` when it is not installed.
pub fn redis_benchmark(
    address: SocketAddr,
    clients: usize,
    pipeline: usize,
    requests: usize,
    tls: Option<&RedisTls>,
) -> Option<RedisBenchmark> {
    if !installed("redis-benchmark") {
        return None;
    }
    let output = Command::new("redis-benchmark")
        .args(tls.map(RedisTls::client_args).unwrap_or_default())
        .args(["-h", "127.0.0.1", "-p", &address.port().to_string()])
        .args(["-t", "get", "--csv"])
        .args(["-c", &clients.to_string()])
        .args(["-P", &pipeline.to_string()])
        .args(["-n", &requests.to_string()])
        .output()
        .expect("redis-benchmark runs");
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
    // "p99_latency_ms","max_latency_ms"
    let text = String::from_utf8_lossy(&output.stdout);
    let row = text.lines().find(|line| line.starts_with("\"GET\""))?;
    let fields: Vec<f64> = row
        .split(',')
        .skip(1)
        .map(|field| field.trim_matches('"').parse().unwrap_or(f64::NAN))
        .collect();
    Some(RedisBenchmark {
        requests_per_sec: fields[0],
        p50_ms: fields[3],
        p99_ms: fields[5],
    })
}
