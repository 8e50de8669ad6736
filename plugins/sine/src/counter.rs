//! Plugin `dummy`: `dummy.sample` → `{"counter": n}`, n = 1, 2, 3, … one per call.
//!
//! The count is process-wide (every caller advances it), which also makes it a call
//! counter: a test or an operator can see how often a source really ran.

use std::sync::atomic::{AtomicU64, Ordering};

use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Value};

static CALLS: AtomicU64 = AtomicU64::new(0);

/// `dummy.sample` → `{"counter": n}` (an int); takes no params.
fn sample(_ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    next_count(&params)
}

fn next_count(params: &Value) -> Result<Value, CommandError> {
    let empty = match params {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    };
    if !empty {
        return Err(CommandError::invalid_params("dummy.sample takes no params"));
    }
    let count = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(json!({ "counter": count }))
}

plugin! {
    name: "dummy",
    description: "A test source: a counter of its calls",
    commands: {
        "dummy.sample" => sample [inline] (params: "{}", result: "{\"counter\": int}")
            : "{\"counter\": n}: an int counting the calls (a test source)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_counts_and_refuses_params() {
        let first = next_count(&Value::Null).unwrap()["counter"]
            .as_u64()
            .unwrap();
        let second = next_count(&json!({})).unwrap()["counter"].as_u64().unwrap();
        assert!(second > first);
        assert!(next_count(&json!({"x": 1})).is_err());
    }
}
