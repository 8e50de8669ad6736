//! The pickle opcode table (protocols 0–5, as in CPython's `pickletools`) and a
//! bounds-checked tokenizer that splits a pickle into opcodes and arguments
//! without interpreting them. Both readers are built on it, so every opcode's
//! argument is always skipped correctly and every length is checked before
//! slicing.

use super::PickleError;

pub(super) const MARK: u8 = b'(';
pub(super) const STOP: u8 = b'.';
pub(super) const POP: u8 = b'0';
pub(super) const POP_MARK: u8 = b'1';
pub(super) const DUP: u8 = b'2';
pub(super) const FLOAT: u8 = b'F';
pub(super) const INT: u8 = b'I';
pub(super) const BININT: u8 = b'J';
pub(super) const BININT1: u8 = b'K';
pub(super) const LONG: u8 = b'L';
pub(super) const BININT2: u8 = b'M';
pub(super) const NONE: u8 = b'N';
pub(super) const PERSID: u8 = b'P';
pub(super) const BINPERSID: u8 = b'Q';
pub(super) const REDUCE: u8 = b'R';
pub(super) const STRING: u8 = b'S';
pub(super) const BINSTRING: u8 = b'T';
pub(super) const SHORT_BINSTRING: u8 = b'U';
pub(super) const UNICODE: u8 = b'V';
pub(super) const BINUNICODE: u8 = b'X';
pub(super) const APPEND: u8 = b'a';
pub(super) const BUILD: u8 = b'b';
pub(super) const GLOBAL: u8 = b'c';
pub(super) const DICT: u8 = b'd';
pub(super) const EMPTY_DICT: u8 = b'}';
pub(super) const APPENDS: u8 = b'e';
pub(super) const GET: u8 = b'g';
pub(super) const BINGET: u8 = b'h';
pub(super) const INST: u8 = b'i';
pub(super) const LONG_BINGET: u8 = b'j';
pub(super) const LIST: u8 = b'l';
pub(super) const EMPTY_LIST: u8 = b']';
pub(super) const OBJ: u8 = b'o';
pub(super) const PUT: u8 = b'p';
pub(super) const BINPUT: u8 = b'q';
pub(super) const LONG_BINPUT: u8 = b'r';
pub(super) const SETITEM: u8 = b's';
pub(super) const TUPLE: u8 = b't';
pub(super) const EMPTY_TUPLE: u8 = b')';
pub(super) const SETITEMS: u8 = b'u';
pub(super) const BINFLOAT: u8 = b'G';
pub(super) const PROTO: u8 = 0x80;
pub(super) const NEWOBJ: u8 = 0x81;
pub(super) const EXT1: u8 = 0x82;
pub(super) const EXT2: u8 = 0x83;
pub(super) const EXT4: u8 = 0x84;
pub(super) const TUPLE1: u8 = 0x85;
pub(super) const TUPLE2: u8 = 0x86;
pub(super) const TUPLE3: u8 = 0x87;
pub(super) const NEWTRUE: u8 = 0x88;
pub(super) const NEWFALSE: u8 = 0x89;
pub(super) const LONG1: u8 = 0x8a;
pub(super) const LONG4: u8 = 0x8b;
pub(super) const BINBYTES: u8 = b'B';
pub(super) const SHORT_BINBYTES: u8 = b'C';
pub(super) const SHORT_BINUNICODE: u8 = 0x8c;
pub(super) const BINUNICODE8: u8 = 0x8d;
pub(super) const BINBYTES8: u8 = 0x8e;
pub(super) const EMPTY_SET: u8 = 0x8f;
pub(super) const ADDITEMS: u8 = 0x90;
pub(super) const FROZENSET: u8 = 0x91;
pub(super) const NEWOBJ_EX: u8 = 0x92;
pub(super) const STACK_GLOBAL: u8 = 0x93;
pub(super) const MEMOIZE: u8 = 0x94;
pub(super) const FRAME: u8 = 0x95;
pub(super) const BYTEARRAY8: u8 = 0x96;
pub(super) const NEXT_BUFFER: u8 = 0x97;
pub(super) const READONLY_BUFFER: u8 = 0x98;

/// The highest pickle protocol understood (CPython 3.8+ writes at most 5).
pub(super) const HIGHEST_PROTOCOL: u8 = 5;

