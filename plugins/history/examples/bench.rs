//! Ingest benchmark: the recorder's path against the SQLite floor, in one run.
//!
//! `cargo run --release -p history --example bench [ROWS] [CODENAMES]`
//! (defaults 1,000,000 rows over 100 codenames; float y, x = time).
//!
//! - floor: the same rows inserted by one thread with a prepared statement in transactions
//!   of 10,000, into the same schema (index included), WAL + synchronous=NORMAL.
//! - recorder: `points_batch` payloads (`[[codename, time, x, y], ...]`) pushed through
//!   `Feeder::push_batch` as the host's delivery thread would (payloads built beforehand:
//!   building them is the host's cost), timed until `flush` returns with every row
//!   committed. Run with 1 and with 10 points per batch.
//! - postgres (only with `HISTORY_BENCH_POSTGRES_URL=postgres://...`): the recorder into
//!   that server, 10 points per event.
//! - queries: `history.query` latency on one codename holding a day at 10 Hz (864,000 rows):
//!   M4 of the day to 1,000 and 2,000 points (from the rollups), M4 of an hour to 1,000
//!   (10 s rollup buckets are wider than its 14.4 s M4 buckets' halves: mostly raw rows),
//!   raw rows of an hour; and the file's bytes per row after a checkpoint.
//!
//! Goal (task brief): recorder ≥ 50% of the floor and ≥ 200,000 points/s. Three interleaved
//! rounds, best of each, with the CPU time per row: on a busy machine the wall rates swing,
//! the CPU per row does not.

use std::sync::Arc;
use std::time::Instant;

use history::{Config, History, Log, QueryParams};
use serde_json::{json, Value};

const BATCH: usize = 10_000;
const ROUNDS: usize = 3;

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map_or(1_000_000, |a| a.parse().expect("ROWS"));
    let codenames: usize = args.next().map_or(100, |a| a.parse().expect("CODENAMES"));
    let names: Vec<String> = (0..codenames)
        .map(|i| format!("bench_codename_{i:04}"))
        .collect();
    let start_time = 1.7e9;
    let point = |i: usize| (start_time + i as f64 * 1e-3, (i as f64 * 0.001).sin());

    println!(
        "{rows} rows over {} codenames, {ROUNDS} rounds interleaved; best wall rate of each, CPU of that round",
        names.len()
    );
    // Interleaved rounds, best of each: other work on a shared machine slows single runs.
    let mut best_floor = (0.0, 0.0);
    let mut best_recorder = [(0.0, 0.0, 0.0); 2];
    for _ in 0..ROUNDS {
        let cpu = cpu_secs();
        let rate = floor(rows, &names, &point);
        let used = (cpu_secs() - cpu) / rows as f64 * 1e6;
        if rate > best_floor.0 {
            best_floor = (rate, used);
        }
        for (slot, per_event) in best_recorder.iter_mut().zip([1, 10]) {
            let run = recorder(rows, &names, per_event, &point);
            if run.0 > slot.0 {
                *slot = run;
            }
        }
    }
    let (floor, floor_cpu) = best_floor;
    println!("floor     (batched inserts, one thread):   {floor:>9.0} rows/s,   CPU {floor_cpu:.2} µs/row");
    for ((total, push, used), per_event) in best_recorder.into_iter().zip([1, 10]) {
        println!(
            "recorder  ({per_event:>2} points/event, push→commit): {total:>9.0} points/s = {:.0}% of the floor, CPU {used:.2} µs/point (both threads); push alone {push:.0}/s",
            100.0 * total / floor
        );
    }
    queries();
    if let Ok(url) = std::env::var("HISTORY_BENCH_POSTGRES_URL") {
        postgres(&url, rows, &names, &point);
    }
}

