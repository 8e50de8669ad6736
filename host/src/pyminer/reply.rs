//! The bytes of replies: command results and failures in each generation's words.
//!
//! Plugins answer in G1's words (`success`, `succeed`, `succeeded`); G2 clients accept
//! only `succeeded`, so on a G2 connection a top-level `"message"` of `success` or
//! `succeed` becomes `succeeded` (reference §9). Every failure gets a reply:
//! `{"message": "failed", "content": "<reason>"}` (G2 replies also carry a `timestamp`,
//! like every G2 server reply), where G1 closed the socket silently. The exception is a
//! command whose plugin gives a G1 failure reply (the `pyminer.g1_failure` annotation, see
//! `crate::annotations`; the workspace's writes keep G1's exact `{"message":"failed"}`):
//! G1 gets that reply and the reason goes to the server log, rate-limited (a hostile or
//! broken client must not be able to fill the disk with log lines).

use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use bytes::Bytes;
use indexmap::IndexMap;

use super::framing;
use super::handshake::Generation;
use crate::call::CallError;
use crate::failure_log::FailureLog;
use crate::pyjson::{self, Value};

/// G1 failures answered with their command's own reply, logged at most once per
/// [`FailureLog::QUIET`] with a count.
static G1_REFUSALS: LazyLock<Mutex<FailureLog>> = LazyLock::new(Mutex::default);

/// The heartbeat every long connection gets.
pub const HEARTBEAT: &[u8] = b"{\"name\": \"broadcast\", \"message\": \"Are you alive?\"}PMEND";

fn object(fields: Vec<(&str, Value)>) -> Value {
    Value::Dict(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect::<IndexMap<_, _>>(),
    )
}

fn now() -> Value {
    Value::Float(labsocket_plugin_api::unix_now())
}

/// A G2 status reply: `{"message": M, "content": C, "timestamp": T}`.
pub fn g2_status(message: &str, content: &str) -> Bytes {
    let reply = object(vec![
        ("message", Value::Str(message.to_owned())),
        ("content", Value::Str(content.to_owned())),
        ("timestamp", now()),
    ]);
    framing::encode(pyjson::to_python_json(&reply))
}

/// A failure: `{"message": "failed", "content": reason}` (+ `timestamp` on G2), or on G1
/// the command's own `g1_failure` reply when it has one.
pub fn failure(generation: Generation, g1_failure: Option<&str>, reason: &str) -> Bytes {
    match (generation, g1_failure) {
        (Generation::G1, Some(reply)) => framing::encode(reply.to_owned()),
        (Generation::G1, None) => {
            let reply = object(vec![
                ("message", Value::Str("failed".to_owned())),
                ("content", Value::Str(reason.to_owned())),
            ]);
            framing::encode(pyjson::to_python_json(&reply))
        }
        (Generation::G2, _) => g2_status("failed", reason),
    }
}

/// The reply to a command: its result object (status word adapted), or a failure
/// (`g1_failure`: the command's own G1 failure reply, if it has one).
pub fn outcome(
    generation: Generation,
    method: &str,
    g1_failure: Option<&str>,
    outcome: Result<Value, CallError>,
) -> Bytes {
    match outcome {
        Ok(Value::Dict(mut fields)) => {
            if generation == Generation::G2 {
                if let Some(message) = fields.get_mut("message") {
                    if matches!(message.as_str(), Some("success" | "succeed")) {
                        *message = Value::Str("succeeded".to_owned());
                    }
                }
            }
            framing::encode(pyjson::to_python_json(&Value::Dict(fields)))
        }
        // A command that does not answer with an object (a native command such as
        // `ping`): wrap it as PyMiner clients expect.
        Ok(other) => {
            let status = match generation {
                Generation::G1 => "success",
                Generation::G2 => "succeeded",
            };
            let reply = object(vec![
                ("message", Value::Str(status.to_owned())),
                ("result", other),
            ]);
            framing::encode(pyjson::to_python_json(&reply))
        }
        Err(error) => {
            tracing::debug!(method, "pyminer: command failed: {error}");
            if generation == Generation::G1 && g1_failure.is_some() {
                let mut refusals = G1_REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(line) = refusals.failed(Instant::now(), &error.message) {
                    tracing::warn!(method, "pyminer: command refused: {line}");
                }
            }
            failure(generation, g1_failure, &error.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace's `pyminer.g1_failure` for writes.
    const WRITE: &str = r#"{"message":"failed"}"#;

    fn text(bytes: Bytes) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn dict(json: &str) -> Value {
        pyjson::parse(json).unwrap()
    }

    #[test]
    fn g1_replies_are_python_json_as_the_plugin_ordered_them() {
        let reply = outcome(
            Generation::G1,
            "read_p",
            None,
            Ok(dict(r#"{"x": "gAVLKi4=", "message": "success"}"#)),
        );
        assert_eq!(
            text(reply),
            r#"{"x": "gAVLKi4=", "message": "success"}PMEND"#
        );
        let reply = outcome(
            Generation::G1,
            "get_all_variable_names",
            None,
            Ok(dict(r#"{"var_names": ["é"], "message": "succeed"}"#)),
        );
        assert_eq!(
            text(reply),
            r#"{"var_names": ["\u00e9"], "message": "succeed"}PMEND"#
        );
    }

    #[test]
    fn g2_replies_say_succeeded() {
        for word in ["success", "succeed", "succeeded"] {
            let reply = outcome(
                Generation::G2,
                "m",
                None,
                Ok(dict(&format!(r#"{{"message": "{word}", "a": 1}}"#))),
            );
            assert_eq!(text(reply), r#"{"message": "succeeded", "a": 1}PMEND"#);
        }
        let reply = outcome(
            Generation::G2,
            "read_p",
            None,
            Ok(dict(r#"{"message": "variable x not found!"}"#)),
        );
        assert_eq!(text(reply), r#"{"message": "variable x not found!"}PMEND"#);
    }

    #[test]
    fn non_object_results_are_wrapped() {
        let reply = outcome(Generation::G1, "ping", None, Ok(Value::Str("pong".into())));
        assert_eq!(
            text(reply),
            r#"{"message": "success", "result": "pong"}PMEND"#
        );
        let reply = outcome(Generation::G2, "ping", None, Ok(Value::Str("pong".into())));
        assert_eq!(
            text(reply),
            r#"{"message": "succeeded", "result": "pong"}PMEND"#
        );
    }

    #[test]
    fn failures_carry_the_reason_except_a_commands_own_g1_reply() {
        let error = || Err(CallError::invalid_params("the value is None"));
        assert_eq!(
            text(outcome(Generation::G1, "write_p", Some(WRITE), error())),
            r#"{"message":"failed"}PMEND"#
        );
        assert_eq!(
            text(outcome(
                Generation::G1,
                "write_var_dic",
                Some(WRITE),
                error()
            )),
            r#"{"message":"failed"}PMEND"#
        );
        assert_eq!(
            text(outcome(Generation::G1, "read_p", None, error())),
            r#"{"message": "failed", "content": "the value is None"}PMEND"#
        );
        let g2 = text(outcome(Generation::G2, "write_p", Some(WRITE), error()));
        assert!(
            g2.starts_with(
                r#"{"message": "failed", "content": "the value is None", "timestamp": "#
            ),
            "{g2}"
        );
    }
}
