//! Exports the right symbol but its descriptor does not start with the labsocket magic.
use labsocket_bad_plugins::descriptor;
use labsocket_plugin_api::abi::PluginDescriptor;

static DESCRIPTOR: PluginDescriptor = descriptor(0x0bad_0bad_0bad_0bad, "1.0.0", "badmagic");
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
