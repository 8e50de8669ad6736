//! What the federation benchmarks (`bench-federation`, `sim-federation`) share: labsocket
//! hosts federated through a broker, and a raw MQTT 5 client (rumqttc, the client the
//! `mqtt` plugin itself uses) for the peers measured in the same run.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Event, MqttOptions};

use crate::server::Server;
use crate::WAIT;

/// Starts a labsocket host `host` of lab `lab` federated through the broker at `url`,
/// with `extra` TOML appended. The release binary, unless this program is itself a debug
/// build (a quick check of a benchmark on small settings).
pub fn federated_host(url: &str, lab: &str, host: &str, extra: &str) -> Server {
    let config = format!(
        "[native]\nheartbeat_secs = 0\n\n[mqtt]\nurl = \"{url}\"\nlab = \"{lab}\"\nhost = \"{host}\"\nkeepalive_secs = 5\n{extra}"
    );
    if cfg!(debug_assertions) {
        Server::start(&config)
    } else {
        Server::start_release(&config)
    }
}

/// A message a [`RawClient`] received, stamped when its poll thread got it.
pub struct Received {
    pub at: Instant,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// A raw MQTT 5 client: rumqttc's blocking client with its connection polled by a thread
/// of its own (publishing from that thread would be rumqttc's known deadlock); every
/// message it receives goes to [`RawClient::messages`].
pub struct RawClient {
    pub client: Client,
    pub messages: Receiver<Received>,
    acks: Receiver<Packet>,
}

impl RawClient {
    /// Connects with a clean session as `id` and waits for the ConnAck.
    pub fn connect(broker: SocketAddr, id: &str) -> RawClient {
        let mut options = MqttOptions::new(id, broker.ip().to_string(), broker.port());
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_start(true);
        options.set_max_packet_size(Some(16 * 1024 * 1024));
        let (client, mut connection) = Client::new(options, 4096);
        let (messages_tx, messages) = mpsc::channel();
        let (acks_tx, acks) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("mqtt-{id}"))
            .spawn(move || {
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::Publish(publish))) => {
                            let received = Received {
                                at: Instant::now(),
                                topic: String::from_utf8_lossy(&publish.topic).into_owned(),
                                payload: publish.payload.to_vec(),
                            };
                            if messages_tx.send(received).is_err() {
                                return;
                            }
                        }
                        Ok(Event::Incoming(packet @ (Packet::ConnAck(_) | Packet::SubAck(_)))) => {
                            let _ = acks_tx.send(packet);
                        }
                        Ok(_) => {}
                        // The bench is over (client dropped) or the broker went away.
                        Err(_) => return,
                    }
                }
            })
            .expect("a thread for the MQTT client");
        let raw = RawClient {
            client,
            messages,
            acks,
        };
        match raw.acks.recv_timeout(WAIT) {
            Ok(Packet::ConnAck(_)) => raw,
            other => panic!("no ConnAck from the broker for {id}: {other:?}"),
        }
    }

    /// Subscribes to `filter` at `qos` (No Local) and waits for the SubAck.
    pub fn subscribe(&self, filter: &str, qos: QoS) {
        let mut filter = Filter::new(filter, qos);
        filter.nolocal = true;
        self.client
            .subscribe_many(vec![filter])
            .expect("subscribe request");
        match self.acks.recv_timeout(WAIT) {
            Ok(Packet::SubAck(_)) => {}
            other => panic!("no SubAck from the broker: {other:?}"),
        }
    }
}

/// The CPU time process `pid` used between two readings, as a share of one core.
pub fn cpu_share(before: Duration, after: Duration, wall: Duration) -> f64 {
    (after.saturating_sub(before)).as_secs_f64() / wall.as_secs_f64()
}
