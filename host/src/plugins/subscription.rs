//! Plugin event subscriptions: one queue and one delivery thread per subscription.
//!
//! A plugin's handler is foreign code that may be slow, so it never runs on an async
//! worker or under a lock: each subscription gets its own [`EventQueue`] on the bus, which
//! publishers fill with the subscription's topics only and never wait on, and a named std
//! thread (`plugin-<name>-events`) that takes everything queued at once and calls the
//! handler, in publication order. The queue is bounded in bytes: a subscription that falls
//! that far behind loses the oldest events, and the handler is told how many in its next
//! call (`lost`), the plugin's counter grows (shown by `status`) and a rate-limited warning
//! is logged.
//!
//! A subscription to [`topics::POINTS_BATCH`] gets the `points` events it has queued
//! gathered into one call per batch (`[[codename, time, x, y], ...]`), so a recorder that
//! keeps every point pays one boundary crossing and one parse per batch, not per point;
//! batches are as large as the backlog (up to [`MAX_BATCH_POINTS`]), so they grow exactly
//! when the subscriber would otherwise fall behind.
//!
//! On stop ([`Delivery::close`]) the thread finishes its current call, delivers what was
//! already queued for it, then calls the plugin's `drop_user_data` once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use labsocket_plugin_api::abi::{EventHandler, StrRef};
use labsocket_plugin_api::topics;

use super::payload;
use crate::events::{Event, EventBus, EventQueue, TopicFilter};
use crate::pyjson::{self, Value};

/// At most one "events lost" warning per subscription per this period.
const LOST_WARNING_PERIOD: Duration = Duration::from_secs(10);

/// How long a delivery thread woken by a first event lets more arrive before it takes
/// them: at most this much latency, and a burst then costs one wake-up per linger instead
/// of one per event.
const LINGER: Duration = Duration::from_millis(1);

/// Points in one [`topics::POINTS_BATCH`] call at most (a few hundred kB of JSON).
pub(crate) const MAX_BATCH_POINTS: usize = 8192;

/// The topics a subscription wants.
pub(crate) struct Topics {
    /// Topics delivered one event per call (`None`: every topic, `*`).
    single: Option<Vec<String>>,
    /// `points` events are delivered gathered ([`topics::POINTS_BATCH`]).
    points_batch: bool,
}

impl Topics {
    /// Parses a JSON array of topic names (`"*"` means every topic).
    pub(crate) fn parse(json: &str) -> Result<Topics, String> {
        let names: Vec<String> = serde_json::from_str(json)
            .map_err(|err| format!("topics must be a JSON array of strings: {err}"))?;
        if names.is_empty() {
            return Err("topics is empty (use [\"*\"] for every topic)".to_owned());
        }
        if names.iter().any(String::is_empty) {
            return Err("a topic name is empty".to_owned());
        }
        let points_batch = names.iter().any(|name| name == topics::POINTS_BATCH);
        let single = if names.iter().any(|name| name == topics::ALL) {
            None
        } else {
            Some(
                names
                    .into_iter()
                    .filter(|name| name != topics::POINTS_BATCH)
                    .collect(),
            )
        };
        Ok(Topics {
            single,
            points_batch,
        })
    }

    /// The events the subscription's queue must take.
    pub(crate) fn filter(&self) -> TopicFilter {
        match &self.single {
            None => TopicFilter::All,
            Some(names) => {
                let mut names = names.clone();
                if self.points_batch && !names.iter().any(|name| name == topics::POINTS) {
                    names.push(topics::POINTS.to_owned());
                }
                TopicFilter::Only(names)
            }
        }
    }

    fn wants_single(&self, topic: &str) -> bool {
        match &self.single {
            None => true,
            Some(names) => names.iter().any(|name| name == topic),
        }
    }
}

type DropUserData = unsafe extern "C" fn(user_data: *mut core::ffi::c_void);

/// A plugin's handler and user data. Dropping it calls `drop_user_data` once.
pub(crate) struct Subscription {
    handler: EventHandler,
    user_data: *mut core::ffi::c_void,
    drop_user_data: Option<DropUserData>,
}

// SAFETY: the subscribe contract lets the host call `handler` and `drop_user_data` with
// `user_data` from a thread of its own; the pointer is only passed back, never read here.
unsafe impl Send for Subscription {}

