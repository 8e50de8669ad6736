//! Command dispatch shared by every front end: the host commands registered on the core
//! (the core table, then what front ends registered), then plugin commands.
//!
//! A front end turns its wire request into `(method, params)` and calls [`call`] (or
//! [`call_now`] and, if needed, [`call_later`]); it turns the result or
//! [`CallError`] back into its own wire form.

use labsocket_plugin_api::codes;

use crate::call::CallError;
use crate::host_core::{Core, Handler};
use crate::pyjson::Value;

/// What [`call_now`] did with a call.
pub enum Immediate {
    /// The command ran to completion on the caller's thread.
    Done(Result<Value, CallError>),
    /// The command must be awaited ([`call_later`]); its params are handed back.
    Later(Value),
}

/// Runs `method` with `params` (a JSON array, object or null).
pub async fn call(core: &Core, method: &str, params: Value) -> Result<Value, CallError> {
    match call_now(core, method, params) {
        Immediate::Done(outcome) => outcome,
        Immediate::Later(params) => call_later(core, method, params).await,
    }
}

/// Runs `method` right away if it completes without waiting: host commands with a
/// [`Handler::Now`], and plugin commands flagged `inline`. Front ends answer these without
/// creating (and boxing) a future per request, which is most of a request's cost when
/// the command itself is as cheap as `ping` or `get_point`.
pub fn call_now(core: &Core, method: &str, params: Value) -> Immediate {
    Immediate::Done(match core.command(method).map(|command| &command.handler) {
        Some(Handler::Now(handler)) => handler(core, &params),
        Some(Handler::Later(_)) => return Immediate::Later(params),
        Some(Handler::Connection) => Err(CallError::new(
            codes::INVALID_REQUEST,
            format!("'{method}' is only available on a native protocol connection"),
        )),
        None => match core.registry.call_inline(method, &params) {
            Some(outcome) => outcome,
            None if core.registry.contains(method) => return Immediate::Later(params),
            None => Err(unknown(method)),
        },
    })
}

/// Runs a command [`call_now`] handed back as [`Immediate::Later`].
pub async fn call_later(core: &Core, method: &str, params: Value) -> Result<Value, CallError> {
    match core.command(method).map(|command| &command.handler) {
        Some(Handler::Later(handler)) => handler(core, params).await,
        // Not handed back by `call_now`, but answered the same way if called directly.
        Some(Handler::Now(_) | Handler::Connection) => match call_now(core, method, params) {
            Immediate::Done(outcome) => outcome,
            Immediate::Later(_) => Err(unknown(method)),
        },
        None => match core.registry.call(method, &params).await {
            Some(result) => result,
            None => Err(unknown(method)),
        },
    }
}

fn unknown(method: &str) -> CallError {
    CallError::new(
        codes::METHOD_NOT_FOUND,
        format!("unknown method '{method}' (the 'commands' method lists them)"),
    )
}
