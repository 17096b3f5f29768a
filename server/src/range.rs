//! Pure HTTP byte-range logic (RFC 9110 §14 and §13.1.5), free of any actix type.
//!
//! This module owns:
//! - the `Range` request-header grammar the server accepts ([`parse_range`]),
//! - the clamping rules that turn a range-spec into a satisfiable [`ByteRange`],
//! - the single-range policy (several ranges are refused, never served as multipart),
//! - the cap on the number of bytes one response may carry,
//! - the `If-Range` precondition ([`if_range_matches`]).
//!
//! Handlers map the outcome onto status codes: `Ok` → 206, [`RangeError::Invalid`] → 400,
//! every other [`RangeError`] → 416 with `Content-Range: bytes */{size}`
//! (see [`RangeError::content_range`]).

use std::time::{SystemTime, UNIX_EPOCH};

/// A satisfiable single range, inclusive, already clamped to the representation.
///
/// Values returned by [`parse_range`] always satisfy `start <= end < size`.
///
/// ```
/// use wikidex_server::range::ByteRange;
/// let r = ByteRange { start: 10, end: 19 };
/// assert_eq!(r.len(), 10);
/// assert_eq!(r.content_range(100), "bytes 10-19/100");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Offset of the first byte served.
    pub start: u64,
    /// Offset of the last byte served (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range: `end - start + 1`.
    ///
    /// A hand-built value with `start > end` (never produced by [`parse_range`]) has length 0;
    /// the impossible `0..=u64::MAX` saturates at `u64::MAX`.
    ///
    /// ```
    /// use wikidex_server::range::ByteRange;
    /// assert_eq!(ByteRange { start: 0, end: 0 }.len(), 1);
    /// ```
    #[expect(clippy::len_without_is_empty, reason = "a ByteRange from parse_range is never empty")]
    #[must_use]
    pub fn len(&self) -> u64 {
        self.end.checked_sub(self.start).map_or(0, |d| d.saturating_add(1))
    }

    /// The `Content-Range` value of a 206 response serving this range of a `size`-byte representation.
    ///
    /// ```
    /// use wikidex_server::range::ByteRange;
    /// assert_eq!(ByteRange { start: 0, end: 0 }.content_range(1), "bytes 0-0/1");
    /// ```
    #[must_use]
    pub fn content_range(&self, size: u64) -> String {
        // Sized exactly, once: `format!` grew its String three times per
        // /xml request (`realloc` was 3.9 % of its user-space cycles), and a
        // String with spare capacity costs one more allocation when it
        // becomes a header value (`bytes::Bytes::from(Vec<u8>)`).
        let (mut first, mut last, mut total) =
            (itoa::Buffer::new(), itoa::Buffer::new(), itoa::Buffer::new());
        let parts = [first.format(self.start), "-", last.format(self.end), "/", total.format(size)];
        let mut out = String::with_capacity("bytes ".len() + parts.iter().map(|p| p.len()).sum::<usize>());
        out.push_str("bytes ");
        parts.iter().for_each(|p| out.push_str(p));
        out
    }
}

/// Why a `Range` header cannot be honoured.
///
/// ```
/// use wikidex_server::range::{parse_range, RangeError};
/// assert_eq!(parse_range(b"bytes=5-", 5, 100), Err(RangeError::Unsatisfiable { size: 5 }));
/// assert!(matches!(parse_range(b"items=0-1", 5, 100), Err(RangeError::Invalid(_))));
/// ```
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// Syntactically invalid header (unit not `bytes`, not numbers, empty, garbage) → 400.
    ///
    /// The message says what was wrong, for a person; it never echoes the header itself.
    #[error("invalid Range header: {0}")]
    Invalid(String),
    /// Parses, but no byte of it is inside the representation, or first > last → 416.
    #[error("range not satisfiable for a representation of {size} bytes")]
    Unsatisfiable {
        /// Size of the representation in bytes.
        size: u64,
    },
    /// More than one range (`bytes=0-1,5-6`) → 416: only a single range is served.
    #[error("only a single range is served (representation is {size} bytes)")]
    MultipleRanges {
        /// Size of the representation in bytes.
        size: u64,
    },
    /// The clamped range is longer than the configured cap → 416.
    #[error("range of {len} bytes exceeds the cap of {cap} bytes (representation is {size} bytes)")]
    TooLarge {
        /// Length of the requested range after clamping.
        len: u64,
        /// The configured maximum length served.
        cap: u64,
        /// Size of the representation in bytes.
        size: u64,
    },
}

