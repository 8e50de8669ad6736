//! The client subcommands a person uses on a running server: `status`, `vars`, `watch`
//! (readable, JSON, across restarts, a hung server), `get` and `push` (UDP), colours.
//!
//! `get` and `push` talk to the server's own PyExpLabSys sockets (`[[pull_socket]]`,
//! `[[push_socket]]`), which answer with PyExpLabSys' bytes (see
//! `tests/tests/pyexplabsys_pull.rs`, `pyexplabsys_push.rs`).

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use labsocket_e2e::{labsocket_bin, Server, WAIT};

fn labsocket(args: &[&str]) -> Output {
    Command::new(labsocket_bin()).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `labsocket` client subcommand whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(labsocket_bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// Repeats `poke` until a line containing `wanted` is printed; returns that line.
    fn poke_until(&self, wanted: &str, mut poke: impl FnMut()) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            poke();
            while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                if line.contains(wanted) {
                    return line;
                }
            }
            assert!(Instant::now() < deadline, "never printed '{wanted}'");
        }
    }

    /// Kills the process; returns its stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        text(&self.child.wait_with_output().unwrap().stderr)
    }
}

#[test]
fn status_summarises_the_server_and_json_has_it_all() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let out = labsocket(&["status", "--port", &port]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.starts_with("labsocket 0.1.0 at 127.0.0.1:"),
        "{summary}"
    );
    assert!(summary.contains("front end  address"), "{summary}");
    assert!(
        summary.contains(&format!("native     {}", server.native())),
        "{summary}"
    );
    assert!(
        !summary.contains('\u{1b}'),
        "colours on a pipe: {summary:?}"
    );
    let out = labsocket(&["status", "--json", "--port", &port]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["front_ends"][0]["name"], "native");
}

#[test]
fn status_gives_each_front_ends_heartbeat_period() {
    let server = Server::start(
        "[native]\nheartbeat_secs = 0.5\n[pyminer]\nheartbeat_secs = 0\n\n\
         [[pull_socket]]\nname = \"p\"\nport = 0\ncodenames = [\"a\"]\n",
    );
    let port = server.native().port().to_string();
    let out = labsocket(&["status", "--json", "--port", &port]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let heartbeats: Vec<(&str, Option<f64>)> = status["front_ends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f.get("heartbeat_secs").map(|h| h.as_f64().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        heartbeats,
        [
            ("native", Some(0.5)),
            ("pyminer", Some(0.0)),
            ("pull.0", None),
            ("http", Some(2.0))
        ]
    );
    let summary = text(&labsocket(&["status", "--port", &port]).stdout);
    let row = |name: &str| {
        summary
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {summary}"))
            .to_owned()
    };
    assert!(summary.contains("connections  heartbeat"), "{summary}");
    assert!(row("native").ends_with("0.50 s"), "{summary}");
    assert!(row("pyminer").ends_with("off"), "{summary}");
    assert!(row("pull.0").ends_with('-'), "{summary}");
}

#[test]
fn colours_follow_clicolor_force_and_no_color() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let run = |env: &[(&str, &str)]| {
        let mut command = Command::new(labsocket_bin());
        command.args(["status", "--port", &port]);
        for (key, value) in env {
            command.env(key, value);
        }
        text(&command.output().unwrap().stdout)
    };
    assert!(run(&[("CLICOLOR_FORCE", "1")]).contains("\u{1b}["));
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\u{1b}'));
}

