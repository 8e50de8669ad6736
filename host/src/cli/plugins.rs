//! `labsocket plugins`: load the configured plugins without serving, and list them.
//!
//! By default each plugin is checked (descriptor, plugin API version, name and command
//! clashes) and listed, but its init is not run: init may open files, take locks or
//! probe instruments, which a server running on the same config already holds, and a
//! listing must not disturb it. `--init` runs every init as `serve` does, to check that
//! the plugins start with this config (best while no server uses its data directory).

use super::{init_logging, ConfigArgs, EXIT_FAILURE, EXIT_USAGE};
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
        Ok(loaded) => loaded.reports,
        Err(err) => {
            eprintln!("labsocket: {err}");
            return EXIT_FAILURE;
        }
    };
    if args.json {
        let list = reports.iter().map(PluginReport::to_value).collect();
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
                if !info.description.is_empty() {
                    println!("    {}", info.description);
                }
                let width = info
                    .commands
                    .iter()
                    .map(|command| command.name.len())
                    .max()
                    .unwrap_or(0);
                for command in &info.commands {
                    let read_only = if command.read_only {
                        " [read-only]"
                    } else {
                        ""
                    };
                    println!(
                        "    {:width$}  {}{read_only}",
                        command.name, command.description
                    );
                    if !command.params.is_empty() || !command.result.is_empty() {
                        let or_any =
                            |text: &str| if text.is_empty() { "?" } else { text }.to_owned();
                        println!(
                            "    {:width$}    {} -> {}",
                            "",
                            or_any(&command.params),
                            or_any(&command.result)
                        );
                    }
                }
            }
            Err(err) => println!("FAILED [{}]: {err}", report.source),
        }
    }
}
