//! Where rows are kept. Only SQLite is built ([`sqlite`]); `store = "postgres"` is refused at
//! init with a clear error until its backend exists.

pub mod sqlite;

use serde_json::Value;

/// One recorded point: SPEC §8's `(codename, time, x, y)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub codename: String,
    /// The point's set time, Unix seconds.
    pub time: f64,
    pub x: Value,
    pub y: Value,
}
