//! The PostgreSQL store's connection state, its spool and its link thread.
//!
//! ```text
//! recorder's writer thread: Writer::write(batch)
//!     direct mode:   one transaction on its own connection ── fails ──┐
//!     spooling mode: append to the spool (SQLite, on disk) <──────────┘ (and wake the link)
//!
//! link thread ("history-pg-link"), while spooling:
//!     connect (backoff 0.25 s doubling to 5 s) → schema → replay the spool in order, a
//!     chunk per transaction, each chunk removed only after PostgreSQL committed it →
//!     spool empty: direct mode again
//! ```
//!
//! The store starts in spooling mode and the link thread connects in the background, so
//! labsocket starts (and serves) with PostgreSQL down. While the spool has rows every new
//! batch goes behind them, so rows reach PostgreSQL in the order they were recorded. A
//! chunk that PostgreSQL committed but that was not yet removed from the spool (a crash in
//! between) is replayed again: the `(codename, time)` key makes that a no-op. Rows that
//! PostgreSQL refuses as data (e.g. a NUL character in a string) are retried one by one and
//! the refused ones are dropped, counted and logged, so one bad row never blocks the spool.
//! State changes are logged once each, not per attempt.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use labsocket_plugin_api::Level;
use postgres::Client;
use serde::Serialize;

use super::schema;
use super::write::{delete_before, write_rows, Failure, Written};
use super::{Connector, PgRow, CONNECT_TIMEOUT};
use crate::recorder::Log;
use crate::store::spool::Spool;
use crate::store::Row;

/// The first wait after a failed connection attempt; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Rows per replay transaction.
const REPLAY_CHUNK: usize = 10_000;

/// How long the store's drop waits for the link thread (it may be in a connection attempt).
const STOP_WAIT: Duration = Duration::from_secs(3);

/// At most one "spool full" line this often.
const LOSS_LOG_EVERY: Duration = Duration::from_secs(10);

/// Where the store stands, as `history.stats` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Starting: the first connection attempt is under way.
    Connecting,
    /// Connected; batches go straight to PostgreSQL.
    Up,
    /// PostgreSQL is unreachable (or failing): batches go to the spool.
    Down,
    /// Connected again; the spool is being written to PostgreSQL.
    Replaying,
}

#[derive(Default)]
struct Counters {
    direct: AtomicU64,
    spooled: AtomicU64,
    replayed: AtomicU64,
    lost: AtomicU64,
    rejected: AtomicU64,
    unchanged: AtomicU64,
    replaced: AtomicU64,
}

impl Counters {
    fn count(&self, written: Written) {
        self.unchanged.fetch_add(written.unchanged, Relaxed);
        self.replaced.fetch_add(written.replaced, Relaxed);
    }
}

struct Inner {
    spool: Spool,
    /// Batches go straight to PostgreSQL (else to the spool). Only the link thread sets it
    /// (when the spool is empty), only the writer clears it, both under this lock.
    direct: bool,
    state: State,
    /// When the store went down, and why.
    down: Option<(Instant, String)>,
    stopping: bool,
    link_done: bool,
    /// The "spool full" log limiter: when the last line went out, rows lost since.
    loss_logged: Option<Instant>,
    lost_unlogged: u64,
}

