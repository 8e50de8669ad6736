//! The path from a `points` event to a committed row.
//!
//! ```text
//! host delivery thread                       writer thread ("history-writer")
//! Feeder::push_batch(points, lost)           every flush_interval, or at once when a big
//!   -> rows into a bounded queue  ───────>   batch waits or a flush is asked for:
//!      (never blocks for long: one mutex,      rules -> Writer::write (one transaction)
//!       and when full the points are           retention at start and hourly
//!       counted as dropped and logged,       on stop / feeder dropped: drain, write, exit
//!       rate-limited)
//! ```
//!
//! The queue holds at most `max_buffered_points` points, counting rows the writer holds for a
//! retry after a failed write; so memory stays bounded when the disk is full or slow, and
//! every point that does not make it is counted ([`Stats`]) and reported in the log.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use labsocket_plugin_api::{unix_now, Level};
use serde::Serialize;
use serde_json::Value;

use crate::rules::Rules;
use crate::store::{Row, Writer};

/// Where the recorder's log lines go (the host log in the plugin, a Vec in tests).
pub type Log = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// How the recorder runs (from the config, plus knobs tests shorten).
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) flush_interval: Duration,
    pub(crate) max_buffered_points: usize,
    /// Rows older than this many seconds are deleted; `None` keeps everything.
    pub(crate) retention_secs: Option<f64>,
    /// How often retention runs (it also runs at start).
    pub(crate) retention_every: Duration,
}

/// Points queued: the writer wakes at once when this many wait, not only on its timer.
const BIG_BATCH: usize = 20_000;

/// At most one log line per kind of trouble this often (with the count since the last).
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Counters of the recorder, as `history.stats` returns them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Points handed to the recorder (every entry under a codename in every `points` event).
    pub points_received: u64,
    /// Rows committed to the store.
    pub rows_written: u64,
    /// Points the `[[history.record]]` rules did not record.
    pub points_skipped: u64,
    /// Points lost because the buffer was full (`max_buffered_points`) or history was stopping.
    pub points_dropped: u64,
    /// Entries that were not `codename: [x, y]` or had no finite time.
    pub points_invalid: u64,
    /// `points` events the host's bus dropped before they reached history (slow subscriber).
    pub events_lost: u64,
    /// Points waiting for the writer now.
    pub buffered: u64,
    /// Transactions committed.
    pub flushes: u64,
    /// Failed writes (their rows are kept and retried).
    pub write_errors: u64,
    /// Rows in the last transaction.
    pub last_flush_rows: u64,
    /// Seconds from the oldest point of the last transaction entering the queue to its commit.
    pub last_flush_lag_secs: Option<f64>,
    /// Rows deleted by retention since start.
    pub rows_deleted_by_retention: u64,
}

#[derive(Default)]
struct Counters {
    points_received: AtomicU64,
    rows_written: AtomicU64,
    points_skipped: AtomicU64,
    points_dropped: AtomicU64,
    points_invalid: AtomicU64,
    events_lost: AtomicU64,
    flushes: AtomicU64,
    write_errors: AtomicU64,
    last_flush_rows: AtomicU64,
    /// Microseconds; u64::MAX: no flush yet.
    last_flush_lag_micros: AtomicU64,
    rows_deleted_by_retention: AtomicU64,
    /// Rows the writer holds after a failed write (they count against the bound).
    held: AtomicUsize,
}

/// A log line at most every [`LOG_EVERY`], summing what happened in between.
#[derive(Default)]
struct RateLimited {
    last: Option<Instant>,
    since_last: u64,
}

impl RateLimited {
    /// Adds `n`; returns the sum to report when a line is due.
    fn note(&mut self, n: u64) -> Option<u64> {
        self.since_last += n;
        let due = self.last.is_none_or(|last| last.elapsed() >= LOG_EVERY);
        if due {
            self.last = Some(Instant::now());
            Some(std::mem::take(&mut self.since_last))
        } else {
            None
        }
    }
}

