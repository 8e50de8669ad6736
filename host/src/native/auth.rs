//! Authentication and authorisation of native connections (docs/security.md, SPEC §10).
//!
//! With tokens configured (`[[auth.token]]`, or the legacy `[native] auth_token*`, an admin
//! token), a connection must first call `auth` with `{"token": "..."}`; the token it sends
//! picks the connection's role ([`crate::access::Role`]). Until it has, every other call
//! gets a JSON-RPC error with code [`codes::AUTH_REQUIRED`] and nothing runs; after
//! [`MAX_FAILURES`] wrong tokens or unauthenticated calls the connection is closed. Once
//! authenticated, each call is checked against the role
//! ([`crate::access::needed_role`]); a call the role does not allow gets the same code,
//! with a message naming the role it needs, and the log names the token (never its
//! secret). The comparison is constant time, so response timing does not reveal how much
//! of a guess was right.
//!
//! Without tokens `auth` still answers (`{"authenticated": true, "required": false}`), so
//! a client configured with a token works against a server that needs none.
//!
//! Only the native protocol is covered: the PyMiner and PyExpLabSys protocols have no way
//! to send a secret (their clients are fixed); they are restricted by address instead
//! (`allow`).

use std::sync::Arc;
use std::time::Instant;

use super::rpc::{self, Incoming};
use crate::access::{self, Role, Tokens};
use crate::call::{self, CallError};
use crate::failure_log::FailureLog;
use crate::host_core::Core;
use crate::pyjson::Value;
use labsocket_plugin_api::codes;

/// The method a client authenticates with.
pub const METHOD: &str = "auth";

/// Wrong tokens plus calls made before authenticating, after which a connection closes.
pub const MAX_FAILURES: u32 = 3;

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
    tokens: Arc<Tokens>,
    /// The token the connection authenticated with (`None`: not yet, or no tokens).
    token: Option<(String, Role)>,
    failures: u32,
    /// Refusals are logged at a bounded rate: a client looping on one must not fill the log.
    refusals: FailureLog,
}

impl Gate {
    pub fn new(tokens: Arc<Tokens>) -> Self {
        Self {
            tokens,
            token: None,
            failures: 0,
            refusals: FailureLog::default(),
        }
    }