impl Subscription {
    pub(crate) fn new(
        handler: EventHandler,
        user_data: *mut core::ffi::c_void,
        drop_user_data: Option<DropUserData>,
    ) -> Self {
        Self {
            handler,
            user_data,
            drop_user_data,
        }
    }

    /// Forgets the subscription without calling `drop_user_data`: a refused subscribe
    /// keeps nothing, and the user data stays the plugin's to free.
    pub(crate) fn disarm(mut self) {
        self.drop_user_data = None;
    }

    fn call(&self, topic: &str, payload: &str, time: f64, lost: u64) {
        // SAFETY: `handler` and `user_data` are what the plugin registered together; both
        // strings outlive the call, and this thread is the only caller (never concurrent).
        unsafe {
            (self.handler)(
                self.user_data,
                StrRef::borrowed(topic),
                StrRef::borrowed(payload),
                time,
                lost,
            )
        };
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(drop_user_data) = self.drop_user_data.take() {
            // SAFETY: called once (taken), with the user data registered beside it.
            unsafe { drop_user_data(self.user_data) };
        }
    }
}

/// A running delivery thread, for the stop sequence to end and wait on.
pub(crate) struct Delivery {
    pub(crate) plugin: String,
    queue: Arc<EventQueue>,
    /// Disconnects when the thread ends (its sender is dropped).
    finished: mpsc::Receiver<()>,
}

impl Delivery {
    /// Ends the subscription: nothing more is queued for it, and the thread ends once it
    /// has delivered what was queued.
    pub(crate) fn close(&self) {
        self.queue.close();
    }

    /// Waits for the thread to end, until `deadline`; whether it ended.
    pub(crate) fn wait_until(&self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        matches!(
            self.finished.recv_timeout(left),
            Err(mpsc::RecvTimeoutError::Disconnected)
        )
    }
}

/// Subscribes `subscription` to `topics` on `bus` and starts its delivery thread. On
/// failure the subscription is handed back (when it was not consumed), for the caller to
/// disarm: a refused subscribe keeps nothing.
pub(crate) fn start(
    plugin: &str,
    subscription: Subscription,
    topics: Topics,
    bus: &EventBus,
    lost_events: Arc<AtomicU64>,
) -> Result<Delivery, (String, Option<Subscription>)> {
    let queue = bus.queue(topics.filter());
    let (finished_tx, finished) = mpsc::channel::<()>();
    let mut state = DeliveryState {
        plugin: plugin.to_owned(),
        subscription: None,
        topics,
        lost_events,
        lost_since_delivery: 0,
        unreported: 0,
        last_warning: None,
        batch: String::new(),
        batch_points: 0,
        batch_time: 0.0,
        single: String::new(),
    };
    // The thread takes the subscription out of this slot; if the thread cannot be
    // spawned, the subscription is still in it and goes back to the caller.
    let slot = Arc::new(Mutex::new(Some(subscription)));
    let thread_slot = slot.clone();
    let thread_queue = Arc::clone(&queue);
    let spawned = std::thread::Builder::new()
        .name(format!("plugin-{plugin}-events"))
        .spawn(move || {
            let _finished = finished_tx;
            state.subscription = thread_slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(thread_slot);
            state.run(&thread_queue);
        });
    match spawned {
        Ok(_) => Ok(Delivery {
            plugin: plugin.to_owned(),
            queue,
            finished,
        }),
        Err(err) => {
            queue.close();
            let reason = format!("cannot start the delivery thread: {err}");
            let subscription = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            Err((reason, subscription))
        }
    }
}

struct DeliveryState {
    plugin: String,
    subscription: Option<Subscription>,
    topics: Topics,
    lost_events: Arc<AtomicU64>,
    /// Lost since the last delivered call (the handler's `lost`).
    lost_since_delivery: u64,
    /// Lost since the last warning.
    unreported: u64,
    last_warning: Option<Instant>,
    /// The [`topics::POINTS_BATCH`] payload being gathered: `[` and the entries so far.
    batch: String,
    /// Entries in `batch`.
    batch_points: usize,
    /// The time of the last event in `batch`.
    batch_time: f64,
    /// The payload text of the event delivered singly (reused).
    single: String,
}

