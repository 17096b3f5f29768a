//! [`Builder`]: dump in, index directory out.
//!
//! scan (parallel, [`crate::scan`]) → sort rows by (title, start), eight
//! title bytes at a time ([`sort`]) → resolve
//! redirect targets to rows ([`rows`]) → count every page's links in a
//! second pass over the texts ([`score`]) → write the title column and the
//! other columns ([`write`](mod@write)), the folded index
//! ([`folded`]) and the ranking files ([`ranking`]) in parallel →
//! commit atomically ([`crate::format::IndexWriter`]). Progress is reported
//! through a callback; this module never prints.

mod compressed;
mod folded;
mod ranking;
mod rows;
mod score;
mod sort;
mod write;

use crate::error::{Error, Result};
use crate::format::{
    self, ContentIdentity, DumpIdentity, IndexWriter, Manifest, SkippedPage, TARGET_MISSING,
};
use crate::input::{self, InputKind};
use crate::scan::{self, ScanOptions};
use memmap2::{Advice, Mmap, UncheckedAdvice};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Which part of the build is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Decompressing and scanning a compressed dump; `done`/`total` are
    /// compressed bytes, [`Progress::scanned`] the XML bytes scanned.
    Decompressing,
    /// Reading the dump; `done`/`total` are bytes.
    Scanning,
    /// Sorting titles; `done`/`total` are pages.
    Sorting,
    /// Reading page texts for links, to score pages; `done`/`total` are
    /// bytes of XML.
    Linking,
    /// Writing index files; `done`/`total` are pages.
    Writing,
}

/// A progress report.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The current phase.
    pub phase: Phase,
    /// Units done in this phase.
    pub done: u64,
    /// Units in this phase.
    pub total: u64,
    /// Pages found so far.
    pub pages: u64,
    /// Decompressed XML bytes scanned so far ([`Phase::Decompressing`]).
    pub scanned: u64,
    /// The compressed dump is one bz2 stream, decoded on one core (the
    /// multistream file decodes on all of them).
    pub single_stream: bool,
}

/// What a finished build produced.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    /// The index directory.
    pub index_dir: PathBuf,
    /// Pages indexed.
    pub pages: u64,
    /// Distinct titles.
    pub titles: u64,
    /// Redirect pages.
    pub redirects: u64,
    /// Redirects whose target is not in the dump.
    pub redirects_missing: u64,
    /// Size of the dump.
    pub dump_bytes: u64,
    /// Size of the index directory.
    pub index_bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Seconds spent scanning the dump.
    pub scan_seconds: f64,
    /// Seconds spent sorting and resolving redirects.
    pub sort_seconds: f64,
    /// Seconds spent writing the fst and columns and committing.
    pub write_seconds: f64,
    /// Invalid pages passed over ([`Builder::skip_invalid`]), in dump order.
    pub skipped: Vec<SkippedPage>,
    /// Bytes of XML indexed (the decompressed size of a compressed dump).
    pub content_bytes: u64,
    /// The page store written for a compressed dump.
    pub store: Option<format::StoreEntry>,
}

/// An fst builder's error: its I/O failures (a full disk) are I/O errors
/// on the file, not a damaged fst.
fn fst_error(path: &Path, source: fst::Error) -> Error {
    match source {
        fst::Error::Io(e) => Error::io(path, "write", e),
        source => Error::Fst { path: path.to_path_buf(), cause: source },
    }
}

/// Hands the memory freed so far back to the system. Between phases the
/// build frees what the next one will not reuse (the scan's per-chunk page
/// lists once moved into one sorted list, the decoder's buffers), and
/// glibc keeps freed blocks inside its heaps, resident, where the next
/// phase's large allocations (mapped on their own) never reuse them:
/// docs/BENCHMARKS.md, "Compressed dumps".
fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system; it
    // takes the allocator's own locks and touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Builds an index from a dump.
///
/// ```no_run
/// use wikidex_indexer::Builder;
/// let summary = Builder::new("dump.xml", "dump.xml.wikidex")
///     .progress(|p| eprintln!("{:?} {}/{}", p.phase, p.done, p.total))
///     .build()?;
/// assert!(summary.pages > 0);
/// # Ok::<(), wikidex_indexer::Error>(())
/// ```
pub struct Builder {
    dump: PathBuf,
    out: PathBuf,
    chunk_size: usize,
    progress: Option<ProgressFn>,
    cancel: Arc<AtomicBool>,
    folded: bool,
    json_rows: bool,
    skip_invalid: bool,
    store_level: i32,
    store_frame_bytes: usize,
}

