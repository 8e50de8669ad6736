//! The SQLite store: one file, `<data_dir>/plugins/history/history.sqlite3`, in WAL mode so
//! Python (`sqlite3`, pandas), Grafana (`frser-sqlite-datasource`) and the `sqlite3` shell can
//! read it while the server writes.
//!
//! # Schema (created when missing; `PRAGMA user_version` = 2)
//!
//! ```sql
//! CREATE TABLE codenames (
//!     id       INTEGER PRIMARY KEY,
//!     codename TEXT NOT NULL UNIQUE,
//!     first    REAL,               -- time of the oldest stored row (NULL: none left)
//!     last     REAL,               -- time of the newest stored row
//!     rows     INTEGER NOT NULL DEFAULT 0   -- stored rows (kept by labsocket, not a trigger)
//! );
//! -- The common row: about 28 bytes on disk with its key, no separate index.
//! CREATE TABLE points (
//!     codename_id INTEGER NOT NULL REFERENCES codenames(id),
//!     time REAL NOT NULL,          -- the point's set time, Unix seconds
//!     x,                           -- NULL when x is the float equal to time (the usual case)
//!     y,                           -- the value, SQLite-typed (see below)
//!     PRIMARY KEY (codename_id, time)
//! ) WITHOUT ROWID;
//! -- Rows the compact form cannot hold exactly (booleans, NaN, lists, objects, x = null,
//! -- integers above 2^63 - 1, text longer than 100 bytes): rare, and big values stay out of
//! -- the WITHOUT ROWID tree (whose interior pages copy whole rows).
//! CREATE TABLE points_extra (
//!     codename_id INTEGER NOT NULL REFERENCES codenames(id),
//!     time REAL NOT NULL,
//!     x, y,                        -- the values, SQLite-typed
//!     x_json TEXT, y_json TEXT     -- NULL, or the exact value as JSON when x/y cannot hold it
//! );
//! CREATE UNIQUE INDEX points_extra_key ON points_extra (codename_id, time);
//! -- Per codename and bucket (width 10 s and 600 s; bucket = floor(time / width)): the
//! -- times of the first and last rows, (y, time) of the earliest minimum and maximum numeric y.
//! CREATE TABLE rollup (
//!     codename_id INTEGER NOT NULL, width REAL NOT NULL, bucket INTEGER NOT NULL,
//!     first REAL NOT NULL, last REAL NOT NULL,
//!     min_y REAL, min_time REAL, max_y REAL, max_time REAL,
//!     PRIMARY KEY (codename_id, width, bucket)
//! ) WITHOUT ROWID;
//! CREATE VIEW history AS
//!     SELECT c.codename, p.time, coalesce(p.x, p.time) AS x, p.y,
//!            NULL AS x_json, NULL AS y_json
//!     FROM points p JOIN codenames c ON c.id = p.codename_id
//!     UNION ALL
//!     SELECT c.codename, e.time, e.x, e.y, e.x_json, e.y_json
//!     FROM points_extra e JOIN codenames c ON c.id = e.codename_id;
//! ```
//!
//! A row is unique per codename and time: a second row with the same codename and time
//! replaces the first (so replays are duplicate-free). A row lives in `points` or in
//! `points_extra`, never both.
//!
//! # Values
//!
//! `x` and `y` have no declared type, so SQLite keeps each value's own type; in the
//! `history` view:
//!
//! | JSON value              | `y`                    | `y_json`            |
//! |-------------------------|------------------------|---------------------|
//! | integer (64-bit signed) | INTEGER, exact         | NULL                |
//! | integer above 2^63 − 1  | REAL (nearest)         | the exact digits    |
//! | float, ±Infinity        | REAL                   | NULL                |
//! | NaN                     | NULL                   | `NaN`               |
//! | string                  | TEXT                   | NULL                |
//! | null                    | NULL                   | NULL                |
//! | true / false            | INTEGER 1 / 0          | `true` / `false`    |
//! | list, object            | NULL                   | the JSON text       |
//!
//! So `pandas.read_sql("SELECT codename, time, y FROM history", con)` gives numbers where
//! there are numbers (booleans as 0/1, NaN as NULL), and `json.loads(y_json)` gives back the
//! exact value wherever `y_json` is not NULL (Python's `json` reads `NaN`). Non-finite floats
//! nested inside lists or objects are kept as the plugin API's `{"$float": "NaN"}` tags.
//!
//! Rows are written by one thread in batched transactions; `synchronous = NORMAL` in WAL
//! mode loses no committed transaction when the process is killed (only on power loss may
//! the last ones go). The `codenames` counters and the rollups are updated in the same
//! transactions, so they always match the rows (as long as only labsocket writes the file).
//!
//! A version 1 file (one rowid table `points` with an index) is migrated when opened, in one
//! transaction: its rows are rewritten into this schema (a later duplicate of a codename and
//! time replaces an earlier one, as it would now).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use labsocket_plugin_api::{as_float, float::nonfinite_name, float_value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde_json::Value;

use super::rollup::{bucket_index, key_time, time_key, Summary, LEVELS};
use super::{CodenameInfo, Columns, Row};
use crate::m4::{Scanned, M4};

/// The schema this code writes and reads.
const SCHEMA_VERSION: i64 = 2;

/// File name inside the plugin's directory.
pub const FILE_NAME: &str = "history.sqlite3";

