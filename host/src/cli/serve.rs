//! `labsocket serve`.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::log_file::LogFile;
use super::{init_logging, init_logging_to_file, parse_ip, EXIT_FAILURE, EXIT_USAGE};
use crate::config::{Config, ServerSection};
use crate::data_dir_lock::DataDirLock;
use crate::server::{Server, StartError};
use crate::tls::ServerTls;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    labsocket serve                              # built-in default, data in ./labsocket-data\n  \
    labsocket serve --config lab.toml\n  \
    labsocket serve --native-port 12400 --pyminer-port 12401\n  \
    labsocket serve --log-file /var/log/labsocket.log   # SIGHUP reopens it")]
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
    /// Write the log to this file (appending) instead of stderr; SIGHUP reopens it, for
    /// log rotation.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
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
    if let Some(state) = service_state_dir(std::env::var_os("STATE_DIRECTORY").as_deref()) {
        if config.server.data_dir == ServerSection::default().data_dir {
            config.server.data_dir = state;
        }
    }
    config
        .validate()
        .map_err(|message| format!("config error in {}: {message}", config.file_name()))?;
    Ok(config)
}

/// The state directory systemd made for the service (`StateDirectory=` sets
/// `$STATE_DIRECTORY`, several joined by `:`; the first is ours). As a service the
/// working directory is `/`, so the default `./labsocket-data` would be wrong there.
fn service_state_dir(value: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let value = value?.to_str()?;
    let first = value.split(':').next()?;
    Path::new(first).is_absolute().then(|| PathBuf::from(first))
}

/// The start-up failure as the user can act on it: a port in use names the option that
/// moves it.
fn explain(err: &StartError) -> String {
    let in_use = |source: &std::io::Error| source.kind() == std::io::ErrorKind::AddrInUse;
    match err {
        StartError::Bind {
            front_end, source, ..
        } if in_use(source) => {
            let flag = match *front_end {
                "native" => "--native-port",
                "pyminer" => "--pyminer-port",
                "http" => "--http-port",
                "live_server" => "--live-server-port",
                _ => return err.to_string(),
            };
            format!(
                "{err} — another program (another labsocket?) uses it; pick another port with \
                 {flag} PORT or [{front_end}] port in the config (0 picks a free one)"
            )
        }
        StartError::UdpBind(crate::pyexplabsys::BindError {
            front_end,
            name,
            source,
            ..
        }) if in_use(source) => {
            // Front end names are `pull.0`, `push.1`, `live.0`: the config's
            // `[[pull_socket]]`, `[[push_socket]]`, `[[live_socket]]`.
            let kind = front_end.split('.').next().unwrap_or(front_end);
            format!(
                "{err} — another program (another labsocket?) uses it; set another `port` \
                 for {name:?} ([[{kind}_socket]] in the config)"
            )
        }
        _ => err.to_string(),
    }
}

pub async fn run(args: ServeArgs) -> u8 {
    let log_file = match &args.log_file {
        None => {
            init_logging("info");
            None
        }
        Some(path) => match LogFile::open(path) {
            Ok(file) => {
                init_logging_to_file("info", file.clone());
                Some(file)
            }
            Err(err) => {
                eprintln!(
                    "labsocket: cannot open the log file {}: {err}",
                    path.display()
                );
                return EXIT_USAGE;
            }
        },
    };
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
            eprintln!("labsocket: {}", explain(&err));
            return match err {
                StartError::SourceCommand { .. } => EXIT_USAGE,
                _ => EXIT_FAILURE,
            };
        }
    };
    let stop = crate::shutdown::signal();
    // Also before `ready`: SIGHUP's default action would kill the server.
    on_hangup(log_file, server.tls());
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

/// Handles SIGHUP for the life of the process: reopens the `--log-file` (after a log
/// rotation moved it) and reloads `[tls]`'s certificate, and says so in the log. With
/// neither it only logs that it had nothing to do: SIGHUP never stops the server.
fn on_hangup(log_file: Option<LogFile>, tls: Option<Arc<ServerTls>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(err) => {
                tracing::warn!("cannot listen for SIGHUP: {err}");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                if let Some(tls) = &tls {
                    reload_tls(tls);
                }
                match &log_file {
                    None if tls.is_some() => {}
                    None => tracing::info!("SIGHUP: no --log-file to reopen; carrying on"),
                    Some(file) => match file.reopen() {
                        Ok(()) => {
                            tracing::info!("reopened log file {}", file.path().display())
                        }
                        Err(err) => tracing::error!(
                            "SIGHUP: cannot reopen log file {}: {err}; still writing to the old one",
                            file.path().display()
                        ),
                    },
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop((log_file, tls));
}

/// Reloads the certificate; a file that cannot be used is logged and the old one kept.
fn reload_tls(tls: &ServerTls) {
    match tls.reload() {
        Ok(()) => tracing::info!(
            "SIGHUP: reloaded the TLS certificate {}",
            tls.cert_file().display()
        ),
        Err(message) => tracing::error!(
            "SIGHUP: cannot reload the TLS certificate: {message}; still using the previous one"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_state_dir_is_the_first_absolute_one() {
        let dir = |text: &str| service_state_dir(Some(std::ffi::OsStr::new(text)));
        assert_eq!(
            dir("/var/lib/labsocket"),
            Some(PathBuf::from("/var/lib/labsocket"))
        );
        assert_eq!(
            dir("/var/lib/labsocket:/var/lib/other"),
            Some(PathBuf::from("/var/lib/labsocket"))
        );
        assert_eq!(dir("relative"), None);
        assert_eq!(service_state_dir(None), None);
    }
}
