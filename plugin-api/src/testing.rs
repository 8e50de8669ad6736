//! A host in a test: [`MockHost`] builds a real [`HostApi`] table (every 1.2 function) and
//! drives a plugin through its real `extern "C"` thunks, so a plugin's unit tests exercise
//! exactly what the labsocket host calls.
//!
//! ```
//! use labsocket_plugin_api::testing::MockHost;
//! use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Value};
//!
//! fn double(ctx: &Ctx, x: i64) -> Result<i64, CommandError> {
//!     ctx.set_point("doubled", json!(0), json!(2 * x)).map_err(|e| CommandError::new(e.0))?;
//!     Ok(2 * x)
//! }
//!
//! plugin! { name: "demo", commands: { "demo.double" => double: "Twice x" } }
//!
//! # fn main() {
//! let mock = MockHost::named("demo");
//! mock.init(&DESCRIPTOR, json!({})).unwrap();
//! assert_eq!(mock.command(&DESCRIPTOR, "demo.double", json!(21)), Ok(json!(42)));
//! assert_eq!(mock.point("doubled").unwrap().y, json!(42));
//! # }
//! ```
//!
//! What the mock does with each host service:
//!
//! - `emit`, `set_point`, `log` are recorded ([`MockHost::events`],
//!   [`MockHost::point_sets`], [`MockHost::logs`]); a set point is also what `get_point`
//!   answers. Nothing is delivered to subscriptions by itself: a test calls
//!   [`MockHost::publish`], which delivers synchronously on the calling thread.
//! - `call` answers from the handlers registered with [`MockHost::on_call`], else
//!   [`METHOD_NOT_FOUND`](crate::codes::METHOD_NOT_FOUND).
//! - Refusals carry the real host's status and reason through `last_error`: an empty topic
//!   or codename, a point that is not `[x, y]`, a subscription without topics.
//! - `plugin_dir` is `<data_dir>/plugins/<name>/` in a temporary directory that the mock
//!   creates and removes when dropped; `stopping` is [`MockHost::set_stopping`].
//! - `attachment` and `attach_reply` (1.2) refuse: the mock has no binary frames, so a
//!   command sees what it sees on a call without them ([`Ctx::with_attachment`] is `None`).
//!
//! The table itself is leaked, as the real host's is: a plugin may keep its [`Ctx`] in a
//! static for the rest of the process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{json, Value};

use crate::abi::{
    status, EventHandler, HostApi, HostCtx, OwnedBuf, PluginDescriptor, StrRef, ABI_MAGIC,
    ABI_VERSION,
};
use crate::codes;
use crate::ctx::{unix_now, Ctx, Level, Point};
use crate::error::CommandError;

/// A handler for [`MockHost::on_call`].
type CallHandler = dyn Fn(Value) -> Result<Value, CommandError> + Send + Sync;

/// An in-process host for a plugin's tests (see the [module docs](self)).
pub struct MockHost {
    shared: &'static Shared,
    api: &'static HostApi,
    /// The temporary data directory, removed on drop.
    root: PathBuf,
    plugin_dir: PathBuf,
}

/// What the table's `ctx` points to.
struct Shared {
    events: Mutex<Vec<(String, Value)>>,
    point_sets: Mutex<Vec<(String, Value, Value)>>,
    points: Mutex<HashMap<String, Point>>,
    logs: Mutex<Vec<(Level, String)>>,
    calls: Mutex<HashMap<String, Arc<CallHandler>>>,
    subscriptions: Mutex<Vec<Arc<Subscription>>>,
    stopping: AtomicBool,
}

/// A plugin's subscription, as the mock keeps it.
struct Subscription {
    topics: Vec<String>,
    handler: EventHandler,
    user_data: *mut c_void,
    drop_user_data: Option<unsafe extern "C" fn(*mut c_void)>,
    /// Events to report as lost with the next delivery ([`MockHost::lose_events`]).
    lost: AtomicU64,
    /// Held while delivering or ending, so the handler never runs concurrently with itself
    /// and `drop_user_data` runs after the last delivery; `true` once ended.
    ended: Mutex<bool>,
}

