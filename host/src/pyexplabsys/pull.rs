//! Pull sockets (`DateDataPullSocket`, `DataPullSocket`): command dispatch and rendering.
//!
//! The reply bytes are the contract (reference §2): Python's `str()` of x and y joined by
//! a comma in the raw forms, `json.dumps` in the JSON forms, `OLD_DATA` in place of a
//! point older than its timeout, and the bare `UNKNOWN_COMMMAND` (three M's) for anything
//! else. Dispatch is exact: a request with exactly one `#` is `codename#fmt`, any other is
//! compared whole, with no trimming and case-sensitive.
//!
//! Points come from the host's shared point table, so only the configured codenames are
//! served (PyExpLabSys' quirk of serving stray codenames in `json_wn`, reference §8 Q4,
//! has no equivalent). A codename never set reads as `(0.0, 0.0)` set at time 0, as in
//! PyExpLabSys, so with a timeout it is `OLD_DATA` until first set.

use std::collections::HashMap;
use std::sync::Arc;

use super::config::{PullKind, PullSocketConfig};
use super::UNKNOWN_COMMAND;
use crate::points::{Point, PointTable};
use crate::pyjson::{write_python_json, write_python_str, Value};

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Send the text written to the output buffer.
    Reply,
    /// Send the `status` JSON (built off the socket's loop: it may call a plugin).
    Status,
    /// Send nothing (the request was not ASCII, as PyExpLabSys).
    Nothing,
}

/// One pull socket's view of the point table.
pub struct PullSocket {
    pub name: String,
    pub kind: PullKind,
    pub codenames: Vec<String>,
    /// Index of each codename, for `codename#fmt` requests.
    index: HashMap<String, usize>,
    timeouts: Vec<Option<f64>>,
    /// Each codename as a JSON string, for `json_wn`.
    json_keys: Vec<String>,
    codenames_raw: String,
    codenames_json: String,
    unset: Arc<Point>,
    points: PointTable,
}

/// A point as served: the stored one, or `None` when it is older than its timeout.
type Served = Option<Arc<Point>>;

impl PullSocket {
    /// Each codename with its timeout in seconds (`None`: never `OLD_DATA`).
    pub fn timeouts(&self) -> impl Iterator<Item = (&str, Option<f64>)> {
        self.codenames
            .iter()
            .map(String::as_str)
            .zip(self.timeouts.iter().copied())
    }

    pub fn new(config: &PullSocketConfig, points: PointTable) -> Self {
        let codenames = config.codenames.clone();
        let as_json = |codename: &String| {
            let mut key = String::new();
            write_python_json(&Value::Str(codename.clone()), &mut key);
            key
        };
        let json_keys: Vec<String> = codenames.iter().map(as_json).collect();
        Self {
            name: config.name.clone(),
            kind: config.kind,
            index: codenames
                .iter()
                .enumerate()
                .map(|(i, codename)| (codename.clone(), i))
                .collect(),
            timeouts: codenames.iter().map(|c| config.timeout_of(c)).collect(),
            codenames_raw: codenames.join(","),
            codenames_json: format!("[{}]", json_keys.join(", ")),
            json_keys,
            codenames,
            unset: Arc::new(Point {
                x: Value::Float(0.0),
                y: Value::Float(0.0),
                set_at: 0.0,
                received_at: 0.0,
            }),
            points,
        }
    }

    /// Answers `request`, writing any reply text to `out` (cleared first).
    pub fn answer(&self, request: &[u8], now: f64, out: &mut String) -> Answer {
        out.clear();
        let Some(command) = std::str::from_utf8(request).ok().filter(|c| c.is_ascii()) else {
            return Answer::Nothing;
        };
        if command.bytes().filter(|b| *b == b'#').count() == 1 {
            let (codename, format) = command.split_once('#').unwrap_or_default();
            match (self.index.get(codename), format) {
                (Some(&i), "raw") => write_raw(&self.served(i, now), out),
                (Some(&i), "json") => write_json(&self.served(i, now), out),
                _ => out.push_str(UNKNOWN_COMMAND),
            }
            return Answer::Reply;
        }
        match command {
            "raw" => self.write_all(now, out, ";", |_, point, out| write_raw(point, out)),
            "json" => {
                out.push('[');
                self.write_all(now, out, ", ", |_, point, out| write_json(point, out));
                out.push(']');
            }
            "raw_wn" => self.write_all(now, out, ";", |i, point, out| {
                out.push_str(&self.codenames[i]);
                out.push(':');
                write_raw(point, out);
            }),
            "json_wn" => {
                out.push('{');
                self.write_all(now, out, ", ", |i, point, out| {
                    out.push_str(&self.json_keys[i]);
                    out.push_str(": ");
                    write_json(point, out);
                });
                out.push('}');
            }
            "codenames_raw" => out.push_str(&self.codenames_raw),
            "codenames_json" => out.push_str(&self.codenames_json),
            "name" => out.push_str(&self.name),
            "status" => return Answer::Status,
            _ => out.push_str(UNKNOWN_COMMAND),
        }
        Answer::Reply
    }

