//! Live sockets (PyExpLabSys `LiveSocket`, v2): send changes of some codenames to a live
//! server as `{"host": <hostname>, "data": {codename: [x, y]}}` UDP datagrams.
//!
//! PyExpLabSys sent a datagram from inside `set_point`/`set_batch`. Here points are set
//! anywhere (native `set_point`, plugins, sources, push `set_points`), so a live socket
//! follows the bus's `points` events instead: every event that touches its codenames
//! becomes one datagram, and events already waiting when one is sent are merged into it
//! (a batch set together always travels together). If the bus overruns a slow live
//! socket, it resynchronises by sending the current value of all its codenames.
//!
//! The internal pull socket PyExpLabSys ran beside it (a `data` socket, port 8000) is
//! started by [`super::start`]. `live_reset` sends `"RESET"` values; unlike PyExpLabSys it
//! leaves the stored points alone (Python stored `tuple('RESET')`, served as
//! `["R", "E", "S", "E", "T"]`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::future::FutureExt;
use indexmap::IndexMap;
use tokio::net::UdpSocket;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use super::config::LiveSocketConfig;
use super::{Directory, MAX_UDP_PAYLOAD};
use crate::call::{self, arg, CallError};
use crate::events::Event;
use crate::host_core::{Command, Core};
use crate::pyjson::{self, Value};
use crate::shutdown::Shutdown;
use labsocket_plugin_api::topics;

/// One live socket.
pub struct LiveSocket {
    pub name: String,
    codenames: Vec<String>,
    listed: HashSet<String>,
    host: String,
    target: SocketAddr,
    socket: UdpSocket,
}

