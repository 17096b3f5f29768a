//! Writing `scores.u16` and `ranked.u32` (docs/FORMAT.md, "Ranking"):
//! the score column, and for every prefix holding more than
//! [`rank::SCAN_ROWS`] rows its highest-ranked rows ([`rank::list_rows`]),
//! in two domains: title prefixes over rows, folded prefixes over the
//! postings of `folded.u32`. A query under a smaller prefix scans its
//! span; one under a larger prefix reads its list.

use crate::error::{Error, Result};
use crate::format::{self, FileKind, IndexWriter};
use crate::rank::{self, SCAN_ROWS};
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;

/// One prefix's list: its span in the domain and its best rows, best first.
pub(super) struct RankList {
    lo: u32,
    hi: u32,
    rows: Vec<u32>,
}

/// A sorted sequence of keys (titles, or folded titles) whose prefixes get
/// lists: `byte(i, d)` is byte `d` of element `i`'s key, `rank(i)` its
/// [`rank::rank_key`].
pub(super) struct Domain<'a> {
    pub len: usize,
    pub byte: &'a (dyn Fn(usize, usize) -> Option<u8> + Sync),
    pub rank: &'a (dyn Fn(usize) -> u64 + Sync),
}

impl Domain<'_> {
    /// The lists of every prefix spanning more than [`SCAN_ROWS`]
    /// elements, ordered by span. A prefix that extends another without
    /// narrowing its span shares its list.
    pub(super) fn lists(&self) -> Vec<RankList> {
        let mut out = Vec::new();
        if self.len > SCAN_ROWS {
            out.push(self.list(0, self.len));
        }
        let children = self.children(0, self.len, 0);
        let nested: Vec<Vec<RankList>> = children
            .into_par_iter()
            .map(|(lo, hi)| {
                let mut lists = Vec::new();
                self.visit(lo, hi, 1, (0, self.len), &mut lists);
                lists
            })
            .collect();
        out.extend(nested.into_iter().flatten());
        out.sort_unstable_by_key(|l| (l.lo, l.hi));
        out.dedup_by_key(|l| (l.lo, l.hi));
        out
    }

    /// Lists of the prefix whose elements are `lo..hi` (keys sharing their
    /// first `depth` bytes) and of the prefixes below it.
    fn visit(&self, lo: usize, hi: usize, depth: usize, parent: (usize, usize), out: &mut Vec<RankList>) {
        if hi - lo <= SCAN_ROWS {
            return;
        }
        if (lo, hi) != parent {
            out.push(self.list(lo, hi));
        }
        for (a, b) in self.children(lo, hi, depth) {
            self.visit(a, b, depth + 1, (lo, hi), out);
        }
    }

    /// The spans of the children of `lo..hi` at byte `depth` with more than
    /// [`SCAN_ROWS`] elements (keys ending at `depth` come first, and are
    /// no child).
    fn children(&self, lo: usize, hi: usize, depth: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = lo;
        while i < hi {
            let Some(b) = (self.byte)(i, depth) else {
                i += 1;
                continue;
            };
            let mut j = i + 1;
            while j < hi && (self.byte)(j, depth) == Some(b) {
                j += 1;
            }
            if j - i > SCAN_ROWS {
                out.push((i, j));
            }
            i = j;
        }
        out
    }

    /// The best rows of `lo..hi` ([`rank::list_rows`] of them), through a
    /// bounded heap: a span can be most of the index, and its keys all at
    /// once would be as large.
    fn list(&self, lo: usize, hi: usize) -> RankList {
        let keep = rank::list_rows(hi - lo);
        let mut best: BinaryHeap<Reverse<u64>> = BinaryHeap::with_capacity(keep + 1);
        for i in lo..hi {
            let key = (self.rank)(i);
            if best.len() < keep {
                best.push(Reverse(key));
            } else if best.peek().is_some_and(|&Reverse(min)| key > min) {
                best.pop();
                best.push(Reverse(key));
            }
        }
        // Ascending `Reverse` is descending keys: best first.
        let rows = best.into_sorted_vec().into_iter().map(|Reverse(key)| rank::row_of_key(key)).collect();
        RankList { lo: lo as u32, hi: hi as u32, rows }
    }
}

/// Writes `scores.u16`: each row's score saturated at `u16::MAX`, then the
/// exact scores of the saturated rows as (row, score) pairs.
pub(super) fn write_scores(writer: &IndexWriter, scores: &[u32]) -> Result<(String, format::FileEntry)> {
    let mut sink = writer.file(format::SCORES, FileKind::Scores)?;
    let path = sink.path().to_path_buf();
    let io = |e| Error::io(&path, "write", e);
    let mut buf = Vec::with_capacity(1 << 20);
    for &s in scores {
        buf.extend_from_slice(&(s.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        if buf.len() >= 1 << 20 {
            sink.write_all(&buf).map_err(io)?;
            buf.clear();
        }
    }
    for (row, &s) in scores.iter().enumerate() {
        if s >= u32::from(u16::MAX) {
            buf.extend_from_slice(&(row as u32).to_le_bytes());
            buf.extend_from_slice(&s.to_le_bytes());
        }
    }
    sink.write_all(&buf).map_err(io)?;
    sink.finish()
}

/// Writes `ranked.u32`: the list counts of the two domains, a directory
/// entry `(lo, hi, offset, len)` per list, then the lists' rows.
pub(super) fn write_lists(
    writer: &IndexWriter,
    exact: &[RankList],
    folded: &[RankList],
) -> Result<(String, format::FileEntry)> {
    let mut sink = writer.file(format::RANKED_LISTS, FileKind::RankedLists)?;
    let path = sink.path().to_path_buf();
    let io = |e| Error::io(&path, "write", e);
    let mut buf: Vec<u8> = Vec::new();
    let put = |v: usize, buf: &mut Vec<u8>| buf.extend_from_slice(&(v as u32).to_le_bytes());
    put(exact.len(), &mut buf);
    put(folded.len(), &mut buf);
    let mut offset = 0;
    for list in exact.iter().chain(folded) {
        put(list.lo as usize, &mut buf);
        put(list.hi as usize, &mut buf);
        put(offset, &mut buf);
        put(list.rows.len(), &mut buf);
        offset += list.rows.len();
    }
    for list in exact.iter().chain(folded) {
        for &row in &list.rows {
            put(row as usize, &mut buf);
        }
        if buf.len() >= 1 << 20 {
            sink.write_all(&buf).map_err(io)?;
            buf.clear();
        }
    }
    sink.write_all(&buf).map_err(io)?;
    sink.finish()
}
