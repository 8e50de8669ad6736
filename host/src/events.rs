//! The event bus: topics, bounded, never blocking a publisher.
//!
//! Two kinds of subscriber, both bounded and neither ever making a publisher wait:
//!
//! - Front ends (native connections, the web view, the live sockets) read one
//!   `tokio::sync::broadcast` channel that carries every event and filter by topic: `send` is
//!   synchronous and callable from any thread, and a subscriber that falls more than
//!   `[limits] event_buffer` events behind loses the oldest ones and is told how many
//!   (`RecvError::Lagged`).
//! - Plugin subscriptions each get an [`EventQueue`] of their own, filled at publish time
//!   with the events of their topics only and bounded in bytes (`[limits]
//!   subscription_buffer_bytes`), not in events: a recorder that falls behind during a
//!   burst of single-point events keeps them all (a few hundred bytes each) while its
//!   delivery thread catches up with whole batches, and only a subscriber stuck for long
//!   loses the oldest events, counted.
//!
//! Each front end renders an event into its own wire form once per event, not once per
//! connection: [`Event::native_line`] is computed on first use and shared by every native
//! connection that forwards it (fan-out to thousands of connections costs one
//! serialisation).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Duration;

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
    fn approx_bytes(&self) -> usize {
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
    /// The queues of plugin subscriptions (few: a handful per plugin at most).
    queues: Arc<RwLock<Vec<Arc<EventQueue>>>>,
    /// Bytes of events one [`EventQueue`] may hold.
    queue_bytes: usize,
}

impl EventBus {
    /// Events a front-end subscriber may fall behind before it starts losing the oldest, by
    /// default (`[limits] event_buffer`); a slot costs 8 bytes plus the event while a
    /// subscriber has not read it.
    pub const CAPACITY: usize = 65_536;

    /// Bytes of events a plugin subscription may hold unread before it loses the oldest, by
    /// default (`[limits] subscription_buffer_bytes`): about 200,000 single-point `points`
    /// events, a second or more of the fastest pipelined `set_point`s.
    pub const QUEUE_BYTES: usize = 64 << 20;

    pub fn new() -> Self {
        Self::with_limits(Self::CAPACITY, Self::QUEUE_BYTES)
    }

    /// A bus whose front-end subscribers may fall `capacity` events behind and whose
    /// plugin subscriptions may hold `queue_bytes` bytes of events.
    pub fn with_limits(capacity: usize, queue_bytes: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            lost: Arc::default(),
            queues: Arc::default(),
            queue_bytes: queue_bytes.max(1),
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
            let queues = self.queues.read().unwrap_or_else(|e| e.into_inner());
            let mut bytes = None;
            for queue in queues.iter().filter(|q| q.filter.wants(&event.topic)) {
                let bytes = *bytes.get_or_insert_with(|| event.approx_bytes());
                any_closed |= !queue.push(&event, bytes, self.queue_bytes);
            }
        }
        if any_closed {
            let mut queues = self.queues.write().unwrap_or_else(|e| e.into_inner());
            queues.retain(|queue| !queue.is_closed());
        }
        // An error only means no front end is subscribed right now, which is fine.
        let _ = self.sender.send(event);
    }

    /// A new front-end subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// A new queue that receives every event of `filter`'s topics published from now on,
    /// until it is [closed](EventQueue::close).
    pub fn queue(&self, filter: TopicFilter) -> Arc<EventQueue> {
        let queue = Arc::new(EventQueue {
            filter,
            state: Mutex::default(),
            ready: Condvar::new(),
        });
        self.queues
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&queue));
        queue
    }
}

/// The topics an [`EventQueue`] takes.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicFilter {
    All,
    /// These topics (a subscription names a few, so a list is faster than a set).
    Only(Vec<String>),
}

impl TopicFilter {
    pub fn wants(&self, topic: &str) -> bool {
        match self {
            TopicFilter::All => true,
            TopicFilter::Only(topics) => topics.iter().any(|t| t == topic),
        }
    }
}

/// One subscriber's events, bounded in bytes, never blocking the publisher: when it would
/// hold more than its bound the oldest events go and are counted (at least the newest
/// event is always kept).
pub struct EventQueue {
    filter: TopicFilter,
    state: Mutex<QueueState>,
    /// Signalled when an event arrives for a waiting reader, or on close.
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    events: VecDeque<(Arc<Event>, usize)>,
    bytes: usize,
    /// Dropped since the reader last took.
    lost: u64,
    /// The reader sleeps on `ready`: the next push wakes it (only then, so a busy reader
    /// costs publishers no wake-up call).
    waiting: bool,
    closed: bool,
}

/// What [`EventQueue::take`] returned besides the events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Taken {
    /// Events dropped (oldest first, before every event taken) since the previous take.
    pub lost: u64,
    /// The queue is closed: these were its last events.
    pub closed: bool,
}

impl EventQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // Every update of the state is whole before any call that could panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event` (`bytes`: its size) within `max_bytes`; false when the queue is closed.
    fn push(&self, event: &Arc<Event>, bytes: usize, max_bytes: usize) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        while state.bytes + bytes > max_bytes {
            let Some((_, oldest)) = state.events.pop_front() else {
                break;
            };
            state.bytes -= oldest;
            state.lost += 1;
        }
        state.events.push_back((Arc::clone(event), bytes));
        state.bytes += bytes;
        let wake = std::mem::take(&mut state.waiting);
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        true
    }

    /// Waits until there are events or the queue is closed, then swaps every queued event
    /// (with its size) into `into`, which must be empty and whose allocation the queue
    /// reuses. After waiting for an empty queue it lingers `linger` before taking, so that
    /// a burst is taken in a few large batches rather than one wake-up per event.
    pub fn take(&self, into: &mut VecDeque<(Arc<Event>, usize)>, linger: Duration) -> Taken {
        let mut state = self.lock();
        if state.events.is_empty() && !state.closed {
            while state.events.is_empty() && !state.closed {
                state.waiting = true;
                state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.waiting = false;
            if !state.closed && !linger.is_zero() {
                drop(state);
                std::thread::sleep(linger);
                state = self.lock();
            }
        }
        debug_assert!(into.is_empty());
        std::mem::swap(&mut state.events, into);
        state.bytes = 0;
        Taken {
            lost: std::mem::take(&mut state.lost),
            closed: state.closed,
        }
    }

    /// Stops queueing: publishers skip this queue from now on, and the reader's next
    /// [`take`](EventQueue::take) returns what is left with `closed` set.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }
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
