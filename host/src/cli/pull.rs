//! `labsocket get` and `labsocket push`: PyExpLabSys-style UDP pull and push sockets.
//!
//! These speak the legacy UDP protocol, so they work against labsocket's sockets and
//! against original PyExpLabSys ones alike. Each request waits for its reply with a
//! timeout, and a late reply to an earlier request is drained before the next one is sent,
//! so `--watch` never shows a stale answer.

use std::io::Write;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::terminal::{self, styles, Cell, Painter};
use super::{init_logging, EXIT_FAILURE, EXIT_USAGE};
use crate::pyjson::{self, Value};

const OLD_DATA: &str = "OLD_DATA";
/// PyExpLabSys' spelling, three M's included: it is what the sockets send.
const UNKNOWN_COMMAND: &str = "UNKNOWN_COMMMAND";
/// Largest UDP payload on IPv4; a reply is read whole.
const MAX_DATAGRAM: usize = 65_507;

#[derive(clap::Args)]
#[command(
    group(clap::ArgGroup::new("what").required(true).args(["codename", "all"])),
    after_help = "Examples:\n  labsocket get temperature            # prints: x y\n  labsocket get --all                  # every codename, with its age\n  labsocket get --all --watch 1        # a live table, refreshed every second\n\nExit status 1 when a value is OLD_DATA (older than its timeout), the codename is\nunknown, or the socket does not answer."
)]
pub struct GetArgs {
    /// The codename to read (sends `CODENAME#json`).
    pub codename: Option<String>,
    /// Every codename of the socket, as a table (sends `json_wn`).
    #[arg(long)]
    pub all: bool,
    /// Refresh every INTERVAL seconds until interrupted (in place on a terminal).
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub watch: Option<f64>,
    /// Print the socket's JSON reply as it came.
    #[arg(long)]
    pub json: bool,
    /// Pull socket host.
    #[arg(long, default_value = "127.0.0.1", alias = "udp-host")]
    pub host: String,
    /// Pull socket port.
    #[arg(long, default_value_t = 9000, alias = "udp-port")]
    pub port: u16,
    /// Seconds to wait for each reply.
    #[arg(long, default_value_t = 2.0, value_parser = parse_interval)]
    pub timeout: f64,
}

#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  labsocket push '{\"setpoint\": 20.5, \"valve\": true}'\n\nPrints the socket's reply (ACK#... or RET#...). Exit status 1 when the socket\nrefuses the data (ERROR#...) or its callback fails (EXCEP#...)."
)]
pub struct PushArgs {
    /// The values to push, as a JSON object (sent as `json_wn#<json>`).
    pub data: String,
    /// Push socket host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Push socket port.
    #[arg(long, default_value_t = 8500)]
    pub port: u16,
    /// Seconds to wait for the reply.
    #[arg(long, default_value_t = 2.0, value_parser = parse_interval)]
    pub timeout: f64,
}

fn parse_interval(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if (0.01..=86_400.0).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "'{text}' is not a number of seconds between 0.01 and 86400"
        )),
    }
}

/// A UDP socket connected to one pull or push socket.
struct Peer {
    socket: UdpSocket,
    name: String,
    timeout: Duration,
}

impl Peer {
    async fn open(host: &str, port: u16, timeout: f64) -> Result<Peer, String> {
        let name = format!("{host}:{port}");
        let socket = UdpSocket::bind(("0.0.0.0", 0))
            .await
            .map_err(|err| format!("cannot open a UDP socket: {err}"))?;
        // Connected: replies from anyone else are ignored by the kernel.
        socket
            .connect((host, port))
            .await
            .map_err(|err| format!("cannot reach {name}: {err}"))?;
        Ok(Peer {
            socket,
            name,
            timeout: Duration::from_secs_f64(timeout),
        })
    }

    async fn request(&self, text: &str) -> Result<String, String> {
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        while self.socket.try_recv(&mut buffer).is_ok() {} // late replies to older requests
        self.socket
            .send(text.as_bytes())
            .await
            .map_err(|err| format!("cannot send to {}: {err}", self.name))?;
        match tokio::time::timeout(self.timeout, self.socket.recv(&mut buffer)).await {
            Ok(Ok(n)) => Ok(String::from_utf8_lossy(&buffer[..n]).into_owned()),
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                Err(format!("nothing listens on UDP {}", self.name))
            }
            Ok(Err(err)) => Err(format!("receive from {} failed: {err}", self.name)),
            Err(_) => Err(format!(
                "no reply from {} within {} s",
                self.name,
                self.timeout.as_secs_f64()
            )),
        }
    }
}