#[test]
fn client_subcommands_exit_one_when_no_server_listens() {
    let port = labsocket_e2e::free_port().to_string();
    // A plain `watch` waits for the server instead (tests/tests/cli_messages.rs).
    for command in [&["status"][..], &["vars"], &["watch", "--no-reconnect"]] {
        let out = labsocket(&[command, &["--port", &port]].concat());
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(
            text(&out.stderr).contains("cannot reach the server"),
            "{command:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn watch_prints_readable_lines_with_timestamps() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let watch = Running::start(&["watch", "points", "--port", &port]);
    let mut rpc = server.rpc();
    let line = watch.poke_until("temp=", || {
        rpc.call("set_point", serde_json::json!(["temp", 1.5, 21.5]));
    });
    watch.stop();
    // 2026-11-21T10:00:00.123Z points temp=[1.5,21.5]
    let (stamp, rest) = line.split_once(' ').unwrap();
    assert_eq!(stamp.len(), 24, "{line}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{line}"
    );
    assert_eq!(rest, "points temp=[1.5,21.5]");
}

#[test]
fn watch_json_lines_carry_topic_and_receive_time() {
    let server = Server::start("[native]\nheartbeat_secs = 0.2\n");
    let port = server.native().port().to_string();
    let watch = Running::start(&["watch", "--json", "--heartbeats", "--port", &port]);
    let heartbeat = watch.poke_until("heartbeat", || {});
    let heartbeat: serde_json::Value = serde_json::from_str(&heartbeat).unwrap();
    assert_eq!(heartbeat["topic"], "heartbeat");
    assert!(heartbeat["ts"].is_f64() && heartbeat["received"].is_f64());
    watch.stop();
}

#[test]
fn watch_survives_a_server_restart() {
    let port = labsocket_e2e::free_port().to_string();
    let server = Server::start_with_args("", &["--native-port", &port]).unwrap();
    let watch = Running::start(&["watch", "points", "--port", &port]);
    let mut rpc = server.rpc();
    watch.poke_until("before=", || {
        rpc.call("set_point", serde_json::json!(["before", 1, 1]));
    });
    let dir = server.kill9();
    let server = Server::start_in(dir, "", &["--native-port", &port]).unwrap();
    let mut rpc = server.rpc();
    watch.poke_until("after=", || {
        rpc.call("set_point", serde_json::json!(["after", 2, 2]));
    });
    let stderr = watch.stop();
    assert!(stderr.contains("connection lost"), "{stderr}");
    assert!(stderr.contains("reconnected"), "{stderr}");
}

#[test]
fn watch_notices_a_hung_server_and_no_reconnect_exits_one() {
    let server = Server::start("[native]\nheartbeat_secs = 0.2\n");
    let port = server.native().port().to_string();
    let mut watch = Running::start(&["watch", "--heartbeats", "--no-reconnect", "--port", &port]);
    // Two heartbeats: the period is measured between them.
    watch.poke_until("heartbeat", || {});
    watch.poke_until("heartbeat", || {});
    // SAFETY: stopping our own child process by its pid (the harness kills it later).
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGSTOP) };
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = watch.child.try_wait().unwrap() {
            break status;
        }
        assert!(stopped.elapsed() < WAIT, "watch did not notice the silence");
        std::thread::sleep(Duration::from_millis(20));
    };
    let noticed = stopped.elapsed();
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGCONT) };
    assert_eq!(status.code(), Some(1));
    assert!(noticed < Duration::from_secs(3), "took {noticed:?}");
    let stderr = watch.stop();
    assert!(stderr.contains("no heartbeat for 0."), "{stderr}");
}

/// One server's PyExpLabSys sockets for `get` and `push` (ports 0: the real ports come from
/// the `listening` lines): a date pull socket, a `store_last` push socket, a
/// `callback_direct` push socket calling `hello.greet`, and an `enqueue` push socket that
/// holds one dict.
const UDP_SOCKETS: &str = r#"
[[pull_socket]]
name = "CLI pull socket"
kind = "date"
port = 0
codenames = ["alpha", "beta", "gamma"]
timeouts = { beta = 1.0 }

[[push_socket]]
name = "CLI push socket"
port = 0
action = "store_last"

[[push_socket]]
name = "CLI greeting socket"
port = 0
action = "callback_direct"
command = "hello.greet"

[[push_socket]]
name = "CLI queue of one"
port = 0
action = "enqueue"
queue_size = 1
"#;

