//! The host side of [`HostApi`]: the `extern "C"` functions plugins call to emit events,
//! set and read points, log, call commands, subscribe to events, learn that the host
//! is stopping, and read and attach the raw bytes of a call ([`with_call_bytes`]).
//!
//! Each plugin gets its own table, leaked on purpose: plugins are never unloaded, and a
//! plugin may keep the table in a static and call it from its own threads until the
//! process ends. Every function copies what it keeps, catches panics (a panic must not
//! unwind into plugin code) and never calls back into a plugin while holding a lock.
//! A function that returns a non-OK status records why in a thread-local, which the
//! plugin reads with `last_error`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use labsocket_plugin_api::abi::{
    log_level, status, EventHandler, HostApi, HostCtx, OwnedBuf, StrRef, ABI_VERSION,
};
use tokio_util::sync::CancellationToken;

use super::payload;
use super::subscription::{self, Subscription, Topics};
use crate::call::CallError;
use crate::events::EventBus;
use crate::points::PointTable;
use crate::pyjson::{self, Value};

/// A running command call, as the late-bound dispatcher returns it.
pub(crate) type CallFuture = Pin<Box<dyn Future<Output = Result<Value, CallError>> + Send>>;

/// Runs a command by name; set by the server once the core exists
/// ([`HostServices::bind_dispatcher`]), so this module needs no dispatcher of its own.
pub(crate) type Caller = Arc<dyn Fn(String, Value) -> CallFuture + Send + Sync>;

/// The host services a plugin reaches through its table; cheap to clone.
#[derive(Clone)]
pub struct HostServices {
    pub bus: EventBus,
    pub points: PointTable,
    pub data_dir: PathBuf,
    lifecycle: Arc<Lifecycle>,
}

/// What changes over the host's life: the dispatcher (bound after init), the stop signal
/// and the running subscriptions.
struct Lifecycle {
    dispatcher: OnceLock<Dispatcher>,
    stop: CancellationToken,
    deliveries: Mutex<Vec<subscription::Delivery>>,
}

struct Dispatcher {
    caller: Caller,
    runtime: tokio::runtime::Handle,
}

impl HostServices {
    pub fn new(bus: EventBus, points: PointTable, data_dir: PathBuf) -> Self {
        Self {
            bus,
            points,
            data_dir,
            lifecycle: Arc::new(Lifecycle {
                dispatcher: OnceLock::new(),
                stop: CancellationToken::new(),
                deliveries: Mutex::default(),
            }),
        }
    }

    /// Lets plugins call commands: `caller` runs one on `runtime`. Called once every
    /// plugin is initialised (before that, `call` refuses); a second call is ignored.
    pub(crate) fn bind_dispatcher(&self, caller: Caller, runtime: tokio::runtime::Handle) {
        let _ = self
            .lifecycle
            .dispatcher
            .set(Dispatcher { caller, runtime });
    }

    /// Whether the host has begun to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.lifecycle.stop.is_cancelled()
    }

    /// Signals `stopping` and ends every subscription: each delivery thread finishes its
    /// current event, delivers what was already queued for it, then drops its user data.
    /// Waits up to `timeout` in all; a delivery thread still busy then is named in the log
    /// and left running (a plugin handler cannot be interrupted). Blocks: call it off the
    /// async workers.
    pub(crate) fn end_subscriptions(&self, timeout: Duration) {
        self.lifecycle.stop.cancel();
        let deliveries = std::mem::take(
            &mut *self
                .lifecycle
                .deliveries
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for delivery in &deliveries {
            delivery.close();
        }
        let deadline = Instant::now() + timeout;
        for delivery in deliveries {
            if !delivery.wait_until(deadline) {
                tracing::warn!(
                    plugin = %delivery.plugin,
                    "an event handler of plugin '{}' did not return within {timeout:?} of the stop; not waiting for it",
                    delivery.plugin
                );
            }
        }
    }
}

/// What a plugin's `ctx` pointer points to.
struct PluginHost {
    plugin: String,
    services: HostServices,
    /// Events this plugin's subscriptions lost (shared with its `PluginInfo`).
    lost_events: Arc<AtomicU64>,
}

/// The directory of `plugin` under `data_dir`.
pub(crate) fn plugin_dir(data_dir: &std::path::Path, plugin: &str) -> PathBuf {
    data_dir.join("plugins").join(plugin)
}

