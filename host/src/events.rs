//! The event bus: topics, bounded, never blocking a publisher.
//!
//! Two kinds of subscriber, both bounded and neither ever making a publisher wait:
//!
//! - Front ends (native connections, the web view, the live sockets) read one
//!   `tokio::sync::broadcast` channel that carries every event and filter by topic: `send` is
//!   synchronous and callable from any thread, and a subscriber that falls more than
//!   `[limits] event_buffer` events behind loses the oldest ones and is told how many
//!   (`RecvError::Lagged`).
//! - Plugin subscriptions are [`DirectSubscriber`]s: the bus offers them each event at
//!   publish time, on the publisher's thread, and they keep what they want in a queue of
//!   their own bounded in bytes (`[limits] subscription_buffer_bytes`), not in events, so
//!   a recorder that falls behind during a burst keeps it whole while its delivery thread
//!   catches up (see `plugins::subscription`).
//!
//! Each front end renders an event into its own wire form once per event, not once per
//! connection: [`Event::native_line`] is computed on first use and shared by every native
//! connection that forwards it (fan-out to thousands of connections costs one
//! serialisation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use tokio::sync::broadcast;

use crate::pyjson::{self, Value};

/// Topics front ends exchange among themselves; the topics plugins share with the host
/// are `labsocket_plugin_api::topics`.
pub mod host_topics {
    /// A LiveSocket datagram the live server accepted:
    /// `{"host": h, "data": {codename: [x, y] | "RESET"}}`.
    pub const LIVE: &str = "live";
    /// The `data` value of a [`LIVE`] event that clears a codename (what PyExpLabSys'
    /// `LiveSocket.reset` sends).
    pub const LIVE_RESET: &str = "RESET";
}

/// One published event.
#[derive(Debug)]
pub struct Event {
    pub topic: String,
    pub payload: Value,
    /// When it happened, in Unix seconds: the publish time, or the points' set time for
    /// `points` (plugin subscribers receive it beside the payload).
    pub time: f64,
    native_line: OnceLock<Bytes>,
}

impl Event {
    /// An event that happens now.
    pub fn new(topic: impl Into<String>, payload: Value) -> Self {
        Self::at(topic, payload, labsocket_plugin_api::unix_now())
    }

    /// An event that happened at `time` (Unix seconds).
    pub fn at(topic: impl Into<String>, payload: Value, time: f64) -> Self {
        Self {
            topic: topic.into(),
            payload,
            time,
            native_line: OnceLock::new(),
        }
    }

    /// Roughly the memory the event holds (its struct, topic and payload), for queues that
    /// are bounded in bytes.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Event>() + 16 + self.topic.len() + value_bytes(&self.payload)
    }

    /// The JSON-RPC notification line for the native protocol:
    /// `{"jsonrpc":"2.0","method":"event","params":{"topic":T,...}}\n`. An object payload's
    /// fields follow `topic` (a payload key named `topic` is dropped); any other payload is
    /// carried as `data`.
    pub fn native_line(&self) -> &Bytes {
        self.native_line.get_or_init(|| {
            let mut params = indexmap::IndexMap::new();
            params.insert("topic".to_owned(), Value::Str(self.topic.clone()));
            match &self.payload {
                Value::Dict(fields) => {
                    for (key, value) in fields {
                        if key != "topic" {
                            params.insert(key.clone(), value.clone());
                        }
                    }
                }
                other => {
                    params.insert("data".to_owned(), other.clone());
                }
            }
            let mut line = String::from(r#"{"jsonrpc":"2.0","method":"event","params":"#);
            pyjson::write_compact_json(&Value::Dict(params), &mut line);
            line.push_str("}\n");
            Bytes::from(line)
        })
    }
}

/// Roughly the memory `value` holds: its own slot plus what it owns on the heap.
fn value_bytes(value: &Value) -> usize {
    let own = std::mem::size_of::<Value>();
    match value {
        Value::Str(s) | Value::BigInt(s) => own + s.len(),
        Value::List(items) => own + items.iter().map(value_bytes).sum::<usize>(),
        // An entry also holds its key's `String`, its hash and an index slot.
        Value::Dict(fields) => {
            own + fields
                .iter()
                .map(|(key, item)| 40 + key.len() + value_bytes(item))
                .sum::<usize>()
        }
        _ => own,
    }
}

/// The host's event bus; cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    /// Events slow subscribers lost, for `/metrics`; each subscriber that falls behind
    /// reports what it lost ([`EventBus::count_lost`]).
    lost: Arc<AtomicU64>,
    /// Plugin subscriptions (few: a handful per plugin at most).
    direct: Arc<RwLock<Vec<Arc<dyn DirectSubscriber>>>>,
    /// Bytes of events one plugin subscription may hold.
    subscription_bytes: usize,
}

impl EventBus {
    /// Events a front-end subscriber may fall behind before it starts losing the oldest, by
    /// default (`[limits] event_buffer`); a slot costs 8 bytes plus the event while a
    /// subscriber has not read it.
    pub const CAPACITY: usize = 65_536;

    /// Bytes of events a plugin subscription may hold unread before it loses the oldest, by
    /// default (`[limits] subscription_buffer_bytes`): about 100,000 single-point `points`
    /// events queued as events, or a million points gathered for `points_batch`, seconds
    /// of the fastest pipelined `set_point`s.
    pub const SUBSCRIPTION_BYTES: usize = 64 << 20;

    pub fn new() -> Self {
        Self::with_limits(Self::CAPACITY, Self::SUBSCRIPTION_BYTES)
    }

