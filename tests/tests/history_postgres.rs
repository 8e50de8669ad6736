//! History on PostgreSQL (SPEC §8, `store = "postgres"`) end to end: a real PostgreSQL
//! started for the test (`labsocket_e2e::postgres`), the real binary recording into it.
//! Rows round-trip with their JSON types, survive a labsocket restart, and a database
//! outage (PostgreSQL stopped while points are set, then started again) loses and
//! duplicates nothing. Fails, rather than skips, when PostgreSQL is missing and `CI` is set.

use std::time::{Duration, Instant};

use labsocket_e2e::postgres::TempPostgres;
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
fn postgres_round_trip_restart_and_outage() {
    let Some(mut postgres) = TempPostgres::start() else {
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

    // Outage: PostgreSQL stops; points are still acknowledged (the point table), the
    // recorder keeps them and retries; once PostgreSQL is back they arrive, once each.
    postgres.stop();
    for i in 0..20 {
        let point =
            json!({"codename": "outage", "x": i, "y": i, "timestamp": t0 + 100.0 + i as f64});
        assert_eq!(rpc.call("set_point", point), json!(true));
    }
    let error = flush(&server).expect_err("the database is down");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("kept for retry"),
        "{error}"
    );
    postgres.run();
    let deadline = Instant::now() + WAIT;
    while flush(&server).is_err() {
        assert!(Instant::now() < deadline, "rows never reached PostgreSQL");
        std::thread::sleep(Duration::from_millis(20));
    }
    let reply = rpc.call(
        "history.query",
        json!({"codenames": ["outage"], "from": t0}),
    );
    let expected: Vec<i64> = (0..20).collect();
    assert_eq!(reply["outage"]["y"], json!(expected));
    assert_eq!(
        postgres
            .psql("SELECT count(*), count(DISTINCT time) FROM history WHERE codename = 'outage'"),
        "20|20"
    );

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
    assert_eq!(reply["outage"]["y"].as_array().unwrap().len(), 20);
}
