//! Plugin `sine`: `sine.sample` → `{"sine", "cosine", "sawtooth", "random_walk"}`.
//!
//! The periodic signals are functions of the wall clock (period `period_secs`, default
//! 10 s, range -1..1), so every caller at the same moment sees the same values. The random
//! walk is the plugin's state: one walk per served plugin, a step uniform in ±[`STEP`]
//! per call that asks for it, drawn with `fastrand` (a small, dependency-free, well-kept
//! generator; a demo needs no cryptographic quality).

use std::f64::consts::TAU;
use std::sync::Mutex;

use labsocket_plugin_api::{plugin, unix_now, CommandError, Ctx, Value};

/// Every signal `sine.sample` knows, in the order it computes them.
pub const SIGNALS: [&str; 4] = ["sine", "cosine", "sawtooth", "random_walk"];
/// The period when none is given.
pub const DEFAULT_PERIOD_SECS: f64 = 10.0;
/// The largest step of the random walk.
pub const STEP: f64 = 0.1;

struct Walk {
    value: f64,
    rng: fastrand::Rng,
}

/// The plugin's state: the random walk.
struct Signals {
    walk: Mutex<Walk>,
}

impl Signals {
    fn new() -> Self {
        Self {
            walk: Mutex::new(Walk {
                value: 0.0,
                rng: fastrand::Rng::new(),
            }),
        }
    }
}

/// The plugin takes no config; it starts a walk at 0.
fn init(_ctx: &Ctx, _config: Value) -> Result<Signals, String> {
    Ok(Signals::new())
}

/// What a call asks for.
struct Request {
    signals: Vec<&'static str>,
    period_secs: f64,
}

/// `sine.sample {"codenames": [...]?, "period_secs": p?}` → the chosen signals (all four
/// by default) at the current time.
fn sample(signals: &Signals, _ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let request = read_params(&params)?;
    Ok(signals_at(signals, &request, unix_now()))
}

