//! Other hosts' variables, `<host>/<name>` (SPEC §9, "Remote workspace variables").
//!
//! The mqtt plugin takes in the retained `ws/<name>` messages of the hosts it federates
//! with and mirrors them here through `workspace.mirror`, so every reader (`read_p`, which
//! runs inline on the host's async workers and so may not call another plugin, as well
//! as `get_vars` and `workspace.get`) reads them from memory like local ones. They are not
//! stored: the broker's retained messages bring them back after a restart. Writes go the
//! other way, to the owner (see `commands::remote_write`).

use std::sync::RwLock;

use indexmap::IndexMap;
use labsocket_plugin_api::{CommandError, Value};

use crate::meta::{self, Meta};

/// Whether `name` names another host's variable: local names are Python identifiers, so
/// they never contain `/`.
pub fn is_remote(name: &str) -> bool {
    name.contains('/')
}

/// `<host>/<name>` split at its last `/` (a host id may contain `/`, a variable name
/// cannot).
pub fn split(name: &str) -> Option<(&str, &str)> {
    name.rsplit_once('/')
        .filter(|(host, var)| !host.is_empty() && !var.is_empty())
}

/// One mirrored variable.
struct RemoteVar {
    /// The owner's [`Meta::rev`] of this value.
    rev: u64,
    meta: Meta,
    bytes: Vec<u8>,
}

/// The mirrored variables, in the order they were first seen.
#[derive(Default)]
pub struct Remotes {
    vars: RwLock<IndexMap<String, RemoteVar>>,
}

impl Remotes {
    /// Holds `bytes` as `meta.name` at `rev` unless a value of the same or a later rev is
    /// held already (messages may arrive out of order); returns whether it was taken.
    pub fn put(&self, rev: u64, meta: Meta, bytes: Vec<u8>) -> bool {
        let mut vars = self.vars.write().unwrap_or_else(|e| e.into_inner());
        if vars.get(&meta.name).is_some_and(|held| held.rev >= rev) {
            return false;
        }
        vars.insert(meta.name.clone(), RemoteVar { rev, meta, bytes });
        true
    }

    /// Forgets `name`; returns whether it was held.
    pub fn remove(&self, name: &str) -> bool {
        let mut vars = self.vars.write().unwrap_or_else(|e| e.into_inner());
        vars.shift_remove(name).is_some()
    }

    pub fn meta(&self, name: &str) -> Option<Meta> {
        let vars = self.vars.read().unwrap_or_else(|e| e.into_inner());
        vars.get(name).map(|var| var.meta.clone())
    }

    /// Every mirrored variable's metadata.
    pub fn metas(&self) -> Vec<Meta> {
        let vars = self.vars.read().unwrap_or_else(|e| e.into_inner());
        vars.values().map(|var| var.meta.clone()).collect()
    }

    /// `visit(meta, bytes)` of `name`; `None` when it is not held.
    pub fn read<R>(&self, name: &str, visit: impl FnOnce(&Meta, &[u8]) -> R) -> Option<R> {
        let vars = self.vars.read().unwrap_or_else(|e| e.into_inner());
        vars.get(name).map(|var| visit(&var.meta, &var.bytes))
    }
}

/// The owner's client-facing metadata (`Meta::to_json`) under the local name `name`.
pub fn meta_from_json(name: &str, rev: u64, json: &Value) -> Result<Meta, CommandError> {
    let text = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                CommandError::invalid_params(format!("meta.{key}: a string is required"))
            })
    };
    let number = |key: &str| json.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    let encoding = text("encoding")?;
    meta::check_encoding(&encoding).map_err(CommandError::invalid_params)?;
    Ok(Meta {
        name: name.to_owned(),
        encoding,
        type_hint: text("type_hint")?,
        size: json.get("size").and_then(Value::as_u64).unwrap_or(0),
        version: json.get("version").and_then(Value::as_u64).unwrap_or(0),
        provider: text("provider")?,
        created: number("created"),
        modified: number("modified"),
        position: 0,
        rev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use labsocket_plugin_api::json;

    fn meta(name: &str) -> Meta {
        meta_from_json(
            name,
            0,
            &json!({"encoding": "json", "type_hint": "numeric", "provider": "p", "size": 1}),
        )
        .unwrap()
    }

    #[test]
    fn names_split_at_the_last_slash() {
        assert_eq!(split("pcA/x"), Some(("pcA", "x")));
        assert_eq!(split("lab/pc1/x"), Some(("lab/pc1", "x")));
        assert_eq!(split("/x"), None);
        assert_eq!(split("pcA/"), None);
        assert!(is_remote("a/b") && !is_remote("ab"));
    }

    #[test]
    fn an_older_rev_never_replaces_a_newer_value() {
        let remotes = Remotes::default();
        assert!(remotes.put(5, meta("pcA/x"), b"5".to_vec()));
        assert!(!remotes.put(4, meta("pcA/x"), b"4".to_vec()));
        assert!(!remotes.put(5, meta("pcA/x"), b"5bis".to_vec()));
        assert_eq!(remotes.read("pcA/x", |_, b| b.to_vec()).unwrap(), b"5");
        assert!(remotes.put(6, meta("pcA/x"), b"6".to_vec()));
        assert_eq!(remotes.metas().len(), 1);
        assert!(remotes.remove("pcA/x"));
        assert!(!remotes.remove("pcA/x"));
        assert!(remotes.read("pcA/x", |_, _| ()).is_none());
    }
}
