//! `callback_direct` with `return_format = "raw"`: the callback's result in PyExpLabSys'
//! hand-made raw format (reference §4.5).
//!
//! A dict becomes `key:type:v1,v2;...` and a list of lists `type:a,b&c,d`, where `type` is
//! the Python type name; anything else is refused with the reference's exact messages
//! (typos and the double space included), which the caller wraps as
//! `EXCEP#Raw conversion failed with message:<message>`.

use crate::pyjson::{write_python_str, Value};

/// Python's `type(v).__name__`.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::BigInt(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        Value::List(_) => "list",
        Value::Dict(_) => "dict",
    }
}

fn is_simple(type_name: &str) -> bool {
    matches!(type_name, "int" | "float" | "bool" | "str")
}

fn str_joined(items: &[Value], out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_python_str(item, out);
    }
}

/// The text after `RET#`, or the message after `Raw conversion failed with message:`.
pub fn format(value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok("None".to_owned()),
        Value::Dict(items) => {
            let mut out = String::new();
            for (i, (key, value)) in items.iter().enumerate() {
                let (element_type, values) = match value {
                    Value::List(elements) if !elements.is_empty() => {
                        let first = type_name(&elements[0]);
                        if elements.iter().any(|e| type_name(e) != first) {
                            return Err(
                                "With return format raw, value in list must have same type"
                                    .to_owned(),
                            );
                        }
                        let mut values = String::new();
                        str_joined(elements, &mut values);
                        (first, values)
                    }
                    Value::List(_) => ("", String::new()),
                    scalar => {
                        let mut values = String::new();
                        write_python_str(scalar, &mut values);
                        (type_name(scalar), values)
                    }
                };
                if !is_simple(element_type) {
                    let mut shown = String::new();
                    write_python_str(value, &mut shown);
                    return Err(format!(
                        "With return format raw, the item type can only be one of 'int', \
                         'float', 'bool' and 'str'. Object: '{shown}' is of type: {element_type}"
                    ));
                }
                if i > 0 {
                    out.push(';');
                }
                out.push_str(key);
                out.push(':');
                out.push_str(element_type);
                out.push(':');
                out.push_str(&values);
            }
            Ok(out)
        }
        Value::List(rows) => {
            let mut types = Vec::new();
            let mut joined = Vec::with_capacity(rows.len());
            for row in rows {
                let Value::List(elements) = row else {
                    return Err(
                        "With return format raw on a list, the elements themselves be lists"
                            .to_owned(),
                    );
                };
                types.extend(elements.iter().map(type_name));
                let mut text = String::new();
                str_joined(elements, &mut text);
                joined.push(text);
            }
            let Some(&first) = types.first() else {
                return Err("list index out of range".to_owned());
            };
            if types.iter().any(|t| *t != first) {
                let classes: Vec<String> = types.iter().map(|t| format!("<class '{t}'>")).collect();
                return Err(format!(
                    "With return format raw on a list of lists, all values  in list must have \
                     same type. Types are: [{}]",
                    classes.join(", ")
                ));
            }
            if !is_simple(first) {
                return Err(format!(
                    "With return format raw, the item type can only be one of 'int', 'float', \
                     'bool' and 'str'. The type is: <class '{first}'>"
                ));
            }
            Ok(format!("{first}:{}", joined.join("&")))
        }
        _ => Err("Return value must be a dict or list with return format 'raw'".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::parse;

    fn raw(json: &str) -> Result<String, String> {
        format(&parse(json).unwrap())
    }

    #[test]
    fn reference_examples() {
        assert_eq!(raw("null").unwrap(), "None");
        assert_eq!(raw(r#"{"x": 1.5}"#).unwrap(), "x:float:1.5");
        assert_eq!(raw(r#"{"myints": [42, 47]}"#).unwrap(), "myints:int:42,47");
        assert_eq!(
            raw(r#"{"x": "s", "y": true}"#).unwrap(),
            "x:str:s;y:bool:True"
        );
        assert_eq!(raw("{}").unwrap(), "");
        assert_eq!(
            raw("[[1.0, 42.0], [1.5, 45.6], [2.0, 47.0]]").unwrap(),
            "float:1.0,42.0&1.5,45.6&2.0,47.0"
        );
        assert_eq!(raw("[[1, 2], [3, 4]]").unwrap(), "int:1,2&3,4");
    }

    #[test]
    fn reference_errors() {
        assert_eq!(
            raw("42").unwrap_err(),
            "Return value must be a dict or list with return format 'raw'"
        );
        assert_eq!(
            raw(r#"{"a": [1, 2.0]}"#).unwrap_err(),
            "With return format raw, value in list must have same type"
        );
        assert_eq!(
            raw(r#"{"a": null}"#).unwrap_err(),
            "With return format raw, the item type can only be one of 'int', 'float', 'bool' \
             and 'str'. Object: 'None' is of type: NoneType"
        );
        assert!(raw(r#"{"a": {"b": 1}}"#)
            .unwrap_err()
            .ends_with("Object: '{'b': 1}' is of type: dict"));
        assert!(raw(r#"{"a": []}"#)
            .unwrap_err()
            .ends_with("Object: '[]' is of type: "));
        assert_eq!(
            raw("[1, 2]").unwrap_err(),
            "With return format raw on a list, the elements themselves be lists"
        );
        assert_eq!(
            raw("[[1.0, 2]]").unwrap_err(),
            "With return format raw on a list of lists, all values  in list must have same \
             type. Types are: [<class 'float'>, <class 'int'>]"
        );
        assert_eq!(raw("[]").unwrap_err(), "list index out of range");
        assert!(raw("[[null]]")
            .unwrap_err()
            .ends_with("The type is: <class 'NoneType'>"));
    }
}
