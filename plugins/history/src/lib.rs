//! `history`: records every point change and answers history queries (SPEC §8).
//!
//! A plugin on the public plugin API: it subscribes to the host's points (gathered in
//! batches, topic `points_batch`) and writes
//! rows `(codename, time, x, y)` to SQLite in `<data_dir>/plugins/history/history.sqlite3`
//! (or to PostgreSQL with `store = "postgres"`).
//!
//! Map of the crate:
//! - `config`: the `[history]` table (keys, defaults, checks).
//! - `glob`: codename glob patterns for `[[history.record]]`.
//! - `rules`: which sets become rows (deadbands, `max_interval_secs`).
//! - `store`: the row type and the stores: SQLite (`store::sqlite`, the default) and
//!   PostgreSQL (`store::pg`, with its on-disk outage spool `store::spool`), each with its
//!   schema, writer and reader.
//! - `m4`: M4 downsampling over a time-ordered scan.
//! - `recorder`: the bounded queue fed by the subscription and the writer thread
//!   (batched transactions, retention, flush on stop, counters).
//! - `query`: `history.query` (with M4 downsampling) and `history.codenames`.
//! - `csv`: [`to_csv`], the CSV form of a `history.query` reply, for the host's HTTP API
//!   (`/api/history?format=csv`) and CLI (`labsocket history --csv`).
//! - this file: [`History`], the plugin's state, and the `plugin!` glue: init opens the
//!   store and subscribes to `points_batch`, shutdown writes what is queued.
//!
//! Commands (native JSON-RPC; all but `history.flush` are read-only):
//! - `history.query {"codenames": [...], "from": t0, "to"?: t1, "max_points"?: n,
//!   "format"?: "json" | "csv"}` → `{"<codename>": {"time": [...], "x": [...], "y": [...]}}`
//!   (`query`), or with `"format": "csv"` that reply as CSV text ([`to_csv`]). Annotated
//!   `{"http": {"history": true}}`: the host's `/api/history` finds it by that.
//! - `history.codenames` → `[{"codename", "first", "last", "rows"}]`.
//! - `history.stats` → the recorder's counters ([`Stats`]) and, with PostgreSQL, a `store`
//!   object (state, spool rows and bytes, losses); annotated `{"metrics": true}` so the
//!   host's `/metrics` exports them.
//! - `history.flush` → commits everything queued now, then answers the counters.

mod config;
mod csv;
mod glob;
mod m4;
mod query;
mod recorder;
mod rules;
mod store;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use labsocket_plugin_api::{
    json, plugin, topics, unix_now, CommandError, Ctx, Level, NoParams, RawEvent, Value,
};
use serde::{Deserialize, Serialize};

pub use config::{Config, RecordEntry, StoreKind, DEFAULT_SPOOL_MAX_BYTES};
pub use csv::to_csv;
pub use query::QueryParams;
pub use recorder::{Feeder, Log, Stats};
pub use store::sqlite::FILE_NAME;

use recorder::{Options, Recorder};
use store::{pg, sqlite, ReaderSource, Readers, Writer};

/// How long `history.flush` waits for the writer.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Retention runs at start and this often.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// The plugin's state: the recorder and a reading connection, or nothing when
/// `enabled = false`.
pub struct History {
    active: Option<Active>,
    /// `history.flush`'s barrier through the host's event bus.
    barrier: Arc<Barrier>,
}

struct Active {
    recorder: Recorder,
    /// Read connections for the queries.
    readers: Readers,
    /// The SQLite file (none for PostgreSQL).
    path: Option<PathBuf>,
    /// The PostgreSQL store's state (none for SQLite).
    health: Option<pg::Health>,
    /// `[history] max_query_rows`.
    max_query_rows: usize,
}

/// The reply of `history.stats` and `history.flush`: the recorder's counters, and the
/// PostgreSQL store's state and spool as `store`.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReply {
    #[serde(flatten)]
    recorder: Stats,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<pg::StoreStats>,
}

