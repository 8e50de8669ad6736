//! What the command line says when something is wrong (issue 11): an unreachable server,
//! a missing token and a bad config are explained in the user's terms with the option
//! that fixes them; `watch` waits for a server that is not up yet; `--help` has examples.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use labsocket_e2e::{labsocket_bin, Server, TempDir, WAIT};
use serde_json::json;

fn labsocket(args: &[&str]) -> Output {
    Command::new(labsocket_bin())
        .args(args)
        .env_remove("LABSOCKET_TOKEN")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_unreachable_server_names_the_address_and_the_options() {
    let port = labsocket_e2e::free_port().to_string();
    for command in [&["call", "ping"][..], &["status"], &["vars"]] {
        let out = labsocket(&[command, &["--port", &port]].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot reach the server at 127.0.0.1:{port}: "))
                && stderr.contains("is `labsocket serve` running?")
                && stderr.contains("`--port`"),
            "{command:?}: {stderr}"
        );
    }
}

#[test]
fn authentication_required_says_how_to_give_the_token() {
    let dir = TempDir::new("cli-auth");
    let token = dir.path().join("token");
    std::fs::write(&token, "cli-messages-token-0123456789\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = Server::start_in(dir, "[native]\nauth_token_file = \"token\"\n", &[]).unwrap();
    let port = server.native().port().to_string();
    let out = labsocket(&["call", "ping", "--port", &port]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for needle in [
        "authentication required",
        "`--token`",
        "LABSOCKET_TOKEN",
        "`token=`",
    ] {
        assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
    }
    let out = labsocket(&[
        "call",
        "ping",
        "--port",
        &port,
        "--token",
        "wrong-wrong-wrong",
    ]);
    assert!(
        text(&out.stderr).contains("check the token given with `--token`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn config_errors_are_in_the_users_words() {
    let dir = TempDir::new("cli-config");
    for (config, expected) in [
        (
            "[nativ]\nport = 1\n",
            "line 1: unknown section `[nativ]` — did you mean `[native]`?",
        ),
        (
            "[native]\nport = \"24307\"\n",
            "line 2: [native] port must be a number, not \"24307\"",
        ),
    ] {
        let file = dir.path().join("lab.toml");
        std::fs::write(&file, config).unwrap();
        let out = labsocket(&["serve", "--config", file.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{config:?}: {stderr}");
        assert!(!stderr.contains("TOML parse error"), "{stderr}");
    }
}

#[test]
fn top_level_help_shows_examples() {
    let out = labsocket(&["--help"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("Examples:") && stdout.contains("labsocket serve --config lab.toml"),
        "{stdout}"
    );
}

/// A `labsocket watch` whose stdout and stderr lines arrive on channels.
struct Watch {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Watch {
    fn start(port: &str) -> Watch {
        let mut child = Command::new(labsocket_bin())
            .args(["watch", "data_changed", "--json", "--port", port])
            .env_remove("LABSOCKET_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = |stream: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        Watch {
            child,
            stdout,
            stderr,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn watch_waits_for_a_server_that_is_not_up_yet() {
    let port = labsocket_e2e::free_port().to_string();
    let watch = Watch::start(&port);
    let waiting = watch
        .stderr
        .recv_timeout(WAIT)
        .expect("watch says it waits");
    assert!(
        waiting.contains("cannot reach the server at") && waiting.contains("waiting for it"),
        "{waiting}"
    );
    assert!(watch.stdout.try_recv().is_err(), "nothing printed yet");

    let server = Server::start_with_args("", &["--native-port", &port]).unwrap();
    let connected = watch.stderr.recv_timeout(WAIT).expect("watch connects");
    assert!(connected.contains("connected to"), "{connected}");
    let mut rpc = server.rpc();
    // The subscription is made right after connecting: write until the event arrives.
    let deadline = Instant::now() + WAIT;
    let line = loop {
        rpc.call("workspace.set", json!({"name": "late", "value": 1}));
        if let Ok(line) = watch.stdout.recv_timeout(Duration::from_millis(200)) {
            break line;
        }
        assert!(Instant::now() < deadline, "watch printed no event");
    };
    assert!(line.contains("\"late\""), "{line}");
}
