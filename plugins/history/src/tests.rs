//! Tests of the whole path (feeder → queue → writer → SQLite → queries) and of the file as
//! other programs see it: Python's `sqlite3` reading while we write, and a writer process
//! killed with SIGKILL.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use labsocket_plugin_api::{float_value, Level};
use serde_json::{json, Value};

use crate::{Config, History, Log, QueryParams};

/// The lines a recording log kept.
type Lines = Arc<Mutex<Vec<(Level, String)>>>;

/// A log sink that keeps the lines for assertions.
fn recording_log() -> (Log, Lines) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let log: Log = Arc::new(move |level, line: &str| {
        sink.lock().unwrap().push((level, line.to_owned()));
    });
    (log, lines)
}

fn config(extra: Value) -> Config {
    Config::from_json(extra).unwrap()
}

fn query(history: &History, params: Value) -> Value {
    let params: QueryParams = serde_json::from_value(params).unwrap();
    history.query(&params).unwrap()
}

#[test]
fn points_become_rows_and_queries_return_them_typed() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let history = History::open(&config(json!({})), dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    feeder.push(json!({"a": [1.5, 1], "b": [1.5, "on"]}), 100.0, 0);
    feeder.push(json!({"a": [2.5, 2.0]}), 101.0, 0);
    feeder.push(json!({"a": [3.5, true]}), 102.0, 0);
    let stats = history.flush().unwrap();
    assert_eq!(stats.rows_written, 4);
    assert_eq!(stats.buffered, 0);
    let reply = query(
        &history,
        json!({"codenames": ["a", "b", "none"], "from": 0, "to": 1000}),
    );
    assert_eq!(
        reply.to_string(),
        json!({
            "a": {"time": [100.0, 101.0, 102.0], "x": [1.5, 2.5, 3.5], "y": [1, 2.0, true]},
            "b": {"time": [100.0], "x": [1.5], "y": ["on"]},
            "none": {"time": [], "x": [], "y": []},
        })
        .to_string()
    );
    assert_eq!(
        history.codenames().unwrap(),
        json!([
            {"codename": "a", "first": 100.0, "last": 102.0, "rows": 3},
            {"codename": "b", "first": 100.0, "last": 100.0, "rows": 1},
        ])
    );
    // `to` defaults to now: rows at 100..102 s are long before now.
    let reply = query(&history, json!({"codenames": ["a"], "from": 101}));
    assert_eq!(reply["a"]["time"], json!([101.0, 102.0]));
}

#[test]
fn out_of_range_query_params_are_invalid_params() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let history = History::open(&config(json!({})), dir.path(), log).unwrap();
    let bad = |params: Value| {
        let params: QueryParams = serde_json::from_value(params).unwrap();
        let err = history.query(&params).unwrap_err();
        assert_eq!(err.code, -32602, "{err}");
        err.message
    };
    assert!(bad(json!({"codenames": ["a"], "from": 0, "max_points": 3})).contains("at least 4"));
    assert!(bad(json!({"codenames": ["a"], "from": 10, "to": 5})).contains("before from"));
}

#[test]
fn m4_through_sqlite_keeps_the_spike() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let history = History::open(&config(json!({})), dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    for i in 0..10_000 {
        let y = if i == 6_789 {
            json!(500.0)
        } else {
            json!(i % 7)
        };
        feeder.push(json!({"s": [i, y]}), i as f64, 0);
    }
    history.flush().unwrap();
    let reply = query(
        &history,
        json!({"codenames": ["s"], "from": 0, "to": 9_999, "max_points": 100}),
    );
    let times = reply["s"]["time"].as_array().unwrap();
    let ys = reply["s"]["y"].as_array().unwrap();
    assert!(times.len() <= 100 && times.len() >= 25, "{}", times.len());
    assert_eq!(times.first(), Some(&json!(0.0)));
    assert_eq!(times.last(), Some(&json!(9_999.0)));
    assert!(ys.contains(&json!(500.0)));
    // Real rows: each y matches its time (ints stay ints), x is the stored x.
    for ((t, x), y) in times
        .iter()
        .zip(reply["s"]["x"].as_array().unwrap())
        .zip(ys)
    {
        let i = t.as_f64().unwrap() as i64;
        assert_eq!(x, &json!(i));
        if i != 6_789 {
            assert_eq!(y, &json!(i % 7));
        }
    }
}