struct Shared {
    connector: Connector,
    log: Log,
    inner: Mutex<Inner>,
    /// Wakes the link thread: rows were spooled, or the store stops.
    wake: Condvar,
    /// The state changed (waited on at start and at stop).
    changed: Condvar,
    counters: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every change under this lock is whole, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, level: Level, line: &str) {
        (self.log)(level, line);
    }

    /// PostgreSQL cannot be reached (or failed): spooling from now on; logs on the change.
    fn went_down(&self, inner: &mut Inner, err: &str) {
        // A connection error already says where; keep only its cause.
        let prefix = format!("PostgreSQL at {} is unreachable: ", self.connector.shown());
        let err = err.strip_prefix(&prefix).unwrap_or(err);
        inner.direct = false;
        if inner.state != State::Down {
            let path = inner.spool.path().display().to_string();
            let verb = if inner.state == State::Connecting {
                "is unreachable at start"
            } else {
                "became unreachable"
            };
            self.log(
                Level::Warn,
                &format!(
                    "PostgreSQL at {} {verb} ({err}) — spooling to {path} ({} rows there); retrying in the background",
                    self.connector.shown(),
                    inner.spool.rows()
                ),
            );
            inner.state = State::Down;
            inner.down = Some((Instant::now(), err.to_owned()));
            self.changed.notify_all();
        } else if let Some((_, last)) = &mut inner.down {
            err.clone_into(last);
        }
    }

    /// Appends `rows` to the spool (under the lock); returns how many it took. The rest
    /// did not fit: counted and logged as lost.
    fn spool(&self, inner: &mut Inner, rows: &[PgRow]) -> Result<usize, String> {
        let stored = inner.spool.push(rows)?;
        self.counters.spooled.fetch_add(stored as u64, Relaxed);
        let lost = (rows.len() - stored) as u64;
        if lost > 0 {
            self.counters.lost.fetch_add(lost, Relaxed);
            inner.lost_unlogged += lost;
            if inner
                .loss_logged
                .is_none_or(|at| at.elapsed() >= LOSS_LOG_EVERY)
            {
                self.log(
                    Level::Error,
                    &format!(
                        "the spool {} is full ({} bytes, spool_max_bytes = {}): {} rows lost while PostgreSQL at {} is away",
                        inner.spool.path().display(),
                        inner.spool.bytes(),
                        inner.spool.max_bytes(),
                        inner.lost_unlogged,
                        self.connector.shown()
                    ),
                );
                inner.loss_logged = Some(Instant::now());
                inner.lost_unlogged = 0;
            }
        }
        self.wake.notify_all();
        Ok(stored)
    }

    /// Waits until the first connection attempt is over (bounded by the connect timeout).
    fn wait_started<'a>(&self, inner: MutexGuard<'a, Inner>) -> MutexGuard<'a, Inner> {
        let wait = self
            .connector
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT)
            + Duration::from_secs(1);
        self.changed
            .wait_timeout_while(inner, wait, |i| i.state == State::Connecting)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }
}

/// The counters and state of the PostgreSQL store (the `store` object of `history.stats`;
/// its numbers are exported by `/metrics` as `labsocket_history_store_<field>`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoreStats {
    /// "postgres".
    kind: &'static str,
    state: State,
    /// 1 when batches go straight to PostgreSQL (`up`), else 0 (for `/metrics`).
    connected: bool,
    /// Why it is down (the last error), when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Seconds since it went down, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    down_secs: Option<f64>,
    /// Rows in the spool now, and its used bytes.
    spool_rows: u64,
    spool_bytes: u64,
    spool_max_bytes: u64,
    /// Since start: rows written straight to PostgreSQL, rows spooled, rows replayed from
    /// the spool (written to PostgreSQL).
    rows_direct: u64,
    rows_spooled: u64,
    rows_replayed: u64,
    /// Rows lost because the spool was full (`spool_max_bytes`).
    rows_lost_spool_full: u64,
    /// Rows PostgreSQL refused as data (dropped; the log says why).
    rows_rejected: u64,
    /// Rows PostgreSQL already had with the same values (replays): nothing written.
    rows_unchanged: u64,
    /// Rows that replaced a stored row of the same codename and time with other values.
    rows_replaced: u64,
}

/// A handle on the store's state for the readers and `history.stats`.
#[derive(Clone)]
pub(crate) struct Health {
    shared: Arc<Shared>,
}

impl Health {
    /// The error a query answers while PostgreSQL is known to be unreachable.
    pub(crate) fn unreachable(&self) -> Option<String> {
        let inner = self.shared.lock();
        let (since, err) = inner.down.as_ref().filter(|_| inner.state == State::Down)?;
        Some(format!(
            "history: PostgreSQL at {} is unreachable (for {:.0} s: {err}); recording goes on into the spool {} ({} rows), written to PostgreSQL when it is back",
            self.shared.connector.shown(),
            since.elapsed().as_secs_f64(),
            inner.spool.path().display(),
            inner.spool.rows()
        ))
    }

