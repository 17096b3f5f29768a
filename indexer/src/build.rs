//! [`Builder`]: dump in, index directory out.
//!
//! scan (parallel, [`crate::scan`]) → sort rows by (title, start) → resolve
//! redirect targets to rows → write the fst and the columns in parallel →
//! commit atomically ([`crate::format::IndexWriter`]). Progress is reported
//! through a callback; this module never prints.

use crate::error::{Error, Result};
use crate::format::{self, DumpIdentity, FileKind, IndexWriter, Manifest, NOT_REDIRECT, TARGET_MISSING};
use crate::scan::{self, RawPage, ScanOptions, ScanResult};
use memmap2::{Advice, Mmap, UncheckedAdvice};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Which part of the build is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Reading the dump; `done`/`total` are bytes.
    Scanning,
    /// Sorting titles; `done`/`total` are pages.
    Sorting,
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
            f(Progress { phase, done, total, pages });
        }
    }

    fn check_cancel(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) { Err(Error::Interrupted) } else { Ok(()) }
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
        // Claim the output before the long scan, so a bad `-o` fails fast.
        let mut writer = IndexWriter::create(&self.out)?;

        // SAFETY: the map is read-only. If another process truncates the dump
        // while we scan, reads past the new end fault (SIGBUS); users are told
        // not to modify a dump while it is being indexed, and the dump's
        // identity is re-checked after the scan so a changed dump is never
        // published as an index.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, "memory-map the dump", e))?;
        let _ = map.advise(Advice::Sequential);
        let prologue = scan::parse_prologue(&map).map_err(dump_err)?;

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
        };
        let mut scanned =
            scan::scan(&map, prologue.body_start, &opts).map_err(dump_err)?.ok_or(Error::Interrupted)?;
        drop(map);
        if let Some(diff) = identity.difference(&DumpIdentity::of_file(&file, path)?) {
            return Err(Error::DumpChanged {
                path: path.to_path_buf(),
                message: format!("while it was being indexed: {diff}"),
            });
        }
        self.check_cancel()?;

        let scan_seconds = started.elapsed().as_secs_f64();
        let pages = scanned.pages() as u64;
        if pages > format::MAX_PAGES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                message: format!("{pages} pages; one index holds at most {}", format::MAX_PAGES),
            });
        }
        self.report(Phase::Sorting, 0, pages, pages);
        let rows = sorted_rows(&mut scanned);
        self.report(Phase::Sorting, pages, pages, pages);
        self.check_cancel()?;

        let redirects = resolve_redirects(&scanned, &rows);
        let redirect_count = rows.iter().filter(|p| p.redirect_len > 0).count() as u64;
        let missing = redirects.iter().filter(|&&r| r == TARGET_MISSING).count() as u64;
        let sort_seconds = started.elapsed().as_secs_f64() - scan_seconds;
        self.report(Phase::Writing, 0, pages, pages);
        let plan = self.folded.then(|| plan_folded(&scanned, &rows));
        let (titles, (folded, columns)) = rayon::join(
            || write_titles(&writer, &scanned, &rows),
            || {
                rayon::join(
                    || plan.as_ref().map(|plan| write_folded(&writer, &scanned, &rows, plan)).transpose(),
                    || write_columns(&writer, &rows, &redirects),
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
            site: prologue.site,
            pages,
            titles: titles.0,
            redirects: redirect_count,
            redirects_missing: missing,
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
        })
    }
}

/// Orders two titles by bytes, using their sort keys first.
fn cmp_titles(scanned: &ScanResult, a: &RawPage, b: &RawPage) -> std::cmp::Ordering {
    a.key.cmp(&b.key).then_with(|| scanned.title(a).cmp(scanned.title(b)))
}

/// All pages, sorted by (title bytes, start). Moves them out of the chunks
/// (which keep their title arenas) so they are held once.
fn sorted_rows(scanned: &mut ScanResult) -> Vec<RawPage> {
    let mut rows: Vec<RawPage> = Vec::with_capacity(scanned.pages());
    for c in &mut scanned.chunks {
        rows.append(&mut c.pages);
        c.pages.shrink_to_fit();
    }
    let scanned = &*scanned;
    rows.par_sort_unstable_by(|a, b| cmp_titles(scanned, a, b).then(a.start.cmp(&b.start)));
    rows
}

