//! [`Index`]: an opened, validated, memory-mapped index directory, and the
//! queries the server answers from it.
//!
//! Opening maps each file and checks its footer, its length against the
//! manifest's counts and its checksum against the manifest — work that does
//! not grow with the index. [`Index::verify`] rereads every byte.

use crate::cursor::prefix_span;
use crate::error::{Error, Result};
use crate::format::{
    self, FOOTER_LEN, FileKind, Footer, JsonRows, MANIFEST, Manifest, NOT_REDIRECT, TARGET_MISSING,
    TitleColumn, TitleCursor,
};
use crate::rank::{Domain, Filter, RankedRows, Ranking};
use fst::{IntoStreamer, Streamer};
use memmap2::Mmap;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A read-only memory map of one index file, minus its footer.
struct Payload {
    map: Mmap,
    len: usize,
    path: PathBuf,
    crc: u32,
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl Payload {
    fn open(dir: &Path, name: &str, kind: FileKind, manifest: &Manifest) -> Result<Payload> {
        let path = dir.join(name);
        let entry = manifest.files.get(name).ok_or_else(|| {
            Error::corrupt(dir.join(MANIFEST), format!("does not list required file {name}"))
        })?;
        let file = File::open(&path).map_err(|e| Error::io(&path, "open index file", e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, "stat index file", e))?.len();
        if len != entry.bytes {
            return Err(Error::corrupt(
                &path,
                format!("is {len} bytes but the manifest says {}", entry.bytes),
            ));
        }
        if len < FOOTER_LEN as u64 {
            return Err(Error::corrupt(&path, format!("{len} bytes is too short for a footer")));
        }
        // SAFETY: index files are written once into a temporary directory and
        // renamed into place; wikidex never modifies a published index file,
        // it replaces the whole directory. Another program truncating the file
        // while we run is outside what any mmap reader can defend against; the
        // server serves dump bytes (the large, user-managed file) with pread.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, "memory-map", e))?;
        let footer = Footer::decode(&map, &path)?;
        if footer.kind != kind.tag() {
            return Err(Error::corrupt(
                &path,
                format!(
                    "holds {:?} data, expected {:?}",
                    String::from_utf8_lossy(&footer.kind),
                    String::from_utf8_lossy(&kind.tag())
                ),
            ));
        }
        if footer.crc != entry.crc32 {
            return Err(Error::corrupt(
                &path,
                "its checksum differs from the manifest's (files from different builds?)",
            ));
        }
        let len = footer.payload_len as usize;
        Ok(Payload { map, len, path, crc: footer.crc })
    }

    /// An optional file: `None` when the manifest does not list it, else
    /// opened as [`Payload::open`] does and read through `shape`, whose
    /// refusal is reported against the file.
    fn open_optional<T>(
        dir: &Path,
        name: &str,
        kind: FileKind,
        manifest: &Manifest,
        shape: impl FnOnce(Payload) -> std::result::Result<T, format::title_column::ShapeError>,
    ) -> Result<Option<T>> {
        if !manifest.files.contains_key(name) {
            return Ok(None);
        }
        let payload = Payload::open(dir, name, kind, manifest)?;
        let path = payload.path.clone();
        shape(payload).map(Some).map_err(|e| Error::corrupt(path, e.0))
    }

    fn verify(&self) -> Result<()> {
        let got = crc32fast::hash(self.as_ref());
        if got != self.crc {
            return Err(Error::ChecksumMismatch { path: self.path.clone(), expected: self.crc, got });
        }
        Ok(())
    }

    fn check_len(&self, rows: u64, width: u64) -> Result<()> {
        if self.len as u64 != rows * width {
            return Err(Error::corrupt(
                &self.path,
                format!("holds {} bytes; {rows} pages of {width} bytes need {}", self.len, rows * width),
            ));
        }
        Ok(())
    }
}

/// The cursor of a row-by-row walk of `column`, which must be on `row`:
/// a cursor that could not decode a row stops short of the next one.
fn cursor_on<'c, 'a>(
    cursor: &'c mut Option<TitleCursor<'a>>,
    row: u64,
    column: &TitleColumn<Payload>,
) -> Result<&'c mut TitleCursor<'a>> {
    cursor.as_mut().filter(|c| u64::from(c.row()) == row).ok_or_else(|| {
        Error::corrupt(&column.data().path, format!("cannot decode row {row} (of {})", column.rows()))
    })
}

/// `wikidex verify`'s check of `titles.fc`: every row decodes, titles
/// never decrease (rows are in title order, which every search relies on)
/// and `titles` of them are distinct.
fn check_titles(column: &TitleColumn<Payload>, titles: u64) -> Result<()> {
    let path = &column.data().path;
    let rows = column.rows();
    let cannot_decode = |row: u64| Error::corrupt(path, format!("cannot decode row {row} (of {rows})"));
    let mut distinct = 0u64;
    if rows > 0 {
        let mut cursor = column.cursor(0).ok_or_else(|| cannot_decode(0))?;
        let mut previous = Vec::with_capacity(256);
        distinct = 1;
        for row in 1..rows {
            previous.clear();
            previous.extend_from_slice(cursor.title());
            if !cursor.advance() {
                return Err(cannot_decode(row));
            }
            match cursor.title().cmp(&previous[..]) {
                std::cmp::Ordering::Less => {
                    return Err(Error::corrupt(
                        path,
                        format!(
                            "row {row} is titled {:?}, which sorts before row {}'s {:?}",
                            String::from_utf8_lossy(cursor.title()),
                            row - 1,
                            String::from_utf8_lossy(&previous)
                        ),
                    ));
                }
                std::cmp::Ordering::Greater => distinct += 1,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    if distinct != titles {
        return Err(Error::corrupt(
            path,
            format!("holds {distinct} distinct titles, the manifest says {titles}"),
        ));
    }
    Ok(())
}

/// `wikidex verify`'s check of `rows.jsf`: each row's fragment is what
/// [`format::json_rows::write_fragment`] writes for the row's title and
/// range (from the columns).
fn json_check<'a>(
    index: &'a Index,
    json: &'a JsonRows<Payload>,
) -> impl FnMut(u64, &[u8]) -> Result<()> + 'a {
    let mut expected = Vec::with_capacity(512);
    move |row, title| {
        let title = std::str::from_utf8(title)
            .map_err(|_| Error::corrupt(&index.titles.data().path, "holds a title that is not UTF-8"))?;
        let page = index.page(row as u32);
        expected.clear();
        format::json_rows::write_fragment(&mut expected, title, page.start, page.end);
        let got = json.fragments(row as u32..row as u32 + 1);
        if got != Some(&expected[..]) {
            return Err(Error::corrupt(
                &json.data().path,
                format!(
                    "row {row} reads {:?}, the other files say {:?}",
                    got.map(String::from_utf8_lossy),
                    String::from_utf8_lossy(&expected)
                ),
            ));
        }
        Ok(())
    }
}

/// `wikidex verify`'s check of `rows.jsf`: [`json_check`] over one range
/// of rows per available core, each reading its titles from `titles.fc`.
/// The first failing range's error is returned.
fn json_check_by_rows(index: &Index, json: &JsonRows<Payload>, column: &TitleColumn<Payload>) -> Result<()> {
    let pages = index.pages();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let chunk = pages.div_ceil(threads).max(1);
    let check_rows = |first: u64| {
        let end = (first + chunk).min(pages);
        let mut check = json_check(index, json);
        let mut cursor = column.cursor(first as u32);
        for row in first..end {
            let title = cursor_on(&mut cursor, row, column)?;
            check(row, title.title())?;
            title.advance();
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..pages).step_by(chunk as usize).map(|first| s.spawn(move || check_rows(first))).collect();
        handles.into_iter().try_for_each(|h| h.join().expect("verification thread panicked"))
    })
}

/// Where a redirect page points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// The page is not a redirect.
    None,
    /// The page redirects to the first row of its target title.
    To(u32),
    /// The page redirects to a title that is not in the dump.
    Missing,
}

