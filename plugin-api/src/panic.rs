//! Panics in plugin code: one log line through the host, never an unwind into it.
//!
//! The thunks catch every panic (a panic leaving an `extern "C"` function aborts the
//! process). That leaves the message: std's default hook would print it raw on stderr,
//! outside the host's log, and in a dylib plugin the host's own hook is not even called
//! (the plugin has its own std). So while plugin code runs under [`with_plugin`], a
//! thread-local holds the plugin's [`Ctx`], and a hook installed once in this crate's std
//! sends the panic's message and location through that context's `log` at ERROR. Panics on
//! other threads (no context set) go to the hook that was there before.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

use crate::ctx::{Ctx, Level};

thread_local! {
    /// The plugin whose code this thread runs, if a thunk is on the stack.
    static CURRENT: Cell<Option<Ctx>> = const { Cell::new(None) };
}

static INSTALL: Once = Once::new();

/// Runs `body` with `ctx` as this thread's current plugin, restoring the previous one
/// afterwards (also on unwind), so nested plugin calls on one thread log under the right
/// plugin.
pub(crate) fn with_plugin<T>(ctx: Ctx, body: impl FnOnce() -> T) -> T {
    INSTALL.call_once(install_hook);
    struct Restore(Option<Ctx>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|current| current.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|current| current.replace(Some(ctx))));
    body()
}

/// Chains a hook in front of whatever hook is installed now (the host's, for a compiled-in
/// plugin; std's default in a dylib).
fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        match CURRENT.try_with(Cell::get).ok().flatten() {
            Some(ctx) => ctx.log(Level::Error, &describe(ctx.plugin(), info)),
            None => previous(info),
        }
    }));
}

/// `panic in plugin NAME at FILE:LINE:COLUMN: MESSAGE` (the name when known).
fn describe(plugin: &str, info: &PanicHookInfo<'_>) -> String {
    let mut line = if plugin.is_empty() {
        "panic in a plugin".to_owned()
    } else {
        format!("panic in plugin {plugin}")
    };
    if let Some(location) = info.location() {
        line.push_str(&format!(
            " at {}:{}:{}",
            location.file(),
            location.line(),
            location.column()
        ));
    }
    line.push_str(": ");
    line.push_str(payload_text(info.payload()));
    line
}

/// The text of a panic payload (`panic!` makes a `&str` or a `String`).
fn payload_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "panic with a non-string payload"
    }
}

/// `panicked: MESSAGE`, the text a thunk returns with [`crate::abi::status::PANIC`]; the
/// payload is dropped safely.
pub(crate) fn message(payload: Box<dyn Any + Send>) -> String {
    let message = format!("panicked: {}", payload_text(&*payload));
    drop_payload(payload);
    message
}

/// Drops a panic payload; a payload whose `Drop` panics would otherwise unwind out of the
/// thunk and abort the host, so that second panic's payload is leaked instead.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(inner) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(inner);
    }
}
