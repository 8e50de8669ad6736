//! The PostgreSQL store (`[history] store = "postgres"`), for labs that already run one and
//! read it from Grafana's built-in PostgreSQL source.
//!
//! # Schema (created when missing)
//!
//! ```sql
//! CREATE TABLE codenames (
//!     id       SERIAL PRIMARY KEY,
//!     codename TEXT NOT NULL UNIQUE,
//!     first    DOUBLE PRECISION,   -- time of the oldest stored row (NULL: none left)
//!     last     DOUBLE PRECISION,   -- time of the newest stored row
//!     rows     BIGINT NOT NULL DEFAULT 0
//! );
//! CREATE TABLE points (
//!     codename_id INTEGER NOT NULL, -- codenames.id (no foreign key: it would cost a lookup per row)
//!     time  DOUBLE PRECISION NOT NULL,   -- the point's set time, Unix seconds
//!     x     JSONB,                  -- the values exactly, with their JSON types
//!     y     JSONB,
//!     y_num DOUBLE PRECISION        -- y as a number for plots: numbers, booleans as 1/0,
//!                                   -- ±Infinity; NULL for NaN and non-numbers
//! );
//! CREATE INDEX points_codename_time ON points (codename_id, time);
//! CREATE VIEW history AS SELECT c.codename, p.time, to_timestamp(p.time) AS ts,
//!     p.x, p.y, p.y_num FROM points p JOIN codenames c ON c.id = p.codename_id;
//! ```
//!
//! JSONB keeps integers exact and `1.0` as `1.0`; non-finite floats (which JSON cannot
//! hold) are stored as the plugin API's `{"$float": "NaN"}` tags and come back as such.
//! Grafana: `SELECT ts AS time, y_num AS value FROM history WHERE codename = '...' AND
//! $__timeFilter(ts) ORDER BY ts`. Put the tables in their own schema with
//! `?options=-csearch_path%3Dlab` in the url. No TLS: a loopback or lab-network server.
//!
//! The password comes from the url, else `password_file` (its first line), else the
//! `PGPASSWORD` environment variable. A lost connection is reopened on the next write or
//! query.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use labsocket_plugin_api::as_float;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls};
use serde_json::Value;

use super::{CodenameInfo, Columns, Row};
use crate::m4::{Scanned, M4};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS codenames (
    id       SERIAL PRIMARY KEY,
    codename TEXT NOT NULL UNIQUE,
    first    DOUBLE PRECISION,
    last     DOUBLE PRECISION,
    rows     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS points (
    codename_id INTEGER NOT NULL,
    time  DOUBLE PRECISION NOT NULL,
    x     JSONB,
    y     JSONB,
    y_num DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS points_codename_time ON points (codename_id, time);
CREATE OR REPLACE VIEW history AS
    SELECT c.codename, p.time, to_timestamp(p.time) AS ts, p.x, p.y, p.y_num
    FROM points p JOIN codenames c ON c.id = p.codename_id;
";

/// How to (re)connect.
#[derive(Clone)]
pub(crate) struct Connector {
    config: postgres::Config,
    /// The url without its password, for messages.
    shown: String,
}

impl Connector {
    /// Reads the url and finds the password (url, then `password_file`, then `PGPASSWORD`).
    pub(crate) fn new(url: &str, password_file: Option<&Path>) -> Result<Connector, String> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|err| format!("[history] url: not a PostgreSQL url ({err})"))?;
        if config.get_password().is_none() {
            if let Some(file) = password_file {
                let text = std::fs::read_to_string(file).map_err(|err| {
                    format!(
                        "[history] password_file: cannot read {}: {err}",
                        file.display()
                    )
                })?;
                config.password(text.lines().next().unwrap_or("").trim_end());
            } else if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        config.application_name("labsocket-history");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let shown = match url.split_once('@') {
            // postgres://user:secret@host → postgres://user@host
            Some((left, right)) => match left.rsplit_once(':') {
                Some((user, _)) if !user.ends_with('/') && user.contains("//") => {
                    format!("{user}@{right}")
                }
                _ => url.to_owned(),
            },
            None => url.to_owned(),
        };
        Ok(Connector { config, shown })
    }

    fn connect(&self) -> Result<Client, String> {
        self.config
            .connect(NoTls)
            .map_err(|err| format!("history store: cannot connect to {}: {err}", self.shown))
    }

    /// Connects and creates the schema when missing.
    pub(crate) fn create_schema(&self) -> Result<(), String> {
        self.connect()?
            .batch_execute(SCHEMA)
            .map_err(|err| format!("history store: create schema: {err}"))
    }
}

fn pg_error(what: &str) -> impl Fn(postgres::Error) -> String + '_ {
    move |err| format!("history store: {what}: {err}")
}

