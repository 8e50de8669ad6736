//! The safe layer across the boundary, exercised in-process through [`MockHost`], which
//! builds a real host table and calls the plugins' real `extern "C"` thunks: results,
//! errors and bad requests cross as JSON, typed params and config name the field that does
//! not fit, state reaches the handlers, panics become PANIC plus one host log line,
//! subscriptions deliver (with `lost`) and drop their closure, and host refusals say why.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use labsocket_plugin_api::abi::{
    status, CommandMeta, HostApi, OwnedBuf, PluginDescriptor, ABI_VERSION, COMMAND_FLAG_INLINE,
    COMMAND_FLAG_READ_ONLY, HOST_API_SIZE_1_0,
};
use labsocket_plugin_api::testing::MockHost;
use labsocket_plugin_api::{codes, json, CommandError, Ctx, Event, HostError, Level, Point, Value};

/// A 1.0-style plugin: `Value` in, `Value` out, the 1.0 macro syntax.
mod old {
    use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Level, Value};

    fn add(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
        let a = params[0]
            .as_i64()
            .ok_or_else(|| CommandError::invalid_params("need numbers"))?;
        let b = params[1]
            .as_i64()
            .ok_or_else(|| CommandError::invalid_params("need numbers"))?;
        ctx.emit("sum", &json!({"a": a, "b": b}))
            .map_err(|e| CommandError::new(e.to_string()))?;
        Ok(json!(a + b))
    }

    fn boom(_: &Ctx, _: Value) -> Result<Value, CommandError> {
        panic!("boom {}", 42)
    }

    fn from_thread(ctx: &Ctx, _: Value) -> Result<Value, CommandError> {
        let ctx = *ctx;
        std::thread::spawn(move || {
            ctx.set_point("t", json!(1.5), json!(1)).unwrap();
            ctx.log(Level::Warn, "from a plugin thread");
        })
        .join()
        .unwrap();
        Ok(Value::Null)
    }

    fn init(_: &Ctx, config: Value) -> Result<(), String> {
        match config.get("fail") {
            Some(reason) => Err(format!("told to fail: {reason}")),
            None => Ok(()),
        }
    }

    plugin! {
        name: "old",
        init: init,
        commands: {
            "b.add" => add: "Adds two numbers",
            "b.boom" => boom: "Panics",
            "b.thread" => from_thread [inline]: "Uses the context from another thread",
        }
    }
}

/// Typed handlers without state, a fallible shutdown, subscriptions from a command.
mod typed {
    use std::collections::BTreeMap;

    use labsocket_plugin_api::float::serde_f64;
    use labsocket_plugin_api::{plugin, CommandError, Ctx, Event, NoParams};
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    pub struct Greeting {
        pub name: String,
        #[serde(default)]
        pub times: u32,
    }

    fn greet(_: &Ctx, greeting: Greeting) -> Result<String, CommandError> {
        Ok(format!("hello, {}", greeting.name).repeat(greeting.times.max(1) as usize))
    }

    #[derive(Deserialize, Serialize)]
    pub struct Reading {
        #[serde(with = "serde_f64")]
        pub value: f64,
    }

    /// Non-finite values in and out through the tag.
    fn negate(_: &Ctx, reading: Reading) -> Result<Reading, CommandError> {
        Ok(Reading {
            value: -reading.value,
        })
    }

    #[derive(Deserialize)]
    pub struct Plain {
        pub value: f64,
    }

    fn plain(_: &Ctx, plain: Plain) -> Result<f64, CommandError> {
        Ok(plain.value)
    }

    /// A result that cannot be JSON (map keys must be strings).
    fn unserialisable(_: &Ctx, _: ()) -> Result<BTreeMap<(i32, i32), i32>, CommandError> {
        Ok(BTreeMap::from([((1, 2), 3)]))
    }

    /// Subscribes to `topic`; a payload of `"panic"` makes the handler panic.
    fn watch(ctx: &Ctx, topic: String) -> Result<(), CommandError> {
        let seen = ctx.plugin_dir().join("seen");
        ctx.subscribe(&[&topic], move |event: Event| {
            if event.payload == "panic" {
                panic!("event boom");
            }
            std::fs::write(&seen, event.payload.to_string()).unwrap();
        })
        .map_err(|e| CommandError::new(e.0))
    }