/// Text longer than this (bytes) goes to `points_extra`: the WITHOUT ROWID tree wants small rows.
const SHORT_TEXT: usize = 100;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS codenames (
    id       INTEGER PRIMARY KEY,
    codename TEXT NOT NULL UNIQUE,
    first    REAL,
    last     REAL,
    rows     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS points (
    codename_id INTEGER NOT NULL REFERENCES codenames(id),
    time REAL NOT NULL,
    x, y,
    PRIMARY KEY (codename_id, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points_extra (
    codename_id INTEGER NOT NULL REFERENCES codenames(id),
    time REAL NOT NULL,
    x, y,
    x_json TEXT, y_json TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS points_extra_key ON points_extra (codename_id, time);
CREATE TABLE IF NOT EXISTS rollup (
    codename_id INTEGER NOT NULL,
    width REAL NOT NULL,
    bucket INTEGER NOT NULL,
    first REAL NOT NULL,
    last REAL NOT NULL,
    min_y REAL, min_time REAL,
    max_y REAL, max_time REAL,
    PRIMARY KEY (codename_id, width, bucket)
) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS history AS
    SELECT c.codename, p.time, coalesce(p.x, p.time) AS x, p.y, NULL AS x_json, NULL AS y_json
    FROM points p JOIN codenames c ON c.id = p.codename_id
    UNION ALL
    SELECT c.codename, e.time, e.x, e.y, e.x_json, e.y_json
    FROM points_extra e JOIN codenames c ON c.id = e.codename_id;
";

fn sql_error(what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |err| format!("history store: {what}: {err}")
}

/// Opens a connection with the settings every connection needs (wait for locks, not fail).
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|err| format!("history store: cannot open {}: {err}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sql_error("busy_timeout"))?;
    Ok(conn)
}

/// The writing side: owned by the recorder's writer thread.
pub(crate) struct Writer {
    conn: Connection,
    /// codename → id, filled lazily; cleared when a transaction fails (its ids may be gone).
    ids: HashMap<String, i64>,
    /// Codenames that may have rows in `points_extra` (a superset): only for them does a
    /// compact row look there for a row it replaces.
    with_extras: HashSet<i64>,
}

/// One row as the writer takes it: the codename's id, time and values.
struct Entry<'a> {
    id: i64,
    time: f64,
    x: &'a Value,
    y: &'a Value,
}

/// What a batch changed besides the rows, applied before its commit.
#[derive(Default)]
struct Batch {
    /// Per codename: rows added (not replacing one), first and last time.
    added: HashMap<i64, (i64, f64, f64)>,
    /// Per (codename, level, bucket): the summary of the rows added there.
    summaries: HashMap<(i64, usize, i64), Summary>,
    /// (codename, time) of rows that replaced one: their buckets are recomputed.
    replaced: Vec<(i64, f64)>,
}

impl Writer {
    /// Opens (creating when missing, migrating a version 1 file) the file and its schema.
    pub(crate) fn open(path: &Path) -> Result<Writer, String> {
        let mut conn = connect(path, OpenFlags::default())?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(sql_error("journal_mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "history store: {} cannot use WAL (journal_mode stays {mode}); readers would block the writer",
                path.display()
            ));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_error("synchronous"))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(sql_error("user_version"))?;
        if version > SCHEMA_VERSION {
            return Err(format!(
                "history store: {} has schema version {version}, this labsocket knows {SCHEMA_VERSION}",
                path.display()
            ));
        }
        let mut with_extras = HashSet::new();
        if version == 1 {
            migrate_v1(&mut conn, &mut with_extras)
                .map_err(|err| format!("history store: {}: migrating schema version 1 to {SCHEMA_VERSION} failed (the file is unchanged): {err}", path.display()))?;
        } else {
            conn.execute_batch(SCHEMA)
                .map_err(sql_error("create schema"))?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql_error("user_version"))?;
        }
        {
            let mut stmt = conn
                .prepare("SELECT DISTINCT codename_id FROM points_extra")
                .map_err(sql_error("open"))?;
            let ids = stmt
                .query_map([], |row| row.get::<_, i64>(0))
                .map_err(sql_error("open"))?;
            for id in ids {
                with_extras.insert(id.map_err(sql_error("open"))?);
            }
        }
        Ok(Writer {
            conn,
            ids: HashMap::new(),
            with_extras,
        })
    }

    /// Writes `rows` in one transaction. Rows whose time is not finite cannot be placed on
    /// the time axis and are skipped; returns how many were written (replacing or not).
    pub(crate) fn write(&mut self, rows: &[Row]) -> Result<usize, String> {
        let result = self.write_transaction(rows);
        if result.is_err() {
            self.ids.clear();
        }
        result
    }

    fn write_transaction(&mut self, rows: &[Row]) -> Result<usize, String> {
        let tx = self.conn.transaction().map_err(sql_error("begin"))?;
        let mut batch = Batch::default();
        let mut written = 0;
        for row in rows {
            if !row.time.is_finite() {
                continue;
            }
            let id = match self.ids.get(&row.codename) {
                Some(id) => *id,
                None => {
                    let id = codename_id(&tx, &row.codename)?;
                    self.ids.insert(row.codename.clone(), id);
                    id
                }
            };
            let entry = Entry {
                id,
                time: row.time,
                x: &row.x,
                y: &row.y,
            };
            store(&tx, &mut self.with_extras, &entry, &mut batch)?;
            written += 1;
        }
        batch.apply(&tx)?;
        tx.commit().map_err(sql_error("commit"))?;
        Ok(written)
    }

    /// Deletes every row older than `cutoff` (Unix seconds), one codename per transaction so
    /// the writer never holds the lock long; returns how many rows went.
    pub(crate) fn delete_before(&mut self, cutoff: f64) -> Result<u64, String> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM codenames WHERE first < ?1")
                .map_err(sql_error("retention"))?;
            let ids = stmt
                .query_map([cutoff], |row| row.get(0))
                .map_err(sql_error("retention"))?
                .collect::<Result<_, _>>()
                .map_err(sql_error("retention"))?;
            ids
        };
        let mut deleted = 0;
        for id in ids {
            let tx = self.conn.transaction().map_err(sql_error("retention"))?;
            let mut n = 0;
            for table in ["points", "points_extra"] {
                n += tx
                    .execute(
                        &format!("DELETE FROM {table} WHERE codename_id = ?1 AND time < ?2"),
                        params![id, cutoff],
                    )
                    .map_err(sql_error("retention"))?;
            }
            for (level, width) in LEVELS.iter().enumerate() {
                let boundary = bucket_index(cutoff, *width);
                tx.execute(
                    "DELETE FROM rollup WHERE codename_id = ?1 AND width = ?2 AND bucket < ?3",
                    params![id, width, boundary],
                )
                .map_err(sql_error("retention"))?;
                recompute(&tx, id, level, boundary)?;
            }
            let (first, last) = time_range(&tx, id)?;
            tx.execute(
                "UPDATE codenames SET rows = rows - ?2, first = ?3, last = ?4 WHERE id = ?1",
                params![id, n as i64, first, last],
            )
            .map_err(sql_error("retention"))?;
            tx.commit().map_err(sql_error("retention"))?;
            deleted += n as u64;
        }
        Ok(deleted)
    }
}

