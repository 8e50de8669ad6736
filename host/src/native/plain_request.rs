//! The fast path for the request lines nearly every client sends.
//!
//! Parsing a whole line into a [`Value`] builds an `IndexMap` (a hash table, four key
//! strings, SipHash for each key, then three `shift_remove`s) only to take the four
//! fields out again; profiling `bench-native` showed that as the largest share of the
//! server's own CPU time per request. A plain request is instead read field by field:
//! one JSON object whose keys are among `jsonrpc`, `id`, `method` and `params`, each at
//! most once, written without escapes, with a `method` string without escapes. Field
//! values are handed to [`pyjson::parse`] one by one, so they parse exactly as before.
//!
//! Anything else (other keys, duplicate keys, escapes, invalid JSON, a wrong version,
//! an id or params of the wrong type) returns `None` and goes through the general path
//! in [`super::rpc`], so every error and edge case keeps its exact reply.

use super::rpc::Incoming;
use crate::pyjson::{self, Value};

/// The call in `line` if it has the plain shape; `None` for the general path.
pub fn parse(line: &[u8]) -> Option<Incoming> {
    let text = std::str::from_utf8(line).ok()?;
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let (mut id, mut method, mut params, mut versioned) = (None, None, None, false);
    at = skip_whitespace(bytes, at + 1);
    loop {
        let key = string_contents(bytes, at)?;
        at = skip_whitespace(bytes, at + key.len() + 2);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_whitespace(bytes, at + 1);
        let end = value_end(bytes, at)?;
        let raw = &text[at..end];
        match key {
            b"jsonrpc" if !versioned && raw == "\"2.0\"" => versioned = true,
            b"method" if method.is_none() => {
                let name = string_contents(bytes, at).filter(|name| name.len() + 2 == raw.len())?;
                method = Some(std::str::from_utf8(name).ok()?.to_owned());
            }
            b"id" if id.is_none() => id = Some(parse_id(raw)?),
            b"params" if params.is_none() && matches!(bytes[at], b'[' | b'{') => {
                params = Some(pyjson::parse(raw).ok()?);
            }
            _ => return None,
        }
        at = skip_whitespace(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_whitespace(bytes, at + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_whitespace(bytes, at + 1) != bytes.len() || !versioned {
        return None;
    }
    Some(Incoming::Call {
        id,
        method: method?,
        params: params.unwrap_or(Value::Null),
    })
}

/// JSON whitespace (what Python's `json` skips).
fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The bytes between the quotes of the string starting at `at`, if it has no escape.
fn string_contents(bytes: &[u8], at: usize) -> Option<&[u8]> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let length = memchr::memchr2(b'"', b'\\', &bytes[at + 1..])?;
    (bytes[at + 1 + length] == b'"').then(|| &bytes[at + 1..at + 1 + length])
}

/// Where the JSON value starting at `at` ends. Only delimits: the value is validated by
/// the parse that follows (a mismatched bracket makes that parse fail).
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let length = bytes[at..]
                .iter()
                .position(|byte| matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(bytes.len() - at);
            (length > 0).then_some(at + length)
        }
    }
}

/// Just past the closing quote of the string starting at `at` (escapes skipped); `None`
/// if the line ends first, also right after a backslash (issue 11: that used to slice
/// past the end and panic).
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// A request id: a plain integer, or whatever `pyjson` makes of it if that is a valid
/// id type (null, integer, string).
fn parse_id(raw: &str) -> Option<Value> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'));
    if plain {
        return raw.parse().ok().map(Value::Int);
    }
    match pyjson::parse(raw).ok()? {
        id @ (Value::Null | Value::Int(_) | Value::BigInt(_) | Value::Str(_)) => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::rpc;

    /// What the general path makes of `line`, for comparison.
    fn general(line: &str) -> String {
        format!("{:?}", rpc::parse_general(line.as_bytes()))
    }

    #[test]
    fn plain_requests_parse_as_the_general_path_does() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#" { "method" : "echo" , "params" : [NaN, {"a": "}"}], "id": "x\"y", "jsonrpc": "2.0" } "#,
            r#"{"jsonrpc":"2.0","method":"notify","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":-0,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"m","params":[]}"#,
            r#"{"jsonrpc":"2.0","id":123456789012345678901234,"method":"m"}"#,
            "{\"jsonrpc\":\"2.0\",\"id\":1.0e0,\"method\":\"m\"}",
        ] {
            let fast = parse(line.as_bytes());
            if line.contains("1.0e0") {
                assert!(fast.is_none(), "a float id takes the general path");
                continue;
            }
            assert_eq!(
                format!("{:?}", fast.expect(line)),
                general(line),
                "for {line}"
            );
        }
    }

    #[test]
    fn anything_unusual_takes_the_general_path() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"p\u0069ng"}"#,
            r#"{"jsonr\u0070c":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":01,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":[],"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":3}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1,}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m"} x"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping""#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            "{}",
            "",
        ] {
            assert!(parse(line.as_bytes()).is_none(), "{line}");
        }
    }
}
