//! Pins the layout of every type that crosses the C ABI to the ABI version.
//!
//! If this test fails you changed the ABI. Either undo the change, or bump
//! `ABI_VERSION`'s major (and the symbol name's `_v1`), update the numbers below, and
//! document the break in docs/plugins.md. Appending a field to a `struct_size`-checked
//! struct is a minor bump.

#![cfg(target_pointer_width = "64")]

use std::mem::{align_of, offset_of, size_of};

use labsocket_plugin_api::abi::*;

#[test]
fn abi_version_matches_these_layouts() {
    assert_eq!(
        ABI_VERSION, "1.0.0",
        "the layouts below are those of ABI 1.0.0: update them together with the version"
    );
    assert_eq!(DESCRIPTOR_SYMBOL, "labsocket_plugin_descriptor_v1");
    assert_eq!(ABI_MAGIC, u64::from_le_bytes(*b"LABSOCK1"));
}

#[test]
fn str_ref_layout() {
    assert_eq!((size_of::<StrRef>(), align_of::<StrRef>()), (16, 8));
    assert_eq!(offset_of!(StrRef, ptr), 0);
    assert_eq!(offset_of!(StrRef, len), 8);
}

#[test]
fn owned_buf_layout() {
    assert_eq!((size_of::<OwnedBuf>(), align_of::<OwnedBuf>()), (32, 8));
    assert_eq!(offset_of!(OwnedBuf, ptr), 0);
    assert_eq!(offset_of!(OwnedBuf, len), 8);
    assert_eq!(offset_of!(OwnedBuf, cap), 16);
    assert_eq!(offset_of!(OwnedBuf, free), 24);
}

#[test]
fn host_api_layout() {
    assert_eq!((size_of::<HostApi>(), align_of::<HostApi>()), (72, 8));
    assert_eq!(offset_of!(HostApi, struct_size), 0);
    assert_eq!(offset_of!(HostApi, abi_version), 8);
    assert_eq!(offset_of!(HostApi, ctx), 24);
    assert_eq!(offset_of!(HostApi, emit), 32);
    assert_eq!(offset_of!(HostApi, set_point), 40);
    assert_eq!(offset_of!(HostApi, log), 48);
    assert_eq!(offset_of!(HostApi, data_dir), 56);
}

#[test]
fn command_desc_layout() {
    assert_eq!(
        (size_of::<CommandDesc>(), align_of::<CommandDesc>()),
        (48, 8)
    );
    assert_eq!(offset_of!(CommandDesc, name), 0);
    assert_eq!(offset_of!(CommandDesc, description), 16);
    assert_eq!(offset_of!(CommandDesc, flags), 32);
    assert_eq!(offset_of!(CommandDesc, handler), 40);
}

#[test]
fn plugin_descriptor_layout() {
    assert_eq!(
        (
            size_of::<PluginDescriptor>(),
            align_of::<PluginDescriptor>()
        ),
        (104, 8)
    );
    assert_eq!(offset_of!(PluginDescriptor, magic), 0);
    assert_eq!(offset_of!(PluginDescriptor, struct_size), 8);
    assert_eq!(offset_of!(PluginDescriptor, abi_version), 16);
    assert_eq!(offset_of!(PluginDescriptor, name), 32);
    assert_eq!(offset_of!(PluginDescriptor, version), 48);
    assert_eq!(offset_of!(PluginDescriptor, build_info), 64);
    assert_eq!(offset_of!(PluginDescriptor, commands), 80);
    assert_eq!(offset_of!(PluginDescriptor, n_commands), 88);
    assert_eq!(offset_of!(PluginDescriptor, init), 96);
}

#[test]
fn status_codes_and_flags_are_stable() {
    assert_eq!(
        (
            status::OK,
            status::ERROR,
            status::PANIC,
            status::BAD_REQUEST
        ),
        (0, 1, 2, 3)
    );
    assert_eq!(COMMAND_FLAG_INLINE, 1);
    assert_eq!(
        (
            log_level::ERROR,
            log_level::WARN,
            log_level::INFO,
            log_level::DEBUG,
            log_level::TRACE
        ),
        (1, 2, 3, 4, 5)
    );
}
