//! # wikidex-indexer
//!
//! Turns a MediaWiki XML dump (`enwiki-YYYYMMDD-pages-articles.xml`) into an
//! index of every page's title and byte range, and reads that index back.
//!
//! - [`Builder`] (feature `build`, on by default) scans the dump through a
//!   memory map on all cores and writes the index atomically.
//! - [`Index`] opens an index in milliseconds at any size: an fst of titles
//!   plus fixed-width columns, all memory-mapped, validated once.
//! - [`format`](mod@format) documents the on-disk layout and owns its versioning.
//!
//! # Example
//!
//! ```no_run
//! use wikidex_indexer::{Builder, Index};
//!
//! let dump = std::path::Path::new("enwiki-20260101-pages-articles.xml");
//! let summary = Builder::new(dump, "enwiki.wikidex").build()?;
//! println!("{} pages", summary.pages);
//!
//! let index = Index::open("enwiki.wikidex".as_ref())?;
//! let rows = index.rows_of(b"Python (programming language)");
//! for row in rows {
//!     let page = index.page(row);
//!     println!("bytes {}-{} of the dump", page.start, page.end);
//! }
//! # Ok::<(), wikidex_indexer::Error>(())
//! ```

#![deny(missing_docs)]

mod cursor;
mod error;
pub mod fold;
pub mod format;
pub mod rank;
mod reader;
pub mod store;

#[cfg(feature = "build")]
mod build;
#[cfg(feature = "build")]
pub mod input;
#[cfg(feature = "build")]
pub mod scan;

#[cfg(feature = "build")]
pub use build::{BuildSummary, Builder, Phase, Progress};
pub use error::{Error, Result};
pub use format::{DumpIdentity, Manifest, SiteInfo};
/// Re-exported so callers build fuzzy queries with the same version.
pub use levenshtein_automata;
pub use reader::{FoldedRows, FuzzyRows, Index, Page, PrefixRows, Ranked, Redirect};