    /// A bus whose front-end subscribers may fall `capacity` events behind and whose
    /// plugin subscriptions may hold `subscription_bytes` bytes of events.
    pub fn with_limits(capacity: usize, subscription_bytes: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            lost: Arc::default(),
            direct: Arc::default(),
            subscription_bytes: subscription_bytes.max(1),
        }
    }

    /// Records that a subscriber fell behind and lost `count` events.
    pub fn count_lost(&self, count: u64) {
        self.lost.fetch_add(count, Ordering::Relaxed);
    }

    /// Events lost by slow subscribers since the start.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Publishes `payload` under `topic`. Never blocks; with no subscriber it is a no-op.
    pub fn publish(&self, topic: impl Into<String>, payload: Value) {
        self.send(Event::new(topic, payload));
    }

    /// Publishes an event that happened at `time` (Unix seconds), e.g. points set earlier.
    pub fn publish_at(&self, topic: impl Into<String>, payload: Value, time: f64) {
        self.send(Event::at(topic, payload, time));
    }

    fn send(&self, event: Event) {
        let event = Arc::new(event);
        let mut any_closed = false;
        {
            let direct = self.direct.read().unwrap_or_else(|e| e.into_inner());
            for subscriber in direct.iter() {
                any_closed |= !subscriber.offer(&event);
            }
        }
        if any_closed {
            let mut direct = self.direct.write().unwrap_or_else(|e| e.into_inner());
            direct.retain(|subscriber| !subscriber.is_closed());
        }
        // An error only means no front end is subscribed right now, which is fine.
        let _ = self.sender.send(event);
    }

    /// A new front-end subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Offers `subscriber` every event published from now on, until it reports it closed.
    pub fn attach(&self, subscriber: Arc<dyn DirectSubscriber>) {
        self.direct
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber);
    }

    /// Bytes of events one plugin subscription may hold (`[limits]
    /// subscription_buffer_bytes`).
    pub fn subscription_bytes(&self) -> usize {
        self.subscription_bytes
    }
}

/// A subscriber the bus offers every event at publish time, on the publisher's thread (a
/// front end's worker, a plugin's thread): [`offer`](DirectSubscriber::offer) must be
/// quick and must never block, whatever the subscriber's reader does.
pub trait DirectSubscriber: Send + Sync {
    /// Keeps `event` if it wants it; false once closed (the bus then forgets it).
    fn offer(&self, event: &Arc<Event>) -> bool;
    /// Whether it has closed.
    fn is_closed(&self) -> bool;
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_line_merges_object_payload_after_topic() {
        let mut fields = indexmap::IndexMap::new();
        fields.insert("data_name".to_owned(), Value::Str("x".into()));
        fields.insert("topic".to_owned(), Value::Str("spoofed".into()));
        let event = Event::new("data_changed", Value::Dict(fields));
        assert_eq!(
            &event.native_line()[..],
            b"{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"topic\":\"data_changed\",\"data_name\":\"x\"}}\n"
        );
    }

    #[test]
    fn native_line_wraps_other_payloads_as_data() {
        let event = Event::new("t", Value::List(vec![Value::Int(1), Value::Float(2.5)]));
        assert_eq!(
            &event.native_line()[..],
            b"{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"topic\":\"t\",\"data\":[1,2.5]}}\n"
        );
    }

    /// Records what it is offered until it has seen `open_for` events, then says it closed.
    struct Recorder {
        seen: std::sync::Mutex<Vec<Value>>,
        open_for: usize,
    }

    impl DirectSubscriber for Recorder {
        fn offer(&self, event: &Arc<Event>) -> bool {
            let mut seen = self.seen.lock().unwrap();
            if seen.len() >= self.open_for {
                return false;
            }
            seen.push(event.payload.clone());
            true
        }

        fn is_closed(&self) -> bool {
            self.seen.lock().unwrap().len() >= self.open_for
        }
    }

    #[test]
    fn direct_subscribers_are_offered_every_event_in_order_until_they_close() {
        let bus = EventBus::with_limits(16, 1 << 20);
        assert_eq!(bus.subscription_bytes(), 1 << 20);
        let recorder = Arc::new(Recorder {
            seen: std::sync::Mutex::default(),
            open_for: 3,
        });
        bus.attach(recorder.clone());
        for i in 0..5 {
            bus.publish("t", Value::Int(i));
        }
        assert_eq!(
            *recorder.seen.lock().unwrap(),
            [Value::Int(0), Value::Int(1), Value::Int(2)]
        );
        // Closed, it was forgotten: the bus holds no reference to it any more.
        assert_eq!(Arc::strong_count(&recorder), 1);
    }

    #[test]
    fn approx_bytes_grows_with_the_payload() {
        let small = Event::new("points", Value::Int(1));
        let big = Event::new("points", Value::Str("x".repeat(10_000)));
        assert!(small.approx_bytes() >= std::mem::size_of::<Event>());
        assert!(big.approx_bytes() >= small.approx_bytes() + 10_000);
    }

    #[tokio::test]
    async fn slow_subscriber_is_told_how_many_it_lost() {
        let bus = EventBus::new();
        let mut slow = bus.subscribe();
        for i in 0..(EventBus::CAPACITY + 10) {
            bus.publish("t", Value::Int(i as i64));
        }
        match slow.recv().await {
            Err(broadcast::error::RecvError::Lagged(lost)) => assert_eq!(lost, 10),
            other => panic!("expected a lag report, got {other:?}"),
        }
        let next = slow.recv().await.expect("the newest events are kept");
        assert_eq!(next.payload, Value::Int(10));
    }
}
