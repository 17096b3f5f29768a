//! Finding every page of a dump, in parallel, exactly once.
//!
//! The dump (memory-mapped) is cut into fixed-size chunks processed by rayon.
//! A page belongs to the chunk holding its `<page>` tag's first byte. A chunk
//! other than the first synchronizes with `memmem` on `<page>` — safe because
//! MediaWiki escapes `<` in text, so the literal only occurs as the tag — and
//! then walks pages back to back: each page's end is found by tag-scanning,
//! and what follows it must be whitespace and then `<page>` or the closing
//! `</mediawiki>`. Chunk `k`'s last page is thereby checked to be followed by
//! chunk `k+1`'s first, so the whole body is validated as one sequence.
//!
//! Results are compact: per page a fixed [`RawPage`] and the title (and
//! redirect target) bytes in a per-chunk arena, so 20 M pages fit in about
//! 1.5 GB however large the dump is.

mod links;
mod page;
mod siteinfo;
mod title_rules;

pub use links::{LinkRules, LinkScratch};
pub use page::{PageHeader, ScannedPage, parse_header, parse_page};
pub use siteinfo::{Prologue, parse_prologue};
pub use title_rules::TitleRules;

use crate::format::SkippedPage;

use memchr::memmem;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// A malformed dump, at a byte offset. The builder adds the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpError {
    /// Byte offset in the dump.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
}

/// One page as kept in memory while building: fixed size, titles in an
/// arena. Held for every page until the index is written, so `packed(2)`:
/// 38 bytes instead of the 40 that aligning the `u64`s would take
/// (docs/BENCHMARKS.md, "Compressed dumps"). Read fields by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(2))]
pub struct RawPage {
    /// The title's first 8 bytes, big-endian, zero-padded: comparing keys
    /// orders titles by bytes without touching the arena (ties compare the
    /// full titles).
    pub key: u64,
    /// Offset of `<page>`.
    pub start: u64,
    /// Fragment length (`end - start + 1`).
    pub len: u32,
    /// Which chunk's arena holds the title.
    pub chunk: u32,
    /// Title offset in the arena; the redirect target, if any, follows it.
    pub title_at: u32,
    /// Title length, 1..=[`MAX_FULL_TITLE_BYTES`](crate::format::MAX_FULL_TITLE_BYTES).
    pub title_len: u16,
    /// Redirect target length; 0 when the page is not a redirect.
    pub redirect_len: u16,
    /// Namespace key.
    pub ns: i16,
    /// Page `<id>`, or [`NO_ID`](crate::format::NO_ID).
    pub id: u32,
}

const _: () = assert!(size_of::<RawPage>() == 38);

/// The pages found in one chunk.
#[derive(Debug, Default)]
pub struct ChunkPages {
    /// The pages, in dump order.
    pub pages: Vec<RawPage>,
    /// Titles and redirect targets, back to back.
    pub arena: Vec<u8>,
    /// Offset of `</mediawiki>` if this chunk's last page is followed by it.
    pub end_tag: Option<u64>,
    /// Invalid pages passed over ([`ScanOptions::skip_invalid`]), in dump order.
    pub skipped: Vec<SkippedPage>,
}

/// What a whole-dump scan found.
#[derive(Debug)]
pub struct ScanResult {
    /// Per-chunk results, in dump order.
    pub chunks: Vec<ChunkPages>,
}

impl ScanResult {
    /// The title of `page`.
    pub fn title(&self, page: &RawPage) -> &[u8] {
        let a = &self.chunks[page.chunk as usize].arena;
        &a[page.title_at as usize..page.title_at as usize + page.title_len as usize]
    }

    /// Whether two pages have the same title: their keys first, which tell
    /// most titles apart without reading the titles.
    pub fn same_title(&self, a: &RawPage, b: &RawPage) -> bool {
        let (ka, kb) = (a.key, b.key);
        ka == kb && self.title(a) == self.title(b)
    }

