//! [`type_hint()`]: a static classification of a stored pickle's top-level
//! object. It runs the opcodes on *abstract* values ("a str", "a number", "the
//! global `numpy.dtype`", "the result of calling `pandas.DataFrame`", ...), so
//! nothing is imported or called, and any surprise ends in `"other"`.

use std::collections::HashMap;

use super::opcodes::{self as op, Op, Tokenizer};

/// Most abstract values (plus marks) kept on the stack before giving up. Real
/// pickles stay small: CPython batches collections by 1000 items.
const MAX_STACK: usize = 1 << 20;

/// Most memo entries remembered. Later entries are not tracked and read back
/// as "unknown"; the objects that decide the top-level type (its class or
/// factory) are memoized early, so big pickles are still classified.
const MAX_MEMO: usize = 1 << 16;

/// What `get_all_var_names_of_type` filters on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Hint {
    String,
    Numeric,
    Array,
    Table,
}

impl Hint {
    fn name(self) -> &'static str {
        match self {
            Hint::String => "string",
            Hint::Numeric => "numeric",
            Hint::Array => "array",
            Hint::Table => "table",
        }
    }
}

/// A global (class or function) that matters for classification.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Global {
    /// Returns or is an `ndarray`: `numpy.core.multiarray._reconstruct` (and
    /// numpy 2's `numpy._core...`), `numpy.core.numeric._frombuffer`
    /// (protocol 5), `numpy.ndarray`, masked arrays.
    NdArray,
    /// `pandas.DataFrame` / `pandas.Series` (pandas 3 pickles the class as
    /// `pandas.DataFrame`, pandas 2 as `pandas.core.frame.DataFrame`).
    PandasTable,
    /// `builtins.complex` (`__builtin__` at protocols 0–2).
    Complex,
    /// `numpy.dtype`: its first argument's first letter is the dtype kind.
    NumpyDtype,
    /// `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar.
    NumpyScalar,
    /// `copyreg._reconstructor` / `__newobj__` / `__newobj_ex__`: builds an
    /// instance of the class that is its first argument.
    Reconstructor,
    /// Anything else.
    Unknown,
}

/// The head (first element) of a tuple, enough to interpret calls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Head {
    Global(Global),
    Dtype(u8),
    Str(Option<(usize, usize)>),
    Other,
}

/// An abstract value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum V {
    /// A str; the range of its text in the pickle when the raw bytes are the
    /// text itself (needed for STACK_GLOBAL's module and name).
    Str(Option<(usize, usize)>),
    /// An object whose type is known.
    Known(Hint),
    /// A global.
    Global(Global),
    /// A numpy dtype of the given kind letter (`b`, `i`, `u`, `f`, `c`, `U`, ...).
    Dtype(u8),
    /// A tuple.
    Tuple(Head),
    /// Anything else (None, bytes, list, dict, unknown objects, ...).
    Other,
}

impl V {
    fn head(self) -> Head {
        match self {
            V::Global(g) => Head::Global(g),
            V::Dtype(k) => Head::Dtype(k),
            V::Str(r) => Head::Str(r),
            _ => Head::Other,
        }
    }
}

/// Classifies the top-level object of a stored pickle without executing it:
/// `"string"`, `"numeric"`, `"array"`, `"table"` or `"other"` (the types of
/// PyMiner's `get_all_var_names_of_type`, plus `other`).
///
/// * `string`: `str` (any str opcode), and `numpy.str_` (a `str` subclass);
/// * `numeric`: `int`, `float`, `bool` (`INT`, `LONG`, `BININT*`, `LONG1/4`,
///   `FLOAT`, `BINFLOAT`, `NEWTRUE`/`NEWFALSE`), `complex` (`builtins.complex`
///   called with `REDUCE`) and numpy scalars of kind bool, int, uint, float or
///   complex (`numpy.float64(1.5)` ...);
/// * `array`: a numpy `ndarray` (`_reconstruct`, protocol-5 `_frombuffer`,
///   `ndarray`, masked arrays), whatever its dtype;
/// * `table`: a pandas `DataFrame` or `Series` (NEWOBJ of the class at
///   protocol 2+, `copyreg._reconstructor` at protocols 0–1);
/// * `other`: everything else. Python `list`s and `tuple`s are `other`, not
///   `array`: their items may be anything, and a client asking for arrays
///   expects objects with numpy's interface.
///
/// The scan is linear in the number of opcodes; large bytes arguments (array
/// data) are skipped, not read. Any opcode sequence it does not understand,
/// any invalid or truncated pickle, gives `"other"`.
pub fn type_hint(pickle: &[u8]) -> &'static str {
    match scan(pickle) {
        Some(V::Str(_)) => "string",
        Some(V::Known(hint)) => hint.name(),
        _ => "other",
    }
}