impl Batch {
    /// Counters and rollups of the batch's rows, in its transaction.
    fn apply(&self, conn: &Connection) -> Result<(), String> {
        let mut update = conn
            .prepare_cached(
                "UPDATE codenames SET rows = rows + ?2, \
                 first = min(coalesce(first, ?3), ?3), last = max(coalesce(last, ?4), ?4) \
                 WHERE id = ?1",
            )
            .map_err(sql_error("update codenames"))?;
        for (id, (rows, first, last)) in &self.added {
            update
                .execute(params![id, rows, first, last])
                .map_err(sql_error("update codenames"))?;
        }
        for ((id, level, bucket), summary) in &self.summaries {
            let mut merged = *summary;
            if let Some(old) = read_summary(conn, *id, *level, *bucket)? {
                merged.merge(&old);
            }
            write_summary(conn, *id, *level, *bucket, Some(&merged))?;
        }
        // A replaced row may have been a bucket's minimum or maximum: those buckets are
        // recomputed from their rows (rare: replays and corrections).
        let mut done = HashSet::new();
        for (id, time) in &self.replaced {
            for (level, width) in LEVELS.iter().enumerate() {
                let bucket = bucket_index(*time, *width);
                if done.insert((*id, level, bucket)) {
                    recompute(conn, *id, level, bucket)?;
                }
            }
        }
        Ok(())
    }

    fn note(&mut self, id: i64, time: f64, y: Option<f64>, replaced: bool) {
        if replaced {
            self.replaced.push((id, time));
            return;
        }
        let added = self.added.entry(id).or_insert((0, time, time));
        added.0 += 1;
        added.1 = added.1.min(time);
        added.2 = added.2.max(time);
        let row = Summary::of(time, y);
        for (level, width) in LEVELS.iter().enumerate() {
            self.summaries
                .entry((id, level, bucket_index(time, *width)))
                .and_modify(|s| s.merge(&row))
                .or_insert(row);
        }
    }
}

/// Stores one row (replacing one with the same codename and time) and notes it in `batch`.
fn store(
    conn: &Connection,
    with_extras: &mut HashSet<i64>,
    entry: &Entry<'_>,
    batch: &mut Batch,
) -> Result<(), String> {
    let Entry { id, time, x, y } = *entry;
    let replaced = match compact(time, x, y) {
        Some((x, y)) => {
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO points (codename_id, time, x, y) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![id, time, x, y]))
                .map_err(sql_error("insert"))?;
            if inserted == 0 {
                conn.prepare_cached(
                    "UPDATE points SET x = ?3, y = ?4 WHERE codename_id = ?1 AND time = ?2",
                )
                .and_then(|mut s| s.execute(params![id, time, x, y]))
                .map_err(sql_error("insert"))?;
                true
            } else if with_extras.contains(&id) {
                delete_extra(conn, id, time)? > 0
            } else {
                false
            }
        }
        None => {
            with_extras.insert(id);
            let moved = conn
                .prepare_cached("DELETE FROM points WHERE codename_id = ?1 AND time = ?2")
                .and_then(|mut s| s.execute(params![id, time]))
                .map_err(sql_error("insert"))?;
            let (xv, x_json) = encode(x);
            let (yv, y_json) = encode(y);
            let existed = delete_extra(conn, id, time)?;
            conn.prepare_cached(
                "INSERT INTO points_extra (codename_id, time, x, x_json, y, y_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| s.execute(params![id, time, xv, x_json, yv, y_json]))
            .map_err(sql_error("insert"))?;
            moved + existed > 0
        }
    };
    batch.note(id, time, numeric(y), replaced);
    Ok(())
}

fn delete_extra(conn: &Connection, id: i64, time: f64) -> Result<usize, String> {
    conn.prepare_cached("DELETE FROM points_extra WHERE codename_id = ?1 AND time = ?2")
        .and_then(|mut s| s.execute(params![id, time]))
        .map_err(sql_error("insert"))
}

/// `y` as M4 compares it: numbers and ±Infinity (not NaN, booleans, big integers kept as
/// digits, text or lists), as the stored columns give it back.
fn numeric(y: &Value) -> Option<f64> {
    match y {
        Value::Number(n) if n.is_i64() || n.is_f64() => n.as_f64(),
        Value::Object(_) => as_float(y).filter(|f| !f.is_nan()),
        _ => None,
    }
}

/// The `points` columns `(x, y)` of a row, or `None` when it needs `points_extra`.
fn compact<'a>(
    time: f64,
    x: &'a Value,
    y: &'a Value,
) -> Option<(ToSqlOutput<'a>, ToSqlOutput<'a>)> {
    let x = match x {
        Value::Number(n) if n.is_f64() && n.as_f64().map(f64::to_bits) == Some(time.to_bits()) => {
            ToSqlOutput::Borrowed(ValueRef::Null)
        }
        Value::Null => return None,
        x => compact_value(x)?,
    };
    Some((x, compact_value(y)?))
}

/// A value `points` holds exactly in one column (see [`compact`]).
fn compact_value(value: &Value) -> Option<ToSqlOutput<'_>> {
    let borrowed = ToSqlOutput::Borrowed;
    Some(match value {
        Value::Null => borrowed(ValueRef::Null),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => borrowed(ValueRef::Integer(i)),
            (None, Some(f)) if !n.is_u64() => borrowed(ValueRef::Real(f)),
            _ => return None,
        },
        Value::String(s) if s.len() <= SHORT_TEXT => borrowed(ValueRef::Text(s.as_bytes())),
        Value::Object(_) => match as_float(value) {
            Some(f) if !f.is_nan() => borrowed(ValueRef::Real(f)),
            _ => return None,
        },
        _ => return None,
    })
}

/// Times of the oldest and newest rows of codename `id` (none when it has none).
fn time_range(conn: &Connection, id: i64) -> Result<(Option<f64>, Option<f64>), String> {
    let mut first: Option<f64> = None;
    let mut last: Option<f64> = None;
    for table in ["points", "points_extra"] {
        let (f, l): (Option<f64>, Option<f64>) = conn
            .query_row(
                &format!("SELECT min(time), max(time) FROM {table} WHERE codename_id = ?1"),
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(sql_error("retention"))?;
        first = match (first, f) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        last = match (last, l) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    Ok((first, last))
}

fn read_summary(
    conn: &Connection,
    id: i64,
    level: usize,
    bucket: i64,
) -> Result<Option<Summary>, String> {
    conn.prepare_cached(
        "SELECT first, last, min_y, min_time, max_y, max_time FROM rollup \
         WHERE codename_id = ?1 AND width = ?2 AND bucket = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![id, LEVELS[level], bucket], summary_from_row)
            .optional()
    })
    .map_err(sql_error("rollup"))
}

/// A `SELECT first, last, min_y, min_time, max_y, max_time` row as a [`Summary`].
fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Summary> {
    let pair = |y: Option<f64>, t: Option<f64>| y.zip(t);
    Ok(Summary {
        first: row.get(0)?,
        last: row.get(1)?,
        min: pair(row.get(2)?, row.get(3)?),
        max: pair(row.get(4)?, row.get(5)?),
    })
}

/// Writes (or with `None` deletes) one rollup row.
fn write_summary(
    conn: &Connection,
    id: i64,
    level: usize,
    bucket: i64,
    summary: Option<&Summary>,
) -> Result<(), String> {
    let width = LEVELS[level];
    match summary {
        Some(s) => conn
            .prepare_cached(
                "INSERT OR REPLACE INTO rollup \
                 (codename_id, width, bucket, first, last, min_y, min_time, max_y, max_time) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    width,
                    bucket,
                    s.first,
                    s.last,
                    s.min.map(|m| m.0),
                    s.min.map(|m| m.1),
                    s.max.map(|m| m.0),
                    s.max.map(|m| m.1),
                ])
            }),
        None => conn
            .prepare_cached(
                "DELETE FROM rollup WHERE codename_id = ?1 AND width = ?2 AND bucket = ?3",
            )
            .and_then(|mut stmt| stmt.execute(params![id, width, bucket])),
    }
    .map(drop)
    .map_err(sql_error("rollup"))
}

