//! What every command call shares, whoever answers it: the [`CallError`] a failed call
//! returns (in JSON-RPC terms, codes from `labsocket_plugin_api::codes`) and the helpers
//! that read positional or named arguments and build result objects.
//!
//! It sits at the bottom of the core so the plugin registry, the core commands, dispatch
//! and every front end can use it without depending on one another.

use labsocket_plugin_api::codes;

use crate::pyjson::Value;

/// `1.5 MiB`, `256 MiB`, `100 bytes`: sizes in errors, as a person reads them.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    let (unit, name) = match bytes {
        b if b >= GIB => (GIB, "GiB"),
        b if b >= MIB => (MIB, "MiB"),
        b if b >= KIB => (KIB, "KiB"),
        _ => return format!("{bytes} bytes"),
    };
    if bytes.is_multiple_of(unit) {
        format!("{} {name}", bytes / unit)
    } else {
        format!("{:.1} {name}", bytes as f64 / unit as f64)
    }
}

/// A failed call, in JSON-RPC terms.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl CallError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_PARAMS, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(codes::NOT_FOUND, message)
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for CallError {}

/// A positional (`[a, b]`) or named (`{"a": .., "b": ..}`) argument.
pub fn arg<'a>(params: &'a Value, index: usize, name: &str) -> Option<&'a Value> {
    match params {
        Value::List(items) => items.get(index),
        Value::Dict(fields) => fields.get(name),
        _ => None,
    }
}

/// A required string argument.
pub fn str_arg<'a>(params: &'a Value, index: usize, name: &str) -> Result<&'a str, CallError> {
    match arg(params, index, name) {
        Some(Value::Str(text)) => Ok(text),
        Some(_) => Err(CallError::invalid_params(format!(
            "'{name}' must be a string"
        ))),
        None => Err(CallError::invalid_params(format!("'{name}' is required"))),
    }
}

/// An optional number argument (`null` counts as absent).
pub fn number_arg(params: &Value, index: usize, name: &str) -> Result<Option<f64>, CallError> {
    match arg(params, index, name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| CallError::invalid_params(format!("'{name}' must be a number"))),
    }
}

/// Builds a JSON object from `(key, value)` pairs, keeping their order.
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Dict(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(100), "100 bytes");
        assert_eq!(human_size(4096), "4 KiB");
        assert_eq!(human_size(256 << 20), "256 MiB");
        assert_eq!(human_size((3 << 19) + 1), "1.5 MiB");
        assert_eq!(human_size(1 << 30), "1 GiB");
    }
}
