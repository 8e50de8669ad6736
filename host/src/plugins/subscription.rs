//! Plugin event subscriptions: one inbox and one delivery thread per subscription.
//!
//! A plugin's handler is foreign code that may be slow, so it never runs on an async
//! worker or under a lock. Each subscription has an [`Inbox`] that the bus offers every
//! event at publish time (a [`DirectSubscriber`]: it takes its topics only and never makes
//! the publisher wait) and a named std thread (`plugin-<name>-events`) that takes
//! everything queued at once and calls the handler, in publication order. The inbox is
//! bounded in bytes (`[limits] subscription_buffer_bytes`): a subscription that falls that
//! far behind loses the oldest events, and the handler is told how many in its next call
//! (`lost`), the plugin's counter grows (shown by `status`) and a rate-limited warning is
//! logged.
//!
//! A subscription to [`topics::POINTS_BATCH`] gets `points` events gathered into one call
//! per batch (`[[codename, time, x, y], ...]`). The inbox writes each point's entry as it
//! is published (about 60 bytes, where a queued event holds about 600), so a recorder
//! that keeps every point can fall ten times further behind within the same bound, and
//! its delivery thread only hands the text over: one boundary crossing and one parse per
//! batch, not per point. Batches are as large as the backlog (up to
//! [`MAX_BATCH_POINTS`]), so they grow exactly when the subscriber would otherwise fall
//! behind.
//!
//! On stop ([`Delivery::close`]) the thread finishes its current call, delivers what was
//! already queued for it, then calls the plugin's `drop_user_data` once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use labsocket_plugin_api::abi::{EventHandler, StrRef};
use labsocket_plugin_api::topics;

use super::payload;
use crate::events::{DirectSubscriber, Event, EventBus};
use crate::pyjson::{self, Value};

/// At most one "events lost" warning per subscription per this period.
const LOST_WARNING_PERIOD: Duration = Duration::from_secs(10);

/// How long a delivery thread woken by a first event lets more arrive before it takes
/// them: at most this much latency, and a burst then costs one wake-up per linger instead
/// of one per event.
const LINGER: Duration = Duration::from_millis(1);

/// Points in one [`topics::POINTS_BATCH`] call at most (a few hundred kB of JSON).
pub(crate) const MAX_BATCH_POINTS: usize = 8192;

/// What a queued batch costs besides its text, for the bound.
const BATCH_OVERHEAD: usize = 64;

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

    fn wants_single(&self, topic: &str) -> bool {
        match &self.single {
            None => true,
            Some(names) => names.iter().any(|name| name == topic),
        }
    }
}

/// One thing queued for the delivery thread.
enum Item {
    /// An event delivered on its own, with its size.
    Event(Arc<Event>, usize),
    /// Consecutive `points` events as `points_batch` entries: the text so far (`[` and
    /// the entries, without the closing `]`), how many events and entries, the last time.
    Points {
        json: String,
        events: u64,
        entries: usize,
        time: f64,
    },
}

impl Item {
    fn bytes(&self) -> usize {
        match self {
            Item::Event(_, bytes) => *bytes,
            Item::Points { json, .. } => BATCH_OVERHEAD + json.len(),
        }
    }

    /// Events it stands for.
    fn events(&self) -> u64 {
        match self {
            Item::Event(..) => 1,
            Item::Points { events, .. } => *events,
        }
    }
}

/// A subscription's queue: bounded in bytes, never blocking the publisher; when it would
/// hold more than its bound the oldest items go and their events are counted.
pub(crate) struct Inbox {
    topics: Topics,
    max_bytes: usize,
    state: Mutex<InboxState>,
    /// Signalled when something arrives for a waiting reader, or on close.
    ready: Condvar,
}

#[derive(Default)]
struct InboxState {
    items: VecDeque<Item>,
    bytes: usize,
    /// Events dropped since the reader last took.
    lost: u64,
    /// The reader sleeps on `ready`: the next offer wakes it (only then, so a busy reader
    /// costs publishers no wake-up call).
    waiting: bool,
    closed: bool,
    /// Batch texts the reader has delivered, for the next batches to reuse.
    spare: Vec<String>,
}

/// What [`Inbox::take`] returned besides the items.
struct Taken {
    /// Events dropped (oldest first, before every item taken) since the previous take.
    lost: u64,
    /// The inbox is closed: these were its last items.
    closed: bool,
}