    /// The redirect target of `page`, if it is a redirect.
    pub fn redirect(&self, page: &RawPage) -> Option<&[u8]> {
        (page.redirect_len > 0).then(|| {
            let a = &self.chunks[page.chunk as usize].arena;
            let at = page.title_at as usize + page.title_len as usize;
            &a[at..at + page.redirect_len as usize]
        })
    }

    /// Total pages found.
    pub fn pages(&self) -> usize {
        self.chunks.iter().map(|c| c.pages.len()).sum()
    }

    /// The invalid pages passed over, in dump order.
    pub fn skipped(&self) -> impl Iterator<Item = &SkippedPage> {
        self.chunks.iter().flat_map(|c| &c.skipped)
    }
}

/// Callbacks and knobs of a scan.
pub struct ScanOptions<'a> {
    /// Bytes per chunk (the last may be shorter).
    pub chunk_size: usize,
    /// Called after each chunk with (bytes of the dump covered, pages found).
    pub on_chunk: &'a (dyn Fn(u64, u64) + Sync),
    /// Called before each chunk with its byte range, to map its pages in.
    pub prefetch: &'a (dyn Fn(usize, usize) + Sync),
    /// Called after each chunk with its byte range, to let go of its pages.
    pub release: &'a (dyn Fn(usize, usize) + Sync),
    /// Set to stop early; the scan then returns `Ok(None)`.
    pub cancel: &'a AtomicBool,
    /// The title length rule, from the dump's `<siteinfo>`.
    pub rules: &'a TitleRules,
    /// Pass over invalid pages (a bad title, a missing `<ns>`) instead of
    /// refusing the dump; each is listed in [`ChunkPages::skipped`]. A page
    /// whose end cannot be found is still an error.
    pub skip_invalid: bool,
}

impl<'a> ScanOptions<'a> {
    /// Options with no progress reporting and no page-cache advice, that
    /// refuse invalid pages.
    pub fn quiet(chunk_size: usize, cancel: &'a AtomicBool, rules: &'a TitleRules) -> ScanOptions<'a> {
        fn ignore<T>(_: T, _: T) {}
        ScanOptions {
            chunk_size,
            on_chunk: &ignore::<u64>,
            prefetch: &ignore::<usize>,
            release: &ignore::<usize>,
            cancel,
            rules,
            skip_invalid: false,
        }
    }
}

/// Scans the body of `buf` (pages from `body_start` on) and validates that
/// the dump ends properly.
pub fn scan(buf: &[u8], body_start: usize, opts: &ScanOptions<'_>) -> Result<Option<ScanResult>, DumpError> {
    let window = Window { buf, base: 0, body: body_start..buf.len(), last: true, first_chunk: 0 };
    let Some(chunks) = scan_window(&window, opts)? else { return Ok(None) };
    Ok(Some(ScanResult { chunks }))
}

/// Part of a dump in memory, for a dump that arrives piece by piece (a
/// compressed one): `buf` holds the dump's bytes from offset `base` on, and
/// the pages to scan start in `body`. Unless the window is the `last`, the
/// dump goes on after `buf`, and `body.end` must be where a `<page>` starts
/// (so every page starting before it ends in `buf`); the last window must
/// hold `</mediawiki>`.
#[derive(Debug, Clone)]
pub struct Window<'b> {
    /// The bytes.
    pub buf: &'b [u8],
    /// The dump offset of `buf[0]`.
    pub base: u64,
    /// Where in `buf` pages may start: the first at `body.start` (after
    /// whitespace), none at or past `body.end`.
    pub body: std::ops::Range<usize>,
    /// Whether the dump ends with this window.
    pub last: bool,
    /// The number of the window's first chunk ([`RawPage::chunk`]): the
    /// chunks of earlier windows, so numbers stay unique across windows.
    pub first_chunk: u32,
}