/// Makes the (leaked, `'static`) table for `plugin`.
pub fn table_for(
    plugin: &str,
    services: &HostServices,
    lost_events: Arc<AtomicU64>,
) -> &'static HostApi {
    let host: &'static PluginHost = Box::leak(Box::new(PluginHost {
        plugin: plugin.to_owned(),
        services: services.clone(),
        lost_events,
    }));
    let leak = |path: PathBuf| -> &'static str {
        Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
    };
    let data_dir = leak(services.data_dir.clone());
    let plugin_dir = leak(plugin_dir(&services.data_dir, plugin));
    Box::leak(Box::new(HostApi {
        struct_size: std::mem::size_of::<HostApi>() as u32,
        abi_version: StrRef::from_static(ABI_VERSION),
        ctx: (host as *const PluginHost).cast::<HostCtx>(),
        emit,
        set_point,
        log,
        data_dir: StrRef::from_static(data_dir),
        last_error,
        call,
        get_point,
        subscribe,
        stopping,
        plugin_dir: StrRef::from_static(plugin_dir),
        attachment,
        attach_reply,
    }))
}

thread_local! {
    /// Why the last host function this thread called returned a non-OK status.
    static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Set while a plugin handler runs on the blocking pool, where `call` may block.
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
    /// The raw bytes of the call running on this thread (see [`with_call_bytes`]).
    static CALL_BYTES: RefCell<CallBytes> = const { RefCell::new(CallBytes::NONE) };
}

/// The raw bytes that travel with one call beside its JSON (ABI 1.2): what the caller
/// attached, and what the handler attaches to its reply.
struct CallBytes {
    input: Option<Bytes>,
    accepts_reply: bool,
    reply: Option<PluginBytes>,
}

impl CallBytes {
    const NONE: CallBytes = CallBytes {
        input: None,
        accepts_reply: false,
        reply: None,
    };
}

/// Bytes a plugin attached to its reply, released with the plugin's own `free` when
/// dropped (a dylib has its own allocator).
pub struct PluginBytes(OwnedBuf);

// SAFETY: the buffer is exclusively owned (the plugin handed it over) and its `free` may
// be called from any thread (the `OwnedBuf` contract).
unsafe impl Send for PluginBytes {}
// SAFETY: shared access only reads the bytes.
unsafe impl Sync for PluginBytes {}

impl std::ops::Deref for PluginBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the plugin produced the buffer with `OwnedBuf::from_vec`; it is
        // released only in `drop`.
        unsafe { self.0.as_slice() }
    }
}

impl Drop for PluginBytes {
    fn drop(&mut self) {
        // SAFETY: the fields are exactly what the plugin handed over; released once, here.
        unsafe { self.0.release() };
    }
}

/// Runs `f` (one plugin handler, on this thread) with `input` as the call's attachment,
/// and returns what the handler attached to its reply; a reply attachment is refused
/// unless `accepts_reply`. The previous call's bytes are restored afterwards, so a call
/// nested on the same thread neither sees nor takes its caller's.
pub(crate) fn with_call_bytes<R>(
    input: Option<Bytes>,
    accepts_reply: bool,
    f: impl FnOnce() -> R,
) -> (R, Option<PluginBytes>) {
    struct Restore(Option<CallBytes>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                CALL_BYTES.with(|slot| *slot.borrow_mut() = previous);
            }
        }
    }
    let fresh = CallBytes {
        input,
        accepts_reply,
        reply: None,
    };
    let mut restore = Restore(Some(CALL_BYTES.with(|slot| slot.replace(fresh))));
    let result = f();
    let ours = CALL_BYTES.with(|slot| slot.replace(restore.0.take().unwrap_or(CallBytes::NONE)));
    (result, ours.reply)
}

/// Runs `f` (a plugin handler on a blocking-pool thread) with `call` allowed to block.
pub(crate) fn allowing_blocking_calls<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            MAY_BLOCK.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(MAY_BLOCK.with(|flag| flag.replace(true)));
    f()
}

/// A refused host call: the status to return and the reason `last_error` reports.
struct Refusal(u32, String);

fn refuse<T>(code: u32, reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(code, reason.into()))
}

