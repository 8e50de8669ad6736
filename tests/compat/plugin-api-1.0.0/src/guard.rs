//! The bodies of the `extern "C"` thunks the macros generate.
//!
//! Since Rust 1.81 a panic that leaves an `extern "C"` function aborts the process, and a
//! panic payload from a plugin's copy of std must not unwind through the host anyway. So
//! every thunk runs the plugin's code inside `catch_unwind` and turns the outcome into a
//! status code plus a buffer. This only works when plugins are built with `panic=unwind`
//! (the default); with `panic=abort` a plugin panic ends the host.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Value;

use crate::abi::{status, HostApi, OwnedBuf, StrRef};
use crate::ctx::Ctx;
use crate::error::CommandError;

/// A command as a plugin author writes it.
pub type CommandFn = fn(&Ctx, Value) -> Result<Value, CommandError>;

/// A plugin's start-up hook: receives its `[plugins.<name>]` config table.
pub type InitHook = fn(&Ctx, Value) -> Result<(), String>;

/// Runs a command handler for the C ABI.
///
/// # Safety
/// `host` must be the host's table, `request` must point to `request_len` readable bytes,
/// and `reply` must point to a writable [`OwnedBuf`]; the host guarantees all three for the
/// duration of the call.
pub unsafe fn run_command(
    host: *const HostApi,
    request: *const u8,
    request_len: usize,
    reply: *mut OwnedBuf,
    handler: CommandFn,
) -> u32 {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: guaranteed by the caller for the duration of this call.
        let ctx = unsafe { Ctx::from_raw(host) };
        // SAFETY: guaranteed by the caller.
        let bytes = unsafe {
            StrRef {
                ptr: request,
                len: request_len,
            }
            .as_bytes()
        };
        let params: Value = match serde_json::from_slice(bytes) {
            Ok(params) => params,
            Err(err) => {
                return (
                    status::BAD_REQUEST,
                    format!("params are not JSON: {err}").into_bytes(),
                )
            }
        };
        match handler(&ctx, params) {
            Ok(result) => (status::OK, result.to_string().into_bytes()),
            Err(error) => (status::ERROR, error.to_json().to_string().into_bytes()),
        }
    }));
    let (code, bytes) = outcome.unwrap_or_else(|payload| (status::PANIC, panic_message(payload)));
    // SAFETY: the caller guarantees `reply` is writable.
    unsafe { reply.write(OwnedBuf::from_vec(bytes)) };
    code
}

/// Runs a plugin's init hook for the C ABI.
///
/// # Safety
/// As for [`run_command`]: `host` is the host's table, `config` is valid during the call
/// and `error` is writable.
pub unsafe fn run_init(
    host: *const HostApi,
    config: StrRef,
    error: *mut OwnedBuf,
    hook: InitHook,
) -> u32 {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: guaranteed by the caller.
        let ctx = unsafe { Ctx::from_raw(host) };
        // SAFETY: guaranteed by the caller.
        let bytes = unsafe { config.as_bytes() };
        let config = match serde_json::from_slice(bytes) {
            Ok(config) => config,
            Err(err) => return Err((status::BAD_REQUEST, format!("config is not JSON: {err}"))),
        };
        hook(&ctx, config).map_err(|message| (status::ERROR, message))
    }));
    let (code, message) = match outcome {
        Ok(Ok(())) => return status::OK,
        Ok(Err(failure)) => failure,
        Err(payload) => (
            status::PANIC,
            String::from_utf8_lossy(&panic_message(payload)).into_owned(),
        ),
    };
    // SAFETY: the caller guarantees `error` is writable.
    unsafe { error.write(OwnedBuf::from_vec(message.into_bytes())) };
    code
}

/// The text of a panic, with the payload dropped safely: a payload whose `Drop` panics
/// would otherwise unwind out of the thunk and abort the host.
fn panic_message(payload: Box<dyn Any + Send>) -> Vec<u8> {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    };
    if let Err(inner) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // The payload's destructor panicked; leaking its own payload is the only safe move.
        std::mem::forget(inner);
    }
    format!("panicked: {message}").into_bytes()
}