    fn none(_: &Ctx, _: NoParams) -> Result<&'static str, CommandError> {
        Ok("none")
    }

    fn shutdown(ctx: &Ctx) -> Result<(), String> {
        if ctx.is_stopping() {
            Ok(())
        } else {
            Err("shutdown before the host stopped".to_owned())
        }
    }

    plugin! {
        name: "typed",
        description: "Typed handlers",
        shutdown: shutdown,
        commands: {
            "t.greet" => greet [read_only] (params: "{\"name\": string}", result: "string"): "Greets",
            "t.negate" => negate [inline, read_only]: "Negates a reading",
            "t.plain" => plain: "Echoes a plain f64",
            "t.unserialisable" => unserialisable (result: "never"): "Fails to serialise",
            "t.watch" => self::watch (annotations: "{\"pyminer\": {}}", params: "topic"): "Subscribes",
            "t.none" => none: "Takes no params",
        }
    }
}

/// A plugin with state, typed config, init that may panic, and a shutdown that reads the
/// state.
mod stateful {
    use std::sync::atomic::{AtomicI64, Ordering};

    use labsocket_plugin_api::{plugin, CommandError, Ctx, Level};
    use serde::Deserialize;

    pub struct Counter {
        step: i64,
        total: AtomicI64,
    }

    #[derive(Deserialize)]
    pub struct Config {
        step: i64,
        #[serde(default)]
        panic: bool,
    }

    fn init(ctx: &Ctx, config: Config) -> Result<Counter, String> {
        if config.panic {
            panic!("init boom");
        }
        ctx.log(Level::Info, &format!("step {}", config.step));
        Ok(Counter {
            step: config.step,
            total: AtomicI64::new(0),
        })
    }

    fn bump(counter: &Counter, _: &Ctx, times: i64) -> Result<i64, CommandError> {
        Ok(counter
            .total
            .fetch_add(counter.step * times, Ordering::SeqCst)
            + counter.step * times)
    }

    fn total(counter: &Counter, _: &Ctx, _: ()) -> Result<i64, CommandError> {
        Ok(counter.total.load(Ordering::SeqCst))
    }

    fn shutdown(counter: &Counter, ctx: &Ctx) {
        let total = counter.total.load(Ordering::SeqCst);
        ctx.log(Level::Info, &format!("stopping at {total}"));
    }

    plugin! {
        name: "stateful",
        state: Counter,
        init: init,
        shutdown: shutdown,
        commands: {
            "s.bump" => bump: "Adds step × times",
            "s.total" => total [read_only]: "The total",
        }
    }
}

/// Like `stateful`, never initialised.
mod uninit {
    use labsocket_plugin_api::{plugin, CommandError, Ctx, Value};

    pub struct Nothing;

    fn init(_: &Ctx, _: Value) -> Result<Nothing, String> {
        Ok(Nothing)
    }

    fn get(_: &Nothing, _: &Ctx, _: Value) -> Result<Value, CommandError> {
        Ok(Value::Null)
    }

    fn shutdown(_: &Nothing, _: &Ctx) -> Result<(), String> {
        Err("must not run without state".to_owned())
    }

    plugin! {
        name: "uninit",
        state: Nothing,
        init: init,
        shutdown: shutdown,
        commands: { "u.get" => get: "Never answers" }
    }
}

/// The smallest plugin: no commands, no hooks.
mod empty {
    labsocket_plugin_api::plugin! { name: "empty", commands: {} }
}

/// A plugin whose annotations are not JSON: the test kit says so.
mod bad_annotations {
    use labsocket_plugin_api::{plugin, CommandError, Ctx, NoParams};

    fn nothing(_: &Ctx, _: NoParams) -> Result<(), CommandError> {
        Ok(())
    }

    plugin! {
        name: "bad_annotations",
        commands: { "x.nothing" => nothing (annotations: "{oops"): "Does nothing" }
    }
}

