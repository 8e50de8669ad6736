//! A real Mosquitto broker for the federation tests: its own config file in a temp folder,
//! a free loopback port, stopped (SIGKILL) by its PID, restartable on the same port.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::TempDir;
use crate::WAIT;

/// The `mosquitto` binary: on PATH, else Debian's `/usr/sbin/mosquitto`.
pub fn mosquitto_binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/mosquitto");
    if sbin.exists() {
        return sbin;
    }
    PathBuf::from("mosquitto")
}

/// A running broker (killed when dropped).
pub struct Mosquitto {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl Mosquitto {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    pub fn start() -> Mosquitto {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("local address").port()
        };
        let mut broker = Mosquitto {
            child: None,
            port,
            dir: TempDir::new("mosquitto"),
        };
        broker.restart();
        broker
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The running broker's process id (benchmarks read its CPU time), if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port, with no retained state (`persistence false`).
    /// `set_tcp_nodelay true`, as the user guide recommends for a lab: with Nagle's
    /// algorithm on the broker's side, a `batch` written right after a `pt` to a subscriber
    /// waited for that subscriber's delayed ACK, ~40 ms.
    pub fn restart(&mut self) {
        self.kill();
        let config = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\n",
                self.port
            ),
        )
        .expect("broker config can be written");
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).expect("log file");
        let deadline = Instant::now() + WAIT;
        // The port was just released by the previous broker: binding may need a moment.
        loop {
            let mut child = Command::new(mosquitto_binary())
                .arg("-c")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log.try_clone().expect("log handle"))
                .spawn()
                .expect("mosquitto can be started (apt-get install mosquitto)");
            loop {
                if TcpStream::connect_timeout(&self.address(), Duration::from_millis(200)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if let Some(status) = child.try_wait().expect("broker can be waited for") {
                    assert!(
                        Instant::now() < deadline,
                        "mosquitto exited ({status}); log:\n{}",
                        std::fs::read_to_string(self.dir.path().join("mosquitto.log"))
                            .unwrap_or_default()
                    );
                    break; // try again: the port may still be in TIME_WAIT use
                }
                assert!(
                    Instant::now() < deadline,
                    "mosquitto did not listen in time"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}
