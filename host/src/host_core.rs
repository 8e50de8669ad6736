//! [`Core`]: the state every front end shares (registry, bus, points, front-end list).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::events::EventBus;
use crate::live_server::LiveHosts;
use crate::plugins::Registry;
use crate::points::PointTable;
use crate::pyexplabsys;
use crate::sources::SourceList;

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
    /// The running timed-point sources, for `status`.
    pub sources: SourceList,
    /// The PyExpLabSys UDP sockets, for `status`, `push_state`/`push_take`, `live_reset`.
    pub udp: pyexplabsys::Directory,
    /// The last values the live server received, per host (empty unless it runs).
    pub live_hosts: LiveHosts,
}

/// A listening front end, for `status`.
#[derive(Clone)]
pub struct FrontEnd {
    pub name: String,
    pub address: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    /// Seconds between the heartbeats it sends (0: off), for front ends that have them.
    pub heartbeat_secs: Option<f64>,
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
    ) -> Self {
        Self {
            registry,
            bus,
            points,
            started: Instant::now(),
            front_ends: RwLock::default(),
            connection_slots: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            sources: SourceList::default(),
            udp: pyexplabsys::Directory::default(),
            live_hosts: LiveHosts::default(),
        }
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
            });
        connections
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
