//! `labsocket call METHOD [JSON_PARAMS]`: one command on a running server.

use super::{init_logging, ServerAddress, EXIT_USAGE};
use crate::pyjson::{self, Value};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  labsocket call ping\n  labsocket call set_point '[\"temp\", 1795238169.25, 21.5]'\n  labsocket call hello.greet '{\"name\": \"Ada\"}'\n\nThe result is printed as JSON on stdout (exit 0); an error reply goes to stderr (exit 1)."
)]
pub struct CallArgs {
    /// The command, e.g. `ping`, `commands`, `hello.greet` (`commands` lists them all).
    pub method: String,
    /// Its params as JSON: an array or an object (default: none).
    pub params: Option<String>,
    #[command(flatten)]
    pub server: ServerAddress,
}

pub async fn run(args: CallArgs) -> u8 {
    init_logging("warn");
    let params = match args.params.as_deref().map(pyjson::parse) {
        None => Value::Null,
        Some(Ok(params @ (Value::List(_) | Value::Dict(_)))) => params,
        Some(Ok(_)) => {
            eprintln!("labsocket: params must be a JSON array or object");
            return EXIT_USAGE;
        }
        Some(Err(err)) => {
            eprintln!("labsocket: params are not valid JSON: {err}");
            return EXIT_USAGE;
        }
    };
    let mut client = match args.server.connect().await {
        Ok(client) => client,
        Err(err) => return args.server.report(&err),
    };
    match client.call(&args.method, params).await {
        Ok(result) => {
            println!("{}", pyjson::to_python_json(&result));
            0
        }
        Err(err) => args.server.report(&err),
    }
}
