//! A Python interpreter with the packages of `tests/python/requirements.txt` (the real
//! PyMiner clients), for end-to-end tests on any machine with `python3` and pip.
//!
//! The first test that needs it creates a venv under the target directory
//! (`target/labsocket-pyenv`) and installs the requirements; later tests and later runs
//! reuse it. A stamp file holding the requirements text marks a finished install (a
//! changed requirements file rebuilds the venv), and an exclusive `flock` on a lock file
//! makes parallel test processes wait for one install instead of racing.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::build::{target_dir, workspace_root};

/// The folder of the test scripts and requirements.
pub fn scripts_dir() -> PathBuf {
    workspace_root().join("tests").join("python")
}

/// The venv's interpreter, created and filled on first use.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = target_dir().join("labsocket-pyenv");
        let requirements = std::fs::read_to_string(scripts_dir().join("requirements.txt"))
            .expect("tests/python/requirements.txt is readable");
        std::fs::create_dir_all(target_dir()).expect("target dir can be created");
        let lock = File::create(target_dir().join("labsocket-pyenv.lock")).expect("lock file");
        // SAFETY: flock on a file descriptor we own; released when `lock` is closed.
        let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(locked, 0, "cannot lock the Python venv");
        let stamp = venv.join("labsocket-requirements.txt");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(requirements.as_str()) {
            create_venv(&venv);
            std::fs::write(&stamp, &requirements).expect("stamp can be written");
        }
        drop(lock);
        venv.join("bin").join("python")
    })
}

fn create_venv(venv: &Path) {
    let _ = std::fs::remove_dir_all(venv);
    let base = std::env::var("LABSOCKET_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(Command::new(&base).args(["-m", "venv"]).arg(venv));
    run(Command::new(venv.join("bin").join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(scripts_dir().join("requirements.txt")));
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `tests/python/<script>` with `args` under the venv's Python (Qt headless),
/// killing it after `timeout`. Returns its output.
pub fn run_script(script: &str, args: &[String], timeout: Duration) -> Output {
    let mut child = Command::new(python())
        .arg(scripts_dir().join(script))
        .args(args)
        .current_dir(scripts_dir())
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the venv's python runs");
    let deadline = Instant::now() + timeout;
    while child.try_wait().expect("child can be waited for").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output can be read")
}