/// A connection that is reopened when it was lost.
struct Connection {
    connector: Connector,
    client: Option<Client>,
}

impl Connection {
    fn client(&mut self) -> Result<&mut Client, String> {
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.connector.connect()?,
        };
        Ok(self.client.insert(client))
    }

    /// Runs `op`; when it failed because the connection was lost (the server restarted),
    /// reconnects and runs it once more. A failed transaction was rolled back, so the retry
    /// is safe.
    fn retrying<T>(
        &mut self,
        mut op: impl FnMut(&mut Client) -> Result<T, String>,
    ) -> Result<T, String> {
        let first = op(self.client()?);
        match first {
            Err(_) if self.client.as_ref().is_some_and(Client::is_closed) => op(self.client()?),
            other => other,
        }
    }
}

/// `y` as a number for plots (the `y_num` column).
fn numeric(y: &Value) -> Option<f64> {
    match y {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => as_float(y).filter(|f| !f.is_nan()),
    }
}

/// The writing side: owned by the recorder's writer thread.
pub(crate) struct Writer {
    conn: Connection,
    /// codename → id; cleared when a transaction fails (its ids may be gone).
    ids: HashMap<String, i32>,
}

impl Writer {
    pub(crate) fn open(connector: Connector) -> Result<Writer, String> {
        let mut conn = Connection {
            connector,
            client: None,
        };
        conn.client()?;
        Ok(Writer {
            conn,
            ids: HashMap::new(),
        })
    }

    /// Writes `rows` in one transaction (one binary COPY); rows without a finite time are
    /// skipped. Returns how many were written.
    pub(crate) fn write(&mut self, rows: &[Row]) -> Result<usize, String> {
        let cache = &mut self.ids;
        let result = self.conn.retrying(|client| write_rows(client, cache, rows));
        if result.is_err() {
            self.ids.clear();
        }
        result
    }

    /// Deletes every row older than `cutoff`, one codename per transaction.
    pub(crate) fn delete_before(&mut self, cutoff: f64) -> Result<u64, String> {
        self.conn.retrying(|client| delete_before(client, cutoff))
    }
}

/// One transaction: new codenames, the rows by binary COPY, the counters.
fn write_rows(
    client: &mut Client,
    cache: &mut HashMap<String, i32>,
    rows: &[Row],
) -> Result<usize, String> {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.time.is_finite()).collect();
    let mut tx = client.transaction().map_err(pg_error("begin"))?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = match cache.get(&row.codename) {
            Some(id) => *id,
            None => {
                // DO UPDATE (a no-op) so RETURNING gives the id of an existing row too.
                let id: i32 = tx
                    .query_one(
                        "INSERT INTO codenames (codename) VALUES ($1) \
                         ON CONFLICT (codename) DO UPDATE SET codename = EXCLUDED.codename \
                         RETURNING id",
                        &[&row.codename],
                    )
                    .map_err(pg_error("insert codename"))?
                    .get(0);
                cache.insert(row.codename.clone(), id);
                id
            }
        };
        ids.push(id);
    }
    let times: Vec<f64> = rows.iter().map(|r| r.time).collect();
    {
        // Binary COPY: the fastest way in (no SQL to parse per row, no arrays to build).
        let sink = tx
            .copy_in("COPY points (codename_id, time, x, y, y_num) FROM STDIN BINARY")
            .map_err(pg_error("copy"))?;
        let types = [
            Type::INT4,
            Type::FLOAT8,
            Type::JSONB,
            Type::JSONB,
            Type::FLOAT8,
        ];
        let mut copy = BinaryCopyInWriter::new(sink, &types);
        for (row, id) in rows.iter().zip(&ids) {
            let number = numeric(&row.y);
            copy.write(&[id, &row.time, &row.x, &row.y, &number])
                .map_err(pg_error("copy"))?;
        }
        copy.finish().map_err(pg_error("copy"))?;
    }
    let mut added: HashMap<i32, (i64, f64, f64)> = HashMap::new();
    for (id, time) in ids.iter().zip(&times) {
        let entry = added.entry(*id).or_insert((0, *time, *time));
        entry.0 += 1;
        entry.1 = entry.1.min(*time);
        entry.2 = entry.2.max(*time);
    }
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, (n, first, last)) in added {
        columns.0.push(id);
        columns.1.push(n);
        columns.2.push(first);
        columns.3.push(last);
    }
    tx.execute(
        "UPDATE codenames c SET rows = c.rows + u.n, first = LEAST(c.first, u.f), \
         last = GREATEST(c.last, u.l) \
         FROM unnest($1::int4[], $2::int8[], $3::float8[], $4::float8[]) AS u(id, n, f, l) \
         WHERE c.id = u.id",
        &[&columns.0, &columns.1, &columns.2, &columns.3],
    )
    .map_err(pg_error("update codenames"))?;
    tx.commit().map_err(pg_error("commit"))?;
    Ok(rows.len())
}