#[test]
fn rules_decide_which_points_are_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let config = config(json!({"record": [{"codenames": ["t*"], "min_change": 1.0}]}));
    let history = History::open(&config, dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    for (i, y) in [20.0, 20.5, 21.0, 20.2, 19.9].into_iter().enumerate() {
        feeder.push(json!({"temp": [i, y], "other": [i, y]}), i as f64, 0);
    }
    let stats = history.flush().unwrap();
    assert_eq!(stats.points_received, 10);
    assert_eq!(stats.rows_written, 3);
    assert_eq!(stats.points_skipped, 7);
    let reply = query(
        &history,
        json!({"codenames": ["temp", "other"], "from": 0, "to": 10}),
    );
    assert_eq!(reply["temp"]["y"], json!([20.0, 21.0, 19.9]));
    assert_eq!(reply["other"]["y"], json!([]));
}

#[test]
fn a_full_buffer_drops_and_counts_and_logs_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, lines) = recording_log();
    // A long interval: the writer sleeps while the buffer fills.
    let config = config(json!({"max_buffered_points": 100, "flush_interval_secs": 3600}));
    let history = History::open(&config, dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    for i in 0..30 {
        feeder.push(
            json!({"a": [i, i], "b": [i, i], "c": [i, i], "d": [i, i], "e": [i, i]}),
            i as f64,
            0,
        );
    }
    // Garbage is counted, never a panic.
    feeder.push(json!({"a": 1, "b": [1], "c": [1, 2, 3]}), 1.0, 0);
    feeder.push(json!([1, 2]), 1.0, 0);
    feeder.push(json!({"a": [1, 2]}), f64::NAN, 3);
    let stats = history.stats().unwrap();
    assert_eq!(stats.points_received, 150 + 3 + 1);
    assert_eq!(stats.buffered, 100);
    assert_eq!(stats.points_dropped, 50);
    assert_eq!(stats.points_invalid, 3 + 1 + 1);
    assert_eq!(stats.events_lost, 3);
    let dropped_lines: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, l)| l.contains("dropped") && l.contains("max_buffered_points = 100"))
        .map(|(_, l)| l.clone())
        .collect();
    assert_eq!(dropped_lines.len(), 1, "{dropped_lines:?}");
    let stats = history.flush().unwrap();
    assert_eq!(stats.rows_written, 100);
    assert_eq!(stats.buffered, 0);
    // Room again after the flush.
    feeder.push(json!({"a": [1, 1]}), 200.0, 0);
    assert_eq!(history.flush().unwrap().rows_written, 101);
}

