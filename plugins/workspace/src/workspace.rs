//! [`Workspace`]: the variables, their order and metadata, over the durable [`Store`].
//!
//! The metadata of every variable is kept in memory in insertion order (listing names
//! and metadata never touches the disk); the values stay in the store and are read on
//! demand. Writers are serialised by one mutex so that "version + 1" and the insertion
//! position are computed against the state they commit over; the in-memory index changes
//! only after the store has committed, so nothing is visible, or acknowledged, before it is
//! durable.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Mutex, RwLock};

use indexmap::IndexMap;

use crate::meta::Meta;
use crate::names;
use crate::remote::Remotes;
use crate::store::{Store, StoreError};

/// A value to write; its bytes may be borrowed (a native binary frame is stored straight
/// from the host's buffer, without a copy of up to 256 MiB).
pub struct NewValue<'a> {
    pub name: String,
    pub encoding: String,
    pub type_hint: String,
    pub bytes: Cow<'a, [u8]>,
}

/// Why a write or delete was refused.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The request is wrong (bad name...): nothing was stored.
    #[error("{0}")]
    Invalid(String),
    /// The store failed: nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Default largest stored value, in bytes (`[plugins.workspace] max_variable_bytes`):
/// 256 MiB of data plus 1 MiB for its encoding's header, so a 256 MiB numpy array (a
/// `.npy` of 256 MiB + 128 bytes) fits. PyMiner clients send values of up to 300 MB of
/// base64 (225 MB decoded).
pub const DEFAULT_MAX_VARIABLE_BYTES: u64 = 257 * 1024 * 1024;

/// The refusal of a value over `max_variable_bytes`, naming the variable and the limit
/// (every front end shows it: native clients as the error message, PyMiner G2 clients in
/// their `failed` reply).
pub fn too_big(name: &str, size: u64, limit: u64) -> String {
    format!(
        "value of '{name}' is {}; the limit is [plugins.workspace] max_variable_bytes = {}",
        human_size(size),
        human_size(limit)
    )
}

/// `1.5 MiB`, `256 MiB`, `100 bytes`: sizes as a person reads them.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match UNITS.iter().find(|(unit, _)| bytes >= *unit) {
        None => format!("{bytes} bytes"),
        Some((unit, name)) if bytes.is_multiple_of(*unit) => format!("{} {name}", bytes / unit),
        Some((unit, name)) => format!("{:.1} {name}", bytes as f64 / *unit as f64),
    }
}

/// The shared data workspace.
pub struct Workspace {
    store: Store,
    /// Largest value accepted, in bytes.
    max_variable_bytes: u64,
    index: RwLock<IndexMap<String, Meta>>,
    /// Held by writers.
    writer: Mutex<Writer>,
    /// Other hosts' variables (`<host>/<name>`), in memory only.
    remotes: Remotes,
}

/// What writers compute new metadata from.
struct Writer {
    /// The next free insertion position.
    next_position: u64,
    /// The highest [`Meta::rev`] given so far.
    last_rev: u64,
}

impl Workspace {
    /// Opens the workspace stored in `folder`.
    pub fn open(folder: &Path) -> Result<Workspace, StoreError> {
        let (store, metas) = Store::open(folder)?;
        let next_position = metas.last().map_or(0, |meta| meta.position + 1);
        let last_rev = metas
            .iter()
            .map(|meta| meta.rev)
            .max()
            .unwrap_or(0)
            .max(store.last_rev()?);
        let index = metas
            .into_iter()
            .map(|meta| (meta.name.clone(), meta))
            .collect();
        Ok(Workspace {
            store,
            max_variable_bytes: DEFAULT_MAX_VARIABLE_BYTES,
            index: RwLock::new(index),
            writer: Mutex::new(Writer {
                next_position,
                last_rev,
            }),
            remotes: Remotes::default(),
        })
    }

    /// Refuses values larger than `bytes` from now on.
    pub fn limit_variable_bytes(mut self, bytes: u64) -> Workspace {
        self.max_variable_bytes = bytes;
        self
    }

