//! The core commands, one file per family, each declared once as a
//! `Command` (name, one-line description, params, handler):
//!
//! - `basic`: `ping`, `echo`.
//! - `introspection`: `commands`, `plugins`, `status`.
//! - `subscriptions`: `subscribe`, `unsubscribe` (answered by a native connection).
//! - `points`: `set_point`, `set_point_now`, `get_point`.
//!
//! `core_commands` is the table boot registers first on the core; front ends register
//! theirs after it, and dispatch routes over both and then the plugin registry.

pub(crate) mod basic;
pub(crate) mod introspection;
pub(crate) mod points;
pub(crate) mod subscriptions;

use crate::host_core::Command;

/// Every core command, in the order `commands` lists them.
pub(crate) fn core_commands() -> Vec<Command> {
    [
        basic::commands(),
        introspection::commands(),
        subscriptions::commands(),
        points::commands(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The core command names, which no plugin may claim.
pub fn core_command_names() -> Vec<&'static str> {
    core_commands().iter().map(|command| command.name).collect()
}
