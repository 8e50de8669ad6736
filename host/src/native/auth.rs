//! Optional shared-secret authentication of native connections (docs/security.md).
//!
//! With `[native] auth_token_file` (or `auth_token`) set, a connection must first call
//! `auth` with `{"token": "..."}`. Until it has, every other call gets a JSON-RPC error
//! with code [`codes::AUTH_REQUIRED`] and nothing runs; after [`MAX_FAILURES`] wrong
//! tokens or unauthenticated calls the connection is closed. The comparison is constant
//! time, so response timing does not reveal how much of a guess was right.
//!
//! Without a token `auth` still answers (`{"authenticated": true, "required": false}`), so
//! a client configured with a token works against a server that needs none.
//!
//! Only the native protocol is covered: the PyMiner and PyExpLabSys protocols have no way
//! to send a secret (their clients are fixed), so they must stay on loopback or a trusted
//! network.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::rpc::{self, Incoming};
use crate::call::{self, CallError};
use crate::pyjson::Value;
use labsocket_plugin_api::codes;

/// The method a client authenticates with.
pub const METHOD: &str = "auth";

/// Wrong tokens plus calls made before authenticating, after which a connection closes.
pub const MAX_FAILURES: u32 = 3;

/// Shortest token accepted: shorter ones are guessable.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The shared secret. `Debug` does not show it, so logging a config cannot leak it.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    fn matches(&self, guess: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(guess.as_bytes()))
    }
}

/// The token the configuration asks for: `[native] auth_token`, or the file of
/// `auth_token_file` (`token_file`, already resolved against the config file's folder;
/// read now); `None` when neither is set. The error is a `[native] key: what is wrong`
/// message.
pub fn configured_token(
    token: Option<&Secret>,
    token_file: Option<&Path>,
) -> Result<Option<Arc<Secret>>, String> {
    let secret = match (token, token_file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(
                "[native] auth_token, auth_token_file: set one of them, not both".to_owned(),
            )
        }
        (Some(token), None) => token.0.clone(),
        (None, Some(file)) => read_token_file(file)?,
    };
    if secret.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "[native] auth token: must be at least {MIN_TOKEN_CHARS} characters (e.g. the \
             output of `openssl rand -hex 32`)"
        ));
    }
    Ok(Some(Arc::new(Secret(secret))))
}

