//! The PyExpLabSys front ends: UDP pull, push and live sockets that existing PyExpLabSys
//! clients talk to byte for byte (SPEC §4, `reference/pyexplabsys-sockets.md`).
//!
//! - [`config`]: the `[[pull_socket]]`, `[[push_socket]]`, `[[live_socket]]` tables.
//! - [`pull`]: pull command dispatch and rendering; [`push`]: push parsing, replies,
//!   actions; [`raw_format`]: `callback_direct`'s raw return format;
//!   [`python_literals`]: Python `int()`/`float()` for `raw_wn`.
//! - [`status`]: the `status` reply; [`live`]: the live socket (UDP sender).
//!
//! This module binds the sockets, serves each on its own loop (requests on one port are
//! handled in order, as by Python's `UDPServer`; ports run in parallel), and keeps the
//! process-wide [`Directory`] that `status`, `push_state`/`push_take` and `live_reset`
//! read. A pull socket's loop is a blocking thread: its answers never wait, and a thread
//! blocked in `recv_from` is woken by the kernel directly, which measured faster for a
//! single client than an async task woken through the reactor (`bench-udp`). It takes
//! and answers datagrams in batches ([`datagram_batch`]: one `recvmmsg` and one
//! `sendmmsg` for every request already queued, on Linux). Push
//! sockets are async tasks, because `callback_direct` awaits a command. Requests up to `[limits] max_datagram` bytes are read whole (Python cut them at
//! 8192). Replies are ASCII: like the original, a reply that would not be is not sent
//! (and is logged).

pub mod config;
pub mod datagram_batch;
pub mod live;
pub mod pull;
pub mod push;
pub mod python_literals;
pub mod raw_format;
pub mod status;

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::access::{self, SharedAllowList};
use crate::call;
use crate::failure_log::FailureLog;
use crate::host_core::{views, Command, Core, Extensions, Traffic};
use crate::pyjson::Value;
use crate::shutdown::Shutdown;

use self::config::{LiveSocketConfig, PullKind, PullSocketConfig, PushSocketConfig};
use self::pull::PullSocket;
use self::push::PushSocket;

/// The pull sockets' (and, after `ERROR#`, the push sockets') unknown-command reply.
/// Three M's: the typo is on the wire and clients compare it.
pub const UNKNOWN_COMMAND: &str = "UNKNOWN_COMMMAND";
/// Served in place of a point older than its timeout.
pub const OLD_DATA: &str = "OLD_DATA";
/// The largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: usize = 65_507;

/// How a socket's activity is judged in `status`.
#[derive(Clone, Copy)]
pub struct Activity {
    pub check: bool,
    pub timeout: f64,
}

/// What a registered socket is.
#[derive(Clone)]
enum Role {
    Pull(Arc<PullSocket>),
    Push(Arc<PushSocket>),
}

/// One UDP server of the process, for `status`.
#[derive(Clone)]
struct Registered {
    port: u16,
    started: f64,
    activity: Activity,
    role: Role,
}

/// Every PyExpLabSys socket of the process (Python's module-level `DATA`).
#[derive(Default)]
pub struct Directory {
    sockets: RwLock<Vec<Registered>>,
    lives: RwLock<Vec<Arc<live::LiveSocket>>>,
    status: status::StatusCache,
}

