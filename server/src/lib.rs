//! # wikidex-server
//!
//! The HTTP service over a wikidex index: prefix lookups (`/offsets`), exact
//! lookups (`/wiki`), ranged dump reads (`/xml`), baselines (`/json`,
//! `/plaintext`) and operator endpoints (`/stats`, `/metrics`, `/healthz`),
//! on actix-web with one worker per core.
//!
//! State ([`AppState`]) is built once — the index memory-mapped and
//! validated, the dump opened and identified — and shared read-only; handlers
//! are stateless. SIGHUP builds it again from the same settings and swaps it
//! in ([`reload`]). Every error is JSON ([`error::ApiError`]).
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
pub mod reload;
pub mod request;
pub mod routes;
pub mod source;
pub mod state;
pub mod stop;
mod timing;
pub mod title;

pub use config::{Config, VerifyMode};
pub use state::{AppState, StartupError};

use actix_http::{HttpService, KeepAlive, Request};
use actix_service::fn_service;
use futures_util::future::ready;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// How long a graceful stop waits for answers in flight.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Opens the index and dump named by `config`, binds, and serves until
/// SIGINT/SIGTERM; SIGHUP opens them again and serves the new ones
/// ([`reload`]). The first SIGINT/SIGTERM starts the drain (`config.drain`,
/// [`stop::Drain`]): `/healthz` answers 503 and every answer closes its
/// connection, so balancers stop sending here; then the listener closes,
/// idle connections close and in-flight requests finish (up to 30 s). A
/// second signal stops at once. `started` is when the process began, for
/// the "ready in" log line.
pub fn run(mut config: Config, started: Instant) -> Result<(), StartupError> {
    let (workers, max_connections) = (config.workers, config.max_connections);
    let (keep_alive, request_timeout) = (config.keep_alive, config.request_timeout);
    let grace = config.drain;
    let listener = bind(config.bind, 4096).map_err(|source| StartupError::Io {
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
    let serving = Arc::new(reload::Serving::new(state.clone()));
    actix_web::rt::System::new().block_on(async move {
        let io = |context: &str| {
            let context = context.to_string();
            move |source| StartupError::Io { context, source }
        };
        let mut terminate = signal(SignalKind::terminate()).map_err(io("cannot handle SIGTERM"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(io("cannot handle SIGINT"))?;
        let hangup = signal(SignalKind::hangup()).map_err(io("cannot handle SIGHUP"))?;
        // actix-server: one accept thread, `workers` threads with an
        // actix-http HTTP/1 dispatcher each, over the route table. Its
        // own signal handling is off: `stop::until_stopped` drains first.
        let builder = actix_server::Server::build()
            .workers(workers)
            .max_concurrent_connections(max_connections)
            .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
            .disable_signals();
        let closing = builder.graceful_shutdown_signal();
        let service_state = serving.clone();
        let http = move || {
            let serving = service_state.clone();
            let routes = fn_service(move |req: Request| {
                ready(Ok::<_, actix_http::Error>(routes::serve(&req, &serving.current())))
            });
            let closing = closing.clone();
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
                // Idle keep-alive connections close when a graceful stop
                // begins; busy ones finish their answer first.
                .graceful_shutdown_signal(move || {
                    let closing = closing.clone();
                    async move { closing.notified().await }
                })
                .finish(routes)
                .tcp()
        };
        let server = builder.listen("wikidex", listener, http).map_err(io("cannot start the workers"))?.run();
        let handle = server.handle();
        tracing::info!(
            "serving {pages} pages on http://{addr} with {workers} workers (ready in {} ms)",
            started.elapsed().as_millis()
        );
        sd_notify(&format!("READY=1\nSTATUS=serving {pages} pages on http://{addr}"));
        let verify = {
            let (serving, handle) = (serving.clone(), handle.clone());
            move |state: Arc<AppState>| verify_later(state, serving.clone(), handle.clone())
        };
        verify(state.clone());
        actix_web::rt::spawn(reload::on_hangup(hangup, serving.clone(), verify, sd_notify));
        let signals = (&mut terminate, &mut interrupt);
        stop::until_stopped(server, handle, signals, &state.drain, grace, sd_notify).await;
        match serving.current().damaged.get() {
            Some(damage) => Err(StartupError::Damaged(damage.clone())),
            None => Ok(()),
        }
    })
}

/// Verifies `state`'s checksums on a thread of its own if its settings
/// left that for after startup; damage stops the server if `state` is
/// still the one served (a reload may have replaced it meanwhile).
fn verify_later(state: Arc<AppState>, serving: Arc<reload::Serving>, handle: actix_server::ServerHandle) {
    if !state.verify_in_background {
        return;
    }
    std::thread::spawn(move || {
        let t0 = Instant::now();
        match state.index.verify_checksums() {
            Ok(()) => tracing::info!("index checksums verified in {} ms", t0.elapsed().as_millis()),
            Err(e) if serving.is_current(&state) => {
                tracing::error!("{e}; stopping the server");
                let _ = state.damaged.set(e.to_string());
                // Sent at once; the server's future resolves when done.
                drop(handle.stop(true));
            }
            Err(e) => tracing::error!("{e}; a reload has replaced that index already"),
        }
    });
}

/// Binds `addr` with `SO_REUSEADDR` and the given accept backlog.
pub fn bind(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Tells systemd how the service stands, for a `Type=notify` unit
/// (`deploy/wikidex.service`): `READY=1` once the server listens, so
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
