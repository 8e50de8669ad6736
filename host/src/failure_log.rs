//! Rate-limited reporting of repeated failures (a timed-point source's calls, refused
//! datagrams, refused PyMiner writes): shared by the source runner and the front ends.
//!
//! A source that fails every 10 ms must not write 100 log lines a second, yet the operator
//! must learn at once that it fails, that it still fails, and when it works again. So: the
//! first failure is logged with its error; while failures continue, at most one line per
//! [`FailureLog::QUIET`] says how many were not logged and the latest error; the first
//! success after a logged failure says the source recovered. A source that flaps
//! (fail, ok, fail, ok) is held to the same budget: a failure within the quiet period of
//! the last logged one is only counted, and its recovery is not announced.
//!
//! The type only decides what to say (time is passed in), so the policy is unit-tested
//! without a clock; the runner does the logging.

use std::time::{Duration, Instant};

/// What a source's failure history asks to be logged.
#[derive(Debug, Default)]
pub struct FailureLog {
    /// Failed calls since the last success.
    streak: u64,
    /// Whether a failure of the current streak was logged (so its end is worth announcing).
    streak_logged: bool,
    /// Failures counted but not logged since the last logged one.
    suppressed: u64,
    last_logged: Option<Instant>,
}

impl FailureLog {
    /// The least time between two logged failures of one source.
    pub const QUIET: Duration = Duration::from_secs(60);

    /// Records a failure at `now`; returns the line to log, if any.
    pub fn failed(&mut self, now: Instant, error: &str) -> Option<String> {
        self.streak += 1;
        let due = self
            .last_logged
            .is_none_or(|last| now.duration_since(last) >= Self::QUIET);
        if !due {
            self.suppressed += 1;
            return None;
        }
        let line = match self.suppressed {
            0 => error.to_owned(),
            n => format!(
                "{error} ({n} more failures in the last {} s were not logged)",
                Self::QUIET.as_secs()
            ),
        };
        self.suppressed = 0;
        self.last_logged = Some(now);
        self.streak_logged = true;
        Some(line)
    }

    /// Records a success; returns the recovery line to log, if any.
    pub fn succeeded(&mut self) -> Option<String> {
        let streak = std::mem::take(&mut self.streak);
        if !std::mem::take(&mut self.streak_logged) {
            return None;
        }
        Some(match streak {
            1 => "recovered after 1 failed call".to_owned(),
            n => format!("recovered after {n} failed calls"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_failure_logs_once_then_a_summary_per_quiet_period_then_recovery() {
        let start = Instant::now();
        let mut log = FailureLog::default();
        assert_eq!(log.failed(start, "boom").as_deref(), Some("boom"));
        // Every 10 ms for just under a minute: silence.
        for tick in 1..5_999u64 {
            let now = start + Duration::from_millis(10 * tick);
            assert_eq!(log.failed(now, "boom"), None, "tick {tick}");
        }
        let line = log.failed(start + FailureLog::QUIET, "bang").unwrap();
        assert_eq!(
            line,
            "bang (5998 more failures in the last 60 s were not logged)"
        );
        assert_eq!(
            log.succeeded().as_deref(),
            Some("recovered after 6000 failed calls")
        );
        assert_eq!(log.succeeded(), None, "a second success says nothing");
    }

    #[test]
    fn a_flapping_source_is_held_to_the_same_budget() {
        let start = Instant::now();
        let mut log = FailureLog::default();
        assert!(log.failed(start, "e").is_some());
        assert_eq!(
            log.succeeded().as_deref(),
            Some("recovered after 1 failed call")
        );
        let mut lines = 0;
        for tick in 1..1_000u64 {
            let now = start + Duration::from_millis(10 * tick);
            lines += usize::from(log.failed(now, "e").is_some());
            lines += usize::from(log.succeeded().is_some());
        }
        assert_eq!(
            lines, 0,
            "10 s of flapping after a logged failure stays quiet"
        );
        let later = start + FailureLog::QUIET + Duration::from_secs(1);
        assert_eq!(
            log.failed(later, "e").as_deref(),
            Some("e (999 more failures in the last 60 s were not logged)")
        );
    }
}
