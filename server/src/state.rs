//! [`AppState`]: everything a handler reads, built at startup (and again
//! by each reload, [`crate::reload`]) and shared read-only by all workers.

use crate::config::{AUTO_FULL_BYTES, Config, VerifyMode};
use crate::dump::DumpFile;
use crate::metrics::{IndexFacts, Metrics, StorageFacts};
use crate::reload::ReloadLog;
use crate::source::{PageSource, Storage};
use crate::stop::Drain;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wikidex_indexer::Index;

/// Shared, immutable server state (plus lock-free metrics).
#[derive(Debug)]
pub struct AppState {
    /// The memory-mapped index.
    pub index: Index,
    /// The dump's bytes: the dump file, or the index's page store.
    pub dump: PageSource,
    /// Settings.
    pub config: Config,
    /// Request metrics (the process's: a reload keeps them).
    pub metrics: Arc<Metrics>,
    /// Index facts for /stats.
    pub facts: IndexFacts,
    /// When the server started.
    pub started: Instant,
    /// When this index and dump began to be served.
    pub loaded: Instant,
    /// The index directory with every link resolved: which release this
    /// state serves, for `/stats`.
    release: PathBuf,
    /// The process's reloads.
    pub reloads: Arc<ReloadLog>,
    /// The state this one replaced in a reload, until the next reload: it
    /// still answers `/xml` fetches whose `If-Match` names its dump
    /// ([`crate::reload`]).
    previous: arc_swap::ArcSwapOption<AppState>,
    /// The release of `config.next`, where it exists and opens: it answers
    /// `/xml` fetches whose `If-Match` names its dump too.
    next: arc_swap::ArcSwapOption<AppState>,
    /// Why `config.next` exists but could not be opened.
    pub next_refusal: Option<String>,
    /// Set when a background checksum pass found the index damaged.
    pub damaged: std::sync::OnceLock<String>,
    /// Whether the checksums still have to be verified after startup.
    pub verify_in_background: bool,
    /// The highest-scored pages for `/stats`, found on its first request
    /// (a pass over the score column: kept out of startup).
    pub top_pages: std::sync::OnceLock<serde_json::Value>,
    /// Set once the server drains before stopping ([`Drain`]; the
    /// process's: a reload keeps it).
    pub drain: Drain,
    /// Every named namespace of the siteinfo with the start of its titles.
    /// `ns=` filters read them on every request (crate::handlers::offsets).
    pub namespace_heads: Vec<NamespaceHead>,
}

