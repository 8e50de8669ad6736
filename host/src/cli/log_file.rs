//! `serve --log-file PATH`: the log written to a file that can be reopened, so logrotate
//! (or an operator) can move it away and send SIGHUP for a fresh one.
//!
//! The file is opened for appending (`O_APPEND`), so a `copytruncate` rotation works too.
//! Every log event is one `write` under a mutex; [`LogFile::reopen`] swaps the file
//! under the same mutex, so no line is split between the old and the new file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A shared handle on the log file (clones write to the same file).
#[derive(Clone)]
pub(crate) struct LogFile {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    file: Mutex<File>,
}

impl LogFile {
    /// Opens (creating if needed) `path` for appending.
    pub(crate) fn open(path: &Path) -> std::io::Result<LogFile> {
        Ok(LogFile {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                file: Mutex::new(open_append(path)?),
            }),
        })
    }

    /// The path given on the command line.
    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Opens the path again and writes there from now on; on failure the old file is
    /// kept, so the log goes on somewhere.
    pub(crate) fn reopen(&self) -> std::io::Result<()> {
        let file = open_append(&self.inner.path)?;
        *self.lock() = file;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        // A panic while writing a log line leaves a usable file behind.
        self.inner.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// One log event's writer: holds the lock while tracing writes the formatted line.
pub(crate) struct LogWriter<'a>(MutexGuard<'a, File>);

impl Write for LogWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogFile {
    type Writer = LogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_writes_to_a_new_file_after_a_rename() {
        let dir = std::env::temp_dir().join(format!("labsocket-logfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("labsocket.log");
        let log = LogFile::open(&path).unwrap();
        writeln!(LogWriter(log.lock()), "one").unwrap();
        std::fs::rename(&path, dir.join("labsocket.log.1")).unwrap();
        writeln!(LogWriter(log.lock()), "two").unwrap();
        log.reopen().unwrap();
        writeln!(LogWriter(log.lock()), "three").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("labsocket.log.1")).unwrap(),
            "one\ntwo\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
