//! The links of a page's wikitext, for the popularity score
//! (`build::score`): `[[Target]]`, `[[Target|label]]` and
//! `[[Target#section]]` as written in the raw text, each normalized the
//! MediaWiki way to the title it points at.
//!
//! What counts, after MediaWiki's parser (`handleInternalLinks2`):
//! - the text is split at every `[[`; a link is a target of no `[`, `]` or
//!   `|`, then `]]` or `|label]]` before the next `[[`, so in
//!   `[[A|x [[B]] y]]` only `B` is a link. A file embed is the exception:
//!   its caption holds links, which count (the embed itself does not);
//! - nothing inside `<!-- -->`, `<nowiki>`, `<pre>`, `<math>` or
//!   `<syntaxhighlight>`;
//! - not category membership (`[[Category:X]]`), file embeds
//!   (`[[File:x.jpg|…]]`, `Image:`) or `Media:`/`Special:` links; a leading
//!   colon (`[[:Category:X]]`) makes an ordinary link.
//!
//! Normalization (MediaWiki's `MediaWikiTitleCodec`): `%XX` and HTML
//! entities decoded, the `#fragment` dropped, `_` and Unicode spaces read as
//! one space, trimmed, the namespace prefix matched without regard to case
//! and written canonically, the first letter uppercased where siteinfo says
//! `first-letter`. A prefix naming no namespace stays part of the title
//! (`[[fr:Foo]]` points at `Fr:Foo`). Whether the title is a page of the
//! dump is the caller's question.

use crate::format::{MAX_FULL_TITLE_BYTES, MAX_TITLE_BYTES, SiteInfo};
use memchr::memmem::Finder;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

/// Searchers built once: building one per search would cost more than
/// the search, for the short needles of wikitext.
macro_rules! finder {
    ($name:ident, $needle:literal) => {
        static $name: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new($needle));
    };
}
finder!(OPEN, b"[[");
finder!(CLOSE, b"]]");
finder!(LT, b"&lt;");
finder!(GT, b"&gt;");
finder!(LT_SLASH, b"&lt;/");
finder!(COMMENT_END, b"--&gt;");
finder!(RAW_COMMENT_END, b"-->");
finder!(RAW_LT_SLASH, b"</");

/// Namespace numbers with a meaning here.
const NS_MEDIA: i32 = -2;
const NS_SPECIAL: i32 = -1;
const NS_FILE: i32 = 6;
const NS_CATEGORY: i32 = 14;

/// Longest link target looked at, in bytes of wikitext: a title of
/// [`MAX_FULL_TITLE_BYTES`], every byte written as a `%XX` escape.
const MAX_TARGET_BYTES: usize = 3 * MAX_FULL_TITLE_BYTES;

/// A namespace as links name it.
#[derive(Debug, Clone)]
struct LinkNamespace {
    key: i32,
    /// The canonical name, as titles of the dump spell it.
    name: String,
    first_letter: bool,
}

/// How one dump's links resolve to titles: its namespaces and case rule.
///
/// ```
/// use wikidex_indexer::format::{Namespace, SiteInfo};
/// use wikidex_indexer::scan::LinkRules;
/// let site = SiteInfo {
///     namespaces: vec![
///         Namespace { key: 0, case: "first-letter".into(), name: String::new() },
///         Namespace { key: 14, case: "first-letter".into(), name: "Category".into() },
///     ],
///     ..SiteInfo::default()
/// };
/// let rules = LinkRules::new(&site);
/// let mut found = Vec::new();
/// let mut scratch = Default::default();
/// rules.for_each_link(
///     b"See [[ada_lovelace#Life|her]], [[Category:X]] and [[:category:x]].",
///     &mut scratch,
///     |title| found.push(String::from_utf8(title.to_vec()).unwrap()),
/// );
/// assert_eq!(found, ["Ada lovelace", "Category:X"]);
/// ```
#[derive(Debug, Clone)]
pub struct LinkRules {
    /// Namespace names (and the `Image` alias), lowercased.
    namespaces: HashMap<String, LinkNamespace>,
    /// The case rule of the main namespace.
    main_first_letter: bool,
}

