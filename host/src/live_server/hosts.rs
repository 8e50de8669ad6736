//! [`LiveHosts`]: the last value of every `host:codename` the live server received, and
//! its counters.
//!
//! Live-server points are kept apart from the point table: they belong to other machines
//! (two hosts may both send a `temperature`), and PyExpLabSys' live server kept them per
//! host too. The number of series is capped so a misbehaving sender cannot grow memory
//! without bound; a datagram's new series beyond the cap are refused and counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use indexmap::IndexMap;

use super::datagram::{Entry, LiveUpdate};
use crate::call::object;
use crate::pyjson::Value;

/// The last point of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePoint {
    pub x: Value,
    pub y: Value,
    /// When it arrived (Unix seconds, this host's clock).
    pub received_at: f64,
}

/// Every host's series, for the live view and `status`.
#[derive(Default)]
pub struct LiveHosts {
    series: RwLock<Series>,
    datagrams: AtomicU64,
    malformed: AtomicU64,
    refused: AtomicU64,
}

#[derive(Default)]
struct Series {
    /// Host → codename → last point; hosts sorted, codenames in arrival order.
    hosts: BTreeMap<String, IndexMap<String, LivePoint>>,
    count: usize,
}

impl LiveHosts {
    /// Stores `update` (received at `now`) and returns what was accepted: the update
    /// itself, less the new series beyond `max_series`.
    pub fn apply(&self, mut update: LiveUpdate, now: f64, max_series: usize) -> LiveUpdate {
        self.datagrams.fetch_add(1, Ordering::Relaxed);
        let mut refused = 0;
        {
            let mut series = self.series.write().unwrap_or_else(|e| e.into_inner());
            let Series { hosts, count } = &mut *series;
            let codenames = hosts.entry(update.host.clone()).or_default();
            update.entries.retain(|(codename, entry)| match entry {
                Entry::Reset => {
                    if codenames.shift_remove(codename).is_some() {
                        *count -= 1;
                    }
                    true
                }
                Entry::Point { x, y } => {
                    let point = LivePoint {
                        x: x.clone(),
                        y: y.clone(),
                        received_at: now,
                    };
                    if let Some(slot) = codenames.get_mut(codename) {
                        *slot = point;
                        true
                    } else if *count < max_series {
                        codenames.insert(codename.clone(), point);
                        *count += 1;
                        true
                    } else {
                        refused += 1;
                        false
                    }
                }
            });
            if codenames.is_empty() {
                hosts.remove(&update.host);
            }
        }
        if refused > 0 {
            self.refused.fetch_add(refused, Ordering::Relaxed);
        }
        update
    }

    /// Counts a datagram that could not be read.
    pub fn count_malformed(&self) {
        self.datagrams.fetch_add(1, Ordering::Relaxed);
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// `{host: {codename: {"x", "y", "received_at"}}}`.
    pub fn snapshot(&self) -> Value {
        let series = self.series.read().unwrap_or_else(|e| e.into_inner());
        let hosts = series.hosts.iter().map(|(host, codenames)| {
            let codenames = codenames.iter().map(|(codename, point)| {
                let value = object([
                    ("x", point.x.clone()),
                    ("y", point.y.clone()),
                    ("received_at", Value::Float(point.received_at)),
                ]);
                (codename.clone(), value)
            });
            (host.clone(), Value::Dict(codenames.collect()))
        });
        Value::Dict(hosts.collect())
    }

    /// The counters for `status`: `{"datagrams", "malformed", "refused_series", "hosts",
    /// "series"}`.
    pub fn stats(&self) -> Value {
        let (hosts, count) = {
            let series = self.series.read().unwrap_or_else(|e| e.into_inner());
            (series.hosts.len(), series.count)
        };
        let counter =
            |c: &AtomicU64| Value::Int(c.load(Ordering::Relaxed).min(i64::MAX as u64) as i64);
        object([
            ("datagrams", counter(&self.datagrams)),
            ("malformed", counter(&self.malformed)),
            ("refused_series", counter(&self.refused)),
            ("hosts", Value::Int(hosts as i64)),
            ("series", Value::Int(count as i64)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live_server::datagram::parse;
    use crate::pyjson::to_compact_json;

    #[test]
    fn keeps_the_last_point_per_host_and_codename_and_reset_forgets_it() {
        let hosts = LiveHosts::default();
        hosts.apply(
            parse(br#"{"host": "b", "data": {"t": [1, 20.5]}}"#).unwrap(),
            10.0,
            100,
        );
        hosts.apply(
            parse(br#"{"host": "a", "data": {"t": [1, 1], "p": [1, 2]}}"#).unwrap(),
            11.0,
            100,
        );
        hosts.apply(
            parse(br#"{"host": "a", "data": {"t": [2, 3]}}"#).unwrap(),
            12.0,
            100,
        );
        assert_eq!(
            to_compact_json(&hosts.snapshot()),
            r#"{"a":{"t":{"x":2,"y":3,"received_at":12.0},"p":{"x":1,"y":2,"received_at":11.0}},"b":{"t":{"x":1,"y":20.5,"received_at":10.0}}}"#
        );
        hosts.apply(
            parse(br#"{"host": "b", "data": {"t": "RESET"}}"#).unwrap(),
            13.0,
            100,
        );
        hosts.apply(
            parse(br#"{"host": "a", "data": {"p": "RESET", "q": "RESET"}}"#).unwrap(),
            13.0,
            100,
        );
        assert_eq!(
            to_compact_json(&hosts.snapshot()),
            r#"{"a":{"t":{"x":2,"y":3,"received_at":12.0}}}"#
        );
        hosts.count_malformed();
        assert_eq!(
            to_compact_json(&hosts.stats()),
            r#"{"datagrams":6,"malformed":1,"refused_series":0,"hosts":1,"series":1}"#
        );
    }

    #[test]
    fn new_series_beyond_the_cap_are_refused_but_known_ones_update() {
        let hosts = LiveHosts::default();
        let accepted = hosts.apply(
            parse(br#"{"host": "h", "data": {"a": [1, 1], "b": [1, 1], "c": [1, 1]}}"#).unwrap(),
            1.0,
            2,
        );
        let names: Vec<&str> = accepted.entries.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let accepted = hosts.apply(
            parse(br#"{"host": "h", "data": {"c": [2, 2], "a": [2, 5]}}"#).unwrap(),
            2.0,
            2,
        );
        assert_eq!(accepted.entries.len(), 1);
        assert_eq!(hosts.stats().get("refused_series"), Some(&Value::Int(2)));
        assert_eq!(hosts.stats().get("series"), Some(&Value::Int(2)));
    }
}
