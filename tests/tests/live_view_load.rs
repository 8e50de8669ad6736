//! The live view under load: 100 codenames at 10 Hz reach a WebSocket client without
//! growing lag, and a browser that stops reading neither slows the server nor other
//! browsers, and gets the latest value of every codename once it reads again.
//!
//! Points are set by a native client that pipelines `set_point`s (the fastest way in),
//! and each point's x is the time it was sent, so the receiver measures set-to-receipt
//! lag directly. Run with `--nocapture` to see the numbers.

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use labsocket_e2e::points::{now, PointSetter};
use labsocket_e2e::{LiveViewClient, Server};
use serde_json::Value;

const CODENAMES: usize = 100;

fn codename(i: usize) -> String {
    format!("c{i:03}")
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile(values, 0.5)
}

#[test]
fn a_hundred_codenames_at_10_hz_reach_the_websocket_without_growing_lag() {
    const ROUNDS: usize = 50; // 5 s at 10 Hz
    let server = Server::start("");
    let mut ws = LiveViewClient::connect(server.address("http"), "/ws?topics=points");
    assert_eq!(ws.next_message()["type"], "snapshot");
    let receiver = thread::spawn(move || {
        // (receipt time, lag) per point, and the last y per codename.
        let mut lags: Vec<(f64, f64)> = Vec::new();
        let mut last: HashMap<String, Value> = HashMap::new();
        let mut merged = 0u64;
        loop {
            let message = ws.next_matching("points", |m| m["type"] != "heartbeat");
            assert_ne!(
                message["type"], "lost",
                "a client that keeps up loses nothing"
            );
            let received = now();
            merged += message["coalesced"].as_u64().unwrap_or(1) - 1;
            for (codename, pair) in message["data"].as_object().unwrap() {
                lags.push((received, received - pair[0].as_f64().unwrap()));
                last.insert(codename.clone(), pair[1].clone());
            }
            if last.get("c099") == Some(&Value::from(ROUNDS as u64 - 1)) {
                return (lags, last, merged);
            }
        }
    });
    let mut setter = PointSetter::connect(server.native());
    let start = Instant::now();
    for round in 0..ROUNDS {
        // Paced by the clock, not by sleeps that add up.
        let due = start + Duration::from_millis(100 * round as u64);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        setter.set_all((0..CODENAMES).map(|i| (codename(i), round.to_string())));
    }
    let (lags, last, merged) = receiver.join().unwrap();
    let sent_for = start.elapsed();
    assert_eq!(setter.finish(), (ROUNDS * CODENAMES) as u64);

    assert_eq!(last.len(), CODENAMES);
    assert!(
        last.values().all(|y| y.as_u64() == Some(ROUNDS as u64 - 1)),
        "every codename ends at its last value"
    );
    let received_at_start = lags[0].0;
    let mut all: Vec<f64> = lags.iter().map(|(_, lag)| *lag).collect();
    all.sort_by(f64::total_cmp);
    let mut first_second: Vec<f64> = lags
        .iter()
        .filter(|(at, _)| *at < received_at_start + 1.0)
        .map(|(_, lag)| *lag)
        .collect();
    let mut last_second: Vec<f64> = lags
        .iter()
        .filter(|(at, _)| *at > received_at_start + sent_for.as_secs_f64() - 1.0)
        .map(|(_, lag)| *lag)
        .collect();
    let (p50, p99, max) = (
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all[all.len() - 1],
    );
    let (early, late) = (median(&mut first_second), median(&mut last_second));
    println!(
        "live view load: {} points in {:.2} s ({:.0}/s) to one WebSocket, {} merged by coalescing; \
         set-to-receipt lag p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; median in the first second {:.2} ms, in the last second {:.2} ms",
        lags.len(),
        sent_for.as_secs_f64(),
        lags.len() as f64 / sent_for.as_secs_f64(),
        merged,
        p50 * 1e3,
        p99 * 1e3,
        max * 1e3,
        early * 1e3,
        late * 1e3,
    );
    // Generous margins: this runs beside the whole suite on two cores, in a debug build.
    assert!(p99 < 1.0, "p99 lag {p99} s");
    assert!(late < early + 0.25, "lag grows: {early} s then {late} s");
}

#[test]
fn a_browser_that_stops_reading_slows_nobody_and_catches_up_with_latest_values() {
    const ROUNDS: usize = 25;
    // 100 codenames x 25 rounds x 20 kB: 50 MB, far more than the socket buffers hold.
    let pad = "x".repeat(20_000);
    let server = Server::start("");
    let http = server.address("http");
    let mut stalled = LiveViewClient::connect(http, "/ws?topics=points");
    assert_eq!(stalled.next_message()["type"], "snapshot");
    let mut reader = LiveViewClient::connect(http, "/ws?topics=points");
    assert_eq!(reader.next_message()["type"], "snapshot");
    let keeps_up = thread::spawn(move || {
        let mut finals = 0;
        let mut seen: HashMap<String, bool> = HashMap::new();
        while finals < CODENAMES {
            let message = reader.next_matching("points", |m| m["topic"] == "points");
            for (codename, pair) in message["data"].as_object().unwrap() {
                if pair[1] == "final" && !seen.insert(codename.clone(), true).unwrap_or(false) {
                    finals += 1;
                }
            }
        }
    });

    let mut setter = PointSetter::connect(server.native());
    for round in 0..ROUNDS {
        setter.set_all((0..CODENAMES).map(|i| (codename(i), format!("\"{round}:{pad}\""))));
    }
    setter.set_all((0..CODENAMES).map(|i| (codename(i), "\"final\"".to_owned())));
    assert_eq!(setter.finish(), ((ROUNDS + 1) * CODENAMES) as u64);
    // The reading browser got everything while the other one read nothing.
    keeps_up.join().unwrap();
    let started = Instant::now();
    let mut rpc = server.rpc();
    rpc.call("ping", serde_json::json!([]));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the server stays responsive"
    );

    // The stalled browser now reads: it ends with the latest value of every codename, and
    // its outbox merged events instead of queueing all 2600.
    let mut last: HashMap<String, String> = HashMap::new();
    let mut messages = 0;
    let mut merged = 0;
    while last.len() < CODENAMES || last.values().any(|y| y != "final") {
        let message = stalled.next_matching("points", |m| m["topic"] == "points");
        messages += 1;
        merged += message["coalesced"].as_u64().unwrap_or(1) - 1;
        for (codename, pair) in message["data"].as_object().unwrap() {
            let y = pair[1].as_str().unwrap();
            last.insert(codename.clone(), y.split(':').next().unwrap().to_owned());
        }
    }
    println!(
        "stalled browser: {messages} messages for {} points events, {merged} events merged",
        (ROUNDS + 1) * CODENAMES
    );
    assert!(
        merged > 0,
        "the outbox coalesced while the browser was stalled"
    );
    assert!(messages < (ROUNDS + 1) * CODENAMES);
}
