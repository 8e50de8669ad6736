//! The C ABI: the only types that cross between the host and a plugin.
//!
//! Rust has no stable ABI, so a dynamic-library plugin and the host may disagree on the
//! layout of anything that is not `#[repr(C)]`. Everything here is `#[repr(C)]` data or an
//! `extern "C"` function pointer; payloads are JSON bytes. The layout of every type is
//! pinned by `tests/abi_layout.rs`: changing a layout without bumping [`ABI_VERSION`]'s
//! major fails that test.
//!
//! Memory rule: whoever allocates a buffer frees it. A plugin hands the host an
//! [`OwnedBuf`] together with the plugin's own `free` function, because a cdylib carries its
//! own allocator. Borrowed data ([`StrRef`], request bytes) is only valid during the call.
//!
//! Versions: 1.0.0 is the first layout. 1.1.0 appends fields to [`PluginDescriptor`] and
//! [`HostApi`] (both carry `struct_size`, so each side reads an appended field only when
//! the other side's `struct_size` says it is there), adds [`COMMAND_FLAG_READ_ONLY`], and
//! adds [`CommandMeta`], a table parallel to the command table (never a field appended to
//! [`CommandDesc`]: a 1.0 plugin's command array has the 1.0 stride). 1.2.0 appends
//! [`HostApi::attachment`] and [`HostApi::attach_reply`]: raw bytes that travel with a
//! call and its reply beside the JSON (a native client's binary frames), so a large value
//! crosses the boundary once, not as base64 inside JSON.

/// The version of this ABI. A plugin records the version it was built against; the host
/// accepts it when the major matches and the host's minor is at least the plugin's.
///
/// Bump the major on any change to a layout below, the minor when appending a field
/// behind a `struct_size` check or adding a flag.
pub const ABI_VERSION: &str = "1.2.0";

/// First field of every [`PluginDescriptor`]; anything else is not a labsocket plugin.
pub const ABI_MAGIC: u64 = u64::from_le_bytes(*b"LABSOCK1");

/// The symbol a dynamic-library plugin exports (see [`crate::export_dylib!`]). The ABI
/// major is part of the name, so a host of another major reports "not a plugin for this
/// host" instead of reading a descriptor of an unknown layout.
pub const DESCRIPTOR_SYMBOL: &str = "labsocket_plugin_descriptor_v1";

/// Status codes returned by handlers and init functions. They travel as `u32`, not as a
/// Rust enum, so an unknown value from a newer plugin is an error, never undefined behaviour.
pub mod status {
    /// Success; the reply buffer holds the result as JSON.
    pub const OK: u32 = 0;
    /// The command failed; the reply buffer holds `{"code","message","data"}` JSON.
    pub const ERROR: u32 = 1;
    /// The command panicked; the reply buffer holds the panic message as UTF-8 text.
    pub const PANIC: u32 = 2;
    /// The request bytes were not valid JSON; the reply buffer holds a message.
    pub const BAD_REQUEST: u32 = 3;
    /// (1.1) A host function refused the call; [`super::HostApi::last_error`] says why.
    pub const REFUSED: u32 = 4;
}

/// Log levels for [`HostApi::log`], most severe first.
pub mod log_level {
    pub const ERROR: u32 = 1;
    pub const WARN: u32 = 2;
    pub const INFO: u32 = 3;
    pub const DEBUG: u32 = 4;
    pub const TRACE: u32 = 5;
}

/// Command flag: the handler is quick and never blocks, so the host may call it directly on
/// its async worker instead of the blocking pool (saves a thread hop per call).
pub const COMMAND_FLAG_INLINE: u32 = 1;

/// (1.1) Command flag: the command only reads (state, points, history). A token with the
/// `read` role may call it; every other plugin command needs `write`. A 1.0 host ignores it.
pub const COMMAND_FLAG_READ_ONLY: u32 = 2;

/// A borrowed UTF-8 string: a pointer and a length, no terminator.
///
/// In a descriptor it points into the plugin's static data and lives as long as the
/// process (plugins are never unloaded). In a call it is valid only during that call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StrRef {
    pub ptr: *const u8,
    pub len: usize,
}

