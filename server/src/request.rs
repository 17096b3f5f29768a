//! Turning raw request bytes into titles, prefixes and query parameters, and titles back into
//! URL/header-safe text. Pure functions, free of any actix type.
//!
//! This module owns:
//! - strict percent-decoding of raw (still-encoded) path text into a title ([`decode_path_title`]),
//! - form-decoding of raw query strings ([`parse_query`], [`single`]),
//! - percent-encoding of titles for `Location`/`Link` headers and URL paths ([`encode_title`]),
//! - MediaWiki's first-letter capitalisation ([`uppercase_first`]).
//!
//! "Strict" means a `%` must be followed by two hex digits ([`DecodeError::BadPercent`]) and the
//! decoded bytes must be UTF-8 ([`DecodeError::NotUtf8`]); nothing is silently passed through or
//! replaced. Handlers answer every [`DecodeError`] with 400.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// Why raw request text could not be decoded.
///
/// ```
/// use wikidex_server::request::{decode_path_title, DecodeError};
/// assert_eq!(decode_path_title("100%"), Err(DecodeError::BadPercent { at: 3 }));
/// assert_eq!(decode_path_title("%FF"), Err(DecodeError::NotUtf8));
/// ```
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// `%` not followed by two hex digits.
    #[error("`%` at byte {at} is not followed by two hex digits")]
    BadPercent {
        /// Byte offset of the offending `%` in the raw input given to the decoding function
        /// (for [`parse_query`]: in the whole query string).
        at: usize,
    },
    /// The decoded bytes are not UTF-8.
    #[error("percent-decoded text is not UTF-8")]
    NotUtf8,
    /// A query parameter repeated (e.g. two `limit`s); holds the parameter name.
    #[error("query parameter `{0}` is given more than once")]
    Repeated(String),
}

/// Bytes [`encode_title`] leaves alone: unreserved ASCII plus `/ : , ( ) ! ' *`.
const TITLE_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b':')
    .remove(b',')
    .remove(b'(')
    .remove(b')')
    .remove(b'!')
    .remove(b'\'')
    .remove(b'*');

/// Checks that every `%` in `raw` starts a `%XX` escape; `base` offsets the reported position.
fn check_percents(raw: &[u8], base: usize) -> Result<(), DecodeError> {
    let mut i = 0;
    while let Some(p) = raw[i..].iter().position(|&b| b == b'%') {
        let at = i + p;
        match raw.get(at + 1..at + 3) {
            Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i = at + 3,
            _ => return Err(DecodeError::BadPercent { at: base + at }),
        }
    }
    Ok(())
}

/// Strict percent-decoding into UTF-8 text. Text without a `%` (most
/// prefixes and every `limit=10`) is borrowed as it is: it is already UTF-8.
fn decode_strict(raw: &str, base: usize) -> Result<Cow<'_, str>, DecodeError> {
    if !raw.as_bytes().contains(&b'%') {
        return Ok(Cow::Borrowed(raw));
    }
    check_percents(raw.as_bytes(), base)?;
    percent_decode(raw.as_bytes()).decode_utf8().map_err(|_| DecodeError::NotUtf8)
}

/// Strict percent-decoding of a raw (still-encoded) URI path segment-or-rest, then every
/// `_` → `' '` (Wikipedia URL convention). Returns the title text.
///
/// `+` stays a literal `+` in paths. Encoded slashes `%2F` decode to `/`, and `%5F` to `_` and
/// hence to a space. `%00` decodes to a NUL character: it is not rejected here, the caller
/// decides. No case folding and no trimming is done.
///
/// ```
/// use wikidex_server::request::decode_path_title;
/// assert_eq!(decode_path_title("Caf%C3%A9_au_lait").unwrap(), "Café au lait");
/// assert_eq!(decode_path_title("AC%2FDC").unwrap(), "AC/DC");
/// assert_eq!(decode_path_title("C++").unwrap(), "C++");
/// ```
pub fn decode_path_title(raw: &str) -> Result<String, DecodeError> {
    let text = decode_strict(raw, 0)?;
    Ok(if text.contains('_') { text.replace('_', " ") } else { text.into_owned() })
}

/// Form-decodes one key or value: `+` is a space, then strict percent-decoding.
/// Borrows `raw` when there is nothing to decode (the common case).
fn form_decode(raw: &str, base: usize) -> Result<Cow<'_, str>, DecodeError> {
    if !raw.as_bytes().contains(&b'+') {
        return decode_strict(raw, base);
    }
    // `+` and ` ` are one byte each: positions in `spaced` are those in `raw`.
    let spaced = raw.replace('+', " ");
    decode_strict(&spaced, base).map(|text| Cow::Owned(text.into_owned()))
}

