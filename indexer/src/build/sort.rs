//! Sorting records by a byte string they refer to (a title in a chunk
//! arena, a folded title), eight bytes at a time.
//!
//! A comparison sort fetches both strings on every comparison that the
//! first eight bytes do not decide: titles sharing a prefix such as
//! `List of ` (59,023 of 600,000 in the benchmark dump) cost two cache
//! misses per comparison, about log2(n) times per record. Here records are
//! sorted by their first eight bytes (a key the record carries), then each
//! run of equal keys is sorted by the next eight bytes, fetched once per
//! record and level into a small side array, and so on: a most-significant-
//! digit radix sort with eight-byte digits and comparison sorts of the digits.

use rayon::prelude::*;
use std::cmp::Ordering;

/// How [`ByString`] sees the records' strings, and orders equal ones.
pub(super) struct ByString<L, W, C> {
    /// A record's string length in bytes.
    pub len: L,
    /// A record's string bytes `at..at + 8`, big-endian, zero-padded past
    /// its end. At 0 it should read a field of the record: the first pass
    /// calls it on every comparison.
    pub word: W,
    /// The order of records with equal strings.
    pub tie: C,
}

impl<L, W, C> ByString<L, W, C> {
    /// Sorts `items` by their strings' bytes, equal strings by `tie`. Byte
    /// order holds even for strings with NUL bytes: among strings whose
    /// padded words are all equal, the shorter comes first.
    pub(super) fn sort<T: Send>(&self, items: &mut [T])
    where
        L: Fn(&T) -> usize + Sync,
        W: Fn(&T, usize) -> u64 + Sync,
        C: Fn(&T, &T) -> Ordering + Sync,
    {
        items.par_sort_unstable_by_key(|t| (self.word)(t, 0));
        items
            .par_chunk_by_mut(|a, b| (self.word)(a, 0) == (self.word)(b, 0))
            .for_each(|run| self.refine(run, 8));
    }

    /// Sorts `run`, whose strings agree on their first `at` bytes (padding
    /// included).
    fn refine<T>(&self, run: &mut [T], at: usize)
    where
        L: Fn(&T) -> usize,
        W: Fn(&T, usize) -> u64,
        C: Fn(&T, &T) -> Ordering,
    {
        if run.len() < 2 {
            return;
        }
        if run.iter().all(|t| (self.len)(t) <= at) {
            // Equal up to where each ends: shorter (a prefix padded with
            // what can only be NULs) first, then by `tie`.
            run.sort_unstable_by(|a, b| (self.len)(a).cmp(&(self.len)(b)).then_with(|| (self.tie)(a, b)));
            return;
        }
        let mut order: Vec<(u64, u32)> =
            run.iter().enumerate().map(|(i, t)| ((self.word)(t, at), i as u32)).collect();
        order.sort_unstable();
        permute(run, &mut order);
        for range in runs_of(&order) {
            self.refine(&mut run[range], at + 8);
        }
    }
}

/// The ranges of equal words in sorted `order`.
fn runs_of(order: &[(u64, u32)]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= order.len() {
            return None;
        }
        let end = start + order[start..].iter().take_while(|o| o.0 == order[start].0).count();
        let range = start..end;
        start = end;
        Some(range)
    })
}

/// Reorders `run` so that `run[k]` becomes the old `run[order[k].1]`, in
/// place (following the permutation's cycles); `order`'s indices are
/// consumed, its words kept.
fn permute<T>(run: &mut [T], order: &mut [(u64, u32)]) {
    const DONE: u32 = u32::MAX;
    for start in 0..run.len() {
        if order[start].1 == DONE {
            continue;
        }
        // Walk the cycle through `start`: slot k takes the element at
        // order[k].1, by swapping it along.
        let mut k = start;
        loop {
            let from = order[k].1 as usize;
            order[k].1 = DONE;
            if from == start {
                break;
            }
            run.swap(k, from);
            k = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Rec {
        s: Vec<u8>,
        id: u32,
    }

    fn check(strings: Vec<Vec<u8>>) {
        let mut recs: Vec<Rec> =
            strings.into_iter().enumerate().map(|(i, s)| Rec { s, id: i as u32 }).collect();
        let mut want = recs.clone();
        want.sort_by(|a, b| a.s.cmp(&b.s).then(a.id.cmp(&b.id)));
        ByString {
            len: |r: &Rec| r.s.len(),
            word: |r: &Rec, at| crate::scan::word_at(&r.s, at),
            tie: |a: &Rec, b: &Rec| a.id.cmp(&b.id),
        }
        .sort(&mut recs);
        assert_eq!(recs, want);
    }

    #[test]
    fn shared_prefixes_nuls_and_duplicates() {
        let s = |x: &str| x.as_bytes().to_vec();
        check(vec![
            s("List of rivers"),
            s("List of lakes"),
            s("List of "),
            s("List of"),
            s("List of rivers"),
            s("List of rivers of Europe"),
            b"List of\0".to_vec(),
            b"List of \0\0\0\0\0\0\0\0x".to_vec(),
            b"List of \0\0\0\0\0\0\0\0".to_vec(),
            s("A"),
            s(""),
            s("Apollo \"Awesome\" \"Awesome\""),
            s("Apollo \"Awesome\" A&M"),
        ]);
    }

    proptest! {
        #[test]
        fn sorts_as_a_comparison_sort(
            strings in prop::collection::vec(
                prop::collection::vec(prop::sample::select(b"ab\0\xff".to_vec()), 0..30), 0..200)
        ) {
            check(strings);
        }
    }
}
