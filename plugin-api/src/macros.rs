//! The registration macros: [`plugin!`](crate::plugin) and
//! [`export_dylib!`](crate::export_dylib).

/// Declares a plugin: its name, optional description, state, init and shutdown hooks, and
/// its commands.
///
/// The smallest form (the 1.0 syntax, which keeps working unchanged):
///
/// ```
/// use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};
///
/// fn greet(_ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
///     Ok(Value::from(format!("hello, {}", params["name"].as_str().unwrap_or("lab"))))
/// }
///
/// plugin! {
///     name: "hello",
///     commands: {
///         "hello.greet" => greet: "Greets the caller by name",
///     }
/// }
/// # fn main() {
/// #     assert_eq!(DESCRIPTOR.n_commands, 1);
/// # }
/// ```
///
/// The full form, with every optional key (they must come in this order):
///
/// ```
/// use std::sync::Mutex;
///
/// use labsocket_plugin_api::serde::{Deserialize, Serialize};
/// use labsocket_plugin_api::testing::MockHost;
/// use labsocket_plugin_api::{json, plugin, CommandError, Ctx, NoParams};
///
/// #[derive(Deserialize)]
/// # #[serde(crate = "labsocket_plugin_api::serde")]
/// struct Config {
///     #[serde(default)]
///     limit: usize,
/// }
///
/// struct History {
///     limit: usize,
///     rows: Mutex<Vec<String>>,
/// }
///
/// #[derive(Deserialize)]
/// # #[serde(crate = "labsocket_plugin_api::serde")]
/// struct Query {
///     codename: String,
/// }
///
/// #[derive(Serialize)]
/// # #[serde(crate = "labsocket_plugin_api::serde")]
/// struct Flushed {
///     rows: usize,
/// }
///
/// fn init(_ctx: &Ctx, config: Config) -> Result<History, String> {
///     Ok(History { limit: config.limit, rows: Mutex::new(Vec::new()) })
/// }
///
/// fn shutdown(history: &History, ctx: &Ctx) {
///     let rows = history.rows.lock().unwrap().len();
///     ctx.log(labsocket_plugin_api::Level::Info, &format!("{rows} rows left"));
/// }
///
/// fn query(history: &History, _ctx: &Ctx, query: Query) -> Result<Vec<String>, CommandError> {
///     let rows = history.rows.lock().unwrap();
///     Ok(rows.iter().filter(|row| **row == query.codename).cloned().collect())
/// }
///
/// fn flush(history: &History, _ctx: &Ctx, _: NoParams) -> Result<Flushed, CommandError> {
///     Ok(Flushed { rows: history.rows.lock().unwrap().drain(..).count() })
/// }
///
/// fn record(history: &History, _ctx: &Ctx, codename: String) -> Result<(), CommandError> {
///     let mut rows = history.rows.lock().unwrap();
///     if history.limit > 0 && rows.len() >= history.limit {
///         return Err(CommandError::new("full"));
///     }
///     rows.push(codename);
///     Ok(())
/// }
///
/// plugin! {
///     name: "history",
///     description: "Records points",
///     state: History,
///     init: init,
///     shutdown: shutdown,
///     commands: {
///         "history.query" => query [read_only]: "Rows of a codename",
///         "history.flush" => flush [inline, read_only]
///             (params: "{}", result: "{\"rows\": int}"): "Writes buffered rows now",
///         "history.record" => record
///             (params: "codename", annotations: "{\"pyminer\": {}}"): "Records a row",
///     }
/// }
///
/// # fn main() {
/// let mock = MockHost::new();
/// mock.init(&DESCRIPTOR, json!({"limit": 2})).unwrap();
/// mock.command(&DESCRIPTOR, "history.record", json!("a")).unwrap();
/// assert_eq!(mock.command(&DESCRIPTOR, "history.query", json!({"codename": "a"})), Ok(json!(["a"])));
/// let error = mock.command(&DESCRIPTOR, "history.query", json!({"codename": 5})).unwrap_err();
/// assert_eq!(error.code, labsocket_plugin_api::codes::INVALID_PARAMS);
/// assert_eq!(mock.command(&DESCRIPTOR, "history.flush", json!({})), Ok(json!({"rows": 1})));
/// mock.shutdown(&DESCRIPTOR).unwrap();
/// assert_eq!(mock.logs().last().unwrap().1, "0 rows left");
/// # }
/// ```
///
/// What it generates:
///
/// - `pub static DESCRIPTOR`, the plugin's [`PluginDescriptor`](crate::abi::PluginDescriptor)
///   (ABI 1.1 size, with the command metadata, shutdown hook and description), registered
///   with `inventory` so a host binary that links the crate (`use my_plugin as _;`) finds
///   it. A dylib build wraps the crate in a thin `cdylib` crate that calls
///   [`export_dylib!`](crate::export_dylib) on it.
/// - One `extern "C"` thunk per command, and for `init` and `shutdown`, that catch panics
///   (logged once through the host log) and translate params and results.
///
/// The keys:
///
/// - `description`: one line about the plugin, for listings.
/// - `state: T` (`T: Send + Sync + 'static`): `init` returns the `T`, which the macro keeps
///   in a private static, and every command and the shutdown hook receive `&T` first. A
///   command called before `init` succeeded answers
///   [`PLUGIN_UNAVAILABLE`](crate::codes::PLUGIN_UNAVAILABLE).
/// - `init`: `fn(&Ctx, C) -> Result<T, String>` with state, else `fn(&Ctx, C) -> Result<(),
///   String>`; `C: DeserializeOwned` is the plugin's `[plugins.<name>]` table (`{}` when
///   absent; `Value` takes it as it is). A config that does not fit `C` fails init with
///   `invalid config: <field path>: <reason>`.
/// - `shutdown`: `fn(&T, &Ctx)` with state, else `fn(&Ctx)`; it may return `()` or
///   `Result<(), String>`. Called once on a graceful stop, after the plugin's
///   subscriptions ended.
/// - Each command: `"name" => handler [flags] (meta): "description"`, where
///   - `handler` is `fn(&Ctx, P) -> Result<R, CommandError>` (with state
///     `fn(&T, &Ctx, P) -> ...`), `P: DeserializeOwned`, `R: Serialize` (`Value`, `Value`
///     is the 1.0 form; [`NoParams`](crate::NoParams) for none). Params that do not fit `P`
///     are answered with
///     [`INVALID_PARAMS`](crate::codes::INVALID_PARAMS) naming the field path, e.g.
///     `invalid params: name: invalid type: integer `5`, expected a string`. For `f64`
///     fields that may be `NaN`/`Infinity` see [`crate::float::serde_f64`].
///   - flags, optional: `[inline]` (quick, never blocks: the host may run it on its async
///     worker), `[read_only]` (a token with the `read` role may call it), or both.
///   - meta, optional: `(params: "...", result: "...", annotations: "...")`, any subset in
///     any order: short signatures for listings and docs, and a JSON object of hints for
///     front ends.
#[macro_export]
macro_rules! plugin {
    (
        name: $name:literal,
        $(description: $description:literal,)?
        state: $state:ty,
        init: $init:path,
        $(shutdown: $shutdown:path,)?
        commands: { $($commands:tt)* } $(,)?
    ) => {
        /// The plugin's state: set by the init thunk, read by the command thunks.
        static __LABSOCKET_STATE: $crate::guard::StateCell<$state> =
            $crate::guard::StateCell::new();

        $crate::__plugin_commands!((stateful) $name; $($commands)*);

        /// This plugin's descriptor: what the host reads to load it.
        pub static DESCRIPTOR: $crate::abi::PluginDescriptor = $crate::__plugin_descriptor!(
            $name,
            ($($description)?),
            $crate::__plugin_init!((stateful) $name $init),
            $crate::__plugin_shutdown!((stateful) $name $($shutdown)?)
        );

        $crate::inventory::submit! { $crate::Registration(&DESCRIPTOR) }
    };
    (
        name: $name:literal,
        $(description: $description:literal,)?
        $(init: $init:path,)?
        $(shutdown: $shutdown:path,)?
        commands: { $($commands:tt)* } $(,)?
    ) => {
        $crate::__plugin_commands!((stateless) $name; $($commands)*);

        /// This plugin's descriptor: what the host reads to load it.
        pub static DESCRIPTOR: $crate::abi::PluginDescriptor = $crate::__plugin_descriptor!(
            $name,
            ($($description)?),
            $crate::__plugin_init!((stateless) $name $($init)?),
            $crate::__plugin_shutdown!((stateless) $name $($shutdown)?)
        );

        $crate::inventory::submit! { $crate::Registration(&DESCRIPTOR) }
    };
}

