//! Workspace variables across hosts (SPEC §9): `ws/<name>`, `ws-set/<name>`,
//! `ws-get/<name>` and `reply`.
//!
//! - Publishing: the `data_changed`/`data_deleted` subscription marks local variables
//!   dirty; the publisher thread exports each (`workspace.export`) and publishes it
//!   retained on `ws/<name>` as `{"rev", "encoding", "meta", "value"}` (`value` left out
//!   above `max_value_bytes`), or clears the retained message (empty payload) when the
//!   variable is gone. Every (re)connect marks every local variable dirty. Names with a
//!   `/` are other hosts' variables and are never published (no loops). The retained
//!   `ws/` of this host's own id is checked too, so what an earlier boot left there for
//!   a variable that is gone now is cleared.
//! - Taking in: another host's `ws/<name>` is mirrored into the workspace as
//!   `<host>/<name>` (`workspace.mirror`; why a mirror: see the workspace plugin's
//!   `commands::federation`). A message without `value` is fetched with a `ws-get`
//!   request first.
//! - Requests: `mqtt.ws_set` (called by the workspace for a write of `<host>/<name>`)
//!   publishes `ws-set/<name>` to the owner with the MQTT 5 response topic
//!   `labsocket/v1/<lab>/<self>/reply`, correlation data and a `deadline` (Unix seconds)
//!   in the payload, and waits for the answer. The owner's worker thread drops a request
//!   past its deadline, otherwise stores it (`workspace.store`, durable when it returns)
//!   and only then answers. The deadline is 80 % of the writer's timeout, so the owner's
//!   answer to a request stored just before it still reaches the writer in time (a
//!   store slower than the rest, 1 s by default, is the one case where a write the writer
//!   reports as timed out is applied).
//!
//! Requests and answers are QoS 0: the link's PUBACKs all belong to `batch` messages, and
//! a request lost with a connection is answered by the writer's timeout.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use labsocket_plugin_api::codes::NOT_FOUND;
use labsocket_plugin_api::topics::{DATA_CHANGED, DATA_DELETED};
use labsocket_plugin_api::{json, unix_now, CommandError, Event, Level, Value};
use rumqttc::v5::mqttbytes::v5::{Publish, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;

use crate::link::Shared;
use crate::topic::{Incoming, RequestKind};

/// The share of the writer's timeout the owner has to store a write.
const DEADLINE_SHARE: f64 = 0.8;
/// How many request timeouts the answer to a fetch is waited for.
const FETCH_KEPT: f64 = 12.0;

/// A request from another host, for the worker thread.
pub(crate) struct Job {
    kind: RequestKind,
    /// The variable's local name (this host's own).
    name: String,
    payload: Value,
    response_topic: String,
    correlation: Vec<u8>,
}

/// A request of ours waiting for its answer.
enum Pending {
    /// A caller of `mqtt.ws_set` waits on the other end.
    Waiter(mpsc::Sender<Value>),
    /// A fetch of a value left out of `ws/<name>`: mirrored as `name` when it comes.
    Fetch { name: String, since: Instant },
}

#[derive(Default)]
struct State {
    /// Local variables whose `ws/<name>` must be published (or cleared).
    dirty: BTreeSet<String>,
    /// Set when the subscription lost events: every variable is published again.
    lost: bool,
    /// Our requests waiting for an answer, by correlation data.
    pending: HashMap<Vec<u8>, Pending>,
    /// The rev of each remote variable mirrored (`<host>/<name>`).
    mirrored: HashMap<String, u64>,
    published: u64,
    received: u64,
    fetches_sent: u64,
    writes_sent: u64,
    sets_served: u64,
    gets_served: u64,
    requests_expired: u64,
}

/// Workspace sharing's part of the link.
#[derive(Default)]
pub(crate) struct Ws {
    state: Mutex<State>,
    /// To the worker thread that serves other hosts' requests.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Ws {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connects the worker thread's queue.
    pub(crate) fn set_jobs(&self, sender: mpsc::Sender<Job>) {
        *self.jobs.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender);
    }

    /// The counters `mqtt.status` shows.
    pub(crate) fn status(&self) -> Value {
        let state = self.lock();
        json!({
            "published": state.published,
            "received": state.received,
            "remote_variables": state.mirrored.len(),
            "fetches_sent": state.fetches_sent,
            "writes_sent": state.writes_sent,
            "sets_served": state.sets_served,
            "gets_served": state.gets_served,
            "requests_expired": state.requests_expired,
            "pending_requests": state.pending.len(),
        })
    }
}

