//! A throw-away PostgreSQL server for one test: Debian's `postgresql` binaries, `initdb` in
//! a temporary folder, `pg_ctl` on a free loopback port (SPEC §8: tests start a real
//! PostgreSQL). As root the server runs as the `postgres` user (PostgreSQL refuses root).
//!
//! When PostgreSQL is not installed, [`TempPostgres::start`] returns `None` on a developer
//! machine (the test says what it skipped) and fails the test when `CI` is set: CI
//! (`.ci/run`) installs `postgresql`, so a missing one there is a broken run, not a pass.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::server::TempDir;

/// A running PostgreSQL, stopped (immediate mode) when dropped.
pub struct TempPostgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    root: bool,
    running: bool,
}

/// The folder with `initdb`, `pg_ctl` and `psql`: the newest
/// `/usr/lib/postgresql/<version>/bin` (where Debian puts them, off `PATH`), else the
/// folder on `PATH` that has all three.
fn bin_dir() -> Option<PathBuf> {
    let complete = |dir: &PathBuf| {
        ["initdb", "pg_ctl", "psql"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| complete(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find(complete)
    })
}

impl TempPostgres {
    /// Creates a cluster and starts it. `None` when PostgreSQL is not installed and `CI` is
    /// not set; panics when it is missing under `CI` or does not start.
    pub fn start() -> Option<TempPostgres> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin) \
                 and CI is set: .ci/run installs Debian's postgresql package"
            );
            eprintln!("PostgreSQL is not installed here: the PostgreSQL test did not run");
            return None;
        };
        let root = is_root();
        let dir = TempDir::new("postgres");
        if root {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(
                status.success(),
                "cannot give {} to postgres",
                dir.path().display()
            );
        }
        let mut server = TempPostgres {
            dir,
            bin,
            port: crate::free_port(),
            root,
            running: false,
        };
        let data = server.data_dir();
        let output = server
            .command("initdb")
            .args(["-A", "trust", "-U", "lab", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert_success("initdb", &output);
        server.run();
        Some(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `program` from the PostgreSQL folder, as the `postgres` user when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        };
        command.stdin(Stdio::null());
        command
    }

    /// Starts the server and waits until it accepts connections (`pg_ctl -w`).
    pub fn run(&mut self) {
        let options = format!(
            "-h 127.0.0.1 -p {} -F -k {}",
            self.port,
            self.dir.path().display()
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.path().join("postgres.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .expect("pg_ctl runs");
        if !output.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default();
            panic!(
                "PostgreSQL did not start: {}\n{log}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        self.running = true;
    }

    /// Stops the server at once (an outage: connections are cut, nothing waits).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .expect("pg_ctl runs");
        assert_success("pg_ctl stop", &output);
        self.running = false;
    }

    /// Stops the server the way an administrator would (a fast shutdown: SIGINT to the
    /// postmaster, by the PID in `postmaster.pid`; sessions are ended, the data is
    /// checkpointed) and waits until the process is gone. [`TempPostgres::run`] starts it
    /// again on the same data dir and port.
    pub fn stop_fast(&mut self) {
        if !self.running {
            return;
        }
        let pid_file = self.data_dir().join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", pid_file.display()));
        let pid: libc::pid_t = text
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .unwrap_or_else(|| panic!("no PID in {}: {text:?}", pid_file.display()));
        // SAFETY: kill has no memory preconditions; the PID is the postmaster's (ours, or
        // the postgres user's and we are root).
        let sent = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(sent, 0, "cannot signal the postmaster {pid}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        // pg_ctl started it detached, so it is not our child: watch /proc until it is gone
        // (or a zombie, when nobody reaps it in a container).
        let stat = std::path::Path::new("/proc")
            .join(pid.to_string())
            .join("stat");
        let alive = || {
            std::fs::read_to_string(&stat).is_ok_and(|text| {
                let state = text.rsplit_once(") ").map(|(_, rest)| rest);
                !state.is_some_and(|rest| rest.starts_with('Z'))
            })
        };
        while alive() {
            assert!(
                std::time::Instant::now() < deadline,
                "PostgreSQL ({pid}) did not stop within 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.running = false;
    }

    /// The url labsocket's `[history] url` takes.
    pub fn url(&self) -> String {
        format!("postgres://lab@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `sql` with `psql` and returns its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let output = self
            .command("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-U",
                "lab",
                "-d",
                "postgres",
            ])
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .expect("psql runs");
        assert_success("psql", &output);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether this process runs as root (then PostgreSQL must run as `postgres`).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