/// Buffers reused from page to page.
#[derive(Debug, Default)]
pub struct LinkScratch {
    hidden: Vec<Range<usize>>,
    text: Vec<u8>,
    visible: Vec<u8>,
    target: String,
    spaced: String,
    lower: String,
    title: Vec<u8>,
}

impl LinkRules {
    /// The rules of a dump with this `<siteinfo>`.
    pub fn new(site: &SiteInfo) -> LinkRules {
        let mut namespaces = HashMap::new();
        let mut main_first_letter = site.first_letter();
        for ns in &site.namespaces {
            let first_letter = ns.case != "case-sensitive";
            if ns.name.is_empty() {
                main_first_letter = first_letter;
                continue;
            }
            let entry = LinkNamespace { key: ns.key, name: ns.name.clone(), first_letter };
            namespaces.insert(ns.name.to_lowercase(), entry);
        }
        // MediaWiki's alias of the File namespace.
        if let Some(file) = namespaces.values().find(|n| n.key == NS_FILE).cloned() {
            namespaces.entry("image".into()).or_insert(file);
        }
        LinkRules { namespaces, main_first_letter }
    }

    /// Calls `found` with the title of every link in `escaped`, the content
    /// of a page's `<text>` element as the dump writes it (XML-escaped), in
    /// text order, repeats included.
    ///
    /// The text is read as escaped, once: the tags that hide text are found
    /// by their `&lt;`, and only link targets are unescaped. A link that a
    /// hidden element or comment cuts into is read again from the
    /// unescaped text around it, the slow and rare way.
    pub fn for_each_link(&self, escaped: &[u8], scratch: &mut LinkScratch, mut found: impl FnMut(&[u8])) {
        hidden_regions(escaped, &mut scratch.hidden);
        let mut next = 0;
        let mut from = 0;
        let mut next_open = None;
        loop {
            let open = match next_open.take() {
                Some(open) if open < escaped.len() => open,
                Some(_) => break,
                None => match OPEN.find(&escaped[from..]) {
                    Some(at) => from + at,
                    None => break,
                },
            };
            let start = open + 2;
            // `[[[A]]]`: the link opens at the second `[[`.
            from = start - 1;
            let hidden = &scratch.hidden;
            while next < hidden.len() && hidden[next].end <= open {
                next += 1;
            }
            let hidden_from = hidden.get(next).map_or(usize::MAX, |r| r.start);
            if hidden_from <= open {
                from = hidden[next].end;
                continue;
            }
            let target_end = match memchr::memchr3(b'[', b']', b'|', &escaped[start..]) {
                Some(n) if n <= MAX_TARGET_BYTES => start + n,
                _ => continue,
            };
            // Where the link closes, if it does before the next `[[`.
            // (Searched only up to the next `[[`, so that a page of
            // unclosed links stays linear; that search also finds where
            // the next link opens.)
            let rest = &escaped[target_end..];
            let reopen = OPEN.find(rest);
            if target_end > start {
                // The target holds no `[`: no `[[` opens before it ends.
                next_open = Some(reopen.map_or(escaped.len(), |r| target_end + r));
            }
            let bound = reopen.unwrap_or(rest.len());
            let close = CLOSE.find(&rest[..bound]);
            let window = target_end + close.unwrap_or(bound) + 2;
            if hidden_from < window {
                // Up to the first `]]` outside the hidden text.
                let mut end = target_end;
                let hidden = &scratch.hidden[next..];
                let mut h = 0;
                while let Some(at) = CLOSE.find(&escaped[end..]) {
                    end += at + 2;
                    while h < hidden.len() && hidden[h].end <= end - 2 {
                        h += 1;
                    }
                    if h == hidden.len() || hidden[h].start > end - 2 {
                        break;
                    }
                    end = end.max(hidden[h].end);
                }
                if self.read_unescaped(&escaped[open..end.max(target_end)], scratch) {
                    found(&scratch.title);
                }
                continue;
            }
            let closed = match (escaped[target_end], close, reopen) {
                (b']', Some(0), _) => true,
                (b'|', Some(c), r) => c >= 2 && r.is_none_or(|r| c < r),
                _ => false,
            };
            if closed && self.normalize_escaped(&escaped[start..target_end], scratch) {
                found(&scratch.title);
            }
        }
    }

