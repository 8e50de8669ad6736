//! Writing to PostgreSQL: one batch in one transaction, idempotent on `(codename, time)`,
//! and retention.
//!
//! A batch goes in as one `INSERT ... SELECT ... ON CONFLICT (codename_id, time) DO UPDATE`
//! statement whose `RETURNING` feeds the `codenames` counters in the same statement: a row
//! already stored with the same values is left alone (a replayed batch writes nothing), one
//! with other values is replaced (a later set of the same codename and time wins, as in the
//! SQLite store), and only new rows are counted.
//!
//! The rows come from `unnest($1, ..., $5)` of array parameters for small batches, and from
//! a binary `COPY` into a temporary table for big ones (measured on PostgreSQL 15 here, rows
//! per second, the same run: 1,000-row batches 58k unnest vs 31k COPY; 20,000-row batches
//! 29k unnest vs 49k COPY; the COPY's fixed cost pays off from a few thousand rows).

use std::collections::{HashMap, HashSet};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, Transaction};

use super::{error_text, pg_error, Jsonb, PgRow};

/// From this many rows a batch goes through `COPY` (see the module doc).
const COPY_FROM: usize = 4_000;

/// Why a batch did not go in.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection or the server: the rows are fine; keep them and try again later.
    Unavailable(String),
    /// PostgreSQL refused the data itself (a data exception, a constraint, a limit): trying
    /// the same rows again would fail the same way.
    Refused(String),
}

impl Failure {
    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Unavailable(m) | Failure::Refused(m) => m,
        }
    }
}

fn failure(what: &'static str) -> impl Fn(postgres::Error) -> Failure {
    move |err| {
        let text = format!("history store: {what}: {}", error_text(&err));
        // SQLSTATE classes 22 (data exception, e.g. a NUL character), 23 (integrity) and 54
        // (program limit, e.g. a value too large) are about the rows, not the server.
        let refused = err
            .code()
            .is_some_and(|code| matches!(&code.code()[..2], "22" | "23" | "54"));
        if refused {
            Failure::Refused(text)
        } else {
            Failure::Unavailable(text)
        }
    }
}

/// What a committed batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// Rows new to the table.
    pub(crate) inserted: u64,
    /// Rows whose codename and time were there already, with other values: replaced.
    pub(crate) replaced: u64,
    /// Rows already stored exactly so (a replay): nothing written.
    pub(crate) unchanged: u64,
}

/// The statement, with `{rows}` the row source.
const INSERT: &str = "
WITH ins AS (
    INSERT INTO points AS p (codename_id, time, x, y, y_num)
    SELECT * FROM {rows}
    ON CONFLICT (codename_id, time) DO UPDATE
        SET x = EXCLUDED.x, y = EXCLUDED.y, y_num = EXCLUDED.y_num
        WHERE (p.x::text, p.y::text) IS DISTINCT FROM (EXCLUDED.x::text, EXCLUDED.y::text)
    RETURNING p.codename_id, p.time, (p.xmax = 0) AS new
), counts AS (
    SELECT codename_id, count(*) FILTER (WHERE new) AS n, count(*) AS changed,
           min(time) AS f, max(time) AS l
    FROM ins GROUP BY codename_id
)
UPDATE codenames c SET rows = c.rows + counts.n,
    first = LEAST(c.first, counts.f), last = GREATEST(c.last, counts.l)
FROM counts WHERE c.id = counts.codename_id
RETURNING counts.n, counts.changed";

/// Writes `rows` in one transaction. `ids` caches codename ids of this connection (the
/// caller clears it when a transaction failed: its ids may have been rolled back).
pub(crate) fn write_rows(
    client: &mut Client,
    ids: &mut HashMap<String, i32>,
    rows: &[PgRow],
) -> Result<Written, Failure> {
    // One statement may not touch a row twice: of rows with the same codename and time in a
    // batch, the last one is the row (it would have replaced the others).
    let mut seen = HashSet::with_capacity(rows.len());
    let mut keep: Vec<&PgRow> = rows
        .iter()
        .rev()
        .filter(|r| r.time.is_finite() && seen.insert((r.codename.as_str(), r.time.to_bits())))
        .collect();
    keep.reverse();
    let in_batch_duplicates = (rows.len() - keep.len()) as u64;
    let mut tx = client.transaction().map_err(failure("begin"))?;
    let mut columns = Columns::default();
    for row in &keep {
        let id = match ids.get(&row.codename) {
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
                    .map_err(failure("insert codename"))?
                    .get(0);
                ids.insert(row.codename.clone(), id);
                id
            }
        };
        columns.ids.push(id);
        columns.times.push(row.time);
        columns.x.push(Jsonb(&row.x));
        columns.y.push(Jsonb(&row.y));
        columns.y_num.push(row.y_num);
    }
    let counted = if keep.len() >= COPY_FROM {
        copy_in(&mut tx, &columns)?;
        tx.query(&INSERT.replace("{rows}", "points_in"), &[])
    } else {
        let source = "unnest($1::int4[], $2::float8[], $3::jsonb[], $4::jsonb[], $5::float8[])";
        tx.query(
            &INSERT.replace("{rows}", source),
            &[
                &columns.ids,
                &columns.times,
                &columns.x,
                &columns.y,
                &columns.y_num,
            ],
        )
    };
    let mut written = Written::default();
    for counts in counted.map_err(failure("insert"))? {
        let (new, changed): (i64, i64) = (counts.get(0), counts.get(1));
        written.inserted += new as u64;
        written.replaced += (changed - new) as u64;
    }
    tx.commit().map_err(failure("commit"))?;
    written.unchanged = keep.len() as u64 - written.inserted - written.replaced;
    // A row followed by another of the same codename and time in the batch was replaced.
    written.replaced += in_batch_duplicates;
    Ok(written)
}

/// A batch as the columns of `points`.
#[derive(Default)]
struct Columns<'a> {
    ids: Vec<i32>,
    times: Vec<f64>,
    x: Vec<Jsonb<'a>>,
    y: Vec<Jsonb<'a>>,
    y_num: Vec<Option<f64>>,
}

/// The batch's columns by binary `COPY` into the session's temporary `points_in` (emptied
/// at commit).
fn copy_in(tx: &mut Transaction, columns: &Columns) -> Result<(), Failure> {
    tx.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS points_in (codename_id int4, time float8, \
         x jsonb, y jsonb, y_num float8) ON COMMIT DELETE ROWS",
    )
    .map_err(failure("copy"))?;
    let sink = tx
        .copy_in("COPY points_in FROM STDIN BINARY")
        .map_err(failure("copy"))?;
    let types = [
        Type::INT4,
        Type::FLOAT8,
        Type::JSONB,
        Type::JSONB,
        Type::FLOAT8,
    ];
    let mut copy = BinaryCopyInWriter::new(sink, &types);
    for i in 0..columns.ids.len() {
        copy.write(&[
            &columns.ids[i],
            &columns.times[i],
            &columns.x[i],
            &columns.y[i],
            &columns.y_num[i],
        ])
        .map_err(failure("copy"))?;
    }
    copy.finish().map_err(failure("copy"))?;
    Ok(())
}

/// Deletes every row older than `cutoff`, one codename per transaction.
pub(crate) fn delete_before(client: &mut Client, cutoff: f64) -> Result<u64, String> {
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
