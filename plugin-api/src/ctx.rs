//! The safe face of [`HostApi`] that plugin code uses: [`Ctx`].
//!
//! Every method checks the host table's `struct_size` before it touches a field that ABI
//! 1.1 appended, so a (hypothetical) 1.0 table is never read past its end; the host's
//! version rule already refuses a 1.1 plugin in a 1.0 host, so in practice the check only
//! guards against a broken host.

use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::abi::{log_level, status, HostApi, OwnedBuf, StrRef};
use crate::codes;
use crate::error::CommandError;

/// The host, as a plugin sees it: emit events, set and read points, log, call commands,
/// subscribe to events.
///
/// `Ctx` is `Copy + Send + Sync + 'static`: keep it in a static from `init` and use it from
/// any thread, including threads the plugin starts itself.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The host's table; valid for the whole process (the host never frees it). A raw
    /// pointer rather than a reference because a table may be shorter than this crate's
    /// [`HostApi`] (an older host): fields are read one by one after a `struct_size` check.
    api: *const HostApi,
    /// The plugin's name when the context came from a generated thunk ("" otherwise); it
    /// names the plugin in panic log lines.
    plugin: &'static str,
}

// SAFETY: the table is immutable and every host function may be called from any thread
// (the `HostApi` contract); `plugin` is a static string.
unsafe impl Send for Ctx {}
// SAFETY: as above.
unsafe impl Sync for Ctx {}

/// A host function refused a call; the text says which and why, e.g.
/// `host refused emit: topic is empty`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

/// Log severity for [`Ctx::log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Level {
    /// The ABI's number for this level ([`log_level`]).
    pub fn to_abi(self) -> u32 {
        match self {
            Level::Error => log_level::ERROR,
            Level::Warn => log_level::WARN,
            Level::Info => log_level::INFO,
            Level::Debug => log_level::DEBUG,
            Level::Trace => log_level::TRACE,
        }
    }

    /// The level of an ABI number; an unknown (future) number reads as `Trace`.
    pub fn from_abi(level: u32) -> Level {
        match level {
            log_level::ERROR => Level::Error,
            log_level::WARN => Level::Warn,
            log_level::INFO => Level::Info,
            log_level::DEBUG => Level::Debug,
            _ => Level::Trace,
        }
    }
}

/// The latest point of a codename, as [`Ctx::get_point`] reads it. `x` and `y` keep their
/// JSON types; a non-finite float arrives as the tag of [`crate::float`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: Value,
    pub y: Value,
    /// When the point was set, in Unix seconds (the client's timestamp when it gave one).
    pub set_at: f64,
}

/// One event of a subscription (see [`Ctx::subscribe`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub topic: String,
    /// The payload as JSON. Non-finite floats stay the tags of [`crate::float`]
    /// (`{"$float": "NaN"}`); read them with [`crate::as_float`].
    pub payload: Value,
    /// When the event happened, in Unix seconds (for [`crate::topics::POINTS`], the
    /// points' set time).
    pub time: f64,
    /// How many events this subscription lost (it fell behind) since the previous event.
    pub lost: u64,
}

/// One event of a [`Ctx::subscribe_raw`] subscription: the payload as the host sent it,
/// for a handler that parses it into its own types (no [`Value`] tree per event).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawEvent<'a> {
    pub topic: &'a str,
    /// The payload's JSON text; non-finite floats are the tags of [`crate::float`].
    pub payload: &'a [u8],
    /// As [`Event::time`].
    pub time: f64,
    /// As [`Event::lost`].
    pub lost: u64,
}

/// Whether a host table of `struct_size` bytes contains the field ending at `end`.
fn covers(struct_size: u32, end: usize) -> bool {
    struct_size as usize >= end
}

/// The end offset of a `HostApi` field, for the `struct_size` check (function pointers
/// are `usize`-sized).
macro_rules! field_end {
    ($field:ident, $ty:ty) => {
        offset_of!(HostApi, $field) + size_of::<$ty>()
    };
}

impl Ctx {
    /// Wraps the host's table.
    ///
    /// # Safety
    /// `api` must be the non-null pointer the host passed to a handler or init function;
    /// the host keeps it valid for the rest of the process.
    pub unsafe fn from_raw(api: *const HostApi) -> Ctx {
        Ctx { api, plugin: "" }
    }

    /// Wraps the host's table for the named plugin (what the generated thunks use).
    ///
    /// # Safety
    /// As for [`Ctx::from_raw`].
    pub(crate) unsafe fn for_plugin(api: *const HostApi, plugin: &'static str) -> Ctx {
        Ctx { api, plugin }
    }