/// Rebuilds one rollup row from the rows in its bucket (deleting it when none are left).
fn recompute(conn: &Connection, id: i64, level: usize, bucket: i64) -> Result<(), String> {
    let width = LEVELS[level];
    // A little wider than the bucket, then exactly the rows `bucket_index` puts in it.
    let (lo, hi) = ((bucket - 1) as f64 * width, (bucket + 2) as f64 * width);
    let mut summary: Option<Summary> = None;
    scan(conn, id, lo, hi, |time, y| {
        if bucket_index(time, width) == bucket {
            let row = Summary::of(time, y);
            match summary.as_mut() {
                Some(s) => s.merge(&row),
                None => summary = Some(row),
            }
        }
    })?;
    write_summary(conn, id, level, bucket, summary.as_ref())
}

/// Streams `(time, numeric y)` of codename `id` with `lo ≤ time ≤ hi`, in time order, from
/// both row tables, without decoding the values.
fn scan(
    conn: &Connection,
    id: i64,
    lo: f64,
    hi: f64,
    mut each: impl FnMut(f64, Option<f64>),
) -> Result<(), String> {
    let mut extras: Vec<(f64, Option<f64>)> = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached(
                "SELECT time, CASE WHEN y_json IS NULL THEN y END FROM points_extra \
                 WHERE codename_id = ?1 AND time >= ?2 AND time <= ?3 ORDER BY time",
            )
            .map_err(sql_error("query"))?;
        let mut rows = stmt
            .query(params![id, lo, hi])
            .map_err(sql_error("query"))?;
        while let Some(row) = rows.next().map_err(sql_error("query"))? {
            let time = row.get(0).map_err(sql_error("query"))?;
            extras.push((time, number(row.get_ref(1).map_err(sql_error("query"))?)));
        }
    }
    let mut extras = extras.into_iter().peekable();
    let mut stmt = conn
        .prepare_cached(
            "SELECT time, y FROM points \
             WHERE codename_id = ?1 AND time >= ?2 AND time <= ?3 ORDER BY time",
        )
        .map_err(sql_error("query"))?;
    let mut rows = stmt
        .query(params![id, lo, hi])
        .map_err(sql_error("query"))?;
    while let Some(row) = rows.next().map_err(sql_error("query"))? {
        let time: f64 = row.get(0).map_err(sql_error("query"))?;
        while let Some(extra) = extras.next_if(|e| e.0 < time) {
            each(extra.0, extra.1);
        }
        each(time, number(row.get_ref(1).map_err(sql_error("query"))?));
    }
    for (time, y) in extras {
        each(time, y);
    }
    Ok(())
}

/// A stored column as a number for M4 (integers and reals; text and NULL are not).
fn number(column: ValueRef<'_>) -> Option<f64> {
    match column {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        _ => None,
    }
}

/// Rewrites a version 1 file (rowid table `points` + index) into this schema, in one
/// transaction: nothing changes unless all of it succeeds.
fn migrate_v1(conn: &mut Connection, with_extras: &mut HashSet<i64>) -> Result<(), String> {
    let tx = conn.transaction().map_err(sql_error("begin"))?;
    tx.execute_batch(
        "DROP VIEW IF EXISTS history;
         DROP INDEX IF EXISTS points_codename_time;
         ALTER TABLE points RENAME TO points_v1;
         UPDATE codenames SET rows = 0, first = NULL, last = NULL;",
    )
    .map_err(sql_error("migrate"))?;
    tx.execute_batch(SCHEMA)
        .map_err(sql_error("create schema"))?;
    {
        // Time order within a codename, the older row first: a duplicate time keeps the
        // later row, as a replay would now.
        let mut stmt = tx
            .prepare(
                "SELECT codename_id, time, x, x_json, y, y_json FROM points_v1 \
                 ORDER BY codename_id, time, rowid",
            )
            .map_err(sql_error("migrate"))?;
        let mut rows = stmt.query([]).map_err(sql_error("migrate"))?;
        let mut batch = Batch::default();
        while let Some(row) = rows.next().map_err(sql_error("migrate"))? {
            let id: i64 = row.get(0).map_err(sql_error("migrate"))?;
            let time: f64 = row.get(1).map_err(sql_error("migrate"))?;
            let x = decode(
                row.get_ref(2).map_err(sql_error("migrate"))?,
                row.get_ref(3)
                    .and_then(|v| Ok(v.as_str_or_null()?))
                    .map_err(sql_error("migrate"))?,
            );
            let y = decode(
                row.get_ref(4).map_err(sql_error("migrate"))?,
                row.get_ref(5)
                    .and_then(|v| Ok(v.as_str_or_null()?))
                    .map_err(sql_error("migrate"))?,
            );
            let entry = Entry {
                id,
                time,
                x: &x,
                y: &y,
            };
            store(&tx, with_extras, &entry, &mut batch)?;
        }
        batch.apply(&tx)?;
    }
    tx.execute_batch("DROP TABLE points_v1;")
        .map_err(sql_error("migrate"))?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sql_error("user_version"))?;
    tx.commit().map_err(sql_error("commit"))
}