fn text(value: labsocket_plugin_api::abi::StrRef) -> String {
    // SAFETY: descriptor strings are statics of this test binary.
    String::from_utf8(unsafe { value.as_bytes() }.to_vec()).unwrap()
}

fn meta(descriptor: &PluginDescriptor) -> &[CommandMeta] {
    // SAFETY: `plugin!` makes a table of `n_commands` static entries.
    unsafe { std::slice::from_raw_parts(descriptor.command_meta, descriptor.n_commands) }
}

fn flags(descriptor: &PluginDescriptor) -> Vec<(String, u32)> {
    // SAFETY: as above, for the command table.
    let commands =
        unsafe { std::slice::from_raw_parts(descriptor.commands, descriptor.n_commands) };
    commands.iter().map(|c| (text(c.name), c.flags)).collect()
}

/// Lines the plugin logged at `level` that contain `needle`.
fn logged(mock: &MockHost, level: Level, needle: &str) -> Vec<String> {
    mock.logs()
        .into_iter()
        .filter(|(l, line)| *l == level && line.contains(needle))
        .map(|(_, line)| line)
        .collect()
}

#[test]
fn descriptors_carry_identity_commands_and_1_1_metadata() {
    assert_eq!(text(old::DESCRIPTOR.name), "old");
    assert_eq!(text(old::DESCRIPTOR.abi_version), ABI_VERSION);
    assert_eq!(
        old::DESCRIPTOR.struct_size as usize,
        std::mem::size_of::<PluginDescriptor>()
    );
    assert_eq!(text(old::DESCRIPTOR.description), "");
    assert!(old::DESCRIPTOR.shutdown.is_none());
    assert!(meta(&old::DESCRIPTOR)
        .iter()
        .all(|m| text(m.params).is_empty()
            && text(m.result).is_empty()
            && text(m.annotations).is_empty()));
    assert_eq!(
        flags(&old::DESCRIPTOR),
        [
            ("b.add".to_owned(), 0),
            ("b.boom".to_owned(), 0),
            ("b.thread".to_owned(), COMMAND_FLAG_INLINE)
        ]
    );

    assert_eq!(text(typed::DESCRIPTOR.description), "Typed handlers");
    assert!(typed::DESCRIPTOR.init.is_none() && typed::DESCRIPTOR.shutdown.is_some());
    assert_eq!(
        flags(&typed::DESCRIPTOR)[..2],
        [
            ("t.greet".to_owned(), COMMAND_FLAG_READ_ONLY),
            (
                "t.negate".to_owned(),
                COMMAND_FLAG_INLINE | COMMAND_FLAG_READ_ONLY
            )
        ]
    );
    let metas: Vec<_> = meta(&typed::DESCRIPTOR)
        .iter()
        .map(|m| (text(m.params), text(m.result), text(m.annotations)))
        .collect();
    assert_eq!(
        metas[0],
        (r#"{"name": string}"#.into(), "string".into(), String::new())
    );
    assert_eq!(metas[3], (String::new(), "never".into(), String::new()));
    assert_eq!(
        metas[4],
        ("topic".into(), String::new(), r#"{"pyminer": {}}"#.into())
    );

    let registered: Vec<_> = labsocket_plugin_api::compiled_in().collect();
    for descriptor in [&old::DESCRIPTOR, &typed::DESCRIPTOR, &stateful::DESCRIPTOR] {
        assert!(registered.iter().any(|d| std::ptr::eq(*d, descriptor)));
    }
}

#[test]
fn a_plugin_without_commands_or_hooks_is_a_valid_descriptor() {
    assert_eq!(text(empty::DESCRIPTOR.name), "empty");
    assert_eq!(empty::DESCRIPTOR.n_commands, 0);
    assert!(empty::DESCRIPTOR.init.is_none() && empty::DESCRIPTOR.shutdown.is_none());
    let mock = MockHost::new();
    assert_eq!(mock.init(&empty::DESCRIPTOR, json!({})), Ok(()));
    assert_eq!(
        mock.command(&empty::DESCRIPTOR, "x", json!(null))
            .unwrap_err()
            .code,
        codes::METHOD_NOT_FOUND
    );
    assert_eq!(mock.shutdown(&empty::DESCRIPTOR), Ok(()));
}

#[test]
fn value_handlers_answer_results_errors_and_bad_requests() {
    let mock = MockHost::new();
    mock.init(&old::DESCRIPTOR, json!({})).unwrap();
    assert_eq!(
        mock.command(&old::DESCRIPTOR, "b.add", json!([2, 3])),
        Ok(json!(5))
    );
    assert_eq!(mock.events(), [("sum".to_owned(), json!({"a": 2, "b": 3}))]);
    assert_eq!(
        mock.command(&old::DESCRIPTOR, "b.add", json!(["x", 3])),
        Err(CommandError::invalid_params("need numbers"))
    );
    let (code, message) = mock.command_raw(&old::DESCRIPTOR, "b.add", b"{oops");
    assert_eq!(code, status::BAD_REQUEST);
    assert!(message.contains("params are not JSON"), "{message}");
    let missing = mock
        .command(&old::DESCRIPTOR, "b.nope", json!(null))
        .unwrap_err();
    assert_eq!(missing.code, codes::METHOD_NOT_FOUND);
}

#[test]
fn init_errors_reach_the_host() {
    let mock = MockHost::new();
    let error = mock
        .init(&old::DESCRIPTOR, json!({"fail": "now"}))
        .unwrap_err();
    assert!(error.contains("told to fail: \"now\""), "{error}");
    // Config bytes that are not JSON (the host never sends them) are a BAD_REQUEST.
    let init = old::DESCRIPTOR.init.unwrap();
    let mut error = OwnedBuf::empty();
    let config = labsocket_plugin_api::abi::StrRef::borrowed("{not json");
    // SAFETY: the mock's table is 'static, the config outlives the call, `error` is a slot.
    let code = unsafe { init(mock.api(), config, &mut error) };
    assert_eq!(code, status::BAD_REQUEST);
    // SAFETY: written by the thunk with from_vec, read before its single release.
    let message = String::from_utf8(unsafe { error.as_slice() }.to_vec()).unwrap();
    // SAFETY: released once.
    unsafe { error.release() };
    assert!(message.starts_with("config is not JSON"), "{message}");
}

#[test]
fn a_command_panic_is_a_panic_status_and_one_host_log_line() {
    let mock = MockHost::named("old");
    let (code, message) = mock.command_raw(&old::DESCRIPTOR, "b.boom", b"null");
    assert_eq!(code, status::PANIC);
    assert_eq!(message, "panicked: boom 42");
    let lines = logged(&mock, Level::Error, "boom 42");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("panic in plugin old at plugin-api/tests/boundary.rs:")
            || lines[0].starts_with("panic in plugin old at tests/boundary.rs:"),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with(": boom 42"), "{}", lines[0]);
    let error = mock
        .command(&old::DESCRIPTOR, "b.boom", json!(null))
        .unwrap_err();
    assert_eq!(error.code, codes::PLUGIN_PANICKED);
    assert_eq!(logged(&mock, Level::Error, "boom 42").len(), 2);
}

#[test]
fn the_context_works_from_plugin_threads() {
    let mock = MockHost::new();
    assert_eq!(
        mock.command(&old::DESCRIPTOR, "b.thread", json!(null)),
        Ok(Value::Null)
    );
    assert_eq!(mock.point_sets(), [("t".to_owned(), json!(1.5), json!(1))]);
    assert_eq!(logged(&mock, Level::Warn, "from a plugin thread").len(), 1);
}

#[test]
fn typed_params_that_do_not_fit_name_the_field() {
    let mock = MockHost::new();
    assert_eq!(
        mock.command(
            &typed::DESCRIPTOR,
            "t.greet",
            json!({"name": "lab", "times": 2})
        ),
        Ok(json!("hello, labhello, lab"))
    );
    let error = mock
        .command(&typed::DESCRIPTOR, "t.greet", json!({"name": 5}))
        .unwrap_err();
    assert_eq!(error.code, codes::INVALID_PARAMS);
    assert_eq!(
        error.message,
        "invalid params: name: invalid type: integer `5`, expected a string"
    );
    let error = mock
        .command(
            &typed::DESCRIPTOR,
            "t.greet",
            json!({"name": "x", "times": -1}),
        )
        .unwrap_err();
    assert!(
        error.message.starts_with("invalid params: times: "),
        "{}",
        error.message
    );
    let error = mock
        .command(&typed::DESCRIPTOR, "t.greet", json!({}))
        .unwrap_err();
    assert_eq!(error.message, "invalid params: missing field `name`");
}

#[test]
fn non_finite_floats_cross_typed_commands_as_tags() {
    let mock = MockHost::new();
    assert_eq!(
        mock.command(
            &typed::DESCRIPTOR,
            "t.negate",
            json!({"value": {"$float": "Infinity"}})
        ),
        Ok(json!({"value": {"$float": "-Infinity"}}))
    );
    assert_eq!(
        mock.command(&typed::DESCRIPTOR, "t.negate", json!({"value": 1.5})),
        Ok(json!({"value": -1.5}))
    );
    let error = mock
        .command(
            &typed::DESCRIPTOR,
            "t.plain",
            json!({"value": {"$float": "NaN"}}),
        )
        .unwrap_err();
    assert_eq!(error.code, codes::INVALID_PARAMS);
    assert_eq!(
        error.message,
        "invalid params: value: invalid type: map, expected f64"
    );
}

#[test]
fn a_result_that_does_not_serialise_is_an_internal_error_naming_the_command() {
    let mock = MockHost::new();
    let error = mock
        .command(&typed::DESCRIPTOR, "t.unserialisable", json!(null))
        .unwrap_err();
    assert_eq!(error.code, codes::INTERNAL_ERROR);
    assert!(
        error
            .message
            .starts_with("the result of t.unserialisable does not serialise to JSON: "),
        "{}",
        error.message
    );
}

#[test]
fn state_reaches_handlers_and_shutdown_after_init() {
    let mock = MockHost::named("stateful");
    // Before init: a clear error, and shutdown has nothing to do.
    let error = mock
        .command(&stateful::DESCRIPTOR, "s.total", json!(null))
        .unwrap_err();
    assert_eq!(error.code, codes::PLUGIN_UNAVAILABLE);
    assert_eq!(
        error.message,
        "plugin stateful is not initialised (its init has not succeeded), so s.total cannot run"
    );
    // A config that does not fit, and an init that panics, leave it uninitialised.
    let error = mock
        .init(&stateful::DESCRIPTOR, json!({"step": "x"}))
        .unwrap_err();
    assert!(
        error.contains("invalid config: step: invalid type: string \"x\", expected i64"),
        "{error}"
    );
    let error = mock
        .init(&stateful::DESCRIPTOR, json!({"step": 1, "panic": true}))
        .unwrap_err();
    assert!(error.contains("panicked: init boom"), "{error}");
    assert_eq!(
        logged(&mock, Level::Error, "panic in plugin stateful at ").len(),
        1
    );
    assert!(mock
        .command(&stateful::DESCRIPTOR, "s.total", json!(null))
        .is_err());

    mock.init(&stateful::DESCRIPTOR, json!({"step": 10}))
        .unwrap();
    assert_eq!(logged(&mock, Level::Info, "step 10").len(), 1);
    assert_eq!(
        mock.command(&stateful::DESCRIPTOR, "s.bump", json!(2)),
        Ok(json!(20))
    );
    assert_eq!(
        mock.command(&stateful::DESCRIPTOR, "s.bump", json!(1)),
        Ok(json!(30))
    );
    assert_eq!(
        mock.command(&stateful::DESCRIPTOR, "s.total", json!(null)),
        Ok(json!(30))
    );
    let error = mock
        .init(&stateful::DESCRIPTOR, json!({"step": 1}))
        .unwrap_err();
    assert!(
        error.contains("plugin stateful is already initialised"),
        "{error}"
    );
    assert_eq!(
        mock.command(&stateful::DESCRIPTOR, "s.total", json!(null)),
        Ok(json!(30))
    );

    mock.shutdown(&stateful::DESCRIPTOR).unwrap();
    assert_eq!(logged(&mock, Level::Info, "stopping at 30").len(), 1);
}

#[test]
fn a_plugin_whose_init_never_ran_refuses_commands_and_skips_shutdown() {
    let mock = MockHost::new();
    let error = mock
        .command(&uninit::DESCRIPTOR, "u.get", json!(null))
        .unwrap_err();
    assert_eq!(error.code, codes::PLUGIN_UNAVAILABLE);
    assert_eq!(mock.shutdown(&uninit::DESCRIPTOR), Ok(()));
}

#[test]
fn shutdown_runs_and_reports_its_failure() {
    let mock = MockHost::new();
    let error = mock.shutdown(&typed::DESCRIPTOR).unwrap_err();
    assert!(
        error.contains("shutdown before the host stopped"),
        "{error}"
    );
    mock.set_stopping(true);
    assert_eq!(mock.shutdown(&typed::DESCRIPTOR), Ok(()));
    assert_eq!(mock.shutdown(&old::DESCRIPTOR), Ok(()));
}

#[test]
fn subscriptions_deliver_in_order_with_lost_counts_and_drop_their_closure() {
    let mock = MockHost::new();
    let ctx = mock.ctx();
    let (sender, events) = mpsc::channel::<Event>();
    ctx.subscribe(&["points", "other"], move |event| {
        sender.send(event).unwrap()
    })
    .unwrap();
    assert_eq!(mock.subscriptions(), 1);
    assert_eq!(mock.publish("points", json!({"a": [1.0, 2]}), 100.5), 1);
    assert_eq!(mock.publish("unrelated", json!(1), 101.0), 0);
    mock.lose_events(3);
    assert_eq!(mock.publish("other", json!({"$float": "NaN"}), 102.0), 1);
    let first = events.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        first,
        Event {
            topic: "points".into(),
            payload: json!({"a": [1.0, 2]}),
            time: 100.5,
            lost: 0
        }
    );
    let second = events.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((second.topic.as_str(), second.lost), ("other", 3));
    assert_eq!(second.payload, json!({"$float": "NaN"}), "tags stay tags");
    // Ending the subscription drops the closure, so its Sender disconnects.
    mock.end_subscriptions();
    assert_eq!(
        events.recv_timeout(Duration::from_secs(5)),
        Err(mpsc::RecvTimeoutError::Disconnected)
    );
    assert_eq!(mock.publish("points", json!(1), 103.0), 0);
}

