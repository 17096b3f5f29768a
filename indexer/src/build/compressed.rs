//! Indexing a `.xml.bz2` dump in one pass: decode it on all cores
//! ([`crate::input`]), scan the XML as it arrives, and write it into the
//! page store ([`crate::store`]) that the server reads pages from.
//!
//! Decoded bytes gather in a window. Once it holds [`WINDOW_BYTES`], the
//! pages starting before its last `<page>` tag are complete: they are
//! scanned in parallel ([`scan::scan_window`]), the bytes before that tag
//! are cut into frames at page starts ([`store::frame_cuts`]) and
//! compressed in parallel, and the rest waits for the next window. Offsets
//! are those of the decompressed XML, so the index is the one the
//! `bunzip2`ed file gives.

use super::Builder;
use crate::error::{Error, Result};
use crate::format::{ContentIdentity, IndexWriter, PAGE_STORE, SiteInfo, StoreEntry};
use crate::input::{self, DecodeError, DecodeOptions, Decoded, Outcome};
use crate::scan::{self, ChunkPages, DumpError, ScanOptions, ScanResult, TitleRules, Window};
use crate::store::{self, CompressedFrame, StoreWriter};
use memchr::memmem;
use rayon::prelude::*;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Decoded bytes gathered before a window is scanned and stored.
const WINDOW_BYTES: usize = 64 << 20;

/// What the compressed pass found and wrote.
pub(super) struct Compressed {
    /// The dump's `<siteinfo>`.
    pub site: SiteInfo,
    /// Every page, as a scan of the decompressed XML finds them.
    pub scanned: ScanResult,
    /// Length and hash of the decompressed XML.
    pub content: ContentIdentity,
    /// The page store written into the index.
    pub store: StoreEntry,
    /// Where it is, until the index is committed.
    pub store_path: PathBuf,
}

/// The stream offsets of `data` (the `.bz2` at `path`): from the companion
/// `…-index.txt.bz2` beside it when there is one, else by scanning.
fn stream_starts(path: &Path, data: &[u8]) -> Result<Vec<usize>> {
    match input::companion_path(path) {
        Some(companion) => {
            let bad =
                |e: input::InputError| Error::Compressed { path: companion.clone(), message: e.to_string() };
            let offsets = input::read_companion(&companion).map_err(bad)?;
            input::check_starts(data, &offsets).map_err(bad)
        }
        None => Ok(input::find_streams(data)),
    }
}

/// Refuses to start when the disk of `dir` cannot hold the store and the
/// index: 1.5x the `.bz2` covers both for real dumps (docs/BENCHMARKS.md,
/// "Compressed dumps").
fn check_free_space(dir: &Path, compressed: u64) -> Result<()> {
    let Ok(stat) = rustix::fs::statvfs(dir) else { return Ok(()) };
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    let needed = compressed / 2 * 3;
    if free < needed {
        let gb = |b: u64| b as f64 / 1e9;
        return Err(Error::Limit {
            path: dir.to_path_buf(),
            message: format!(
                "{:.1} GB free, but the page store and index of a {:.1} GB .bz2 need about {:.1} GB; free some space or write the index elsewhere with -o",
                gb(free),
                gb(compressed),
                gb(needed)
            ),
        });
    }
    Ok(())
}

/// Runs the compressed pass over `data`, the `.bz2` at `path`.
pub(super) fn scan_bz2(b: &Builder, path: &Path, data: &[u8], writer: &IndexWriter) -> Result<Compressed> {
    let (store_path, file) = writer.raw_file(PAGE_STORE)?;
    // Where the store is being written: the index's temporary directory.
    check_free_space(store_path.parent().unwrap_or(Path::new(".")), data.len() as u64)?;
    let starts = stream_starts(path, data)?;
    let single_stream = !input::is_multistream(&starts, data.len());
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut pass = Pass {
        b,
        path,
        store_path: store_path.clone(),
        total: data.len() as u64,
        single_stream,
        pending: Vec::new(),
        base: 0,
        compressed: 0,
        site: None,
        rules: TitleRules::default(),
        chunks: Vec::new(),
        pages: 0,
        store: StoreWriter::new(&mut out),
    };
    b.report_decoding(0, pass.total, 0, 0, single_stream);
    let opts = DecodeOptions::new(&b.cancel);
    let outcome = input::decode(data, &starts, &opts, |piece| pass.take(piece)).map_err(|e| match e {
        DecodeError::Sink(e) => e,
        e => Error::Compressed { path: path.to_path_buf(), message: e.to_string() },
    })?;
    if outcome == Outcome::Cancelled {
        return Err(Error::Interrupted);
    }
    pass.window(true)?;
    let Pass { site, chunks, store, .. } = pass;
    let io = |e| Error::io(&store_path, "write", e);
    let summary = store.finish().map_err(io)?;
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io(&store_path, "fsync", e))?;
    Ok(Compressed {
        site: site.expect("the last window parses the prologue"),
        scanned: ScanResult { chunks },
        content: ContentIdentity::new(summary.uncompressed_bytes, summary.content_hash),
        store: StoreEntry {
            file: PAGE_STORE.into(),
            bytes: summary.compressed_bytes,
            frames: summary.frames,
        },
        store_path,
    })
}

