//! Plugin event subscriptions: one delivery thread per subscription.
//!
//! A plugin's handler is foreign code that may be slow, so it never runs on an async
//! worker or under a lock: each subscription gets a named std thread
//! (`plugin-<name>-events`) that receives from the bus, filters by topic and calls the
//! handler, one event at a time, in publication order. The bus is bounded and never waits
//! for a subscriber: one that falls behind loses the oldest events, and the handler is
//! told how many in its next call (`lost`), the plugin's counter grows (shown by
//! `status`) and a rate-limited warning is logged.
//!
//! On stop the thread finishes its current event, delivers what was already queued for
//! it, then calls the plugin's `drop_user_data` once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use labsocket_plugin_api::abi::{EventHandler, StrRef};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_util::sync::CancellationToken;

use super::payload;
use crate::events::Event;

/// At most one "events lost" warning per subscription per this period.
const LOST_WARNING_PERIOD: Duration = Duration::from_secs(10);

/// The topics a subscription wants.
pub(crate) enum Topics {
    All,
    Some(HashSet<String>),
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
        Ok(if names.iter().any(|name| name == "*") {
            Topics::All
        } else {
            Topics::Some(names.into_iter().collect())
        })
    }

    fn wants(&self, topic: &str) -> bool {
        match self {
            Topics::All => true,
            Topics::Some(names) => names.contains(topic),
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

    fn deliver(&self, event: &Event, lost: u64) {
        // Plugins speak strict JSON: non-finite floats cross as tagged objects.
        let payload = payload::to_plugin(&event.payload).to_string();
        // SAFETY: `handler` and `user_data` are what the plugin registered together; both
        // strings outlive the call, and this thread is the only caller (never concurrent).
        unsafe {
            (self.handler)(
                self.user_data,
                StrRef::borrowed(&event.topic),
                StrRef::borrowed(&payload),
                event.time,
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

/// A running delivery thread, for the stop sequence to wait on.
pub(crate) struct Delivery {
    pub(crate) plugin: String,
    /// Disconnects when the thread ends (its sender is dropped).
    finished: mpsc::Receiver<()>,
}

impl Delivery {
    /// Waits for the thread to end, until `deadline`; whether it ended.
    pub(crate) fn wait_until(&self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        matches!(
            self.finished.recv_timeout(left),
            Err(mpsc::RecvTimeoutError::Disconnected)
        )
    }
}

/// Starts the delivery thread of `subscription`. On failure the subscription is handed
/// back (when it was not consumed), for the caller to disarm: a refused subscribe keeps
/// nothing.
pub(crate) fn start(
    plugin: &str,
    subscription: Subscription,
    topics: Topics,
    receiver: broadcast::Receiver<Arc<Event>>,
    stop: CancellationToken,
    lost_events: Arc<AtomicU64>,
) -> Result<Delivery, (String, Option<Subscription>)> {
    // A current-thread runtime only to wait for "an event or the stop" at once; it has no
    // I/O or timer driver and lives as long as the thread.
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            return Err((
                format!("cannot start the delivery thread: {err}"),
                Some(subscription),
            ))
        }
    };
    let (finished_tx, finished) = mpsc::channel::<()>();
    let mut state = DeliveryState {
        plugin: plugin.to_owned(),
        subscription: None,
        topics,
        lost_events,
        lost_since_delivery: 0,
        unreported: 0,
        last_warning: None,
    };
    // The thread takes the subscription out of this slot; if the thread cannot be
    // spawned, the subscription is still in it and goes back to the caller.
    let slot = Arc::new(Mutex::new(Some(subscription)));
    let thread_slot = slot.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("plugin-{plugin}-events"))
        .spawn(move || {
            let _finished = finished_tx;
            state.subscription = thread_slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop(thread_slot);
            state.run(&runtime, receiver, &stop);
        });
    match spawned {
        Ok(_) => Ok(Delivery {
            plugin: plugin.to_owned(),
            finished,
        }),
        Err(err) => {
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
    /// Lost since the last delivered event (the handler's `lost`).
    lost_since_delivery: u64,
    /// Lost since the last warning.
    unreported: u64,
    last_warning: Option<Instant>,
}

impl DeliveryState {
    fn run(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        mut receiver: broadcast::Receiver<Arc<Event>>,
        stop: &CancellationToken,
    ) {
        loop {
            let next = runtime.block_on(async {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => None,
                    received = receiver.recv() => Some(received),
                }
            });
            match next {
                Some(Ok(event)) => self.handle(&event),
                Some(Err(RecvError::Lagged(lost))) => self.lost(lost),
                Some(Err(RecvError::Closed)) | None => break,
            }
        }
        // Deliver what was queued when the stop came, not what keeps arriving after it.
        for _ in 0..receiver.len() {
            match receiver.try_recv() {
                Ok(event) => self.handle(&event),
                Err(TryRecvError::Lagged(lost)) => self.lost(lost),
                Err(_) => break,
            }
        }
        self.warn_lost(true);
        // Dropping the subscription calls the plugin's `drop_user_data`, once.
        self.subscription = None;
    }

    fn handle(&mut self, event: &Event) {
        if !self.topics.wants(&event.topic) {
            return;
        }
        if let Some(subscription) = &self.subscription {
            subscription.deliver(event, std::mem::take(&mut self.lost_since_delivery));
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
