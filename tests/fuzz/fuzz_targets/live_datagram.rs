//! The live server's datagram parser: any datagram is an update or a one-line error.
#![no_main]

use labsocket::live_server::datagram::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(update) => {
            let _ = update.to_value();
        }
        Err(message) => assert!(!message.contains('\n') || message.len() < 4096),
    }
});
