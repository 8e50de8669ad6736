//! [`CommandError`]: how a command says "no".

use serde_json::{json, Value};

/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i64 = -32602;
/// The default application error code (JSON-RPC reserves -32000..-32099 for servers).
pub const APPLICATION_ERROR: i64 = -32000;

/// An error reply from a command. It becomes a JSON-RPC error on the native protocol and
/// the protocol's own failure form on the other front ends.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl CommandError {
    /// An application error with the default code.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            code: APPLICATION_ERROR,
            message: message.into(),
            data: None,
        }
    }

    /// The params do not fit the command.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self {
            code: INVALID_PARAMS,
            ..Self::new(message)
        }
    }

    /// Replaces the code (use -32000..-32099 or your own positive range).
    pub fn with_code(mut self, code: i64) -> Self {
        self.code = code;
        self
    }

    /// Attaches structured detail for programs.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The wire form that crosses the C ABI.
    pub fn to_json(&self) -> Value {
        match &self.data {
            Some(data) => json!({"code": self.code, "message": self.message, "data": data}),
            None => json!({"code": self.code, "message": self.message}),
        }
    }

    /// Reads the wire form back (the host side of the boundary).
    pub fn from_json(value: &Value) -> Option<Self> {
        Some(Self {
            code: value.get("code")?.as_i64()?,
            message: value.get("message")?.as_str()?.to_owned(),
            data: value.get("data").cloned(),
        })
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for CommandError {}
