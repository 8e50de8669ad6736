//! The [`Value`] tree shared by the parser and the writers, its small
//! accessors, and the conversions to and from `serde_json::Value`.

use indexmap::IndexMap;

/// A JSON document as CPython's `json.loads` sees it.
///
/// The variants mirror the Python objects `json.loads` creates, because the
/// writers must reproduce what Python prints for those objects:
/// integers stay integers of any size (Python `int`), floats may be
/// non-finite (`NaN`/`Infinity` are accepted by Python), and dicts keep
/// insertion order (Python `dict`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Python `None` / JSON `null`.
    Null,
    /// Python `True`/`False`.
    Bool(bool),
    /// A Python `int` that fits in `i64`.
    Int(i64),
    /// A Python `int` outside the `i64` range, as canonical decimal text
    /// (optional leading `-`, no leading zeros, no `+`).
    BigInt(String),
    /// A Python `float`; may be NaN or ±infinity.
    Float(f64),
    /// A Python `str`.
    Str(String),
    /// A Python `list`.
    List(Vec<Value>),
    /// A Python `dict` with `str` keys; iteration order is insertion order.
    Dict(IndexMap<String, Value>),
}

impl Value {
    /// The numeric value as `f64`, like Python's `float(x)` for an `int` or
    /// `float`; `None` for anything that is not a number.
    ///
    /// Unlike Python, a `BigInt` too large for a float gives ±infinity
    /// instead of raising `OverflowError`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            // The text is decimal digits, which `f64::from_str` rounds
            // correctly; a malformed hand-built BigInt gives `None`.
            Value::BigInt(s) => s.parse().ok(),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The text of a `Str`, `None` for anything else.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value stored under `key` in a `Dict`; `None` if the key is
    /// missing or `self` is not a `Dict`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(map) => map.get(key),
            _ => None,
        }
    }

    /// True for `Int`, `BigInt` and `Float` (Python `int`/`float`; `bool`
    /// is deliberately not a number here even though Python's `bool`
    /// subclasses `int`).
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::BigInt(_) | Value::Float(_))
    }

    /// Converts to a `serde_json::Value`.
    ///
    /// Lossy where serde_json cannot represent the value:
    /// - non-finite floats (NaN, ±inf) become `null`, because
    ///   `serde_json::Number` only holds finite numbers;
    /// - a `BigInt` is kept exact when it fits in `u64`, otherwise it
    ///   becomes the nearest `f64` (or `null` if even that overflows);
    /// - dict order is kept only if serde_json is built with its
    ///   `preserve_order` feature; otherwise `serde_json::Map` sorts keys.
    pub fn to_serde_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::BigInt(s) => match s.parse::<u64>() {
                Ok(u) => J::from(u),
                Err(_) => float_to_serde(s.parse().unwrap_or(f64::NAN)),
            },
            Value::Float(f) => float_to_serde(*f),
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_serde_json).collect()),
            Value::Dict(map) => J::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_serde_json()))
                    .collect(),
            ),
        }
    }
}

/// `serde_json::Number` rejects non-finite floats; map them to `null`.
fn float_to_serde(f: f64) -> serde_json::Value {
    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

impl From<serde_json::Value> for Value {
    /// Numbers map like Python would read the same JSON text: integers
    /// fitting `i64` become `Int`, larger `u64` integers `BigInt`, and
    /// everything else `Float`.
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::BigInt(u.to_string())
                } else {
                    // Without serde_json's `arbitrary_precision` feature a
                    // non-integer Number always has an f64.
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => Value::Str(s),
            J::Array(items) => Value::List(items.into_iter().map(Value::from).collect()),
            J::Object(map) => Value::Dict(map.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dict(pairs: &[(&str, Value)]) -> Value {
        Value::Dict(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn as_f64_covers_numbers_only() {
        assert_eq!(Value::Int(-3).as_f64(), Some(-3.0));
        assert_eq!(
            Value::BigInt("18446744073709551616".into()).as_f64(),
            Some(18446744073709551616.0)
        );
        assert_eq!(
            Value::BigInt(format!("-1{}", "0".repeat(400))).as_f64(),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(Value::Float(2.5).as_f64(), Some(2.5));
        assert!(Value::Float(f64::NAN).as_f64().unwrap().is_nan());
        assert_eq!(Value::Bool(true).as_f64(), None);
        assert_eq!(Value::Str("1".into()).as_f64(), None);
        assert_eq!(Value::Null.as_f64(), None);
    }

    #[test]
    fn as_str_and_get() {
        let v = dict(&[("a", Value::Str("x".into())), ("b", Value::Int(1))]);
        assert_eq!(v.get("a").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("b"), Some(&Value::Int(1)));
        assert_eq!(v.get("c"), None);
        assert_eq!(Value::List(vec![]).get("a"), None);
        assert_eq!(Value::Int(1).as_str(), None);
    }

    #[test]
    fn is_number() {
        assert!(Value::Int(0).is_number());
        assert!(Value::BigInt("99999999999999999999".into()).is_number());
        assert!(Value::Float(f64::INFINITY).is_number());
        assert!(!Value::Bool(false).is_number());
        assert!(!Value::Str("1".into()).is_number());
        assert!(!Value::Null.is_number());
    }

    #[test]
    fn from_serde_json() {
        let j = json!({"z": 1, "a": [true, null, -5, 18446744073709551615u64, 1.5, "s"]});
        let v = Value::from(j);
        let list = v.get("a").unwrap();
        assert_eq!(
            list,
            &Value::List(vec![
                Value::Bool(true),
                Value::Null,
                Value::Int(-5),
                Value::BigInt("18446744073709551615".into()),
                Value::Float(1.5),
                Value::Str("s".into()),
            ])
        );
        assert_eq!(v.get("z"), Some(&Value::Int(1)));
    }

    #[test]
    fn to_serde_json_maps_lossy_cases() {
        let v = Value::List(vec![
            Value::Null,
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::BigInt("18446744073709551615".into()),
            Value::BigInt("-9223372036854775809".into()),
            Value::BigInt("1".to_string() + &"0".repeat(400)),
            Value::Float(0.5),
            Value::Float(f64::NAN),
            Value::Float(f64::NEG_INFINITY),
            Value::Str("é".into()),
            dict(&[("k", Value::Int(2))]),
        ]);
        assert_eq!(
            v.to_serde_json(),
            json!([
                null,
                false,
                i64::MIN,
                18446744073709551615u64,
                -9223372036854775809.0,
                null,
                0.5,
                null,
                null,
                "é",
                {"k": 2}
            ])
        );
    }

    #[test]
    fn serde_round_trip() {
        let j = json!({"a": [1, -2, 3.25, "x", {"b": null}], "c": true});
        assert_eq!(Value::from(j.clone()).to_serde_json(), j);
    }
}
