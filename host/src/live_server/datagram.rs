//! Reading one PyExpLabSys LiveSocket datagram (reference §5).
//!
//! A LiveSocket sends `json.dumps({"host": gethostname(), "data": {codename: [x, y]}})`,
//! or `"RESET"` in place of `[x, y]` to clear a codename. Python's `json` is the writer, so
//! the datagram is read with `pyjson` (it accepts `NaN` and `Infinity`
//! like Python) and every value keeps its type. A datagram is taken whole or refused
//! whole: half of a batch would show a plot that never happened.

use crate::events::host_topics::LIVE_RESET;
use crate::pyjson::{self, Value};

/// Longest host name and codename, in bytes. Far above real ones (a DNS name is at most
/// 253 bytes); it keeps one datagram from naming a megabyte-long series.
pub const MAX_NAME_BYTES: usize = 1024;

/// One received datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveUpdate {
    pub host: String,
    /// In datagram order.
    pub entries: Vec<(String, Entry)>,
}

/// What a datagram says about one codename.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A new point; `x` is a number (normally a Unix time), `y` any JSON value.
    Point { x: Value, y: Value },
    /// Forget this codename's series.
    Reset,
}

impl LiveUpdate {
    /// The event payload: the datagram's own shape, `{"host": h, "data": {c: [x, y] |
    /// "RESET"}}`.
    pub fn to_value(&self) -> Value {
        let data = self
            .entries
            .iter()
            .map(|(codename, entry)| {
                let value = match entry {
                    Entry::Point { x, y } => Value::List(vec![x.clone(), y.clone()]),
                    Entry::Reset => Value::Str(LIVE_RESET.to_owned()),
                };
                (codename.clone(), value)
            })
            .collect();
        crate::call::object([
            ("host", Value::Str(self.host.clone())),
            ("data", Value::Dict(data)),
        ])
    }
}

/// Reads a datagram, or says in one line what is wrong with it.
pub fn parse(bytes: &[u8]) -> Result<LiveUpdate, String> {
    let value = pyjson::parse_bytes(bytes).map_err(|err| format!("not JSON: {err}"))?;
    let Value::Dict(mut fields) = value else {
        return Err("expected a JSON object {\"host\": ..., \"data\": {...}}".to_owned());
    };
    let host = match fields.shift_remove("host") {
        Some(Value::Str(host)) => checked_name("host", host)?,
        Some(_) => return Err("'host' must be a string".to_owned()),
        None => return Err("'host' is missing".to_owned()),
    };
    let data = match fields.shift_remove("data") {
        Some(Value::Dict(data)) => data,
        Some(_) => return Err("'data' must be an object {codename: [x, y] | \"RESET\"}".to_owned()),
        None => return Err("'data' is missing".to_owned()),
    };
    let entries = data
        .into_iter()
        .map(|(codename, value)| {
            let codename = checked_name("codename", codename)?;
            let entry = entry(&codename, value)?;
            Ok((codename, entry))
        })
        .collect::<Result<_, String>>()?;
    Ok(LiveUpdate { host, entries })
}

fn checked_name(what: &str, name: String) -> Result<String, String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("{what} longer than {MAX_NAME_BYTES} bytes"));
    }
    Ok(name)
}

fn entry(codename: &str, value: Value) -> Result<Entry, String> {
    match value {
        Value::Str(text) if text == LIVE_RESET => Ok(Entry::Reset),
        Value::List(pair) if pair.len() == 2 && pair[0].is_number() => {
            let mut pair = pair.into_iter();
            let (Some(x), Some(y)) = (pair.next(), pair.next()) else {
                unreachable!("the length was checked")
            };
            Ok(Entry::Point { x, y })
        }
        _ => Err(format!(
            "data.{codename}: expected [x, y] with a numeric x, or \"RESET\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_livesocket_datagrams_are_read_with_their_types() {
        // Bytes as PyExpLabSys' LiveSocket sends them (reference §5, verified there).
        let update =
            parse(br#"{"host": "vm", "data": {"c1": [1795238203.5888622, 1.5], "c2": [123.0, "running"], "c3": [1, NaN]}}"#)
                .unwrap();
        assert_eq!(update.host, "vm");
        assert_eq!(
            update.entries[0],
            (
                "c1".to_owned(),
                Entry::Point {
                    x: Value::Float(1795238203.5888622),
                    y: Value::Float(1.5)
                }
            )
        );
        assert_eq!(
            update.entries[1].1,
            Entry::Point {
                x: Value::Float(123.0),
                y: Value::Str("running".into())
            }
        );
        assert!(
            matches!(&update.entries[2].1, Entry::Point { x: Value::Int(1), y: Value::Float(y) } if y.is_nan())
        );
        let reset = parse(br#"{"host": "vm", "data": {"c1": "RESET"}}"#).unwrap();
        assert_eq!(reset.entries, [("c1".to_owned(), Entry::Reset)]);
        assert_eq!(
            pyjson::to_compact_json(&reset.to_value()),
            r#"{"host":"vm","data":{"c1":"RESET"}}"#
        );
    }

    #[test]
    fn malformed_datagrams_say_what_is_wrong() {
        let long = format!(r#"{{"host": "{}", "data": {{}}}}"#, "h".repeat(2000));
        for (bytes, expected) in [
            (&b"RESET"[..], "not JSON"),
            (b"\xff\xfe", "not JSON"),
            (b"[1, 2]", "expected a JSON object"),
            (br#"{"data": {}}"#, "'host' is missing"),
            (br#"{"host": 1, "data": {}}"#, "'host' must be a string"),
            (br#"{"host": "h"}"#, "'data' is missing"),
            (br#"{"host": "h", "data": [1]}"#, "'data' must be an object"),
            (
                br#"{"host": "h", "data": {"c": [1]}}"#,
                "data.c: expected [x, y]",
            ),
            (
                br#"{"host": "h", "data": {"c": ["t", 1]}}"#,
                "data.c: expected",
            ),
            (
                br#"{"host": "h", "data": {"c": "reset"}}"#,
                "data.c: expected",
            ),
            (long.as_bytes(), "host longer than 1024 bytes"),
        ] {
            let err = parse(bytes).unwrap_err();
            assert!(err.contains(expected), "{bytes:?}: {err}");
        }
    }
}
