//! PyExpLabSys push socket payloads, `json_wn#...` and `raw_wn#...`, and the Python
//! literal readers under `raw_wn`.
#![no_main]

use labsocket::pyexplabsys::push::{parse_json_wn, parse_raw_wn};
use labsocket::pyexplabsys::python_literals::{python_float, python_int};
use labsocket::pyjson::python_str;
use labsocket::pyjson::Value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [parse_json_wn(text), parse_raw_wn(text)] {
        match parsed {
            // The ACK reply renders the dict with Python's str().
            Ok(dict) => assert!(!python_str(&Value::Dict(dict)).is_empty()),
            Err(message) => assert!(!message.is_empty()),
        }
    }
    let _ = python_int(text);
    let _ = python_float(text);
});