/// One page of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Its row: position in (title, start) order.
    pub row: u32,
    /// Offset of the `<` of `<page>` in the dump.
    pub start: u64,
    /// Offset of the final `>` of `</page>`, inclusive.
    pub end: u64,
    /// Its namespace key.
    pub ns: i32,
    /// Its redirect target, if any.
    pub redirect: Redirect,
}

impl Page {
    /// Length of the page's fragment in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a fragment holds at least `<page></page>`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// An open index. Cheap to share between threads (`&Index` is all queries need).
///
/// ```no_run
/// use wikidex_indexer::Index;
/// let index = Index::open("enwiki.xml.wikidex".as_ref())?;
/// let mut rows = index.prefix(b"Pyth", None);
/// let mut title = Vec::new();
/// while let Some(range) = rows.next_title(&mut title) {
///     for row in range {
///         let page = index.page(row);
///         println!("{} {} {}", String::from_utf8_lossy(&title), page.start, page.end);
///     }
/// }
/// # Ok::<(), wikidex_indexer::Error>(())
/// ```
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    titles: TitleColumn<Payload>,
    starts: Payload,
    lengths: Payload,
    namespaces: Payload,
    redirects: Payload,
    ids: Payload,
    missing_targets: fst::Set<Payload>,
    folded: Option<(fst::Map<Payload>, Payload)>,
    json_rows: Option<JsonRows<Payload>>,
    ranking: Ranking<Payload>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("dir", &self.dir).field("pages", &self.pages()).finish()
    }
}

