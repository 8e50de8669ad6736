//! TLS on the native and HTTP front ends (SPEC §10) with real clients: the Python client
//! and `urllib` (the `ssl` module), `openssl s_client`, the `labsocket` CLI, rustls
//! (through [`Relay`]); a wrong CA, plain clients on the TLS port, a client that never
//! finishes its handshake, bad certificate files, and a certificate reload on SIGHUP.
//!
//! Every certificate is made by the `openssl` commands `docs/security.md` documents.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use labsocket_e2e::tls::{make_lab_ca, make_self_signed, tls_table, Relay};
use labsocket_e2e::{labsocket_bin, RpcClient, Server, TempDir, WAIT};
use serde_json::json;

/// A server with `[tls]` from a lab CA made in its own folder (relative paths), and
/// the CA's certificate.
fn tls_server(extra: &str) -> Server {
    let dir = TempDir::new("tls");
    make_lab_ca(dir.path());
    let config = format!(
        "[tls]\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\nhandshake_timeout_secs = 1\n\
         [native]\nheartbeat_secs = 0.2\n{extra}"
    );
    Server::start_in(dir, &config, &[])
        .unwrap_or_else(|failure| panic!("TLS server did not start: {}", failure.stderr))
}

fn ca(server: &Server) -> std::path::PathBuf {
    server.dir.path().join("lab-ca.crt")
}

/// Another CA, which signed nothing the server has.
fn other_ca() -> TempDir {
    let dir = TempDir::new("other-ca");
    make_lab_ca(dir.path());
    dir
}

/// `labsocket ARGS`, with the exit status and both outputs.
fn cli(args: &[&str], env: &[(&str, &Path)]) -> (bool, String, String) {
    let mut command = Command::new(labsocket_bin());
    command
        .args(args)
        .env_remove("LABSOCKET_TLS")
        .env_remove("LABSOCKET_CA_FILE");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("labsocket runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Waits until the server closes `stream` (a read gives EOF or a reset) and returns
/// what it sent first.
fn read_until_closed(mut stream: TcpStream, within: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return received,
            Err(err) => panic!("the server did not close the connection within {within:?}: {err}"),
        }
    }
}

#[test]
fn python_client_and_urllib_speak_tls_and_refuse_a_wrong_ca() {
    let server = tls_server("");
    let other = other_ca();
    // Set over TLS (through the relay) for the HTTPS check.
    let relay = Relay::start(server.native(), &ca(&server));
    RpcClient::connect(relay.address).call("set_point", json!(["tls_point", 1.5, 42]));
    let args = [
        server.native().port().to_string(),
        server.address("http").port().to_string(),
        ca(&server).display().to_string(),
        other.path().join("lab-ca.crt").display().to_string(),
    ];
    let output = labsocket_e2e::python::run_script("tls_client.py", &args, WAIT * 2);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tls_client.py failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for check in [
        "ok client localhost",
        "ok client 127.0.0.1",
        "ok events pipelining heartbeats",
        "ok wrong CA refused",
        "ok plain client refused",
        "ok https api",
    ] {
        assert!(stdout.contains(check), "missing '{check}':\n{stdout}");
    }
}

