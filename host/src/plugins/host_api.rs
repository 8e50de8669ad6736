//! The host side of [`HostApi`]: the `extern "C"` functions plugins call to emit events,
//! set points and log.
//!
//! Each plugin gets its own table, leaked on purpose: plugins are never unloaded, and a
//! plugin may keep the table in a static and call it from its own threads until the
//! process ends. Every function copies what it keeps, never calls back into a plugin,
//! and catches panics, because a panic must not unwind into plugin code.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use labsocket_plugin_api::abi::{log_level, status, HostApi, HostCtx, StrRef, ABI_VERSION};

use super::payload;
use crate::events::EventBus;
use crate::points::PointTable;
use crate::pyjson::{self, Value};

/// The host services a plugin reaches through its table.
#[derive(Clone)]
pub struct HostServices {
    pub bus: EventBus,
    pub points: PointTable,
    pub data_dir: PathBuf,
}

/// What a plugin's `ctx` pointer points to.
struct PluginHost {
    plugin: String,
    services: HostServices,
}

/// Makes the (leaked, `'static`) table for `plugin`.
pub fn table_for(plugin: &str, services: &HostServices) -> &'static HostApi {
    let host: &'static PluginHost = Box::leak(Box::new(PluginHost {
        plugin: plugin.to_owned(),
        services: services.clone(),
    }));
    let data_dir: &'static str = Box::leak(
        services
            .data_dir
            .to_string_lossy()
            .into_owned()
            .into_boxed_str(),
    );
    Box::leak(Box::new(HostApi {
        struct_size: std::mem::size_of::<HostApi>() as u32,
        abi_version: StrRef::from_static(ABI_VERSION),
        ctx: (host as *const PluginHost).cast::<HostCtx>(),
        emit,
        set_point,
        log,
        data_dir: StrRef::from_static(data_dir),
    }))
}

/// Recovers the [`PluginHost`] behind a plugin's `ctx` pointer.
///
/// # Safety
/// `ctx` must be the pointer [`table_for`] stored in a table (plugins pass it back as is).
unsafe fn plugin_host<'a>(ctx: *const HostCtx) -> &'a PluginHost {
    // SAFETY: `ctx` was made from a leaked `&'static PluginHost` in `table_for`.
    unsafe { &*ctx.cast::<PluginHost>() }
}

/// Reads a UTF-8 argument, or `None` if the plugin passed invalid UTF-8.
///
/// # Safety
/// `text` must be valid for the duration of the current host call.
unsafe fn text<'a>(text: StrRef) -> Option<&'a str> {
    // SAFETY: the plugin keeps the bytes alive during the call (HostApi contract).
    std::str::from_utf8(unsafe { text.as_bytes() }).ok()
}

unsafe extern "C" fn emit(ctx: *const HostCtx, topic: StrRef, payload_json: StrRef) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: ctx comes from our own table; the strings are valid during this call.
        let (host, topic, payload) = unsafe { (plugin_host(ctx), text(topic), text(payload_json)) };
        let (Some(topic), Some(payload)) = (topic, payload) else {
            return status::BAD_REQUEST;
        };
        match pyjson::parse(payload) {
            Ok(payload) if !topic.is_empty() => {
                host.services
                    .bus
                    .publish(topic, payload::from_plugin(payload));
                status::OK
            }
            _ => status::BAD_REQUEST,
        }
    }))
    .unwrap_or(status::PANIC)
}

unsafe extern "C" fn set_point(ctx: *const HostCtx, codename: StrRef, point_json: StrRef) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `emit`.
        let (host, codename, point) =
            unsafe { (plugin_host(ctx), text(codename), text(point_json)) };
        let (Some(codename), Some(point)) = (codename, point) else {
            return status::BAD_REQUEST;
        };
        match pyjson::parse(point).map(payload::from_plugin) {
            Ok(Value::List(mut xy)) if xy.len() == 2 => {
                let y = xy.pop().unwrap_or(Value::Null);
                let x = xy.pop().unwrap_or(Value::Null);
                host.services.points.set(codename, x, y, None);
                status::OK
            }
            _ => status::BAD_REQUEST,
        }
    }))
    .unwrap_or(status::PANIC)
}

unsafe extern "C" fn log(ctx: *const HostCtx, level: u32, message: StrRef) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `emit`.
        let (host, message) = unsafe { (plugin_host(ctx), text(message)) };
        let message = message.unwrap_or("<invalid UTF-8 log message>");
        let plugin = host.plugin.as_str();
        match level {
            log_level::ERROR => tracing::error!(plugin, "{message}"),
            log_level::WARN => tracing::warn!(plugin, "{message}"),
            log_level::INFO => tracing::info!(plugin, "{message}"),
            log_level::DEBUG => tracing::debug!(plugin, "{message}"),
            _ => tracing::trace!(plugin, "{message}"),
        }
    }));
}
