//! History on PostgreSQL (SPEC §8, `store = "postgres"`) end to end: a real PostgreSQL
//! started for the test (`labsocket_e2e::postgres`), the real binary recording into it.
//! Rows round-trip with their JSON types and survive a labsocket restart; labsocket starts
//! and serves with PostgreSQL down and records once it is up; a database outage (a fast
//! shutdown by PID while points are set, then a start on the same data dir and port) and a
//! `kill -9` of labsocket during one lose and duplicate nothing: rows wait in the on-disk
//! spool and are replayed exactly once. Fails, rather than skips, when PostgreSQL is missing
//! and `CI` is set.

use std::time::{Duration, Instant};

use labsocket_e2e::postgres::TempPostgres;
use labsocket_e2e::rpc::RpcClient;
use labsocket_e2e::{http_get, Server, TempDir, WAIT};
use serde_json::{json, Value};

fn config(postgres: &TempPostgres) -> String {
    format!(
        "[history]\nstore = \"postgres\"\nurl = \"{}\"\nflush_interval_secs = 0.1\n",
        postgres.url()
    )
}

/// The Grafana panel SQL from the user guide's history section.
fn grafana_query() -> String {
    let guide =
        std::fs::read_to_string(labsocket_e2e::build::workspace_root().join("docs/user-guide.md"))
            .unwrap();
    let marker = guide
        .find("$__timeFilter(ts)")
        .expect("the guide has the Grafana query");
    let open = guide[..marker].rfind("```sql\n").expect("in a sql block") + "```sql\n".len();
    let close = open + guide[open..].find("```").unwrap();
    guide[open..close].to_owned()
}

/// Commits what is queued; the reply or the error.
fn flush(server: &Server) -> Result<Value, Value> {
    let mut rpc = server.rpc();
    let reply = rpc.request("history.flush", json!({}));
    match reply.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(reply["result"].clone()),
    }
}

#[test]
fn postgres_round_trip_and_restart() {
    let Some(postgres) = TempPostgres::start() else {
        return;
    };
    let mut server = Server::start(&config(&postgres));
    let mut rpc = server.rpc();
    let t0 = 1_795_000_000.0;
    let values = [
        json!(7),
        json!(2.5),
        json!(1.0),
        json!("text"),
        json!(true),
        Value::Null,
    ];
    for (i, y) in values.iter().enumerate() {
        let point = json!({"codename": "pg", "x": i, "y": y, "timestamp": t0 + i as f64});
        rpc.call("set_point", point);
    }
    flush(&server).expect("the rows are written");
    let reply = rpc.call("history.query", json!({"codenames": ["pg"], "from": t0}));
    assert_eq!(reply["pg"]["y"], Value::Array(values.to_vec()));
    assert_eq!(reply["pg"]["y"][2].to_string(), "1.0");
    // The database has them as the user guide says (the `history` view Grafana reads).
    assert_eq!(
        postgres.psql("SELECT count(*), sum(y_num) FROM history WHERE codename = 'pg'"),
        "6|11.5"
    );
    let csv = http_get(
        server.address("http"),
        &format!("/api/history?codename=pg&from={t0}&format=csv"),
        None,
    );
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(
        csv.body.contains("pg,1795000003.0,3,text\r\n"),
        "{}",
        csv.body
    );

    // The user guide's Grafana panel query runs as written (Grafana's macro replaced by
    // what it expands to).
    let grafana = grafana_query()
        .replace("'oven_temp', 'pressure'", "'pg'")
        .replace("$__timeFilter(ts)", "ts BETWEEN to_timestamp(0) AND now()");
    assert_eq!(postgres.psql(&grafana).lines().count(), 6, "{grafana}");

    // The next morning: a restarted labsocket reads the same rows back.
    drop(rpc);
    assert!(server.terminate().success(), "{}", server.stderr());
    let dir = std::mem::replace(&mut server.dir, TempDir::new("spent"));
    let server = Server::start_in(dir, &config(&postgres), &[]).expect("restarts");
    let reply = server.rpc().call(
        "history.query",
        json!({"codenames": ["pg", "outage"], "from": t0}),
    );
    assert_eq!(reply["pg"]["y"], Value::Array(values.to_vec()));
    assert_eq!(reply["outage"]["y"], json!([]));
}

