//! Topic names of the event bus that the host, its front ends and first-party plugins
//! share. A plugin may emit any other topic too.

/// A workspace variable was written: `{"data_name", "data_source"}`.
pub const DATA_CHANGED: &str = "data_changed";
/// A workspace variable was deleted: `{"data_name", "data_source"}`.
pub const DATA_DELETED: &str = "data_deleted";
/// Points were set: `{codename: [x, y], ...}`; the event's time is their set time.
pub const POINTS: &str = "points";
/// A setting changed: `{"name", "value"}`.
pub const SETTINGS_CHANGED: &str = "settings_changed";
/// Every topic, in a subscription.
pub const ALL: &str = "*";
