//! The restricted readers: [`read_str_dict`] and [`is_pickled_none`].
//!
//! They interpret only opcodes that build `str`, `None` and one `dict`; any
//! other opcode is refused before it is looked at further. There is no
//! recursion (the stack machine is a loop over a `Vec`), and the value stack
//! and the decoded result are capped.

use std::collections::HashMap;
use std::rc::Rc;

use super::opcodes::{self as op, Op, Tokenizer};
use super::PickleError;

/// Most items (values plus marks) the value stack may hold. CPython writes at
/// most 1000 dict items per SETITEMS batch, so real dict pickles stay far below.
const MAX_STACK: usize = 1 << 20;

/// Fixed allowance added to the size cap of [`read_str_dict`].
const RESULT_SLACK: usize = 1 << 20;

/// A value of the restricted reader.
#[derive(Clone)]
enum Value {
    Str(Rc<String>),
    None,
    /// The one dict the pickle may build (its items live in [`DictBuilder`]).
    Dict,
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "str",
            Value::None => "None",
            Value::Dict => "dict",
        }
    }
}

/// The dict under construction, with Python's insertion-order semantics.
#[derive(Default)]
struct DictBuilder {
    entries: Vec<(Rc<String>, Option<Rc<String>>)>,
    index: HashMap<Rc<String>, usize>,
    /// Bytes of all keys and values currently in the dict.
    bytes: usize,
}

