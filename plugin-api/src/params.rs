//! Helper types for typed command params.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The params of a command that takes none: accepts `null` (params left out), `{}` and
/// `[]`, which clients send interchangeably, and refuses anything else with -32602
/// (`invalid params: invalid length 1, expected no params: null, {} or []`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoParams;

impl<'de> Deserialize<'de> for NoParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoParamsVisitor)
    }
}

struct NoParamsVisitor;

impl<'de> Visitor<'de> for NoParamsVisitor {
    type Value = NoParams;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no params: null, {} or []")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NoParams, E> {
        Ok(NoParams)
    }

    fn visit_none<E: de::Error>(self) -> Result<NoParams, E> {
        Ok(NoParams)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoParams, A::Error> {
        match map.next_key::<IgnoredAny>()? {
            None => Ok(NoParams),
            Some(_) => Err(de::Error::invalid_length(1, &self)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoParams, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(NoParams),
            Some(IgnoredAny) => Err(de::Error::invalid_length(1, &self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::NoParams;

    #[test]
    fn no_params_accepts_null_and_empty_containers_only() {
        for empty in [json!(null), json!({}), json!([])] {
            assert_eq!(serde_json::from_value::<NoParams>(empty).unwrap(), NoParams);
        }
        for given in [json!({"a": 1}), json!([1]), json!(0), json!("")] {
            let err = serde_json::from_value::<NoParams>(given.clone()).unwrap_err();
            assert!(
                err.to_string()
                    .contains("expected no params: null, {} or []"),
                "{given}: {err}"
            );
        }
    }
}
