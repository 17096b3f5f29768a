//! Reloading in place: on SIGHUP the server opens the index and dump its
//! settings name again (through the link that `deploy/update-dump.sh`
//! switches), checks them as at startup, and answers from them from the
//! next request on, with no drain and no restart (docs/OPERATIONS.md,
//! "Updating the dump").
//!
//! Why not a restart: a restarting replica is out of rotation for its
//! drain and its start, and during a rolling update the replicas serve two
//! dumps for as long as that takes; every lookup answered on one and
//! fetched on the other costs the client a 412 and a second lookup. A
//! reload takes the time to open the new index, so the replicas disagree
//! only between their reloads.
//!
//! [`Serving`] holds the state being served. Each request takes it once;
//! an answer in flight keeps the state it began with. The state a reload
//! replaces stays open until the next reload ([`AppState::previous`]), and
//! answers the `/xml` fetches whose `If-Match` names its dump: offsets a
//! client got before the reload, here or from a replica not yet reloaded,
//! or from a cache that has not yet seen the new dump, still fetch their
//! pages, where a 412 would cost the client a second lookup and fetch. A
//! release that fails to open is refused with its reason in the log and in
//! `/stats`, and the state served goes on.
//!
//! The next release (`--next-index`, linked by `update-dump.sh
//! --prepare-only`) answers such fetches too, from before the switch: once
//! every replica of a cluster has it, replicas switched and not yet
//! switched answer each other's offsets, and a rolling update costs clients
//! no 412 (docs/OPERATIONS.md, "Drill").

use crate::state::AppState;
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::signal::unix::Signal;

/// The state being served, replaced whole by a reload.
#[derive(Debug)]
pub struct Serving(ArcSwap<AppState>);

impl Serving {
    /// Serves `state`.
    pub fn new(state: Arc<AppState>) -> Serving {
        Serving(ArcSwap::new(state))
    }

    /// The state to answer a request from: one atomic load, no lock.
    pub fn current(&self) -> arc_swap::Guard<Arc<AppState>> {
        self.0.load()
    }

    /// The state being served, to keep beyond one request.
    pub fn current_full(&self) -> Arc<AppState> {
        self.0.load_full()
    }

    /// Is `state` the one being served?
    pub fn is_current(&self, state: &Arc<AppState>) -> bool {
        Arc::ptr_eq(&self.0.load(), state)
    }

    fn replace(&self, state: Arc<AppState>) {
        self.0.store(state);
    }
}

/// What the reloads of this process came to, for `/stats` and `/metrics`:
/// shared by every state it serves.
#[derive(Debug, Default)]
pub struct ReloadLog {
    done: AtomicU64,
    refused: AtomicU64,
    last_refusal: Mutex<Option<String>>,
}

impl ReloadLog {
    /// Reloads that switched to a new state, and those refused.
    pub fn counts(&self) -> (u64, u64) {
        (self.done.load(Ordering::Relaxed), self.refused.load(Ordering::Relaxed))
    }

    /// Why the last refused reload was refused.
    pub fn last_refusal(&self) -> Option<String> {
        self.last_refusal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn refused(&self, reason: String) {
        *self.last_refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reloads on every SIGHUP until the server drains. `loaded` runs with each
/// new state once it is served (the background checksum pass); `notify`
/// tells systemd (`RELOADING=1`, then `READY=1`).
pub(crate) async fn on_hangup(
    mut hangup: Signal,
    serving: Arc<Serving>,
    loaded: impl Fn(Arc<AppState>),
    notify: fn(&str),
) {
    while hangup.recv().await.is_some() {
        let old = serving.current_full();
        if old.drain.is_on() {
            tracing::warn!("SIGHUP while draining: not reloading");
            continue;
        }
        notify("RELOADING=1\nSTATUS=reloading the index and dump");
        tracing::info!("SIGHUP: opening {} again", old.config.index_dir.display());
        let t0 = std::time::Instant::now();
        let previous = old.clone();
        let opened = actix_web::rt::task::spawn_blocking(move || previous.reopened()).await;
        let opened =
            opened.unwrap_or_else(|e| Err(crate::StartupError::Damaged(format!("the reload panicked: {e}"))));
        match opened {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                serving.replace(fresh.clone());
                old.forget_others();
                fresh.reloads.done.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "reloaded in {} ms: serving {} pages of {} (ETag {}; was {})",
                    t0.elapsed().as_millis(),
                    fresh.index.pages(),
                    fresh.release_path().display(),
                    fresh.dump.etag(),
                    old.dump.etag(),
                );
                notify(&format!("READY=1\nSTATUS=serving {} pages (reloaded)", fresh.index.pages()));
                loaded(fresh);
            }
            Err(e) => {
                let reason = with_sources(&e);
                tracing::error!("reload refused, still serving {}: {reason}", old.release_path().display());
                old.reloads.refused(reason);
                notify(&format!(
                    "READY=1\nSTATUS=serving {} pages (a reload was refused)",
                    old.index.pages()
                ));
            }
        }
    }
}

/// `e` with its sources, as anyhow's `{:#}` prints them.
pub(crate) fn with_sources(e: &crate::StartupError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
