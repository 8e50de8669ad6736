//! What `status` reports about each running source: is it working, and since when not.

use std::sync::{Arc, Mutex, RwLock};

use crate::call::object;
use crate::pyjson::Value;

/// The running sources, in config order, for `status`.
#[derive(Default)]
pub struct SourceList {
    sources: RwLock<Vec<Arc<SourceHealth>>>,
}

impl SourceList {
    /// Records a started source; the runner updates the returned health.
    pub fn add(&self, number: usize, command: &str, interval_secs: f64) -> Arc<SourceHealth> {
        let health = Arc::new(SourceHealth {
            number,
            command: command.to_owned(),
            interval_secs,
            state: Mutex::default(),
        });
        self.sources
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(health.clone());
        health
    }

    /// `[{"source","command","interval_secs","calls","errors","failing","last_ok","last_error"}]`.
    pub fn to_value(&self) -> Value {
        let sources = self.sources.read().unwrap_or_else(|e| e.into_inner());
        Value::List(sources.iter().map(|health| health.to_value()).collect())
    }
}

/// One source's counters.
pub struct SourceHealth {
    number: usize,
    command: String,
    interval_secs: f64,
    state: Mutex<HealthState>,
}

#[derive(Default)]
struct HealthState {
    calls: u64,
    errors: u64,
    failing: bool,
    /// When a call last succeeded (Unix seconds).
    last_ok: Option<f64>,
    /// The most recent error, kept after recovery so a past problem stays visible.
    last_error: Option<String>,
}

impl SourceHealth {
    pub fn succeeded(&self, now: f64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.calls += 1;
        state.failing = false;
        state.last_ok = Some(now);
    }

    pub fn failed(&self, error: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.calls += 1;
        state.errors += 1;
        state.failing = true;
        state.last_error = Some(error.to_owned());
    }

    fn to_value(&self) -> Value {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        object([
            ("source", Value::Int(self.number as i64)),
            ("command", Value::Str(self.command.clone())),
            ("interval_secs", Value::Float(self.interval_secs)),
            ("calls", Value::Int(state.calls as i64)),
            ("errors", Value::Int(state.errors as i64)),
            ("failing", Value::Bool(state.failing)),
            ("last_ok", state.last_ok.map_or(Value::Null, Value::Float)),
            (
                "last_error",
                state.last_error.clone().map_or(Value::Null, Value::Str),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::to_compact_json;

    #[test]
    fn health_counts_calls_and_keeps_the_last_error() {
        let list = SourceList::default();
        let health = list.add(1, "sine.sample", 0.5);
        health.failed("boom");
        health.succeeded(12.5);
        assert_eq!(
            to_compact_json(&list.to_value()),
            r#"[{"source":1,"command":"sine.sample","interval_secs":0.5,"calls":2,"errors":1,"failing":false,"last_ok":12.5,"last_error":"boom"}]"#
        );
    }
}
