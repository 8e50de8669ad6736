//! `labsocket vars`: the workspace variables of a running server (`workspace.list`).

use super::terminal::{self, styles, Cell, Painter};
use super::{init_logging, ServerAddress, EXIT_FAILURE};
use crate::native::client::ClientError;
use crate::pyjson::{self, Value};
use labsocket_plugin_api::codes;

#[derive(clap::Args)]
pub struct VarsArgs {
    /// Print the `workspace.list` reply as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerAddress,
}

pub async fn run(args: VarsArgs) -> u8 {
    init_logging("warn");
    let mut client = match args.server.connect().await {
        Ok(client) => client,
        Err(err) => return args.server.report(&err),
    };
    let list = match client
        .call("workspace.list", Value::Dict(Default::default()))
        .await
    {
        Ok(list) => list,
        Err(ClientError::Remote(error)) if error.code == codes::METHOD_NOT_FOUND => {
            eprintln!(
                "labsocket: the server at {} has no workspace (its workspace plugin is not loaded)",
                args.server.describe()
            );
            return EXIT_FAILURE;
        }
        Err(err) => return args.server.report(&err),
    };
    if args.json {
        println!("{}", pyjson::to_python_json(&list));
        return 0;
    }
    let Value::List(variables) = list else {
        eprintln!(
            "labsocket: workspace.list answered {}",
            pyjson::to_python_json(&list)
        );
        return EXIT_FAILURE;
    };
    if variables.is_empty() {
        println!("no variables");
        return 0;
    }
    print!("{}", table(&Painter::stdout(), &variables));
    0
}

fn table(painter: &Painter, variables: &[Value]) -> String {
    let rows: Vec<Vec<Cell>> = variables
        .iter()
        .map(|meta| {
            let text = |key: &str| match meta.get(key) {
                Some(Value::Str(text)) => text.clone(),
                None | Some(Value::Null) => "-".to_owned(),
                Some(other) => pyjson::to_python_json(other),
            };
            let size = meta
                .get("size")
                .and_then(Value::as_f64)
                .map(terminal::bytes)
                .unwrap_or_else(|| "-".to_owned());
            let modified = meta
                .get("modified")
                .and_then(Value::as_f64)
                .map(terminal::utc_timestamp)
                .unwrap_or_else(|| "-".to_owned());
            vec![
                Cell::new(text("name"), styles::KEY),
                Cell::plain(text("encoding")),
                Cell::plain(text("type_hint")),
                Cell::plain(size),
                Cell::plain(text("version")),
                Cell::plain(text("provider")),
                Cell::new(modified, styles::TIME),
            ]
        })
        .collect();
    terminal::table(
        painter,
        &[
            "name", "encoding", "type", "size", "version", "provider", "modified",
        ],
        &rows,
    )
}
