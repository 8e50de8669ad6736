//! M4 downsampling (Jugel, Jerzak, Hackenbroich, Markl, VLDB 2014), fed one codename's rows
//! in time order: `[from, to]` is cut into `max_points / 4` equal buckets and each keeps its
//! first, last, minimum-y and maximum-y rows (once each, in time order; minimum and maximum
//! only among numeric, non-NaN `y`, so a bucket of strings keeps its first and last). It sees
//! only `(key, time, numeric y)` and holds one bucket at a time; the store fetches the kept
//! rows by key afterwards.
//!
//! Fed a rollup bucket's first, last, minimum and maximum rows instead of all its rows (see
//! `store::rollup`), it keeps exactly the rows it would keep from the raw rows, as long as
//! the rollup bucket's rows all fall in one M4 bucket ([`M4::bucket_of`] tells).

/// A scanned row: a key the store can fetch it by, its time and `y` when it is a number.
pub(crate) struct Scanned {
    pub(crate) key: i64,
    pub(crate) time: f64,
    pub(crate) y: Option<f64>,
}

/// A row M4 keeps: where it came in the scan (time order) and its key.
#[derive(Debug, Clone, Copy)]
struct Pick {
    seq: u64,
    key: i64,
}

#[derive(Debug)]
struct Bucket {
    index: u64,
    first: Pick,
    last: Pick,
    min: Option<(f64, Pick)>,
    max: Option<(f64, Pick)>,
}

impl Bucket {
    /// The kept rows once each, in time order.
    fn picks(&self) -> Vec<Pick> {
        let mut picks = vec![self.first, self.last];
        picks.extend(self.min.map(|(_, p)| p));
        picks.extend(self.max.map(|(_, p)| p));
        picks.sort_by_key(|p| p.seq);
        picks.dedup_by_key(|p| p.seq);
        picks
    }
}

/// M4 over one codename's rows, fed in time order.
#[derive(Debug)]
pub(crate) struct M4 {
    from: f64,
    span: f64,
    buckets: u64,
    seq: u64,
    current: Option<Bucket>,
    kept: Vec<i64>,
}

impl M4 {
    /// `max_points` ≥ 4 (checked by the caller); `to ≥ from`.
    pub(crate) fn new(from: f64, to: f64, max_points: u64) -> M4 {
        M4 {
            from,
            span: to - from,
            buckets: (max_points / 4).max(1),
            seq: 0,
            current: None,
            kept: Vec::new(),
        }
    }

    /// The M4 bucket `time` falls in: monotonic in `time`, so rows between two times of the
    /// same bucket are in it too.
    pub(crate) fn bucket_of(&self, time: f64) -> u64 {
        if self.span <= 0.0 {
            return 0;
        }
        let position = ((time - self.from) / self.span * self.buckets as f64).floor();
        // `to` itself (and float rounding just below it) falls in the last bucket.
        (position.max(0.0) as u64).min(self.buckets - 1)
    }

    /// The next row in time order.
    pub(crate) fn push(&mut self, row: Scanned) {
        let index = self.bucket_of(row.time);
        let pick = Pick {
            seq: self.seq,
            key: row.key,
        };
        self.seq += 1;
        let y = row.y.filter(|y| !y.is_nan());
        if let Some(bucket) = self.current.as_mut().filter(|b| b.index == index) {
            bucket.last = pick;
            if let Some(y) = y {
                if bucket.min.is_none_or(|(min, _)| y < min) {
                    bucket.min = Some((y, pick));
                }
                if bucket.max.is_none_or(|(max, _)| y > max) {
                    bucket.max = Some((y, pick));
                }
            }
            return;
        }
        self.close_bucket();
        self.current = Some(Bucket {
            index,
            first: pick,
            last: pick,
            min: y.map(|y| (y, pick)),
            max: y.map(|y| (y, pick)),
        });
    }

    fn close_bucket(&mut self) {
        if let Some(bucket) = self.current.take() {
            self.kept.extend(bucket.picks().iter().map(|p| p.key));
        }
    }