    /// Normalizes an escaped target into the scratch's `title`: directly
    /// for the common plain target ([`plain_split`]), else unescaped first.
    /// False when it names no page (or is no link to one).
    fn normalize_escaped(&self, target: &[u8], scratch: &mut LinkScratch) -> bool {
        if let Some(colon) = plain_split(target)
            && let Some(title) = self.plain_title(target, colon, &mut scratch.lower, &mut scratch.title)
        {
            return title;
        }
        unescape_xml(target, &mut scratch.text);
        let text = std::mem::take(&mut scratch.text);
        let title = std::str::from_utf8(&text)
            .is_ok_and(|target| matches!(self.normalize(target, scratch), Some(Link::Title)));
        scratch.text = text;
        title
    }

    /// What [`normalize`](Self::normalize) makes of a plain target (first
    /// colon at `colon`), without its general steps: `Some(true)` with the
    /// title in `title`, `Some(false)` for no link to a page, `None` when a
    /// prefix names a namespace in a way only the general path handles (a
    /// letter beyond ASCII after it, a space beside the colon).
    fn plain_title(
        &self,
        target: &[u8],
        colon: Option<usize>,
        lower: &mut String,
        title: &mut Vec<u8>,
    ) -> Option<bool> {
        title.clear();
        let cased = |title: &mut Vec<u8>, part: &[u8], first_letter: bool| {
            title.push(if first_letter { part[0].to_ascii_uppercase() } else { part[0] });
            title.extend_from_slice(&part[1..]);
        };
        let namespace = colon.and_then(|colon| {
            // Plain targets are UTF-8, and `:` is one byte of it.
            let prefix = std::str::from_utf8(&target[..colon]).ok()?;
            Some((self.namespace(prefix.trim_end_matches(' '), lower)?, colon))
        });
        let Some((ns, colon)) = namespace else {
            // No namespace: the whole target is a main-namespace title.
            if target.len() > MAX_TITLE_BYTES {
                return Some(false);
            }
            cased(title, target, self.main_first_letter);
            return Some(true);
        };
        let rest = &target[colon + 1..];
        if target[..colon].ends_with(b" ") || rest.first().is_none_or(|b| !b.is_ascii() || *b == b' ') {
            return None;
        }
        if matches!(ns.key, NS_MEDIA | NS_SPECIAL | NS_CATEGORY | NS_FILE)
            || rest.len() > MAX_TITLE_BYTES
            || ns.name.len() + 1 + rest.len() > MAX_FULL_TITLE_BYTES
        {
            return Some(false);
        }
        title.extend_from_slice(ns.name.as_bytes());
        title.push(b':');
        cased(title, rest, ns.first_letter);
        Some(true)
    }

    /// Reads the link opening `escaped` from its unescaped text, with
    /// comments and hidden elements taken out; true when it is a link to a
    /// title (in the scratch's `title`).
    fn read_unescaped(&self, escaped: &[u8], scratch: &mut LinkScratch) -> bool {
        // No link is longer than this; a comment longer still is cut short
        // and the link with it.
        let window = &escaped[..escaped.len().min(64 << 10)];
        unescape_xml(window, &mut scratch.visible);
        strip_hidden(&scratch.visible, &mut scratch.text);
        let text = std::mem::take(&mut scratch.text);
        let read = self.read_link(&text, scratch);
        scratch.text = text;
        read
    }

    /// Reads the link at the start of `text` (unescaped, nothing hidden).
    fn read_link(&self, text: &[u8], scratch: &mut LinkScratch) -> bool {
        let start = 2;
        let target_end = match memchr::memchr3(b'[', b']', b'|', &text[start..]) {
            Some(n) if n <= MAX_TARGET_BYTES => start + n,
            _ => return false,
        };
        let closed = match text[target_end] {
            b']' => text.get(target_end + 1) == Some(&b']'),
            b'|' => label_closes(&text[target_end + 1..]),
            _ => false,
        };
        let Ok(target) = std::str::from_utf8(&text[start..target_end]) else { return false };
        closed && matches!(self.normalize(target, scratch), Some(Link::Title))
    }

