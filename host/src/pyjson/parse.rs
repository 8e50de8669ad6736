//! A JSON parser that accepts and rejects exactly what CPython 3.11's
//! `json.loads` does, and reports the same error messages and positions.
//!
//! The structure is a port of the C scanner in CPython's `Modules/_json.c`
//! (`scan_once_unicode`, `_match_number_unicode`, `scanstring_unicode`,
//! `_parse_object_unicode`, `_parse_array_unicode`) plus `json.decoder`'s
//! `decode`. Porting it, rather than using a standard JSON parser, is what
//! makes the edge cases agree: `NaN`/`Infinity` are accepted, `1.` parses as
//! `1` followed by "Extra data", integers have no size limit (up to
//! Python's 4300-digit `int` conversion limit), duplicate keys keep their
//! first position with the last value, and error positions point where
//! Python's do.
//!
//! Positions are tracked as byte offsets; `ParseError` converts the failing
//! offset to Python's code point offset, line and column so its `Display`
//! matches `str(JSONDecodeError)`.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use indexmap::IndexMap;

use super::value::Value;

/// Deepest nesting of arrays/objects accepted. Python's limit comes from
/// its recursion limit (about 1000 levels, less when called from deep in a
/// stack); a fixed, lower cap keeps our recursive descent far from any
/// thread's stack limit on hostile input.
pub const MAX_DEPTH: usize = 512;

/// CPython's default `sys.get_int_max_str_digits()`: longer integer literals
/// make `json.loads` raise `ValueError`.
const MAX_INT_DIGITS: usize = 4300;

/// Why `parse` failed, with Python's message and position.
///
/// `Display` gives the text of the exception CPython raises for the same
/// input, e.g. `Expecting value: line 1 column 1 (char 0)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    message: Cow<'static, str>,
    byte_pos: usize,
    char_pos: usize,
    line: usize,
    column: usize,
    /// Whether Python's exception text carries a position (JSONDecodeError
    /// does; the `int` digit limit ValueError and UnicodeDecodeError carry
    /// their details in the message).
    located: bool,
}

impl ParseError {
    fn located(message: Cow<'static, str>, text: &[u8], byte_pos: usize) -> Self {
        let byte_pos = byte_pos.min(text.len());
        let before = &text[..byte_pos];
        // Python counts code points; UTF-8 continuation bytes are not ones.
        let chars = |b: &[u8]| b.iter().filter(|&&c| c & 0xC0 != 0x80).count();
        let char_pos = chars(before);
        let (line, column) = match before.iter().rposition(|&c| c == b'\n') {
            Some(nl) => (
                1 + before.iter().filter(|&&c| c == b'\n').count(),
                chars(&before[nl + 1..]) + 1,
            ),
            None => (1, char_pos + 1),
        };
        ParseError {
            message,
            byte_pos,
            char_pos,
            line,
            column,
            located: true,
        }
    }

    fn unlocated(message: String, byte_pos: usize) -> Self {
        ParseError {
            message: Cow::Owned(message),
            byte_pos,
            char_pos: 0,
            line: 0,
            column: 0,
            located: false,
        }
    }

    /// The message without the position, e.g. `Expecting ',' delimiter`
    /// (Python's `JSONDecodeError.msg`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset of the error in the input (for `parse_bytes`, in the
    /// bytes as given, including a BOM).
    pub fn byte_pos(&self) -> usize {
        self.byte_pos
    }

    /// Offset in code points, as Python's `JSONDecodeError.pos` (0 when the
    /// error has no position in Python either).
    pub fn char_pos(&self) -> usize {
        self.char_pos
    }