impl Directory {
    fn register(&self, socket: Registered) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(socket);
    }

    fn sockets(&self) -> Vec<Registered> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every pull socket with the port it is bound to, in start order.
    pub fn pull_sockets(&self) -> Vec<(u16, Arc<PullSocket>)> {
        self.sockets()
            .into_iter()
            .filter_map(|s| match s.role {
                Role::Pull(pull) => Some((s.port, pull)),
                Role::Push(_) => None,
            })
            .collect()
    }

    /// The push socket bound to `port`.
    pub fn push_socket(&self, port: u16) -> Option<Arc<PushSocket>> {
        self.sockets().into_iter().find_map(|s| match s.role {
            Role::Push(push) if s.port == port => Some(push),
            _ => None,
        })
    }

    fn add_live(&self, live: Arc<live::LiveSocket>) {
        self.lives
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(live);
    }

    /// The live sockets, in start order.
    pub fn lives(&self) -> Vec<Arc<live::LiveSocket>> {
        self.lives.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The PyExpLabSys pull sockets, each `{"name", "kind": "date"|"data", "port",
    /// "codenames": [...], "timeouts": {codename: seconds}}` (a codename without a timeout
    /// never goes `OLD_DATA`). The page marks a point `OLD_DATA` exactly as that socket would:
    /// a `date` socket by `now - x`, a `data` socket by `now - set_at`.
    pub fn pull_sockets_value(&self) -> Value {
        Value::List(
            self.pull_sockets()
                .into_iter()
                .map(|(port, socket)| {
                    let timeouts = socket
                        .timeouts()
                        .filter_map(|(codename, timeout)| {
                            Some((codename.to_owned(), Value::Float(timeout?)))
                        })
                        .collect();
                    call::object([
                        ("name", Value::Str(socket.name.clone())),
                        ("kind", Value::Str(socket.kind.as_str().to_owned())),
                        ("port", Value::Int(i64::from(port))),
                        (
                            "codenames",
                            Value::List(socket.codenames.iter().cloned().map(Value::Str).collect()),
                        ),
                        ("timeouts", Value::Dict(timeouts)),
                    ])
                })
                .collect(),
        )
    }

    /// `point_meta`: what the pull sockets say of each codename they list, `{codename:
    /// {"timeout": seconds or null, "kind": "date"|"data"}}`. A codename several sockets
    /// list gets the longest timeout (a point is fresh for someone as long as that) and
    /// that socket's kind; without any timeout, the first listing socket's kind.
    pub fn point_meta(&self) -> Value {
        let mut meta: Vec<(String, Option<f64>, PullKind)> = Vec::new();
        for (_, socket) in self.pull_sockets() {
            for (codename, timeout) in socket.timeouts() {
                match meta.iter_mut().find(|(name, _, _)| name == codename) {
                    Some(entry) => {
                        if timeout > entry.1 {
                            entry.1 = timeout;
                            entry.2 = socket.kind;
                        }
                    }
                    None => meta.push((codename.to_owned(), timeout, socket.kind)),
                }
            }
        }
        Value::Dict(
            meta.into_iter()
                .map(|(codename, timeout, kind)| {
                    let entry = call::object([
                        ("timeout", timeout.map_or(Value::Null, Value::Float)),
                        ("kind", Value::Str(kind.as_str().to_owned())),
                    ]);
                    (codename, entry)
                })
                .collect(),
        )
    }

    /// `socket_server_status`: `{port: {"name","type","status","since_last_activity"}}`.
    ///
    /// As in PyExpLabSys, requests never count as activity: a pull socket is active when
    /// one of its points was set within `activity_timeout` (or it started that recently);
    /// a push socket only by its start.
    pub fn socket_server_status(&self, now: f64) -> Value {
        let entries = self.sockets().into_iter().map(|socket| {
            let (name, kind, last) = match &socket.role {
                Role::Pull(pull) => (
                    pull.name.clone(),
                    pull.kind.as_str(),
                    socket.started.max(pull.last_set()),
                ),
                Role::Push(push) => (push.name.clone(), "push", socket.started),
            };
            let (state, since) = if !socket.activity.check {
                ("DISABLED", Value::Null)
            } else {
                let since = now - last;
                let state = if since < socket.activity.timeout {
                    "OK"
                } else {
                    "INACTIVE"
                };
                (state, Value::Float(since))
            };
            let entry = call::object([
                ("name", Value::Str(name)),
                ("type", Value::Str(kind.to_owned())),
                ("status", Value::Str(state.to_owned())),
                ("since_last_activity", since),
            ]);
            (socket.port.to_string(), entry)
        });
        Value::Dict(entries.collect())
    }
}

/// What the PyExpLabSys sockets need from the configuration.
pub struct Settings<'a> {
    /// `[server] bind`.
    pub bind: IpAddr,
    /// `[limits] max_datagram`.
    pub max_datagram: usize,
    pub pull_sockets: &'a [PullSocketConfig],
    pub push_sockets: &'a [PushSocketConfig],
    pub live_sockets: &'a [LiveSocketConfig],
}

/// A socket that could not be bound (or set up after binding).
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address} for the {front_end} front end ({name}): {source}")]
pub struct BindError {
    pub front_end: String,
    pub name: String,
    pub address: SocketAddr,
    pub source: std::io::Error,
}

/// Registers what these front ends own on the core to be built: `push_state`,
/// `push_take`, `live_reset`, `point_meta` and the `views::PULL_SOCKETS` view, all over `directory`
/// (which [`start`] then fills).
pub fn register(extensions: &mut Extensions, directory: &Arc<Directory>) {
    extensions.commands(push::commands(directory));
    extensions.commands(live::commands(directory));
    // Read by the federation plugin for `meta/<codename>` and the `pt` message expiry:
    // plugins see only commands, never this directory.
    let meta_directory = directory.clone();
    extensions.commands([Command::now(
        "point_meta",
        "What the pull sockets say of each codename they list: the longest timeout and its socket's kind",
        "[]",
        move |_, _| Ok(meta_directory.point_meta()),
    )
    .returns("{codename: {\"timeout\": seconds | null, \"kind\": \"date\" | \"data\"}}")
    .read_only()]);
    let directory = directory.clone();
    extensions.view(views::PULL_SOCKETS, move || directory.pull_sockets_value());
}