    /// Normalizes a link target into the scratch's `title`: `None` when it
    /// names no page (empty, a bare `#section`, characters no title may
    /// hold). Works in the scratch's buffers: no allocation per link once
    /// they have grown.
    fn normalize(&self, target: &str, scratch: &mut LinkScratch) -> Option<Link> {
        let LinkScratch { target: work, spaced, lower, title, .. } = scratch;
        work.clear();
        if target.contains('%') {
            match percent_encoding::percent_decode_str(target).decode_utf8() {
                Ok(decoded) => work.push_str(&decoded),
                Err(_) => work.push_str(target),
            }
        } else {
            work.push_str(target);
        }
        if work.contains('&')
            && let std::borrow::Cow::Owned(decoded) = html_escape::decode_html_entities(work.as_str())
        {
            *work = decoded;
        }
        if let Some(hash) = work.find('#') {
            work.truncate(hash);
        }
        let text = collapse_spaces(work, spaced);
        let (forced, text) = match text.strip_prefix(':') {
            Some(rest) => (true, rest.trim_start_matches(' ')),
            None => (false, text.as_str()),
        };
        // `work` is spent: the title is written there.
        let out = work;
        out.clear();
        match text.split_once(':').and_then(|(prefix, rest)| {
            let ns = self.namespace(prefix.trim_end_matches(' '), lower)?;
            Some((ns, rest.trim_start_matches(' ')))
        }) {
            Some((ns, rest)) => {
                if ns.key == NS_MEDIA || ns.key == NS_SPECIAL {
                    return Some(Link::Embed);
                }
                if !forced && (ns.key == NS_CATEGORY || ns.key == NS_FILE) {
                    return Some(Link::Embed);
                }
                if !valid_part(rest) {
                    return None;
                }
                out.push_str(&ns.name);
                out.push(':');
                push_cased(out, rest, ns.first_letter);
            }
            None => {
                if !valid_part(text) {
                    return None;
                }
                push_cased(out, text, self.main_first_letter);
            }
        }
        if out.len() > MAX_FULL_TITLE_BYTES {
            return None;
        }
        title.clear();
        title.extend_from_slice(out.as_bytes());
        Some(Link::Title)
    }

    /// The namespace a link prefix names, matched as its lowercase (an
    /// ASCII prefix lowercased in `lower`, without allocating).
    fn namespace(&self, prefix: &str, lower: &mut String) -> Option<&LinkNamespace> {
        if prefix.is_ascii() {
            lower.clear();
            lower.push_str(prefix);
            lower.make_ascii_lowercase();
            self.namespaces.get(lower.as_str())
        } else {
            self.namespaces.get(&prefix.to_lowercase())
        }
    }
}

/// What a valid target turned out to be.
enum Link {
    /// A link to this title (in the scratch's `title`).
    Title,
    /// A category membership, a file embed or a link outside the pages:
    /// not a link to a page. A file caption's links are still read.
    Embed,
}

/// A target that needs no unescaping, decoding or space folding:
/// `Some(first colon)` when it is printable UTF-8 without `&%_#{}<>[]|`, title
/// spaces other than single `' '` or direction marks, starting with an
/// ASCII byte other than `:` and `' '` and not ending with `' '`. Such a
/// target is its title once a namespace prefix is matched and the first
/// letter cased ([`LinkRules::plain_title`]); most links are such. The
/// others are unescaped and normalized in full.
fn plain_split(target: &[u8]) -> Option<Option<usize>> {
    const PLAIN: [bool; 256] = {
        let mut t = [true; 256];
        let mut b = 0;
        while b < b' ' {
            t[b as usize] = false;
            b += 1;
        }
        t[0x7f] = false;
        let mut i = 0;
        while i < b"&%_#{}<>[]|".len() {
            t[b"&%_#{}<>[]|"[i] as usize] = false;
            i += 1;
        }
        t
    };
    let (&first, &last) = (target.first()?, target.last()?);
    if first == b' ' || first == b':' || !first.is_ascii() || last == b' ' {
        return None;
    }
    let mut space = false;
    let mut ascii = true;
    let mut colon = None;
    for (i, &b) in target.iter().enumerate() {
        if !PLAIN[b as usize] || (space && b == b' ') {
            return None;
        }
        space = b == b' ';
        ascii &= b.is_ascii();
        if b == b':' && colon.is_none() {
            colon = Some(i);
        }
    }
    if !ascii && (std::str::from_utf8(target).is_err() || has_title_space(target)) {
        return None;
    }
    Some(colon)
}

