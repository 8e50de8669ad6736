//! `labsocket serve`.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{init_logging, parse_ip, EXIT_FAILURE, EXIT_USAGE};
use crate::config::Config;
use crate::data_dir_lock::DataDirLock;
use crate::server::{Server, StartError};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The TOML config file (default: the built-in configuration).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Address every front end binds (overrides [server] bind).
    #[arg(long, value_parser = parse_ip)]
    pub bind: Option<IpAddr>,
    /// Native JSON-RPC port (overrides [native] port; 0 picks a free port).
    #[arg(long)]
    pub native_port: Option<u16>,
    /// HTTP live-view port (overrides [http] port; 0 picks a free port).
    #[arg(long)]
    pub http_port: Option<u16>,
    /// Live-server UDP port (overrides [live_server] port; 0 picks a free port).
    #[arg(long)]
    pub live_server_port: Option<u16>,
    /// PyMiner port (overrides [pyminer] port; 0 picks a free port).
    #[arg(long)]
    pub pyminer_port: Option<u16>,
}

/// Loads the config (or the default) and applies command-line overrides.
fn configure(args: &ServeArgs) -> Result<Config, String> {
    let mut config = match &args.config {
        Some(path) => Config::load(path).map_err(|err| err.to_string())?,
        None => Config::default(),
    };
    if let Some(bind) = args.bind {
        config.server.bind = bind;
    }
    if let Some(port) = args.native_port {
        config.native.port = port;
    }
    if let Some(port) = args.http_port {
        config.http.port = port;
    }
    if let Some(port) = args.live_server_port {
        config.live_server.port = port;
    }
    if let Some(port) = args.pyminer_port {
        config.pyminer.port = port;
    }
    config
        .validate()
        .map_err(|message| format!("config error in {}: {message}", config.file_name()))?;
    Ok(config)
}

pub async fn run(args: ServeArgs) -> u8 {
    init_logging("info");
    // A panic in host code or a compiled-in plugin is caught where it matters (plugin
    // calls, tasks); log it as one line instead of a backtrace on stderr.
    std::panic::set_hook(Box::new(|info| tracing::error!("panic: {info}")));
    let config = match configure(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("labsocket: {message}");
            return EXIT_USAGE;
        }
    };
    tracing::info!(config = %config.file_name(), "labsocket {} starting", crate::VERSION);
    // Before anything listens: a second server on the same data directory must not start
    // (its plugins could not open their files, and it would still print `ready`).
    let _data_dir_lock = match DataDirLock::acquire(&config.data_dir()) {
        Ok(lock) => lock,
        Err(err) => {
            eprintln!("labsocket: {err}");
            return EXIT_FAILURE;
        }
    };
    let server = match Server::start(&config).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("labsocket: {err}");
            return match err {
                StartError::SourceCommand { .. } => EXIT_USAGE,
                _ => EXIT_FAILURE,
            };
        }
    };
    let stop = crate::shutdown::signal();
    // Machine-readable start-up lines on stdout (logs go to stderr): one per front end,
    // then `ready`. Scripts and tests wait for `ready` instead of sleeping.
    {
        let mut out = std::io::stdout().lock();
        for front_end in server.core.front_ends() {
            let _ = writeln!(out, "listening {} {}", front_end.name, front_end.address);
            tracing::info!(
                "{} front end listening on {}",
                front_end.name,
                front_end.address
            );
        }
        let _ = writeln!(out, "ready");
        let _ = out.flush();
    }
    stop.await;
    tracing::info!("shutting down");
    server.stop(Duration::from_secs(5)).await;
    tracing::info!("stopped");
    0
}
