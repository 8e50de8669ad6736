//! `labsocket watch [TOPIC...]`: events from a running server as they arrive.
//!
//! A watch waits for a server that is not up yet, and outlives server restarts: when the
//! connection drops, or the server stays silent for 2.5 heartbeat periods (a hung server
//! keeps its socket open), it says so on stderr, reconnects with backoff and subscribes
//! again. `--no-reconnect` exits 1 instead.

use std::io::Write;
use std::time::Duration;

use super::terminal::{styles, utc_timestamp, Painter};
use super::{init_logging, ServerAddress};
use crate::native::client::{Client, ClientError, Notification};
use crate::pyjson::{self, Value};

/// Silence, in heartbeat periods, after which the server is taken for dead.
const DEAD_AFTER_PERIODS: f64 = 2.5;
/// First and largest pause between reconnection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  labsocket watch                      # every topic\n  labsocket watch data_changed points\n  labsocket watch --json | jq .        # one JSON object per line"
)]
pub struct WatchArgs {
    /// Topics to watch (default: every topic).
    pub topics: Vec<String>,
    /// One JSON object per line (with "topic" and "received") instead of the readable form.
    #[arg(long)]
    pub json: bool,
    /// Also print heartbeats.
    #[arg(long)]
    pub heartbeats: bool,
    /// Exit (status 1) when the connection is lost instead of reconnecting.
    #[arg(long)]
    pub no_reconnect: bool,
    #[command(flatten)]
    pub server: ServerAddress,
}

/// Why one connection's watch ended.
enum End {
    /// Standard output was closed (e.g. piped into `head`): a normal end.
    StdoutClosed,
    Lost(ClientError),
}

pub async fn run(args: WatchArgs) -> u8 {
    init_logging("warn");
    let topics = if args.topics.is_empty() {
        vec!["*".to_owned()]
    } else {
        args.topics.clone()
    };
    let painter = Painter::stdout();
    let mut client = match subscribed(&args.server, &topics).await {
        Ok(client) => client,
        // Not up yet (started by the same script, or restarting): wait for it.
        Err(err @ ClientError::Io(_)) if !args.no_reconnect => {
            eprintln!(
                "labsocket: {}; waiting for it (Ctrl-C to stop)",
                args.server.explain(&err)
            );
            match reconnect(&args.server, &topics).await {
                Ok(client) => {
                    eprintln!("labsocket: connected to {}", args.server.describe());
                    client
                }
                Err(err) => return args.server.report(&err),
            }
        }
        Err(err) => return args.server.report(&err),
    };
    loop {
        let reason = match watch_connection(&mut client, &args, &painter).await {
            End::StdoutClosed => return 0,
            End::Lost(reason) => reason,
        };
        if args.no_reconnect {
            return args.server.report(&reason);
        }
        eprintln!("labsocket: connection lost ({reason}); reconnecting");
        client = match reconnect(&args.server, &topics).await {
            Ok(client) => client,
            Err(err) => return args.server.report(&err),
        };
        eprintln!("labsocket: reconnected to {}", args.server.describe());
    }
}

async fn subscribed(server: &ServerAddress, topics: &[String]) -> Result<Client, ClientError> {
    let mut client = server.connect().await?;
    let params = crate::call::object([(
        "topics",
        Value::List(topics.iter().cloned().map(Value::Str).collect()),
    )]);
    client.call("subscribe", params).await?;
    Ok(client)
}

/// Tries until it succeeds, with exponential backoff and jitter, while the server cannot
/// be reached; an answer that refuses the watch (a wrong token) ends it.
async fn reconnect(server: &ServerAddress, topics: &[String]) -> Result<Client, ClientError> {
    let mut delay = BACKOFF.0;
    loop {
        // Jitter from the clock's nanoseconds: enough to spread many watchers apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = 0.5 + f64::from(nanos % 1000) / 2000.0;
        tokio::time::sleep(delay.mul_f64(jitter)).await;
        match subscribed(server, topics).await {
            Ok(client) => return Ok(client),
            Err(err @ ClientError::Remote(_)) => return Err(err),
            Err(_) => {}
        }
        delay = (delay * 2).min(BACKOFF.1);
    }
}

/// Prints notifications until the connection fails or goes silent.
async fn watch_connection(client: &mut Client, args: &WatchArgs, painter: &Painter) -> End {
    let mut out = std::io::stdout();
    // The server's `ts` of the latest heartbeat: periods come from the server's clock, so
    // a watcher that fell behind and reads several heartbeats at once still measures right.
    let mut last_heartbeat: Option<f64> = None;
    let mut period: Option<Duration> = None;
    loop {
        // Without a heartbeat seen yet (the server may have them off), wait indefinitely.
        let next = client.next_notification();
        let notification = match period {
            Some(period) => {
                match tokio::time::timeout(period.mul_f64(DEAD_AFTER_PERIODS), next).await {
                    Ok(result) => result,
                    Err(_) => {
                        return End::Lost(ClientError::Protocol(format!(
                            "no heartbeat for {:.1} s",
                            period.as_secs_f64() * DEAD_AFTER_PERIODS
                        )))
                    }
                }
            }
            None => next.await,
        };
        let notification = match notification {
            Ok(notification) => notification,
            Err(err) => return End::Lost(err),
        };
        if notification.method == "heartbeat" {
            let ts = notification
                .params
                .get("ts")
                .and_then(Value::as_f64)
                .unwrap_or_else(labsocket_plugin_api::unix_now);
            if let Some(previous) = last_heartbeat.filter(|previous| ts > *previous) {
                period = Duration::try_from_secs_f64(ts - previous).ok();
            }
            last_heartbeat = Some(ts);
            if !args.heartbeats {
                continue;
            }
        }
        let line = if args.json {
            json_line(notification)
        } else {
            readable(painter, &notification)
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            return End::StdoutClosed;
        }
    }
}

/// The notification's params with `"received"` (Unix seconds) and, for heartbeats,
/// `"topic": "heartbeat"`, as one compact JSON line. A payload's own field of either name
/// is kept as it is.
fn json_line(notification: Notification) -> String {
    let mut params = notification.params;
    if let Value::Dict(fields) = &mut params {
        if !fields.contains_key("topic") {
            fields.insert("topic".to_owned(), Value::Str(notification.method));
        }
        fields
            .entry("received".to_owned())
            .or_insert(Value::Float(labsocket_plugin_api::unix_now()));
    }
    pyjson::to_compact_json(&params)
}

/// `2026-11-21T10:00:00.123Z data_changed data_name="x" data_source="server"`.
fn readable(painter: &Painter, notification: &Notification) -> String {
    let stamp = painter.paint(
        styles::TIME,
        utc_timestamp(labsocket_plugin_api::unix_now()),
    );
    let Value::Dict(fields) = &notification.params else {
        let topic = painter.paint(styles::TOPIC, &notification.method);
        return format!(
            "{stamp} {topic} {}",
            pyjson::to_compact_json(&notification.params)
        );
    };
    let topic = fields
        .get("topic")
        .and_then(Value::as_str)
        .unwrap_or(&notification.method);
    let style = if topic == "events_lost" {
        styles::BAD
    } else {
        styles::TOPIC
    };
    let mut line = format!("{stamp} {}", painter.paint(style, topic));
    for (key, value) in fields.iter().filter(|(key, _)| key.as_str() != "topic") {
        line.push(' ');
        line.push_str(&painter.paint(styles::KEY, key));
        line.push('=');
        line.push_str(&pyjson::to_compact_json(value));
    }
    line
}
