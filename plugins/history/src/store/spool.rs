//! The PostgreSQL store's on-disk spool: rows that could not be written to PostgreSQL
//! (unreachable, or failing) wait here, in order, until it has committed them.
//!
//! A SQLite file in the plugin's data dir (`<data_dir>/plugins/history/pg-spool.sqlite3`),
//! WAL and `synchronous = FULL`: a row is in the spool once [`Spool::push`] returned, and a
//! `kill -9` (or a power cut) loses none of it; at the next start the store replays it.
//!
//! ```sql
//! CREATE TABLE spool (
//!     seq      INTEGER PRIMARY KEY,  -- arrival order: replayed in this order
//!     codename TEXT NOT NULL,
//!     time     REAL NOT NULL,        -- exactly the f64 of the row (the key in PostgreSQL)
//!     x        TEXT NOT NULL,        -- the values as the JSON text PostgreSQL gets
//!     y        TEXT NOT NULL,
//!     y_num    REAL                  -- the y_num column, computed once
//! );
//! ```
//!
//! Rows are stored exactly as they will be sent (JSON text, the float time), so a row
//! replayed is the row PostgreSQL would have received, and its key matches a copy that
//! PostgreSQL may already hold. The spool is bounded by `[history] spool_max_bytes` (the
//! file's used pages); rows that do not fit are refused and counted by the caller.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection};

use super::pg::PgRow;

/// The spool's file name in the plugin's data dir.
pub(crate) const SPOOL_FILE: &str = "pg-spool.sqlite3";

/// What a row costs in the file besides its text (time, y_num, seq, record header), for
/// the estimate of what fits.
const ROW_OVERHEAD: u64 = 32;

fn sql_error(what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |err| format!("history spool: {what}: {err}")
}

/// The spool file, on one connection (the store serialises access).
pub(crate) struct Spool {
    conn: Connection,
    path: PathBuf,
    max_bytes: u64,
    /// Rows in the file now.
    rows: u64,
    /// Bytes of the file's used pages (free pages, reused later, do not count).
    bytes: u64,
}

/// A chunk read from the head of the spool.
pub(crate) struct Chunk {
    pub(crate) rows: Vec<PgRow>,
    /// The last row's `seq`: [`Spool::remove_through`] takes it once PostgreSQL has them.
    pub(crate) last_seq: i64,
}

