//! `hello`: the smallest useful labsocket plugin, compiled into the host.
//!
//! It shows each thing a plugin can do: answer a command, fail with a clear error, emit an
//! event, set a point, export metrics, and (on purpose) panic or block, so the host's
//! isolation of misbehaving commands can be seen and tested.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Level, Value};

/// Greetings given since the start, for `hello.stats`.
static GREETINGS: AtomicU64 = AtomicU64::new(0);

/// `hello.greet {"name": "Ada"}` → `"Hello, Ada!"`.
fn greet(_ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let name = match &params {
        Value::Null => "lab",
        Value::Object(map) => match map.get("name") {
            None => "lab",
            Some(Value::String(name)) => name,
            Some(_) => return Err(CommandError::invalid_params("'name' must be a string")),
        },
        _ => {
            return Err(CommandError::invalid_params(
                "params must be {\"name\": ...}",
            ))
        }
    };
    GREETINGS.fetch_add(1, Ordering::Relaxed);
    Ok(Value::from(format!("Hello, {name}!")))
}

/// `hello.stats` → `{"greetings_total": N}`. Annotated `{"metrics": true}`, so the host's
/// `/metrics` shows it as `labsocket_hello_greetings_total`.
fn stats(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(json!({ "greetings_total": GREETINGS.load(Ordering::Relaxed) }))
}

/// `hello.announce {"topic": T, "payload": P}` publishes P on T and returns the topic.
fn announce(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let topic = params
        .get("topic")
        .and_then(Value::as_str)
        .ok_or_else(|| CommandError::invalid_params("'topic' (a string) is required"))?;
    let payload = params.get("payload").cloned().unwrap_or(Value::Null);
    ctx.emit(topic, &payload)
        .map_err(|err| CommandError::new(err.to_string()))?;
    ctx.log(Level::Info, &format!("announced on {topic}"));
    Ok(json!({ "topic": topic }))
}

/// `hello.measure {"codename": C, "value": V}` sets point C to (now, V), as a driver would.
fn measure(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let codename = params
        .get("codename")
        .and_then(Value::as_str)
        .ok_or_else(|| CommandError::invalid_params("'codename' (a string) is required"))?;
    let value = params.get("value").cloned().unwrap_or(Value::Null);
    ctx.set_point_now(codename, value)
        .map_err(|err| CommandError::new(err.to_string()))?;
    Ok(Value::Bool(true))
}

/// `hello.sleep {"ms": N}` blocks its thread for N ms (at most 10 s), standing in for a
/// slow instrument; other connections must not notice.
fn sleep(_ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let ms = params
        .get("ms")
        .and_then(Value::as_u64)
        .ok_or_else(|| CommandError::invalid_params("'ms' (a whole number) is required"))?;
    std::thread::sleep(Duration::from_millis(ms.min(10_000)));
    Ok(json!({ "slept_ms": ms.min(10_000) }))
}

/// `hello.panic` panics, to show that a plugin panic becomes an error reply.
fn panic(_ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    panic!("hello.panic was called")
}

// The params stay `Value`: the replies to a misfit ("'name' must be a string") are part
// of what the PyExpLabSys push-socket and CLI tests check.
plugin! {
    name: "hello",
    description: "A demo: greet, announce an event, set a point, block, panic",
    commands: {
        "hello.greet" => greet [inline, read_only]
            (params: "{name?: string}", result: "string")
            : "Greets the caller: {\"name\": \"Ada\"} -> \"Hello, Ada!\"",
        "hello.announce" => announce
            (params: "{topic: string, payload?: any}", result: "{topic}")
            : "Publishes {\"payload\"} on {\"topic\"}",
        "hello.measure" => measure
            (params: "{codename: string, value?: any}", result: "true")
            : "Sets point {\"codename\"} to (now, {\"value\"})",
        "hello.sleep" => sleep
            (params: "{ms: int}", result: "{slept_ms: int}")
            : "Blocks for {\"ms\"} milliseconds (a slow instrument)",
        "hello.panic" => panic
            (params: "any", result: "never returns")
            : "Panics on purpose (the host turns it into an error reply)",
        "hello.stats" => stats [inline, read_only]
            (result: "{\"greetings_total\": int}", annotations: "{\"metrics\": true}"):
            "Counters for /metrics: greetings given",
    }
}
