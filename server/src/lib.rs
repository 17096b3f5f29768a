//! # wikidex-server
//!
//! The HTTP service over a wikidex index: prefix lookups (`/offsets`), exact
//! lookups (`/wiki`), ranged dump reads (`/xml`), baselines (`/json`,
//! `/plaintext`) and operator endpoints (`/stats`, `/metrics`, `/healthz`),
//! on actix-web with one worker per core.
//!
//! State ([`AppState`]) is built once — the index memory-mapped and
//! validated, the dump opened and identified — and shared read-only; handlers
//! are stateless. Every error is JSON ([`error::ApiError`]).
//!
//! ```no_run
//! let config = wikidex_server::Config::new("dump.xml.wikidex", "dump.xml");
//! wikidex_server::run(config, std::time::Instant::now())?;
//! # Ok::<(), wikidex_server::StartupError>(())
//! ```

#![deny(missing_docs)]

pub mod config;
pub mod dump;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod mime;
pub mod range;
pub mod request;
pub mod routes;
pub mod source;
pub mod state;
mod timing;
pub mod title;
pub mod workers;

pub use config::{Config, VerifyMode};
pub use state::{AppState, StartupError};

use actix_http::{HttpService, KeepAlive, Request};
use actix_service::fn_service;
use futures_util::future::ready;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};
use workers::{Closing, Drain, Stop, Workers};

/// Opens the index and dump named by `config`, binds, and serves until
/// SIGINT/SIGTERM. The first signal starts the drain (`config.drain`,
/// [`workers::Drain`]): `/healthz` answers 503 and every answer closes its
/// connection, so balancers stop sending here; then the listener closes,
/// idle connections close and in-flight requests finish (up to 30 s). A
/// second signal stops at once. `started` is when the process began, for
/// the "ready in" log line.
pub fn run(mut config: Config, started: Instant) -> Result<(), StartupError> {
    let settings = workers::Settings { workers: config.workers, max_connections: config.max_connections };
    let (keep_alive, request_timeout) = (config.keep_alive, config.request_timeout);
    let grace = config.drain;
    let listener = workers::bind(config.bind, 4096).map_err(|source| StartupError::Io {
        context: format!("cannot listen on {}", config.bind),
        source,
    })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartupError::Io { context: "cannot listen".into(), source })?;
    // The port the system chose for `:0`, for answers that name this server.
    config.bind = addr;
    let state = Arc::new(AppState::load(config)?);
    let pages = state.index.pages();
    actix_web::rt::System::new().block_on(async move {
        let io = |context: &str| {
            let context = context.to_string();
            move |source| StartupError::Io { context, source }
        };
        // Installed before the workers start, so that tokio's signal pipe
        // is in every worker's descriptor table (see `workers`).
        let mut terminate = signal(SignalKind::terminate()).map_err(io("cannot handle SIGTERM"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(io("cannot handle SIGINT"))?;
        // One worker's HTTP service: actix-http's HTTP/1 dispatcher over
        // the route table.
        let service_state = state.clone();
        let http = move |closing: Closing| {
            let state = service_state.clone();
            let routes = fn_service(move |req: Request| {
                ready(Ok::<_, actix_http::Error>(routes::serve(&req, &state)))
            });
            HttpService::build()
                .keep_alive(KeepAlive::Timeout(keep_alive))
                .client_request_timeout(request_timeout)
                .client_disconnect_timeout(Duration::from_secs(1))
                // No Nagle: an answer longer than one segment would hold its
                // partial last segment until the client acknowledges the ones
                // before it, and a client waiting for the rest delays that ACK
                // (40 ms on Linux). On loopback that is /xml and /wiki answers
                // past ~64 KB; on a network, any answer past one MSS. Heads
                // still share a segment with their body: the sendfile path
                // sends them with MSG_MORE.
                .tcp_nodelay(true)
                .local_addr(addr)
                .graceful_shutdown_signal(move || closing.clone().wait())
                .finish(routes)
                .tcp()
        };
        let mut workers =
            Workers::start(&listener, settings, http).map_err(io("cannot start the workers"))?;
        drop(listener);
        tracing::info!(
            "serving {pages} pages on http://{addr} with {} workers (ready in {} ms)",
            settings.workers,
            started.elapsed().as_millis()
        );
        sd_notify(&format!("READY=1\nSTATUS=serving {pages} pages on http://{addr}"));
        let stop = workers.stop_handle();
        if state.verify_in_background {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                let t0 = Instant::now();
                match state.index.verify_checksums() {
                    Ok(()) => tracing::info!("index checksums verified in {} ms", t0.elapsed().as_millis()),
                    Err(e) => {
                        tracing::error!("{e}; stopping the server");
                        let _ = state.damaged.set(e.to_string());
                        stop.stop(Stop::Graceful);
                    }
                }
            });
        }
        until_stopped(&mut workers, &mut terminate, &mut interrupt, &state.drain, grace).await;
        workers.join();
        match state.damaged.get() {
            Some(damage) => Err(StartupError::Damaged(damage.clone())),
            None => Ok(()),
        }
    })
}

/// Waits until the workers have stopped: by themselves (the background
/// checksum pass found damage) or on SIGTERM/SIGINT. The first signal
/// starts the drain and, `grace` later, the graceful stop; a second signal,
/// during the drain or after it, stops at once.
async fn until_stopped(
    workers: &mut Workers,
    terminate: &mut Signal,
    interrupt: &mut Signal,
    drain: &Drain,
    grace: Duration,
) {
    let stop = workers.stop_handle();
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
            () = workers.finished() => return,
            () = drained => {
                drain_ends = None;
                tracing::info!("drained: no longer accepting; finishing requests in flight");
                stop.stop(Stop::Graceful);
                continue;
            }
            _ = terminate.recv() => signals += 1,
            _ = interrupt.recv() => signals += 1,
        }
        if signals > 1 {
            stop.stop(Stop::Now);
        } else if grace.is_zero() {
            drain.start();
            sd_notify("STOPPING=1\nSTATUS=finishing requests in flight");
            tracing::info!("stopping: finishing requests in flight (signal again to stop now)");
            stop.stop(Stop::Graceful);
        } else {
            drain.start();
            sd_notify("STOPPING=1\nSTATUS=draining: /healthz answers 503");
            tracing::info!(
                "draining for {} s: /healthz answers 503 and every answer closes its connection; \
                 then finishing requests in flight (signal again to stop now)",
                grace.as_secs_f64()
            );
            drain_ends = Some(Box::pin(tokio::time::sleep(grace)));
        }
    }
}

/// Tells systemd how the service stands, for a `Type=notify` unit
/// (`deploy/wikidex.service`): `READY=1` once every worker accepts, so
/// that units ordered after this one start when it answers, not when it
/// was exec'd; `STOPPING=1` when the drain begins. The protocol is one
/// datagram to the socket `$NOTIFY_SOCKET` names (sd_notify(3): a path, or
/// an abstract name after `@`), simple enough to write here rather than
/// link libsystemd for it. Without the variable this does nothing.
fn sd_notify(state: &str) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let send = || -> std::io::Result<usize> {
        let socket = UnixDatagram::unbound()?;
        match target.as_bytes().strip_prefix(b"@") {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                socket.send_to_addr(state.as_bytes(), &SocketAddr::from_abstract_name(name)?)
            }
            None => socket.send_to(state.as_bytes(), &target),
        }
    };
    if let Err(e) = send() {
        tracing::warn!("cannot notify systemd through {}: {e}", target.to_string_lossy());
    }
}
