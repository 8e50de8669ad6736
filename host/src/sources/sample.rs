//! Reading a source command's result as points.
//!
//! Two shapes, mixable per codename: `{codename: y}` stores `(now, y)`, and
//! `{codename: [x, y]}` stores the pair as given. Any list is read as `[x, y]`, so a `y`
//! that is itself a list must be sent as `[x, [..]]`; guessing between the two would
//! store a wrong point silently. Values keep their JSON types (`1` stays an int).

use crate::pyjson::{python_repr, Value};

/// One point to store: `(codename, x, y)`.
pub type SamplePoint = (String, Value, Value);

/// The longest excerpt of a bad result quoted in an error message.
const QUOTE_CHARS: usize = 120;

/// The points in `result`, with `now` (Unix seconds) as x where the result gives none.
pub fn points(result: Value, now: f64) -> Result<Vec<SamplePoint>, String> {
    let Value::Dict(fields) = result else {
        return Err(format!(
            "expected {{codename: y}} or {{codename: [x, y]}}, got {}",
            quote(&result)
        ));
    };
    fields
        .into_iter()
        .map(|(codename, value)| {
            if codename.is_empty() {
                return Err("a codename is the empty string".to_owned());
            }
            match value {
                Value::List(pair) => {
                    let [x, y]: [Value; 2] = pair.try_into().map_err(|pair: Vec<Value>| {
                        format!(
                            "'{codename}': a list must be [x, y], got {}",
                            quote(&Value::List(pair))
                        )
                    })?;
                    if x.as_f64().is_none() {
                        return Err(format!(
                            "'{codename}': x must be a number, got {}",
                            quote(&x)
                        ));
                    }
                    Ok((codename, x, y))
                }
                y => Ok((codename, Value::Float(now), y)),
            }
        })
        .collect()
}

/// `repr()` of `value`, cut to [`QUOTE_CHARS`] so one huge bad result cannot flood the log.
fn quote(value: &Value) -> String {
    let text = python_repr(value);
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::parse;

    fn read(json: &str) -> Result<Vec<SamplePoint>, String> {
        points(parse(json).unwrap(), 100.5)
    }

    #[test]
    fn a_bare_value_gets_now_as_x_and_keeps_its_type() {
        let points = read(r#"{"a": 1, "b": 1.0, "c": "on", "d": null}"#).unwrap();
        assert_eq!(
            points,
            [
                ("a".into(), Value::Float(100.5), Value::Int(1)),
                ("b".into(), Value::Float(100.5), Value::Float(1.0)),
                ("c".into(), Value::Float(100.5), Value::Str("on".into())),
                ("d".into(), Value::Float(100.5), Value::Null),
            ]
        );
    }

    #[test]
    fn a_pair_is_stored_as_given_and_shapes_mix() {
        let points = read(r#"{"a": [7, 2.5], "b": 3, "c": [1.5, [1, 2]]}"#).unwrap();
        assert_eq!(points[0], ("a".into(), Value::Int(7), Value::Float(2.5)));
        assert_eq!(points[1], ("b".into(), Value::Float(100.5), Value::Int(3)));
        assert_eq!(points[2].2, Value::List(vec![Value::Int(1), Value::Int(2)]));
    }

    #[test]
    fn an_empty_result_is_no_points() {
        assert_eq!(read("{}").unwrap(), []);
    }

    #[test]
    fn other_shapes_are_errors_that_say_why() {
        let err = read("[1, 2]").unwrap_err();
        assert_eq!(
            err,
            "expected {codename: y} or {codename: [x, y]}, got [1, 2]"
        );
        assert!(read("3.5").unwrap_err().ends_with("got 3.5"));
        let err = read(r#"{"a": [1, 2, 3]}"#).unwrap_err();
        assert_eq!(err, "'a': a list must be [x, y], got [1, 2, 3]");
        let err = read(r#"{"a": ["x", 2]}"#).unwrap_err();
        assert_eq!(err, "'a': x must be a number, got 'x'");
        assert!(read(r#"{"": 1}"#).unwrap_err().contains("empty"));
    }

    #[test]
    fn a_huge_bad_result_is_quoted_short() {
        let long = format!("\"{}\"", "z".repeat(10_000));
        let err = read(&long).unwrap_err();
        assert!(err.len() < 250, "{}", err.len());
        assert!(err.ends_with("..."), "{err}");
    }
}