/// A named namespace and the start of its titles.
#[derive(Debug, Clone)]
pub struct NamespaceHead {
    /// Its key: 14.
    pub key: i32,
    /// `Category:`
    pub head: String,
    /// `category:`
    pub folded: String,
    /// Whether the titles whose folded form starts with `folded` are all
    /// of this namespace. Usually; but `Catégory: A Film`, of the main
    /// namespace, folds into `category:` too.
    pub folded_alone: bool,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The index or dump is missing, damaged or mismatched.
    #[error(transparent)]
    Index(#[from] wikidex_indexer::Error),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The background checksum pass found the index damaged.
    #[error("{0}")]
    Damaged(String),
    /// Binding or running the HTTP server failed. The message is the
    /// context alone: the cause is the error's source, which reporters
    /// print after it (`{:#}` in anyhow).
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl AppState {
    /// The ten highest-scored pages, `[{"title", "score"}, …]`.
    pub fn top_pages(&self) -> &serde_json::Value {
        self.top_pages.get_or_init(|| {
            let mut title = Vec::new();
            let top = self.index.top_rows(10).into_iter().map(|row| {
                let name = match self.index.title_of(row, &mut title) {
                    true => String::from_utf8_lossy(&title).into_owned(),
                    false => String::new(),
                };
                serde_json::json!({ "title": name, "score": self.index.score(row) })
            });
            serde_json::Value::Array(top.collect())
        })
    }

    /// Opens and validates the index and dump named by `config`: footers,
    /// versions, lengths and the dump's size, mtime and fingerprint always;
    /// every checksum now or later as `config.verify` says.
    pub fn load(config: Config) -> Result<AppState, StartupError> {
        config.validate()?;
        let release = std::fs::canonicalize(&config.index_dir).unwrap_or_else(|_| config.index_dir.clone());
        let index = Index::open(&config.index_dir)?;
        let full = match config.verify {
            VerifyMode::Full => true,
            VerifyMode::Auto => index.bytes() <= AUTO_FULL_BYTES,
            VerifyMode::Background | VerifyMode::Off => false,
        };
        if full {
            index.verify_checksums()?;
        }
        let verify_in_background =
            !full && matches!(config.verify, VerifyMode::Auto | VerifyMode::Background);
        let dump = match index.open_store(config.store_cache_bytes)? {
            Some(store) => PageSource::new(
                Storage::Store(store),
                index.manifest(),
                index.manifest().dump.mtime_ns,
                config.max_age,
            ),
            None => {
                let file = DumpFile::open(&config.dump, &index.manifest().dump)?;
                let mtime_ns = file.mtime_ns();
                PageSource::new(Storage::Dump(file), index.manifest(), mtime_ns, config.max_age)
            }
        };
        let m = index.manifest();
        let facts = IndexFacts {
            pages: m.pages,
            titles: m.titles,
            redirects: m.redirects,
            dump_bytes: dump.size(),
            index_bytes: index.bytes(),
        };
        let namespace_heads = index
            .manifest()
            .site
            .namespaces
            .iter()
            .filter(|ns| !ns.name.is_empty())
            .map(|ns| {
                let head = format!("{}:", ns.name);
                let folded = wikidex_indexer::fold::fold(&head);
                // Every title of the namespace starts with `head` as written
                // (MediaWiki reads any other spelling as the namespace's),
                // and its folded form with `folded`: the folded span is the
                // namespace's alone when it holds no more rows.
                let own = index.prefix_rows(head.as_bytes(), None, u32::MAX).len() as u32;
                let folded_alone = index.folded_rows_under(&folded) == own;
                NamespaceHead { key: ns.key, head, folded, folded_alone }
            })
            .collect();
        let (next, next_refusal) = AppState::open_next(&config);
        Ok(AppState {
            index,
            dump,
            config,
            metrics: Arc::default(),
            facts,
            started: Instant::now(),
            loaded: Instant::now(),
            release,
            reloads: Arc::default(),
            previous: arc_swap::ArcSwapOption::empty(),
            next: arc_swap::ArcSwapOption::from(next),
            next_refusal,
            damaged: std::sync::OnceLock::new(),
            verify_in_background,
            top_pages: std::sync::OnceLock::new(),
            drain: Drain::default(),
            namespace_heads,
        })
    }

    /// The release `config.next` names, opened, or why it cannot be; none
    /// if nothing is there. It is there when its index is, or the
    /// directory holding it (a link to a release) is: an index missing
    /// from a release is an error to report, not a release to leave out.
    fn open_next(config: &Config) -> (Option<Arc<AppState>>, Option<String>) {
        let Some((index_dir, dump)) = &config.next else { return (None, None) };
        let there = index_dir.exists() || index_dir.parent().is_some_and(|d| d.symlink_metadata().is_ok());
        if !there {
            return (None, None);
        }
        let settings =
            Config { index_dir: index_dir.clone(), dump: dump.clone(), next: None, ..config.clone() };
        match AppState::load(settings) {
            Ok(next) => (Some(Arc::new(next)), None),
            Err(e) => {
                let reason = crate::reload::with_sources(&e);
                tracing::warn!("the next release {} is left out: {reason}", index_dir.display());
                (None, Some(reason))
            }
        }
    }

    /// Opens the index and dump of this state's settings again, as
    /// [`AppState::load`] does, for a reload: the paths may now lead to
    /// another release. The process's metrics, drain and reload log carry
    /// over. The new state keeps this one as its previous
    /// ([`AppState::previous`]).
    pub fn reopened(self: &Arc<AppState>) -> Result<AppState, StartupError> {
        let mut fresh = AppState::load(self.config.clone())?;
        fresh.metrics = self.metrics.clone();
        fresh.started = self.started;
        fresh.reloads = self.reloads.clone();
        fresh.drain = self.drain.clone();
        fresh.previous = arc_swap::ArcSwapOption::from(Some(self.clone()));
        Ok(fresh)
    }

    /// The other releases whose `/xml` this state answers for an
    /// `If-Match` that names their dump: the one it replaced in a reload,
    /// and the next one.
    pub fn others(&self) -> impl Iterator<Item = Arc<AppState>> {
        self.previous().into_iter().chain(self.next())
    }

    /// The release of `config.next`, if it is open (and this state not yet
    /// replaced).
    pub fn next(&self) -> Option<Arc<AppState>> {
        self.next.load_full()
    }

    /// The state this one replaced, if it was reloaded (and not yet
    /// replaced itself).
    pub fn previous(&self) -> Option<Arc<AppState>> {
        self.previous.load_full()
    }

    /// Lets the other releases go: called once this one is replaced, as
    /// its successor's previous, which answers for its own dump alone. So
    /// one reload keeps one previous state open, not a chain of them, nor
    /// a second copy of the next release the successor now serves.
    pub(crate) fn forget_others(&self) {
        self.previous.store(None);
        self.next.store(None);
    }

    /// The index directory this state serves, with every link resolved.
    pub fn release_path(&self) -> &Path {
        &self.release
    }

    /// Where pages are served from, for `/stats` and `/metrics`.
    pub fn storage_facts(&self) -> StorageFacts {
        StorageFacts { storage: self.dump.storage(), cache: self.dump.cache_stats() }
    }
}