impl DeliveryState {
    fn run(&mut self, queue: &EventQueue) {
        let mut events = VecDeque::new();
        loop {
            let taken = queue.take(&mut events, LINGER);
            if taken.lost > 0 {
                self.lost(taken.lost);
            }
            for (event, _) in events.drain(..) {
                self.handle(&event);
            }
            self.flush_batch();
            // Keep a burst's buffers only while bursts last.
            if events.capacity() > 4 * MAX_BATCH_POINTS {
                events.shrink_to(MAX_BATCH_POINTS);
            }
            if taken.closed {
                break;
            }
        }
        self.warn_lost(true);
        // Dropping the subscription calls the plugin's `drop_user_data`, once.
        self.subscription = None;
    }

    fn handle(&mut self, event: &Event) {
        if self.topics.points_batch && event.topic == topics::POINTS {
            self.gather(event);
        }
        if self.topics.wants_single(&event.topic) {
            // Publication order: what was gathered before this event goes first.
            self.flush_batch();
            let mut payload = std::mem::take(&mut self.single);
            payload.clear();
            // Plugins speak strict JSON: non-finite floats cross as tagged objects.
            payload::write_plugin_json(&event.payload, &mut payload);
            self.call(&event.topic, &payload, event.time);
            self.single = payload;
        }
    }

    /// Adds the points of a `points` event to the batch, one `[codename, time, x, y]` each.
    fn gather(&mut self, event: &Event) {
        let entry = |batch: &mut String, codename: Option<&str>, xy: &Value| {
            batch.push(if batch.is_empty() { '[' } else { ',' });
            batch.push('[');
            match codename {
                Some(codename) => pyjson::write_compact_json_str(codename, batch),
                None => batch.push_str("null"),
            }
            batch.push(',');
            payload::write_plugin_json(&Value::Float(event.time), batch);
            batch.push(',');
            match xy {
                Value::List(pair) if pair.len() == 2 && codename.is_some() => {
                    payload::write_plugin_json(&pair[0], batch);
                    batch.push(',');
                    payload::write_plugin_json(&pair[1], batch);
                }
                other => payload::write_plugin_json(other, batch),
            }
            batch.push(']');
        };
        let mut batch = std::mem::take(&mut self.batch);
        match &event.payload {
            Value::Dict(points) => {
                for (codename, xy) in points {
                    entry(&mut batch, Some(codename), xy);
                    self.batch_points += 1;
                }
            }
            other => {
                entry(&mut batch, None, other);
                self.batch_points += 1;
            }
        }
        self.batch = batch;
        self.batch_time = event.time;
        if self.batch_points >= MAX_BATCH_POINTS {
            self.flush_batch();
        }
    }

    /// Delivers the gathered batch, if any.
    fn flush_batch(&mut self) {
        if self.batch_points == 0 {
            return;
        }
        let mut batch = std::mem::take(&mut self.batch);
        batch.push(']');
        self.call(topics::POINTS_BATCH, &batch, self.batch_time);
        self.batch_points = 0;
        batch.clear();
        // A burst's big buffer is kept for the next burst, within reason.
        if batch.capacity() > 4 << 20 {
            batch.shrink_to(1 << 20);
        }
        self.batch = batch;
    }

    fn call(&mut self, topic: &str, payload: &str, time: f64) {
        if let Some(subscription) = &self.subscription {
            subscription.call(
                topic,
                payload,
                time,
                std::mem::take(&mut self.lost_since_delivery),
            );
        }
    }
    fn lost(&mut self, lost: u64) {
        self.lost_since_delivery += lost;
        self.unreported += lost;
        self.lost_events.fetch_add(lost, Ordering::Relaxed);
        self.warn_lost(false);
    }

    /// Logs the events lost since the last warning, at most once per period (`last`: the
    /// subscription ends, say what is left).
    fn warn_lost(&mut self, last: bool) {
        let due = self
            .last_warning
            .is_none_or(|at| at.elapsed() >= LOST_WARNING_PERIOD);
        if self.unreported == 0 || !(due || last) {
            return;
        }
        tracing::warn!(
            plugin = %self.plugin,
            "an event subscription of plugin '{}' lost {} events: its handler is slower than the event rate",
            self.plugin,
            self.unreported
        );
        self.unreported = 0;
        self.last_warning = Some(Instant::now());
    }
}