/// Exports a plugin's descriptor from a `cdylib` under the symbol the host looks for.
///
/// Use it only in a thin `<name>-dylib` crate (`crate-type = ["cdylib"]`) that depends on
/// the plugin crate: two compiled-in crates exporting the same `#[no_mangle]` symbol
/// would not link together.
#[macro_export]
macro_rules! export_dylib {
    ($descriptor:path) => {
        /// The entry point the labsocket host looks up (`DESCRIPTOR_SYMBOL`).
        #[no_mangle]
        pub extern "C" fn labsocket_plugin_descriptor_v1() -> *const $crate::abi::PluginDescriptor {
            &$descriptor
        }
    };
}

/// The command table and the parallel metadata table.
#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_commands {
    (
        $mode:tt $name:literal;
        $(
            $command:literal => $h0:ident $(:: $hn:ident)*
            $([ $($flag:ident),+ $(,)? ])?
            $(( $($key:ident : $value:literal),* $(,)? ))?
            : $description:literal
        ),* $(,)?
    ) => {
        const __LABSOCKET_COMMANDS: &[$crate::abi::CommandDesc] = &[
            $(
                $crate::abi::CommandDesc {
                    name: $crate::abi::StrRef::from_static($command),
                    description: $crate::abi::StrRef::from_static($description),
                    flags: 0 $($(| $crate::__command_flag!($flag))+)?,
                    handler: {
                        unsafe extern "C" fn thunk(
                            host: *const $crate::abi::HostApi,
                            request: *const u8,
                            request_len: usize,
                            reply: *mut $crate::abi::OwnedBuf,
                        ) -> u32 {
                            // SAFETY: the host passes a valid table, request and reply slot
                            // (the contract of `CommandHandler`).
                            unsafe {
                                $crate::__run_command!(
                                    $mode (host, request, request_len, reply)
                                    $name, $command, $h0 $(:: $hn)*
                                )
                            }
                        }
                        thunk
                    },
                }
            ),*
        ];

        const __LABSOCKET_COMMAND_META: &[$crate::abi::CommandMeta] = &[
            $( $crate::__command_meta!($($($key: $value),*)?) ),*
        ];
    };
}

