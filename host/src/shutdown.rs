//! Graceful shutdown: one [`CancellationToken`] that every task watches, and one
//! [`TaskTracker`] the server waits on, the idiom of tokio's `graceful-shutdown` example.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every long-lived task gets: a way to hear "stop" and to be waited for.
#[derive(Clone, Default)]
pub struct Shutdown {
    pub token: CancellationToken,
    pub tracker: TaskTracker,
}

impl Shutdown {
    /// Starts a tracked task.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Asks every task to stop, then waits up to `grace` for them. Returns whether all
    /// tasks finished in time.
    pub async fn stop(&self, grace: Duration) -> bool {
        self.token.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C only on platforms without Unix signals).
///
/// The handlers are installed when this is called, not when the future is first polled:
/// call it before announcing `ready`, or a signal sent right after the announcement takes
/// the default action and kills the process without a graceful shutdown.
pub fn signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match handlers {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                (Err(err), _) | (_, Err(err)) => {
                    tracing::warn!("cannot listen for SIGTERM/SIGINT: {err}");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