/// Runs the body of a host function: catches panics and records the outcome for
/// `last_error` (cleared on success, so it always describes the latest call).
fn guarded(body: impl FnOnce() -> Result<u32, Refusal>) -> u32 {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(Refusal(
            status::PANIC,
            format!("the host function panicked: {message}"),
        ))
    });
    let (code, reason) = match outcome {
        Ok(code) => (code, None),
        Err(Refusal(code, reason)) => (code, Some(reason)),
    };
    LAST_ERROR.with(|last| *last.borrow_mut() = reason);
    code
}

/// Recovers the [`PluginHost`] behind a plugin's `ctx` pointer.
///
/// # Safety
/// `ctx` must be the pointer [`table_for`] stored in a table (plugins pass it back as is).
unsafe fn plugin_host<'a>(ctx: *const HostCtx) -> &'a PluginHost {
    // SAFETY: `ctx` was made from a leaked `&'static PluginHost` in `table_for`.
    unsafe { &*ctx.cast::<PluginHost>() }
}

/// Reads a UTF-8 argument, refusing invalid UTF-8 with a reason naming `what`.
///
/// # Safety
/// `text` must be valid for the duration of the current host call.
unsafe fn text<'a>(text: StrRef, what: &str) -> Result<&'a str, Refusal> {
    // SAFETY: the plugin keeps the bytes alive during the call (HostApi contract).
    std::str::from_utf8(unsafe { text.as_bytes() })
        .or_else(|_| refuse(status::BAD_REQUEST, format!("{what} is not UTF-8")))
}

/// Parses a plugin's JSON argument (strict JSON; tagged floats become floats).
fn json_arg(text: &str, what: &str) -> Result<Value, Refusal> {
    pyjson::parse(text)
        .map(payload::from_plugin)
        .or_else(|err| refuse(status::BAD_REQUEST, format!("{what} is not JSON: {err}")))
}

/// Hands `bytes` to the plugin in its `*out` slot (freed by the plugin with our `free`).
///
/// # Safety
/// `out` must be null or point to a writable `OwnedBuf` slot of the plugin.
unsafe fn write_out(out: *mut OwnedBuf, bytes: Vec<u8>) -> Result<(), Refusal> {
    if out.is_null() {
        return refuse(status::BAD_REQUEST, "the reply pointer is null");
    }
    // SAFETY: non-null, and the plugin passed a writable slot (HostApi contract). The
    // slot is overwritten without reading it: it holds no buffer of ours.
    unsafe { out.write(OwnedBuf::from_vec(bytes)) };
    Ok(())
}

/// Empties the plugin's `*out` slot, so it holds a valid (empty) buffer whatever follows.
///
/// # Safety
/// `out` must be null or point to a writable `OwnedBuf` slot of the plugin.
unsafe fn clear_out(out: *mut OwnedBuf) {
    if !out.is_null() {
        // SAFETY: non-null, a writable slot; it holds no buffer of ours yet.
        unsafe { out.write(OwnedBuf::empty()) };
    }
}

unsafe extern "C" fn emit(ctx: *const HostCtx, topic: StrRef, payload_json: StrRef) -> u32 {
    guarded(|| {
        // SAFETY: ctx comes from our own table; the strings are valid during this call.
        let (host, topic, payload) = unsafe {
            (
                plugin_host(ctx),
                text(topic, "topic")?,
                text(payload_json, "payload")?,
            )
        };
        if topic.is_empty() {
            return refuse(status::BAD_REQUEST, "topic is empty");
        }
        let payload = json_arg(payload, "payload")?;
        host.services.bus.publish(topic, payload);
        Ok(status::OK)
    })
}

unsafe extern "C" fn set_point(ctx: *const HostCtx, codename: StrRef, point_json: StrRef) -> u32 {
    guarded(|| {
        // SAFETY: as in `emit`.
        let (host, codename, point) = unsafe {
            (
                plugin_host(ctx),
                text(codename, "codename")?,
                text(point_json, "point")?,
            )
        };
        if codename.is_empty() {
            return refuse(status::BAD_REQUEST, "codename is empty");
        }
        match json_arg(point, "point")? {
            Value::List(mut xy) if xy.len() == 2 => {
                let y = xy.pop().unwrap_or(Value::Null);
                let x = xy.pop().unwrap_or(Value::Null);
                host.services.points.set(codename, x, y, None);
                Ok(status::OK)
            }
            _ => refuse(status::BAD_REQUEST, "point must be [x, y]"),
        }
    })
}