/// The abstract stack machine. `None` means "give up".
struct Machine<'a> {
    data: &'a [u8],
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: HashMap<u64, V>,
    memo_full: bool,
}

fn scan(data: &[u8]) -> Option<V> {
    let mut m = Machine {
        data,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        memo_full: false,
    };
    let mut tokens = Tokenizer::new(data);
    loop {
        let op = tokens.next_op().ok()?;
        if op.code == op::STOP {
            return m.pop();
        }
        m.step(&op)?;
    }
}

impl Machine<'_> {
    fn step(&mut self, op: &Op<'_>) -> Option<()> {
        let number = V::Known(Hint::Numeric);
        match op.code {
            op::PROTO => {
                if *op.arg.first()? > op::HIGHEST_PROTOCOL {
                    return None;
                }
            }
            op::FRAME => {}
            op::MARK => {
                self.room()?;
                self.marks.push(self.stack.len());
            }
            op::POP => {
                if self.marks.last() == Some(&self.stack.len()) {
                    self.marks.pop();
                } else {
                    self.pop()?;
                }
            }
            op::POP_MARK => {
                self.pop_mark()?;
            }
            op::DUP => {
                let top = self.top()?;
                self.push(top)?;
            }
            op::INT
            | op::LONG
            | op::BININT
            | op::BININT1
            | op::BININT2
            | op::LONG1
            | op::LONG4
            | op::FLOAT
            | op::BINFLOAT
            | op::NEWTRUE
            | op::NEWFALSE => self.push(number)?,
            op::SHORT_BINUNICODE | op::BINUNICODE | op::BINUNICODE8 => {
                self.push(V::Str(Some((op.arg_pos, op.arg.len()))))?;
            }
            op::UNICODE => {
                // Without a backslash the raw line is the text (Latin-1).
                let plain = !op.arg.contains(&b'\\');
                self.push(V::Str(plain.then_some((op.arg_pos, op.arg.len()))))?;
            }
            op::STRING | op::BINSTRING | op::SHORT_BINSTRING => self.push(V::Str(None))?,
            op::NONE
            | op::BINBYTES
            | op::SHORT_BINBYTES
            | op::BINBYTES8
            | op::BYTEARRAY8
            | op::NEXT_BUFFER
            | op::EMPTY_LIST
            | op::EMPTY_DICT
            | op::EMPTY_SET
            | op::PERSID
            | op::EXT1
            | op::EXT2
            | op::EXT4 => self.push(V::Other)?,
            op::READONLY_BUFFER => {
                self.top()?;
            }
            op::BINPERSID => {
                self.pop()?;
                self.push(V::Other)?;
            }
            op::EMPTY_TUPLE => self.push(V::Tuple(Head::Other))?,
            op::TUPLE => {
                let items = self.pop_mark()?;
                let head = items.first().map_or(Head::Other, |v| v.head());
                self.push(V::Tuple(head))?;
            }
            op::TUPLE1 | op::TUPLE2 | op::TUPLE3 => {
                let n = usize::from(op.code - op::TUPLE1) + 1;
                let mut first = V::Other;
                for _ in 0..n {
                    first = self.pop()?;
                }
                self.push(V::Tuple(first.head()))?;
            }
            op::LIST | op::DICT | op::FROZENSET => {
                self.pop_mark()?;
                self.push(V::Other)?;
            }
            op::APPEND | op::BUILD => {
                self.pop()?;
                self.top()?;
            }
            op::SETITEM => {
                self.pop()?;
                self.pop()?;
                self.top()?;
            }
            op::APPENDS | op::SETITEMS | op::ADDITEMS => {
                self.pop_mark()?;
                self.top()?;
            }
            op::GLOBAL => {
                let module = std::str::from_utf8(op.arg).ok()?;
                let name = std::str::from_utf8(op.arg2).ok()?;
                self.push(V::Global(classify_global(module, name)))?;
            }
            op::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let global = match (module, name) {
                    (V::Str(Some(m)), V::Str(Some(n))) => match (self.text(m), self.text(n)) {
                        (Some(m), Some(n)) => classify_global(m, n),
                        _ => Global::Unknown,
                    },
                    (V::Str(_), V::Str(_)) => Global::Unknown,
                    _ => return None,
                };
                self.push(V::Global(global))?;
            }
            op::REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let result = match (callable, args) {
                    (V::Global(g), V::Tuple(head)) => self.call(g, head),
                    _ => V::Other,
                };
                self.push(result)?;
            }
            op::NEWOBJ => {
                self.pop()?;
                let cls = self.pop()?;
                self.push(instance_of(cls))?;
            }
            op::NEWOBJ_EX => {
                self.pop()?;
                self.pop()?;
                let cls = self.pop()?;
                self.push(instance_of(cls))?;
            }
            op::OBJ => {
                let items = self.pop_mark()?;
                self.push(instance_of(*items.first()?))?;
            }
            op::INST => {
                self.pop_mark()?;
                let module = std::str::from_utf8(op.arg).ok()?;
                let name = std::str::from_utf8(op.arg2).ok()?;
                self.push(instance_of(V::Global(classify_global(module, name))))?;
            }
            op::PUT | op::BINPUT | op::LONG_BINPUT | op::MEMOIZE => {
                let key = match op.code {
                    op::PUT => op::parse_decimal(op).ok()?,
                    op::MEMOIZE => self.memo.len() as u64,
                    _ => op.arg_uint(),
                };
                let top = self.top()?;
                if self.memo.len() < MAX_MEMO || self.memo.contains_key(&key) {
                    self.memo.insert(key, top);
                } else {
                    self.memo_full = true;
                }
            }
            op::GET | op::BINGET | op::LONG_BINGET => {
                let key = match op.code {
                    op::GET => op::parse_decimal(op).ok()?,
                    _ => op.arg_uint(),
                };
                let value = match self.memo.get(&key) {
                    Some(&v) => v,
                    None if self.memo_full => V::Other,
                    None => return None,
                };
                self.push(value)?;
            }
            // STOP is handled by the caller; nothing else exists.
            _ => return None,
        }
        Some(())
    }

    /// The result of calling the global `g` with a tuple whose head is `head`.
    fn call(&self, g: Global, head: Head) -> V {
        match (g, head) {
            (Global::NumpyDtype, Head::Str(Some(range))) => self
                .text(range)
                .and_then(|t| t.bytes().next())
                .map_or(V::Other, V::Dtype),
            (Global::NumpyScalar, Head::Dtype(kind)) => match kind {
                b'b' | b'i' | b'u' | b'f' | b'c' => V::Known(Hint::Numeric),
                b'U' => V::Known(Hint::String),
                _ => V::Other,
            },
            (Global::Reconstructor, Head::Global(cls)) => instance_of(V::Global(cls)),
            (Global::NdArray | Global::PandasTable | Global::Complex, _) => {
                instance_of(V::Global(g))
            }
            _ => V::Other,
        }
    }

    /// The text at `range` if it is valid UTF-8 (module and class names).
    fn text(&self, (start, len): (usize, usize)) -> Option<&str> {
        let bytes = self.data.get(start..start.checked_add(len)?)?;
        std::str::from_utf8(bytes).ok()
    }

    fn room(&self) -> Option<()> {
        (self.stack.len() + self.marks.len() < MAX_STACK).then_some(())
    }

    fn push(&mut self, v: V) -> Option<()> {
        self.room()?;
        self.stack.push(v);
        Some(())
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Option<V> {
        if self.stack.len() <= self.fence() {
            return None;
        }
        self.stack.pop()
    }

    fn top(&self) -> Option<V> {
        if self.stack.len() <= self.fence() {
            return None;
        }
        self.stack.last().copied()
    }

    fn pop_mark(&mut self) -> Option<Vec<V>> {
        let mark = self.marks.pop()?;
        Some(self.stack.split_off(mark.min(self.stack.len())))
    }
}

