//! History (SPEC §8) end to end against the real binary with its compiled-in `history`
//! plugin on SQLite: points set over the native protocol and a UDP push socket come back
//! from `history.query`, `/api/history` (JSON and CSV) and `labsocket history` (table and
//! `--csv`); M4 keeps a spike; `[[history.record]]` deadbands; rows survive a restart and a
//! kill -9 after `flush_interval_secs`; `enabled = false`; a bad `[history]` key stops the
//! start. PostgreSQL is in `history_postgres.rs`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use labsocket_e2e::{http_get, labsocket_bin, Server, TempDir, UdpClient, WAIT};
use serde_json::{json, Value};

/// Where the SQLite file is, in a server's folder (data dir `labsocket-data` by default).
const SQLITE_FILE: &str = "labsocket-data/plugins/history/history.sqlite3";

fn now() -> f64 {
    labsocket_e2e::points::now()
}

/// `labsocket history ARGS --port <native port of server>`.
fn cli_history(server: &Server, args: &[&str]) -> Output {
    Command::new(labsocket_bin())
        .arg("history")
        .args(args)
        .args(["--port", &server.native().port().to_string()])
        .env("NO_COLOR", "1")
        .output()
        .expect("labsocket history runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asks the recorder to commit now (`history.flush`), so a query sees every point set.
fn flush(server: &Server) -> Value {
    server.rpc().call("history.flush", json!({}))
}

fn query(server: &Server, params: Value) -> Value {
    server.rpc().call("history.query", params)
}

#[test]
fn points_come_back_typed_from_every_interface() {
    let server = Server::start(
        r#"
[[push_socket]]
name = "points"
port = 0
action = "set_points"
"#,
    );
    let mut rpc = server.rpc();
    // Native set_point with explicit timestamps (a client backfilling), every JSON type.
    let t0 = 1_795_000_000.0;
    let values = [
        json!(7),
        json!(2.5),
        json!(1.0),
        json!("say \"hi\", ok"),
        json!(true),
        Value::Null,
    ];
    for (i, y) in values.iter().enumerate() {
        let point = json!({"codename": "typed", "x": i, "y": y, "timestamp": t0 + i as f64});
        assert_eq!(rpc.call("set_point", point), json!(true));
    }
    // A UDP push socket with the set_points action: y alone means (now, y).
    let push = UdpClient::new(server.address("push.0"));
    let before = now();
    assert_eq!(
        push.request(r#"json_wn#{"pushed": 1.5}"#),
        "ACK#{'pushed': 1.5}"
    );
    let stats = flush(&server);
    assert!(stats["rows_written"].as_u64().unwrap() >= 7, "{stats}");

    let reply = query(
        &server,
        json!({"codenames": ["typed", "pushed", "never"], "from": t0 - 1.0}),
    );
    assert_eq!(reply["typed"]["y"], Value::Array(values.to_vec()));
    // `1` stays an int and `1.0` a float on the wire.
    assert_eq!(reply["typed"]["y"][0].to_string(), "7");
    assert_eq!(reply["typed"]["y"][2].to_string(), "1.0");
    assert_eq!(reply["typed"]["x"], json!([0, 1, 2, 3, 4, 5]));
    assert_eq!(reply["typed"]["time"][0], json!(t0));
    assert_eq!(reply["pushed"]["y"], json!([1.5]));
    let pushed_time = reply["pushed"]["time"][0].as_f64().unwrap();
    assert!(pushed_time >= before - 1.0 && pushed_time <= now() + 1.0);
    assert_eq!(reply["never"], json!({"time": [], "x": [], "y": []}));

    // The same rows over HTTP, JSON and CSV.
    let http = server.address("http");
    let from = t0 - 1.0;
    let response = http_get(
        http,
        &format!("/api/history?codename=typed&codename=pushed&from={from}"),
        None,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["typed"]["y"], reply["typed"]["y"]);
    assert_eq!(body["pushed"]["y"], json!([1.5]));
    let response = http_get(
        http,
        &format!(
            "/api/history?codename=typed&from={from}&to={}&format=csv",
            t0 + 10.0
        ),
        None,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let expected = "codename,time,x,y\r\n\
        typed,1795000000.0,0,7\r\n\
        typed,1795000001.0,1,2.5\r\n\
        typed,1795000002.0,2,1.0\r\n\
        typed,1795000003.0,3,\"say \"\"hi\"\", ok\"\r\n\
        typed,1795000004.0,4,true\r\n\
        typed,1795000005.0,5,\r\n";
    assert_eq!(response.body, expected);

    // The CLI: --csv prints the same bytes; the table shows each row.
    let from_arg = from.to_string();
    let to_arg = (t0 + 10.0).to_string();
    let csv = stdout(&cli_history(
        &server,
        &["typed", "--from", &from_arg, "--to", &to_arg, "--csv"],
    ));
    assert_eq!(csv, expected);
    let table = stdout(&cli_history(
        &server,
        &["typed", "pushed", "--from", &from_arg],
    ));
    assert!(table.contains("typed: 6 rows"), "{table}");
    assert!(table.contains("pushed: 1 rows"), "{table}");
    assert!(table.contains(r#""say \"hi\", ok""#), "{table}");
    assert!(table.contains("2026-"), "the times are dates: {table}");
    let none = stdout(&cli_history(&server, &["never"]));
    assert!(none.contains("never: no rows"), "{none}");
}

#[test]
fn bad_http_params_are_400_naming_the_parameter() {
    let server = Server::start("");
    let http = server.address("http");
    for (path, words) in [
        ("/api/history?from=0", "codename"),
        ("/api/history?codename=a", "from"),
        ("/api/history?codename=a&from=yesterday", "from"),
        ("/api/history?codename=a&from=0&max_points=2", "max_points"),
        (
            "/api/history?codename=a&from=0&max_points=many",
            "max_points",
        ),
        ("/api/history?codename=a&from=0&format=xml", "format"),
        ("/api/history?codename=a&from=0&colour=red", "colour"),
        ("/api/history?codename=a&from=10&to=5", "before"),
    ] {
        let response = http_get(http, path, None);
        assert_eq!(response.status, 400, "{path}: {}", response.body);
        let message = response.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(words), "{path}: {message}");
    }
    // Bad native params are -32602 naming the field.
    let error = server
        .rpc()
        .call_err("history.query", json!({"codenames": "a", "from": 0}));
    assert_eq!(error["code"], -32602, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("codenames"),
        "{error}"
    );
    let error = server.rpc().call_err(
        "history.query",
        json!({"codenames": ["a"], "from": 0, "format": "xml"}),
    );
    assert_eq!(error["code"], -32602, "{error}");
}

/// Also: with no `[history]` at all, history is on and writes its SQLite file.
#[test]
fn max_points_keeps_the_spike() {
    let server = Server::start("");
    let mut rpc = server.rpc();
    let t0 = 1_790_000_000.0;
    for i in 0..400 {
        let y = if i == 237 { -50.0 } else { (i % 5) as f64 };
        let point = json!({"codename": "spiky", "x": i, "y": y, "timestamp": t0 + i as f64});
        rpc.call("set_point", point);
    }
    flush(&server);
    let reply = query(
        &server,
        json!({"codenames": ["spiky"], "from": t0, "to": t0 + 399.0, "max_points": 20}),
    );
    let ys = reply["spiky"]["y"].as_array().unwrap();
    assert!(ys.len() <= 20, "{reply}");
    assert!(ys.contains(&json!(-50.0)), "the spike was lost: {reply}");
    let times: Vec<f64> = reply["spiky"]["time"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    assert_eq!((times[0], *times.last().unwrap()), (t0, t0 + 399.0));
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    // The same over HTTP.
    let path = format!(
        "/api/history?codename=spiky&from={t0}&to={}&max_points=20",
        t0 + 399.0
    );
    let body = http_get(server.address("http"), &path, None).json();
    assert_eq!(body["spiky"]["y"], reply["spiky"]["y"]);
    assert!(server.dir.path().join(SQLITE_FILE).is_file());
}

/// A pipelined burst reaches history whole: every update of a codename is a row with its
/// own set time, in order, even when many updates of it cross to the plugin in one batch
/// (`points_batch`), and nothing is lost on the way.
#[test]
fn a_pipelined_burst_keeps_every_update_of_every_codename() {
    use std::io::{BufRead, BufReader, Write};
    const POINTS: usize = 20_000;
    const CODENAMES: usize = 3;
    let server = Server::start("");
    let stream = std::net::TcpStream::connect(server.native()).unwrap();
    let replies = {
        let reader = stream.try_clone().unwrap();
        reader.set_read_timeout(Some(WAIT)).unwrap();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(reader).lines();
            for _ in 0..POINTS {
                let line = lines.next().expect("a reply").expect("a reply in time");
                assert!(line.contains("\"result\":true"), "{line}");
            }
        })
    };
    let t0 = 1_790_000_000.0;
    let mut requests = String::new();
    for i in 0..POINTS {
        let time = t0 + i as f64 * 0.001;
        requests.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"set_point\",\"params\":[\"burst_{}\",{i},{i},{time}]}}\n",
            i % CODENAMES
        ));
    }
    (&stream).write_all(requests.as_bytes()).unwrap();
    replies.join().unwrap();
    flush(&server);
    let stats = server.rpc().call("history.stats", json!({}));
    assert_eq!(stats["events_lost"], 0, "{stats}");
    assert_eq!(stats["points_dropped"], 0, "{stats}");
    assert_eq!(stats["rows_written"], POINTS, "{stats}");
    let codenames: Vec<String> = (0..CODENAMES).map(|c| format!("burst_{c}")).collect();
    let reply = query(
        &server,
        json!({"codenames": codenames, "from": t0, "to": t0 + POINTS as f64}),
    );
    for (c, codename) in codenames.iter().enumerate() {
        let ys: Vec<u64> = reply[codename]["y"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y.as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (c..POINTS).step_by(CODENAMES).map(|i| i as u64).collect();
        assert_eq!(ys, expected, "{codename}: every update, in order");
        let times = reply[codename]["time"].as_array().unwrap();
        assert_eq!(
            times[1].as_f64().unwrap(),
            t0 + (c + CODENAMES) as f64 * 0.001
        );
    }
}

#[test]
fn record_rules_from_the_config_file() {
    let server = Server::start(
        r#"
[history]
flush_interval_secs = 0.1

[[history.record]]
codenames = ["dead*"]
min_change = 1.0

[[history.record]]
codenames = ["all"]
"#,
    );
    let mut rpc = server.rpc();
    let t0 = 1_780_000_000.0;
    for (i, y) in [0.0, 0.5, 1.2, 1.5, 2.3, 2.0].iter().enumerate() {
        for codename in ["deadband", "all", "unlisted"] {
            let point = json!({"codename": codename, "x": i, "y": y, "timestamp": t0 + i as f64});
            rpc.call("set_point", point);
        }
    }
    let stats = flush(&server);
    let reply = query(
        &server,
        json!({"codenames": ["deadband", "all", "unlisted"], "from": t0, "to": t0 + 10.0}),
    );
    assert_eq!(reply["deadband"]["y"], json!([0.0, 1.2, 2.3]));
    assert_eq!(reply["all"]["y"], json!([0.0, 0.5, 1.2, 1.5, 2.3, 2.0]));
    assert_eq!(reply["unlisted"]["y"], json!([]));
    assert!(stats["points_skipped"].as_u64().unwrap() >= 9, "{stats}");
}

/// The day after: points recorded yesterday evening are there after a restart, in the
/// native reply, the CLI and the CSV.
#[test]
fn a_restart_keeps_last_night() {
    let mut server = Server::start("");
    let evening = now() - 12.0 * 3600.0;
    let mut rpc = server.rpc();
    for i in 0..10 {
        let point =
            json!({"codename": "oven", "x": i, "y": 200 + i, "timestamp": evening + i as f64});
        rpc.call("set_point", point);
    }
    drop(rpc);
    // A graceful stop writes what is queued (no flush asked for).
    assert!(server.terminate().success(), "{}", server.stderr());
    let dir = std::mem::replace(&mut server.dir, TempDir::new("spent"));
    let config = std::fs::read_to_string(dir.path().join("labsocket.toml")).unwrap();
    let server = Server::start_in(dir, &config, &[]).expect("the server starts again");
    let reply = query(
        &server,
        json!({"codenames": ["oven"], "from": now() - 86_400.0}),
    );
    assert_eq!(
        reply["oven"]["y"],
        json!([200, 201, 202, 203, 204, 205, 206, 207, 208, 209])
    );
    let csv = stdout(&cli_history(&server, &["oven", "--from", "-1d", "--csv"]));
    assert_eq!(csv.lines().count(), 11, "{csv}");
    assert!(csv.lines().nth(1).unwrap().ends_with(",0,200"), "{csv}");
    let codenames = server.rpc().call("history.codenames", json!({}));
    let oven = codenames
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["codename"] == "oven")
        .unwrap_or_else(|| panic!("{codenames}"));
    assert_eq!(oven["rows"], 10);
}

/// kill -9 once a point was acknowledged and `flush_interval_secs` passed: the row is in
/// the file after the restart.
#[test]
fn kill_9_after_the_flush_interval_keeps_the_row() {
    let flush_interval = 0.3;
    let server = Server::start(&format!(
        "[history]\nflush_interval_secs = {flush_interval}\n"
    ));
    let mut rpc = server.rpc();
    let written_before = rpc.call("history.stats", json!({}))["rows_written"]
        .as_u64()
        .unwrap();
    let acknowledged = Instant::now();
    for i in 0..50 {
        assert_eq!(
            rpc.call("set_point", json!(["crash", i, i * 10])),
            json!(true)
        );
    }
    // Wait (bounded) for the writer to commit them on its own: no history.flush.
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = rpc.call("history.stats", json!({}));
        if stats["rows_written"].as_u64().unwrap() >= written_before + 50 {
            break;
        }
        assert!(Instant::now() < deadline, "never committed: {stats}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = acknowledged.elapsed().as_secs_f64();
    // The interval plus scheduling slack on a loaded 2-core machine.
    assert!(
        took < flush_interval + 2.0,
        "the rows took {took:.2} s to reach the store"
    );
    drop(rpc);
    let dir = server.kill9();
    let config = std::fs::read_to_string(dir.path().join("labsocket.toml")).unwrap();
    let server = Server::start_in(dir, &config, &[]).expect("the server starts again");
    let reply = query(
        &server,
        json!({"codenames": ["crash"], "from": now() - 600.0}),
    );
    let ys: Vec<i64> = (0..50).map(|i| i * 10).collect();
    assert_eq!(reply["crash"]["y"], json!(ys));
}

#[test]
fn disabled_history_records_nothing_and_says_so() {
    let server = Server::start("[history]\nenabled = false\n");
    let mut rpc = server.rpc();
    rpc.call("set_point", json!(["off", 1, 2]));
    let error = rpc.call_err("history.query", json!({"codenames": ["off"], "from": 0}));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("enabled = false"),
        "{error}"
    );
    let error = rpc.call_err("history.codenames", json!({}));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("enabled = false"),
        "{error}"
    );
    let response = http_get(
        server.address("http"),
        "/api/history?codename=off&from=0",
        None,
    );
    assert_eq!(response.status, 503, "{}", response.body);
    assert!(
        response.body.contains("enabled = false"),
        "{}",
        response.body
    );
    let output = cli_history(&server, &["off"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("enabled = false"),
        "{output:?}"
    );
    assert!(!server.dir.path().join(SQLITE_FILE).exists());
}

#[test]
fn a_bad_history_key_stops_the_start_naming_it() {
    for (config, words) in [
        ("[history]\nflush_intervall = 1\n", "flush_intervall"),
        ("[history]\nstore = \"mysql\"\n", "store"),
        ("[[history.record]]\nmin_change = -1\n", "min_change"),
        ("[history]\nstore = \"postgres\"\n", "url"),
        ("[history]\n[plugins.history]\n", "[plugins.history]"),
    ] {
        let failure = match Server::start_with_args(config, &[]) {
            Ok(_) => panic!("started with {config:?}"),
            Err(failure) => failure,
        };
        assert!(
            failure.status.is_some_and(|status| !status.success()),
            "{config:?}: {failure:?}"
        );
        assert!(
            failure.stderr.contains("labsocket.toml") && failure.stderr.contains(words),
            "{config:?}: {}",
            failure.stderr
        );
    }
}

/// PostgreSQL unreachable at start: the server runs and history loads (it records into its
/// on-disk spool meanwhile, see history_postgres.rs); queries say why, natively and as a
/// `503` from `/api/history`, without the url's password.
#[test]
fn an_unreachable_database_at_start_is_reported_not_fatal() {
    let server = Server::start(
        "[history]\nstore = \"postgres\"\nurl = \"postgres://lab:secret@127.0.0.1:1/lab\"\n",
    );
    let error = server
        .rpc()
        .call_err("history.query", json!({"codenames": ["a"], "from": 0}));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("PostgreSQL at postgres://lab@127.0.0.1:1/lab is unreachable"),
        "{error}"
    );
    assert!(!message.contains("secret"), "{error}");
    let response = http_get(
        server.address("http"),
        "/api/history?codename=a&from=0",
        None,
    );
    assert_eq!(response.status, 503, "{}", response.body);
    assert!(response.body.contains("unreachable"), "{}", response.body);
    assert!(!response.body.contains("secret"), "{}", response.body);
}

/// `max_query_rows` caps a raw query: JSON says which codename was cut, CSV (which cannot
/// say so) is a 400 naming the key.
#[test]
fn a_raw_query_over_max_query_rows_is_cut_and_says_so() {
    let server = Server::start("[history]\nmax_query_rows = 3\nflush_interval_secs = 0.1\n");
    let mut rpc = server.rpc();
    let t0 = 1_795_400_000.0;
    for i in 0..5 {
        let point = json!({"codename": "capped", "x": i, "y": i, "timestamp": t0 + f64::from(i)});
        rpc.call("set_point", point);
    }
    flush(&server);
    let reply = query(&server, json!({"codenames": ["capped"], "from": t0}));
    assert_eq!(reply["capped"]["y"], json!([0, 1, 2]));
    assert_eq!(reply["capped"]["truncated"], json!(true));
    let all = query(&server, json!({"codenames": ["capped"], "from": t0 + 3.0}));
    assert_eq!(all["capped"]["y"], json!([3, 4]));
    assert_eq!(all["capped"].get("truncated"), None);
    let csv = http_get(
        server.address("http"),
        &format!("/api/history?codename=capped&from={t0}&format=csv"),
        None,
    );
    assert_eq!(csv.status, 400, "{}", csv.body);
    assert!(csv.body.contains("max_query_rows (3)"), "{}", csv.body);
}
