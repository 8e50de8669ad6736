//! The client subcommands: `call`, `watch` (native protocol) and `get` (UDP pull).

use std::io::Write;
use std::time::Duration;

use super::{init_logging, ServerAddress, EXIT_FAILURE, EXIT_USAGE};
use crate::native::client::{Client, ClientError};
use crate::pyjson::{self, Value};

#[derive(clap::Args)]
pub struct CallArgs {
    /// The command, e.g. `ping`, `commands`, `hello.greet`.
    pub method: String,
    /// Its params as JSON: an array or an object (default: none).
    pub params: Option<String>,
    #[command(flatten)]
    pub server: ServerAddress,
}

#[derive(clap::Args)]
pub struct WatchArgs {
    /// Topics to watch (default: every topic).
    pub topics: Vec<String>,
    /// One JSON object per line instead of the readable form.
    #[arg(long)]
    pub json: bool,
    /// Also print heartbeats.
    #[arg(long)]
    pub heartbeats: bool,
    #[command(flatten)]
    pub server: ServerAddress,
}

#[derive(clap::Args)]
pub struct GetArgs {
    /// The codename to read.
    pub codename: String,
    /// Pull socket host.
    #[arg(long, default_value = "127.0.0.1")]
    pub udp_host: String,
    /// Pull socket port.
    #[arg(long, default_value_t = 9000)]
    pub udp_port: u16,
    /// Seconds to wait for the reply.
    #[arg(long, default_value_t = 2.0)]
    pub timeout: f64,
}

fn report(err: &ClientError) -> u8 {
    eprintln!("labsocket: {err}");
    EXIT_FAILURE
}

pub async fn call(args: CallArgs) -> u8 {
    init_logging("warn");
    let params = match args.params.as_deref().map(pyjson::parse) {
        None => Value::Null,
        Some(Ok(params @ (Value::List(_) | Value::Dict(_)))) => params,
        Some(Ok(_)) => {
            eprintln!("labsocket: params must be a JSON array or object");
            return EXIT_USAGE;
        }
        Some(Err(err)) => {
            eprintln!("labsocket: params are not valid JSON: {err}");
            return EXIT_USAGE;
        }
    };
    let address = (args.server.host.as_str(), args.server.port);
    let mut client = match Client::connect(address).await {
        Ok(client) => client,
        Err(err) => return report(&err),
    };
    match client.call(&args.method, params).await {
        Ok(result) => {
            println!("{}", pyjson::to_python_json(&result));
            0
        }
        Err(err) => report(&err),
    }
}

pub async fn watch(args: WatchArgs) -> u8 {
    init_logging("warn");
    let address = (args.server.host.as_str(), args.server.port);
    let mut client = match Client::connect(address).await {
        Ok(client) => client,
        Err(err) => return report(&err),
    };
    let topics = if args.topics.is_empty() {
        vec!["*".to_owned()]
    } else {
        args.topics.clone()
    };
    let params = crate::dispatch::object([(
        "topics",
        Value::List(topics.into_iter().map(Value::Str).collect()),
    )]);
    if let Err(err) = client.call("subscribe", params).await {
        return report(&err);
    }
    let mut out = std::io::stdout();
    loop {
        let notification = match client.next_notification().await {
            Ok(notification) => notification,
            Err(err) => return report(&err),
        };
        if notification.method == "heartbeat" && !args.heartbeats {
            continue;
        }
        let line = if args.json {
            let mut params = notification.params;
            if let Value::Dict(fields) = &mut params {
                fields.insert("method".to_owned(), Value::Str(notification.method));
            }
            pyjson::to_compact_json(&params)
        } else {
            readable(&notification.method, &notification.params)
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            return 0; // stdout closed (e.g. piped into `head`): a normal end.
        }
    }
}

/// `2026-11-21T10:00:00.123Z data_changed data_name="x" data_source="server"`.
fn readable(method: &str, params: &Value) -> String {
    let stamp = utc_timestamp(labsocket_plugin_api::unix_now());
    let Value::Dict(fields) = params else {
        return format!("{stamp} {method} {}", pyjson::to_compact_json(params));
    };
    let topic = fields
        .get("topic")
        .and_then(Value::as_str)
        .unwrap_or(method);
    let rest: Vec<String> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "topic")
        .map(|(key, value)| format!("{key}={}", pyjson::to_compact_json(value)))
        .collect();
    format!("{stamp} {topic} {}", rest.join(" "))
}

/// ISO 8601 UTC with milliseconds, without pulling in a date crate for one format.
fn utc_timestamp(unix: f64) -> String {
    let millis = (unix * 1000.0) as i64;
    let (secs, ms) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    )
}

pub async fn get(args: GetArgs) -> u8 {
    init_logging("warn");
    let socket = match tokio::net::UdpSocket::bind(("0.0.0.0", 0)).await {
        Ok(socket) => socket,
        Err(err) => {
            eprintln!("labsocket: cannot open a UDP socket: {err}");
            return EXIT_FAILURE;
        }
    };
    let request = format!("{}#json", args.codename);
    let target = (args.udp_host.as_str(), args.udp_port);
    if let Err(err) = socket.send_to(request.as_bytes(), target).await {
        eprintln!(
            "labsocket: cannot send to {}:{}: {err}",
            args.udp_host, args.udp_port
        );
        return EXIT_FAILURE;
    }
    let mut buffer = vec![0u8; 65_536];
    let wait = Duration::from_secs_f64(args.timeout.max(0.001));
    let reply = match tokio::time::timeout(wait, socket.recv(&mut buffer)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buffer[..n]).into_owned(),
        Ok(Err(err)) => {
            eprintln!("labsocket: receive failed: {err}");
            return EXIT_FAILURE;
        }
        Err(_) => {
            eprintln!(
                "labsocket: no reply from {}:{} within {} s",
                args.udp_host, args.udp_port, args.timeout
            );
            return EXIT_FAILURE;
        }
    };
    match reply.as_str() {
        "UNKNOWN_COMMMAND" => {
            eprintln!("labsocket: the socket has no codename '{}'", args.codename);
            EXIT_FAILURE
        }
        "\"OLD_DATA\"" => {
            eprintln!("labsocket: '{}' is OLD_DATA (too old)", args.codename);
            EXIT_FAILURE
        }
        _ => {
            println!("{reply}");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::utc_timestamp;

    #[test]
    fn timestamps_are_iso_utc() {
        assert_eq!(utc_timestamp(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_timestamp(1_795_238_169.258), "2026-11-21T05:16:09.258Z");
        assert_eq!(utc_timestamp(951_782_400.5), "2000-02-29T00:00:00.500Z");
    }
}