impl Inbox {
    fn new(topics: Topics, max_bytes: usize) -> Inbox {
        Inbox {
            topics,
            max_bytes,
            state: Mutex::default(),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, InboxState> {
        // Every update of the state is whole before anything that could panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the oldest items until `bytes` more fit (the newest item always stays).
    fn make_room(&self, state: &mut InboxState, bytes: usize) {
        while state.bytes + bytes > self.max_bytes && state.items.len() > 1 {
            let Some(oldest) = state.items.pop_front() else {
                break;
            };
            state.bytes -= oldest.bytes();
            state.lost += oldest.events();
        }
    }

    /// Adds the points of `event` to the last batch, or to a new one.
    fn gather(&self, state: &mut InboxState, event: &Event) {
        let mut appended = false;
        if let Some(Item::Points {
            json,
            events,
            entries,
            time,
        }) = state.items.back_mut()
        {
            if *entries < MAX_BATCH_POINTS {
                let before = json.len();
                *entries += write_entries(event, json);
                *events += 1;
                *time = event.time;
                state.bytes += json.len() - before;
                appended = true;
            }
        }
        if !appended {
            let mut json = state.spare.pop().unwrap_or_default();
            json.push('[');
            let entries = write_entries(event, &mut json);
            let item = Item::Points {
                json,
                events: 1,
                entries,
                time: event.time,
            };
            state.bytes += item.bytes();
            state.items.push_back(item);
        }
        self.make_room(state, 0);
    }

    /// Waits until something is queued or the inbox is closed, then swaps every queued
    /// item into `into` (which must be empty; the inbox reuses its allocation). After
    /// waiting for an empty inbox it lingers [`LINGER`] before taking, so that a burst is
    /// taken in a few large batches rather than one wake-up per event.
    fn take(&self, into: &mut VecDeque<Item>, spare: &mut Vec<String>) -> Taken {
        let mut state = self.lock();
        if state.items.is_empty() && !state.closed {
            while state.items.is_empty() && !state.closed {
                state.waiting = true;
                state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.waiting = false;
            if !state.closed {
                drop(state);
                std::thread::sleep(LINGER);
                state = self.lock();
            }
        }
        std::mem::swap(&mut state.items, into);
        state.bytes = 0;
        // A few delivered texts go back for reuse; more would only hold memory.
        while state.spare.len() < 4 {
            let Some(text) = spare.pop() else { break };
            state.spare.push(text);
        }
        spare.clear();
        Taken {
            lost: std::mem::take(&mut state.lost),
            closed: state.closed,
        }
    }

    /// Stops queueing: offers are refused from now on, and the reader's next take returns
    /// what is left with `closed` set.
    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

impl DirectSubscriber for Inbox {
    fn offer(&self, event: &Arc<Event>) -> bool {
        let batch = self.topics.points_batch && event.topic == topics::POINTS;
        let single = self.topics.wants_single(&event.topic);
        if !batch && !single {
            return true;
        }
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        if batch {
            self.gather(&mut state, event);
        }
        if single {
            let bytes = event.approx_bytes();
            self.make_room(&mut state, bytes);
            state.items.push_back(Item::Event(Arc::clone(event), bytes));
            state.bytes += bytes;
        }
        let wake = std::mem::take(&mut state.waiting);
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        true
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

/// Appends the `points_batch` entries of a `points` event to `json`, an open list;
/// returns how many. An entry that is not `codename: [x, y]` is written as
/// `[codename, time, value]` and a payload that is not an object as `[null, time,
/// payload]`, for the plugin to count.
fn write_entries(event: &Event, json: &mut String) -> usize {
    let mut entry = |codename: Option<&str>, xy: &Value| {
        if !json.ends_with('[') {
            json.push(',');
        }
        json.push('[');
        match codename {
            Some(codename) => pyjson::write_compact_json_str(codename, json),
            None => json.push_str("null"),
        }
        json.push(',');
        payload::write_plugin_json(&Value::Float(event.time), json);
        json.push(',');
        match xy {
            Value::List(pair) if pair.len() == 2 && codename.is_some() => {
                payload::write_plugin_json(&pair[0], json);
                json.push(',');
                payload::write_plugin_json(&pair[1], json);
            }
            other => payload::write_plugin_json(other, json),
        }
        json.push(']');
    };
    match &event.payload {
        Value::Dict(points) => {
            for (codename, xy) in points {
                entry(Some(codename), xy);
            }
            points.len()
        }
        other => {
            entry(None, other);
            1
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
    inbox: Arc<Inbox>,
    /// Disconnects when the thread ends (its sender is dropped).
    finished: mpsc::Receiver<()>,
}

impl Delivery {
    /// Ends the subscription: nothing more is queued for it, and the thread ends once it
    /// has delivered what was queued.
    pub(crate) fn close(&self) {
        self.inbox.close();
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
    let inbox = Arc::new(Inbox::new(topics, bus.subscription_bytes()));
    let (finished_tx, finished) = mpsc::channel::<()>();
    let mut state = DeliveryState {
        plugin: plugin.to_owned(),
        subscription: None,
        lost_events,
        lost_since_delivery: 0,
        unreported: 0,
        last_warning: None,
        single: String::new(),
    };
    // The thread takes the subscription out of this slot; if the thread cannot be
    // spawned, the subscription is still in it and goes back to the caller.
    let slot = Arc::new(Mutex::new(Some(subscription)));
    let thread_slot = slot.clone();
    let thread_inbox = Arc::clone(&inbox);
    let spawned = std::thread::Builder::new()
        .name(format!("plugin-{plugin}-events"))
        .spawn(move || {
            let _finished = finished_tx;
            state.subscription = thread_slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(thread_slot);
            state.run(&thread_inbox);
        });
    match spawned {
        Ok(_) => {
            bus.attach(inbox.clone());
            Ok(Delivery {
                plugin: plugin.to_owned(),
                inbox,
                finished,
            })
        }
        Err(err) => {
            inbox.close();
            let reason = format!("cannot start the delivery thread: {err}");
            let subscription = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            Err((reason, subscription))
        }
    }
}

struct DeliveryState {
    plugin: String,
    subscription: Option<Subscription>,
    lost_events: Arc<AtomicU64>,
    /// Lost since the last delivered call (the handler's `lost`).
    lost_since_delivery: u64,
    /// Lost since the last warning.
    unreported: u64,
    last_warning: Option<Instant>,
    /// The payload text of the event delivered singly (reused).
    single: String,
}

impl DeliveryState {
    fn run(&mut self, inbox: &Inbox) {
        let (mut items, mut spare) = (VecDeque::new(), Vec::new());
        loop {
            let taken = inbox.take(&mut items, &mut spare);
            if taken.lost > 0 {
                self.lost(taken.lost);
            }
            for item in items.drain(..) {
                match item {
                    Item::Event(event, _) => self.deliver(&event),
                    Item::Points { mut json, time, .. } => {
                        json.push(']');
                        self.call(topics::POINTS_BATCH, &json, time);
                        json.clear();
                        // A burst's big text is not kept for reuse.
                        if json.capacity() <= 1 << 20 {
                            spare.push(json);
                        }
                    }
                }
            }
            if taken.closed {
                break;
            }
        }
        self.warn_lost(true);
        // Dropping the subscription calls the plugin's `drop_user_data`, once.
        self.subscription = None;
    }

    fn deliver(&mut self, event: &Event) {
        let mut payload = std::mem::take(&mut self.single);
        payload.clear();
        // Plugins speak strict JSON: non-finite floats cross as tagged objects.
        payload::write_plugin_json(&event.payload, &mut payload);
        self.call(&event.topic, &payload, event.time);
        self.single = payload;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn points(pairs: &[(&str, i64)], time: f64) -> Arc<Event> {
        let fields = pairs
            .iter()
            .map(|(codename, y)| {
                (
                    (*codename).to_owned(),
                    Value::List(vec![Value::Float(time), Value::Int(*y)]),
                )
            })
            .collect();
        Arc::new(Event::at(topics::POINTS, Value::Dict(fields), time))
    }

    fn take(inbox: &Inbox) -> (Vec<String>, Taken) {
        let (mut items, mut spare) = (VecDeque::new(), Vec::new());
        let taken = inbox.take(&mut items, &mut spare);
        let texts = items
            .into_iter()
            .map(|item| match item {
                Item::Event(event, _) => format!(
                    "{}:{}",
                    event.topic,
                    event
                        .payload
                        .get("id")
                        .map_or(0, |id| id.as_f64().unwrap_or(0.0) as i64)
                ),
                Item::Points { json, events, .. } => format!("{json}] ({events} events)"),
            })
            .collect();
        (texts, taken)
    }

    fn topics(json: &str) -> Topics {
        Topics::parse(json).unwrap()
    }

    #[test]
    fn points_are_gathered_in_order_with_every_update_and_other_topics_keep_their_place() {
        let inbox = Inbox::new(topics(r#"["points_batch", "barrier"]"#), 1 << 20);
        assert!(inbox.offer(&points(&[("a", 1)], 1.5)));
        assert!(inbox.offer(&points(&[("a", 2), ("b\"", 3)], 2.5)));
        let mut barrier = indexmap::IndexMap::new();
        barrier.insert("id".to_owned(), Value::Int(7));
        assert!(inbox.offer(&Arc::new(Event::new("barrier", Value::Dict(barrier)))));
        assert!(inbox.offer(&Arc::new(Event::new("other", Value::Null))));
        assert!(inbox.offer(&points(&[("a", 4)], f64::NAN)));
        let (texts, taken) = take(&inbox);
        assert_eq!(
            texts,
            [
                r#"[["a",1.5,1.5,1],["a",2.5,2.5,2],["b\"",2.5,2.5,3]] (2 events)"#,
                "barrier:7",
                r#"[["a",{"$float":"NaN"},{"$float":"NaN"},4]] (1 events)"#,
            ]
        );
        assert_eq!(
            (taken.lost, taken.closed),
            (0, false),
            "`points` itself was not asked for, nor `other`"
        );
    }

    #[test]
    fn malformed_points_payloads_are_passed_on_for_the_plugin_to_count() {
        let inbox = Inbox::new(topics(r#"["points_batch"]"#), 1 << 20);
        let mut fields = indexmap::IndexMap::new();
        fields.insert("a".to_owned(), Value::Int(1));
        inbox.offer(&Arc::new(Event::at(
            topics::POINTS,
            Value::Dict(fields),
            1.0,
        )));
        inbox.offer(&Arc::new(Event::at(
            topics::POINTS,
            Value::Str("x".into()),
            2.0,
        )));
        let (texts, _) = take(&inbox);
        assert_eq!(texts, [r#"[["a",1.0,1],[null,2.0,"x"]] (2 events)"#]);
    }

    #[test]
    fn a_full_inbox_loses_the_oldest_and_counts_them_and_the_publisher_never_waits() {
        // Room for a few single events of ~600 bytes, not for a hundred.
        let inbox = Inbox::new(topics(r#"["points"]"#), 4096);
        for i in 0..100 {
            inbox.offer(&points(&[("a", i)], i as f64));
        }
        let (texts, taken) = take(&inbox);
        assert!(taken.lost > 80, "{}", taken.lost);
        assert_eq!(taken.lost + texts.len() as u64, 100);
        // Gathered points take a tenth of the room: the same bound holds many more.
        let inbox = Inbox::new(topics(r#"["points_batch"]"#), 4096);
        for i in 0..100 {
            inbox.offer(&points(&[("a", i)], i as f64));
        }
        let (texts, taken) = take(&inbox);
        assert_eq!(taken.lost, 0, "{texts:?}");
        // The next take reports nothing lost again.
        inbox.offer(&points(&[("a", 1)], 1.0));
        assert_eq!(take(&inbox).1.lost, 0);
    }

    #[test]
    fn a_closed_inbox_hands_over_what_it_held_and_refuses_more() {
        let inbox = Inbox::new(topics(r#"["*"]"#), 1 << 20);
        inbox.offer(&Arc::new(Event::new("t", Value::Null)));
        inbox.close();
        assert!(!inbox.offer(&Arc::new(Event::new("t", Value::Null))));
        assert!(inbox.is_closed());
        let (texts, taken) = take(&inbox);
        assert_eq!(texts, ["t:0"]);
        assert!(taken.closed);
        // Taking from a closed, empty inbox returns at once.
        assert!(take(&inbox).1.closed);
    }

    #[test]
    fn a_waiting_reader_wakes_for_an_offer() {
        let inbox = Arc::new(Inbox::new(topics(r#"["t"]"#), 1 << 20));
        let reader = {
            let inbox = Arc::clone(&inbox);
            std::thread::spawn(move || take(&inbox).0)
        };
        // Offer once the reader is asleep (a reader that is not yet waiting finds the
        // event queued instead: either way it must come back with it).
        while !inbox.lock().waiting && !reader.is_finished() {
            std::thread::yield_now();
        }
        inbox.offer(&Arc::new(Event::new("t", Value::Null)));
        assert_eq!(reader.join().unwrap(), ["t:0"]);
    }

    #[test]
    fn star_does_not_include_the_batch_form() {
        let all = topics(r#"["*"]"#);
        assert!(!all.points_batch && all.wants_single("points"));
        let both = topics(r#"["points", "points_batch"]"#);
        assert!(both.points_batch && both.wants_single("points"));
        assert!(Topics::parse("[]").is_err() && Topics::parse(r#"[""]"#).is_err());
    }
}
