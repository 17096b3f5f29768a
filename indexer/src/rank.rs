//! Ranking rows by popularity (`order=rank`): the score column
//! (`scores.u16`) and the lists of `ranked.u32` (docs/FORMAT.md,
//! "Ranking").
//!
//! Rows rank by score, highest first, ties by row (= title byte order).
//! [`rank_key`] packs that order into one `u64`, larger = earlier. The
//! rows under a prefix form a span, of rows (title prefixes) or of
//! `folded.u32` positions (folded prefixes). A span of up to [`SCAN_ROWS`]
//! elements is ranked by scanning it; a larger one has a list of its best
//! rows ([`list_rows`]) written at index time, and is scanned only by a
//! query that reads past its list's end.

use std::ops::Range;

/// Spans of at most this many elements are scanned, larger ones have a
/// list (docs/BENCHMARKS.md, "Ranked suggestions").
pub const SCAN_ROWS: usize = 1024;
/// Rows in the list of the largest spans.
pub const LIST_ROWS: usize = 1024;

/// Rows in the list of a span of `span` elements: an eighth of it, up to
/// [`LIST_ROWS`]. Most spans with lists are just above [`SCAN_ROWS`]; an
/// eighth keeps all the lists within two bytes a row, and a query past
/// a list's end scans a span that is small, or rarely paged so deep.
pub fn list_rows(span: usize) -> usize {
    (span / 8).clamp(1, LIST_ROWS)
}

/// The sort key of a row of score `score`: larger ranks first; equal
/// scores rank by row.
pub fn rank_key(score: u32, row: u32) -> u64 {
    (u64::from(score) << 32) | u64::from(u32::MAX - row)
}

/// The row of a [`rank_key`].
pub fn row_of_key(key: u64) -> u32 {
    u32::MAX - key as u32
}

fn u32_at(bytes: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("four bytes"))
}

/// Which elements a span counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Rows, under a title prefix.
    Rows,
    /// Positions in `folded.u32`, under a folded prefix.
    Folded,
}

/// What a ranked listing leaves out besides the span's edges: the rows a
/// filter refuses (`keep`, say a namespace), and keys known to belong only
/// to refused rows (`skip`: prefixes of the domain's keys, e.g. `Talk:`
/// when only the main namespace is wanted), whose spans a scan passes over
/// instead of refusing them one by one. `skip` is only a shortcut: `keep`
/// must refuse those rows too.
#[derive(Clone, Copy, Default)]
pub struct Filter<'a> {
    /// Rows kept; all when `None`.
    pub keep: Option<&'a (dyn Fn(u32) -> bool + Sync)>,
    /// Key prefixes whose elements `keep` refuses.
    pub skip: &'a [String],
}

/// The score column and the ranked lists, validated once.
pub struct Ranking<D> {
    scores: D,
    lists: D,
    pages: usize,
    /// Directory entries of the two domains' lists.
    exact: Range<usize>,
    folded: Range<usize>,
}

impl<D: AsRef<[u8]>> Ranking<D> {
    /// Checks the shapes of `scores.u16` and `ranked.u32` for an index of
    /// `pages` rows.
    pub fn new(scores: D, lists: D, pages: u64) -> Result<Ranking<D>, String> {
        let pages = usize::try_from(pages).map_err(|_| "too many pages".to_string())?;
        let s = scores.as_ref();
        if s.len() < pages * 2 || !(s.len() - pages * 2).is_multiple_of(8) {
            return Err(format!("scores.u16 holds {} bytes, not {pages} scores and whole pairs", s.len()));
        }
        let l = lists.as_ref();
        if l.len() < 8 || !l.len().is_multiple_of(4) {
            return Err("ranked.u32 is too short".into());
        }
        let (n_exact, n_folded) = (u32_at(l, 0) as usize, u32_at(l, 1) as usize);
        let entries = n_exact.checked_add(n_folded).ok_or("ranked.u32: impossible list counts")?;
        let rows_at = entries
            .checked_mul(4)
            .and_then(|n| n.checked_add(2))
            .ok_or("ranked.u32: impossible list counts")?;
        if rows_at > l.len() / 4 {
            return Err("ranked.u32: its directory runs past its end".into());
        }
        let rows_total = l.len() / 4 - rows_at;
        for e in 0..entries {
            let at = 2 + e * 4;
            let (lo, hi, offset, len) = (
                u32_at(l, at) as usize,
                u32_at(l, at + 1) as usize,
                u32_at(l, at + 2) as usize,
                u32_at(l, at + 3) as usize,
            );
            if lo >= hi
                || hi > pages
                || len > hi - lo
                || offset.checked_add(len).is_none_or(|end| end > rows_total)
            {
                return Err(format!("ranked.u32: list {e} is out of bounds"));
            }
        }
        Ok(Ranking { scores, lists, pages, exact: 0..n_exact, folded: n_exact..entries })
    }