    /// Writes `values` atomically (all or none) and returns their new metadata. A name
    /// given twice keeps the last value, as a Python dict would.
    pub fn set_many(
        &self,
        values: Vec<NewValue<'_>>,
        provider: &str,
    ) -> Result<Vec<Meta>, WorkspaceError> {
        for value in &values {
            names::check_name(&value.name).map_err(WorkspaceError::Invalid)?;
            if value.bytes.len() as u64 > self.max_variable_bytes {
                return Err(WorkspaceError::Invalid(too_big(
                    &value.name,
                    value.bytes.len() as u64,
                    self.max_variable_bytes,
                )));
            }
        }
        let mut values = values;
        let mut seen = std::collections::HashSet::new();
        // Keep the last of repeated names.
        values.reverse();
        values.retain(|value| seen.insert(value.name.clone()));
        values.reverse();

        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let now = labsocket_plugin_api::unix_now();
        let mut position = writer.next_position;
        let mut rev = writer.last_rev;
        // Revs follow the clock in microseconds, and the durable counter where the clock
        // went back: they grow across restarts and deletes (the counter), and a host back
        // on a fresh or restored workspace still outranks what it published before (the
        // clock), which other hosts' mirrors rely on.
        let clock_rev = (now * 1e6) as u64;
        let metas: Vec<Meta> = {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            values
                .iter()
                .map(|value| {
                    let previous = index.get(&value.name);
                    Meta {
                        name: value.name.clone(),
                        encoding: value.encoding.clone(),
                        type_hint: value.type_hint.clone(),
                        size: value.bytes.len() as u64,
                        version: previous.map_or(1, |meta| meta.version + 1),
                        provider: provider.to_owned(),
                        created: previous.map_or(now, |meta| meta.created),
                        modified: now,
                        position: previous.map(|meta| meta.position).unwrap_or_else(|| {
                            position += 1;
                            position - 1
                        }),
                        rev: {
                            rev = (rev + 1).max(clock_rev);
                            rev
                        },
                    }
                })
                .collect()
        };
        let entries: Vec<(Meta, &[u8])> = metas
            .iter()
            .cloned()
            .zip(values.iter().map(|value| value.bytes.as_ref()))
            .collect();
        self.store.write(&entries)?;
        writer.next_position = position;
        writer.last_rev = rev;
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        for meta in &metas {
            match index.get_mut(&meta.name) {
                Some(slot) => *slot = meta.clone(),
                None => {
                    index.insert(meta.name.clone(), meta.clone());
                }
            }
        }
        Ok(metas)
    }