// SAFETY: `user_data` is only passed back to the plugin's own functions, which the ABI
// allows from any thread, one call at a time (serialised by `ended`).
unsafe impl Send for Subscription {}
// SAFETY: as above; every other field is Sync.
unsafe impl Sync for Subscription {}

thread_local! {
    /// The reason of the last refusal on this thread, for `last_error`.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// Locks `mutex`, also after a test thread panicked while holding it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHost {
    /// A mock host for a plugin named `mock`.
    pub fn new() -> MockHost {
        MockHost::named("mock")
    }

    /// A mock host whose `plugin_dir` is `<data_dir>/plugins/<plugin>/`.
    ///
    /// # Panics
    /// When the temporary directory cannot be created.
    pub fn named(plugin: &str) -> MockHost {
        let root = std::env::temp_dir().join(format!(
            "labsocket-mock-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        let plugin_dir = root.join("plugins").join(plugin);
        if let Err(err) = std::fs::create_dir_all(&plugin_dir) {
            panic!("cannot create {}: {err}", plugin_dir.display());
        }
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            events: Mutex::default(),
            point_sets: Mutex::default(),
            points: Mutex::default(),
            logs: Mutex::default(),
            calls: Mutex::default(),
            subscriptions: Mutex::default(),
            stopping: AtomicBool::new(false),
        }));
        let leak = |path: &Path| -> &'static str {
            Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
        };
        let api: &'static HostApi = Box::leak(Box::new(HostApi {
            struct_size: size_of::<HostApi>() as u32,
            abi_version: StrRef::from_static(ABI_VERSION),
            ctx: (shared as *const Shared).cast::<HostCtx>(),
            emit,
            set_point,
            log,
            data_dir: StrRef::from_static(leak(&root)),
            last_error,
            call,
            get_point,
            subscribe,
            stopping,
            plugin_dir: StrRef::from_static(leak(&plugin_dir)),
            attachment,
            attach_reply,
        }));
        MockHost {
            shared,
            api,
            root,
            plugin_dir,
        }
    }

    /// The table a plugin receives.
    pub fn api(&self) -> &'static HostApi {
        self.api
    }

    /// A context on this host, as a plugin's code gets it.
    pub fn ctx(&self) -> Ctx {
        // SAFETY: the table is leaked, so valid for the rest of the process.
        unsafe { Ctx::from_raw(self.api) }
    }

    /// The temporary data directory.
    pub fn data_dir(&self) -> &Path {
        &self.root
    }

    /// The plugin's directory inside [`MockHost::data_dir`].
    pub fn plugin_dir(&self) -> &Path {
        &self.plugin_dir
    }

    /// Answers the plugin's `ctx.call(method, params)` with `handler(params)`.
    pub fn on_call(
        &self,
        method: &str,
        handler: impl Fn(Value) -> Result<Value, CommandError> + Send + Sync + 'static,
    ) {
        lock(&self.shared.calls).insert(method.to_owned(), Arc::new(handler));
    }

    /// Sets a point as another client would (not recorded in [`MockHost::point_sets`]).
    pub fn put_point(&self, codename: &str, x: Value, y: Value, set_at: f64) {
        lock(&self.shared.points).insert(codename.to_owned(), Point { x, y, set_at });
    }

    /// The latest point of `codename`.
    pub fn point(&self, codename: &str) -> Option<Point> {
        lock(&self.shared.points).get(codename).cloned()
    }

    /// Every `(topic, payload)` the plugin emitted, in order.
    pub fn events(&self) -> Vec<(String, Value)> {
        lock(&self.shared.events).clone()
    }

    /// Every `(codename, x, y)` the plugin set, in order.
    pub fn point_sets(&self) -> Vec<(String, Value, Value)> {
        lock(&self.shared.point_sets).clone()
    }

    /// Every line the plugin logged, in order.
    pub fn logs(&self) -> Vec<(Level, String)> {
        lock(&self.shared.logs).clone()
    }

    /// How many subscriptions are live.
    pub fn subscriptions(&self) -> usize {
        lock(&self.shared.subscriptions).len()
    }

    /// Delivers an event to every live subscription whose topics match (`"*"` matches
    /// all), synchronously on this thread; returns how many it reached.
    /// A [`crate::topics::POINTS`] event also reaches subscriptions naming
    /// [`crate::topics::POINTS_BATCH`], in that topic's form (a batch of one event), as the
    /// host delivers it.
    pub fn publish(&self, topic: &str, payload: Value, time: f64) -> usize {
        let batch = (topic == crate::topics::POINTS).then(|| points_batch(&payload, time));
        let payload = payload.to_string();
        let subscriptions: Vec<Arc<Subscription>> = lock(&self.shared.subscriptions).clone();
        let mut reached = 0;
        for sub in subscriptions {
            let (topic, payload) = if sub
                .topics
                .iter()
                .any(|t| t == topic || t == crate::topics::ALL)
            {
                (topic, payload.as_str())
            } else if let Some(batch) = batch
                .as_deref()
                .filter(|_| sub.topics.iter().any(|t| t == crate::topics::POINTS_BATCH))
            {
                (crate::topics::POINTS_BATCH, batch)
            } else {
                continue;
            };
            let ended = lock(&sub.ended);
            if *ended {
                continue;
            }
            let lost = sub.lost.swap(0, Ordering::SeqCst);
            // SAFETY: the plugin gave handler and user_data together in `subscribe`; the
            // `ended` lock makes this the only call on the subscription, before its drop;
            // the StrRefs borrow locals that outlive the call.
            unsafe {
                (sub.handler)(
                    sub.user_data,
                    StrRef::borrowed(topic),
                    StrRef::borrowed(payload),
                    time,
                    lost,
                )
            };
            reached += 1;
        }
        reached
    }

    /// Makes the next delivery to every live subscription report `n` more lost events, as
    /// the host does for a subscriber that fell behind.
    pub fn lose_events(&self, n: u64) {
        for sub in lock(&self.shared.subscriptions).iter() {
            sub.lost.fetch_add(n, Ordering::SeqCst);
        }
    }

    /// Ends every subscription as a stopping host does: each plugin closure is dropped
    /// (its `drop_user_data` called once). Also done when the mock is dropped.
    pub fn end_subscriptions(&self) {
        let ended: Vec<Arc<Subscription>> = std::mem::take(&mut *lock(&self.shared.subscriptions));
        for sub in ended {
            let mut ended = lock(&sub.ended);
            if std::mem::replace(&mut *ended, true) {
                continue;
            }
            if let Some(drop_user_data) = sub.drop_user_data {
                // SAFETY: the plugin's own drop function for its own user_data, called once
                // (guarded by `ended`) after the last delivery.
                unsafe { drop_user_data(sub.user_data) };
            }
        }
    }

    /// What the plugin's `ctx.is_stopping()` answers.
    pub fn set_stopping(&self, stopping: bool) {
        self.shared.stopping.store(stopping, Ordering::SeqCst);
    }

    /// Runs the plugin's init through its thunk with `config` (the `[plugins.<name>]`
    /// table); `Ok` when the plugin has none.
    ///
    /// `descriptor` must be one that [`crate::plugin!`] generated (its pointers are
    /// followed); see [`MockHost::command`].
    ///
    /// # Panics
    /// When a command's `annotations` are not a JSON object (also checked by
    /// [`MockHost::command`] and [`MockHost::shutdown`]).
    pub fn init(&self, descriptor: &'static PluginDescriptor, config: Value) -> Result<(), String> {
        check_descriptor(descriptor);
        let Some(init) = descriptor.init else {
            return Ok(());
        };
        let config = config.to_string();
        let mut error = OwnedBuf::empty();
        // SAFETY: the table is leaked ('static), the config outlives the call and `error`
        // is a local slot; the descriptor comes from `plugin!`.
        let code = unsafe { init(self.api, StrRef::borrowed(&config), &mut error) };
        let message = take_text(error);
        if code == status::OK {
            Ok(())
        } else {
            Err(format!("init failed (status {code}): {message}"))
        }
    }

    /// Calls command `name` through its thunk with `params`, and reads the reply as the
    /// host does (a panic is [`codes::PLUGIN_PANICKED`], params that are not JSON
    /// [`codes::INVALID_PARAMS`], a command the plugin lacks [`codes::METHOD_NOT_FOUND`]).
    ///
    /// `descriptor` must be one that [`crate::plugin!`] generated: its pointers are
    /// followed as the host follows them (a hand-made descriptor with bad pointers is
    /// undefined behaviour, as it would be in the host).
    pub fn command(
        &self,
        descriptor: &'static PluginDescriptor,
        name: &str,
        params: Value,
    ) -> Result<Value, CommandError> {
        let Some((code, reply)) =
            self.command_bytes(descriptor, name, params.to_string().as_bytes())
        else {
            return Err(CommandError::new(format!(
                "plugin {} has no command {name}",
                text(descriptor.name)
            ))
            .with_code(codes::METHOD_NOT_FOUND));
        };
        let unreadable = |what: &str| {
            CommandError::new(format!("command {name} replied with {what}: {reply}"))
                .with_code(codes::INTERNAL_ERROR)
        };
        match code {
            status::OK => serde_json::from_str(&reply).map_err(|_| unreadable("invalid JSON")),
            status::ERROR => Err(serde_json::from_str(&reply)
                .ok()
                .and_then(|error| CommandError::from_json(&error))
                .unwrap_or_else(|| unreadable("an unreadable error"))),
            status::PANIC => Err(CommandError::new(format!("command {name} {reply}"))
                .with_code(codes::PLUGIN_PANICKED)),
            status::BAD_REQUEST => Err(CommandError::invalid_params(reply)),
            _ => Err(unreadable(&format!("unknown status {code}"))),
        }
    }

    /// Calls command `name` with raw request bytes: `(status, reply text)`.
    ///
    /// # Panics
    /// When the plugin has no command `name`.
    pub fn command_raw(
        &self,
        descriptor: &'static PluginDescriptor,
        name: &str,
        request: &[u8],
    ) -> (u32, String) {
        self.command_bytes(descriptor, name, request)
            .unwrap_or_else(|| panic!("plugin {} has no command {name}", text(descriptor.name)))
    }

    fn command_bytes(
        &self,
        descriptor: &'static PluginDescriptor,
        name: &str,
        request: &[u8],
    ) -> Option<(u32, String)> {
        check_descriptor(descriptor);
        let commands = if descriptor.n_commands == 0 {
            &[][..]
        } else {
            // SAFETY: a `plugin!` descriptor points to `n_commands` static entries.
            unsafe { std::slice::from_raw_parts(descriptor.commands, descriptor.n_commands) }
        };
        let command = commands.iter().find(|command| text(command.name) == name)?;
        let mut reply = OwnedBuf::empty();
        // SAFETY: the table is leaked, the request outlives the call and `reply` is a
        // local slot (the `CommandHandler` contract).
        let code =
            unsafe { (command.handler)(self.api, request.as_ptr(), request.len(), &mut reply) };
        Some((code, take_text(reply)))
    }

    /// Runs the plugin's shutdown through its thunk; `Ok` when the plugin has none.
    pub fn shutdown(&self, descriptor: &'static PluginDescriptor) -> Result<(), String> {
        check_descriptor(descriptor);
        let shutdown_end = offset_of!(PluginDescriptor, shutdown) + size_of::<usize>();
        if (descriptor.struct_size as usize) < shutdown_end {
            return Ok(());
        }
        let Some(shutdown) = descriptor.shutdown else {
            return Ok(());
        };
        let mut error = OwnedBuf::empty();
        // SAFETY: the table is leaked and `error` is a local slot (`ShutdownFn` contract).
        let code = unsafe { shutdown(self.api, &mut error) };
        let message = take_text(error);
        if code == status::OK {
            Ok(())
        } else {
            Err(format!("shutdown failed (status {code}): {message}"))
        }
    }
}