impl Spool {
    /// Opens (creating when missing) the spool in `dir`, bounded by `max_bytes`.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<Spool, String> {
        std::fs::create_dir_all(dir)
            .map_err(|err| format!("history: cannot create {}: {err}", dir.display()))?;
        let path = dir.join(SPOOL_FILE);
        let conn = Connection::open(&path)
            .map_err(|err| format!("history spool: cannot open {}: {err}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql_error("busy_timeout"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(sql_error("journal_mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "history spool: {} cannot use WAL (journal_mode stays {mode})",
                path.display()
            ));
        }
        // FULL: a spooled row stands in for a committed one, so it must survive a power cut
        // too. One fsync per batch, and only while PostgreSQL is away.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql_error("synchronous"))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spool (
                seq      INTEGER PRIMARY KEY,
                codename TEXT NOT NULL,
                time     REAL NOT NULL,
                x        TEXT NOT NULL,
                y        TEXT NOT NULL,
                y_num    REAL
            );",
        )
        .map_err(sql_error("create"))?;
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM spool", [], |row| row.get(0))
            .map_err(sql_error("count"))?;
        let mut spool = Spool {
            conn,
            path,
            max_bytes,
            rows: rows as u64,
            bytes: 0,
        };
        spool.measure()?;
        Ok(spool)
    }

    /// The file's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Recomputes [`Spool::bytes`] from the file's page counts.
    fn measure(&mut self) -> Result<(), String> {
        let pragma = |name: &str| -> Result<u64, String> {
            self.conn
                .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(sql_error("measure"))
        };
        let used = pragma("page_count")?.saturating_sub(pragma("freelist_count")?);
        self.bytes = used * pragma("page_size")?;
        Ok(())
    }

    /// Appends `rows` in one transaction, as many as fit under the bound (in order: a
    /// prefix). Returns how many were stored; the rest are the caller's to count as lost.
    pub(crate) fn push(&mut self, rows: &[PgRow]) -> Result<usize, String> {
        let mut room = self.max_bytes.saturating_sub(self.bytes);
        let mut fit = 0;
        for row in rows {
            let text = row.codename.len() + row.x.len() + row.y.len();
            // A sixteenth more for page headers and overflow pages of long values, so the
            // file stays under the bound (measured: a 10 kB value takes 10.34 kB).
            let cost = (text as u64 + ROW_OVERHEAD) * 17 / 16;
            if cost > room {
                break;
            }
            room -= cost;
            fit += 1;
        }
        if fit == 0 {
            return Ok(0);
        }
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(sql_error("begin"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO spool (codename, time, x, y, y_num) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql_error("insert"))?;
            for row in &rows[..fit] {
                insert
                    .execute(params![row.codename, row.time, row.x, row.y, row.y_num])
                    .map_err(sql_error("insert"))?;
            }
        }
        tx.commit().map_err(sql_error("commit"))?;
        self.rows += fit as u64;
        self.measure()?;
        Ok(fit)
    }

    /// Up to `limit` rows from the head, in arrival order; `None` when the spool is empty.
    pub(crate) fn head(&self, limit: usize) -> Result<Option<Chunk>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, codename, time, x, y, y_num FROM spool ORDER BY seq LIMIT ?1",
            )
            .map_err(sql_error("read"))?;
        let mut rows = Vec::new();
        let mut last_seq = None;
        let mut cursor = stmt.query([limit as i64]).map_err(sql_error("read"))?;
        while let Some(row) = cursor.next().map_err(sql_error("read"))? {
            last_seq = Some(row.get::<_, i64>(0).map_err(sql_error("read"))?);
            rows.push(PgRow {
                codename: row.get(1).map_err(sql_error("read"))?,
                time: row.get(2).map_err(sql_error("read"))?,
                x: row.get(3).map_err(sql_error("read"))?,
                y: row.get(4).map_err(sql_error("read"))?,
                y_num: row.get(5).map_err(sql_error("read"))?,
            });
        }
        Ok(last_seq.map(|last_seq| Chunk { rows, last_seq }))
    }

    /// Removes every row up to and including `seq` (PostgreSQL committed them).
    pub(crate) fn remove_through(&mut self, seq: i64) -> Result<(), String> {
        let removed = self
            .conn
            .execute("DELETE FROM spool WHERE seq <= ?1", [seq])
            .map_err(sql_error("remove"))?;
        self.rows = self.rows.saturating_sub(removed as u64);
        self.measure()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: usize) -> PgRow {
        PgRow {
            codename: format!("c{}", i % 3),
            time: 1.0 + i as f64 * 0.1,
            x: i.to_string(),
            y: format!("{{\"v\": {i}}}"),
            y_num: i.is_multiple_of(2).then_some(i as f64),
        }
    }

    #[test]
    fn rows_come_back_in_order_exactly_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<PgRow> = (0..25).map(row).collect();
        {
            let mut spool = Spool::open(dir.path(), 1 << 30).unwrap();
            assert_eq!(spool.push(&rows[..10]).unwrap(), 10);
            assert_eq!(spool.push(&rows[10..]).unwrap(), 15);
            assert_eq!(spool.rows(), 25);
        }
        let mut spool = Spool::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(spool.rows(), 25);
        let mut seen = Vec::new();
        while let Some(chunk) = spool.head(7).unwrap() {
            assert!(chunk.rows.len() <= 7);
            seen.extend(chunk.rows);
            spool.remove_through(chunk.last_seq).unwrap();
        }
        assert_eq!(seen, rows);
        assert_eq!(spool.rows(), 0);
    }

    #[test]
    fn a_full_spool_takes_a_prefix_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 0).unwrap();
        // The empty file's own pages already exceed a zero bound.
        assert_eq!(spool.push(&[row(1)]).unwrap(), 0);
        let small = spool.bytes() + 10 * 64;
        let mut spool = Spool::open(dir.path(), small).unwrap();
        let rows: Vec<PgRow> = (0..100).map(row).collect();
        let stored = spool.push(&rows).unwrap();
        assert!(stored > 0 && stored < 100, "{stored}");
        assert_eq!(spool.head(1000).unwrap().unwrap().rows, rows[..stored]);
    }
}