/// The filters of workspace sharing: the `ws/+` of the hosts taken in, the answers to
/// this host's requests and, when it shares its workspace, the requests to it.
pub(crate) fn filters(shared: &Shared) -> Vec<String> {
    let mut filters: Vec<String> = shared
        .config
        .hosts
        .iter()
        .map(|host| shared.topics.variables_of(host))
        .collect();
    filters.push(shared.topics.reply());
    if shared.config.shares("workspace") {
        filters.push(shared.topics.variables_of(&shared.host));
        filters.push(shared.topics.requests_to_self(RequestKind::Set));
        filters.push(shared.topics.requests_to_self(RequestKind::Get));
    }
    filters
}

/// The `data_changed`/`data_deleted` subscription: marks local variables dirty.
pub(crate) fn on_data_event(shared: &Shared, event: Event) {
    if event.topic != DATA_CHANGED && event.topic != DATA_DELETED {
        return;
    }
    let mut state = shared.ws.lock();
    if event.lost > 0 {
        state.lost = true;
    }
    if let Some(name) = event.payload.get("data_name").and_then(Value::as_str) {
        // Other hosts' variables (`<host>/<name>`) are never published again.
        if !name.contains('/') {
            state.dirty.insert(name.to_owned());
        }
    }
    drop(state);
    shared.wake.notify_all();
}

/// A retained `ws/<name>` of this host: published again (or cleared, if the variable is
/// gone, e.g. deleted while this host was stopped).
pub(crate) fn recheck(shared: &Shared, name: &str) {
    if shared.config.shares("workspace") {
        shared.ws.lock().dirty.insert(name.to_owned());
        shared.wake.notify_all();
    }
}

