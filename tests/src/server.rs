//! A real `labsocket serve` process for one test.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::build::{labsocket_bin, labsocket_release_bin};
use crate::rpc::RpcClient;
use crate::WAIT;

/// Every `serve` option that sets a TCP/UDP port with a fixed default. The harness passes
/// 0 (a free port) for each one a test does not set itself, so parallel tests never fight
/// over a default port.
const PORT_OPTIONS: &[&str] = &[
    "--native-port",
    "--pyminer-port",
    "--http-port",
    "--live-server-port",
];

/// `--<front end>-port 0` for every [`PORT_OPTIONS`] entry not already in `args`.
fn free_port_defaults(args: &[&str]) -> Vec<&'static str> {
    PORT_OPTIONS
        .iter()
        .filter(|option| !args.contains(option))
        .flat_map(|option| [*option, "0"])
        .collect()
}

/// A fresh folder under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "labsocket-e2e-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir can be created");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Why a server did not become ready.
#[derive(Debug)]
pub struct StartFailure {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

/// A running server, killed (SIGKILL) when dropped if still running.
pub struct Server {
    child: Child,
    pub dir: TempDir,
    listening: HashMap<String, SocketAddr>,
}

impl Server {
    /// Starts `labsocket serve` with `config` (TOML) in a fresh folder, with every
    /// front end's port overridden to 0 (free ports), and waits for `ready`. Panics with the
    /// server's stderr if it does not start.
    pub fn start(config: &str) -> Server {
        Self::start_with_args(config, &[]).unwrap_or_else(|failure| {
            panic!(
                "server did not start ({:?}); stderr:\n{}",
                failure.status, failure.stderr
            )
        })
    }

    /// Like [`Server::start`] with extra command-line arguments; returns the failure
    /// instead of panicking.
    pub fn start_with_args(config: &str, args: &[&str]) -> Result<Server, StartFailure> {
        Self::start_in(TempDir::new("server"), config, args)
    }

    /// Starts the release build (for benchmarks), like [`Server::start`].
    pub fn start_release(config: &str) -> Server {
        Self::launch(labsocket_release_bin(), TempDir::new("bench"), config, &[])
            .unwrap_or_else(|failure| panic!("server did not start: {}", failure.stderr))
    }

    /// Starts a server in an existing folder (to restart on the same data dir).
    pub fn start_in(dir: TempDir, config: &str, args: &[&str]) -> Result<Server, StartFailure> {
        Self::launch(labsocket_bin(), dir, config, args)
    }

    fn launch(
        binary: PathBuf,
        dir: TempDir,
        config: &str,
        args: &[&str],
    ) -> Result<Server, StartFailure> {
        let config_path = dir.path().join("labsocket.toml");
        std::fs::write(&config_path, config).expect("config can be written");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .args(free_port_defaults(args))
            .args(args)
            .env("RUST_LOG", "info")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("labsocket can be started");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut listening = HashMap::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line == "ready" => break,
                Ok(line) => {
                    let mut parts = line.splitn(3, ' ');
                    if let (Some("listening"), Some(name), Some(address)) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        let address = address.parse().expect("listening line has an address");
                        listening.insert(name.to_owned(), address);
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    let stderr =
                        std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
                    return Err(StartFailure { status, stderr });
                }
            }
        }
        Ok(Server {
            child,
            dir,
            listening,
        })
    }

    /// The address of front end `name` (`native`, ...).
    pub fn address(&self, name: &str) -> SocketAddr {
        *self
            .listening
            .get(name)
            .unwrap_or_else(|| panic!("no '{name}' front end; have {:?}", self.listening))
    }

    /// The names of every front end the server announced (`native`, `pull.0`, ...), sorted.
    pub fn front_ends(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.listening.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The native front end's address.
    pub fn native(&self) -> SocketAddr {
        self.address("native")
    }

    /// The PyMiner front end's address.
    pub fn pyminer(&self) -> SocketAddr {
        self.address("pyminer")
    }

    /// A new native-protocol connection.
    pub fn rpc(&self) -> RpcClient {
        RpcClient::connect(self.native())
    }

    /// The server's process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        // SAFETY: sending a signal to our own child process by its pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        self.wait_exit()
    }

    /// Kills the server with SIGKILL (a crash) and waits for it; returns its folder.
    pub fn kill9(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, TempDir::new("spent"))
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("child can be waited for") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