/// Reads the pickle of a Python `dict` whose keys are `str` and whose values
/// are `str` or `None`, without executing anything.
///
/// This is the outer layer of PyMiner's `write_var_dic`:
/// `pickle({name: b64(pickle(value))})`. It accepts what CPython's
/// `pickle.dumps(d, protocol=0..=5)` and `cloudpickle.dumps(d)` produce:
/// `PROTO`, `FRAME`, `MARK`, `EMPTY_DICT`, `DICT`, `SETITEM`, `SETITEMS`,
/// `NONE`, the str opcodes (`UNICODE` with raw-unicode-escape,
/// `SHORT_BINUNICODE`, `BINUNICODE`, `BINUNICODE8`, and the Python-2 `STRING`,
/// `BINSTRING`, `SHORT_BINSTRING`, decoded as ASCII like Python 3 does), the
/// memo opcodes (`PUT`, `BINPUT`, `LONG_BINPUT`, `MEMOIZE`, `GET`, `BINGET`,
/// `LONG_BINGET`) and `STOP`. Bytes after `STOP` are ignored, as
/// `pickle.loads` ignores them.
///
/// The result is in dict insertion order; for a repeated key the last value
/// wins, in the position where the key first appeared (as in Python).
///
/// # Errors
///
/// * [`PickleError::UnsupportedOpcode`] for any other opcode (`GLOBAL`,
///   `REDUCE`, ...), which is never executed;
/// * [`PickleError::NotStrDict`] when the pickle is valid but is not a dict of
///   `str -> str | None` (for example a key that is `None`);
/// * [`PickleError::TooLarge`] when the returned strings would exceed
///   `4 * pickle.len() + 1 MiB` bytes. Without memo reuse a str never decodes
///   to more than twice its encoded size, so only hostile input (one big string
///   referenced by many keys through the memo) reaches the cap;
/// * [`PickleError::Truncated`], [`PickleError::MissingStop`],
///   [`PickleError::UnknownOpcode`], [`PickleError::UnsupportedProtocol`] and
///   [`PickleError::Malformed`] for broken input.
pub fn read_str_dict(pickle: &[u8]) -> Result<Vec<(String, Option<String>)>, PickleError> {
    let limit = pickle.len().saturating_mul(4).saturating_add(RESULT_SLACK);
    let mut tokens = Tokenizer::new(pickle);
    let mut stack: Vec<Value> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: HashMap<u64, Value> = HashMap::new();
    let mut dict: Option<DictBuilder> = None;

    loop {
        let op = tokens.next_op()?;
        match op.code {
            op::PROTO => check_proto(&op)?,
            op::FRAME => {}
            op::MARK => {
                check_room(&op, &stack, &marks)?;
                marks.push(stack.len());
            }
            op::NONE => push(&op, &mut stack, &marks, Value::None)?,
            op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                let s = String::from_utf8(op.arg.to_vec())
                    .map_err(|_| op.malformed(format!("{} is not valid UTF-8", op.name)))?;
                push(&op, &mut stack, &marks, Value::Str(Rc::new(s)))?;
            }
            op::UNICODE => {
                let s = op::decode_raw_unicode_escape(&op)?;
                push(&op, &mut stack, &marks, Value::Str(Rc::new(s)))?;
            }
            op::STRING => {
                let s = op::decode_string_literal(&op)?;
                push(&op, &mut stack, &marks, Value::Str(Rc::new(s)))?;
            }
            op::BINSTRING | op::SHORT_BINSTRING => {
                let s = op::ascii_to_string(&op, op.arg.to_vec())?;
                push(&op, &mut stack, &marks, Value::Str(Rc::new(s)))?;
            }
            op::EMPTY_DICT => {
                new_dict(&op, &mut dict)?;
                push(&op, &mut stack, &marks, Value::Dict)?;
            }
            op::DICT => {
                let items = pop_mark(&op, &mut stack, &mut marks)?;
                new_dict(&op, &mut dict)?;
                insert_items(&op, dict.as_mut(), items, limit)?;
                push(&op, &mut stack, &marks, Value::Dict)?;
            }
            op::SETITEM => {
                let value = pop(&op, &mut stack, &marks)?;
                let key = pop(&op, &mut stack, &marks)?;
                expect_dict_on_top(&op, &stack, &marks)?;
                insert_items(&op, dict.as_mut(), vec![key, value], limit)?;
            }
            op::SETITEMS => {
                let items = pop_mark(&op, &mut stack, &mut marks)?;
                expect_dict_on_top(&op, &stack, &marks)?;
                insert_items(&op, dict.as_mut(), items, limit)?;
            }
            op::PUT | op::BINPUT | op::LONG_BINPUT | op::MEMOIZE => {
                let key = match op.code {
                    op::PUT => op::parse_decimal(&op)?,
                    op::MEMOIZE => memo.len() as u64,
                    _ => op.arg_uint(),
                };
                let top = top(&op, &stack, &marks)?.clone();
                memo.insert(key, top);
            }
            op::GET | op::BINGET | op::LONG_BINGET => {
                let key = match op.code {
                    op::GET => op::parse_decimal(&op)?,
                    _ => op.arg_uint(),
                };
                let value = memo
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| op.malformed(format!("memo key {key} was never stored")))?;
                push(&op, &mut stack, &marks, value)?;
            }
            op::STOP => {
                let result = pop(&op, &mut stack, &marks)?;
                if !matches!(result, Value::Dict) {
                    return Err(PickleError::NotStrDict(format!(
                        "the pickle holds a {}, not a dict",
                        result.kind()
                    )));
                }
                if !stack.is_empty() || !marks.is_empty() {
                    return Err(op.malformed("values left on the stack at STOP"));
                }
                // Drop every other reference so that each string is moved, not
                // copied, into the result.
                drop(memo);
                let DictBuilder { entries, index, .. } = dict.unwrap_or_default();
                drop(index);
                return Ok(entries
                    .into_iter()
                    .map(|(k, v)| (unwrap_rc(k), v.map(unwrap_rc)))
                    .collect());
            }
            _ => return Err(op.unsupported()),
        }
    }
}

/// True if `pickle` is a pickle of `None` at any protocol: `N.` (protocols 0
/// and 1) or `\x80\x02N.` ... `\x80\x05N.`, also with a `FRAME` opcode before
/// the `N` (CPython writes none for such a short pickle, but the format allows
/// one). Bytes after `STOP` are ignored, as `pickle.loads` ignores them.
/// Anything else, including an unknown protocol, is `false`.
pub fn is_pickled_none(pickle: &[u8]) -> bool {
    let mut tokens = Tokenizer::new(pickle);
    let mut seen_none = false;
    loop {
        let Ok(op) = tokens.next_op() else {
            return false;
        };
        match op.code {
            op::PROTO if check_proto(&op).is_ok() => {}
            op::FRAME => {}
            op::NONE if !seen_none => seen_none = true,
            op::STOP => return seen_none,
            _ => return false,
        }
    }
}

fn check_proto(op: &Op<'_>) -> Result<(), PickleError> {
    match op.arg.first() {
        Some(&v) if v <= op::HIGHEST_PROTOCOL => Ok(()),
        Some(&v) => Err(PickleError::UnsupportedProtocol(v)),
        None => Err(PickleError::Truncated { offset: op.pos }),
    }
}

