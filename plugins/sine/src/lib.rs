//! `sine`: demo data sources, so a fresh server and its demos have values that move.
//!
//! Two small plugins live in this crate, one per command family, each named like its
//! commands' prefix (command names are global, `docs/plugins.md`):
//!
//! - [`signals`], plugin `sine`: `sine.sample` returns periodic signals and a random walk.
//! - [`counter`], plugin `dummy`: `dummy.sample` returns a counter that counts its calls
//!   (an int, to show that ints stay ints from a source to every client).
//!
//! Both return `{codename: y}`, the shape a `[[source]]` stores with x = now:
//!
//! ```toml
//! [[source]]
//! command = "sine.sample"
//! interval_secs = 0.1
//! ```

pub mod counter;
pub mod signals;
