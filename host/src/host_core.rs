//! [`Core`]: the state every front end shares (registry, bus, points, connection slots,
//! front-end list) and the commands and `status` sections registered on it.
//!
//! The core knows no front end. A front end that owns commands (`push_state`) or parts
//! of `status` (`live_server`) declares them in an [`Extensions`] before the core is
//! built; the core only routes to them and shows them. The table is fixed once the core
//! exists, so a call looks it up without a lock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;

use crate::call::CallError;
use crate::events::EventBus;
use crate::plugins::Registry;
use crate::points::PointTable;
use crate::pyjson::Value;

/// Names of the views front ends register ([`Extensions::view`]) for other front ends to
/// read through [`Core::view`], so that neither names the other.
pub mod views {
    /// The PyExpLabSys pull sockets: `[{"name", "kind", "port", "codenames", "timeouts"}]`.
    pub const PULL_SOCKETS: &str = "pull_sockets";
    /// What the live server received, per host: `{host: {codename: {"x","y","received_at"}}}`.
    pub const LIVE_HOSTS: &str = "live_hosts";
    /// The live server's counters (also its `status` section).
    pub const LIVE_SERVER: &str = "live_server";
    /// The timed-point sources' health (also their `status` section).
    pub const SOURCES: &str = "sources";
}

/// A handler that completes on the caller's thread.
pub type NowFn = dyn Fn(&Core, &Value) -> Result<Value, CallError> + Send + Sync;
/// A handler that must be awaited; the future owns what it needs.
pub type LaterFn =
    dyn Fn(&Core, Value) -> BoxFuture<'static, Result<Value, CallError>> + Send + Sync;

/// How a host command is answered.
#[derive(Clone)]
pub enum Handler {
    /// At once, without a future (most core commands).
    Now(Arc<NowFn>),
    /// By awaiting a future (`live_reset` sends datagrams).
    Later(Arc<LaterFn>),
    /// Only by a connection that keeps per-connection state (`subscribe`): listed, but
    /// a plain call gets an error saying so.
    Connection,
}

/// A command the host owns (core or front end), declared once: name, one-line
/// description, params, handler.
#[derive(Clone)]
pub struct Command {
    pub name: &'static str,
    pub description: &'static str,
    /// The params it takes, as `commands` shows them (`[codename, y]`).
    pub params: &'static str,
    /// What it answers, as `commands` shows it; empty when not given (listed as `null`).
    pub result: &'static str,
    /// It changes nothing (a token with the `read` role may call it).
    pub read_only: bool,
    pub handler: Handler,
}

impl Command {
    /// A command answered at once.
    pub fn now(
        name: &'static str,
        description: &'static str,
        params: &'static str,
        handler: impl Fn(&Core, &Value) -> Result<Value, CallError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            description,
            params,
            result: "",
            read_only: false,
            handler: Handler::Now(Arc::new(handler)),
        }
    }

    /// A command answered by awaiting a future.
    pub fn later(
        name: &'static str,
        description: &'static str,
        params: &'static str,
        handler: impl Fn(&Core, Value) -> BoxFuture<'static, Result<Value, CallError>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        Self {
            name,
            description,
            params,
            result: "",
            read_only: false,
            handler: Handler::Later(Arc::new(handler)),
        }
    }

    /// A command only a connection with its own state answers.
    pub fn connection(name: &'static str, description: &'static str, params: &'static str) -> Self {
        Self {
            name,
            description,
            params,
            result: "",
            // Subscriptions change what a connection receives, not the host's data.
            read_only: true,
            handler: Handler::Connection,
        }
    }

    /// Sets the result signature `commands` and the command reference show.
    pub fn returns(mut self, result: &'static str) -> Self {
        self.result = result;
        self
    }

    /// Marks the command as changing nothing.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// A named part of `status` (or a view only a front end reads), computed on demand.
type SectionFn = dyn Fn() -> Value + Send + Sync;

struct Section {
    name: &'static str,
    in_status: bool,
    value: Arc<SectionFn>,
}

/// What is registered on a core before it is built: the core commands first, then each
/// front end's commands and sections.
#[derive(Default)]
pub struct Extensions {
    commands: Vec<Command>,
    sections: Vec<Section>,
}

impl Extensions {
    /// Registers host commands; the first registration of a name wins (boot registers the
    /// core commands first, so no front end can replace one).
    pub fn commands(&mut self, commands: impl IntoIterator<Item = Command>) {
        for command in commands {
            if self.commands.iter().any(|c| c.name == command.name) {
                tracing::error!(
                    "host command '{}' registered twice; the first is kept",
                    command.name
                );
                continue;
            }
            self.commands.push(command);
        }
    }

    /// Adds a section to `status`, under `name`, after those already added.
    pub fn status_section(
        &mut self,
        name: &'static str,
        value: impl Fn() -> Value + Send + Sync + 'static,
    ) {
        self.sections.push(Section {
            name,
            in_status: true,
            value: Arc::new(value),
        });
    }

