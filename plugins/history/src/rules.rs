//! Which point changes become rows (SPEC §8 `[[history.record]]`).
//!
//! - No entries: every set is a row.
//! - With entries: a codename is recorded only if one of its entry's globs matches it; the
//!   first matching entry decides (the match is remembered per codename).
//! - An entry with neither deadband (`min_change` and `min_change_relative` both 0) records
//!   every set. With a deadband, a numeric `y` is recorded when it moved by at least
//!   `min_change` from the last *recorded* `y`, or by at least `min_change_relative × |last|`
//!   (either criterion is enough; a 0 criterion is off; a zero move never counts).
//! - A non-numeric `y` (string, boolean, null, list, object) under a deadband is recorded when
//!   it differs from the last recorded value (a change of type counts as a difference).
//! - `max_interval_secs`: a set whose time is at least that long after the last row is
//!   recorded whatever its value. No row is ever invented by a timer.
//! - The first set of a codename is always recorded.
//!
//! Times are the points' set times, so a backfill of an earlier day never counts as "long
//! after" the last row.

use std::collections::HashMap;

use labsocket_plugin_api::as_float;
use serde_json::Value;

use crate::config::RecordEntry;
use crate::glob::Glob;

/// A compiled `[[history.record]]` entry.
#[derive(Debug)]
struct Entry {
    globs: Vec<Glob>,
    min_change: f64,
    min_change_relative: f64,
    max_interval_secs: Option<f64>,
}

impl Entry {
    fn has_deadband(&self) -> bool {
        self.min_change > 0.0 || self.min_change_relative > 0.0
    }
}

/// The last recorded value of a codename, as the deadband needs it.
#[derive(Debug)]
enum Last {
    Number(f64),
    Other(Value),
}

#[derive(Debug)]
struct CodenameState {
    /// Index of the entry that decides for this codename; `None`: not recorded.
    entry: Option<usize>,
    last: Option<(Last, f64)>,
}

/// The filter the writer runs every point through.
#[derive(Debug)]
pub(crate) struct Rules {
    entries: Vec<Entry>,
    state: HashMap<String, CodenameState>,
}