impl Index {
    /// Opens the index in `dir`: reads the manifest, maps every file and checks
    /// footers, lengths and manifest checksums. Does not read the payloads;
    /// call [`Index::verify`] for that.
    pub fn open(dir: &Path) -> Result<Index> {
        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read(&manifest_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() {
                Error::io(dir, "find the index directory", e)
            } else {
                Error::io(&manifest_path, "read the index manifest", e)
            }
        })?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| Error::corrupt(&manifest_path, format!("not a valid manifest: {e}")))?;
        if manifest.format != "wikidex-index" {
            return Err(Error::corrupt(&manifest_path, "not a wikidex index manifest"));
        }
        if !(format::OLDEST_SUPPORTED_VERSION..=format::FORMAT_VERSION).contains(&manifest.format_version) {
            return Err(Error::Version {
                path: manifest_path,
                expected: format::FORMAT_VERSION,
                oldest: format::OLDEST_SUPPORTED_VERSION,
                got: manifest.format_version,
            });
        }
        if manifest.pages > format::MAX_PAGES || manifest.titles > manifest.pages {
            return Err(Error::corrupt(&manifest_path, "impossible page or title count"));
        }
        let open = |name, kind| Payload::open(dir, name, kind, &manifest);
        let titles = open(format::TITLE_COLUMN, FileKind::TitleColumn)?;
        let titles_path = titles.path.clone();
        let titles =
            TitleColumn::new(titles, manifest.pages).map_err(|e| Error::corrupt(titles_path, e.0))?;
        let starts = open(format::STARTS, FileKind::Starts)?;
        let lengths = open(format::LENGTHS, FileKind::Lengths)?;
        let namespaces = open(format::NAMESPACES, FileKind::Namespaces)?;
        let redirects = open(format::REDIRECTS, FileKind::Redirects)?;
        starts.check_len(manifest.pages, format::START_BYTES as u64)?;
        lengths.check_len(manifest.pages, 4)?;
        namespaces.check_len(manifest.pages, 2)?;
        redirects.check_len(manifest.pages, 4)?;
        let ids = open(format::IDS, FileKind::Ids)?;
        ids.check_len(manifest.pages, 4)?;
        let targets = open(format::REDIRECT_TARGETS, FileKind::RedirectTargets)?;
        let targets_path = targets.path.clone();
        let missing_targets =
            fst::Set::new(targets).map_err(|source| Error::Fst { path: targets_path, cause: source })?;
        let folded = match manifest.files.contains_key(format::FOLDED_FST) {
            true => {
                let payload = open(format::FOLDED_FST, FileKind::FoldedFst)?;
                let path = payload.path.clone();
                let map = fst::Map::new(payload).map_err(|source| Error::Fst { path, cause: source })?;
                let rows = open(format::FOLDED_ROWS, FileKind::FoldedRows)?;
                rows.check_len(manifest.pages, 4)?;
                Some((map, rows))
            }
            false => None,
        };
        let pages = manifest.pages;
        let json_rows = Payload::open_optional(dir, format::JSON_ROWS, FileKind::JsonRows, &manifest, |p| {
            JsonRows::new(p, pages)
        })?;
        let scores = open(format::SCORES, FileKind::Scores)?;
        let scores_path = scores.path.clone();
        let lists = open(format::RANKED_LISTS, FileKind::RankedLists)?;
        let ranking = Ranking::new(scores, lists, pages).map_err(|e| Error::corrupt(scores_path, e))?;
        if let Some((f, _)) = &folded
            && f.len() as u64 > manifest.titles
        {
            return Err(Error::corrupt(
                dir.join(format::FOLDED_FST),
                format!("holds {} keys, more than the {} titles", f.len(), manifest.titles),
            ));
        }
        Ok(Index {
            dir: dir.to_path_buf(),
            manifest,
            titles,
            starts,
            lengths,
            namespaces,
            redirects,
            ids,
            missing_targets,
            folded,
            json_rows,
            ranking,
        })
    }

    /// Recomputes the checksum of every file, in parallel: reads the whole
    /// index once, at memory speed. A server runs this at (or just after)
    /// startup; [`Index::verify`] also checks the structure.
    pub fn verify_checksums(&self) -> Result<()> {
        let mut payloads: Vec<&Payload> = vec![
            self.titles.data(),
            &self.starts,
            &self.lengths,
            &self.namespaces,
            &self.redirects,
            &self.ids,
            self.missing_targets.as_fst().as_inner(),
        ];
        if let Some((fst, rows)) = &self.folded {
            payloads.push(fst.as_fst().as_inner());
            payloads.push(rows);
        }
        if let Some(json) = &self.json_rows {
            payloads.push(json.data());
        }
        let (scores, lists) = self.ranking.data();
        payloads.push(scores);
        payloads.push(lists);
        std::thread::scope(|s| {
            let handles: Vec<_> = payloads.iter().map(|p| s.spawn(|| p.verify())).collect();
            handles.into_iter().try_for_each(|h| h.join().expect("checksum thread panicked"))
        })
    }

    /// Everything [`Index::verify_checksums`] does, and checks that every
    /// fst value, posting and row points inside the index and the dump
    /// (`wikidex verify`).
    pub fn verify(&self) -> Result<()> {
        self.verify_checksums()?;
        if let Some(store) = self.open_store(0)? {
            store.verify()?;
        }
        let pages = self.pages();
        // folded.fst's values: positions in folded.u32, 0 first, strictly
        // increasing, below the page count; `each` sees every key once its
        // value has passed.
        let check_values = |map: &fst::Map<Payload>, each: &mut dyn FnMut(&[u8], u64) -> Result<()>| {
            let mut keys = map.stream();
            let mut expected_first = Some(0u64);
            let mut prev = None;
            while let Some((key, v)) = keys.next() {
                let bad =
                    v >= pages || prev.is_some_and(|p| v <= p) || expected_first.is_some_and(|f| v != f);
                if bad {
                    return Err(Error::corrupt(
                        &map.as_fst().as_inner().path,
                        format!("key {:?} points at row {v} (of {pages})", String::from_utf8_lossy(key)),
                    ));
                }
                expected_first = None;
                prev = Some(v);
                each(key, v)?;
            }
            Ok(())
        };
        let titles = || check_titles(&self.titles, self.manifest.titles);
        let json = || {
            // Writing the expected JSON is the slowest check: it runs on
            // row ranges side by side.
            let Some(json) = &self.json_rows else { return Ok(()) };
            json_check_by_rows(self, json, &self.titles)
        };
        let folded = || {
            let Some((fst, rows)) = &self.folded else { return Ok(()) };
            for i in 0..pages {
                if u64::from(self.posting(i)) >= pages {
                    return Err(Error::corrupt(&rows.path, format!("entry {i} names a row past {pages}")));
                }
            }
            // Each key's rows are titled so that they fold to it: the one
            // check that ties `titles.fc` to another file (a column from
            // another dump with as many rows reads as well-formed).
            let (mut previous, mut title, mut folded) = (None::<(Vec<u8>, u64)>, Vec::new(), String::new());
            let mut check_key = |key: &[u8], postings: Range<u64>| {
                for position in postings {
                    let row = self.posting(position);
                    folded.clear();
                    if self.title_of(row, &mut title) {
                        let text = std::str::from_utf8(&title).map_err(|_| {
                            Error::corrupt(
                                &self.titles.data().path,
                                format!("row {row}'s title is not UTF-8"),
                            )
                        })?;
                        crate::fold::fold_into(text, &mut folded);
                    }
                    if folded.as_bytes() != key {
                        return Err(Error::corrupt(
                            &self.titles.data().path,
                            format!(
                                "row {row} is titled {:?}, which does not fold to {:?} as folded.fst says",
                                String::from_utf8_lossy(&title),
                                String::from_utf8_lossy(key)
                            ),
                        ));
                    }
                }
                Ok(())
            };
            check_values(fst, &mut |key, v| {
                if let Some((key, from)) = previous.replace((key.to_vec(), v)) {
                    check_key(&key, from..v)?;
                }
                Ok(())
            })?;
            match previous {
                Some((key, from)) => check_key(&key, from..pages),
                None => Ok(()),
            }
        };
        let columns = || {
            for row in 0..pages as u32 {
                let start = self.start(row);
                let len = self.length(row);
                if len == 0 || start.checked_add(len as u64).is_none_or(|e| e > self.manifest.content.bytes) {
                    return Err(Error::corrupt(
                        &self.starts.path,
                        format!("row {row} points outside the dump"),
                    ));
                }
                let r = self.redirect_raw(row);
                if r < NOT_REDIRECT - 1 && r as u64 >= pages {
                    return Err(Error::corrupt(
                        &self.redirects.path,
                        format!("row {row} redirects to row {r} of {pages}"),
                    ));
                }
            }
            Ok(())
        };
        // Independent walks over different files, side by side; the first
        // error in this order is the one reported.
        let checks: [&(dyn Fn() -> Result<()> + Sync); 4] = [&titles, &folded, &columns, &json];
        std::thread::scope(|s| {
            let handles: Vec<_> = checks.iter().map(|check| s.spawn(*check)).collect();
            let results: Vec<_> =
                handles.into_iter().map(|h| h.join().expect("verification thread panicked")).collect();
            results.into_iter().collect::<Result<()>>()
        })
    }

    /// The directory this index was opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest: counts, dump identity, site info, files.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Number of pages (rows).
    pub fn pages(&self) -> u64 {
        self.manifest.pages
    }

    /// Total bytes of all index files, footers and manifest included.
    pub fn bytes(&self) -> u64 {
        let manifest = std::fs::metadata(self.dir.join(MANIFEST)).map_or(0, |m| m.len());
        manifest + self.manifest.files.values().map(|f| f.bytes).sum::<u64>()
    }

    fn start(&self, row: u32) -> u64 {
        let i = row as usize * format::START_BYTES;
        let mut b = [0u8; 8];
        b[..format::START_BYTES].copy_from_slice(&self.starts.as_ref()[i..i + format::START_BYTES]);
        u64::from_le_bytes(b)
    }

    fn length(&self, row: u32) -> u32 {
        let i = row as usize * 4;
        u32::from_le_bytes(self.lengths.as_ref()[i..i + 4].try_into().unwrap())
    }

    fn redirect_raw(&self, row: u32) -> u32 {
        let i = row as usize * 4;
        u32::from_le_bytes(self.redirects.as_ref()[i..i + 4].try_into().unwrap())
    }

    /// The popularity score of the page at `row`: how many pages link to
    /// it (docs/FORMAT.md, "Ranking").
    ///
    /// # Panics
    /// If `row >= self.pages()`.
    pub fn score(&self, row: u32) -> u32 {
        self.ranking.score(row)
    }

    /// The `count` highest-scored rows, best first (ties by title).
    pub fn top_rows(&self, count: usize) -> Vec<u32> {
        self.ranking.top(count)
    }

    /// The key `row` ranks by in `order=rank`: its score, then its title
    /// order ([`crate::rank::rank_key`]); larger first.
    pub fn rank_key(&self, row: u32) -> u64 {
        self.ranking.key(row)
    }

    /// The rows whose titles start with `prefix`, highest score first,
    /// ties in title order; only the rows `filter` keeps (say, of one
    /// namespace); with `after` (a rank key: [`Index::rank_key`] gives a
    /// row's), only those ranking below it.
    /// `want` is how many the caller expects to take (it sizes the work,
    /// not the answer).
    ///
    /// ```no_run
    /// use wikidex_indexer::rank::Filter;
    /// # let index = wikidex_indexer::Index::open("enwiki.xml.wikidex".as_ref())?;
    /// let best: Vec<u32> = index.ranked_prefix(b"Ap", Filter::default(), None, 10).take(10).collect();
    /// // Main-namespace titles under `Ta`, passing over the `Talk:` ones.
    /// let main = |row| index.namespace(row) == 0;
    /// let skip = ["Talk:".to_string()];
    /// let filter = Filter { keep: Some(&main), skip: &skip };
    /// let best_main: Vec<u32> = index.ranked_prefix(b"Ta", filter, None, 10).take(10).collect();
    /// # Ok::<(), wikidex_indexer::Error>(())
    /// ```
    pub fn ranked_prefix<'a>(
        &'a self,
        prefix: &[u8],
        filter: Filter<'a>,
        after: Option<u64>,
        want: usize,
    ) -> Ranked<'a> {
        let span = self.title_span(prefix);
        let skip = Self::skip_spans(&span, filter.skip, |p| self.title_span(p));
        Ranked(RankedRows::new(&self.ranking, None, Domain::Rows, span, 0..0, filter.keep, skip, after, want))
    }

    /// The rows whose titles start with `prefix`.
    fn title_span(&self, prefix: &[u8]) -> Range<u32> {
        let span = self.titles.prefix_span(prefix);
        span.start as u32..span.end as u32
    }

    /// The spans under the `skip` prefixes (`span_of` each), within
    /// `span`, ascending and disjoint.
    fn skip_spans(
        span: &Range<u32>,
        skip: &[String],
        span_of: impl Fn(&[u8]) -> Range<u32>,
    ) -> Vec<Range<u32>> {
        let mut spans: Vec<Range<u32>> = skip
            .iter()
            .map(|prefix| span_of(prefix.as_bytes()))
            .map(|s| s.start.max(span.start)..s.end.min(span.end))
            .filter(|s| s.start < s.end)
            .collect();
        spans.sort_by_key(|s| s.start);
        spans
    }

    /// The rows whose folded titles start with `folded_prefix` (folded
    /// with [`crate::fold::fold`]), leaving out the rows `exclude` (the
    /// exact matches, listed first), in rank order as
    /// [`Index::ranked_prefix`] (`filter`'s skip prefixes are folded keys,
    /// `talk:`). `None` without `folded.fst`.
    pub fn ranked_folded<'a>(
        &'a self,
        folded_prefix: &str,
        exclude: Range<u32>,
        filter: Filter<'a>,
        after: Option<u64>,
        want: usize,
    ) -> Option<Ranked<'a>> {
        let (map, postings) = self.folded.as_ref()?;
        let span = self.span_of(map.as_fst(), folded_prefix.as_bytes());
        let skip = Self::skip_spans(&span, filter.skip, |p| self.span_of(map.as_fst(), p));
        let rows = RankedRows::new(
            &self.ranking,
            Some(postings.as_ref()),
            Domain::Folded,
            span,
            exclude,
            filter.keep,
            skip,
            after,
            want,
        );
        Some(Ranked(rows))
    }

    /// How many rows have a folded title starting with `folded_prefix`
    /// (folded with [`crate::fold::fold`]); 0 without `folded.fst`.
    pub fn folded_rows_under(&self, folded_prefix: &str) -> u32 {
        self.folded
            .as_ref()
            .map_or(0, |(map, _)| self.span_of(map.as_fst(), folded_prefix.as_bytes()).len() as u32)
    }

    /// The values (rows, or `folded.u32` positions) that the keys of `fst`
    /// starting with `prefix` span; the last key's run to the page count.
    fn span_of(&self, fst: &fst::raw::Fst<Payload>, prefix: &[u8]) -> Range<u32> {
        match prefix_span(fst, prefix) {
            Some((first, next)) => first as u32..next.map_or(self.pages() as u32, |n| n as u32),
            None => 0..0,
        }
    }

    /// The `<id>` of the page at `row`, if it had a numeric one.
    ///
    /// # Panics
    /// If `row >= self.pages()`.
    pub fn page_id(&self, row: u32) -> Option<u32> {
        let i = row as usize * 4;
        let id = u32::from_le_bytes(self.ids.as_ref()[i..i + 4].try_into().unwrap());
        (id != format::NO_ID).then_some(id)
    }

    /// Writes into `out` the title the page at `row` redirects to, as the
    /// dump wrote it: a page of the index (then its title) or, for
    /// [`Redirect::Missing`], the title from `targets.fst`. False when the
    /// page is not a redirect.
    pub fn redirect_target(&self, row: u32, out: &mut Vec<u8>) -> bool {
        out.clear();
        match self.page(row).redirect {
            Redirect::None => false,
            Redirect::To(target) => self.title_of(target, out),
            Redirect::Missing => {
                let key = row.to_be_bytes();
                let mut keys = self.missing_targets.range().ge(key).into_stream();
                match keys.next() {
                    Some(found) if found.starts_with(&key) => {
                        out.extend_from_slice(&found[key.len()..]);
                        true
                    }
                    _ => false,
                }
            }
        }
    }

    /// Opens the page store of an index built from a compressed dump
    /// (`None` for one built from plain XML), with a frame cache of
    /// `cache_bytes`, and checks it is the one the manifest describes.
    pub fn open_store(&self, cache_bytes: u64) -> Result<Option<crate::store::Store>> {
        let Some(entry) = &self.manifest.store else { return Ok(None) };
        let path = self.dir.join(&entry.file);
        let store = crate::store::Store::open(&path, cache_bytes)?;
        let hash = format::ContentIdentity::new(store.len(), store.content_hash());
        if store.frames() as u64 != entry.frames || hash != self.manifest.content {
            return Err(Error::corrupt(
                &path,
                format!(
                    "holds {} frames of {} bytes ({}), the manifest says {} frames of {} bytes ({})",
                    store.frames(),
                    store.len(),
                    hash.hash,
                    entry.frames,
                    self.manifest.content.bytes,
                    self.manifest.content.hash
                ),
            ));
        }
        Ok(Some(store))
    }

    /// The page at `row`.
    ///
    /// # Panics
    /// If `row >= self.pages()`. Rows come from this index's own queries.
    pub fn page(&self, row: u32) -> Page {
        let start = self.start(row);
        let ns = self.namespace(row);
        let redirect = self.redirect(row);
        Page { row, start, end: format::page_end(start, self.length(row)), ns, redirect }
    }

    /// Whether the page at `row` is a redirect, and to which row (a column
    /// read: cheaper than [`Index::page`]).
    ///
    /// # Panics
    /// If `row >= self.pages()`.
    pub fn redirect(&self, row: u32) -> Redirect {
        match self.redirect_raw(row) {
            NOT_REDIRECT => Redirect::None,
            TARGET_MISSING => Redirect::Missing,
            r => Redirect::To(r),
        }
    }

    /// The namespace of the page at `row` (a column read: cheaper than
    /// [`Index::page`] in a filter).
    ///
    /// # Panics
    /// If `row >= self.pages()`.
    pub fn namespace(&self, row: u32) -> i32 {
        let i = row as usize * 2;
        i32::from(i16::from_le_bytes(self.namespaces.as_ref()[i..i + 2].try_into().unwrap()))
    }

    /// The rows of the page(s) titled exactly `title` (several only if the
    /// dump repeats a title), in start order; empty if there is none.
    pub fn rows_of(&self, title: &[u8]) -> Range<u32> {
        let first = self.titles.lower_bound(title);
        match self.titles.cursor(first as u32) {
            Some(cursor) if cursor.title() == title => {}
            _ => return 0..0,
        }
        // One row per title in real dumps: the next row is another title.
        let end = match self.unique_titles() {
            true => first + 1,
            false => self.titles.upper_bound(title),
        };
        first as u32..end as u32
    }

    /// Titles starting with `prefix`, in byte order, each with its rows;
    /// with `after`, only titles strictly greater than it.
    pub fn prefix<'a>(&'a self, prefix: &'a [u8], after: Option<&[u8]>) -> PrefixRows<'a> {
        let first = self.first_row(prefix, after);
        let cursor = self.titles.cursor(first).filter(|c| c.title().starts_with(prefix));
        PrefixRows { cursor, prefix }
    }

    /// The first row whose title starts with `prefix` if any does (and,
    /// with `after`, is greater than it), else some row past them.
    fn first_row(&self, prefix: &[u8], after: Option<&[u8]>) -> u32 {
        let row = match after {
            Some(after) if after >= prefix => self.titles.upper_bound(after),
            _ => self.titles.lower_bound(prefix),
        };
        row as u32
    }

    /// The first `limit` rows (at most) whose titles start with `prefix`
    /// (and, with `after`, are greater than it): the rows
    /// [`Index::prefix`] lists, without their titles. Rows are in title
    /// order, so these are consecutive: two searches of `titles.fc` give
    /// the first row and the first row after the prefix's, however many
    /// rows the prefix has.
    ///
    /// ```no_run
    /// # let index = wikidex_indexer::Index::open("enwiki.xml.wikidex".as_ref())?;
    /// let rows = index.prefix_rows(b"Pyth", None, 10);
    /// // `[["Pyth",…],…]`: the JSON of those rows, if the index has rows.jsf.
    /// let json = index.json_rows(rows.clone());
    /// println!("{} rows, {:?}", rows.len(), json.map(String::from_utf8_lossy));
    /// # Ok::<(), wikidex_indexer::Error>(())
    /// ```
    pub fn prefix_rows(&self, prefix: &[u8], after: Option<&[u8]>, limit: u32) -> Range<u32> {
        let start = self.first_row(prefix, after);
        let end = self.titles.prefix_end(prefix) as u32;
        // (`clamp`: an empty range, not a reversed one, should the values
        // ever disagree.)
        start..end.clamp(start, start.saturating_add(limit))
    }

    /// The `/offsets` JSON of `rows`, `["title",start,end],` each, from
    /// `rows.jsf`; `None` without it (or past the last row).
    pub fn json_rows(&self, rows: Range<u32>) -> Option<&[u8]> {
        self.json_rows.as_ref()?.fragments(rows)
    }

    /// True when the index has `rows.jsf`, the rows already written as JSON.
    pub fn has_json_rows(&self) -> bool {
        self.json_rows.is_some()
    }

    /// The same index without `rows.jsf`, as an index built before it.
    /// For tests that compare the two paths.
    #[doc(hidden)]
    pub fn without_json_rows(mut self) -> Index {
        self.json_rows = None;
        self
    }
}