/// The id of `codename`, inserting it when new.
fn codename_id(conn: &Connection, codename: &str) -> Result<i64, String> {
    conn.execute(
        "INSERT INTO codenames (codename) VALUES (?1) ON CONFLICT (codename) DO NOTHING",
        [codename],
    )
    .map_err(sql_error("insert codename"))?;
    conn.query_row(
        "SELECT id FROM codenames WHERE codename = ?1",
        [codename],
        |row| row.get(0),
    )
    .map_err(sql_error("codename id"))
}

/// A JSON value as its SQL column and, when that column cannot hold it exactly, its JSON
/// text (the table in the module docs).
pub(crate) fn encode(value: &Value) -> (ToSqlOutput<'_>, Option<String>) {
    let borrowed = ToSqlOutput::Borrowed;
    match value {
        Value::Null => (borrowed(ValueRef::Null), None),
        Value::Bool(b) => (
            borrowed(ValueRef::Integer(i64::from(*b))),
            Some(b.to_string()),
        ),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => (borrowed(ValueRef::Integer(i)), None),
            // A u64 above i64::MAX: the nearest float for plots, the digits for exactness.
            (None, Some(f)) if n.is_u64() => (borrowed(ValueRef::Real(f)), Some(n.to_string())),
            (None, Some(f)) => (borrowed(ValueRef::Real(f)), None),
            (None, None) => (borrowed(ValueRef::Null), Some(n.to_string())),
        },
        Value::String(s) => (borrowed(ValueRef::Text(s.as_bytes())), None),
        Value::Object(_) => match as_float(value) {
            Some(f) if f.is_nan() => (borrowed(ValueRef::Null), Some("NaN".to_owned())),
            Some(f) => (borrowed(ValueRef::Real(f)), None),
            None => (borrowed(ValueRef::Null), Some(value.to_string())),
        },
        Value::Array(_) => (borrowed(ValueRef::Null), Some(value.to_string())),
    }
}

/// The inverse of [`encode`]: the JSON value of a stored column and its `_json` companion.
pub(crate) fn decode(column: ValueRef<'_>, json: Option<&str>) -> Value {
    if let Some(text) = json {
        return match text {
            "NaN" => float_value(f64::NAN),
            text => serde_json::from_str(text).unwrap_or_else(|_| Value::from(text)),
        };
    }
    match column {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => match nonfinite_name(f) {
            None => Value::from(f),
            // NaN never gets here from this writer (SQLite stores a bound NaN as NULL).
            Some(_) => float_value(f),
        },
        // Written by someone else: text as text, a blob as its bytes read as UTF-8.
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            Value::from(String::from_utf8_lossy(bytes).into_owned())
        }
    }
}

/// The reading side: queries, on their own connection (WAL lets them run beside the writer).
pub(crate) struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens the file for reading; the writer must have created it.
    pub(crate) fn open(path: &Path) -> Result<Reader, String> {
        let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(Reader { conn })
    }

    fn id(&self, codename: &str) -> Result<Option<i64>, String> {
        self.conn
            .prepare_cached("SELECT id FROM codenames WHERE codename = ?1")
            .and_then(|mut stmt| stmt.query_row([codename], |row| row.get(0)).optional())
            .map_err(sql_error("codename id"))
    }

    /// The first `limit` rows of `codename` with `from ≤ time ≤ to`, in time order (both
    /// row tables, in one read transaction).
    pub(crate) fn rows(
        &self,
        codename: &str,
        from: f64,
        to: f64,
        limit: usize,
    ) -> Result<Columns, String> {
        // Each table's first `limit` rows hold the merged first `limit`.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(sql_error("query"))?;
        let mut columns = Columns::default();
        let Some(id) = self.id(codename)? else {
            return Ok(columns);
        };
        let mut extras = Columns::default();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT time, x, x_json, y, y_json FROM points_extra \
                     WHERE codename_id = ?1 AND time >= ?2 AND time <= ?3 ORDER BY time \
                     LIMIT ?4",
                )
                .map_err(sql_error("query"))?;
            let mut rows = stmt
                .query(params![id, from, to, limit])
                .map_err(sql_error("query"))?;
            while let Some(row) = rows.next().map_err(sql_error("query"))? {
                push_extra(&mut extras, row).map_err(sql_error("query"))?;
            }
        }
        let mut next_extra = 0;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time, x, y FROM points \
                 WHERE codename_id = ?1 AND time >= ?2 AND time <= ?3 ORDER BY time LIMIT ?4",
            )
            .map_err(sql_error("query"))?;
        let mut rows = stmt
            .query(params![id, from, to, limit])
            .map_err(sql_error("query"))?;
        while let Some(row) = rows.next().map_err(sql_error("query"))? {
            let time: f64 = row.get(0).map_err(sql_error("query"))?;
            while extras.time.get(next_extra).is_some_and(|t| *t < time) {
                take(&mut columns, &mut extras, next_extra);
                next_extra += 1;
            }
            push_compact(&mut columns, time, row).map_err(sql_error("query"))?;
        }
        while next_extra < extras.time.len() {
            take(&mut columns, &mut extras, next_extra);
            next_extra += 1;
        }
        drop(rows);
        drop(stmt);
        tx.finish().map_err(sql_error("query"))?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        columns.time.truncate(limit);
        columns.x.truncate(limit);
        columns.y.truncate(limit);
        Ok(columns)
    }

    /// M4 of `codename` over `[from, to]` in one read transaction (one snapshot): from the
    /// coarsest rollup whose buckets fit in M4's, finer (and finally raw rows) where a rollup
    /// bucket's rows straddle M4 buckets or the range's ends; then the kept rows by time.
    pub(crate) fn downsample(
        &self,
        codename: &str,
        from: f64,
        to: f64,
        max_points: u64,
    ) -> Result<Columns, String> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(sql_error("query"))?;
        let Some(id) = self.id(codename)? else {
            return Ok(Columns::default());
        };
        let mut m4 = M4::new(from, to, max_points);
        let m4_width = (to - from) / (max_points / 4).max(1) as f64;
        let level = LEVELS.iter().rposition(|width| *width <= m4_width);
        self.feed(id, level, from, to, &mut m4)?;
        let columns = self.rows_by_time(id, &m4.finish())?;
        tx.finish().map_err(sql_error("query"))?;
        Ok(columns)
    }

    /// M4 without rollups: every row of the range (for tests comparing the two).
    #[cfg(test)]
    fn downsample_raw(
        &self,
        codename: &str,
        from: f64,
        to: f64,
        max_points: u64,
    ) -> Result<Columns, String> {
        let Some(id) = self.id(codename)? else {
            return Ok(Columns::default());
        };
        let mut m4 = M4::new(from, to, max_points);
        self.feed(id, None, from, to, &mut m4)?;
        self.rows_by_time(id, &m4.finish())
    }

    /// Feeds M4 the rows of codename `id` in `[lo, hi]` in time order: from rollup `level`
    /// where a bucket lies inside the range and inside one M4 bucket, else from the next
    /// finer level, or raw rows below the finest.
    fn feed(
        &self,
        id: i64,
        level: Option<usize>,
        lo: f64,
        hi: f64,
        m4: &mut M4,
    ) -> Result<(), String> {
        let Some(level) = level else {
            return scan(&self.conn, id, lo, hi, |time, y| {
                m4.push(Scanned {
                    key: time_key(time),
                    time,
                    y,
                })
            });
        };
        let width = LEVELS[level];
        let summaries: Vec<Summary> = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT first, last, min_y, min_time, max_y, max_time FROM rollup \
                     WHERE codename_id = ?1 AND width = ?2 AND bucket >= ?3 AND bucket <= ?4 \
                     ORDER BY bucket",
                )
                .map_err(sql_error("query"))?;
            let rows = stmt
                .query_map(
                    params![id, width, bucket_index(lo, width), bucket_index(hi, width)],
                    summary_from_row,
                )
                .map_err(sql_error("query"))?;
            rows.collect::<Result<_, _>>().map_err(sql_error("query"))?
        };
        let finer = level.checked_sub(1);
        for summary in summaries {
            if summary.last < lo || summary.first > hi {
                continue;
            }
            if lo <= summary.first
                && summary.last <= hi
                && m4.bucket_of(summary.first) == m4.bucket_of(summary.last)
            {
                summary.feed(m4);
            } else {
                self.feed(id, finer, lo.max(summary.first), hi.min(summary.last), m4)?;
            }
        }
        Ok(())
    }

    /// The rows of codename `id` at these times (M4's keys), in the given order.
    fn rows_by_time(&self, id: i64, keys: &[i64]) -> Result<Columns, String> {
        let mut columns = Columns::default();
        let mut compact = self
            .conn
            .prepare_cached("SELECT time, x, y FROM points WHERE codename_id = ?1 AND time = ?2")
            .map_err(sql_error("query"))?;
        let mut extra = self
            .conn
            .prepare_cached(
                "SELECT time, x, x_json, y, y_json FROM points_extra \
                 WHERE codename_id = ?1 AND time = ?2",
            )
            .map_err(sql_error("query"))?;
        for key in keys {
            let time = key_time(*key);
            let mut rows = compact
                .query(params![id, time])
                .map_err(sql_error("query"))?;
            if let Some(row) = rows.next().map_err(sql_error("query"))? {
                push_compact(&mut columns, time, row).map_err(sql_error("query"))?;
                continue;
            }
            let mut rows = extra.query(params![id, time]).map_err(sql_error("query"))?;
            if let Some(row) = rows.next().map_err(sql_error("query"))? {
                push_extra(&mut columns, row).map_err(sql_error("query"))?;
            }
        }
        Ok(columns)
    }

    /// Every codename with stored rows, by name.
    pub(crate) fn codenames(&self) -> Result<Vec<CodenameInfo>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT codename, first, last, rows FROM codenames WHERE rows > 0 ORDER BY codename",
            )
            .map_err(sql_error("codenames"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(CodenameInfo {
                    codename: row.get(0)?,
                    first: row.get(1)?,
                    last: row.get(2)?,
                    rows: row.get(3)?,
                })
            })
            .map_err(sql_error("codenames"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("codenames"))
    }
}

