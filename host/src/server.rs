//! Starting and stopping a whole labsocket host from a [`Config`].
//!
//! Order matters: the core commands and what each front end owns (its commands, its
//! `status` section) are registered first, so plugins cannot claim those names; then
//! plugins are loaded (their initialisers run foreign code and disk I/O, and the registry
//! is immutable afterwards), then each front end binds. If any bind fails the start fails
//! with the address in the message; nothing half-starts. Once every plugin is
//! initialised, plugins may call commands (the dispatcher is bound into their host
//! services).
//!
//! Stopping is the reverse: the front ends (and sources) stop first, then the plugins are
//! told `stopping`, their event subscriptions end, and their shutdown hooks run in reverse
//! load order (`plugins::stop`).
//!
//! This is the one place that reads the [`Config`] for the front ends: each gets its own
//! settings and the state it registered on the core.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::commands;
use crate::config::Config;
use crate::events::EventBus;
use crate::host_core::{Core, Extensions};
use crate::http;
use crate::live_server::{self, LiveHosts};
use crate::native;
use crate::plugins::host_api::{CallFuture, Caller};
use crate::plugins::{self, HostServices, LoadOptions, PluginReport};
use crate::points::PointTable;
use crate::pyexplabsys;
use crate::pyminer;
use crate::shutdown::Shutdown;
use crate::sources::{self, SourceList};
use crate::tls::ServerTls;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {address} for the {front_end} front end: {source}")]
    Bind {
        front_end: &'static str,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    UdpBind(#[from] pyexplabsys::BindError),
    #[error("plugin loading stopped unexpectedly: {0}")]
    Loader(String),
    /// A `[[source]]` names a command no plugin provides: a config mistake found only
    /// once plugins are loaded.
    #[error("config error in {file}: {message}")]
    SourceCommand { file: String, message: String },
    /// A token (`[native] auth_token*`, `[[auth.token]]`) cannot be used (file missing,
    /// readable by others, too short, a secret given twice).
    #[error("config error in {file}: {message}")]
    AuthToken { file: String, message: String },
    /// `[tls]` names a certificate or key that cannot be used.
    #[error("config error in {file}: [tls] {message}")]
    Tls { file: String, message: String },
}

/// A running host.
pub struct Server {
    pub core: Arc<Core>,
    shutdown: Shutdown,
    /// The plugins' host services, for the stop sequence.
    services: HostServices,
    /// `[tls]`'s certificate, reloaded on SIGHUP.
    tls: Option<Arc<ServerTls>>,
}

/// A core with its plugins loaded, by [`load_core`].
pub struct LoadedCore {
    pub core: Arc<Core>,
    pub reports: Vec<PluginReport>,
    pub services: HostServices,
}

/// The state front ends and the source runner registered on the core, which they fill
/// once started.
#[derive(Default)]
struct Registered {
    udp: Arc<pyexplabsys::Directory>,
    live_hosts: Arc<LiveHosts>,
    sources: Arc<SourceList>,
}

impl Registered {
    /// The core commands, then what each front end owns, in the order `commands` and
    /// `status` list them.
    fn extensions(&self) -> Extensions {
        let mut extensions = Extensions::default();
        extensions.commands(commands::core_commands());
        pyexplabsys::register(&mut extensions, &self.udp);
        sources::register(&mut extensions, &self.sources);
        live_server::register(&mut extensions, &self.live_hosts);
        extensions
    }
}

/// Loads the plugins of `config` into a fresh core (also used by `labsocket plugins`),
/// running their inits if `run_init` (which needs the data directory: it is created).
pub async fn load_core(config: &Config, run_init: bool) -> Result<LoadedCore, StartError> {
    build_core(config, run_init, &Registered::default()).await
}