/// The `store` object of `history.stats`.
fn store(rpc: &mut RpcClient) -> Value {
    rpc.call("history.stats", json!({}))["store"].clone()
}

/// Polls `history.stats` until `done(store)` holds; panics with the last one after `WAIT`.
fn wait_for_store(rpc: &mut RpcClient, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let store = store(rpc);
        if done(&store) {
            return store;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {WAIT:?}: {store}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Written to PostgreSQL, nothing left in the spool.
fn drained(store: &Value) -> bool {
    store["state"] == "up" && store["spool_rows"] == 0
}

/// Sets points pipelined (a window of requests out, then their replies), each
/// acknowledged with `true`.
fn set_points(rpc: &mut RpcClient, points: &[Value]) {
    for window in points.chunks(500) {
        let mut out = String::new();
        for (i, point) in window.iter().enumerate() {
            let request = json!({"jsonrpc": "2.0", "id": format!("p{i}"), "method": "set_point", "params": point});
            out.push_str(&request.to_string());
            out.push('\n');
        }
        rpc.send_raw(out.as_bytes());
        for i in 0..window.len() {
            let reply = rpc.reply_for(&json!(format!("p{i}")));
            assert_eq!(reply["result"], json!(true), "{reply}");
        }
    }
}

/// `n` points of codenames `{prefix}0..{prefix}{codenames-1}` from time `t0`, 1 ms apart.
fn points(prefix: &str, codenames: usize, n: usize, t0: f64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"codename": format!("{prefix}{}", i % codenames), "x": i, "y": i as f64 * 0.5,
                   "timestamp": t0 + i as f64 * 1e-3})
        })
        .collect()
}