    /// 1-based line (Python's `lineno`; 0 when not located).
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column in code points (Python's `colno`; 0 when not
    /// located).
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.located {
            write!(
                f,
                "{}: line {} column {} (char {})",
                self.message, self.line, self.column, self.char_pos
            )
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `text` like Python's `json.loads(text)` for a `str`.
///
/// Lone UTF-16 surrogates from `\uXXXX` escapes (which Python keeps in its
/// `str`) cannot live in a Rust `String` and become U+FFFD. Nesting deeper
/// than [`MAX_DEPTH`] fails with "nesting too deep" where Python would
/// accept up to its recursion limit.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    parse_counting_lone_surrogates(text).map(|(value, _)| value)
}

/// [`parse`], also saying how many lone surrogates became U+FFFD: a caller that must not
/// change what it stores without saying so (the push socket) can refuse them.
pub fn parse_counting_lone_surrogates(text: &str) -> Result<(Value, usize), ParseError> {
    if text.starts_with('\u{feff}') {
        return Err(ParseError::located(
            Cow::Borrowed("Unexpected UTF-8 BOM (decode using utf-8-sig)"),
            text.as_bytes(),
            0,
        ));
    }
    parse_document(text)
}

/// Parses UTF-8 `bytes` like Python's `json.loads(bytes)`.
///
/// As in Python, a leading UTF-8 BOM is skipped and UTF-8-encoded
/// surrogates are let through (`surrogatepass`; they become U+FFFD here).
/// Invalid UTF-8 fails with the text of Python's `UnicodeDecodeError`.
/// Unlike Python, UTF-16/UTF-32 input is not auto-detected: this server's
/// clients only send UTF-8.
///
/// The error's [`ParseError::byte_pos`] counts from the start of `bytes`
/// (BOM included); its message, like Python's, counts from after the BOM.
pub fn parse_bytes(bytes: &[u8]) -> Result<Value, ParseError> {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    let (skipped, body) = match bytes.strip_prefix(BOM) {
        Some(body) => (BOM.len(), body),
        None => (0, bytes),
    };
    // Encoded surrogates (3 bytes) become U+FFFD (3 bytes), so byte
    // offsets in the decoded text are offsets in `body` too.
    decode_utf8_surrogatepass(body)
        .and_then(|text| parse_document(&text))
        .map(|(value, _)| value)
        .map_err(|mut err| {
            err.byte_pos += skipped;
            err
        })
}

/// `bytes.decode('utf-8', 'surrogatepass')`, with surrogates as U+FFFD.
fn decode_utf8_surrogatepass(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    let mut rest = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok(Cow::Borrowed(text)),
        Err(_) => bytes,
    };
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                return Ok(Cow::Owned(out));
            }
            Err(err) => {
                let (valid, bad) = rest.split_at(err.valid_up_to());
                // `valid` is the prefix from_utf8 vouched for.
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                if let [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] = bad {
                    out.push('\u{fffd}');
                    rest = &bad[3..];
                    continue;
                }
                let pos = bytes.len() - bad.len();
                return Err(utf8_error(bad, pos, err.error_len()));
            }
        }
    }
}

/// The text of CPython's `UnicodeDecodeError` for UTF-8 (CPython and Rust
/// both report the maximal invalid subpart, so the spans agree).
fn utf8_error(bad: &[u8], pos: usize, error_len: Option<usize>) -> ParseError {
    let (len, reason) = match error_len {
        None => (bad.len(), "unexpected end of data"),
        Some(1) if matches!(bad.first(), Some(0x80..=0xC1 | 0xF5..=0xFF)) => {
            (1, "invalid start byte")
        }
        Some(n) => (n, "invalid continuation byte"),
    };
    let message = if len <= 1 {
        format!(
            "'utf-8' codec can't decode byte {:#04x} in position {pos}: {reason}",
            bad.first().copied().unwrap_or(0)
        )
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {pos}-{}: {reason}",
            pos + len - 1
        )
    };
    ParseError::unlocated(message, pos)
}