/// Scans the pages of one [`Window`] in parallel; offsets in the result
/// (pages, skipped pages, errors) are dump offsets.
pub fn scan_window(w: &Window<'_>, opts: &ScanOptions<'_>) -> Result<Option<Vec<ChunkPages>>, DumpError> {
    let buf = w.buf;
    let chunk_size = opts.chunk_size.max(1);
    let body = w.body.end.saturating_sub(w.body.start);
    let n_chunks = body.div_ceil(chunk_size).max(1);
    if u64::from(w.first_chunk) + n_chunks as u64 > u64::from(u32::MAX) {
        return Err(DumpError { offset: w.base, message: "dump has too many chunks".into() });
    }
    let failed = AtomicBool::new(false);
    let at_base = |e: DumpError| DumpError { offset: e.offset + w.base, ..e };
    let results: Vec<Result<ChunkPages, DumpError>> = (0..n_chunks)
        .into_par_iter()
        .map(|k| {
            if failed.load(Ordering::Relaxed) || opts.cancel.load(Ordering::Relaxed) {
                return Ok(ChunkPages::default());
            }
            let from = w.body.start + k * chunk_size;
            let to = (from + chunk_size).min(w.body.end);
            (opts.prefetch)(from, to);
            let r = scan_chunk(buf, from, to, k == 0, w.first_chunk + k as u32, opts);
            match &r {
                Ok(c) => {
                    (opts.release)(from, to);
                    (opts.on_chunk)((to - from) as u64, c.pages.len() as u64);
                }
                Err(_) => failed.store(true, Ordering::Relaxed),
            }
            r
        })
        .collect();
    if opts.cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut chunks = results.into_iter().collect::<Result<Vec<_>, _>>().map_err(at_base)?;
    if w.base > 0 {
        for c in &mut chunks {
            c.pages.iter_mut().for_each(|p| p.start += w.base);
            c.skipped.iter_mut().for_each(|p| p.offset += w.base);
            c.end_tag = c.end_tag.map(|at| at + w.base);
        }
    }
    if w.last && !chunks.iter().any(|c| c.end_tag.is_some()) {
        return Err(DumpError {
            offset: w.base + buf.len() as u64,
            message: "the dump ends without </mediawiki> (truncated download?)".into(),
        });
    }
    Ok(Some(chunks))
}

