//! A WebSocket connection's outbox: bounded, and coalescing when the browser lags.
//!
//! The connection task puts every event in the outbox and never waits; a writer task takes
//! everything queued in one go and sends it. While the browser keeps up the outbox holds
//! a handful of messages and each event goes out as it was published. When the browser
//! falls behind (a slow machine, a hidden tab, a busy network) the queue reaches
//! [`QUEUE_LIMIT`] and the outbox switches to keeping only the **latest value per
//! codename** (`points`) and per `host:codename` (`live`), which is what a live view
//! needs; other events beyond the limit are counted and reported as one `lost` message, so
//! the page can reload what it shows. Memory per connection is bounded either way, and the
//! server, the bus and other clients never wait for a slow browser.
//!
//! Messages (all JSON objects, see docs/user-guide.md "Live web view"):
//! `{"type":"event","topic":T,"ts":t,"data":payload[,"coalesced":n]}`,
//! `{"type":"lost","count":n}`, and pre-rendered texts (snapshot, heartbeat).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use tokio::sync::Notify;

use super::api::browser_json;
use crate::events::host_topics::{self, LIVE_RESET};
use crate::events::Event;
use crate::pyjson::Value;
use labsocket_plugin_api::topics;

/// Messages queued before the outbox starts coalescing.
pub const QUEUE_LIMIT: usize = 1024;
/// Most codenames (and `host:codename`s) kept while coalescing; beyond it, events are lost.
pub const COALESCE_LIMIT: usize = 100_000;

/// One connection's outbox; shared by its reader and writer tasks.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<Pending>,
    ready: Notify,
}

/// Everything not yet sent.
#[derive(Default)]
pub struct Pending {
    queue: VecDeque<Queued>,
    points: Coalesced<Value>,
    /// host → codename → what happened since the last send.
    live: Coalesced<IndexMap<String, LiveChange>>,
    live_series: usize,
    lost: u64,
    /// The latest heartbeat (an older one is worthless).
    heartbeat: Option<String>,
}

enum Queued {
    Text(String),
    Event { event: Arc<Event>, ts: f64 },
}

/// Latest values merged from several events of one topic.
struct Coalesced<T> {
    values: IndexMap<String, T>,
    events: u64,
    ts: f64,
}

impl<T> Default for Coalesced<T> {
    fn default() -> Self {
        Self {
            values: IndexMap::new(),
            events: 0,
            ts: 0.0,
        }
    }
}

/// A live series' fate while coalescing: reset (the page clears its plot) and/or a new
/// latest point.
#[derive(Default)]
struct LiveChange {
    reset: bool,
    point: Option<Value>,
}

impl Outbox {
    /// Queues a pre-rendered message (the snapshot), regardless of the limit.
    pub fn push_text(&self, text: String) {
        self.lock().queue.push_back(Queued::Text(text));
        self.ready.notify_one();
    }

    /// Replaces the pending heartbeat.
    pub fn push_heartbeat(&self, text: String) {
        self.lock().heartbeat = Some(text);
        self.ready.notify_one();
    }

    /// Queues an event forwarded at `ts`, coalescing if the browser is behind.
    pub fn push_event(&self, event: Arc<Event>, ts: f64) {
        self.lock().push_event(event, ts);
        self.ready.notify_one();
    }

    /// Reports events the connection's bus subscription dropped.
    pub fn push_lost(&self, count: u64) {
        self.lock().lost += count;
        self.ready.notify_one();
    }

