//! Where rows are kept: SQLite ([`sqlite`], the default) or PostgreSQL ([`pg`]). The
//! recorder and the queries see only [`Writer`] and [`Reader`], which dispatch to the one
//! chosen by `[history] store`.

pub(crate) mod pg;
pub(crate) mod rollup;
pub(crate) mod spool;
pub(crate) mod sqlite;

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

/// One recorded point: SPEC §8's `(codename, time, x, y)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) codename: String,
    /// The point's set time, Unix seconds.
    pub(crate) time: f64,
    pub(crate) x: Value,
    pub(crate) y: Value,
}

/// Columns of one codename's rows, in time order.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Columns {
    pub(crate) time: Vec<f64>,
    pub(crate) x: Vec<Value>,
    pub(crate) y: Vec<Value>,
}

/// One line of `history.codenames`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct CodenameInfo {
    pub(crate) codename: String,
    pub(crate) first: Option<f64>,
    pub(crate) last: Option<f64>,
    pub(crate) rows: i64,
}

/// The writing side, owned by the recorder's writer thread.
pub(crate) enum Writer {
    Sqlite(sqlite::Writer),
    /// Boxed: a PostgreSQL client is large and there is one writer.
    Postgres(Box<pg::Writer>),
}

impl Writer {
    /// Writes `rows` in one transaction; returns how many were written.
    pub(crate) fn write(&mut self, rows: &[Row]) -> Result<usize, String> {
        match self {
            Writer::Sqlite(w) => w.write(rows),
            Writer::Postgres(w) => w.write(rows),
        }
    }

    /// Deletes every row older than `cutoff` (Unix seconds); returns how many went.
    pub(crate) fn delete_before(&mut self, cutoff: f64) -> Result<u64, String> {
        match self {
            Writer::Sqlite(w) => w.delete_before(cutoff),
            Writer::Postgres(w) => w.delete_before(cutoff),
        }
    }
}

/// The reading side, for queries.
pub(crate) enum Reader {
    Sqlite(sqlite::Reader),
    /// Boxed: a PostgreSQL client is large and there is one reader.
    Postgres(Box<pg::Reader>),
}

impl Reader {
    /// The first `limit` rows of `codename` with `from ≤ time ≤ to`, in time order.
    pub(crate) fn rows(
        &mut self,
        codename: &str,
        from: f64,
        to: f64,
        limit: usize,
    ) -> Result<Columns, String> {
        match self {
            Reader::Sqlite(r) => r.rows(codename, from, to, limit),
            Reader::Postgres(r) => r.rows(codename, from, to, limit),
        }
    }

    /// At most `max_points` rows of `codename` in `[from, to]`, by M4 ([`crate::m4`]).
    pub(crate) fn downsample(
        &mut self,
        codename: &str,
        from: f64,
        to: f64,
        max_points: u64,
    ) -> Result<Columns, String> {
        match self {
            Reader::Sqlite(r) => r.downsample(codename, from, to, max_points),
            Reader::Postgres(r) => r.downsample(codename, from, to, max_points),
        }
    }

    /// Every codename with stored rows, by name.
    pub(crate) fn codenames(&mut self) -> Result<Vec<CodenameInfo>, String> {
        match self {
            Reader::Sqlite(r) => r.codenames(),
            Reader::Postgres(r) => r.codenames(),
        }
    }
}

/// Read connections kept open between queries.
const IDLE_READERS: usize = 4;

/// Where more read connections come from.
pub(crate) enum ReaderSource {
    Sqlite(PathBuf),
    /// Boxed: the connection settings are large and there is one source. The store's
    /// health lets a query fail at once while PostgreSQL is known to be unreachable.
    Postgres(Box<(pg::Connector, pg::Health)>),
}

impl ReaderSource {
    fn open(&self) -> Result<Reader, String> {
        Ok(match self {
            ReaderSource::Sqlite(path) => Reader::Sqlite(sqlite::Reader::open(path)?),
            ReaderSource::Postgres(source) => {
                let (connector, health) = &**source;
                Reader::Postgres(Box::new(pg::Reader::new(connector.clone(), health.clone())))
            }
        })
    }
}

/// The read connections of the queries: each query takes an idle one or opens another, so a
/// long query (M4 over a year) never holds up a short one from another client.
pub(crate) struct Readers {
    source: ReaderSource,
    idle: Mutex<Vec<Reader>>,
}

impl Readers {
    /// Opens the first connection now, so a store that cannot be read fails at init (a
    /// PostgreSQL reader connects on its first query: the server may be down at start).
    pub(crate) fn new(source: ReaderSource) -> Result<Readers, String> {
        let first = source.open()?;
        Ok(Readers {
            source,
            idle: Mutex::new(vec![first]),
        })
    }

    /// Runs `query` on a connection of its own (an error only when none could be opened).
    pub(crate) fn with<T>(&self, query: impl FnOnce(&mut Reader) -> T) -> Result<T, String> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut reader = match idle {
            Some(reader) => reader,
            None => self.source.open()?,
        };
        let result = query(&mut reader);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(reader);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn a_query_in_progress_does_not_hold_up_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(sqlite::FILE_NAME);
        let mut writer = sqlite::Writer::open(&path).unwrap();
        let row = Row {
            codename: "a".into(),
            time: 1.0,
            x: json!(1),
            y: json!(2),
        };
        writer.write(&[row]).unwrap();
        let readers = Readers::new(ReaderSource::Sqlite(path)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // A second query while the first still holds its connection.
            let inner = readers
                .with(|_outer| readers.with(|inner| inner.codenames().unwrap()).unwrap())
                .unwrap();
            tx.send(inner.len()).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(1));
    }
}
