//! The workspace's restricted pickle reader and classifiers: they only read opcodes, so
//! any bytes give a result or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use workspace::pickle::{check_opcodes, is_pickled_none, read_str_dict, type_hint};

fuzz_target!(|data: &[u8]| {
    if read_str_dict(data).is_ok() {
        // A dict the reader accepted is a well-formed opcode stream.
        assert!(
            check_opcodes(data).is_ok(),
            "read_str_dict accepted what check_opcodes refuses"
        );
    }
    let _ = check_opcodes(data);
    let hint = type_hint(data);
    assert!(
        ["string", "array", "table", "numeric", "other"].contains(&hint),
        "{hint}"
    );
    if is_pickled_none(data) {
        assert!(check_opcodes(data).is_ok());
    }
});