/// The state of one compressed pass: the window, the pages found so far
/// and the store being written.
struct Pass<'a> {
    b: &'a Builder,
    path: &'a Path,
    store_path: PathBuf,
    total: u64,
    single_stream: bool,
    /// Decoded bytes not yet scanned and stored; `pending[0]` is byte
    /// `base` of the XML.
    pending: Vec<u8>,
    base: u64,
    /// Compressed bytes decoded so far.
    compressed: u64,
    /// The prologue's site info, once the first window had it whole.
    site: Option<SiteInfo>,
    rules: TitleRules,
    chunks: Vec<ChunkPages>,
    pages: u64,
    store: StoreWriter<&'a mut BufWriter<File>>,
}

impl Pass<'_> {
    fn take(&mut self, piece: Decoded) -> Result<()> {
        self.b.check_cancel()?;
        self.pending.extend_from_slice(&piece.data);
        self.compressed = piece.compressed_end;
        if self.pending.len() >= WINDOW_BYTES {
            self.window(false)?;
        }
        Ok(())
    }

    fn dump_error(&self, e: DumpError) -> Error {
        Error::CompressedDump {
            path: self.path.to_path_buf(),
            offset: e.offset,
            compressed: self.compressed,
            message: e.message,
        }
    }

    /// Scans and stores what the window holds of whole pages (all of it
    /// when `last`).
    fn window(&mut self, last: bool) -> Result<()> {
        let body_start = match &self.site {
            Some(_) => 0,
            None => {
                let seen = |tag: &[u8]| memmem::find(&self.pending, tag).is_some();
                if !last && !seen(b"<page>") && !seen(b"</mediawiki>") {
                    return Ok(()); // the prologue is not whole yet
                }
                let prologue = scan::parse_prologue(&self.pending).map_err(|e| self.dump_error(e))?;
                self.rules = TitleRules::new(&prologue.site);
                self.site = Some(prologue.site);
                prologue.body_start
            }
        };
        let body_end = if last {
            self.pending.len()
        } else {
            match memmem::rfind(&self.pending[body_start..], b"<page>") {
                // Wait for more unless a whole page comes before the last tag.
                Some(i) if memmem::find(&self.pending[body_start..body_start + i], b"<page>").is_some() => {
                    body_start + i
                }
                _ => return Ok(()),
            }
        };
        let window = Window {
            buf: &self.pending,
            base: self.base,
            body: body_start..body_end,
            last,
            first_chunk: self.chunks.len() as u32,
        };
        let ignore = |_: u64, _: u64| {};
        let no_advice = |_: usize, _: usize| {};
        let opts = ScanOptions {
            chunk_size: self.b.chunk_size,
            on_chunk: &ignore,
            prefetch: &no_advice,
            release: &no_advice,
            cancel: &self.b.cancel,
            rules: &self.rules,
            skip_invalid: self.b.skip_invalid,
        };
        let chunks =
            scan::scan_window(&window, &opts).map_err(|e| self.dump_error(e))?.ok_or(Error::Interrupted)?;
        let page_starts: Vec<usize> = chunks
            .iter()
            .flat_map(|c| c.pages.iter().map(|p| (p.start - self.base) as usize))
            .filter(|&at| at > 0)
            .collect();
        self.pages += chunks.iter().map(|c| c.pages.len() as u64).sum::<u64>();
        self.chunks.extend(chunks);
        self.store_frames(body_end, &page_starts)?;
        self.pending.drain(..body_end);
        self.base += body_end as u64;
        super::release_freed();
        self.b.report_decoding(self.compressed, self.total, self.base, self.pages, self.single_stream);
        Ok(())
    }

    /// Compresses `pending[..len]` into frames cut at page starts, in
    /// parallel, and appends them to the store in order.
    fn store_frames(&mut self, len: usize, page_starts: &[usize]) -> Result<()> {
        let cuts = store::frame_cuts(len, page_starts, self.b.store_frame_bytes);
        let bounds: Vec<(usize, usize)> =
            std::iter::once(0).chain(cuts.iter().copied()).zip(cuts.iter().copied()).collect();
        let level = self.b.store_level;
        let data = &self.pending;
        let frames: Vec<CompressedFrame> = bounds
            .par_iter()
            .map(|&(from, to)| store::compress_frame(&data[from..to], level))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(&self.store_path, "compress into", e))?;
        for (frame, (from, to)) in frames.into_iter().zip(bounds) {
            self.store.push(frame, &data[from..to]).map_err(|e| Error::io(&self.store_path, "write", e))?;
        }
        Ok(())
    }
}
