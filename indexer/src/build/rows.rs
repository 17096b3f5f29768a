//! Ordering rows: sorting pages by (title, start) and resolving redirect
//! targets to rows.

use super::sort::ByString;
use crate::format::{NOT_REDIRECT, TARGET_MISSING};
use crate::scan::{self, RawPage, ScanResult};
use rayon::prelude::*;

/// All pages, sorted by (title bytes, start). Moves them out of the chunks
/// (which keep their title arenas) so they are held once.
pub(super) fn sorted_rows(scanned: &mut ScanResult) -> Vec<RawPage> {
    let mut rows: Vec<RawPage> = Vec::with_capacity(scanned.pages());
    for c in &mut scanned.chunks {
        rows.append(&mut c.pages);
        c.pages.shrink_to_fit();
    }
    let scanned = &*scanned;
    ByString {
        len: |p: &RawPage| usize::from(p.title_len),
        word: |p: &RawPage, at| if at == 0 { p.key } else { scan::word_at(scanned.title(p), at) },
        tie: |a: &RawPage, b: &RawPage| { a.start }.cmp(&{ b.start }),
    }
    .sort(&mut rows);
    rows
}

/// Each row's redirect target row (the first row of the target title), by a
/// merge join: the redirects are sorted by target, then walked alongside
/// the (already sorted) rows. Cache-friendly at any scale, unlike a binary
/// search per redirect.
pub(super) fn resolve_redirects(scanned: &ScanResult, rows: &[RawPage]) -> Vec<u32> {
    // (target key, target title, redirecting row)
    let mut wanted: Vec<(u64, &[u8], u32)> = rows
        .par_iter()
        .enumerate()
        .filter_map(|(row, p)| scanned.redirect(p).map(|t| (scan::sort_key(t), t, row as u32)))
        .collect();
    ByString {
        len: |w: &(u64, &[u8], u32)| w.1.len(),
        word: |w: &(u64, &[u8], u32), at| if at == 0 { w.0 } else { scan::word_at(w.1, at) },
        tie: |a: &(u64, &[u8], u32), b: &(u64, &[u8], u32)| a.2.cmp(&b.2),
    }
    .sort(&mut wanted);
    let mut targets = vec![NOT_REDIRECT; rows.len()];
    let mut i = 0;
    for (key, title, row) in wanted {
        let probe = |r: &RawPage| { r.key }.cmp(&key).then_with(|| scanned.title(r).cmp(title));
        while i < rows.len() && probe(&rows[i]).is_lt() {
            i += 1;
        }
        targets[row as usize] =
            if i < rows.len() && probe(&rows[i]).is_eq() { i as u32 } else { TARGET_MISSING };
    }
    targets
}
