//! Helpers for unit tests: throw-away folders and an event recorder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use labsocket_plugin_api::Value;

use crate::events::Events;

/// A fresh folder under the system temp dir, removed when dropped.
pub struct TempFolder(PathBuf);

impl TempFolder {
    pub fn new(label: &str) -> TempFolder {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "labsocket-workspace-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempFolder(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Records emitted events.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<(String, Value)>>);

impl Recorder {
    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Events for Recorder {
    fn emit(&self, topic: &str, payload: Value) {
        self.0.lock().unwrap().push((topic.to_owned(), payload));
    }
}