/// The call a command thunk makes, with or without state.
#[doc(hidden)]
#[macro_export]
macro_rules! __run_command {
    ((stateless) ($host:ident, $request:ident, $len:ident, $reply:ident) $name:literal, $command:literal, $handler:path) => {
        $crate::guard::run_command($host, $request, $len, $reply, $name, $command, $handler)
    };
    ((stateful) ($host:ident, $request:ident, $len:ident, $reply:ident) $name:literal, $command:literal, $handler:path) => {
        $crate::guard::run_stateful_command(
            $host,
            $request,
            $len,
            $reply,
            $name,
            $command,
            &__LABSOCKET_STATE,
            $handler,
        )
    };
}

/// One entry of the metadata table; an unknown key is a compile error ("no field").
#[doc(hidden)]
#[macro_export]
macro_rules! __command_meta {
    ($($key:ident : $value:literal),*) => {{
        #[allow(unused_mut)]
        let mut meta = $crate::abi::CommandMeta {
            params: $crate::abi::StrRef::from_static(""),
            result: $crate::abi::StrRef::from_static(""),
            annotations: $crate::abi::StrRef::from_static(""),
        };
        $( meta.$key = $crate::abi::StrRef::from_static($value); )*
        meta
    }};
}

/// The descriptor value.
#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_descriptor {
    ($name:literal, ($($description:literal)?), $init:expr, $shutdown:expr) => {
        $crate::abi::PluginDescriptor {
            magic: $crate::abi::ABI_MAGIC,
            struct_size: ::core::mem::size_of::<$crate::abi::PluginDescriptor>() as u32,
            abi_version: $crate::abi::StrRef::from_static($crate::abi::ABI_VERSION),
            name: $crate::abi::StrRef::from_static($name),
            version: $crate::abi::StrRef::from_static(env!("CARGO_PKG_VERSION")),
            build_info: $crate::abi::StrRef::from_static($crate::BUILD_INFO),
            commands: __LABSOCKET_COMMANDS.as_ptr(),
            n_commands: __LABSOCKET_COMMANDS.len(),
            init: $init,
            command_meta: __LABSOCKET_COMMAND_META.as_ptr(),
            shutdown: $shutdown,
            description: $crate::abi::StrRef::from_static($crate::__or_empty!($($description)?)),
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __or_empty {
    () => {
        ""
    };
    ($text:literal) => {
        $text
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __command_flag {
    (inline) => {
        $crate::abi::COMMAND_FLAG_INLINE
    };
    (read_only) => {
        $crate::abi::COMMAND_FLAG_READ_ONLY
    };
    ($other:ident) => {
        compile_error!(concat!(
            "unknown command flag `",
            stringify!($other),
            "`: use `inline` and/or `read_only`"
        ))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_init {
    ((stateless) $name:literal) => {
        None
    };
    ((stateless) $name:literal $init:path) => {{
        unsafe extern "C" fn init_thunk(
            host: *const $crate::abi::HostApi,
            config: $crate::abi::StrRef,
            error: *mut $crate::abi::OwnedBuf,
        ) -> u32 {
            // SAFETY: the host passes a valid table, config and error slot (the contract
            // of `InitFn`).
            unsafe { $crate::guard::run_init(host, config, error, $name, $init, |()| Ok(())) }
        }
        Some(init_thunk as $crate::abi::InitFn)
    }};
    ((stateful) $name:literal $init:path) => {{
        unsafe extern "C" fn init_thunk(
            host: *const $crate::abi::HostApi,
            config: $crate::abi::StrRef,
            error: *mut $crate::abi::OwnedBuf,
        ) -> u32 {
            // SAFETY: the host passes a valid table, config and error slot (the contract
            // of `InitFn`).
            unsafe {
                $crate::guard::run_init(host, config, error, $name, $init, |state| {
                    $crate::guard::keep_state(&__LABSOCKET_STATE, $name, state)
                })
            }
        }
        Some(init_thunk as $crate::abi::InitFn)
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_shutdown {
    ($mode:tt $name:literal) => {
        None
    };
    ((stateless) $name:literal $shutdown:path) => {{
        unsafe extern "C" fn shutdown_thunk(
            host: *const $crate::abi::HostApi,
            error: *mut $crate::abi::OwnedBuf,
        ) -> u32 {
            // SAFETY: the host passes a valid table and error slot (the contract of
            // `ShutdownFn`).
            unsafe { $crate::guard::run_shutdown(host, error, $name, $shutdown) }
        }
        Some(shutdown_thunk as $crate::abi::ShutdownFn)
    }};
    ((stateful) $name:literal $shutdown:path) => {{
        unsafe extern "C" fn shutdown_thunk(
            host: *const $crate::abi::HostApi,
            error: *mut $crate::abi::OwnedBuf,
        ) -> u32 {
            // SAFETY: the host passes a valid table and error slot (the contract of
            // `ShutdownFn`).
            unsafe {
                $crate::guard::run_stateful_shutdown(
                    host,
                    error,
                    $name,
                    &__LABSOCKET_STATE,
                    $shutdown,
                )
            }
        }
        Some(shutdown_thunk as $crate::abi::ShutdownFn)
    }};
}