    /// The two files' payloads, for checksums.
    pub fn data(&self) -> (&D, &D) {
        (&self.scores, &self.lists)
    }

    /// The score of `row`.
    pub fn score(&self, row: u32) -> u32 {
        let s = self.scores.as_ref();
        let i = row as usize * 2;
        // A row past the end (only from a damaged list) scores nothing.
        let Some(&[a, b]) = s
            .get(i..i + 2)
            .filter(|_| i < self.pages * 2)
            .map(|b| <&[u8; 2]>::try_from(b).expect("two bytes"))
        else {
            return 0;
        };
        let short = u16::from_le_bytes([a, b]);
        if short < u16::MAX {
            return u32::from(short);
        }
        // A saturated score: its exact value is among the pairs after the
        // column, sorted by row.
        let pairs = &s[self.pages * 2..];
        let n = pairs.len() / 8;
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match u32_at(pairs, mid * 2).cmp(&row) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return u32_at(pairs, mid * 2 + 1),
            }
        }
        u32::from(u16::MAX)
    }

    /// The [`rank_key`] of `row`.
    pub fn key(&self, row: u32) -> u64 {
        rank_key(self.score(row), row)
    }

    /// The list of the span `lo..hi` of `domain`, if it has one: its rows
    /// (u32 LE), best first, and whether they are all of the span's.
    fn list(&self, domain: Domain, span: &Range<u32>) -> Option<(&[u8], bool)> {
        let l = self.lists.as_ref();
        let entries = match domain {
            Domain::Rows => self.exact.clone(),
            Domain::Folded => self.folded.clone(),
        };
        let entry = |e: usize| (u32_at(l, 2 + e * 4), u32_at(l, 3 + e * 4));
        let (mut lo, mut hi) = (entries.start, entries.end);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match entry(mid).cmp(&(span.start, span.end)) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let rows_at = 2 + (self.exact.len() + self.folded.len()) * 4;
                    let (offset, len) = (u32_at(l, 4 + mid * 4) as usize, u32_at(l, 5 + mid * 4) as usize);
                    let rows = &l[(rows_at + offset) * 4..(rows_at + offset + len) * 4];
                    return Some((rows, len == (span.end - span.start) as usize));
                }
            }
        }
        None
    }

    /// The `count` highest-scored rows of the whole index, best first.
    pub fn top(&self, count: usize) -> Vec<u32> {
        let mut best: Vec<u64> = Vec::with_capacity(count + 1);
        for row in 0..self.pages as u32 {
            let key = self.key(row);
            if best.len() < count || key > best[best.len() - 1] {
                let at = best.partition_point(|&k| k > key);
                best.insert(at, key);
                best.truncate(count);
            }
        }
        best.into_iter().map(row_of_key).collect()
    }
}

/// The rows of a span in rank order, fetched as they are asked for; see
/// [`crate::Index::ranked_prefix`].
pub struct RankedRows<'a, D> {
    ranking: &'a Ranking<D>,
    /// `folded.u32`, for the folded domain.
    postings: Option<&'a [u8]>,
    domain: Domain,
    span: Range<u32>,
    /// Rows left out (the exact matches, when listing folded ones).
    exclude: Range<u32>,
    /// Rows kept, when a filter (a namespace) leaves some out: applied
    /// inside the scans, so a filter that keeps few rows costs one pass
    /// over the span, not one per batch.
    keep: Option<&'a (dyn Fn(u32) -> bool + Sync)>,
    /// Parts of the span a scan passes over ([`Filter::skip`]), ascending
    /// and disjoint.
    skip: Vec<Range<u32>>,
    /// Rows ranked so far and not yet handed out, best last.
    ready: Vec<u32>,
    /// The key of the last row fetched: later rows rank below it.
    below: u64,
    /// The list has been looked up.
    list_read: bool,
    /// What is left of the span's list, and whether it holds the whole span.
    list: Option<(&'a [u8], bool)>,
    /// Nothing ranks below `below`.
    exhausted: bool,
    /// Rows to fetch by the next scan.
    batch: usize,
}