impl Index {
    /// The title of `row`, written into `out` (from `titles.fc`, at most
    /// 16 entries decoded). False if `row` is out of range.
    pub fn title_of(&self, row: u32, out: &mut Vec<u8>) -> bool {
        self.titles.title_into(row, out)
    }

    /// True when no title repeats (real dumps): then each title has exactly
    /// one row.
    fn unique_titles(&self) -> bool {
        self.manifest.titles == self.manifest.pages
    }

    /// True when the index has `folded.fst` (case- and accent-insensitive
    /// and fuzzy search).
    pub fn has_folded(&self) -> bool {
        self.folded.is_some()
    }

    fn posting(&self, position: u64) -> u32 {
        let rows = &self.folded.as_ref().expect("folded index").1;
        let i = position as usize * 4;
        u32::from_le_bytes(rows.as_ref()[i..i + 4].try_into().unwrap())
    }

    /// Titles whose folded form starts with `folded_prefix` (already folded
    /// with [`crate::fold::fold`]), in (folded, title) order; with `after`
    /// (a title), only those after it in that order. `None` without
    /// `folded.fst`.
    pub fn folded_prefix<'a>(&'a self, folded_prefix: &str, after: Option<&str>) -> Option<FoldedRows<'a>> {
        let (map, _) = self.folded.as_ref()?;
        let mut skip = None;
        let stream = match after {
            Some(after) if crate::fold::fold(after).as_str() >= folded_prefix => {
                let key = crate::fold::fold(after);
                // Rows of titles up to `after` within its own folded group.
                let below = match self.titles.upper_bound(after.as_bytes()) {
                    row if row < self.pages() => row as u32,
                    _ => u32::MAX,
                };
                let stream = map.range().ge(&key).into_stream();
                skip = Some((key.into_bytes(), below));
                stream
            }
            _ => map.range().ge(folded_prefix).into_stream(),
        };
        Some(FoldedRows {
            groups: Groups { index: self, pending: 0..0, skip: None },
            map,
            stream,
            prefix: folded_prefix.as_bytes().to_vec(),
            skip,
            lookahead: None,
            total: self.pages(),
        })
    }

    /// Titles whose folded form has a prefix within the edit distance that
    /// `dfa` encodes (a `levenshtein_automata` prefix DFA over a folded
    /// query), in (folded, title) order, with that distance; leaving out
    /// those whose folded form starts with one of `left_out` (folded
    /// prefixes; empty ones are ignored): the query's own prefix matches,
    /// listed before, which under a short common prefix would be most of
    /// the walk, and spans the caller refuses whole (another namespace's
    /// `talk:`). Their subtrees are never walked. `None` without
    /// `folded.fst`.
    pub fn fuzzy<'a>(
        &'a self,
        dfa: &'a levenshtein_automata::DFA,
        left_out: &[&str],
    ) -> Option<FuzzyRows<'a>> {
        let (map, _) = self.folded.as_ref()?;
        let left_out: Vec<Vec<u8>> = left_out
            .iter()
            .filter(|p| !p.is_empty())
            .take(LEFT_OUT_MAX)
            .map(|p| p.as_bytes().to_vec())
            .collect();
        Some(FuzzyRows {
            groups: Groups { index: self, pending: 0..0, skip: None },
            map,
            dfa,
            distance: 0,
            stream: map.search_with_state(DfaAutomaton { dfa, left_out }).into_stream(),
            lookahead: None,
        })
    }
}

