//! A well-behaved plugin that exercises every 1.1 host service, for the end-to-end tests:
//! it subscribes to `points` in init and records what it receives, calls commands through
//! the host (from a blocking handler, an inline one and a thread of its own), reads
//! points, writes into its own directory and records its shutdown into a file there.
//! `probe.hold` makes its event handler wait, so a test can make it fall behind.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Event, Value};

struct Probe {
    /// Every event the `points` subscription delivered, as JSON.
    events: Arc<Mutex<Vec<Value>>>,
    /// Set when the host dropped the subscription's handler (the subscription ended).
    subscription_ended: Arc<AtomicBool>,
    /// What `ctx.call` answered during init (before the dispatcher exists).
    call_during_init: String,
    gate: Arc<Gate>,
}

/// While `held`, the event handler waits before recording its event.
#[derive(Default)]
struct Gate {
    held: Mutex<bool>,
    changed: Condvar,
}

/// Lives inside the subscription's handler: dropped when the host ends the subscription.
struct EndMarker(Arc<AtomicBool>);

impl Drop for EndMarker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn init(ctx: &Ctx, _config: Value) -> Result<Probe, String> {
    std::fs::write(ctx.plugin_dir().join("init.txt"), "written by init")
        .map_err(|err| format!("cannot write into {}: {err}", ctx.plugin_dir().display()))?;
    let events = Arc::new(Mutex::new(Vec::new()));
    let subscription_ended = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(Gate::default());
    let (sink, marker) = (events.clone(), EndMarker(subscription_ended.clone()));
    let handler_gate = gate.clone();
    ctx.subscribe(&["points"], move |event: Event| {
        let _keep = &marker;
        let mut held = handler_gate.held.lock().unwrap();
        while *held {
            held = handler_gate.changed.wait(held).unwrap();
        }
        drop(held);
        sink.lock().unwrap().push(json!({
            "topic": event.topic,
            "payload": event.payload,
            "time": event.time,
            "lost": event.lost,
        }));
    })
    .map_err(|err| err.to_string())?;
    let call_during_init = match ctx.call("ping", &Value::Null) {
        Ok(value) => format!("answered {value}"),
        Err(error) => error.message,
    };
    Ok(Probe {
        events,
        subscription_ended,
        call_during_init,
        gate,
    })
}

fn shutdown(probe: &Probe, ctx: &Ctx) -> Result<(), String> {
    ctx.log(
        labsocket_plugin_api::Level::Info,
        "probe: shutdown hook runs",
    );
    let record = json!({
        "stopping": ctx.is_stopping(),
        "subscription_ended": probe.subscription_ended.load(Ordering::SeqCst),
        "events": probe.events.lock().unwrap().len(),
    });
    std::fs::write(ctx.plugin_dir().join("shutdown.json"), record.to_string())
        .map_err(|err| err.to_string())
}

fn events(probe: &Probe, _ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(Value::Array(probe.events.lock().unwrap().clone()))
}

fn init_report(probe: &Probe, ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    let written = std::fs::read_to_string(ctx.plugin_dir().join("init.txt")).ok();
    Ok(json!({
        "call_during_init": probe.call_during_init,
        "plugin_dir": ctx.plugin_dir().display().to_string(),
        "init_txt": written,
        "stopping": ctx.is_stopping(),
    }))
}

/// `{"method", "params"}` -> `{"result": ...}` or `{"error": {"code", "message"}}`.
fn outcome(result: Result<Value, CommandError>) -> Value {
    match result {
        Ok(value) => json!({ "result": value }),
        Err(error) => json!({ "error": { "code": error.code, "message": error.message } }),
    }
}

fn call(_probe: &Probe, ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let method = params["method"].as_str().unwrap_or_default().to_owned();
    Ok(outcome(ctx.call(&method, &params["params"])))
}

fn call_inline(_probe: &Probe, ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    Ok(outcome(ctx.call("ping", &Value::Null)))
}

fn call_from_thread(_probe: &Probe, ctx: &Ctx, _params: Value) -> Result<Value, CommandError> {
    let ctx = *ctx;
    let answer = std::thread::spawn(move || outcome(ctx.call("ping", &Value::Null)))
        .join()
        .map_err(|_| CommandError::new("the probe thread panicked"))?;
    Ok(answer)
}

fn hold(probe: &Probe, _ctx: &Ctx, (held,): (bool,)) -> Result<Value, CommandError> {
    *probe.gate.held.lock().unwrap() = held;
    probe.gate.changed.notify_all();
    Ok(Value::Bool(held))
}

fn get_point(_probe: &Probe, ctx: &Ctx, (codename,): (String,)) -> Result<Value, CommandError> {
    let point = ctx
        .get_point(&codename)
        .map_err(|err| CommandError::new(err.to_string()))?;
    Ok(json!(point))
}

plugin! {
    name: "probe",
    description: "Exercises the host services of plugin API 1.1 (tests only)",
    state: Probe,
    init: init,
    shutdown: shutdown,
    commands: {
        "probe.events" => events [read_only]
            (params: "null", result: "[{\"topic\", \"payload\", \"time\", \"lost\"}]"):
            "Events the points subscription received",
        "probe.init_report" => init_report [read_only]: "What init saw and wrote",
        "probe.call" => call (params: "{\"method\": string, \"params\": any}"):
            "Calls a command through the host",
        "probe.call_inline" => call_inline [inline]: "Calls ping from an inline handler",
        "probe.call_from_thread" => call_from_thread: "Calls ping from a thread of the plugin",
        "probe.hold" => hold (params: "[bool]"): "Makes the event handler wait (true) or go on",
        "probe.get_point" => get_point [read_only] (params: "[codename]"):
            "The point of a codename through the host",
    }
}
labsocket_plugin_api::export_dylib!(DESCRIPTOR);