impl Drop for MockHost {
    fn drop(&mut self) {
        self.end_subscriptions();
        // Best effort: a leftover temporary directory is harmless.
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Refuses what is plainly not a labsocket descriptor, and annotations that are not a JSON
/// object (a mistake the compiler cannot see in `plugin!`'s string).
fn check_descriptor(descriptor: &PluginDescriptor) {
    assert_eq!(
        descriptor.magic, ABI_MAGIC,
        "not a labsocket plugin descriptor (wrong magic)"
    );
    let meta_end = offset_of!(PluginDescriptor, command_meta) + size_of::<usize>();
    if (descriptor.struct_size as usize) < meta_end
        || descriptor.command_meta.is_null()
        || descriptor.n_commands == 0
    {
        return;
    }
    // SAFETY: a `plugin!` descriptor has `n_commands` static entries in both tables.
    let (commands, metas) = unsafe {
        (
            std::slice::from_raw_parts(descriptor.commands, descriptor.n_commands),
            std::slice::from_raw_parts(descriptor.command_meta, descriptor.n_commands),
        )
    };
    for (command, meta) in commands.iter().zip(metas) {
        let annotations = text(meta.annotations);
        if annotations.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(&annotations);
        assert!(
            matches!(parsed, Ok(Value::Object(_))),
            "the annotations of command {} are not a JSON object: {annotations}",
            text(command.name)
        );
    }
}

/// A static or call-borrowed StrRef as text.
fn text(value: StrRef) -> String {
    // SAFETY: descriptor strings are statics; call arguments are valid during the call.
    String::from_utf8_lossy(unsafe { value.as_bytes() }).into_owned()
}

/// The text of a plugin-owned buffer, which is then freed with the plugin's `free`.
fn take_text(mut buffer: OwnedBuf) -> String {
    // SAFETY: the thunk wrote the buffer with `OwnedBuf::from_vec` (or left it empty).
    let text = String::from_utf8_lossy(unsafe { buffer.as_slice() }).into_owned();
    // SAFETY: released once, with the fields the thunk wrote.
    unsafe { buffer.release() };
    text
}

/// The mock behind a table's `ctx`.
///
/// # Safety
/// `ctx` must be the pointer [`MockHost::named`] stored in its (leaked) table.
unsafe fn shared(ctx: *const HostCtx) -> &'static Shared {
    // SAFETY: made from a leaked `&'static Shared` (guaranteed by the caller).
    unsafe { &*ctx.cast::<Shared>() }
}

/// Records `reason` for `last_error` and returns `code`.
fn refuse(code: u32, reason: impl Into<String>) -> u32 {
    let reason = reason.into();
    LAST_ERROR.with(|last| *last.borrow_mut() = reason);
    code
}

/// Runs a host function's body; a panic in the mock (never in plugin code) becomes a
/// refusal instead of unwinding into the plugin.
fn guarded(body: impl FnOnce() -> u32) -> u32 {
    LAST_ERROR.with(|last| last.borrow_mut().clear());
    catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|_| refuse(status::REFUSED, "the mock host panicked"))
}