#[derive(Default)]
struct Queue {
    rows: Vec<Row>,
    /// When the oldest queued row arrived (for the flush lag).
    oldest: Option<Instant>,
    /// Live feeders, and whether there ever was one: when the last is dropped (the host
    /// ended the subscription) nothing more will come.
    feeders: usize,
    fed: bool,
    /// `stop` was called: drain and exit; refuse new points.
    stopping: bool,
    /// The writer thread has exited: nothing will be written any more.
    finished: bool,
    /// Flushes asked for / completed (a generation count).
    flush_asked: u64,
    flush_done: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer.
    wake: Condvar,
    /// Wakes whoever waits in [`Recorder::flush`].
    flushed: Condvar,
    counters: Counters,
    max_buffered: usize,
    log: Log,
    dropped_log: Mutex<RateLimited>,
    invalid_log: Mutex<RateLimited>,
    lost_log: Mutex<RateLimited>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves the queue consistent (pushes and swaps are
        // whole), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn report(
        &self,
        limiter: &Mutex<RateLimited>,
        n: u64,
        level: Level,
        what: impl Fn(u64) -> String,
    ) {
        if n == 0 {
            return;
        }
        let due = limiter.lock().unwrap_or_else(|e| e.into_inner()).note(n);
        if let Some(sum) = due {
            (self.log)(level, &what(sum));
        }
    }
}

