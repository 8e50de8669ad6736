//! The bodies of the `extern "C"` thunks that [`crate::plugin!`] generates.
//!
//! Since Rust 1.81 a panic that leaves an `extern "C"` function aborts the process, and a
//! panic payload from a plugin's copy of std must not unwind through the host anyway. So
//! every thunk runs the plugin's code inside `catch_unwind` and turns the outcome into a
//! status code plus a buffer; the panic itself is logged once through the host (see
//! `crate::panic`). This only works when plugins are built with `panic=unwind` (the
//! default); with `panic=abort` a plugin panic ends the host.
//!
//! Params and config are deserialised into the handler's own types: a misfit is
//! [`crate::codes::INVALID_PARAMS`] (or an init error) whose message names the field path,
//! e.g. `invalid params: name: invalid type: integer `5`, expected a string`.
//!
//! These functions are public only for the macro's expansion; plugin code does not call
//! them.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::abi::{status, HostApi, OwnedBuf, StrRef};
use crate::codes;
use crate::ctx::Ctx;
use crate::error::CommandError;

/// A command as a plugin author writes it; `P` and `R` default to [`Value`], the 1.0 form.
pub type CommandFn<P = Value, R = Value> = fn(&Ctx, P) -> Result<R, CommandError>;

/// A command of a plugin with state `S` (`plugin! { state: S, ... }`).
pub type StatefulCommandFn<S, P = Value, R = Value> = fn(&S, &Ctx, P) -> Result<R, CommandError>;

/// A plugin's start-up hook: receives its `[plugins.<name>]` table (`{}` when absent) as
/// `C` and returns the plugin's state (`()` for a plugin without state).
pub type InitHook<C = Value, S = ()> = fn(&Ctx, C) -> Result<S, String>;

/// What a shutdown hook may return: nothing, or `Result<(), String>` to report a failure
/// (the host logs it).
pub trait ShutdownOutcome {
    fn into_result(self) -> Result<(), String>;
}

impl ShutdownOutcome for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl ShutdownOutcome for Result<(), String> {
    fn into_result(self) -> Result<(), String> {
        self
    }
}

/// Where the generated code keeps a plugin's state (`plugin! { state: S, ... }`): set once
/// by the init thunk, read by every command thunk.
pub type StateCell<S> = OnceLock<S>;

/// Runs a command handler for the C ABI.
///
/// # Safety
/// `host` must be the host's table, `request` must point to `request_len` readable bytes,
/// and `reply` must point to a writable [`OwnedBuf`]; the host guarantees all three for the
/// duration of the call.
pub unsafe fn run_command<P, R>(
    host: *const HostApi,
    request: *const u8,
    request_len: usize,
    reply: *mut OwnedBuf,
    plugin: &'static str,
    command: &'static str,
    handler: CommandFn<P, R>,
) -> u32
where
    P: DeserializeOwned + 'static,
    R: Serialize,
{
    // SAFETY: forwarded from the caller.
    unsafe { dispatch(host, request, request_len, reply, plugin, command, handler) }
}

/// Runs a command handler of a plugin with state for the C ABI; before init succeeded
/// (the state is unset) it answers [`codes::PLUGIN_UNAVAILABLE`].
///
/// # Safety
/// As for [`run_command`].
#[allow(clippy::too_many_arguments)] // one per piece of the C call plus the macro's statics
pub unsafe fn run_stateful_command<S, P, R>(
    host: *const HostApi,
    request: *const u8,
    request_len: usize,
    reply: *mut OwnedBuf,
    plugin: &'static str,
    command: &'static str,
    state: &'static StateCell<S>,
    handler: StatefulCommandFn<S, P, R>,
) -> u32
where
    S: Send + Sync + 'static,
    P: DeserializeOwned + 'static,
    R: Serialize,
{
    // SAFETY: forwarded from the caller.
    unsafe {
        dispatch(
            host,
            request,
            request_len,
            reply,
            plugin,
            command,
            |ctx, params| {
                let state = state.get().ok_or_else(|| {
                CommandError::new(format!(
                    "plugin {plugin} is not initialised (its init has not succeeded), so {command} cannot run"
                ))
                .with_code(codes::PLUGIN_UNAVAILABLE)
            })?;
                handler(state, ctx, params)
            },
        )
    }
}

/// The common body of the command thunks: params in, panic guard, reply out.
///
/// # Safety
/// As for [`run_command`].
unsafe fn dispatch<P, R>(
    host: *const HostApi,
    request: *const u8,
    request_len: usize,
    reply: *mut OwnedBuf,
    plugin: &'static str,
    command: &'static str,
    handler: impl FnOnce(&Ctx, P) -> Result<R, CommandError>,
) -> u32
where
    P: DeserializeOwned + 'static,
    R: Serialize,
{
    // SAFETY: `host` is the host's table (guaranteed by the caller).
    let ctx = unsafe { Ctx::for_plugin(host, plugin) };
    let outcome = crate::panic::with_plugin(ctx, || {
        catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the caller guarantees `request_len` readable bytes during the call.
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
            let params = match typed::<P>(params) {
                Ok(params) => params,
                Err(err) => {
                    let error = CommandError::invalid_params(format!("invalid params: {err}"));
                    return (status::ERROR, error.to_json().to_string().into_bytes());
                }
            };
            let result = handler(&ctx, params).and_then(|result| {
                serde_json::to_vec(&result).map_err(|err| {
                    CommandError::new(format!(
                        "the result of {command} does not serialise to JSON: {err}"
                    ))
                    .with_code(codes::INTERNAL_ERROR)
                })
            });
            match result {
                Ok(bytes) => (status::OK, bytes),
                Err(error) => (status::ERROR, error.to_json().to_string().into_bytes()),
            }
        }))
    });
    let (code, bytes) = outcome
        .unwrap_or_else(|payload| (status::PANIC, crate::panic::message(payload).into_bytes()));
    // SAFETY: the caller guarantees `reply` is writable.
    unsafe { reply.write(OwnedBuf::from_vec(bytes)) };
    code
}

