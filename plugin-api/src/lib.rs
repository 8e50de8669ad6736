//! The stable plugin API of labsocket.
//!
//! A plugin is a name, a version, the ABI version it was built against, an optional init
//! hook and a set of named commands `fn(&Ctx, Value) -> Result<Value, CommandError>`. The
//! same crate can be compiled into the host (registered with `inventory`) or wrapped in a
//! thin `cdylib` and loaded at start-up; only the C ABI of [`abi`] crosses that boundary.
//!
//! - [`abi`]: the `#[repr(C)]` types, constants and status codes (the stable contract).
//! - [`ctx`]: [`Ctx`], the host as plugin code sees it (emit, set points, log).
//! - [`error`]: [`CommandError`], a command's error reply.
//! - [`codes`] and [`topics`]: the error codes and topic names host and plugins share.
//! - [`float`]: how `NaN` and `Infinity` cross the boundary (strict JSON has neither).
//! - [`guard`]: the panic-catching bodies of the generated `extern "C"` thunks.
//! - [`plugin!`] and [`export_dylib!`]: the two registration macros.
//!
//! See `docs/plugins.md` in the repository for a walk-through and the stability promise.

pub mod abi;
pub mod codes;
pub mod ctx;
pub mod error;
pub mod float;
pub mod guard;
pub mod topics;
mod macros;

pub use ctx::{unix_now, Ctx, HostError, Level};
pub use error::CommandError;
pub use float::{as_float, float_value};
pub use serde_json::{self, json, Value};

#[doc(hidden)]
pub use inventory;

/// Toolchain, target and profile this crate (and so the plugin) was built with.
pub const BUILD_INFO: &str = env!("LABSOCKET_PLUGIN_BUILD_INFO");

/// A compiled-in plugin, as registered by [`plugin!`].
pub struct Registration(pub &'static abi::PluginDescriptor);

inventory::collect!(Registration);

/// Every plugin compiled into this binary, in no particular order.
pub fn compiled_in() -> impl Iterator<Item = &'static abi::PluginDescriptor> {
    inventory::iter::<Registration>
        .into_iter()
        .map(|registration| registration.0)
}