/// One reading, ready to show: what goes to stdout, what to stderr, and whether it failed.
struct Outcome {
    stdout: String,
    problem: Option<String>,
}

pub async fn get(args: GetArgs) -> u8 {
    init_logging("warn");
    let peer = match Peer::open(&args.host, args.port, args.timeout).await {
        Ok(peer) => peer,
        Err(err) => {
            eprintln!("labsocket: {err}");
            return EXIT_FAILURE;
        }
    };
    let painter = Painter::stdout();
    let Some(interval) = args.watch else {
        let outcome = read(&peer, &args, &painter).await;
        print!("{}", outcome.stdout);
        return match outcome.problem {
            None => 0,
            Some(problem) => {
                eprintln!("labsocket: {problem}");
                EXIT_FAILURE
            }
        };
    };
    watch(&peer, &args, &painter, Duration::from_secs_f64(interval)).await
}

/// Reads and shows every `interval` until interrupted (or stdout closes).
async fn watch(peer: &Peer, args: &GetArgs, painter: &Painter, interval: Duration) -> u8 {
    let mut out = std::io::stdout();
    let mut shown_lines = 0;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let outcome = read(peer, args, painter).await;
        let mut screen = String::new();
        if painter.is_terminal() {
            if shown_lines > 0 {
                // Back to the top of the previous table and clear below: redraw in place.
                screen.push_str(&format!("\x1b[{shown_lines}A\x1b[J"));
            }
            screen.push_str(&painter.paint(
                styles::TIME,
                format!(
                    "{} every {} s, {}  (Ctrl-C stops)\n",
                    peer.name,
                    interval.as_secs_f64(),
                    terminal::utc_timestamp(labsocket_plugin_api::unix_now())
                ),
            ));
            screen.push_str(&outcome.stdout);
            if let Some(problem) = &outcome.problem {
                screen.push_str(&painter.paint(styles::BAD, problem));
                screen.push('\n');
            }
            shown_lines = screen.matches('\n').count();
        } else {
            if args.all {
                screen.push_str(&format!(
                    "# {}\n",
                    terminal::utc_timestamp(labsocket_plugin_api::unix_now())
                ));
            }
            screen.push_str(&outcome.stdout);
            if let Some(problem) = &outcome.problem {
                eprintln!("labsocket: {problem}");
            }
        }
        if out
            .write_all(screen.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            return 0; // stdout closed (e.g. piped into `head`): a normal end.
        }
    }
}

async fn read(peer: &Peer, args: &GetArgs, painter: &Painter) -> Outcome {
    match &args.codename {
        Some(codename) => read_one(peer, codename, args.json).await,
        None => read_all(peer, args.json, painter).await,
    }
}

fn failed(problem: String) -> Outcome {
    Outcome {
        stdout: String::new(),
        problem: Some(problem),
    }
}

async fn read_one(peer: &Peer, codename: &str, json: bool) -> Outcome {
    let reply = match peer.request(&format!("{codename}#json")).await {
        Ok(reply) => reply,
        Err(err) => return failed(err),
    };
    if reply == UNKNOWN_COMMAND {
        return failed(format!(
            "the pull socket at {} has no codename '{codename}'",
            peer.name
        ));
    }
    let value = match pyjson::parse(&reply) {
        Ok(value) => value,
        Err(_) => return failed(format!("unexpected reply from {}: {reply}", peer.name)),
    };
    if value.as_str() == Some(OLD_DATA) {
        return failed(format!(
            "'{codename}' is OLD_DATA: its value is older than the socket's timeout"
        ));
    }
    let (x, y) = match &value {
        Value::List(point) if point.len() >= 2 => (&point[0], &point[1]),
        _ => return failed(format!("unexpected reply from {}: {reply}", peer.name)),
    };
    let stdout = if json {
        format!("{reply}\n")
    } else {
        format!("{} {}\n", pyjson::to_python_json(x), shown(y))
    };
    Outcome {
        stdout,
        problem: None,
    }
}

