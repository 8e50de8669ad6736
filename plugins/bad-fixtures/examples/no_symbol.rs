//! A perfectly fine shared library that is not a labsocket plugin (no descriptor symbol).

/// Something to export, so the library is not empty.
#[no_mangle]
pub extern "C" fn not_a_plugin() -> u32 {
    42
}
