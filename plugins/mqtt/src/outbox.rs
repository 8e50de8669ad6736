//! The on-disk outbox of `batch` messages: every change is written here first and counts
//! as sent only once the broker acknowledged (QoS 1 PUBACK) the batch that carried it.
//! The last [`KEEP_SENT`] sent rows are kept: a receiver that subscribed again after the
//! replay went out (it reconnected to a restarted broker later than this host) asks for a
//! resend from its last seq (`resend` topic) and gets them again.
//!
//! rumqttc forgets its unacknowledged publishes when a reconnect does not resume the
//! session (and a broker restart without persistence never resumes it), so the plugin
//! keeps its own queue. SQLite in WAL mode: one file in the plugin's directory, survives a
//! crash of the host, and is bounded (`outbox_max_batches`; the oldest rows go first).

use std::path::Path;

use rusqlite::{params, Connection};

/// Rows kept after the broker acknowledged them, for resend requests: at one row per
/// publisher round (5 ms) under load, at least 20 s of changes.
pub(crate) const KEEP_SENT: i64 = 4096;

/// The outbox file in the plugin's directory.
pub(crate) const FILE_NAME: &str = "outbox.sqlite3";

/// Rows of the outbox: `(seq, points)`, `points` being the JSON text of
/// `[[codename, time, x, y], ...]`.
pub(crate) struct Outbox {
    db: Connection,
    max_rows: u64,
    /// Rows up to this seq were acknowledged by the broker (persisted in `outbox_acked`).
    acked: i64,
    /// Rows dropped because the outbox was full, since start.
    dropped: u64,
}

impl Outbox {
    /// Opens (creates) the outbox at `path`.
    pub(crate) fn open(path: &Path, max_rows: u64) -> Result<Outbox, String> {
        let fail = |err: rusqlite::Error| format!("mqtt outbox {}: {err}", path.display());
        let db = Connection::open(path).map_err(fail)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS outbox (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 points TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS outbox_acked (
                 id INTEGER PRIMARY KEY CHECK (id = 0),
                 seq INTEGER NOT NULL
             );",
        )
        .map_err(fail)?;
        let acked = db
            .query_row(
                "SELECT COALESCE((SELECT seq FROM outbox_acked WHERE id = 0), 0)",
                [],
                |row| row.get(0),
            )
            .map_err(fail)?;
        Ok(Outbox {
            db,
            max_rows,
            acked,
            dropped: 0,
        })
    }