/// Publishes the dirty variables (all of them after a (re)connect: `resync`); called by
/// the publisher thread while federating.
pub(crate) fn publish(shared: &Shared, resync: bool) {
    if !shared.config.shares("workspace") {
        return;
    }
    let lost = std::mem::take(&mut shared.ws.lock().lost);
    if resync || lost {
        match shared.ctx.call("workspace.list", &json!({})) {
            Ok(Value::Array(metas)) => {
                let mut state = shared.ws.lock();
                for meta in metas {
                    if let Some(name) = meta.get("name").and_then(Value::as_str) {
                        if !name.contains('/') {
                            state.dirty.insert(name.to_owned());
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(err) => shared.log(
                Level::Warn,
                &format!(
                    "mqtt: cannot list the workspace to publish it: {}",
                    err.message
                ),
            ),
        }
    }
    let dirty: Vec<String> = shared.ws.lock().dirty.iter().cloned().collect();
    for name in dirty {
        let params = json!({"name": name, "max_value_bytes": shared.config.max_value_bytes});
        let payload = match shared.ctx.call("workspace.export", &params) {
            Ok(payload) => payload.to_string().into_bytes(),
            // Deleted: the empty retained message clears `ws/<name>`.
            Err(err) if err.code == NOT_FOUND => Vec::new(),
            Err(err) => {
                shared.log(
                    Level::Warn,
                    &format!("mqtt: cannot export variable '{name}': {}", err.message),
                );
                shared.ws.lock().dirty.remove(&name);
                continue;
            }
        };
        if shared
            .client
            .try_publish(
                shared.topics.variable(&name),
                QoS::AtMostOnce,
                true,
                payload,
            )
            .is_err()
        {
            return; // rumqttc's channel is full: the rest stays dirty for the next round
        }
        let mut state = shared.ws.lock();
        state.dirty.remove(&name);
        state.published += 1;
    }
}

/// Another host's `ws/<name>`: mirrored as `<host>/<name>`, fetched first when the value
/// was left out.
pub(crate) fn on_variable(shared: &Shared, host: &str, name: &str, payload: &[u8]) {
    let local = format!("{host}/{name}");
    if payload.is_empty() {
        shared.ws.lock().mirrored.remove(&local);
        mirror(shared, json!({"name": local, "deleted": true}));
        return;
    }
    let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(payload) else {
        shared.log(
            Level::Warn,
            &format!("mqtt: ws/{name} of '{host}' is not a JSON object"),
        );
        return;
    };
    let Some(rev) = message.get("rev").and_then(Value::as_u64) else {
        return;
    };
    {
        let mut state = shared.ws.lock();
        state.received += 1;
        if state.mirrored.get(&local).is_some_and(|held| *held >= rev) {
            return; // held already
        }
        // A fetch of it still in time is answered with the latest value anyway.
        let timeout = Duration::from_secs_f64(shared.config.request_timeout_secs);
        let in_flight = state.pending.values().any(|pending| {
            matches!(pending, Pending::Fetch { name, since } if *name == local && since.elapsed() < timeout)
        });
        if in_flight && !message.contains_key("value") {
            return;
        }
    }
    if message.contains_key("value") {
        message.insert("name".to_owned(), Value::from(local.as_str()));
        if mirror(shared, Value::Object(message)) {
            shared.ws.lock().mirrored.insert(local, rev);
        }
    } else {
        fetch(shared, host, name, local);
    }
}

/// Asks `host` for the value of its variable `name` (`ws-get`).
fn fetch(shared: &Shared, host: &str, name: &str, local: String) {
    let correlation = new_correlation();
    let deadline = unix_now() + DEADLINE_SHARE * shared.config.request_timeout_secs;
    shared.ws.lock().pending.insert(
        correlation.clone(),
        Pending::Fetch {
            name: local.clone(),
            since: Instant::now(),
        },
    );
    let sent = send_request(
        shared,
        host,
        RequestKind::Get,
        name,
        correlation.clone(),
        json!({"deadline": deadline}),
    );
    let mut state = shared.ws.lock();
    if sent {
        state.fetches_sent += 1;
    } else {
        state.pending.remove(&correlation); // the next ws/<name> tries again
    }
}

fn new_correlation() -> Vec<u8> {
    format!("{:016x}", fastrand::u64(..)).into_bytes()
}

/// Publishes a request to `host` with this host's reply topic; whether it was queued.
fn send_request(
    shared: &Shared,
    host: &str,
    kind: RequestKind,
    name: &str,
    correlation: Vec<u8>,
    payload: Value,
) -> bool {
    let expiry = (shared.config.request_timeout_secs * DEADLINE_SHARE).ceil() as u32;
    let properties = PublishProperties {
        response_topic: Some(shared.topics.reply()),
        correlation_data: Some(correlation.into()),
        message_expiry_interval: Some(expiry.max(1)),
        ..PublishProperties::default()
    };
    shared
        .client
        .try_publish_with_properties(
            shared.topics.request(host, kind, name),
            QoS::AtMostOnce,
            false,
            payload.to_string(),
            properties,
        )
        .is_ok()
}

/// Hands a `ws/` payload (or a delete) to the workspace's mirror; whether it took it.
fn mirror(shared: &Shared, params: Value) -> bool {
    match shared.ctx.call("workspace.mirror", &params) {
        Ok(_) => true,
        Err(err) => {
            shared.log(
                Level::Warn,
                &format!("mqtt: cannot mirror {}: {}", params["name"], err.message),
            );
            false
        }
    }
}

/// The correlation data of `publish`, if any.
fn correlation_of(publish: &Publish) -> Option<Vec<u8>> {
    let data = publish.properties.as_ref()?.correlation_data.as_ref()?;
    Some(data.to_vec())
}

/// A request to this host: queued for the worker thread (a store may take a while; the
/// poll thread must keep polling).
pub(crate) fn on_request(shared: &Shared, publish: &Publish, kind: RequestKind, name: &str) {
    if !shared.config.shares("workspace") {
        return;
    }
    let Some(properties) = &publish.properties else {
        return;
    };
    // Answers go only to a labsocket host's reply topic of this lab, never to a topic a
    // request could choose freely.
    let Some(response_topic) = properties.response_topic.clone() else {
        return;
    };
    if !matches!(
        shared.topics.parse(&response_topic),
        Some(Incoming::Reply { .. })
    ) {
        return;
    }
    let Some(correlation) = correlation_of(publish) else {
        return;
    };
    // Requests are JSON objects; anything else is not a labsocket host's.
    let Ok(payload @ Value::Object(_)) = serde_json::from_slice::<Value>(&publish.payload) else {
        return;
    };
    let job = Job {
        kind,
        name: name.to_owned(),
        payload,
        response_topic,
        correlation,
    };
    if let Some(jobs) = shared
        .ws
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
    {
        let _ = jobs.send(job);
    }
}

/// An answer to one of our requests.
pub(crate) fn on_reply(shared: &Shared, publish: &Publish) {
    let Some(correlation) = correlation_of(publish) else {
        return;
    };
    let Some(pending) = shared.ws.lock().pending.remove(&correlation) else {
        return; // too late: its caller gave up
    };
    let answer: Value = serde_json::from_slice(&publish.payload)
        .unwrap_or_else(|err| json!({"ok": false, "error": format!("unreadable answer: {err}")}));
    match pending {
        Pending::Waiter(waiter) => {
            let _ = waiter.send(answer);
        }
        Pending::Fetch { name, .. } => {
            if answer["ok"] == true {
                let rev = answer["rev"].as_u64().unwrap_or(0);
                let mut params = answer;
                if let Some(object) = params.as_object_mut() {
                    object.remove("ok");
                }
                params["name"] = Value::from(name.as_str());
                if mirror(shared, params) {
                    let mut state = shared.ws.lock();
                    let held = state.mirrored.entry(name).or_insert(rev);
                    *held = rev.max(*held);
                }
            } else {
                shared.log(
                    Level::Warn,
                    &format!("mqtt: fetching {name} failed: {}", answer["error"]),
                );
            }
        }
    }
}

/// Forgets fetches that got no answer for [`FETCH_KEPT`] request timeouts. A fetch older
/// than one timeout no longer holds back a new one (the next `ws/<name>`, such as the
/// owner's republication when it reconnects, asks again), but its answer is still taken
/// meanwhile: a large value may take longer than a timeout to travel.
pub(crate) fn expire_fetches(shared: &Shared) {
    let kept = Duration::from_secs_f64(shared.config.request_timeout_secs * FETCH_KEPT);
    shared.ws.lock().pending.retain(|_, pending| match pending {
        Pending::Fetch { since, .. } => since.elapsed() <= kept,
        Pending::Waiter(_) => true,
    });
}

/// The worker thread: serves other hosts' requests in order, until the link stops.
pub(crate) fn serve_loop(shared: &Shared, jobs: mpsc::Receiver<Job>) {
    loop {
        match jobs.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => serve(shared, job),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

/// One request: dropped past its deadline; else stored (durable) or read, then answered.
fn serve(shared: &Shared, job: Job) {
    let deadline = job.payload.get("deadline").and_then(Value::as_f64);
    if deadline.is_none_or(|deadline| unix_now() > deadline) {
        shared.ws.lock().requests_expired += 1;
        shared.log(
            Level::Warn,
            &format!(
                "mqtt: dropped a request about '{}' that came past its deadline (the writer has given up)",
                job.name
            ),
        );
        return;
    }
    let outcome = match job.kind {
        RequestKind::Set => {
            let mut params = job.payload.clone();
            if let Some(object) = params.as_object_mut() {
                object.remove("deadline");
                // The wire carries `value` (base64 for binary encodings, as in ws/);
                // workspace.store takes binary values as `data`.
                if object.get("encoding").and_then(Value::as_str) != Some("json") {
                    if let Some(value) = object.remove("value") {
                        object.insert("data".to_owned(), value);
                    }
                }
            }
            params["name"] = Value::from(job.name.as_str());
            let outcome = shared.ctx.call("workspace.store", &params);
            shared.ws.lock().sets_served += 1;
            outcome
        }
        RequestKind::Get => {
            let outcome = shared
                .ctx
                .call("workspace.export", &json!({"name": job.name}));
            shared.ws.lock().gets_served += 1;
            outcome
        }
    };
    let answer = match outcome {
        Ok(Value::Object(mut result)) => {
            result.insert("ok".to_owned(), Value::Bool(true));
            Value::Object(result)
        }
        Ok(other) => json!({"ok": true, "result": other}),
        Err(err) => json!({"ok": false, "error": err.message}),
    };
    let properties = PublishProperties {
        correlation_data: Some(job.correlation.into()),
        ..PublishProperties::default()
    };
    if shared
        .client
        .try_publish_with_properties(
            job.response_topic,
            QoS::AtMostOnce,
            false,
            answer.to_string(),
            properties,
        )
        .is_err()
    {
        shared.log(
            Level::Warn,
            &format!("mqtt: could not answer the request about '{}'", job.name),
        );
    }
}

/// `mqtt.ws_set`: writes `<host>/<name>` on its host; returns the owner's `{"rev",
/// "meta"}` once it stored the value durably.
pub(crate) fn ws_set(shared: &Shared, params: Value) -> Result<Value, CommandError> {
    let Value::Object(mut params) = params else {
        return Err(CommandError::invalid_params(
            "mqtt.ws_set {\"name\": \"<host>/<name>\", \"encoding\", \"value\" | \"data\", \"provider\"?, \"type_hint\"?}",
        ));
    };
    let name = params
        .remove("name")
        .and_then(|name| name.as_str().map(str::to_owned))
        .ok_or_else(|| CommandError::invalid_params("'name' is required: \"<host>/<name>\""))?;
    let (host, var) = name
        .rsplit_once('/')
        .filter(|(host, var)| !host.is_empty() && !var.is_empty())
        .ok_or_else(|| CommandError::invalid_params(format!("'{name}' is not <host>/<name>")))?;
    shared
        .reachable(host)
        .map_err(|why| CommandError::new(format!("cannot write '{name}': {why}")))?;
    // One wire form for values, as in ws/: `value`, base64 for binary encodings.
    if let Some(data) = params.remove("data") {
        params.insert("value".to_owned(), data);
    }
    let timeout = shared.config.request_timeout_secs;
    params.insert(
        "deadline".to_owned(),
        Value::from(unix_now() + DEADLINE_SHARE * timeout),
    );
    let correlation = new_correlation();
    let (sender, answer) = mpsc::channel();
    shared
        .ws
        .lock()
        .pending
        .insert(correlation.clone(), Pending::Waiter(sender));
    if !send_request(
        shared,
        host,
        RequestKind::Set,
        var,
        correlation.clone(),
        Value::Object(params),
    ) {
        shared.ws.lock().pending.remove(&correlation);
        return Err(CommandError::new(format!(
            "cannot write '{name}': the link to the broker is busy; try again"
        )));
    }
    shared.ws.lock().writes_sent += 1;
    let outcome = answer.recv_timeout(Duration::from_secs_f64(timeout));
    shared.ws.lock().pending.remove(&correlation);
    match outcome {
        Ok(answer) if answer["ok"] == true => {
            Ok(json!({"rev": answer["rev"], "meta": answer["meta"]}))
        }
        Ok(answer) => Err(CommandError::new(format!(
            "host '{host}' refused the write of '{var}': {}",
            answer["error"].as_str().unwrap_or("no reason given")
        ))),
        Err(_) => Err(CommandError::new(format!(
            "host '{host}' did not answer the write of '{name}' within {timeout} s (offline or not sharing its workspace); it drops the request past its deadline, so the write is not applied later"
        ))),
    }
}
