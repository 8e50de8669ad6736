//! The SQLite store: one file, `<data_dir>/plugins/history/history.sqlite3`, in WAL mode so
//! Python (`sqlite3`, pandas), Grafana (`frser-sqlite-datasource`) and the `sqlite3` shell can
//! read it while the server writes.
//!
//! # Schema (created when missing; `PRAGMA user_version` = 1)
//!
//! ```sql
//! CREATE TABLE codenames (
//!     id       INTEGER PRIMARY KEY,
//!     codename TEXT NOT NULL UNIQUE,
//!     first    REAL,               -- time of the oldest stored row (NULL: none left)
//!     last     REAL,               -- time of the newest stored row
//!     rows     INTEGER NOT NULL DEFAULT 0   -- stored rows (kept by labsocket, not a trigger)
//! );
//! CREATE TABLE points (
//!     codename_id INTEGER NOT NULL REFERENCES codenames(id),
//!     time   REAL NOT NULL,        -- the point's set time, Unix seconds
//!     x, y,                        -- the values, SQLite-typed (see below)
//!     x_json TEXT, y_json TEXT     -- NULL, or the exact value as JSON when x/y cannot hold it
//! );
//! CREATE INDEX points_codename_time ON points (codename_id, time);
//! CREATE VIEW history AS SELECT c.codename, p.time, p.x, p.y, p.x_json, p.y_json
//!     FROM points p JOIN codenames c ON c.id = p.codename_id;
//! ```
//!
//! # Values
//!
//! `x` and `y` have no declared type, so SQLite keeps each value's own type:
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
//! there are numbers (booleans as 0/1, NaN as NaN), and `json.loads(y_json)` gives back the
//! exact value wherever `y_json` is not NULL (Python's `json` reads `NaN`). Non-finite floats
//! nested inside lists or objects are kept as the plugin API's `{"$float": "NaN"}` tags.
//!
//! Rows are written by one thread in batched transactions; `synchronous = NORMAL` in WAL
//! mode loses no committed transaction when the process is killed (only on power loss may
//! the last ones go). The `codenames` counters are updated in the same transactions, so they
//! always match `points` (as long as only labsocket writes the file).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use labsocket_plugin_api::{as_float, float::nonfinite_name, float_value};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde_json::Value;

use super::{CodenameInfo, Columns, Row};
use crate::m4::{Scanned, M4};

/// The schema this code writes and reads.
const SCHEMA_VERSION: i64 = 1;

/// File name inside the plugin's directory.
pub const FILE_NAME: &str = "history.sqlite3";

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
    time   REAL NOT NULL,
    x, y,
    x_json TEXT, y_json TEXT
);
CREATE INDEX IF NOT EXISTS points_codename_time ON points (codename_id, time);
CREATE VIEW IF NOT EXISTS history AS
    SELECT c.codename, p.time, p.x, p.y, p.x_json, p.y_json
    FROM points p JOIN codenames c ON c.id = p.codename_id;
";

const INSERT_POINT: &str = "INSERT INTO points (codename_id, time, x, x_json, y, y_json) \
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

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
}

/// What one codename got in a batch, for the `codenames` counters.
struct Added {
    rows: i64,
    first: f64,
    last: f64,
}

impl Writer {
    /// Opens (creating when missing) the file and its schema.
    pub(crate) fn open(path: &Path) -> Result<Writer, String> {
        let conn = connect(path, OpenFlags::default())?;
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
        conn.execute_batch(SCHEMA)
            .map_err(sql_error("create schema"))?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql_error("user_version"))?;
        Ok(Writer {
            conn,
            ids: HashMap::new(),
        })
    }

    /// Writes `rows` in one transaction. Rows whose time is not finite cannot be placed on
    /// the time axis and are skipped; returns how many were written.
    pub(crate) fn write(&mut self, rows: &[Row]) -> Result<usize, String> {
        let result = self.write_transaction(rows);
        if result.is_err() {
            self.ids.clear();
        }
        result
    }

    fn write_transaction(&mut self, rows: &[Row]) -> Result<usize, String> {
        let tx = self.conn.transaction().map_err(sql_error("begin"))?;
        let mut added: HashMap<i64, Added> = HashMap::new();
        let mut written = 0;
        {
            let mut insert = tx
                .prepare_cached(INSERT_POINT)
                .map_err(sql_error("insert"))?;
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
                let (x, x_json) = encode(&row.x);
                let (y, y_json) = encode(&row.y);
                insert
                    .execute(params![id, row.time, x, x_json, y, y_json])
                    .map_err(sql_error("insert"))?;
                written += 1;
                let entry = added.entry(id).or_insert(Added {
                    rows: 0,
                    first: row.time,
                    last: row.time,
                });
                entry.rows += 1;
                entry.first = entry.first.min(row.time);
                entry.last = entry.last.max(row.time);
            }
            let mut update = tx
                .prepare_cached(
                    "UPDATE codenames SET rows = rows + ?2, \
                     first = min(coalesce(first, ?3), ?3), last = max(coalesce(last, ?4), ?4) \
                     WHERE id = ?1",
                )
                .map_err(sql_error("update codenames"))?;
            for (id, a) in &added {
                update
                    .execute(params![id, a.rows, a.first, a.last])
                    .map_err(sql_error("update codenames"))?;
            }
        }
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
            let n = tx
                .execute(
                    "DELETE FROM points WHERE codename_id = ?1 AND time < ?2",
                    params![id, cutoff],
                )
                .map_err(sql_error("retention"))?;
            tx.execute(
                "UPDATE codenames SET rows = rows - ?2, \
                 first = (SELECT min(time) FROM points WHERE codename_id = ?1), \
                 last = (SELECT max(time) FROM points WHERE codename_id = ?1) WHERE id = ?1",
                params![id, n as i64],
            )
            .map_err(sql_error("retention"))?;
            tx.commit().map_err(sql_error("retention"))?;
            deleted += n as u64;
        }
        Ok(deleted)
    }
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

