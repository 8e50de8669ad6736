//! Faults around the server: a full disk, a data directory that is or becomes
//! read-only, a plugin command that hangs, and a subscriber that stops reading.
//!
//! The disk faults use real file systems: a small tmpfs mounted for the test (the full
//! disk) and a read-only remount of it (the unwritable data dir), so the store's own
//! error paths run (ENOSPC, EROFS), not a simulation. (`chmod` would not do: the tests
//! run as root, whom permissions do not stop.) Mounting needs root, which the
//! test machines and CI have; without it these tests fail with the mount error rather
//! than pass without testing anything.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use labsocket_e2e::pyminer::g1_call_text;
use labsocket_e2e::{RpcClient, Server, TempDir, WAIT};
use serde_json::{json, Value};

/// A tmpfs of `size` mounted at `<dir>/data` for one test, unmounted when dropped.
struct SmallDisk {
    mount_point: PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        let mount_point = dir.join("data");
        std::fs::create_dir_all(&mount_point).unwrap();
        run(Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&mount_point));
        SmallDisk { mount_point }
    }

    fn remount(&self, mode: &str) {
        run(Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.mount_point));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed (these tests need root to mount a tmpfs): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const CONFIG: &str = "[server]\ndata_dir = \"data\"\n[pyminer]\nheartbeat_secs = 0\n";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A pickle of `bytes` (protocol 4 `BINBYTES`), so values can be made of any size.
fn pickled_bytes(bytes: &[u8]) -> String {
    let mut pickle = vec![0x80, 0x04, b'B'];
    pickle.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    pickle.extend_from_slice(bytes);
    pickle.push(b'.');
    b64(&pickle)
}

fn set(rpc: &mut RpcClient, name: &str, data: &str) -> Value {
    rpc.request(
        "workspace.set",
        json!({"name": name, "encoding": "pickle", "data": data}),
    )
}

