//! JSON text as CPython's `json.dumps` writes it.
//!
//! Two layouts are needed:
//! - [`to_python_json`]: `json.dumps(v)` with default arguments, which the
//!   Python servers we replace send verbatim (`", "`/`": "` separators,
//!   `ensure_ascii=True`);
//! - [`to_compact_json`]: our JSON-RPC wire form, `json.dumps(v,
//!   separators=(',', ':'), ensure_ascii=False)`.
//!
//! Both print floats with Python's `repr` digits (`1e+16`, `42.0`), which
//! are valid JSON, and non-finite floats as `NaN`/`Infinity`/`-Infinity`
//! as Python does (`allow_nan=True`). Writers append to a caller's `String`
//! and never allocate on their own.

use std::fmt::Write as _;

use super::float::write_float_repr;
use super::value::Value;

/// Separators and escaping of one `json.dumps` configuration.
struct Style {
    item_sep: &'static str,
    key_sep: &'static str,
    /// `ensure_ascii=True`: every non-ASCII character (and DEL) as `\uXXXX`.
    ensure_ascii: bool,
}

const PYTHON_DEFAULT: Style = Style {
    item_sep: ", ",
    key_sep: ": ",
    ensure_ascii: true,
};

const COMPACT: Style = Style {
    item_sep: ",",
    key_sep: ":",
    ensure_ascii: false,
};

/// `json.dumps(v)` with CPython 3.11's default arguments.
pub fn to_python_json(v: &Value) -> String {
    let mut out = String::new();
    write_python_json(v, &mut out);
    out
}

/// Appends `json.dumps(v)` to `out`.
pub fn write_python_json(v: &Value, out: &mut String) {
    write_value(v, out, &PYTHON_DEFAULT);
}

/// The compact wire form: `json.dumps(v, separators=(',', ':'),
/// ensure_ascii=False)`. UTF-8 is kept as is; only `"`, `\` and control
/// characters are escaped.
pub fn to_compact_json(v: &Value) -> String {
    let mut out = String::new();
    write_compact_json(v, &mut out);
    out
}

/// Appends the compact wire form of `v` to `out`.
pub fn write_compact_json(v: &Value, out: &mut String) {
    write_value(v, out, &COMPACT);
}

/// Appends `s` as a JSON string in the compact wire form (what [`write_compact_json`]
/// writes for a `str`), for callers that write a string they do not hold as a [`Value`].
pub fn write_compact_json_str(s: &str, out: &mut String) {
    write_json_str(s, out, COMPACT.ensure_ascii);
}

fn write_value(v: &Value, out: &mut String, style: &Style) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(digits) => out.push_str(digits),
        Value::Float(f) => write_json_float(*f, out),
        Value::Str(s) => write_json_str(s, out, style.ensure_ascii),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_sep);
                }
                write_value(item, out, style);
            }
            out.push(']');
        }
        Value::Dict(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_sep);
                }
                write_json_str(key, out, style.ensure_ascii);
                out.push_str(style.key_sep);
                write_value(item, out, style);
            }
            out.push('}');
        }
    }
}

/// Python's `json` float: `repr` digits, JavaScript names for non-finite.
fn write_json_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_float_repr(f, out);
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `\uXXXX` with lowercase hex, as CPython writes it.
fn push_u_escape(out: &mut String, unit: u16) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