    /// The plugin's name, "" when unknown (a context made with [`Ctx::from_raw`]).
    pub(crate) fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// The table's `struct_size`.
    fn struct_size(&self) -> u32 {
        // SAFETY: `struct_size` is the first field of every version of the table, and the
        // table is valid for the process (contract of `from_raw`).
        unsafe { (*self.api).struct_size }
    }

    /// An error for a 1.1 service that this host's table does not have.
    fn too_old(&self, what: &str) -> HostError {
        HostError(format!(
            "host refused {what}: the host's plugin API is older than 1.1 (its table has {} bytes)",
            self.struct_size()
        ))
    }

    /// Publishes `payload` under `topic` to every subscriber (native `event` notifications,
    /// the front ends that translate topics such as `data_changed`, other plugins'
    /// subscriptions).
    pub fn emit(&self, topic: &str, payload: &Value) -> Result<(), HostError> {
        let json = payload.to_string();
        // SAFETY: the table is valid for the process and `emit` is a 1.0 field; both StrRefs
        // borrow locals that outlive the call, and the host copies what it keeps.
        let code = unsafe {
            ((*self.api).emit)(
                (*self.api).ctx,
                StrRef::borrowed(topic),
                StrRef::borrowed(&json),
            )
        };
        self.check(code, "emit")
    }

    /// Sets the latest point of `codename` to `(x, y)`. The JSON type of `y` is kept all the
    /// way to the wire (`1` stays an int, `1.0` a float).
    pub fn set_point(&self, codename: &str, x: Value, y: Value) -> Result<(), HostError> {
        let json = Value::Array(vec![x, y]).to_string();
        // SAFETY: as in `emit`.
        let code = unsafe {
            ((*self.api).set_point)(
                (*self.api).ctx,
                StrRef::borrowed(codename),
                StrRef::borrowed(&json),
            )
        };
        self.check(code, "set_point")
    }

    /// Sets the point of `codename` to `(now, y)`, `now` being the Unix time in seconds.
    pub fn set_point_now(&self, codename: &str, y: Value) -> Result<(), HostError> {
        self.set_point(codename, Value::from(unix_now()), y)
    }

    /// Writes `message` to the host's log, tagged with this plugin's name.
    pub fn log(&self, level: Level, message: &str) {
        // SAFETY: as in `emit`.
        unsafe { ((*self.api).log)((*self.api).ctx, level.to_abi(), StrRef::borrowed(message)) };
    }