    /// Keys of the kept rows, in time order.
    pub(crate) fn finish(mut self) -> Vec<i64> {
        self.close_bucket();
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs M4 over `(time, y)` rows whose key is their index.
    fn m4(rows: &[(f64, Option<f64>)], from: f64, to: f64, max_points: u64) -> Vec<i64> {
        let mut m4 = M4::new(from, to, max_points);
        for (i, (time, y)) in rows.iter().enumerate() {
            m4.push(Scanned {
                key: i as i64,
                time: *time,
                y: *y,
            });
        }
        m4.finish()
    }

    #[test]
    fn a_spike_survives() {
        // 10,000 rows of a flat line with one spike up and one down, cut to 40 points.
        let mut rows: Vec<(f64, Option<f64>)> =
            (0..10_000).map(|i| (i as f64, Some(1.0))).collect();
        rows[4321].1 = Some(1e6);
        rows[8765].1 = Some(-3.0);
        let kept = m4(&rows, 0.0, 9_999.0, 40);
        assert!(kept.len() <= 40, "{}", kept.len());
        assert!(kept.contains(&4321));
        assert!(kept.contains(&8765));
        assert_eq!(kept.first(), Some(&0));
        assert_eq!(kept.last(), Some(&9_999));
    }

    #[test]
    fn non_numeric_buckets_keep_first_and_last() {
        let rows = [
            (0.0, None),
            (1.0, None),
            (2.0, None),
            (3.0, None),
            (4.0, None),
        ];
        assert_eq!(m4(&rows, 0.0, 4.0, 4), vec![0, 4]);
        // Mixed: numbers give min and max, the strings around them first and last.
        let rows = [
            (0.0, None),
            (1.0, Some(5.0)),
            (2.0, Some(-5.0)),
            (3.0, Some(f64::NAN)),
            (4.0, None),
        ];
        assert_eq!(m4(&rows, 0.0, 4.0, 4), vec![0, 1, 2, 4]);
    }

    #[test]
    fn few_rows_come_back_whole_and_in_order() {
        let rows = [(0.0, Some(3.0)), (5.0, Some(1.0)), (10.0, Some(2.0))];
        assert_eq!(m4(&rows, 0.0, 10.0, 400), vec![0, 1, 2]);
        // A zero-width range is one bucket.
        let rows = [
            (5.0, Some(1.0)),
            (5.0, Some(0.0)),
            (5.0, Some(9.0)),
            (5.0, Some(4.0)),
            (5.0, Some(2.0)),
        ];
        assert_eq!(m4(&rows, 5.0, 5.0, 8), vec![0, 1, 2, 4]);
    }

    proptest! {
        #[test]
        fn m4_keeps_real_rows_within_budget(
            steps in prop::collection::vec((0.0f64..10.0, prop::option::weighted(0.9, -1e3f64..1e3)), 1..400),
            max_points in 4u64..64,
        ) {
            let mut time = 0.0;
            let rows: Vec<(f64, Option<f64>)> = steps.iter().map(|(dt, y)| { time += dt; (time, *y) }).collect();
            let (from, to) = (rows[0].0, rows[rows.len() - 1].0);
            let kept = m4(&rows, from, to, max_points);
            // Real rows, each once, in time order, within budget.
            prop_assert!(kept.len() as u64 <= max_points);
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(kept.iter().all(|&i| (i as usize) < rows.len()));
            // First and last of the range.
            prop_assert_eq!(kept[0], 0);
            prop_assert_eq!(*kept.last().unwrap(), rows.len() as i64 - 1);
            // The overall extremes survive.
            let numeric: Vec<(usize, f64)> = rows.iter().enumerate().filter_map(|(i, r)| r.1.map(|y| (i, y))).collect();
            if let Some(max) = numeric.iter().map(|r| r.1).reduce(f64::max) {
                prop_assert!(kept.iter().any(|&i| rows[i as usize].1 == Some(max)));
            }
            if let Some(min) = numeric.iter().map(|r| r.1).reduce(f64::min) {
                prop_assert!(kept.iter().any(|&i| rows[i as usize].1 == Some(min)));
            }
        }
    }
}
