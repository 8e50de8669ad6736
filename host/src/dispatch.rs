//! Command dispatch shared by every front end: the host commands registered on the core
//! (the core table, then what front ends registered), then plugin commands.
//!
//! A front end turns its wire request into `(method, params)` and calls [`call`] (or
//! [`call_now`] and, if needed, [`call_later`]); it turns the result or
//! [`CallError`] back into its own wire form.

use labsocket_plugin_api::codes;

use crate::call::CallError;
use crate::host_core::{Core, Handler};
use crate::plugins::host_api::PluginBytes;
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

/// Runs `method` with raw bytes beside its params (`input`) and, when `accepts_reply`,
/// lets it answer with raw bytes after its result: the native protocol's binary frames.
/// Only plugin commands take bytes (through ABI 1.2); any other command called with
/// `input` is refused, and without it runs as usual.
pub async fn call_binary(
    core: &Core,
    method: &str,
    params: Value,
    input: Option<bytes::Bytes>,
    accepts_reply: bool,
) -> Result<(Value, Option<PluginBytes>), CallError> {
    if core.command(method).is_none() {
        if let Some(outcome) = core
            .registry
            .call_binary(method, &params, input, accepts_reply)
            .await
        {
            return outcome;
        }
    } else if input.is_some() {
        return Err(CallError::invalid_params(format!(
            "'{method}' takes no binary data ({{\"$binary\": N}} is for plugin commands such as workspace.set)"
        )));
    }
    call(core, method, params)
        .await
        .map(|result| (result, None))
}

fn unknown(method: &str) -> CallError {
    CallError::new(
        codes::METHOD_NOT_FOUND,
        format!("unknown method '{method}' (the 'commands' method lists them)"),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use futures_util::future::FutureExt;

    use super::*;
    use crate::call::object;
    use crate::commands::core_commands;
    use crate::events::EventBus;
    use crate::host_core::{Command, Extensions};
    use crate::plugins::{self, HostServices, LoadOptions};
    use crate::points::PointTable;

    /// A core with the compiled-in plugins (checked, not initialised) and `extensions`.
    pub(crate) fn core_with(extensions: Extensions) -> Core {
        let bus = EventBus::new();
        let points = PointTable::new(bus.clone());
        let services = HostServices::new(bus.clone(), points.clone(), std::env::temp_dir());
        let reserved = extensions.command_names();
        let options = LoadOptions {
            dylibs: &[],
            plugin_config: &BTreeMap::new(),
            reserved_commands: &reserved,
            run_init: false,
            init_timeout: plugins::DEFAULT_INIT_TIMEOUT,
        };
        let loaded = plugins::load_all(&options, &services);
        Core::new(loaded.registry, bus, points, 8, extensions)
    }

    fn front_end_extensions() -> Extensions {
        let mut extensions = Extensions::default();
        extensions.commands(core_commands());
        extensions.commands([
            Command::now("fe.now", "answers at once", "none", |_, params| {
                Ok(params.clone())
            }),
            Command::later("fe.later", "answers later", "none", |_, params| {
                async move { Ok(object([("later", params)])) }.boxed()
            }),
            // A front end may not replace a core command: the first registration wins.
            Command::now("ping", "not the core's", "none", |_, _| {
                Ok(Value::Str("hijacked".to_owned()))
            }),
        ]);
        extensions.status_section("first", || Value::Int(1));
        extensions.view("hidden", || Value::Int(2));
        extensions.status_section("second", || Value::Int(3));
        extensions
    }

    fn done(immediate: Immediate) -> Result<Value, CallError> {
        match immediate {
            Immediate::Done(outcome) => outcome,
            Immediate::Later(params) => panic!("handed back for later with {params:?}"),
        }
    }

    #[test]
    fn routes_core_then_registered_commands_and_keeps_the_first_of_a_name() {
        let core = core_with(front_end_extensions());
        assert_eq!(
            done(call_now(&core, "ping", Value::Null)),
            Ok(Value::Str("pong".to_owned()))
        );
        assert_eq!(
            done(call_now(&core, "fe.now", Value::Int(7))),
            Ok(Value::Int(7))
        );
        let Immediate::Later(params) = call_now(&core, "fe.later", Value::Int(8)) else {
            panic!("fe.later must be awaited");
        };
        let outcome = call_later(&core, "fe.later", params).now_or_never();
        assert_eq!(outcome, Some(Ok(object([("later", Value::Int(8))]))));
        let names: Vec<&str> = core.commands().iter().map(|c| c.name).collect();
        assert_eq!(names.iter().filter(|name| **name == "ping").count(), 1);
        assert_eq!(names.last(), Some(&"fe.later"));
    }

    #[test]
    fn connection_commands_and_unknown_names_are_refused_in_json_rpc_terms() {
        let core = core_with(front_end_extensions());
        let refused = done(call_now(&core, "subscribe", Value::Null)).unwrap_err();
        assert_eq!(refused.code, codes::INVALID_REQUEST);
        assert!(refused.message.contains("native protocol connection"));
        let unknown = done(call_now(&core, "no.such", Value::Null)).unwrap_err();
        assert_eq!(unknown.code, codes::METHOD_NOT_FOUND);
        let later = call_later(&core, "no.such", Value::Null).now_or_never();
        assert_eq!(
            later.map(|o| o.unwrap_err().code),
            Some(codes::METHOD_NOT_FOUND)
        );
    }

    #[test]
    fn status_shows_registered_sections_in_order_after_its_own_fields() {
        let core = core_with(front_end_extensions());
        let Ok(Value::Dict(status)) = done(call_now(&core, "status", Value::Null)) else {
            panic!("status is an object");
        };
        let keys: Vec<&str> = status.keys().map(String::as_str).collect();
        assert_eq!(keys.first(), Some(&"version"));
        assert_eq!(&keys[keys.len() - 2..], ["first", "second"]);
        assert_eq!(status["second"], Value::Int(3));
        assert!(
            !status.contains_key("hidden"),
            "a view is not part of status"
        );
        assert_eq!(core.view("hidden"), Some(Value::Int(2)));
    }
}