impl History {
    /// Opens the store in `dir` (created by the host) and starts the writer; `log` receives
    /// the recorder's log lines. With `enabled = false` nothing is opened.
    pub fn open(config: &Config, dir: &Path, log: Log) -> Result<History, String> {
        config.validate()?;
        if !config.enabled {
            return Ok(History {
                active: None,
                barrier: Arc::default(),
            });
        }
        let (writer, source, path, health) = match config.store {
            StoreKind::Sqlite => {
                std::fs::create_dir_all(dir)
                    .map_err(|err| format!("history: cannot create {}: {err}", dir.display()))?;
                let path = dir.join(FILE_NAME);
                let writer = Writer::Sqlite(sqlite::Writer::open(&path)?);
                (writer, ReaderSource::Sqlite(path.clone()), Some(path), None)
            }
            StoreKind::Postgres => {
                // Never waits for PostgreSQL: the store connects in the background and
                // spools to disk meanwhile (`store::pg::link`).
                let url = config.url.as_deref().unwrap_or_default();
                let connector = pg::Connector::new(url, config.password_file.as_deref())?;
                let spool_max_bytes = config.spool_max_bytes.unwrap_or(DEFAULT_SPOOL_MAX_BYTES);
                let (writer, health) =
                    pg::Writer::open(connector.clone(), dir, spool_max_bytes, log.clone())?;
                let source = ReaderSource::Postgres(Box::new((connector, health.clone())));
                (
                    Writer::Postgres(Box::new(writer)),
                    source,
                    None,
                    Some(health),
                )
            }
        };
        let readers = Readers::new(source)?;
        let rules = rules::Rules::new(&config.record)?;
        let options = Options {
            flush_interval: Duration::from_secs_f64(config.flush_interval_secs),
            max_buffered_points: config.max_buffered_points,
            retention_secs: (config.retention_days > 0.0)
                .then_some(config.retention_days * 86_400.0),
            retention_every: RETENTION_EVERY,
        };
        let recorder = Recorder::start(writer, rules, options, log)?;
        Ok(History {
            barrier: Arc::default(),
            active: Some(Active {
                recorder,
                readers,
                path,
                health,
                max_query_rows: config.max_query_rows,
            }),
        })
    }

    fn active(&self) -> Result<&Active, CommandError> {
        self.active
            .as_ref()
            .ok_or_else(|| CommandError::new("history is off ([history] enabled = false)"))
    }

    /// The producer for the host's `points` subscription; `None` when history is off.
    pub fn feeder(&self) -> Option<Feeder> {
        self.active.as_ref().map(|a| a.recorder.feeder())
    }

    /// The SQLite file, when history is on and stores in SQLite.
    pub fn path(&self) -> Option<&Path> {
        self.active.as_ref().and_then(|a| a.path.as_deref())
    }

    /// `history.query` (see [`QueryParams`]; M4 when `max_points` is given).
    pub fn query(&self, params: &QueryParams) -> Result<Value, CommandError> {
        let active = self.active()?;
        let now = unix_now();
        active
            .readers
            .with(|reader| query::query(reader, params, now, active.max_query_rows))
            .map_err(CommandError::new)?
    }

    /// `history.codenames` → `[{"codename", "first", "last", "rows"}]`.
    pub fn codenames(&self) -> Result<Value, CommandError> {
        let active = self.active()?;
        active
            .readers
            .with(query::codenames)
            .map_err(CommandError::new)?
    }

    /// `history.stats`: the recorder's counters.
    pub fn stats(&self) -> Result<Stats, CommandError> {
        Ok(self.active()?.recorder.stats())
    }

    /// `history.stats` as the command answers: the counters and the store's state.
    pub fn stats_reply(&self) -> Result<StatsReply, CommandError> {
        let active = self.active()?;
        Ok(StatsReply {
            recorder: active.recorder.stats(),
            store: active.health.as_ref().map(pg::Health::stats),
        })
    }

    /// `history.flush`: commits everything queued now (to the store, or with PostgreSQL
    /// away to its on-disk spool), then returns the counters.
    pub fn flush(&self) -> Result<Stats, CommandError> {
        let recorder = &self.active()?.recorder;
        recorder.flush(FLUSH_TIMEOUT).map_err(CommandError::new)?;
        Ok(recorder.stats())
    }

    /// Writes what is queued and stops the writer (the host is shutting down).
    pub fn stop(&self) {
        if let Some(active) = &self.active {
            active.recorder.stop();
        }
    }
}

plugin! {
    name: "history",
    description: "Records every point change (SQLite or PostgreSQL); history.query (M4 downsampling), history.codenames",
    state: History,
    init: init,
    shutdown: shutdown,
    commands: {
        "history.query" => query_command [read_only]
            (params: "{\"codenames\": [str], \"from\": t0, \"to\"?: t1, \"max_points\"?: int, \"format\"?: \"json\"|\"csv\"}",
             result: "{codename: {\"time\": [...], \"x\": [...], \"y\": [...]}} or CSV text",
             annotations: "{\"http\": {\"history\": true}}"):
            "Recorded rows of codenames in a time range, optionally M4-downsampled to max_points",
        "history.codenames" => codenames_command [read_only]
            (params: "none",
             result: "[{\"codename\", \"first\", \"last\", \"rows\"}]"):
            "Every recorded codename with its first and last time and row count",
        "history.stats" => stats_command [read_only]
            (params: "none",
             result: "{\"rows_written\", \"points_dropped\", \"last_flush_lag_secs\", ..., \"store\"?: {\"state\", \"spool_rows\", ...}}",
             annotations: "{\"metrics\": true}"):
            "Counters of the history recorder (rows written, points dropped, flush lag) and the PostgreSQL store's state and spool",
        "history.flush" => flush_command
            (params: "none", result: "the history.stats counters"):
            "Writes every queued point to the store now",
    }
}

