//! The link to the broker: two threads of the plugin's own around one rumqttc v5 client.
//!
//! - The poll thread owns rumqttc's `Connection` and does nothing but poll it and react:
//!   on every ConnAck it (re)subscribes and asks each sender to `resend` what came after
//!   the last batch taken in; a received `batch` becomes remote points with one host call
//!   (core `set_points`), a `pt` only when newer than what is held; stale marks go through
//!   `set_stale`; a PUBACK releases the batch in flight. It never blocks on rumqttc's
//!   request channel (only `try_*` calls): a poll loop waiting for its own full channel is
//!   rumqttc's known deadlock.
//! - The publisher thread wakes every few milliseconds: it writes the changes gathered by
//!   the `points_batch` subscription to the on-disk outbox as one batch, publishes the
//!   retained `pt/<codename>` of what changed, sends the oldest outbox rows as one QoS 1 `batch`
//!   (one at a time: the next goes when the broker acknowledged it), republishes the birth
//!   every keepalive, and after a reconnect republishes the retained state and replays the
//!   outbox (`replay: true`); a `resend` request makes the next batches start at the asked
//!   seq (sent rows are kept for it, see `outbox`).
//!
//! Only `batch` messages use QoS 1 (status and `pt` are retained QoS 0, republished
//! anyway), so every PUBACK is the one of the batch in flight.
//!
//! Loops: the host's own messages come back neither from the broker (No Local) nor from
//! the point table (codenames set from remote are kept in `received` and never published).
//! Duplicate ids: a host whose id the broker holds as online with another boot id waits
//! one keepalive; if that other host is alive (its birth comes again) this one refuses to
//! federate and disconnects cleanly, so its will does not mark the other offline.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use labsocket_plugin_api::{json, unix_now, Ctx, Event, Level, RawEvent, Value};
use rumqttc::v5::mqttbytes::v5::{
    ConnectReturnCode, Filter, LastWill, LastWillProperties, Packet, Publish, PublishProperties,
};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Connection, ConnectionError, Event as MqttEvent, MqttOptions};
use rumqttc::{Outgoing, TlsConfiguration, Transport};

use crate::config::Config;
use crate::outbox::{self, Outbox};
use crate::topic::{Incoming, Topics};
use crate::ws::{self, Ws};

/// How often the publisher gathers changes into one batch.
const BATCH_EVERY: Duration = Duration::from_millis(5);
/// Points text of one `batch` message at most (about; a single row may be larger).
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// rumqttc's request channel: publishes beyond it wait in our own structures.
const REQUEST_CAPACITY: usize = 1024;
/// How long after a connect a retained status of our own id is waited for.
const FIRST_PROBE: Duration = Duration::from_millis(300);
/// A batch not acknowledged this long is sent again (at-least-once; receivers re-set).
const RESEND_AFTER: Duration = Duration::from_secs(10);
/// How long the broker keeps this host's session (and queues its batches) while away.
const SESSION_EXPIRY_SECS: u32 = 300;
/// After a reconnect, batches wait this long so that the other hosts, which reconnect on
/// their own schedule to a restarted broker, have subscribed again before the replay.
const REPLAY_SETTLE: Duration = Duration::from_millis(1500);
/// Local events waiting for the broker at most; beyond it the oldest are dropped (counted).
const MAX_QUEUED_EVENTS: usize = 10_000;
/// Topics never federated as events: points travel in `pt`/`batch`, workspace changes
/// in `ws/` (see `ws`), settings are per host.
const LOCAL_TOPICS: &[&str] = &["points", "data_changed", "data_deleted", "settings_changed"];
/// The largest MQTT packet (the protocol's limit): a `ws-get` answer carries a whole
/// workspace value, which may be hundreds of megabytes.
const MAX_PACKET_BYTES: u32 = 268_435_455;
/// The shortest MQTT keepalive rumqttc accepts, in seconds.
const MIN_MQTT_KEEPALIVE: u64 = 5;
/// Pause between reconnection attempts while the broker is away.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Whether this host federates.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Connected; waiting to learn whether another live host has our id.
    Probing {
        until: Instant,
        /// The boot id of a retained online status of our id that is not ours.
        suspect: Option<String>,
    },
    /// Publishing and taking in.
    Federating,
    /// Another live host has our id: nothing is published or taken in.
    Duplicate { other_boot_id: String },
}

/// What the link knows of another host.
#[derive(Debug, Clone)]
struct Remote {
    boot_id: String,
    online: bool,
    /// When its last status was made (Unix seconds; the receipt time for live messages).
    last_status: f64,
    stale: bool,
}

/// State shared by the subscription handler, the poll thread, the publisher and commands.
#[derive(Default)]
struct State {
    /// Changes since the last batch: `[codename, time, x, y]`.
    pending: Vec<Value>,
    /// The latest local point of each shared codename: `(time, x, y)`.
    latest: HashMap<String, (f64, Value, Value)>,
    /// Codenames whose retained `pt` (and, when new, `meta`) must be published.
    dirty: HashSet<String>,
    /// Codenames seen before (their `meta` was published).
    known: HashSet<String>,
    /// What the host's pull sockets say of each codename (core `point_meta`):
    /// `(timeout in seconds, kind)`; a codename no pull socket lists is absent.
    meta: HashMap<String, (Option<f64>, String)>,
    /// Codenames this plugin set from remote messages: never published.
    received: HashSet<String>,
    /// Remote hosts a `batch` came from: their live (not retained) `pt`s repeat it.
    batch_hosts: HashSet<String>,
    /// The newest time taken in for each remote `<host>/<codename>`.
    remote_latest: HashMap<String, f64>,
    /// The highest batch seq taken in from each remote host: after a reconnect this host
    /// asks each of them (`resend`) for what came after it, which a replay sent before
    /// this host had subscribed again would otherwise lose.
    remote_seq: HashMap<String, i64>,
    /// Batches from other hosts that did not start right after the last one taken in.
    gaps: u64,
    /// A receiver asked for the batches from this seq on (sent ones included): the next
    /// batches start there until they caught up with the unsent rows.
    resend_from: Option<i64>,
    /// Local events to publish as `ev/<topic>`: `(topic, payload JSON)`.
    events_out: std::collections::VecDeque<(String, String)>,
    /// Remote events this plugin emitted, by `topic \0 payload`: the `*` subscription sees
    /// them come back and must not publish them.
    echoes: HashMap<String, u32>,
    events_published: u64,
    events_received: u64,
    events_dropped: u64,
    connected: bool,
    /// Set on each ConnAck: the publisher republishes the retained state.
    resync: bool,
    phase: Option<Phase>,
    /// The batch seq waiting for its PUBACK, and since when.
    in_flight: Option<(i64, Instant)>,
    /// A PUBACK came for this seq: the publisher deletes up to it.
    acked: Option<i64>,
    /// Rows up to this seq were written before the current connection: sent as replay.
    replay_upto: i64,
    /// When the current connection came up (batches wait [`REPLAY_SETTLE`] after it).
    connected_at: Option<Instant>,
    remotes: BTreeMap<String, Remote>,
    connects: u64,
    batches_sent: u64,
    points_published: u64,
    points_received: u64,
    own_messages_dropped: u64,
    events_lost: u64,
    last_error: Option<String>,
    outbox_rows: u64,
    outbox_dropped: u64,
    /// MQTT PUBLISH packets received from / written to the broker (any topic).
    messages_in: u64,
    messages_out: u64,
}