/// The recorder: owns the writer thread.
pub(crate) struct Recorder {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// The producer side, moved into the host's `points` subscription.
pub struct Feeder {
    shared: Arc<Shared>,
    /// The rows buffer of the next batch (kept: a burst reuses its allocation).
    spare: Vec<Row>,
}

impl Recorder {
    /// Starts the writer thread (retention runs first, then rows are written as they come).
    pub(crate) fn start(
        writer: Writer,
        rules: Rules,
        options: Options,
        log: Log,
    ) -> Result<Recorder, String> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            counters: Counters {
                last_flush_lag_micros: AtomicU64::new(u64::MAX),
                ..Counters::default()
            },
            max_buffered: options.max_buffered_points,
            log,
            dropped_log: Mutex::default(),
            invalid_log: Mutex::default(),
            lost_log: Mutex::default(),
        });
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || WriterLoop::new(thread_shared, writer, rules, options).run())
            .map_err(|err| format!("history: cannot start the writer thread: {err}"))?;
        Ok(Recorder {
            shared,
            writer: Mutex::new(Some(handle)),
        })
    }

    /// The producer handle for the `points` subscription. Dropping it (the host ends the
    /// subscription) makes the writer write what is queued and finish.
    pub(crate) fn feeder(&self) -> Feeder {
        let mut queue = self.shared.lock();
        queue.feeders += 1;
        queue.fed = true;
        drop(queue);
        Feeder {
            shared: Arc::clone(&self.shared),
            spare: Vec::new(),
        }
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let buffered = self.shared.lock().rows.len() + c.held.load(Relaxed);
        let lag = c.last_flush_lag_micros.load(Relaxed);
        Stats {
            points_received: c.points_received.load(Relaxed),
            rows_written: c.rows_written.load(Relaxed),
            points_skipped: c.points_skipped.load(Relaxed),
            points_dropped: c.points_dropped.load(Relaxed),
            points_invalid: c.points_invalid.load(Relaxed),
            events_lost: c.events_lost.load(Relaxed),
            buffered: buffered as u64,
            flushes: c.flushes.load(Relaxed),
            write_errors: c.write_errors.load(Relaxed),
            last_flush_rows: c.last_flush_rows.load(Relaxed),
            last_flush_lag_secs: (lag != u64::MAX).then(|| lag as f64 / 1e6),
            rows_deleted_by_retention: c.rows_deleted_by_retention.load(Relaxed),
        }
    }

    /// Writes everything queued before this call now; returns once it is committed (or the
    /// writer has finished), or errs after `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut queue = self.shared.lock();
        if queue.finished {
            return Ok(());
        }
        queue.flush_asked += 1;
        let wanted = queue.flush_asked;
        self.shared.wake.notify_one();
        while queue.flush_done < wanted {
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "history: the writer did not flush within {:.1} s",
                    timeout.as_secs_f64()
                ));
            }
            queue = self
                .shared
                .flushed
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        match self.shared.counters.held.load(Relaxed) {
            0 => Ok(()),
            held => Err(format!(
                "history: the store refused the write; {held} rows are kept for retry (see the log)"
            )),
        }
    }

    /// Refuses new points, writes everything queued and waits for the writer to finish.
    /// Idempotent.
    pub(crate) fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_one();
        let handle = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                (self.shared.log)(Level::Error, "the writer thread panicked");
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Feeder {
    /// Queues the points of one `points_batch` call: `batch` is the JSON text
    /// `[[codename, time, x, y], ...]` in set order, `lost` how many `points` events the
    /// host dropped before this call. Read in one pass, straight into rows.
    pub fn push_batch(&mut self, batch: &[u8], lost: u64) {
        let shared = &*self.shared;
        let counters = &shared.counters;
        if lost > 0 {
            counters.events_lost.fetch_add(lost, Relaxed);
            shared.report(&shared.lost_log, lost, Level::Warn, |n| {
                format!("the host dropped {n} points events before history saw them (it fell behind); those points are not recorded")
            });
        }
        let mut read = BatchRead {
            rows: std::mem::take(&mut self.spare),
            received: 0,
            invalid: 0,
        };
        let mut reader = serde_json::Deserializer::from_slice(batch);
        let parsed = serde::de::DeserializeSeed::deserialize(&mut read, &mut reader)
            .and_then(|()| reader.end());
        if parsed.is_err() {
            // Not the host's form: nothing in it is trusted.
            read.rows.clear();
            read.received = 0;
            read.invalid = 1;
        }
        counters.points_received.fetch_add(read.received, Relaxed);
        self.invalid(read.invalid);
        let mut rows = self.queue(read.rows);
        // Keep a burst's big allocation only while bursts last.
        if rows.capacity() > 4 * BIG_BATCH {
            rows.shrink_to(BIG_BATCH);
        }
        self.spare = rows;
    }

    /// Counts and reports `n` entries that were not points.
    fn invalid(&self, n: u64) {
        let shared = &*self.shared;
        if n > 0 {
            shared.counters.points_invalid.fetch_add(n, Relaxed);
            shared.report(&shared.invalid_log, n, Level::Warn, |n| {
                format!("{n} points were not [x, y] under a codename or had no finite set time; ignored")
            });
        }
    }

    /// Queues `rows` for the writer, within the bound; what does not fit is counted.
    /// Returns an empty buffer (`rows`'s, or the queue's when `rows` could be swapped in).
    fn queue(&self, mut rows: Vec<Row>) -> Vec<Row> {
        if rows.is_empty() {
            return rows;
        }
        let shared = &*self.shared;
        let counters = &shared.counters;
        let dropped = {
            let mut queue = shared.lock();
            let room = if queue.stopping || queue.finished {
                0
            } else {
                shared
                    .max_buffered
                    .saturating_sub(queue.rows.len() + counters.held.load(Relaxed))
            };
            let dropped = rows.len().saturating_sub(room);
            rows.truncate(rows.len() - dropped);
            if !rows.is_empty() {
                if queue.rows.is_empty() {
                    queue.oldest = Some(Instant::now());
                }
                let before = queue.rows.len();
                if before == 0 {
                    // The writer just took the queue: hand it the batch, not a copy.
                    std::mem::swap(&mut queue.rows, &mut rows);
                } else {
                    queue.rows.append(&mut rows);
                }
                if before < BIG_BATCH && queue.rows.len() >= BIG_BATCH {
                    shared.wake.notify_one();
                }
            }
            dropped
        };
        if dropped > 0 {
            counters.points_dropped.fetch_add(dropped as u64, Relaxed);
            let max = shared.max_buffered;
            shared.report(&shared.dropped_log, dropped as u64, Level::Warn, |n| {
                format!("dropped {n} points: the buffer is full (max_buffered_points = {max}) or history is stopping; the store is not keeping up")
            });
        }
        rows.clear();
        rows
    }

    /// Queues the points of one `points` event (`{codename: [x, y], ...}` set at `time`),
    /// as the host would have gathered it into a `points_batch` call.
    #[cfg(test)]
    pub(crate) fn push(&mut self, payload: Value, time: f64, lost: u64) {
        let entries: Vec<Value> = match payload {
            Value::Object(points) => points
                .into_iter()
                .map(|(codename, xy)| match xy {
                    Value::Array(pair) if pair.len() == 2 => {
                        let mut entry = vec![codename.into(), time.into()];
                        entry.extend(pair);
                        Value::Array(entry)
                    }
                    other => Value::Array(vec![codename.into(), time.into(), other]),
                })
                .collect(),
            other => vec![Value::Array(vec![Value::Null, time.into(), other])],
        };
        self.push_batch(&serde_json::to_vec(&entries).unwrap(), lost);
    }
}