/// One decoded `key=value` of a query string; borrowed from the raw query
/// when nothing in it needed decoding.
pub type QueryPair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Form-decoding of a raw query string (`a=1&b=x+y`, without the leading `?`): split on `&`,
/// then on the first `=`; `+` is a space, strict percent-decoding, UTF-8 checked. Returns the
/// pairs in order.
///
/// Empty pairs (`a=1&&b=2`, a trailing `&`) are skipped. A pair without `=` has an empty value
/// (`flag` → `("flag", "")`); `=x` has an empty key. Repeated keys are all returned: use
/// [`single`] to fetch a parameter that must appear at most once. A
/// [`DecodeError::BadPercent`] position is a byte offset in the whole `raw`.
///
/// ```
/// use wikidex_server::request::parse_query;
/// let pairs = parse_query("limit=10&after=Foo+bar").unwrap();
/// assert_eq!(pairs, [("limit".into(), "10".into()), ("after".into(), "Foo bar".into())]);
/// ```
pub fn parse_query(raw: &str) -> Result<Vec<QueryPair<'_>>, DecodeError> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for pair in raw.split('&') {
        let start = offset;
        offset += pair.len() + 1;
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value_start = start + key.len() + 1;
        pairs.push((form_decode(key, start)?, form_decode(value, value_start)?));
    }
    Ok(pairs)
}