fn stored(rpc: &mut RpcClient, name: &str) -> String {
    rpc.call("workspace.get", json!({"name": name}))["data"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_full_disk_refuses_writes_clearly_and_loses_nothing_acknowledged() {
    let dir = TempDir::new("full-disk");
    let disk = SmallDisk::mount(dir.path(), "3m");
    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let mut rpc = server.rpc();

    // Fill the disk with 200 KiB values until the store says no.
    let mut acknowledged = Vec::new();
    let refusal = loop {
        let name = format!("v{}", acknowledged.len());
        let data = pickled_bytes(&vec![acknowledged.len() as u8; 200 * 1024]);
        let reply = set(&mut rpc, &name, &data);
        if reply.get("error").is_some() {
            break reply;
        }
        acknowledged.push((name, data));
        assert!(acknowledged.len() < 100, "a 3 MiB disk never filled up");
    };
    assert!(
        !acknowledged.is_empty(),
        "the first write already failed: {refusal}"
    );
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("No space left on device") || message.contains("storage is full"),
        "unclear refusal: {refusal}"
    );

    // PyMiner and settings writes are refused in their own terms; reads still work.
    assert_eq!(
        g1_call_text(
            server.pyminer(),
            "write_p",
            json!(["pm", pickled_bytes(&[7; 300 * 1024])])
        ),
        r#"{"message":"failed"}"#
    );
    for (name, data) in &acknowledged {
        assert_eq!(&stored(&mut rpc, name), data, "{name} after the refusal");
    }

    // After a crash on the still-full disk, every acknowledged value is there.
    let dir = server.kill9();
    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let mut rpc = server.rpc();
    let names: Vec<String> = rpc
        .call("workspace.list", json!({}))
        .as_array()
        .unwrap()
        .iter()
        .map(|meta| meta["name"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<&String> = acknowledged.iter().map(|(name, _)| name).collect();
    assert_eq!(names.iter().collect::<Vec<_>>(), expected);
    for (name, data) in &acknowledged {
        assert_eq!(&stored(&mut rpc, name), data, "{name} after the restart");
    }
    drop(server);
    drop(disk);
}

#[test]
fn an_unwritable_data_dir_is_reported_clearly_and_loses_nothing() {
    let dir = TempDir::new("read-only");
    let disk = SmallDisk::mount(dir.path(), "16m");
    let mut server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let mut rpc = server.rpc();
    let kept = pickled_bytes(b"kept");
    assert!(set(&mut rpc, "kept", &kept).get("result").is_some());
    rpc.call("settings.set", json!({"name": "locale", "value": "de"}));
    drop(rpc);
    assert!(server.terminate().success());
    let dir = server.kill9();

    // Read-only (a file system can only be remounted so with no file open for writing).
    disk.remount("ro");
    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let log = server.stderr();
    assert!(
        log.contains("workspace") && log.contains("Read-only file system"),
        "the log does not say why the workspace is missing:\n{log}"
    );
    let mut rpc = server.rpc();
    let missing = rpc.call_err("workspace.list", json!({}));
    assert_eq!(missing["code"], -32006, "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap_or_default()
            .contains("belongs to plugin 'workspace', which failed to load"),
        "{missing}"
    );
    // Settings are read, and a change is refused in each protocol's terms.
    assert_eq!(rpc.call("settings.get", json!({}))["locale"], "de");
    let refusal = rpc.request("settings.set", json!({"name": "locale", "value": "fr"}));
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Read-only file system"),
        "{refusal}"
    );
    let reply = g1_call_text(
        server.pyminer(),
        "set_settings_param",
        json!(["locale", "fr"]),
    );
    assert!(
        reply.starts_with(r#"{"message": "failed""#) && reply.contains("Read-only file system"),
        "{reply}"
    );
    assert_eq!(rpc.call("ping", json!([])), "pong");

    // Writable again: everything stored before is there.
    let dir = server.kill9();
    disk.remount("rw");
    let server = Server::start_in(dir, CONFIG, &[]).unwrap();
    let mut rpc = server.rpc();
    assert_eq!(stored(&mut rpc, "kept"), kept);
    assert_eq!(rpc.call("settings.get", json!({}))["locale"], "de");
    drop(server);
    drop(disk);
}

#[test]
fn a_hanging_plugin_command_times_out_and_others_are_served() {
    let server = Server::start("[limits]\ncommand_timeout_secs = 1\n");
    let mut hung = server.rpc();
    let started = Instant::now();
    let error = hung.call_err("hello.sleep", json!({"ms": 60_000}));
    let waited = started.elapsed();
    assert_eq!(error["code"], -32002, "{error}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "the timeout took {waited:?}"
    );
    // The same connection and others go on while the hung call still occupies a thread.
    assert_eq!(hung.call("ping", json!([])), "pong");
    let mut other = server.rpc();
    for _ in 0..20 {
        assert_eq!(other.call("hello.greet", json!({})), "Hello, lab!");
    }
}

#[test]
fn a_subscriber_that_stops_reading_loses_events_not_the_server() {
    // A buffer smaller than the 60,000 points below (the default holds 65,536).
    let server = Server::start("[native]\nheartbeat_secs = 0\n\n[limits]\nevent_buffer = 4096\n");
    let mut stalled = server.rpc();
    stalled.call("subscribe", json!({"topics": ["points"]}));
    // The stalled subscriber reads nothing while 60,000 points are published.
    let mut setter = server.rpc();
    let started = Instant::now();
    let batch: String = (0..1000)
        .map(|i| {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"set_point_now\",\
                 \"params\":[\"p{i}\",{i}]}}\n"
            )
        })
        .collect();
    for _ in 0..60 {
        setter.send_raw(batch.as_bytes());
        for _ in 0..1000 {
            assert!(setter.read_json().get("result").is_some());
        }
    }
    assert!(
        started.elapsed() < WAIT,
        "publishing stalled behind a subscriber that does not read"
    );
    assert_eq!(server.rpc().call("ping", json!([])), "pong");
    // When it reads again, it is told how many events it lost, then gets new ones.
    let lost = loop {
        let event = stalled.next_notification("event", WAIT);
        if event["params"]["topic"] == "events_lost" {
            break event;
        }
    };
    assert!(lost["params"]["count"].as_u64().unwrap() > 0, "{lost}");
}

/// The native connections the server counts as open.
fn open_native_connections(rpc: &mut RpcClient) -> u64 {
    let status = rpc.call("status", json!([]));
    status["front_ends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|front_end| front_end["name"] == "native")
        .and_then(|front_end| front_end["connections"].as_u64())
        .unwrap()
}

#[test]
fn subscribers_that_vanish_mid_stream_are_cleaned_up() {
    let server = Server::start("[native]\nheartbeat_secs = 0\n");
    let mut observer = server.rpc();
    for _ in 0..20 {
        let mut dead = std::net::TcpStream::connect(server.native()).unwrap();
        dead.set_read_timeout(Some(WAIT)).unwrap();
        std::io::Write::write_all(
            &mut dead,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"topics\":[\"*\"]}}\n",
        )
        .unwrap();
        let mut reply = [0u8; 32];
        assert!(std::io::Read::read(&mut dead, &mut reply).unwrap() > 0);
        // A reset, as from a client whose machine lost power or whose process was killed.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        use std::os::fd::AsRawFd;
        // SAFETY: setsockopt on a socket this test owns, with a correctly sized value.
        let set = unsafe {
            libc::setsockopt(
                dead.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(set, 0);
        drop(dead);
        observer.call("set_point_now", json!(["flowing", 1]));
    }
    // Events keep flowing into the dead sockets' place; the server notices each reset and
    // releases the connection.
    let deadline = Instant::now() + WAIT;
    while open_native_connections(&mut observer) > 1 {
        observer.call("set_point_now", json!(["flowing", 2]));
        assert!(
            Instant::now() < deadline,
            "dead connections were never released"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(observer.call("ping", json!([])), "pong");
}

#[test]
fn a_connection_flood_past_max_connections_is_refused_cleanly_on_every_tcp_front_end() {
    let server = Server::start("[limits]\nmax_connections = 20\n[native]\nheartbeat_secs = 0\n");
    let mut served: Vec<RpcClient> = (0..20).map(|_| server.rpc()).collect();
    for rpc in &mut served {
        assert_eq!(rpc.call("ping", json!([])), "pong");
    }
    // 300 more connections, a third on each TCP front end: every one refused in its
    // protocol's terms and closed.
    for i in 0..300 {
        match i % 3 {
            0 => {
                let mut refused = RpcClient::connect(server.native());
                let reply = refused.read_json();
                assert_eq!(reply["error"]["code"], -32005, "{reply}");
                assert_eq!(refused.read_line(), None);
            }
            1 => {
                let mut refused = std::net::TcpStream::connect(server.pyminer()).unwrap();
                refused.set_read_timeout(Some(WAIT)).unwrap();
                let mut reply = String::new();
                std::io::Read::read_to_string(&mut refused, &mut reply).unwrap();
                assert!(
                    reply.starts_with(r#"{"message": "failed""#)
                        && reply.contains("max_connections (20)"),
                    "{reply}"
                );
            }
            _ => {
                let refused = labsocket_e2e::http_get(server.address("http"), "/api/status", None);
                assert_eq!(refused.status, 503);
            }
        }
    }
    // The 20 admitted connections were served throughout and still are.
    for rpc in &mut served {
        assert_eq!(rpc.call("echo", json!([1])), json!([1]));
    }
    // A freed slot is usable again.
    served.pop();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut retry = RpcClient::connect(server.native());
        retry.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
        if retry.read_json().get("result").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot never came back");
        std::thread::sleep(Duration::from_millis(20));
    }
}