/// The titles of one folded key's postings, one title (and its rows) at a time.
struct Groups<'a> {
    index: &'a Index,
    pending: Range<u64>,
    /// Skip rows below this (the rows of titles up to `after=`).
    skip: Option<u32>,
}

impl Groups<'_> {
    fn start(&mut self, positions: Range<u64>, skip: Option<u32>) {
        self.pending = positions;
        self.skip = skip;
    }

    fn next_title(&mut self, title: &mut Vec<u8>) -> Option<Range<u32>> {
        while self.pending.start < self.pending.end {
            let row = self.index.posting(self.pending.start);
            self.pending.start += 1;
            if self.skip.is_some_and(|below| row < below) || !self.index.title_of(row, title) {
                continue;
            }
            // With no repeated title in the index (real dumps), a title has
            // exactly this one row: skip the forward lookup of its range.
            if self.index.unique_titles() {
                return Some(row..row + 1);
            }
            let rows = self.index.rows_of(title);
            // The postings of one title are its rows, contiguous and ascending.
            while self.pending.start < self.pending.end && self.index.posting(self.pending.start) < rows.end {
                self.pending.start += 1;
            }
            return Some(rows);
        }
        None
    }
}

/// Rows in rank order; see [`Index::ranked_prefix`].
pub struct Ranked<'a>(RankedRows<'a, Payload>);