    /// The host's data directory. Prefer [`Ctx::plugin_dir`] for the plugin's own files.
    pub fn data_dir(&self) -> &'static Path {
        // SAFETY: a 1.0 field; the host's string lives as long as the table, i.e. forever.
        let bytes = unsafe { (*self.api).data_dir.as_bytes() };
        Path::new(std::str::from_utf8(bytes).unwrap_or("."))
    }

    /// (1.1) This plugin's own directory, `<data_dir>/plugins/<name>/`, which the host
    /// creates before `init`. On a host older than 1.1 this is [`Ctx::data_dir`].
    pub fn plugin_dir(&self) -> &'static Path {
        if !covers(self.struct_size(), field_end!(plugin_dir, StrRef)) {
            return self.data_dir();
        }
        // SAFETY: `struct_size` covers the field; the string lives as long as the table.
        let bytes = unsafe { (*self.api).plugin_dir.as_bytes() };
        Path::new(std::str::from_utf8(bytes).unwrap_or("."))
    }

    /// (1.1) Whether the host has begun to stop: a plugin's own threads should finish their
    /// work and return. Always `false` on a host older than 1.1.
    pub fn is_stopping(&self) -> bool {
        if !covers(self.struct_size(), field_end!(stopping, usize)) {
            return false;
        }
        // SAFETY: `struct_size` covers the field; the function may be called from any thread.
        unsafe { ((*self.api).stopping)((*self.api).ctx) != 0 }
    }

    /// (1.2) Runs `read` on the raw bytes attached to the command call running on this
    /// thread (a native client's binary frame, `{"$binary": N}` in the params), and
    /// returns its result; `None` when the call has no bytes or the host is older than
    /// 1.2. The bytes are borrowed from the host only while `read` runs.
    pub fn with_attachment<R>(&self, read: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if !covers(self.struct_size(), field_end!(attachment, usize)) {
            return None;
        }
        let (mut ptr, mut len) = (std::ptr::null(), 0usize);
        // SAFETY: `struct_size` covers the field; `ptr` and `len` are local slots.
        let code = unsafe { ((*self.api).attachment)((*self.api).ctx, &mut ptr, &mut len) };
        if code != status::OK || ptr.is_null() {
            return None;
        }
        // SAFETY: the host keeps the call's bytes alive until the handler returns, and
        // `read` runs (and its borrow ends) before this handler can return.
        Some(read(unsafe { std::slice::from_raw_parts(ptr, len) }))
    }

    /// (1.2) Sends `bytes` after the reply of the command call running on this thread
    /// (the reply's JSON says where they belong, e.g. `{"$binary": N}`). Refused when the
    /// caller did not ask for a binary reply, bytes are already attached, or the host is
    /// older than 1.2: the command should then answer in JSON (base64).
    pub fn attach_reply(&self, bytes: Vec<u8>) -> Result<(), HostError> {
        if !covers(self.struct_size(), field_end!(attach_reply, usize)) {
            return Err(HostError(format!(
                "host refused attach_reply: the host's plugin API is older than 1.2 (its table has {} bytes)",
                self.struct_size()
            )));
        }
        // SAFETY: `struct_size` covers the field; the host takes the buffer over and frees
        // it with this crate copy's `free`, whatever it answers.
        let code =
            unsafe { ((*self.api).attach_reply)((*self.api).ctx, OwnedBuf::from_vec(bytes)) };
        self.check(code, "attach_reply")
    }

    /// (1.1) Calls a command (a core command or any plugin's) and waits for its answer.
    ///
    /// The host's error reply comes back as the [`CommandError`] it is (same code,
    /// message and data); a refused call (the host cannot run it from here) is an
    /// [`codes::INTERNAL_ERROR`] whose message says why. Non-finite floats in the result
    /// arrive as the tags of [`crate::float`].
    ///
    /// It blocks the calling thread: call it from a command that is not `inline` or from
    /// the plugin's own threads. The host refuses it from an `inline` command (its async
    /// workers must not block) and until every plugin is initialised (so not from `init`).
    pub fn call(&self, method: &str, params: &Value) -> Result<Value, CommandError> {
        if !covers(self.struct_size(), field_end!(call, usize)) {
            return Err(CommandError::new(self.too_old("call").0).with_code(codes::INTERNAL_ERROR));
        }
        let params = params.to_string();
        let mut reply = OwnedBuf::empty();
        // SAFETY: `struct_size` covers the field; the StrRefs borrow locals that outlive the
        // call and `reply` is a local slot the host writes a host-owned buffer into.
        let code = unsafe {
            ((*self.api).call)(
                (*self.api).ctx,
                StrRef::borrowed(method),
                StrRef::borrowed(&params),
                &mut reply,
            )
        };
        let reply = HostBuf(reply);
        let bytes = reply.bytes();
        match code {
            status::OK => serde_json::from_slice(bytes).map_err(|err| {
                CommandError::new(format!("{method} replied with invalid JSON: {err}"))
                    .with_code(codes::INTERNAL_ERROR)
            }),
            status::ERROR => Err(serde_json::from_slice(bytes)
                .ok()
                .and_then(|error| CommandError::from_json(&error))
                .unwrap_or_else(|| {
                    CommandError::new(format!(
                        "{method} failed with an unreadable error: {}",
                        String::from_utf8_lossy(bytes)
                    ))
                    .with_code(codes::INTERNAL_ERROR)
                })),
            other => Err(
                CommandError::new(self.refusal(other, &format!("call of {method}")).0)
                    .with_code(codes::INTERNAL_ERROR),
            ),
        }
    }

    /// (1.1) [`Ctx::call`] with typed params and result. Params that do not serialise and a
    /// result that does not fit `R` are [`codes::INTERNAL_ERROR`]s naming the method (and
    /// the field path of the misfit).
    pub fn call_as<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, CommandError> {
        let params = serde_json::to_value(params).map_err(|err| {
            CommandError::new(format!("params of {method} do not serialise: {err}"))
                .with_code(codes::INTERNAL_ERROR)
        })?;
        let result = self.call(method, &params)?;
        serde_path_to_error::deserialize(result).map_err(|err| {
            CommandError::new(format!("result of {method} does not fit: {err}"))
                .with_code(codes::INTERNAL_ERROR)
        })
    }

    /// (1.1) The latest point of `codename`, `None` when it has none.
    pub fn get_point(&self, codename: &str) -> Result<Option<Point>, HostError> {
        if !covers(self.struct_size(), field_end!(get_point, usize)) {
            return Err(self.too_old("get_point"));
        }
        let mut reply = OwnedBuf::empty();
        // SAFETY: `struct_size` covers the field; the StrRef borrows `codename` for the
        // call and `reply` is a local slot.
        let code = unsafe {
            ((*self.api).get_point)((*self.api).ctx, StrRef::borrowed(codename), &mut reply)
        };
        let reply = HostBuf(reply);
        if code != status::OK {
            return Err(self.refusal(code, "get_point"));
        }
        serde_json::from_slice(reply.bytes()).map_err(|err| {
            HostError(format!(
                "host answered get_point of {codename} with an unreadable point: {err}"
            ))
        })
    }

    /// (1.1) Calls `handler` with every event published under one of `topics`
    /// ([`crate::topics::ALL`] for every topic), in publication order, on a thread of the
    /// host's (one per subscription, so the handler never runs concurrently with itself),
    /// until the host stops.
    ///
    /// When the subscription ends the host drops `handler`: a plugin may rely on that to
    /// learn that no more events come (e.g. a channel `Sender` inside it disconnects). A
    /// panic in `handler` is logged through the host log and the subscription goes on.
    /// A handler that is slower than the events loses the oldest ones; the next
    /// [`Event::lost`] says how many.
    pub fn subscribe<F>(&self, topics: &[&str], handler: F) -> Result<(), HostError>
    where
        F: FnMut(Event) + Send + 'static,
    {
        // SAFETY: `deliver::<F>` is the handler for a box of `Subscriber<F>`.
        unsafe { self.subscribe_with(topics, handler, deliver::<F>) }
    }

    /// (1.1) As [`Ctx::subscribe`], but `handler` gets the payload's JSON text rather than a
    /// parsed [`Value`]: for a subscriber of many events (e.g. every point, through
    /// [`crate::topics::POINTS_BATCH`]) that reads them into its own types in one pass.
    pub fn subscribe_raw<F>(&self, topics: &[&str], handler: F) -> Result<(), HostError>
    where
        F: FnMut(RawEvent<'_>) + Send + 'static,
    {
        // SAFETY: `deliver_raw::<F>` is the handler for a box of `Subscriber<F>`.
        unsafe { self.subscribe_with(topics, handler, deliver_raw::<F>) }
    }

    /// Registers `handler` behind `deliver`.
    ///
    /// # Safety
    /// `deliver` must treat its `user_data` as a `Subscriber<F>` box (as `deliver::<F>` and
    /// `deliver_raw::<F>` do).
    unsafe fn subscribe_with<F: Send + 'static>(
        &self,
        topics: &[&str],
        handler: F,
        deliver: crate::abi::EventHandler,
    ) -> Result<(), HostError> {
        if !covers(self.struct_size(), field_end!(subscribe, usize)) {
            return Err(self.too_old("subscribe"));
        }
        let topics = serde_json::to_string(topics).unwrap_or_else(|_| "[]".to_owned());
        let user_data = Box::into_raw(Box::new(Subscriber {
            ctx: *self,
            handler,
        }))
        .cast();
        // SAFETY: `struct_size` covers the field; `topics` outlives the call; `user_data` is
        // a live box that `deliver` (this function's contract) and `drop_subscriber::<F>`
        // know the type of.
        let code = unsafe {
            ((*self.api).subscribe)(
                (*self.api).ctx,
                StrRef::borrowed(&topics),
                deliver,
                user_data,
                Some(drop_subscriber::<F>),
            )
        };
        if code == status::OK {
            return Ok(());
        }
        // The host kept nothing on refusal (the `subscribe` contract), so the box is ours.
        // SAFETY: made by `Box::into_raw` above and never handed out.
        drop(unsafe { Box::from_raw(user_data.cast::<Subscriber<F>>()) });
        Err(self.refusal(code, "subscribe"))
    }

    /// `Ok` for [`status::OK`], else the host's reason.
    fn check(&self, code: u32, what: &str) -> Result<(), HostError> {
        if code == status::OK {
            Ok(())
        } else {
            Err(self.refusal(code, what))
        }
    }

    /// A [`HostError`] for a non-OK `code` of `what`, with the host's reason when it gives
    /// one (1.1 `last_error`).
    fn refusal(&self, code: u32, what: &str) -> HostError {
        match self.last_error() {
            Some(reason) => HostError(format!("host refused {what}: {reason}")),
            None => HostError(format!("host refused {what} (status {code})")),
        }
    }

    /// The host's reason for the last refusal on this thread, if it has the service and
    /// gives one.
    fn last_error(&self) -> Option<String> {
        if !covers(self.struct_size(), field_end!(last_error, usize)) {
            return None;
        }
        let mut out = OwnedBuf::empty();
        // SAFETY: `struct_size` covers the field; `out` is a local slot.
        unsafe { ((*self.api).last_error)((*self.api).ctx, &mut out) };
        let reason = String::from_utf8_lossy(HostBuf(out).bytes()).into_owned();
        (!reason.is_empty()).then_some(reason)
    }
}

