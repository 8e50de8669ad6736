//! The PostgreSQL store (`[history] store = "postgres"`), for labs that already run one and
//! read it from Grafana's built-in PostgreSQL source.
//!
//! - [`schema`]: the tables (created when missing, the pre-key table migrated), TimescaleDB.
//! - [`write`]: one batch in one transaction, idempotent on `(codename, time)`; retention.
//! - [`link`]: the store's state and its background thread: lazy connect with backoff, the
//!   on-disk spool ([`super::spool`]) while PostgreSQL is unreachable or failing, replay.
//! - [`read`]: the queries.
//!
//! The password comes from the url, else `password_file` (its first line), else the
//! `PGPASSWORD` environment variable. No TLS: a loopback or lab-network server.

mod link;
mod read;
mod schema;
mod write;

use std::error::Error;
use std::path::Path;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use labsocket_plugin_api::as_float;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls};
use serde_json::Value;

use super::Row;

pub(crate) use link::{Health, StoreStats, Writer};
pub(crate) use read::Reader;

/// How long a connection attempt may take when the url sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Unacknowledged data on a connection this long means the server is gone (a host that
/// vanished from the network sends no reset): the write fails instead of hanging.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(20);

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
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        config.keepalives(true);
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

    /// The url without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    fn connect(&self) -> Result<Client, String> {
        self.config.connect(NoTls).map_err(|err| {
            format!(
                "PostgreSQL at {} is unreachable: {}",
                self.shown,
                error_text(&err)
            )
        })
    }
}

/// An error's text with its cause (`postgres::Error`'s own text is often just "error
/// connecting to server").
fn error_text(err: &postgres::Error) -> String {
    match err.source() {
        Some(source) if !err.to_string().contains(&source.to_string()) => {
            format!("{err}: {source}")
        }
        _ => err.to_string(),
    }
}

fn pg_error(what: &str) -> impl Fn(postgres::Error) -> String + '_ {
    move |err| format!("history store: {what}: {}", error_text(&err))
}

/// A row as PostgreSQL receives it (and as the spool keeps it): the values already as the
/// JSON text of their `jsonb` columns, and `y_num` computed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PgRow {
    pub(crate) codename: String,
    pub(crate) time: f64,
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) y_num: Option<f64>,
}

impl PgRow {
    pub(crate) fn new(row: &Row) -> PgRow {
        PgRow {
            codename: row.codename.clone(),
            time: row.time,
            x: row.x.to_string(),
            y: row.y.to_string(),
            y_num: numeric(&row.y),
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

/// JSON text sent as a `jsonb` (or `json`) parameter as it is: the spool keeps the text,
/// so a replayed value is byte for byte what a direct write would have sent.
#[derive(Debug)]
struct Jsonb<'a>(&'a str);

impl ToSql for Jsonb<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if *ty == Type::JSONB {
            // The jsonb binary format: a version byte, then the text.
            out.put_u8(1);
        }
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(numeric(&json!(3)), Some(3.0));
        assert_eq!(numeric(&json!(true)), Some(1.0));
        assert_eq!(numeric(&json!({"$float": "NaN"})), None);
        assert_eq!(
            numeric(&json!({"$float": "-Infinity"})),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(numeric(&json!("3")), None);
    }

    #[test]
    fn rows_keep_their_json_text() {
        let row = Row {
            codename: "a".into(),
            time: 0.1 + 0.2,
            x: json!(1.0),
            y: json!([1, {"b": null}]),
        };
        let pg = PgRow::new(&row);
        assert_eq!((pg.x.as_str(), pg.y.as_str()), ("1.0", "[1,{\"b\":null}]"));
        assert_eq!(pg.time.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(pg.y_num, None);
    }
}