/// True when UTF-8 `s` holds a character other than `' '` that the title
/// codec reads as a space ([`is_title_space`]) or drops
/// ([`is_direction_mark`]), found by its bytes: every such character is
/// U+00A0 or lies in U+1680–U+3000, and starts with byte C2, E1, E2 or E3.
fn has_title_space(s: &[u8]) -> bool {
    let mut at = 0;
    while let Some(i) = memchr::memchr3(0xC2, 0xE1, 0xE2, &s[at..]) {
        let lead = at + i;
        let (a, b) = (s.get(lead + 1).copied(), s.get(lead + 2).copied());
        let c = match (s[lead], a, b) {
            (0xC2, Some(a), _) => Some(u32::from(a & 0x3F) | 0x80),
            (lead_byte, Some(a), Some(b)) => {
                Some(u32::from(lead_byte & 0x0F) << 12 | u32::from(a & 0x3F) << 6 | u32::from(b & 0x3F))
            }
            _ => None,
        };
        if c.and_then(char::from_u32).is_some_and(|c| is_title_space(c) || is_direction_mark(c)) {
            return true;
        }
        at = lead + 1;
    }
    // U+3000, the one such character led by E3.
    memchr::memmem::find(s, "\u{3000}".as_bytes()).is_some()
}

/// True when a label starting at `rest` ends with `]]` before any `[[`.
/// MediaWiki's label is at least one character. Only the text up to the
/// next `[[` is searched, so a page of unclosed links stays linear.
fn label_closes(rest: &[u8]) -> bool {
    let open = OPEN.find(rest).unwrap_or(rest.len());
    CLOSE.find(&rest[..open]).is_some_and(|close| close >= 1)
}

/// A title part MediaWiki would accept: 1–255 bytes, none of the
/// characters titles may not hold.
fn valid_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= MAX_TITLE_BYTES
        && !part.bytes().any(|b| b < 0x20 || b == 0x7f || b"<>[]{}|#".contains(&b))
}

/// `s` with its first letter uppercased when `first_letter`; a letter
/// whose uppercase is several characters (`ß`) is left as MediaWiki's
/// per-language table mostly leaves it.
fn push_cased(out: &mut String, s: &str, first_letter: bool) {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if first_letter => {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => out.push(u),
                _ => out.push(c),
            }
            out.push_str(chars.as_str());
        }
        _ => out.push_str(s),
    }
}

/// True for the characters MediaWiki's title codec reads as a space.
fn is_title_space(c: char) -> bool {
    matches!(c, ' ' | '_' | '\u{a0}' | '\u{1680}' | '\u{180e}' | '\u{2000}'..='\u{200a}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// Invisible direction marks the title codec drops.
fn is_direction_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}')
}

/// `s` with runs of title spaces as one space, trimmed, direction marks
/// dropped; written into `out`, which is returned. Runs of ASCII other than
/// `' '` and `_` are copied whole.
fn collapse_spaces<'a>(s: &str, out: &'a mut String) -> &'a mut String {
    out.clear();
    let mut space = false;
    let mut rest = s;
    while !rest.is_empty() {
        let run = rest.bytes().position(|b| b == b' ' || b == b'_' || !b.is_ascii()).unwrap_or(rest.len());
        if run > 0 {
            if space {
                out.push(' ');
                space = false;
            }
            out.push_str(&rest[..run]);
            rest = &rest[run..];
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next().expect("not empty");
        rest = chars.as_str();
        if is_direction_mark(c) {
            continue;
        }
        if is_title_space(c) {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Decodes the five XML entities and character references of `escaped`
/// into `out` (the dump escapes `<`, `>`, `&` and `"` inside `<text>`).
fn unescape_xml(escaped: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'&', &escaped[from..]) {
        let amp = from + at;
        out.extend_from_slice(&escaped[from..amp]);
        let rest = &escaped[amp + 1..];
        let semi = rest.iter().take(12).position(|&b| b == b';');
        let decoded = semi.and_then(|n| {
            let name = &rest[..n];
            let c = match name {
                b"lt" => '<',
                b"gt" => '>',
                b"amp" => '&',
                b"quot" => '"',
                b"apos" => '\'',
                [b'#', b'x' | b'X', hex @ ..] => {
                    char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)?
                }
                [b'#', dec @ ..] => char::from_u32(std::str::from_utf8(dec).ok()?.parse().ok()?)?,
                _ => return None,
            };
            Some((c, n + 1))
        });
        match decoded {
            Some((c, used)) => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                from = amp + 1 + used;
            }
            None => {
                out.push(b'&');
                from = amp + 1;
            }
        }
    }
    out.extend_from_slice(&escaped[from..]);
}

