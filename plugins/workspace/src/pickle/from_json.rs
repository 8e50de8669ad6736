//! [`write_json_value`]: a pickle of a JSON value, so PyMiner clients can read variables
//! that native clients wrote as JSON.

use serde_json::Value;

use super::opcodes as op;

/// Produces a protocol-4 pickle that loads to the Python object `json.loads` would make
/// of `value`: `None`, `bool`, `int` (any size serde_json holds), `float`, `str`, `list`,
/// `dict`. Only plain data opcodes are written (no `GLOBAL`, no `REDUCE`).
pub fn write_json_value(value: &Value) -> Vec<u8> {
    let mut out = vec![op::PROTO, 4];
    write_value(value, &mut out);
    out.push(op::STOP);
    out
}

/// Recursion depth equals the JSON nesting depth, which serde_json's parser caps at 128.
fn write_value(value: &Value, out: &mut Vec<u8>) {
    // The host hands non-finite floats over as {"$float": "NaN"}: they are floats here too.
    if let (Value::Object(_), Some(float)) = (value, labsocket_plugin_api::as_float(value)) {
        out.push(op::BINFLOAT);
        out.extend_from_slice(&float.to_be_bytes());
        return;
    }
    match value {
        Value::Null => out.push(op::NONE),
        Value::Bool(true) => out.push(op::NEWTRUE),
        Value::Bool(false) => out.push(op::NEWFALSE),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                write_int(int.into(), out);
            } else if let Some(int) = number.as_u64() {
                write_int(int.into(), out);
            } else {
                out.push(op::BINFLOAT);
                out.extend_from_slice(&number.as_f64().unwrap_or(f64::NAN).to_be_bytes());
            }
        }
        Value::String(text) => write_str(text, out),
        Value::Array(items) => {
            out.push(op::EMPTY_LIST);
            if !items.is_empty() {
                out.push(op::MARK);
                for item in items {
                    write_value(item, out);
                }
                out.push(op::APPENDS);
            }
        }
        Value::Object(fields) => {
            out.push(op::EMPTY_DICT);
            if !fields.is_empty() {
                out.push(op::MARK);
                for (key, item) in fields {
                    write_str(key, out);
                    write_value(item, out);
                }
                out.push(op::SETITEMS);
            }
        }
    }
}

/// CPython's choice: BININT1 / BININT2 / BININT for what fits, else LONG1 with the
/// minimal two's-complement little-endian bytes.
fn write_int(int: i128, out: &mut Vec<u8>) {
    if (0..=0xff).contains(&int) {
        out.extend_from_slice(&[op::BININT1, int as u8]);
    } else if (0..=0xffff).contains(&int) {
        out.push(op::BININT2);
        out.extend_from_slice(&(int as u16).to_le_bytes());
    } else if let Ok(small) = i32::try_from(int) {
        out.push(op::BININT);
        out.extend_from_slice(&small.to_le_bytes());
    } else {
        let bytes = int.to_le_bytes();
        let mut len = bytes.len();
        // Drop redundant sign-extension bytes, keeping the sign bit right.
        while len > 1 {
            let (last, before) = (bytes[len - 1], bytes[len - 2]);
            let redundant =
                (last == 0x00 && before & 0x80 == 0) || (last == 0xff && before & 0x80 != 0);
            if !redundant {
                break;
            }
            len -= 1;
        }
        out.extend_from_slice(&[op::LONG1, len as u8]);
        out.extend_from_slice(&bytes[..len]);
    }
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    let len = text.len();
    if let Ok(short) = u8::try_from(len) {
        out.extend_from_slice(&[op::SHORT_BINUNICODE, short]);
    } else if let Ok(medium) = u32::try_from(len) {
        out.push(op::BINUNICODE);
        out.extend_from_slice(&medium.to_le_bytes());
    } else {
        out.push(op::BINUNICODE8);
        out.extend_from_slice(&(len as u64).to_le_bytes());
    }
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Bytes checked with CPython 3.11: `pickle.loads(b) == expected`.
    #[test]
    fn scalars_use_cpythons_opcodes() {
        assert_eq!(write_json_value(&json!(null)), b"\x80\x04N.");
        assert_eq!(write_json_value(&json!(true)), b"\x80\x04\x88.");
        assert_eq!(write_json_value(&json!(42)), b"\x80\x04K*.");
        assert_eq!(write_json_value(&json!(1000)), b"\x80\x04M\xe8\x03.");
        assert_eq!(write_json_value(&json!(-1)), b"\x80\x04J\xff\xff\xff\xff.");
        // 2**31 and -2**31 - 1 need LONG1; 2**63 and u64::MAX too.
        assert_eq!(
            write_json_value(&json!(2147483648i64)),
            b"\x80\x04\x8a\x05\x00\x00\x00\x80\x00."
        );
        assert_eq!(
            write_json_value(&json!(-2147483649i64)),
            b"\x80\x04\x8a\x05\xff\xff\xff\x7f\xff."
        );
        assert_eq!(
            write_json_value(&json!(u64::MAX)),
            b"\x80\x04\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00."
        );
        assert_eq!(
            write_json_value(&json!(1.5)),
            b"\x80\x04G?\xf8\x00\x00\x00\x00\x00\x00."
        );
        assert_eq!(write_json_value(&json!("é")), b"\x80\x04\x8c\x02\xc3\xa9.");
    }

    #[test]
    fn containers_keep_order_and_nest() {
        assert_eq!(
            write_json_value(&json!({"b": [1, "x"], "a": {}})),
            b"\x80\x04}(\x8c\x01b](K\x01\x8c\x01xe\x8c\x01a}u."
        );
        assert_eq!(write_json_value(&json!([])), b"\x80\x04].");
    }

    #[test]
    fn output_passes_the_servers_own_readers() {
        let value = json!({"a": "x", "b": null});
        let pickle = write_json_value(&value);
        super::super::check_opcodes(&pickle).unwrap();
        let dict = super::super::read_str_dict(&pickle).unwrap();
        assert_eq!(
            dict,
            vec![
                ("a".to_owned(), Some("x".to_owned())),
                ("b".to_owned(), None)
            ]
        );
        assert_eq!(
            super::super::type_hint(&write_json_value(&json!(3))),
            "numeric"
        );
        assert_eq!(
            super::super::type_hint(&write_json_value(&json!("s"))),
            "string"
        );
    }
}