/// The recorder into PostgreSQL (10 points per event), when HISTORY_BENCH_POSTGRES_URL
/// names a server whose `points`/`codenames` tables may be used.
fn postgres(url: &str, rows: usize, names: &[String], point: &dyn Fn(usize) -> (f64, f64)) {
    let config = Config::from_json(json!({
        "store": "postgres", "url": url, "retention_days": 0, "max_buffered_points": 100_000_000
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(&config, dir.path(), quiet_log()).unwrap();
    let mut feeder = history.feeder().unwrap();
    let events = events(rows, names, 10, point);
    let cpu = cpu_secs();
    let started = Instant::now();
    for payload in events {
        feeder.push_batch(&payload, 0);
    }
    let stats = history.flush().unwrap();
    let total = started.elapsed().as_secs_f64();
    let used = (cpu_secs() - cpu) / rows as f64 * 1e6;
    assert_eq!(stats.rows_written as usize, rows, "{stats:?}");
    println!(
        "postgres  (10 points/event, push→commit): {:>9.0} points/s, CPU {used:.2} µs/point in this process",
        rows as f64 / total
    );
    history.stop();
}

/// Query latency on one codename holding a day at 10 Hz, and the file's bytes per row.
fn queries() {
    const DAY: usize = 864_000;
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(&config(), dir.path(), quiet_log()).unwrap();
    let mut feeder = history.feeder().unwrap();
    let start = 1.7e9;
    for i in 0..DAY {
        let time = start + i as f64 * 0.1;
        let payload = json!([["one", time, time, (i as f64 * 1e-4).sin()]]);
        feeder.push_batch(payload.to_string().as_bytes(), 0);
    }
    history.flush().unwrap();
    let path = history.path().unwrap().to_owned();
    let con = rusqlite::Connection::open(&path).unwrap();
    con.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len() as f64 / DAY as f64;
    println!("disk      {DAY} rows of one codename, after a checkpoint: {bytes:.1} bytes/row");
    let end = start + (DAY - 1) as f64 * 0.1;
    let timed = |label: &str, params: Value| {
        let params: QueryParams = serde_json::from_value(params).unwrap();
        // Best of 5: the first run also reads the pages from the OS cache.
        let mut best = f64::INFINITY;
        let mut n = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let reply = history.query(&params).unwrap();
            best = best.min(started.elapsed().as_secs_f64() * 1e3);
            n = reply["one"]["time"].as_array().unwrap().len();
        }
        println!("query     {label}: {best:.1} ms ({n} rows back)");
    };
    for max_points in [1000, 2000] {
        timed(
            &format!("M4 of a day ({DAY} rows) to max_points {max_points}"),
            json!({"codenames": ["one"], "from": start, "to": end, "max_points": max_points}),
        );
    }
    timed(
        "M4 of an hour (36,000 rows) to max_points 1000",
        json!({"codenames": ["one"], "from": start, "to": start + 3600.0, "max_points": 1000}),
    );
    timed(
        "raw rows of an hour",
        json!({"codenames": ["one"], "from": start, "to": start + 3599.95}),
    );
    history.stop();
}

/// `points` event payloads of `per_event` points each, with their set times.
fn events(
    rows: usize,
    names: &[String],
    per_event: usize,
    point: &dyn Fn(usize) -> (f64, f64),
) -> Vec<Vec<u8>> {
    (0..rows)
        .step_by(per_event)
        .map(|first| {
            let (time, _) = point(first);
            let entries: Vec<Value> = (first..(first + per_event).min(rows))
                .map(|j| {
                    let (x, y) = point(j);
                    json!([names[j % names.len()], time, x, y])
                })
                .collect();
            serde_json::to_vec(&entries).unwrap()
        })
        .collect()
}

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux; 0 elsewhere).
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the ")" of the command name; utime and stime are the 12th and 13th.
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0 // USER_HZ is 100 on Linux
}

fn quiet_log() -> Log {
    Arc::new(|_, line: &str| eprintln!("{line}"))
}

fn config() -> Config {
    // Nothing must be dropped: the buffer holds the whole run.
    Config::from_json(json!({"retention_days": 0, "max_buffered_points": 100_000_000})).unwrap()
}

/// Rows/s of plain batched inserts into the recorder's schema.
fn floor(rows: usize, names: &[String], point: &dyn Fn(usize) -> (f64, f64)) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    // Let the plugin create the schema, then write around it.
    let history = History::open(&config(), dir.path(), quiet_log()).unwrap();
    let path = history.path().unwrap().to_owned();
    history.stop();
    drop(history);
    let mut con = rusqlite::Connection::open(&path).unwrap();
    con.pragma_update(None, "synchronous", "NORMAL").unwrap();
    let ids: Vec<i64> = names
        .iter()
        .map(|name| {
            con.execute("INSERT INTO codenames (codename) VALUES (?1)", [name])
                .unwrap();
            con.last_insert_rowid()
        })
        .collect();
    let started = Instant::now();
    let mut i = 0;
    while i < rows {
        let tx = con.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO points (codename_id, time, x, y) VALUES (?1, ?2, NULL, ?3)",
                )
                .unwrap();
            for j in i..(i + BATCH).min(rows) {
                let (time, y) = point(j);
                insert
                    .execute(rusqlite::params![ids[j % ids.len()], time, y])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
        i += BATCH;
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

/// (points/s from the first push to the last commit, points/s of the pushes alone, CPU
/// µs per point over both threads).
fn recorder(
    rows: usize,
    names: &[String],
    per_event: usize,
    point: &dyn Fn(usize) -> (f64, f64),
) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(&config(), dir.path(), quiet_log()).unwrap();
    let mut feeder = history.feeder().unwrap();
    let events = events(rows, names, per_event, point);
    let cpu = cpu_secs();
    let started = Instant::now();
    for payload in events {
        feeder.push_batch(&payload, 0);
    }
    let pushed = started.elapsed().as_secs_f64();
    let stats = history.flush().unwrap();
    let total = started.elapsed().as_secs_f64();
    let cpu = (cpu_secs() - cpu) / rows as f64 * 1e6;
    assert_eq!(stats.points_dropped, 0);
    assert_eq!(stats.rows_written as usize, rows, "{stats:?}");
    history.stop();
    (rows as f64 / total, rows as f64 / pushed, cpu)
}