    /// Adds a named view that is not part of `status` (read by [`Core::view`]).
    pub fn view(&mut self, name: &'static str, value: impl Fn() -> Value + Send + Sync + 'static) {
        self.sections.push(Section {
            name,
            in_status: false,
            value: Arc::new(value),
        });
    }

    /// The registered command names, which plugins may not claim.
    pub fn command_names(&self) -> Vec<&'static str> {
        self.commands.iter().map(|c| c.name).collect()
    }
}

/// The host core; front ends hold an `Arc<Core>`.
pub struct Core {
    pub registry: Registry,
    pub bus: EventBus,
    pub points: PointTable,
    pub started: Instant,
    front_ends: RwLock<Vec<FrontEnd>>,
    /// One slot per open TCP connection, across every TCP front end (`max_connections`).
    pub connection_slots: Arc<Semaphore>,
    pub max_connections: usize,
    commands: Vec<Command>,
    by_name: HashMap<&'static str, usize>,
    sections: Vec<Section>,
}

/// A listening front end, for `status`.
#[derive(Clone)]
pub struct FrontEnd {
    pub name: String,
    pub address: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    /// Seconds between the heartbeats it sends (0: off), for front ends that have them.
    pub heartbeat_secs: Option<f64>,
    /// What it counted, for `/metrics`.
    pub traffic: Arc<Traffic>,
}

/// A front end's request and error counters. The front end counts (it is where the
/// traffic is); the core keeps them so that `/metrics` reads them without knowing it.
#[derive(Default)]
pub struct Traffic {
    requests: AtomicU64,
    errors: AtomicU64,
    denied: AtomicU64,
}

impl Traffic {
    /// Counts one request (a line, a frame, a datagram, an HTTP request).
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request answered with an error (or refused).
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one connection or datagram dropped by the front end's allow-list (not a
    /// request: nothing of it was read or served).
    pub fn deny(&self) {
        self.denied.fetch_add(1, Ordering::Relaxed);
    }

    pub fn denied(&self) -> u64 {
        self.denied.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

impl FrontEnd {
    /// Open connections right now.
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Core {
    pub fn new(
        registry: Registry,
        bus: EventBus,
        points: PointTable,
        max_connections: usize,
        extensions: Extensions,
    ) -> Self {
        let by_name = extensions
            .commands
            .iter()
            .enumerate()
            .map(|(index, command)| (command.name, index))
            .collect();
        Self {
            registry,
            bus,
            points,
            started: Instant::now(),
            front_ends: RwLock::default(),
            connection_slots: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            commands: extensions.commands,
            by_name,
            sections: extensions.sections,
        }
    }

    /// The host command called `name`.
    pub fn command(&self, name: &str) -> Option<&Command> {
        self.by_name.get(name).map(|&index| &self.commands[index])
    }

    /// Every host command, in registration order.
    pub fn commands(&self) -> &[Command] {
        &self.commands
    }

    /// Whether `name` is a host or plugin command.
    pub fn has_command(&self, name: &str) -> bool {
        self.by_name.contains_key(name) || self.registry.contains(name)
    }

    /// The registered `status` sections, `(name, value now)`, in registration order.
    pub fn status_sections(&self) -> Vec<(&'static str, Value)> {
        self.sections
            .iter()
            .filter(|section| section.in_status)
            .map(|section| (section.name, (section.value)()))
            .collect()
    }

    /// The section or view registered as `name`, computed now.
    pub fn view(&self, name: &str) -> Option<Value> {
        self.sections
            .iter()
            .find(|section| section.name == name)
            .map(|section| (section.value)())
    }

    /// Records a front end that is now listening; returns its connection counter.
    pub fn add_front_end(&self, name: &str, address: SocketAddr) -> Arc<AtomicUsize> {
        let connections = Arc::new(AtomicUsize::new(0));
        self.front_ends
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(FrontEnd {
                name: name.to_owned(),
                address,
                connections: connections.clone(),
                heartbeat_secs: None,
                traffic: Arc::default(),
            });
        connections
    }

    /// The request counters of front end `name`, which must have been added
    /// ([`Core::add_front_end`]); otherwise counters nobody reads (and a warning).
    pub fn traffic(&self, name: &str) -> Arc<Traffic> {
        let front_ends = self.front_ends.read().unwrap_or_else(|e| e.into_inner());
        match front_ends.iter().find(|front_end| front_end.name == name) {
            Some(front_end) => front_end.traffic.clone(),
            None => {
                tracing::warn!("front end '{name}' counts traffic before it was added");
                Arc::default()
            }
        }
    }

    /// Records that front end `name` sends heartbeats every `secs` seconds (0: off), for
    /// `status`: clients learn the period before the first heartbeat arrives.
    pub fn set_heartbeat_secs(&self, name: &str, secs: f64) {
        let mut front_ends = self.front_ends.write().unwrap_or_else(|e| e.into_inner());
        for front_end in front_ends.iter_mut().filter(|f| f.name == name) {
            front_end.heartbeat_secs = Some(secs);
        }
    }

    /// The listening front ends, in start order.
    pub fn front_ends(&self) -> Vec<FrontEnd> {
        self.front_ends
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