/// How an opcode's argument is laid out after the opcode byte.
#[derive(Clone, Copy)]
enum ArgKind {
    /// No argument.
    Empty,
    /// A fixed number of bytes (little-endian integers, a float, ...).
    Fixed(usize),
    /// A 1-byte length, then that many bytes.
    Len1,
    /// A 4-byte unsigned little-endian length, then that many bytes.
    Len4,
    /// A 4-byte signed little-endian length (negative is invalid), then data.
    Len4Signed,
    /// An 8-byte unsigned little-endian length, then that many bytes.
    Len8,
    /// Text up to and excluding a `\n`.
    Line,
    /// Two `\n`-terminated lines (module and name of GLOBAL / INST).
    TwoLines,
}

/// Name and argument layout of every opcode of protocols 0–5.
fn info(code: u8) -> Option<(&'static str, ArgKind)> {
    use ArgKind::*;
    Some(match code {
        MARK => ("MARK", Empty),
        STOP => ("STOP", Empty),
        POP => ("POP", Empty),
        POP_MARK => ("POP_MARK", Empty),
        DUP => ("DUP", Empty),
        FLOAT => ("FLOAT", Line),
        INT => ("INT", Line),
        BININT => ("BININT", Fixed(4)),
        BININT1 => ("BININT1", Fixed(1)),
        LONG => ("LONG", Line),
        BININT2 => ("BININT2", Fixed(2)),
        NONE => ("NONE", Empty),
        PERSID => ("PERSID", Line),
        BINPERSID => ("BINPERSID", Empty),
        REDUCE => ("REDUCE", Empty),
        STRING => ("STRING", Line),
        BINSTRING => ("BINSTRING", Len4Signed),
        SHORT_BINSTRING => ("SHORT_BINSTRING", Len1),
        UNICODE => ("UNICODE", Line),
        BINUNICODE => ("BINUNICODE", Len4),
        APPEND => ("APPEND", Empty),
        BUILD => ("BUILD", Empty),
        GLOBAL => ("GLOBAL", TwoLines),
        DICT => ("DICT", Empty),
        EMPTY_DICT => ("EMPTY_DICT", Empty),
        APPENDS => ("APPENDS", Empty),
        GET => ("GET", Line),
        BINGET => ("BINGET", Fixed(1)),
        INST => ("INST", TwoLines),
        LONG_BINGET => ("LONG_BINGET", Fixed(4)),
        LIST => ("LIST", Empty),
        EMPTY_LIST => ("EMPTY_LIST", Empty),
        OBJ => ("OBJ", Empty),
        PUT => ("PUT", Line),
        BINPUT => ("BINPUT", Fixed(1)),
        LONG_BINPUT => ("LONG_BINPUT", Fixed(4)),
        SETITEM => ("SETITEM", Empty),
        TUPLE => ("TUPLE", Empty),
        EMPTY_TUPLE => ("EMPTY_TUPLE", Empty),
        SETITEMS => ("SETITEMS", Empty),
        BINFLOAT => ("BINFLOAT", Fixed(8)),
        PROTO => ("PROTO", Fixed(1)),
        NEWOBJ => ("NEWOBJ", Empty),
        EXT1 => ("EXT1", Fixed(1)),
        EXT2 => ("EXT2", Fixed(2)),
        EXT4 => ("EXT4", Fixed(4)),
        TUPLE1 => ("TUPLE1", Empty),
        TUPLE2 => ("TUPLE2", Empty),
        TUPLE3 => ("TUPLE3", Empty),
        NEWTRUE => ("NEWTRUE", Empty),
        NEWFALSE => ("NEWFALSE", Empty),
        LONG1 => ("LONG1", Len1),
        LONG4 => ("LONG4", Len4Signed),
        BINBYTES => ("BINBYTES", Len4),
        SHORT_BINBYTES => ("SHORT_BINBYTES", Len1),
        SHORT_BINUNICODE => ("SHORT_BINUNICODE", Len1),
        BINUNICODE8 => ("BINUNICODE8", Len8),
        BINBYTES8 => ("BINBYTES8", Len8),
        EMPTY_SET => ("EMPTY_SET", Empty),
        ADDITEMS => ("ADDITEMS", Empty),
        FROZENSET => ("FROZENSET", Empty),
        NEWOBJ_EX => ("NEWOBJ_EX", Empty),
        STACK_GLOBAL => ("STACK_GLOBAL", Empty),
        MEMOIZE => ("MEMOIZE", Empty),
        FRAME => ("FRAME", Fixed(8)),
        BYTEARRAY8 => ("BYTEARRAY8", Len8),
        NEXT_BUFFER => ("NEXT_BUFFER", Empty),
        READONLY_BUFFER => ("READONLY_BUFFER", Empty),
        _ => return None,
    })
}

