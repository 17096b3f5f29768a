//! Folding titles for case- and accent-insensitive matching.
//!
//! The rule, applied to titles at index time and to queries at search time:
//!
//! 1. Unicode full default case folding (`CaseFolding.txt`, statuses C and
//!    F; not the Turkic T mappings): `PYTHON` → `python`, `ß` → `ss`,
//!    `Σ`/`ς` → `σ`, `İ` → `i̇`.
//! 2. NFKD decomposition: `é` → `e` + U+0301, `ﬁ` → `fi`, `²` → `2`.
//! 3. Removal of combining marks (Unicode general category M): `e` + U+0301
//!    → `e`, and `i̇` → `i`.
//!
//! So `Zürich`, `ZURICH` and `zurich` fold alike; `İstanbul` folds to
//! `istanbul`; the dotless `ı` stays `ı` (it has no default case folding to
//! `i`), so `Işık` folds to `işık` → `isık`, documented rather than guessed.

use caseless::Caseless;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Folds `s` by the rule above.
///
/// ```
/// use wikidex_indexer::fold::fold;
/// assert_eq!(fold("Zürich"), "zurich");
/// assert_eq!(fold("STRASSE"), fold("Straße"));
/// assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("Οδυσσευς"));
/// assert_eq!(fold("İstanbul"), "istanbul");
/// ```
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Appends the fold of `s` to `out` (the allocation-free form of [`fold`],
/// for the indexer's hot loop).
///
/// ```
/// use wikidex_indexer::fold::fold_into;
/// let mut out = String::from("> ");
/// fold_into("Ångström", &mut out);
/// assert_eq!(out, "> angstrom");
/// ```
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return;
    }
    // One character at a time. NFKD of a string is its characters'
    // decompositions with runs of non-starters (canonical combining class
    // > 0) reordered; every non-starter is a combining mark (a unit test
    // checks this over all of Unicode) and step 3 drops them all, so the
    // reordering never shows and per-character decomposition gives the same
    // string as whole-string NFKD, without its buffering.
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        for f in std::iter::once(c).default_case_fold() {
            decompose_compatible(f, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn the_documented_rule() {
        for (a, b) in [
            ("Python", "python"),
            ("PYTHON", "python"),
            ("pythön", "python"),
            ("Zürich", "zurich"),
            ("Straße", "strasse"),
            ("ΣΊΣΥΦΟΣ", "σισυφοσ"),
            ("σίσυφος", "σισυφοσ"),
            ("İzmir", "izmir"),
            ("Işık", "isık"),
            ("ﬁne", "fine"),
            ("Ångström", "angstrom"),
            ("東京", "東京"),
            ("AT&T", "at&t"),
        ] {
            assert_eq!(fold(a), b, "{a}");
        }
    }

    /// The rule as written: whole-string case fold, NFKD, marks removed.
    fn reference(s: &str) -> String {
        use caseless::Caseless;
        use unicode_normalization::UnicodeNormalization;
        s.chars()
            .default_case_fold()
            .nfkd()
            .filter(|&c| !unicode_normalization::char::is_combining_mark(c))
            .collect()
    }

    /// What makes per-character folding equal to whole-string NFKD.
    #[test]
    fn every_non_starter_is_a_combining_mark() {
        use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            if canonical_combining_class(c) != 0 {
                assert!(is_combining_mark(c), "U+{:04X} is a non-starter but not a mark", c as u32);
            }
        }
    }

    #[test]
    fn every_character_folds_as_the_reference() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = format!("A{c}\u{301}b{c}");
            assert_eq!(fold(&s), reference(&s), "U+{:04X}", c as u32);
        }
    }

    proptest::proptest! {
        #[test]
        fn strings_fold_as_the_reference(s in "\\PC{0,24}") {
            proptest::prop_assert_eq!(fold(&s), reference(&s));
        }

        #[test]
        fn marks_and_letters_fold_as_the_reference(
            s in "[a-zA-Z\u{300}-\u{36F}\u{345}\u{1DC0}-\u{1DFF}ÅåßİıΣς\u{FB00}-\u{FB06}\u{AC00}-\u{AC10}]{0,16}"
        ) {
            proptest::prop_assert_eq!(fold(&s), reference(&s));
        }
    }
}
