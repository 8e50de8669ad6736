//! `bench-history`: the history plugin measured through the real release binary, each number
//! beside its peer from the same run (issue 13's table).
//!
//! `cargo run --release -p labsocket-e2e --bin bench-history [-- --points N --connections C]`
//!
//! 1. Ingest: N `set_point`s (default 1,000,000 over 100 codenames, x = timestamp = the
//!    row's time) pipelined over C native connections (default 4), timed from the first
//!    write until `history.stats` says every row is written (`history.flush` is called
//!    once the last reply is in, so the last rows do not wait for the flush interval). Peer: the SQLite floor, the
//!    same rows inserted by one thread in transactions of 10,000 into a file with the
//!    server's schema (copied from its file).
//! 2. Disk: the history file's bytes per stored row after `PRAGMA wal_checkpoint(TRUNCATE)`
//!    (indexes, rollups and the codename table included). Peer: the same rows in a
//!    PostgreSQL table of the plugin's PostgreSQL schema (`pg_total_relation_size`), on a
//!    throw-away server (`initdb` + `postgres` on a free loopback port).
//! 3. M4: one codename holding a day at 10 Hz (864,000 rows, set through the server),
//!    `history.query` with `max_points` 1,000 over the day, median of 5. Peer: the same
//!    M4 in PostgreSQL, as one SQL query (the M4 paper's group-by-bucket and join) over the
//!    same rows with an index on (codename_id, time).
//! 4. UDP: `<codename>#json` requests/s of a pull socket (one in flight, median of 3 runs of
//!    3 s) while 10,000 points/s are set (and recorded), against the same with no points
//!    set, runs interleaved.
//!
//! Without PostgreSQL installed the peer columns of 2 and 3 say so. Everything runs on
//! 127.0.0.1 and stops by itself.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labsocket_e2e::bench::stats::median;
use labsocket_e2e::{RpcClient, Server, TempDir};
use serde_json::{json, Value};

/// Requests written at once per connection; two such chunks are in flight at most, so
/// neither side's socket buffers fill while the other waits.
const CHUNK: usize = 500;
const CODENAMES: usize = 100;
const FLOOR_BATCH: usize = 10_000;
const DAY_ROWS: usize = 864_000;
const PULL_CODENAME: &str = "temperature";
/// Rows before this time: far enough in the past that no clock step meets them.
const T0: f64 = 1.6e9;

fn codename(i: usize) -> String {
    format!("bench_{i:03}")
}

/// Row `i` of the ingest: (codename index, time, y).
fn ingest_row(i: usize) -> (usize, f64, f64) {
    (i % CODENAMES, T0 + i as f64 * 1e-3, (i as f64 * 1e-3).sin())
}

/// Row `i` of the day: time and y.
fn day_row(i: usize) -> (f64, f64) {
    (
        T0 + 1e6 + i as f64 * 0.1,
        (i as f64 * 1e-4).sin() + (i % 7) as f64 * 1e-3,
    )
}

/// Sends `set_point [codename, t, y, t]` for every row from `connections` connections,
/// pipelined, and waits for every reply (each must be a result, not an error).
fn set_points(native: SocketAddr, connections: usize, rows: &[(String, f64, f64)]) {
    let chunks: Vec<&[(String, f64, f64)]> = rows.chunks(CHUNK).collect();
    std::thread::scope(|scope| {
        for c in 0..connections {
            let mine: Vec<&[(String, f64, f64)]> = chunks
                .iter()
                .skip(c)
                .step_by(connections)
                .copied()
                .collect();
            scope.spawn(move || send_chunks(native, &mine));
        }
    });
}

fn send_chunks(native: SocketAddr, chunks: &[&[(String, f64, f64)]]) {
    let mut stream = TcpStream::connect(native).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut replies = BufReader::new(stream.try_clone().unwrap());
    replies
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut line = String::new();
    let mut id = 0u64;
    let mut pending: Option<usize> = None;
    for chunk in chunks {
        let mut batch = String::with_capacity(chunk.len() * 100);
        for (codename, time, y) in *chunk {
            id += 1;
            batch.push_str(&format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"set_point\",\"params\":[\"{codename}\",{time},{y},{time}]}}\n"
            ));
        }
        stream.write_all(batch.as_bytes()).unwrap();
        // Read the previous chunk's replies while this one is on its way.
        if let Some(n) = pending.replace(chunk.len()) {
            read_replies(&mut replies, &mut line, n);
        }
    }
    if let Some(n) = pending {
        read_replies(&mut replies, &mut line, n);
    }
}