    /// Deletes `names`; returns, for each, whether it existed.
    pub fn delete(&self, names: &[&str]) -> Result<Vec<bool>, WorkspaceError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let existed: Vec<bool> = {
            let index = self.index.read().unwrap_or_else(|e| e.into_inner());
            names.iter().map(|name| index.contains_key(*name)).collect()
        };
        let present: Vec<&str> = names
            .iter()
            .zip(&existed)
            .filter(|(_, existed)| **existed)
            .map(|(name, _)| *name)
            .collect();
        if !present.is_empty() {
            self.store.delete(&present)?;
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            for name in present {
                index.shift_remove(name);
            }
        }
        Ok(existed)
    }

    /// The metadata of `name`.
    pub fn meta(&self, name: &str) -> Option<Meta> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every variable's metadata in insertion order.
    pub fn metas(&self) -> Vec<Meta> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Every variable name in insertion order.
    pub fn names(&self) -> Vec<String> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Other hosts' variables.
    pub fn remotes(&self) -> &Remotes {
        &self.remotes
    }

    /// Reads each existing variable of `names` with its metadata, all from one snapshot
    /// of the store: `visit(meta, bytes)`.
    pub fn read_each<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        visit: impl FnMut(&Meta, &[u8]),
    ) -> Result<(), StoreError> {
        self.store.read_each(names, visit)
    }

    /// Reads one variable: `visit(meta, bytes)`; `None` when it does not exist.
    pub fn read<R>(
        &self,
        name: &str,
        visit: impl FnOnce(&Meta, &[u8]) -> R,
    ) -> Result<Option<R>, StoreError> {
        let mut visit = Some(visit);
        let mut result = None;
        self.read_each([name], |meta, bytes| {
            if let Some(visit) = visit.take() {
                result = Some(visit(meta, bytes));
            }
        })?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempFolder;

    fn value(name: &str, bytes: &[u8]) -> NewValue<'static> {
        NewValue {
            name: name.into(),
            encoding: "pickle".into(),
            type_hint: "other".into(),
            bytes: bytes.to_vec().into(),
        }
    }

    #[test]
    fn overwrite_keeps_position_bumps_version_and_keeps_created() {
        let dir = TempFolder::new("ws-overwrite");
        let ws = Workspace::open(dir.path()).unwrap();
        ws.set_many(vec![value("a", b"1"), value("b", b"2")], "p1")
            .unwrap();
        let first = ws.meta("a").unwrap();
        let metas = ws.set_many(vec![value("a", b"333")], "p2").unwrap();
        assert_eq!(metas[0].version, 2);
        assert_eq!(metas[0].created, first.created);
        assert_eq!(metas[0].provider, "p2");
        assert_eq!(metas[0].size, 3);
        assert_eq!(ws.names(), ["a", "b"]);
        assert_eq!(ws.read("a", |_, b| b.to_vec()).unwrap().unwrap(), b"333");
    }

    #[test]
    fn order_and_metadata_survive_reopening() {
        let dir = TempFolder::new("ws-reopen");
        let mut revs = Vec::new();
        {
            let ws = Workspace::open(dir.path()).unwrap();
            for (name, bytes) in [("z", b"1"), ("a", b"2"), ("m", b"3")] {
                revs.push(ws.set_many(vec![value(name, bytes)], "p").unwrap()[0].rev);
            }
            ws.delete(&["a"]).unwrap();
            revs.push(ws.set_many(vec![value("z", b"4")], "q").unwrap()[0].rev);
        }
        assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");
        let ws = Workspace::open(dir.path()).unwrap();
        assert_eq!(ws.names(), ["z", "m"]);
        assert_eq!(ws.meta("z").unwrap().version, 2);
        assert_eq!(ws.meta("z").unwrap().rev, revs[3]);
        let metas = ws.set_many(vec![value("a", b"6")], "p").unwrap();
        assert_eq!(metas[0].version, 1, "a was deleted: a new variable");
        assert!(
            metas[0].rev > revs[3],
            "revs only grow, across restarts and deletes"
        );
        ws.set_many(vec![value("n", b"5")], "p").unwrap();
        assert_eq!(ws.names(), ["z", "m", "a", "n"]);
    }

    #[test]
    fn an_invalid_name_stores_nothing() {
        let dir = TempFolder::new("ws-invalid");
        let ws = Workspace::open(dir.path()).unwrap();
        let err = ws
            .set_many(vec![value("ok", b"1"), value("Matrix", b"2")], "p")
            .unwrap_err();
        assert!(err.to_string().contains("builtin"), "{err}");
        assert!(ws.names().is_empty());
    }

    #[test]
    fn values_over_the_limit_store_nothing() {
        let folder = TempFolder::new("ws-limit");
        let workspace = Workspace::open(folder.path())
            .unwrap()
            .limit_variable_bytes(4);
        workspace.set_many(vec![value("a", b"1234")], "t").unwrap();
        let err = workspace
            .set_many(vec![value("b", b"1"), value("a", b"12345")], "t")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "value of 'a' is 5 bytes; the limit is [plugins.workspace] max_variable_bytes = 4 bytes"
        );
        assert_eq!(human_size(300 << 20), "300 MiB");
        assert_eq!(human_size((3 << 19) + 1), "1.5 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(workspace.names(), ["a"]);
        assert_eq!(workspace.meta("a").unwrap().size, 4);
    }

    #[test]
    fn repeated_names_keep_the_last_value() {
        let dir = TempFolder::new("ws-repeat");
        let ws = Workspace::open(dir.path()).unwrap();
        let metas = ws
            .set_many(vec![value("a", b"1"), value("a", b"22")], "p")
            .unwrap();
        assert_eq!(metas.len(), 1);
        assert_eq!(ws.read("a", |_, b| b.to_vec()).unwrap().unwrap(), b"22");
    }

    #[test]
    fn delete_reports_what_existed() {
        let dir = TempFolder::new("ws-delete");
        let ws = Workspace::open(dir.path()).unwrap();
        ws.set_many(vec![value("a", b"1")], "p").unwrap();
        assert_eq!(ws.delete(&["a", "b"]).unwrap(), [true, false]);
        assert!(ws.meta("a").is_none());
        assert!(ws.read("a", |_, _| ()).unwrap().is_none());
    }
}