/// What one `points_batch` payload held: its rows and the entries that were not points.
struct BatchRead {
    rows: Vec<Row>,
    /// Entries under a codename (valid or not).
    received: u64,
    invalid: u64,
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut BatchRead {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &mut BatchRead {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of [codename, time, x, y]")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        if let Some(n) = entries.size_hint() {
            self.rows.reserve(n);
        }
        while let Some(entry) = entries.next_element::<Entry>()? {
            // Entries the host could not make `[codename, time, x, y]` (a plugin emitted a
            // malformed `points` event) still name their codename when there was one.
            if matches!(entry.codename, Value::String(_)) {
                self.received += 1;
            }
            match entry {
                Entry {
                    codename: Value::String(codename),
                    time: Value::Number(time),
                    x,
                    y: Some(y),
                    extra: false,
                } => match time.as_f64() {
                    Some(time) if time.is_finite() => self.rows.push(Row {
                        codename,
                        time,
                        x,
                        y,
                    }),
                    _ => self.invalid += 1,
                },
                _ => self.invalid += 1,
            }
        }
        Ok(())
    }
}

/// One entry of a `points_batch` payload, whatever its shape (`[codename, time, x, y]`
/// when the host could make it so), read without a list allocation of its own.
struct Entry {
    codename: Value,
    time: Value,
    x: Value,
    y: Option<Value>,
    /// It had more than four items.
    extra: bool,
}

impl<'de> serde::Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl EntryVisitor {
    /// Anything that is not a list: an entry that names no codename.
    fn not_a_list<E>(self) -> Result<Entry, E> {
        Ok(Entry {
            codename: Value::Null,
            time: Value::Null,
            x: Value::Null,
            y: None,
            extra: true,
        })
    }
}

impl<'de> serde::de::Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("[codename, time, x, y]")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<Entry, A::Error> {
        let codename = items.next_element()?.unwrap_or(Value::Null);
        let time = items.next_element()?.unwrap_or(Value::Null);
        let x = items.next_element()?.unwrap_or(Value::Null);
        let y = items.next_element()?;
        let mut extra = false;
        while items.next_element::<serde::de::IgnoredAny>()?.is_some() {
            extra = true;
        }
        Ok(Entry {
            codename,
            time,
            x,
            y,
            extra,
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        self.not_a_list()
    }

    fn visit_unit<E>(self) -> Result<Entry, E> {
        self.not_a_list()
    }

    fn visit_bool<E>(self, _: bool) -> Result<Entry, E> {
        self.not_a_list()
    }

    fn visit_i64<E>(self, _: i64) -> Result<Entry, E> {
        self.not_a_list()
    }

    fn visit_u64<E>(self, _: u64) -> Result<Entry, E> {
        self.not_a_list()
    }

    fn visit_f64<E>(self, _: f64) -> Result<Entry, E> {
        self.not_a_list()
    }

    fn visit_str<E>(self, _: &str) -> Result<Entry, E> {
        self.not_a_list()
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.shared.lock().feeders -= 1;
        self.shared.wake.notify_one();
    }
}

/// The writer thread's state.
struct WriterLoop {
    shared: Arc<Shared>,
    writer: Writer,
    rules: Rules,
    options: Options,
    /// Rows that passed the rules and wait to be committed (kept across a failed write).
    pending: Vec<Row>,
    /// The buffer swapped with the queue's (reused to avoid reallocating).
    spare: Vec<Row>,
    write_errors_log: RateLimited,
    next_retention: Option<Instant>,
}

impl WriterLoop {
    fn new(shared: Arc<Shared>, writer: Writer, rules: Rules, options: Options) -> WriterLoop {
        let next_retention = options.retention_secs.map(|_| Instant::now());
        WriterLoop {
            shared,
            writer,
            rules,
            options,
            pending: Vec::new(),
            spare: Vec::new(),
            write_errors_log: RateLimited::default(),
            next_retention,
        }
    }

