//! Timed-point sources (`[[source]]`, SPEC §4): commands the host calls on a timer, whose
//! results become points.
//!
//! A source is how a lab gets a reading into the point table without a client pushing it:
//! `command = "system.sample"`, `interval_secs = 1.0`, and every second the command's
//! `{codename: y}` (or `{codename: [x, y]}`) is stored and published as one `points` event.
//! Sources run through the same dispatch as any client's call, so a slow or panicking
//! plugin command is isolated exactly as it is for clients, and one failing source
//! disturbs nothing else.
//!
//! - [`config`]: the `[[source]]` table and its validation.
//! - [`sample`]: reading a result as points.
//! - [`runner`]: the timer loop of one source.
//! - [`health`]: the per-source counters `status` shows.
//!
//! Whether a command exists is only known after plugins load, so [`resolve`] runs then,
//! before any front end binds. An unknown command is a start error naming the source and
//! the command (a typo should stop the server, like any config mistake) — except when a
//! plugin failed to load: that plugin may be the one providing the command, and a failed
//! plugin must not stop the rest of the server (SPEC §4), so the source is skipped with an
//! error in the log.

pub mod config;
pub mod health;
pub mod runner;
pub mod sample;

use std::sync::Arc;

pub use config::SourceConfig;
pub use health::SourceList;
pub use runner::Source;

use crate::host_core::{views, Core, Extensions};
use crate::shutdown::Shutdown;

/// Checks each configured source's command against the loaded commands. `plugin_failed`
/// says whether any plugin failed to load (see the module doc). Returns the sources to
/// run, or the message for the first unknown command.
pub fn resolve(
    configs: &[SourceConfig],
    core: &Core,
    plugin_failed: bool,
) -> Result<Vec<Source>, String> {
    let mut sources = Vec::with_capacity(configs.len());
    for (index, config) in configs.iter().enumerate() {
        let number = index + 1;
        let command = config.command.as_str();
        if !core.has_command(command) {
            let message = format!(
                "[[source]] #{number} command: no command '{command}' is registered (`labsocket plugins` lists the commands of every plugin)"
            );
            if !plugin_failed {
                return Err(message);
            }
            tracing::error!(
                "{message}; a plugin failed to load and may be the one providing it, so this source is skipped"
            );
            continue;
        }
        sources.push(Source {
            number,
            command: command.to_owned(),
            interval: config.interval(),
            params: config.params_value(),
        });
    }
    Ok(sources)
}

/// Registers the `sources` section of `status` over `list` (which [`spawn_all`] fills).
pub fn register(extensions: &mut Extensions, list: &Arc<SourceList>) {
    let list = list.clone();
    extensions.status_section(views::SOURCES, move || list.to_value());
}

/// Starts one task per source, recording each in `list`; each stops on shutdown.
pub fn spawn_all(core: &Arc<Core>, list: &SourceList, sources: Vec<Source>, shutdown: &Shutdown) {
    for source in sources {
        let interval_secs = source.interval.as_secs_f64();
        tracing::info!(
            "source #{}: calling {} every {interval_secs} s",
            source.number,
            source.command
        );
        let health = list.add(source.number, &source.command, interval_secs);
        shutdown.spawn(runner::run(
            core.clone(),
            source,
            health,
            shutdown.token.clone(),
        ));
    }
}
