//! Converting payloads at the plugin boundary, so `NaN` and `Infinity` survive it.
//!
//! Plugins speak strict JSON; the host's values may hold non-finite floats. Going in, each
//! becomes the tagged object of `labsocket_plugin_api::float` (`{"$float": "NaN"}`); coming
//! out (replies, error data, emitted events, set points), the tagged object becomes the
//! float again. A plugin that passes values through therefore returns them unchanged.

use labsocket_plugin_api::float::{nonfinite_from_name, nonfinite_name, FLOAT_TAG};

use std::fmt::Write as _;

use crate::pyjson::{self, Value};

/// `value` as a plugin receives it.
pub fn to_plugin(value: &Value) -> serde_json::Value {
    match value {
        Value::Float(f) => match nonfinite_name(*f) {
            Some(name) => serde_json::json!({ FLOAT_TAG: name }),
            None => value.to_serde_json(),
        },
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_plugin).collect()),
        Value::Dict(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(key, item)| (key.clone(), to_plugin(item)))
                .collect(),
        ),
        leaf => leaf.to_serde_json(),
    }
}

/// Appends the JSON text of [`to_plugin`]`(value)` to `out` without building the
/// `serde_json` tree: events cross to plugins by the hundred thousand per second.
pub fn write_plugin_json(value: &Value, out: &mut String) {
    match value {
        // Any shortest round-trip text will do for a plugin (it parses it back), and ryu's
        // is several times cheaper than Python's `repr` digits.
        Value::Float(f) if f.is_finite() => out.push_str(ryu::Buffer::new().format_finite(*f)),
        Value::Float(f) => {
            out.push('{');
            pyjson::write_compact_json_str(FLOAT_TAG, out);
            out.push(':');
            pyjson::write_compact_json_str(nonfinite_name(*f).unwrap_or("NaN"), out);
            out.push('}');
        }
        // As `to_serde_json` maps it: a u64, else the nearest float, else null.
        Value::BigInt(digits) => match digits.parse::<u64>() {
            Ok(n) => {
                let _ = write!(out, "{n}");
            }
            Err(_) => match digits.parse::<f64>() {
                Ok(f) if f.is_finite() => out.push_str(ryu::Buffer::new().format_finite(f)),
                _ => out.push_str("null"),
            },
        },
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_plugin_json(item, out);
            }
            out.push(']');
        }
        Value::Dict(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pyjson::write_compact_json_str(key, out);
                out.push(':');
                write_plugin_json(item, out);
            }
            out.push('}');
        }
        // Null, booleans, i64 integers and strings are strict JSON already.
        leaf => pyjson::write_compact_json(leaf, out),
    }
}

/// What a plugin produced, with tagged non-finite floats turned back into floats.
pub fn from_plugin(mut value: Value) -> Value {
    restore_floats(&mut value);
    value
}

/// Replaces tagged floats in place: replies pass here whole, and rebuilding every map
/// of a reply cost a rehash of all its keys for what is nearly always no change at all.
fn restore_floats(value: &mut Value) {
    match value {
        Value::List(items) => items.iter_mut().for_each(restore_floats),
        Value::Dict(fields) => match tagged_float(fields) {
            Some(float) => *value = Value::Float(float),
            None => fields.values_mut().for_each(restore_floats),
        },
        _ => {}
    }
}

fn tagged_float(fields: &indexmap::IndexMap<String, Value>) -> Option<f64> {
    if fields.len() != 1 {
        return None;
    }
    nonfinite_from_name(fields.get(FLOAT_TAG)?.as_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson;

    #[test]
    fn non_finite_floats_survive_a_round_trip() {
        let value =
            pyjson::parse(r#"[NaN, {"a": Infinity, "b": [-Infinity, 1.5]}, "NaN"]"#).unwrap();
        let plugin = to_plugin(&value);
        assert_eq!(
            plugin.to_string(),
            r#"[{"$float":"NaN"},{"a":{"$float":"Infinity"},"b":[{"$float":"-Infinity"},1.5]},"NaN"]"#
        );
        let back = from_plugin(pyjson::parse(&plugin.to_string()).unwrap());
        assert_eq!(
            pyjson::to_compact_json(&back),
            pyjson::to_compact_json(&value)
        );
    }

    #[test]
    fn written_text_is_what_to_plugin_gives() {
        let cases = [
            r#"[NaN, {"a": Infinity, "b": [-Infinity, 1.5]}, "NaN"]"#,
            r#"{"k\"ey\n": ["tab\t", "é", "\u0001", null, true, false, -7, 0.1, 1e+16, 42.0]}"#,
            "[18446744073709551615, -9223372036854775809, 1e400, 5e-324]",
            r#"{"codename": [1600000000.123, -0.0]}"#,
        ];
        for case in cases {
            let mut value = pyjson::parse(case).unwrap();
            if case.contains("1e400") {
                // A BigInt beyond every float (pyjson reads 1e400 as a float).
                value = Value::List(vec![
                    value,
                    Value::BigInt("1".to_owned() + &"0".repeat(400)),
                ]);
            }
            let mut text = String::new();
            write_plugin_json(&value, &mut text);
            let written: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(written, to_plugin(&value), "{case} -> {text}");
        }
    }

    #[test]
    fn other_objects_are_left_alone() {
        let value = pyjson::parse(r#"{"$float": "nan", "x": {"$float": 1}}"#).unwrap();
        assert_eq!(from_plugin(value.clone()), value);
    }
}