/// The byte ranges of `escaped` (XML-escaped wikitext) that hold no
/// links, in order: comments, and the elements of [`HIDING_TAGS`] — what
/// [`strip_hidden`] takes out of the unescaped text.
fn hidden_regions(escaped: &[u8], out: &mut Vec<Range<usize>>) {
    out.clear();
    // Searches that found nothing from some offset find nothing from any
    // later one: remembered, so that a page of unclosed tags stays linear.
    let mut no_gt_after = usize::MAX;
    let mut no_close_after = [usize::MAX; HIDING_TAGS.len()];
    let mut from = 0;
    while let Some(at) = LT.find(&escaped[from..]) {
        let lt = from + at;
        let rest = &escaped[lt + 4..];
        if rest.starts_with(b"!--") {
            let end = COMMENT_END.find(&rest[3..]).map_or(escaped.len(), |n| lt + 4 + 3 + n + 6);
            out.push(lt..end);
            from = end;
            continue;
        }
        let hidden = HIDING_TAGS.iter().enumerate().find_map(|(i, tag)| {
            let name = rest.get(..tag.len())?;
            if !name.eq_ignore_ascii_case(tag) {
                return None;
            }
            let after = rest.get(tag.len()..).unwrap_or_default();
            if !(after.starts_with(b"&gt;")
                || after.starts_with(b"/")
                || after.first().is_some_and(|b| b" \t\n".contains(b)))
            {
                return None;
            }
            if lt >= no_gt_after {
                return None;
            }
            let Some(open_end) = GT.find(rest) else {
                no_gt_after = lt;
                return None;
            };
            if open_end > 0 && rest[open_end - 1] == b'/' {
                return Some(lt + 4 + open_end + 4);
            }
            if lt >= no_close_after[i] {
                return None;
            }
            let Some(close) = find_close_escaped(&rest[open_end..], tag) else {
                no_close_after[i] = lt;
                return None;
            };
            Some(lt + 4 + open_end + close)
        });
        match hidden {
            Some(end) => {
                out.push(lt..end);
                from = end;
            }
            None => from = lt + 4,
        }
    }
}

/// The end (just past `&gt;`) of the first `&lt;/tag&gt;` in `s`, any case.
fn find_close_escaped(s: &[u8], tag: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = LT_SLASH.find(&s[from..]) {
        let name_at = from + at + 5;
        if s.get(name_at..name_at + tag.len()).is_some_and(|n| n.eq_ignore_ascii_case(tag)) {
            let gt = GT.find(&s[name_at..])?;
            return Some(name_at + gt + 4);
        }
        from = name_at;
    }
    None
}

/// Tags whose content is not wikitext, so holds no links.
const HIDING_TAGS: [&[u8]; 4] = [b"nowiki", b"pre", b"math", b"syntaxhighlight"];

