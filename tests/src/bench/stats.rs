//! Latency statistics and repeated runs (this machine is noisy, so every number is the
//! median of several runs).

use std::time::Duration;

/// Throughput and latency of one run.
#[derive(Clone, Copy, Debug)]
pub struct RunStats {
    pub ops_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl RunStats {
    /// Statistics of `latencies` (one per operation) measured over `elapsed`.
    pub fn from_latencies(mut latencies: Vec<Duration>, elapsed: Duration) -> RunStats {
        assert!(!latencies.is_empty(), "a run with no operations");
        latencies.sort_unstable();
        RunStats {
            ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
        }
    }
}

/// The `q` quantile (0..=1) of sorted `values`, nearest rank.
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs `run` `times` times; the median throughput, p50 and p99 over the runs.
pub fn median_of(times: usize, mut run: impl FnMut() -> RunStats) -> RunStats {
    let runs: Vec<RunStats> = (0..times).map(|_| run()).collect();
    let mut ops: Vec<f64> = runs.iter().map(|r| r.ops_per_sec).collect();
    let mut p50: Vec<f64> = runs.iter().map(|r| r.p50.as_secs_f64()).collect();
    let mut p99: Vec<f64> = runs.iter().map(|r| r.p99.as_secs_f64()).collect();
    RunStats {
        ops_per_sec: median(&mut ops),
        p50: Duration::from_secs_f64(median(&mut p50)),
        p99: Duration::from_secs_f64(median(&mut p99)),
    }
}

/// `12.3 µs` style.
pub fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}
