//! Skipping runs of string bytes that need no attention, eight at a time.
//!
//! Parsing and writing a JSON string look at every byte for a quote, a backslash or a
//! control character (and, when escaping to ASCII, anything outside printable ASCII).
//! Long strings are mostly plain, such as the base64 values of PyMiner's `read_p` (a 1 KB
//! reply spent a third of the server's instructions in these two byte loops, by
//! callgrind). [`plain_prefix_len`] tests eight bytes per step with word arithmetic and
//! stops at the first word that holds such a byte, which the byte loop then handles as
//! before: results are unchanged, only the plain bytes are passed over faster.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is below `limit` (at most 0x80). Exact as a yes/no answer.
const fn any_below(word: u64, limit: u8) -> bool {
    word.wrapping_sub(ONES * limit as u64) & !word & HIGH_BITS != 0
}

/// Whether any byte of `word` equals `byte`.
const fn any_equal(word: u64, byte: u8) -> bool {
    any_below(word ^ (ONES * byte as u64), 1)
}

/// How many leading bytes of `bytes`, in whole eight-byte words, hold no `"`, `\` or
/// control character (below 0x20), nor, with `escape_non_ascii`, a byte from 0x7f up.
pub fn plain_prefix_len(bytes: &[u8], escape_non_ascii: bool) -> usize {
    let mut length = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let special = any_equal(word, b'"')
            || any_equal(word, b'\\')
            || any_below(word, 0x20)
            || (escape_non_ascii && (word & HIGH_BITS != 0 || any_equal(word, 0x7f)));
        if special {
            break;
        }
        length += 8;
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte answer.
    fn slow(bytes: &[u8], escape_non_ascii: bool) -> usize {
        let plain =
            |b: u8| !(b == b'"' || b == b'\\' || b < 0x20 || (escape_non_ascii && b >= 0x7f));
        let first_special = bytes.iter().position(|b| !plain(*b)).unwrap_or(bytes.len());
        first_special / 8 * 8
    }

    #[test]
    fn agrees_with_the_byte_loop_for_every_byte_at_every_position() {
        for byte in 0..=255u8 {
            for at in 0..16 {
                let mut bytes = vec![b'a'; 16];
                bytes[at] = byte;
                for escape in [false, true] {
                    assert_eq!(
                        plain_prefix_len(&bytes, escape),
                        slow(&bytes, escape),
                        "byte {byte:#x} at {at}, escape_non_ascii {escape}"
                    );
                }
            }
        }
        assert_eq!(
            plain_prefix_len(b"abcdefg", false),
            0,
            "a partial word is left"
        );
    }
}
