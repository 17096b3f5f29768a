//! The popularity score of every row: how many distinct pages link to it
//! (docs/FORMAT.md, "scores.u16"). A second pass over the page texts, once
//! every title and redirect is known, so that each link resolves exactly:
//! through the dump's memory map for XML, through the page store just
//! written for a compressed dump (zstd decompresses at many times bzip2's
//! speed, so the pass costs a fraction of the first).
//!
//! A link counts for its target's first row, or, when that row is a
//! redirect, for the redirect's target (one hop; a redirect keeps 0). Each
//! linking page counts once per target, never for itself, and redirect
//! pages link to nothing.

use super::Builder;
use crate::error::{Error, Result};
use crate::format::{NOT_REDIRECT, TARGET_MISSING};
use crate::scan::{LinkRules, LinkScratch, RawPage, ScanResult};
use crate::store::Store;
use hashbrown::HashTable;
use memchr::memmem::{Finder, FinderRev};
use rayon::prelude::*;
use std::path::Path;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use xxhash_rust::xxh3::xxh3_64;

/// Where the pass reads page texts.
pub(super) enum Texts<'a> {
    /// The XML dump, memory-mapped; `release` drops a finished range's
    /// pages from our mapping, as the first pass does.
    Xml { map: &'a [u8], release: &'a (dyn Fn(usize, usize) + Sync) },
    /// The page store written by the compressed pass.
    Store { store: &'a Store, path: &'a Path },
}

/// Bytes of dump per work unit.
const BATCH_BYTES: u64 = 16 << 20;

/// Every row's score, in row order.
pub(super) fn scores(
    b: &Builder,
    rules: &LinkRules,
    scanned: &ScanResult,
    rows: &[RawPage],
    redirects: &[u32],
    texts: &Texts<'_>,
) -> Result<Vec<u32>> {
    let titles = TitleTable::new(scanned, rows, redirects);
    // Linking pages in dump order, so each batch reads one stretch.
    let mut sources: Vec<u32> =
        (0..rows.len() as u32).filter(|&r| rows[r as usize].redirect_len == 0).collect();
    sources.par_sort_unstable_by_key(|&r| rows[r as usize].start);
    let batches = batches(&sources, rows);
    let total: u64 = batches.iter().map(|b| b.bytes.end - b.bytes.start).sum();
    let done = AtomicU64::new(0);
    let counts: Vec<AtomicU32> = (0..rows.len()).map(|_| AtomicU32::new(0)).collect();
    batches.par_iter().try_for_each_init(
        || (LinkScratch::default(), PageLinks::default(), Vec::new()),
        |(scratch, links, targets), batch| -> Result<()> {
            b.check_cancel()?;
            let owned;
            let bytes: &[u8] = match texts {
                Texts::Xml { map, .. } => &map[batch.bytes.start as usize..batch.bytes.end as usize],
                Texts::Store { store, path } => {
                    owned = store.read_to_vec(batch.bytes.clone()).map_err(|e| Error::Corrupt {
                        path: path.to_path_buf(),
                        message: format!("cannot read back the page store just written: {e}"),
                    })?;
                    &owned
                }
            };
            for &row in &sources[batch.sources.clone()] {
                let page = &rows[row as usize];
                let at = (page.start - batch.bytes.start) as usize;
                let Some(text) = page_text(&bytes[at..at + page.len as usize]) else { continue };
                links.clear();
                rules.for_each_link(text, scratch, |title| links.push(title));
                targets.clear();
                targets.extend(links.iter().filter_map(|title| titles.credited(title)));
                credit(targets, row, &counts);
            }
            if let Texts::Xml { release, .. } = texts {
                release(batch.bytes.start as usize, batch.bytes.end as usize);
            }
            let bytes = batch.bytes.end - batch.bytes.start;
            let sofar = done.fetch_add(bytes, Ordering::Relaxed) + bytes;
            b.report(super::Phase::Linking, sofar, total, rows.len() as u64);
            Ok(())
        },
    )?;
    Ok(counts.into_iter().map(AtomicU32::into_inner).collect())
}

