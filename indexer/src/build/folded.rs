//! Writing the folded index: every distinct title folded
//! ([`crate::fold`]), sorted by folded form, as `folded.fst` + `folded.u32`.

use super::sort::ByString;
use crate::error::{Error, Result};
use crate::format::{self, FileKind, IndexWriter};
use crate::scan::{self, RawPage, ScanResult};
use rayon::prelude::*;
use std::io::Write;

/// A distinct title's folded form: for an ASCII title, its lowercase
/// (computed when needed, so the most common case stores no bytes);
/// otherwise bytes in a per-batch arena. At 20 M titles every byte
/// here is 20 MB of peak memory, hence `packed(2)`: 20 bytes, not the 24
/// that aligning `key` would take (docs/BENCHMARKS.md, "Compressed dumps").
#[repr(C, packed(2))]
struct FoldedTitle {
    key: u64,
    first: u32,
    /// Offset in the batch arena, or `ASCII`.
    at: u32,
    len: u16,
    batch: u16,
}

const _: () = assert!(size_of::<FoldedTitle>() == 20);

/// `FoldedTitle::at` of an ASCII title.
const ASCII: u32 = u32::MAX;

/// Distinct titles sorted by folded form (then title), ready to write.
pub(super) struct FoldedPlan {
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
pub(super) fn plan_folded(scanned: &ScanResult, rows: &[RawPage]) -> FoldedPlan {
    let title = |row: u32| scanned.title(&rows[row as usize]);
    // One entry per distinct title (its first row), folded below. Sized
    // for every row: capacity that is never written is never resident.
    let mut order: Vec<FoldedTitle> = Vec::with_capacity(rows.len());
    for row in 0..rows.len() as u32 {
        if order.last().is_none_or(|f| !scanned.same_title(&rows[f.first as usize], &rows[row as usize])) {
            order.push(FoldedTitle { key: 0, first: row, at: ASCII, len: 0, batch: 0 });
        }
    }
    // Fold in parallel batches, in place, each batch with its own arena.
    let arenas: Vec<Vec<u8>> = order
        .par_chunks_mut(1 << 16)
        .enumerate()
        .map(|(batch, entries)| {
            let mut arena = Vec::new();
            let mut scratch = String::new();
            for f in entries {
                let t = title(f.first);
                let (key, at, len) = if t.is_ascii() {
                    (Folded::Lower(t).word_at(0), ASCII, t.len())
                } else {
                    scratch.clear();
                    crate::fold::fold_into(std::str::from_utf8(t).unwrap_or_default(), &mut scratch);
                    let at = arena.len() as u32;
                    arena.extend_from_slice(scratch.as_bytes());
                    (scan::sort_key(scratch.as_bytes()), at, scratch.len())
                };
                *f = FoldedTitle { key, first: f.first, at, len: len as u16, batch: batch as u16 };
            }
            arena.shrink_to_fit();
            arena
        })
        .collect();
    let mut plan = FoldedPlan { order: Vec::new(), arenas };
    // By folded form, then title (= row order, rows being sorted by title).
    ByString {
        len: |f: &FoldedTitle| usize::from(f.len),
        word: |f: &FoldedTitle, at| if at == 0 { f.key } else { plan.folded(f, title(f.first)).word_at(at) },
        tie: |a: &FoldedTitle, b: &FoldedTitle| { a.first }.cmp(&{ b.first }),
    }
    .sort(&mut order);
    plan.order = order;
    plan
}

/// Writes `folded.fst` (`fold(title)` → position of its rows) and
/// `folded.u32` (the rows of each folded key, in title order, back to back;
/// a key's rows end where the next key's begin).
pub(super) fn write_folded(
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
    let fst_err = |source| super::fst_error(&path, source);
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
            while (row as usize) < rows.len()
                && scanned.same_title(&rows[row as usize], &rows[first as usize])
            {
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

    /// Bytes `at..at + 8`, as [`scan::word_at`].
    fn word_at(self, at: usize) -> u64 {
        match self {
            Folded::Bytes(s) => scan::word_at(s, at),
            Folded::Lower(s) => {
                let mut w = scan::word_at(s, at).to_be_bytes();
                w.make_ascii_lowercase();
                u64::from_be_bytes(w)
            }
        }
    }

    fn write_to(self, out: &mut Vec<u8>) {
        out.clear();
        out.extend(self.bytes());
    }
}

/// The postings of `folded.u32` in order, each with the folded title it
/// belongs to: the folded domain of the ranked lists.
pub(super) struct Postings {
    /// The row of each position.
    pub rows: Vec<u32>,
    /// The plan entry (folded title) of each position.
    owner: Vec<u32>,
}

impl FoldedPlan {
    /// Every position of `folded.u32`, as [`write_folded`] writes them.
    pub(super) fn postings(&self, scanned: &ScanResult, rows: &[RawPage]) -> Postings {
        let mut out =
            Postings { rows: Vec::with_capacity(rows.len()), owner: Vec::with_capacity(rows.len()) };
        for (i, f) in self.order.iter().enumerate() {
            let mut row = f.first;
            while (row as usize) < rows.len()
                && scanned.same_title(&rows[row as usize], &rows[f.first as usize])
            {
                out.rows.push(row);
                out.owner.push(i as u32);
                row += 1;
            }
        }
        out
    }
}

impl Postings {
    /// Byte `depth` of the folded title of position `i`.
    pub(super) fn byte(
        &self,
        plan: &FoldedPlan,
        scanned: &ScanResult,
        rows: &[RawPage],
        i: usize,
        depth: usize,
    ) -> Option<u8> {
        let f = &plan.order[self.owner[i] as usize];
        // The first eight folded bytes are the entry's key: the titles are
        // read only past them.
        if depth < 8 {
            return scan::key_byte(f.key, usize::from(f.len), depth);
        }
        match plan.folded(f, scanned.title(&rows[f.first as usize])) {
            Folded::Bytes(s) => s.get(depth).copied(),
            Folded::Lower(s) => s.get(depth).map(u8::to_ascii_lowercase),
        }
    }
}