impl<'a, D: AsRef<[u8]>> RankedRows<'a, D> {
    /// The elements `span` of `domain`, in rank order, after the row of
    /// key `after` (all of them when `None`), leaving out rows in
    /// `exclude` and those `keep` refuses (and not scanning `skip`, parts of
    /// the span it refuses whole); `want` is how many the caller expects to
    /// take.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        ranking: &'a Ranking<D>,
        postings: Option<&'a [u8]>,
        domain: Domain,
        span: Range<u32>,
        exclude: Range<u32>,
        keep: Option<&'a (dyn Fn(u32) -> bool + Sync)>,
        skip: Vec<Range<u32>>,
        after: Option<u64>,
        want: usize,
    ) -> RankedRows<'a, D> {
        RankedRows {
            ranking,
            postings,
            domain,
            span,
            exclude,
            keep,
            skip,
            ready: Vec::new(),
            below: after.unwrap_or(u64::MAX),
            list_read: false,
            list: None,
            exhausted: false,
            batch: want.clamp(16, 4096),
        }
    }

    /// The span ranked.
    pub fn span(&self) -> Range<u32> {
        self.span.clone()
    }

    fn element(&self, i: u32) -> u32 {
        match self.postings {
            Some(p) => u32_at(p, i as usize),
            None => i,
        }
    }

    /// Fills `ready` with the next rows, from the list or a scan.
    fn refill(&mut self) {
        let ranking = self.ranking;
        if !self.list_read {
            self.list_read = true;
            if let Some((rows, complete)) = ranking.list(self.domain, &self.span) {
                // Where rows rank below `below`: the whole list on a first
                // page, without reading any score.
                let (mut lo, mut hi) = (0, if self.below == u64::MAX { 0 } else { rows.len() / 4 });
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if ranking.key(u32_at(rows, mid)) >= self.below { lo = mid + 1 } else { hi = mid }
                }
                self.list = Some((&rows[lo * 4..], complete));
            }
        }
        while let Some((rest, complete)) = self.list {
            if rest.is_empty() {
                self.list = None;
                if complete {
                    self.exhausted = true;
                    return;
                }
                break;
            }
            let take = rest.len().min(self.batch * 4);
            self.list = Some((&rest[take..], complete));
            // (A row past the end can only come from a damaged file, which
            // the checksum pass names.)
            let pages = ranking.pages as u32;
            let rows =
                rest[..take].chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")));
            let rows: Vec<u32> = rows.filter(|&r| r < pages).collect();
            if let Some(&last) = rows.last() {
                self.below = ranking.key(last);
            }
            let wanted: Vec<u32> = rows.into_iter().rev().filter(|&r| self.wanted(r)).collect();
            self.ready.extend(wanted);
            if !self.ready.is_empty() {
                return;
            }
        }
        self.scan();
    }

    /// The span less its `skip` parts, in order.
    fn pieces(&self) -> Vec<Range<u32>> {
        let mut pieces = Vec::with_capacity(self.skip.len() + 1);
        let mut at = self.span.start;
        for skip in &self.skip {
            if skip.start > at {
                pieces.push(at..skip.start.min(self.span.end));
            }
            at = at.max(skip.end);
        }
        if at < self.span.end {
            pieces.push(at..self.span.end);
        }
        pieces
    }

    /// Whether `row` may be handed out: not excluded, and kept.
    fn wanted(&self, row: u32) -> bool {
        !self.exclude.contains(&row) && self.keep.is_none_or(|keep| keep(row))
    }

    /// Scans the span for the `batch` best wanted rows ranking below
    /// `below`, in one pass whatever the batch: candidates gather in a
    /// buffer of twice the batch, cut back to the best `batch` (a
    /// selection, not a sort) each time it fills, which also raises the
    /// floor a candidate must clear.
    fn scan(&mut self) {
        let batch = self.batch;
        let mut best: Vec<u64> = Vec::with_capacity(2 * batch);
        // Keys at or below `floor` cannot make the batch (0: no floor yet).
        let mut floor = 0u64;
        let offer = |key: u64, best: &mut Vec<u64>, floor: &mut u64| {
            best.push(key);
            if best.len() == 2 * batch {
                best.select_nth_unstable_by(batch - 1, |a, b| b.cmp(a));
                best.truncate(batch);
                *floor = best[batch - 1];
            }
        };
        for piece in self.pieces() {
            match self.postings {
                None => {
                    // Rows: the piece of the score column, read in place;
                    // an element whose short score is below the floor's is
                    // passed over on one comparison.
                    let scores = self.ranking.scores.as_ref();
                    let column = &scores[piece.start as usize * 2..piece.end as usize * 2];
                    for (j, pair) in column.chunks_exact(2).enumerate() {
                        let short = u16::from_le_bytes([pair[0], pair[1]]);
                        if short != u16::MAX && u64::from(short) < floor >> 32 {
                            continue;
                        }
                        let row = piece.start + j as u32;
                        let score =
                            if short == u16::MAX { self.ranking.score(row) } else { u32::from(short) };
                        let key = rank_key(score, row);
                        if key >= self.below || key <= floor || !self.wanted(row) {
                            continue;
                        }
                        offer(key, &mut best, &mut floor);
                    }
                }
                Some(_) => {
                    for i in piece {
                        let row = self.element(i);
                        let key = self.ranking.key(row);
                        if key >= self.below || key <= floor || !self.wanted(row) {
                            continue;
                        }
                        offer(key, &mut best, &mut floor);
                    }
                }
            }
        }
        best.sort_unstable_by(|a, b| b.cmp(a));
        best.truncate(batch);
        if best.len() < batch {
            self.exhausted = true;
        }
        if let Some(&last) = best.last() {
            self.below = last;
        }
        self.ready.extend(best.into_iter().rev().map(row_of_key));
        self.batch = (self.batch * 2).min(1 << 16);
    }
}

