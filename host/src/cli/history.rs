//! `labsocket history CODENAME...`: recorded points of a running server
//! (`history.query`, SPEC §8), as a readable table or as CSV.

use super::terminal::{self, styles, Cell, Painter};
use super::{init_logging, ServerAddress, EXIT_FAILURE, EXIT_USAGE};
use crate::native::client::ClientError;
use crate::pyjson::{self, Value};
use labsocket_plugin_api::codes;

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The codenames to read (at least one).
    #[arg(required = true)]
    pub codenames: Vec<String>,
    /// Start: Unix seconds, an ISO 8601 time (`2026-12-03T08:00`, local time unless it has
    /// an offset or `Z`), or relative to now (`-10m`, `-2h`, `-7d`, `-30s`).
    #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
    pub from: String,
    /// End, in the same forms (default: now).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// At most this many rows per codename (at least 4): each time bucket keeps its first,
    /// last, lowest and highest rows, so spikes survive.
    #[arg(long)]
    pub max_points: Option<u64>,
    /// Print `codename,time,x,y` CSV (RFC 4180) instead of a table.
    #[arg(long)]
    pub csv: bool,
    #[command(flatten)]
    pub server: ServerAddress,
}

pub async fn run(args: HistoryArgs) -> u8 {
    init_logging("warn");
    let now = labsocket_plugin_api::unix_now();
    let times = parse_time(&args.from, now).and_then(|from| {
        let to = args
            .to
            .as_deref()
            .map(|to| parse_time(to, now))
            .transpose()?;
        Ok((from, to))
    });
    let (from, to) = match times {
        Ok(times) => times,
        Err(problem) => {
            eprintln!("labsocket: {problem}");
            return EXIT_USAGE;
        }
    };
    let mut params = indexmap::IndexMap::new();
    params.insert(
        "codenames".to_owned(),
        Value::List(args.codenames.iter().cloned().map(Value::Str).collect()),
    );
    params.insert("from".to_owned(), Value::Float(from));
    if let Some(to) = to {
        params.insert("to".to_owned(), Value::Float(to));
    }
    if let Some(max_points) = args.max_points {
        params.insert("max_points".to_owned(), Value::Int(max_points as i64));
    }
    if args.csv {
        params.insert("format".to_owned(), Value::Str("csv".to_owned()));
    }
    let mut client = match args.server.connect().await {
        Ok(client) => client,
        Err(err) => return args.server.report(&err),
    };
    let result = match client.call("history.query", Value::Dict(params)).await {
        Ok(result) => result,
        Err(ClientError::Remote(error)) if error.code == codes::METHOD_NOT_FOUND => {
            eprintln!(
                "labsocket: the server at {} records no history (its history plugin is not loaded, or [history] enabled = false)",
                args.server.describe()
            );
            return EXIT_FAILURE;
        }
        Err(err) => return args.server.report(&err),
    };
    match (&result, args.csv) {
        (Value::Str(csv), true) => print!("{csv}"),
        (Value::Dict(columns), false) => print!("{}", table(&Painter::stdout(), columns)),
        _ => {
            eprintln!(
                "labsocket: history.query answered {}",
                pyjson::to_python_json(&result)
            );
            return EXIT_FAILURE;
        }
    }
    0
}

/// Unix seconds from the forms `--from`/`--to` take.
fn parse_time(text: &str, now: f64) -> Result<f64, String> {
    let text = text.trim();
    if let Some(relative) = text.strip_prefix('-') {
        let split = relative
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(relative.len());
        let (amount, unit) = relative.split_at(split);
        let scale = match unit {
            "s" => Some(1.0),
            "m" => Some(60.0),
            "h" => Some(3600.0),
            "d" => Some(86_400.0),
            "w" => Some(7.0 * 86_400.0),
            _ => None,
        };
        if let (Ok(amount), Some(scale)) = (amount.parse::<f64>(), scale) {
            return Ok(now - amount * scale);
        }
    }
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(seconds);
        }
    }
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Ok(timestamp.as_millisecond() as f64 / 1000.0);
    }
    if let Ok(civil) = text.parse::<jiff::civil::DateTime>() {
        if let Ok(timestamp) = jiff::tz::TimeZone::system().to_timestamp(civil) {
            return Ok(timestamp.as_millisecond() as f64 / 1000.0);
        }
    }
    Err(format!(
        "'{text}' is not a time: use Unix seconds, ISO 8601 (2026-12-03T08:00 or with Z/+01:00), or -10m/-2h/-7d"
    ))
}

/// One block per codename: its rows, or "no rows".
fn table(painter: &Painter, columns: &indexmap::IndexMap<String, Value>) -> String {
    let mut out = String::new();
    for (codename, rows) in columns {
        let column = |name: &str| match rows.get(name) {
            Some(Value::List(items)) => items.as_slice(),
            _ => &[],
        };
        let (times, xs, ys) = (column("time"), column("x"), column("y"));
        out.push_str(&painter.paint(styles::KEY, codename));
        if times.is_empty() {
            out.push_str(": no rows\n");
            continue;
        }
        out.push_str(&format!(": {} rows\n", times.len()));
        let cells: Vec<Vec<Cell>> = times
            .iter()
            .zip(xs)
            .zip(ys)
            .map(|((time, x), y)| {
                let time = time
                    .as_f64()
                    .map(terminal::utc_timestamp)
                    .unwrap_or_else(|| pyjson::to_python_json(time));
                vec![
                    Cell::new(time, styles::TIME),
                    Cell::plain(pyjson::to_python_json(x)),
                    Cell::plain(pyjson::to_python_json(y)),
                ]
            })
            .collect();
        out.push_str(&terminal::table(painter, &["time (UTC)", "x", "y"], &cells));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        let now = 1_800_000_000.0;
        assert_eq!(parse_time("-10m", now), Ok(now - 600.0));
        assert_eq!(parse_time("-2h", now), Ok(now - 7200.0));
        assert_eq!(parse_time("-7d", now), Ok(now - 7.0 * 86_400.0));
        assert_eq!(parse_time("-1.5s", now), Ok(now - 1.5));
        assert_eq!(parse_time("1795238169.25", now), Ok(1_795_238_169.25));
        assert_eq!(parse_time("2026-12-03T08:00:00Z", now), Ok(1_796_284_800.0));
        assert_eq!(
            parse_time("2026-12-03T09:00:00+01:00", now),
            Ok(1_796_284_800.0)
        );
        assert!(parse_time("2026-12-03T08:00", now).is_ok());
        for bad in ["yesterday", "-10x", "", "-", "NaN", "-inf"] {
            assert!(parse_time(bad, now).is_err(), "{bad:?} was accepted");
        }
    }
}
