//! Long connections and what is pushed to them: the heartbeat and `data_changed`.
//!
//! Every long connection (G1 `long_conn` or G2 `start_long_connection`) is registered here
//! with a bounded queue of frames that its own task writes. A broadcast renders its frame
//! once and offers it to every queue without waiting: a connection whose queue is full
//! (a peer that stopped reading) is dropped on the spot, so one slow reader never delays
//! the others or the publisher (the original wrote to every peer with a blocking
//! `sendall` from the GUI thread). A connection leaves the registry the moment its task
//! ends (EOF, a failed write, a drop), so a G2 client can reconnect with the same name
//! at once instead of being refused for two or three heartbeats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::framing;
use super::reply::HEARTBEAT;
use crate::events::Event;
use crate::host_core::Core;
use crate::pyjson::{self, Value};
use crate::shutdown::Shutdown;
use labsocket_plugin_api::topics;

/// Frames a long connection may have queued before it counts as dead.
pub const QUEUE_FRAMES: usize = 1024;

/// The registered long connections.
#[derive(Default)]
pub struct LongConnections {
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    /// G2 names in use.
    names: HashMap<String, u64>,
}

struct Entry {
    name: Option<String>,
    queue: mpsc::Sender<Bytes>,
    /// The connection's stop token, cancelled when its queue overflows.
    stop: CancellationToken,
}

/// A connection's membership; leaving is dropping it.
pub struct Membership {
    id: u64,
    /// Frames to write to this connection.
    pub queue: mpsc::Receiver<Bytes>,
    owner: Arc<LongConnections>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.owner.remove(self.id);
    }
}

impl LongConnections {
    /// Registers a long connection; a G2 `name` already connected is refused with G2's
    /// message. `stop` is cancelled if the connection is dropped for not reading.
    pub fn join(
        self: &Arc<Self>,
        name: Option<String>,
        stop: CancellationToken,
    ) -> Result<Membership, String> {
        let mut registry = self.lock();
        if let Some(name) = &name {
            if registry.names.contains_key(name) {
                return Err(format!("socket name '{name}' already connected"));
            }
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let (sender, receiver) = mpsc::channel(QUEUE_FRAMES);
        if let Some(name) = &name {
            registry.names.insert(name.clone(), id);
        }
        registry.entries.insert(
            id,
            Entry {
                name,
                queue: sender,
                stop,
            },
        );
        Ok(Membership {
            id,
            queue: receiver,
            owner: self.clone(),
        })
    }

    /// Long connections right now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offers `frame` to every long connection; drops those that cannot take it.
    pub fn broadcast(&self, frame: &Bytes) {
        let mut registry = self.lock();
        let mut full = Vec::new();
        for (id, entry) in &registry.entries {
            if entry.queue.try_send(frame.clone()).is_err() {
                full.push(*id);
            }
        }
        for id in full {
            if let Some(entry) = registry.remove(id) {
                tracing::warn!(
                    name = entry.name.as_deref().unwrap_or("-"),
                    "pyminer: dropping a long connection that stopped reading ({QUEUE_FRAMES} frames queued)"
                );
                entry.stop.cancel();
            }
        }
    }

    fn remove(&self, id: u64) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Registry {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        if let Some(name) = &entry.name {
            if self.names.get(name) == Some(&id) {
                self.names.remove(name);
            }
        }
        Some(entry)
    }
}

/// G1's data-changed broadcast for a `data_changed` event: `{"name": "broadcast",
/// "message": "data_changed", "data_name": N, "data_source": P}` in this key order.
pub fn data_changed_frame(event: &Event) -> Bytes {
    let field = |key: &str| event.payload.get(key).cloned().unwrap_or(Value::Null);
    let frame = Value::Dict(
        [
            ("name", Value::Str("broadcast".to_owned())),
            ("message", Value::Str("data_changed".to_owned())),
            ("data_name", field("data_name")),
            ("data_source", field("data_source")),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect(),
    );
    framing::encode(pyjson::to_python_json(&frame))
}

/// Runs the heartbeat timer and forwards `data_changed` events until shutdown.
pub fn spawn(
    core: Arc<Core>,
    connections: Arc<LongConnections>,
    heartbeat: Option<Duration>,
    shutdown: &Shutdown,
) {
    let token = shutdown.token.clone();
    let mut events = core.bus.subscribe();
    shutdown.spawn(async move {
        // Ticks count from server start, as the original's QTimer did.
        let mut timer = heartbeat.map(|period| {
            let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer
        });
        let heartbeat_frame = Bytes::from_static(HEARTBEAT);
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = async { timer.as_mut().expect("guarded").tick().await }, if timer.is_some() => {
                    connections.broadcast(&heartbeat_frame);
                }
                event = events.recv() => match event {
                    Ok(event) if event.topic == topics::DATA_CHANGED => {
                        connections.broadcast(&data_changed_frame(&event));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(lost)) => {
                        core.bus.count_lost(lost);
                        tracing::warn!("pyminer: {lost} events were published faster than they could be broadcast and are lost");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_while_connected_and_free_once_left() {
        let connections = Arc::new(LongConnections::default());
        let join = |name: Option<&str>| {
            connections.join(name.map(str::to_owned), CancellationToken::new())
        };
        let first = join(Some("A")).unwrap();
        assert_eq!(
            join(Some("A")).err().unwrap(),
            "socket name 'A' already connected"
        );
        let _anonymous = join(None).unwrap();
        let _other_anonymous = join(None).unwrap();
        assert_eq!(connections.len(), 3);
        drop(first);
        assert_eq!(connections.len(), 2);
        assert!(join(Some("A")).is_ok());
    }

    #[test]
    fn a_full_queue_drops_only_that_connection() {
        let connections = Arc::new(LongConnections::default());
        let (slow_stop, fast_stop) = (CancellationToken::new(), CancellationToken::new());
        let _slow = connections
            .join(Some("slow".into()), slow_stop.clone())
            .unwrap();
        let mut fast = connections
            .join(Some("fast".into()), fast_stop.clone())
            .unwrap();
        let frame = Bytes::from_static(b"xPMEND");
        for _ in 0..QUEUE_FRAMES {
            connections.broadcast(&frame);
            assert_eq!(fast.queue.try_recv().unwrap(), frame);
        }
        assert!(!slow_stop.is_cancelled());
        connections.broadcast(&frame);
        assert!(slow_stop.is_cancelled());
        assert!(!fast_stop.is_cancelled());
        assert_eq!(connections.len(), 1);
        assert!(connections
            .join(Some("slow".into()), CancellationToken::new())
            .is_ok());
    }

    #[test]
    fn data_changed_frame_is_g1_exact() {
        let payload =
            crate::pyjson::parse(r#"{"data_source": "tester", "data_name": "x"}"#).unwrap();
        let frame = data_changed_frame(&Event::new("data_changed", payload));
        assert_eq!(
            &frame[..],
            &b"{\"name\": \"broadcast\", \"message\": \"data_changed\", \"data_name\": \"x\", \"data_source\": \"tester\"}PMEND"[..]
        );
    }
}