/// Binds and starts every configured PyExpLabSys socket, recording each in `directory`.
pub async fn start(
    core: &Arc<Core>,
    directory: &Arc<Directory>,
    settings: Settings<'_>,
    shutdown: &Shutdown,
) -> Result<(), BindError> {
    let bind = settings.bind;
    let max_datagram = settings.max_datagram;
    for (i, pull) in settings.pull_sockets.iter().enumerate() {
        let front_end = format!("pull.{i}");
        let address = SocketAddr::new(bind, pull.port());
        let socket = bind_udp(&front_end, &pull.name, address).await?;
        spawn_pull(
            core,
            directory,
            shutdown,
            &front_end,
            socket,
            pull,
            max_datagram,
        )?;
    }
    for (i, push_config) in settings.push_sockets.iter().enumerate() {
        let front_end = format!("push.{i}");
        let address = SocketAddr::new(bind, push_config.port);
        let socket = bind_udp(&front_end, &push_config.name, address).await?;
        let (push, callbacks) = PushSocket::new(push_config);
        let push = Arc::new(push);
        if let (Some(queue), Some(command)) = (callbacks, push_config.command.clone()) {
            shutdown.spawn(push::run_callbacks(
                core.clone(),
                push_config.name.clone(),
                command,
                queue,
                shutdown.token.clone(),
            ));
        }
        if let Some(command) = &push_config.command {
            if !core.has_command(command) {
                tracing::warn!(
                    socket = %push_config.name,
                    "push: command '{command}' is not registered (is its plugin loaded?); \
                     callbacks will fail"
                );
            }
        }
        let activity = Activity {
            check: push_config.check_activity,
            timeout: push_config.activity_timeout,
        };
        let socket = Arc::new(socket);
        let (port, traffic) = record(
            core,
            directory,
            &front_end,
            socket.local_addr(),
            activity,
            Role::Push(push.clone()),
        );
        let (core, directory, shutdown_for_task) =
            (core.clone(), directory.clone(), shutdown.clone());
        let allow = push_config.allow.clone().map(Arc::new);
        shutdown.spawn(async move {
            serve_push(
                core,
                directory,
                socket,
                push,
                Limits {
                    max_datagram,
                    traffic,
                    allow,
                },
                shutdown_for_task,
            )
            .await;
            tracing::debug!(port, "push socket stopped");
        });
    }
    for (i, live_config) in settings.live_sockets.iter().enumerate() {
        let front_end = format!("live.{i}");
        if live_config.internal_pull_socket {
            let address = SocketAddr::new(bind, live_config.internal_port);
            let socket = bind_udp(&front_end, &live_config.name, address).await?;
            let pull = PullSocketConfig {
                name: live_config.name.clone(),
                kind: PullKind::Data,
                port: Some(live_config.internal_port),
                codenames: live_config.codenames.clone(),
                timeouts: Default::default(),
                timeout: None,
                check_activity: true,
                activity_timeout: 900.0,
                allow: None,
            };
            spawn_pull(
                core,
                directory,
                shutdown,
                &front_end,
                socket,
                &pull,
                max_datagram,
            )?;
        }
        let live = live::LiveSocket::start(core, live_config, shutdown)
            .await
            .map_err(|source| BindError {
                front_end: front_end.clone(),
                name: live_config.name.clone(),
                address: SocketAddr::new(bind, 0),
                source,
            })?;
        directory.add_live(live);
    }
    Ok(())
}

async fn bind_udp(
    front_end: &str,
    name: &str,
    address: SocketAddr,
) -> Result<UdpSocket, BindError> {
    UdpSocket::bind(address).await.map_err(|source| BindError {
        front_end: front_end.to_owned(),
        name: name.to_owned(),
        address,
        source,
    })
}

/// Records a bound socket as a front end and in the directory; returns its port and its
/// request counters (every datagram is a request).
fn record(
    core: &Core,
    directory: &Directory,
    front_end: &str,
    address: std::io::Result<SocketAddr>,
    activity: Activity,
    role: Role,
) -> (u16, Arc<Traffic>) {
    let address = address.unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    core.add_front_end(front_end, address);
    directory.register(Registered {
        port: address.port(),
        started: labsocket_plugin_api::unix_now(),
        activity,
        role,
    });
    (address.port(), core.traffic(front_end))
}

