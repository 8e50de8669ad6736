//! Python's `repr()` and `str()` of the objects a [`Value`] stands for.
//!
//! PyExpLabSys servers often reply with `str(x)`, `repr(x)` or
//! `'{},{}'.format(x, y)` of a Python value rather than with JSON, so the
//! replies contain Python literal syntax: `None`/`True`, single-quoted
//! strings with Python's escaping rules, float `repr` digits, and
//! `nan`/`inf` without quotes. This module reproduces CPython 3.11's
//! `object.__repr__` for `None`, `bool`, `int`, `float`, `str`, `list` and
//! `dict`.

use std::fmt::Write as _;

use super::float::write_float_repr;
use super::printable::is_printable;
use super::value::Value;

/// `repr(v)` of the Python object `v` stands for, e.g.
/// `{'a': 1, 'b': [None, True, 2.5, 'it\'s']}`.
pub fn python_repr(v: &Value) -> String {
    let mut out = String::new();
    write_python_repr(v, &mut out);
    out
}

/// Appends `repr(v)` to `out`.
pub fn write_python_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(digits) => out.push_str(digits),
        Value::Float(f) => write_float_repr(*f, out),
        Value::Str(s) => write_str_repr(s, out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_repr(item, out);
            }
            out.push(']');
        }
        Value::Dict(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(key, out);
                out.push_str(": ");
                write_python_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// `str(v)`: the text itself for a `Str`, `repr(v)` for everything else
/// (Python's `str()` of a container uses `repr()` of its items).
pub fn python_str(v: &Value) -> String {
    let mut out = String::new();
    write_python_str(v, &mut out);
    out
}

/// Appends `str(v)` to `out`.
pub fn write_python_str(v: &Value, out: &mut String) {
    match v {
        Value::Str(s) => out.push_str(s),
        other => write_python_repr(other, out),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `prefix` and the low `digits` hex digits of `c` (lowercase, as
/// CPython writes them).
fn push_hex_escape(out: &mut String, prefix: &str, c: u32, digits: u32) {
    out.push_str(prefix);
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((c >> (4 * i)) & 0xf) as usize]));
    }
}

/// CPython's `unicode_repr`: single quotes unless the text contains `'`
/// and no `"`; the chosen quote and `\` backslash-escaped; `\t` `\n` `\r`;
/// other ASCII controls and DEL as `\xNN`; non-ASCII kept when printable,
/// else `\xNN`, `\uNNNN` or `\UNNNNNNNN` by size.
fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let plain = match c {
            '\\' | '\t' | '\n' | '\r' => false,
            ' '..='~' => c != quote,
            '\0'..='\u{1f}' | '\u{7f}' => false,
            _ => is_printable(c),
        };
        if plain {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ => {
                let code = u32::from(c);
                match code {
                    0..=0xff => push_hex_escape(out, "\\x", code, 2),
                    0x100..=0xffff => push_hex_escape(out, "\\u", code, 4),
                    _ => push_hex_escape(out, "\\U", code, 8),
                }
            }
        }
    }
    out.push_str(&s[start..]);
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    #[test]
    fn scalars() {
        let cases: &[(Value, &str)] = &[
            (Value::Null, "None"),
            (Value::Bool(true), "True"),
            (Value::Bool(false), "False"),
            (Value::Int(-7), "-7"),
            (
                Value::BigInt("-123456789012345678901234567890".into()),
                "-123456789012345678901234567890",
            ),
            (Value::Float(42.0), "42.0"),
            (Value::Float(1e16), "1e+16"),
            (Value::Float(f64::NAN), "nan"),
            (Value::Float(f64::INFINITY), "inf"),
            (Value::Float(f64::NEG_INFINITY), "-inf"),
        ];
        for (v, want) in cases {
            assert_eq!(python_repr(v), *want);
            assert_eq!(python_str(v), *want);
        }
    }

    #[test]
    fn string_quoting() {
        // repr(x) in CPython 3.11.
        let cases: &[(&str, &str)] = &[
            ("", "''"),
            ("abc", "'abc'"),
            ("it's", r#""it's""#),
            ("say \"hi\"", r#"'say "hi"'"#),
            ("it's \"x\"", r#"'it\'s "x"'"#),
            ("back\\slash", r"'back\\slash'"),
            ("\t\n\r", r"'\t\n\r'"),
            ("\0\u{1}\u{1b}\u{7f}", r"'\x00\x01\x1b\x7f'"),
            ("\u{80}\u{a0}\u{ad}", r"'\x80\xa0\xad'"),
            ("é µ °C ü", "'é µ °C ü'"),
            (
                "\u{200b}\u{2028}\u{feff}\u{3000}",
                r"'\u200b\u2028\ufeff\u3000'",
            ),
            ("😀", "'😀'"),
            ("\u{e0001}\u{10ffff}", r"'\U000e0001\U0010ffff'"),
            ("\u{e000}", r"'\ue000'"),
        ];
        for (input, want) in cases {
            assert_eq!(python_repr(&s(input)), *want, "{input:?}");
        }
    }

    #[test]
    fn str_of_text_is_verbatim() {
        assert_eq!(python_str(&s("it's\n")), "it's\n");
        let mut out = String::from("x=");
        write_python_str(&s("a'b"), &mut out);
        out.push(',');
        write_python_str(&Value::Float(0.1), &mut out);
        assert_eq!(out, "x=a'b,0.1");
    }

    #[test]
    fn containers() {
        let mut map = IndexMap::new();
        map.insert("a".to_owned(), Value::Int(1));
        map.insert(
            "b".to_owned(),
            Value::List(vec![Value::Int(1), Value::Int(2)]),
        );
        map.insert("it's".to_owned(), Value::Null);
        let v = Value::Dict(map);
        let want = r#"{'a': 1, 'b': [1, 2], "it's": None}"#;
        assert_eq!(python_repr(&v), want);
        assert_eq!(python_str(&v), want);

        let list = Value::List(vec![
            Value::Int(1),
            Value::Float(2.5),
            s("x"),
            Value::Dict(IndexMap::new()),
        ]);
        assert_eq!(python_repr(&list), "[1, 2.5, 'x', {}]");
        assert_eq!(python_repr(&Value::List(vec![])), "[]");

        let mut out = String::from(">");
        write_python_repr(&list, &mut out);
        assert_eq!(out, ">[1, 2.5, 'x', {}]");
    }
}
