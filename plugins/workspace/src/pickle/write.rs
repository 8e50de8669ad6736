//! The writers: [`write_dict_of_pickles`] and [`write_str_list`].
//!
//! Both write protocol 4 (`PROTO 4`), understood by every Python since 3.4.
//! Protocol 4 is the lowest protocol with `BINBYTES8`/`BINUNICODE8` (objects
//! over 4 GiB) and `STACK_GLOBAL`. No `FRAME` opcodes are written: framing is
//! an optional read-ahead hint and unframed protocol-4 data loads fine.

use super::opcodes as op;

/// Produces a pickle that loads (with `pickle.loads` or `cloudpickle.loads`)
/// to the dict `{name: value}`, where each `value` is what the stored pickle
/// bytes load to. A repeated name keeps the last value, like a Python dict.
///
/// # Encoding
///
/// Every value is written as the call `pickle.loads(<stored bytes>)`:
///
/// ```text
/// PROTO 4, EMPTY_DICT, MARK,
///   <name>  SHORT_BINUNICODE 'pickle', SHORT_BINUNICODE 'loads', STACK_GLOBAL, MEMOIZE  (first entry)
///           BINGET 0                                                               (later entries)
///           <blob as SHORT_BINBYTES / BINBYTES / BINBYTES8>, TUPLE1, REDUCE
///   ...
/// SETITEMS, STOP
/// ```
///
/// Names use `SHORT_BINUNICODE` (< 256 bytes), `BINUNICODE` (< 4 GiB) or
/// `BINUNICODE8`; blobs use `SHORT_BINBYTES` (< 256 bytes), `BINBYTES`
/// (< 4 GiB) or `BINBYTES8`, exactly CPython's choices.
///
/// The server only *writes* this call; the Python client that loads the answer
/// runs it. That client already trusts the stored blobs, which other PyMiner
/// clients pickled, since loading them is the point of asking for them.
///
/// # Trade-offs
///
/// The alternative, splicing each stored opcode stream into the dict and
/// renumbering its memo indices, would avoid one copy on the client but
/// requires rewriting untrusted opcode streams of any protocol (frames,
/// protocol-5 out-of-band buffers, memo indices); a mistake there would
/// corrupt data silently. The `loads()` wrapper is a byte-for-byte embedding:
///
/// * every blob round-trips exactly, whatever its protocol, including
///   cloudpickle's by-value functions and classes;
/// * on the client each blob is materialised once as a `bytes` object before
///   its inner `loads`, so peak memory there is the blob plus the value (the
///   same as PyMiner's own `loads(b64decode(...))`);
/// * objects shared between two variables are not shared after loading (they
///   were pickled separately, so they were not shared in the blobs either);
/// * an unpickler with a restrictive `find_class` must allow `pickle.loads`;
///   PyMiner clients use plain `cloudpickle.loads`.
pub fn write_dict_of_pickles(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let payload: usize = entries
        .iter()
        .map(|(name, blob)| name.len() + blob.len() + 2 * 9 + 3)
        .sum();
    let mut out = Vec::with_capacity(payload + 32);
    out.extend_from_slice(&[op::PROTO, 4, op::EMPTY_DICT]);
    if !entries.is_empty() {
        out.push(op::MARK);
        for (i, (name, blob)) in entries.iter().enumerate() {
            push_str(&mut out, name);
            if i == 0 {
                push_str(&mut out, "pickle");
                push_str(&mut out, "loads");
                out.extend_from_slice(&[op::STACK_GLOBAL, op::MEMOIZE]);
            } else {
                out.extend_from_slice(&[op::BINGET, 0]);
            }
            push_bytes_header(&mut out, blob.len() as u64);
            out.extend_from_slice(blob);
            out.extend_from_slice(&[op::TUPLE1, op::REDUCE]);
        }
        out.push(op::SETITEMS);
    }
    out.push(op::STOP);
    out
}

/// Produces a pickle of a Python `list` of `str`, e.g. the `var_names` answer
/// of PyMiner's `get_all_var_names_of_type`:
/// `PROTO 4, EMPTY_LIST, [MARK, <str>..., APPENDS], STOP`.
pub fn write_str_list(items: &[&str]) -> Vec<u8> {
    let payload: usize = items.iter().map(|s| s.len() + 9).sum();
    let mut out = Vec::with_capacity(payload + 8);
    out.extend_from_slice(&[op::PROTO, 4, op::EMPTY_LIST]);
    if !items.is_empty() {
        out.push(op::MARK);
        for item in items {
            push_str(&mut out, item);
        }
        out.push(op::APPENDS);
    }
    out.push(op::STOP);
    out
}

/// Writes a `str` with the smallest opcode that fits it.
fn push_str(out: &mut Vec<u8>, s: &str) {
    push_sized_header(
        out,
        s.len() as u64,
        [op::SHORT_BINUNICODE, op::BINUNICODE, op::BINUNICODE8],
    );
    out.extend_from_slice(s.as_bytes());
}

/// Writes the opcode and length that introduce `len` bytes of `bytes` data.
fn push_bytes_header(out: &mut Vec<u8>, len: u64) {
    push_sized_header(out, len, [op::SHORT_BINBYTES, op::BINBYTES, op::BINBYTES8]);
}

/// `opcodes` = [1-byte length, 4-byte length, 8-byte length] variants.
fn push_sized_header(out: &mut Vec<u8>, len: u64, opcodes: [u8; 3]) {
    if let Ok(short) = u8::try_from(len) {
        out.extend_from_slice(&[opcodes[0], short]);
    } else if let Ok(medium) = u32::try_from(len) {
        out.push(opcodes[1]);
        out.extend_from_slice(&medium.to_le_bytes());
    } else {
        out.push(opcodes[2]);
        out.extend_from_slice(&len.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_header_picks_cpython_opcode_by_length() {
        let header = |len: u64| {
            let mut out = Vec::new();
            push_bytes_header(&mut out, len);
            out
        };
        assert_eq!(header(0), b"C\x00");
        assert_eq!(header(255), b"C\xff");
        assert_eq!(header(256), b"B\x00\x01\x00\x00");
        assert_eq!(header(0xffff_ffff), b"B\xff\xff\xff\xff");
        assert_eq!(
            header(0x1_0000_0000),
            b"\x8e\x00\x00\x00\x00\x01\x00\x00\x00"
        );
        assert_eq!(header(u64::MAX), b"\x8e\xff\xff\xff\xff\xff\xff\xff\xff");
    }

    #[test]
    fn str_header_picks_cpython_opcode_by_length() {
        let header = |len: u64| {
            let mut out = Vec::new();
            push_sized_header(
                &mut out,
                len,
                [op::SHORT_BINUNICODE, op::BINUNICODE, op::BINUNICODE8],
            );
            out
        };
        assert_eq!(header(255), b"\x8c\xff");
        assert_eq!(header(256), b"X\x00\x01\x00\x00");
        assert_eq!(header(0xffff_ffff), b"X\xff\xff\xff\xff");
        assert_eq!(
            header(0x1_0000_0000),
            b"\x8d\x00\x00\x00\x00\x01\x00\x00\x00"
        );
    }
}