impl<D: AsRef<[u8]>> Iterator for RankedRows<'_, D> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.ready.is_empty() && !self.exhausted {
            self.refill();
        }
        self.ready.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_score_then_row() {
        assert!(rank_key(2, 9) > rank_key(1, 0));
        assert!(rank_key(1, 3) > rank_key(1, 4));
        assert_eq!(row_of_key(rank_key(77, 12345)), 12345);
    }

    fn ranking(scores: &[u32]) -> Ranking<Vec<u8>> {
        let mut s = Vec::new();
        for &v in scores {
            s.extend_from_slice(&(v.min(65535) as u16).to_le_bytes());
        }
        for (row, &v) in scores.iter().enumerate() {
            if v >= 65535 {
                s.extend_from_slice(&(row as u32).to_le_bytes());
                s.extend_from_slice(&v.to_le_bytes());
            }
        }
        Ranking::new(s, vec![0; 8], scores.len() as u64).unwrap()
    }

    #[test]
    fn saturated_scores_read_back_exactly() {
        let r = ranking(&[3, 70_000, 65_535, 0, 1 << 30]);
        assert_eq!((0..5).map(|row| r.score(row)).collect::<Vec<_>>(), [3, 70_000, 65_535, 0, 1 << 30]);
        assert_eq!(r.top(3), [4, 1, 2]);
    }

    #[test]
    fn a_scan_pages_through_every_row_once_in_rank_order() {
        let scores: Vec<u32> = (0..10_000u32).map(|i| (i * 7919) % 101).collect();
        let r = ranking(&scores);
        let mut expected: Vec<u32> = (100..9_000).filter(|row| !(500..600).contains(row)).collect();
        expected.sort_by_key(|&row| std::cmp::Reverse(r.key(row)));
        let all: Vec<u32> =
            RankedRows::new(&r, None, Domain::Rows, 100..9_000, 500..600, None, Vec::new(), None, 10)
                .collect();
        assert_eq!(all, expected);
        let after = r.key(expected[4321]);
        let rest: Vec<u32> =
            RankedRows::new(&r, None, Domain::Rows, 100..9_000, 500..600, None, Vec::new(), Some(after), 7)
                .collect();
        assert_eq!(rest, expected[4322..]);
    }

    #[test]
    fn a_long_scan_with_saturated_scores_and_ties_pages_as_a_sort_does() {
        // Mostly 0 and 1, some higher, a few saturated: many ties at the floor.
        let scores: Vec<u32> = (0..100_000u32)
            .map(|i| match i % 997 {
                0 => 70_000 + i,
                1..=3 => i % 50,
                _ => u32::from(i % 31 == 0),
            })
            .collect();
        let r = ranking(&scores);
        let span = 5..99_990;
        let mut expected: Vec<u32> = span.clone().collect();
        expected.sort_by_key(|&row| std::cmp::Reverse(r.key(row)));
        for (after, want) in
            [(None, 10), (Some(100), 10), (Some(3_200), 3), (Some(5_000), 1), (Some(50_000), 1_000)]
        {
            let after_key = after.map(|i: usize| r.key(expected[i]));
            let got: Vec<u32> = RankedRows::new(
                &r,
                None,
                Domain::Rows,
                span.clone(),
                0..0,
                None,
                Vec::new(),
                after_key,
                want,
            )
            .take(2_000)
            .collect();
            let from = after.map_or(0, |i| i + 1);
            assert_eq!(got, expected[from..(from + 2_000).min(expected.len())], "after {after:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn a_long_scan_with_many_ties_pages_as_a_sort_does(
            seed in 0u64..u64::MAX,
            levels in 1u32..6,
            after in 0usize..20_000,
            want in 1usize..40,
        ) {
            // Scores of a few levels, so that most keys tie on score.
            let mut x = seed | 1;
            let scores: Vec<u32> = (0..20_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % u64::from(levels)) as u32 * (x >> 60 == 0) as u32 + (x % 997 == 0) as u32 * 9
                })
                .collect();
            let r = ranking(&scores);
            let mut expected: Vec<u32> = (0..20_000).collect();
            expected.sort_by_key(|&row| std::cmp::Reverse(r.key(row)));
            let got: Vec<u32> =
                RankedRows::new(&r, None, Domain::Rows, 0..20_000, 0..0, None, Vec::new(), Some(r.key(expected[after])), want)
                    .take(60)
                    .collect();
            let from = after + 1;
            proptest::prop_assert_eq!(&got[..], &expected[from..(from + 60).min(expected.len())]);
        }
    }

    #[test]
    fn a_filtered_scan_keeps_rank_order_for_any_batch() {
        let scores: Vec<u32> = (0..20_000u32).map(|i| (i * 7919) % 997).collect();
        let r = ranking(&scores);
        // Rows 0..20_000 less 10..20, as `keep` filters them and skipping
        // `skip`, after `after`, sized for `want`.
        let rows = |keep: &(dyn Fn(u32) -> bool + Sync), skip: &[Range<u32>], after, want| -> Vec<u32> {
            RankedRows::new(&r, None, Domain::Rows, 0..20_000, 10..20, Some(keep), skip.to_vec(), after, want)
                .collect()
        };
        let keep = |row: u32| row.is_multiple_of(3);
        let mut expected: Vec<u32> =
            (0..20_000).filter(|&row| keep(row) && !(10..20).contains(&row)).collect();
        expected.sort_by_key(|&row| std::cmp::Reverse(r.key(row)));
        // Small and large batches: the buffer is cut back many times, or never.
        for want in [1, 10, 5_000, 100_000] {
            assert_eq!(rows(&keep, &[], None, want), expected, "want {want}");
        }
        assert_eq!(rows(&keep, &[], Some(r.key(expected[777])), 3), expected[778..]);
        // Skipping parts the filter refuses whole changes nothing.
        let outside = |row: u32| keep(row) && !(5_000..9_000).contains(&row) && row < 19_000;
        let mut want_outside = expected.clone();
        want_outside.retain(|&row| outside(row));
        let skips: [&[Range<u32>]; 2] =
            [&[5_000..7_000, 7_000..9_000], &[0..0, 5_000..6_000, 6_000..9_000, 19_000..25_000]];
        for skip in skips {
            assert_eq!(rows(&outside, skip, None, 10), want_outside, "skip {skip:?}");
        }
        // A filter that keeps nothing ends the rows.
        assert!(rows(&|_| false, &[], None, 10).is_empty());
    }
}
