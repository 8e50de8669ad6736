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
        ABI_VERSION, "1.2.0",
        "the layouts below are those of ABI 1.2.0: update them together with the version"
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
    assert_eq!((size_of::<HostApi>(), align_of::<HostApi>()), (144, 8));
    assert_eq!(offset_of!(HostApi, struct_size), 0);
    assert_eq!(offset_of!(HostApi, abi_version), 8);
    assert_eq!(offset_of!(HostApi, ctx), 24);
    assert_eq!(offset_of!(HostApi, emit), 32);
    assert_eq!(offset_of!(HostApi, set_point), 40);
    assert_eq!(offset_of!(HostApi, log), 48);
    assert_eq!(offset_of!(HostApi, data_dir), 56);
    // 1.1.0, appended after the 1.0 table (which ended at 72).
    assert_eq!(offset_of!(HostApi, last_error), 72);
    assert_eq!(offset_of!(HostApi, call), 80);
    assert_eq!(offset_of!(HostApi, get_point), 88);
    assert_eq!(offset_of!(HostApi, subscribe), 96);
    assert_eq!(offset_of!(HostApi, stopping), 104);
    assert_eq!(offset_of!(HostApi, plugin_dir), 112);
    // 1.2.0, appended after the 1.1 table (which ended at 128).
    assert_eq!(offset_of!(HostApi, attachment), 128);
    assert_eq!(offset_of!(HostApi, attach_reply), 136);
}

#[test]
fn the_1_0_sizes_are_where_the_1_1_fields_start() {
    assert_eq!(HOST_API_SIZE_1_0, 72);
    assert_eq!(HOST_API_SIZE_1_0, offset_of!(HostApi, last_error));
    assert_eq!(DESCRIPTOR_SIZE_1_0, 104);
    assert_eq!(
        DESCRIPTOR_SIZE_1_0,
        offset_of!(PluginDescriptor, command_meta)
    );
}

#[test]
fn command_meta_layout() {
    assert_eq!(
        (size_of::<CommandMeta>(), align_of::<CommandMeta>()),
        (48, 8)
    );
    assert_eq!(offset_of!(CommandMeta, params), 0);
    assert_eq!(offset_of!(CommandMeta, result), 16);
    assert_eq!(offset_of!(CommandMeta, annotations), 32);
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
        (136, 8)
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
    // 1.1.0, appended after the 1.0 descriptor (which ended at 104).
    assert_eq!(offset_of!(PluginDescriptor, command_meta), 104);
    assert_eq!(offset_of!(PluginDescriptor, shutdown), 112);
    assert_eq!(offset_of!(PluginDescriptor, description), 120);
}

#[test]
fn status_codes_and_flags_are_stable() {
    assert_eq!(
        (
            status::OK,
            status::ERROR,
            status::PANIC,
            status::BAD_REQUEST,
            status::REFUSED
        ),
        (0, 1, 2, 3, 4)
    );
    assert_eq!((COMMAND_FLAG_INLINE, COMMAND_FLAG_READ_ONLY), (1, 2));
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

/// The 1.1 function types, spelled out: changing a signature stops this from compiling.
#[test]
fn function_types_are_stable() {
    unsafe extern "C" fn event(_: *mut core::ffi::c_void, _: StrRef, _: StrRef, _: f64, _: u64) {}
    unsafe extern "C" fn shutdown(_: *const HostApi, _: *mut OwnedBuf) -> u32 {
        status::OK
    }
    let handler: EventHandler = event;
    let shutdown: ShutdownFn = shutdown;
    assert_eq!(size_of_val(&handler), size_of::<usize>());
    assert_eq!(size_of_val(&shutdown), size_of::<usize>());
}