fn scan_chunk(
    buf: &[u8],
    from: usize,
    to: usize,
    first: bool,
    chunk: u32,
    opts: &ScanOptions<'_>,
) -> Result<ChunkPages, DumpError> {
    let mut out = ChunkPages::default();
    let mut pos = if first {
        // Nothing but whitespace may stand between </siteinfo> and the first page.
        let at = page::skip_ws(buf, from);
        if !buf[at..].starts_with(b"<page>") && !buf[at..].starts_with(b"</mediawiki>") {
            if at >= buf.len() {
                return Err(DumpError {
                    offset: at as u64,
                    message: "the dump ends without </mediawiki> (truncated download?)".into(),
                });
            }
            return Err(DumpError {
                offset: at as u64,
                message: format!("expected <page>, found {}", page::snippet(buf, at)),
            });
        }
        if buf[at..].starts_with(b"</mediawiki>") {
            check_tail(buf, at)?;
            out.end_tag = Some(at as u64);
            return Ok(out);
        }
        at
    } else {
        match memmem::find(&buf[from..], b"<page>") {
            Some(i) => from + i,
            None => return Ok(out),
        }
    };
    while pos < to {
        let end = match valid_page(buf, pos, opts.rules) {
            Ok((p, len, ns, id)) => {
                let title_at = out.arena.len();
                out.arena.extend_from_slice(p.title.as_bytes());
                let redirect_len = p.redirect.as_ref().map_or(0, |r| r.len());
                if let Some(r) = &p.redirect {
                    out.arena.extend_from_slice(r.as_bytes());
                }
                if out.arena.len() > u32::MAX as usize {
                    return Err(DumpError { offset: p.start, message: "chunk title arena overflow".into() });
                }
                out.pages.push(RawPage {
                    key: sort_key(p.title.as_bytes()),
                    start: p.start,
                    len,
                    chunk,
                    title_at: title_at as u32,
                    // Both at most MAX_FULL_TITLE_BYTES (check_title).
                    title_len: p.title.len() as u16,
                    redirect_len: redirect_len as u16,
                    ns,
                    id,
                });
                p.end
            }
            Err(e) if opts.skip_invalid => {
                // Skippable only where the page's end is certain.
                let end = page::find_page_end(buf, pos, pos + b"<page>".len())?;
                let at =
                    if e.offset == pos as u64 { String::new() } else { format!(" (at byte {})", e.offset) };
                out.skipped.push(SkippedPage { offset: pos as u64, reason: format!("{}{at}", e.message) });
                end as u64
            }
            Err(e) => return Err(e),
        };
        // What follows a page: whitespace, then another page or the end.
        let next = page::skip_ws(buf, end as usize + 1);
        if buf[next..].starts_with(b"<page>") {
            pos = next;
        } else if buf[next..].starts_with(b"</mediawiki>") {
            check_tail(buf, next)?;
            out.end_tag = Some(next as u64);
            break;
        } else if next >= buf.len() {
            return Err(DumpError {
                offset: buf.len() as u64,
                message: "the dump ends without </mediawiki> (truncated download?)".into(),
            });
        } else {
            return Err(DumpError {
                offset: next as u64,
                message: format!("expected <page> or </mediawiki>, found {}", page::snippet(buf, next)),
            });
        }
    }
    // Held until the index is written: give back what doubling reserved.
    out.arena.shrink_to_fit();
    out.pages.shrink_to_fit();
    Ok(out)
}

/// The page at `pos` with its fragment length and namespace, if it is one
/// the index can hold: any error here is about this page alone.
fn valid_page<'a>(
    buf: &'a [u8],
    pos: usize,
    rules: &TitleRules,
) -> Result<(ScannedPage<'a>, u32, i16, u32), DumpError> {
    let p = parse_page(buf, pos)?;
    let invalid = |message: String| DumpError { offset: p.start, message };
    let len = p.end - p.start + 1;
    let len = u32::try_from(len)
        .map_err(|_| invalid(format!("page is {len} bytes; wikidex supports pages up to 4 GiB")))?;
    let ns = i16::try_from(p.ns)
        .map_err(|_| invalid(format!("namespace {} is outside the supported range -32768..32767", p.ns)))?;
    let id = match p.id {
        None => crate::format::NO_ID,
        Some(id) => u32::try_from(id).ok().filter(|&id| id != crate::format::NO_ID).ok_or_else(|| {
            invalid(format!("page id {id} is over {}, the largest wikidex stores", crate::format::NO_ID - 1))
        })?,
    };
    rules.check_title(p.ns, &p.title).map_err(invalid)?;
    if let Some(target) = &p.redirect {
        rules.check_target(target).map_err(invalid)?;
    }
    Ok((p, len, ns, id))
}

/// The first 8 bytes of `title`, big-endian, zero-padded.
pub fn sort_key(title: &[u8]) -> u64 {
    word_at(title, 0)
}

/// Byte `at` (below 8) of a string of `len` bytes whose [`sort_key`] is
/// `key`; `None` past its end.
pub fn key_byte(key: u64, len: usize, at: usize) -> Option<u8> {
    (at < len.min(8)).then(|| key.to_be_bytes()[at])
}

/// Bytes `at..at + 8` of `s`, big-endian, zero-padded past its end:
/// comparing these words in turn orders strings by bytes.
pub fn word_at(s: &[u8], at: usize) -> u64 {
    let mut k = [0u8; 8];
    let tail = s.get(at..).unwrap_or_default();
    let n = tail.len().min(8);
    k[..n].copy_from_slice(&tail[..n]);
    u64::from_be_bytes(k)
}