/// Each row's redirect target row (the first row of the target title), by a
/// merge join: the redirects are sorted by target, then walked alongside
/// the (already sorted) rows. Cache-friendly at any scale, unlike a binary
/// search per redirect.
fn resolve_redirects(scanned: &ScanResult, rows: &[RawPage]) -> Vec<u32> {
    // (target key, target title, redirecting row)
    let mut wanted: Vec<(u64, &[u8], u32)> = rows
        .par_iter()
        .enumerate()
        .filter_map(|(row, p)| scanned.redirect(p).map(|t| (scan::sort_key(t), t, row as u32)))
        .collect();
    wanted.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let mut targets = vec![NOT_REDIRECT; rows.len()];
    let mut i = 0;
    for (key, title, row) in wanted {
        let probe = |r: &RawPage| r.key.cmp(&key).then_with(|| scanned.title(r).cmp(title));
        while i < rows.len() && probe(&rows[i]).is_lt() {
            i += 1;
        }
        targets[row as usize] =
            if i < rows.len() && probe(&rows[i]).is_eq() { i as u32 } else { TARGET_MISSING };
    }
    targets
}

/// Writes `titles.fst`; returns the number of distinct titles and the entry.
fn write_titles(
    writer: &IndexWriter,
    scanned: &ScanResult,
    rows: &[RawPage],
) -> Result<(u64, (String, format::FileEntry))> {
    let sink = writer.file(format::TITLES_FST, FileKind::TitleFst)?;
    let path = sink.path().to_path_buf();
    let fst_err = |source| Error::Fst { path: path.clone(), source };
    let mut map = fst::MapBuilder::new(sink).map_err(fst_err)?;
    let mut prev: Option<&[u8]> = None;
    let mut titles = 0u64;
    for (row, page) in rows.iter().enumerate() {
        let title = scanned.title(page);
        if prev != Some(title) {
            map.insert(title, row as u64).map_err(fst_err)?;
            titles += 1;
            prev = Some(title);
        }
    }
    let sink = map.into_inner().map_err(fst_err)?;
    Ok((titles, sink.finish()?))
}

/// A distinct title's folded form: for an ASCII title, its lowercase
/// (computed when needed, so the most common case stores no bytes);
/// otherwise bytes in a per-batch arena. 24 bytes: at 20 M titles every byte
/// here is 20 MB of peak memory.
struct FoldedTitle {
    key: u64,
    first: u32,
    /// Offset in the batch arena, or `ASCII`.
    at: u32,
    len: u16,
    batch: u16,
}

/// `FoldedTitle::at` of an ASCII title.
const ASCII: u32 = u32::MAX;

/// Distinct titles sorted by folded form (then title), ready to write.
struct FoldedPlan {
    order: Vec<FoldedTitle>,
    arenas: Vec<Vec<u8>>,
}

impl FoldedPlan {
    fn folded<'a>(&'a self, f: &FoldedTitle, title: &'a [u8]) -> Folded<'a> {
        if f.at == ASCII {
            Folded::Lower(title)
        } else {
            Folded::Bytes(&self.arenas[f.batch as usize][f.at as usize..f.at as usize + f.len as usize])
        }
    }
}

/// Folds every distinct title and sorts them by folded form, on all cores
/// (done before the fst builds, which then run side by side).
fn plan_folded(scanned: &ScanResult, rows: &[RawPage]) -> FoldedPlan {
    let title = |row: u32| scanned.title(&rows[row as usize]);
    // The first row of each distinct title.
    let mut distinct: Vec<u32> = Vec::new();
    for row in 0..rows.len() as u32 {
        if distinct.last().is_none_or(|&first| title(first) != title(row)) {
            distinct.push(row);
        }
    }
    // Fold in parallel batches, each with its own arena.
    let batches: Vec<(Vec<u8>, Vec<FoldedTitle>)> = distinct
        .par_chunks(1 << 16)
        .enumerate()
        .map(|(batch, firsts)| {
            let mut arena = Vec::new();
            let mut out = Vec::with_capacity(firsts.len());
            for &first in firsts {
                let t = title(first);
                let (key, at, len) = if t.is_ascii() {
                    let mut k = [0u8; 8];
                    for (d, s) in k.iter_mut().zip(t) {
                        *d = s.to_ascii_lowercase();
                    }
                    (u64::from_be_bytes(k), ASCII, t.len())
                } else {
                    let folded = crate::fold::fold(std::str::from_utf8(t).unwrap_or_default());
                    let at = arena.len() as u32;
                    arena.extend_from_slice(folded.as_bytes());
                    (scan::sort_key(folded.as_bytes()), at, folded.len())
                };
                out.push(FoldedTitle { key, first, at, len: len as u16, batch: batch as u16 });
            }
            arena.shrink_to_fit();
            (arena, out)
        })
        .collect();
    drop(distinct);
    let mut order: Vec<FoldedTitle> = Vec::with_capacity(batches.iter().map(|(_, v)| v.len()).sum());
    let mut arenas = Vec::with_capacity(batches.len());
    for (arena, entries) in batches {
        order.extend(entries);
        arenas.push(arena);
    }
    let mut plan = FoldedPlan { order: Vec::new(), arenas };
    // By folded form, then title (= row order, rows being sorted by title).
    order.par_sort_unstable_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then_with(|| plan.folded(a, title(a.first)).cmp(&plan.folded(b, title(b.first))))
            .then(a.first.cmp(&b.first))
    });
    plan.order = order;
    plan
}