/// Moves the string out of its `Rc` if this is the last reference.
fn unwrap_rc(s: Rc<String>) -> String {
    Rc::try_unwrap(s).unwrap_or_else(|shared| (*shared).clone())
}

fn check_room(op: &Op<'_>, stack: &[Value], marks: &[usize]) -> Result<(), PickleError> {
    if stack.len() + marks.len() >= MAX_STACK {
        return Err(op.malformed(format!("more than {MAX_STACK} items on the stack")));
    }
    Ok(())
}

fn push(
    op: &Op<'_>,
    stack: &mut Vec<Value>,
    marks: &[usize],
    value: Value,
) -> Result<(), PickleError> {
    check_room(op, stack, marks)?;
    stack.push(value);
    Ok(())
}

/// The lowest stack index the current opcode may touch: items below the
/// innermost MARK belong to an enclosing collection (CPython's "fence").
fn fence(marks: &[usize]) -> usize {
    marks.last().copied().unwrap_or(0)
}

fn underflow(op: &Op<'_>) -> PickleError {
    op.malformed(format!("{} with too few values on the stack", op.name))
}

fn pop(op: &Op<'_>, stack: &mut Vec<Value>, marks: &[usize]) -> Result<Value, PickleError> {
    if stack.len() <= fence(marks) {
        return Err(underflow(op));
    }
    stack.pop().ok_or_else(|| underflow(op))
}

fn top<'s>(op: &Op<'_>, stack: &'s [Value], marks: &[usize]) -> Result<&'s Value, PickleError> {
    if stack.len() <= fence(marks) {
        return Err(underflow(op));
    }
    stack.last().ok_or_else(|| underflow(op))
}

fn pop_mark(
    op: &Op<'_>,
    stack: &mut Vec<Value>,
    marks: &mut Vec<usize>,
) -> Result<Vec<Value>, PickleError> {
    let mark = marks
        .pop()
        .ok_or_else(|| op.malformed(format!("{} without a MARK", op.name)))?;
    Ok(stack.split_off(mark.min(stack.len())))
}

fn expect_dict_on_top(op: &Op<'_>, stack: &[Value], marks: &[usize]) -> Result<(), PickleError> {
    match top(op, stack, marks)? {
        Value::Dict => Ok(()),
        other => Err(op.malformed(format!("{} on a {}, not on a dict", op.name, other.kind()))),
    }
}

fn new_dict(op: &Op<'_>, dict: &mut Option<DictBuilder>) -> Result<(), PickleError> {
    if dict.is_some() {
        return Err(PickleError::NotStrDict(format!(
            "a second dict at byte {} (values must be str or None)",
            op.pos
        )));
    }
    *dict = Some(DictBuilder::default());
    Ok(())
}

/// Inserts `items` (alternating keys and values) with Python dict semantics.
fn insert_items(
    op: &Op<'_>,
    dict: Option<&mut DictBuilder>,
    items: Vec<Value>,
    limit: usize,
) -> Result<(), PickleError> {
    let dict = dict.ok_or_else(|| op.malformed("no dict to set items on"))?;
    if items.len() % 2 == 1 {
        return Err(op.malformed(format!("{} with an odd number of items", op.name)));
    }
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        let key = match key {
            Value::Str(s) => s,
            other => {
                return Err(PickleError::NotStrDict(format!(
                    "a key is {}, not str",
                    other.kind()
                )))
            }
        };
        let value = match value {
            Value::Str(s) => Some(s),
            Value::None => None,
            Value::Dict => {
                return Err(PickleError::NotStrDict(format!(
                    "the value of key {key:?} is a dict, not str or None"
                )))
            }
        };
        let value_len = value.as_ref().map_or(0, |v| v.len());
        match dict.index.get(&key) {
            Some(&i) => {
                let old = &mut dict.entries[i].1;
                let removed = old.as_ref().map_or(0, |v| v.len());
                dict.bytes = dict.bytes.saturating_sub(removed).saturating_add(value_len);
                *old = value;
            }
            None => {
                dict.bytes = dict
                    .bytes
                    .saturating_add(key.len())
                    .saturating_add(value_len);
                dict.index.insert(Rc::clone(&key), dict.entries.len());
                dict.entries.push((key, value));
            }
        }
        if dict.bytes > limit {
            return Err(PickleError::TooLarge { limit });
        }
    }
    Ok(())
}