/// A call argument as UTF-8, or a BAD_REQUEST refusal naming it.
fn utf8<'a>(value: StrRef, what: &str) -> Result<&'a str, u32> {
    // SAFETY: the plugin keeps call arguments valid for the duration of the call.
    std::str::from_utf8(unsafe { value.as_bytes() })
        .map_err(|_| refuse(status::BAD_REQUEST, format!("{what} is not UTF-8")))
}

/// A call argument as JSON, or a BAD_REQUEST refusal naming it.
fn parse(value: StrRef, what: &str) -> Result<Value, u32> {
    serde_json::from_str(utf8(value, what)?)
        .map_err(|err| refuse(status::BAD_REQUEST, format!("{what} is not JSON: {err}")))
}

/// Writes a host-owned buffer into `out`.
///
/// # Safety
/// `out` must be writable.
unsafe fn write(out: *mut OwnedBuf, bytes: Vec<u8>) {
    // SAFETY: guaranteed by the caller.
    unsafe { out.write(OwnedBuf::from_vec(bytes)) };
}

unsafe extern "C" fn emit(ctx: *const HostCtx, topic: StrRef, payload_json: StrRef) -> u32 {
    guarded(|| {
        // SAFETY: `ctx` is our own table's.
        let shared = unsafe { shared(ctx) };
        let (topic, payload) = match (utf8(topic, "topic"), parse(payload_json, "payload")) {
            (Ok(topic), Ok(payload)) => (topic, payload),
            (Err(code), _) | (_, Err(code)) => return code,
        };
        if topic.is_empty() {
            return refuse(status::BAD_REQUEST, "topic is empty");
        }
        lock(&shared.events).push((topic.to_owned(), payload));
        status::OK
    })
}