/// Serves pull socket `config` on `socket`, on a blocking thread (see the module doc).
fn spawn_pull(
    core: &Arc<Core>,
    directory: &Arc<Directory>,
    shutdown: &Shutdown,
    front_end: &str,
    socket: UdpSocket,
    config: &PullSocketConfig,
    max_datagram: usize,
) -> Result<(), BindError> {
    let activity = Activity {
        check: config.check_activity,
        timeout: config.activity_timeout,
    };
    let pull = PullSocket::new(config, core.points.clone());
    let address = socket.local_addr();
    let fallback = SocketAddr::from(([0, 0, 0, 0], 0));
    let blocking = socket
        .into_std()
        .and_then(|socket| {
            socket.set_nonblocking(false)?;
            socket.set_read_timeout(Some(SHUTDOWN_POLL))?;
            Ok(socket)
        })
        .map_err(|source| BindError {
            front_end: front_end.to_owned(),
            name: pull.name.clone(),
            address: *address.as_ref().unwrap_or(&fallback),
            source,
        })?;
    let pull = Arc::new(pull);
    let (port, traffic) = record(
        core,
        directory,
        front_end,
        address,
        activity,
        Role::Pull(pull.clone()),
    );
    let (core, directory, tasks) = (core.clone(), directory.clone(), shutdown.clone());
    let allow = config.allow.clone().map(Arc::new);
    let runtime = tokio::runtime::Handle::current();
    shutdown.tracker.spawn_blocking(move || {
        serve_pull(
            core,
            directory,
            Arc::new(blocking),
            pull,
            Limits {
                max_datagram,
                traffic,
                allow,
            },
            tasks,
            runtime,
        );
        tracing::debug!(port, "pull socket stopped");
    });
    Ok(())
}

/// How often a pull socket's thread, blocked in `recv_from`, looks for shutdown.
const SHUTDOWN_POLL: Duration = Duration::from_millis(200);

/// What a socket's loop is given besides its socket: the request size limit, where it
/// counts its requests, and the peers it serves.
struct Limits {
    max_datagram: usize,
    traffic: Arc<Traffic>,
    allow: SharedAllowList,
}

/// Whether a datagram from `peer` is served; if not it is counted as denied (and logged
/// at a bounded rate), and dropped without a reply: an answer would tell a scanner the
/// port is open.
fn admitted(limits: &Limits, peer: SocketAddr, log: &mut FailureLog, socket: &str) -> bool {
    if access::allowed(limits.allow.as_deref(), peer.ip()) {
        return true;
    }
    limits.traffic.deny();
    let message = format!("{socket}: dropped a datagram from {peer}: not in allow");
    if let Some(line) = log.failed(std::time::Instant::now(), &message) {
        tracing::warn!("{line}");
    }
    false
}

fn serve_pull(
    core: Arc<Core>,
    directory: Arc<Directory>,
    socket: Arc<std::net::UdpSocket>,
    pull: Arc<PullSocket>,
    limits: Limits,
    shutdown: Shutdown,
    runtime: tokio::runtime::Handle,
) {
    let (max_datagram, traffic) = (limits.max_datagram, limits.traffic.clone());
    let mut denied_log = FailureLog::default();
    let mut batch = datagram_batch::Batch::new(max_datagram);
    let mut reply = String::new();
    // Oversized requests are logged at most once a minute: a flood must not fill the log.
    let mut oversized_log = crate::failure_log::FailureLog::default();
    while !shutdown.token.is_cancelled() {
        let count = match batch.receive(&socket) {
            Ok(count) => count,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                continue
            }
            // E.g. ECONNREFUSED from an ICMP error about an earlier reply: per datagram,
            // not fatal for the socket.
            Err(err) => {
                tracing::debug!("udp: receive failed: {err}");
                continue;
            }
        };
        let now = labsocket_plugin_api::unix_now();
        for i in 0..count {
            let (request, peer) = batch.datagram(i);
            if !admitted(&limits, peer, &mut denied_log, "pull") {
                continue;
            }
            traffic.request();
            if request.len() > max_datagram {
                traffic.error();
                let refusal = format!(
                    "pull: request from {peer} longer than {max_datagram} bytes ([limits] max_datagram)"
                );
                if let Some(line) = oversized_log.failed(std::time::Instant::now(), &refusal) {
                    tracing::warn!("{line}");
                }
                batch.queue_reply(UNKNOWN_COMMAND.as_bytes(), peer);
                continue;
            }
            match pull.answer(request, now, &mut reply) {
                pull::Answer::Reply => {
                    if reply == UNKNOWN_COMMAND {
                        traffic.error();
                    }
                    if sendable(&reply, peer) {
                        batch.queue_reply(reply.as_bytes(), peer);
                    }
                }
                pull::Answer::Status => {
                    let Some(permit) = runtime.block_on(status::permit(&directory)) else {
                        continue;
                    };
                    let (core, directory, socket) =
                        (core.clone(), directory.clone(), socket.clone());
                    let task = async move {
                        let reply = status::status_json(&core, &directory).await;
                        // A UDP send never waits for the peer: fine on an async worker.
                        send_blocking(&socket, &reply, peer);
                        drop(permit);
                    };
                    shutdown.tracker.spawn_on(task, &runtime);
                }
                pull::Answer::Nothing => {
                    traffic.error();
                    tracing::debug!(%peer, "pull: request is not ASCII; no reply (as PyExpLabSys)")
                }
            }
        }
        batch.send_replies(&socket);
    }
}

