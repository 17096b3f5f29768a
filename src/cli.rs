//! Command-line interface: one struct per subcommand; doc comments are the
//! `--help` text. Every `serve` flag is also an environment variable.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Index a Wikipedia XML dump once; serve prefix, title and byte-range
/// lookups in microseconds.
#[derive(Debug, Parser)]
#[command(name = "wikidex", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a dump and write its index (default: DUMP.wikidex beside it).
    Index(IndexArgs),
    /// Serve an index over HTTP (with no arguments: the bundled sample).
    Serve(ServeArgs),
    /// Check every checksum of an index and that it matches its dump.
    Verify(VerifyArgs),
    /// Write a synthetic, enwiki-shaped dump (deterministic for a seed).
    Gen(GenArgs),
}

/// `wikidex index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The dump, as Wikimedia ships it (`enwiki-YYYYMMDD-pages-articles-multistream.xml.bz2`,
    /// with its `-index.txt.bz2` beside it if you have it) or uncompressed
    /// (`….xml`). A compressed dump's XML goes into the index as a page store.
    pub dump: PathBuf,
    /// Where to write the index directory [default: DUMP.wikidex].
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// MiB of dump per parallel work unit.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub chunk_mib: u64,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Skip the case-folded title index (no match=folded/fuzzy; smaller, faster to build).
    #[arg(long)]
    pub no_folded: bool,
    /// Removed: the front-coded title column (`titles.fc`) is now the
    /// index's one store of titles. Kept hidden so that scripts still
    /// passing it get a clear error.
    #[arg(long, hide = true)]
    pub no_title_column: bool,
    /// Also write every row's /offsets JSON (`rows.jsf`), for listings
    /// that copy it instead of writing it: /offsets takes ~1.2x the
    /// requests a core serves, for ~60 more bytes/page of index
    /// (docs/BENCHMARKS.md, "Rows written once").
    #[arg(long)]
    pub json_rows: bool,
    /// Removed: rows.jsf is no longer written by default (`--json-rows`
    /// writes it). Kept hidden so that scripts still passing it get a
    /// clear error.
    #[arg(long, hide = true)]
    pub no_json_rows: bool,
    /// Index the rest when a page is invalid (a title MediaWiki would not
    /// allow, no <ns>, …) instead of refusing the dump; every skipped page
    /// is named with its byte offset and reason in the summary and in the
    /// index's manifest.json. Damage outside pages is still refused.
    #[arg(long)]
    pub skip_invalid: bool,
    /// zstd level of the page store written for a .xml.bz2 dump
    /// (docs/BENCHMARKS.md, "Compressed dumps").
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub store_level: i32,
    /// KiB of XML per page store frame: larger compresses better, smaller
    /// serves a page with less decompression.
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u64).range(16..=16384))]
    pub store_frame_kib: u64,
}

/// `wikidex serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The index directory [default: DUMP.wikidex, built if missing or stale].
    #[arg(long, env = "WIKIDEX_INDEX")]
    pub index: Option<PathBuf>,
    /// The dump the index points into [default: the one recorded in the
    /// index, or the bundled sample data/enwiki-sample-multistream.xml.bz2].
    #[arg(long, env = "WIKIDEX_DUMP")]
    pub dump: Option<PathBuf>,
    /// The index of a release about to be served (deploy/update-dump.sh
    /// --prepare-only links it): where it exists, /xml fetches whose
    /// If-Match names its dump are answered from it, so that replicas
    /// switched and not yet switched answer each other's offsets. Opened
    /// at startup and at each reload (SIGHUP); missing, it is left out.
    #[arg(long, env = "WIKIDEX_NEXT_INDEX")]
    pub next_index: Option<PathBuf>,
    /// That release's dump [default: dump.xml beside --next-index].
    #[arg(long, env = "WIKIDEX_NEXT_DUMP", requires = "next_index")]
    pub next_dump: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "WIKIDEX_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// HTTP worker threads [default: one per core].
    #[arg(long, env = "WIKIDEX_WORKERS")]
    pub workers: Option<usize>,
    /// Log every request, one line each, through the log output (off by
    /// default: a line per request costs more than most answers).
    #[arg(long, env = "WIKIDEX_ACCESS_LOG")]
    pub access_log: bool,
    /// Largest `limit` a client may ask of /offsets.
    #[arg(long, env = "WIKIDEX_MAX_LIMIT", default_value_t = 10_000)]
    pub max_limit: usize,
    /// Largest byte range /xml serves, in bytes.
    #[arg(long, env = "WIKIDEX_MAX_RANGE_BYTES", default_value_t = 64 << 20)]
    pub max_range_bytes: u64,
    /// Largest number of open connections per worker.
    #[arg(long, env = "WIKIDEX_MAX_CONNECTIONS", default_value_t = 25_000)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "WIKIDEX_REQUEST_TIMEOUT", default_value_t = 5)]
    pub request_timeout: u64,
    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "WIKIDEX_KEEP_ALIVE", default_value_t = 30)]
    pub keep_alive: u64,
    /// Seconds to drain after the first SIGTERM/SIGINT before the listener
    /// closes: /healthz answers 503 and every answer closes its connection,
    /// so a balancer stops sending here before connecting is refused. The
    /// default lets one polling /healthz every second or two (HAProxy's
    /// `inter`) see two failures, and fits, with the answers in flight, in
    /// the 10 s `docker stop` waits before SIGKILL. 0: stop accepting at
    /// once. A second signal always stops at once.
    #[arg(long, env = "WIKIDEX_DRAIN_SECS", default_value_t = wikidex_server::config::DEFAULT_DRAIN.as_secs())]
    pub drain_secs: u64,
    /// Seconds caches may reuse an answer about the dump's content
    /// (`Cache-Control: max-age=…` on /offsets, /wiki, /xml,
    /// /opensearch, /suggest): they change only when the dump does.
    #[arg(long, env = "WIKIDEX_MAX_AGE", default_value_t = wikidex_server::config::DEFAULT_MAX_AGE.as_secs())]
    pub max_age: u64,
    /// When to recompute every index checksum: `full` before serving,
    /// `background` just after starting (a mismatch stops the server),
    /// `auto` = full up to 256 MiB of index, else background; `off`.
    /// Footers, versions, lengths and the dump's identity are always
    /// checked before serving.
    #[arg(long, env = "WIKIDEX_VERIFY", default_value = "auto")]
    pub verify: wikidex_server::VerifyMode,
    /// Removed: the dump is checked with `fstat` before every read. Kept
    /// hidden so that scripts still passing it get a clear error.
    #[arg(long, env = "WIKIDEX_DUMP_WATCH", hide = true)]
    pub dump_watch: Option<String>,
    /// MiB of decompressed page store frames kept in memory, for an index
    /// built from a .xml.bz2 dump (0: none; every page read decompresses).
    #[arg(long, env = "WIKIDEX_STORE_CACHE_MIB", default_value_t = 256)]
    pub store_cache_mib: u64,
}

/// `wikidex verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The index directory.
    pub index: PathBuf,
    /// The dump [default: the one recorded in the index].
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

/// `wikidex gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of pages to write.
    #[arg(long)]
    pub pages: u64,
    /// Random seed; the same seed and page count give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Article text length in percent of realistic (smaller: more pages per GB).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub text_percent: u32,
}
