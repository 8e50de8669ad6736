//! Broken plugins for the loader tests. Each `examples/*.rs` builds a `cdylib` that is
//! wrong in exactly one way; the host must refuse it with a clear error and keep running.
//!
//! Build them with `cargo build -p labsocket-bad-plugins --examples`.

use labsocket_plugin_api::abi::{PluginDescriptor, StrRef, ABI_MAGIC};

/// A command-less descriptor that claims ABI `abi_version` and carries `magic`.
pub const fn descriptor(
    magic: u64,
    abi_version: &'static str,
    name: &'static str,
) -> PluginDescriptor {
    PluginDescriptor {
        magic,
        struct_size: std::mem::size_of::<PluginDescriptor>() as u32,
        abi_version: StrRef::from_static(abi_version),
        name: StrRef::from_static(name),
        version: StrRef::from_static("0.0.1"),
        build_info: StrRef::from_static(labsocket_plugin_api::BUILD_INFO),
        commands: std::ptr::null(),
        n_commands: 0,
        init: None,
        command_meta: std::ptr::null(),
        shutdown: None,
        description: StrRef::from_static(""),
    }
}

/// The magic a real plugin carries, for fixtures that break something else.
pub const GOOD_MAGIC: u64 = ABI_MAGIC;