    /// Lets `incoming` through, answers it, or closes the connection.
    pub fn admit(&mut self, core: &Core, incoming: Incoming) -> Gated {
        match incoming {
            Incoming::Call { id, method, params } if method == METHOD => {
                self.authenticate(id, &params)
            }
            incoming if self.tokens.is_empty() => Gated::Admit(incoming),
            // An admin may call everything: no lookup on the hot path.
            incoming if matches!(self.token, Some((_, Role::Admin))) => Gated::Admit(incoming),
            incoming if self.token.is_some() => self.authorise(core, incoming),
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

    /// Admits what the connection's role allows; a call it does not is answered with a
    /// refusal (each member of a batch on its own).
    fn authorise(&mut self, core: &Core, incoming: Incoming) -> Gated {
        match incoming {
            Incoming::Call { id, method, params } => match self.refusal(core, &method) {
                None => Gated::Admit(Incoming::Call { id, method, params }),
                Some(error) => Gated::Answer(id.map(|id| rpc::reply_line(&id, &Err(error)))),
            },
            Incoming::Batch(items) => {
                let items = items
                    .into_iter()
                    .filter_map(|item| match item {
                        Incoming::Call { id, method, params } => {
                            match (self.refusal(core, &method), id) {
                                (None, id) => Some(Incoming::Call { id, method, params }),
                                (Some(error), Some(id)) => Some(Incoming::Invalid { id, error }),
                                // A refused notification gets no reply, as any notification.
                                (Some(_), None) => None,
                            }
                        }
                        other => Some(other),
                    })
                    .collect::<Vec<_>>();
                if items.is_empty() {
                    Gated::Answer(None)
                } else {
                    Gated::Admit(Incoming::Batch(items))
                }
            }
            invalid @ Incoming::Invalid { .. } => Gated::Admit(invalid),
        }
    }

    /// The error for a call of `method` the connection's role does not allow.
    fn refusal(&mut self, core: &Core, method: &str) -> Option<CallError> {
        let (name, role) = self.token.as_ref()?;
        if *role == Role::Admin {
            return None;
        }
        let needed = access::needed_role(core, method);
        if needed <= *role {
            return None;
        }
        let (needed, role) = (needed.as_str(), role.as_str());
        let logged = format!(
            "native: token '{name}' (role {role}) refused '{method}': it needs the {needed} role"
        );
        if let Some(line) = self.refusals.failed(Instant::now(), &logged) {
            tracing::warn!("{line}");
        }
        Some(CallError::new(
            codes::AUTH_REQUIRED,
            format!(
                "permission denied: '{method}' needs a token with the {needed} role; this \
                 connection's token has the {role} role"
            ),
        ))
    }

    fn authenticate(&mut self, id: Option<Value>, params: &Value) -> Gated {
        let reply_id = id.clone().unwrap_or(Value::Null);
        if self.tokens.is_empty() {
            return answer(id, Ok(authenticated(false, Role::Admin)));
        }
        let guess = match params {
            Value::Dict(fields) => fields.get("token"),
            Value::List(items) if items.len() == 1 => items.first(),
            _ => None,
        };
        let Some(Value::Str(guess)) = guess else {
            let error = CallError::invalid_params("expected {\"token\": \"...\"}");
            return answer(id, Err(error));
        };
        if let Some(token) = self.tokens.find(guess) {
            tracing::debug!("native: authenticated with token '{}'", token.name);
            self.token = Some((token.name.clone(), token.role));
            return answer(id, Ok(authenticated(true, token.role)));
        }
        // A wrong token revokes an earlier success: the client is confused or hostile.
        self.token = None;
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

fn authenticated(required: bool, role: Role) -> Value {
    call::object([
        ("authenticated", Value::Bool(true)),
        ("required", Value::Bool(required)),
        ("role", Value::Str(role.as_str().to_owned())),
    ])
}

/// The reply line for a call answered here (nothing for a notification).
fn answer(id: Option<Value>, outcome: Result<Value, CallError>) -> Gated {
    Gated::Answer(id.map(|id| rpc::reply_line(&id, &outcome)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Secret;
    use crate::commands::core_commands;
    use crate::dispatch::tests::core_with;
    use crate::host_core::Extensions;

    const TOKEN: &str = "0123456789abcdef-secret";
    const READER: &str = "reader-0123456789abcdef";

    fn core() -> Core {
        let mut extensions = Extensions::default();
        extensions.commands(core_commands());
        core_with(extensions)
    }

    fn gate() -> Gate {
        let mut tokens = Tokens::default();
        tokens
            .add("k", "admin", Role::Admin, Secret::new(TOKEN))
            .unwrap();
        tokens
            .add("k", "reader", Role::Read, Secret::new(READER))
            .unwrap();
        Gate::new(Arc::new(tokens))
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
        let (core, mut gate) = (core(), gate());
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let refused = answered(gate.admit(&core, line(ping)));
        assert!(refused.contains("-32003"), "{refused}");
        assert!(refused.contains("authentication required"), "{refused}");
        let wrong = r#"{"jsonrpc":"2.0","id":2,"method":"auth","params":{"token":"nope"}}"#;
        assert!(answered(gate.admit(&core, line(wrong))).contains("wrong token"));
        match gate.admit(&core, line(ping)) {
            Gated::Close(line) => assert!(line.contains("closing the connection"), "{line}"),
            _ => panic!("the third failure closes"),
        }
    }

    #[test]
    fn the_right_token_opens_the_connection() {
        let (core, mut gate) = (core(), gate());
        let auth = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"auth","params":["{TOKEN}"]}}"#);
        let ok = answered(gate.admit(&core, line(&auth)));
        assert_eq!(
            ok,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"authenticated\":true,\"required\":true,\"role\":\"admin\"}}\n"
        );
        let batch = r#"[{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
        assert!(matches!(gate.admit(&core, line(batch)), Gated::Admit(_)));
    }

    #[test]
    fn a_read_token_is_refused_writes_alone_and_in_batches() {
        let (core, mut gate) = (core(), gate());
        let auth = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"auth","params":["{READER}"]}}"#);
        assert!(answered(gate.admit(&core, line(&auth))).contains("\"role\":\"read\""));
        let get = r#"{"jsonrpc":"2.0","id":2,"method":"get_point","params":["a"]}"#;
        assert!(matches!(gate.admit(&core, line(get)), Gated::Admit(_)));
        let set = r#"{"jsonrpc":"2.0","id":3,"method":"set_point_now","params":["a",1]}"#;
        let refused = answered(gate.admit(&core, line(set)));
        assert!(refused.contains("-32003"), "{refused}");
        assert!(
            refused.contains("needs a token with the write role"),
            "{refused}"
        );
        let notification = r#"{"jsonrpc":"2.0","method":"set_point_now","params":["a",1]}"#;
        assert_eq!(answered(gate.admit(&core, line(notification))), "");
        let batch = r#"[{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"set_point_now","params":["a",1]},{"jsonrpc":"2.0","method":"set_point_now","params":["a",1]}]"#;
        let Gated::Admit(Incoming::Batch(items)) = gate.admit(&core, line(batch)) else {
            panic!("a batch with an allowed call is admitted");
        };
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(matches!(&items[0], Incoming::Call { method, .. } if method == "ping"));
        assert!(
            matches!(&items[1], Incoming::Invalid { error, .. } if error.code == codes::AUTH_REQUIRED)
        );
        // Refusals are not failed authentications: the connection stays open.
        assert!(answered(gate.admit(&core, line(set))).contains("-32003"));
        assert!(matches!(gate.admit(&core, line(get)), Gated::Admit(_)));
    }

    #[test]
    fn without_a_token_everything_passes_and_auth_says_so() {
        let core = core();
        let mut gate = Gate::new(Arc::default());
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert!(matches!(gate.admit(&core, line(ping)), Gated::Admit(_)));
        let auth = r#"{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"x"}}"#;
        assert!(answered(gate.admit(&core, line(auth))).contains("\"required\":false"));
    }

    #[test]
    fn invalid_lines_get_their_own_error_and_notifications_nothing() {
        let (core, mut gate) = (core(), gate());
        assert!(matches!(gate.admit(&core, line("{")), Gated::Admit(_)));
        let notification = r#"{"jsonrpc":"2.0","method":"set_point_now","params":["a",1]}"#;
        assert_eq!(answered(gate.admit(&core, line(notification))), "");
    }
}
