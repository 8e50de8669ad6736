//! JSON-RPC 2.0 messages: parsing request lines, rendering reply and notification lines.
//!
//! Values are [`pyjson::Value`]s, so `NaN`/`Infinity` survive a round trip with Python
//! clients, and replies are written without spaces, one object per line.

use crate::call::CallError;
use crate::pyjson::{self, Value};
use labsocket_plugin_api::codes;

/// One thing a client sent on a line.
#[derive(Debug)]
pub enum Incoming {
    /// A call; `id` is `None` for a notification (no reply is sent).
    Call {
        id: Option<Value>,
        method: String,
        params: Value,
    },
    /// Something that must be answered with an error (id `Null` when it could not be read).
    Invalid { id: Value, error: CallError },
    /// A batch: the elements, answered together in one array.
    Batch(Vec<Incoming>),
}

/// Parses one request line (without its `\n`).
pub fn parse_line(line: &[u8]) -> Incoming {
    super::plain_request::parse(line).unwrap_or_else(|| parse_general(line))
}

/// Parses any request line: the whole line as one JSON value, then the call(s) in it.
pub fn parse_general(line: &[u8]) -> Incoming {
    let value = match std::str::from_utf8(line) {
        Err(_) => {
            return invalid(
                Value::Null,
                codes::PARSE_ERROR,
                "parse error: the line is not UTF-8".to_owned(),
            )
        }
        Ok(text) => match pyjson::parse(text) {
            Ok(value) => value,
            Err(err) => {
                return invalid(
                    Value::Null,
                    codes::PARSE_ERROR,
                    format!("parse error: {err}"),
                )
            }
        },
    };
    match value {
        Value::List(items) if items.is_empty() => invalid(
            Value::Null,
            codes::INVALID_REQUEST,
            "invalid request: empty batch".to_owned(),
        ),
        Value::List(items) => Incoming::Batch(items.into_iter().map(parse_call).collect()),
        other => parse_call(other),
    }
}

fn invalid(id: Value, code: i64, message: String) -> Incoming {
    Incoming::Invalid {
        id,
        error: CallError::new(code, message),
    }
}

fn parse_call(value: Value) -> Incoming {
    let Value::Dict(mut fields) = value else {
        return invalid(
            Value::Null,
            codes::INVALID_REQUEST,
            "invalid request: expected a JSON object".to_owned(),
        );
    };
    let id = fields.shift_remove("id");
    let reply_id = match &id {
        None => Value::Null,
        Some(id @ (Value::Null | Value::Int(_) | Value::BigInt(_) | Value::Str(_))) => id.clone(),
        Some(_) => {
            return invalid(
                Value::Null,
                codes::INVALID_REQUEST,
                "invalid request: 'id' must be a string, an integer or null".to_owned(),
            )
        }
    };
    match fields.get("jsonrpc") {
        Some(Value::Str(version)) if version == "2.0" => {}
        _ => {
            return invalid(
                reply_id,
                codes::INVALID_REQUEST,
                "invalid request: 'jsonrpc' must be \"2.0\"".to_owned(),
            )
        }
    }
    let method = match fields.shift_remove("method") {
        Some(Value::Str(method)) => method,
        _ => {
            return invalid(
                reply_id,
                codes::INVALID_REQUEST,
                "invalid request: 'method' must be a string".to_owned(),
            )
        }
    };
    let params = match fields.shift_remove("params") {
        None => Value::Null,
        Some(params @ (Value::List(_) | Value::Dict(_))) => params,
        Some(_) => {
            return invalid(
                reply_id,
                codes::INVALID_PARAMS,
                "invalid params: 'params' must be an array or an object".to_owned(),
            )
        }
    };
    Incoming::Call { id, method, params }
}

/// `{"jsonrpc":"2.0","id":ID,"result":R}` (no newline).
pub fn write_result(id: &Value, result: &Value, out: &mut String) {
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    pyjson::write_compact_json(id, out);
    out.push_str(r#","result":"#);
    pyjson::write_compact_json(result, out);
    out.push('}');
}

/// `{"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M[,"data":D]}}` (no newline).
pub fn write_error(id: &Value, error: &CallError, out: &mut String) {
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    pyjson::write_compact_json(id, out);
    out.push_str(r#","error":{"code":"#);
    out.push_str(&error.code.to_string());
    out.push_str(r#","message":"#);
    pyjson::write_compact_json(&Value::Str(error.message.clone()), out);
    if let Some(data) = &error.data {
        out.push_str(r#","data":"#);
        pyjson::write_compact_json(data, out);
    }
    out.push_str("}}");
}

/// A reply line for `id`, from a call's outcome.
pub fn reply_line(id: &Value, outcome: &Result<Value, CallError>) -> String {
    let mut line = String::with_capacity(64);
    write_reply_line(id, outcome, &mut line);
    line
}

/// Appends the reply line for `id` to `out` (connections write replies straight into
/// their output buffer).
pub fn write_reply_line(id: &Value, outcome: &Result<Value, CallError>, out: &mut String) {
    match outcome {
        Ok(result) => write_result(id, result, out),
        Err(error) => write_error(id, error, out),
    }
    out.push('\n');
}

/// `{"jsonrpc":"2.0","method":M,"params":P}\n`.
pub fn notification_line(method: &str, params: &Value) -> String {
    let mut line = String::from(r#"{"jsonrpc":"2.0","method":"#);
    pyjson::write_compact_json(&Value::Str(method.to_owned()), &mut line);
    line.push_str(r#","params":"#);
    pyjson::write_compact_json(params, &mut line);
    line.push_str("}\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(line: &str) -> (Option<Value>, String, Value) {
        match parse_line(line.as_bytes()) {
            Incoming::Call { id, method, params } => (id, method, params),
            other => panic!("expected a call, got {other:?}"),
        }
    }

    fn error_code(line: &str) -> i64 {
        match parse_line(line.as_bytes()) {
            Incoming::Invalid { error, .. } => error.code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn parses_calls_and_notifications() {
        let (id, method, params) =
            call(r#"{"jsonrpc":"2.0","id":7,"method":"echo","params":[NaN]}"#);
        assert_eq!(id, Some(Value::Int(7)));
        assert_eq!(method, "echo");
        assert!(
            matches!(&params, Value::List(items) if matches!(items[0], Value::Float(f) if f.is_nan()))
        );
        let (id, _, params) = call(r#"{"jsonrpc":"2.0","method":"ping"}"#);
        assert_eq!(id, None);
        assert_eq!(params, Value::Null);
    }

    #[test]
    fn rejects_what_json_rpc_rejects() {
        assert_eq!(error_code("{"), codes::PARSE_ERROR);
        assert_eq!(error_code("\u{ff}"), codes::PARSE_ERROR);
        assert_eq!(error_code("[]"), codes::INVALID_REQUEST);
        assert_eq!(error_code("42"), codes::INVALID_REQUEST);
        assert_eq!(
            error_code(r#"{"id":1,"method":"ping"}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            error_code(r#"{"jsonrpc":"2.0","id":1,"method":3}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            error_code(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
            codes::INVALID_REQUEST
        );
        assert_eq!(
            error_code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#),
            codes::INVALID_PARAMS
        );
    }

    #[test]
    fn renders_replies_compactly() {
        let ok = reply_line(&Value::Int(1), &Ok(Value::Float(1e16)));
        assert_eq!(ok, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1e+16}\n");
        let err = reply_line(&Value::Null, &Err(CallError::new(-32601, "no \"x\"")));
        assert_eq!(
            err,
            "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32601,\"message\":\"no \\\"x\\\"\"}}\n"
        );
    }
}
