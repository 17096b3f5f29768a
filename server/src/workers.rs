//! The worker threads: each accepts connections on the shared listening
//! socket and serves them itself, start to finish, on a single-threaded
//! runtime with a descriptor table of its own; plus the drain that comes
//! before a graceful stop ([`Drain`]) and the stop itself.
//!
//! Why not actix-web's `HttpServer`: it accepts on a thread of its own and
//! hands each socket to a worker, so every thread shares one descriptor
//! table. While a table is shared, Linux takes a reference on the open file
//! at every descriptor lookup: an atomic increment and decrement per
//! `recvfrom`, `sendto`, `statx` and per side of `sendfile`, which nginx's
//! single-threaded worker does not pay (docs/BENCHMARKS.md, "Other changes
//! measured"). Here each worker calls
//! `unshare(CLONE_FILES)` as it starts, so its table is its own and the
//! kernel borrows descriptors without a reference, and it accepts its own
//! connections, so no socket ever crosses threads. The workers all wait on
//! one listening socket, as nginx's do: the kernel wakes them and whichever
//! accepts first serves the connection. (Every idle worker wakes: tokio
//! cannot ask epoll for `EPOLLEXCLUSIVE`, so the others find nothing to
//! accept. That is one wasted wake-up per worker per new connection, which
//! keep-alive clients do not notice.)
//!
//! **Invariant.** A descriptor that more than one thread uses must be open
//! before the workers start, so that every copy of the table has it: the
//! listening socket, the dump (`AppState` is loaded first), tokio's signal
//! pipe (the handlers are installed first), the eventfd through which other
//! threads wake a runtime (each worker builds its runtime, then unshares)
//! and stdio. A descriptor a worker opens exists only in its own table and
//! must not leave that thread.
//!
//! Everything else is actix's: the caller hands each worker an actix-http
//! `HttpService` over the application, built as `HttpServer` would
//! (`crate::run`).

use actix_http::error::DispatchError;
use actix_service::{Service, ServiceFactory};
use actix_web::rt::net::TcpStream;
use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long a stopping worker waits for its open connections to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// After an accept error other than a connection that went away before it
/// was accepted (`EMFILE`, `ENOBUFS`, …): how long to pause, rather than
/// spin on a listener that stays readable.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How many workers, and how many connections each serves at once.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Worker threads.
    pub workers: usize,
    /// Open connections per worker before new ones wait in the backlog.
    pub max_connections: usize,
}

/// Resolves when the worker starts a graceful stop: what actix-http's
/// `graceful_shutdown_signal` waits for, to close idle connections and let
/// busy ones finish.
/// A connection whose signal is first polled after the stop began sees it
/// at once.
#[derive(Debug, Clone, Default)]
pub struct Closing(CancellationToken);

impl Closing {
    /// Waits for the graceful stop.
    pub async fn wait(self) {
        self.0.cancelled_owned().await
    }
}

/// The drain: the grace period between the first SIGTERM/SIGINT and the
/// graceful stop. The workers still accept and answer, but `/healthz` says
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

/// How to stop: `Graceful` stops accepting, closes idle keep-alive
/// connections and lets requests in flight finish (up to 30 s); `Now` drops
/// every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Finish what is in flight.
    Graceful,
    /// Drop everything.
    Now,
}

/// Asks the workers to stop; cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<Option<Stop>>>);

