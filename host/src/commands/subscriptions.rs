//! `subscribe` and `unsubscribe`: they change one connection's topics, so only a front end
//! with per-connection state answers them (the native one); they are declared here so that
//! `commands` lists them and no plugin claims the names.

use crate::host_core::Command;

/// The method that adds topics to a connection's subscription.
pub const SUBSCRIBE: &str = "subscribe";
/// The method that removes topics from it.
pub const UNSUBSCRIBE: &str = "unsubscribe";

pub(crate) fn commands() -> Vec<Command> {
    vec![
        Command::connection(
            SUBSCRIBE,
            "Subscribes this connection to {\"topics\": [...]} (\"*\" for all)",
            "{\"topics\": [topic, ...]}",
        )
        .returns("{\"topics\": [the connection's topics, sorted]}"),
        Command::connection(
            UNSUBSCRIBE,
            "Unsubscribes this connection from {\"topics\": [...]}",
            "{\"topics\": [topic, ...]}",
        )
        .returns("{\"topics\": [the connection's topics, sorted]}"),
    ]
}
