//! Property tests of the parsers every client can reach: whatever bytes arrive, parsing
//! returns a value or an error (never a panic), and what the writers produce parses back.

use labsocket::config::Config;
use labsocket::native::rpc::{self, Incoming};
use labsocket::pyjson::{self, Value};
use proptest::prelude::*;

/// Arbitrary JSON values, non-finite floats included (our protocol allows them).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec((".{0,6}", inner), 0..6)
                .prop_map(|pairs| Value::Dict(pairs.into_iter().collect())),
        ]
    })
}

/// NaN is not equal to itself; compare through the compact text instead.
fn same(a: &Value, b: &Value) -> bool {
    pyjson::to_compact_json(a) == pyjson::to_compact_json(b)
}

proptest! {
    #[test]
    fn rpc_lines_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = rpc::parse_line(&bytes);
    }

    #[test]
    fn json_text_never_panics(text in ".{0,200}") {
        let _ = pyjson::parse(&text);
    }

    #[test]
    fn compact_and_python_json_round_trip(value in json_value()) {
        let compact = pyjson::parse(&pyjson::to_compact_json(&value)).unwrap();
        prop_assert!(same(&compact, &value));
        let python = pyjson::parse(&pyjson::to_python_json(&value)).unwrap();
        prop_assert!(same(&python, &value));
    }

    #[test]
    fn any_request_echoes_its_params(params in json_value(), id in any::<i64>()) {
        let params = match params {
            list @ Value::List(_) => list,
            other => Value::List(vec![other]),
        };
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"echo\",\"params\":{}}}",
            pyjson::to_compact_json(&params)
        );
        match rpc::parse_line(line.as_bytes()) {
            Incoming::Call { id: Some(Value::Int(got)), method, params: parsed } => {
                prop_assert_eq!(got, id);
                prop_assert_eq!(method, "echo");
                prop_assert!(same(&parsed, &params));
            }
            other => prop_assert!(false, "not a call: {:?}", other),
        }
    }

    #[test]
    fn config_text_never_panics(text in "[\\[\\]a-z_=\"0-9. \n]{0,200}") {
        let _ = Config::parse(&text, "fuzz.toml");
    }
}
