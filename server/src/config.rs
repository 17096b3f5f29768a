//! [`Config`]: every setting of the server, parsed once at startup.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How the server runs. Built by the `wikidex serve` command line; validated
/// once by [`Config::validate`], then read-only.
#[derive(Debug, Clone)]
pub struct Config {
    /// The index directory.
    pub index_dir: PathBuf,
    /// The dump the index points into.
    pub dump: PathBuf,
    /// A release about to be served, as an index directory and its dump
    /// (the dump is not read when the index holds the pages): where it
    /// exists, `/xml` answers the fetches whose `If-Match` names its dump
    /// from it, so that during a rolling update every replica answers
    /// offsets from either dump ([`crate::reload`]).
    pub next: Option<(PathBuf, PathBuf)>,
    /// Listen address.
    pub bind: SocketAddr,
    /// HTTP worker threads.
    pub workers: usize,
    /// Log every request.
    pub access_log: bool,
    /// Largest `limit` for /offsets (the default limit is 100, capped by this).
    pub max_limit: usize,
    /// Largest byte range /xml serves.
    pub max_range_bytes: u64,
    /// Open connections per worker before new ones wait in the backlog.
    pub max_connections: usize,
    /// Time a client has to send a request head.
    pub request_timeout: Duration,
    /// Idle keep-alive time.
    pub keep_alive: Duration,
    /// The drain: how long, after the first SIGTERM/SIGINT, the server
    /// keeps accepting while `/healthz` answers 503 and every answer closes
    /// its connection, before it stops accepting ([`crate::stop::Drain`]).
    pub drain: Duration,
    /// When to recompute the index checksums.
    pub verify: VerifyMode,
    /// Bytes of decompressed page store frames kept in memory (an index
    /// built from a compressed dump).
    pub store_cache_bytes: u64,
    /// `Cache-Control: max-age=…` of the answers about the dump's
    /// content (`/offsets`, `/wiki`, `/xml`, `/opensearch`, `/suggest`).
    pub max_age: Duration,
}

/// The default `max-age` of content answers. They never change while a
/// dump is served; what bounds their freshness is how soon after a dump
/// update a cache in front must stop answering from the old one. Offsets
/// it hands out after that still cannot fetch the wrong bytes: `/xml`
/// refuses them with 412 when they come with their `If-Match`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// `s` as one of `choices` (name, value), or an error naming them all.
fn one_of<T: Copy>(s: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices.iter().find(|(name, _)| *name == s).map(|&(_, value)| value).ok_or_else(|| {
        let names: Vec<&str> = choices.iter().map(|&(name, _)| name).collect();
        format!("{s:?} is not one of {}", names.join(", "))
    })
}

/// When the server recomputes every index checksum (footers, lengths,
/// versions and the dump's identity are always checked before serving).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Before serving when the index is at most [`AUTO_FULL_BYTES`],
    /// otherwise in the background.
    Auto,
    /// Before serving: startup time grows with the index.
    Full,
    /// Right after starting to serve; a mismatch stops the server with the
    /// same error (and `/healthz` answers 503 until it has stopped).
    Background,
    /// Never (`wikidex verify` can be run separately).
    Off,
}

/// Indexes up to this size are checksummed before serving under
/// [`VerifyMode::Auto`] (about 50 ms at memory speed on two cores).
pub const AUTO_FULL_BYTES: u64 = 256 << 20;

impl std::str::FromStr for VerifyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let modes = [
            ("auto", VerifyMode::Auto),
            ("full", VerifyMode::Full),
            ("background", VerifyMode::Background),
            ("off", VerifyMode::Off),
        ];
        one_of(s, &modes)
    }
}

/// The drain's default length. Long enough for a balancer that polls
/// `/healthz` every second or two (HAProxy's `inter`) to see it fail twice
/// and stop sending; short enough that, with the answers in flight, the
/// stop fits in the 10 s `docker stop` waits before SIGKILL.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

/// A setting out of range.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting: {0}")]
pub struct ConfigError(String);

impl Config {
    /// The settings for serving `index_dir` over `dump` with every default.
    pub fn new(index_dir: impl Into<PathBuf>, dump: impl Into<PathBuf>) -> Config {
        Config {
            index_dir: index_dir.into(),
            dump: dump.into(),
            next: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get().min(512)),
            access_log: false,
            max_limit: 10_000,
            max_range_bytes: 64 << 20,
            max_connections: 25_000,
            request_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(30),
            drain: DEFAULT_DRAIN,
            verify: VerifyMode::Auto,
            store_cache_bytes: 256 << 20,
            max_age: DEFAULT_MAX_AGE,
        }
    }

    /// Checks ranges: at least one worker, a max limit of at least 1, a
    /// positive range cap and timeouts, a drain of at most an hour.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError(m.to_string()));
        if self.workers == 0 || self.workers > 512 {
            return bad("workers must be between 1 and 512");
        }
        if self.max_limit == 0 {
            return bad("max-limit must be at least 1");
        }
        if self.max_range_bytes == 0 {
            return bad("max-range-bytes must be at least 1");
        }
        if self.max_connections == 0 {
            return bad("max-connections must be at least 1");
        }
        if self.request_timeout.is_zero() {
            return bad("request-timeout must be at least 1 second");
        }
        // Longer than any orchestrator waits before SIGKILL: a typo, not a
        // choice (milliseconds given as seconds, say).
        if self.drain > Duration::from_secs(3600) {
            return bad("drain-secs must be at most 3600");
        }
        Ok(())
    }

    /// The default `limit` of /offsets: 100, or less if the maximum is lower.
    pub fn default_limit(&self) -> usize {
        self.max_limit.min(100)
    }
}
