//! Where rows are kept: SQLite ([`sqlite`], the default) or PostgreSQL ([`pg`]). The
//! recorder and the queries see only [`Writer`] and [`Reader`], which dispatch to the one
//! chosen by `[history] store`.

pub(crate) mod pg;
pub(crate) mod sqlite;

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
    /// Every row of `codename` with `from ≤ time ≤ to`, in time order.
    pub(crate) fn rows(&mut self, codename: &str, from: f64, to: f64) -> Result<Columns, String> {
        match self {
            Reader::Sqlite(r) => r.rows(codename, from, to),
            Reader::Postgres(r) => r.rows(codename, from, to),
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