/// The value of `key` in `pairs` (from [`parse_query`]), `None` if absent, or
/// [`DecodeError::Repeated`] if it appears more than once. Keys compare exactly (case-sensitive).
///
/// ```
/// use wikidex_server::request::{parse_query, single, DecodeError};
/// let pairs = parse_query("limit=10&limit=20&q=x").unwrap();
/// assert_eq!(single(&pairs, "q"), Ok(Some("x")));
/// assert_eq!(single(&pairs, "after"), Ok(None));
/// assert_eq!(single(&pairs, "limit"), Err(DecodeError::Repeated("limit".into())));
/// ```
pub fn single<'a>(pairs: &'a [QueryPair<'_>], key: &str) -> Result<Option<&'a str>, DecodeError> {
    let mut found = None;
    for (k, v) in pairs {
        if k == key {
            if found.is_some() {
                return Err(DecodeError::Repeated(key.to_owned()));
            }
            found = Some(v.as_ref());
        }
    }
    Ok(found)
}

/// Percent-encode a title for an HTTP header value or URL path: everything except unreserved
/// ASCII (`A-Z a-z 0-9 - . _ ~`) and `/ : , ( ) ! ' *` is `%XX`-encoded (UTF-8 bytes, uppercase
/// hex); spaces become `%20` (not `_`, not `+`). The output is printable ASCII without spaces,
/// so it is always a valid header value.
///
/// Round trip: `decode_path_title(&encode_title(t)) == t` only if `t` has no `_`, because
/// [`decode_path_title`] turns every `_` into a space (in general it yields
/// `t.replace('_', " ")`). Note that `/` is kept, so a title containing `/` becomes several
/// path segments; routes taking a title must match the rest of the path.
///
/// ```
/// use wikidex_server::request::{decode_path_title, encode_title};
/// assert_eq!(encode_title("Café au lait"), "Caf%C3%A9%20au%20lait");
/// assert_eq!(encode_title("AC/DC (band)"), "AC/DC%20(band)");
/// assert_eq!(encode_title("C++ & 100%"), "C%2B%2B%20%26%20100%25");
/// assert_eq!(decode_path_title(&encode_title("Café au lait")).unwrap(), "Café au lait");
/// ```
#[must_use]
pub fn encode_title(title: &str) -> String {
    utf8_percent_encode(title, TITLE_KEEP).to_string()
}

/// MediaWiki first-letter case: uppercase the first character of `s` with
/// [`char::to_uppercase`], which may expand (`'ǆ'` → `"Ǆ"`, `'ﬁ'` → `"FI"`), except that `'ß'`
/// is kept unchanged, as MediaWiki does (Wikimedia wikis override PHP's `ß` → `SS`). The rest of
/// `s` is untouched.
///
/// MediaWiki's override list (`$wgOverrideUcfirstCharacters`) covers more characters than `ß`;
/// only `ß` is special-cased here.
///
/// ```
/// use wikidex_server::request::uppercase_first;
/// assert_eq!(uppercase_first("édouard manet"), "Édouard manet");
/// assert_eq!(uppercase_first("ßtraße"), "ßtraße");
/// assert_eq!(uppercase_first(""), "");
/// ```
#[must_use]
pub fn uppercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        None => String::new(),
        Some('ß') => s.to_owned(),
        Some(first) => {
            let mut out = String::with_capacity(s.len() + 4);
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decode_path_title_table() {
        let cases: &[(&str, Result<&str, DecodeError>)] = &[
            ("", Ok("")),
            ("Foo", Ok("Foo")),
            ("%41", Ok("A")),
            ("%41%42c", Ok("ABc")),
            ("%c3%a9", Ok("é")),
            ("%C3%A9", Ok("é")),
            ("Caf%C3%A9", Ok("Café")),
            ("Café", Ok("Café")),
            ("_", Ok(" ")),
            ("Foo_bar_baz", Ok("Foo bar baz")),
            ("%5F", Ok(" ")),
            ("%5f", Ok(" ")),
            ("%20", Ok(" ")),
            ("AC/DC", Ok("AC/DC")),
            ("AC%2FDC", Ok("AC/DC")),
            ("AC%2fDC", Ok("AC/DC")),
            ("C++", Ok("C++")),
            ("%2B", Ok("+")),
            ("%00", Ok("\0")),
            ("%25", Ok("%")),
            ("%2541", Ok("%41")),
            ("%zz", Err(DecodeError::BadPercent { at: 0 })),
            ("ab%zz", Err(DecodeError::BadPercent { at: 2 })),
            ("%", Err(DecodeError::BadPercent { at: 0 })),
            ("%4", Err(DecodeError::BadPercent { at: 0 })),
            ("abc%", Err(DecodeError::BadPercent { at: 3 })),
            ("abc%4", Err(DecodeError::BadPercent { at: 3 })),
            ("%4g", Err(DecodeError::BadPercent { at: 0 })),
            ("%%41", Err(DecodeError::BadPercent { at: 0 })),
            ("%41%", Err(DecodeError::BadPercent { at: 3 })),
            ("é%", Err(DecodeError::BadPercent { at: 2 })),
            ("%é", Err(DecodeError::BadPercent { at: 0 })),
            ("%FF", Err(DecodeError::NotUtf8)),
            ("%C3", Err(DecodeError::NotUtf8)),
            ("%C3%28", Err(DecodeError::NotUtf8)),
            ("%ED%A0%80", Err(DecodeError::NotUtf8)),
            // a bad escape is reported even after invalid UTF-8
            ("%FF%", Err(DecodeError::BadPercent { at: 3 })),
        ];
        for (raw, want) in cases {
            let got = decode_path_title(raw);
            assert_eq!(got.as_deref(), want.as_ref().copied(), "raw {raw:?}");
        }
    }

    #[test]
    fn parse_query_table() {
        type Pairs = &'static [(&'static str, &'static str)];
        let cases: &[(&str, Result<Pairs, DecodeError>)] = &[
            ("", Ok(&[])),
            ("&", Ok(&[])),
            ("&&&", Ok(&[])),
            ("limit=10&after=Foo+bar", Ok(&[("limit", "10"), ("after", "Foo bar")])),
            ("a=%2B", Ok(&[("a", "+")])),
            ("a=%20+%20", Ok(&[("a", "   ")])),
            ("a=b=c", Ok(&[("a", "b=c")])),
            ("a==", Ok(&[("a", "=")])),
            ("flag", Ok(&[("flag", "")])),
            ("flag=", Ok(&[("flag", "")])),
            ("=x", Ok(&[("", "x")])),
            ("=", Ok(&[("", "")])),
            ("a=1&&b=2&", Ok(&[("a", "1"), ("b", "2")])),
            ("a=1&a=2", Ok(&[("a", "1"), ("a", "2")])),
            ("q+x=y+z", Ok(&[("q x", "y z")])),
            ("%61=%62", Ok(&[("a", "b")])),
            ("prefix=Caf%C3%A9", Ok(&[("prefix", "Café")])),
            ("prefix=Foo_bar", Ok(&[("prefix", "Foo_bar")])),
            ("a=%26&b=%3D", Ok(&[("a", "&"), ("b", "=")])),
            ("a=%00", Ok(&[("a", "\0")])),
            ("a=%zz", Err(DecodeError::BadPercent { at: 2 })),
            ("a=1&b=%4", Err(DecodeError::BadPercent { at: 6 })),
            ("a=1&%x=1", Err(DecodeError::BadPercent { at: 4 })),
            ("&&a=%", Err(DecodeError::BadPercent { at: 4 })),
            ("a=%FF", Err(DecodeError::NotUtf8)),
            ("%C3=1", Err(DecodeError::NotUtf8)),
        ];
        for (raw, want) in cases {
            let got = parse_query(raw);
            let got = got
                .as_ref()
                .map(|pairs| pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect::<Vec<_>>());
            assert_eq!(got, want.as_ref().map(|p| p.to_vec()), "raw {raw:?}");
        }
    }

    #[test]
    fn single_table() {
        let pairs = parse_query("limit=10&after=Foo+bar&limit=20&empty=").unwrap();
        assert_eq!(single(&pairs, "after"), Ok(Some("Foo bar")));
        assert_eq!(single(&pairs, "empty"), Ok(Some("")));
        assert_eq!(single(&pairs, "missing"), Ok(None));
        assert_eq!(single(&pairs, "LIMIT"), Ok(None));
        assert_eq!(single(&pairs, "limit"), Err(DecodeError::Repeated("limit".to_owned())));
        assert_eq!(single(&[], "limit"), Ok(None));
    }

    #[test]
    fn encode_title_table() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("Foo", "Foo"),
            ("Foo bar", "Foo%20bar"),
            ("Foo_bar", "Foo_bar"),
            ("AC/DC", "AC/DC"),
            ("Café", "Caf%C3%A9"),
            ("C++", "C%2B%2B"),
            ("100%", "100%25"),
            ("A&B", "A%26B"),
            ("a?b#c", "a%3Fb%23c"),
            ("Help:Contents", "Help:Contents"),
            ("Paris, Texas", "Paris,%20Texas"),
            ("Mercury (planet)", "Mercury%20(planet)"),
            ("Yahoo!", "Yahoo!"),
            ("Ender's Game", "Ender's%20Game"),
            ("M*A*S*H", "M*A*S*H"),
            ("~-.", "~-."),
            ("\"quoted\"", "%22quoted%22"),
            ("a;b=c", "a%3Bb%3Dc"),
            ("tab\there", "tab%09here"),
            ("nul\0", "nul%00"),
            ("line\r\nbreak", "line%0D%0Abreak"),
            ("東京", "%E6%9D%B1%E4%BA%AC"),
            ("😀", "%F0%9F%98%80"),
        ];
        for (title, want) in cases {
            assert_eq!(encode_title(title), *want, "title {title:?}");
        }
    }

    #[test]
    fn uppercase_first_table() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("a", "A"),
            ("foo bar", "Foo bar"),
            ("Foo", "Foo"),
            ("1984", "1984"),
            ("édouard", "Édouard"),
            ("ß", "ß"),
            ("ßa", "ßa"),
            ("ﬁsh", "FIsh"),
            ("ǆungla", "Ǆungla"),
            ("ωmega", "Ωmega"),
            ("aBC", "ABC"),
            ("a ß", "A ß"),
        ];
        for (s, want) in cases {
            assert_eq!(uppercase_first(s), *want, "s {s:?}");
        }
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(s in any::<String>()) {
            let encoded = encode_title(&s);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(decode_path_title(&encoded), Ok(s.replace('_', " ")));
        }

        #[test]
        fn decoding_never_panics(s in any::<String>()) {
            let _ = decode_path_title(&s);
            let _ = parse_query(&s);
            let _ = uppercase_first(&s);
        }

        #[test]
        fn decoding_escape_heavy_input_never_panics(s in "([%&=+_]|[0-9a-fA-F]|%[0-9a-fA-F]{2}|é|\\PC){0,24}") {
            if let Err(DecodeError::BadPercent { at }) = decode_path_title(&s) {
                prop_assert_eq!(s.as_bytes()[at], b'%');
            }
            if let Err(DecodeError::BadPercent { at }) = parse_query(&s) {
                prop_assert_eq!(s.as_bytes()[at], b'%');
            }
        }

        #[test]
        fn query_value_round_trips(k in "[a-z]{1,8}", v in any::<String>()) {
            let raw = format!("{k}={}", encode_title(&v));
            let pairs = parse_query(&raw).unwrap();
            prop_assert_eq!(single(&pairs, &k), Ok(Some(v.as_str())));
        }
    }
}
