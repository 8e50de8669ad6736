//! Allow-lists on the front ends that cannot authenticate (SPEC §10): PyMiner (TCP,
//! refused at accept), a pull and a push socket (UDP, dropped unanswered) and the live
//! server (UDP, dropped), each tried from 127.0.0.1 (listed) and 127.0.0.2 (not listed;
//! Linux routes all of 127/8 to `lo`, so a client socket bound to 127.0.0.2 is another
//! peer), with the drops counted in `/metrics`.

use std::io::Read;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use labsocket_e2e::pyminer::g1_call;
use labsocket_e2e::{http_get, Server, WAIT};
use serde_json::json;

const LISTED: &str = "127.0.0.1";
const UNLISTED: &str = "127.0.0.2";

const CONFIG: &str = r#"
[pyminer]
heartbeat_secs = 0
allow = ["127.0.0.1/32", "10.1.2.0/24"]

[live_server]
enabled = true
allow = ["127.0.0.1"]

[[pull_socket]]
name = "guarded pull"
port = 0
codenames = ["a"]
allow = ["127.0.0.1/32"]

[[push_socket]]
name = "guarded push"
port = 0
allow = ["127.0.0.0/31"]
"#;

/// A TCP connection to `server` from source address `from`.
fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(from.parse().unwrap(), 0))
            .unwrap();
        socket.connect(server).await.expect("the kernel accepts")
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

fn udp_from(from: &str) -> UdpSocket {
    let socket = UdpSocket::bind((from, 0)).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket
}

/// The value of the series `name{front_end="..."}` in `/metrics`.
fn metric(server: &Server, name: &str, front_end: &str) -> f64 {
    let text = http_get(server.address("http"), "/metrics", None).body;
    let series = format!("{name}{{front_end=\"{front_end}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// Waits (up to [`WAIT`]) until front end `front_end` has counted `count` denials.
fn wait_denied(server: &Server, front_end: &str, count: f64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let denied = metric(server, "labsocket_allow_list_denied_total", front_end);
        if denied == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{front_end}: denied is {denied}, expected {count}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that nothing was sent to `socket` (which has had time to be answered: the
/// server counted the datagram before it would have replied).
fn assert_no_reply(socket: &UdpSocket) {
    socket.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 1024];
    match socket.recv_from(&mut buffer) {
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("expected no reply, got {other:?}"),
    }
    socket.set_nonblocking(false).unwrap();
}

#[test]
fn pyminer_refuses_connections_from_unlisted_addresses_at_accept() {
    let server = Server::start(CONFIG);
    let pm = server.pyminer();
    // Listed: served as usual.
    assert_eq!(
        g1_call(pm, "get_all_public_variable_names", json!([]))["message"],
        "succeed"
    );

    // Unlisted: the connection is closed before anything is read or answered.
    let mut stream = connect_from(UNLISTED, pm);
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => assert!(received.is_empty(), "{received:?}"),
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}"),
    }
    wait_denied(&server, "pyminer", 1.0);

    // A listed client connecting from 127.0.0.1 explicitly is still served, and the
    // other front ends count no denials.
    let mut listed = connect_from(LISTED, pm);
    std::io::Write::write_all(&mut listed, b"request_data").unwrap();
    let mut established = [0u8; 16];
    listed.read_exact(&mut established).unwrap();
    assert_eq!(&established, b"conn_established");
    assert_eq!(
        metric(&server, "labsocket_allow_list_denied_total", "native"),
        0.0
    );
    assert_eq!(
        metric(&server, "labsocket_allow_list_denied_total", "pyminer"),
        1.0
    );
    assert!(server
        .stderr()
        .contains("pyminer: refused a connection from 127.0.0.2"));
}

#[test]
fn pull_and_push_sockets_drop_datagrams_from_unlisted_addresses() {
    let server = Server::start(CONFIG);
    let pull = server.address("pull.0");
    let push = server.address("push.0");

    let listed = udp_from(LISTED);
    let unlisted = udp_from(UNLISTED);
    let mut buffer = [0u8; 1024];

    // Pull: listed gets its answer, unlisted nothing; only the listed one is a request.
    listed.send_to(b"a#raw", pull).unwrap();
    let (length, _) = listed.recv_from(&mut buffer).unwrap();
    assert_eq!(&buffer[..length], b"0.0,0.0", "nothing set yet");
    unlisted.send_to(b"a#raw", pull).unwrap();
    unlisted.send_to(b"status", pull).unwrap();
    wait_denied(&server, "pull.0", 2.0);
    assert_no_reply(&unlisted);
    assert_eq!(metric(&server, "labsocket_requests_total", "pull.0"), 1.0);

    // Push (allow 127.0.0.0/31 covers .0 and .1 only): the unlisted datagram is not stored.
    unlisted.send_to(br#"json_wn#{"a": 1}"#, push).unwrap();
    wait_denied(&server, "push.0", 1.0);
    assert_no_reply(&unlisted);
    listed.send_to(br#"json_wn#{"b": 2}"#, push).unwrap();
    let (length, _) = listed.recv_from(&mut buffer).unwrap();
    assert_eq!(&buffer[..length], b"ACK#{'b': 2}");
    let state = server.rpc().call("push_state", json!([push.port()]));
    assert_eq!(state["last"], json!({"b": 2}), "{state}");
    assert_eq!(
        metric(&server, "labsocket_allow_list_denied_total", "pull.0"),
        2.0
    );
}

#[test]
fn the_live_server_drops_datagrams_from_unlisted_addresses() {
    let server = Server::start(CONFIG);
    let live = server.address("live_server");
    let http = server.address("http");
    udp_from(UNLISTED)
        .send_to(br#"{"host": "intruder", "data": {"c": [1.0, 2.0]}}"#, live)
        .unwrap();
    wait_denied(&server, "live_server", 1.0);
    udp_from(LISTED)
        .send_to(br#"{"host": "lab", "data": {"c": [1.0, 2.0]}}"#, live)
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let hosts = loop {
        let hosts = http_get(http, "/api/live", None).json()["hosts"].clone();
        if hosts.get("lab").is_some() || Instant::now() > deadline {
            break hosts;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(hosts["lab"]["c"]["y"], 2.0, "{hosts}");
    assert!(hosts.get("intruder").is_none(), "{hosts}");
    assert_eq!(
        metric(&server, "labsocket_requests_total", "live_server"),
        1.0
    );
    assert_eq!(
        metric(&server, "labsocket_allow_list_denied_total", "live_server"),
        1.0
    );
}

#[test]
fn an_invalid_network_stops_the_start_naming_the_key() {
    let failure = Server::start_with_args("[pyminer]\nallow = [\"10.1.2.0/33\"]\n", &[])
        .map(|_| ())
        .expect_err("an invalid CIDR is refused");
    assert!(
        failure.stderr.contains("[pyminer] allow")
            && failure
                .stderr
                .contains("'10.1.2.0/33' is not an address or a network"),
        "{}",
        failure.stderr
    );
    let failure = Server::start_with_args(
        "[[push_socket]]\nname = \"q\"\nallow = [\"10.1.2.0/24\", \"lab-pc\"]\n",
        &[],
    )
    .map(|_| ())
    .expect_err("a host name is refused");
    assert!(failure.stderr.contains("'lab-pc'"), "{}", failure.stderr);
}
