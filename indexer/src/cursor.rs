//! Walking `titles.fst` for listings: [`prefix_span`], where a prefix's
//! rows begin and end (for listings copied from `rows.jsf`),
//! [`first_with_prefix`], the first row of a prefix (which the title column
//! reads on from), and [`KeyCursor`], an fst's keys in byte order from a
//! lower bound (for `after=`, and for indexes without a title column).
//!
//! `fst`'s own range stream is general (any automaton, upper bounds) and
//! pays for it on every step: it copies a ~100-byte state per node twice,
//! and a new stream grows its stack and key buffers from nothing. A prefix
//! listing needs only "the next key and its value", so this cursor keeps
//! a frame only for the nodes on the current key's path that still have
//! transitions to take (a key's tail is a chain of one-transition nodes,
//! walked without frames), sizes its buffers once, and stops as soon as
//! the keys leave the prefix instead of walking to the next key.
//! Profiled under load, the fst stream was a large share of `/offsets`'
//! instructions; this cursor, and decoding fst's "one transition, next"
//! states inline, are measured in `docs/BENCHMARKS.md` ("Other changes
//! measured": the fst cursor). The
//! property tests below check it against `fst`'s `range().ge()/gt()`
//! streams key for key.

use fst::raw::{Fst, Node};

/// A node on the current key's path that still has transitions to take: the
/// node, the next transition to take from it, the output accumulated up to
/// it and the key length there. Nodes with nothing left to take are not
/// kept, so the common tail of a key (a chain of one-transition nodes)
/// costs no frames.
#[derive(Clone, Copy)]
struct Frame<'f> {
    node: Node<'f>,
    next: usize,
    out: u64,
    depth: usize,
}

/// The keys of an fst, in byte order, starting at a bound: for a prefix
/// listing, `KeyCursor::new(map.as_fst(), b"Pyth", true, 4)`, then `next()`
/// until it returns `None` (see `Index::prefix`).
pub(crate) struct KeyCursor<'f, D: AsRef<[u8]>> {
    fst: &'f Fst<D>,
    stack: Vec<Frame<'f>>,
    key: Vec<u8>,
    /// The value of the bound itself, when it is a key and the bound is
    /// inclusive: returned first.
    pending: Option<u64>,
    /// Frames shallower than this are never resumed: the keys past them
    /// differ from the bound in its first `floor` bytes.
    floor: usize,
}