    pub(crate) fn stats(&self) -> StoreStats {
        let c = &self.shared.counters;
        let inner = self.shared.lock();
        let down = inner.down.as_ref().filter(|_| inner.state == State::Down);
        StoreStats {
            kind: "postgres",
            state: inner.state,
            connected: inner.state == State::Up,
            error: down.map(|(_, err)| err.clone()),
            down_secs: down.map(|(since, _)| since.elapsed().as_secs_f64()),
            spool_rows: inner.spool.rows(),
            spool_bytes: inner.spool.bytes(),
            spool_max_bytes: inner.spool.max_bytes(),
            rows_direct: c.direct.load(Relaxed),
            rows_spooled: c.spooled.load(Relaxed),
            rows_replayed: c.replayed.load(Relaxed),
            rows_lost_spool_full: c.lost.load(Relaxed),
            rows_rejected: c.rejected.load(Relaxed),
            rows_unchanged: c.unchanged.load(Relaxed),
            rows_replaced: c.replaced.load(Relaxed),
        }
    }
}

/// The writing side, owned by the recorder's writer thread; owns the link thread.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    /// The direct-mode connection (the link thread has its own).
    client: Option<Client>,
    /// codename → id on `client`; cleared when a transaction fails.
    ids: HashMap<String, i32>,
    link: Option<JoinHandle<()>>,
}

impl Writer {
    /// Opens the spool in `dir` and starts the link thread, which connects in the
    /// background: this never waits for PostgreSQL.
    pub(crate) fn open(
        connector: Connector,
        dir: &std::path::Path,
        spool_max_bytes: u64,
        log: Log,
    ) -> Result<(Writer, Health), String> {
        let spool = Spool::open(dir, spool_max_bytes)?;
        let shared = Arc::new(Shared {
            connector,
            log,
            inner: Mutex::new(Inner {
                spool,
                direct: false,
                state: State::Connecting,
                down: None,
                stopping: false,
                link_done: false,
                loss_logged: None,
                lost_unlogged: 0,
            }),
            wake: Condvar::new(),
            changed: Condvar::new(),
            counters: Counters::default(),
        });
        let thread_shared = Arc::clone(&shared);
        let link = std::thread::Builder::new()
            .name("history-pg-link".into())
            .spawn(move || Link::new(thread_shared).run())
            .map_err(|err| format!("history: cannot start the PostgreSQL link thread: {err}"))?;
        let health = Health {
            shared: Arc::clone(&shared),
        };
        Ok((
            Writer {
                shared,
                client: None,
                ids: HashMap::new(),
                link: Some(link),
            },
            health,
        ))
    }

    /// Writes `rows` to PostgreSQL in one transaction, or to the spool when PostgreSQL is
    /// away or refuses; returns how many were written to one of the two (the rest did not
    /// fit in a full spool and are counted as lost). An error only when the spool itself
    /// failed (then the recorder keeps the rows and tries again).
    pub(crate) fn write(&mut self, rows: &[Row]) -> Result<usize, String> {
        let rows: Vec<PgRow> = rows
            .iter()
            .filter(|r| r.time.is_finite())
            .map(PgRow::new)
            .collect();
        if rows.is_empty() {
            return Ok(0);
        }
        let shared = Arc::clone(&self.shared);
        let mut inner = shared.lock();
        if inner.state == State::Connecting {
            // The first batches wait for the first connection attempt, so that a server
            // started with PostgreSQL up writes directly from its first flush.
            inner = shared.wait_started(inner);
        }
        if !inner.direct {
            return shared.spool(&mut inner, &rows);
        }
        drop(inner);
        let failure = match self.write_direct(&rows) {
            Ok(written) => {
                shared.counters.direct.fetch_add(rows.len() as u64, Relaxed);
                shared.counters.count(written);
                return Ok(rows.len());
            }
            Err(failure) => failure,
        };
        self.ids.clear();
        let mut inner = shared.lock();
        match &failure {
            Failure::Unavailable(err) => shared.went_down(&mut inner, err),
            Failure::Refused(err) => {
                // The link thread retries the spooled batch row by row.
                inner.direct = false;
                shared.log(
                    Level::Warn,
                    &format!(
                        "PostgreSQL refused a batch ({err}); it goes through the spool, row by row"
                    ),
                );
            }
        }
        shared.spool(&mut inner, &rows)
    }

    /// One transaction on the direct connection; a connection found closed (the server
    /// restarted) is reopened once.
    fn write_direct(&mut self, rows: &[PgRow]) -> Result<Written, Failure> {
        match self.attempt(rows) {
            Err(Failure::Unavailable(_)) if self.client.as_ref().is_some_and(Client::is_closed) => {
                self.ids.clear();
                self.attempt(rows)
            }
            other => other,
        }
    }