/// Appends a `SELECT time, x, x_json, y, y_json` row.
fn push_row(columns: &mut Columns, row: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    columns.time.push(row.get(0)?);
    columns
        .x
        .push(decode(row.get_ref(1)?, row.get_ref(2)?.as_str_or_null()?));
    columns
        .y
        .push(decode(row.get_ref(3)?, row.get_ref(4)?.as_str_or_null()?));
    Ok(())
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

    /// Every row of `codename` with `from ≤ time ≤ to`, in time order.
    pub(crate) fn rows(&self, codename: &str, from: f64, to: f64) -> Result<Columns, String> {
        let mut columns = Columns::default();
        let Some(id) = self.id(codename)? else {
            return Ok(columns);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time, x, x_json, y, y_json FROM points \
                 WHERE codename_id = ?1 AND time >= ?2 AND time <= ?3 ORDER BY time, rowid",
            )
            .map_err(sql_error("query"))?;
        let mut rows = stmt
            .query(params![id, from, to])
            .map_err(sql_error("query"))?;
        while let Some(row) = rows.next().map_err(sql_error("query"))? {
            push_row(&mut columns, row).map_err(sql_error("query"))?;
        }
        Ok(columns)
    }

    /// M4 of `codename` over `[from, to]`: one index scan, then the kept rows by rowid,
    /// both in one read transaction (one snapshot).
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
        let mut m4 = M4::new(from, to, max_points);
        self.scan(codename, from, to, |row| m4.push(row))?;
        let columns = self.rows_by_id(&m4.finish())?;
        tx.finish().map_err(sql_error("query"))?;
        Ok(columns)
    }

    /// Streams `(rowid, time, numeric y)` of `codename` in `[from, to]` in time order to
    /// `each`, without decoding the values (the first pass of downsampling).
    fn scan(
        &self,
        codename: &str,
        from: f64,
        to: f64,
        mut each: impl FnMut(Scanned),
    ) -> Result<(), String> {
        let Some(id) = self.id(codename)? else {
            return Ok(());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, time, CASE WHEN y_json IS NULL THEN y END FROM points \
                 WHERE codename_id = ?1 AND time >= ?2 AND time <= ?3 ORDER BY time, rowid",
            )
            .map_err(sql_error("query"))?;
        let mut rows = stmt
            .query(params![id, from, to])
            .map_err(sql_error("query"))?;
        while let Some(row) = rows.next().map_err(sql_error("query"))? {
            let y = match row.get_ref(2).map_err(sql_error("query"))? {
                ValueRef::Integer(i) => Some(i as f64),
                ValueRef::Real(f) => Some(f),
                _ => None,
            };
            each(Scanned {
                rowid: row.get(0).map_err(sql_error("query"))?,
                time: row.get(1).map_err(sql_error("query"))?,
                y,
            });
        }
        Ok(())
    }

    /// The rows with these rowids, in the given order.
    fn rows_by_id(&self, rowids: &[i64]) -> Result<Columns, String> {
        let mut columns = Columns::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT time, x, x_json, y, y_json FROM points WHERE rowid = ?1")
            .map_err(sql_error("query"))?;
        for rowid in rowids {
            let mut rows = stmt.query([rowid]).map_err(sql_error("query"))?;
            if let Some(row) = rows.next().map_err(sql_error("query"))? {
                push_row(&mut columns, row).map_err(sql_error("query"))?;
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
        let columns = reader.rows("c", 0.0, 1e9).unwrap();
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
        assert_eq!(reader.rows("c", 0.0, 1e9).unwrap(), columns);
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
        let a = reader.rows("a", 0.0, 100.0).unwrap();
        assert_eq!(a.time, vec![10.0, 15.0, 20.0]);
        assert_eq!(a.y, vec![json!(1), json!(3), json!(2)]);
        assert_eq!(reader.rows("a", 11.0, 20.0).unwrap().time, vec![15.0, 20.0]);
        assert_eq!(reader.rows("nope", 0.0, 100.0).unwrap(), Columns::default());
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
        let a = reader.rows("a", 0.0, 1000.0).unwrap();
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
            .pragma_update(None, "user_version", 2)
            .unwrap();
        assert!(Writer::open(&path)
            .err()
            .unwrap()
            .contains("schema version 2"));
    }

    #[test]
    fn the_scan_uses_the_index_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let writer = Writer::open(&path).unwrap();
        let plan: Vec<String> = writer
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT rowid, time, y FROM points \
                 WHERE codename_id = 1 AND time >= 0 AND time <= 1 ORDER BY time, rowid",
            )
            .unwrap()
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains("points_codename_time"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