impl RangeError {
    /// The `Content-Range` value of the 416 response (`bytes */{size}`), or `None` for
    /// [`RangeError::Invalid`], which is answered with 400 and no `Content-Range`.
    ///
    /// ```
    /// use wikidex_server::range::parse_range;
    /// let err = parse_range(b"bytes=0-1,4-5", 10, 100).unwrap_err();
    /// assert_eq!(err.content_range().as_deref(), Some("bytes */10"));
    /// assert_eq!(parse_range(b"bytes=x", 10, 100).unwrap_err().content_range(), None);
    /// ```
    #[must_use]
    pub fn content_range(&self) -> Option<String> {
        match self {
            Self::Invalid(_) => None,
            Self::Unsatisfiable { size } | Self::MultipleRanges { size } | Self::TooLarge { size, .. } => {
                Some(format!("bytes */{size}"))
            }
        }
    }
}

/// One syntactically valid range-spec, before it meets the representation.
#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `first-last`
    Closed(u64, u64),
    /// `first-`
    From(u64),
    /// `-suffix`
    Suffix(u64),
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Strips optional whitespace (SP / HTAB only) from both ends.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_ows(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_ows(*last)
    {
        s = rest;
    }
    s
}

/// `1*DIGIT`, saturating at `u64::MAX` instead of overflowing.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')))
    })
}

/// `first-last` / `first-` / `-suffix`, nothing else (no OWS inside).
fn parse_spec(elem: &[u8]) -> Option<Spec> {
    let dash = elem.iter().position(|&b| b == b'-')?;
    let (first, last) = (&elem[..dash], &elem[dash + 1..]);
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => Some(Spec::Suffix(digits(last)?)),
        (false, true) => Some(Spec::From(digits(first)?)),
        (false, false) => Some(Spec::Closed(digits(first)?, digits(last)?)),
    }
}

/// Turns a valid spec into a clamped range of a `size`-byte representation, then applies the cap.
fn resolve(spec: Spec, size: u64, cap: u64) -> Result<ByteRange, RangeError> {
    let unsatisfiable = || RangeError::Unsatisfiable { size };
    let last = size.checked_sub(1).ok_or_else(unsatisfiable)?;
    let (start, end) = match spec {
        Spec::Closed(first, end) if first <= last && first <= end => (first, end.min(last)),
        Spec::From(first) if first <= last => (first, last),
        Spec::Suffix(n) if n > 0 => (size.saturating_sub(n), last),
        _ => return Err(unsatisfiable()),
    };
    let range = ByteRange { start, end };
    let len = range.len();
    if len > cap {
        return Err(RangeError::TooLarge { len, cap, size });
    }
    Ok(range)
}