/// A quoted JSON string. Runs of characters that need no escaping are
/// copied as one slice.
fn write_json_str(s: &str, out: &mut String, ensure_ascii: bool) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i += super::plain_run::plain_prefix_len(&bytes[i..], ensure_ascii);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        let plain = match b {
            b'"' | b'\\' | 0..=0x1f => false,
            0x7f..=0xff => !ensure_ascii,
            _ => true,
        };
        if plain {
            i += 1;
            continue;
        }
        // `i` is at an ASCII byte or the first byte of a character, so
        // both ends are character boundaries.
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0..=0x7f => push_u_escape(out, u16::from(b)),
            _ => {
                // Non-ASCII with ensure_ascii: UTF-16 code units, so astral
                // characters become a surrogate pair.
                let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    push_u_escape(out, *unit);
                }
                i += ch.len_utf8();
                start = i;
                continue;
            }
        }
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    fn dict(pairs: Vec<(&str, Value)>) -> Value {
        Value::Dict(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<IndexMap<_, _>>(),
        )
    }

    #[test]
    fn scalars() {
        let cases: &[(Value, &str, &str)] = &[
            (Value::Null, "null", "null"),
            (Value::Bool(true), "true", "true"),
            (Value::Bool(false), "false", "false"),
            (Value::Int(-42), "-42", "-42"),
            (
                Value::Int(i64::MIN),
                "-9223372036854775808",
                "-9223372036854775808",
            ),
            (
                Value::BigInt("123456789012345678901234567890".into()),
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            (Value::Float(42.0), "42.0", "42.0"),
            (Value::Float(1e16), "1e+16", "1e+16"),
            (Value::Float(1e-5), "1e-05", "1e-05"),
            (Value::Float(-0.0), "-0.0", "-0.0"),
            (Value::Float(f64::NAN), "NaN", "NaN"),
            (Value::Float(f64::INFINITY), "Infinity", "Infinity"),
            (Value::Float(f64::NEG_INFINITY), "-Infinity", "-Infinity"),
        ];
        for (v, python, compact) in cases {
            assert_eq!(to_python_json(v), *python);
            assert_eq!(to_compact_json(v), *compact);
        }
    }

    #[test]
    fn strings() {
        // (input, json.dumps(x), json.dumps(x, ensure_ascii=False)) from CPython 3.11.
        let cases: &[(&str, &str, &str)] = &[
            ("", r#""""#, r#""""#),
            ("plain", r#""plain""#, r#""plain""#),
            ("q\"b\\s/", r#""q\"b\\s/""#, r#""q\"b\\s/""#),
            (
                "\n\r\t\u{8}\u{c}\u{0}\u{1f}",
                r#""\n\r\t\b\f\u0000\u001f""#,
                r#""\n\r\t\b\f\u0000\u001f""#,
            ),
            ("\u{7f}", r#""\u007f""#, "\"\u{7f}\""),
            ("é", r#""\u00e9""#, "\"é\""),
            ("µA°C", r#""\u00b5A\u00b0C""#, "\"µA°C\""),
            ("€", r#""\u20ac""#, "\"€\""),
            ("😀", r#""\ud83d\ude00""#, "\"😀\""),
            (
                "\u{fffd}\u{ffff}",
                r#""\ufffd\uffff""#,
                "\"\u{fffd}\u{ffff}\"",
            ),
            ("a😀b\nc", r#""a\ud83d\ude00b\nc""#, "\"a😀b\\nc\""),
        ];
        for (input, python, compact) in cases {
            assert_eq!(to_python_json(&s(input)), *python, "{input:?}");
            assert_eq!(to_compact_json(&s(input)), *compact, "{input:?}");
        }
    }

    #[test]
    fn containers() {
        let v = dict(vec![
            ("a", Value::Int(1)),
            (
                "b",
                Value::List(vec![Value::Int(1), Value::Float(2.5), s("x")]),
            ),
            ("é", dict(vec![])),
            ("l", Value::List(vec![])),
            (
                "n",
                Value::List(vec![
                    Value::Null,
                    Value::Bool(true),
                    dict(vec![("k", Value::Float(f64::NAN))]),
                ]),
            ),
        ]);
        assert_eq!(
            to_python_json(&v),
            r#"{"a": 1, "b": [1, 2.5, "x"], "\u00e9": {}, "l": [], "n": [null, true, {"k": NaN}]}"#
        );
        assert_eq!(
            to_compact_json(&v),
            r#"{"a":1,"b":[1,2.5,"x"],"é":{},"l":[],"n":[null,true,{"k":NaN}]}"#
        );
    }

    #[test]
    fn writers_append() {
        let v = Value::List(vec![Value::Float(1795238169.2582886), Value::Float(42.0)]);
        let mut out = String::from(">");
        write_python_json(&v, &mut out);
        assert_eq!(out, ">[1795238169.2582886, 42.0]");
        out.clear();
        write_compact_json(&v, &mut out);
        assert_eq!(out, "[1795238169.2582886,42.0]");
    }
}
