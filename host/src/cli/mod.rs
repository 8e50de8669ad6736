//! The command line: `labsocket serve | plugins` run a server or inspect its plugins; the
//! client subcommands (`call`, `watch`, `status`, `vars`, `get`, `push`) talk to a running
//! one; `new-plugin` writes a plugin project. One file per family.
//!
//! Exit codes scripts can rely on: 0 success, 1 the operation failed (server error,
//! unreachable server, a plugin that failed to load), 2 bad usage or a bad config.

pub mod call;
pub mod history;
pub(crate) mod log_file;
pub mod new_plugin;
pub mod plugins;
pub mod pull;
pub mod serve;
pub mod status;
pub mod terminal;
pub mod vars;
pub mod watch;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::native::client::ClientError;
use labsocket_plugin_api::codes;

/// Exit code: the operation failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage or bad configuration.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "labsocket",
    version,
    about = "A fast, safe host for live laboratory data and shared data workspaces",
    long_about = "labsocket serves live measurements (PyExpLabSys data sockets) and a shared \
                  workspace (PyMiner) plus a JSON-RPC protocol for new clients, with \
                  commands added by plugins.\n\nStart a server with `labsocket serve`; the \
                  other subcommands talk to a running server.",
    after_help = "Examples:\n  \
        labsocket serve                         # start a server (data in ./labsocket-data)\n  \
        labsocket serve --config lab.toml       # with your configuration\n  \
        labsocket status                        # is it running, what is connected\n  \
        labsocket call ping                     # call a command; `call commands` lists them\n  \
        labsocket watch data_changed            # follow events (waits for the server)\n  \
        labsocket vars                          # the workspace variables\n  \
        labsocket get --port 9000 temp          # read a PyExpLabSys pull socket\n\n\
        Client subcommands take --host, --port (default 127.0.0.1:12307), --token (or \
        LABSOCKET_TOKEN) and --tls/--ca-file (or LABSOCKET_TLS/LABSOCKET_CA_FILE). `labsocket COMMAND --help` has more, docs/user-guide.md everything."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (with no --config: the built-in default on loopback).
    Serve(serve::ServeArgs),
    /// Load the configured plugins without serving and list them with their commands.
    Plugins(plugins::PluginsArgs),
    /// Call a command on a running server and print its result as JSON.
    Call(call::CallArgs),
    /// Print events from a running server as they arrive (reconnects by itself).
    Watch(watch::WatchArgs),
    /// Show a running server's version, uptime, front ends and counts.
    Status(status::StatusArgs),
    /// List the workspace variables of a running server.
    Vars(vars::VarsArgs),
    /// Read codenames from a PyExpLabSys-style UDP pull socket.
    Get(pull::GetArgs),
    /// Send values to a PyExpLabSys-style UDP push socket.
    Push(pull::PushArgs),
    /// Print recorded points of a running server (its history), as a table or CSV.
    History(history::HistoryArgs),
    /// Write a new plugin project (plugin crate, dylib wrapper, a test) that builds and loads.
    NewPlugin(new_plugin::NewPluginArgs),
}

/// Where a client subcommand finds the server.
#[derive(clap::Args, Clone)]
pub struct ServerAddress {
    /// Server host (native protocol).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Native protocol port.
    #[arg(long, default_value_t = 12307)]
    pub port: u16,
    /// The server's shared secret, when it requires one (`[native] auth_token_file`).
    /// Prefer the environment variable: command lines are visible to other users.
    #[arg(long, env = "LABSOCKET_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Connect with TLS (a server with `[tls]`), checking its certificate against the
    /// system's CAs or `--ca-file`.
    #[arg(long, env = "LABSOCKET_TLS")]
    pub tls: bool,
    /// The CA certificate (PEM) that signed the server's certificate, or the server's
    /// self-signed certificate itself; implies --tls.
    #[arg(long, env = "LABSOCKET_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl ServerAddress {
    /// What `connect` takes.
    pub fn socket_address(&self) -> (&str, u16) {
        (self.host.as_str(), self.port)
    }