impl Rules {
    /// Compiles checked config entries (see [`crate::config::Config::validate`]).
    pub(crate) fn new(entries: &[RecordEntry]) -> Result<Rules, String> {
        let entries = entries
            .iter()
            .map(|entry| {
                Ok(Entry {
                    globs: entry
                        .codenames
                        .iter()
                        .map(|p| Glob::new(p))
                        .collect::<Result<_, String>>()?,
                    min_change: entry.min_change,
                    min_change_relative: entry.min_change_relative,
                    max_interval_secs: entry.max_interval_secs,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Rules {
            entries,
            state: HashMap::new(),
        })
    }

    /// Whether the set of `codename` to `y` at `time` is a row; if so it becomes the last
    /// recorded value.
    pub(crate) fn admit(&mut self, codename: &str, time: f64, y: &Value) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        let state = match self.state.get_mut(codename) {
            Some(state) => state,
            None => {
                let entry = self
                    .entries
                    .iter()
                    .position(|entry| entry.globs.iter().any(|g| g.is_match(codename)));
                self.state
                    .entry(codename.to_owned())
                    .or_insert(CodenameState { entry, last: None })
            }
        };
        let Some(entry) = state.entry.map(|i| &self.entries[i]) else {
            return false;
        };
        if !entry.has_deadband() {
            return true;
        }
        let number = as_float(y);
        let record = match &state.last {
            None => true,
            Some((last, last_time)) => {
                let overdue = entry
                    .max_interval_secs
                    .is_some_and(|secs| time - last_time >= secs);
                overdue
                    || match (last, number) {
                        (Last::Number(last), Some(y)) => moved(entry, *last, y),
                        (Last::Other(last), None) => last != y,
                        _ => true,
                    }
            }
        };
        if record {
            let last = match number {
                Some(y) => Last::Number(y),
                None => Last::Other(y.clone()),
            };
            state.last = Some((last, time));
        }
        record
    }
}

/// Whether a numeric value moved past the entry's deadband.
fn moved(entry: &Entry, last: f64, y: f64) -> bool {
    if last.is_nan() || y.is_nan() {
        return last.is_nan() != y.is_nan();
    }
    if last == y {
        return false;
    }
    // Infinite - finite is infinite, which passes either criterion: a jump to ±inf is a row.
    let delta = (y - last).abs();
    (entry.min_change > 0.0 && delta >= entry.min_change)
        || (entry.min_change_relative > 0.0 && delta >= entry.min_change_relative * last.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(entries: Value) -> Rules {
        let entries: Vec<RecordEntry> = serde_json::from_value(entries).unwrap();
        Rules::new(&entries).unwrap()
    }

    /// Feeds `(time, y)` sets of one codename, returns which were recorded.
    fn run(rules: &mut Rules, codename: &str, sets: &[(f64, Value)]) -> Vec<bool> {
        sets.iter()
            .map(|(t, y)| rules.admit(codename, *t, y))
            .collect()
    }

    #[test]
    fn no_entries_record_every_set() {
        let mut r = rules(json!([]));
        let sets = [
            (1.0, json!(1)),
            (2.0, json!(1)),
            (3.0, json!("a")),
            (4.0, json!("a")),
        ];
        assert_eq!(run(&mut r, "x", &sets), vec![true; 4]);
    }

    #[test]
    fn only_matching_codenames_and_first_entry_wins() {
        let mut r = rules(json!([
            {"codenames": ["temp_*"], "min_change": 1.0},
            {"codenames": ["temp_*", "pressure"]}
        ]));
        // temp_a falls under the first entry (deadband 1.0), pressure under the second.
        let sets = [(1.0, json!(10.0)), (2.0, json!(10.5)), (3.0, json!(11.0))];
        assert_eq!(run(&mut r, "temp_a", &sets), vec![true, false, true]);
        assert_eq!(run(&mut r, "pressure", &sets), vec![true, true, true]);
        assert_eq!(run(&mut r, "other", &sets), vec![false, false, false]);
    }

    #[test]
    fn deadband_compares_with_the_last_recorded_value() {
        let mut r = rules(json!([{"min_change": 1.0}]));
        // Creeping by 0.4 never reaches 1.0 from the neighbour, but does from the last row.
        let sets: Vec<(f64, Value)> = (0..6).map(|i| (i as f64, json!(i as f64 * 0.4))).collect();
        assert_eq!(
            run(&mut r, "c", &sets),
            vec![true, false, false, true, false, false]
        );
        // Exactly min_change is enough; ints compare as numbers.
        let mut r = rules(json!([{"min_change": 2}]));
        let sets = [
            (0.0, json!(1)),
            (1.0, json!(2)),
            (2.0, json!(3)),
            (3.0, json!(1.0)),
        ];
        assert_eq!(run(&mut r, "c", &sets), vec![true, false, true, true]);
    }

    #[test]
    fn relative_deadband() {
        let mut r = rules(json!([{"min_change_relative": 0.1}]));
        let sets = [
            (0.0, json!(100.0)),
            (1.0, json!(109.0)),
            (2.0, json!(110.0)),
            (3.0, json!(-110.0)),
            (4.0, json!(0.0)),
            (5.0, json!(0.0)),
            (6.0, json!(1e-9)),
        ];
        // From 0 any move is a relative change; no move never is.
        assert_eq!(
            run(&mut r, "c", &sets),
            vec![true, false, true, true, true, false, true]
        );
    }

    #[test]
    fn either_criterion_is_enough() {
        let mut r = rules(json!([{"min_change": 5.0, "min_change_relative": 0.5}]));
        let sets = [
            (0.0, json!(2.0)),
            (1.0, json!(3.0)),
            (2.0, json!(3.5)),
            (3.0, json!(8.6)),
        ];
        // 2→3: relative 0.5×2 = 1 reached. 3→3.5: neither. 3→8.6: absolute 5 reached.
        assert_eq!(run(&mut r, "c", &sets), vec![true, true, false, true]);
    }

    #[test]
    fn max_interval_records_the_next_set_only() {
        let mut r = rules(json!([{"min_change": 100.0, "max_interval_secs": 10.0}]));
        let sets = [
            (0.0, json!(1.0)),
            (5.0, json!(1.0)),
            (9.9, json!(1.0)),
            (10.0, json!(1.0)),
            (15.0, json!(1.0)),
            (25.0, json!(1.0)),
            // A backfilled set from long ago is not "overdue".
            (-100.0, json!(1.0)),
        ];
        assert_eq!(
            run(&mut r, "c", &sets),
            vec![true, false, false, true, false, true, false]
        );
    }

    #[test]
    fn non_numeric_values_are_recorded_when_they_differ() {
        let mut r = rules(json!([{"min_change": 1.0}]));
        let sets = [
            (0.0, json!("open")),
            (1.0, json!("open")),
            (2.0, json!("closed")),
            (3.0, json!(true)),
            (4.0, json!(true)),
            (5.0, json!(null)),
            (6.0, json!(null)),
            (7.0, json!([1, 2])),
            (8.0, json!([1, 2])),
            (9.0, json!(1.0)),
            (10.0, json!("1.0")),
        ];
        let expected = [
            true, false, true, true, false, true, false, true, false, true, true,
        ];
        assert_eq!(run(&mut r, "c", &sets), expected);
    }

    #[test]
    fn non_finite_floats() {
        let mut r = rules(json!([{"min_change": 1.0}]));
        let nan = json!({"$float": "NaN"});
        let inf = json!({"$float": "Infinity"});
        let sets = [
            (0.0, json!(1.0)),
            (1.0, nan.clone()),
            (2.0, nan.clone()),
            (3.0, json!(1.0)),
            (4.0, inf.clone()),
            (5.0, inf.clone()),
            (6.0, json!(2.0)),
        ];
        assert_eq!(
            run(&mut r, "c", &sets),
            vec![true, true, false, true, true, false, true]
        );
    }

    #[test]
    fn entry_without_deadband_records_repeats() {
        let mut r = rules(json!([{"codenames": ["a"]}]));
        let sets = [
            (0.0, json!("x")),
            (1.0, json!("x")),
            (2.0, json!(1)),
            (3.0, json!(1)),
        ];
        assert_eq!(run(&mut r, "a", &sets), vec![true; 4]);
    }
}