fn read_params(params: &Value) -> Result<Request, CommandError> {
    let fields = match params {
        Value::Null => return Ok(Request::default()),
        Value::Object(fields) => fields,
        _ => {
            return Err(CommandError::invalid_params(
                "params must be {\"codenames\": [...], \"period_secs\": ...} (both optional)",
            ))
        }
    };
    if let Some(key) = fields
        .keys()
        .find(|key| !matches!(key.as_str(), "codenames" | "period_secs"))
    {
        return Err(CommandError::invalid_params(format!(
            "unknown param '{key}' (known: codenames, period_secs)"
        )));
    }
    let mut request = Request::default();
    if let Some(period) = fields.get("period_secs") {
        request.period_secs = period
            .as_f64()
            .filter(|period| period.is_finite() && *period > 0.0)
            .ok_or_else(|| {
                CommandError::invalid_params("'period_secs' must be a positive number")
            })?;
    }
    if let Some(codenames) = fields.get("codenames") {
        let codenames = codenames.as_array().ok_or_else(|| {
            CommandError::invalid_params("'codenames' must be a list of signal names")
        })?;
        request.signals = codenames
            .iter()
            .map(|codename| {
                codename
                    .as_str()
                    .and_then(|name| SIGNALS.iter().find(|known| **known == name).copied())
                    .ok_or_else(|| {
                        CommandError::invalid_params(format!(
                            "unknown signal {codename} (known: {})",
                            SIGNALS.join(", ")
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(request)
}

impl Default for Request {
    fn default() -> Self {
        Self {
            signals: SIGNALS.to_vec(),
            period_secs: DEFAULT_PERIOD_SECS,
        }
    }
}

fn signals_at(signals: &Signals, request: &Request, now: f64) -> Value {
    // The phase first, then the angle: `sin(TAU * now / period)` would lose the digits of
    // a 1.7e9 s timestamp to rounding.
    let phase = (now / request.period_secs).rem_euclid(1.0);
    let mut values = labsocket_plugin_api::serde_json::Map::new();
    for signal in &request.signals {
        let value = match *signal {
            "sine" => (TAU * phase).sin(),
            "cosine" => (TAU * phase).cos(),
            "sawtooth" => 2.0 * phase - 1.0,
            _ => signals.walk_step(),
        };
        values.insert((*signal).to_owned(), Value::from(value));
    }
    Value::Object(values)
}

impl Signals {
    /// Advances the random walk one step and returns its new value.
    fn walk_step(&self) -> f64 {
        let mut walk = self.walk.lock().unwrap_or_else(|e| e.into_inner());
        let step = (walk.rng.f64() * 2.0 - 1.0) * STEP;
        walk.value += step;
        walk.value
    }
}

// The params stay `Value`: the messages for a misfit name the known signals and keys,
// which clients and tests rely on.
plugin! {
    name: "sine",
    description: "Demo signals: sine, cosine, sawtooth of the wall clock and a random walk",
    state: Signals,
    init: init,
    commands: {
        "sine.sample" => sample [inline, read_only]
            (params: "{codenames?: [signal, ...], period_secs?: number}", result: "{signal: number}")
            : "{\"sine\",\"cosine\",\"sawtooth\",\"random_walk\"} now; params {\"codenames\"?, \"period_secs\"?}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labsocket_plugin_api::json;

    fn at(signals: &Signals, params: Value, now: f64) -> Value {
        signals_at(signals, &read_params(&params).unwrap(), now)
    }

    #[test]
    fn periodic_signals_follow_the_clock() {
        let signals = Signals::new();
        let quarter = at(
            &signals,
            json!({"period_secs": 4, "codenames": ["sine", "cosine", "sawtooth"]}),
            1.0,
        );
        assert!((quarter["sine"].as_f64().unwrap() - 1.0).abs() < 1e-12);
        assert!(quarter["cosine"].as_f64().unwrap().abs() < 1e-12);
        assert!((quarter["sawtooth"].as_f64().unwrap() + 0.5).abs() < 1e-12);
        // A real timestamp keeps full precision: the same phase a whole number of periods on.
        let later = at(
            &signals,
            json!({"period_secs": 4, "codenames": ["sine"]}),
            1.0 + 4.0 * 4.4e8,
        );
        assert!((later["sine"].as_f64().unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn default_gives_every_signal_and_the_walk_moves_in_small_steps() {
        let signals = Signals::new();
        let first = at(&signals, Value::Null, 0.0);
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 4, "{first}");
        for signal in SIGNALS {
            assert!(first[signal].is_f64(), "{signal}: {first}");
        }
        let second = at(&signals, json!({"codenames": ["random_walk"]}), 0.0);
        let step = second["random_walk"].as_f64().unwrap() - first["random_walk"].as_f64().unwrap();
        assert!(step.abs() <= STEP, "{step}");
    }

    #[test]
    fn each_host_has_its_own_walk_and_none_before_init() {
        use labsocket_plugin_api::{codes, testing::MockHost};
        let host = MockHost::named("sine");
        let early = host
            .command(&DESCRIPTOR, "sine.sample", json!({}))
            .unwrap_err();
        assert_eq!(early.code, codes::PLUGIN_UNAVAILABLE);
        host.init(&DESCRIPTOR, json!({})).unwrap();
        let walk = json!({"codenames": ["random_walk"]});
        let first = host
            .command(&DESCRIPTOR, "sine.sample", walk.clone())
            .unwrap();
        assert!(
            first["random_walk"].as_f64().unwrap().abs() <= STEP,
            "{first}"
        );
    }

    #[test]
    fn bad_params_are_invalid_params() {
        for bad in [
            json!([1]),
            json!({"period_secs": 0}),
            json!({"period_secs": "x"}),
            json!({"codenames": ["triangle"]}),
            json!({"codenames": "sine"}),
            json!({"amplitude": 2}),
        ] {
            let err = read_params(&bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert_eq!(err.code, -32602, "{bad}");
        }
    }
}
