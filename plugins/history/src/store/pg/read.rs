//! Queries on PostgreSQL, each on a connection of the readers' pool (`store::Readers`).
//!
//! A query fails at once, saying so, while the store knows PostgreSQL is unreachable
//! ([`Health`]); otherwise a connection attempt is bounded by the connect timeout and a
//! statement by [`STATEMENT_TIMEOUT`], so a query never hangs.

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient};
use serde_json::Value;

use super::link::Health;
use super::{pg_error, Connector};
use crate::m4::{Scanned, M4};
use crate::store::{CodenameInfo, Columns};

/// The longest a query may run on the server (M4 over a year of 10 Hz takes seconds).
const STATEMENT_TIMEOUT: &str = "120s";

/// The reading side, on its own connection.
pub(crate) struct Reader {
    connector: Connector,
    health: Health,
    client: Option<Client>,
}

impl Reader {
    /// A reader; it connects on its first query.
    pub(crate) fn new(connector: Connector, health: Health) -> Reader {
        Reader {
            connector,
            health,
            client: None,
        }
    }

    fn client(&mut self) -> Result<&mut Client, String> {
        if let Some(down) = self.health.unreachable() {
            self.client = None;
            return Err(down);
        }
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => {
                let mut client = self.connector.connect()?;
                client
                    .batch_execute(&format!("SET statement_timeout = '{STATEMENT_TIMEOUT}'"))
                    .map_err(pg_error("statement_timeout"))?;
                client
            }
        };
        Ok(self.client.insert(client))
    }

    /// Runs `op`; when it failed because the connection was lost (the server restarted),
    /// reconnects and runs it once more (a read: safe to repeat).
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

    /// The first `limit` rows of `codename` with `from ≤ time ≤ to`, in time order.
    pub(crate) fn rows(
        &mut self,
        codename: &str,
        from: f64,
        to: f64,
        limit: usize,
    ) -> Result<Columns, String> {
        self.retrying(|client| rows(client, codename, from, to, limit))
    }

    /// M4 of `codename` over `[from, to]`: a streamed index scan of `(time, y_num)`, then
    /// the kept rows by their key `(codename, time)`, in one repeatable-read transaction.
    pub(crate) fn downsample(
        &mut self,
        codename: &str,
        from: f64,
        to: f64,
        max_points: u64,
    ) -> Result<Columns, String> {
        self.retrying(|client| downsample(client, codename, from, to, max_points))
    }

    /// Every codename with stored rows, by name.
    pub(crate) fn codenames(&mut self) -> Result<Vec<CodenameInfo>, String> {
        self.retrying(codenames)
    }
}

fn codename_id(client: &mut impl GenericClient, codename: &str) -> Result<Option<i32>, String> {
    Ok(client
        .query_opt("SELECT id FROM codenames WHERE codename = $1", &[&codename])
        .map_err(pg_error("codename id"))?
        .map(|row| row.get(0)))
}

fn push(columns: &mut Columns, row: &postgres::Row) {
    columns.time.push(row.get(0));
    columns
        .x
        .push(row.get::<_, Option<Value>>(1).unwrap_or(Value::Null));
    columns
        .y
        .push(row.get::<_, Option<Value>>(2).unwrap_or(Value::Null));
}

fn rows(
    client: &mut Client,
    codename: &str,
    from: f64,
    to: f64,
    limit: usize,
) -> Result<Columns, String> {
    let mut columns = Columns::default();
    let Some(id) = codename_id(client, codename)? else {
        return Ok(columns);
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    for row in client
        .query(
            "SELECT time, x, y FROM points WHERE codename_id = $1 AND time >= $2 AND time <= $3 \
             ORDER BY time LIMIT $4",
            &[&id, &from, &to, &limit],
        )
        .map_err(pg_error("query"))?
    {
        push(&mut columns, &row);
    }
    Ok(columns)
}

fn downsample(
    client: &mut Client,
    codename: &str,
    from: f64,
    to: f64,
    max_points: u64,
) -> Result<Columns, String> {
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
                "SELECT time, y_num FROM points \
                 WHERE codename_id = $1 AND time >= $2 AND time <= $3 ORDER BY time",
                params,
            )
            .map_err(pg_error("query"))?;
        while let Some(row) = rows.next().map_err(pg_error("query"))? {
            let time: f64 = row.get(0);
            m4.push(Scanned {
                // The time is the row's key within the codename: M4 hands it back.
                key: time.to_bits() as i64,
                time,
                y: row.get(1),
            });
        }
    }
    let times: Vec<f64> = m4
        .finish()
        .into_iter()
        .map(|key| f64::from_bits(key as u64))
        .collect();
    let fetched = tx
        .query(
            "SELECT time, x, y FROM points WHERE codename_id = $1 AND time = ANY($2) \
             ORDER BY time",
            &[&id, &times],
        )
        .map_err(pg_error("query"))?;
    tx.commit().map_err(pg_error("query"))?;
    for row in &fetched {
        push(&mut columns, row);
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