/// Retention on one connection (see [`Writer::delete_before`]).
fn delete_before(client: &mut Client, cutoff: f64) -> Result<u64, String> {
    let ids: Vec<i32> = client
        .query("SELECT id FROM codenames WHERE first < $1", &[&cutoff])
        .map_err(pg_error("retention"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut deleted = 0;
    for id in ids {
        let mut tx = client.transaction().map_err(pg_error("retention"))?;
        let n = tx
            .execute(
                "DELETE FROM points WHERE codename_id = $1 AND time < $2",
                &[&id, &cutoff],
            )
            .map_err(pg_error("retention"))?;
        tx.execute(
            "UPDATE codenames SET rows = rows - $2, \
             first = (SELECT min(time) FROM points WHERE codename_id = $1), \
             last = (SELECT max(time) FROM points WHERE codename_id = $1) WHERE id = $1",
            &[&id, &(n as i64)],
        )
        .map_err(pg_error("retention"))?;
        tx.commit().map_err(pg_error("retention"))?;
        deleted += n;
    }
    Ok(deleted)
}

/// The reading side, on its own connection.
pub(crate) struct Reader {
    conn: Connection,
}

impl Reader {
    pub(crate) fn open(connector: Connector) -> Result<Reader, String> {
        let mut conn = Connection {
            connector,
            client: None,
        };
        conn.client()?;
        Ok(Reader { conn })
    }

    /// Every row of `codename` with `from ≤ time ≤ to`, in time order.
    pub(crate) fn rows(&mut self, codename: &str, from: f64, to: f64) -> Result<Columns, String> {
        self.conn
            .retrying(|client| rows(client, codename, from, to))
    }

    /// M4 of `codename` over `[from, to]`: a streamed index scan of `(ctid, time, y_num)`,
    /// then the kept rows by ctid, in one repeatable-read transaction (so ctids stay put).
    pub(crate) fn downsample(
        &mut self,
        codename: &str,
        from: f64,
        to: f64,
        max_points: u64,
    ) -> Result<Columns, String> {
        self.conn
            .retrying(|client| downsample(client, codename, from, to, max_points))
    }

    /// Every codename with stored rows, by name.
    pub(crate) fn codenames(&mut self) -> Result<Vec<CodenameInfo>, String> {
        self.conn.retrying(codenames)
    }
}

fn codename_id(
    client: &mut impl postgres::GenericClient,
    codename: &str,
) -> Result<Option<i32>, String> {
    Ok(client
        .query_opt("SELECT id FROM codenames WHERE codename = $1", &[&codename])
        .map_err(pg_error("codename id"))?
        .map(|row| row.get(0)))
}

fn rows(client: &mut Client, codename: &str, from: f64, to: f64) -> Result<Columns, String> {
    let mut columns = Columns::default();
    let Some(id) = codename_id(client, codename)? else {
        return Ok(columns);
    };
    for row in client
        .query(
            "SELECT time, x, y FROM points WHERE codename_id = $1 AND time >= $2 AND time <= $3 \
             ORDER BY time",
            &[&id, &from, &to],
        )
        .map_err(pg_error("query"))?
    {
        columns.time.push(row.get(0));
        columns
            .x
            .push(row.get::<_, Option<Value>>(1).unwrap_or(Value::Null));
        columns
            .y
            .push(row.get::<_, Option<Value>>(2).unwrap_or(Value::Null));
    }
    Ok(columns)
}

/// A `ctid` `(block,offset)` as one number for [`M4`], and back.
fn ctid_to_id(ctid: &str) -> Option<i64> {
    let (block, offset) = ctid
        .trim_matches(|c| c == '(' || c == ')')
        .split_once(',')?;
    Some((block.parse::<i64>().ok()? << 16) | offset.parse::<i64>().ok()?)
}

fn id_to_ctid(id: i64) -> String {
    format!("({},{})", id >> 16, id & 0xffff)
}

fn downsample(
    client: &mut Client,
    codename: &str,
    from: f64,
    to: f64,
    max_points: u64,
) -> Result<Columns, String> {
    use postgres::fallible_iterator::FallibleIterator;

    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg_error("query"))?;
    let mut columns = Columns::default();
    let Some(id) = codename_id(&mut tx, codename)? else {
        return Ok(columns);
    };
    let mut m4 = M4::new(from, to, max_points);
    {
        let params: [&(dyn postgres::types::ToSql + Sync); 3] = [&id, &from, &to];
        let mut rows = tx
            .query_raw(
                "SELECT ctid::text, time, y_num FROM points \
                 WHERE codename_id = $1 AND time >= $2 AND time <= $3 ORDER BY time",
                params,
            )
            .map_err(pg_error("query"))?;
        while let Some(row) = rows.next().map_err(pg_error("query"))? {
            let ctid: &str = row.get(0);
            let key =
                ctid_to_id(ctid).ok_or_else(|| format!("history store: unexpected ctid {ctid}"))?;
            m4.push(Scanned {
                key,
                time: row.get(1),
                y: row.get(2),
            });
        }
    }
    let ctids: Vec<String> = m4.finish().into_iter().map(id_to_ctid).collect();
    let order: HashMap<&str, usize> = ctids
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut fetched: Vec<(usize, f64, Value, Value)> = tx
        .query(
            "SELECT ctid::text, time, x, y FROM points WHERE ctid = ANY($1::text[]::tid[])",
            &[&ctids],
        )
        .map_err(pg_error("query"))?
        .iter()
        .filter_map(|row| {
            let position = *order.get(row.get::<_, &str>(0))?;
            Some((
                position,
                row.get(1),
                row.get::<_, Option<Value>>(2).unwrap_or(Value::Null),
                row.get::<_, Option<Value>>(3).unwrap_or(Value::Null),
            ))
        })
        .collect();
    tx.commit().map_err(pg_error("query"))?;
    fetched.sort_by_key(|row| row.0);
    for (_, time, x, y) in fetched {
        columns.time.push(time);
        columns.x.push(x);
        columns.y.push(y);
    }
    Ok(columns)
}

fn codenames(client: &mut Client) -> Result<Vec<CodenameInfo>, String> {
    Ok(client
        .query(
            "SELECT codename, first, last, rows FROM codenames WHERE rows > 0 ORDER BY codename",
            &[],
        )
        .map_err(pg_error("codenames"))?
        .iter()
        .map(|row| CodenameInfo {
            codename: row.get(0),
            first: row.get(1),
            last: row.get(2),
            rows: row.get(3),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctids_round_trip_through_ids() {
        for ctid in ["(0,1)", "(4294967295,65535)", "(12,3)"] {
            assert_eq!(id_to_ctid(ctid_to_id(ctid).unwrap()), ctid);
        }
        assert_eq!(ctid_to_id("nonsense"), None);
    }

    #[test]
    fn urls_and_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "s3cret\nignored\n").unwrap();
        let c = Connector::new("postgres://lab@127.0.0.1:5432/lab", Some(&file)).unwrap();
        assert_eq!(c.config.get_password(), Some(&b"s3cret"[..]));
        let c = Connector::new("postgres://lab:inurl@127.0.0.1/lab", Some(&file)).unwrap();
        assert_eq!(c.config.get_password(), Some(&b"inurl"[..]));
        assert_eq!(c.shown, "postgres://lab@127.0.0.1/lab");
        assert!(Connector::new("mysql://x", None)
            .err()
            .unwrap()
            .contains("[history] url"));
        let missing = dir.path().join("nope");
        assert!(Connector::new("postgres://lab@h/lab", Some(&missing))
            .err()
            .unwrap()
            .contains("[history] password_file"));
    }

    #[test]
    fn numbers_for_plots() {
        use serde_json::json;
        assert_eq!(numeric(&json!(3)), Some(3.0));
        assert_eq!(numeric(&json!(true)), Some(1.0));
        assert_eq!(numeric(&json!({"$float": "NaN"})), None);
        assert_eq!(
            numeric(&json!({"$float": "-Infinity"})),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(numeric(&json!("3")), None);
    }
}
