//! Rollups: per codename and fixed time bucket (10 s and 10 min), the bucket's first, last,
//! minimum-y and maximum-y rows (their times, and the two `y`s). The SQLite writer keeps them
//! in the same transaction as the rows, so M4 over a long range reads one rollup row per
//! bucket instead of every row (a day at 10 Hz: 8,640 rollup rows instead of 864,000).
//!
//! M4 fed a rollup bucket's rows ([`Summary::feed`]) keeps exactly the rows it keeps from
//! the raw rows when all the bucket's rows fall in one M4 bucket: the M4 bucket's first row
//! is the first of its earliest rollup bucket, its minimum the earliest row with the least
//! `y` of all (the earliest minimum of the rollup bucket holding it), and so on. The reader
//! checks that with the bucket's real first and last times and falls back to the next finer
//! level (and finally the raw rows) where it does not hold, so results are always real rows
//! and equal to a raw M4.

use crate::m4::{Scanned, M4};

/// Bucket widths in seconds, finest first.
pub(crate) const LEVELS: [f64; 2] = [10.0, 600.0];

/// The bucket of `time` at `width`: every reader and writer uses this one function, so a
/// row's bucket never depends on who computes it.
pub(crate) fn bucket_index(time: f64, width: f64) -> i64 {
    (time / width).floor() as i64
}

/// The key of a row in M4: its time's bits (rows are unique per codename and time).
pub(crate) fn time_key(time: f64) -> i64 {
    time.to_bits() as i64
}

/// The time of a key made by [`time_key`].
pub(crate) fn key_time(key: i64) -> f64 {
    f64::from_bits(key as u64)
}

/// One bucket's summary: times of its first and last rows, and `(y, time)` of its earliest
/// minimum and earliest maximum among numeric, non-NaN `y` (none when no `y` is numeric).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub(crate) first: f64,
    pub(crate) last: f64,
    pub(crate) min: Option<(f64, f64)>,
    pub(crate) max: Option<(f64, f64)>,
}

impl Summary {
    /// The summary of one row.
    pub(crate) fn of(time: f64, y: Option<f64>) -> Summary {
        let y = y.filter(|y| !y.is_nan()).map(|y| (y, time));
        Summary {
            first: time,
            last: time,
            min: y,
            max: y,
        }
    }

    /// Adds the rows `other` summarises (in any time order).
    pub(crate) fn merge(&mut self, other: &Summary) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        // Ties go to the earlier row: M4 keeps the first minimum in time order.
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(if (b.0, b.1) < (a.0, a.1) { b } else { a }),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        };
    }

    /// Feeds the bucket's kept rows to `m4` in time order, each once.
    pub(crate) fn feed(&self, m4: &mut M4) {
        let mut times = [
            Some(self.first),
            self.min.map(|m| m.1),
            self.max.map(|m| m.1),
            Some(self.last),
        ];
        times.sort_by(|a, b| {
            a.unwrap_or(f64::INFINITY)
                .total_cmp(&b.unwrap_or(f64::INFINITY))
        });
        let mut previous = None;
        for time in times.into_iter().flatten() {
            if previous == Some(time) {
                continue;
            }
            previous = Some(time);
            // Only the minimum and maximum rows carry their y: any other row's y lies
            // between them, so M4 would not pick it for either.
            let y = match (self.min, self.max) {
                (Some((y, t)), _) if t == time => Some(y),
                (_, Some((y, t))) if t == time => Some(y),
                _ => None,
            };
            m4.push(Scanned {
                key: time_key(time),
                time,
                y,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_the_earliest_extremes() {
        let mut s = Summary::of(5.0, Some(1.0));
        s.merge(&Summary::of(3.0, Some(1.0)));
        s.merge(&Summary::of(7.0, Some(-2.0)));
        s.merge(&Summary::of(1.0, None));
        s.merge(&Summary::of(9.0, Some(f64::NAN)));
        assert_eq!(
            s,
            Summary {
                first: 1.0,
                last: 9.0,
                min: Some((-2.0, 7.0)),
                max: Some((1.0, 3.0)),
            }
        );
        assert_eq!(key_time(time_key(1.7e9 + 0.125)), 1.7e9 + 0.125);
        assert_eq!(bucket_index(-0.5, 10.0), -1);
        assert_eq!(bucket_index(19.999, 10.0), 1);
    }
}
