//! The CSV form of a `history.query` reply (SPEC §8: HTTP `&format=csv` and the CLI's
//! `--csv`), here so the host's HTTP API and CLI print the same bytes.
//!
//! `codename,time,x,y` with that header, one line per row (`\r\n` line ends and quoting as
//! RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled); numbers as JSON
//! writes them (`1`, `1.5`), `true`/`false`, an empty field for null, `NaN`/`Infinity`/
//! `-Infinity` for non-finite floats (the plugin API's `{"$float": ...}` tags or the words),
//! lists and objects as their JSON text.

use labsocket_plugin_api::{as_float, float::nonfinite_name, Value};

/// `reply` is `{"<codename>": {"time": [...], "x": [...], "y": [...]}}`; codenames in the
/// reply's order, rows in time order.
pub fn to_csv(reply: &Value) -> String {
    let mut out = String::from("codename,time,x,y\r\n");
    let Some(codenames) = reply.as_object() else {
        return out;
    };
    let empty = Vec::new();
    for (codename, columns) in codenames {
        let column = |name: &str| {
            columns
                .get(name)
                .and_then(Value::as_array)
                .unwrap_or(&empty)
        };
        let (times, x, y) = (column("time"), column("x"), column("y"));
        for (i, time) in times.iter().enumerate() {
            let fields = [
                quote(codename),
                field(time),
                field(x.get(i).unwrap_or(&Value::Null)),
                field(y.get(i).unwrap_or(&Value::Null)),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

fn field(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => quote(s),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Object(_) => match as_float(value).and_then(nonfinite_name) {
            Some(name) => name.to_owned(),
            None => quote(&value.to_string()),
        },
        Value::Array(_) => quote(&value.to_string()),
    }
}

fn quote(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labsocket_plugin_api::json;

    #[test]
    fn rows_of_every_type() {
        let reply = json!({
            "a": {"time": [1.0, 2.5], "x": [1, 2.5], "y": [1.0, {"$float": "-Infinity"}]},
            "b,c": {"time": [3.0, 4.0, 5.0, 6.0], "x": [0, 0, 0, 0],
                    "y": ["say \"hi\"", null, true, [1, "a,b"]]},
            "none": {"time": [], "x": [], "y": []},
        });
        let csv = to_csv(&reply);
        let expected = "codename,time,x,y\r\n\
            a,1.0,1,1.0\r\n\
            a,2.5,2.5,-Infinity\r\n\
            \"b,c\",3.0,0,\"say \"\"hi\"\"\"\r\n\
            \"b,c\",4.0,0,\r\n\
            \"b,c\",5.0,0,true\r\n\
            \"b,c\",6.0,0,\"[1,\"\"a,b\"\"]\"\r\n";
        assert_eq!(csv, expected);
        assert_eq!(to_csv(&json!({})), "codename,time,x,y\r\n");
        assert_eq!(quote("line\nbreak"), "\"line\nbreak\"");
    }
}