/// Only whitespace may follow `</mediawiki>`.
fn check_tail(buf: &[u8], end_tag: usize) -> Result<(), DumpError> {
    let after = page::skip_ws(buf, end_tag + b"</mediawiki>".len());
    if after < buf.len() {
        return Err(DumpError {
            offset: after as u64,
            message: format!("unexpected data after </mediawiki>: {}", page::snippet(buf, after)),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A dump of these (title, redirect target) pages.
    pub(crate) fn dump(pages: &[(&str, Option<&str>)]) -> String {
        let mut s = String::from("<mediawiki>\n  <siteinfo>\n    <case>first-letter</case>\n  </siteinfo>\n");
        for (t, r) in pages {
            s.push_str(&format!("  <page>\n    <title>{t}</title>\n    <ns>0</ns>\n"));
            if let Some(r) = r {
                s.push_str(&format!("    <redirect title=\"{r}\" />\n"));
            }
            s.push_str("    <revision>\n      <text xml:space=\"preserve\">some text &lt;page&gt; here</text>\n    </revision>\n  </page>\n");
        }
        s.push_str("</mediawiki>\n");
        s
    }

    fn run(xml: &str, chunk_size: usize) -> Result<Vec<(String, u64, u64)>, DumpError> {
        let buf = xml.as_bytes();
        let pro = parse_prologue(buf)?;
        let cancel = AtomicBool::new(false);
        let rules = TitleRules::new(&pro.site);
        let r = scan(buf, pro.body_start, &ScanOptions::quiet(chunk_size, &cancel, &rules))?.unwrap();
        Ok(r.chunks
            .iter()
            .flat_map(|c| c.pages.iter())
            .map(|p| (String::from_utf8(r.title(p).to_vec()).unwrap(), p.start, p.start + p.len as u64 - 1))
            .collect())
    }

    #[test]
    fn every_chunk_size_finds_each_page_exactly_once() {
        let xml = dump(&[("A", None), ("B &amp; C", Some("A")), ("Zürich", None), ("D", Some("Nowhere"))]);
        let expected = run(&xml, 1 << 20).unwrap();
        assert_eq!(expected.len(), 4);
        for (t, s, e) in &expected {
            let frag = &xml[*s as usize..=*e as usize];
            assert!(frag.starts_with("<page>") && frag.ends_with("</page>"), "{t}: {frag}");
        }
        assert_eq!(expected[1].0, "B & C");
        for chunk in 1..xml.len() + 2 {
            assert_eq!(run(&xml, chunk).unwrap(), expected, "chunk size {chunk}");
        }
    }

    #[test]
    fn an_empty_dump_has_no_pages() {
        assert_eq!(run(&dump(&[]), 7).unwrap(), vec![]);
    }

    #[test]
    fn structural_errors_are_found_at_any_chunk_size() {
        let good = dump(&[("A", None), ("B", None), ("C", None)]);
        let cut = &good[..good.len() - "</mediawiki>\n".len()];
        let cut_mid = &good[..good.len() / 2 + 40];
        let junk_between = good.replacen("</page>\n  <page>", "</page>\n  junk <page>", 1);
        let trailing = format!("{good}<page>");
        let unclosed = good.replacen("</page>", "", 1);
        for (xml, want) in [
            (cut, "without </mediawiki>"),
            (cut_mid, "cut off"),
            (&junk_between[..], "expected <page> or </mediawiki>"),
            (&trailing[..], "after </mediawiki>"),
            (&unclosed[..], "no </page>"),
        ] {
            for chunk in [3, 50, 1 << 20] {
                let e = run(xml, chunk).unwrap_err();
                assert!(e.message.contains(want), "chunk {chunk}: {want}: {e:?}");
            }
        }
    }
}