    /// Writes every codename's point with `write(index, point, out)`, separated.
    fn write_all(
        &self,
        now: f64,
        out: &mut String,
        separator: &str,
        write: impl Fn(usize, &Served, &mut String),
    ) {
        for i in 0..self.codenames.len() {
            if i > 0 {
                out.push_str(separator);
            }
            write(i, &self.served(i, now), out);
        }
    }

    /// The point of codename `i` as served at `now`.
    fn served(&self, i: usize, now: f64) -> Served {
        if self.points.is_stale(&self.codenames[i]) {
            return None; // its (remote) host is offline: OLD_DATA whatever the timeout
        }
        let point = self
            .points
            .get(&self.codenames[i])
            .unwrap_or_else(|| self.unset.clone());
        let Some(timeout) = self.timeouts[i] else {
            return Some(point);
        };
        let reference = match self.kind {
            PullKind::Date => date_reference(&point.x),
            PullKind::Data => Some(point.set_at),
        };
        // PyExpLabSys' test, written as it is: old when `now - reference > timeout`. A NaN
        // reference compares false, so it is never old, as in Python.
        match reference {
            Some(reference) if now - reference > timeout => None,
            _ => Some(point),
        }
    }

    /// When this socket last had a point set: the latest time one of its codenames was
    /// stored. Not the points' `set_at`: PyExpLabSys pokes the socket when `set_point` is
    /// called, even with an old `timestamp=`.
    pub fn last_set(&self) -> f64 {
        self.codenames
            .iter()
            .filter_map(|codename| self.points.get(codename))
            .map(|point| point.received_at)
            .fold(0.0, f64::max)
    }
}

/// The time a date socket judges a point's age by: its x, when x is a number (a bool is
/// one in Python: `time.time() - True` works). Any other x (a string, `null`, a list) has
/// no age and is served as it is: `set_point` accepts any x, as PyExpLabSys does, and
/// only numbers are judged.
fn date_reference(x: &Value) -> Option<f64> {
    match x {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        x => x.as_f64(),
    }
}

/// `X,Y` (Python `'{},{}'.format(x, y)`) or `OLD_DATA`.
fn write_raw(point: &Served, out: &mut String) {
    match point {
        Some(point) => {
            write_python_str(&point.x, out);
            out.push(',');
            write_python_str(&point.y, out);
        }
        None => out.push_str(super::OLD_DATA),
    }
}