    /// Appends one batch; drops the oldest rows beyond the bound. Returns its seq.
    pub(crate) fn push(&mut self, points_json: &str) -> Result<i64, String> {
        self.db
            .execute(
                "INSERT INTO outbox (points) VALUES (?1)",
                params![points_json],
            )
            .map_err(|err| format!("mqtt outbox: cannot append: {err}"))?;
        let seq = self.db.last_insert_rowid();
        let over = self.len()?.saturating_sub(self.max_rows);
        if over > 0 {
            let removed = self
                .db
                .execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq > ?2 ORDER BY seq LIMIT ?1)",
                    params![over as i64, self.acked],
                )
                .map_err(|err| format!("mqtt outbox: cannot trim: {err}"))?;
            self.dropped += removed as u64;
        }
        Ok(seq)
    }

    /// The oldest rows not yet acknowledged, as many as fit in about `max_bytes` of points
    /// text (at least one).
    pub(crate) fn oldest(&self, max_bytes: usize) -> Result<Vec<(i64, String)>, String> {
        self.from(self.acked + 1, max_bytes)
    }

    /// The rows from seq `first` on (sent ones included, as far as they are kept), as many
    /// as fit in about `max_bytes` of points text (at least one).
    pub(crate) fn from(&self, first: i64, max_bytes: usize) -> Result<Vec<(i64, String)>, String> {
        let fail = |err: rusqlite::Error| format!("mqtt outbox: cannot read: {err}");
        let mut statement = self
            .db
            .prepare_cached(
                "SELECT seq, points FROM outbox WHERE seq >= ?1 ORDER BY seq LIMIT 1000",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map([first], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(fail)?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for row in rows {
            let row = row.map_err(fail)?;
            bytes += row.1.len();
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Every row up to and including `seq` was acknowledged: it is sent, and kept only
    /// while among the last [`KEEP_SENT`] sent rows.
    pub(crate) fn ack_upto(&mut self, seq: i64) -> Result<(), String> {
        if seq <= self.acked {
            return Ok(()); // a resent batch: those rows were acknowledged before
        }
        let fail = |err: rusqlite::Error| format!("mqtt outbox: cannot mark sent: {err}");
        self.db
            .execute(
                "INSERT INTO outbox_acked (id, seq) VALUES (0, ?1)
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
                params![seq],
            )
            .map_err(fail)?;
        self.acked = seq;
        self.db
            .execute(
                "DELETE FROM outbox WHERE seq <= ?1",
                params![seq - KEEP_SENT],
            )
            .map_err(fail)?;
        Ok(())
    }

    /// The highest seq acknowledged by the broker (0 when none).
    pub(crate) fn acked(&self) -> i64 {
        self.acked
    }

    /// The highest seq ever given (0 for a new outbox), kept across deletes.
    pub(crate) fn last_seq(&self) -> Result<i64, String> {
        self.db
            .query_row(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
                [],
                |row| row.get(0),
            )
            .map_err(|err| format!("mqtt outbox: cannot read the sequence: {err}"))
    }

    /// Rows waiting for the broker.
    pub(crate) fn len(&self) -> Result<u64, String> {
        self.db
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE seq > ?1",
                [self.acked],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|err| format!("mqtt outbox: cannot count: {err}"))
    }

    /// Rows dropped because the outbox was full, since start.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_reopen_and_go_only_when_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut outbox = Outbox::open(&path, 10).unwrap();
        let a = outbox.push("[[\"a\",1,1,1]]").unwrap();
        let b = outbox.push("[[\"b\",2,2,2]]").unwrap();
        assert!(b > a);
        drop(outbox);
        let mut outbox = Outbox::open(&path, 10).unwrap();
        let rows = outbox.oldest(1 << 20).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [a, b]);
        assert_eq!(
            outbox.oldest(1).unwrap().len(),
            1,
            "at least one row, then the cap"
        );
        outbox.ack_upto(a).unwrap();
        assert_eq!(outbox.len().unwrap(), 1);
        outbox.ack_upto(b).unwrap();
        assert_eq!(outbox.len().unwrap(), 0);
        assert!(outbox.oldest(1 << 20).unwrap().is_empty());
        assert_eq!(
            outbox.from(a, 1 << 20).unwrap().len(),
            2,
            "sent rows are kept for resends"
        );
        drop(outbox);
        let mut outbox = Outbox::open(&path, 10).unwrap();
        assert_eq!(outbox.acked(), b, "what was acknowledged survives a reopen");
        let c = outbox.push("[]").unwrap();
        assert!(c > b, "seqs are never reused");
        assert_eq!(outbox.last_seq().unwrap(), c);
    }

    #[test]
    fn the_bound_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(&dir.path().join(FILE_NAME), 3).unwrap();
        let seqs: Vec<i64> = (0..5).map(|_| outbox.push("[]").unwrap()).collect();
        assert_eq!(outbox.len().unwrap(), 3);
        assert_eq!(outbox.dropped(), 2);
        let kept: Vec<i64> = outbox
            .oldest(1 << 20)
            .unwrap()
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(kept, seqs[2..]);
    }

    #[test]
    fn only_the_last_sent_rows_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(&dir.path().join(FILE_NAME), 1 << 20).unwrap();
        let last = (0..KEEP_SENT + 10)
            .map(|_| outbox.push("[]").unwrap())
            .last()
            .unwrap();
        outbox.ack_upto(last).unwrap();
        let kept = outbox.from(0, usize::MAX).unwrap();
        assert_eq!(kept.first().map(|r| r.0), Some(last - KEEP_SENT + 1));
        assert_eq!(outbox.len().unwrap(), 0);
    }
}