pub(crate) struct Shared {
    pub(crate) ctx: Ctx,
    pub(crate) config: Config,
    pub(crate) host: String,
    boot_id: String,
    pub(crate) topics: Topics,
    pub(crate) client: Client,
    state: Mutex<State>,
    pub(crate) wake: Condvar,
    pub(crate) stop: AtomicBool,
    /// Workspace sharing (`ws/`, requests).
    pub(crate) ws: Ws,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn log(&self, level: Level, line: &str) {
        self.ctx.log(level, line);
    }

    /// Whether a request to `host` can be sent now: this host federates and `host` is
    /// taken in and online; otherwise why not.
    pub(crate) fn reachable(&self, host: &str) -> Result<(), String> {
        if host == self.host {
            return Err(format!("'{host}' is this host"));
        }
        if !self.config.takes_in(host) {
            return Err(format!(
                "host '{host}' is not among the hosts this one takes in ([mqtt] hosts)"
            ));
        }
        let state = self.lock();
        if !state.connected {
            return Err(format!(
                "host '{host}' cannot be reached: this host is not connected to the MQTT broker"
            ));
        }
        if state.phase != Some(Phase::Federating) {
            return Err(format!(
                "host '{host}' cannot be reached: this host does not federate (see mqtt.status)"
            ));
        }
        match state.remotes.get(host) {
            Some(remote) if !remote.stale => Ok(()),
            Some(_) => Err(format!("host '{host}' is offline")),
            None => Err(format!("host '{host}' is offline (never seen in this lab)")),
        }
    }

    fn keepalive(&self) -> Duration {
        Duration::from_secs(self.config.keepalive_secs)
    }

    fn status_payload(&self, online: bool) -> Vec<u8> {
        json!({
            "state": if online { "online" } else { "offline" },
            "boot_id": self.boot_id,
            "version": env!("CARGO_PKG_VERSION"),
            "time": unix_now(),
        })
        .to_string()
        .into_bytes()
    }
}

/// A running link; stopped by [`Link::stop`].
pub(crate) struct Link {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Link {
    /// Opens the outbox, subscribes to the host's points and starts both threads.
    pub(crate) fn start(ctx: &Ctx, config: Config) -> Result<Link, String> {
        let host = config.host_id()?;
        let broker = config.broker()?;
        let password = config.password()?;
        let boot_id = format!("{:016x}", fastrand::u64(..));
        let client_id = format!("labsocket-{}-{host}-{boot_id}", config.lab);
        let topics = Topics::new(&config.lab, &host);

        let mut outbox = Outbox::open(
            &ctx.plugin_dir().join(outbox::FILE_NAME),
            config.outbox_max_batches,
        )?;
        let replay_upto = outbox.last_seq()?;
        let outbox_rows = outbox.len()?;

        let mut options = MqttOptions::new(client_id, broker.host, broker.port);
        // rumqttc refuses (panics on) an MQTT keepalive under 5 s; a shorter keepalive_secs
        // still sets the birth period, which bounds how late a hung host is noticed.
        options.set_keep_alive(Duration::from_secs(
            config.keepalive_secs.max(MIN_MQTT_KEEPALIVE),
        ));
        // A session kept by the broker queues batches for this host while it is briefly
        // away (a broker with persistence keeps it across its own restart too).
        options.set_clean_start(false);
        options.set_session_expiry_interval(Some(SESSION_EXPIRY_SECS));
        options.set_max_packet_size(Some(MAX_PACKET_BYTES));
        // Small messages go out at once: with Nagle's algorithm a request, an answer or a
        // round's `batch` behind unacknowledged small packets (`pt`s) waits for the peer's
        // delayed ACK (~40 ms; batch at the broker p50 47.95 ms → 5.54 ms). Measured on
        // loopback, a remote workspace write took p50 43 ms; 3.7 ms with this and the
        // broker's `set_tcp_nodelay true` (docs/user-guide.md), 38 ms with only the latter.
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        options.set_network_options(network);
        if let Some(username) = &config.username {
            options.set_credentials(username.clone(), password.unwrap_or_default());
        }
        if let Some(tls) = crate::tls::client_config(&config)? {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        }
        let offline = json!({
            "state": "offline",
            "boot_id": boot_id,
            "version": env!("CARGO_PKG_VERSION"),
            "time": unix_now(),
        })
        .to_string();
        options.set_last_will(LastWill::new(
            topics.status(),
            offline,
            QoS::AtLeastOnce,
            true,
            None::<LastWillProperties>,
        ));
        let (client, connection) = Client::new(options, REQUEST_CAPACITY);

        let state = State {
            replay_upto,
            outbox_rows,
            ..State::default()
        };
        let shared = Arc::new(Shared {
            ctx: *ctx,
            config,
            host,
            boot_id,
            topics,
            client,
            state: Mutex::new(state),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            ws: Ws::default(),
        });
        let mut threads = Vec::new();

        if shared.config.shares("points") {
            let handler_shared = shared.clone();
            // Gathered and raw (`points_batch`): a burst of changes costs one call and one
            // parse per batch, and the host's inbox for it is lossless up to its bound.
            ctx.subscribe_raw(
                &[labsocket_plugin_api::topics::POINTS_BATCH],
                move |event| on_points(&handler_shared, event),
            )
            .map_err(|err| format!("mqtt: cannot subscribe to points_batch: {err}"))?;
        }

        if shared.config.shares("events") {
            let handler_shared = shared.clone();
            ctx.subscribe(&[labsocket_plugin_api::topics::ALL], move |event| {
                on_event(&handler_shared, event)
            })
            .map_err(|err| format!("mqtt: cannot subscribe to events: {err}"))?;
        }

        if shared.config.shares("workspace") {
            let handler_shared = shared.clone();
            ctx.subscribe(
                &[
                    labsocket_plugin_api::topics::DATA_CHANGED,
                    labsocket_plugin_api::topics::DATA_DELETED,
                ],
                move |event| ws::on_data_event(&handler_shared, event),
            )
            .map_err(|err| format!("mqtt: cannot subscribe to workspace changes: {err}"))?;
            let (jobs, queue) = std::sync::mpsc::channel();
            shared.ws.set_jobs(jobs);
            let serve_shared = shared.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("mqtt-ws".into())
                    .spawn(move || ws::serve_loop(&serve_shared, queue))
                    .map_err(|err| format!("mqtt: cannot start the workspace thread: {err}"))?,
            );
        }