unsafe extern "C" fn set_point(ctx: *const HostCtx, codename: StrRef, point_json: StrRef) -> u32 {
    guarded(|| {
        // SAFETY: `ctx` is our own table's.
        let shared = unsafe { shared(ctx) };
        let (codename, point) = match (utf8(codename, "codename"), parse(point_json, "point")) {
            (Ok(codename), Ok(point)) => (codename, point),
            (Err(code), _) | (_, Err(code)) => return code,
        };
        if codename.is_empty() {
            return refuse(status::BAD_REQUEST, "codename is empty");
        }
        let Value::Array(xy) = point else {
            return refuse(status::BAD_REQUEST, "point must be [x, y]");
        };
        let Ok([x, y]) = <[Value; 2]>::try_from(xy) else {
            return refuse(status::BAD_REQUEST, "point must be [x, y]");
        };
        lock(&shared.point_sets).push((codename.to_owned(), x.clone(), y.clone()));
        let set_at = unix_now();
        lock(&shared.points).insert(codename.to_owned(), Point { x, y, set_at });
        status::OK
    })
}

unsafe extern "C" fn log(ctx: *const HostCtx, level: u32, message: StrRef) {
    guarded(|| {
        // SAFETY: `ctx` is our own table's.
        let shared = unsafe { shared(ctx) };
        lock(&shared.logs).push((Level::from_abi(level), text(message)));
        status::OK
    });
}

