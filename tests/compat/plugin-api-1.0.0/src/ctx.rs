//! The safe face of [`HostApi`] that plugin code uses: [`Ctx`].

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::abi::{log_level, status, HostApi, StrRef};

/// The host, as a plugin sees it: emit events, set points, log.
///
/// `Ctx` is `Copy + Send + Sync + 'static`: keep it in a static from `init` and use it from
/// any thread, including threads the plugin starts itself.
#[derive(Clone, Copy)]
pub struct Ctx {
    api: &'static HostApi,
}

/// A host function refused a call (the text says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

/// Log severity for [`Ctx::log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Ctx {
    /// Wraps the host's table.
    ///
    /// # Safety
    /// `api` must be the non-null pointer the host passed to a handler or init function;
    /// the host keeps it valid for the rest of the process.
    pub unsafe fn from_raw(api: *const HostApi) -> Ctx {
        // SAFETY: guaranteed by the caller: non-null and 'static.
        Ctx {
            api: unsafe { &*api },
        }
    }

    /// Publishes `payload` under `topic` to every subscriber (native `event` notifications,
    /// and the front ends that translate topics such as `data_changed`).
    pub fn emit(&self, topic: &str, payload: &Value) -> Result<(), HostError> {
        let json = payload.to_string();
        // SAFETY: the table is valid for the process; both StrRefs borrow locals that
        // outlive the call, and the host copies what it keeps.
        let code = unsafe {
            (self.api.emit)(
                self.api.ctx,
                StrRef::borrowed(topic),
                StrRef::borrowed(&json),
            )
        };
        check(code, "emit")
    }

    /// Sets the latest point of `codename` to `(x, y)`. The JSON type of `y` is kept all the
    /// way to the wire (`1` stays an int, `1.0` a float).
    pub fn set_point(&self, codename: &str, x: Value, y: Value) -> Result<(), HostError> {
        let json = Value::Array(vec![x, y]).to_string();
        // SAFETY: as in `emit`.
        let code = unsafe {
            (self.api.set_point)(
                self.api.ctx,
                StrRef::borrowed(codename),
                StrRef::borrowed(&json),
            )
        };
        check(code, "set_point")
    }

    /// Sets the point of `codename` to `(now, y)`, `now` being the Unix time in seconds.
    pub fn set_point_now(&self, codename: &str, y: Value) -> Result<(), HostError> {
        self.set_point(codename, Value::from(unix_now()), y)
    }

    /// Writes `message` to the host's log, tagged with this plugin's name.
    pub fn log(&self, level: Level, message: &str) {
        let level = match level {
            Level::Error => log_level::ERROR,
            Level::Warn => log_level::WARN,
            Level::Info => log_level::INFO,
            Level::Debug => log_level::DEBUG,
            Level::Trace => log_level::TRACE,
        };
        // SAFETY: as in `emit`.
        unsafe { (self.api.log)(self.api.ctx, level, StrRef::borrowed(message)) };
    }

    /// The host's data directory; keep persistent state in a sub-folder named after the plugin.
    pub fn data_dir(&self) -> &'static Path {
        // SAFETY: the host's data_dir string lives as long as the table, i.e. forever.
        let bytes = unsafe { self.api.data_dir.as_bytes() };
        Path::new(std::str::from_utf8(bytes).unwrap_or("."))
    }
}

fn check(code: u32, what: &str) -> Result<(), HostError> {
    if code == status::OK {
        Ok(())
    } else {
        Err(HostError(format!("host refused {what} (status {code})")))
    }
}

/// Seconds since the Unix epoch as a float, the x value PyExpLabSys uses for "now".
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
