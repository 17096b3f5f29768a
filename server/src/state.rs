//! [`AppState`]: everything a handler reads, built once at startup and
//! shared read-only by all workers.

use crate::config::{AUTO_FULL_BYTES, Config, VerifyMode};
use crate::dump::DumpFile;
use crate::metrics::{IndexFacts, Metrics, StorageFacts};
use crate::source::{PageSource, Storage};
use crate::stop::Drain;
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
    /// Request metrics.
    pub metrics: Metrics,
    /// Index facts for /stats.
    pub facts: IndexFacts,
    /// When the server started.
    pub started: Instant,
    /// Set when a background checksum pass found the index damaged.
    pub damaged: std::sync::OnceLock<String>,
    /// Whether the checksums still have to be verified after startup.
    pub verify_in_background: bool,
    /// The highest-scored pages for `/stats`, found on its first request
    /// (a pass over the score column: kept out of startup).
    pub top_pages: std::sync::OnceLock<serde_json::Value>,
    /// Set once the server drains before stopping ([`Drain`]).
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
        if !index.has_title_column() {
            tracing::warn!(
                "{} has no titles.fc (built before it, or with --no-title-column): /offsets lists \
                 titles by walking titles.fst, several times slower per title; `wikidex index` \
                 rebuilds it with the column",
                config.index_dir.display()
            );
        }
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
        Ok(AppState {
            index,
            dump,
            config,
            metrics: Metrics::default(),
            facts,
            started: Instant::now(),
            damaged: std::sync::OnceLock::new(),
            verify_in_background,
            top_pages: std::sync::OnceLock::new(),
            drain: Drain::default(),
            namespace_heads,
        })
    }

    /// Where pages are served from, for `/stats` and `/metrics`.
    pub fn storage_facts(&self) -> StorageFacts {
        StorageFacts { storage: self.dump.storage(), cache: self.dump.cache_stats() }
    }
}
