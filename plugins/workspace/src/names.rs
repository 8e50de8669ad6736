//! Which variable names the workspace accepts.
//!
//! PyMiner's workspace only stored names for which `str.isidentifier()` is true and that
//! are not one of its builtin type descriptors, but it acknowledged other names with
//! "success" and dropped them silently. labsocket applies the same rule and refuses such a
//! write with the reason, on every front end, so every stored variable can be injected into
//! a PyMiner IPython namespace.

/// The type descriptors PyMiner's workspace always starts with, in its order. They are
/// listed first by `get_all_variable_names`, are not public, and cannot be written.
pub const BUILTIN_TYPES: [&str; 8] = [
    "Type",
    "Complex",
    "Matrix",
    "Vector",
    "TimeSeries",
    "StateSpace",
    "DataFrame",
    "Series",
];

/// Longest variable name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Python's `str.isidentifier()`: a letter or `_`, then letters, digits or `_` in
/// Unicode's XID sense (keywords count as identifiers, as in Python).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first == '_' || unicode_ident::is_xid_start(first) => {
            chars.all(unicode_ident::is_xid_continue)
        }
        _ => false,
    }
}

/// Checks that `name` may be written.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "variable name is longer than {MAX_NAME_BYTES} bytes"
        ));
    }
    if !is_identifier(name) {
        return Err(format!("variable name {name:?} is not a Python identifier"));
    }
    if BUILTIN_TYPES.contains(&name) {
        return Err(format!(
            "variable name {name:?} is one of PyMiner's builtin type names"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_python() {
        for good in ["x", "_", "_a1", "données", "变量", "class", "x\u{0301}"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in ["", "1bad", "a-b", "a b", "a.b", "é!", "\u{0301}x"] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn builtin_type_names_and_long_names_are_refused() {
        assert!(check_name("Matrix").unwrap_err().contains("builtin"));
        assert!(check_name("matrix").is_ok());
        assert!(check_name(&"a".repeat(MAX_NAME_BYTES)).is_ok());
        assert!(check_name(&"a".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(check_name("1bad").unwrap_err().contains("identifier"));
    }
}