#[test]
fn openssl_s_client_speaks_json_rpc_and_a_wrong_ca_fails() {
    let server = tls_server("");
    let port = server.native().port().to_string();
    let s_client = |ca: &Path| {
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args([
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-quiet",
            ])
            .arg("-CAfile")
            .arg(ca)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl runs (apt-get install openssl)")
    };
    let mut child = s_client(&ca(&server));
    let mut stdin = child.stdin.take().unwrap();
    // Three pipelined requests in one write: three replies, in order.
    stdin
        .write_all(
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\
              {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":[\"tls\"]}\n\
              {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"subscribe\",\"params\":{\"topics\":[\"points\"]}}\n",
        )
        .unwrap();
    stdin.flush().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || lines.recv_timeout(WAIT).expect("a line from s_client");
    let mut replies = Vec::new();
    let mut heartbeat = false;
    while replies.len() < 3 || !heartbeat {
        let line: serde_json::Value = serde_json::from_str(&next()).unwrap();
        if line["method"] == "heartbeat" {
            heartbeat = true;
        } else {
            replies.push(line);
        }
    }
    assert_eq!(replies[0]["result"], "pong");
    assert_eq!(replies[1]["result"], json!(["tls"]));
    assert_eq!(replies[2]["result"]["topics"], json!(["points"]));
    // An event from another (rustls) client reaches this subscriber.
    let relay = Relay::start(server.native(), &ca(&server));
    RpcClient::connect(relay.address).call("set_point", json!(["over_tls", 1.0, 2.0]));
    loop {
        let line: serde_json::Value = serde_json::from_str(&next()).unwrap();
        if line["method"] == "event" {
            assert_eq!(line["params"]["topic"], "points", "{line}");
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();

    let other = other_ca();
    let mut refused = s_client(&other.path().join("lab-ca.crt"));
    drop(refused.stdin.take());
    let output = refused.wait_with_output().unwrap();
    assert!(!output.status.success(), "s_client trusted a wrong CA");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("verify error"), "{stderr}");
}

#[test]
fn plain_and_stalled_clients_get_no_service_while_tls_clients_are_served() {
    let server = tls_server("");
    let relay = Relay::start(server.native(), &ca(&server));
    let mut good = RpcClient::connect(relay.address);
    assert_eq!(good.call("ping", json!([])), "pong");
    // A request and a reply of many TLS records (16 KiB each), read in pieces.
    let big = json!(["é".repeat(150_000)]);
    assert_eq!(good.call("echo", big.clone()), big);

    // A plain JSON-RPC client: no reply, the connection is closed.
    let mut plain = TcpStream::connect(server.native()).unwrap();
    plain
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
        .unwrap();
    let received = read_until_closed(plain, WAIT);
    assert!(
        !received.windows(4).any(|w| w == b"pong"),
        "a plain client was answered: {received:?}"
    );
    // A plain HTTP client on the HTTPS port: no HTTP answer.
    let mut http = TcpStream::connect(server.address("http")).unwrap();
    http.write_all(b"GET /api/points HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let received = read_until_closed(http, WAIT);
    assert!(!received.starts_with(b"HTTP/"), "plain HTTP was answered");

    // Slowloris: connected, silent or a few bytes of a ClientHello, never more. Dropped
    // after handshake_timeout_secs (1 s), while the TLS client is served meanwhile.
    let started = Instant::now();
    let silent = TcpStream::connect(server.native()).unwrap();
    let mut partial = TcpStream::connect(server.address("http")).unwrap();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    assert_eq!(
        good.call("echo", json!(["still here"])),
        json!(["still here"])
    );
    let _ = read_until_closed(silent, Duration::from_secs(10));
    let _ = read_until_closed(partial, Duration::from_secs(10));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "stalled handshakes were dropped after {took:?}, not after about 1 s"
    );
    assert_eq!(good.call("ping", json!([])), "pong");
    // Nothing counts the refused clients as served connections any longer (the count
    // drops when their task ends, just after the close the client saw: wait for it).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = good.call("status", json!([]));
        let native = status["front_ends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|front_end| front_end["name"] == "native")
            .unwrap()
            .clone();
        if native["connections"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "refused clients still counted: {native}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn web_view_websocket_and_cli_over_tls() {
    let server = tls_server("");
    let ca = ca(&server);
    let http = Relay::start(server.address("http"), &ca);
    let reply = labsocket_e2e::http_get(http.address, "/api/status", Some("localhost"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut live = labsocket_e2e::LiveViewClient::connect(http.address, "/ws");
    let snapshot = live.next_message();
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");

    let port = server.native().port().to_string();
    let ca_arg = ca.display().to_string();
    let (ok, stdout, stderr) = cli(
        &[
            "call",
            "--port",
            &port,
            "--tls",
            "--ca-file",
            &ca_arg,
            "ping",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("pong"), "{stdout}");
    // The environment variables; --ca-file alone implies TLS.
    let (ok, stdout, stderr) = cli(&["status", "--port", &port], &[("LABSOCKET_CA_FILE", &ca)]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("native"), "{stdout}");
    // By IP address (the certificate names 127.0.0.1 too).
    let (ok, _, stderr) = cli(
        &[
            "call",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "--ca-file",
            &ca_arg,
            "ping",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    // Without --tls: a clear hint.
    let (ok, _, stderr) = cli(&["call", "--port", &port, "ping"], &[]);
    assert!(!ok);
    assert!(stderr.contains("--tls"), "{stderr}");
    // A wrong CA: refused, saying why.
    let other = other_ca();
    let wrong = other.path().join("lab-ca.crt").display().to_string();
    let (ok, _, stderr) = cli(&["call", "--port", &port, "--ca-file", &wrong, "ping"], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("TLS") && stderr.contains("certificate"),
        "{stderr}"
    );
}

#[test]
fn a_self_signed_certificate_works_as_documented() {
    let dir = TempDir::new("self-signed");
    make_self_signed(dir.path());
    let server = Server::start(&format!(
        "{}[native]\nheartbeat_secs = 0\n",
        tls_table(dir.path(), 5.0)
    ));
    let port = server.native().port().to_string();
    let cert = dir.path().join("server.crt").display().to_string();
    let (ok, stdout, stderr) = cli(&["call", "--port", &port, "--ca-file", &cert, "ping"], &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("pong"), "{stdout}");
}

#[test]
fn bad_certificate_files_stop_the_start_naming_the_file() {
    let dir = TempDir::new("bad-tls");
    make_lab_ca(dir.path());
    let other = other_ca();
    let start = |cert: &Path, key: &Path| {
        let config = format!("[tls]\ncert_file = {cert:?}\nkey_file = {key:?}\n");
        match Server::start_with_args(&config, &[]) {
            Ok(_) => panic!("a server started with {cert:?} / {key:?}"),
            Err(failure) => failure.stderr,
        }
    };
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let missing = dir.path().join("missing.crt");
    let stderr = start(&missing, &key);
    assert!(
        stderr.contains("[tls]") && stderr.contains("missing.crt"),
        "{stderr}"
    );
    let stderr = start(&key, &key);
    assert!(
        stderr.contains("no PEM certificate") && stderr.contains("server.key"),
        "{stderr}"
    );
    let stderr = start(&cert, &cert);
    assert!(
        stderr.contains("no PEM private key") && stderr.contains("server.crt"),
        "{stderr}"
    );
    let stderr = start(&cert, &other.path().join("server.key"));
    assert!(stderr.contains("does not fit the certificate"), "{stderr}");
}

#[test]
fn sighup_reloads_the_certificate_without_dropping_connections() {
    let server = tls_server("");
    let dir = server.dir.path().to_owned();
    let first_ca = dir.join("first-ca.crt");
    std::fs::copy(dir.join("lab-ca.crt"), &first_ca).unwrap();
    let first = Relay::start(server.native(), &first_ca);
    let mut open = RpcClient::connect(first.address);
    assert_eq!(open.call("ping", json!([])), "pong");
    open.call("subscribe", json!({"topics": ["points"]}));

    // A new CA and certificate in the same files, then SIGHUP.
    for file in [
        "lab-ca.crt",
        "lab-ca.key",
        "server.crt",
        "server.key",
        "lab-ca.srl",
    ] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    make_lab_ca(&dir);
    let hangup = |expected: &str| {
        let before = server.stderr().matches(expected).count();
        // SAFETY: sending a signal to the test's own child process by its pid.
        unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
        let deadline = Instant::now() + WAIT;
        while server.stderr().matches(expected).count() == before {
            assert!(
                Instant::now() < deadline,
                "no '{expected}' in the log:\n{}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    hangup("reloaded the TLS certificate");

    // The open connection is still served (and still gets events).
    assert_eq!(open.call("echo", json!(["kept"])), json!(["kept"]));
    let second = Relay::start(server.native(), &dir.join("lab-ca.crt"));
    let mut fresh = RpcClient::connect(second.address);
    fresh.call("set_point", json!(["reloaded", 1.0, 2.0]));
    let event = open.next_notification("event", WAIT);
    assert_eq!(event["params"]["reloaded"], json!([1.0, 2.0]), "{event}");
    // New handshakes present the new certificate: the old CA no longer verifies it.
    let port = server.native().port().to_string();
    let first_arg = first_ca.display().to_string();
    let (ok, _, stderr) = cli(
        &["call", "--port", &port, "--ca-file", &first_arg, "ping"],
        &[],
    );
    assert!(!ok, "the old certificate was still presented");
    assert!(stderr.contains("certificate"), "{stderr}");

    // A broken renewal: logged, and the current certificate stays.
    std::fs::write(dir.join("server.crt"), "garbage\n").unwrap();
    hangup("cannot reload the TLS certificate");
    let mut again = RpcClient::connect(second.address);
    assert_eq!(again.call("ping", json!([])), "pong");
    assert_eq!(fresh.call("ping", json!([])), "pong");
    assert_eq!(open.call("ping", json!([])), "pong");
}