/// `json.decoder.JSONDecoder.decode`: value surrounded by whitespace.
fn parse_document(text: &str) -> Result<(Value, usize), ParseError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        depth: 0,
        lone_surrogates: Cell::new(0),
    };
    let result = parser.document();
    let lone_surrogates = parser.lone_surrogates.get();
    result
        .map(|value| (value, lone_surrogates))
        .map_err(|fail| match fail {
            Fail::At(message, pos) => {
                ParseError::located(Cow::Borrowed(message), text.as_bytes(), pos)
            }
            Fail::IntDigits(digits, pos) => ParseError::unlocated(
                format!(
                    "Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion: \
                 value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
                ),
                pos,
            ),
        })
}

/// Internal error: cheap to build and propagate; turned into a
/// `ParseError` (with line/column) once, at the top.
#[derive(Clone, Copy)]
enum Fail {
    At(&'static str, usize),
    IntDigits(usize, usize),
}

const EXPECTING_VALUE: &str = "Expecting value";

/// Initial capacity of a non-empty array or object.
const SMALL_CONTAINER: usize = 4;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    depth: usize,
    /// Lone surrogates replaced by U+FFFD so far (a `Cell`: strings are read by `&self`).
    lone_surrogates: Cell<usize>,
}

type Step<T> = Result<(T, usize), Fail>;