    fn run(mut self) {
        let mut last_flush = Instant::now();
        loop {
            self.retention_if_due();
            let (mut batch, oldest, finishing, asked) = self.wait_for_work(last_flush);
            last_flush = Instant::now();
            for row in batch.drain(..) {
                if self.rules.admit(&row.codename, row.time, &row.y) {
                    self.pending.push(row);
                } else {
                    self.shared.counters.points_skipped.fetch_add(1, Relaxed);
                }
            }
            // Keep a burst's big allocation only while bursts last.
            if batch.capacity() > 4 * BIG_BATCH {
                batch.shrink_to(BIG_BATCH);
            }
            self.spare = batch;
            let ok = self.write_pending(oldest);
            let done = {
                let mut queue = self.shared.lock();
                queue.flush_done = queue.flush_done.max(asked);
                finishing && queue.rows.is_empty()
            };
            self.shared.flushed.notify_all();
            if done {
                if !ok {
                    // The last chance: a few quick retries, then say what is lost.
                    for _ in 0..3 {
                        std::thread::sleep(Duration::from_millis(100));
                        if self.write_pending(oldest) {
                            break;
                        }
                    }
                    if !self.pending.is_empty() {
                        (self.shared.log)(
                            Level::Error,
                            &format!(
                                "{} rows could not be written before stopping and are lost",
                                self.pending.len()
                            ),
                        );
                    }
                }
                break;
            }
        }
        // Let any flush() waiting on a finished writer return.
        let mut queue = self.shared.lock();
        queue.flush_done = queue.flush_asked;
        queue.finished = true;
        drop(queue);
        self.shared.flushed.notify_all();
    }

    /// Blocks until the interval is over, a big batch waits, a flush is asked for or the
    /// recorder is finishing; takes the queued rows.
    fn wait_for_work(&mut self, last_flush: Instant) -> (Vec<Row>, Option<Instant>, bool, u64) {
        let deadline = last_flush + self.options.flush_interval;
        let deadline = match self.next_retention {
            Some(retention) => deadline.min(retention),
            None => deadline,
        };
        let mut queue = self.shared.lock();
        loop {
            let finishing = queue.stopping || (queue.fed && queue.feeders == 0);
            let now = Instant::now();
            if finishing
                || queue.rows.len() >= BIG_BATCH
                || queue.flush_asked > queue.flush_done
                || now >= deadline
            {
                let asked = queue.flush_asked;
                let oldest = queue.oldest.take();
                let mut batch = std::mem::take(&mut self.spare);
                std::mem::swap(&mut batch, &mut queue.rows);
                return (batch, oldest, finishing, asked);
            }
            queue = self
                .shared
                .wake
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Commits the pending rows; false (rows kept for the next try) when the store refused.
    fn write_pending(&mut self, oldest: Option<Instant>) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let counters = &self.shared.counters;
        match self.writer.write(&self.pending) {
            Ok(written) => {
                let lag = oldest.map_or(0, |t| t.elapsed().as_micros() as u64);
                counters.rows_written.fetch_add(written as u64, Relaxed);
                counters.flushes.fetch_add(1, Relaxed);
                counters.last_flush_rows.store(written as u64, Relaxed);
                counters.last_flush_lag_micros.store(lag, Relaxed);
                self.pending.clear();
                counters.held.store(0, Relaxed);
                true
            }
            Err(err) => {
                counters.write_errors.fetch_add(1, Relaxed);
                counters.held.store(self.pending.len(), Relaxed);
                if let Some(n) = self.write_errors_log.note(1) {
                    (self.shared.log)(
                        Level::Error,
                        &format!("write failed ({n} times since the last report), {} rows kept for retry: {err}", self.pending.len()),
                    );
                }
                false
            }
        }
    }

    fn retention_if_due(&mut self) {
        let (Some(due), Some(secs)) = (self.next_retention, self.options.retention_secs) else {
            return;
        };
        if Instant::now() < due {
            return;
        }
        self.next_retention = Some(Instant::now() + self.options.retention_every);
        match self.writer.delete_before(unix_now() - secs) {
            Ok(deleted) => {
                self.shared
                    .counters
                    .rows_deleted_by_retention
                    .fetch_add(deleted, Relaxed);
                if deleted > 0 {
                    (self.shared.log)(
                        Level::Info,
                        &format!(
                            "retention deleted {deleted} rows older than {} days",
                            secs / 86_400.0
                        ),
                    );
                }
            }
            Err(err) => (self.shared.log)(Level::Error, &format!("retention failed: {err}")),
        }
    }
}
