//! The point table: the latest `(x, y)` of every codename, for the whole host.
//!
//! PyExpLabSys kept one dict per socket; here one table serves every socket, the native
//! protocol and plugins, and a codename listed by several sockets is one point judged by
//! each socket's own rules. Values keep their JSON type (`1` stays an int, `1.0` a float)
//! because legacy clients see the difference on the wire.
//!
//! Every change is also published on the bus as a `points` event, so watchers and the
//! live front ends learn about it without polling.
//!
//! A codename prefix can be marked stale (core `set_stale`): the federation plugin marks
//! `<host>/` while that host is offline, and pull sockets then answer `OLD_DATA` for its
//! points whatever their timeouts (SPEC §9).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use indexmap::IndexMap;

use crate::events::EventBus;
use crate::pyjson::Value;
use labsocket_plugin_api::topics;

/// A stored point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: Value,
    pub y: Value,
    /// When it was set (Unix seconds); `data` pull sockets judge age by this. A caller may
    /// give it (`set_point`'s `timestamp`), so it can lie in the past.
    pub set_at: f64,
    /// When the table stored it (Unix seconds, the clock at the call), whatever `set_at`
    /// says: a pull socket's activity in `status` counts from this, as PyExpLabSys' `poke()`
    /// on `set_point` did.
    pub received_at: f64,
}

/// The host's point table; cheap to clone.
#[derive(Clone)]
pub struct PointTable {
    points: Arc<RwLock<HashMap<String, Arc<Point>>>>,
    /// Codename prefixes whose points are served as `OLD_DATA` (few: one per offline host).
    stale: Arc<RwLock<Vec<String>>>,
    bus: EventBus,
}

impl PointTable {
    pub fn new(bus: EventBus) -> Self {
        Self {
            points: Arc::default(),
            stale: Arc::default(),
            bus,
        }
    }

    /// Marks (or unmarks) every codename starting with `prefix` as stale.
    pub fn set_stale(&self, prefix: &str, stale: bool) {
        let mut prefixes = self.stale.write().unwrap_or_else(|e| e.into_inner());
        prefixes.retain(|p| p != prefix);
        if stale {
            prefixes.push(prefix.to_owned());
        }
    }

    /// Whether `codename` is under a stale prefix.
    pub fn is_stale(&self, codename: &str) -> bool {
        let prefixes = self.stale.read().unwrap_or_else(|e| e.into_inner());
        prefixes
            .iter()
            .any(|prefix| codename.starts_with(prefix.as_str()))
    }

    /// Sets one point; `set_at` defaults to now.
    pub fn set(&self, codename: &str, x: Value, y: Value, set_at: Option<f64>) {
        self.set_many(vec![(codename.to_owned(), x, y)], set_at);
    }

    /// Sets several points at once and publishes them as one `points` event.
    pub fn set_many(&self, points: Vec<(String, Value, Value)>, set_at: Option<f64>) {
        if points.is_empty() {
            return;
        }
        let received_at = labsocket_plugin_api::unix_now();
        let set_at = set_at.unwrap_or(received_at);
        let mut event = IndexMap::with_capacity(points.len());
        {
            let mut table = self.points.write().unwrap_or_else(|e| e.into_inner());
            for (codename, x, y) in points {
                event.insert(codename.clone(), Value::List(vec![x.clone(), y.clone()]));
                table.insert(
                    codename,
                    Arc::new(Point {
                        x,
                        y,
                        set_at,
                        received_at,
                    }),
                );
            }
        }
        self.bus
            .publish_at(topics::POINTS, Value::Dict(event), set_at);
    }