impl LiveSocket {
    /// Resolves the live server (once, like PyExpLabSys), binds a sending socket and
    /// starts following the bus.
    pub async fn start(
        core: &Arc<Core>,
        config: &LiveSocketConfig,
        shutdown: &Shutdown,
    ) -> std::io::Result<Arc<LiveSocket>> {
        let target = tokio::net::lookup_host(&config.live_server)
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("live_server '{}' has no address", config.live_server),
                )
            })?;
        let local: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let live = Arc::new(LiveSocket {
            name: config.name.clone(),
            codenames: config.codenames.clone(),
            listed: config.codenames.iter().cloned().collect(),
            host: sysinfo::System::host_name().unwrap_or_default(),
            target,
            socket: UdpSocket::bind(local).await?,
        });
        tracing::info!(socket = %live.name, "live socket sending to {target}");
        let events = core.bus.subscribe();
        shutdown.spawn(live.clone().follow(core.clone(), events, shutdown.clone()));
        Ok(live)
    }

    /// Whether `codename` is one of this socket's.
    pub fn lists(&self, codename: &str) -> bool {
        self.listed.contains(codename)
    }

    async fn follow(
        self: Arc<Self>,
        core: Arc<Core>,
        mut events: broadcast::Receiver<Arc<Event>>,
        shutdown: Shutdown,
    ) {
        loop {
            let mut batch = IndexMap::new();
            let first = tokio::select! {
                _ = shutdown.token.cancelled() => return,
                event = events.recv() => event,
            };
            match first {
                Ok(event) => self.collect(&event, &mut batch),
                Err(RecvError::Lagged(lost)) => self.resync(&core, lost, &mut batch),
                Err(RecvError::Closed) => return,
            }
            loop {
                match events.try_recv() {
                    Ok(event) => self.collect(&event, &mut batch),
                    Err(TryRecvError::Lagged(lost)) => self.resync(&core, lost, &mut batch),
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
            if !batch.is_empty() {
                self.send(batch).await;
            }
        }
    }

    fn collect(&self, event: &Event, batch: &mut IndexMap<String, Value>) {
        if event.topic != topics::POINTS {
            return;
        }
        if let Value::Dict(points) = &event.payload {
            for (codename, point) in points {
                if self.lists(codename) {
                    batch.insert(codename.clone(), point.clone());
                }
            }
        }
    }

    fn resync(&self, core: &Core, lost: u64, batch: &mut IndexMap<String, Value>) {
        core.bus.count_lost(lost);
        tracing::warn!(socket = %self.name, "live: fell {lost} events behind; resending current values");
        for codename in &self.codenames {
            if let Some(point) = core.points.get(codename) {
                let xy = Value::List(vec![point.x.clone(), point.y.clone()]);
                batch.insert(codename.clone(), xy);
            }
        }
    }

    /// Sends `data` as one datagram, or one per codename if it would not fit in one.
    async fn send(&self, data: IndexMap<String, Value>) {
        let datagram = self.datagram(data.clone());
        if datagram.len() <= MAX_UDP_PAYLOAD || data.len() == 1 {
            self.send_datagram(&datagram).await;
            return;
        }
        for (codename, value) in data {
            let datagram = self.datagram(IndexMap::from([(codename, value)]));
            self.send_datagram(&datagram).await;
        }
    }

    fn datagram(&self, data: IndexMap<String, Value>) -> String {
        pyjson::to_python_json(&call::object([
            ("host", Value::Str(self.host.clone())),
            ("data", Value::Dict(data)),
        ]))
    }

    async fn send_datagram(&self, datagram: &str) {
        if datagram.len() > MAX_UDP_PAYLOAD {
            tracing::warn!(socket = %self.name, "live: a point of {} bytes does not fit in a datagram; not sent", datagram.len());
            return;
        }
        if let Err(err) = self.socket.send_to(datagram.as_bytes(), self.target).await {
            tracing::debug!(socket = %self.name, "live: send to {} failed: {err}", self.target);
        }
    }

    /// Sends `{"codename": "RESET", ...}` for `codenames` (all of them this socket's).
    async fn reset(&self, codenames: &[&String]) {
        let data = codenames
            .iter()
            .map(|codename| ((*codename).clone(), Value::Str("RESET".to_owned())))
            .collect();
        self.send(data).await;
    }
}

/// The commands this module owns, answered over the live sockets in `directory`.
pub(crate) fn commands(directory: &Arc<Directory>) -> Vec<Command> {
    let directory = directory.clone();
    vec![Command::later(
        "live_reset",
        "Sends \"RESET\" for [codenames] from the live sockets that list them",
        "[codename, ...] | {\"codenames\": [...]}",
        move |_, params| live_reset(directory.clone(), params).boxed(),
    )]
}

/// The native `live_reset` command: `["c1", "c2"]` or `{"codenames": [...]}`. Every live
/// socket listing some of them sends one `RESET` datagram; the result is how many were
/// sent. A codename no live socket lists is refused before anything is sent.
async fn live_reset(directory: Arc<Directory>, params: Value) -> Result<Value, CallError> {
    let params = &params;
    let codenames = match params {
        Value::List(items) if matches!(items.first(), Some(Value::List(_))) => &items[0],
        Value::List(_) => params,
        _ => arg(params, 0, "codenames").unwrap_or(&Value::Null),
    };
    let Value::List(codenames) = codenames else {
        return Err(CallError::invalid_params(
            "params must be a list of codenames or {\"codenames\": [...]}",
        ));
    };
    let mut names = Vec::with_capacity(codenames.len());
    for codename in codenames {
        let Value::Str(codename) = codename else {
            return Err(CallError::invalid_params("every codename must be a string"));
        };
        names.push(codename);
    }
    let lives = directory.lives();
    if let Some(missing) = names
        .iter()
        .find(|name| !lives.iter().any(|live| live.lists(name)))
    {
        return Err(CallError::not_found(format!(
            "The codename: '{missing}' is not registered"
        )));
    }
    let mut sent = 0;
    for live in lives {
        let mine: Vec<&String> = names
            .iter()
            .copied()
            .filter(|name| live.lists(name))
            .collect();
        if !mine.is_empty() {
            live.reset(&mine).await;
            sent += 1;
        }
    }
    Ok(Value::Int(sent))
}