/// Parse one `Range` header value against a representation of `size` bytes, with a cap on the length served.
///
/// Accepted: `bytes=a-b`, `bytes=a-`, `bytes=-n`; the unit is case-insensitive. Leading and
/// trailing SP/HTAB of the whole value and of each comma-separated element are ignored, and
/// empty list elements are skipped (RFC 9110 §5.6.1), so `bytes= 0-9 ,` is one range. There is
/// no whitespace allowed around `=` or inside a range-spec.
///
/// Decisions, in order:
/// 1. Syntax: missing `=`, a unit other than `bytes`, an empty range set or any malformed
///    element → [`RangeError::Invalid`] (every element is checked, in one linear pass without
///    allocation per element).
/// 2. More than one non-empty element → [`RangeError::MultipleRanges`], even if each is valid.
/// 3. `size == 0`, first-byte-pos ≥ `size`, `last < first`, or suffix `-0` →
///    [`RangeError::Unsatisfiable`]. A last-byte-pos at or past the end is clamped to
///    `size - 1`; a suffix longer than the representation selects all of it. Numbers too
///    large for `u64` saturate at `u64::MAX`.
/// 4. Clamped length > `cap` → [`RangeError::TooLarge`].
///
/// ```
/// use wikidex_server::range::{parse_range, ByteRange, RangeError};
/// assert_eq!(parse_range(b"bytes=0-499", 1000, 1 << 20), Ok(ByteRange { start: 0, end: 499 }));
/// assert_eq!(parse_range(b"bytes=-100", 1000, 1 << 20), Ok(ByteRange { start: 900, end: 999 }));
/// assert_eq!(parse_range(b"bytes=900-5000", 1000, 1 << 20), Ok(ByteRange { start: 900, end: 999 }));
/// assert_eq!(
///     parse_range(b"bytes=0-", 1000, 10),
///     Err(RangeError::TooLarge { len: 1000, cap: 10, size: 1000 })
/// );
/// ```
pub fn parse_range(header: &[u8], size: u64, cap: u64) -> Result<ByteRange, RangeError> {
    match closed_range(header) {
        Some(spec) => resolve(spec, size, cap),
        None => parse_range_set(header, size, cap),
    }
}

/// `bytes=first-last` exactly, the form clients send, read in one pass:
/// the general grammar's trimming and list splitting cost about 600
/// instructions per `/xml` request. Anything else, and numbers of 20 digits
/// or more (which may not fit a `u64`), is `None`, left to
/// [`parse_range_set`], which gives these headers the same answer (tested).
fn closed_range(header: &[u8]) -> Option<Spec> {
    let set = header.strip_prefix(b"bytes=")?;
    let dash = set.iter().position(|&b| b == b'-')?;
    Some(Spec::Closed(short_digits(&set[..dash])?, short_digits(&set[dash + 1..])?))
}

/// 1 to 19 ASCII digits: always within `u64`, so no saturation needed.
fn short_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit < 10).then(|| acc * 10 + u64::from(digit))
    })
}

/// [`parse_range`]'s general grammar: the whole `Range` value, any form.
fn parse_range_set(header: &[u8], size: u64, cap: u64) -> Result<ByteRange, RangeError> {
    let invalid = |why: &str| RangeError::Invalid(why.to_owned());
    let value = trim_ows(header);
    let eq =
        value.iter().position(|&b| b == b'=').ok_or_else(|| invalid("missing `=` after the range unit"))?;
    let (unit, set) = (&value[..eq], &value[eq + 1..]);
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return Err(invalid("the range unit is not `bytes`"));
    }
    let mut only = None;
    let mut count = 0usize;
    for (i, elem) in set.split(|&b| b == b',').enumerate() {
        let elem = trim_ows(elem);
        if elem.is_empty() {
            continue;
        }
        let spec = parse_spec(elem).ok_or_else(|| {
            RangeError::Invalid(format!(
                "element {} of the range set is not `first-last`, `first-` or `-suffix` in decimal digits",
                i + 1
            ))
        })?;
        count += 1;
        if only.is_none() {
            only = Some(spec);
        }
    }
    match (only, count) {
        (None, _) => Err(invalid("the range set is empty")),
        (Some(spec), 1) => resolve(spec, size, cap),
        (Some(_), _) => Err(RangeError::MultipleRanges { size }),
    }
}