/// A host-owned buffer, released with the host's `free` when dropped.
struct HostBuf(OwnedBuf);

impl HostBuf {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the host wrote the buffer with its own `OwnedBuf::from_vec` (or left it
        // empty) and it is released only in `drop`.
        unsafe { self.0.as_slice() }
    }
}

impl Drop for HostBuf {
    fn drop(&mut self) {
        // SAFETY: the fields are exactly what the host wrote; `release` frees once.
        unsafe { self.0.release() };
    }
}

/// What a subscription's `user_data` points to.
struct Subscriber<F> {
    ctx: Ctx,
    handler: F,
}

/// The [`crate::abi::EventHandler`] of a subscription whose closure is `F`.
///
/// # Safety
/// `user_data` must be the `Subscriber<F>` box made by [`Ctx::subscribe`], not yet
/// dropped, and not used by another call at the same time (the host never runs a
/// subscription's handler concurrently with itself); the StrRefs are valid for the call.
unsafe extern "C" fn deliver<F: FnMut(Event) + Send + 'static>(
    user_data: *mut c_void,
    topic: StrRef,
    payload_json: StrRef,
    time: f64,
    lost: u64,
) {
    // SAFETY: guaranteed by the caller (see above): exclusive access to a live box.
    let subscriber = unsafe { &mut *user_data.cast::<Subscriber<F>>() };
    let ctx = subscriber.ctx;
    // SAFETY: the StrRefs are valid for the duration of this call.
    let (topic, payload) = unsafe { (topic.as_bytes(), payload_json.as_bytes()) };
    let topic = String::from_utf8_lossy(topic).into_owned();
    let payload = match serde_json::from_slice(payload) {
        Ok(payload) => payload,
        Err(err) => {
            ctx.log(
                Level::Warn,
                &format!("dropped an event on {topic}: its payload is not JSON: {err}"),
            );
            return;
        }
    };
    let event = Event {
        topic,
        payload,
        time,
        lost,
    };
    guarded(ctx, || (subscriber.handler)(event));
}