/// `codename|rows|distinct times` lines for codenames starting with `prefix`, and the
/// `codenames` table's own counter next to each.
fn counts(postgres: &TempPostgres, prefix: &str) -> Vec<String> {
    postgres
        .psql(&format!(
            "SELECT h.codename, count(*), count(DISTINCT h.time), min(c.rows) FROM history h \
             JOIN codenames c USING (codename) WHERE h.codename LIKE '{prefix}%' \
             GROUP BY h.codename ORDER BY h.codename"
        ))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn expected_counts(prefix: &str, codenames: usize, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = (0..codenames)
        .map(|c| {
            let rows = n / codenames + usize::from(c < n % codenames);
            format!("{prefix}{c}|{rows}|{rows}|{rows}")
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn starts_with_postgres_down_serves_and_records_once_it_is_up() {
    let Some(mut postgres) = TempPostgres::start() else {
        return;
    };
    postgres.stop_fast();
    let server = Server::start(&config(&postgres));
    let mut rpc = server.rpc();
    let t0 = 1_795_100_000.0;
    set_points(&mut rpc, &points("early", 2, 10, t0));
    let store = wait_for_store(&mut rpc, "the store says PostgreSQL is down", |s| {
        s["state"] == "down"
    });
    assert_eq!(store["connected"], json!(false), "{store}");
    rpc.call("history.flush", json!({}));
    wait_for_store(&mut rpc, "the points are in the spool", |s| {
        s["spool_rows"] == 10
    });
    // Queries answer at once, saying why; over HTTP a 503.
    let started = Instant::now();
    let error = rpc.call_err(
        "history.query",
        json!({"codenames": ["early0"], "from": t0}),
    );
    assert!(started.elapsed() < Duration::from_secs(2), "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("PostgreSQL at {} is unreachable", postgres.url())),
        "{error}"
    );
    let http = http_get(
        server.address("http"),
        &format!("/api/history?codename=early0&from={t0}"),
        None,
    );
    assert_eq!(http.status, 503, "{}", http.body);
    assert!(http.body.contains("unreachable"), "{}", http.body);

    postgres.run();
    wait_for_store(&mut rpc, "the spool reaches PostgreSQL", drained);
    assert_eq!(counts(&postgres, "early"), expected_counts("early", 2, 10));
    let reply = rpc.call(
        "history.query",
        json!({"codenames": ["early0"], "from": t0}),
    );
    assert_eq!(reply["early0"]["x"], json!([0, 2, 4, 6, 8]));
    // Later points go straight in.
    set_points(&mut rpc, &points("late", 1, 3, t0 + 100.0));
    rpc.call("history.flush", json!({}));
    assert_eq!(counts(&postgres, "late"), expected_counts("late", 1, 3));
    let log = server.stderr();
    assert!(
        log.contains("unreachable at start") && log.contains("spooling to"),
        "{log}"
    );
    assert!(log.contains("replayed 10 rows"), "{log}");
}

#[test]
fn an_outage_spools_and_replays_every_row_exactly_once() {
    let Some(mut postgres) = TempPostgres::start() else {
        return;
    };
    let server = Server::start(&config(&postgres));
    let mut rpc = server.rpc();
    let t0 = 1_795_200_000.0;
    let before = points("before", 4, 1_000, t0);
    set_points(&mut rpc, &before);
    rpc.call("history.flush", json!({}));
    assert_eq!(store(&mut rpc)["state"], "up");

    postgres.stop_fast();
    const DURING: usize = 30_000;
    set_points(&mut rpc, &points("during", 10, DURING, t0 + 1_000.0));
    // A client replays what it sent before the outage: the same codenames and times.
    set_points(&mut rpc, &before[..500]);
    rpc.call("history.flush", json!({}));
    let store_down = wait_for_store(&mut rpc, "every point is spooled", |s| {
        s["spool_rows"] == DURING + 500
    });
    assert_eq!(store_down["state"], "down", "{store_down}");
    let spool_bytes = store_down["spool_bytes"].as_u64().unwrap();
    assert!(spool_bytes > 0, "{store_down}");
    eprintln!(
        "spool: {} rows in {spool_bytes} bytes ({:.1} B/row)",
        DURING + 500,
        spool_bytes as f64 / (DURING + 500) as f64
    );

    postgres.run();
    let store = wait_for_store(&mut rpc, "the spool reaches PostgreSQL", drained);
    assert_eq!(store["rows_replayed"], DURING + 500, "{store}");
    assert_eq!(
        store["rows_unchanged"], 500,
        "the replayed points are no new rows: {store}"
    );
    assert_eq!(store["rows_lost_spool_full"], 0, "{store}");
    assert_eq!(
        counts(&postgres, "during"),
        expected_counts("during", 10, DURING)
    );
    assert_eq!(
        counts(&postgres, "before"),
        expected_counts("before", 4, 1_000)
    );
    let log = server.stderr();
    assert!(log.contains("became unreachable"), "{log}");
    let replayed = log
        .lines()
        .find(|line| line.contains(&format!("replayed {} rows", DURING + 500)))
        .unwrap_or_else(|| panic!("no replay line in the log:\n{log}"));
    eprintln!("{replayed}");
}

#[test]
fn kill_9_during_an_outage_loses_nothing_spooled() {
    let Some(mut postgres) = TempPostgres::start() else {
        return;
    };
    let server = Server::start(&config(&postgres));
    let mut rpc = server.rpc();
    let t0 = 1_795_300_000.0;
    set_points(&mut rpc, &points("k", 3, 30, t0));
    rpc.call("history.flush", json!({}));
    postgres.stop_fast();
    set_points(&mut rpc, &points("k", 3, 5_000, t0 + 1.0));
    rpc.call("history.flush", json!({}));
    wait_for_store(&mut rpc, "the points are in the spool", |s| {
        s["spool_rows"] == 5_000
    });
    drop(rpc);
    let dir = server.kill9();

    postgres.run();
    let server = Server::start_in(dir, &config(&postgres), &[]).expect("restarts");
    let mut rpc = server.rpc();
    wait_for_store(
        &mut rpc,
        "the spool of the killed run reaches PostgreSQL",
        drained,
    );
    assert_eq!(counts(&postgres, "k"), expected_counts("k", 3, 5_030));
    let log = server.stderr();
    assert!(log.contains("replaying 5000 rows from the spool"), "{log}");
}
