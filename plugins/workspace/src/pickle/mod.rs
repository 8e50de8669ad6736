//! Safe handling of the Python pickles that PyMiner clients exchange with the
//! workspace server.
//!
//! # Security rule
//!
//! **The server never unpickles (executes) bytes it receives.** A pickle is a
//! program for a small stack machine whose `GLOBAL`/`STACK_GLOBAL` + `REDUCE`
//! opcodes import and call arbitrary Python callables, so "loading" one means
//! running code chosen by whoever sent it. Workspace variables are therefore
//! stored as opaque byte blobs and handed back to Python clients unchanged. Nothing
//! in this module imports, calls or evaluates anything: every function below
//! only *reads opcodes* (with every length checked before slicing, no
//! recursion, and size caps) or *writes* opcodes.
//!
//! # Why each function exists
//!
//! * [`read_str_dict`]: PyMiner's `write_var_dic` sends
//!   `b64(pickle({name: b64(pickle(value))}))`. The outer layer is the one
//!   shape the server must understand, a `dict` of `str -> str | None`, so this
//!   is a restricted reader that accepts only the opcodes CPython emits for such
//!   a dict at protocols 0–5 (and `cloudpickle`), and rejects every other opcode
//!   with [`PickleError::UnsupportedOpcode`] before anything could run.
//! * [`is_pickled_none`]: PyMiner refuses to store `None`; this recognises a
//!   pickle of `None` at any protocol without loading it.
//! * [`write_dict_of_pickles`]: `get_var_dic`/`get_vars` answer with a pickle of
//!   `{name: value}` built from the stored blobs. See that function for the
//!   encoding (each value is `pickle.loads(<stored bytes>)`, protocol 4).
//! * [`write_str_list`]: a pickle of a `list` of `str`, e.g. the `var_names`
//!   answer of `get_all_var_names_of_type`.
//! * [`type_hint()`]: a static, non-executing classification of a stored blob's
//!   top-level object (`string`, `array`, `table`, `numeric` or `other`), for
//!   variable metadata and for `get_all_var_names_of_type`.
//! * [`check_opcodes`]: refuses bytes that are not a well-formed opcode stream,
//!   so garbage is not stored as a variable.
//! * [`write_json_value`]: a pickle of a JSON value, so PyMiner clients can read
//!   variables that native clients wrote as JSON.
//!
//! All functions ignore bytes after the `STOP` opcode, as `pickle.loads` does.

mod check;
mod from_json;
mod opcodes;
mod read;
mod type_hint;
mod write;

#[cfg(test)]
mod test_vectors;
#[cfg(test)]
mod tests;

pub use check::check_opcodes;
pub use from_json::write_json_value;
pub use read::{is_pickled_none, read_str_dict};
pub use type_hint::type_hint;
pub use write::{write_dict_of_pickles, write_str_list};

/// Why a pickle was refused. Messages are meant to be shown to a PyMiner user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// An opcode outside the restricted set (for example `GLOBAL` or `REDUCE`).
    #[error(
        "unsupported pickle opcode {} ({name}) at byte {offset}: the server never executes pickles",
        opcodes::display_byte(*.opcode)
    )]
    UnsupportedOpcode {
        opcode: u8,
        name: &'static str,
        offset: usize,
    },
    /// A byte that is not a pickle opcode at all.
    #[error("invalid pickle: unknown opcode {} at byte {offset}", opcodes::display_byte(*.opcode))]
    UnknownOpcode { opcode: u8, offset: usize },
    /// The data ends inside an opcode or its argument.
    #[error("truncated pickle: the opcode at byte {offset} runs past the end of the data")]
    Truncated { offset: usize },
    /// The data ends without a `STOP` opcode.
    #[error("truncated pickle: no STOP opcode before the end of the data")]
    MissingStop,
    /// A `PROTO` opcode naming a protocol newer than 5.
    #[error("unsupported pickle protocol {0} (at most 5 is supported)")]
    UnsupportedProtocol(u8),
    /// Structurally invalid: bad argument, stack underflow, unknown memo key...
    #[error("invalid pickle at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    /// A valid pickle of something other than a `dict` of `str -> str | None`.
    #[error("not a dict of str: {0}")]
    NotStrDict(String),
    /// The decoded dict would exceed the size cap (see [`read_str_dict`]).
    #[error("pickle too large: the decoded dict would exceed {limit} bytes")]
    TooLarge { limit: usize },
}