/// The object made by instantiating `cls` (NEWOBJ, OBJ, INST, copyreg).
fn instance_of(cls: V) -> V {
    match cls {
        V::Global(Global::NdArray) => V::Known(Hint::Array),
        V::Global(Global::PandasTable) => V::Known(Hint::Table),
        V::Global(Global::Complex) => V::Known(Hint::Numeric),
        _ => V::Other,
    }
}

fn classify_global(module: &str, name: &str) -> Global {
    let numpy_core = matches!(module, "numpy.core.multiarray" | "numpy._core.multiarray");
    let numpy_numeric = matches!(module, "numpy.core.numeric" | "numpy._core.numeric");
    let pandas = module == "pandas" || module.starts_with("pandas.");
    match name {
        "_reconstruct" if numpy_core => Global::NdArray,
        "_frombuffer" if numpy_numeric => Global::NdArray,
        "ndarray" if module == "numpy" => Global::NdArray,
        "_mareconstruct" if module == "numpy.ma.core" => Global::NdArray,
        "MaskedArray" if matches!(module, "numpy.ma" | "numpy.ma.core") => Global::NdArray,
        "scalar" if numpy_core => Global::NumpyScalar,
        "dtype" if module == "numpy" => Global::NumpyDtype,
        "DataFrame" | "Series" if pandas => Global::PandasTable,
        "complex" if matches!(module, "builtins" | "__builtin__") => Global::Complex,
        "_reconstructor" | "__newobj__" | "__newobj_ex__"
            if matches!(module, "copyreg" | "copy_reg") =>
        {
            Global::Reconstructor
        }
        _ => Global::Unknown,
    }
}
