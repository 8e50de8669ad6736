//! `labsocket status`: what a running server is doing, at a glance.

use super::terminal::{self, styles, Cell, Painter};
use super::{init_logging, ServerAddress};
use crate::pyjson::{self, Value};

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print the server's `status` reply as JSON instead.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerAddress,
}

pub async fn run(args: StatusArgs) -> u8 {
    init_logging("warn");
    let mut client = match args.server.connect().await {
        Ok(client) => client,
        Err(err) => return args.server.report(&err),
    };
    let status = match client.call("status", Value::Null).await {
        Ok(status) => status,
        Err(err) => return args.server.report(&err),
    };
    if args.json {
        println!("{}", pyjson::to_python_json(&status));
    } else {
        print!(
            "{}",
            summary(&Painter::stdout(), &args.server.describe(), &status)
        );
    }
    0
}

/// The readable form: a headline, the front ends as a table, then the counts.
fn summary(painter: &Painter, address: &str, status: &Value) -> String {
    let text = |key: &str| status.get(key).and_then(Value::as_str).unwrap_or("?");
    let number = |key: &str| {
        status
            .get(key)
            .map(pyjson::to_python_json)
            .unwrap_or_else(|| "?".to_owned())
    };
    let uptime = status
        .get("uptime_secs")
        .and_then(Value::as_f64)
        .map(terminal::duration)
        .unwrap_or_else(|| "?".to_owned());
    let mut out = format!(
        "{} {} at {address} (plugin API {}), up {uptime}\n",
        painter.paint(styles::TOPIC, "labsocket"),
        text("version"),
        text("api_version"),
    );
    if let Some(Value::List(front_ends)) = status.get("front_ends") {
        let rows: Vec<Vec<Cell>> = front_ends
            .iter()
            .map(|front_end| {
                let field = |key: &str| match front_end.get(key) {
                    Some(Value::Str(text)) => text.clone(),
                    Some(other) => pyjson::to_python_json(other),
                    None => "-".to_owned(),
                };
                let heartbeat = match front_end.get("heartbeat_secs").and_then(Value::as_f64) {
                    None => "-".to_owned(),
                    Some(secs) if secs <= 0.0 => "off".to_owned(),
                    Some(secs) => terminal::duration(secs),
                };
                vec![
                    Cell::new(field("name"), styles::KEY),
                    Cell::plain(field("address")),
                    Cell::plain(field("connections")),
                    Cell::plain(heartbeat),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&terminal::table(
            painter,
            &["front end", "address", "connections", "heartbeat"],
            &rows,
        ));
        out.push('\n');
    }
    out.push_str(&format!(
        "plugins {}  commands {}  points {}  max connections {}\n",
        number("plugins"),
        number("commands"),
        number("points"),
        number("max_connections"),
    ));
    out
}
