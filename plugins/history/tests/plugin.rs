//! The plugin as the host drives it, through the real `extern "C"` thunks of `plugin!`
//! (plugin-api's `MockHost`): init with a `[history]` table, `points` events, the commands'
//! JSON, bad params, the end of the subscription and shutdown.
//!
//! One test: the plugin's state is a process-wide static, initialised once per process.

use std::time::{Duration, Instant};

use labsocket_plugin_api::testing::MockHost;
use labsocket_plugin_api::{codes, json, topics, Value};

#[test]
fn the_plugin_records_points_events_and_answers_its_commands() {
    let mock = MockHost::named("history");
    let descriptor = &history::DESCRIPTOR;

    // A bad table fails init naming the key; nothing is kept.
    let err = mock
        .init(descriptor, json!({"retention_days": "forever"}))
        .unwrap_err();
    assert!(
        err.contains("[history] retention_days: invalid type"),
        "{err}"
    );
    assert_eq!(mock.subscriptions(), 0);

    mock.init(
        descriptor,
        json!({"flush_interval_secs": 0.05, "retention_days": 0}),
    )
    .unwrap();
    assert_eq!(mock.subscriptions(), 1);
    let db = mock.plugin_dir().join(history::FILE_NAME);
    assert!(db.exists(), "{}", db.display());

    // What the host publishes on every set_point: {codename: [x, y]} at the set time.
    assert_eq!(
        mock.publish(topics::POINTS, json!({"t": [1.0, 20.5]}), 1000.0),
        1
    );
    mock.publish(topics::POINTS, json!({"t": [2.0, 21]}), 1001.0);
    mock.publish(
        topics::POINTS,
        json!({"t": [3.0, {"$float": "NaN"}], "s": [3.0, "open"]}),
        1002.0,
    );
    mock.lose_events(2);
    mock.publish(topics::POINTS, json!({"s": [4.0, null]}), 1003.0);
    // Other topics are not subscribed.
    assert_eq!(
        mock.publish(topics::DATA_CHANGED, json!({"data_name": "x"}), 1.0),
        0
    );

    // Rows arrive within the flush interval without asking.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = mock
            .command(descriptor, "history.stats", json!({}))
            .unwrap();
        if stats["rows_written"] == json!(5) {
            assert_eq!(stats["events_lost"], json!(2));
            assert_eq!(stats["points_dropped"], json!(0));
            assert!(
                stats["last_flush_lag_secs"].as_f64().unwrap() < 5.0,
                "{stats}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not written: {stats}");
        std::thread::sleep(Duration::from_millis(10));
    }

    let reply = mock
        .command(
            descriptor,
            "history.query",
            json!({"codenames": ["t", "s", "u"], "from": 0, "to": 2000}),
        )
        .unwrap();
    // Compared as values, not text: key order depends on whether serde_json's
    // preserve_order is on (it is in a workspace build); ints and floats still differ.
    assert_eq!(
        reply,
        json!({
            "s": {"time": [1002.0, 1003.0], "x": [3.0, 4.0], "y": ["open", null]},
            "t": {"time": [1000.0, 1001.0, 1002.0], "x": [1.0, 2.0, 3.0], "y": [20.5, 21, {"$float": "NaN"}]},
            "u": {"time": [], "x": [], "y": []},
        })
    );
    let downsampled = mock
        .command(
            descriptor,
            "history.query",
            json!({"codenames": ["t"], "from": 1000, "to": 1002, "max_points": 4}),
        )
        .unwrap();
    // One bucket: first (20.5), max (21), last (NaN, which is also why min is 20.5).
    assert_eq!(downsampled["t"]["y"], json!([20.5, 21, {"$float": "NaN"}]));
    assert_eq!(
        mock.command(descriptor, "history.codenames", Value::Null)
            .unwrap(),
        json!([
            {"codename": "s", "first": 1002.0, "last": 1003.0, "rows": 2},
            {"codename": "t", "first": 1000.0, "last": 1002.0, "rows": 3},
        ])
    );

    // Bad params: -32602 naming the field, and the plugin keeps serving.
    for (params, expected) in [
        (json!({"codenames": ["t"]}), "missing field `from`"),
        (json!({"codenames": "t", "from": 0}), "codenames"),
        (
            json!({"codenames": ["t"], "from": 0, "max_points": 2}),
            "at least 4",
        ),
        (
            json!({"codenames": ["t"], "from": 5, "to": 1}),
            "before from",
        ),
        (
            json!({"codenames": ["t"], "from": 0, "bucket": 1}),
            "unknown field `bucket`",
        ),
    ] {
        let err = mock
            .command(descriptor, "history.query", params.clone())
            .unwrap_err();
        assert_eq!(err.code, codes::INVALID_PARAMS, "{params}: {err}");
        assert!(err.message.contains(expected), "{params}: {}", err.message);
    }

    // The commands without params take null, {} or [] and refuse anything else.
    for command in ["history.codenames", "history.stats"] {
        assert!(mock.command(descriptor, command, json!([])).is_ok());
        let err = mock
            .command(descriptor, command, json!({"x": 1}))
            .unwrap_err();
        assert_eq!(err.code, codes::INVALID_PARAMS, "{command}: {err}");
    }

    // history.flush answers once queued points are committed.
    mock.publish(topics::POINTS, json!({"t": [5.0, 22]}), 1004.0);
    let stats = mock
        .command(descriptor, "history.flush", json!({}))
        .unwrap();
    assert_eq!(stats["rows_written"], json!(6));
    assert_eq!(stats["buffered"], json!(0));

    // The host stops: subscriptions end (the writer writes what is queued), then shutdown.
    mock.publish(topics::POINTS, json!({"t": [6.0, 23]}), 1005.0);
    mock.end_subscriptions();
    mock.shutdown(descriptor).unwrap();
    let stats = mock
        .command(descriptor, "history.stats", json!({}))
        .unwrap();
    assert_eq!(stats["rows_written"], json!(7));
    let con = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = con
        .query_row("SELECT count(*) FROM history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 7);
}