#[test]
fn a_panicking_event_handler_is_logged_once_and_the_subscription_goes_on() {
    let mock = MockHost::named("typed");
    assert_eq!(
        mock.command(&typed::DESCRIPTOR, "t.watch", json!("x")),
        Ok(Value::Null)
    );
    assert_eq!(mock.publish("x", json!("panic"), 1.0), 1);
    let lines = logged(&mock, Level::Error, "event boom");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("panic in plugin typed at "),
        "{}",
        lines[0]
    );
    assert_eq!(mock.publish("x", json!({"after": true}), 2.0), 1);
    let seen = std::fs::read_to_string(mock.plugin_dir().join("seen")).unwrap();
    assert_eq!(seen, r#"{"after":true}"#);
}

#[test]
fn a_refused_subscription_says_why_and_frees_the_closure() {
    let mock = MockHost::new();
    let token = Arc::new(());
    let held = Arc::clone(&token);
    let error = mock
        .ctx()
        .subscribe(&[], move |_| {
            let _ = &held;
        })
        .unwrap_err();
    assert_eq!(
        error,
        HostError("host refused subscribe: topics is empty (use [\"*\"] for every topic)".into())
    );
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the closure was dropped, not leaked"
    );
    assert_eq!(mock.subscriptions(), 0);
}