    /// Sets each point with its own set time (now when `None`), one `points` event per
    /// point in order, under one lock: a bulk take-in (federation) costs one call, not one
    /// per point. With `newer_only` a point older than the stored one of its codename is
    /// published but not stored: a replayed old change must not send the current value
    /// back in time, yet subscribers (history) still learn of it. Returns how many were
    /// stored.
    pub fn set_each(
        &self,
        points: Vec<(String, Value, Value, Option<f64>)>,
        newer_only: bool,
    ) -> usize {
        let received_at = labsocket_plugin_api::unix_now();
        let mut events = Vec::with_capacity(points.len());
        let mut stored = 0;
        {
            let mut table = self.points.write().unwrap_or_else(|e| e.into_inner());
            for (codename, x, y, set_at) in points {
                let set_at = set_at.unwrap_or(received_at);
                let mut event = IndexMap::with_capacity(1);
                event.insert(codename.clone(), Value::List(vec![x.clone(), y.clone()]));
                events.push((event, set_at));
                if newer_only && table.get(&codename).is_some_and(|old| old.set_at > set_at) {
                    continue;
                }
                stored += 1;
                table.insert(
                    codename,
                    Arc::new(Point {
                        x,
                        y,
                        set_at,
                        received_at,
                    }),
                );
            }
        }
        for (event, set_at) in events {
            self.bus
                .publish_at(topics::POINTS, Value::Dict(event), set_at);
        }
        stored
    }

    /// The latest point of `codename`, if it was ever set.
    pub fn get(&self, codename: &str) -> Option<Arc<Point>> {
        let table = self.points.read().unwrap_or_else(|e| e.into_inner());
        table.get(codename).cloned()
    }

    /// Every point, sorted by codename (the live view's snapshot).
    pub fn snapshot(&self) -> Vec<(String, Arc<Point>)> {
        let table = self.points.read().unwrap_or_else(|e| e.into_inner());
        let mut points: Vec<_> = table
            .iter()
            .map(|(codename, point)| (codename.clone(), point.clone()))
            .collect();
        drop(table);
        points.sort_by(|a, b| a.0.cmp(&b.0));
        points
    }

    /// How many codenames have a point.
    pub fn len(&self) -> usize {
        self.points.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no point was ever set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn set_keeps_types_and_publishes_one_event_per_batch() {
        let bus = EventBus::new();
        let mut events = bus.subscribe();
        let table = PointTable::new(bus);
        table.set_many(
            vec![
                ("a".into(), Value::Float(1.5), Value::Int(1)),
                ("b".into(), Value::Float(1.5), Value::Float(1.0)),
            ],
            Some(7.0),
        );
        assert_eq!(table.get("a").unwrap().y, Value::Int(1));
        assert_eq!(table.get("b").unwrap().y, Value::Float(1.0));
        assert_eq!(table.get("a").unwrap().set_at, 7.0);
        assert!(table.get("c").is_none());
        assert_eq!(table.len(), 2);
        let snapshot: Vec<String> = table.snapshot().into_iter().map(|(c, _)| c).collect();
        assert_eq!(snapshot, ["a", "b"]);
        let event = events.recv().await.unwrap();
        assert_eq!(event.topic, "points");
        assert_eq!(
            event.time, 7.0,
            "a points event carries the points' set time"
        );
        match &event.payload {
            Value::Dict(map) => assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]),
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[tokio::test]
    async fn set_each_publishes_per_point_and_keeps_the_newer_when_asked() {
        let bus = EventBus::new();
        let mut events = bus.subscribe();
        let table = PointTable::new(bus);
        let set = table.set_each(
            vec![
                ("a".into(), Value::Int(1), Value::Int(10), Some(5.0)),
                ("a".into(), Value::Int(2), Value::Int(20), Some(3.0)),
                ("b".into(), Value::Int(3), Value::Int(30), Some(4.0)),
            ],
            true,
        );
        assert_eq!(set, 2, "the older change of 'a' is not stored");
        assert_eq!(table.get("a").unwrap().y, Value::Int(10));
        for time in [5.0, 3.0, 4.0] {
            assert_eq!(events.recv().await.unwrap().time, time, "each is published");
        }
        let set = table.set_each(
            vec![("a".into(), Value::Int(2), Value::Int(20), Some(3.0))],
            false,
        );
        assert_eq!(set, 1);
        assert_eq!(table.get("a").unwrap().y, Value::Int(20));
    }

    #[test]
    fn stale_prefixes_mark_and_unmark() {
        let table = PointTable::new(EventBus::new());
        assert!(!table.is_stale("pc1/t"));
        table.set_stale("pc1/", true);
        table.set_stale("pc1/", true);
        assert!(table.is_stale("pc1/t") && !table.is_stale("pc2/t") && !table.is_stale("pc1"));
        table.set_stale("pc1/", false);
        assert!(!table.is_stale("pc1/t"));
    }
}