impl StrRef {
    /// A reference to static text, usable in `static` initialisers.
    pub const fn from_static(text: &'static str) -> Self {
        Self {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// Borrows `text` for a call; the caller keeps `text` alive until the call returns.
    pub fn borrowed(text: &str) -> Self {
        Self {
            ptr: text.as_ptr(),
            len: text.len(),
        }
    }

    /// The referenced bytes (empty for a null pointer).
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that stay valid for `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: non-null, and the caller guarantees `len` readable bytes for 'a.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A buffer produced by one side and freed by the same side's `free` function.
///
/// The receiver reads `ptr[..len]`, then calls `free(ptr, len, cap)` exactly once. A null
/// `free` means there is nothing to free (an empty buffer).
#[repr(C)]
#[derive(Debug)]
pub struct OwnedBuf {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
    pub free: Option<unsafe extern "C" fn(ptr: *mut u8, len: usize, cap: usize)>,
}

impl OwnedBuf {
    /// An empty buffer that owns nothing.
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
            free: None,
        }
    }

    /// Hands a `Vec` over the boundary; it is freed by this crate copy's allocator.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        Self {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
            free: Some(free_vec),
        }
    }

    /// The bytes in the buffer.
    ///
    /// # Safety
    /// The buffer must have been produced by [`OwnedBuf::from_vec`] (on either side) or be
    /// empty, and must not have been freed yet.
    pub unsafe fn as_slice(&self) -> &[u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: the producer guarantees `len` initialised bytes until `free` is called.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Frees the buffer with its producer's `free` function and leaves it empty, so a
    /// second call is harmless.
    ///
    /// # Safety
    /// `ptr`, `len`, `cap` and `free` must be exactly what the producer wrote.
    pub unsafe fn release(&mut self) {
        if let Some(free) = self.free.take() {
            // SAFETY: the fields are the producer's, and `take` makes this the only call.
            unsafe { free(self.ptr, self.len, self.cap) };
        }
        *self = Self::empty();
    }
}

/// The `free` function of buffers made by [`OwnedBuf::from_vec`] in this crate copy.
unsafe extern "C" fn free_vec(ptr: *mut u8, len: usize, cap: usize) {
    if !ptr.is_null() {
        // SAFETY: `ptr/len/cap` came from a `Vec<u8>` of this allocator in `from_vec`.
        drop(unsafe { Vec::from_raw_parts(ptr, len, cap) });
    }
}

/// The opaque host state behind a [`HostApi`]; plugins only pass the pointer back.
#[repr(C)]
pub struct HostCtx {
    _opaque: [u8; 0],
}

/// Functions the host offers to a plugin. One is made per plugin and lives as long as the
/// process; every function may be called from any thread, including threads the plugin
/// started itself.
#[repr(C)]
pub struct HostApi {
    /// `size_of::<HostApi>()` on the host; fields appended in a later minor are read only
    /// when this says they are present.
    pub struct_size: u32,
    /// The host's ABI version.
    pub abi_version: StrRef,
    /// Passed back as the first argument of every function below.
    pub ctx: *const HostCtx,
    /// Publishes `payload_json` (a JSON value) on the event bus under `topic`.
    /// Returns [`status::OK`] or [`status::BAD_REQUEST`] for non-UTF-8 or non-JSON input.
    pub emit: unsafe extern "C" fn(ctx: *const HostCtx, topic: StrRef, payload_json: StrRef) -> u32,
    /// Sets the latest point of `codename` from `point_json`, a JSON array `[x, y]`.
    pub set_point:
        unsafe extern "C" fn(ctx: *const HostCtx, codename: StrRef, point_json: StrRef) -> u32,
    /// Writes `message` to the host log at `level` (see [`log_level`]), tagged with the plugin.
    pub log: unsafe extern "C" fn(ctx: *const HostCtx, level: u32, message: StrRef),
    /// The host's data directory, where a plugin keeps its persistent state.
    pub data_dir: StrRef,

    // ---- 1.1.0: present when `struct_size` reaches them ----
    /// Writes into `*out` (a host-owned buffer, released by the receiver with its `free`) the
    /// UTF-8 reason why the last host function called on this thread returned a non-OK
    /// status; an empty buffer when there is none.
    pub last_error: unsafe extern "C" fn(ctx: *const HostCtx, out: *mut OwnedBuf),
    /// Calls a command (a core command or any plugin's) with `params_json` and waits for it.
    /// Returns [`status::OK`] with the result as JSON in `*reply`, or [`status::ERROR`] with
    /// `{"code","message","data"}` JSON in `*reply` (host-owned buffer either way), or
    /// another non-OK status when it refuses the call itself (reason in `last_error`;
    /// `*reply` is then an empty or host-owned buffer, released as usual). Blocks
    /// the calling thread: call it from a command that is not `inline` or from the plugin's
    /// own threads. The host refuses it on its async workers (an `inline` command) and until
    /// every plugin is initialised (so not from `init`).
    pub call: unsafe extern "C" fn(
        ctx: *const HostCtx,
        method: StrRef,
        params_json: StrRef,
        reply: *mut OwnedBuf,
    ) -> u32,
    /// The latest point of `codename`: [`status::OK`] with `{"x","y","set_at"}` JSON in
    /// `*reply`, or `null` when the codename has no point (host-owned buffer).
    pub get_point:
        unsafe extern "C" fn(ctx: *const HostCtx, codename: StrRef, reply: *mut OwnedBuf) -> u32,
    /// Subscribes to `topics_json` (a JSON array of topic names, `"*"` for every topic).
    /// The host calls `handler(user_data, ...)` for each event, in publication order, from
    /// one thread of its own per subscription (never concurrently with itself), until the
    /// host stops; then it calls `drop_user_data(user_data)` once, if given. Delivery has
    /// the bus's semantics: bounded, a publisher never waits, and a subscriber that falls
    /// behind loses the oldest events and is told how many in the next call's `lost`.
    /// On a non-OK status the host keeps nothing: it never calls `handler` or
    /// `drop_user_data`, and `user_data` is still the caller's to free.
    pub subscribe: unsafe extern "C" fn(
        ctx: *const HostCtx,
        topics_json: StrRef,
        handler: EventHandler,
        user_data: *mut core::ffi::c_void,
        drop_user_data: Option<unsafe extern "C" fn(user_data: *mut core::ffi::c_void)>,
    ) -> u32,
    /// 1 once the host has begun to stop (plugin threads should finish), else 0.
    pub stopping: unsafe extern "C" fn(ctx: *const HostCtx) -> u32,
    /// This plugin's own directory, `<data_dir>/plugins/<name>/`, created by the host
    /// before `init` runs.
    pub plugin_dir: StrRef,

    // ---- 1.2.0: present when `struct_size` reaches them ----
    /// Borrows the raw bytes attached to the command call running on this thread (a native
    /// client's binary frame): writes their address and length into `*ptr` and `*len` and
    /// returns [`status::OK`]. The bytes are host-owned and valid until the handler
    /// returns. [`status::REFUSED`] (reason in `last_error`) when the call has none.
    pub attachment:
        unsafe extern "C" fn(ctx: *const HostCtx, ptr: *mut *const u8, len: *mut usize) -> u32,
    /// Attaches `bytes` (a plugin-owned buffer: the host takes it over in every case and
    /// releases it with its `free`) to the reply of the command call running on this
    /// thread; the front end sends them after the reply (a native binary frame). Returns
    /// [`status::OK`], or [`status::REFUSED`] (reason in `last_error`) when the caller
    /// cannot receive bytes (it did not ask for a binary reply) or bytes are already
    /// attached.
    pub attach_reply: unsafe extern "C" fn(ctx: *const HostCtx, bytes: OwnedBuf) -> u32,
}

// SAFETY: the table is immutable after the host builds it, and the host guarantees that
// every function in it may be called from any thread at any time (see the type's docs).
unsafe impl Sync for HostApi {}
// SAFETY: as above; the pointers refer to host data that lives for the whole process.
unsafe impl Send for HostApi {}

/// Handles one command: `request[..request_len]` is the params as JSON (host-owned, valid
/// during the call); the handler writes its reply into `*reply` and returns a [`status`].
pub type CommandHandler = unsafe extern "C" fn(
    host: *const HostApi,
    request: *const u8,
    request_len: usize,
    reply: *mut OwnedBuf,
) -> u32;

/// (1.1) Receives one event of a subscription: `topic` and `payload_json` are borrowed for
/// the call; `time` is when the event happened in Unix seconds (for `points`, the points'
/// set time); `lost` counts the events this subscription lost since the previous call.
pub type EventHandler = unsafe extern "C" fn(
    user_data: *mut core::ffi::c_void,
    topic: StrRef,
    payload_json: StrRef,
    time: f64,
    lost: u64,
);

/// (1.1) Called once on a graceful stop, after the front ends stopped and the plugin's
/// subscriptions ended, so the plugin can stop its threads and flush. On failure it writes
/// a UTF-8 message into `*error` and returns a non-OK [`status`]; the host logs it.
pub type ShutdownFn = unsafe extern "C" fn(host: *const HostApi, error: *mut OwnedBuf) -> u32;

/// Called once after a plugin is accepted and before any command: `config` is the
/// plugin's `[plugins.<name>]` table as JSON (`{}` when absent). On failure the plugin
/// writes a UTF-8 message into `*error` and returns a non-OK [`status`].
pub type InitFn =
    unsafe extern "C" fn(host: *const HostApi, config: StrRef, error: *mut OwnedBuf) -> u32;

/// One command of a plugin.
#[repr(C)]
#[derive(Debug)]
pub struct CommandDesc {
    pub name: StrRef,
    /// One line for `commands` listings.
    pub description: StrRef,
    /// Bit set of `COMMAND_FLAG_*`.
    pub flags: u32,
    pub handler: CommandHandler,
}

/// (1.1) What a front end or a reader of the docs needs to know about one command. The
/// descriptor's `command_meta` table, when present, has one entry per command, in the
/// order of the command table. Empty strings mean "not given".
#[repr(C)]
#[derive(Debug)]
pub struct CommandMeta {
    /// The params, as a short signature (`{"name": string}`, `[codename, x, y]`).
    pub params: StrRef,
    /// The result, likewise.
    pub result: StrRef,
    /// A JSON object of hints for front ends, e.g.
    /// `{"pyminer": {"g1_failure": "{\"message\":\"failed\"}"}}`; empty for none.
    pub annotations: StrRef,
}

/// What a plugin is: the static value a dylib's [`DESCRIPTOR_SYMBOL`] returns and a
/// compiled-in plugin registers.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDescriptor {
    /// Always [`ABI_MAGIC`].
    pub magic: u64,
    /// `size_of::<PluginDescriptor>()` as the plugin saw it; lets a later minor append fields.
    pub struct_size: u32,
    /// The [`ABI_VERSION`] the plugin was built against.
    pub abi_version: StrRef,
    pub name: StrRef,
    /// The plugin's own semver version.
    pub version: StrRef,
    /// Toolchain, target and profile of the build; diagnostic only.
    pub build_info: StrRef,
    pub commands: *const CommandDesc,
    pub n_commands: usize,
    pub init: Option<InitFn>,

    // ---- 1.1.0: present when `struct_size` reaches them ----
    /// Null, or `n_commands` entries describing the commands (same order).
    pub command_meta: *const CommandMeta,
    /// Called once on a graceful stop.
    pub shutdown: Option<ShutdownFn>,
    /// One line about the plugin, for listings; empty when not given.
    pub description: StrRef,
}

/// `size_of::<PluginDescriptor>()` in ABI 1.0.0: the smallest descriptor a host accepts.
pub const DESCRIPTOR_SIZE_1_0: usize = 104;

/// `size_of::<HostApi>()` in ABI 1.0.0: the smallest host table a plugin can be given.
pub const HOST_API_SIZE_1_0: usize = 72;

// SAFETY: a descriptor is immutable static data (pointers into the plugin's read-only
// statics and function pointers), so sharing it between threads cannot race.
unsafe impl Sync for PluginDescriptor {}
// SAFETY: as above; the pointed-to data is 'static and never written.
unsafe impl Send for PluginDescriptor {}

/// The type of the function a dylib exports under [`DESCRIPTOR_SYMBOL`].
pub type DescriptorFn = unsafe extern "C" fn() -> *const PluginDescriptor;