/// One page's link titles, back to back. They are looked up in the title
/// table together once the page is read: the lookups of a tight loop
/// overlap their cache misses, which lookups spread between the parsing of
/// each link cannot.
#[derive(Default)]
struct PageLinks {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl PageLinks {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn push(&mut self, title: &[u8]) {
        self.bytes.extend_from_slice(title);
        self.ends.push(self.bytes.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.bytes[start..end])
    }
}

/// Adds one linking page's targets (the rows its links credit) to the
/// counts: once each, never itself.
fn credit(targets: &mut Vec<u32>, source: u32, counts: &[AtomicU32]) {
    targets.sort_unstable();
    targets.dedup();
    for &t in targets.iter() {
        if t != source {
            counts[t as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The content of a page's `<text>` element, as the dump writes it; `None`
/// for an empty (`<text … />`) or missing one.
fn page_text(page: &[u8]) -> Option<&[u8]> {
    static OPEN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"<text"));
    static CLOSE: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(b"</text>"));
    let open = OPEN.find(page)?;
    let gt = open + memchr::memchr(b'>', &page[open..])?;
    if page[gt - 1] == b'/' {
        return None;
    }
    let body = &page[gt + 1..];
    let end = CLOSE.rfind(body)?;
    Some(&body[..end])
}

/// A run of linking pages read together.
struct Batch {
    /// Their positions in the sources.
    sources: std::ops::Range<usize>,
    /// The dump bytes they span.
    bytes: std::ops::Range<u64>,
}

/// Cuts the sources (in dump order) into batches of about
/// [`BATCH_BYTES`].
fn batches(sources: &[u32], rows: &[RawPage]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut first = 0;
    while first < sources.len() {
        let start = rows[sources[first] as usize].start;
        let mut end = start;
        let mut i = first;
        while i < sources.len() && (i == first || end - start < BATCH_BYTES) {
            let p = &rows[sources[i] as usize];
            end = end.max(p.start + u64::from(p.len));
            i += 1;
        }
        out.push(Batch { sources: first..i, bytes: start..end });
        first = i;
    }
    out
}

/// Title → the row a link to it credits, by hash, holding eight bytes a
/// title: that row and 32 more bits of the title's 64-bit hash. Its bucket
/// and hashbrown's 7-bit tag hold the others, so a lookup compares the
/// whole hash and finds its answer without reading the title back from
/// the scan's arenas or a column beside the table (each one more cache
/// miss a link, most of the pass's time). Should two titles of the dump
/// share a hash (about one dump in 10^5 at enwiki's size), entries hold
/// first rows instead, and every lookup compares titles too.
struct TitleTable<'a> {
    /// `hash bits << 32 | credited row` ([`NOT_CREDITED`]: none), or
    /// `hash bits << 32 | first row` when `collisions` is set.
    table: HashTable<u64>,
    /// When two titles share a hash: per row, the row a link to it
    /// credits.
    collisions: Option<Vec<u32>>,
    scanned: &'a ScanResult,
    rows: &'a [RawPage],
}

/// A link to this row credits nothing: a redirect to a page not in the
/// dump, or to another redirect (one hop only).
const NOT_CREDITED: u32 = u32::MAX;

/// The hash bits an entry keeps: those above the bucket index (at most
/// 2^25 buckets at enwiki's size) and below hashbrown's tag (the top 7).
fn hash_bits(hash: u64) -> u64 {
    (hash >> 25) & 0xFFFF_FFFF
}

impl<'a> TitleTable<'a> {
    fn new(scanned: &'a ScanResult, rows: &'a [RawPage], redirects: &[u32]) -> TitleTable<'a> {
        TitleTable::build(scanned, rows, redirects, false)
    }