/// `[x, y]` (`json.dumps`) or `"OLD_DATA"`.
fn write_json(point: &Served, out: &mut String) {
    match point {
        Some(point) => {
            out.push('[');
            write_python_json(&point.x, out);
            out.push_str(", ");
            write_python_json(&point.y, out);
            out.push(']');
        }
        None => {
            out.push('"');
            out.push_str(super::OLD_DATA);
            out.push('"');
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::events::EventBus;

    const T: f64 = 1795238169.2582886;

    fn socket(kind: PullKind, codenames: &[&str], timeouts: &[(&str, f64)]) -> PullSocket {
        let config = PullSocketConfig {
            name: "my date socket".into(),
            kind,
            port: Some(0),
            codenames: codenames.iter().map(|c| c.to_string()).collect(),
            timeouts: timeouts
                .iter()
                .map(|(c, t)| (c.to_string(), *t))
                .collect::<BTreeMap<_, _>>(),
            timeout: None,
            check_activity: true,
            activity_timeout: 900.0,
            allow: None,
        };
        PullSocket::new(&config, PointTable::new(EventBus::new()))
    }

    fn ask(socket: &PullSocket, request: &str, now: f64) -> String {
        let mut out = String::new();
        assert_eq!(
            socket.answer(request.as_bytes(), now, &mut out),
            Answer::Reply
        );
        out
    }

    #[test]
    fn worked_example_before_anything_is_set() {
        let s = socket(PullKind::Date, &["a", "b", "c"], &[("b", 1.0), ("c", 0.5)]);
        let cases = [
            ("raw", "0.0,0.0;OLD_DATA;OLD_DATA"),
            ("json", r#"[[0.0, 0.0], "OLD_DATA", "OLD_DATA"]"#),
            ("raw_wn", "a:0.0,0.0;b:OLD_DATA;c:OLD_DATA"),
            (
                "json_wn",
                r#"{"a": [0.0, 0.0], "b": "OLD_DATA", "c": "OLD_DATA"}"#,
            ),
            ("a#raw", "0.0,0.0"),
            ("a#json", "[0.0, 0.0]"),
            ("b#raw", "OLD_DATA"),
            ("b#json", "\"OLD_DATA\""),
            ("codenames_raw", "a,b,c"),
            ("codenames_json", r#"["a", "b", "c"]"#),
            ("name", "my date socket"),
            ("zz#raw", "UNKNOWN_COMMMAND"),
            ("a#", "UNKNOWN_COMMMAND"),
            ("#raw", "UNKNOWN_COMMMAND"),
            ("a#raw#x", "UNKNOWN_COMMMAND"),
            ("RAW", "UNKNOWN_COMMMAND"),
            ("raw\n", "UNKNOWN_COMMMAND"),
            ("", "UNKNOWN_COMMMAND"),
        ];
        for (request, reply) in cases {
            assert_eq!(ask(&s, request, T), reply, "for {request:?}");
        }
        let mut out = String::new();
        assert_eq!(s.answer(b"status", T, &mut out), Answer::Status);
        assert_eq!(s.answer("é".as_bytes(), T, &mut out), Answer::Nothing);
    }

    #[test]
    fn values_render_as_python_does() {
        let s = socket(PullKind::Date, &["a", "b", "c"], &[]);
        let set = |c: &str, y: Value| s.points.set(c, Value::Float(T), y, None);
        set("a", Value::Float(42.0));
        set("b", Value::Int(1));
        set("c", Value::Str("hello".into()));
        assert_eq!(
            ask(&s, "raw", T),
            "1795238169.2582886,42.0;1795238169.2582886,1;1795238169.2582886,hello"
        );
        assert_eq!(
            ask(&s, "json_wn", T),
            r#"{"a": [1795238169.2582886, 42.0], "b": [1795238169.2582886, 1], "c": [1795238169.2582886, "hello"]}"#
        );
        set("a", Value::Float(f64::NAN));
        set("b", Value::Float(f64::INFINITY));
        set("c", Value::Null);
        assert_eq!(
            ask(&s, "json", T),
            "[[1795238169.2582886, NaN], [1795238169.2582886, Infinity], [1795238169.2582886, null]]"
        );
        set("a", Value::Bool(true));
        set("b", Value::List(vec![Value::Int(1), Value::Int(2)]));
        set("c", Value::Float(1e16));
        assert_eq!(
            ask(&s, "raw", T),
            "1795238169.2582886,True;1795238169.2582886,[1, 2];1795238169.2582886,1e+16"
        );
    }

    #[test]
    fn date_sockets_judge_x_and_data_sockets_the_set_time() {
        let date = socket(PullKind::Date, &["a"], &[("a", 0.5)]);
        date.points
            .set("a", Value::Float(100.0), Value::Int(1), Some(1000.0));
        assert_eq!(
            ask(&date, "a#raw", 100.5),
            "100.0,1",
            "age == timeout is fresh"
        );
        assert_eq!(ask(&date, "a#raw", 100.6), "OLD_DATA");
        assert_eq!(
            ask(&date, "a#raw", 50.0),
            "100.0,1",
            "future points are fresh"
        );
        // NaN ages compare false in Python: never OLD_DATA.
        date.points
            .set("a", Value::Float(f64::NAN), Value::Int(1), Some(1000.0));
        assert_eq!(ask(&date, "a#raw", 100.6), "nan,1");
        // Only numeric x is judged; a bool is a number to Python (True is 1).
        date.points
            .set("a", Value::Str("abc".into()), Value::Int(1), Some(1.0));
        assert_eq!(ask(&date, "a#json", 1e9), r#"["abc", 1]"#);
        date.points.set("a", Value::Null, Value::Int(1), Some(1.0));
        assert_eq!(ask(&date, "a#raw", 1e9), "None,1");
        date.points
            .set("a", Value::Bool(true), Value::Int(1), Some(1.0));
        assert_eq!(ask(&date, "a#raw", 1.5), "True,1");
        assert_eq!(ask(&date, "a#raw", 1.6), "OLD_DATA");
        let data = socket(PullKind::Data, &["x1"], &[("x1", 0.5)]);
        assert_eq!(ask(&data, "x1#raw", 1.0), "OLD_DATA", "unset is old");
        data.points
            .set("x1", Value::Int(5), Value::Int(6), Some(990.0));
        assert_eq!(ask(&data, "x1#raw", 1000.0), "OLD_DATA");
        data.points
            .set("x1", Value::Int(5), Value::Int(6), Some(1000.0));
        assert_eq!(ask(&data, "x1#raw", 1000.2), "5,6");
        let received = data.points.get("x1").unwrap().received_at;
        assert!(received > 1000.0, "stored now, not at its timestamp");
        assert_eq!(data.last_set(), received);
    }

    #[test]
    fn a_stale_prefix_is_old_data_whatever_the_timeout() {
        let s = socket(PullKind::Date, &["pc1/a", "b"], &[]);
        s.points
            .set("pc1/a", Value::Float(100.0), Value::Int(1), Some(100.0));
        s.points
            .set("b", Value::Float(100.0), Value::Int(2), Some(100.0));
        assert_eq!(ask(&s, "pc1/a#raw", 100.0), "100.0,1");
        s.points.set_stale("pc1/", true);
        assert_eq!(ask(&s, "raw", 100.0), "OLD_DATA;100.0,2");
        s.points.set_stale("pc1/", false);
        assert_eq!(ask(&s, "pc1/a#raw", 100.0), "100.0,1");
    }
}
