//! The TOML configuration: any text is a config or a `[section] key: ...` error.
#![no_main]

use labsocket::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz.toml") {
        Ok(config) => assert!(config.validate().is_ok()),
        Err(err) => assert!(err.to_string().starts_with("config error in fuzz.toml: ")),
    }
});
