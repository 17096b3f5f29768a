//! Where the keys under a prefix begin and end in an fst whose values grow
//! with its keys (`folded.fst`: positions in `folded.u32`): [`prefix_span`],
//! one walk down the prefix, for ranked and counted folded listings.
//!
//! `fst`'s own range streams would find the same two values by descending
//! to the first key under the prefix and to the first after it, a node per
//! byte past the prefix each; this walk stops at the prefix's end, and
//! decodes fst's "one transition, next" states inline. The property test
//! below checks it against `fst`'s streams.

use fst::raw::Fst;

/// Where the keys starting with `prefix` begin and end, for a map whose
/// values increase with its keys (`folded.fst`: first positions in
/// `folded.u32`): the value of the first key with the prefix, and the
/// value of the first key after all of them (`None` when none follows).
/// `None` when no key starts with `prefix`.
///
/// One walk down `prefix` and no descent: fst's builder leaves on each
/// transition the least output of the keys below it (for `u64` outputs the
/// common prefix of two outputs is their minimum), so with increasing
/// values the output accumulated down to a node is its first key's value.
/// That gives the first value at the end of the walk, and the next one at
/// the deepest branch to the walk's right. The property test below checks
/// both against `fst`'s own streams on arbitrary key sets.
pub(crate) fn prefix_span<D: AsRef<[u8]>>(fst: &Fst<D>, prefix: &[u8]) -> Option<(u64, Option<u64>)> {
    // A node the walk reaches has a key below it (fst keeps no dead ends),
    // unless the map is empty and the prefix too.
    if fst.is_empty() {
        return None;
    }
    walk(fst, prefix).map(|w| (w.out, w.right))
}

/// Where a walk down a prefix from the root ended ([`walk`]).
struct Walk {
    /// The output accumulated down to the prefix's node.
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
    Some(Walk { out, right })
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
    use fst::{IntoStreamer, Map, Streamer};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn map_of(keys: &BTreeSet<Vec<u8>>) -> Map<Vec<u8>> {
        // Increasing values with gaps, like folded.fst's positions.
        Map::from_iter(keys.iter().enumerate().map(|(i, k)| (k.clone(), (i * 3) as u64))).unwrap()
    }

    #[test]
    fn spans_at_and_around_keys() {
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
        for (i, k) in keys.iter().enumerate() {
            let span = super::prefix_span(fst, k).expect("a key's span");
            assert_eq!(span.0, i as u64 * 3, "{k:?}");
        }
    }

    proptest! {
        #[test]
        fn spans_match_fst_range_streams(
            keys in prop::collection::btree_set(prop::collection::vec(prop::sample::select(b"abcAB\xc3\x00\xff".to_vec()), 1..7), 0..60),
            bound in prop::collection::vec(prop::sample::select(b"abcAB\xc3\x00\xff".to_vec()), 0..8),
        ) {
            let map = map_of(&keys);
            let mut under = map.range().ge(&bound).into_stream();
            let first = match under.next() {
                Some((k, v)) if k.starts_with(&bound) => Some(v),
                _ => None,
            };
            let next = keys.iter().position(|k| k.as_slice() > bound.as_slice() && !k.starts_with(&bound));
            prop_assert_eq!(
                super::prefix_span(map.as_fst(), &bound),
                first.map(|first| (first, next.map(|i| (i * 3) as u64)))
            );
        }
    }
}