    fn attempt(&mut self, rows: &[PgRow]) -> Result<Written, Failure> {
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self
                .shared
                .connector
                .connect()
                .map_err(Failure::Unavailable)?,
        };
        write_rows(self.client.insert(client), &mut self.ids, rows)
    }

    /// Deletes every row older than `cutoff` (on the direct connection); an error while
    /// PostgreSQL is unreachable (retention runs again an hour later).
    pub(crate) fn delete_before(&mut self, cutoff: f64) -> Result<u64, String> {
        {
            let inner = self.shared.lock();
            let inner = self.shared.wait_started(inner);
            if inner.state == State::Down || inner.state == State::Connecting {
                return Err(format!(
                    "PostgreSQL at {} is unreachable; retention waits for its next run",
                    self.shared.connector.shown()
                ));
            }
        }
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.shared.connector.connect()?,
        };
        delete_before(self.client.insert(client), cutoff)
    }
}

impl Drop for Writer {
    /// Stops the link thread (waiting a little: it may be in a connection attempt; the
    /// spool keeps whatever it did not replay for the next start).
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.stopping = true;
        self.shared.wake.notify_all();
        let (inner, _) = self
            .shared
            .changed
            .wait_timeout_while(inner, STOP_WAIT, |i| !i.link_done)
            .unwrap_or_else(|e| e.into_inner());
        let (done, rows) = (inner.link_done, inner.spool.rows());
        let path = inner.spool.path().display().to_string();
        drop(inner);
        if rows > 0 {
            self.shared.log(
                Level::Warn,
                &format!("{rows} rows stay in the spool {path}; they are written to PostgreSQL after the next start"),
            );
        }
        if let Some(link) = self.link.take() {
            if done {
                let _ = link.join();
            }
        }
    }
}

/// The link thread's state.
struct Link {
    shared: Arc<Shared>,
    backoff: Duration,
    /// Whether it has connected before (the first connection logs the table layout).
    connected_before: bool,
}

/// How a replay ended.
enum Replay {
    /// The spool is empty: direct mode again.
    Done,
    /// PostgreSQL went away (or the spool failed): back off, reconnect.
    Interrupted,
    Stopping,
}

impl Link {
    fn new(shared: Arc<Shared>) -> Link {
        Link {
            shared,
            backoff: MIN_BACKOFF,
            connected_before: false,
        }
    }

    fn run(mut self) {
        loop {
            // Wait for rows in the spool (at start: always, to connect at once).
            {
                let inner = self.shared.lock();
                let inner = self
                    .shared
                    .wake
                    .wait_while(inner, |i| !i.stopping && i.direct)
                    .unwrap_or_else(|e| e.into_inner());
                if inner.stopping {
                    break;
                }
            }
            let connected = self.shared.connector.connect().and_then(|mut client| {
                let layout = schema::prepare(&mut client)?;
                Ok((client, layout))
            });
            let mut client = match connected {
                Ok((client, layout)) => {
                    self.log_layout(&layout);
                    client
                }
                Err(err) => {
                    self.shared.went_down(&mut self.shared.lock(), &err);
                    if self.pause() {
                        break;
                    }
                    continue;
                }
            };
            match self.replay(&mut client) {
                Replay::Done => self.backoff = MIN_BACKOFF,
                Replay::Interrupted => {
                    if self.pause() {
                        break;
                    }
                }
                Replay::Stopping => break,
            }
        }
        let mut inner = self.shared.lock();
        inner.link_done = true;
        self.shared.changed.notify_all();
    }

    /// Waits the backoff (and doubles it); true when the store stops meanwhile.
    fn pause(&mut self) -> bool {
        let inner = self.shared.lock();
        let (inner, _) = self
            .shared
            .wake
            .wait_timeout_while(inner, self.backoff, |i| !i.stopping)
            .unwrap_or_else(|e| e.into_inner());
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        inner.stopping
    }

    fn log_layout(&mut self, layout: &schema::Layout) {
        if let Some(removed) = layout.migrated {
            self.shared.log(
                Level::Warn,
                &format!("migrated the PostgreSQL table points to the (codename, time) key: {removed} duplicate rows removed"),
            );
        }
        if !self.connected_before {
            self.connected_before = true;
            self.shared.log(
                Level::Info,
                &format!(
                    "connected to PostgreSQL at {}; points is {}",
                    self.shared.connector.shown(),
                    layout.table
                ),
            );
        }
    }

