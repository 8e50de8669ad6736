//! Durable storage of variables: one `redb` database file.
//!
//! Why redb: it is an embedded, pure-Rust, ACID key-value store that is actively
//! maintained and fuzzed. A committed write transaction is fsynced before `commit` returns
//! (`Durability::Immediate`, its default), and its copy-on-write B-trees with a
//! checksummed double-buffered commit slot mean a crash at any moment (kill -9, power
//! loss) leaves either the old or the new state, never a torn one. That is exactly the
//! contract "acknowledged only after it is stored; kill -9 loses no acknowledged write and
//! never corrupts the store", without a hand-written journal. It also locks the file, so a
//! second server on the same data directory is refused instead of corrupting it.
//!
//! Layout: two tables keyed by variable name, `meta` (the [`Meta`] as JSON, small, read
//! at start-up) and `data` (the value's bytes, read only when a client asks for them).
//! Several variables written together (`write_var_dic`) are one transaction.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::meta::Meta;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");

/// File name of the database inside the workspace folder.
pub const FILE_NAME: &str = "workspace.redb";

/// A storage failure, with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "workspace store {path} is in use by another process (a labsocket server running on this data_dir?); stop it, or use another [server] data_dir"
    )]
    InUse { path: PathBuf },
    #[error("workspace store {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: Box<redb::Error>,
    },
    #[error("workspace store {path}: cannot create the folder: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("workspace store {path}: unreadable metadata of {name:?}: {source}")]
    Meta {
        path: PathBuf,
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The open database.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `folder`; returns it with every variable's
    /// metadata in insertion order.
    pub fn open(folder: &Path) -> Result<(Store, Vec<Meta>), StoreError> {
        std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
            path: folder.to_owned(),
            source,
        })?;
        let path = folder.join(FILE_NAME);
        let db = Database::create(&path).map_err(|err| match err {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse { path: path.clone() },
            err => StoreError::Database {
                path: path.clone(),
                source: Box::new(err.into()),
            },
        })?;
        // Make the new file's directory entry durable too (a power loss right after the
        // first commit must not lose the whole file).
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        let store = Store { db, path };
        store.create_tables()?;
        let metas = store.read_all_meta()?;
        Ok((store, metas))
    }

    fn fail(&self, err: impl Into<redb::Error>) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            source: Box::new(err.into()),
        }
    }

    fn create_tables(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        txn.open_table(META).map_err(|e| self.fail(e))?;
        txn.open_table(DATA).map_err(|e| self.fail(e))?;
        txn.commit().map_err(|e| self.fail(e))
    }

    fn read_all_meta(&self) -> Result<Vec<Meta>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = txn.open_table(META).map_err(|e| self.fail(e))?;
        let mut metas = Vec::with_capacity(table.len().map_err(|e| self.fail(e))? as usize);
        for entry in table.iter().map_err(|e| self.fail(e))? {
            let (name, meta) = entry.map_err(|e| self.fail(e))?;
            let meta: Meta =
                serde_json::from_slice(meta.value()).map_err(|source| StoreError::Meta {
                    path: self.path.clone(),
                    name: name.value().to_owned(),
                    source,
                })?;
            metas.push(meta);
        }
        metas.sort_by_key(|meta| meta.position);
        Ok(metas)
    }

    /// Stores every `(meta, bytes)` in one transaction, durable when this returns.
    pub fn write(&self, entries: &[(Meta, &[u8])]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut meta_table = txn.open_table(META).map_err(|e| self.fail(e))?;
            let mut data_table = txn.open_table(DATA).map_err(|e| self.fail(e))?;
            for (meta, bytes) in entries {
                let meta_json = serde_json::to_vec(meta).expect("Meta serialises");
                meta_table
                    .insert(meta.name.as_str(), meta_json.as_slice())
                    .map_err(|e| self.fail(e))?;
                data_table
                    .insert(meta.name.as_str(), *bytes)
                    .map_err(|e| self.fail(e))?;
            }
        }
        txn.commit().map_err(|e| self.fail(e))
    }

    /// Removes `names` in one transaction, durable when this returns.
    pub fn delete(&self, names: &[&str]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut meta_table = txn.open_table(META).map_err(|e| self.fail(e))?;
            let mut data_table = txn.open_table(DATA).map_err(|e| self.fail(e))?;
            for name in names {
                meta_table.remove(*name).map_err(|e| self.fail(e))?;
                data_table.remove(*name).map_err(|e| self.fail(e))?;
            }
        }
        txn.commit().map_err(|e| self.fail(e))
    }

    /// Calls `visit` with the metadata and stored bytes of each of `names` that exists,
    /// all read from one consistent snapshot, without copying the bytes.
    pub fn read_each<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
        mut visit: impl FnMut(&Meta, &[u8]),
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let meta_table = txn.open_table(META).map_err(|e| self.fail(e))?;
        let data_table = txn.open_table(DATA).map_err(|e| self.fail(e))?;
        for name in names {
            let Some(meta) = meta_table.get(name).map_err(|e| self.fail(e))? else {
                continue;
            };
            let meta: Meta =
                serde_json::from_slice(meta.value()).map_err(|source| StoreError::Meta {
                    path: self.path.clone(),
                    name: name.to_owned(),
                    source,
                })?;
            if let Some(bytes) = data_table.get(name).map_err(|e| self.fail(e))? {
                visit(&meta, bytes.value());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, position: u64) -> Meta {
        Meta {
            name: name.into(),
            encoding: "pickle".into(),
            type_hint: "other".into(),
            size: 1,
            version: 1,
            provider: "t".into(),
            created: 1.0,
            modified: 1.0,
            position,
        }
    }

    #[test]
    fn writes_survive_reopening_in_position_order() {
        let dir = crate::test_support::TempFolder::new("store-reopen");
        {
            let (store, metas) = Store::open(dir.path()).unwrap();
            assert!(metas.is_empty());
            store
                .write(&[(meta("b", 0), b"B".as_slice()), (meta("a", 1), b"A")])
                .unwrap();
            store.write(&[(meta("c", 2), b"C".as_slice())]).unwrap();
            store.delete(&["c", "never"]).unwrap();
        }
        let (store, metas) = Store::open(dir.path()).unwrap();
        let names: Vec<&str> = metas.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        let mut seen = Vec::new();
        store
            .read_each(["a", "b", "c"], |meta, bytes| {
                seen.push((meta.name.clone(), bytes.to_vec()))
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                ("a".to_owned(), b"A".to_vec()),
                ("b".to_owned(), b"B".to_vec())
            ]
        );
    }

    #[test]
    fn a_second_open_of_the_same_folder_is_refused() {
        let dir = crate::test_support::TempFolder::new("store-lock");
        let _first = Store::open(dir.path()).unwrap();
        let second = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(second, StoreError::InUse { .. }), "{second}");
        assert!(second.to_string().contains("is in use by another process"));
    }
}