#[test]
fn host_refusals_carry_the_host_reason() {
    let mock = MockHost::new();
    let ctx = mock.ctx();
    assert_eq!(
        ctx.emit("", &json!(1)),
        Err(HostError("host refused emit: topic is empty".into()))
    );
    assert_eq!(
        ctx.set_point("", json!(1), json!(2)),
        Err(HostError(
            "host refused set_point: codename is empty".into()
        ))
    );
    // A success in between clears the reason; the next refusal has its own.
    ctx.emit("fine", &json!(1)).unwrap();
    assert_eq!(
        ctx.subscribe(&["a", ""], |_| {}),
        Err(HostError(
            "host refused subscribe: a topic name is empty".into()
        ))
    );
}

#[test]
fn calls_answer_results_and_the_callees_errors() {
    #[derive(serde::Serialize)]
    struct Ping {
        n: u32,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Pong {
        n: u32,
    }

    let mock = MockHost::new();
    mock.on_call("ping", |params| {
        Ok(json!({"n": params["n"].as_u64().unwrap_or(0) + 1}))
    });
    mock.on_call("fail", |_| {
        Err(CommandError::new("nope")
            .with_code(-32050)
            .with_data(json!({"k": 1})))
    });
    let ctx = mock.ctx();
    assert_eq!(ctx.call("ping", &json!({"n": 1})), Ok(json!({"n": 2})));
    assert_eq!(
        ctx.call_as::<_, Pong>("ping", &Ping { n: 41 }),
        Ok(Pong { n: 42 })
    );
    assert_eq!(
        ctx.call("fail", &json!(null)),
        Err(CommandError::new("nope")
            .with_code(-32050)
            .with_data(json!({"k": 1})))
    );
    let missing = ctx.call("nothing", &json!(null)).unwrap_err();
    assert_eq!(missing.code, codes::METHOD_NOT_FOUND);
    assert_eq!(
        missing.message,
        "unknown method 'nothing' (the 'commands' method lists them)"
    );
    // A result that does not fit the caller's type names the field.
    let misfit = ctx
        .call_as::<_, Pong>("fail-not", &Ping { n: 1 })
        .unwrap_err();
    assert_eq!(misfit.code, codes::METHOD_NOT_FOUND);
    mock.on_call("stringly", |_| Ok(json!({"n": "one"})));
    let misfit = ctx
        .call_as::<_, Pong>("stringly", &Ping { n: 1 })
        .unwrap_err();
    assert_eq!(misfit.code, codes::INTERNAL_ERROR);
    assert_eq!(
        misfit.message,
        "result of stringly does not fit: n: invalid type: string \"one\", expected u32"
    );
}

#[test]
fn get_point_reads_the_host_points() {
    let mock = MockHost::new();
    let ctx = mock.ctx();
    assert_eq!(ctx.get_point("nothing"), Ok(None));
    mock.put_point("t", json!(10.0), json!({"$float": "NaN"}), 9.5);
    assert_eq!(
        ctx.get_point("t"),
        Ok(Some(Point {
            x: json!(10.0),
            y: json!({"$float": "NaN"}),
            set_at: 9.5
        }))
    );
    ctx.set_point("u", json!(1), json!("on")).unwrap();
    let point = ctx.get_point("u").unwrap().unwrap();
    assert_eq!((point.x, point.y), (json!(1), json!("on")));
    assert!(point.set_at > 1.0e9, "set now: {}", point.set_at);
}

#[test]
fn plugin_dir_and_stopping_come_from_the_host() {
    let mock = MockHost::named("lab");
    let ctx = mock.ctx();
    assert_eq!(ctx.plugin_dir(), mock.plugin_dir());
    assert!(ctx.plugin_dir().ends_with("plugins/lab") && ctx.plugin_dir().is_dir());
    assert_eq!(ctx.data_dir(), mock.data_dir());
    assert!(!ctx.is_stopping());
    mock.set_stopping(true);
    assert!(ctx.is_stopping());
}

#[test]
fn a_1_0_host_table_is_never_read_past_its_end() {
    let mock = MockHost::new();
    let full = mock.api();
    let old: &'static HostApi = Box::leak(Box::new(HostApi {
        struct_size: HOST_API_SIZE_1_0 as u32,
        abi_version: full.abi_version,
        ctx: full.ctx,
        emit: full.emit,
        set_point: full.set_point,
        log: full.log,
        data_dir: full.data_dir,
        last_error: full.last_error,
        call: full.call,
        get_point: full.get_point,
        subscribe: full.subscribe,
        stopping: full.stopping,
        plugin_dir: full.plugin_dir,
        attachment: full.attachment,
        attach_reply: full.attach_reply,
    }));
    mock.set_stopping(true);
    mock.put_point("t", json!(1), json!(2), 3.0);
    // SAFETY: a leaked table whose functions are the mock's.
    let ctx = unsafe { Ctx::from_raw(old) };
    let too_old = ctx.get_point("t").unwrap_err();
    assert!(too_old.0.contains("older than 1.1"), "{too_old}");
    assert!(!ctx.is_stopping());
    assert_eq!(ctx.plugin_dir(), mock.data_dir());
    assert_eq!(
        ctx.call("x", &json!(null)).unwrap_err().code,
        codes::INTERNAL_ERROR
    );
    assert!(ctx.subscribe(&["x"], |_| {}).is_err());
    assert_eq!(ctx.with_attachment(|bytes| bytes.len()), None);
    assert!(ctx
        .attach_reply(vec![1, 2])
        .unwrap_err()
        .0
        .contains("older than 1.2"));
    // 1.0 refusals have no reason to read.
    assert_eq!(
        ctx.emit("", &json!(1)),
        Err(HostError(format!(
            "host refused emit (status {})",
            status::BAD_REQUEST
        )))
    );
}

