//! Claims ABI 2.0.0: built for a host generation that does not exist yet.
use labsocket_bad_plugins::{descriptor, GOOD_MAGIC};
use labsocket_plugin_api::abi::PluginDescriptor;

static DESCRIPTOR: PluginDescriptor = descriptor(GOOD_MAGIC, "2.0.0", "future");
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