/// The server of [`UDP_SOCKETS`] with `alpha` fresh (x five seconds ago, no timeout),
/// `beta` OLD_DATA (x ten seconds ago, timeout 1 s) and `gamma` a string dated x = 1.0.
/// Returns the server, the pull socket's port and alpha's x.
fn pull_socket() -> (Server, String, f64) {
    let server = Server::start(UDP_SOCKETS);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 5.0;
    let mut rpc = server.rpc();
    rpc.call("set_point", serde_json::json!(["alpha", now, 42.0]));
    rpc.call("set_point", serde_json::json!(["beta", now - 5.0, 7]));
    rpc.call("set_point", serde_json::json!(["gamma", 1.0, "hello"]));
    let port = server.address("pull.0").port().to_string();
    (server, port, now)
}

#[test]
fn get_prints_x_and_y_or_the_json_reply() {
    let (_server, port, now) = pull_socket();
    let out = labsocket(&["get", "alpha", "--port", &port]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{now:?} 42.0\n"));
    let out = labsocket(&["get", "alpha", "--json", "--port", &port]);
    assert_eq!(text(&out.stdout), format!("[{now:?}, 42.0]\n"));
}

#[test]
fn get_exits_one_for_old_data_unknown_codenames_and_silence() {
    let (_server, port, _) = pull_socket();
    let out = labsocket(&["get", "beta", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("'beta' is OLD_DATA"));
    let out = labsocket(&["get", "delta", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no codename 'delta'"),
        "{}",
        text(&out.stderr)
    );
    // A port where nothing answers: bound, never read.
    let mute = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mute_port = mute.local_addr().unwrap().port().to_string();
    let out = labsocket(&["get", "alpha", "--timeout", "0.2", "--port", &mute_port]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no reply from 127.0.0.1:"));
    let out = labsocket(&["get", "--port", &port]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a codename or --all is required"
    );
}

#[test]
fn get_all_prints_a_table_that_marks_old_data() {
    let (_server, port, now) = pull_socket();
    let out = labsocket(&["get", "--all", "--port", &port]);
    assert_eq!(out.status.code(), Some(1), "beta is OLD_DATA");
    assert_eq!(text(&out.stderr), "labsocket: OLD_DATA: beta\n");
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("codename  value"), "{table}");
    let alpha: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(alpha[..3], ["alpha", "42.0", &format!("{now:?}")]);
    assert!(alpha[3].parse::<f64>().unwrap() >= 5.0, "age: {table}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>()[..2],
        ["beta", "OLD_DATA"]
    );
    // x = 1.0 is not a Unix time: no age.
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["gamma", "hello", "1.0", "-"]
    );
}

#[test]
fn get_watch_repeats_plain_output_when_not_on_a_terminal() {
    let (_server, port, now) = pull_socket();
    let watch = Running::start(&["get", "alpha", "--watch", "0.05", "--port", &port]);
    let expected = format!("{now:?} 42.0");
    for _ in 0..3 {
        let line = watch.lines.recv_timeout(WAIT).unwrap();
        assert_eq!(line, expected);
    }
    watch.stop();
    let out = labsocket(&["get", "alpha", "--watch", "0", "--port", &port]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn push_sends_json_wn_and_reports_refusals() {
    let server = Server::start(UDP_SOCKETS);
    let port = |i: usize| server.address(&format!("push.{i}")).port().to_string();
    let (store, greeter, queue) = (port(0), port(1), port(2));
    let out = labsocket(&["push", r#"{"a":1,"b":"x"}"#, "--port", &store]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ACK#{'a': 1, 'b': 'x'}\n");
    let state = server.rpc().call(
        "push_state",
        serde_json::json!([store.parse::<u16>().unwrap()]),
    );
    assert_eq!(state["last"], serde_json::json!({"a": 1, "b": "x"}));
    let out = labsocket(&["push", r#"{"name": 1}"#, "--port", &greeter]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("callback failed: 'name' must be a string"),
        "{}",
        text(&out.stderr)
    );
    let out = labsocket(&["push", r#"{"c": 1}"#, "--port", &queue]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = labsocket(&["push", r#"{"c": 2}"#, "--port", &queue]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("refused the data: The queue of this push socket is full"),
        "{}",
        text(&out.stderr)
    );
    for bad in ["[1, 2]", "{oops", r##"{"a#b": 1}"##] {
        let out = labsocket(&["push", bad, "--port", &store]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
