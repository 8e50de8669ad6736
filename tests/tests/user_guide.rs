//! The user guide's walk "From install to your own codenames" (docs/user-guide.md), run
//! as written against the real binary, and `labsocket get --all` against the built-in
//! default's system pull socket.
//!
//! The walk's `lab.toml` is read from the guide itself, so the guide cannot drift from
//! what works; only its fixed port becomes 0 (parallel tests). The Python steps (6 and 7,
//! and a watcher surviving a restart) are `clients/python/tests/test_pull.py` and
//! `test_workspace.py`.

use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use labsocket_e2e::build::workspace_root;
use labsocket_e2e::{labsocket_bin, Server, WAIT};
use serde_json::json;

const WALK: &str = "## From install to your own codenames";

/// The walk's section of the user guide.
fn walk() -> String {
    let guide = std::fs::read_to_string(workspace_root().join("docs/user-guide.md")).unwrap();
    let start = guide.find(WALK).expect("the guide has the walk");
    let section = &guide[start + WALK.len()..];
    let end = section.find("\n## ").unwrap_or(section.len());
    section[..end].to_owned()
}

/// The body of the fenced block of `kind` in `text` that contains `marker`.
fn block<'t>(text: &'t str, kind: &str, marker: &str) -> &'t str {
    let at = text.find(marker).unwrap_or_else(|| panic!("no '{marker}'"));
    let fence = format!("```{kind}\n");
    let open = text[..at].rfind(&fence).expect("an opening fence") + fence.len();
    let close = open + text[open..].find("```").expect("a closing fence");
    assert!(close > at, "'{marker}' is not inside a {kind} block");
    &text[open..close]
}

fn labsocket(args: &[&str]) -> Output {
    Command::new(labsocket_bin()).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn the_walk_from_install_to_your_own_codenames_works_as_written() {
    let walk = walk();
    // Step 2: lab.toml, as the guide gives it.
    let lab_toml = block(&walk, "toml", "name = \"Oven lab\"");
    assert_eq!(lab_toml.matches("port = 9000").count(), 1, "{lab_toml}");
    let server = Server::start(&lab_toml.replace("port = 9000", "port = 0"));

    // Step 3: serve announces the front ends the guide shows, and nothing else.
    let console = block(&walk, "console", "$ labsocket serve --config lab.toml");
    let mut shown: Vec<&str> = console
        .lines()
        .filter_map(|line| line.strip_prefix("listening "))
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    shown.sort_unstable();
    assert_eq!(shown, server.front_ends());
    assert!(console.trim_end().ends_with("\nready"), "{console}");
    // Logs in a file carry no terminal colour codes.
    assert!(!server.stderr().contains('\u{1b}'), "{}", server.stderr());

    // Step 4: put values in, from the terminal.
    let native = server.native().port().to_string();
    let pull = server.address("pull.0").port().to_string();
    for (codename, value) in [
        ("oven_temperature", "182.5"),
        ("oven_pressure", "1.013"),
        ("valve_state", "\"open\""),
    ] {
        let params = format!("[\"{codename}\", {value}]");
        let out = labsocket(&["call", "set_point_now", &params, "--port", &native]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let x: f64 = text(&out.stdout)
            .trim()
            .parse()
            .expect("set_point_now prints x");
        assert!((x - unix_now()).abs() < 60.0, "x is now: {x}");
    }

    // Step 5: read them.
    let out = labsocket(&["get", "oven_temperature", "--port", &pull]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let (x, y) = printed.trim_end().split_once(' ').expect("x y");
    assert!(x.parse::<f64>().is_ok(), "{printed}");
    assert_eq!(y, "182.5");
    let out = labsocket(&["get", "--all", "--port", &pull]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["codename", "value", "x", "age"], "{table}");
    let values: Vec<(&str, &str)> = rows[1..].iter().map(|row| (row[0], row[1])).collect();
    assert_eq!(
        values,
        [
            ("oven_temperature", "182.5"),
            ("oven_pressure", "1.013"),
            ("valve_state", "open")
        ],
        "{table}"
    );

    // "Wait five seconds": a temperature measured 10 s ago is OLD_DATA and get --all
    // exits 1; valve_state has no timeout.
    server.rpc().call(
        "set_point",
        json!(["oven_temperature", unix_now() - 10.0, 181.0]),
    );
    let out = labsocket(&["get", "--all", "--port", &pull]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "labsocket: OLD_DATA: oven_temperature\n");
    assert!(
        text(&out.stdout)
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>()[..2]
                == ["oven_temperature", "OLD_DATA"]),
        "{}",
        text(&out.stdout)
    );
}

/// The built-in default's pull socket (SPEC §3: `labsocket serve` with no config), on a
/// free port instead of 9000: the system source feeds its codenames every second.
fn default_style_config() -> String {
    let codenames: Vec<String> = system::CODENAMES
        .iter()
        .map(|codename| format!("\"{codename}\""))
        .collect();
    format!(
        r#"
[[source]]
command = "system.sample"
interval_secs = 1.0

[[pull_socket]]
name = "labsocket system"
kind = "date"
port = 0
codenames = [{}]
timeout = 5.0
"#,
        codenames.join(", ")
    )
}

#[test]
fn get_all_reads_the_default_system_socket() {
    let server = Server::start(&default_style_config());
    let pull = server.address("pull.0").port().to_string();
    // The source's first sample arrives shortly after start; until then every codename
    // is OLD_DATA (x = 0.0) and get --all exits 1.
    let deadline = Instant::now() + WAIT;
    let out = loop {
        let out = labsocket(&["get", "--all", "--port", &pull]);
        if out.status.code() == Some(0) || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    let codenames: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    assert_eq!(codenames, system::CODENAMES, "{table}");
    for row in &rows {
        assert!(row[1].parse::<f64>().is_ok(), "a number: {table}");
        let x: f64 = row[2].parse().unwrap();
        assert!((x - unix_now()).abs() < 60.0, "dated now: {table}");
        assert_eq!(row.len(), 5, "value, x and an age in seconds: {table}");
        assert_eq!(row[4], "s", "{table}");
    }
}
