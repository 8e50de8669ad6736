//! Converting payloads at the plugin boundary, so `NaN` and `Infinity` survive it.
//!
//! Plugins speak strict JSON; the host's values may hold non-finite floats. Going in, each
//! becomes the tagged object of `labsocket_plugin_api::float` (`{"$float": "NaN"}`); coming
//! out (replies, error data, emitted events, set points), the tagged object becomes the
//! float again. A plugin that passes values through therefore returns them unchanged.

use labsocket_plugin_api::float::{nonfinite_from_name, nonfinite_name, FLOAT_TAG};

use crate::pyjson::Value;

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
    fn other_objects_are_left_alone() {
        let value = pyjson::parse(r#"{"$float": "nan", "x": {"$float": 1}}"#).unwrap();
        assert_eq!(from_plugin(value.clone()), value);
    }
}