    /// Whether to connect with TLS.
    fn uses_tls(&self) -> bool {
        self.tls || self.ca_file.is_some()
    }

    /// A connection (TLS with `--tls`), authenticated when a token is given.
    pub async fn connect(&self) -> Result<crate::native::client::Client, ClientError> {
        use crate::native::client::Client;
        let mut client = if self.uses_tls() {
            let config = crate::tls::client_config(self.ca_file.as_deref()).map_err(|message| {
                ClientError::Tls(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    message,
                ))
            })?;
            Client::connect_tls(&self.host, self.port, config).await?
        } else {
            Client::connect(self.socket_address()).await?
        };
        if let Some(token) = &self.token {
            client.authenticate(token).await?;
        }
        Ok(client)
    }

    /// `host:port`, for messages.
    pub fn describe(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Prints a client error on stderr (see [`ServerAddress::explain`]); returns the exit
    /// code for it.
    pub fn report(&self, err: &ClientError) -> u8 {
        eprintln!("labsocket: {}", self.explain(err));
        EXIT_FAILURE
    }

    /// A client error in terms the user can act on: which address was tried and the
    /// option that changes it, or how to give the server's token.
    pub fn explain(&self, err: &ClientError) -> String {
        match err {
            ClientError::Io(source) => format!(
                "cannot reach the server at {}: {source} — is `labsocket serve` running? \
                 (on another host or port: `--host`, `--port`)",
                self.describe()
            ),
            ClientError::Remote(error) if error.code == codes::AUTH_REQUIRED => {
                let what = if self.token.is_some() {
                    "check the token given with"
                } else {
                    "give the server's token with"
                };
                format!(
                    "{} — {what} `--token` or the LABSOCKET_TOKEN environment variable \
                     (Python client: `token=`)",
                    error.message
                )
            }
            ClientError::Tls(source) => format!(
                "TLS with {} failed: {source} — the server's certificate must name `--host` \
                 and be signed by a CA you trust (give it with `--ca-file`); a server \
                 without [tls] needs no `--tls`",
                self.describe()
            ),
            ClientError::Closed | ClientError::Protocol(_) if !self.uses_tls() => format!(
                "{err} — if the server at {} has [tls], connect with `--tls` (and \
                 `--ca-file`)",
                self.describe()
            ),
            other => other.to_string(),
        }
    }
}

/// Options every server-side subcommand shares.
#[derive(clap::Args)]
pub struct ConfigArgs {
    /// The TOML config file (default: the built-in configuration).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Entry point of the binary.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("labsocket: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Plugins(args) => plugins::run(args).await,
            Command::Call(args) => call::run(args).await,
            Command::Watch(args) => watch::run(args).await,
            Command::Status(args) => status::run(args).await,
            Command::Vars(args) => vars::run(args).await,
            Command::Get(args) => pull::get(args).await,
            Command::Push(args) => pull::push(args).await,
            Command::History(args) => history::run(args).await,
            Command::NewPlugin(args) => new_plugin::run(args),
        }
    });
    // Blocking plugin calls cannot be aborted; do not wait for a hung one at exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(code)
}

/// Logs to stderr, filtered by `RUST_LOG` (default `default_level`), coloured by the same
/// rules as the client output (a log redirected to a file gets no escape codes).
pub fn init_logging(default_level: &str) {
    let colour = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(default_level))
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

/// Logs to `file` instead of stderr (`serve --log-file`), without colours.
pub(crate) fn init_logging_to_file(default_level: &str, file: log_file::LogFile) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(default_level))
        .with_writer(file)
        .with_ansi(false)
        .try_init();
}

/// `RUST_LOG`, else `default_level`.
fn log_filter(default_level: &str) -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level))
}

/// Parses `--bind` values.
pub fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)"))
}