/// Copies `text` into `out` without comments and the content of
/// [`HIDING_TAGS`]. A comment is removed (MediaWiki strips comments before
/// it parses links); a hidden element becomes one DEL byte, which no title
/// holds, as MediaWiki puts a strip marker in its place. An unclosed
/// comment hides the rest of the page; an unclosed tag is text.
fn strip_hidden(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'<', &text[from..]) {
        let lt = from + at;
        let rest = &text[lt + 1..];
        if rest.starts_with(b"!--") {
            out.extend_from_slice(&text[from..lt]);
            match RAW_COMMENT_END.find(&rest[3..]) {
                Some(n) => from = lt + 1 + 3 + n + 3,
                None => return,
            }
            continue;
        }
        let hidden = HIDING_TAGS.iter().find_map(|tag| {
            let name = rest.get(..tag.len())?;
            if !name.eq_ignore_ascii_case(tag) {
                return None;
            }
            let after = rest.get(tag.len()).copied();
            if !matches!(after, Some(b'>' | b'/' | b' ' | b'\t' | b'\n')) {
                return None;
            }
            let open_end = memchr::memchr(b'>', rest)?;
            if rest[open_end - 1] == b'/' {
                // `<nowiki/>`: an empty element.
                return Some(lt + 1 + open_end + 1);
            }
            let close = find_close(&rest[open_end..], tag)?;
            Some(lt + 1 + open_end + close)
        });
        match hidden {
            Some(end) => {
                out.extend_from_slice(&text[from..lt]);
                out.push(0x7f);
                from = end;
            }
            None => {
                out.extend_from_slice(&text[from..=lt]);
                from = lt + 1;
            }
        }
    }
    out.extend_from_slice(&text[from..]);
}

