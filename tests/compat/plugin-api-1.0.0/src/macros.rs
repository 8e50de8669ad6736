//! The registration macros: [`plugin!`](crate::plugin) and
//! [`export_dylib!`](crate::export_dylib).

/// Declares a plugin: its name, an optional init hook and its commands.
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
/// It defines `pub static DESCRIPTOR` in the calling crate and registers it with
/// `inventory`, so a host binary that links the crate (`use my_plugin as _;`) finds it.
/// Add `[inline]` after a handler whose work is quick and never blocks:
/// `"x.now" => now [inline]: "..."`. A dylib build wraps the crate in a thin `cdylib`
/// crate that calls [`export_dylib!`](crate::export_dylib).
#[macro_export]
macro_rules! plugin {
    (
        name: $name:literal,
        $(init: $init:path,)?
        commands: {
            $( $command:literal => $handler:path $([$flag:ident])? : $description:literal ),* $(,)?
        } $(,)?
    ) => {
        const __LABSOCKET_COMMANDS: &[$crate::abi::CommandDesc] = &[
            $(
                $crate::abi::CommandDesc {
                    name: $crate::abi::StrRef::from_static($command),
                    description: $crate::abi::StrRef::from_static($description),
                    flags: 0 $(| $crate::__command_flag!($flag))?,
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
                                $crate::guard::run_command(host, request, request_len, reply, $handler)
                            }
                        }
                        thunk
                    },
                }
            ),*
        ];

        /// This plugin's descriptor: what the host reads to load it.
        pub static DESCRIPTOR: $crate::abi::PluginDescriptor = $crate::abi::PluginDescriptor {
            magic: $crate::abi::ABI_MAGIC,
            struct_size: ::core::mem::size_of::<$crate::abi::PluginDescriptor>() as u32,
            abi_version: $crate::abi::StrRef::from_static($crate::abi::ABI_VERSION),
            name: $crate::abi::StrRef::from_static($name),
            version: $crate::abi::StrRef::from_static(env!("CARGO_PKG_VERSION")),
            build_info: $crate::abi::StrRef::from_static($crate::BUILD_INFO),
            commands: __LABSOCKET_COMMANDS.as_ptr(),
            n_commands: __LABSOCKET_COMMANDS.len(),
            init: $crate::__plugin_init!($($init)?),
        };

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

#[doc(hidden)]
#[macro_export]
macro_rules! __command_flag {
    (inline) => {
        $crate::abi::COMMAND_FLAG_INLINE
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_init {
    () => {
        None
    };
    ($init:path) => {{
        unsafe extern "C" fn init_thunk(
            host: *const $crate::abi::HostApi,
            config: $crate::abi::StrRef,
            error: *mut $crate::abi::OwnedBuf,
        ) -> u32 {
            // SAFETY: the host passes a valid table, config and error slot (the contract
            // of `InitFn`).
            unsafe { $crate::guard::run_init(host, config, error, $init) }
        }
        Some(init_thunk as $crate::abi::InitFn)
    }};
}