impl<'f, D: AsRef<[u8]>> KeyCursor<'f, D> {
    /// A cursor at the first key `>= bound` (`inclusive`) or `> bound`
    /// that ends after the last key sharing the bound's first `floor` bytes
    /// (`floor` 0: the last key of the fst). For a prefix listing,
    /// `floor` is the prefix's length, and the bound starts with the prefix
    /// or is past every key that does.
    pub(crate) fn new(fst: &'f Fst<D>, bound: &[u8], inclusive: bool, floor: usize) -> KeyCursor<'f, D> {
        // Frames above the floor are never resumed, so they are not kept;
        // a listing's stack then stays small (a few hundred bytes).
        let mut stack = Vec::with_capacity(8);
        let mut key = Vec::with_capacity(64);
        let mut node = fst.root();
        let mut out = 0u64;
        for (depth, &b) in bound.iter().enumerate() {
            match node.find_input(b) {
                Some(i) => {
                    let t = node.transition(i);
                    if depth >= floor {
                        stack.push(Frame { node, next: i + 1, out, depth });
                    }
                    key.push(b);
                    out += t.out.value();
                    node = fst.node(t.addr);
                }
                None => {
                    // Every key below the first transition past `b` is
                    // greater than the bound; the ones before are smaller.
                    let next = (0..node.len()).find(|&i| node.transition(i).inp > b).unwrap_or(node.len());
                    if depth >= floor {
                        stack.push(Frame { node, next, out, depth });
                    }
                    return KeyCursor { fst, stack, key, pending: None, floor };
                }
            }
        }
        // The whole bound is a path: it may be a key itself, and every key
        // below it is greater.
        let pending = (inclusive && node.is_final()).then(|| out + node.final_output().value());
        stack.push(Frame { node, next: 0, out, depth: bound.len() });
        KeyCursor { fst, stack, key, pending, floor }
    }

    /// The next key and its value.
    pub(crate) fn next(&mut self) -> Option<(&[u8], u64)> {
        if let Some(value) = self.pending.take() {
            return Some((&self.key, value));
        }
        // The deepest node with a transition left to take.
        let top = loop {
            let top = self.stack.last_mut()?;
            if top.depth < self.floor {
                self.stack.clear();
                return None;
            }
            if top.next < top.node.len() {
                break top;
            }
            self.stack.pop();
        };
        let t = top.node.transition(top.next);
        top.next += 1;
        let (mut depth, mut out) = (top.depth, top.out + t.out.value());
        if top.next == top.node.len() {
            // Nothing left here once this transition is taken.
            self.stack.pop();
        }
        self.key.truncate(depth);
        let mut addr = t.addr;
        let mut input = t.inp;
        // Down to the smallest key below: the first transition each time.
        let bytes = self.fst.as_bytes();
        loop {
            self.key.push(input);
            depth += 1;
            if let Some((next_input, next_addr)) = one_trans_next(bytes, addr) {
                // Not final, one transition, no output: no node to build.
                input = next_input;
                addr = next_addr;
                continue;
            }
            let node = self.fst.node(addr);
            if node.is_final() {
                if !node.is_empty() {
                    self.stack.push(Frame { node, next: 0, out, depth });
                }
                return Some((&self.key, out + node.final_output().value()));
            }
            if node.is_empty() {
                // Only a damaged fst has a non-final node with no way on.
                self.stack.clear();
                return None;
            }
            let t = node.transition(0);
            if node.len() > 1 {
                self.stack.push(Frame { node, next: 1, out, depth });
            }
            out += t.out.value();
            addr = t.addr;
            input = t.inp;
        }
    }
}

/// The node at the end of `prefix` and the output accumulated on the way,
/// or `None` if no key starts with `prefix` (an empty fst still has its
/// root, at the empty prefix).
///
/// The output is a lower bound on the value of every key below (outputs
/// are non-negative), and for a map built by fst's builder from values that
/// grow with the keys, as `titles.fst`, it is exactly the value of the first
/// key below: the builder leaves each key's output at the transition where
/// the key branches off the keys before it, and the first key with a prefix
/// branches off inside the prefix. A listing reads that row from the title
/// column and checks that its title has the prefix; [`first_below`] is the
/// fallback that needs no such assumption.
pub(crate) fn descend<D: AsRef<[u8]>>(fst: &Fst<D>, prefix: &[u8]) -> Option<(usize, u64)> {
    walk(fst, prefix).map(|w| (w.addr, w.out))
}

/// Where a walk down a prefix from the root ended ([`walk`]).
struct Walk {
    /// The node the prefix leads to.
    addr: usize,
    /// The output accumulated down to it.
    out: u64,
    /// At the deepest node on the way with a transition to the right of the
    /// one taken: the output accumulated down that transition.
    right: Option<u64>,
}

/// Follows `prefix` from the root; `None` if no key starts with it.
fn walk<D: AsRef<[u8]>>(fst: &Fst<D>, prefix: &[u8]) -> Option<Walk> {
    let bytes = fst.as_bytes();
    let mut addr = fst.root().addr();
    let (mut out, mut right) = (0u64, None);
    for &b in prefix {
        if let Some((input, next)) = one_trans_next(bytes, addr) {
            if input != b {
                return None;
            }
            addr = next;
            continue;
        }
        let node = fst.node(addr);
        let i = node.find_input(b)?;
        if i + 1 < node.len() {
            right = Some(out + node.transition(i + 1).out.value());
        }
        let t = node.transition(i);
        out += t.out.value();
        addr = t.addr;
    }
    Some(Walk { addr, out, right })
}

/// A listing's start: `at(row)` for the first row with `prefix`. Tries the
/// output along the prefix first (see [`descend`]); if `at` refuses it (a
/// map whose outputs sit elsewhere), the descent to the first key.
pub(crate) fn first_with_prefix<D: AsRef<[u8]>, T>(
    fst: &Fst<D>,
    prefix: &[u8],
    mut at: impl FnMut(u64) -> Option<T>,
) -> Option<T> {
    let (addr, out) = descend(fst, prefix)?;
    at(out).or_else(|| first_below(fst, addr, out).and_then(at))
}

/// Where the keys starting with `prefix` begin and end, for a map whose
/// values increase with its keys (`titles.fst`: first rows in title
/// order): the value of the first key with the prefix, and the value of the
/// first key after all of them (`None` when none follows). `None` when no
/// key starts with `prefix`. With the map's rows in title order, that is
/// the prefix's rows, `first..next` (`Index::prefix_rows`).
///
/// One walk down `prefix` and no descent: fst's builder leaves on each
/// transition the least output of the keys below it (for `u64` outputs the
/// common prefix of two outputs is their minimum), so with increasing
/// values the output accumulated down to a node is its first key's value.
/// That gives the first row at the end of the walk, and the next row at the
/// deepest branch to the walk's right. The property test below checks both
/// against `fst`'s own streams on arbitrary key sets; decoding titles to
/// count the rows instead cost ~80 instructions a row.
pub(crate) fn prefix_span<D: AsRef<[u8]>>(fst: &Fst<D>, prefix: &[u8]) -> Option<(u64, Option<u64>)> {
    // A node the walk reaches has a key below it (fst keeps no dead ends),
    // unless the map is empty and the prefix too.
    if fst.is_empty() {
        return None;
    }
    walk(fst, prefix).map(|w| (w.out, w.right))
}

/// The value of the smallest key below the node at `addr`, reached with
/// output `out` ([`descend`]): down the first transitions to a final node.
pub(crate) fn first_below<D: AsRef<[u8]>>(fst: &Fst<D>, mut addr: usize, mut out: u64) -> Option<u64> {
    let bytes = fst.as_bytes();
    loop {
        if let Some((_, next)) = one_trans_next(bytes, addr) {
            addr = next;
            continue;
        }
        let node = fst.node(addr);
        if node.is_final() {
            return Some(out + node.final_output().value());
        }
        if node.is_empty() {
            // Only a damaged fst has a non-final node with no way on.
            return None;
        }
        let t = node.transition(0);
        out += t.out.value();
        addr = t.addr;
    }
}

/// The first 63 of `fst`'s common inputs (`raw/common_inputs.rs`,
/// `COMMON_INPUTS_INV`): a one-transition-next state stores its input as an
/// index into them when it is one of them. A test checks every byte value
/// against `fst`'s own decoding.
const COMMON_INPUTS: &[u8; 63] = b"te/oasripcnw.hlm-du012g=:bf3y5&_4v9678k%?xCDASFIBEjPTzRNM+LOqHG";

/// A key's tail is mostly a chain of `fst`'s "one transition, next" states
/// (format 2 and 3, `raw/node.rs`): a state byte `0b11_iiiiii`, the input
/// either common input `i` or, when `i` is 0, the byte before the state;
/// never final, no output, and the target is the node just below. Decoding
/// those here instead of through `Node` (a ~70-byte struct built for any
/// state) is measured in `docs/BENCHMARKS.md` ("Other changes measured":
/// one-transition states decoded inline). `None` for any other
/// state, which `Node` decodes.
#[inline]
fn one_trans_next(bytes: &[u8], addr: usize) -> Option<(u8, usize)> {
    // Address 0 is fst's empty final state, whatever byte is there.
    let state = *bytes.get(addr).filter(|_| addr != 0)?;
    if state >> 6 != 0b11 {
        return None;
    }
    match (state & 0b11_1111) as usize {
        0 => Some((*bytes.get(addr.checked_sub(1)?)?, addr.checked_sub(2)?)),
        i => Some((COMMON_INPUTS[i - 1], addr - 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::KeyCursor;
    use fst::{IntoStreamer, Map, Streamer};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn cursor_keys(map: &Map<Vec<u8>>, bound: &[u8], inclusive: bool) -> Vec<(Vec<u8>, u64)> {
        let mut c = KeyCursor::new(map.as_fst(), bound, inclusive, 0);
        let mut out = Vec::new();
        while let Some((k, v)) = c.next() {
            out.push((k.to_vec(), v));
        }
        out
    }

    fn cursor_keys_within(
        map: &Map<Vec<u8>>,
        bound: &[u8],
        inclusive: bool,
        floor: usize,
    ) -> Vec<(Vec<u8>, u64)> {
        let mut c = KeyCursor::new(map.as_fst(), bound, inclusive, floor);
        let mut out = Vec::new();
        while let Some((k, v)) = c.next() {
            out.push((k.to_vec(), v));
        }
        out
    }

    fn stream_keys(map: &Map<Vec<u8>>, bound: &[u8], inclusive: bool) -> Vec<(Vec<u8>, u64)> {
        let range = map.range();
        let mut s = if inclusive { range.ge(bound) } else { range.gt(bound) }.into_stream();
        let mut out = Vec::new();
        while let Some((k, v)) = s.next() {
            out.push((k.to_vec(), v));
        }
        out
    }

    fn map_of(keys: &BTreeSet<Vec<u8>>) -> Map<Vec<u8>> {
        // Increasing values with gaps, like titles.fst's first rows.
        Map::from_iter(keys.iter().enumerate().map(|(i, k)| (k.clone(), (i * 3) as u64))).unwrap()
    }

    #[test]
    fn bounds_at_and_around_keys() {
        let keys: BTreeSet<Vec<u8>> =
            ["A", "Ap", "Apple", "Apples", "Apricot", "B", "Ba", "Zeta", "Ångström"]
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect();
        let map = map_of(&keys);
        let fst = map.as_fst();
        let value = |k: &str| keys.iter().position(|x| x == k.as_bytes()).map(|i| (i * 3) as u64);
        for (prefix, span) in [
            ("", Some(("A", None))),
            ("A", Some(("A", Some("B")))),
            ("Ap", Some(("Ap", Some("B")))),
            ("App", Some(("Apple", Some("Apricot")))),
            ("Apple", Some(("Apple", Some("Apricot")))),
            ("Apples", Some(("Apples", Some("Apricot")))),
            ("Apples!", None),
            ("B", Some(("B", Some("Zeta")))),
            ("Ba", Some(("Ba", Some("Zeta")))),
            ("Z", Some(("Zeta", Some("Ångström")))),
            ("Å", Some(("Ångström", None))),
            ("Zz", None),
        ] {
            let want =
                span.map(|(first, next): (&str, Option<&str>)| (value(first).unwrap(), next.and_then(value)));
            assert_eq!(super::prefix_span(fst, prefix.as_bytes()), want, "{prefix:?}");
        }
        for bound in ["", "A", "Ap", "App", "Apple", "Apples!", "Aq", "C", "Zz", "\u{ff}", "Å"] {
            for inclusive in [true, false] {
                assert_eq!(
                    cursor_keys(&map, bound.as_bytes(), inclusive),
                    stream_keys(&map, bound.as_bytes(), inclusive),
                    "{bound:?} inclusive={inclusive}"
                );
            }
        }
    }

    #[test]
    fn one_trans_next_states_decode_as_fst_decodes_them_for_every_byte() {
        // Every byte value as a chain input: after `k`, then a tail unique
        // to the key, so fst lays the chain out as "one transition, next".
        let keys: BTreeSet<Vec<u8>> =
            (0..=255u8).map(|b| vec![b'k', b, b'x', b'y', b, 255 - b, b'!']).collect();
        let map = map_of(&keys);
        let fst = map.as_fst();
        let (mut seen, mut stack) = (BTreeSet::new(), vec![fst.root().addr()]);
        while let Some(addr) = stack.pop() {
            let node = fst.node(addr);
            if let Some((input, next)) = super::one_trans_next(fst.as_bytes(), addr) {
                let t = node.transition(0);
                assert_eq!((node.len(), node.is_final(), t.out.value()), (1, false, 0), "at {addr}");
                assert_eq!((input, next), (t.inp, t.addr), "at {addr}");
                seen.insert(input);
            }
            stack.extend(node.transitions().map(|t| t.addr));
        }
        assert_eq!(seen.len(), 256, "bytes never seen in such a state: the test data no longer covers them");
        assert_eq!(cursor_keys(&map, b"k", true), stream_keys(&map, b"k", true));
        for (i, k) in keys.iter().enumerate() {
            for prefix in [&k[..], &k[..4]] {
                let (addr, out) = super::descend(fst, prefix).expect("a key's prefix");
                assert_eq!((out, super::first_below(fst, addr, out)), (i as u64 * 3, Some(i as u64 * 3)));
                // Refusing the first guess falls back to the descent.
                let mut asked = Vec::new();
                let got = super::first_with_prefix(fst, prefix, |row| {
                    asked.push(row);
                    (asked.len() > 1).then_some(row)
                });
                assert_eq!((got, asked.len()), (Some(i as u64 * 3), 2));
            }
        }
    }

    proptest! {
        #[test]
        fn cursor_matches_fst_range_streams(
            keys in prop::collection::btree_set(prop::collection::vec(prop::sample::select(b"abcAB\xc3\x00\xff".to_vec()), 1..7), 0..60),
            bound in prop::collection::vec(prop::sample::select(b"abcAB\xc3\x00\xff".to_vec()), 0..8),
            inclusive: bool,
        ) {
            let map = map_of(&keys);
            prop_assert_eq!(cursor_keys(&map, &bound, inclusive), stream_keys(&map, &bound, inclusive));
            // With a floor: exactly the keys that share the bound's first
            // `floor` bytes.
            for floor in 0..=bound.len() {
                let mut expected = stream_keys(&map, &bound, inclusive);
                expected.retain(|(k, _)| k.starts_with(&bound[..floor]));
                prop_assert_eq!(cursor_keys_within(&map, &bound, inclusive, floor), expected, "floor {}", floor);
            }
            // The first key with the bound as a prefix: found by descending
            // to it, and (fst's builder leaves outputs where keys branch off)
            // already the output along the prefix.
            let first = keys.iter().position(|k| k.starts_with(&bound)).map(|i| (i * 3) as u64);
            let fst = map.as_fst();
            let below = super::descend(fst, &bound);
            prop_assert_eq!(below.and_then(|(addr, out)| super::first_below(fst, addr, out)), first);
            if !keys.is_empty() {
                prop_assert_eq!(below.map(|(_, out)| out), first);
            }
            // Where the keys with the bound as a prefix end: the first key
            // after all of them.
            let next = keys.iter().position(|k| k.as_slice() > bound.as_slice() && !k.starts_with(&bound));
            prop_assert_eq!(
                super::prefix_span(fst, &bound),
                first.map(|first| (first, next.map(|i| (i * 3) as u64)))
            );
            // Bounds that are keys, too.
            if let Some(k) = keys.iter().nth(bound.len() % keys.len().max(1)) {
                prop_assert_eq!(cursor_keys(&map, k, inclusive), stream_keys(&map, k, inclusive));
            }
        }
    }
}