unsafe extern "C" fn last_error(_ctx: *const HostCtx, out: *mut OwnedBuf) {
    let reason = LAST_ERROR.with(|last| last.borrow().clone());
    // SAFETY: the plugin passes a writable slot (the `last_error` contract).
    unsafe { write(out, reason.into_bytes()) };
}

unsafe extern "C" fn call(
    ctx: *const HostCtx,
    method: StrRef,
    params_json: StrRef,
    reply: *mut OwnedBuf,
) -> u32 {
    let mut answer = Vec::new();
    let code = guarded(|| {
        // SAFETY: `ctx` is our own table's.
        let shared = unsafe { shared(ctx) };
        let (method, params) = match (utf8(method, "method"), parse(params_json, "params")) {
            (Ok(method), Ok(params)) => (method, params),
            (Err(code), _) | (_, Err(code)) => return code,
        };
        let handler = lock(&shared.calls).get(method).cloned();
        let result = match handler {
            Some(handler) => {
                catch_unwind(AssertUnwindSafe(|| handler(params))).unwrap_or_else(|_| {
                    Err(
                        CommandError::new(format!("the mock's handler for {method} panicked"))
                            .with_code(codes::INTERNAL_ERROR),
                    )
                })
            }
            None => Err(CommandError::new(format!(
                "unknown method '{method}' (the 'commands' method lists them)"
            ))
            .with_code(codes::METHOD_NOT_FOUND)),
        };
        match result {
            Ok(result) => {
                answer = result.to_string().into_bytes();
                status::OK
            }
            Err(error) => {
                answer = error.to_json().to_string().into_bytes();
                status::ERROR
            }
        }
    });
    // SAFETY: the plugin passes a writable slot (the `call` contract).
    unsafe { write(reply, answer) };
    code
}