fn read_replies(replies: &mut BufReader<TcpStream>, line: &mut String, n: usize) {
    for _ in 0..n {
        line.clear();
        let read = replies.read_line(line).expect("a reply within 60 s");
        assert!(read > 0, "the server closed the connection");
        assert!(line.contains("\"result\""), "set_point failed: {line}");
    }
}

/// `history.stats` until `rows_written` plus the points the host's bus dropped before
/// history saw them (`events_lost`, one point per event here) reach `target` with nothing
/// buffered (at most `timeout`).
fn wait_rows_written(rpc: &mut RpcClient, target: u64, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let stats = rpc.call("history.stats", json!({}));
        let count = |key: &str| stats[key].as_u64().unwrap_or(0);
        if count("rows_written") + count("events_lost") >= target && count("buffered") == 0 {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "history did not write {target} rows within {timeout:?}: {stats}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// CPU seconds process `pid` ("self" for this one) has used: in all by the key "all" (its
/// ended threads included), and by each live thread's name (Linux `/proc`; empty
/// elsewhere).
fn thread_cpu(pid: &str) -> std::collections::BTreeMap<String, f64> {
    /// `pid (comm) state ...`: the name may hold spaces, so split after its `)`; utime
    /// and stime are fields 14 and 15 of the line, in clock ticks (100/s).
    fn name_and_secs(stat: &str) -> Option<(String, f64)> {
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some((stat[open + 1..close].to_owned(), ticks as f64 / 100.0))
    }
    let mut by_name = std::collections::BTreeMap::new();
    let stat = |path: String| std::fs::read_to_string(path).ok();
    if let Some((_, secs)) = stat(format!("/proc/{pid}/stat")).and_then(|s| name_and_secs(&s)) {
        by_name.insert("all".to_owned(), secs);
    }
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let found = stat(task.path().join("stat").display().to_string());
        if let Some((name, secs)) = found.and_then(|s| name_and_secs(&s)) {
            *by_name.entry(name).or_insert(0.0) += secs;
        }
    }
    by_name
}

/// `after - before` per thread name, in µs per point, largest first.
fn cpu_per_point(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
    points: usize,
) -> String {
    let mut used: Vec<(String, f64)> = after
        .iter()
        .map(|(name, secs)| {
            (
                name.clone(),
                secs - before.get(name).copied().unwrap_or(0.0),
            )
        })
        .filter(|(_, secs)| *secs > 0.0)
        .collect();
    used.sort_by(|a, b| b.1.total_cmp(&a.1));
    used.iter()
        .map(|(name, secs)| format!("{name} {:.2}", secs * 1e6 / points as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQLite floor: `rows` inserted by one thread, batched, into a fresh file with the
/// tables and indexes of `schema_from`. Rows/s.
fn sqlite_floor(schema_from: &Path, dir: &Path, rows: usize) -> f64 {
    let source = rusqlite::Connection::open_with_flags(
        schema_from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let ddl: Vec<String> = source
        .prepare(
            "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let path = dir.join("floor.sqlite3");
    let _ = std::fs::remove_file(&path);
    let mut con = rusqlite::Connection::open(&path).unwrap();
    con.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    con.pragma_update(None, "synchronous", "NORMAL").unwrap();
    for statement in &ddl {
        con.execute_batch(statement).unwrap();
    }
    for i in 0..CODENAMES {
        con.execute(
            "INSERT INTO codenames (id, codename) VALUES (?1, ?2)",
            rusqlite::params![i as i64 + 1, codename(i)],
        )
        .unwrap();
    }
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
            for j in i..(i + FLOOR_BATCH).min(rows) {
                let (c, time, y) = ingest_row(j);
                insert
                    .execute(rusqlite::params![c as i64 + 1, time, y])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
        i += FLOOR_BATCH;
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

/// Bytes per stored row of the server's history file after a checkpoint into it.
fn sqlite_bytes_per_row(file: &Path, rows: u64) -> f64 {
    let con = rusqlite::Connection::open(file).unwrap();
    con.busy_timeout(Duration::from_secs(10)).unwrap();
    let (busy, _, _): (i64, i64, i64) = con
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint was blocked by a reader");
    let wal = file.with_extension("sqlite3-wal");
    let bytes = std::fs::metadata(file).unwrap().len()
        + std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    bytes as f64 / rows as f64
}

/// The history plugin's PostgreSQL table (store = "postgres"), its plain form.
const PG_SCHEMA: &str = "
CREATE TABLE points (
    codename_id INTEGER NOT NULL,
    time  DOUBLE PRECISION NOT NULL,
    x     JSONB,
    y     JSONB,
    y_num DOUBLE PRECISION
);
CREATE INDEX points_codename_time ON points (codename_id, time);
";

/// Copies `rows` `(codename_id, time, y)` into PostgreSQL's `points` (x = time).
fn pg_copy(client: &mut postgres::Client, rows: impl Iterator<Item = (i32, f64, f64)>) {
    let mut writer = client
        .copy_in("COPY points (codename_id, time, x, y, y_num) FROM STDIN")
        .unwrap();
    let mut text = String::new();
    for (id, time, y) in rows {
        text.push_str(&format!("{id}\t{time}\t{time}\t{y}\t{y}\n"));
        if text.len() > 1 << 20 {
            writer.write_all(text.as_bytes()).unwrap();
            text.clear();
        }
    }
    writer.write_all(text.as_bytes()).unwrap();
    writer.finish().unwrap();
}

/// M4 as one SQL query (Jugel et al.: per bucket the min/max time and value, joined back
/// to the rows that have them), over one codename's `[from, to]` in `buckets` buckets.
const PG_M4: &str = "
WITH b AS (
    SELECT time, y_num, LEAST(floor((time - $2) / ($3 - $2) * $4), $4 - 1) AS k
    FROM points WHERE codename_id = $1 AND time >= $2 AND time <= $3
), a AS (
    SELECT k, min(time) AS t1, max(time) AS t2, min(y_num) AS v1, max(y_num) AS v2
    FROM b GROUP BY k
)
SELECT b.time, b.y_num FROM b JOIN a USING (k)
WHERE b.time = a.t1 OR b.time = a.t2 OR b.y_num = a.v1 OR b.y_num = a.v2
ORDER BY b.time";

/// PostgreSQL's numbers: bytes per row of the ingest's rows, and the day's M4 in ms
/// (median of 5) with the rows it returned.
fn postgres_peer(points: usize) -> Result<(f64, f64, usize), String> {
    let server = labsocket_e2e::postgres::TempPostgres::start()
        .ok_or_else(|| "PostgreSQL is not installed here".to_owned())?;
    let mut client =
        postgres::Client::connect(&server.url(), postgres::NoTls).map_err(|err| err.to_string())?;
    client.batch_execute(PG_SCHEMA).unwrap();
    pg_copy(
        &mut client,
        (0..points).map(|i| {
            let (c, time, y) = ingest_row(i);
            (c as i32 + 1, time, y)
        }),
    );
    // Separate statements: VACUUM cannot run in the implicit transaction of a batch.
    client.batch_execute("VACUUM ANALYZE points").unwrap();
    client.batch_execute("CHECKPOINT").unwrap();
    let bytes: i64 = client
        .query_one("SELECT pg_total_relation_size('points')", &[])
        .unwrap()
        .get(0);
    let per_row = bytes as f64 / points as f64;
    let day_id = 1000i32;
    pg_copy(
        &mut client,
        (0..DAY_ROWS).map(|i| {
            let (time, y) = day_row(i);
            (day_id, time, y)
        }),
    );
    client.batch_execute("VACUUM ANALYZE points").unwrap();
    let (from, to) = (day_row(0).0, day_row(DAY_ROWS - 1).0);
    let statement = client.prepare(PG_M4).unwrap();
    let mut times = Vec::new();
    let mut returned = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let rows = client
            .query(&statement, &[&day_id, &from, &to, &250.0f64])
            .unwrap();
        times.push(started.elapsed().as_secs_f64() * 1e3);
        returned = rows.len();
    }
    Ok((per_row, median(&mut times), returned))
}

/// `<codename>#json` requests/s of the pull socket, one in flight, for `duration`.
fn udp_rate(pull: SocketAddr, duration: Duration) -> f64 {
    let request = format!("{PULL_CODENAME}#json");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(pull).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buffer = [0u8; 2048];
    let mut answered = 0u64;
    let started = Instant::now();
    while started.elapsed() < duration {
        socket.send(request.as_bytes()).unwrap();
        if let Ok(length) = socket.recv(&mut buffer) {
            assert!(
                buffer[..length].ends_with(b", 21.5]"),
                "unexpected reply {:?}",
                String::from_utf8_lossy(&buffer[..length])
            );
            answered += 1;
        }
    }
    answered as f64 / started.elapsed().as_secs_f64()
}

/// Sets `per_sec` points/s (over the ingest's codenames, in 100 steps a second) until
/// `stop`; returns how many it set.
fn steady_points(native: SocketAddr, per_sec: usize, stop: &AtomicBool) -> u64 {
    let per_tick = per_sec / 100;
    let mut stream = TcpStream::connect(native).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut replies = BufReader::new(stream.try_clone().unwrap());
    replies
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut line = String::new();
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let mut batch = String::new();
        let now = labsocket_e2e::points::now();
        for j in 0..per_tick {
            sent += 1;
            batch.push_str(&format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{sent},\"method\":\"set_point\",\"params\":[\"{}\",{now},{j},{now}]}}\n",
                codename(j % CODENAMES)
            ));
        }
        stream.write_all(batch.as_bytes()).unwrap();
        read_replies(&mut replies, &mut line, per_tick);
        tick += 1;
        // Paced by the clock: the next tick starts 10 ms after the previous one was due.
        let due = started + Duration::from_millis(10) * tick;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    sent
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut points, mut connections) = (1_000_000usize, 4usize);
    while let Some(arg) = args.next() {
        let mut number = || -> usize {
            args.next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{arg} takes a number"))
        };
        match arg.as_str() {
            "--points" => points = number(),
            "--connections" => connections = number(),
            other => panic!(
                "unknown argument {other} (usage: bench-history [--points N] [--connections C])"
            ),
        }
    }
    let config = format!(
        "[server]\ndata_dir = \"data\"\n\
         [history]\nretention_days = 0\nmax_buffered_points = 20000000\n\
         [[pull_socket]]\nname = \"bench\"\nport = 0\ncodenames = [\"{PULL_CODENAME}\"]\ntimeout = 3600.0\n"
    );
    let server = Server::start_release(&config);
    let mut rpc = server.rpc();
    let probe = rpc.request("history.stats", json!({}));
    if probe.get("result").is_none() {
        eprintln!(
            "bench-history: this labsocket does not answer history.stats ({probe}); the history plugin must be loaded"
        );
        std::process::exit(2);
    }
    let file = server
        .dir
        .path()
        .join("data/plugins/history")
        .join("history.sqlite3");
    println!(
        "bench-history: {points} points over {CODENAMES} codenames from {connections} connections; {} CPUs, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );

    // 1. Ingest, then the floor on the server's schema.
    let rows: Vec<(String, f64, f64)> = (0..points)
        .map(|i| {
            let (c, time, y) = ingest_row(i);
            (codename(c), time, y)
        })
        .collect();
    let server_pid = server.pid().to_string();
    let (server_cpu, client_cpu) = (thread_cpu(&server_pid), thread_cpu("self"));
    let started = Instant::now();
    set_points(server.native(), connections, &rows);
    // Every point is acknowledged: commit now rather than at the next flush_interval tick
    // (up to 0.5 s of waiting that is the configured latency, not the ingest rate).
    rpc.call("history.flush", json!({}));
    let stats = wait_rows_written(&mut rpc, points as u64, Duration::from_secs(300));
    let written = stats["rows_written"].as_u64().unwrap();
    let ingest = written as f64 / started.elapsed().as_secs_f64();
    let ingest_cpu = format!(
        "server: {}; bench client: {}",
        cpu_per_point(&server_cpu, &thread_cpu(&server_pid), points),
        cpu_per_point(&client_cpu, &thread_cpu("self"), points)
    );
    let lost = stats["events_lost"].as_u64().unwrap();
    assert_eq!(stats["points_dropped"], json!(0), "{stats}");
    drop(rows);
    let scratch = TempDir::new("bench-history-floor");
    let floor = sqlite_floor(&file, scratch.path(), points);

    // 2. Disk per row, after a flush and a checkpoint.
    rpc.call("history.flush", json!({}));
    let stored: u64 = rpc
        .call("history.codenames", json!({}))
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, written, "every written row is stored once");
    let disk = sqlite_bytes_per_row(&file, stored);

    // 3. A day at 10 Hz in one codename, then its M4.
    let day: Vec<(String, f64, f64)> = (0..DAY_ROWS)
        .map(|i| {
            let (time, y) = day_row(i);
            ("day".to_owned(), time, y)
        })
        .collect();
    set_points(server.native(), connections, &day);
    drop(day);
    let day_stats = wait_rows_written(
        &mut rpc,
        (points + DAY_ROWS) as u64,
        Duration::from_secs(300),
    );
    let day_lost = day_stats["events_lost"].as_u64().unwrap() - lost;
    let (from, to) = (day_row(0).0, day_row(DAY_ROWS - 1).0);
    let mut m4_ms = Vec::new();
    let mut m4_rows = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let reply = rpc.call(
            "history.query",
            json!({"codenames": ["day"], "from": from, "to": to, "max_points": 1000}),
        );
        m4_ms.push(started.elapsed().as_secs_f64() * 1e3);
        m4_rows = reply["day"]["time"].as_array().unwrap().len();
    }
    let m4 = median(&mut m4_ms);
    assert!((4..=1000).contains(&m4_rows), "{m4_rows} rows back");

    // 4. UDP pull throughput with and without 10,000 points/s being recorded.
    rpc.call("set_point_now", json!([PULL_CODENAME, 21.5]));
    let pull = server.address("pull.0");
    udp_rate(pull, Duration::from_millis(300));
    let (mut idle, mut loaded) = (Vec::new(), Vec::new());
    // Written plus lost before: the wait below is for written plus lost.
    let before = {
        let stats = rpc.call("history.stats", json!({}));
        stats["rows_written"].as_u64().unwrap() + stats["events_lost"].as_u64().unwrap()
    };
    let mut set = 0;
    for _ in 0..3 {
        idle.push(udp_rate(pull, Duration::from_secs(3)));
        let stop = Arc::new(AtomicBool::new(false));
        let native = server.native();
        let setter = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || steady_points(native, 10_000, &stop))
        };
        loaded.push(udp_rate(pull, Duration::from_secs(3)));
        stop.store(true, Ordering::Relaxed);
        set += setter.join().unwrap();
    }
    let recorded = wait_rows_written(&mut rpc, before + set, Duration::from_secs(60));
    let (idle, loaded) = (median(&mut idle), median(&mut loaded));

    // PostgreSQL peers last: they share the CPUs with nothing else then.
    let peer = postgres_peer(points);

    println!();
    println!(
        "{:<58} {:>14} {:>22} {:>8} {:>22}",
        "what", "labsocket", "peer", "ratio", "goal"
    );
    println!(
        "{:<58} {:>12.0}/s {:>20.0}/s {:>7.0}% {:>22}",
        "ingest: pipelined set_point until history wrote them",
        ingest,
        floor,
        100.0 * ingest / floor,
        ">= 200,000/s, >= 50%"
    );
    match &peer {
        Ok((pg_bytes, pg_m4, pg_rows)) => {
            println!(
                "{:<58} {:>12.1} B {:>20.1} B {:>7.0}% {:>22}",
                "disk per row (SQLite after checkpoint; PG plain table)",
                disk,
                pg_bytes,
                100.0 * disk / pg_bytes,
                "<= 40 B"
            );
            println!(
                "{:<58} {:>11.1} ms {:>19.1} ms {:>7.0}% {:>22}",
                format!("M4 of {DAY_ROWS} rows to max_points 1000 ({m4_rows} / {pg_rows} rows)"),
                m4,
                pg_m4,
                100.0 * m4 / pg_m4,
                "<= 50 ms"
            );
        }
        Err(why) => {
            println!(
                "{:<58} {:>12.1} B {:>22} {:>8} {:>22}",
                "disk per row (SQLite after checkpoint)", disk, "(no PostgreSQL)", "", "<= 40 B"
            );
            println!(
                "{:<58} {:>11.1} ms {:>22} {:>8} {:>22}",
                format!("M4 of {DAY_ROWS} rows to max_points 1000 ({m4_rows} rows)"),
                m4,
                "(no PostgreSQL)",
                "",
                "<= 50 ms"
            );
            println!("PostgreSQL peer skipped: {why}");
        }
    }
    println!(
        "{:<58} {:>12.0}/s {:>20.0}/s {:>7.0}% {:>22}",
        "UDP pull requests while 10,000 points/s are recorded",
        loaded,
        idle,
        100.0 * loaded / idle,
        ">= 90%"
    );
    println!(
        "lossless: ingest {points} points set, {stored} rows stored, {lost} lost on the way (history.stats events_lost); day {DAY_ROWS} set, {} stored, {day_lost} lost",
        day_stats["rows_written"].as_u64().unwrap() - written
    );
    if lost + day_lost > 0 {
        println!(
            "NOTE: the host dropped {lost} of the {points} ingest points and {day_lost} of the day's {DAY_ROWS} before history saw them; the ingest rate counts written rows only"
        );
    }
    println!("CPU µs per point during the ingest, by thread: {ingest_cpu}");
    println!(
        "(peers: SQLite floor, PostgreSQL, the same pull socket with no points set; {} points set during the UDP runs, history wrote {} rows in all)",
        set, recorded["rows_written"]
    );
    let _ = std::io::stdout().flush();
}
