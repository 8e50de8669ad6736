//! Python-compatible JSON and `repr()`/`str()` text.
//!
//! `labsocket` replaces Python socket servers whose clients are Python
//! programs that compare, split and parse reply bytes. The Python servers
//! build those bytes with `json.loads`/`json.dumps` and with `repr()`,
//! `str()` and `str.format()` of Python objects, so to be a drop-in
//! replacement the Rust server has to reproduce CPython's text exactly.
//! General-purpose JSON crates do not: they reject `NaN`/`Infinity`, print
//! `1e16` as `10000000000000000` and `42.0` as `42`, do not keep integer
//! precision beyond 64 bits, escape differently, and report errors in other
//! words and positions.
//!
//! This module mirrors CPython 3.11:
//! - `json.loads` is [`parse()`] / [`parse_bytes`], including the error
//!   messages (a [`ParseError`] displays as `str()` of Python's exception);
//! - `json.dumps(v)` with default arguments is [`to_python_json`];
//! - `json.dumps(v, separators=(',', ':'), ensure_ascii=False)`, the native
//!   JSON-RPC wire form, is [`to_compact_json`];
//! - `repr(float)` is [`float_repr`];
//! - `repr()` / `str()` of the objects `json.loads` produces are
//!   [`python_repr`] / [`python_str`].
//!
//! Every `to_*` function has a `write_*` twin that appends to a caller's
//! `String` without other allocations, for the per-request hot path.
//!
//! Known differences from Python, all on input no real client sends:
//! lone UTF-16 surrogates (from `\ud800` escapes or surrogates encoded in
//! UTF-8) become U+FFFD because Rust strings cannot hold them; nesting is
//! capped at [`MAX_DEPTH`] levels instead of Python's recursion limit;
//! `parse_bytes` does not auto-detect UTF-16/UTF-32 input.
//! The writers recurse once per nesting level, so a `Value` built by hand
//! should stay within a similar depth.

mod float;
mod parse;
mod plain_run;
mod printable;
mod repr;
mod value;
mod write;

#[cfg(test)]
mod cpython_tests;

pub use float::{float_repr, write_float_repr};
pub use parse::{parse, parse_bytes, parse_counting_lone_surrogates, ParseError, MAX_DEPTH};
pub use repr::{python_repr, python_str, write_python_repr, write_python_str};
pub use value::Value;
pub use write::{
    to_compact_json, to_python_json, write_compact_json, write_compact_json_str, write_python_json,
};