unsafe extern "C" fn get_point(ctx: *const HostCtx, codename: StrRef, reply: *mut OwnedBuf) -> u32 {
    let mut answer = Vec::new();
    let code = guarded(|| {
        // SAFETY: `ctx` is our own table's.
        let shared = unsafe { shared(ctx) };
        let codename = match utf8(codename, "codename") {
            Ok(codename) => codename,
            Err(code) => return code,
        };
        let point = lock(&shared.points).get(codename).cloned();
        answer = match point {
            Some(point) => json!({"x": point.x, "y": point.y, "set_at": point.set_at}),
            None => Value::Null,
        }
        .to_string()
        .into_bytes();
        status::OK
    });
    // SAFETY: the plugin passes a writable slot (the `get_point` contract).
    unsafe { write(reply, answer) };
    code
}

unsafe extern "C" fn subscribe(
    ctx: *const HostCtx,
    topics_json: StrRef,
    handler: EventHandler,
    user_data: *mut c_void,
    drop_user_data: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
) -> u32 {
    guarded(|| {
        // SAFETY: `ctx` is our own table's.
        let shared = unsafe { shared(ctx) };
        let topics = match parse(topics_json, "topics") {
            Ok(topics) => topics,
            Err(code) => return code,
        };
        let topics = match serde_json::from_value::<Vec<String>>(topics) {
            Ok(topics) => topics,
            Err(err) => {
                return refuse(
                    status::BAD_REQUEST,
                    format!("topics must be a JSON array of strings: {err}"),
                )
            }
        };
        if topics.is_empty() {
            return refuse(
                status::BAD_REQUEST,
                "topics is empty (use [\"*\"] for every topic)",
            );
        }
        if topics.iter().any(String::is_empty) {
            return refuse(status::BAD_REQUEST, "a topic name is empty");
        }
        lock(&shared.subscriptions).push(Arc::new(Subscription {
            topics,
            handler,
            user_data,
            drop_user_data,
            lost: AtomicU64::new(0),
            ended: Mutex::new(false),
        }));
        status::OK
    })
}

unsafe extern "C" fn attachment(
    _ctx: *const HostCtx,
    _ptr: *mut *const u8,
    _len: *mut usize,
) -> u32 {
    guarded(|| refuse(status::REFUSED, "the mock host has no binary attachments"))
}

unsafe extern "C" fn attach_reply(_ctx: *const HostCtx, mut bytes: OwnedBuf) -> u32 {
    // SAFETY: the buffer is the plugin's, handed over with its own `free` (the contract).
    unsafe { bytes.release() };
    guarded(|| refuse(status::REFUSED, "the mock host has no binary replies"))
}

unsafe extern "C" fn stopping(ctx: *const HostCtx) -> u32 {
    // SAFETY: `ctx` is our own table's.
    let shared = unsafe { shared(ctx) };
    u32::from(shared.stopping.load(Ordering::SeqCst))
}

/// A `points` payload in [`crate::topics::POINTS_BATCH`] form (see there):
/// `[[codename, time, x, y], ...]`, an entry that is not `[x, y]` as
/// `[codename, time, value]`, a payload that is not an object as `[null, time, payload]`.
fn points_batch(payload: &Value, time: f64) -> String {
    let entries: Vec<Value> = match payload.as_object() {
        Some(points) => points
            .iter()
            .map(
                |(codename, point)| match point.as_array().map(Vec::as_slice) {
                    Some([x, y]) => serde_json::json!([codename, time, x, y]),
                    _ => serde_json::json!([codename, time, point]),
                },
            )
            .collect(),
        None => vec![serde_json::json!([null, time, payload])],
    };
    Value::Array(entries).to_string()
}
