//! The stable plugin API of labsocket.
//!
//! A plugin is a name, a version, the ABI version it was built against, optional init and
//! shutdown hooks, optional state, and a set of named commands
//! `fn(&Ctx, P) -> Result<R, CommandError>` (`P`, `R` being `Value` or the plugin's own
//! serde types). The same crate can be compiled into the host (registered with
//! `inventory`) or wrapped in a thin `cdylib` and loaded at start-up; only the C ABI of
//! [`abi`] crosses that boundary.
//!
//! - [`abi`]: the `#[repr(C)]` types, constants and status codes (the stable contract).
//! - [`ctx`]: [`Ctx`], the host as plugin code sees it (emit, set and read points, log,
//!   call commands, subscribe to events), with [`Point`], [`Event`], [`RawEvent`] and
//!   [`HostError`].
//! - [`error`]: [`CommandError`], a command's error reply.
//! - [`codes`] and [`topics`]: the error codes and topic names host and plugins share.
//! - [`float`]: how `NaN` and `Infinity` cross the boundary (strict JSON has neither).
//! - [`guard`]: the panic-catching bodies of the generated `extern "C"` thunks.
//! - [`params`]: [`NoParams`], the params of a command that takes none.
//! - [`testing`]: [`testing::MockHost`], a real host table in-process for a plugin's tests.
//! - [`plugin!`] and [`export_dylib!`]: the two registration macros.
//!
//! See `docs/plugins.md` in the repository for a walk-through and the stability promise.

pub mod abi;
pub mod codes;
pub mod ctx;
pub mod error;
pub mod float;
pub mod guard;
mod macros;
mod panic;
pub mod params;
pub mod testing;
pub mod topics;

pub use ctx::{unix_now, Ctx, Event, HostError, Level, Point, RawEvent};
pub use error::CommandError;
pub use float::{as_float, float_value};
pub use params::NoParams;
pub use serde;
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
