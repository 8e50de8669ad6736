//! Crash-durability soak: CYCLES times (default 100), start the server on the same data
//! directory, check that every write acknowledged before the previous crash is stored and
//! the store opens, run WRITERS concurrent writers (PyMiner `write_p` and native
//! `workspace.set`, alternating, plus one writer of a setting), and `kill -9` the server at
//! a random moment (0–400 ms into the writes).
//!
//! Run: `cargo run -p labsocket-e2e --bin soak-durability [CYCLES] [WRITERS]`
//! (the debug binary: crash safety does not depend on optimisation). Exits non-zero, with
//! the cycle and the variable, on the first acknowledged write that is missing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use labsocket_e2e::durability::{check_acknowledged, unpickle_int, writer, Acknowledged};
use labsocket_e2e::{RpcClient, Server, TempDir};
use serde_json::json;

const CONFIG: &str = "[native]\nheartbeat_secs = 0\n[pyminer]\nheartbeat_secs = 0\n";

/// Sets the `locale` setting to `n1`, `n2`, ... and records the last acknowledged `n`.
fn settings_writer(
    native: std::net::SocketAddr,
    first: u64,
    acked: Arc<Mutex<u64>>,
    stop: Arc<AtomicBool>,
) {
    let mut n = first;
    while !stop.load(Ordering::Relaxed) {
        let reply = std::panic::catch_unwind(|| {
            RpcClient::connect(native).request(
                "settings.set",
                json!({"name": "locale", "value": format!("n{n}")}),
            )
        });
        match reply {
            Ok(reply) if reply.get("result").is_some() => *acked.lock().unwrap() = n,
            Ok(reply) => panic!("settings write n{n} refused: {reply}"),
            Err(_) => return,
        }
        n += 1;
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cycles: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let writers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let mut rng = fastrand::Rng::new();
    let started = Instant::now();
    let mut dir = TempDir::new("soak");
    let mut acked_before: HashMap<String, i32> = HashMap::new();
    let mut setting_before = 0u64;
    let mut total_acked = 0u64;
    for cycle in 0..cycles {
        let server = Server::start_in(dir, CONFIG, &[]).unwrap_or_else(|failure| {
            panic!(
                "cycle {cycle}: the server did not restart: {}",
                failure.stderr
            )
        });
        let mut rpc = server.rpc();
        // The store opened (a corrupt one would keep the workspace from loading) and
        // holds every acknowledged write.
        let listed = rpc.request("workspace.list", json!({}));
        assert!(
            listed.get("result").is_some(),
            "cycle {cycle}: workspace not loaded: {listed}\n{}",
            server.stderr()
        );
        check_acknowledged(&mut rpc, &acked_before)
            .unwrap_or_else(|lost| panic!("cycle {cycle}: acknowledged write lost: {lost}"));
        // Each writer goes on from what is stored, acknowledged or not, so that values
        // and versions keep counting together.
        let stored: HashMap<String, i32> = (0..writers)
            .filter_map(|i| {
                let name = format!("w{i}");
                let reply = rpc.request("workspace.get", json!({"name": name}));
                let data = reply.get("result")?["data"].as_str()?.to_owned();
                Some((name, unpickle_int(&data)))
            })
            .collect();
        // What a restarted server shows is committed: from now on it must stay, too.
        acked_before.extend(stored.iter().map(|(name, value)| (name.clone(), *value)));
        let locale = rpc.call("settings.get", json!({}))["locale"].clone();
        let stored_n: u64 = locale
            .as_str()
            .and_then(|l| l.strip_prefix('n'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            stored_n == setting_before || stored_n == setting_before + 1,
            "cycle {cycle}: setting n{setting_before} acknowledged, n{stored_n} stored"
        );
        drop(rpc);

        let (pm, native) = (server.pyminer(), server.native());
        let acked: Acknowledged = Arc::new(Mutex::new(HashMap::new()));
        let setting = Arc::new(Mutex::new(stored_n));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads: Vec<_> = (0..writers)
            .map(|i| {
                let name = format!("w{i}");
                let first = stored.get(&name).map_or(1, |value| value + 1);
                let (acked, stop) = (acked.clone(), stop.clone());
                std::thread::spawn(move || writer(pm, native, name, first, acked, stop))
            })
            .collect();
        {
            let (setting, stop) = (setting.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                settings_writer(native, stored_n + 1, setting, stop)
            }));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..400)));
        dir = server.kill9();
        stop.store(true, Ordering::Relaxed);
        for thread in threads {
            thread.join().expect("a writer failed");
        }
        let acked = acked.lock().unwrap().clone();
        total_acked += acked
            .iter()
            .map(|(name, value)| (value - stored.get(name).copied().unwrap_or(0)) as u64)
            .sum::<u64>();
        acked_before.extend(acked);
        setting_before = *setting.lock().unwrap();
        println!(
            "cycle {:3}: {} writes acknowledged so far, setting n{setting_before}",
            cycle + 1,
            total_acked
        );
    }
    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    check_acknowledged(&mut server.rpc(), &acked_before)
        .unwrap_or_else(|lost| panic!("after the last cycle: acknowledged write lost: {lost}"));
    println!(
        "soak-durability: {cycles} kill -9 cycles, {writers} workspace writers + 1 settings \
         writer, {total_acked} acknowledged workspace writes, 0 lost, store always opened; \
         {:.1?}",
        started.elapsed()
    );
}
