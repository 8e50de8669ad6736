//! `labsocket plugins`: load the configured plugins without serving, and list them.
//!
//! By default each plugin is checked (descriptor, plugin API version, name and command
//! clashes) and listed, but its init is not run: init may open files, take locks or
//! probe instruments, which a server running on the same config already holds, and a
//! listing must not disturb it. `--init` runs every init as `serve` does, to check that
//! the plugins start with this config (best while no server uses its data directory).

use super::{init_logging, ConfigArgs, EXIT_FAILURE, EXIT_USAGE};
use crate::commands::introspection::report_json;
use crate::config::Config;
use crate::plugins::PluginReport;
use crate::pyjson::{self, Value};

#[derive(clap::Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print a JSON array instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also run each plugin's init, as `serve` does, and report the ones that fail (their
    /// data directory must not be in use by a running server).
    #[arg(long)]
    pub init: bool,
}

pub async fn run(args: PluginsArgs) -> u8 {
    init_logging("off");
    let config = match &args.config.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(err) => {
                eprintln!("labsocket: {err}");
                return EXIT_USAGE;
            }
        },
        None => Config::default(),
    };
    let reports = match crate::server::load_core(&config, args.init).await {
        Ok((_, reports)) => reports,
        Err(err) => {
            eprintln!("labsocket: {err}");
            return EXIT_FAILURE;
        }
    };
    if args.json {
        let list = reports
            .iter()
            .map(|report| {
                report_json(
                    &report.source,
                    report.outcome.as_ref().map_err(ToString::to_string),
                )
            })
            .collect();
        println!("{}", pyjson::to_python_json(&Value::List(list)));
    } else {
        print_text(&reports);
    }
    if reports.iter().any(|report| report.outcome.is_err()) {
        EXIT_FAILURE
    } else {
        0
    }
}

fn print_text(reports: &[PluginReport]) {
    for report in reports {
        match &report.outcome {
            Ok(info) => {
                println!(
                    "{} {}  [{}]  plugin API {}",
                    info.name, info.version, info.source, info.api_version
                );
                let width = info
                    .commands
                    .iter()
                    .map(|(n, _)| n.len())
                    .max()
                    .unwrap_or(0);
                for (name, description) in &info.commands {
                    println!("    {name:width$}  {description}");
                }
            }
            Err(err) => println!("FAILED [{}]: {err}", report.source),
        }
    }
}