impl Parser<'_> {
    fn document(&mut self) -> Result<Value, Fail> {
        let start = self.skip_ws(0);
        let (value, end) = self.value(start)?;
        let end = self.skip_ws(end);
        if end != self.bytes.len() {
            return Err(Fail::At("Extra data", end));
        }
        Ok(value)
    }

    /// Python's `IS_WHITESPACE`: only space, tab, newline, carriage return.
    fn skip_ws(&self, mut idx: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(idx) {
            idx += 1;
        }
        idx
    }

    fn at(&self, idx: usize) -> Option<u8> {
        self.bytes.get(idx).copied()
    }

    /// `scan_once_unicode`: one value starting exactly at `idx`.
    fn value(&mut self, idx: usize) -> Step<Value> {
        let rest = self.bytes.get(idx..).unwrap_or_default();
        let constant = |word: &[u8], value: Value| -> Option<(Value, usize)> {
            rest.starts_with(word).then(|| (value, idx + word.len()))
        };
        let found = match rest.first() {
            None => return Err(Fail::At(EXPECTING_VALUE, idx)),
            Some(b'"') => {
                let (s, next) = self.string(idx + 1)?;
                return Ok((Value::Str(s), next));
            }
            Some(b'{') => return self.nested(idx, Self::object),
            Some(b'[') => return self.nested(idx, Self::array),
            Some(b'n') => constant(b"null", Value::Null),
            Some(b't') => constant(b"true", Value::Bool(true)),
            Some(b'f') => constant(b"false", Value::Bool(false)),
            Some(b'N') => constant(b"NaN", Value::Float(f64::NAN)),
            Some(b'I') => constant(b"Infinity", Value::Float(f64::INFINITY)),
            Some(b'-') => constant(b"-Infinity", Value::Float(f64::NEG_INFINITY)),
            Some(_) => None,
        };
        match found {
            Some(step) => Ok(step),
            None => self.number(idx),
        }
    }

    /// Enters an array or object at `idx` (the bracket), enforcing
    /// `MAX_DEPTH` where Python would check its recursion limit.
    fn nested(&mut self, idx: usize, inner: fn(&mut Self, usize) -> Step<Value>) -> Step<Value> {
        if self.depth >= MAX_DEPTH {
            return Err(Fail::At("nesting too deep", idx));
        }
        self.depth += 1;
        let result = inner(self, idx + 1);
        self.depth -= 1;
        result
    }

    /// `_match_number_unicode`. Anything that does not start like a number
    /// is "Expecting value" at `start`; a number stops at the first byte
    /// that cannot continue it (`1.` is `1`, `1e` is `1`, `01` is `0`).
    fn number(&self, start: usize) -> Step<Value> {
        let len = self.bytes.len();
        let is_digit = |i: usize| self.at(i).is_some_and(|b| b.is_ascii_digit());
        let mut idx = start;
        if self.at(idx) == Some(b'-') {
            idx += 1;
        }
        match self.at(idx) {
            Some(b'1'..=b'9') => {
                idx += 1;
                while is_digit(idx) {
                    idx += 1;
                }
            }
            Some(b'0') => idx += 1,
            _ => return Err(Fail::At(EXPECTING_VALUE, start)),
        }
        let mut is_float = false;
        if idx + 1 < len && self.at(idx) == Some(b'.') && is_digit(idx + 1) {
            is_float = true;
            idx += 2;
            while is_digit(idx) {
                idx += 1;
            }
        }
        if idx + 1 < len && matches!(self.at(idx), Some(b'e' | b'E')) {
            let e_start = idx;
            idx += 1;
            if idx + 1 < len && matches!(self.at(idx), Some(b'-' | b'+')) {
                idx += 1;
            }
            while is_digit(idx) {
                idx += 1;
            }
            if is_digit(idx - 1) {
                is_float = true;
            } else {
                // "1e", "1e+": the exponent is not part of the number.
                idx = e_start;
            }
        }
        // Only ASCII bytes were consumed, so this slice is on boundaries.
        let literal = &self.text[start..idx];
        if is_float {
            // Correctly rounded like Python's float(); overflow gives ±inf
            // (float('1e400') == inf). The grammar above guarantees the
            // literal is valid for Rust's parser too.
            let f = literal.parse::<f64>().unwrap_or(f64::NAN);
            return Ok((Value::Float(f), idx));
        }
        if let Ok(i) = literal.parse::<i64>() {
            return Ok((Value::Int(i), idx));
        }
        let digits = literal.len() - usize::from(literal.starts_with('-'));
        if digits > MAX_INT_DIGITS {
            return Err(Fail::IntDigits(digits, start));
        }
        // No leading zeros (grammar) and outside i64, so already canonical.
        Ok((Value::BigInt(literal.to_owned()), idx))
    }

    /// `scanstring_unicode` in strict mode; `idx` is just past the opening
    /// quote. Returns the string and the index just past the closing quote.
    fn string(&self, idx: usize) -> Step<String> {
        let begin = idx - 1;
        let len = self.bytes.len();
        let unterminated = Fail::At("Unterminated string starting at", begin);
        // A string without escapes is copied in one exact-size allocation;
        // escapes append to it piecewise.
        let mut out = String::new();
        let mut end = idx;
        loop {
            // Find the end of the string or the next escape. Bytes of
            // multi-byte UTF-8 characters are >= 0x80, so never match.
            let mut next = end + super::plain_run::plain_prefix_len(&self.bytes[end..], false);
            let c = loop {
                match self.at(next) {
                    None => return Err(unterminated),
                    Some(c @ (b'"' | b'\\')) => break c,
                    Some(0..=0x1f) => return Err(Fail::At("Invalid control character at", next)),
                    Some(_) => next += 1,
                }
            };
            // `end` follows the opening quote or an ASCII escape and `next`
            // is at an ASCII byte: both are character boundaries.
            out.push_str(&self.text[end..next]);
            next += 1;
            if c == b'"' {
                return Ok((out, next));
            }
            let Some(c) = self.at(next) else {
                return Err(unterminated);
            };
            if c != b'u' {
                end = next + 1;
                out.push(match c {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => return Err(Fail::At("Invalid \\escape", end - 2)),
                });
                continue;
            }
            // \uXXXX: the 'u' is at `next`; Python wants at least one more
            // character after the four digits.
            next += 1;
            end = next + 4;
            if end >= len {
                return Err(Fail::At("Invalid \\uXXXX escape", next - 1));
            }
            let mut code = self
                .hex4(next)
                .ok_or(Fail::At("Invalid \\uXXXX escape", next - 1))?;
            if (0xD800..0xDC00).contains(&code)
                && end + 6 < len
                && self.at(end) == Some(b'\\')
                && self.at(end + 1) == Some(b'u')
            {
                let low = self
                    .hex4(end + 2)
                    .ok_or(Fail::At("Invalid \\uXXXX escape", end + 1))?;
                if (0xDC00..0xE000).contains(&low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    end += 6;
                }
                // Otherwise the second escape is read again on its own.
            }
            // A lone surrogate has no `char`: Python keeps it, we cannot.
            out.push(char::from_u32(code).unwrap_or_else(|| {
                self.lone_surrogates.set(self.lone_surrogates.get() + 1);
                '\u{fffd}'
            }));
        }
    }

    /// Four hex digits at `idx` (either case), as Python accepts them.
    fn hex4(&self, idx: usize) -> Option<u32> {
        let digits = self.bytes.get(idx..idx + 4)?;
        digits.iter().try_fold(0u32, |acc, &b| {
            let d = char::from(b).to_digit(16)?;
            Some(acc << 4 | d)
        })
    }

    /// `_parse_object_unicode`; `idx` is just past `{`.
    fn object(&mut self, idx: usize) -> Step<Value> {
        let mut map = IndexMap::new();
        let mut idx = self.skip_ws(idx);
        if self.at(idx) != Some(b'}') {
            // Typical requests have a handful of keys: size for that once
            // instead of growing the map several times.
            map.reserve(SMALL_CONTAINER);
            loop {
                if self.at(idx) != Some(b'"') {
                    return Err(Fail::At(
                        "Expecting property name enclosed in double quotes",
                        idx,
                    ));
                }
                let (key, next) = self.string(idx + 1)?;
                idx = self.skip_ws(next);
                if self.at(idx) != Some(b':') {
                    return Err(Fail::At("Expecting ':' delimiter", idx));
                }
                idx = self.skip_ws(idx + 1);
                let (value, next) = self.value(idx)?;
                // Last value wins, first position stays: same as a dict.
                map.insert(key, value);
                idx = self.skip_ws(next);
                match self.at(idx) {
                    Some(b'}') => break,
                    Some(b',') => idx = self.skip_ws(idx + 1),
                    _ => return Err(Fail::At("Expecting ',' delimiter", idx)),
                }
            }
        }
        Ok((Value::Dict(map), idx + 1))
    }

    /// `_parse_array_unicode`; `idx` is just past `[`.
    fn array(&mut self, idx: usize) -> Step<Value> {
        let mut items = Vec::new();
        let mut idx = self.skip_ws(idx);
        if self.at(idx) != Some(b']') {
            items.reserve(SMALL_CONTAINER);
            loop {
                let (value, next) = self.value(idx)?;
                items.push(value);
                idx = self.skip_ws(next);
                match self.at(idx) {
                    Some(b']') => break,
                    Some(b',') => idx = self.skip_ws(idx + 1),
                    _ => return Err(Fail::At("Expecting ',' delimiter", idx)),
                }
            }
        }
        Ok((Value::List(items), idx + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Value {
        match parse(text) {
            Ok(v) => v,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(v) => panic!("{text:?} parsed as {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    fn dict(pairs: Vec<(&str, Value)>) -> Value {
        Value::Dict(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    #[test]
    fn scalars() {
        assert_eq!(ok("null"), Value::Null);
        assert_eq!(ok("true"), Value::Bool(true));
        assert_eq!(ok("false"), Value::Bool(false));
        assert_eq!(ok("0"), Value::Int(0));
        assert_eq!(ok("-0"), Value::Int(0));
        assert_eq!(ok("-12"), Value::Int(-12));
        assert_eq!(ok("1E2"), Value::Float(100.0));
        assert_eq!(ok("-0.0"), Value::Float(-0.0));
        assert_eq!(ok("2.5e-3"), Value::Float(0.0025));
        assert_eq!(ok("1e+2"), Value::Float(100.0));
        assert_eq!(ok("\"\""), Value::Str(String::new()));
        assert_eq!(ok("\"é😀\""), Value::Str("é😀".into()));
    }

    #[test]
    fn python_constants() {
        assert!(matches!(ok("NaN"), Value::Float(f) if f.is_nan()));
        assert_eq!(ok("Infinity"), Value::Float(f64::INFINITY));
        assert_eq!(ok("-Infinity"), Value::Float(f64::NEG_INFINITY));
        let Value::List(items) = ok("[NaN, -Infinity]") else {
            panic!("not a list");
        };
        assert!(matches!(items[0], Value::Float(f) if f.is_nan()));
        assert_eq!(items[1], Value::Float(f64::NEG_INFINITY));
        assert_eq!(err("nan"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("-NaN"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("-Inf"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("Infinit"), "Expecting value: line 1 column 1 (char 0)");
    }

    #[test]
    fn integers_of_any_size() {
        assert_eq!(ok("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(ok("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(
            ok("9223372036854775808"),
            Value::BigInt("9223372036854775808".into())
        );
        assert_eq!(
            ok("-9223372036854775809"),
            Value::BigInt("-9223372036854775809".into())
        );
        let max_digits = "7".repeat(MAX_INT_DIGITS);
        assert_eq!(ok(&max_digits), Value::BigInt(max_digits.clone()));
        let e = parse(&format!("[-{max_digits}1]")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 \
             digits; use sys.set_int_max_str_digits() to increase the limit"
        );
        assert_eq!(e.byte_pos(), 1);
        assert_eq!((e.line(), e.column(), e.char_pos()), (0, 0, 0));
    }

    #[test]
    fn float_overflow_and_underflow() {
        assert_eq!(ok("1e400"), Value::Float(f64::INFINITY));
        assert_eq!(ok("-1e400"), Value::Float(f64::NEG_INFINITY));
        assert_eq!(ok("1e-400"), Value::Float(0.0));
        assert_eq!(ok("1e99999999999999999999999"), Value::Float(f64::INFINITY));
        let long = format!("0.{}1", "0".repeat(5000));
        assert_eq!(ok(&long), Value::Float(0.0));
    }

    #[test]
    fn whitespace_and_structure() {
        assert_eq!(ok(" {\"a\" : 1 } "), dict(vec![("a", Value::Int(1))]));
        assert_eq!(
            ok("\t\r\n[ 1 ,\n2 ]\n"),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(ok("[]"), list(vec![]));
        assert_eq!(ok("{}"), dict(vec![]));
        assert_eq!(ok("[[],{}]"), list(vec![list(vec![]), dict(vec![])]));
        // Only Python's four whitespace characters count.
        assert_eq!(err("\u{a0}1"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("1\u{c}"), "Extra data: line 1 column 2 (char 1)");
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        let v = ok(r#"{"a":1,"b":2,"a":3}"#);
        assert_eq!(v, dict(vec![("a", Value::Int(3)), ("b", Value::Int(2))]));
        if let Value::Dict(map) = &v {
            assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        }
        assert_eq!(ok(r#"{"a":1,"a":2}"#), dict(vec![("a", Value::Int(2))]));
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            ok(r#""\"\\\/\b\f\n\r\t""#),
            Value::Str("\"\\/\u{8}\u{c}\n\r\t".into())
        );
        assert_eq!(ok(r#""\u00e9\u00E9""#), Value::Str("éé".into()));
        assert_eq!(ok(r#""\ud83d\ude00""#), Value::Str("😀".into()));
        assert_eq!(ok(r#""\u0000""#), Value::Str("\0".into()));
        // Lone surrogates: Python keeps them, a Rust String cannot.
        assert_eq!(ok(r#""\ud83d""#), Value::Str("\u{fffd}".into()));
        assert_eq!(ok(r#""\ude00x""#), Value::Str("\u{fffd}x".into()));
        assert_eq!(
            ok(r#""\ud83d\ud83d\ude00""#),
            Value::Str("\u{fffd}😀".into())
        );
        assert_eq!(ok(r#""\ud83d\u0041""#), Value::Str("\u{fffd}A".into()));
        assert_eq!(ok(r#""\ud83d\n""#), Value::Str("\u{fffd}\n".into()));
        // ...and are counted, so a caller can tell them from a real U+FFFD.
        let count = |text| parse_counting_lone_surrogates(text).unwrap().1;
        assert_eq!(
            count(r#"{"a": "\ud800", "\udc00": ["\ud83d\ud83d\ude00"]}"#),
            3
        );
        assert_eq!(count(r#""\ufffd \ud83d\ude00""#), 0);
        // DEL and non-ASCII are not control characters.
        assert_eq!(ok("\"\u{7f}\u{80}\""), Value::Str("\u{7f}\u{80}".into()));
    }

    #[test]
    fn errors_match_python() {
        // str(exception) from CPython 3.11 json.loads.
        let cases: &[(&str, &str)] = &[
            ("", "Expecting value: line 1 column 1 (char 0)"),
            ("  ", "Expecting value: line 1 column 3 (char 2)"),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            ("01", "Extra data: line 1 column 2 (char 1)"),
            ("-", "Expecting value: line 1 column 1 (char 0)"),
            ("[-]", "Expecting value: line 1 column 2 (char 1)"),
            ("1.", "Extra data: line 1 column 2 (char 1)"),
            ("1e", "Extra data: line 1 column 2 (char 1)"),
            ("1e+", "Extra data: line 1 column 2 (char 1)"),
            (".5", "Expecting value: line 1 column 1 (char 0)"),
            ("1 2", "Extra data: line 1 column 3 (char 2)"),
            ("tru", "Expecting value: line 1 column 1 (char 0)"),
            ("[", "Expecting value: line 1 column 2 (char 1)"),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
            (
                "{",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (
                "{1:2}",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (
                "{'a':1}",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (
                r#"{"a":1,}"#,
                "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
            ),
            (
                r#"{"a""#,
                "Expecting ':' delimiter: line 1 column 5 (char 4)",
            ),
            (
                r#"{"a" 1}"#,
                "Expecting ':' delimiter: line 1 column 6 (char 5)",
            ),
            (r#"{"a":"#, "Expecting value: line 1 column 6 (char 5)"),
            (
                r#"{"a":1"#,
                "Expecting ',' delimiter: line 1 column 7 (char 6)",
            ),
            (
                r#"{"a":1 "b":2}"#,
                "Expecting ',' delimiter: line 1 column 8 (char 7)",
            ),
            (
                "\"abc",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            (
                "\"\\",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            (
                "\"a\u{1}\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            (
                "\"a\nb\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            (
                "\"é\u{1}\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            (r#""\x""#, "Invalid \\escape: line 1 column 2 (char 1)"),
            (
                r#""\u12"#,
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                r#""\u123""#,
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                r#""\u12g4""#,
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                r#""\ud83d\u12""#,
                "Invalid \\uXXXX escape: line 1 column 9 (char 8)",
            ),
            (
                r#""\ud83d\u123""#,
                "Invalid \\uXXXX escape: line 1 column 9 (char 8)",
            ),
            ("[1,\n2,\n]", "Expecting value: line 3 column 1 (char 7)"),
            ("[\"é😀\", x]", "Expecting value: line 1 column 8 (char 7)"),
            (
                "[\"é\",\n \"😀\" x]",
                "Expecting ',' delimiter: line 2 column 6 (char 11)",
            ),
            (
                "\u{feff}1",
                "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(err(input), *want, "{input:?}");
        }
    }

    #[test]
    fn error_accessors() {
        let e = parse("[\"é\",\n \"😀\" x]").unwrap_err();
        assert_eq!(e.message(), "Expecting ',' delimiter");
        assert_eq!(e.byte_pos(), 15);
        assert_eq!(e.char_pos(), 11);
        assert_eq!(e.line(), 2);
        assert_eq!(e.column(), 6);
        let boxed: Box<dyn std::error::Error> = Box::new(e.clone());
        assert_eq!(boxed.to_string(), e.to_string());
    }

    #[test]
    fn nesting_depth_is_capped() {
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&deep_ok).is_ok());
        let mixed = format!(
            "{}1{}",
            "{\"a\":[".repeat(MAX_DEPTH / 2),
            "]}".repeat(MAX_DEPTH / 2)
        );
        assert!(parse(&mixed).is_ok());

        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = parse(&too_deep).unwrap_err();
        assert_eq!(e.message(), "nesting too deep");
        assert_eq!(e.byte_pos(), MAX_DEPTH);
        // Hostile input far beyond the cap fails fast, without recursion.
        let e = parse(&"[{\"\":".repeat(1_000_000)).unwrap_err();
        assert_eq!(e.message(), "nesting too deep");
    }

    #[test]
    fn bytes_input() {
        assert_eq!(parse_bytes(b"[1]").unwrap(), list(vec![Value::Int(1)]));
        // Python decodes bytes with a BOM as utf-8-sig, so it is skipped.
        assert_eq!(parse_bytes(b"\xef\xbb\xbf 2").unwrap(), Value::Int(2));
        assert_eq!(
            parse_bytes(b"\xef\xbb\xbf\xef\xbb\xbf1")
                .unwrap_err()
                .to_string(),
            "Expecting value: line 1 column 1 (char 0)"
        );
        assert_eq!(
            parse_bytes("\"é\"".as_bytes()).unwrap(),
            Value::Str("é".into())
        );
        // Surrogates encoded in UTF-8 pass (surrogatepass) as U+FFFD.
        assert_eq!(
            parse_bytes(b"\"\xed\xa0\xbd\xed\xb8\x80\"").unwrap(),
            Value::Str("\u{fffd}\u{fffd}".into())
        );
        assert_eq!(
            parse_bytes(b"[\"\xed\xa0\x80\", x]")
                .unwrap_err()
                .to_string(),
            "Expecting value: line 1 column 7 (char 6)"
        );
        // str(UnicodeDecodeError) from CPython 3.11.
        let cases: &[(&[u8], &str)] = &[
            (
                b"\xff",
                "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
            ),
            (
                b"\xc0\xaf",
                "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte",
            ),
            (
                b"\xe4A",
                "'utf-8' codec can't decode byte 0xe4 in position 0: invalid continuation byte",
            ),
            (
                b"\xe4\xb8",
                "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data",
            ),
            (
                b"\xe4",
                "'utf-8' codec can't decode byte 0xe4 in position 0: unexpected end of data",
            ),
            (
                b"ab\xf0\x90A",
                "'utf-8' codec can't decode bytes in position 2-3: invalid continuation byte",
            ),
            (
                b"\xf4\x90\x80\x80",
                "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte",
            ),
            (
                b"\xed\xa0",
                "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte",
            ),
            (
                b"\xef\xbb\xbf\xff",
                "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
            ),
            (
                b"\"\xed\xa0\x80\xff\"",
                "'utf-8' codec can't decode byte 0xff in position 4: invalid start byte",
            ),
        ];
        for (input, want) in cases {
            let e = parse_bytes(input).unwrap_err();
            assert_eq!(e.to_string(), *want, "{input:?}");
            assert_eq!(e.line(), 0);
        }
        // Byte offsets count the BOM; Python's positions do not.
        let e = parse_bytes(b"\xef\xbb\xbf\xff").unwrap_err();
        assert_eq!(e.byte_pos(), 3);
        let e = parse_bytes(b"\xef\xbb\xbf[1 2]").unwrap_err();
        assert_eq!((e.byte_pos(), e.char_pos()), (6, 3));
        assert_eq!(
            e.to_string(),
            "Expecting ',' delimiter: line 1 column 4 (char 3)"
        );
    }
}
