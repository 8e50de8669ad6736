//! `GET /ws`: the WebSocket that keeps the live view current.
//!
//! On connect the server sends a snapshot (status, every point, the live-server hosts),
//! then every event of the chosen topics as it is published, and a heartbeat with the
//! status every `[http] heartbeat_secs`. The topics are those of the native protocol,
//! `?topics=a,b` (`*` for all), by default `points`, `data_changed`, `data_deleted`,
//! `settings_changed` and `live`.
//!
//! Two tasks per connection: this one reads the bus and the socket and fills the
//! connection's [`Outbox`] without ever waiting; a writer task drains the outbox into the
//! socket. The bus subscription is made before the snapshot is read, so no event falls
//! between the two. Message formats: [`super::outbox`] and docs/user-guide.md.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, StreamExt};
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::api::{browser_json, empty_object, points_value};
use super::outbox::Outbox;
use super::{origin, AppState};
use crate::call::object;
use crate::dispatch;
use crate::events::host_topics;
use crate::host_core::{views, Core};
use crate::pyjson::Value;
use labsocket_plugin_api::topics;

/// The topics a connection gets unless it asks for others.
pub const DEFAULT_TOPICS: [&str; 5] = [
    topics::POINTS,
    topics::DATA_CHANGED,
    topics::DATA_DELETED,
    topics::SETTINGS_CHANGED,
    host_topics::LIVE,
];

/// The largest message a browser may send (the page sends none; this bounds a client
/// that does).
const MAX_INCOMING_BYTES: usize = 64 * 1024;

/// How long a closing connection may take to say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
pub struct WsQuery {
    topics: Option<String>,
}

/// The handshake: checks the origin, then hands the socket to [`serve`].
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin::same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "cross-origin WebSocket refused: only pages served by this server may connect\n",
        )
            .into_response();
    }
    let topics = Topics::parse(query.topics.as_deref());
    let AppState {
        core,
        heartbeat,
        shutdown,
    } = state;
    let tracker = shutdown.tracker.clone();
    let token = shutdown.token.clone();
    upgrade
        .max_message_size(MAX_INCOMING_BYTES)
        .max_frame_size(MAX_INCOMING_BYTES)
        .on_upgrade(move |socket| {
            tracker.track_future(serve(core, socket, topics, heartbeat, token))
        })
}

/// Which topics a connection forwards.
enum Topics {
    All,
    Only(HashSet<String>),
}

impl Topics {
    fn parse(query: Option<&str>) -> Topics {
        let Some(query) = query else {
            return Topics::Only(DEFAULT_TOPICS.iter().map(|t| (*t).to_owned()).collect());
        };
        let topics: HashSet<String> = query
            .split(',')
            .map(str::trim)
            .filter(|topic| !topic.is_empty())
            .map(str::to_owned)
            .collect();
        if topics.contains("*") {
            Topics::All
        } else {
            Topics::Only(topics)
        }
    }

    fn wants(&self, topic: &str) -> bool {
        match self {
            Topics::All => true,
            Topics::Only(topics) => topics.contains(topic),
        }
    }
}

async fn serve(
    core: Arc<Core>,
    socket: WebSocket,
    topics: Topics,
    heartbeat: Duration,
    shutdown: CancellationToken,
) {
    let mut events = core.bus.subscribe();
    let outbox = Arc::new(Outbox::default());
    outbox.push_text(snapshot(&core, heartbeat).await);
    let (sink, mut incoming) = socket.split();
    let stop = shutdown.child_token();
    let writer = tokio::spawn(write(sink, outbox.clone(), stop.clone()));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            event = events.recv() => match event {
                Ok(event) => {
                    if topics.wants(&event.topic) {
                        outbox.push_event(event, labsocket_plugin_api::unix_now());
                    }
                }
                Err(RecvError::Lagged(lost)) => {
                    core.bus.count_lost(lost);
                    outbox.push_lost(lost);
                }
                Err(RecvError::Closed) => break,
            },
            message = incoming.next() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                // The page sends nothing; tungstenite answers pings itself.
                Some(Ok(_)) => {}
            },
            _ = ticks.tick() => outbox.push_heartbeat(heartbeat_message(&core).await),
        }
    }
    stop.cancel();
    let _ = writer.await;
}

/// Sends whatever the outbox holds, until the connection or the server stops.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    outbox: Arc<Outbox>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = outbox.ready() => {}
        }
        let messages = outbox.take().into_messages();
        let send_all = async {
            for text in messages {
                sink.feed(Message::Text(text.into())).await?;
            }
            sink.flush().await
        };
        let sent = tokio::select! {
            _ = stop.cancelled() => false,
            result = send_all => result.is_ok(),
        };
        if !sent {
            break;
        }
    }
    stop.cancel();
    let goodbye = Message::Close(Some(CloseFrame {
        code: 1001,
        reason: "closing".into(),
    }));
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(goodbye)).await;
}

/// `{"type":"snapshot","ts","heartbeat_secs","status","points","live"}`.
async fn snapshot(core: &Core, heartbeat: Duration) -> String {
    let body = object([
        ("type", Value::Str("snapshot".to_owned())),
        ("ts", Value::Float(labsocket_plugin_api::unix_now())),
        ("heartbeat_secs", Value::Float(heartbeat.as_secs_f64())),
        ("status", status(core).await),
        ("points", points_value(core, None)),
        (
            "live",
            core.view(views::LIVE_HOSTS).unwrap_or_else(empty_object),
        ),
    ]);
    browser_json(&body)
}

/// `{"type":"heartbeat","ts","status"}`.
async fn heartbeat_message(core: &Core) -> String {
    let body = object([
        ("type", Value::Str("heartbeat".to_owned())),
        ("ts", Value::Float(labsocket_plugin_api::unix_now())),
        ("status", status(core).await),
    ]);
    browser_json(&body)
}

async fn status(core: &Core) -> Value {
    dispatch::call(core, "status", Value::Null)
        .await
        .unwrap_or(Value::Null)
}