/// The end (just past `>`) of the first `</tag>` in `s`, any case.
fn find_close(s: &[u8], tag: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = RAW_LT_SLASH.find(&s[from..]) {
        let name_at = from + at + 2;
        if s.get(name_at..name_at + tag.len()).is_some_and(|n| n.eq_ignore_ascii_case(tag)) {
            let gt = memchr::memchr(b'>', &s[name_at..])?;
            return Some(name_at + gt + 1);
        }
        from = name_at;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Namespace;

    fn rules() -> LinkRules {
        let ns = |key, name: &str| Namespace { key, case: "first-letter".into(), name: name.into() };
        LinkRules::new(&SiteInfo {
            namespaces: vec![
                ns(-2, "Media"),
                ns(-1, "Special"),
                ns(0, ""),
                ns(1, "Talk"),
                ns(4, "Wikipedia"),
                ns(6, "File"),
                ns(10, "Template"),
                ns(11, "Template talk"),
                ns(14, "Category"),
            ],
            ..SiteInfo::default()
        })
    }

    fn links(escaped: &str) -> Vec<String> {
        let mut out = Vec::new();
        rules().for_each_link(escaped.as_bytes(), &mut LinkScratch::default(), |t| {
            out.push(String::from_utf8(t.to_vec()).unwrap())
        });
        out
    }

    #[test]
    fn plain_labelled_and_sectioned_links() {
        assert_eq!(links("[[Foo]] [[bar|Bar]] [[Baz#History]] [[Qux#a|b]]"), ["Foo", "Bar", "Baz", "Qux"]);
    }

    #[test]
    fn targets_are_normalized() {
        assert_eq!(
            links("[[  ada__lovelace ]] [[A&amp;amp;B]] [[A&amp;nbsp;C]] [[x%20y]] [[é]]"),
            ["Ada lovelace", "A&B", "A C", "X y", "É"]
        );
        assert_eq!(
            links("[[template_TALK: foo]] [[wikipedia:x]] [[fr:Foo]]"),
            ["Template talk:Foo", "Wikipedia:X", "Fr:Foo"]
        );
    }

    #[test]
    fn targets_beyond_ascii_are_normalized() {
        assert_eq!(
            links(
                "[[Saint-Étienne]] [[é]] [[Foo\u{a0}bar]] [[A\u{200e}B]] [[Ὅμηρος Α]] [[a\u{3000}\u{3000}b]]"
            ),
            ["Saint-Étienne", "É", "Foo bar", "AB", "Ὅμηρος Α", "A b"]
        );
    }

    proptest::proptest! {
        #[test]
        fn plain_targets_are_their_titles_in_full(
            chars in proptest::collection::vec(
                proptest::sample::select(vec![
                    'a', 'B', ' ', '-', '.', ':', 'é', 'ß', 'Ὅ', '–', '\u{a0}', '\u{200e}', '\u{2009}', '\u{3000}',
                ]),
                1..12,
            ),
            prefix in proptest::sample::select(vec![
                "", "a", "category:", "Talk:", "template talk:", "Template talk :", "FILE:", "Special:", "fr:", "Éire:",
            ]),
        ) {
            let target: String = prefix.to_string() + &chars.into_iter().collect::<String>();
            let rules = rules();
            let mut scratch = LinkScratch::default();
            let Some(colon) = plain_split(target.as_bytes()) else { return Ok(()) };
            let Some(plain) = rules.plain_title(target.as_bytes(), colon, &mut scratch.lower, &mut scratch.title)
            else {
                return Ok(());
            };
            let plain_title = scratch.title.clone();
            let full = matches!(rules.normalize(&target, &mut scratch), Some(Link::Title));
            proptest::prop_assert_eq!(plain, full, "{:?}", target);
            if full {
                proptest::prop_assert_eq!(plain_title, scratch.title.clone(), "{:?}", target);
            }
        }
    }

    #[test]
    fn categories_files_and_special_pages_are_not_links() {
        assert_eq!(
            links(
                "[[Category:X]] [[category:Y|sort]] [[File:a.jpg|thumb]] [[Image:b.png]] [[Media:c.ogg]] [[Special:Random]]"
            ),
            Vec::<String>::new()
        );
        assert_eq!(links("[[:Category:X]] [[:File:a.jpg]] [[:Foo]]"), ["Category:X", "File:A.jpg", "Foo"]);
    }

    #[test]
    fn a_file_caption_holds_links_and_a_label_does_not() {
        assert_eq!(links("[[File:x.jpg|thumb|a [[B]] c [[D|e]]]]"), ["B", "D"]);
        assert_eq!(links("[[A|x [[B]] y]]"), ["B"]);
    }

    #[test]
    fn hidden_text_holds_no_links() {
        let text = "&lt;nowiki&gt;[[A]]&lt;/nowiki&gt; &lt;!-- [[B]] --&gt; &lt;pre&gt;[[C]]&lt;/pre&gt; \
                    &lt;math&gt;[[D]]&lt;/math&gt; &lt;syntaxhighlight lang=\"c\"&gt;[[E]]&lt;/syntaxhighlight&gt; \
                    &lt;NOWIKI/&gt;[[F]] [[G&lt;!-- x --&gt;H]]";
        assert_eq!(links(text), ["F", "GH"]);
        assert_eq!(links("[[A]] &lt;!-- [[B]]"), ["A"]);
        assert_eq!(links("&lt;nowiki&gt;[[A]]"), ["A"]);
    }

    #[test]
    fn broken_links_are_not_links() {
        for text in [
            "[[A",
            "[[A|b",
            "[[ ]]",
            "[[|]]",
            "[[#]]",
            "[[#top]]",
            "[[A|]]",
            "[[{{x}}]]",
            "[[a\nb]]",
            "[[A]b]]",
            "[[Talk:]]",
        ] {
            assert_eq!(links(text), Vec::<String>::new(), "{text:?}");
        }
        assert_eq!(links("[[[A]]]"), ["A"]);
        let long =
            format!("[[{}]] [[Wikipedia:{}]] [[{}]]", "a".repeat(256), "b".repeat(255), "c".repeat(255));
        assert_eq!(
            links(&long),
            [format!("Wikipedia:B{}", "b".repeat(254)), format!("C{}", "c".repeat(254))]
        );
    }

    #[test]
    fn a_million_links_and_a_million_openers_are_linear() {
        let many = "[[A]]".repeat(1_000_000);
        assert_eq!(links(&many).len(), 1_000_000);
        let openers = format!("[[a|{}", "[[".repeat(1_000_000));
        assert!(links(&openers).is_empty());
        let unclosed = "[[a|b ".repeat(200_000);
        assert!(links(&unclosed).is_empty());
        let tags = "&lt;nowiki&gt;&lt;pre &lt;!-".repeat(100_000) + "[[A]]";
        assert_eq!(links(&tags), ["A"]);
        let comments = "[[A|&lt;!-- x --&gt;".repeat(100_000);
        assert!(links(&comments).is_empty());
    }
}