impl Ranked<'_> {
    /// The span ranked: rows (title prefixes) or `folded.u32` positions.
    pub fn span(&self) -> Range<u32> {
        self.0.span()
    }
}

impl Iterator for Ranked<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        self.0.next()
    }
}

/// Titles matching a folded prefix; see [`Index::folded_prefix`].
pub struct FoldedRows<'a> {
    groups: Groups<'a>,
    map: &'a fst::Map<Payload>,
    stream: fst::map::Stream<'a>,
    prefix: Vec<u8>,
    skip: Option<(Vec<u8>, u32)>,
    /// The next key (read to find where this one's rows end) and its value.
    lookahead: Option<(Vec<u8>, u64)>,
    total: u64,
}

impl FoldedRows<'_> {
    /// Goes on after every folded title starting with `folded_head`
    /// (which the title just returned starts with): a block the caller
    /// knows it wants none of.
    pub fn pass_over(&mut self, folded_head: &str) {
        // 0xFF never occurs in UTF-8: past every key under the head.
        let past = [folded_head.as_bytes(), &[0xFF]].concat();
        self.stream = self.map.range().ge(past).into_stream();
        self.lookahead = None;
        self.skip = None;
        self.groups.pending = 0..0;
    }

    /// Writes the next title into `title` and returns its rows.
    pub fn next_title(&mut self, title: &mut Vec<u8>) -> Option<Range<u32>> {
        loop {
            if let Some(rows) = self.groups.next_title(title) {
                return Some(rows);
            }
            let (key, from) = match self.lookahead.take() {
                Some(next) => next,
                None => {
                    let (key, value) = self.stream.next()?;
                    (key.to_vec(), value)
                }
            };
            if !key.starts_with(&self.prefix) {
                return None;
            }
            let to = match self.stream.next() {
                Some((next, value)) => {
                    self.lookahead = Some((next.to_vec(), value));
                    value
                }
                None => self.total,
            };
            let skip = self.skip.take().filter(|(k, _)| *k == key).map(|(_, below)| below);
            self.groups.start(from..to, skip);
        }
    }
}