/// `'c'` for a printable ASCII byte, `0x93` otherwise (for error messages).
pub(super) fn display_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("'{}'", b as char)
    } else {
        format!("{b:#04x}")
    }
}

/// One opcode with its argument, borrowed from the pickle.
pub(super) struct Op<'a> {
    pub code: u8,
    pub name: &'static str,
    /// Offset of the opcode byte in the pickle.
    pub pos: usize,
    /// Offset of `arg` in the pickle (lets callers refer back to the bytes).
    pub arg_pos: usize,
    /// Fixed bytes, the length-prefixed data, or the first line (without `\n`).
    pub arg: &'a [u8],
    /// The second line of GLOBAL / INST, empty otherwise.
    pub arg2: &'a [u8],
}

impl Op<'_> {
    /// The fixed-size argument as a little-endian unsigned integer.
    pub fn arg_uint(&self) -> u64 {
        u64_le(self.arg)
    }

    /// An error for this opcode.
    pub fn malformed(&self, reason: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    /// The error for an opcode that a restricted reader does not allow.
    pub fn unsupported(&self) -> PickleError {
        PickleError::UnsupportedOpcode {
            opcode: self.code,
            name: self.name,
            offset: self.pos,
        }
    }
}

/// Splits a pickle into opcodes. Never panics: every length is checked first.
pub(super) struct Tokenizer<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Tokenizer { data, pos: 0 }
    }

    /// The next opcode. At the end of the data this is
    /// [`PickleError::MissingStop`]: a pickle always ends with STOP, which the
    /// callers handle before asking for more.
    pub fn next_op(&mut self) -> Result<Op<'a>, PickleError> {
        let pos = self.pos;
        let code = *self.data.get(pos).ok_or(PickleError::MissingStop)?;
        let (name, kind) = info(code).ok_or(PickleError::UnknownOpcode {
            opcode: code,
            offset: pos,
        })?;
        let truncated = PickleError::Truncated { offset: pos };
        let mut cur = pos + 1;
        let mut arg2: &'a [u8] = &[];
        let arg_len = match kind {
            ArgKind::Empty => 0,
            ArgKind::Fixed(n) => n,
            ArgKind::Len1 | ArgKind::Len4 | ArgKind::Len4Signed | ArgKind::Len8 => {
                let width = match kind {
                    ArgKind::Len1 => 1,
                    ArgKind::Len8 => 8,
                    _ => 4,
                };
                let len_bytes = self.slice(cur, width).ok_or(truncated.clone())?;
                cur += width;
                let len = u64_le(len_bytes);
                if matches!(kind, ArgKind::Len4Signed) && len > i32::MAX as u64 {
                    return Err(PickleError::Malformed {
                        offset: pos,
                        reason: format!("{name} has a negative length"),
                    });
                }
                // Too large for memory means too large for the data: the
                // slice below then reports truncation.
                usize::try_from(len).unwrap_or(usize::MAX)
            }
            ArgKind::Line => self.line_len(cur).ok_or(truncated.clone())?,
            ArgKind::TwoLines => {
                let first = self.line_len(cur).ok_or(truncated.clone())?;
                let second_start = cur + first + 1;
                let second = self.line_len(second_start).ok_or(truncated.clone())?;
                arg2 = &self.data[second_start..second_start + second];
                first
            }
        };
        let arg = self.slice(cur, arg_len).ok_or(truncated.clone())?;
        let arg_pos = cur;
        cur += arg_len;
        match kind {
            ArgKind::Line => cur += 1,
            ArgKind::TwoLines => cur += 1 + arg2.len() + 1,
            _ => {}
        }
        // A frame must lie inside the data (CPython reads it in one go).
        if code == FRAME
            && self
                .slice(cur, usize::try_from(u64_le(arg)).unwrap_or(usize::MAX))
                .is_none()
        {
            return Err(truncated);
        }
        self.pos = cur;
        Ok(Op {
            code,
            name,
            pos,
            arg_pos,
            arg,
            arg2,
        })
    }

    /// `data[start..start + len]` if it lies inside the data.
    fn slice(&self, start: usize, len: usize) -> Option<&'a [u8]> {
        let end = start.checked_add(len)?;
        self.data.get(start..end)
    }

    /// Length of the line starting at `start`, excluding its `\n`, if the
    /// `\n` is present.
    fn line_len(&self, start: usize) -> Option<usize> {
        self.data.get(start..)?.iter().position(|&b| b == b'\n')
    }
}

