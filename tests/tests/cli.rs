//! The command line: client subcommands against a running server, exit codes, config errors.

use std::process::{Command, Output};

use labsocket_e2e::{labsocket_bin, Server, TempDir};

fn labsocket(args: &[&str]) -> Output {
    Command::new(labsocket_bin()).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn call_prints_the_result_and_exits_zero() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let out = labsocket(&["call", "hello.greet", r#"{"name": "Ada"}"#, "--port", &port]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\"Hello, Ada!\"\n");
    let out = labsocket(&["call", "echo", "[1, 2.5, NaN]", "--port", &port]);
    assert_eq!(text(&out.stdout), "[1, 2.5, NaN]\n");
}

#[test]
fn call_errors_exit_one_with_the_message_on_stderr() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let out = labsocket(&["call", "no.such.command", "--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("unknown method 'no.such.command'"),
        "{}",
        text(&out.stderr)
    );
    let out = labsocket(&["call", "echo", "{oops", "--port", &port]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not valid JSON"));
}

#[test]
fn unreachable_server_exits_one() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = labsocket(&["call", "ping", "--port", &port.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot reach the server"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn watch_prints_events_as_they_arrive() {
    let server = Server::start("");
    let port = server.native().port().to_string();
    let mut watch = Command::new(labsocket_bin())
        .args(["watch", "lab.alarm", "--json", "--port", &port])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut rpc = server.rpc();
    // Announce until the watcher has subscribed and prints the event.
    let deadline = std::time::Instant::now() + labsocket_e2e::WAIT;
    let line = loop {
        rpc.call(
            "hello.announce",
            serde_json::json!({"topic": "lab.alarm", "payload": {"level": 2}}),
        );
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "watch printed nothing"
        );
    };
    let _ = watch.kill();
    let _ = watch.wait();
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["topic"], "lab.alarm");
    assert_eq!(event["level"], 2);
}

#[test]
fn bad_config_is_refused_with_file_and_key_and_exit_two() {
    let dir = TempDir::new("badconfig");
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, "[native]\nheartbeat_secs = -3\n").unwrap();
    let out = labsocket(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("lab.toml") && err.contains("[native] heartbeat_secs"),
        "{err}"
    );
    std::fs::write(&path, "[nativ]\nport = 1\n").unwrap();
    let out = labsocket(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nativ"), "{}", text(&out.stderr));
}

#[test]
fn port_in_use_is_a_clear_start_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let failure = match Server::start_with_args("", &["--native-port", &port]) {
        Ok(_) => panic!("started on a taken port"),
        Err(failure) => failure,
    };
    assert_eq!(failure.status.and_then(|s| s.code()), Some(1));
    assert!(
        failure.stderr.contains("cannot listen on 127.0.0.1:"),
        "{}",
        failure.stderr
    );
}