/// Whether the `If-Match` field lines `values` let a request on a
/// representation tagged `etag` proceed (RFC 9110 §13.1.1): `*`, or a
/// list of entity-tags one of which equals `etag` by strong comparison (a
/// weak tag, `W/"…"`, never does). `Err` for a malformed field.
///
/// ```
/// use wikidex_server::range::if_match;
/// let tag = r#""5d3a-1f""#;
/// assert_eq!(if_match([&br#""5d3a-1f""#[..]], tag), Ok(true));
/// assert_eq!(if_match([&br#""other", "5d3a-1f""#[..]], tag), Ok(true));
/// assert_eq!(if_match([&b"*"[..]], tag), Ok(true));
/// assert_eq!(if_match([&br#"W/"5d3a-1f""#[..]], tag), Ok(false));
/// assert_eq!(if_match([&br#""other""#[..]], tag), Ok(false));
/// assert!(if_match([&b"5d3a-1f"[..]], tag).is_err());
/// ```
pub fn if_match<'a>(values: impl IntoIterator<Item = &'a [u8]>, etag: &str) -> Result<bool, String> {
    let mut matched = false;
    for value in values {
        let value = trim_ows(value);
        if value == b"*" {
            matched = true;
            continue;
        }
        for tag in value.split(|&b| b == b',').map(trim_ows).filter(|t| !t.is_empty()) {
            let (weak, opaque) = match tag.strip_prefix(b"W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let quoted = opaque.len() >= 2
                && opaque[0] == b'"'
                && opaque[opaque.len() - 1] == b'"'
                && opaque[1..opaque.len() - 1]
                    .iter()
                    .all(|&b| b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80);
            if !quoted {
                return Err(format!(
                    "malformed If-Match {:?}: send * or entity-tags such as \"abc\"",
                    String::from_utf8_lossy(value)
                ));
            }
            matched |= !weak && opaque == etag.as_bytes();
        }
    }
    Ok(matched)
}

/// Outcome of an `If-Range` precondition (RFC 9110 §13.1.5): `true` means "serve the range",
/// `false` means "ignore `Range` and send the whole representation with 200".
///
/// `etag` is our strong entity tag including quotes (e.g. `"5d3a-1f"`). An entity-tag in
/// `if_range` matches only by strong comparison (byte equality, surrounding SP/HTAB ignored):
/// a weak `W/"…"` never matches, and neither does anything if our own `etag` is weak. An
/// HTTP-date (any of the three formats of `httpdate::parse_http_date`) matches only if it equals
/// `last_modified` truncated to whole seconds. Anything unparsable → `false`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use wikidex_server::range::if_range_matches;
/// let modified = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert!(if_range_matches(br#""5d3a-1f""#, r#""5d3a-1f""#, modified));
/// assert!(!if_range_matches(br#"W/"5d3a-1f""#, r#""5d3a-1f""#, modified));
/// assert!(if_range_matches(b"Sun, 06 Nov 1994 08:49:37 GMT", r#""5d3a-1f""#, modified));
/// assert!(!if_range_matches(b"Sun, 06 Nov 1994 08:49:38 GMT", r#""5d3a-1f""#, modified));
/// ```
pub fn if_range_matches(if_range: &[u8], etag: &str, last_modified: SystemTime) -> bool {
    let value = trim_ows(if_range);
    match value.first() {
        None => false,
        Some(b'"') => !etag.starts_with("W/") && value == etag.as_bytes(),
        // A weak validator (`W/"…"`) never matches a strong comparison.
        Some(b'W') if value.starts_with(b"W/") => false,
        Some(_) => http_date_secs(value).is_some_and(|date| Some(date) == unix_secs(last_modified)),
    }
}

/// Whether something last modified at `last_modified` was modified after the
/// HTTP-date `value` of an `If-Modified-Since` or `If-Unmodified-Since`
/// (RFC 9110 §13.1.3, §13.1.4), to the second; `None` when `value` is not an
/// HTTP-date, which makes the header one to ignore.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use wikidex_server::range::modified_since;
/// let modified = UNIX_EPOCH + Duration::from_millis(784_111_777_500);
/// assert_eq!(modified_since(b"Sun, 06 Nov 1994 08:49:36 GMT", modified), Some(true));
/// assert_eq!(modified_since(b"Sun, 06 Nov 1994 08:49:37 GMT", modified), Some(false));
/// assert_eq!(modified_since(b"yesterday", modified), None);
/// ```
pub fn modified_since(value: &[u8], last_modified: SystemTime) -> Option<bool> {
    let date = http_date_secs(trim_ows(value))?;
    Some(unix_secs(last_modified).is_some_and(|modified| modified > date))
}

/// Seconds since the epoch of an HTTP-date in any of its three formats.
fn http_date_secs(value: &[u8]) -> Option<u64> {
    let date = httpdate::parse_http_date(std::str::from_utf8(value).ok()?).ok()?;
    unix_secs(date)
}

/// Whole seconds since the epoch; `None` before it.
fn unix_secs(time: SystemTime) -> Option<u64> {
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    /// Expected outcome, comparing `Invalid` without its message.
    #[derive(Debug, PartialEq, Eq)]
    enum Exp {
        Ok(u64, u64),
        Invalid,
        Unsat,
        Multi,
        TooLarge(u64),
    }

    fn outcome(r: Result<ByteRange, RangeError>, size: u64, cap: u64) -> Exp {
        match r {
            Ok(r) => Exp::Ok(r.start, r.end),
            Err(RangeError::Invalid(why)) => {
                assert!(!why.is_empty());
                Exp::Invalid
            }
            Err(RangeError::Unsatisfiable { size: s }) => {
                assert_eq!(s, size);
                Exp::Unsat
            }
            Err(RangeError::MultipleRanges { size: s }) => {
                assert_eq!(s, size);
                Exp::Multi
            }
            Err(RangeError::TooLarge { len, cap: c, size: s }) => {
                assert_eq!((c, s), (cap, size));
                assert!(len > cap);
                Exp::TooLarge(len)
            }
        }
    }

    const BIG: u64 = u64::MAX;

    #[test]
    fn table() {
        use Exp::*;
        let cases: &[(&[u8], u64, u64, Exp)] = &[
            // the three forms
            (b"bytes=0-499", 1000, BIG, Ok(0, 499)),
            (b"bytes=500-999", 1000, BIG, Ok(500, 999)),
            (b"bytes=0-0", 1000, BIG, Ok(0, 0)),
            (b"bytes=999-999", 1000, BIG, Ok(999, 999)),
            (b"bytes=9500-", 10000, BIG, Ok(9500, 9999)),
            (b"bytes=0-", 1000, BIG, Ok(0, 999)),
            (b"bytes=-500", 10000, BIG, Ok(9500, 9999)),
            (b"bytes=-1", 10, BIG, Ok(9, 9)),
            // unit case, OWS around the whole value and elements, empty elements
            (b"Bytes=1-2", 10, BIG, Ok(1, 2)),
            (b"BYTES=1-2", 10, BIG, Ok(1, 2)),
            (b" \tbytes=1-2\t ", 10, BIG, Ok(1, 2)),
            (b"bytes= 1-2 ", 10, BIG, Ok(1, 2)),
            (b"bytes=1-2,", 10, BIG, Ok(1, 2)),
            (b"bytes=, ,1-2, ,", 10, BIG, Ok(1, 2)),
            // clamping
            (b"bytes=5-10", 10, BIG, Ok(5, 9)),
            (b"bytes=5-9", 10, BIG, Ok(5, 9)),
            (b"bytes=0-18446744073709551615", 10, BIG, Ok(0, 9)),
            (b"bytes=0-99999999999999999999999999999999", 10, BIG, Ok(0, 9)),
            (b"bytes=00000000000000000000000000000003-4", 10, BIG, Ok(3, 4)),
            (b"bytes=-10", 10, BIG, Ok(0, 9)),
            (b"bytes=-11", 10, BIG, Ok(0, 9)),
            (b"bytes=-99999999999999999999999", 10, BIG, Ok(0, 9)),
            // unsatisfiable
            (b"bytes=10-", 10, BIG, Unsat),
            (b"bytes=10-20", 10, BIG, Unsat),
            (b"bytes=99999999999999999999999-", 10, BIG, Unsat),
            (b"bytes=5-4", 10, BIG, Unsat),
            (b"bytes=20-4", 10, BIG, Unsat),
            (b"bytes=-0", 10, BIG, Unsat),
            (b"bytes=-000", 10, BIG, Unsat),
            (b"bytes=0-0", 0, BIG, Unsat),
            (b"bytes=0-", 0, BIG, Unsat),
            (b"bytes=-5", 0, BIG, Unsat),
            // invalid syntax
            (b"", 10, BIG, Invalid),
            (b"   ", 10, BIG, Invalid),
            (b"bytes", 10, BIG, Invalid),
            (b"bytes0-1", 10, BIG, Invalid),
            (b"=0-1", 10, BIG, Invalid),
            (b"items=0-1", 10, BIG, Invalid),
            (b"bits=0-1", 10, BIG, Invalid),
            (b"bytes =0-1", 10, BIG, Invalid),
            (b"bytes=", 10, BIG, Invalid),
            (b"bytes=,", 10, BIG, Invalid),
            (b"bytes= , ", 10, BIG, Invalid),
            (b"bytes=-", 10, BIG, Invalid),
            (b"bytes=--1", 10, BIG, Invalid),
            (b"bytes=1--2", 10, BIG, Invalid),
            (b"bytes=1-2-3", 10, BIG, Invalid),
            (b"bytes=+1-2", 10, BIG, Invalid),
            (b"bytes=1-+2", 10, BIG, Invalid),
            (b"bytes=-+1", 10, BIG, Invalid),
            (b"bytes=1 0-20", 10, BIG, Invalid),
            (b"bytes=1 -2", 10, BIG, Invalid),
            (b"bytes=1- 2", 10, BIG, Invalid),
            (b"bytes=0x1-2", 10, BIG, Invalid),
            (b"bytes=a-f", 10, BIG, Invalid),
            (b"bytes=1", 10, BIG, Invalid),
            (b"bytes=1.5-2", 10, BIG, Invalid),
            (b"bytes=\xff-1", 10, BIG, Invalid),
            (b"bytes=0-1;x", 10, BIG, Invalid),
            (b"bytes=0-1 2-3", 10, BIG, Invalid),
            // syntax is checked before size: still 400 on an empty file
            (b"bytes=x", 0, BIG, Invalid),
            // multiple ranges
            (b"bytes=0-1,5-6", 10, BIG, Multi),
            (b"bytes=0-1, 5-6", 10, BIG, Multi),
            (b"bytes=0-1,0-1", 10, BIG, Multi),
            (b"bytes=0-1,-1", 10, BIG, Multi),
            (b"bytes=50-60,70-80", 10, BIG, Multi),
            (b"bytes=0-1,5-6", 0, BIG, Multi),
            // one bad element among valid ones → Invalid, not Multiple
            (b"bytes=0-1,5-6,x", 10, BIG, Invalid),
            (b"bytes=x,0-1,5-6", 10, BIG, Invalid),
            // cap, checked after clamping
            (b"bytes=0-9", 100, 10, Ok(0, 9)),
            (b"bytes=0-10", 100, 10, TooLarge(11)),
            (b"bytes=95-200", 100, 5, Ok(95, 99)),
            (b"bytes=94-200", 100, 5, TooLarge(6)),
            (b"bytes=0-", 100, 99, TooLarge(100)),
            (b"bytes=-200", 100, 100, Ok(0, 99)),
            (b"bytes=-200", 100, 50, TooLarge(100)),
            (b"bytes=0-0", 100, 0, TooLarge(1)),
            // the whole u64 domain
            (b"bytes=0-", BIG, BIG, Ok(0, BIG - 1)),
            (b"bytes=-1", BIG, BIG, Ok(BIG - 1, BIG - 1)),
            (b"bytes=18446744073709551614-", BIG, BIG, Ok(BIG - 1, BIG - 1)),
            (b"bytes=18446744073709551615-", BIG, BIG, Unsat),
        ];
        assert!(cases.len() >= 40);
        for (header, size, cap, want) in cases {
            let got = outcome(parse_range(header, *size, *cap), *size, *cap);
            assert_eq!(&got, want, "header {:?} size {size} cap {cap}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn many_ranges_are_linear_and_multiple() {
        let mut header = b"bytes=".to_vec();
        for i in 0..100_000u32 {
            header.extend_from_slice(format!("{i}-{i},").as_bytes());
        }
        assert_eq!(parse_range(&header, 10, BIG), Err(RangeError::MultipleRanges { size: 10 }));
        header.extend_from_slice(b"nope");
        assert!(matches!(parse_range(&header, 10, BIG), Err(RangeError::Invalid(_))));
    }

    #[test]
    fn byte_range_len_and_content_range() {
        assert_eq!(ByteRange { start: 3, end: 3 }.len(), 1);
        assert_eq!(ByteRange { start: 0, end: 9 }.len(), 10);
        assert_eq!(ByteRange { start: 5, end: 4 }.len(), 0);
        assert_eq!(ByteRange { start: 0, end: BIG }.len(), BIG);
        assert_eq!(ByteRange { start: 0, end: 9 }.content_range(10), "bytes 0-9/10");
        let too_large = RangeError::TooLarge { len: 5, cap: 1, size: 7 };
        assert_eq!(too_large.content_range().as_deref(), Some("bytes */7"));
        assert_eq!(RangeError::Unsatisfiable { size: 0 }.content_range().as_deref(), Some("bytes */0"));
        assert_eq!(RangeError::Invalid("x".into()).content_range(), None);
    }

    const ETAG: &str = "\"5d3a-1f\"";

    fn modified() -> SystemTime {
        // Sun, 06 Nov 1994 08:49:37 GMT
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn if_range_table() {
        let m = modified();
        let cases: &[(&[u8], &str, SystemTime, bool)] = &[
            (b"\"5d3a-1f\"", ETAG, m, true),
            (b" \"5d3a-1f\"\t", ETAG, m, true),
            (b"W/\"5d3a-1f\"", ETAG, m, false),
            (b"w/\"5d3a-1f\"", ETAG, m, false),
            (b"\"5d3a-1e\"", ETAG, m, false),
            (b"\"5d3a-1f", ETAG, m, false),
            (b"5d3a-1f", ETAG, m, false),
            (b"\"5d3a-1f\", \"x\"", ETAG, m, false),
            (b"\"5D3A-1F\"", ETAG, m, false),
            (b"W/\"5d3a-1f\"", "W/\"5d3a-1f\"", m, false),
            (b"\"\"", "\"\"", m, true),
            (b"Sun, 06 Nov 1994 08:49:37 GMT", ETAG, m, true),
            (b"  Sun, 06 Nov 1994 08:49:37 GMT ", ETAG, m, true),
            (b"Sunday, 06-Nov-94 08:49:37 GMT", ETAG, m, true),
            (b"Sun Nov  6 08:49:37 1994", ETAG, m, true),
            (b"Sun, 06 Nov 1994 08:49:37 GMT", ETAG, m + Duration::from_millis(999), true),
            (b"Sun, 06 Nov 1994 08:49:38 GMT", ETAG, m, false),
            (b"Sun, 06 Nov 1994 08:49:36 GMT", ETAG, m, false),
            (b"Sun, 06 Nov 1994 08:49:37 GMT", ETAG, m + Duration::from_secs(1), false),
            (b"Sun, 06 Nov 1994 08:49:37 GMT", ETAG, UNIX_EPOCH, false),
            (b"Thu, 01 Jan 1970 00:00:00 GMT", ETAG, UNIX_EPOCH - Duration::from_millis(1), false),
            (b"Thu, 01 Jan 1970 00:00:00 GMT", ETAG, UNIX_EPOCH, true),
            (b"Sun, 06 Nov 1994 08:49:37", ETAG, m, false),
            (b"yesterday", ETAG, m, false),
            (b"", ETAG, m, false),
            (b"   ", ETAG, m, false),
            (b"\xff\xfe", ETAG, m, false),
            (b"W/", ETAG, m, false),
        ];
        for (value, etag, modified, want) in cases {
            assert_eq!(
                if_range_matches(value, etag, *modified),
                *want,
                "If-Range {:?} vs etag {etag}",
                String::from_utf8_lossy(value)
            );
        }
    }

    /// The three syntactic forms the model understands.
    #[derive(Debug, Clone)]
    enum Form {
        Closed(String, String),
        From(String),
        Suffix(String),
    }

    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..64).prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "[0-9]{1,40}",
        ]
    }

    fn size() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..64, any::<u64>(), Just(u64::MAX)]
    }

    /// An independent model: numbers via `str::parse`, arithmetic in `u128`.
    fn model(form: &Form, size: u64, cap: u64) -> Exp {
        let num = |s: &str| u128::from(s.parse::<u64>().unwrap_or(u64::MAX));
        let size128 = u128::from(size);
        let (start, end) = match form {
            Form::Closed(a, b) => (num(a), num(b).min(size128.saturating_sub(1))),
            Form::From(a) => (num(a), size128.saturating_sub(1)),
            Form::Suffix(n) => {
                let n = num(n);
                if n == 0 {
                    return Exp::Unsat;
                }
                (size128.saturating_sub(n), size128.saturating_sub(1))
            }
        };
        if size == 0 || start >= size128 {
            return Exp::Unsat;
        }
        if let Form::Closed(a, b) = form
            && num(b) < num(a)
        {
            return Exp::Unsat;
        }
        let len = end - start + 1;
        if len > u128::from(cap) {
            return Exp::TooLarge(u64::try_from(len).unwrap());
        }
        Exp::Ok(u64::try_from(start).unwrap(), u64::try_from(end).unwrap())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            header in proptest::collection::vec(any::<u8>(), 0..64),
            size in size(),
            cap in any::<u64>(),
        ) {
            let _ = parse_range(&header, size, cap);
            let _ = if_range_matches(&header, ETAG, modified());
        }

        #[test]
        fn range_like_strings_never_panic(
            header in "[bB][yY][tT][eE][sS]=[0-9 ,+\\-]{0,30}",
            size in size(),
        ) {
            let _ = parse_range(header.as_bytes(), size, u64::MAX);
        }

        #[test]
        fn valid_syntax_matches_model(
            form in prop_oneof![
                (number(), number()).prop_map(|(a, b)| Form::Closed(a, b)),
                number().prop_map(Form::From),
                number().prop_map(Form::Suffix),
            ],
            unit in "[bB][yY][tT][eE][sS]",
            pad in "[ \t]{0,2}",
            size in size(),
            cap in prop_oneof![Just(u64::MAX), any::<u64>(), 0u64..64],
        ) {
            let spec = match &form {
                Form::Closed(a, b) => format!("{a}-{b}"),
                Form::From(a) => format!("{a}-"),
                Form::Suffix(n) => format!("-{n}"),
            };
            let header = format!("{pad}{unit}={spec}{pad}");
            let got = outcome(parse_range(header.as_bytes(), size, cap), size, cap);
            prop_assert_eq!(got, model(&form, size, cap), "header {:?}", header);
        }

        #[test]
        fn the_closed_range_fast_path_answers_as_the_general_grammar(
            set in prop_oneof!["[0-9]{0,22}-[0-9]{0,22}", "[0-9\\-]{0,45}", "[0-9]{1,20}-[0-9 ,+a\\-]{0,6}"],
            size in size(),
            cap in prop_oneof![Just(u64::MAX), any::<u64>(), 0u64..64],
        ) {
            let header = format!("bytes={set}");
            prop_assert_eq!(
                parse_range(header.as_bytes(), size, cap),
                parse_range_set(header.as_bytes(), size, cap),
                "header {:?}", header
            );
        }

        #[test]
        fn two_valid_elements_are_multiple(a in 0u64..100, b in 0u64..100, size in size()) {
            let header = format!("bytes={a}-,-{b}");
            prop_assert_eq!(
                parse_range(header.as_bytes(), size, u64::MAX),
                Err(RangeError::MultipleRanges { size })
            );
        }
    }
}