async fn read_all(peer: &Peer, json: bool, painter: &Painter) -> Outcome {
    let reply = match peer.request("json_wn").await {
        Ok(reply) => reply,
        Err(err) => return failed(err),
    };
    let Ok(Value::Dict(values)) = pyjson::parse(&reply) else {
        return failed(format!("unexpected reply from {}: {reply}", peer.name));
    };
    let old: Vec<&str> = values
        .iter()
        .filter(|(_, value)| value.as_str() == Some(OLD_DATA))
        .map(|(codename, _)| codename.as_str())
        .collect();
    let problem = (!old.is_empty()).then(|| format!("OLD_DATA: {}", old.join(", ")));
    if json {
        return Outcome {
            stdout: format!("{reply}\n"),
            problem,
        };
    }
    let now = labsocket_plugin_api::unix_now();
    let rows: Vec<Vec<Cell>> = values
        .iter()
        .map(|(codename, value)| {
            let codename = Cell::new(codename.clone(), styles::KEY);
            match value {
                Value::List(point) if point.len() >= 2 => vec![
                    codename,
                    Cell::plain(shown(&point[1])),
                    Cell::plain(pyjson::to_python_json(&point[0])),
                    Cell::plain(age(&point[0], now)),
                ],
                Value::Str(text) if text == OLD_DATA => vec![
                    codename,
                    Cell::new(OLD_DATA, styles::BAD),
                    Cell::plain("-"),
                    Cell::plain("-"),
                ],
                other => vec![
                    codename,
                    Cell::plain(pyjson::to_python_json(other)),
                    Cell::plain("-"),
                    Cell::plain("-"),
                ],
            }
        })
        .collect();
    Outcome {
        stdout: terminal::table(painter, &["codename", "value", "x", "age"], &rows),
        problem,
    }
}

/// A value for people: strings bare, everything else as Python's JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::Str(text) => text.clone(),
        other => pyjson::to_python_json(other),
    }
}

/// How old a point is, when its x is a Unix time (date sockets; data sockets may use any
/// x, and then no age is shown).
fn age(x: &Value, now: f64) -> String {
    match x.as_f64() {
        Some(x) if (1e9..=now + 60.0).contains(&x) => terminal::duration((now - x).max(0.0)),
        _ => "-".to_owned(),
    }
}

pub async fn push(args: PushArgs) -> u8 {
    init_logging("warn");
    let data = match pyjson::parse(&args.data) {
        Ok(data @ Value::Dict(_)) => data,
        Ok(_) => {
            eprintln!("labsocket: push data must be a JSON object, e.g. '{{\"setpoint\": 20.5}}'");
            return EXIT_USAGE;
        }
        Err(err) => {
            eprintln!("labsocket: push data is not valid JSON: {err}");
            return EXIT_USAGE;
        }
    };
    // Python's json.dumps form: ASCII only, as PyExpLabSys sockets require.
    let body = pyjson::to_python_json(&data);
    if body.contains('#') {
        eprintln!("labsocket: push data cannot contain '#': the protocol has no escape for it");
        return EXIT_USAGE;
    }
    let reply = match Peer::open(&args.host, args.port, args.timeout).await {
        Ok(peer) => peer.request(&format!("json_wn#{body}")).await,
        Err(err) => Err(err),
    };
    let reply = match reply {
        Ok(reply) => reply,
        Err(err) => {
            eprintln!("labsocket: {err}");
            return EXIT_FAILURE;
        }
    };
    match reply.split_once('#') {
        Some(("ACK" | "RET", _)) => {
            println!("{reply}");
            0
        }
        Some(("ERROR", message)) => {
            eprintln!("labsocket: the push socket refused the data: {message}");
            EXIT_FAILURE
        }
        Some(("EXCEP", message)) => {
            eprintln!("labsocket: the push socket's callback failed: {message}");
            EXIT_FAILURE
        }
        _ => {
            eprintln!("labsocket: unexpected reply from the push socket: {reply}");
            EXIT_FAILURE
        }
    }
}