unsafe extern "C" fn log(ctx: *const HostCtx, level: u32, message: StrRef) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `emit`.
        let host = unsafe { plugin_host(ctx) };
        // SAFETY: the message is valid during this call.
        let message =
            unsafe { text(message, "log message") }.unwrap_or("<invalid UTF-8 log message>");
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

unsafe extern "C" fn attachment(_ctx: *const HostCtx, ptr: *mut *const u8, len: *mut usize) -> u32 {
    guarded(|| {
        if ptr.is_null() || len.is_null() {
            return refuse(status::BAD_REQUEST, "the output pointers are null");
        }
        CALL_BYTES.with(|slot| match &slot.borrow().input {
            Some(bytes) => {
                // SAFETY: both pointers are non-null slots of the plugin (the contract);
                // the bytes stay in this thread's slot until the handler returns.
                unsafe {
                    ptr.write(bytes.as_ptr());
                    len.write(bytes.len());
                }
                Ok(status::OK)
            }
            None => refuse(status::REFUSED, "this call has no binary attachment"),
        })
    })
}

unsafe extern "C" fn attach_reply(_ctx: *const HostCtx, bytes: OwnedBuf) -> u32 {
    // Owned from here on: released on every path, also a refusal or a panic.
    let bytes = PluginBytes(bytes);
    guarded(|| {
        CALL_BYTES.with(|slot| {
            let mut call = slot.borrow_mut();
            if !call.accepts_reply {
                return refuse(
                    status::REFUSED,
                    "the caller did not ask for a binary reply (native: \"binary\": true)",
                );
            }
            if call.reply.is_some() {
                return refuse(status::REFUSED, "a binary reply is already attached");
            }
            call.reply = Some(bytes);
            Ok(status::OK)
        })
    })
}

unsafe extern "C" fn last_error(_ctx: *const HostCtx, out: *mut OwnedBuf) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let reason = LAST_ERROR.with(|last| last.borrow().clone());
        if out.is_null() {
            return;
        }
        let buffer = match reason {
            Some(reason) => OwnedBuf::from_vec(reason.into_bytes()),
            None => OwnedBuf::empty(),
        };
        // SAFETY: non-null, a writable slot of the plugin (HostApi contract).
        unsafe { out.write(buffer) };
    }));
}

/// Why `call` refuses on an async worker: waiting there could stall every connection
/// that worker serves, or deadlock if the command needs the same worker.
const ON_ASYNC_WORKER: &str = "cannot call a command from an async worker thread (an 'inline' \
    command handler): the call would block the host; call it from a command that is not \
    inline, or from a thread of the plugin";

unsafe extern "C" fn call(
    ctx: *const HostCtx,
    method: StrRef,
    params_json: StrRef,
    reply: *mut OwnedBuf,
) -> u32 {
    // SAFETY: `reply` is the plugin's slot: it reads an empty buffer after a refusal.
    unsafe { clear_out(reply) };
    guarded(|| {
        // SAFETY: as in `emit`.
        let (host, method, params) = unsafe {
            (
                plugin_host(ctx),
                text(method, "method")?,
                text(params_json, "params")?,
            )
        };
        let params = if params.trim().is_empty() {
            Value::Null
        } else {
            json_arg(params, "params")?
        };
        if tokio::runtime::Handle::try_current().is_ok() && !MAY_BLOCK.with(Cell::get) {
            return refuse(status::REFUSED, ON_ASYNC_WORKER);
        }
        let Some(dispatcher) = host.services.lifecycle.dispatcher.get() else {
            return refuse(
                status::REFUSED,
                "commands can be called once every plugin is initialised",
            );
        };
        let (sender, receiver) = mpsc::sync_channel(1);
        let running = (dispatcher.caller)(method.to_owned(), params);
        dispatcher.runtime.spawn(async move {
            let _ = sender.send(running.await);
        });
        let (code, body) = match receiver.recv() {
            Ok(Ok(result)) => (status::OK, payload::to_plugin(&result)),
            Ok(Err(error)) => (
                status::ERROR,
                serde_json::json!({
                    "code": error.code,
                    "message": error.message,
                    "data": error.data.as_ref().map(payload::to_plugin),
                }),
            ),
            Err(_) => {
                return refuse(
                    status::REFUSED,
                    format!("the host stopped before '{method}' answered"),
                )
            }
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"null".to_vec());
        // SAFETY: `reply` is the plugin's slot for this call.
        unsafe { write_out(reply, bytes) }?;
        Ok(code)
    })
}

