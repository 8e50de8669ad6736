//! The Python environment of the end-to-end tests: the Python client's pytest suite and
//! the real PyMiner clients (pmgwidgets) run in it.
//!
//! [`interpreter`] creates a virtual environment once under the target directory
//! (`target/labsocket-pyenv`), installs `tests/python/requirements.txt` and the
//! `clients/python` package (editable, so tests always run the current source), and returns
//! its interpreter. It is reused while those two files are unchanged (a stamp file holds
//! their contents), and an `flock` on a lock file makes concurrent test processes wait for
//! one installer instead of racing it. The base interpreter is `$LABSOCKET_PYTHON`, else
//! `python3` on the `PATH`.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::build::{target_dir, workspace_root};

/// The folder of the Python test scripts and requirements.
pub fn scripts_dir() -> PathBuf {
    workspace_root().join("tests").join("python")
}

/// The venv's Python, with `tests/python/requirements.txt` and `labsocket` installed.
pub fn interpreter() -> PathBuf {
    static READY: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(python) = ready.as_ref() {
        return python.clone();
    }
    let venv = target_dir().join("labsocket-pyenv");
    std::fs::create_dir_all(target_dir()).expect("the target directory can be created");
    let lock = File::create(target_dir().join("labsocket-pyenv.lock")).expect("lock file");
    // SAFETY: flock on a file descriptor this function owns; released when `lock` drops.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "cannot lock the Python environment");
    let python = venv.join("bin").join("python");
    let stamp_path = venv.join("labsocket-stamp");
    let wanted = stamp();
    if std::fs::read_to_string(&stamp_path).ok().as_deref() != Some(wanted.as_str()) {
        install(&venv);
        std::fs::write(&stamp_path, &wanted).expect("stamp can be written");
    }
    *ready = Some(python.clone());
    python
}

/// What the environment was installed from; a change means reinstalling.
fn stamp() -> String {
    let root = workspace_root();
    [
        "tests/python/requirements.txt",
        "clients/python/pyproject.toml",
    ]
    .iter()
    .map(|file| {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|err| panic!("cannot read {file}: {err}"));
        format!("== {file}\n{text}")
    })
    .collect()
}

fn install(venv: &Path) {
    let base = std::env::var("LABSOCKET_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let _ = std::fs::remove_dir_all(venv);
    run(
        Command::new(&base).args(["-m", "venv"]).arg(venv),
        "create the venv",
    );
    let root = workspace_root();
    run(
        Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(root.join("tests/python/requirements.txt"))
            .arg("-e")
            .arg(root.join("clients/python")),
        "install the test requirements",
    );
}

fn run(command: &mut Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|err| panic!("cannot {what}: {err}"));
    assert!(
        out.status.success(),
        "cannot {what} ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `tests/python/<script>` with `args` under the venv's Python (Qt headless),
/// killing it after `timeout`. Returns its output.
pub fn run_script(script: &str, args: &[String], timeout: Duration) -> Output {
    let mut child = Command::new(interpreter())
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
