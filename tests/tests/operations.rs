//! Operating the server (issue 11): `serve --log-file` and SIGHUP, and start-up failures
//! that say what to do.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use labsocket_e2e::{Server, TempDir, WAIT};
use serde_json::json;

fn hangup(server: &Server) {
    // SAFETY: sending a signal to our own child process by its pid.
    let sent = unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
    assert_eq!(sent, 0, "SIGHUP could not be sent");
}

/// Waits until the file at `path` contains `text`; returns its contents.
fn wait_for_text(path: &Path, text: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let contents = std::fs::read_to_string(path).unwrap_or_default();
        if contents.contains(text) {
            return contents;
        }
        assert!(
            Instant::now() < deadline,
            "{} never contained {text:?}; it has:\n{contents}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reopens_the_log_file_and_the_server_goes_on() {
    let logs = TempDir::new("logs");
    let log = logs.path().join("labsocket.log");
    let rotated = logs.path().join("labsocket.log.1");
    let server = Server::start_with_args("", &["--log-file", log.to_str().unwrap()])
        .unwrap_or_else(|failure| panic!("server did not start: {}", failure.stderr));
    // The start-up lines went to the file, not to stderr.
    wait_for_text(&log, "front end listening on");
    assert!(
        !server.stderr().contains("front end listening on"),
        "{}",
        server.stderr()
    );

    std::fs::rename(&log, &rotated).unwrap();
    hangup(&server);
    let fresh = wait_for_text(&log, &format!("reopened log file {}", log.display()));
    assert!(!fresh.contains("front end listening on"), "{fresh}");
    assert_eq!(server.rpc().call("ping", json!([])), json!("pong"));
    // A second rotation works the same way, and the old file got nothing new.
    let before = std::fs::read_to_string(&rotated).unwrap();
    std::fs::remove_file(&log).unwrap();
    hangup(&server);
    wait_for_text(&log, "reopened log file");
    assert_eq!(std::fs::read_to_string(&rotated).unwrap(), before);
    assert_eq!(server.rpc().call("ping", json!([])), json!("pong"));
}

#[test]
fn sighup_without_a_log_file_does_not_stop_the_server() {
    let server = Server::start("");
    hangup(&server);
    wait_for_text(&server.dir.path().join("stderr.log"), "SIGHUP");
    assert_eq!(server.rpc().call("ping", json!([])), json!("pong"));
}

#[test]
fn a_port_in_use_names_the_option_that_moves_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let failure = match Server::start_with_args("", &["--native-port", &port]) {
        Ok(_) => panic!("started on a port in use"),
        Err(failure) => failure,
    };
    assert_eq!(failure.status.and_then(|s| s.code()), Some(1));
    assert!(
        failure.stderr.contains(&format!("127.0.0.1:{port}"))
            && failure.stderr.contains("--native-port PORT"),
        "{}",
        failure.stderr
    );
}

#[test]
fn an_unwritable_log_file_is_refused_before_starting() {
    let failure = match Server::start_with_args("", &["--log-file", "/nonexistent/dir/x.log"]) {
        Ok(_) => panic!("started without its log file"),
        Err(failure) => failure,
    };
    assert_eq!(failure.status.and_then(|s| s.code()), Some(2));
    assert!(
        failure
            .stderr
            .contains("cannot open the log file /nonexistent/dir/x.log"),
        "{}",
        failure.stderr
    );
}

#[test]
fn as_a_service_the_default_data_dir_is_the_state_directory() {
    let root = TempDir::new("service");
    let (state, cwd) = (root.path().join("state"), root.path().join("cwd"));
    std::fs::create_dir_all(&cwd).unwrap();
    let mut child = Command::new(labsocket_e2e::labsocket_bin())
        .arg("serve")
        .args(["--native-port", "0", "--pyminer-port", "0"])
        .args(["--http-port", "0", "--live-server-port", "0"])
        .env("STATE_DIRECTORY", &state)
        .current_dir(&cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("labsocket runs");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let ready = loop {
        match received.recv_timeout(WAIT) {
            Ok(line) if line == "ready" => break true,
            Ok(_) => continue,
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "the server did not start");
    assert!(
        state.join("labsocket.lock").is_file(),
        "no lock in the state dir"
    );
    assert!(
        !cwd.join("labsocket-data").exists(),
        "the working directory was used"
    );
}
