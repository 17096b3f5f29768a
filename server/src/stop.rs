//! How the server stops: the drain that comes first ([`Drain`]), and the
//! signals that begin it and end it ([`until_stopped`]). Accepting and
//! serving connections is actix-server's (`crate::run`).

use actix_server::{Server, ServerHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::signal::unix::Signal;

/// The drain: the grace period between the first SIGTERM/SIGINT and the
/// graceful stop. The server still accepts and answers, but `/healthz` says
/// 503 and every answer says `Connection: close`, so a balancer that polls
/// `/healthz` takes the replica out of rotation, and one that keeps
/// connections to it open (nginx's `keepalive`) lets them go, before the
/// listener closes and connecting is refused. Shared by every worker;
/// cheap to clone and to read on every answer.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    /// Starts the drain (it never ends: the stop follows it).
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Has the drain started?
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Waits until `server` has stopped: by itself, or through `handle` (the
/// background checksum pass found damage), or on SIGTERM/SIGINT. The first
/// signal starts the drain and, `grace` later, the graceful stop (the
/// listener closes, idle connections close, answers in flight finish); a
/// second signal, during the drain or after it, returns at once, and the
/// process exit drops every connection still open. `notify`
/// tells systemd what is happening.
pub(crate) async fn until_stopped(
    server: Server,
    handle: ServerHandle,
    (terminate, interrupt): (&mut Signal, &mut Signal),
    drain: &Drain,
    grace: Duration,
    notify: fn(&str),
) {
    let mut server = std::pin::pin!(server);
    let mut signals = 0;
    // The end of the drain, once a signal has begun it.
    let mut drain_ends: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        let drained = async {
            match drain_ends.as_mut() {
                Some(end) => end.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut server => return,
            () = drained => {
                drain_ends = None;
                tracing::info!("drained: no longer accepting; finishing requests in flight");
                // The command is sent at once; the server's own future
                // (above) resolves when the stop is done.
                drop(handle.stop(true));
                continue;
            }
            _ = terminate.recv() => signals += 1,
            _ = interrupt.recv() => signals += 1,
        }
        if signals > 1 {
            // Not `handle.stop(false)`: actix-server takes one command at a
            // time, and a graceful stop under way holds it until its
            // answers finish. Returning ends the process, and with it every
            // connection.
            tracing::info!("stopping now");
            return;
        } else if grace.is_zero() {
            drain.start();
            notify("STOPPING=1\nSTATUS=finishing requests in flight");
            tracing::info!("stopping: finishing requests in flight (signal again to stop now)");
            drop(handle.stop(true));
        } else {
            drain.start();
            notify("STOPPING=1\nSTATUS=draining: /healthz answers 503");
            tracing::info!(
                "draining for {} s: /healthz answers 503 and every answer closes its connection; \
                 then finishing requests in flight (signal again to stop now)",
                grace.as_secs_f64()
            );
            drain_ends = Some(Box::pin(tokio::time::sleep(grace)));
        }
    }
}