impl StopHandle {
    /// Asks every worker to stop; a later `Now` overrides `Graceful`.
    pub fn stop(&self, how: Stop) {
        self.0.send_if_modified(|current| {
            let escalate = *current != Some(Stop::Now) && *current != Some(how);
            if escalate {
                *current = Some(how);
            }
            escalate
        });
    }
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

/// The running workers.
pub struct Workers {
    threads: Vec<std::thread::JoinHandle<()>>,
    stop: StopHandle,
    /// Closed (every sender dropped) once all workers have returned.
    finished: mpsc::Receiver<()>,
}

impl Workers {
    /// Starts `settings.workers` threads serving `listener`, each with the
    /// HTTP service `http` builds for it (called once per worker, in the
    /// worker's thread, with its graceful-stop signal). Returns once every
    /// worker has its own descriptor table and its service, or the first
    /// worker's error; `listener` may be closed after that. See the
    /// module's invariant about the descriptors open before this call.
    pub fn start<F, H>(listener: &TcpListener, settings: Settings, http: F) -> io::Result<Workers>
    where
        F: Fn(Closing) -> H + Send + Clone + 'static,
        H: ServiceFactory<TcpStream, Config = (), Response = (), Error = DispatchError, InitError = ()>
            + 'static,
        H::Service: 'static,
    {
        let (stop_tx, stop_rx) = watch::channel(None);
        let (finished_tx, finished) = mpsc::channel(1);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (mut threads, mut failed) = (Vec::with_capacity(settings.workers), None);
        for n in 0..settings.workers {
            // Open in our table until every worker is ready (below).
            let listener = listener.as_raw_fd();
            let (http, stop_rx) = (http.clone(), stop_rx.clone());
            let (ready_tx, finished_tx) = (ready_tx.clone(), finished_tx.clone());
            let spawned = std::thread::Builder::new().name(format!("wikidex-worker-{n}")).spawn(move || {
                // The runtime first: other threads wake its tasks (the stop
                // channel) through its eventfd, so that must be in both tables.
                let setup = actix_web::rt::Runtime::new()
                    .and_then(|runtime| own_table(listener).map(|listener| (listener, runtime)));
                match setup {
                    Ok((listener, runtime)) => {
                        // Built inside the runtime: actix-http spawns its clock task.
                        runtime.block_on(async move {
                            let closing = Closing::default();
                            let http = http(closing.clone());
                            serve(listener, http, closing, settings.max_connections, ready_tx, stop_rx).await
                        });
                    }
                    Err(e) => drop(ready_tx.send(Err(e))),
                }
                drop(finished_tx);
            });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(ready_tx);
        let workers = Workers { stop: StopHandle(Arc::new(stop_tx)), finished, threads };
        // Every worker must answer before the caller may close `listener`.
        let mut ready = 0;
        for _ in 0..workers.threads.len() {
            match ready_rx.recv() {
                Ok(Ok(())) => ready += 1,
                Ok(Err(e)) => failed = failed.or(Some(e)),
                Err(_) => break, // every thread has answered or exited
            }
        }
        if ready < settings.workers && failed.is_none() {
            failed = Some(io::Error::other("a worker thread exited while starting"));
        }
        match failed {
            None => Ok(workers),
            Some(e) => {
                workers.stop.stop(Stop::Now);
                Err(e)
            }
        }
    }

    /// A handle that stops the workers.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Waits until every worker has returned.
    pub async fn finished(&mut self) {
        while self.finished.recv().await.is_some() {}
    }

    /// Joins the worker threads (after [`Workers::finished`]).
    pub fn join(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// Gives the calling thread a descriptor table of its own (a copy of the
/// process's) and returns the listening socket `fd` as a descriptor in it.
/// If the kernel refuses (a seccomp filter, say), the worker keeps sharing
/// the table and a duplicate of `fd`: correct, only slower.
///
/// `fd` must stay open in the process's table until this returns.
fn own_table(fd: RawFd) -> io::Result<TcpListener> {
    // SAFETY: after this call, descriptors other threads open later are not
    // in this thread's table. This thread only uses descriptors that were
    // open before the workers started (the module's invariant) and its own.
    match unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FILES) } {
        // SAFETY: `fd` was open when the table was copied, and this copy
        // of it belongs to nobody else: closing it closes only ours.
        Ok(()) => Ok(unsafe { TcpListener::from_raw_fd(fd) }),
        Err(e) => {
            tracing::warn!(
                "a worker shares the process's descriptor table (unshare: {e}); serving a little slower"
            );
            // SAFETY: the caller keeps `fd` open until this returns.
            let shared = unsafe { BorrowedFd::borrow_raw(fd) };
            Ok(TcpListener::from(shared.try_clone_to_owned()?))
        }
    }
}

/// One worker: builds its service from `http` (`closing` is the service's
/// graceful-stop signal), then accepts and serves connections until told to
/// stop.
async fn serve<H>(
    listener: TcpListener,
    http: H,
    closing: Closing,
    max_connections: usize,
    ready: std::sync::mpsc::Sender<io::Result<()>>,
    mut stop: watch::Receiver<Option<Stop>>,
) where
    H: ServiceFactory<TcpStream, Config = (), Response = (), Error = DispatchError, InitError = ()>,
    H::Service: 'static,
{
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let service = match http.new_service(()).await {
        Ok(service) => Rc::new(service),
        Err(()) => return drop(ready.send(Err(io::Error::other("cannot build the application")))),
    };
    let _ = ready.send(Ok(()));
    let open = Rc::new(Connections::default());
    let how = loop {
        if open.count.get() >= max_connections {
            // Leave new connections in the backlog until one closes.
            tokio::select! {
                biased;
                _ = stop.changed() => break *stop.borrow(),
                () = open.closed.notified() => continue,
            }
        }
        let accepted = tokio::select! {
            biased;
            _ = stop.changed() => break *stop.borrow(),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let (service, guard) = (service.clone(), Connections::open(&open));
                actix_web::rt::spawn(async move {
                    let _ = service.call(stream).await;
                    drop(guard);
                });
                // One connection per turn, then this worker's other tasks:
                // meanwhile another worker, woken by the same readiness, can
                // take the next one. Accepting a burst in a loop would leave
                // most of it on whichever worker woke first.
                tokio::task::yield_now().await;
            }
            Err(e) if transient(&e) => {}
            Err(e) => {
                tracing::warn!("cannot accept a connection: {e}; pausing {} ms", ACCEPT_BACKOFF.as_millis());
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    };
    drop(listener);
    if how == Some(Stop::Graceful) {
        closing.0.cancel();
        let drained = async {
            while open.count.get() > 0 {
                open.closed.notified().await;
            }
        };
        tokio::select! {
            () = drained => {}
            () = tokio::time::sleep(SHUTDOWN_TIMEOUT) => {}
            _ = stop.wait_for(|how| *how == Some(Stop::Now)) => {}
        }
    }
    // Returning drops the runtime, and with it any connection still open.
}

/// Accept errors that concern one connection, not the listener.
fn transient(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        || e.raw_os_error() == Some(rustix::io::Errno::PROTO.raw_os_error())
}

/// A worker's open connections.
#[derive(Default)]
struct Connections {
    count: Cell<usize>,
    closed: Notify,
}

impl Connections {
    fn open(this: &Rc<Connections>) -> ConnectionGuard {
        this.count.set(this.count.get() + 1);
        ConnectionGuard(this.clone())
    }
}

/// Counts a connection as open until dropped.
struct ConnectionGuard(Rc<Connections>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.count.set(self.0.count.get() - 1);
        self.0.closed.notify_one();
    }
}
