//! The PostgreSQL schema, set up on every (re)connection of the store (cheap when it is
//! there): created when missing, the table of the first version (no key) migrated, and the
//! rows table made a TimescaleDB hypertable when the extension is there.
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
//!     y_num DOUBLE PRECISION,       -- y as a number for plots: numbers, booleans as 1/0,
//!                                   -- ±Infinity; NULL for NaN and non-numbers
//!     CONSTRAINT points_key PRIMARY KEY (codename_id, time)
//! );
//! CREATE VIEW history AS SELECT c.codename, p.time, to_timestamp(p.time) AS ts,
//!     p.x, p.y, p.y_num FROM points p JOIN codenames c ON c.id = p.codename_id;
//! ```
//!
//! A row is unique per codename and time (as in the SQLite store): a replayed batch never
//! duplicates a row, and a later row with the same codename and time replaces the earlier.
//!
//! **Migration.** A `points` table without that key (labsocket before the key) is migrated in
//! one transaction: duplicates of a codename and time are removed (one of each is kept), the
//! key is added, the old index dropped and the `codenames` counters recounted. It holds a
//! lock on the table while it runs (seconds per million rows).
//!
//! **TimescaleDB.** When `pg_available_extensions` lists `timescaledb`, the store creates the
//! extension (if the user may; it must be in `shared_preload_libraries`) and makes an empty
//! `points` a hypertable partitioned on `time` through the immutable
//! `labsocket_history_time(double precision) = to_timestamp($1)` (TimescaleDB partitions on
//! timestamps or integers, not on floats), 7-day chunks. A `points` that already has rows
//! is left a plain table (converting moves every row; do it yourself with
//! `create_hypertable(..., migrate_data => true)` if you want it). Otherwise, or when
//! anything of this fails, a plain table; the log says which.
//!
//! Everything runs in one transaction under an advisory lock, so several labsocket hosts
//! sharing a database can start at once.

use postgres::{Client, Transaction};

use super::pg_error;

/// `pg_advisory_xact_lock` key of the schema setup ("labsocket-history" as a number).
const LOCK_KEY: i64 = 0x6c61_6273_6869_7374;

const TABLES: &str = "
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
    y_num DOUBLE PRECISION,
    CONSTRAINT points_key PRIMARY KEY (codename_id, time)
);
CREATE OR REPLACE VIEW history AS
    SELECT c.codename, p.time, to_timestamp(p.time) AS ts, p.x, p.y, p.y_num
    FROM points p JOIN codenames c ON c.id = p.codename_id;
";

/// Whether `points` has a unique index on exactly `(codename_id, time)`.
const HAS_KEY: &str = "
SELECT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = 'points'::regclass AND i.indisunique AND i.indnkeyatts = 2
      AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                         WHERE attrelid = 'points'::regclass AND attname = 'codename_id')
      AND i.indkey[1] = (SELECT attnum FROM pg_attribute
                         WHERE attrelid = 'points'::regclass AND attname = 'time'))";

/// What the setup found or did, for the log.
pub(crate) struct Layout {
    /// "a plain table (...)" or "a TimescaleDB hypertable".
    pub(crate) table: String,
    /// Set when the pre-key table was migrated: how many duplicate rows went.
    pub(crate) migrated: Option<u64>,
}

/// Creates what is missing, migrates, sets up TimescaleDB when available.
pub(crate) fn prepare(client: &mut Client) -> Result<Layout, String> {
    let mut tx = client.transaction().map_err(pg_error("schema"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map_err(pg_error("schema lock"))?;
    tx.batch_execute(TABLES)
        .map_err(pg_error("create schema"))?;
    let has_key: bool = tx
        .query_one(HAS_KEY, &[])
        .map_err(pg_error("schema"))?
        .get(0);
    let migrated = if has_key {
        None
    } else {
        Some(migrate(&mut tx)?)
    };
    let table = timescale(&mut tx)?;
    tx.commit().map_err(pg_error("schema commit"))?;
    Ok(Layout { table, migrated })
}

/// Adds the `(codename_id, time)` key to a table of the first version; returns how many
/// duplicates were removed.
fn migrate(tx: &mut Transaction) -> Result<u64, String> {
    // Keep the row stored last (highest ctid) of each duplicate group: a later set replaces
    // an earlier one, as it does from now on.
    let removed = tx
        .execute(
            "DELETE FROM points a USING points b \
             WHERE a.codename_id = b.codename_id AND a.time = b.time AND a.ctid < b.ctid",
            &[],
        )
        .map_err(pg_error("migrate: remove duplicates"))?;
    tx.batch_execute(
        "ALTER TABLE points ADD CONSTRAINT points_key PRIMARY KEY (codename_id, time);
         DROP INDEX IF EXISTS points_codename_time;",
    )
    .map_err(pg_error("migrate: add the key"))?;
    if removed > 0 {
        tx.execute(
            "UPDATE codenames c SET rows = s.n, first = s.f, last = s.l FROM ( \
                 SELECT k.id, count(p.time) AS n, min(p.time) AS f, max(p.time) AS l \
                 FROM codenames k LEFT JOIN points p ON p.codename_id = k.id GROUP BY k.id \
             ) s WHERE c.id = s.id",
            &[],
        )
        .map_err(pg_error("migrate: recount"))?;
    }
    Ok(removed)
}

/// TimescaleDB when available (see the module doc); returns what `points` is.
fn timescale(tx: &mut Transaction) -> Result<String, String> {
    let flag = |tx: &mut Transaction, sql: &str| -> Result<bool, String> {
        Ok(tx
            .query_one(sql, &[])
            .map_err(pg_error("timescaledb"))?
            .get(0))
    };
    let installed = flag(
        tx,
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')",
    )?;
    if !installed {
        let available = flag(
            tx,
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
        )?;
        if !available {
            return Ok("a plain table (TimescaleDB is not installed on the server)".into());
        }
        // A savepoint: a refused CREATE EXTENSION must not abort the schema's transaction.
        let mut savepoint = tx.transaction().map_err(pg_error("timescaledb"))?;
        if let Err(err) = savepoint.batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb") {
            drop(savepoint);
            return Ok(format!(
                "a plain table (CREATE EXTENSION timescaledb failed: {})",
                super::error_text(&err)
            ));
        }
        savepoint.commit().map_err(pg_error("timescaledb"))?;
    }
    let hyper = flag(
        tx,
        "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables \
         WHERE format('%I.%I', hypertable_schema, hypertable_name)::regclass = 'points'::regclass)",
    )?;
    if hyper {
        return Ok("a TimescaleDB hypertable".into());
    }
    if flag(tx, "SELECT EXISTS (SELECT 1 FROM points)")? {
        return Ok("a plain table (it has rows from before TimescaleDB; convert it with create_hypertable(..., migrate_data => true) if wanted)".into());
    }
    let mut savepoint = tx.transaction().map_err(pg_error("timescaledb"))?;
    let converted = savepoint.batch_execute(
        "CREATE OR REPLACE FUNCTION labsocket_history_time(double precision)
             RETURNS timestamptz LANGUAGE sql IMMUTABLE AS 'SELECT to_timestamp($1)';
         SELECT create_hypertable('points', 'time',
             time_partitioning_func => 'labsocket_history_time',
             chunk_time_interval => INTERVAL '7 days',
             create_default_indexes => false);",
    );
    match converted {
        Ok(()) => {
            savepoint.commit().map_err(pg_error("timescaledb"))?;
            Ok("a TimescaleDB hypertable (created now)".into())
        }
        Err(err) => Ok(format!(
            "a plain table (create_hypertable failed: {})",
            super::error_text(&err)
        )),
    }
}
