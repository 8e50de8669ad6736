//! The timer loop of one source: call, store the points, report failures, repeat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::health::SourceHealth;
use super::sample;
use crate::dispatch;
use crate::failure_log::FailureLog;
use crate::host_core::Core;
use crate::pyjson::Value;

/// A source ready to run: its config, checked against the registry.
#[derive(Debug)]
pub struct Source {
    /// Its position in the config, from 1 (how logs and `status` name it).
    pub number: usize,
    pub command: String,
    pub interval: Duration,
    pub params: Value,
}

/// Runs `source` until `stop` is cancelled.
///
/// Calls never overlap: the next one starts only after the previous one answered (or
/// timed out), and ticks missed meanwhile are not made up (`MissedTickBehavior::Delay`),
/// so a command slower than its interval runs back to back instead of piling up on the
/// blocking pool. `dispatch::call` runs plugin commands on that pool, so a blocking
/// instrument never holds an async worker.
pub async fn run(
    core: Arc<Core>,
    source: Source,
    health: Arc<SourceHealth>,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(source.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut failures = FailureLog::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let result = tokio::select! {
            _ = stop.cancelled() => break,
            result = dispatch::call(&core, &source.command, source.params.clone()) => result,
        };
        let now = labsocket_plugin_api::unix_now();
        let points = result
            .map_err(|err| err.to_string())
            .and_then(|value| sample::points(value, now));
        match points {
            Ok(points) => {
                core.points.set_many(points, Some(now));
                health.succeeded(now);
                if let Some(line) = failures.succeeded() {
                    tracing::info!("source #{} ({}) {line}", source.number, source.command);
                }
            }
            Err(error) => {
                health.failed(&error);
                if let Some(line) = failures.failed(Instant::now(), &error) {
                    tracing::error!(
                        "source #{} ({}) failed: {line}",
                        source.number,
                        source.command
                    );
                }
            }
        }
    }
    tracing::debug!("source #{} ({}) stopped", source.number, source.command);
}