#[test]
fn stop_and_feeder_drop_write_everything_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let config = config(json!({"flush_interval_secs": 3600, "retention_days": 0}));
    let history = History::open(&config, dir.path(), log.clone()).unwrap();
    // Two feeders; the writer keeps going while one is left.
    let feeder = history.feeder().unwrap();
    let mut second = history.feeder().unwrap();
    drop(feeder);
    second.push(json!({"a": [0, 0]}), 0.0, 0);
    let stats = history.flush().unwrap();
    assert_eq!((stats.rows_written, stats.points_dropped), (1, 0));
    for i in 1..1_000 {
        second.push(json!({"a": [i, i]}), i as f64, 0);
    }
    // The host ends the subscription: the writer writes at once, not in an hour.
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(10);
    while history.stats().unwrap().rows_written < 1_000 {
        assert!(Instant::now() < deadline, "the feeder's drop did not flush");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The writer has finished: a flush answers at once.
    let started = Instant::now();
    history.flush().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    history.stop();
    // Stop: a second History on the same file sees every row; points after stop are counted.
    let history = History::open(&config, dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    feeder.push(json!({"b": [1, 1]}), 1.0, 0);
    history.stop();
    feeder.push(json!({"b": [2, 2]}), 2.0, 0);
    let stats = history.stats().unwrap();
    assert_eq!((stats.rows_written, stats.points_dropped), (1, 1));
    let reader = History::open(&config, dir.path(), recording_log().0).unwrap();
    let reply = query(
        &reader,
        json!({"codenames": ["a", "b"], "from": 0, "to": 5000}),
    );
    assert_eq!(reply["a"]["time"].as_array().unwrap().len(), 1_000);
    assert_eq!(reply["b"]["y"], json!([1]));
}

#[test]
fn retention_runs_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let keep_all = config(json!({"retention_days": 0}));
    let history = History::open(&keep_all, dir.path(), log.clone()).unwrap();
    let mut feeder = history.feeder().unwrap();
    let now = labsocket_plugin_api::unix_now();
    feeder.push(json!({"a": [1, "old"]}), now - 3.0 * 86_400.0, 0);
    feeder.push(json!({"a": [2, "recent"]}), now - 3600.0, 0);
    history.flush().unwrap();
    history.stop();
    // Restart with 2 days of retention: the 3-day-old row goes at start.
    let history = History::open(&config(json!({"retention_days": 2})), dir.path(), log).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while history.stats().unwrap().rows_deleted_by_retention < 1 {
        assert!(Instant::now() < deadline, "retention did not run at start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let reply = query(&history, json!({"codenames": ["a"], "from": 0}));
    assert_eq!(reply["a"]["y"], json!(["recent"]));
    assert_eq!(history.codenames().unwrap()[0]["rows"], json!(1));
}

#[test]
fn disabled_and_unreachable_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let off = History::open(
        &config(json!({"enabled": false})),
        dir.path(),
        recording_log().0,
    )
    .unwrap();
    assert!(off.feeder().is_none());
    assert!(off
        .codenames()
        .unwrap_err()
        .message
        .contains("enabled = false"));
    assert!(!dir.path().join(crate::FILE_NAME).exists());
    // Nothing listens on port 1: init still succeeds (the store connects in the background)
    // and points go to the spool; queries say where PostgreSQL was tried (no password).
    let pg = config(json!({"store": "postgres", "url": "postgres://lab:secret@127.0.0.1:1/lab"}));
    let (log, lines) = recording_log();
    let history = History::open(&pg, dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    feeder.push(json!({"a": [1, 1], "b": [2, 2]}), 5.0, 0);
    assert_eq!(history.flush().unwrap().rows_written, 2);
    let store = serde_json::to_value(history.stats_reply().unwrap()).unwrap()["store"].clone();
    assert_eq!(store["state"], "down", "{store}");
    assert_eq!(
        (store["spool_rows"].as_u64(), store["connected"].as_bool()),
        (Some(2), Some(false))
    );
    let params: QueryParams =
        serde_json::from_value(json!({"codenames": ["a"], "from": 0})).unwrap();
    let started = Instant::now();
    let err = history.query(&params).unwrap_err().message;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a query while down answers at once"
    );
    assert!(
        err.contains("PostgreSQL at postgres://lab@127.0.0.1:1/lab is unreachable"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    let warned = lines.lock().unwrap().iter().any(|(level, line)| {
        *level == Level::Warn
            && line.contains("unreachable at start")
            && line.contains("spooling to")
    });
    assert!(warned, "{:?}", lines.lock().unwrap());
}

#[test]
fn a_raw_query_stops_at_max_query_rows_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(
        &config(json!({"max_query_rows": 5})),
        dir.path(),
        recording_log().0,
    )
    .unwrap();
    let mut feeder = history.feeder().unwrap();
    for i in 0..4 {
        feeder.push(json!({"a": [i, i], "b": [i, i]}), f64::from(i), 0);
    }
    history.flush().unwrap();
    let reply = query(
        &history,
        json!({"codenames": ["a", "b"], "from": 0, "to": 10}),
    );
    assert_eq!(reply["a"]["y"], json!([0, 1, 2, 3]));
    assert_eq!(reply["a"].get("truncated"), None);
    assert_eq!(reply["b"]["y"], json!([0]));
    assert_eq!(reply["b"]["truncated"], json!(true));
    assert!(crate::query::is_truncated(&reply));
    // Downsampled queries are bounded by max_points instead.
    let reply = query(
        &history,
        json!({"codenames": ["a", "b"], "from": 0, "to": 10, "max_points": 4}),
    );
    assert!(!crate::query::is_truncated(&reply));
}

/// The path of a PostgreSQL program: Debian installs them in
/// `/usr/lib/postgresql/<version>/bin`, off `PATH`; the newest version there wins, else
/// the bare name (found on `PATH`).
fn pg_program(name: &str) -> String {
    let mut found: Vec<(u32, String)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let path = entry.path().join("bin").join(name);
            let path = path.to_str()?.to_owned();
            std::path::Path::new(&path)
                .exists()
                .then_some((version, path))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map_or_else(|| name.to_owned(), |(_, path)| path)
}

/// A throw-away PostgreSQL server (SPEC's reference: initdb as user postgres, then postgres
/// on a free loopback port), stopped by its PID on drop.
struct TempPostgres {
    dir: tempfile::TempDir,
    port: u16,
    root: bool,
    /// `postgres`, or `runuser` running it, while the server runs.
    child: Option<std::process::Child>,
}

impl TempPostgres {
    /// `None` when PostgreSQL is not installed here (`initdb` not on PATH).
    fn start() -> Option<TempPostgres> {
        let found = Command::new(pg_program("initdb")).arg("--version").output();
        if !found.is_ok_and(|o| o.status.success()) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        if root {
            let status = Command::new("chown")
                .args(["postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = TempPostgres {
            dir,
            port,
            root,
            child: None,
        };
        let status = server
            .command("initdb")
            .args(["-A", "trust", "-U", "lab", "--no-sync", "-D"])
            .arg(server.dir.path().join("data"))
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        server.run();
        Some(server)
    }

    /// PostgreSQL refuses to run as root: then it runs as the postgres user.
    fn command(&self, program: &str) -> Command {
        let program = pg_program(program);
        let program = program.as_str();
        let mut command = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        };
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    }

    /// Starts the server on its port and waits until it takes connections.
    fn run(&mut self) {
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-F", "-k"])
            .arg(self.dir.path())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("host=127.0.0.1 port={} user=lab dbname=postgres", self.port);
        while postgres::Client::connect(&url, postgres::NoTls).is_err() {
            assert!(
                Instant::now() < deadline,
                "postgres did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server at once (SIGQUIT to the postmaster, whose PID is the first line of
    /// postmaster.pid) and waits until it is gone.
    fn stop(&mut self) {
        let pid_file = self.dir.path().join("data").join("postmaster.pid");
        if let Ok(text) = std::fs::read_to_string(pid_file) {
            if let Some(pid) = text.lines().next() {
                let _ = Command::new("kill").args(["-QUIT", pid]).status();
                let proc_dir = std::path::Path::new("/proc").join(pid);
                let deadline = Instant::now() + Duration::from_secs(10);
                while proc_dir.exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("postgres://lab@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn postgres_store_round_trips_types_downsamples_and_keeps_retention() {
    let Some(mut server) = TempPostgres::start() else {
        // Under CI (.ci/run installs postgresql) a missing server is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL is not installed and CI is set: .ci/run installs Debian's postgresql"
        );
        eprintln!("PostgreSQL is not installed here: the postgres store was not exercised");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let pg = config(json!({"store": "postgres", "url": server.url(), "retention_days": 0}));
    let history = History::open(&pg, dir.path(), log.clone()).unwrap();
    assert!(history.path().is_none());
    let mut feeder = history.feeder().unwrap();
    let values = vec![
        json!(7),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(2.5),
        json!(1.0),
        json!(1e300),
        json!("text"),
        json!(true),
        Value::Null,
        json!([1, {"a": null}]),
        float_value(f64::NAN),
        float_value(f64::INFINITY),
    ];
    for (i, y) in values.iter().enumerate() {
        feeder.push(json!({"types": [i, y]}), i as f64, 0);
    }
    for i in 0..2_000 {
        let y = if i == 1_234 {
            json!(-50.0)
        } else {
            json!(i % 5)
        };
        feeder.push(json!({"spiky": [i, y]}), 100.0 + i as f64, 0);
    }
    let stats = history.flush().unwrap();
    assert_eq!(
        stats.rows_written as usize,
        values.len() + 2_000,
        "{stats:?}"
    );
    let reply = query(
        &history,
        json!({"codenames": ["types"], "from": 0, "to": 50}),
    );
    let ys = reply["types"]["y"].as_array().unwrap();
    assert_eq!(ys.len(), values.len());
    for (got, expected) in ys.iter().zip(&values) {
        assert_eq!(got.to_string(), expected.to_string());
    }
    assert_eq!(reply["types"]["x"][3], json!(3));
    let reply = query(
        &history,
        json!({"codenames": ["spiky"], "from": 100, "to": 2099, "max_points": 40}),
    );
    let ys = reply["spiky"]["y"].as_array().unwrap();
    let times = reply["spiky"]["time"].as_array().unwrap();
    assert!(ys.len() <= 40 && ys.contains(&json!(-50.0)), "{reply}");
    assert_eq!(
        (times[0].clone(), times.last().unwrap().clone()),
        (json!(100.0), json!(2099.0))
    );
    assert!(times.windows(2).all(|w| w[0].as_f64() < w[1].as_f64()));
    assert_eq!(
        history.codenames().unwrap(),
        json!([
            {"codename": "spiky", "first": 100.0, "last": 2099.0, "rows": 2000},
            {"codename": "types", "first": 0.0, "last": 11.0, "rows": values.len()},
        ])
    );
    // A replayed batch (the same codenames and times again) adds no row.
    for i in 0..2_000 {
        feeder.push(json!({"spiky": [i, i % 5]}), 100.0 + i as f64, 0);
    }
    history.flush().unwrap();
    let store = serde_json::to_value(history.stats_reply().unwrap()).unwrap()["store"].clone();
    assert!(
        store["rows_unchanged"].as_u64().unwrap() >= 1_999,
        "{store}"
    );
    assert_eq!(history.codenames().unwrap()[0]["rows"], json!(2000));
    // The server goes away: rows go to the spool (flush succeeds: they are on disk), then
    // are written once it is back.
    server.stop();
    feeder.push(json!({"outage": [1, 1], "types": [99, 99]}), 3000.0, 0);
    assert_eq!(
        history.flush().unwrap().rows_written as usize,
        values.len() + 4_000 + 2
    );
    let store = serde_json::to_value(history.stats_reply().unwrap()).unwrap()["store"].clone();
    assert_eq!(
        (store["state"].as_str(), store["spool_rows"].as_u64()),
        (Some("down"), Some(2)),
        "{store}"
    );
    server.run();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let store = serde_json::to_value(history.stats_reply().unwrap()).unwrap()["store"].clone();
        if store["state"] == "up" && store["spool_rows"] == 0 {
            assert_eq!(store["rows_replayed"], 2, "{store}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the spool was not replayed: {store}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let reply = query(
        &history,
        json!({"codenames": ["outage"], "from": 0, "to": 5000}),
    );
    assert_eq!(reply["outage"]["y"], json!([1]));
    history.stop();
    // Restart with retention: every row is from 1970, so all go; the schema stays.
    let history = History::open(
        &config(json!({"store": "postgres", "url": server.url()})),
        dir.path(),
        log,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while history.stats().unwrap().rows_deleted_by_retention < (values.len() + 2_002) as u64 {
        assert!(Instant::now() < deadline, "retention did not run");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(history.codenames().unwrap(), json!([]));
}

/// The `store` object of `history.stats`.
fn store_stats(history: &History) -> Value {
    serde_json::to_value(history.stats_reply().unwrap()).unwrap()["store"].clone()
}

#[test]
fn a_full_spool_counts_and_logs_what_it_loses() {
    let dir = tempfile::tempdir().unwrap();
    let (log, lines) = recording_log();
    let pg = config(
        json!({"store": "postgres", "url": "postgres://lab@127.0.0.1:1/lab",
                           "spool_max_bytes": 1 << 20}),
    );
    let history = History::open(&pg, dir.path(), log).unwrap();
    let mut feeder = history.feeder().unwrap();
    let big = "x".repeat(10_000);
    for i in 0..200 {
        feeder.push(json!({"big": [i, big]}), f64::from(i), 0);
    }
    let written = history.flush().unwrap().rows_written;
    let store = store_stats(&history);
    let lost = store["rows_lost_spool_full"].as_u64().unwrap();
    assert!(written > 50 && lost > 50, "{store}");
    assert_eq!(written + lost, 200, "{store}");
    assert_eq!(store["spool_rows"].as_u64(), Some(written), "{store}");
    assert!(store["spool_bytes"].as_u64().unwrap() <= 1 << 20, "{store}");
    let logged = lines.lock().unwrap().iter().any(|(level, line)| {
        *level == Level::Error
            && line.contains("is full")
            && line.contains(&format!("{lost} rows lost"))
    });
    assert!(logged, "{:?}", lines.lock().unwrap());
}

#[test]
fn a_points_table_without_the_key_is_migrated() {
    let Some(server) = TempPostgres::start() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL is not installed and CI is set: .ci/run installs Debian's postgresql"
        );
        return;
    };
    // The first version's schema, with a duplicate (codename, time) as a replay made them.
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE codenames (id SERIAL PRIMARY KEY, codename TEXT NOT NULL UNIQUE,
                 first DOUBLE PRECISION, last DOUBLE PRECISION, rows BIGINT NOT NULL DEFAULT 0);
             CREATE TABLE points (codename_id INTEGER NOT NULL, time DOUBLE PRECISION NOT NULL,
                 x JSONB, y JSONB, y_num DOUBLE PRECISION);
             CREATE INDEX points_codename_time ON points (codename_id, time);
             INSERT INTO codenames (codename, first, last, rows) VALUES ('old', 1, 2, 3);
             INSERT INTO points VALUES (1, 1, '1', '10', 10), (1, 2, '2', '20', 20),
                                       (1, 2, '2', '20', 20);",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (log, lines) = recording_log();
    let pg = config(json!({"store": "postgres", "url": server.url(), "retention_days": 0}));
    let history = History::open(&pg, dir.path(), log).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store_stats(&history)["state"] != "up" {
        assert!(Instant::now() < deadline, "{}", store_stats(&history));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        history.codenames().unwrap(),
        json!([{"codename": "old", "first": 1.0, "last": 2.0, "rows": 2}])
    );
    // The key holds from now on: the same row again adds nothing.
    let mut feeder = history.feeder().unwrap();
    feeder.push(json!({"old": [2, 20]}), 2.0, 0);
    history.flush().unwrap();
    let count: i64 = client
        .query_one("SELECT count(*) FROM points", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
    let logged =
        lines.lock().unwrap().iter().any(|(_, line)| {
            line.contains("migrated") && line.contains("1 duplicate rows removed")
        });
    assert!(logged, "{:?}", lines.lock().unwrap());
}

/// Values of every JSON type, as Python's sqlite3 must see them.
fn typed_values() -> Vec<Value> {
    vec![
        json!(7),
        json!(2.5),
        json!("text"),
        json!(true),
        Value::Null,
        json!([1, 2]),
        float_value(f64::NAN),
    ]
}

#[test]
fn python_reads_while_the_writer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = recording_log();
    let config = config(json!({"flush_interval_secs": 0.02}));
    let history = Arc::new(History::open(&config, dir.path(), log).unwrap());
    let mut feeder = history.feeder().unwrap();
    for (i, y) in typed_values().into_iter().enumerate() {
        feeder.push(json!({"types": [i, y]}), i as f64, 0);
    }
    history.flush().unwrap();
    // Keep writing while Python reads.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                feeder.push(json!({"stream": [i, i]}), 1000.0 + i as f64, 0);
                i += 1;
                if i.is_multiple_of(100) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let script = r#"
import json, sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=5)
counts = []
deadline = time.time() + 20
while time.time() < deadline:
    n = con.execute("SELECT count(*) FROM history WHERE codename = 'stream'").fetchone()[0]
    if not counts or n != counts[-1]:
        counts.append(n)
    if len(counts) >= 5:
        break
    time.sleep(0.02)
rows = con.execute("SELECT x, y, y_json FROM history WHERE codename = 'types' ORDER BY time").fetchall()
typed = [[type(y).__name__, y if y == y else None, j, repr(json.loads(j)) if j else None] for x, y, j in rows]
print(json.dumps({"counts": counts, "typed": typed}))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(history.path().unwrap())
        .output()
        .expect("python3 runs");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    let counts: Vec<u64> = serde_json::from_value(seen["counts"].clone()).unwrap();
    assert!(
        counts.len() >= 5,
        "Python saw no new rows while writing: {counts:?}"
    );
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    // pandas-friendly: numbers where there are numbers, NaN as NULL, exact JSON beside.
    assert_eq!(
        seen["typed"],
        json!([
            ["int", 7, null, null],
            ["float", 2.5, null, null],
            ["str", "text", null, null],
            ["int", 1, "true", "True"],
            ["NoneType", null, null, null],
            ["NoneType", null, "[1,2]", "[1, 2]"],
            ["NoneType", null, "NaN", "nan"],
        ])
    );
}

/// Set in the child process of [`kill_9_loses_no_flushed_row`]: the store directory.
const CRASH_CHILD_DIR: &str = "HISTORY_TEST_CRASH_CHILD_DIR";

#[test]
fn kill_9_loses_no_flushed_row() {
    if let Ok(dir) = std::env::var(CRASH_CHILD_DIR) {
        crash_child(dir.as_ref());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::kill_9_loses_no_flushed_row",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The child reports the rows it knows are committed; kill it mid-stream.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("committed ") {
                if tx.send(n.trim().parse::<u64>().unwrap()).is_err() {
                    break;
                }
            }
        }
    });
    let mut committed = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed < 20_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        committed = rx
            .recv_timeout(left)
            .expect("the child reports committed rows");
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let con = rusqlite::Connection::open(dir.path().join(crate::FILE_NAME)).unwrap();
    let check: String = con
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (count, max): (i64, i64) = con
        .query_row("SELECT count(*), max(y) FROM points", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(
        count as u64 >= committed,
        "{count} rows after the kill, {committed} were committed"
    );
    // No gaps, no half transaction: rows 0..count, and the counter table agrees.
    assert_eq!(max, count - 1);
    let counted: i64 = con
        .query_row("SELECT rows FROM codenames WHERE codename = 'c'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(counted, count);
}

/// The child: writes a stream of rows and prints how many are committed, until killed.
fn crash_child(dir: &std::path::Path) -> ! {
    let config = config(json!({"flush_interval_secs": 0.01}));
    let history = History::open(&config, dir, recording_log().0).unwrap();
    let mut feeder = history.feeder().unwrap();
    let mut i = 0u64;
    let mut reported = 0;
    loop {
        for _ in 0..500 {
            feeder.push(json!({"c": [i, i]}), i as f64, 0);
            i += 1;
        }
        let written = history.stats().unwrap().rows_written;
        if written > reported {
            reported = written;
            let mut out = std::io::stdout().lock();
            writeln!(out, "committed {written}").unwrap();
            out.flush().unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