impl Builder {
    /// A build of `dump` into the index directory `out`.
    pub fn new(dump: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Builder {
        Builder {
            dump: dump.into(),
            out: out.into(),
            chunk_size: 32 << 20,
            progress: None,
            cancel: Arc::new(AtomicBool::new(false)),
            folded: true,
            json_rows: false,
            skip_invalid: false,
            store_level: 3,
            store_frame_bytes: 48 << 10,
        }
    }

    /// The default index directory of a dump: `DUMP.wikidex` beside it.
    pub fn default_out(dump: &Path) -> PathBuf {
        let mut name = dump.file_name().unwrap_or_default().to_os_string();
        name.push(".wikidex");
        dump.with_file_name(name)
    }

    /// Bytes of dump per parallel work unit (default 32 MiB).
    pub fn chunk_size(mut self, bytes: usize) -> Builder {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Whether to write `folded.fst` and `folded.u32` (case-, accent- and
    /// typo-tolerant search; default true).
    pub fn folded(mut self, yes: bool) -> Builder {
        self.folded = yes;
        self
    }

    /// Whether to write `rows.jsf`, every row's `/offsets` row already
    /// written as JSON, so listings copy bytes instead of writing JSON
    /// (default false: it doubles the index for ~1.2x on /offsets,
    /// docs/BENCHMARKS.md, "Rows written once").
    pub fn json_rows(mut self, yes: bool) -> Builder {
        self.json_rows = yes;
        self
    }

    /// Whether to pass over invalid pages (a title MediaWiki would not
    /// allow, a missing `<ns>`, …) instead of refusing the dump (default
    /// false). Each one is named, with its offset and reason, in the
    /// summary and the manifest. A page whose end cannot be found, and
    /// anything wrong outside pages, is still refused.
    pub fn skip_invalid(mut self, yes: bool) -> Builder {
        self.skip_invalid = yes;
        self
    }

    /// The zstd level of the page store written for a compressed dump
    /// (default 3; docs/BENCHMARKS.md, "Compressed dumps").
    pub fn store_level(mut self, level: i32) -> Builder {
        self.store_level = level;
        self
    }

    /// The uncompressed bytes per frame of the page store (default
    /// 48 KiB, docs/BENCHMARKS.md, "Compressed dumps"): larger frames
    /// compress better, smaller ones decompress faster per page read.
    pub fn store_frame_bytes(mut self, bytes: usize) -> Builder {
        self.store_frame_bytes = bytes.max(4096);
        self
    }

    /// Calls `f` from worker threads as the build advances.
    pub fn progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Builder {
        self.progress = Some(Arc::new(f));
        self
    }

    /// A flag that, once set (e.g. from a Ctrl-C handler), stops the build
    /// with [`Error::Interrupted`] and no index written.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    fn report(&self, phase: Phase, done: u64, total: u64, pages: u64) {
        if let Some(f) = &self.progress {
            f(Progress { phase, done, total, pages, scanned: 0, single_stream: false });
        }
    }

    fn report_decoding(&self, done: u64, total: u64, scanned: u64, pages: u64, single_stream: bool) {
        if let Some(f) = &self.progress {
            f(Progress { phase: Phase::Decompressing, done, total, pages, scanned, single_stream });
        }
    }

    fn check_cancel(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) { Err(Error::Interrupted) } else { Ok(()) }
    }

    /// Scans an uncompressed dump through its memory map on all cores,
    /// hashing its content on the side.
    fn scan_xml(
        &self,
        map: &Mmap,
        dump_err: impl Fn(scan::DumpError) -> Error,
    ) -> Result<(format::SiteInfo, scan::ScanResult, ContentIdentity)> {
        let prologue = scan::parse_prologue(map).map_err(&dump_err)?;
        let rules = scan::TitleRules::new(&prologue.site);
        let body = (map.len() - prologue.body_start) as u64;
        let bytes_done = AtomicU64::new(0);
        let found = AtomicU64::new(0);
        let on_chunk = |bytes: u64, pages: u64| {
            let done = bytes_done.fetch_add(bytes, Ordering::Relaxed) + bytes;
            let pages = found.fetch_add(pages, Ordering::Relaxed) + pages;
            self.report(Phase::Scanning, done, body, pages);
        };
        let release = |from: usize, to: usize| {
            // SAFETY: DONTNEED on a read-only shared file mapping only drops
            // our page-table entries; later reads fault the same bytes back
            // in from the page cache. No references into the range are held
            // across this call except by threads that will simply re-fault.
            let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from) };
        };
        let prefetch = |from: usize, to: usize| {
            // Map the chunk's pages in one call instead of one fault per
            // page (Linux 5.14+; ignored elsewhere).
            let _ = map.advise_range(Advice::PopulateRead, from, to - from);
        };
        let opts = ScanOptions {
            chunk_size: self.chunk_size,
            on_chunk: &on_chunk,
            prefetch: &prefetch,
            release: &release,
            cancel: &self.cancel,
            rules: &rules,
            skip_invalid: self.skip_invalid,
        };
        // The content hash (HTTP validators) takes one core for a fraction
        // of the scan: xxh3 runs at memory speed.
        let (hash, scanned) =
            rayon::join(|| xxhash_rust::xxh3::xxh3_128(map), || scan::scan(map, prologue.body_start, &opts));
        let scanned = scanned.map_err(dump_err)?.ok_or(Error::Interrupted)?;
        Ok((prologue.site, scanned, ContentIdentity::new(map.len() as u64, hash)))
    }

    /// Fails if the dump changed since `identity` was taken.
    fn check_changed(&self, identity: &DumpIdentity, file: &File, path: &Path) -> Result<()> {
        match identity.difference(&DumpIdentity::of_file(file, path)?) {
            Some(diff) => Err(Error::DumpChanged {
                path: path.to_path_buf(),
                message: format!("while it was being indexed: {diff}"),
            }),
            None => Ok(()),
        }
    }

    /// The lists of `ranked.u32`: those of large title prefixes and, with
    /// the folded index, of large folded prefixes. Computed before the
    /// files are written, so that their working set (a row and a folded
    /// title per posting) is gone before the writers' buffers exist: the
    /// build's peak memory is the larger of the two, not their sum.
    fn ranked_lists(
        &self,
        scanned: &scan::ScanResult,
        rows: &[scan::RawPage],
        scores: &[u32],
        plan: Option<&folded::FoldedPlan>,
    ) -> (Vec<ranking::RankList>, Vec<ranking::RankList>) {
        let key = |row: usize| crate::rank::rank_key(scores[row], row as u32);
        // A row's first eight bytes are its sort key, read in row order;
        // only deeper bytes are read from the titles, wherever they lie.
        let title_byte = |i: usize, d: usize| {
            let row = &rows[i];
            if d < 8 {
                scan::key_byte(row.key, usize::from(row.title_len), d)
            } else {
                scanned.title(row).get(d).copied()
            }
        };
        let exact = ranking::Domain { len: rows.len(), byte: &title_byte, rank: &key }.lists();
        let folded = match plan {
            Some(plan) => {
                let postings = plan.postings(scanned, rows);
                let byte = |i: usize, d: usize| postings.byte(plan, scanned, rows, i, d);
                // Folded order is close to title order, so `scores` is
                // read nearly in sequence: no column of keys is kept.
                let rank = |i: usize| key(postings.rows[i] as usize);
                ranking::Domain { len: postings.rows.len(), byte: &byte, rank: &rank }.lists()
            }
            None => Vec::new(),
        };
        (exact, folded)
    }

    /// Runs the build.
    pub fn build(self) -> Result<BuildSummary> {
        let started = Instant::now();
        let path = self.dump.as_path();
        let file = File::open(path).map_err(|e| Error::io(path, "open the dump", e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, "stat the dump", e))?;
        if !meta.is_file() {
            return Err(Error::io(path, "read the dump", std::io::Error::other("not a regular file")));
        }
        let identity = DumpIdentity::of_file(&file, path)?;
        let dump_err = |e: scan::DumpError| Error::Dump {
            path: path.to_path_buf(),
            offset: e.offset,
            message: e.message,
        };
        if identity.bytes == 0 {
            return Err(dump_err(scan::DumpError { offset: 0, message: "the file is empty".into() }));
        }
        if identity.bytes > format::MAX_DUMP_BYTES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                message: format!(
                    "{} bytes; an index addresses at most {} (48-bit offsets)",
                    identity.bytes,
                    format::MAX_DUMP_BYTES
                ),
            });
        }
        // Claim the output before the long scan, so a bad `-o` fails fast.
        let mut writer = IndexWriter::create(&self.out)?;

        // SAFETY: the map is read-only. If another process truncates the dump
        // while we scan, reads past the new end fault (SIGBUS); users are told
        // not to modify a dump while it is being indexed, and the dump's
        // identity is re-checked after the scan so a changed dump is never
        // published as an index.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, "memory-map the dump", e))?;
        let _ = map.advise(Advice::Sequential);
        let kind = input::sniff(&map[..map.len().min(64)])
            .map_err(|e| dump_err(scan::DumpError { offset: 0, message: e.to_string() }))?;
        let (site, mut scanned, content, store) = match kind {
            InputKind::Bzip2 => {
                let c = compressed::scan_bz2(&self, path, &map, &writer)?;
                (c.site, c.scanned, c.content, Some((c.store, c.store_path)))
            }
            _ => {
                let (site, scanned, content) = self.scan_xml(&map, dump_err)?;
                (site, scanned, content, None)
            }
        };
        self.check_changed(&identity, &file, path)?;
        self.check_cancel()?;
        if content.bytes > format::MAX_DUMP_BYTES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                message: format!(
                    "{} bytes of XML; an index addresses at most {} (48-bit offsets)",
                    content.bytes,
                    format::MAX_DUMP_BYTES
                ),
            });
        }

        let scan_seconds = started.elapsed().as_secs_f64();
        let pages = scanned.pages() as u64;
        if pages > format::MAX_PAGES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                message: format!("{pages} pages; one index holds at most {}", format::MAX_PAGES),
            });
        }
        release_freed();
        self.report(Phase::Sorting, 0, pages, pages);
        let skipped: Vec<SkippedPage> = scanned.skipped().cloned().collect();
        let rows = rows::sorted_rows(&mut scanned);
        release_freed();
        self.report(Phase::Sorting, pages, pages, pages);
        self.check_cancel()?;

        let redirects = rows::resolve_redirects(&scanned, &rows);
        let redirect_count = rows.iter().filter(|p| p.redirect_len > 0).count() as u64;
        let missing = redirects.iter().filter(|&&r| r == TARGET_MISSING).count() as u64;
        let link_rules = scan::LinkRules::new(&site);
        let scores = match &store {
            Some((_, store_path)) => {
                drop(map);
                let store = crate::store::Store::open(store_path, 0).map_err(Error::from)?;
                let texts = score::Texts::Store { store: &store, path: store_path };
                score::scores(&self, &link_rules, &scanned, &rows, &redirects, &texts)?
            }
            None => {
                let release = |from: usize, to: usize| {
                    // SAFETY: as in `scan_xml`: DONTNEED on a read-only
                    // shared file mapping only drops our page-table entries.
                    let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from) };
                };
                let texts = score::Texts::Xml { map: &map, release: &release };
                let scores = score::scores(&self, &link_rules, &scanned, &rows, &redirects, &texts)?;
                drop(map);
                self.check_changed(&identity, &file, path)?;
                scores
            }
        };
        let store = store.map(|(entry, _)| entry);
        release_freed();
        self.check_cancel()?;
        let sort_seconds = started.elapsed().as_secs_f64() - scan_seconds;
        self.report(Phase::Writing, 0, pages, pages);
        let plan = self.folded.then(|| folded::plan_folded(&scanned, &rows));
        let (exact_lists, folded_lists) = self.ranked_lists(&scanned, &rows, &scores, plan.as_ref());
        let (titles, (folded, columns)) = rayon::join(
            || write::write_titles(&writer, &scanned, &rows),
            || {
                rayon::join(
                    || {
                        plan.as_ref()
                            .map(|plan| folded::write_folded(&writer, &scanned, &rows, plan))
                            .transpose()
                    },
                    || {
                        let (columns, json_rows) = rayon::join(
                            || {
                                let mut columns = write::write_columns(&writer, &rows, &redirects)?;
                                columns.push(write::write_missing_targets(
                                    &writer, &scanned, &rows, &redirects,
                                )?);
                                columns.push(ranking::write_scores(&writer, &scores)?);
                                columns.push(ranking::write_lists(&writer, &exact_lists, &folded_lists)?);
                                Ok::<_, Error>(columns)
                            },
                            || {
                                self.json_rows
                                    .then(|| write::write_json_rows(&writer, &scanned, &rows))
                                    .transpose()
                            },
                        );
                        let mut columns = columns?;
                        columns.extend(json_rows?);
                        Ok::<_, Error>(columns)
                    },
                )
            },
        );
        let titles = titles?;
        for entry in columns? {
            writer.add(entry);
        }
        writer.add(titles.1);
        for entry in folded?.into_iter().flatten() {
            writer.add(entry);
        }
        self.check_cancel()?;
        let index_files: u64 = writer.files().values().map(|f| f.bytes).sum();
        let manifest = Manifest {
            format: "wikidex-index".into(),
            format_version: format::FORMAT_VERSION,
            created_by: format!("wikidex {}", env!("CARGO_PKG_VERSION")),
            dump: identity.clone(),
            content: content.clone(),
            store: store.clone(),
            site,
            pages,
            titles: titles.0,
            redirects: redirect_count,
            redirects_missing: missing,
            skipped: skipped.clone(),
            files: BTreeMap::new(),
        };
        writer.commit(manifest)?;
        self.report(Phase::Writing, pages, pages, pages);
        let manifest_bytes = std::fs::metadata(self.out.join(format::MANIFEST)).map_or(0, |m| m.len());
        Ok(BuildSummary {
            index_dir: self.out.clone(),
            pages,
            titles: titles.0,
            redirects: redirect_count,
            redirects_missing: missing,
            dump_bytes: identity.bytes,
            index_bytes: index_files + manifest_bytes,
            seconds: started.elapsed().as_secs_f64(),
            scan_seconds,
            sort_seconds,
            write_seconds: started.elapsed().as_secs_f64() - scan_seconds - sort_seconds,
            skipped,
            content_bytes: content.bytes,
            store,
        })
    }
}