/// Writes `folded.fst` (`fold(title)` → position of its rows) and
/// `folded.u32` (the rows of each folded key, in title order, back to back;
/// a key's rows end where the next key's begin).
fn write_folded(
    writer: &IndexWriter,
    scanned: &ScanResult,
    rows: &[RawPage],
    plan: &FoldedPlan,
) -> Result<[(String, format::FileEntry); 2]> {
    let sink = writer.file(format::FOLDED_FST, FileKind::FoldedFst)?;
    let mut postings = writer.file(format::FOLDED_ROWS, FileKind::FoldedRows)?;
    let path = sink.path().to_path_buf();
    let rows_path = postings.path().to_path_buf();
    let title = |row: u32| scanned.title(&rows[row as usize]);
    let order = &plan.order;
    let folded_of = |f: &FoldedTitle| plan.folded(f, title(f.first));
    let fst_err = |source| Error::Fst { path: path.clone(), source };
    let mut map = fst::MapBuilder::new(sink).map_err(fst_err)?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut position = 0u64;
    let mut i = 0;
    let mut key = Vec::with_capacity(1024);
    while i < order.len() {
        let folded = folded_of(&order[i]);
        folded.write_to(&mut key);
        let group_start = position;
        while i < order.len() && folded_of(&order[i]).cmp(&folded).is_eq() {
            let first = order[i].first;
            let mut row = first;
            while (row as usize) < rows.len() && title(row) == title(first) {
                buf.extend_from_slice(&row.to_le_bytes());
                row += 1;
            }
            position += u64::from(row - first);
            i += 1;
        }
        map.insert(&key, group_start).map_err(fst_err)?;
        if buf.len() >= 1 << 20 {
            postings.write_all(&buf).map_err(|e| Error::io(&rows_path, "write", e))?;
            buf.clear();
        }
    }
    postings.write_all(&buf).map_err(|e| Error::io(&rows_path, "write", e))?;
    Ok([map.into_inner().map_err(fst_err)?.finish()?, postings.finish()?])
}

/// A folded title: stored bytes, or an ASCII title lowercased on the fly.
#[derive(Clone, Copy)]
enum Folded<'a> {
    Bytes(&'a [u8]),
    Lower(&'a [u8]),
}

impl Folded<'_> {
    fn cmp(&self, other: &Folded<'_>) -> std::cmp::Ordering {
        match (self, other) {
            (Folded::Bytes(a), Folded::Bytes(b)) => a.cmp(b),
            _ => self.bytes().cmp(other.bytes()),
        }
    }

    fn bytes(self) -> impl Iterator<Item = u8> {
        let (s, lower) = match self {
            Folded::Bytes(s) => (s, false),
            Folded::Lower(s) => (s, true),
        };
        s.iter().map(move |&b| if lower { b.to_ascii_lowercase() } else { b })
    }

    fn write_to(self, out: &mut Vec<u8>) {
        out.clear();
        out.extend(self.bytes());
    }
}

/// Writes the fixed-width columns, in parallel, each through a buffer.
fn write_columns(
    writer: &IndexWriter,
    rows: &[RawPage],
    redirects: &[u32],
) -> Result<Vec<(String, format::FileEntry)>> {
    type Encode<'a> = &'a (dyn Fn(usize, &mut Vec<u8>) + Sync);
    let column = |name: &str, kind: FileKind, encode: Encode<'_>| {
        let mut sink = writer.file(name, kind)?;
        let path = sink.path().to_path_buf();
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..rows.len() {
            encode(i, &mut buf);
            if buf.len() >= (1 << 20) - 8 {
                sink.write_all(&buf).map_err(|e| Error::io(&path, "write", e))?;
                buf.clear();
            }
        }
        sink.write_all(&buf).map_err(|e| Error::io(&path, "write", e))?;
        sink.finish()
    };
    let columns: [(&str, FileKind, Encode<'_>); 4] = [
        (format::STARTS, FileKind::Starts, &|i, b| b.extend_from_slice(&rows[i].start.to_le_bytes())),
        (format::LENGTHS, FileKind::Lengths, &|i, b| b.extend_from_slice(&rows[i].len.to_le_bytes())),
        (format::NAMESPACES, FileKind::Namespaces, &|i, b| b.extend_from_slice(&rows[i].ns.to_le_bytes())),
        (format::REDIRECTS, FileKind::Redirects, &|i, b| b.extend_from_slice(&redirects[i].to_le_bytes())),
    ];
    columns.par_iter().map(|(name, kind, encode)| column(name, *kind, *encode)).collect()
}