/// The first line of `path`, trimmed. Refused if others may read or write the file: a
/// secret everyone on the machine can read protects nothing.
fn read_token_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = std::fs::metadata(path)
            .map_err(|err| format!("[native] auth_token_file: cannot read {shown}: {err}"))?;
        let mode = metadata.permissions().mode();
        if mode & 0o007 != 0 {
            return Err(format!(
                "[native] auth_token_file: {shown} is accessible to every user (mode {:o}); \
                 make it private with `chmod 600 {shown}`",
                mode & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("[native] auth_token_file: cannot read {shown}: {err}"))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// What the connection does with a request line after the gate.
pub enum Gated {
    /// Serve it as usual.
    Admit(Incoming),
    /// Send this reply line instead (nothing for a notification).
    Answer(Option<String>),
    /// Send this line and close the connection.
    Close(String),
}

/// One connection's authentication state.
pub struct Gate {
    token: Option<Arc<Secret>>,
    passed: bool,
    failures: u32,
}

impl Gate {
    pub fn new(token: Option<Arc<Secret>>) -> Self {
        Self {
            token,
            passed: false,
            failures: 0,
        }
    }

    /// Lets `incoming` through, answers it, or closes the connection.
    pub fn admit(&mut self, incoming: Incoming) -> Gated {
        match incoming {
            Incoming::Call { id, method, params } if method == METHOD => {
                self.authenticate(id, &params)
            }
            incoming if self.passed || self.token.is_none() => Gated::Admit(incoming),
            Incoming::Invalid { .. } => Gated::Admit(incoming),
            Incoming::Call { id: None, .. } => Gated::Answer(None),
            Incoming::Call { id: Some(id), .. } => self.fail(
                id,
                "authentication required: call auth {\"token\": ...} first",
            ),
            Incoming::Batch(_) => self.fail(
                Value::Null,
                "authentication required: call auth {\"token\": ...} alone, before any batch",
            ),
        }
    }

    fn authenticate(&mut self, id: Option<Value>, params: &Value) -> Gated {
        let reply_id = id.clone().unwrap_or(Value::Null);
        let Some(token) = &self.token else {
            return answer(id, Ok(authenticated(false)));
        };
        let guess = match params {
            Value::Dict(fields) => fields.get("token"),
            Value::List(items) if items.len() == 1 => items.first(),
            _ => None,
        };
        let Some(Value::Str(guess)) = guess else {
            let error = CallError::invalid_params("expected {\"token\": \"...\"}");
            return answer(id, Err(error));
        };
        if token.matches(guess) {
            self.passed = true;
            return answer(id, Ok(authenticated(true)));
        }
        // A wrong token revokes an earlier success: the client is confused or hostile.
        self.passed = false;
        self.fail(reply_id, "authentication failed: wrong token")
    }

    fn fail(&mut self, id: Value, message: &str) -> Gated {
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            let error = CallError::new(
                codes::AUTH_REQUIRED,
                format!("{message}; {MAX_FAILURES} failed attempts, closing the connection"),
            );
            return Gated::Close(rpc::reply_line(&id, &Err(error)));
        }
        let error = CallError::new(codes::AUTH_REQUIRED, message);
        Gated::Answer(Some(rpc::reply_line(&id, &Err(error))))
    }
}

fn authenticated(required: bool) -> Value {
    call::object([
        ("authenticated", Value::Bool(true)),
        ("required", Value::Bool(required)),
    ])
}

/// The reply line for a call answered here (nothing for a notification).
fn answer(id: Option<Value>, outcome: Result<Value, CallError>) -> Gated {
    Gated::Answer(id.map(|id| rpc::reply_line(&id, &outcome)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef-secret";

    fn gate() -> Gate {
        Gate::new(Some(Arc::new(Secret(TOKEN.to_owned()))))
    }

    fn line(text: &str) -> Incoming {
        rpc::parse_line(text.as_bytes())
    }

    fn answered(gated: Gated) -> String {
        match gated {
            Gated::Answer(line) => line.unwrap_or_default(),
            Gated::Admit(incoming) => panic!("admitted {incoming:?}"),
            Gated::Close(line) => panic!("closed with {line}"),
        }
    }

    #[test]
    fn calls_before_auth_are_refused_then_the_connection_closes() {
        let mut gate = gate();
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let refused = answered(gate.admit(line(ping)));
        assert!(refused.contains("-32003"), "{refused}");
        assert!(refused.contains("authentication required"), "{refused}");
        let wrong = r#"{"jsonrpc":"2.0","id":2,"method":"auth","params":{"token":"nope"}}"#;
        assert!(answered(gate.admit(line(wrong))).contains("wrong token"));
        match gate.admit(line(ping)) {
            Gated::Close(line) => assert!(line.contains("closing the connection"), "{line}"),
            _ => panic!("the third failure closes"),
        }
    }

    #[test]
    fn the_right_token_opens_the_connection() {
        let mut gate = gate();
        let auth = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"auth","params":["{TOKEN}"]}}"#);
        let ok = answered(gate.admit(line(&auth)));
        assert_eq!(
            ok,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"authenticated\":true,\"required\":true}}\n"
        );
        let batch = r#"[{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
        assert!(matches!(gate.admit(line(batch)), Gated::Admit(_)));
    }

    #[test]
    fn without_a_token_everything_passes_and_auth_says_so() {
        let mut gate = Gate::new(None);
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert!(matches!(gate.admit(line(ping)), Gated::Admit(_)));
        let auth = r#"{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"x"}}"#;
        assert!(answered(gate.admit(line(auth))).contains("\"required\":false"));
    }

    #[test]
    fn invalid_lines_get_their_own_error_and_notifications_nothing() {
        let mut gate = gate();
        assert!(matches!(gate.admit(line("{")), Gated::Admit(_)));
        let notification = r#"{"jsonrpc":"2.0","method":"set_point_now","params":["a",1]}"#;
        assert_eq!(answered(gate.admit(line(notification))), "");
    }

    #[test]
    fn secrets_are_not_printed() {
        assert_eq!(
            format!("{:?}", Secret(TOKEN.to_owned())),
            "Secret(<redacted>)"
        );
    }
}
