//! A variable's metadata: what the workspace knows about a value besides its bytes.
//!
//! PyMiner kept per-variable metadata (provider, creation and modification time) but never
//! exposed it; labsocket stores it with every value and shows it over the native protocol
//! (`workspace.meta`, `workspace.list`) so a client can tell who wrote what, when, how big
//! it is and how it is encoded before fetching it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The encoding of values written by PyMiner clients: `cloudpickle.dumps(value)`, never
/// unpickled by the server.
pub const PICKLE: &str = "pickle";
/// The encoding of values written as JSON (`workspace.set` with `"value"`): the
/// workspace can read these itself.
pub const JSON: &str = "json";

/// Longest encoding tag.
pub const MAX_ENCODING_BYTES: usize = 64;
/// Longest provider string and type hint.
pub const MAX_LABEL_BYTES: usize = 256;

/// Everything the workspace records about one variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub name: String,
    /// `pickle`, `json`, or another tag a native client chose (`npy`, `arrow`, ...).
    pub encoding: String,
    /// One of [`TYPE_HINTS`] (see [`resolve_type_hint`]); variables stored before the
    /// vocabulary was enforced may hold another label.
    pub type_hint: String,
    /// Size of the stored bytes.
    pub size: u64,
    /// 1 for the first write, +1 for every overwrite.
    pub version: u64,
    /// Who wrote the current value (PyMiner's `data_source`).
    pub provider: String,
    /// Unix seconds of the first write.
    pub created: f64,
    /// Unix seconds of the latest write.
    pub modified: f64,
    /// Insertion position: variables are listed in first-write order, also after a
    /// restart. Internal, not shown to clients.
    pub position: u64,
    /// The workspace-wide revision of this value's write: above every earlier one, also
    /// across restarts and deletes (a durable counter) and, clocks permitting, above what
    /// an earlier workspace of the same host published (it follows the clock in
    /// microseconds), so federation (`ws/<name>`, SPEC §9) can order the values of one
    /// variable. 0 for values stored before it existed. Not in [`Meta::to_json`].
    #[serde(default)]
    pub rev: u64,
}

impl Meta {
    /// The client-facing form: `{"name","encoding","type_hint","size","version",
    /// "provider","created","modified"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "encoding": self.encoding,
            "type_hint": self.type_hint,
            "size": self.size,
            "version": self.version,
            "provider": self.provider,
            "created": self.created,
            "modified": self.modified,
        })
    }
}

/// Checks an encoding tag: 1 to 64 of `a-z 0-9 _ . - + /`, so short tags (`npy`) and
/// media types (`image/png`, `application/vnd.apache.arrow.file`) both fit.
pub fn check_encoding(tag: &str) -> Result<(), String> {
    let valid = !tag.is_empty()
        && tag.len() <= MAX_ENCODING_BYTES
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-+/".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "encoding {tag:?} is not valid: use 1 to {MAX_ENCODING_BYTES} of a-z, 0-9, '_', '.', '-', '+', '/'"
        ))
    }
}

