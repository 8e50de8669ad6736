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
//! at start-up) and `data` (the value's bytes, read only when a client asks for them),
//! and `counters` (`rev`: the highest [`Meta::rev`] ever written, kept in the same
//! transaction as the values, so it survives deleting the variable that had it).
//! Several variables written together (`write_var_dic`) are one transaction.
//!
//! After a failed write (a full disk, say) redb refuses every later operation with
//! "Previous I/O error" until the database is reopened. The file itself is intact (the
//! failed transaction never committed), so [`Store`] reopens it and retries once: reads
//! keep working on a full disk, and writes work again as soon as there is room.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::meta::Meta;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const DATA: TableDefinition<&str, &[u8]> = TableDefinition::new("data");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
const REV: &str = "rev";

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

/// The open database (`None` while a reopen after an I/O error has failed).
pub struct Store {
    db: RwLock<Option<Database>>,
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
        let db = create(&path)?;
        // Make the new file's directory entry durable too (a power loss right after the
        // first commit must not lose the whole file).
        if let Ok(dir) = std::fs::File::open(folder) {
            let _ = dir.sync_all();
        }
        let store = Store {
            db: RwLock::new(Some(db)),
            path,
        };
        store.with_db(|db| store.create_tables(db))?;
        let metas = store.with_db(|db| store.read_all_meta(db))?;
        Ok((store, metas))
    }

    /// Runs `op` on the database. If the database is closed, or redb refuses because
    /// of an earlier I/O error, reopens it and runs `op` once more.
    fn with_db<T>(
        &self,
        mut op: impl FnMut(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        {
            let db = self.db.read().unwrap_or_else(|e| e.into_inner());
            if let Some(db) = db.as_ref() {
                match op(db) {
                    Err(err) if err.is_previous_io() => {}
                    outcome => return outcome,
                }
            }
        }
        self.reopen()?;
        let db = self.db.read().unwrap_or_else(|e| e.into_inner());
        // `None` only if another thread's reopen failed meanwhile.
        op(db
            .as_ref()
            .ok_or_else(|| self.fail(redb::Error::PreviousIo))?)
    }

    /// Closes and reopens the database file (redb's answer to an earlier I/O error).
    fn reopen(&self) -> Result<(), StoreError> {
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        // The old handle holds the file lock: it must be gone before the file is reopened.
        *db = None;
        *db = Some(create(&self.path)?);
        Ok(())
    }

    fn fail(&self, err: impl Into<redb::Error>) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            source: Box::new(err.into()),
        }
    }

    fn create_tables(&self, db: &Database) -> Result<(), StoreError> {
        let txn = db.begin_write().map_err(|e| self.fail(e))?;
        txn.open_table(META).map_err(|e| self.fail(e))?;
        txn.open_table(DATA).map_err(|e| self.fail(e))?;
        txn.open_table(COUNTERS).map_err(|e| self.fail(e))?;
        txn.commit().map_err(|e| self.fail(e))
    }

    /// The highest [`Meta::rev`] ever written (0 for a new store).
    pub fn last_rev(&self) -> Result<u64, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(|e| self.fail(e))?;
            let table = txn.open_table(COUNTERS).map_err(|e| self.fail(e))?;
            let rev = table.get(REV).map_err(|e| self.fail(e))?;
            Ok(rev.map_or(0, |rev| rev.value()))
        })
    }

    fn read_all_meta(&self, db: &Database) -> Result<Vec<Meta>, StoreError> {
        let txn = db.begin_read().map_err(|e| self.fail(e))?;
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
        self.with_db(|db| self.write_in(db, entries))
    }

    fn write_in(&self, db: &Database, entries: &[(Meta, &[u8])]) -> Result<(), StoreError> {
        let txn = db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut meta_table = txn.open_table(META).map_err(|e| self.fail(e))?;
            let mut data_table = txn.open_table(DATA).map_err(|e| self.fail(e))?;
            if let Some(rev) = entries.iter().map(|(meta, _)| meta.rev).max() {
                let mut counters = txn.open_table(COUNTERS).map_err(|e| self.fail(e))?;
                counters.insert(REV, rev).map_err(|e| self.fail(e))?;
            }
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
        self.with_db(|db| self.delete_in(db, names))
    }

    fn delete_in(&self, db: &Database, names: &[&str]) -> Result<(), StoreError> {
        let txn = db.begin_write().map_err(|e| self.fail(e))?;
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
        let names: Vec<&str> = names.into_iter().collect();
        self.with_db(|db| self.read_each_in(db, &names, &mut visit))
    }

    fn read_each_in(
        &self,
        db: &Database,
        names: &[&str],
        visit: &mut impl FnMut(&Meta, &[u8]),
    ) -> Result<(), StoreError> {
        let txn = db.begin_read().map_err(|e| self.fail(e))?;
        let meta_table = txn.open_table(META).map_err(|e| self.fail(e))?;
        let data_table = txn.open_table(DATA).map_err(|e| self.fail(e))?;
        for &name in names {
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

fn create(path: &Path) -> Result<Database, StoreError> {
    Database::create(path).map_err(|err| match err {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
            path: path.to_owned(),
        },
        err => StoreError::Database {
            path: path.to_owned(),
            source: Box::new(err.into()),
        },
    })
}

impl StoreError {
    fn is_previous_io(&self) -> bool {
        matches!(self, StoreError::Database { source, .. } if matches!(**source, redb::Error::PreviousIo))
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
            rev: position + 1,
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
        assert_eq!(store.last_rev().unwrap(), 3, "c's rev outlives c");
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