    /// Waits until something is pending (returns at once if something arrived since the
    /// last [`Outbox::take`]).
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Takes everything pending; render it with [`Pending::into_messages`] outside the
    /// lock.
    pub fn take(&self) -> Pending {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Pending {
    fn push_event(&mut self, event: Arc<Event>, ts: f64) {
        let full = self.queue.len() >= QUEUE_LIMIT;
        match event.topic.as_str() {
            // Once coalescing, keep coalescing until the writer takes it: a queued newer
            // value must not be overtaken by an older coalesced one.
            topics::POINTS if full || !self.points.values.is_empty() => {
                self.coalesce_points(&event.payload, ts)
            }
            host_topics::LIVE if full || !self.live.values.is_empty() => {
                self.coalesce_live(&event.payload, ts)
            }
            _ if full => self.lost += 1,
            _ => self.queue.push_back(Queued::Event { event, ts }),
        }
    }

    fn coalesce_points(&mut self, payload: &Value, ts: f64) {
        let Value::Dict(points) = payload else {
            self.lost += 1;
            return;
        };
        let mut dropped = false;
        for (codename, point) in points {
            let known = self.points.values.contains_key(codename);
            if !known && self.points.values.len() >= COALESCE_LIMIT {
                dropped = true;
                continue;
            }
            self.points.values.insert(codename.clone(), point.clone());
        }
        self.lost += u64::from(dropped);
        self.points.events += 1;
        self.points.ts = ts;
    }

    fn coalesce_live(&mut self, payload: &Value, ts: f64) {
        let (Some(Value::Str(host)), Some(Value::Dict(data))) =
            (payload.get("host"), payload.get("data"))
        else {
            self.lost += 1;
            return;
        };
        let mut dropped = false;
        for (codename, value) in data {
            let series = self.live.values.entry(host.clone()).or_default();
            if !series.contains_key(codename) {
                if self.live_series >= COALESCE_LIMIT {
                    dropped = true;
                    continue;
                }
                self.live_series += 1;
            }
            let change = series.entry(codename.clone()).or_default();
            if value.as_str() == Some(LIVE_RESET) {
                change.reset = true;
                change.point = None;
            } else {
                change.point = Some(value.clone());
            }
        }
        self.lost += u64::from(dropped);
        self.live.events += 1;
        self.live.ts = ts;
    }

    /// Whether nothing is pending.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
            && self.points.values.is_empty()
            && self.live.values.is_empty()
            && self.lost == 0
            && self.heartbeat.is_none()
    }

    /// The messages to send, oldest first: the queue, then the coalesced latest values
    /// (newer than anything queued), then the loss report and the heartbeat.
    pub fn into_messages(self) -> Vec<String> {
        let mut messages = Vec::with_capacity(self.queue.len() + 3);
        for queued in self.queue {
            messages.push(match queued {
                Queued::Text(text) => text,
                Queued::Event { event, ts } => event_message(&event.topic, ts, &event.payload, 1),
            });
        }
        if !self.points.values.is_empty() {
            let data = Value::Dict(self.points.values);
            messages.push(event_message(
                topics::POINTS,
                self.points.ts,
                &data,
                self.points.events,
            ));
        }
        let live_events = self.live.events;
        for (host, series) in self.live.values {
            // Resets first: the page clears those series, then draws their new points.
            let resets: IndexMap<String, Value> = series
                .iter()
                .filter(|(_, change)| change.reset)
                .map(|(codename, _)| (codename.clone(), Value::Str(LIVE_RESET.to_owned())))
                .collect();
            let points: IndexMap<String, Value> = series
                .into_iter()
                .filter_map(|(codename, change)| change.point.map(|point| (codename, point)))
                .collect();
            for data in [resets, points] {
                if !data.is_empty() {
                    let payload = crate::call::object([
                        ("host", Value::Str(host.clone())),
                        ("data", Value::Dict(data)),
                    ]);
                    messages.push(event_message(
                        host_topics::LIVE,
                        self.live.ts,
                        &payload,
                        live_events,
                    ));
                }
            }
        }
        if self.lost > 0 {
            messages.push(format!(r#"{{"type":"lost","count":{}}}"#, self.lost));
        }
        messages.extend(self.heartbeat);
        messages
    }
}

/// `{"type":"event","topic":T,"ts":t,"data":payload}`, plus `"coalesced":n` when the data
/// merges `n > 1` events.
pub fn event_message(topic: &str, ts: f64, payload: &Value, merged: u64) -> String {
    let topic = serde_json::Value::from(topic);
    let data = browser_json(payload);
    if merged > 1 {
        format!(
            r#"{{"type":"event","topic":{topic},"ts":{ts},"data":{data},"coalesced":{merged}}}"#
        )
    } else {
        format!(r#"{{"type":"event","topic":{topic},"ts":{ts},"data":{data}}}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::parse;

    fn event(topic: &str, json: &str) -> Arc<Event> {
        Arc::new(Event::new(topic, parse(json).unwrap()))
    }

    fn parsed(messages: &[String]) -> Vec<serde_json::Value> {
        messages
            .iter()
            .map(|m| serde_json::from_str(m).unwrap_or_else(|e| panic!("{m}: {e}")))
            .collect()
    }

    #[test]
    fn a_browser_that_keeps_up_gets_every_event_as_published() {
        let outbox = Outbox::default();
        outbox.push_text(r#"{"type":"snapshot"}"#.to_owned());
        outbox.push_event(event("points", r#"{"a": [1.5, NaN]}"#), 10.0);
        outbox.push_event(event("data_changed", r#"{"data_name": "x"}"#), 10.5);
        outbox.push_heartbeat("old".to_owned());
        outbox.push_heartbeat(r#"{"type":"heartbeat"}"#.to_owned());
        let messages = outbox.take().into_messages();
        assert_eq!(
            messages,
            [
                r#"{"type":"snapshot"}"#,
                r#"{"type":"event","topic":"points","ts":10,"data":{"a":[1.5,null]}}"#,
                r#"{"type":"event","topic":"data_changed","ts":10.5,"data":{"data_name":"x"}}"#,
                r#"{"type":"heartbeat"}"#,
            ]
        );
        assert!(outbox.take().is_empty());
    }

    #[test]
    fn a_lagging_browser_gets_the_latest_value_per_codename_and_a_loss_count() {
        let outbox = Outbox::default();
        for i in 0..QUEUE_LIMIT {
            outbox.push_event(event("points", &format!(r#"{{"q": [{i}, 0]}}"#)), 1.0);
        }
        // Full: from here points coalesce and other events are lost.
        for i in 0..500 {
            outbox.push_event(
                event("points", &format!(r#"{{"a": [{i}, {i}], "b": [{i}, 0]}}"#)),
                2.0,
            );
        }
        outbox.push_event(event("data_deleted", r#"{"data_name": "v"}"#), 2.0);
        outbox.push_event(event("points", r#"{"c": [7, 7]}"#), 3.0);
        let messages = parsed(&outbox.take().into_messages());
        assert_eq!(
            messages.len(),
            QUEUE_LIMIT + 2,
            "queue, one coalesced, one lost"
        );
        assert_eq!(messages[QUEUE_LIMIT - 1]["data"]["q"][0], QUEUE_LIMIT - 1);
        let merged = &messages[QUEUE_LIMIT];
        assert_eq!(merged["topic"], "points");
        assert_eq!(merged["coalesced"], 501);
        assert_eq!(merged["ts"], 3.0);
        assert_eq!(merged["data"]["a"], serde_json::json!([499, 499]));
        assert_eq!(merged["data"]["c"], serde_json::json!([7, 7]));
        assert_eq!(
            messages[QUEUE_LIMIT + 1],
            serde_json::json!({"type": "lost", "count": 1})
        );
    }

    #[test]
    fn coalescing_continues_until_taken_so_old_values_never_overtake_new_ones() {
        let mut pending = Pending::default();
        for _ in 0..QUEUE_LIMIT {
            pending.push_event(event("other", "1"), 1.0);
        }
        pending.push_event(event("points", r#"{"a": [1, 1]}"#), 1.0);
        pending.queue.pop_front();
        pending.push_event(event("points", r#"{"a": [2, 2]}"#), 2.0);
        let messages = parsed(&pending.into_messages());
        let last = messages.last().unwrap();
        assert_eq!(last["data"]["a"], serde_json::json!([2, 2]));
        assert_eq!(last["coalesced"], 2);
    }

    #[test]
    fn coalesced_live_sends_resets_before_new_points() {
        let mut pending = Pending::default();
        pending.push_event(
            event("live", r#"{"host": "h", "data": {"a": [1, 1]}}"#),
            1.0,
        );
        assert_eq!(pending.queue.len(), 1, "not behind: queued as is");
        for _ in 1..QUEUE_LIMIT {
            pending.push_event(event("other", "1"), 1.0);
        }
        pending.push_event(
            event(
                "live",
                r#"{"host": "h", "data": {"a": [2, 2], "b": [2, 2]}}"#,
            ),
            2.0,
        );
        pending.push_event(
            event("live", r#"{"host": "h", "data": {"a": "RESET"}}"#),
            3.0,
        );
        pending.push_event(
            event("live", r#"{"host": "h", "data": {"a": [4, 4]}}"#),
            4.0,
        );
        pending.push_event(
            event("live", r#"{"host": "h", "data": {"b": "RESET"}}"#),
            5.0,
        );
        let messages = parsed(&pending.into_messages());
        let tail = &messages[messages.len() - 2..];
        assert_eq!(
            tail[0]["data"],
            serde_json::json!({"host": "h", "data": {"a": "RESET", "b": "RESET"}})
        );
        assert_eq!(
            tail[1]["data"],
            serde_json::json!({"host": "h", "data": {"a": [4, 4]}})
        );
        assert_eq!(tail[1]["coalesced"], 4);
    }
}