/// `value` as a `P`, with the path of the first field that does not fit in the error. A
/// `Value` handler (the 1.0 form) gets `value` as it is, without a second pass.
fn typed<P: DeserializeOwned + 'static>(
    value: Value,
) -> Result<P, serde_path_to_error::Error<serde_json::Error>> {
    let mut slot = Some(value);
    if let Some(same) = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<P>>()
        .and_then(Option::take)
    {
        return Ok(same);
    }
    // `P` is not `Value`, so the slot still holds the params.
    serde_path_to_error::deserialize(slot.unwrap_or_default())
}

/// Runs a plugin's init hook for the C ABI; the state it returns is handed to `keep`
/// (which refuses a second init).
///
/// # Safety
/// `host` is the host's table, `config` is valid during the call and `error` is writable.
pub unsafe fn run_init<C, S>(
    host: *const HostApi,
    config: StrRef,
    error: *mut OwnedBuf,
    plugin: &'static str,
    hook: InitHook<C, S>,
    keep: impl FnOnce(S) -> Result<(), String>,
) -> u32
where
    C: DeserializeOwned + 'static,
{
    // SAFETY: `host` is the host's table (guaranteed by the caller).
    let ctx = unsafe { Ctx::for_plugin(host, plugin) };
    let outcome = crate::panic::with_plugin(ctx, || {
        catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: guaranteed by the caller.
            let bytes = unsafe { config.as_bytes() };
            let config = match serde_json::from_slice(bytes) {
                Ok(config) => config,
                Err(err) => {
                    return Err((status::BAD_REQUEST, format!("config is not JSON: {err}")))
                }
            };
            let config = typed::<C>(config)
                .map_err(|err| (status::ERROR, format!("invalid config: {err}")))?;
            let state = hook(&ctx, config).map_err(|message| (status::ERROR, message))?;
            keep(state).map_err(|message| (status::ERROR, message))
        }))
    });
    let (code, message) = match outcome {
        Ok(Ok(())) => return status::OK,
        Ok(Err(failure)) => failure,
        Err(payload) => (status::PANIC, crate::panic::message(payload)),
    };
    // SAFETY: the caller guarantees `error` is writable.
    unsafe { error.write(OwnedBuf::from_vec(message.into_bytes())) };
    code
}

/// Stores the state `init` returned; a second init (which a host never does) is an error.
pub fn keep_state<S>(cell: &'static StateCell<S>, plugin: &str, state: S) -> Result<(), String> {
    cell.set(state)
        .map_err(|_| format!("plugin {plugin} is already initialised"))
}

/// Runs a plugin's shutdown hook for the C ABI.
///
/// # Safety
/// `host` is the host's table and `error` is writable.
pub unsafe fn run_shutdown<O: ShutdownOutcome>(
    host: *const HostApi,
    error: *mut OwnedBuf,
    plugin: &'static str,
    hook: fn(&Ctx) -> O,
) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { shutdown(host, error, plugin, |ctx| hook(ctx).into_result()) }
}

/// Runs the shutdown hook of a plugin with state; nothing to do (OK) when init never
/// succeeded.
///
/// # Safety
/// As for [`run_shutdown`].
pub unsafe fn run_stateful_shutdown<S: Send + Sync + 'static, O: ShutdownOutcome>(
    host: *const HostApi,
    error: *mut OwnedBuf,
    plugin: &'static str,
    state: &'static StateCell<S>,
    hook: fn(&S, &Ctx) -> O,
) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        shutdown(host, error, plugin, |ctx| match state.get() {
            Some(state) => hook(state, ctx).into_result(),
            None => Ok(()),
        })
    }
}

/// The common body of the shutdown thunks.
///
/// # Safety
/// As for [`run_shutdown`].
unsafe fn shutdown(
    host: *const HostApi,
    error: *mut OwnedBuf,
    plugin: &'static str,
    body: impl FnOnce(&Ctx) -> Result<(), String>,
) -> u32 {
    // SAFETY: `host` is the host's table (guaranteed by the caller).
    let ctx = unsafe { Ctx::for_plugin(host, plugin) };
    let outcome = crate::panic::with_plugin(ctx, || catch_unwind(AssertUnwindSafe(|| body(&ctx))));
    let (code, message) = match outcome {
        Ok(Ok(())) => return status::OK,
        Ok(Err(message)) => (status::ERROR, message),
        Err(payload) => (status::PANIC, crate::panic::message(payload)),
    };
    // SAFETY: the caller guarantees `error` is writable.
    unsafe { error.write(OwnedBuf::from_vec(message.into_bytes())) };
    code
}