/// Prefixes a [`DfaAutomaton`] leaves out at most (one bit each in its
/// state); past that, [`Index::fuzzy`]'s caller filters what is left.
const LEFT_OUT_MAX: usize = 64;

/// An [`fst::Automaton`] over a `levenshtein_automata` DFA, leaving out
/// the keys that start with any of a few prefixes.
pub struct DfaAutomaton<'a> {
    dfa: &'a levenshtein_automata::DFA,
    /// Keys starting with one of these are left out.
    left_out: Vec<Vec<u8>>,
}

/// A [`DfaAutomaton`] state.
#[derive(Clone, Copy)]
pub struct DfaState {
    /// The DFA's state; its sink once the key starts with a left-out
    /// prefix.
    dfa: u32,
    /// Bytes of the key so far.
    depth: u32,
    /// The left-out prefixes the key has followed so far, one bit each.
    following: u64,
}

impl fst::Automaton for DfaAutomaton<'_> {
    type State = DfaState;

    fn start(&self) -> DfaState {
        let following = if self.left_out.len() == 64 { u64::MAX } else { (1u64 << self.left_out.len()) - 1 };
        DfaState { dfa: self.dfa.initial_state(), depth: 0, following }
    }

    fn is_match(&self, state: &DfaState) -> bool {
        self.can_match(state)
            && matches!(self.dfa.distance(state.dfa), levenshtein_automata::Distance::Exact(_))
    }

    fn can_match(&self, state: &DfaState) -> bool {
        state.dfa != levenshtein_automata::SINK_STATE
    }

    fn accept(&self, state: &DfaState, byte: u8) -> DfaState {
        let depth = state.depth as usize;
        let mut following = state.following;
        let mut dfa = self.dfa.transition(state.dfa, byte);
        let mut bits = following;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let prefix = &self.left_out[i];
            if prefix.get(depth) != Some(&byte) {
                following &= !(1 << i);
            } else if prefix.len() == depth + 1 {
                // The key starts with a left-out prefix: so does every key below.
                dfa = levenshtein_automata::SINK_STATE;
            }
        }
        DfaState { dfa, depth: state.depth.saturating_add(1), following }
    }
}

