//! `GET /metrics` against the real binary: the body parses as the Prometheus text format
//! 0.0.4 (checked by a strict parser here), and the counters move with real traffic on
//! every front end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use labsocket_e2e::mosquitto::Mosquitto;
use labsocket_e2e::{http_get, Server, UdpClient, WAIT};
use serde_json::json;

/// Samples by `name{label="value",...}` (labels sorted), from a body that must follow the
/// text format: `# HELP`/`# TYPE` before a family's samples, each family typed once,
/// valid names, label syntax and values.
fn parse(body: &str) -> HashMap<String, f64> {
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    let valid_name = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            assert!(valid_name(name), "bad family name {name:?}");
            assert!(
                ["counter", "gauge", "untyped", "summary", "histogram"].contains(&kind),
                "bad type in {line:?}"
            );
            assert!(
                typed.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} typed twice"
            );
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line:?}");
        let (series, value) = line.rsplit_once(' ').expect("name value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels end with }");
                let mut pairs: Vec<String> = split_labels(labels)
                    .into_iter()
                    .map(|(label, text)| {
                        assert!(valid_name(&label), "bad label {label:?} in {line:?}");
                        format!("{label}=\"{text}\"")
                    })
                    .collect();
                pairs.sort();
                (name, format!("{{{}}}", pairs.join(",")))
            }
            None => (series, String::new()),
        };
        assert!(valid_name(name), "bad metric name {name:?}");
        assert!(
            typed.contains_key(name),
            "sample of {name} before its # TYPE"
        );
        assert!(
            samples.insert(format!("{name}{labels}"), value).is_none(),
            "{name}{labels} twice"
        );
    }
    samples
}

/// `a="x",b="y\"z"` as pairs, escapes kept as written.
fn split_labels(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (label, after) = rest.split_once("=\"").expect("label=\"value\"");
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.expect("closing quote");
        pairs.push((label.to_owned(), after[..end].to_owned()));
        rest = after[end + 1..].trim_start_matches(',');
    }
    pairs
}

fn scrape(server: &Server) -> HashMap<String, f64> {
    let response = http_get(server.address("http"), "/metrics", None);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&response.body)
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

#[test]
fn metrics_parse_and_move_with_traffic() {
    let server = Server::start(
        r#"
[[pull_socket]]
name = "pull"
port = 0
codenames = ["a"]

[[push_socket]]
name = "push"
port = 0

[[source]]
command = "echo"
interval_secs = 0.05
params = { s = 1.0 }
"#,
    );
    let before = scrape(&server);
    assert!(value(&before, "labsocket_uptime_seconds") > 0.0);
    for front_end in ["native", "http", "pull.0", "push.0"] {
        let series = format!("labsocket_requests_total{{front_end=\"{front_end}\"}}");
        assert!(before.contains_key(&series), "{series} missing");
    }
    assert_eq!(
        value(&before, "labsocket_requests_total{front_end=\"pull.0\"}"),
        0.0
    );
    assert_eq!(
        value(&before, "labsocket_hello_greetings_total"),
        0.0,
        "a plugin's {{\"metrics\": true}} command is exported"
    );

    // Traffic on every front end, with some errors.
    let pull = UdpClient::new(server.address("pull.0"));
    assert_eq!(pull.request("a#raw"), "0.0,0.0");
    assert_eq!(pull.request("name"), "pull");
    assert_eq!(pull.request("nonsense"), "UNKNOWN_COMMMAND");
    let push = UdpClient::new(server.address("push.0"));
    assert_eq!(push.request("json_wn#{\"a\": 1}"), "ACK#{'a': 1}");
    assert!(push.request("json_wn#{bad").starts_with("ERROR#"));
    let mut rpc = server.rpc();
    rpc.call("hello.greet", json!({"name": "Ada"}));
    rpc.call("hello.greet", json!({}));
    rpc.call("set_point", json!(["m1", 1.0, 2.0]));
    rpc.call_err("no.such.command", json!({}));
    assert_eq!(
        http_get(server.address("http"), "/api/nothing", None).status,
        404
    );

    // The source runs on its own timer: wait for its calls to show.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = scrape(&server);
        if after
            .get("labsocket_source_calls_total{command=\"echo\",source=\"1\"}")
            .is_some_and(|calls| *calls >= 2.0)
        {
            break after;
        }
        assert!(
            Instant::now() < deadline,
            "source calls never counted: {after:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(moved("labsocket_requests_total{front_end=\"pull.0\"}"), 3.0);
    assert_eq!(
        moved("labsocket_request_errors_total{front_end=\"pull.0\"}"),
        1.0
    );
    assert_eq!(moved("labsocket_requests_total{front_end=\"push.0\"}"), 2.0);
    assert_eq!(
        moved("labsocket_request_errors_total{front_end=\"push.0\"}"),
        1.0
    );
    assert!(moved("labsocket_requests_total{front_end=\"native\"}") >= 4.0);
    assert_eq!(
        moved("labsocket_request_errors_total{front_end=\"native\"}"),
        1.0
    );
    // At least the 404 and the first scrape itself.
    assert!(moved("labsocket_requests_total{front_end=\"http\"}") >= 2.0);
    assert_eq!(
        moved("labsocket_request_errors_total{front_end=\"http\"}"),
        1.0
    );
    assert_eq!(
        value(&after, "labsocket_connections{front_end=\"native\"}"),
        1.0
    );
    assert_eq!(value(&after, "labsocket_hello_greetings_total"), 2.0);
    assert!(
        value(&after, "labsocket_points") >= 2.0,
        "m1 and the source's s"
    );
    assert_eq!(
        value(
            &after,
            "labsocket_source_errors_total{command=\"echo\",source=\"1\"}"
        ),
        0.0
    );
    assert_eq!(value(&after, "labsocket_events_lost_total"), 0.0);
    assert!(
        value(&after, "labsocket_uptime_seconds") >= value(&before, "labsocket_uptime_seconds")
    );
    assert!(
        !after.keys().any(|name| name.starts_with("labsocket_mqtt_")),
        "no federation, no mqtt family"
    );
}

