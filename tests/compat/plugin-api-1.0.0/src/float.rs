//! Non-finite floats across the plugin boundary.
//!
//! Clients may send `NaN`, `Infinity` and `-Infinity` (Python's `json` does), but plugin
//! payloads are strict JSON (`serde_json::Value` has no place for them). So the host hands
//! a plugin each non-finite float as the one-key object `{"$float": "NaN"}` (or
//! `"Infinity"`, `"-Infinity"`), and turns that object back into the float in everything a
//! plugin returns, emits or sets. A plugin that stores values as they came gets them back
//! unchanged; one that computes with numbers reads them with [`as_float`] and writes them
//! with [`float_value`].

use serde_json::{json, Value};

/// The key of the object that stands for a non-finite float.
pub const FLOAT_TAG: &str = "$float";

/// `f` as JSON: a number when finite, else the tagged object the host turns back into
/// `NaN`/`Infinity`/`-Infinity` on the wire.
pub fn float_value(f: f64) -> Value {
    match nonfinite_name(f) {
        None => json!(f),
        Some(name) => json!({ FLOAT_TAG: name }),
    }
}

/// A number, or a tagged non-finite float, as `f64`.
pub fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::Object(fields) if fields.len() == 1 => {
            nonfinite_from_name(fields.get(FLOAT_TAG)?.as_str()?)
        }
        _ => None,
    }
}

/// The non-finite float a tag's text names (`"NaN"`, `"Infinity"`, `"-Infinity"`).
pub fn nonfinite_from_name(name: &str) -> Option<f64> {
    match name {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// The tag's text for a non-finite float, `None` for a finite one.
pub fn nonfinite_name(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f == f64::INFINITY {
        Some("Infinity")
    } else if f == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_floats_round_trip_through_the_tag() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5, -0.0] {
            let back = as_float(&float_value(f)).unwrap();
            assert!(back == f || (back.is_nan() && f.is_nan()), "{f}");
        }
        assert_eq!(float_value(f64::NAN), json!({"$float": "NaN"}));
        assert_eq!(as_float(&json!({"$float": "nan"})), None);
        assert_eq!(as_float(&json!({"$float": "NaN", "x": 1})), None);
        assert_eq!(as_float(&json!("NaN")), None);
    }
}
