//! The `units` plugin as a `cdylib`. This crate only exports the descriptor: keeping the
//! `#[no_mangle]` symbol out of the plugin crate lets that crate also be compiled in.

labsocket_plugin_api::export_dylib!(units::DESCRIPTOR);