/// Scrapes `server` until `ready` holds for the samples, failing with them after WAIT.
fn scrape_until(
    server: &Server,
    what: &str,
    ready: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let samples = scrape(server);
        if ready(&samples) {
            return samples;
        }
        assert!(Instant::now() < deadline, "no {what} in {samples:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn federation_state_messages_and_outbox_are_exported() {
    let broker = Mosquitto::start();
    let host = |id: &str| {
        Server::start(&format!(
            "[mqtt]\nurl = \"{}\"\nlab = \"lab1\"\nhost = \"{id}\"\nkeepalive_secs = 1\n",
            broker.url()
        ))
    };
    let a = host("pcA");
    let b = host("pcB");
    let get = |samples: &HashMap<String, f64>, name: &str| {
        samples.get(&format!("labsocket_mqtt_{name}")).copied()
    };
    scrape_until(&b, "B connected with A online", |s| {
        get(s, "connected") == Some(1.0) && get(s, "remote_hosts_online") == Some(1.0)
    });
    let before = scrape(&b);
    a.rpc().call("set_point", json!(["t", 1795238169.0, 2.0]));
    scrape_until(&b, "B's messages_in_total moving", |s| {
        get(s, "messages_in_total") > get(&before, "messages_in_total")
            && get(s, "points_received_total") >= Some(1.0)
    });
    let on_a = scrape(&a);
    assert!(
        get(&on_a, "messages_out_total") >= Some(2.0),
        "birth, pt, batch"
    );
    assert_eq!(get(&on_a, "outbox_batches"), Some(0.0), "acknowledged");

    // Broker gone: A says so, and its changes wait in the outbox.
    let mut broker = broker;
    broker.kill();
    scrape_until(&a, "A disconnected", |s| get(s, "connected") == Some(0.0));
    a.rpc().call("set_point", json!(["t", 1795238170.0, 3.0]));
    scrape_until(&a, "A's outbox holding the change", |s| {
        get(s, "outbox_batches") >= Some(1.0)
    });
    // B no longer hears A's status: A counts as offline within 3 keepalives.
    scrape_until(&b, "A offline on B", |s| {
        get(s, "remote_hosts_online") == Some(0.0)
    });
}