    /// The table; `compare_titles` has lookups compare titles even when
    /// no two titles share a hash (for tests of that case).
    fn build(
        scanned: &'a ScanResult,
        rows: &'a [RawPage],
        redirects: &[u32],
        compare_titles: bool,
    ) -> TitleTable<'a> {
        let title = |r: u32| scanned.title(&rows[r as usize]);
        let first = |r: u32| r == 0 || !scanned.same_title(&rows[r as usize - 1], &rows[r as usize]);
        // The titles are hashed on all cores, a block of rows at a time (a
        // block's hashes are all that is held at once), and inserted in
        // order on one.
        const BLOCK: u32 = 1 << 20;
        let blocks = (0..rows.len() as u32).step_by(BLOCK as usize);
        let mut table = HashTable::with_capacity(rows.len());
        let mut collide = compare_titles;
        for lo in blocks {
            let hi = lo.saturating_add(BLOCK).min(rows.len() as u32);
            let hashed: Vec<(u64, u32)> =
                (lo..hi).into_par_iter().filter(|&r| first(r)).map(|r| (xxh3_64(title(r)), r)).collect();
            for (hash, row) in hashed {
                let bits = hash_bits(hash);
                collide |= table.find(hash, |&e: &u64| e >> 32 == bits).is_some();
                table.insert_unique(hash, bits << 32 | u64::from(row), |&e| xxh3_64(title(e as u32)));
            }
        }
        // A link to a redirect counts for its target, one hop: resolved
        // here once per row, not once per link.
        let credits: Vec<u32> = redirects
            .par_iter()
            .enumerate()
            .map(|(row, &target)| match target {
                NOT_REDIRECT => row as u32,
                TARGET_MISSING => NOT_CREDITED,
                t if redirects[t as usize] != NOT_REDIRECT => NOT_CREDITED,
                t => t,
            })
            .collect();
        if collide {
            return TitleTable { table, collisions: Some(credits), scanned, rows };
        }
        for entry in table.iter_mut() {
            *entry = *entry & !0xFFFF_FFFF | u64::from(credits[*entry as u32 as usize]);
        }
        TitleTable { table, collisions: None, scanned, rows }
    }

    /// The row a link to `title` credits, if any.
    fn credited(&self, title: &[u8]) -> Option<u32> {
        let hash = xxh3_64(title);
        let bits = hash_bits(hash);
        let credited = match &self.collisions {
            None => self.table.find(hash, |&e| e >> 32 == bits)? & 0xFFFF_FFFF,
            Some(credits) => {
                let same =
                    |&e: &u64| e >> 32 == bits && self.scanned.title(&self.rows[e as u32 as usize]) == title;
                let first = self.table.find(hash, same)? & 0xFFFF_FFFF;
                u64::from(credits[first as usize])
            }
        };
        Some(credited as u32).filter(|&c| c != NOT_CREDITED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_credit_the_same_rows_whether_lookups_compare_titles_or_not() {
        let xml = crate::scan::tests::dump(&[
            ("B", None),
            ("A", Some("B")),
            ("C", Some("A")),
            ("D", Some("Nowhere")),
            ("E", None),
            ("A", None),
        ]);
        let buf = xml.as_bytes();
        let prologue = crate::scan::parse_prologue(buf).unwrap();
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let rules = crate::scan::TitleRules::new(&prologue.site);
        let opts = crate::scan::ScanOptions::quiet(1 << 20, &cancel, &rules);
        let mut scanned = crate::scan::scan(buf, prologue.body_start, &opts).unwrap().unwrap();
        let rows = super::super::rows::sorted_rows(&mut scanned);
        let redirects = super::super::rows::resolve_redirects(&scanned, &rows);
        let row = |t: &str| rows.iter().position(|r| scanned.title(r) == t.as_bytes()).unwrap() as u32;
        // A (first row: the redirect) credits B; B and E themselves; C is a
        // redirect to a redirect and D one to a missing page: nothing.
        let expected = [
            ("A", Some(row("B"))),
            ("B", Some(row("B"))),
            ("C", None),
            ("D", None),
            ("E", Some(row("E"))),
            ("F", None),
        ];
        for compare_titles in [false, true] {
            let table = TitleTable::build(&scanned, &rows, &redirects, compare_titles);
            assert_eq!(table.collisions.is_some(), compare_titles);
            for (title, credited) in expected {
                assert_eq!(
                    table.credited(title.as_bytes()),
                    credited,
                    "{title}, comparing titles: {compare_titles}"
                );
            }
        }
    }

    #[test]
    fn page_text_is_the_text_element() {
        assert_eq!(page_text(b"<page><text bytes=\"3\">a[[b]]</text></page>"), Some(&b"a[[b]]"[..]));
        assert_eq!(page_text(b"<page><text bytes=\"0\" /></page>"), None);
        assert_eq!(page_text(b"<page><title>x</title></page>"), None);
    }
}