    /// Writes the spool to PostgreSQL, chunk by chunk, oldest first; when it is empty,
    /// switches to direct mode (under the lock, so no batch slips in between).
    fn replay(&mut self, client: &mut Client) -> Replay {
        let shared = Arc::clone(&self.shared);
        let started = Instant::now();
        let mut replayed = 0u64;
        let mut ids = HashMap::new();
        loop {
            let chunk = {
                let mut inner = shared.lock();
                if inner.stopping {
                    return Replay::Stopping;
                }
                let chunk = match inner.spool.head(REPLAY_CHUNK) {
                    Ok(chunk) => chunk,
                    Err(err) => {
                        shared.log(Level::Error, &format!("cannot read the spool: {err}"));
                        return Replay::Interrupted;
                    }
                };
                let Some(chunk) = chunk else {
                    self.finish(&mut inner, replayed, started);
                    return Replay::Done;
                };
                if inner.state != State::Replaying {
                    shared.log(
                        Level::Info,
                        &format!(
                            "{} PostgreSQL at {}, replaying {} rows from the spool {}",
                            if inner.state == State::Connecting {
                                "connected to"
                            } else {
                                "reconnected to"
                            },
                            shared.connector.shown(),
                            inner.spool.rows(),
                            inner.spool.path().display()
                        ),
                    );
                    inner.state = State::Replaying;
                    shared.changed.notify_all();
                }
                chunk
            };
            let result = match write_rows(client, &mut ids, &chunk.rows) {
                Err(Failure::Refused(err)) => {
                    ids.clear();
                    self.one_by_one(client, &chunk.rows, &err)
                }
                other => other.map(|written| {
                    shared.counters.count(written);
                    0
                }),
            };
            let n = match result {
                Ok(refused) => chunk.rows.len() as u64 - refused,
                Err(failure) => {
                    shared.went_down(&mut shared.lock(), failure.message());
                    return Replay::Interrupted;
                }
            };
            let mut inner = shared.lock();
            if let Err(err) = inner.spool.remove_through(chunk.last_seq) {
                // Replayed again later: a no-op thanks to the key.
                shared.log(
                    Level::Error,
                    &format!("cannot remove replayed rows from the spool: {err}"),
                );
                return Replay::Interrupted;
            }
            shared.counters.replayed.fetch_add(n, Relaxed);
            replayed += n;
        }
    }

    /// The spool is empty: direct mode, and the log line of the change.
    fn finish(&self, inner: &mut Inner, replayed: u64, started: Instant) {
        let shared = &self.shared;
        inner.direct = true;
        let before = inner.state;
        inner.state = State::Up;
        inner.down = None;
        shared.changed.notify_all();
        if replayed > 0 {
            let secs = started.elapsed().as_secs_f64();
            shared.log(
                Level::Info,
                &format!(
                    "replayed {replayed} rows from the spool into PostgreSQL in {secs:.2} s ({:.0} rows/s); writing directly again",
                    replayed as f64 / secs.max(1e-9)
                ),
            );
        } else if before == State::Down {
            shared.log(
                Level::Info,
                &format!("reconnected to PostgreSQL at {}", shared.connector.shown()),
            );
        }
    }

    /// A chunk PostgreSQL refused as data: each row in a transaction of its own, the refused
    /// ones dropped (counted, the first reason logged); returns how many were refused. An
    /// error when the server went away.
    fn one_by_one(
        &self,
        client: &mut Client,
        rows: &[PgRow],
        first_error: &str,
    ) -> Result<u64, Failure> {
        let mut ids = HashMap::new();
        let mut refused = 0u64;
        for row in rows {
            match write_rows(client, &mut ids, std::slice::from_ref(row)) {
                Ok(written) => self.shared.counters.count(written),
                Err(Failure::Refused(_)) => {
                    ids.clear();
                    refused += 1;
                }
                Err(failure) => return Err(failure),
            }
        }
        if refused > 0 {
            self.shared.counters.rejected.fetch_add(refused, Relaxed);
            self.shared.log(
                Level::Error,
                &format!("PostgreSQL refused {refused} rows as data; they are dropped (first: {first_error})"),
            );
        }
        Ok(refused)
    }
}
