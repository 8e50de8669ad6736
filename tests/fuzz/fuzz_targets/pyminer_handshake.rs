//! The PyMiner handshake classifier: any first bytes, complete or not, are classified
//! without using more bytes than there are, and the kind decided does not change when
//! more bytes arrive.
#![no_main]

use labsocket::pyminer::handshake::{classify, Classified};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for complete in [false, true] {
        if let Classified::Done { used, .. } = classify(data, complete) {
            assert!(used <= data.len());
        }
    }
    if let Classified::Done { handshake, .. } = classify(data, false) {
        let mut longer = data.to_vec();
        longer.extend_from_slice(b"{\"more\": 1}");
        match classify(&longer, false) {
            Classified::Done {
                handshake: later, ..
            } => assert_eq!(later, handshake),
            Classified::NeedMore => panic!("decided, then undecided after more bytes"),
        }
    }
});