/// Appends a `points` row read as `SELECT time, x, y` (`x` NULL: the time).
fn push_compact(columns: &mut Columns, time: f64, row: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    columns.time.push(time);
    columns.x.push(match row.get_ref(1)? {
        ValueRef::Null => Value::from(time),
        x => decode(x, None),
    });
    columns.y.push(decode(row.get_ref(2)?, None));
    Ok(())
}

/// Appends a `points_extra` row read as `SELECT time, x, x_json, y, y_json`.
fn push_extra(columns: &mut Columns, row: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    columns.time.push(row.get(0)?);
    columns
        .x
        .push(decode(row.get_ref(1)?, row.get_ref(2)?.as_str_or_null()?));
    columns
        .y
        .push(decode(row.get_ref(3)?, row.get_ref(4)?.as_str_or_null()?));
    Ok(())
}

/// Moves row `i` of `from` to the end of `to` (leaving a placeholder behind).
fn take(to: &mut Columns, from: &mut Columns, i: usize) {
    to.time.push(from.time[i]);
    to.x.push(std::mem::take(&mut from.x[i]));
    to.y.push(std::mem::take(&mut from.y[i]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(codename: &str, time: f64, y: Value) -> Row {
        Row {
            codename: codename.to_owned(),
            time,
            x: json!(time),
            y,
        }
    }

    fn same(a: &Value, b: &Value) -> bool {
        // JSON equality, but a float 1.0 must not pass for an int 1.
        a == b && serde_json::to_string(a).unwrap() == serde_json::to_string(b).unwrap()
    }

    #[test]
    fn every_json_type_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = Writer::open(&path).unwrap();
        let values = vec![
            json!(1),
            json!(-7),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1.0),
            json!(-0.5),
            json!(1e300),
            json!("text"),
            json!(""),
            json!("NaN"),
            json!(true),
            json!(false),
            Value::Null,
            json!([1, "a", null, 2.5]),
            json!({"a": {"b": [true]}}),
            json!([]),
            float_value(f64::NAN),
            float_value(f64::INFINITY),
            float_value(f64::NEG_INFINITY),
        ];
        let rows: Vec<Row> = values
            .iter()
            .enumerate()
            .map(|(i, y)| Row {
                codename: "c".into(),
                time: i as f64,
                x: y.clone(),
                y: y.clone(),
            })
            .collect();
        assert_eq!(writer.write(&rows).unwrap(), values.len());
        let reader = Reader::open(&path).unwrap();
        let columns = reader.rows("c", 0.0, 1e9, usize::MAX).unwrap();
        assert_eq!(columns.time.len(), values.len());
        for (i, expected) in values.iter().enumerate() {
            assert!(
                same(&columns.y[i], expected),
                "y {i}: {} != {expected}",
                columns.y[i]
            );
            assert!(
                same(&columns.x[i], expected),
                "x {i}: {} != {expected}",
                columns.x[i]
            );
        }
        // Reopening (schema present) keeps the rows and the schema version.
        drop(writer);
        Writer::open(&path).unwrap();
        assert_eq!(reader.rows("c", 0.0, 1e9, usize::MAX).unwrap(), columns);
    }

    #[test]
    fn rows_in_time_order_with_range_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = Writer::open(&path).unwrap();
        // A backfill arrives after newer rows; a non-finite time is skipped.
        writer
            .write(&[
                row("a", 10.0, json!(1)),
                row("a", 20.0, json!(2)),
                row("b", 5.0, json!(0)),
            ])
            .unwrap();
        assert_eq!(
            writer
                .write(&[row("a", 15.0, json!(3)), row("a", f64::NAN, json!(9))])
                .unwrap(),
            1
        );
        let reader = Reader::open(&path).unwrap();
        let a = reader.rows("a", 0.0, 100.0, usize::MAX).unwrap();
        assert_eq!(a.time, vec![10.0, 15.0, 20.0]);
        assert_eq!(a.y, vec![json!(1), json!(3), json!(2)]);
        assert_eq!(
            reader.rows("a", 11.0, 20.0, usize::MAX).unwrap().time,
            vec![15.0, 20.0]
        );
        assert_eq!(
            reader.rows("nope", 0.0, 100.0, usize::MAX).unwrap(),
            Columns::default()
        );
        assert_eq!(
            reader.codenames().unwrap(),
            vec![
                CodenameInfo {
                    codename: "a".into(),
                    first: Some(10.0),
                    last: Some(20.0),
                    rows: 3
                },
                CodenameInfo {
                    codename: "b".into(),
                    first: Some(5.0),
                    last: Some(5.0),
                    rows: 1
                },
            ]
        );
    }

    #[test]
    fn retention_deletes_old_rows_and_keeps_counters_true() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = Writer::open(&path).unwrap();
        let rows: Vec<Row> = (0..100).map(|i| row("a", i as f64, json!(i))).collect();
        writer.write(&rows).unwrap();
        writer.write(&[row("b", 1.0, json!(1))]).unwrap();
        assert_eq!(writer.delete_before(50.0).unwrap(), 51);
        let reader = Reader::open(&path).unwrap();
        let a = reader.rows("a", 0.0, 1000.0, usize::MAX).unwrap();
        assert_eq!(a.time.first(), Some(&50.0));
        assert_eq!(a.time.len(), 50);
        // b lost its only row: it leaves history.codenames.
        assert_eq!(
            reader.codenames().unwrap(),
            vec![CodenameInfo {
                codename: "a".into(),
                first: Some(50.0),
                last: Some(99.0),
                rows: 50
            }]
        );
        let counted: i64 = writer
            .conn
            .query_row("SELECT count(*) FROM points", [], |r| r.get(0))
            .unwrap();
        assert_eq!(counted, 50);
        // New rows for b count from zero again.
        writer.write(&[row("b", 200.0, json!(1))]).unwrap();
        assert_eq!(reader.codenames().unwrap()[1].rows, 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 3)
            .unwrap();
        assert!(Writer::open(&path)
            .err()
            .unwrap()
            .contains("schema version 3"));
    }

    #[test]
    fn scans_use_the_keys_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let writer = Writer::open(&path).unwrap();
        for (table, key) in [
            ("points", "PRIMARY KEY"),
            ("points_extra", "points_extra_key"),
            ("rollup", "PRIMARY KEY"),
        ] {
            let plan: Vec<String> = writer
                .conn
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN SELECT {} FROM {table} WHERE codename_id = 1 \
                     AND {} ORDER BY {}",
                    if table == "rollup" { "first" } else { "time" },
                    if table == "rollup" {
                        "width = 10 AND bucket >= 0 AND bucket <= 1"
                    } else {
                        "time >= 0 AND time <= 1"
                    },
                    if table == "rollup" { "bucket" } else { "time" },
                ))
                .unwrap()
                .query_map([], |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains(key), "{table}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{table}: {plan}");
        }
    }

    /// The rows of the main and the side table, for checking where a row went.
    fn counts(writer: &Writer) -> (i64, i64) {
        writer
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM points), (SELECT count(*) FROM points_extra)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn a_second_row_at_the_same_time_replaces_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = Writer::open(&path).unwrap();
        let reader = Reader::open(&path).unwrap();
        writer
            .write(&[
                row("a", 1.0, json!(1)),
                row("a", 2.0, json!(-5)),
                row("a", 3.0, json!(2)),
            ])
            .unwrap();
        // A replay of the same rows, then corrections moving rows between the tables: the
        // minimum at t=2 goes away and a list takes its place.
        writer
            .write(&[
                row("a", 1.0, json!(1)),
                row("a", 2.0, json!(-5)),
                row("a", 3.0, json!(2)),
            ])
            .unwrap();
        writer.write(&[row("a", 2.0, json!([1, 2]))]).unwrap();
        assert_eq!(counts(&writer), (2, 1));
        let a = reader.rows("a", 0.0, 10.0, usize::MAX).unwrap();
        assert_eq!(a.time, vec![1.0, 2.0, 3.0]);
        assert_eq!(a.y, vec![json!(1), json!([1, 2]), json!(2)]);
        // A limit takes the first rows of the merge of both tables.
        let first_two = reader.rows("a", 0.0, 10.0, 2).unwrap();
        assert_eq!(first_two.y, vec![json!(1), json!([1, 2])]);
        assert_eq!(first_two.time.len(), 2);
        assert_eq!(reader.codenames().unwrap()[0].rows, 3);
        // The rollups no longer know -5: M4 (over rollups) and raw M4 agree.
        let m4 = reader.downsample("a", 0.0, 1e6, 4).unwrap();
        assert_eq!(m4, reader.downsample_raw("a", 0.0, 1e6, 4).unwrap());
        assert!(!m4.y.contains(&json!(-5)), "{m4:?}");
        // And back to a compact row.
        writer.write(&[row("a", 2.0, json!(7.5))]).unwrap();
        assert_eq!(counts(&writer), (3, 0));
        assert_eq!(
            reader.rows("a", 0.0, 10.0, usize::MAX).unwrap().y[1],
            json!(7.5)
        );
        assert_eq!(
            reader.downsample("a", 0.0, 1e6, 4).unwrap().y,
            vec![json!(1), json!(7.5), json!(2)]
        );
    }

    #[test]
    fn compact_rows_take_under_forty_bytes_and_big_values_still_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut writer = Writer::open(&path).unwrap();
        let n = 100_000;
        let rows: Vec<Row> = (0..n)
            .map(|i| {
                let time = 1.7e9 + i as f64 * 0.1;
                row(
                    &format!("c{}", i % 10),
                    time,
                    json!((i as f64 * 0.01).sin()),
                )
            })
            .collect();
        for chunk in rows.chunks(10_000) {
            writer.write(chunk).unwrap();
        }
        writer
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len() as f64 / n as f64;
        assert!(bytes <= 40.0, "{bytes:.1} bytes per row");
        assert_eq!(counts(&writer), (n, 0));
        // A spectrum of 100,000 numbers and a long text: in the side table, whole.
        let spectrum: Vec<f64> = (0..100_000).map(|i| i as f64 * 0.5).collect();
        let text = "t".repeat(50_000);
        writer
            .write(&[
                row("big", 1.0, json!(spectrum)),
                row("big", 2.0, json!(text)),
            ])
            .unwrap();
        let reader = Reader::open(&path).unwrap();
        let big = reader.rows("big", 0.0, 10.0, usize::MAX).unwrap();
        assert_eq!(big.y, vec![json!(spectrum), json!(text)]);
        assert_eq!(reader.downsample("big", 0.0, 10.0, 4).unwrap(), big);
    }

    #[test]
    fn a_version_1_file_is_migrated_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        {
            let con = Connection::open(&path).unwrap();
            con.execute_batch(
                "CREATE TABLE codenames (id INTEGER PRIMARY KEY, codename TEXT NOT NULL UNIQUE,
                     first REAL, last REAL, rows INTEGER NOT NULL DEFAULT 0);
                 CREATE TABLE points (codename_id INTEGER NOT NULL REFERENCES codenames(id),
                     time REAL NOT NULL, x, y, x_json TEXT, y_json TEXT);
                 CREATE INDEX points_codename_time ON points (codename_id, time);
                 CREATE VIEW history AS SELECT c.codename, p.time, p.x, p.y, p.x_json, p.y_json
                     FROM points p JOIN codenames c ON c.id = p.codename_id;
                 INSERT INTO codenames VALUES (1, 'a', 1, 3, 4), (2, 'b', 5, 5, 1);
                 INSERT INTO points VALUES
                     (1, 1.0, 1.0, 10, NULL, NULL),
                     (1, 2.0, 7, 1, NULL, 'true'),
                     (1, 3.0, 3.0, NULL, NULL, '[1,2]'),
                     (1, 3.0, 3.0, 'later', NULL, NULL),
                     (2, 5.0, NULL, 2.5, 'null', NULL);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let writer = Writer::open(&path).unwrap();
        let version: i64 = writer
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let reader = Reader::open(&path).unwrap();
        let a = reader.rows("a", 0.0, 10.0, usize::MAX).unwrap();
        assert_eq!(a.time, vec![1.0, 2.0, 3.0]);
        assert_eq!(a.x, vec![json!(1.0), json!(7), json!(3.0)]);
        assert_eq!(a.y, vec![json!(10), json!(true), json!("later")]);
        let b = reader.rows("b", 0.0, 10.0, usize::MAX).unwrap();
        assert_eq!((b.x, b.y), (vec![Value::Null], vec![json!(2.5)]));
        // The duplicate time is one row now; the counters say so.
        assert_eq!(
            reader
                .codenames()
                .unwrap()
                .iter()
                .map(|c| (c.rows, c.first, c.last))
                .collect::<Vec<_>>(),
            vec![(3, Some(1.0), Some(3.0)), (1, Some(5.0), Some(5.0))]
        );
        assert_eq!(
            reader.downsample("a", 0.0, 1e4, 4).unwrap(),
            reader.downsample_raw("a", 0.0, 1e4, 4).unwrap()
        );
    }

    /// Rows for the property test: times on a grid of 1/8 s (so ties and bucket edges
    /// happen), values mostly numbers, some text, booleans and NaN.
    fn value_strategy() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            8 => (-50i64..50).prop_map(|i| json!(i)),
            8 => (-50.0f64..50.0).prop_map(|f| json!(f)),
            1 => Just(json!("text")),
            1 => Just(json!(true)),
            1 => Just(float_value(f64::NAN)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// M4 from the rollups returns the very rows M4 over all rows does (so only real
        /// rows, first and last included), for any range and max_points: aligned M4 buckets
        /// use the rollups, others fall back to finer levels and raw rows where needed.
        #[test]
        fn rollup_m4_equals_raw_m4(
            rows in proptest::collection::vec((0u32..8 * 4000, value_strategy()), 1..600),
            batches in 1usize..4,
            ranges in proptest::collection::vec((0u32..4200, 0u32..4200, 4u64..200), 1..6),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(FILE_NAME);
            let mut writer = Writer::open(&path).unwrap();
            let rows: Vec<Row> = rows.iter().map(|(t, y)| row("p", *t as f64 / 8.0, y.clone())).collect();
            for chunk in rows.chunks(rows.len().div_ceil(batches)) {
                writer.write(chunk).unwrap();
            }
            let reader = Reader::open(&path).unwrap();
            let all = reader.rows("p", -1.0, 1e9, usize::MAX).unwrap();
            let mut ranges: Vec<(f64, f64, u64)> = ranges
                .iter()
                .map(|(a, b, n)| (f64::from(*a.min(b)), f64::from(*a.max(b)), *n))
                .collect();
            // Ranges aligned to the rollup buckets: M4 buckets of exactly 10 s and 600 s.
            ranges.push((0.0, 4000.0, 4 * 400));
            ranges.push((600.0, 3600.0, 4 * 5));
            ranges.push((-1.0, 1e9, 4));
            for (from, to, max_points) in ranges {
                let fast = reader.downsample("p", from, to, max_points).unwrap();
                let raw = reader.downsample_raw("p", from, to, max_points).unwrap();
                proptest::prop_assert_eq!(&fast, &raw, "from {} to {} max_points {}", from, to, max_points);
                // Real rows, first and last of the range included.
                let in_range: Vec<usize> = (0..all.time.len()).filter(|&i| all.time[i] >= from && all.time[i] <= to).collect();
                for (i, time) in fast.time.iter().enumerate() {
                    let j = all.time.iter().position(|t| t == time).unwrap();
                    proptest::prop_assert_eq!(&fast.y[i], &all.y[j]);
                }
                if let (Some(first), Some(last)) = (in_range.first(), in_range.last()) {
                    proptest::prop_assert_eq!(fast.time.first(), Some(&all.time[*first]));
                    proptest::prop_assert_eq!(fast.time.last(), Some(&all.time[*last]));
                }
            }
        }
    }
}