async fn build_core(
    config: &Config,
    run_init: bool,
    registered: &Registered,
) -> Result<LoadedCore, StartError> {
    let data_dir = config.data_dir();
    if run_init {
        std::fs::create_dir_all(&data_dir).map_err(|source| StartError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
    }
    let bus = EventBus::with_limits(
        config.limits.event_buffer,
        config.limits.subscription_buffer_bytes,
    );
    let points = PointTable::new(bus.clone());
    let services = HostServices::new(
        bus.clone(),
        points.clone(),
        std::fs::canonicalize(&data_dir).unwrap_or(data_dir),
    );
    let dylibs: Vec<_> = config
        .plugins
        .dylibs
        .iter()
        .map(|p| config.resolve(p))
        .collect();
    let tables = config.plugin_tables_json();
    let timeout = Duration::from_secs_f64(config.limits.command_timeout_secs);
    let init_timeout = Duration::from_secs_f64(config.limits.plugin_init_timeout_secs);
    // Plugin initialisers may block (open files, probe instruments): keep them off the
    // async workers.
    let loader_services = services.clone();
    let extensions = registered.extensions();
    let reserved = extensions.command_names();
    let loaded = tokio::task::spawn_blocking(move || {
        let options = LoadOptions {
            dylibs: &dylibs,
            plugin_config: &tables,
            reserved_commands: &reserved,
            run_init,
            init_timeout,
        };
        plugins::load_all(&options, &loader_services)
    })
    .await
    .map_err(|err| StartError::Loader(err.to_string()))?;
    let core = Core::new(
        loaded.registry.with_timeout(timeout),
        bus,
        points,
        config.limits.max_connections,
        extensions,
    );
    Ok(LoadedCore {
        core: Arc::new(core),
        reports: loaded.reports,
        services,
    })
}

/// Lets plugins call commands (`HostApi::call`) through the dispatcher of `core`, on the
/// current runtime. Holds the core weakly: plugin tables live forever, the core need not.
fn bind_dispatcher(core: &Arc<Core>, services: &HostServices) {
    let core = Arc::downgrade(core);
    let caller: Caller = Arc::new(move |method: String, params| -> CallFuture {
        let core = core.upgrade();
        Box::pin(async move {
            match core {
                Some(core) => crate::dispatch::call(&core, &method, params).await,
                None => Err(crate::call::CallError::internal("the host has stopped")),
            }
        })
    });
    services.bind_dispatcher(caller, tokio::runtime::Handle::current());
}

impl Server {
    /// Loads plugins and binds every configured front end.
    pub async fn start(config: &Config) -> Result<Server, StartError> {
        let registered = Registered::default();
        let LoadedCore {
            core,
            reports,
            services,
        } = build_core(config, true, &registered).await?;
        bind_dispatcher(&core, &services);
        let plugin_failed = reports.iter().any(|report| report.outcome.is_err());
        let sources =
            sources::resolve(&config.source, &core, plugin_failed).map_err(|message| {
                StartError::SourceCommand {
                    file: config.file_name(),
                    message,
                }
            })?;
        // Read before anything listens: a bad token file stops the start.
        let tokens = Arc::new(config.tokens().map_err(|message| StartError::AuthToken {
            file: config.file_name(),
            message,
        })?);
        let tls = match &config.tls {
            None => None,
            Some(section) => Some(Arc::new(
                ServerTls::load(
                    &config.resolve(&section.cert_file),
                    &config.resolve(&section.key_file),
                    Duration::from_secs_f64(section.handshake_timeout_secs),
                )
                .map_err(|message| StartError::Tls {
                    file: config.file_name(),
                    message,
                })?,
            )),
        };
        let shutdown = Shutdown::default();
        if config.native.enabled {
            let bind = config.native.bind.unwrap_or(config.server.bind);
            let address = SocketAddr::new(bind, config.native.port);
            let listener = bind_tcp("native", address).await?;
            let settings = native::Settings {
                heartbeat: (config.native.heartbeat_secs > 0.0)
                    .then(|| Duration::from_secs_f64(config.native.heartbeat_secs)),
                max_line_bytes: config.limits.max_line_bytes,
                tokens: tokens.clone(),
                binary_limit: binary_limit(config),
                tls: tls.clone(),
            };
            if !bind.is_loopback() && tokens.is_empty() {
                tracing::warn!(
                    "native: listening on {address} without [[auth.token]] or [native] \
                     auth_token_file: anyone who \
                     can reach this port can read and change everything (docs/security.md)"
                );
            }
            native::spawn(core.clone(), listener, settings, &shutdown);
        }
        if config.pyminer.enabled {
            let bind = config.pyminer.bind.unwrap_or(config.server.bind);
            let address = SocketAddr::new(bind, config.pyminer.port);
            let listener = bind_tcp("pyminer", address).await?;
            let max_frame_bytes = config.limits.max_frame_bytes;
            pyminer::spawn(
                core.clone(),
                listener,
                &config.pyminer,
                max_frame_bytes,
                &shutdown,
            );
        }
        let udp_settings = pyexplabsys::Settings {
            bind: config.server.bind,
            max_datagram: config.limits.max_datagram,
            pull_sockets: &config.pull_socket,
            push_sockets: &config.push_socket,
            live_sockets: &config.live_socket,
        };
        pyexplabsys::start(&core, &registered.udp, udp_settings, &shutdown).await?;
        if config.http.enabled {
            let address = config.http.address(config.server.bind);
            let listener = bind_tcp("http", address).await?;
            // Only named tokens protect HTTP: a config with just the legacy native token
            // keeps the page open as before (SPEC §10).
            let http_tokens = (!config.auth.token.is_empty()).then(|| tokens.clone());
            http::spawn(
                core.clone(),
                listener,
                &config.http,
                http_tokens,
                tls.clone(),
                &shutdown,
            );
        }
        if config.live_server.enabled {
            let address = config.live_server.address(config.server.bind);
            let socket = tokio::net::UdpSocket::bind(address)
                .await
                .map_err(|source| StartError::Bind {
                    front_end: "live_server",
                    address,
                    source,
                })?;
            let settings = live_server::Settings {
                max_datagram: config.limits.max_datagram,
                max_series: config.live_server.max_series,
                allow: config.live_server.allow.clone().map(Arc::new),
            };
            live_server::spawn(
                core.clone(),
                registered.live_hosts.clone(),
                socket,
                settings,
                &shutdown,
            );
        }
        // Sources last: their first points then reach every front end's subscribers.
        sources::spawn_all(&core, &registered.sources, sources, &shutdown);
        Ok(Server {
            core,
            shutdown,
            services,
            tls,
        })
    }

    /// `[tls]`'s certificate, for reloading it (SIGHUP).
    pub fn tls(&self) -> Option<Arc<ServerTls>> {
        self.tls.clone()
    }

    /// Stops every task, giving connections `grace` to finish; then stops the plugins
    /// (`stopping`, subscriptions ended, shutdown hooks in reverse load order), giving
    /// each plugin step `grace` too.
    pub async fn stop(self, grace: Duration) {
        if !self.shutdown.stop(grace).await {
            tracing::warn!("some connections did not finish within {grace:?}; closing anyway");
        }
        let core = self.core.clone();
        let services = self.services;
        // Plugin hooks are foreign code that may block: keep them off the async workers.
        let stopped =
            tokio::task::spawn_blocking(move || plugins::stop(&core.registry, &services, grace))
                .await;
        if let Err(err) = stopped {
            tracing::error!("stopping the plugins failed: {err}");
        }
    }
}

async fn bind_tcp(front_end: &'static str, address: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind {
            front_end,
            address,
            source,
        })
}

/// The largest raw-byte frame the native front end reads, with the setting that sets it:
/// `[limits] max_binary_bytes` when given, else the workspace's `max_variable_bytes` (the
/// largest value it stores, configured or its default). So a value too big for the
/// workspace is refused before its bytes are read, naming the workspace's own key.
fn binary_limit(config: &Config) -> native::BinaryLimit {
    if let Some(bytes) = config.limits.max_binary_bytes {
        return native::BinaryLimit {
            bytes,
            setting: "[limits] max_binary_bytes",
        };
    }
    let configured = config
        .plugins
        .tables
        .get("workspace")
        .and_then(|table| table.get("max_variable_bytes"))
        .and_then(toml::Value::as_integer)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .filter(|bytes| *bytes > 0);
    native::BinaryLimit {
        bytes: configured.unwrap_or(workspace::workspace::DEFAULT_MAX_VARIABLE_BYTES as usize),
        setting: "[plugins.workspace] max_variable_bytes",
    }
}