/// Receives one datagram; `None` at shutdown. Oversized requests come back longer than
/// `max_datagram` so the caller can refuse them.
async fn receive(
    socket: &UdpSocket,
    buffer: &mut [u8],
    shutdown: &Shutdown,
) -> Option<(usize, SocketAddr)> {
    loop {
        let received = tokio::select! {
            _ = shutdown.token.cancelled() => return None,
            received = socket.recv_from(buffer) => received,
        };
        match received {
            Ok(received) => return Some(received),
            // E.g. ECONNREFUSED from an ICMP error about an earlier reply: per datagram,
            // not fatal for the socket.
            Err(err) => tracing::debug!("udp: receive failed: {err}"),
        }
    }
}

async fn serve_push(
    core: Arc<Core>,
    directory: Arc<Directory>,
    socket: Arc<UdpSocket>,
    push: Arc<PushSocket>,
    limits: Limits,
    shutdown: Shutdown,
) {
    let (max_datagram, traffic) = (limits.max_datagram, limits.traffic.clone());
    let mut denied_log = FailureLog::default();
    let mut buffer = vec![0u8; max_datagram + 1];
    while let Some((length, peer)) = receive(&socket, &mut buffer, &shutdown).await {
        if !admitted(&limits, peer, &mut denied_log, "push") {
            continue;
        }
        traffic.request();
        if length > max_datagram {
            traffic.error();
            let reply = format!(
                "ERROR#The request is longer than {max_datagram} bytes ([limits] max_datagram); \
                 nothing was stored"
            );
            send(&socket, &reply, peer).await;
            continue;
        }
        match push.answer(&core, &buffer[..length]).await {
            push::Answer::Reply(reply) => {
                if reply.starts_with("ERROR#") || reply.starts_with("EXCEP#") {
                    traffic.error();
                }
                send(&socket, &reply, peer).await
            }
            push::Answer::Status => {
                let Some(permit) = status::permit(&directory).await else {
                    continue;
                };
                let (core, directory, socket) = (core.clone(), directory.clone(), socket.clone());
                shutdown.spawn(async move {
                    let reply = status::status_json(&core, &directory).await;
                    send(&socket, &reply, peer).await;
                    drop(permit);
                });
            }
            push::Answer::Nothing => {
                traffic.error();
                tracing::debug!(%peer, "push: request is not ASCII; no reply (as PyExpLabSys)")
            }
        }
    }
}

/// Whether `reply` can go as PyExpLabSys would send it: ASCII, one datagram.
fn sendable(reply: &str, peer: SocketAddr) -> bool {
    if !reply.is_ascii() {
        tracing::warn!(%peer, "udp: reply is not ASCII; nothing sent (as PyExpLabSys)");
        return false;
    }
    if reply.len() > MAX_UDP_PAYLOAD {
        tracing::warn!(%peer, "udp: reply of {} bytes is larger than a datagram; nothing sent", reply.len());
        return false;
    }
    true
}

/// Sends `reply` from an async socket if it is [`sendable`].
async fn send(socket: &UdpSocket, reply: &str, peer: SocketAddr) {
    if sendable(reply, peer) {
        if let Err(err) = socket.send_to(reply.as_bytes(), peer).await {
            tracing::debug!(%peer, "udp: send failed: {err}");
        }
    }
}

/// Sends `reply` from a blocking socket if it is [`sendable`].
fn send_blocking(socket: &std::net::UdpSocket, reply: &str, peer: SocketAddr) {
    if sendable(reply, peer) {
        if let Err(err) = socket.send_to(reply.as_bytes(), peer) {
            tracing::debug!(%peer, "udp: send failed: {err}");
        }
    }
}
