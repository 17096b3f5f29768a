//! Ordering rows: sorting pages by (title, start) and resolving redirect
//! targets to rows.

use crate::format::{NOT_REDIRECT, TARGET_MISSING};
use crate::scan::{self, RawPage, ScanResult};
use rayon::prelude::*;

/// Orders two titles by bytes, using their sort keys first.
fn cmp_titles(scanned: &ScanResult, a: &RawPage, b: &RawPage) -> std::cmp::Ordering {
    a.key.cmp(&b.key).then_with(|| scanned.title(a).cmp(scanned.title(b)))
}

/// All pages, sorted by (title bytes, start). Moves them out of the chunks
/// (which keep their title arenas) so they are held once.
pub(super) fn sorted_rows(scanned: &mut ScanResult) -> Vec<RawPage> {
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
pub(super) fn resolve_redirects(scanned: &ScanResult, rows: &[RawPage]) -> Vec<u32> {
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