unsafe extern "C" fn get_point(ctx: *const HostCtx, codename: StrRef, reply: *mut OwnedBuf) -> u32 {
    // SAFETY: as in `call`.
    unsafe { clear_out(reply) };
    guarded(|| {
        // SAFETY: as in `emit`.
        let (host, codename) = unsafe { (plugin_host(ctx), text(codename, "codename")?) };
        let body = match host.services.points.get(codename) {
            Some(point) => serde_json::json!({
                "x": payload::to_plugin(&point.x),
                "y": payload::to_plugin(&point.y),
                "set_at": point.set_at,
            }),
            None => serde_json::Value::Null,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"null".to_vec());
        // SAFETY: `reply` is the plugin's slot for this call.
        unsafe { write_out(reply, bytes) }?;
        Ok(status::OK)
    })
}

unsafe extern "C" fn subscribe(
    ctx: *const HostCtx,
    topics_json: StrRef,
    handler: EventHandler,
    user_data: *mut core::ffi::c_void,
    drop_user_data: Option<unsafe extern "C" fn(user_data: *mut core::ffi::c_void)>,
) -> u32 {
    guarded(|| {
        // SAFETY: as in `emit`.
        let (host, topics) = unsafe { (plugin_host(ctx), text(topics_json, "topics")?) };
        let topics = Topics::parse(topics).or_else(|reason| refuse(status::BAD_REQUEST, reason))?;
        let lifecycle = &host.services.lifecycle;
        // From here the delivery thread owns the user data and drops it once at its end.
        let subscription = Subscription::new(handler, user_data, drop_user_data);
        // Hold the list while checking `stop`, so `end_subscriptions` (which cancels, then
        // takes the list) either waits for this delivery or this call sees the stop.
        let mut deliveries = lifecycle
            .deliveries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let started = if lifecycle.stop.is_cancelled() {
            Err(("the host is stopping".to_owned(), Some(subscription)))
        } else {
            subscription::start(
                &host.plugin,
                subscription,
                topics,
                &host.services.bus,
                host.lost_events.clone(),
            )
        };
        match started {
            Ok(delivery) => {
                deliveries.push(delivery);
                Ok(status::OK)
            }
            Err((reason, subscription)) => {
                // A refused subscription keeps nothing: the user data stays the plugin's.
                if let Some(subscription) = subscription {
                    subscription.disarm();
                }
                refuse(status::REFUSED, reason)
            }
        }
    })
}

