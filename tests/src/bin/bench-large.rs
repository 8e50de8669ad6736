//! `bench-large`: 16, 64 and 256 MiB workspace values through the Python client, against
//! redis-py `SET`/`GET` of the same bytes on a throwaway `redis-server`, in the same run
//! (issue 11, "Large values"; docs/performance.md).
//!
//! `cargo run --release -p labsocket-e2e --bin bench-large [-- --runs N --sizes 16,64,256]`
//!
//! The server is the release binary with its default limits (a 256 MiB array fits). For
//! each size, `tests/python/bench_large.py` times `Client.set(name, array)` and
//! `Client.get(name)` of a float64 numpy array (binary frames, durable in redb before the
//! reply) and redis-py `SET`/`GET` of the array's `.npy` bytes (Redis with persistence
//! off: in memory only), interleaved run by run; each number is the median of the runs
//! (default 5). MB/s is 10^6 bytes per second of the stored size.

use std::time::Duration;

use labsocket_e2e::bench::peers::start_redis;
use labsocket_e2e::bench::stats::median;
use labsocket_e2e::python::run_script;
use labsocket_e2e::Server;
use serde_json::Value;

const CONFIG: &str = "[native]\nheartbeat_secs = 0\n[limits]\ncommand_timeout_secs = 600\n";

fn main() {
    let mut runs = 5usize;
    let mut sizes = "16,64,256".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--sizes" => sizes = args.next().expect("--sizes 16,64,256"),
            other => panic!("unknown argument {other:?} (--runs N, --sizes 16,64,256)"),
        }
    }
    let Some((_redis, redis)) = start_redis("warm", None) else {
        panic!("bench-large needs redis-server as its peer");
    };
    let server = Server::start_release(CONFIG);
    let native = server.native();
    let mut script_args = vec![
        native.ip().to_string(),
        native.port().to_string(),
        redis.port().to_string(),
        runs.to_string(),
    ];
    script_args.extend(sizes.split(',').map(str::to_owned));
    let out = run_script("bench_large.py", &script_args, Duration::from_secs(3600));
    assert!(
        out.status.success(),
        "bench_large.py failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    println!(
        "bench-large: median of {runs} runs, MB/s = 10^6 bytes/s of the stored value; load average at the end: {}\n",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "| size | labsocket set | Redis SET | set ratio | labsocket get | Redis GET | get ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let row: Value = serde_json::from_str(line).expect("a JSON row");
        let bytes = row["bytes"].as_f64().unwrap();
        let rate = |key: &str| {
            let mut secs: Vec<f64> = row[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|secs| secs.as_f64().unwrap())
                .collect();
            bytes / median(&mut secs) / 1e6
        };
        let (set, redis_set) = (rate("set_secs"), rate("redis_set_secs"));
        let (get, redis_get) = (rate("get_secs"), rate("redis_get_secs"));
        println!(
            "| {} MiB | {set:.0} MB/s | {redis_set:.0} MB/s | {:.2}x | {get:.0} MB/s | {redis_get:.0} MB/s | {:.2}x |",
            row["mib"],
            set / redis_set,
            get / redis_get
        );
    }
}