#[test]
#[should_panic(expected = "the annotations of command x.nothing are not a JSON object: {oops")]
fn the_test_kit_refuses_annotations_that_are_not_a_json_object() {
    let _ = MockHost::new().command(&bad_annotations::DESCRIPTOR, "x.nothing", json!({}));
}

#[test]
fn no_params_commands_accept_null_and_empty_containers() {
    let mock = MockHost::new();
    for empty in [json!(null), json!({}), json!([])] {
        assert_eq!(
            mock.command(&typed::DESCRIPTOR, "t.none", empty),
            Ok(json!("none"))
        );
    }
    let error = mock
        .command(&typed::DESCRIPTOR, "t.none", json!([1]))
        .unwrap_err();
    assert_eq!(error.code, codes::INVALID_PARAMS);
    assert_eq!(
        error.message,
        "invalid params: invalid length 1, expected no params: null, {} or []"
    );
}

static FREES: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn counting_free(_: *mut u8, _: usize, _: usize) {
    FREES.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn owned_buffers_are_freed_exactly_once() {
    let mut buffer = OwnedBuf {
        ptr: std::ptr::NonNull::dangling().as_ptr(),
        len: 0,
        cap: 0,
        free: Some(counting_free),
    };
    // SAFETY: counting_free ignores its arguments.
    unsafe {
        buffer.release();
        buffer.release();
    }
    assert_eq!(FREES.load(Ordering::SeqCst), 1);
    let mut real = OwnedBuf::from_vec(b"hello".to_vec());
    // SAFETY: made by from_vec, not yet freed.
    assert_eq!(unsafe { real.as_slice() }, b"hello");
    // SAFETY: released once.
    unsafe { real.release() };
    assert!(real.ptr.is_null() && real.free.is_none());
}

#[test]
fn each_host_table_has_its_own_state() {
    // Tests of one plugin run in parallel threads of one process, each on its own
    // MockHost: their states must not collide (a host makes one table per plugin).
    let (first, second) = (MockHost::new(), MockHost::new());
    first
        .init(&stateful::DESCRIPTOR, json!({"step": 1}))
        .unwrap();
    second
        .init(&stateful::DESCRIPTOR, json!({"step": 100}))
        .unwrap();
    assert_eq!(
        first.command(&stateful::DESCRIPTOR, "s.bump", json!(1)),
        Ok(json!(1))
    );
    assert_eq!(
        second.command(&stateful::DESCRIPTOR, "s.bump", json!(1)),
        Ok(json!(100))
    );
    let third = MockHost::new();
    let error = third
        .command(&stateful::DESCRIPTOR, "s.total", json!(null))
        .unwrap_err();
    assert_eq!(error.code, codes::PLUGIN_UNAVAILABLE);
}
