//! The on-disk index format: one directory of memory-mappable files.
//!
//! ```text
//! DUMP.wikidex/
//!   manifest.json   format version, the dump's identity, site info, counts,
//!                   and the length and CRC-32 of every other file
//!   titles.fc       row -> title, front-coded in blocks of 16, with each
//!                   block's first 8 bytes for a binary search: the one
//!                   store of titles (see [`title_column`])
//!   starts.u48      row -> byte offset of `<` of `<page>`   (48-bit LE, 6 bytes)
//!   lengths.u32     row -> fragment length, `end - start + 1`      (u32 LE)
//!   ns.i16          row -> namespace key                           (i16 LE)
//!   redirects.u32   row -> row of the redirect target, or NOT_REDIRECT /
//!                   TARGET_MISSING                                 (u32 LE)
//!   ids.u32         row -> page `<id>`, or NO_ID                   (u32 LE)
//!   targets.fst     fst Set: row (u32 BE) followed by the target title,
//!                   for every redirect whose target is TARGET_MISSING
//!   scores.u16      row -> popularity score, saturated at 65535 (u16 LE),
//!                   then (row, score) u32 LE pairs of the saturated rows
//!   ranked.u32      the highest-scored rows of every prefix with many
//!                   rows, for `order=rank` (see [`crate::rank`])
//!   pages.zst       only for a compressed dump: the XML as a seekable
//!                   zstd file ([`crate::store`])
//!   folded.fst      optional; fst Map: fold(title) -> position of its rows
//!                   in folded.u32                        (see crate::fold)
//!   folded.u32      optional; rows grouped by folded title (u32 LE)
//!   rows.jsf        optional (`--json-rows`); row -> its `/offsets` row as
//!                   JSON text, `["title",start,end],`, back to back in row
//!                   order, so a listing is one copy (see [`json_rows`])
//! ```
//!
//! A *row* is one page. Rows are sorted by (title bytes, start offset), so the
//! rows of one title are contiguous, a prefix's rows are one run found by
//! two searches of `titles.fc`, and later features add files (a case-folded
//! fst, page ids) without rewriting these.
//!
//! Every binary file ends with a 32-byte [`Footer`]: magic, format version,
//! file kind, payload length and the payload's CRC-32, itself covered by a
//! CRC. Opening an index checks footers and lengths (cheap, independent of
//! size); [`crate::Index::verify`] recomputes every checksum.
//!
//! An index is written into a temporary sibling directory, fsynced, and
//! swapped into place with one atomic rename, so a reader sees the old index,
//! the new one, or none — never half of one.

mod checksum;
mod footer;
pub mod json_rows;
mod manifest;
pub mod title_column;
mod writer;

pub use checksum::CrcWriter;
pub use footer::{FOOTER_LEN, FileKind, Footer};
pub use json_rows::{JsonRows, JsonRowsWriter};
pub use manifest::{
    ContentIdentity, DumpIdentity, FileEntry, Manifest, Namespace, SiteInfo, SkippedPage, StoreEntry,
};
pub use title_column::{TitleColumn, TitleColumnWriter, TitleCursor};
pub use writer::{FileSink, IndexWriter};

/// The format version this build writes. Version 5 keeps titles in
/// `titles.fc` alone (block heads for its search; no `titles.fst`);
/// version 4 added the popularity score (`scores.u16`, `ranked.u32`).
pub const FORMAT_VERSION: u32 = 5;
/// The oldest format version this build reads.
pub const OLDEST_SUPPORTED_VERSION: u32 = 5;
/// First eight bytes of every footer.
pub const MAGIC: [u8; 8] = *b"WIKIDEX\0";

/// Name of the manifest file inside an index directory.
pub const MANIFEST: &str = "manifest.json";
/// Name of the page start offsets column.
pub const STARTS: &str = "starts.u48";
/// Name of the fragment lengths column.
pub const LENGTHS: &str = "lengths.u32";
/// Name of the namespace column.
pub const NAMESPACES: &str = "ns.i16";
/// Name of the redirect target column.
pub const REDIRECTS: &str = "redirects.u32";

/// Name of the optional case- and accent-folded title fst.
pub const FOLDED_FST: &str = "folded.fst";
/// Name of the rows of each folded title, back to back.
pub const FOLDED_ROWS: &str = "folded.u32";
/// Name of the front-coded title column.
pub const TITLE_COLUMN: &str = "titles.fc";
/// Name of the optional file of rows written as JSON.
pub const JSON_ROWS: &str = "rows.jsf";
/// Name of the page id column.
pub const IDS: &str = "ids.u32";
/// Name of the fst of redirect targets that are not pages of the dump.
pub const REDIRECT_TARGETS: &str = "targets.fst";
/// Name of the popularity score column.
pub const SCORES: &str = "scores.u16";
/// Name of the ranked lists of prefixes with many rows.
pub const RANKED_LISTS: &str = "ranked.u32";
/// `ids.u32` value of a page without a numeric `<id>`.
pub const NO_ID: u32 = u32::MAX;
/// Name of the page store, written when the dump is compressed.
pub const PAGE_STORE: &str = "pages.zst";

/// The offset of a page's last byte (the `>` of `</page>`) from its start
/// and its `lengths.u32` value. The reader's [`crate::Page`] and the rows in
/// `rows.jsf` both take it from here, so they agree (`wikidex verify`
/// compares them). A length of 0 (never written) reads as 1.
///
/// ```
/// assert_eq!(wikidex_indexer::format::page_end(100, 10), 109);
/// ```
pub fn page_end(start: u64, len: u32) -> u64 {
    start + u64::from(len).max(1) - 1
}

/// `redirects.u32` value of a page that is not a redirect.
pub const NOT_REDIRECT: u32 = u32::MAX;
/// `redirects.u32` value of a redirect whose target title is not in the dump.
pub const TARGET_MISSING: u32 = u32::MAX - 1;
/// The largest number of pages one index holds (row numbers are u32 and the
/// two largest values are reserved as markers).
pub const MAX_PAGES: u64 = TARGET_MISSING as u64;
/// Bytes in one `starts.u48` value.
pub const START_BYTES: usize = 6;
/// The largest dump an index can address: offsets are 48-bit (256 TiB).
pub const MAX_DUMP_BYTES: u64 = 1 << 48;
/// MediaWiki's limit on a title's length in UTF-8 bytes, not counting its
/// namespace prefix: MediaWiki stores the namespace apart from
/// `page_title`, so `Wikipedia:` followed by 255 bytes is a legal title.
pub const MAX_TITLE_BYTES: usize = 255;
/// The longest title wikidex stores: a namespace name (a title itself, so
/// at most [`MAX_TITLE_BYTES`]), `:`, and [`MAX_TITLE_BYTES`].
pub const MAX_FULL_TITLE_BYTES: usize = 2 * MAX_TITLE_BYTES + 1;