unsafe extern "C" fn stopping(ctx: *const HostCtx) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `emit`.
        let host = unsafe { plugin_host(ctx) };
        u32::from(host.services.stopping())
    }))
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn table() -> (&'static HostApi, HostServices) {
        let bus = EventBus::new();
        let services = HostServices::new(
            bus.clone(),
            PointTable::new(bus),
            std::env::temp_dir().join("labsocket-host-api-tests"),
        );
        let table = table_for("unit", &services, Arc::default());
        (table, services)
    }

    /// What `last_error` says on this thread ("" for none).
    fn reason(api: &HostApi) -> String {
        let mut out = OwnedBuf::empty();
        // SAFETY: our own table; `out` is a local slot.
        unsafe { (api.last_error)(api.ctx, &mut out) };
        let mut buffer = out;
        // SAFETY: written by `last_error` with `OwnedBuf::from_vec`, released once below.
        let text = String::from_utf8(unsafe { buffer.as_slice() }.to_vec()).unwrap();
        // SAFETY: as above.
        unsafe { buffer.release() };
        text
    }

    fn s(text: &str) -> StrRef {
        StrRef::borrowed(text)
    }

    #[test]
    fn refusals_say_why_and_a_success_clears_the_reason() {
        let (api, services) = table();
        let mut events = services.bus.subscribe();
        // SAFETY: our own table; the strings outlive the call.
        let emit = |topic: StrRef, payload: &str| unsafe { (api.emit)(api.ctx, topic, s(payload)) };
        // SAFETY: as above.
        let set_point = |point: &str| unsafe { (api.set_point)(api.ctx, s("a"), s(point)) };
        assert_eq!(emit(s(""), "1"), status::BAD_REQUEST);
        assert_eq!(reason(api), "topic is empty");
        assert_eq!(emit(s("t"), "{nope"), status::BAD_REQUEST);
        assert!(
            reason(api).starts_with("payload is not JSON: "),
            "{}",
            reason(api)
        );
        assert_eq!(set_point("[1]"), status::BAD_REQUEST);
        assert_eq!(reason(api), "point must be [x, y]");
        let bad_utf8 = StrRef {
            ptr: b"\xff".as_ptr(),
            len: 1,
        };
        assert_eq!(emit(bad_utf8, "1"), status::BAD_REQUEST);
        assert_eq!(reason(api), "topic is not UTF-8");
        assert_eq!(emit(s("t"), "[1, {\"$float\": \"NaN\"}]"), status::OK);
        assert_eq!(reason(api), "", "a success clears the reason");
        let event = events.try_recv().unwrap();
        assert!(
            matches!(&event.payload, Value::List(items) if items[1].as_f64().is_some_and(f64::is_nan)),
            "tagged floats arrive as floats"
        );
    }

    #[test]
    fn get_point_answers_the_point_or_null() {
        let (api, services) = table();
        services.points.set(
            "a",
            Value::Float(1.5),
            Value::Float(f64::INFINITY),
            Some(7.0),
        );
        let read = |codename: &str| {
            let mut reply = OwnedBuf::empty();
            // SAFETY: our own table; `reply` is a local slot, released below.
            let code = unsafe { (api.get_point)(api.ctx, s(codename), &mut reply) };
            assert_eq!(code, status::OK);
            // SAFETY: written by the host with `OwnedBuf::from_vec`.
            let json: serde_json::Value =
                serde_json::from_slice(unsafe { reply.as_slice() }).unwrap();
            // SAFETY: released once.
            unsafe { reply.release() };
            json
        };
        assert_eq!(
            read("a"),
            serde_json::json!({"x": 1.5, "y": {"$float": "Infinity"}, "set_at": 7.0})
        );
        assert_eq!(read("b"), serde_json::Value::Null);
    }

    #[test]
    fn call_before_the_dispatcher_is_bound_is_refused() {
        let (api, _services) = table();
        let mut reply = OwnedBuf::empty();
        // SAFETY: our own table; `reply` is a local slot.
        let code = unsafe { (api.call)(api.ctx, s("ping"), s("null"), &mut reply) };
        assert_eq!(code, status::REFUSED);
        assert!(reply.ptr.is_null(), "a refusal leaves the reply empty");
        assert_eq!(
            reason(api),
            "commands can be called once every plugin is initialised"
        );
    }

    static DROPS: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn ignore(
        _user_data: *mut core::ffi::c_void,
        _topic: StrRef,
        _payload: StrRef,
        _time: f64,
        _lost: u64,
    ) {
    }

    unsafe extern "C" fn count_drop(_user_data: *mut core::ffi::c_void) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn subscriptions_end_on_stop_and_a_refused_one_keeps_nothing() {
        let (api, services) = table();
        let subscribe = |topics: &str| {
            // SAFETY: our own table; the handler and drop function ignore the null data.
            unsafe {
                (api.subscribe)(
                    api.ctx,
                    s(topics),
                    ignore,
                    std::ptr::null_mut(),
                    Some(count_drop),
                )
            }
        };
        assert_eq!(subscribe("\"points\""), status::BAD_REQUEST);
        assert!(reason(api).starts_with("topics must be a JSON array of strings"));
        assert_eq!(subscribe("[\"points\"]"), status::OK);
        // SAFETY: our own table.
        assert_eq!(unsafe { (api.stopping)(api.ctx) }, 0);
        services.end_subscriptions(Duration::from_secs(10));
        assert_eq!(DROPS.load(Ordering::SeqCst), 1, "dropped once, at the end");
        // SAFETY: our own table.
        assert_eq!(unsafe { (api.stopping)(api.ctx) }, 1);
        assert_eq!(subscribe("[\"*\"]"), status::REFUSED);
        assert_eq!(reason(api), "the host is stopping");
        assert_eq!(
            DROPS.load(Ordering::SeqCst),
            1,
            "a refused one is not dropped"
        );
    }
}