/// The topic `history.flush` emits as a barrier: the event bus delivers in publication
/// order, so once the subscription sees the barrier, every point set before the flush was
/// called has been handed to the recorder.
const BARRIER_TOPIC: &str = "history.barrier";

/// How long `history.flush` waits for its barrier before it writes what it has.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(2);

/// The last barrier the subscription saw, and a way to wait for the next one.
#[derive(Default)]
struct Barrier {
    seen: Mutex<u64>,
    changed: Condvar,
    next: AtomicU64,
}

impl Barrier {
    fn saw(&self, id: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        *seen = (*seen).max(id);
        self.changed.notify_all();
    }

    /// Emits a new barrier and waits until the subscription delivered it; `false` on timeout.
    fn pass(&self, ctx: &Ctx) -> bool {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if ctx.emit(BARRIER_TOPIC, &json!({ "id": id })).is_err() {
            return false;
        }
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (seen, _) = self
            .changed
            .wait_timeout_while(seen, BARRIER_TIMEOUT, |seen| *seen < id)
            .unwrap_or_else(|e| e.into_inner());
        *seen >= id
    }
}

/// Opens the store from the `[history]` table and subscribes the recorder to the points.
fn init(ctx: &Ctx, config: Value) -> Result<History, String> {
    let config = Config::from_json(config)?;
    let log_ctx = *ctx;
    let log: Log = Arc::new(move |level, line: &str| log_ctx.log(level, line));
    let history = History::open(&config, ctx.plugin_dir(), log)?;
    if let Some(mut feeder) = history.feeder() {
        let barrier = history.barrier.clone();
        // Runs on the host's delivery thread: only queues (see `recorder`). The host drops
        // the closure when it stops, which tells the writer to write what is queued.
        // Points come gathered (`points_batch`) and are read straight into rows: a burst
        // costs one call and one parse per batch.
        ctx.subscribe_raw(
            &[topics::POINTS_BATCH, BARRIER_TOPIC],
            move |event: RawEvent| {
                if event.topic == BARRIER_TOPIC {
                    let id = serde_json::from_slice::<Value>(event.payload)
                        .ok()
                        .and_then(|payload| payload["id"].as_u64());
                    barrier.saw(id.unwrap_or(0));
                } else {
                    feeder.push_batch(event.payload, event.lost)
                }
            },
        )
        .map_err(|err| {
            format!(
                "history: cannot subscribe to {}: {err}",
                topics::POINTS_BATCH
            )
        })?;
    }
    Ok(history)
}

/// The host stops: write everything queued and close the store.
fn shutdown(history: &History, _ctx: &Ctx) {
    history.stop();
}

/// The reply form `history.query` is asked for.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Format {
    /// Columns per codename.
    #[default]
    Json,
    /// The same rows as `codename,time,x,y` CSV text ([`to_csv`]), so the host's HTTP API
    /// and CLI print the same bytes without knowing the reply's shape.
    Csv,
}

/// The params of the `history.query` command: [`QueryParams`] and the reply `format`.
/// (A copy of its fields rather than `#[serde(flatten)]`, which would lose
/// `deny_unknown_fields`.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryCommand {
    codenames: Vec<String>,
    from: f64,
    #[serde(default)]
    to: Option<f64>,
    #[serde(default)]
    max_points: Option<u64>,
    #[serde(default)]
    format: Format,
}

fn query_command(
    history: &History,
    _ctx: &Ctx,
    params: QueryCommand,
) -> Result<Value, CommandError> {
    let query = QueryParams {
        codenames: params.codenames,
        from: params.from,
        to: params.to,
        max_points: params.max_points,
    };
    let reply = history.query(&query)?;
    Ok(match params.format {
        Format::Json => reply,
        // A CSV has no place to say it was cut: rather no rows than silently too few.
        Format::Csv if query::is_truncated(&reply) => {
            return Err(CommandError::invalid_params(format!(
                "history.query: the range has more than max_query_rows ({}) rows; narrow from/to, ask for fewer codenames or for max_points, or raise [history] max_query_rows",
                history.active()?.max_query_rows
            )))
        }
        Format::Csv => Value::String(to_csv(&reply)),
    })
}

fn codenames_command(
    history: &History,
    _ctx: &Ctx,
    _params: NoParams,
) -> Result<Value, CommandError> {
    history.codenames()
}

fn stats_command(
    history: &History,
    _ctx: &Ctx,
    _params: NoParams,
) -> Result<StatsReply, CommandError> {
    history.stats_reply()
}

/// Waits until every point set before the call reached the recorder (a barrier through
/// the event bus), then commits what is queued.
fn flush_command(
    history: &History,
    ctx: &Ctx,
    _params: NoParams,
) -> Result<StatsReply, CommandError> {
    if history.feeder().is_some() && !history.barrier.pass(ctx) {
        ctx.log(
            Level::Debug,
            "history.flush: the barrier did not come back in time; writing what is queued",
        );
    }
    history.flush()?;
    history.stats_reply()
}
