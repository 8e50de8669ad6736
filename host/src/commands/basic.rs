//! `ping` and `echo`: a connection check and a round trip of the params.

use crate::host_core::Command;
use crate::pyjson::Value;

pub(crate) fn commands() -> Vec<Command> {
    vec![
        Command::now("ping", "Answers \"pong\"", "none", |_, _| {
            Ok(Value::Str("pong".to_owned()))
        })
        .returns("\"pong\"")
        .read_only(),
        Command::now(
            "echo",
            "Returns its params unchanged",
            "anything",
            |_, params| Ok(params.clone()),
        )
        .returns("the params")
        .read_only(),
    ]
}
