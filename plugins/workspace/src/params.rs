//! Reading command parameters: PyMiner's positional arrays and the native protocol's
//! objects, with errors that name the command's expected form. A positional array longer
//! than the command takes is refused, as PyMiner's `handler(*params)` raised on it.

use labsocket_plugin_api::{CommandError, Value};

/// A command's parameters: `[a, b, ...]` (PyMiner) or `{"a": .., "b": ..}` (native).
pub struct Params<'a> {
    params: &'a Value,
    /// The expected form, for error messages: `read_p [name]`.
    usage: &'static str,
}

impl<'a> Params<'a> {
    /// Wraps `params` of a command taking at most `max_args` positional arguments;
    /// anything but an array, object or null is refused, and so is a longer array.
    pub fn new(
        params: &'a Value,
        usage: &'static str,
        max_args: usize,
    ) -> Result<Params<'a>, CommandError> {
        match params {
            Value::Array(items) if items.len() > max_args => {
                Err(CommandError::invalid_params(format!(
                    "too many arguments: {} given, at most {max_args} taken: {usage}",
                    items.len()
                )))
            }
            Value::Array(_) | Value::Object(_) | Value::Null => Ok(Params { params, usage }),
            _ => Err(CommandError::invalid_params(format!(
                "params must be an array or an object: {usage}"
            ))),
        }
    }

    /// The argument at `index` (array) or `key` (object).
    pub fn get(&self, index: usize, key: &str) -> Option<&'a Value> {
        match self.params {
            Value::Array(items) => items.get(index),
            Value::Object(fields) => fields.get(key),
            _ => None,
        }
    }

    /// A named-only argument (`{"key": ..}`; positional arrays do not have it).
    pub fn field(&self, key: &str) -> Option<&'a Value> {
        match self.params {
            Value::Object(fields) => fields.get(key),
            _ => None,
        }
    }

    /// An optional named-only string (absent or null gives `default`).
    pub fn field_str_or(&self, key: &str, default: &'a str) -> Result<&'a str, CommandError> {
        match self.field(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::String(text)) => Ok(text),
            Some(_) => Err(self.wrong_type(key, "a string")),
        }
    }

    /// A required argument.
    pub fn required(&self, index: usize, key: &str) -> Result<&'a Value, CommandError> {
        self.get(index, key).ok_or_else(|| {
            CommandError::invalid_params(format!("'{key}' is required: {}", self.usage))
        })
    }

    /// A required string.
    pub fn str(&self, index: usize, key: &str) -> Result<&'a str, CommandError> {
        match self.required(index, key)? {
            Value::String(text) => Ok(text),
            _ => Err(self.wrong_type(key, "a string")),
        }
    }

    /// An optional string (absent or null gives `default`).
    pub fn str_or(
        &self,
        index: usize,
        key: &str,
        default: &'a str,
    ) -> Result<&'a str, CommandError> {
        match self.get(index, key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::String(text)) => Ok(text),
            Some(_) => Err(self.wrong_type(key, "a string")),
        }
    }

    /// An error saying `key` must be `what`.
    pub fn wrong_type(&self, key: &str, what: &str) -> CommandError {
        CommandError::invalid_params(format!("'{key}' must be {what}: {}", self.usage))
    }
}

#[cfg(test)]
mod tests {
    use labsocket_plugin_api::json;

    use super::*;

    #[test]
    fn positional_and_named_arguments() {
        let positional = json!(["x", 1]);
        let params = Params::new(&positional, "m [name, n]", 3).unwrap();
        assert_eq!(params.str(0, "name").unwrap(), "x");
        assert_eq!(params.str_or(2, "provider", "server").unwrap(), "server");
        let err = params.str(1, "n").unwrap_err();
        assert_eq!(err.message, "'n' must be a string: m [name, n]");
        let named = json!({"name": "y", "provider": null});
        let params = Params::new(&named, "m", 2).unwrap();
        assert_eq!(params.str(0, "name").unwrap(), "y");
        assert_eq!(params.str_or(1, "provider", "p").unwrap(), "p");
        assert!(params
            .required(3, "missing")
            .unwrap_err()
            .message
            .contains("required"));
        assert!(Params::new(&json!("x"), "m", 1).is_err());
    }

    #[test]
    fn more_positional_arguments_than_taken_are_refused() {
        let err = Params::new(&json!(["x", "extra"]), "read_p [name]", 1)
            .err()
            .expect("two arguments for one");
        assert_eq!(
            err.message,
            "too many arguments: 2 given, at most 1 taken: read_p [name]"
        );
        assert!(Params::new(&json!([]), "get_var_dic []", 0).is_ok());
        assert!(Params::new(&json!([1]), "get_var_dic []", 0).is_err());
        // Objects are named arguments: the count does not apply.
        assert!(Params::new(&json!({"a": 1, "b": 2}), "m", 1).is_ok());
    }
}