        let poll_shared = shared.clone();
        let poll = std::thread::Builder::new()
            .name("mqtt-poll".into())
            .spawn(move || poll_loop(&poll_shared, connection))
            .map_err(|err| format!("mqtt: cannot start the poll thread: {err}"))?;
        let publish_shared = shared.clone();
        let publisher = std::thread::Builder::new()
            .name("mqtt-publish".into())
            .spawn(move || publish_loop(&publish_shared, &mut outbox))
            .map_err(|err| format!("mqtt: cannot start the publisher thread: {err}"))?;
        threads.extend([poll, publisher]);
        Ok(Link {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// `mqtt.status`.
    pub(crate) fn status(&self) -> Value {
        let shared = &self.shared;
        let state = shared.lock();
        let phase = match &state.phase {
            None => "connecting",
            Some(Phase::Probing { .. }) => "probing",
            Some(Phase::Federating) => "federating",
            Some(Phase::Duplicate { .. }) => "duplicate",
        };
        let error = match &state.phase {
            Some(Phase::Duplicate { other_boot_id }) => Some(format!(
                "another live host uses the id '{}' (boot_id {other_boot_id}): this host does not federate",
                shared.host
            )),
            _ => state.last_error.clone(),
        };
        let remotes: serde_json::Map<String, Value> = state
            .remotes
            .iter()
            .map(|(host, remote)| {
                (
                    host.clone(),
                    json!({
                        "online": remote.online,
                        "stale": remote.stale,
                        "boot_id": remote.boot_id,
                        "last_status": remote.last_status,
                    }),
                )
            })
            .collect();
        json!({
            "enabled": true,
            "broker": shared.config.url,
            "tls": shared.config.url.starts_with("mqtts://"),
            "lab": shared.config.lab,
            "host": shared.host,
            "boot_id": shared.boot_id,
            "connected": state.connected,
            "phase": phase,
            "error": error,
            "connects": state.connects,
            "batches_sent": state.batches_sent,
            "points_published": state.points_published,
            "points_received": state.points_received,
            "batch_gaps": state.gaps,
            "own_messages_dropped": state.own_messages_dropped,
            "events_lost": state.events_lost,
            "events_published": state.events_published,
            "events_received": state.events_received,
            "events_dropped": state.events_dropped,
            "outbox_batches": state.outbox_rows,
            "outbox_dropped": state.outbox_dropped,
            "remote_hosts": remotes,
            "workspace": shared.ws.status(),
        })
    }

    /// `mqtt.stats`: the numbers `/metrics` exports (flat; counters end in `_total`).
    pub(crate) fn stats(&self) -> Value {
        let state = self.shared.lock();
        let online = state.remotes.values().filter(|r| !r.stale).count();
        json!({
            "connected": state.connected,
            "federating": state.connected && state.phase == Some(Phase::Federating),
            "messages_in_total": state.messages_in,
            "messages_out_total": state.messages_out,
            "connects_total": state.connects,
            "batches_sent_total": state.batches_sent,
            "points_published_total": state.points_published,
            "points_received_total": state.points_received,
            "events_published_total": state.events_published,
            "events_received_total": state.events_received,
            "outbox_batches": state.outbox_rows,
            "outbox_dropped_total": state.outbox_dropped,
            "remote_hosts_online": online,
            "remote_hosts_known": state.remotes.len(),
        })
    }

    /// `mqtt.ws_set`: a write of another host's variable, sent to that host.
    pub(crate) fn ws_set(
        &self,
        params: Value,
    ) -> Result<Value, labsocket_plugin_api::CommandError> {
        ws::ws_set(&self.shared, params)
    }

    /// Flushes pending changes to the outbox, says offline and disconnects, then joins the
    /// threads (bounded: a thread stuck in a host call is left behind).
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let deadline = Instant::now() + Duration::from_secs(3);
        for thread in threads {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

/// The `points_batch` subscription: gathers local changes (never the ones received from
/// remote). Its payload is `[[codename, time, x, y], ...]`; other entry shapes (a `points`
/// event that was not `codename: [x, y]`) are not points and are skipped.
fn on_points(shared: &Shared, event: RawEvent<'_>) {
    let entries: Vec<Value> = match serde_json::from_slice(event.payload) {
        Ok(entries) => entries,
        Err(err) => {
            shared.log(
                Level::Warn,
                &format!("mqtt: a points_batch payload is not a list: {err}"),
            );
            return;
        }
    };
    let mut state = shared.lock();
    if event.lost > 0 {
        state.events_lost += event.lost;
    }
    if matches!(state.phase, Some(Phase::Duplicate { .. })) {
        return;
    }
    // An idle link sends the first change at once instead of at the next round (up to
    // BATCH_EVERY later); while a batch is in flight, changes gather until its PUBACK
    // wakes the publisher, so batches still coalesce under load.
    let idle = state.pending.is_empty() && state.in_flight.is_none();
    for entry in entries {
        let Value::Array(fields) = entry else {
            continue;
        };
        let Ok([Value::String(codename), time, x, y]) = <[Value; 4]>::try_from(fields) else {
            continue;
        };
        let Some(time) = time.as_f64() else {
            continue;
        };
        if state.received.contains(&codename) {
            continue;
        }
        state
            .latest
            .insert(codename.clone(), (time, x.clone(), y.clone()));
        state.pending.push(json!([codename.clone(), time, x, y]));
        state.dirty.insert(codename);
    }
    if idle && !state.pending.is_empty() {
        drop(state);
        shared.wake.notify_all();
    }
}

/// The `*` subscription: queues local events for `ev/<topic>` (QoS 0, best effort: not
/// kept while the broker is away beyond [`MAX_QUEUED_EVENTS`]).
fn on_event(shared: &Shared, event: Event) {
    if LOCAL_TOPICS.contains(&event.topic.as_str()) {
        return;
    }
    let payload = event.payload.to_string();
    let key = format!("{}\0{payload}", event.topic);
    let mut state = shared.lock();
    if let Some(count) = state.echoes.get_mut(&key) {
        *count -= 1;
        if *count == 0 {
            state.echoes.remove(&key);
        }
        return; // a remote event we emitted: never republished
    }
    if matches!(state.phase, Some(Phase::Duplicate { .. })) {
        return;
    }
    if state.events_out.len() >= MAX_QUEUED_EVENTS {
        state.events_out.pop_front();
        state.events_dropped += 1;
    }
    state.events_out.push_back((event.topic, payload));
}

/// A remote event: emitted locally with `"host"` added.
fn remote_event(shared: &Shared, host: &str, topic: &str, payload: Value) {
    let Value::Object(mut params) = payload else {
        return; // events' params are objects; anything else is not ours
    };
    params.insert("host".to_owned(), Value::from(host));
    let payload = Value::Object(params);
    let key = format!("{topic}\0{payload}");
    {
        let mut state = shared.lock();
        state.events_received += 1;
        *state.echoes.entry(key.clone()).or_insert(0) += 1;
    }
    if let Err(err) = shared.ctx.emit(topic, &payload) {
        let mut state = shared.lock();
        if let Some(count) = state.echoes.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                state.echoes.remove(&key);
            }
        }
        drop(state);
        shared.log(Level::Warn, &format!("mqtt: emit {topic}: {err}"));
    }
}

/// Publishes queued local events (QoS 0) until rumqttc's channel is full.
fn publish_events(shared: &Shared) {
    let mut state = shared.lock();
    while let Some((topic, payload)) = state.events_out.pop_front() {
        if shared
            .client
            .try_publish(
                shared.topics.event(&topic),
                QoS::AtMostOnce,
                false,
                payload.clone(),
            )
            .is_err()
        {
            state.events_out.push_front((topic, payload));
            return;
        }
        state.events_published += 1;
    }
}

/// Waits until the host answers commands (`ctx.call` is refused until every plugin is
/// initialised); `false` when the host stops first.
fn wait_for_host(shared: &Shared) -> bool {
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.ctx.call("ping", &Value::Null).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn poll_loop(shared: &Shared, mut connection: Connection) {
    if !wait_for_host(shared) {
        return;
    }
    let mut outage_logged = false;
    loop {
        if shared.stop.load(Ordering::SeqCst) && !shared.lock().connected {
            return;
        }
        match connection.recv_timeout(Duration::from_millis(200)) {
            Err(rumqttc::v5::RecvTimeoutError::Timeout) => {}
            Err(rumqttc::v5::RecvTimeoutError::Disconnected) => return,
            Ok(Ok(MqttEvent::Incoming(Packet::ConnAck(_)))) => {
                outage_logged = false;
                on_connack(shared);
            }
            Ok(Ok(MqttEvent::Incoming(Packet::Publish(publish)))) => {
                shared.lock().messages_in += 1;
                on_publish(shared, &publish);
            }
            Ok(Ok(MqttEvent::Outgoing(Outgoing::Publish(_)))) => shared.lock().messages_out += 1,
            Ok(Ok(MqttEvent::Incoming(Packet::PubAck(_)))) => {
                let mut state = shared.lock();
                if let Some((seq, _)) = state.in_flight.take() {
                    state.acked = Some(seq);
                    drop(state);
                    shared.wake.notify_all();
                }
            }
            Ok(Ok(MqttEvent::Outgoing(Outgoing::Disconnect))) => {
                shared.lock().connected = false;
                return;
            }
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                let problem = describe(&err);
                let (was_connected, new_problem) = {
                    let mut state = shared.lock();
                    let was = state.connected;
                    state.connected = false;
                    state.in_flight = None;
                    let new_problem = state.last_error.as_deref() != Some(problem.as_str());
                    state.last_error = Some(problem.clone());
                    (was, new_problem)
                };
                if shared.stop.load(Ordering::SeqCst)
                    || matches!(err, ConnectionError::RequestsDone)
                {
                    return;
                }
                if was_connected || !outage_logged || new_problem {
                    // A refusal (TLS, credentials) needs the operator; an outage heals.
                    let level = if refused(&err) {
                        Level::Error
                    } else {
                        Level::Warn
                    };
                    shared.log(
                        level,
                        &format!("mqtt: {problem}; serving locally, changes wait in the outbox"),
                    );
                    outage_logged = true;
                }
                std::thread::sleep(RECONNECT_PAUSE);
            }
        }
        check_probe(shared);
    }
}

/// A connection failure as `mqtt.status` and the log say it: what went wrong and what to
/// check.
fn describe(err: &ConnectionError) -> String {
    if is_tls_failure(err) {
        return format!(
            "TLS with the broker failed: {err} (check [mqtt] ca_file: it must be the CA that signed the broker's certificate, whose name must match the url's host; a broker that requires client certificates needs cert_file and key_file)"
        );
    }
    match err {
        ConnectionError::ConnectionRefused(
            code @ (ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized),
        ) => format!(
            "the broker refused the connection ({code:?}): check [mqtt] username and password_file"
        ),
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection ({code:?})")
        }
        other => format!("broker unreachable ({other})"),
    }
}

/// Whether `err` is the broker (or its certificate) refusing us, not an outage.
fn refused(err: &ConnectionError) -> bool {
    is_tls_failure(err) || matches!(err, ConnectionError::ConnectionRefused(_))
}

/// Whether `err` is TLS failing: the handshake (`ConnectionError::Tls`), or a TLS alert
/// the broker sends after it (TLS 1.3 refuses a missing client certificate only then),
/// which rumqttc reports as a read error. Its error chain drops the rustls error there,
/// so the alert is recognised by rustls' wording.
fn is_tls_failure(err: &ConnectionError) -> bool {
    if matches!(err, ConnectionError::Tls(_)) {
        return true;
    }
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = current {
        let io_inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if error.is::<rustls::Error>() || io_inner.is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        current = error.source();
    }
    let text = err.to_string();
    text.contains("received fatal alert") || text.contains("peer certificate")
}

/// A new connection: subscribe (No Local) and let the publisher resync.
fn on_connack(shared: &Shared) {
    let mut filters = vec![nolocal(shared.topics.status())];
    for host in &shared.config.hosts {
        filters.extend(shared.topics.filters_of(host).into_iter().map(nolocal));
    }
    filters.extend(ws::filters(shared).into_iter().map(nolocal));
    filters.push(nolocal(shared.topics.resend(&shared.host)));
    if let Err(err) = shared.client.try_subscribe_many(filters) {
        shared.log(Level::Error, &format!("mqtt: cannot subscribe: {err}"));
    }
    ask_resend(shared);
    let mut state = shared.lock();
    state.connected = true;
    state.connected_at = Some(Instant::now());
    state.connects += 1;
    state.resync = true;
    state.in_flight = None;
    state.last_error = None;
    state.phase = match state.phase.take() {
        Some(Phase::Duplicate { other_boot_id }) => Some(Phase::Duplicate { other_boot_id }),
        Some(Phase::Federating) => Some(Phase::Federating),
        _ => Some(Phase::Probing {
            until: Instant::now() + FIRST_PROBE,
            suspect: None,
        }),
    };
    drop(state);
    shared.log(Level::Info, "mqtt: connected to the broker");
    shared.wake.notify_all();
}

/// After a reconnect: asks every host a batch came from for its batches after the last
/// one taken in. Its replay may have gone out before this host subscribed again (each
/// host reconnects to a restarted broker on its own schedule). QoS 0, sent after the
/// SUBSCRIBE on the same connection (so the resent batches find the subscription): only
/// `batch` PUBACKs may come back (see the module doc). A host that is not connected yet
/// misses the request and replays on its own reconnect, after this one subscribed.
fn ask_resend(shared: &Shared) {
    let asks: Vec<(String, i64)> = {
        let state = shared.lock();
        state
            .remote_seq
            .iter()
            .map(|(host, seq)| (host.clone(), *seq))
            .collect()
    };
    for (host, seq) in asks {
        send_resend(shared, &host, seq + 1);
    }
}

/// Asks `host` for its batches from seq `from` on (QoS 0, see [`ask_resend`]).
fn send_resend(shared: &Shared, host: &str, from: i64) {
    let payload = json!({"from": from}).to_string();
    if let Err(err) =
        shared
            .client
            .try_publish(shared.topics.resend(host), QoS::AtMostOnce, false, payload)
    {
        shared.log(
            Level::Warn,
            &format!("mqtt: cannot ask '{host}' to resend from seq {from}: {err}"),
        );
    }
}

/// A receiver's `resend` request: the next batches start at its `from` (at most back to
/// the oldest kept row, see `outbox::KEEP_SENT`).
fn on_resend(shared: &Shared, payload: &[u8]) {
    let Some(from) = serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|payload| payload.get("from").and_then(Value::as_i64))
    else {
        shared.log(
            Level::Warn,
            "mqtt: a resend request without an integer 'from'",
        );
        return;
    };
    {
        let mut state = shared.lock();
        if matches!(state.phase, Some(Phase::Duplicate { .. })) {
            return;
        }
        state.resend_from = Some(state.resend_from.map_or(from, |old| old.min(from)));
    }
    shared.wake.notify_all();
}

fn nolocal(path: String) -> Filter {
    let mut filter = Filter::new(path, QoS::AtLeastOnce);
    filter.nolocal = true;
    filter
}

/// Ends the probe when its time is up and no live duplicate showed.
fn check_probe(shared: &Shared) {
    let mut state = shared.lock();
    if let Some(Phase::Probing { until, .. }) = state.phase {
        if Instant::now() >= until {
            state.phase = Some(Phase::Federating);
            drop(state);
            shared.wake.notify_all();
        }
    }
}

fn on_publish(shared: &Shared, publish: &Publish) {
    let Ok(topic) = std::str::from_utf8(&publish.topic) else {
        return;
    };
    let Some(incoming) = shared.topics.parse(topic) else {
        return;
    };
    // Workspace messages first: an empty `ws/` payload is a delete, not noise.
    match &incoming {
        Incoming::Variable { host, name } => {
            if *host == shared.host {
                // What the broker retains under our name (from an earlier boot) is checked
                // against the workspace: a variable gone meanwhile is cleared.
                if publish.retain && !publish.payload.is_empty() {
                    ws::recheck(shared, name);
                }
            } else if shared.config.takes_in(host) && federating(shared) {
                ws::on_variable(shared, host, name, &publish.payload);
            }
            return;
        }
        Incoming::Request { host, kind, name } => {
            if *host == shared.host && federating(shared) {
                ws::on_request(shared, publish, *kind, name);
            }
            return;
        }
        Incoming::Reply { host } => {
            if *host == shared.host {
                ws::on_reply(shared, publish);
            }
            return;
        }
        Incoming::Resend { host } => {
            if *host == shared.host {
                on_resend(shared, &publish.payload);
            }
            return;
        }
        _ => {}
    }
    let payload: Value = match serde_json::from_slice(&publish.payload) {
        Ok(payload) => payload,
        Err(_) if publish.payload.is_empty() => return, // a cleared retained topic
        Err(err) => {
            shared.log(
                Level::Warn,
                &format!("mqtt: {topic}: payload is not JSON: {err}"),
            );
            return;
        }
    };
    match incoming {
        Incoming::Status { host } if host == shared.host => own_status(shared, publish, &payload),
        Incoming::Status { host } if shared.config.takes_in(&host) => {
            remote_status(shared, publish, &host, &payload)
        }
        Incoming::Event { host, topic }
            if host != shared.host && shared.config.takes_in(&host) && federating(shared) =>
        {
            remote_event(shared, &host, &topic, payload);
        }
        Incoming::Point { host, .. } | Incoming::Batch { host } | Incoming::Event { host, .. }
            if host == shared.host =>
        {
            shared.lock().own_messages_dropped += 1;
        }
        Incoming::Point { host, codename } if shared.config.takes_in(&host) => {
            if !federating(shared) {
                return;
            }
            let (Some(x), Some(y)) = (payload.get("x"), payload.get("y")) else {
                return;
            };
            // A live `pt` of a host that sends batches mostly repeats a change a batch
            // carries: it is taken in only when it is newer than anything taken in for that
            // codename (its batch is late or was lost), when it is retained (delivered
            // because this host just subscribed) or when its host sends no batches.
            let time = payload.get("time").and_then(Value::as_f64);
            if !publish.retain {
                let state = shared.lock();
                let local = format!("{host}/{codename}");
                let known = state.remote_latest.get(&local).copied();
                if state.batch_hosts.contains(&host)
                    && known.is_some_and(|known| time.is_none_or(|time| time <= known))
                {
                    return;
                }
            }
            set_remote(shared, &host, &codename, x, y, time);
        }
        Incoming::Batch { host } if shared.config.takes_in(&host) => {
            if !federating(shared) {
                return;
            }
            take_batch(shared, &host, payload);
        }
        _ => {}
    }
}

fn federating(shared: &Shared) -> bool {
    !matches!(shared.lock().phase, Some(Phase::Duplicate { .. }))
}

/// A status of our own id: another boot id online means a possible duplicate.
fn own_status(shared: &Shared, publish: &Publish, payload: &Value) {
    let boot_id = payload.get("boot_id").and_then(Value::as_str).unwrap_or("");
    let online = payload.get("state").and_then(Value::as_str) == Some("online");
    if boot_id == shared.boot_id || !online {
        return;
    }
    let mut state = shared.lock();
    let fresh = payload
        .get("time")
        .and_then(Value::as_f64)
        .is_some_and(|time| unix_now() - time < 3.0 * shared.config.keepalive_secs as f64);
    match state.phase.clone() {
        Some(Phase::Probing { suspect: None, .. }) if publish.retain && fresh => {
            // The holder may be a crashed predecessor whose will has not come yet: a live
            // one republishes its birth within a keepalive.
            state.phase = Some(Phase::Probing {
                until: Instant::now() + shared.keepalive() + Duration::from_secs(1),
                suspect: Some(boot_id.to_owned()),
            });
        }
        Some(Phase::Probing { .. }) if !publish.retain => {
            state.phase = Some(Phase::Duplicate {
                other_boot_id: boot_id.to_owned(),
            });
            drop(state);
            shared.log(
                Level::Error,
                &format!(
                    "mqtt: another live host uses the id '{}' in lab '{}' (boot_id {boot_id}): this host does not federate (it keeps serving locally)",
                    shared.host, shared.config.lab
                ),
            );
            // A clean DISCONNECT: the broker drops our will, so the other host is not
            // marked offline.
            let _ = shared.client.try_disconnect();
        }
        Some(Phase::Federating) if !publish.retain => {
            state.last_error = Some(format!(
                "another host announced the id '{}' (boot_id {boot_id})",
                shared.host
            ));
        }
        _ => {}
    }
}

fn remote_status(shared: &Shared, publish: &Publish, host: &str, payload: &Value) {
    let online = payload.get("state").and_then(Value::as_str) == Some("online");
    let boot_id = payload
        .get("boot_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let now = unix_now();
    let last_status = if publish.retain {
        payload
            .get("time")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            .min(now)
    } else {
        now
    };
    let window = 3.0 * shared.config.keepalive_secs as f64;
    let stale = !online || now - last_status > window;
    let changed = {
        let mut state = shared.lock();
        let remote = state.remotes.entry(host.to_owned()).or_insert(Remote {
            boot_id: boot_id.clone(),
            online,
            last_status,
            stale: !stale,
        });
        let changed = remote.stale != stale;
        remote.boot_id = boot_id;
        remote.online = online;
        remote.last_status = last_status;
        remote.stale = stale;
        changed
    };
    if changed {
        set_stale(shared, host, stale);
    }
}

/// Marks every `<host>/...` point stale (served `OLD_DATA`) or fresh again.
fn set_stale(shared: &Shared, host: &str, stale: bool) {
    let params = json!({"prefix": format!("{host}/"), "stale": stale});
    if let Err(err) = shared.ctx.call("set_stale", &params) {
        shared.log(
            Level::Error,
            &format!("mqtt: set_stale {params}: {}", err.message),
        );
    } else {
        shared.log(
            Level::Info,
            &format!(
                "mqtt: host '{host}' is {}",
                if stale { "offline" } else { "online" }
            ),
        );
    }
}

/// Sets `<host>/<codename>` in the local point table, marked as received.
fn set_remote(
    shared: &Shared,
    host: &str,
    codename: &str,
    x: &Value,
    y: &Value,
    time: Option<f64>,
) {
    let local = format!("{host}/{codename}");
    {
        let mut state = shared.lock();
        note_latest(&mut state, &local, time);
        state.points_received += 1;
        if !state.received.contains(&local) {
            state.received.insert(local.clone());
        }
    }
    // `newer_only` as for batches: a retained `pt` older than what a batch already set
    // must not send the value back in time.
    let params = json!({"points": [[local, x, y, time]], "newer_only": true});
    if let Err(err) = shared.ctx.call("set_points", &params) {
        shared.log(
            Level::Warn,
            &format!("mqtt: set_point {local}: {}", err.message),
        );
    }
}

/// Takes a remote `batch` in with one host call (core `set_points`): each point becomes
/// `<host>/<codename>` with its own time and its own `points` event. `newer_only`: a
/// point older than the one already held (a replay arriving after the retained `pt` that
/// a reconnect delivered) does not send the value back in time; its `points` event still
/// goes out, so history records it.
fn take_batch(shared: &Shared, host: &str, payload: Value) {
    let Value::Object(mut payload) = payload else {
        return;
    };
    let Some(Value::Array(entries)) = payload.remove("points") else {
        return;
    };
    if let Some(seq) = payload.get("seq").and_then(Value::as_i64) {
        // `first` (the batch's first outbox row) past the last seq taken in + 1: batches
        // in between were lost on the way (a broker drops QoS 1 messages to a subscriber
        // that falls behind): ask for them.
        let first = payload.get("first").and_then(Value::as_i64);
        let gap_from = {
            let mut state = shared.lock();
            let previous = state.remote_seq.get(host).copied();
            state
                .remote_seq
                .insert(host.to_owned(), previous.map_or(seq, |p| p.max(seq)));
            match (previous, first) {
                (Some(previous), Some(first)) if first > previous + 1 => {
                    state.gaps += 1;
                    Some(previous + 1)
                }
                _ => None,
            }
        };
        if let Some(from) = gap_from {
            send_resend(shared, host, from);
        }
    }
    let mut points = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Array(fields) = entry else {
            continue;
        };
        let Ok([Value::String(codename), time, x, y]) = <[Value; 4]>::try_from(fields) else {
            continue;
        };
        let local = format!("{host}/{codename}");
        points.push(json!([local, x, y, time]));
    }
    {
        let mut state = shared.lock();
        if !state.batch_hosts.contains(host) {
            state.batch_hosts.insert(host.to_owned());
        }
        state.points_received += points.len() as u64;
        for point in &points {
            if let Some(local) = point[0].as_str() {
                if !state.received.contains(local) {
                    state.received.insert(local.to_owned());
                }
                note_latest(&mut state, local, point[3].as_f64());
            }
        }
    }
    if points.is_empty() {
        return;
    }
    let params = json!({"points": points, "newer_only": true});
    if let Err(err) = shared.ctx.call("set_points", &params) {
        shared.log(
            Level::Warn,
            &format!("mqtt: set_points of a batch from '{host}': {}", err.message),
        );
    }
}

/// Remembers `time` as the newest taken in for `local` when it is.
fn note_latest(state: &mut State, local: &str, time: Option<f64>) {
    let Some(time) = time else {
        return;
    };
    match state.remote_latest.get_mut(local) {
        Some(latest) => *latest = latest.max(time),
        None => {
            state.remote_latest.insert(local.to_owned(), time);
        }
    }
}

fn publish_loop(shared: &Shared, outbox: &mut Outbox) {
    let mut last_birth: Option<Instant> = None;
    loop {
        let stopping = shared.stop.load(Ordering::SeqCst);
        // Local changes go to disk first, whatever the link does.
        let pending = std::mem::take(&mut shared.lock().pending);
        if !pending.is_empty() {
            let text = Value::Array(pending).to_string();
            if let Err(err) = outbox.push(&text) {
                shared.log(Level::Error, &err);
            }
        }
        if stopping {
            say_offline(shared);
            return;
        }
        if let Err(err) = publish_round(shared, outbox, &mut last_birth) {
            shared.log(Level::Error, &err);
        }
        {
            let mut state = shared.lock();
            state.outbox_rows = outbox.len().unwrap_or(state.outbox_rows);
            state.outbox_dropped = outbox.dropped();
        }
        mark_silent_hosts_stale(shared);
        let state = shared.lock();
        let _ = shared
            .wake
            .wait_timeout(state, BATCH_EVERY)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// One round of the publisher while connected and federating.
fn publish_round(
    shared: &Shared,
    outbox: &mut Outbox,
    last_birth: &mut Option<Instant>,
) -> Result<(), String> {
    let (resync, acked) = {
        let mut state = shared.lock();
        if !state.connected || state.phase != Some(Phase::Federating) {
            return Ok(());
        }
        let resync = std::mem::take(&mut state.resync);
        if resync {
            state.in_flight = None;
            state.replay_upto = outbox.last_seq()?;
            let all: Vec<String> = state.latest.keys().cloned().collect();
            state.dirty.extend(all);
            state.known.clear();
        }
        (resync, state.acked.take())
    };
    if let Some(seq) = acked {
        outbox.ack_upto(seq)?;
        let mut state = shared.lock();
        if let Some(from) = state.resend_from {
            if seq >= from {
                state.resend_from = (seq < outbox.acked()).then_some(seq + 1);
            }
        }
    }
    let client = &shared.client;
    if resync || last_birth.is_none_or(|at| at.elapsed() >= shared.keepalive()) {
        // Pull sockets start after plugins: the meta is read again every keepalive.
        refresh_meta(shared);
        if client
            .try_publish(
                shared.topics.status(),
                QoS::AtMostOnce,
                true,
                shared.status_payload(true),
            )
            .is_ok()
        {
            *last_birth = Some(Instant::now());
        }
        if resync {
            shared.log(
                Level::Info,
                "mqtt: federating (birth published, retained state republished)",
            );
        }
    }
    publish_points(shared);
    publish_events(shared);
    ws::publish(shared, resync);
    ws::expire_fetches(shared);
    send_batch(shared, outbox)
}

/// Reads the pull sockets' timeouts and kinds (core `point_meta`); a shared codename
/// whose meta changed gets its `meta` (and `pt`, whose expiry follows it) republished.
fn refresh_meta(shared: &Shared) {
    let fresh = match shared.ctx.call("point_meta", &Value::Null) {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            shared.log(
                Level::Warn,
                &format!("mqtt: point_meta answered {other}, not an object"),
            );
            return;
        }
        Err(err) => {
            shared.log(
                Level::Warn,
                &format!("mqtt: point_meta: {} (meta without timeouts)", err.message),
            );
            return;
        }
    };
    let fresh: HashMap<String, (Option<f64>, String)> = fresh
        .into_iter()
        .map(|(codename, entry)| {
            let timeout = entry.get("timeout").and_then(Value::as_f64);
            let kind = entry
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("date")
                .to_owned();
            (codename, (timeout, kind))
        })
        .collect();
    let mut state = shared.lock();
    if state.meta == fresh {
        return;
    }
    let changed: Vec<String> = state
        .latest
        .keys()
        .filter(|codename| state.meta.get(*codename) != fresh.get(*codename))
        .cloned()
        .collect();
    for codename in changed {
        state.known.remove(&codename);
        state.dirty.insert(codename);
    }
    state.meta = fresh;
}

/// The retained `meta/<codename>` payload and the `pt` message expiry (whole seconds,
/// rounded up) of `codename`.
fn meta_of(state: &State, codename: &str) -> (String, Option<u32>) {
    match state.meta.get(codename) {
        Some((timeout, kind)) => (
            json!({"timeout": timeout, "kind": kind}).to_string(),
            // A timeout of 0.2 s still lives 1 s on the broker: MQTT counts whole seconds.
            timeout.map(|t| (t.ceil() as u32).max(1)),
        ),
        None => (json!({"timeout": null, "kind": null}).to_string(), None),
    }
}

/// The retained `pt/<codename>` (and `meta/<codename>` of new codenames) of what changed.
fn publish_points(shared: &Shared) {
    let mut state = shared.lock();
    if state.dirty.is_empty() {
        return;
    }
    let dirty: Vec<String> = state.dirty.iter().cloned().collect();
    for codename in dirty {
        let Some((time, x, y)) = state.latest.get(&codename).cloned() else {
            state.dirty.remove(&codename);
            continue;
        };
        let (meta, expiry) = meta_of(&state, &codename);
        if !state.known.contains(&codename) {
            if shared
                .client
                .try_publish(shared.topics.meta(&codename), QoS::AtMostOnce, true, meta)
                .is_err()
            {
                return;
            }
            state.known.insert(codename.clone());
        }
        let payload = json!({"x": x, "y": y, "time": time}).to_string();
        if shared
            .client
            .try_publish_with_properties(
                shared.topics.point(&codename),
                QoS::AtMostOnce,
                true,
                payload,
                PublishProperties {
                    message_expiry_interval: expiry,
                    ..PublishProperties::default()
                },
            )
            .is_err()
        {
            return; // the channel is full: the rest stays dirty for the next round
        }
        state.dirty.remove(&codename);
        state.points_published += 1;
    }
}

/// Sends the oldest outbox rows as one QoS 1 `batch` when none is in flight.
fn send_batch(shared: &Shared, outbox: &mut Outbox) -> Result<(), String> {
    let replay_upto = {
        let mut state = shared.lock();
        if state
            .connected_at
            .is_some_and(|at| state.connects > 1 && at.elapsed() < REPLAY_SETTLE)
        {
            return Ok(());
        }
        match state.in_flight {
            Some((_, since)) if since.elapsed() < RESEND_AFTER => return Ok(()),
            Some(_) => state.in_flight = None,
            None => {}
        }
        (state.replay_upto, state.resend_from)
    };
    let (replay_upto, resend_from) = replay_upto;
    let rows = match resend_from {
        Some(from) => outbox.from(from, MAX_BATCH_BYTES)?,
        None => outbox.oldest(MAX_BATCH_BYTES)?,
    };
    let Some(&(last, _)) = rows.last() else {
        return Ok(());
    };
    let first = rows[0].0;
    let mut points = String::from("[");
    for (i, (_, row)) in rows.iter().enumerate() {
        let inner = row
            .trim()
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or("");
        if inner.is_empty() {
            continue;
        }
        if i > 0 && points.len() > 1 {
            points.push(',');
        }
        points.push_str(inner);
    }
    points.push(']');
    let payload = format!(
        "{{\"seq\":{last},\"first\":{first},\"replay\":{},\"points\":{points}}}",
        first <= replay_upto || resend_from.is_some()
    );
    // In flight before it is handed to rumqttc: its PUBACK can reach the poll thread
    // before `try_publish` returns here, and a PUBACK finding nothing in flight is
    // dropped, which held the outbox back for RESEND_AFTER (10 s) each time.
    shared.lock().in_flight = Some((last, Instant::now()));
    let sent = shared
        .client
        .try_publish(shared.topics.batch(), QoS::AtLeastOnce, false, payload)
        .is_ok();
    let mut state = shared.lock();
    if sent {
        state.batches_sent += 1;
    } else if state.in_flight.is_some_and(|(seq, _)| seq == last) {
        state.in_flight = None;
    }
    Ok(())
}

/// A remote host whose last status is older than 3 × keepalive counts as offline.
fn mark_silent_hosts_stale(shared: &Shared) {
    let window = 3.0 * shared.config.keepalive_secs as f64;
    let now = unix_now();
    let silent: Vec<String> = {
        let mut state = shared.lock();
        let mut silent = Vec::new();
        for (host, remote) in state.remotes.iter_mut() {
            if !remote.stale && now - remote.last_status > window {
                remote.stale = true;
                silent.push(host.clone());
            }
        }
        silent
    };
    for host in silent {
        shared.log(
            Level::Warn,
            &format!("mqtt: no status from '{host}' for {window} s: its points are OLD_DATA"),
        );
        set_stale(shared, &host, true);
    }
}

/// On stop: the offline status (the will is only for a crash), then a clean disconnect.
fn say_offline(shared: &Shared) {
    let state = shared.lock();
    if state.connected && state.phase == Some(Phase::Federating) {
        drop(state);
        let _ = shared.client.try_publish(
            shared.topics.status(),
            QoS::AtMostOnce,
            true,
            shared.status_payload(false),
        );
    } else {
        drop(state);
    }
    let _ = shared.client.try_disconnect();
}
