//! `wikidex gen` for `.xml.bz2`: a generated dump in Wikimedia's
//! multistream layout, with its companion index, so tests and benchmarks
//! can make compressed dumps of any size.
//!
//! The layout of `pages-articles-multistream.xml.bz2`: one bz2 stream for
//! everything before the first `<page>` line, one per 100 pages, one for
//! the closing `</mediawiki>`. The companion `…-index.txt.bz2` has a line
//! `offset:page_id:title` per page, `offset` being where the page's stream
//! starts in the `.bz2` and `title` unescaped.

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Pages per bz2 stream, as Wikimedia writes them.
pub const PAGES_PER_STREAM: usize = 100;
/// Streams compressed side by side before they are written, in order.
const BATCH: usize = 64;

/// One generated page: where its `<page>` starts in the XML, its id, its title.
pub struct PageRef {
    /// Offset of `<page>` in the XML.
    pub start: u64,
    /// `<id>`.
    pub id: u64,
    /// The unescaped title.
    pub title: String,
}

/// Compresses the XML `xml` (with `pages` in order) into `out` in the
/// multistream layout and, if `companion` is given, writes the companion
/// index there. Returns the `.bz2`'s size.
pub fn write(xml: &[u8], pages: &[PageRef], out: &Path, companion: Option<&Path>) -> Result<u64> {
    // Streams start at the line of every 100th page, and at `</mediawiki>`.
    let line_start = |p: &PageRef| {
        let at = p.start as usize;
        let indent = xml[..at].iter().rev().take_while(|&&b| b == b' ').count();
        at - indent
    };
    let Some(tail) = memchr::memmem::rfind(xml, b"</mediawiki>") else {
        bail!("the generated XML has no </mediawiki>");
    };
    let mut bounds: Vec<usize> = std::iter::once(0)
        .chain(pages.iter().step_by(PAGES_PER_STREAM).map(line_start))
        .chain([tail, xml.len()])
        .collect();
    bounds.dedup();
    let segments: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let file = std::fs::File::create(out).with_context(|| format!("{}: failed to create", out.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut offsets = Vec::with_capacity(segments.len());
    let mut written = 0u64;
    for batch in segments.chunks(BATCH) {
        let streams: Vec<Vec<u8>> =
            batch.par_iter().map(|&(a, b)| compress(&xml[a..b])).collect::<Result<_>>()?;
        for s in streams {
            offsets.push(written);
            w.write_all(&s).with_context(|| format!("{}: failed to write", out.display()))?;
            written += s.len() as u64;
        }
    }
    let file = w
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("{}: failed to write", out.display()))?;
    file.sync_all().with_context(|| format!("{}: failed to fsync", out.display()))?;
    if let Some(companion) = companion {
        // Page k is in stream 1 + k / 100 (stream 0 is the head).
        let mut text = Vec::new();
        for (k, p) in pages.iter().enumerate() {
            writeln!(text, "{}:{}:{}", offsets[1 + k / PAGES_PER_STREAM], p.id, p.title)?;
        }
        std::fs::write(companion, compress(&text)?)
            .with_context(|| format!("{}: failed to write", companion.display()))?;
    }
    Ok(written)
}

fn compress(data: &[u8]) -> Result<Vec<u8>> {
    let mut e = bzip2::write::BzEncoder::new(Vec::with_capacity(data.len() / 4), bzip2::Compression::best());
    e.write_all(data)?;
    Ok(e.finish()?)
}