/// Runs a subscriber's handler: the panic hook (crate::panic) logs a panic in it as one
/// line through the host log; catching it keeps it from unwinding into the host (which
/// would abort).
fn guarded(ctx: Ctx, handler: impl FnOnce()) {
    let outcome = crate::panic::with_plugin(ctx, || catch_unwind(AssertUnwindSafe(handler)));
    if let Err(payload) = outcome {
        crate::panic::drop_payload(payload);
    }
}

/// The [`crate::abi::EventHandler`] of a [`Ctx::subscribe_raw`] subscription whose closure
/// is `F`.
///
/// # Safety
/// As [`deliver`].
unsafe extern "C" fn deliver_raw<F: FnMut(RawEvent<'_>) + Send + 'static>(
    user_data: *mut c_void,
    topic: StrRef,
    payload_json: StrRef,
    time: f64,
    lost: u64,
) {
    // SAFETY: guaranteed by the caller (see `deliver`): exclusive access to a live box.
    let subscriber = unsafe { &mut *user_data.cast::<Subscriber<F>>() };
    let ctx = subscriber.ctx;
    // SAFETY: the StrRefs are valid for the duration of this call.
    let (topic, payload) = unsafe { (topic.as_bytes(), payload_json.as_bytes()) };
    let Ok(topic) = std::str::from_utf8(topic) else {
        ctx.log(Level::Warn, "dropped an event: its topic is not UTF-8");
        return;
    };
    let event = RawEvent {
        topic,
        payload,
        time,
        lost,
    };
    guarded(ctx, || (subscriber.handler)(event));
}

/// The `drop_user_data` of a subscription whose closure is `F`.
///
/// # Safety
/// `user_data` must be the `Subscriber<F>` box made by [`Ctx::subscribe`]; the host calls
/// this once, after the last `deliver`.
unsafe extern "C" fn drop_subscriber<F: Send + 'static>(user_data: *mut c_void) {
    // SAFETY: guaranteed by the caller: the box is live and this is the only release.
    let subscriber = unsafe { Box::from_raw(user_data.cast::<Subscriber<F>>()) };
    let ctx = subscriber.ctx;
    // Dropping runs the closure's destructors (plugin code), which may panic.
    let outcome =
        crate::panic::with_plugin(ctx, || catch_unwind(AssertUnwindSafe(|| drop(subscriber))));
    if let Err(payload) = outcome {
        crate::panic::drop_payload(payload);
    }
}

/// Seconds since the Unix epoch as a float, the x value PyExpLabSys uses for "now".
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
