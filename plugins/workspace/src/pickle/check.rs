//! [`check_opcodes`]: is this byte string shaped like a pickle at all?

use super::opcodes::{self as op, Tokenizer};
use super::PickleError;

/// Checks that `pickle` is a well-formed opcode stream of protocols 0–5 ending in `STOP`,
/// without interpreting (let alone executing) any opcode.
///
/// PyMiner's server refused a `write_p` whose bytes did not unpickle; labsocket never
/// unpickles, so this is how it refuses garbage (a wrong base64 payload, a truncated
/// upload) instead of storing bytes no client could load. It cannot promise that the
/// pickle loads: that depends on classes only the client has.
pub fn check_opcodes(pickle: &[u8]) -> Result<(), PickleError> {
    let mut tokens = Tokenizer::new(pickle);
    loop {
        let op = tokens.next_op()?;
        match op.code {
            op::STOP => return Ok(()),
            op::PROTO => match op.arg.first() {
                Some(&version) if version > op::HIGHEST_PROTOCOL => {
                    return Err(PickleError::UnsupportedProtocol(version))
                }
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_pickles_and_refuses_garbage() {
        assert_eq!(check_opcodes(b"\x80\x05K*."), Ok(()));
        assert_eq!(
            check_opcodes(b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01."),
            Ok(())
        );
        // Trailing bytes after STOP are ignored, as by pickle.loads.
        assert_eq!(check_opcodes(b"N.garbage"), Ok(()));
        assert_eq!(check_opcodes(b"K*"), Err(PickleError::MissingStop));
        assert!(check_opcodes(b"hello").is_err());
        assert!(matches!(
            check_opcodes(b"\xff\xfe."),
            Err(PickleError::UnknownOpcode { opcode: 0xff, .. })
        ));
        assert_eq!(
            check_opcodes(b"\x80\x06N."),
            Err(PickleError::UnsupportedProtocol(6))
        );
        assert_eq!(check_opcodes(b""), Err(PickleError::MissingStop));
    }
}