/// A little-endian unsigned integer of at most 8 bytes.
fn u64_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Parses the decimal memo index of PUT / GET (`p12\n`, `g12\n`).
pub(super) fn parse_decimal(op: &Op<'_>) -> Result<u64, PickleError> {
    if op.arg.is_empty() || op.arg.len() > 19 || !op.arg.iter().all(u8::is_ascii_digit) {
        return Err(op.malformed(format!("{} needs a decimal memo index", op.name)));
    }
    Ok(op
        .arg
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')))
}

/// Decodes the text of a protocol-0 UNICODE (`V`) line: Latin-1 bytes with
/// `\uXXXX` / `\UXXXXXXXX` escapes, exactly like Python's `raw_unicode_escape`
/// codec (an escape counts only after an odd number of backslashes).
pub(super) fn decode_raw_unicode_escape(op: &Op<'_>) -> Result<String, PickleError> {
    let s = op.arg;
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(char::from(s[i]));
            i += 1;
            continue;
        }
        let run_start = i;
        while i < s.len() && s[i] == b'\\' {
            i += 1;
        }
        let run = i - run_start;
        let digits = match s.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => {
                out.extend(std::iter::repeat_n('\\', run));
                continue;
            }
        };
        out.extend(std::iter::repeat_n('\\', run - 1));
        let hex = s
            .get(i + 1..i + 1 + digits)
            .ok_or_else(|| op.malformed("truncated \\u escape in UNICODE"))?;
        let value = parse_hex(hex).ok_or_else(|| op.malformed("bad \\u escape in UNICODE"))?;
        let c = char::from_u32(value)
            .ok_or_else(|| op.malformed("\\u escape is a surrogate or out of range"))?;
        out.push(c);
        i += 1 + digits;
    }
    Ok(out)
}

fn parse_hex(hex: &[u8]) -> Option<u32> {
    hex.iter().try_fold(0u32, |acc, &b| {
        let d = char::from(b).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(d)
    })
}

/// Decodes the quoted argument of a protocol-0 STRING (`S'...'`) opcode the
/// way Python 3's `pickle.loads` does by default: `codecs.escape_decode`, then
/// ASCII (any non-ASCII byte is an error there too).
pub(super) fn decode_string_literal(op: &Op<'_>) -> Result<String, PickleError> {
    let a = op.arg;
    let quoted = a.len() >= 2 && a[0] == a[a.len() - 1] && (a[0] == b'\'' || a[0] == b'"');
    if !quoted {
        return Err(op.malformed("the STRING opcode argument must be quoted"));
    }
    let s = &a[1..a.len() - 1];
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let e = *s
            .get(i)
            .ok_or_else(|| op.malformed("trailing \\ in STRING"))?;
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => {
                let v = s
                    .get(i..i + 2)
                    .and_then(parse_hex)
                    .ok_or_else(|| op.malformed("invalid \\x escape in STRING"))?;
                out.push(v as u8);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            _ => {
                out.push(b'\\');
                out.push(e);
            }
        }
    }
    ascii_to_string(op, out)
}

/// Bytes of a Python-2 style `str` (STRING / BINSTRING / SHORT_BINSTRING),
/// which Python 3 decodes as ASCII by default.
pub(super) fn ascii_to_string(op: &Op<'_>, bytes: Vec<u8>) -> Result<String, PickleError> {
    if !bytes.is_ascii() {
        return Err(op.malformed(format!(
            "{} holds non-ASCII bytes (Python 3 decodes it as ASCII)",
            op.name
        )));
    }
    String::from_utf8(bytes).map_err(|_| op.malformed("invalid ASCII"))
}
