//! Topic names of the event bus that the host, its front ends and first-party plugins
//! share. A plugin may emit any other topic too.

/// A workspace variable was written: `{"data_name", "data_source"}`.
pub const DATA_CHANGED: &str = "data_changed";
/// A workspace variable was deleted: `{"data_name", "data_source"}`.
pub const DATA_DELETED: &str = "data_deleted";
/// Points were set: `{codename: [x, y], ...}`; the event's time is their set time.
pub const POINTS: &str = "points";
/// Not published on the bus: a plugin subscription that names this topic receives the
/// [`POINTS`] events queued for it gathered into one call, as
/// `[[codename, time, x, y], ...]` in publication order (two updates of one codename stay
/// two entries, each with its own set time); the call's time is the last entry's. It is
/// the form for a plugin that keeps every point (history): a burst crosses the plugin
/// boundary in a few calls instead of one per point. An entry of a `points` event that
/// is not `codename: [x, y]` arrives as `[codename, time, value]`, and a `points` payload
/// that is not an object as `[null, time, payload]`, for the subscriber to count. `*`
/// does not include it; naming both `points` and this topic gets both forms. A host
/// older than this constant treats it as a topic nobody publishes: nothing arrives.
pub const POINTS_BATCH: &str = "points_batch";
/// A setting changed: `{"name", "value"}`.
pub const SETTINGS_CHANGED: &str = "settings_changed";
/// Every topic, in a subscription.
pub const ALL: &str = "*";
