//! One server per data directory: an advisory lock on `<data_dir>/labsocket.lock`, taken
//! by `labsocket serve` before anything listens and held for the life of the process.
//!
//! Without it a second server on the same data directory started anyway: its workspace
//! plugin could not open the database the first one holds, the server printed `ready`,
//! and its clients got "unknown method 'workspace.set'" (issue 11). The lock is
//! `flock(2)`: the kernel drops it when the process ends however it ends (even
//! `kill -9`), so a stale lock file never blocks a restart. The file holds the owner's
//! pid, for the message the second server prints.
//!
//! A data directory the server cannot write (a read-only file system, another owner) is
//! still served read-only (the settings are read, the workspace reports why it is
//! missing): there the existing lock file is locked through a read-only descriptor, and
//! without one the server starts unlocked with a warning, as nothing can be written.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub(crate) const LOCK_FILE: &str = "labsocket.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data directory {dir} is in use by another labsocket server{}; stop it, or give \
         this one its own [server] data_dir",
        pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    InUse { dir: String, pid: Option<u32> },
    #[error("cannot lock the data directory {dir} ({file}): {source}")]
    Io {
        dir: String,
        file: String,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    /// `None` for an unwritable directory without a lock file (see the module doc).
    _file: Option<File>,
}

impl DataDirLock {
    /// Creates `dir` if needed and locks it for this process, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_error = |source| LockError::Io {
            dir: dir.display().to_string(),
            file: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        let (mut file, writable) = match opened {
            Ok(file) => (file, true),
            Err(err) if unwritable(&err) => match File::open(&path) {
                Ok(file) => (file, false),
                Err(_) => {
                    tracing::warn!(
                        "the data directory {} cannot be written ({err}): starting without \
                         its lock, read-only",
                        dir.display()
                    );
                    return Ok(DataDirLock { _file: None });
                }
            },
            Err(err) => return Err(io_error(err)),
        };
        // SAFETY: flock on the descriptor of `file`, which is open and owned here; the
        // call neither reads nor writes memory.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            let err = std::io::Error::last_os_error();
            return Err(if err.kind() == std::io::ErrorKind::WouldBlock {
                LockError::InUse {
                    dir: display_dir(dir),
                    pid: owner_pid(&mut file),
                }
            } else {
                io_error(err)
            });
        }
        if writable {
            // Ours now: record our pid for the next one to name.
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(io_error)?;
        }
        Ok(DataDirLock { _file: Some(file) })
    }
}

/// Whether opening for writing failed because the directory cannot be written at all.
fn unwritable(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
    )
}

/// The directory as the user knows it best: absolute when it can be resolved.
fn display_dir(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| PathBuf::from(dir))
        .display()
        .to_string()
}

/// The pid the holder wrote, if it is there yet.
fn owner_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_owner_and_freed_on_drop() {
        let dir = std::env::temp_dir().join(format!("labsocket-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = DataDirLock::acquire(&dir).expect("a fresh directory locks");
        // flock locks belong to the open file description: a second open in the same
        // process conflicts like another process would.
        match DataDirLock::acquire(&dir) {
            Err(LockError::InUse { pid, dir: shown }) => {
                assert_eq!(pid, Some(std::process::id()));
                assert!(shown.ends_with(&format!("labsocket-lock-{}", std::process::id())));
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        DataDirLock::acquire(&dir).expect("free again once dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
