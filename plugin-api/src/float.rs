//! Non-finite floats across the plugin boundary.
//!
//! Clients may send `NaN`, `Infinity` and `-Infinity` (Python's `json` does), but plugin
//! payloads are strict JSON (`serde_json::Value` has no place for them). So the host hands
//! a plugin each non-finite float as the one-key object `{"$float": "NaN"}` (or
//! `"Infinity"`, `"-Infinity"`), and turns that object back into the float in everything a
//! plugin returns, emits or sets. A plugin that stores values as they came gets them back
//! unchanged; one that computes with numbers reads them with [`as_float`] and writes them
//! with [`float_value`].
//!
//! Typed params and results ([`crate::plugin!`] handlers with their own types) read and write
//! such a field with [`serde_f64`]: `#[serde(with = "labsocket_plugin_api::float::serde_f64")]`.
//! A plain `f64` field accepts only numbers: a client's `NaN` or `Infinity` in it is a
//! -32602 "invalid params" error naming the field (`x: invalid type: map, expected f64`),
//! and a non-finite plain `f64` in a result is written as `null` (serde_json's rule).

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

/// `#[serde(with = "labsocket_plugin_api::float::serde_f64")]` for an `f64` field that may
/// be non-finite: it reads a number or a `{"$float": "NaN"}` tag (also `"Infinity"`,
/// `"-Infinity"`) and writes a non-finite value as the tag, which the host turns back into
/// `NaN`/`Infinity` on the wire.
pub mod serde_f64 {
    use std::fmt;

    use serde::de::{self, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use super::{nonfinite_from_name, nonfinite_name, FLOAT_TAG};

    /// Writes `value` as a number, or as the tag when it is non-finite.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        match nonfinite_name(*value) {
            None => serializer.serialize_f64(*value),
            Some(name) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(FLOAT_TAG, name)?;
                map.end()
            }
        }
    }

    /// Reads a number or a non-finite tag.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        deserializer.deserialize_any(FloatVisitor)
    }

    struct FloatVisitor;

    impl<'de> Visitor<'de> for FloatVisitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"a number or {"$float": "NaN" | "Infinity" | "-Infinity"}"#)
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
            Ok(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
            Ok(value as f64)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
            Ok(value as f64)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<f64, A::Error> {
            let invalid = || de::Error::invalid_value(de::Unexpected::Map, &FloatVisitor);
            let Some(key) = map.next_key::<String>()? else {
                return Err(invalid());
            };
            if key != FLOAT_TAG {
                return Err(invalid());
            }
            let name = map.next_value::<String>()?;
            if map.next_key::<de::IgnoredAny>()?.is_some() {
                return Err(invalid());
            }
            nonfinite_from_name(&name).ok_or_else(invalid)
        }
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

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Reading {
        #[serde(with = "serde_f64")]
        value: f64,
    }

    #[test]
    fn serde_f64_reads_numbers_and_tags_and_writes_tags() {
        for (json, expected) in [
            (json!({"value": 2}), 2.0),
            (json!({"value": -1.5}), -1.5),
            (json!({"value": {"$float": "Infinity"}}), f64::INFINITY),
            (json!({"value": {"$float": "-Infinity"}}), f64::NEG_INFINITY),
        ] {
            let reading: Reading = serde_json::from_value(json).unwrap();
            assert_eq!(reading.value, expected);
        }
        let nan: Reading = serde_json::from_value(json!({"value": {"$float": "NaN"}})).unwrap();
        assert!(nan.value.is_nan());
        assert_eq!(
            serde_json::to_value(Reading { value: f64::NAN }).unwrap(),
            json!({"value": {"$float": "NaN"}})
        );
        assert_eq!(
            serde_json::to_value(Reading { value: 0.25 }).unwrap(),
            json!({"value": 0.25})
        );
        for bad in [
            json!({"value": {"$float": "nan"}}),
            json!({"value": {"$float": "NaN", "x": 1}}),
            json!({"value": {"other": "NaN"}}),
            json!({"value": "1.0"}),
        ] {
            let err = serde_json::from_value::<Reading>(bad.clone()).unwrap_err();
            assert!(err.to_string().contains("a number or"), "{bad}: {err}");
        }
    }
}