/// Checks a provider or type hint: at most 256 bytes, no control characters.
pub fn check_label(what: &str, text: &str) -> Result<(), String> {
    if text.len() > MAX_LABEL_BYTES {
        return Err(format!("{what} is longer than {MAX_LABEL_BYTES} bytes"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} {text:?} contains control characters"));
    }
    Ok(())
}

/// Every type hint a variable can have: PyMiner's `get_all_var_names_of_type` categories,
/// then `other`.
pub const TYPE_HINTS: [&str; 5] = ["string", "numeric", "array", "table", "other"];

/// The type hint to store for a value whose hint derived from its bytes is `derived`
/// and whose writer gave `given`. One vocabulary for every client, so PyMiner's type
/// filters find what native clients wrote (issue 11: the Python client sent `float`):
/// the derived hint wins wherever the workspace can tell (it is not `other`); a given
/// hint only fills in where it cannot (opaque encodings, JSON lists, unknown pickles).
/// A given hint outside [`TYPE_HINTS`], or contradicting the derived one, is refused.
pub fn resolve_type_hint(derived: &'static str, given: Option<&str>) -> Result<String, String> {
    let Some(given) = given else {
        return Ok(derived.to_owned());
    };
    if !TYPE_HINTS.contains(&given) {
        return Err(format!(
            "type_hint {given:?} is not one of \"string\", \"numeric\", \"array\", \"table\", \"other\" (leave it out to derive it from the value)"
        ));
    }
    if derived != "other" && given != derived {
        return Err(format!(
            "type_hint {given:?} contradicts the value, which is {derived:?} (leave it out to derive it from the value)"
        ));
    }
    Ok(given.to_owned())
}

/// The type hint of a JSON value, in the vocabulary of PyMiner's
/// `get_all_var_names_of_type`. Lists are `other`, as Python lists are for pickles: a
/// client asking for arrays expects numpy's interface.
pub fn json_type_hint(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(_) | Value::Bool(_) => "numeric",
        _ => "other",
    }
}

/// The type hint of an encoding the workspace cannot look inside.
pub fn opaque_type_hint(encoding: &str) -> &'static str {
    match encoding {
        "npy" => "array",
        "arrow" | "parquet" => "table",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_form_has_the_documented_keys_in_order_without_position() {
        let meta = Meta {
            name: "x".into(),
            encoding: JSON.into(),
            type_hint: "numeric".into(),
            size: 2,
            version: 3,
            provider: "native".into(),
            created: 1.5,
            modified: 2.5,
            position: 7,
            rev: 9,
        };
        assert_eq!(
            meta.to_json().to_string(),
            r#"{"name":"x","encoding":"json","type_hint":"numeric","size":2,"version":3,"provider":"native","created":1.5,"modified":2.5}"#
        );
    }

    #[test]
    fn encoding_tags_are_short_lowercase_words_or_media_types() {
        assert!(check_encoding("parquet").is_ok());
        assert!(check_encoding("x-my.format_2").is_ok());
        assert!(check_encoding("image/png").is_ok());
        assert!(check_encoding("application/vnd.api+json").is_ok());
        assert!(check_encoding("").is_err());
        assert!(check_encoding("NPY").is_err());
        assert!(check_encoding("a b").is_err());
        assert!(check_encoding(&"a".repeat(MAX_ENCODING_BYTES)).is_ok());
        assert!(check_encoding(&"a".repeat(MAX_ENCODING_BYTES + 1)).is_err());
    }

    #[test]
    fn type_hints_follow_pyminer_vocabulary() {
        assert_eq!(json_type_hint(&json!("s")), "string");
        assert_eq!(json_type_hint(&json!(1.5)), "numeric");
        assert_eq!(json_type_hint(&json!(true)), "numeric");
        assert_eq!(json_type_hint(&json!([1, 2])), "other");
        assert_eq!(opaque_type_hint("npy"), "array");
        assert_eq!(opaque_type_hint("parquet"), "table");
        assert_eq!(opaque_type_hint("blob"), "other");
    }

    #[test]
    fn given_type_hints_fill_in_only_what_the_value_does_not_tell() {
        assert_eq!(resolve_type_hint("numeric", None).unwrap(), "numeric");
        assert_eq!(
            resolve_type_hint("numeric", Some("numeric")).unwrap(),
            "numeric"
        );
        assert_eq!(resolve_type_hint("other", Some("array")).unwrap(), "array");
        assert_eq!(resolve_type_hint("other", None).unwrap(), "other");
        let err = resolve_type_hint("numeric", Some("float")).unwrap_err();
        assert!(err.contains("not one of"), "{err}");
        let err = resolve_type_hint("other", Some("numpy.ndarray[float64, 3]")).unwrap_err();
        assert!(err.contains("not one of"), "{err}");
        let err = resolve_type_hint("numeric", Some("string")).unwrap_err();
        assert!(err.contains("contradicts"), "{err}");
    }
}