/// Titles matching a fuzzy prefix; see [`Index::fuzzy`].
pub struct FuzzyRows<'a> {
    groups: Groups<'a>,
    map: &'a fst::Map<Payload>,
    dfa: &'a levenshtein_automata::DFA,
    distance: u8,
    stream: fst::map::StreamWithState<'a, DfaAutomaton<'a>>,
    /// The next matching key, its value and state, read ahead.
    lookahead: Option<(Vec<u8>, u64, DfaState)>,
}

impl FuzzyRows<'_> {
    /// Writes the next title into `title`; returns its rows and the edit
    /// distance of its folded form's best-matching prefix.
    pub fn next_title(&mut self, title: &mut Vec<u8>) -> Option<(Range<u32>, u8)> {
        loop {
            if let Some(rows) = self.groups.next_title(title) {
                return Some((rows, self.distance));
            }
            let (key, from, state) = match self.lookahead.take() {
                Some(next) => next,
                None => self.stream.next().map(|(k, v, s)| (k.to_vec(), v, s))?,
            };
            self.distance = match self.dfa.distance(state.dfa) {
                levenshtein_automata::Distance::Exact(d) | levenshtein_automata::Distance::AtLeast(d) => d,
            };
            // A key's rows end where the next key's (in the whole map)
            // begin. Under a matching prefix most keys match, one title
            // each: when the next matching key's rows start one position
            // on, that is where this key's end, with no search of the map.
            self.lookahead = self.stream.next().map(|(k, v, s)| (k.to_vec(), v, s));
            let to = match &self.lookahead {
                Some((_, next, _)) if *next == from + 1 => *next,
                _ => self
                    .map
                    .range()
                    .gt(&key)
                    .into_stream()
                    .next()
                    .map_or(self.groups.index.pages(), |(_, v)| v),
            };
            self.groups.start(from..to, None);
        }
    }
}

/// The titles matching a prefix, one at a time; see [`Index::prefix`].
///
/// Not an `Iterator`: each title is written into a caller-owned buffer so a
/// page of results allocates nothing per row.
pub struct PrefixRows<'a> {
    /// On the next row to list; `None` once done.
    cursor: Option<TitleCursor<'a>>,
    prefix: &'a [u8],
}

impl PrefixRows<'_> {
    /// Writes the next matching title into `title` and returns its rows.
    pub fn next_title(&mut self, title: &mut Vec<u8>) -> Option<Range<u32>> {
        column_next(&mut self.cursor, self.prefix, title)
    }
}

/// The next title of a column listing and its rows: the run of rows with
/// the cursor's title, which leaves the cursor on the row after them. The
/// cursor's title starts with `prefix`; what each next row shares with the
/// one before tells whether it still does, and whether it repeats it.
fn column_next(slot: &mut Option<TitleCursor<'_>>, prefix: &[u8], title: &mut Vec<u8>) -> Option<Range<u32>> {
    let cursor = slot.as_mut()?;
    title.clear();
    title.extend_from_slice(cursor.title());
    let first = cursor.row();
    loop {
        if !cursor.advance() {
            // The last row (or a damaged entry: the CRC reports those).
            let end = cursor.row() + 1;
            *slot = None;
            return Some(first..end);
        }
        let shared = cursor.shared();
        if shared < prefix.len() {
            let end = cursor.row();
            *slot = None;
            return Some(first..end);
        }
        if shared < title.len() || cursor.title().len() > shared {
            return Some(first..cursor.row());
        }
    }
}
