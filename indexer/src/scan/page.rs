//! Parsing one `<page>` element: its header fields and where it ends.
//!
//! MediaWiki escapes `<` in all text and attribute values, so in a dump a
//! literal `<` only ever starts a tag. That makes tags findable with `memchr`
//! at memory speed, without a general XML parser walking the page text; the
//! few escaped values we keep (title, redirect target) are unescaped with
//! quick-xml.

use super::DumpError;
use crate::format::{MAX_FULL_TITLE_BYTES, MAX_TITLE_BYTES};
use memchr::memmem;
use std::borrow::Cow;

/// The fields of one page the index keeps, borrowed from the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedPage<'a> {
    /// Offset of the `<` of `<page>`.
    pub start: u64,
    /// Offset of the final `>` of `</page>` (inclusive).
    pub end: u64,
    /// The unescaped title.
    pub title: Cow<'a, str>,
    /// `<ns>`.
    pub ns: i32,
    /// The page `<id>`, if present and numeric.
    pub id: Option<u64>,
    /// The unescaped target of `<redirect title="…"/>`, if any.
    pub redirect: Option<Cow<'a, str>>,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of the first non-whitespace byte at or after `pos`.
pub(crate) fn skip_ws(buf: &[u8], mut pos: usize) -> usize {
    while pos < buf.len() && is_ws(buf[pos]) {
        pos += 1;
    }
    pos
}

/// Shows a few bytes at `pos` for an error message.
pub(crate) fn snippet(buf: &[u8], pos: usize) -> String {
    let end = (pos + 24).min(buf.len());
    let s = String::from_utf8_lossy(&buf[pos.min(end)..end]);
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if end == buf.len() { format!("{s:?} then end of file") } else { format!("{s:?}…") }
}

/// Parses the page whose `<page>` tag starts at `start`.
pub fn parse_page(buf: &[u8], start: usize) -> Result<ScannedPage<'_>, DumpError> {
    let header = parse_header(buf, start)?;
    let end = find_page_end(buf, start, header.body_from)?;
    Ok(ScannedPage {
        start: start as u64,
        end: end as u64,
        title: header.title,
        ns: header.ns,
        id: header.id,
        redirect: header.redirect,
    })
}

/// A page's header fields: everything before `<revision>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHeader<'a> {
    /// The unescaped title.
    pub title: Cow<'a, str>,
    /// `<ns>`.
    pub ns: i32,
    /// The page `<id>`, if present and numeric.
    pub id: Option<u64>,
    /// The unescaped redirect target, if any.
    pub redirect: Option<Cow<'a, str>>,
    /// Offset where the header ends (the `<revision>` tag, or `</page>`).
    pub body_from: usize,
}

/// Parses the header of the page whose `<page>` tag starts at `start`; `buf`
/// need only extend past the header (the server reads 8 KiB of a page).
pub fn parse_header(buf: &[u8], start: usize) -> Result<PageHeader<'_>, DumpError> {
    if !buf[start..].starts_with(b"<page>") {
        return Err(DumpError {
            offset: start as u64,
            message: format!("expected <page>, found {}", snippet(buf, start)),
        });
    }
    let err = |at: usize, message: String| DumpError { offset: at as u64, message };
    let mut pos = start + b"<page>".len();
    let mut title: Option<(usize, Cow<'_, str>)> = None;
    let mut ns: Option<i32> = None;
    let mut id: Option<u64> = None;
    let mut redirect = None;
    // The header: <title>, <ns>, <id>, <redirect/>, <restrictions> ... up to
    // the first <revision> (or <upload>, or an empty page's </page>).
    let body_from = loop {
        pos = skip_ws(buf, pos);
        if pos >= buf.len() {
            return Err(err(start, truncated_page()));
        }
        if buf[pos] != b'<' {
            return Err(err(pos, format!("expected a tag inside <page>, found {}", snippet(buf, pos))));
        }
        // A closing tag's name keeps its '/': `</page>` is named "/page".
        let name_from = pos + 1 + usize::from(buf.get(pos + 1) == Some(&b'/'));
        let name_end = buf[name_from..]
            .iter()
            .position(|&b| matches!(b, b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r'))
            .map(|i| name_from + i)
            .filter(|&i| i > name_from)
            .ok_or_else(|| err(pos, format!("malformed tag {}", snippet(buf, pos))))?;
        let name = &buf[pos + 1..name_end];
        match name {
            b"title" | b"ns" | b"id" => {
                let (content, after) = simple_element(buf, pos, name, name_end)?;
                if name == b"title" {
                    if title.is_some() {
                        return Err(err(pos, "page has two <title> elements".into()));
                    }
                    title = Some((pos, unescape_title(buf, content, pos + name.len() + 2, "title")?));
                } else if name == b"id" {
                    id = std::str::from_utf8(&buf[content]).ok().and_then(|t| t.trim().parse().ok());
                } else {
                    let text = std::str::from_utf8(&buf[content.clone()]).unwrap_or("");
                    ns = Some(text.trim().parse().map_err(|_| {
                        err(content.start, format!("<ns> is not a number: {}", snippet(buf, content.start)))
                    })?);
                }
                pos = after;
            }
            b"redirect" => {
                let tag_end = memchr::memchr(b'>', &buf[pos..])
                    .map(|i| pos + i)
                    .ok_or_else(|| err(start, truncated_page()))?;
                let attrs_end = if buf[tag_end - 1] == b'/' { tag_end - 1 } else { tag_end };
                let target = redirect_target(&buf[name_end..attrs_end.max(name_end)], pos)?;
                redirect = Some(Cow::Owned(target));
                pos = tag_end + 1;
                if buf[tag_end - 1] != b'/' {
                    pos = skip_element_rest(buf, pos, name, start)?;
                }
            }
            b"revision" | b"upload" | b"/page" => break pos,
            b"page" | b"/mediawiki" => {
                return Err(err(
                    pos,
                    format!("page starting at byte {start} has no </page> before this tag"),
                ));
            }
            _ => {
                if name.first() == Some(&b'/') {
                    return Err(err(pos, format!("unexpected closing tag {}", snippet(buf, pos))));
                }
                let tag_end = memchr::memchr(b'>', &buf[pos..])
                    .map(|i| pos + i)
                    .ok_or_else(|| err(start, truncated_page()))?;
                pos = tag_end + 1;
                if buf[tag_end - 1] != b'/' {
                    pos = skip_element_rest(buf, pos, name, start)?;
                }
            }
        }
    };
    let (_, title) = title.ok_or_else(|| err(start, "page has no <title>".into()))?;
    let ns = ns.ok_or_else(|| err(start, "page has no <ns>".into()))?;
    Ok(PageHeader { title, ns, id, redirect, body_from })
}

fn truncated_page() -> String {
    "page is cut off: no </page> before the end of the file (truncated dump?)".into()
}

/// `<name>text</name>` starting at `pos`: returns the text's range and the
/// offset after the closing tag.
fn simple_element(
    buf: &[u8],
    pos: usize,
    name: &[u8],
    name_end: usize,
) -> Result<(std::ops::Range<usize>, usize), DumpError> {
    let err = |at: usize, message: String| DumpError { offset: at as u64, message };
    let tag = String::from_utf8_lossy(name);
    if buf[name_end] != b'>' {
        if buf[name_end..].starts_with(b"/>") {
            return Ok((name_end..name_end, name_end + 2));
        }
        return Err(err(pos, format!("<{tag}> must not have attributes")));
    }
    let from = name_end + 1;
    let close = memchr::memchr(b'<', &buf[from..])
        .map(|i| from + i)
        .ok_or_else(|| err(pos, format!("<{tag}> is cut off at the end of the file")))?;
    let rest = &buf[close..];
    if !(rest.len() >= name.len() + 3
        && rest[1] == b'/'
        && &rest[2..2 + name.len()] == name
        && rest[2 + name.len()] == b'>')
    {
        return Err(err(close, format!("expected </{tag}>, found {}", snippet(buf, close))));
    }
    Ok((from..close, close + name.len() + 3))
}

/// Skips to just after `</name>`.
/// Skips to just after `</name>`, which must come before this page ends:
/// a damaged close tag must not swallow the pages after it.
fn skip_element_rest(buf: &[u8], pos: usize, name: &[u8], start: usize) -> Result<usize, DumpError> {
    let mut close = Vec::with_capacity(name.len() + 3);
    close.extend_from_slice(b"</");
    close.extend_from_slice(name);
    close.push(b'>');
    let found = memmem::find(&buf[pos..], &close).map(|i| pos + i);
    let limit = found.unwrap_or(buf.len());
    let page_end = [&b"</page>"[..], b"<page>", b"</mediawiki>"]
        .iter()
        .filter_map(|t| memmem::find(&buf[pos..limit], t))
        .min();
    match (found, page_end) {
        (Some(at), None) => Ok(at + close.len()),
        (_, Some(i)) => Err(DumpError {
            offset: (pos + i) as u64,
            message: format!(
                "<{}> in the header of the page at byte {start} is not closed before the page ends",
                String::from_utf8_lossy(name)
            ),
        }),
        (None, None) => Err(DumpError { offset: start as u64, message: truncated_page() }),
    }
}

/// The unescaped `title` attribute of a `<redirect …>` tag whose attribute
/// text (after the name) is `attrs`, located and decoded by quick-xml.
fn redirect_target(attrs: &[u8], at: usize) -> Result<String, DumpError> {
    let err = |message: String| DumpError { offset: at as u64, message };
    let attrs = std::str::from_utf8(attrs)
        .map_err(|e| err(format!("<redirect> is not valid UTF-8 (bad byte at +{})", e.valid_up_to())))?;
    let tag = quick_xml::events::BytesStart::from_content(attrs, 0);
    let attr = tag
        .try_get_attribute("title")
        .map_err(|e| err(format!("<redirect> has malformed attributes: {e}")))?
        .ok_or_else(|| err("<redirect> has no title attribute".into()))?;
    let raw = std::str::from_utf8(&attr.value).unwrap_or_default();
    Ok(check_title(raw, at, "redirect target")?.into_owned())
}

/// Validates and unescapes a title (or redirect target) at `content`.
fn unescape_title<'a>(
    buf: &'a [u8],
    content: std::ops::Range<usize>,
    at: usize,
    what: &str,
) -> Result<Cow<'a, str>, DumpError> {
    let raw = std::str::from_utf8(&buf[content]).map_err(|e| DumpError {
        offset: at as u64,
        message: format!("{what} is not valid UTF-8 (bad byte at +{})", e.valid_up_to()),
    })?;
    check_title(raw, at, what)
}

/// Unescapes `raw` and checks the title rules that need no site info: not
/// empty, at most [`MAX_FULL_TITLE_BYTES`] (the namespace-aware limit is
/// [`TitleRules`](super::TitleRules)'s, which knows the namespace names).
fn check_title<'a>(raw: &'a str, at: usize, what: &str) -> Result<Cow<'a, str>, DumpError> {
    let err = |message: String| DumpError { offset: at as u64, message };
    let text =
        quick_xml::escape::unescape(raw).map_err(|e| err(format!("{what} has a bad XML entity: {e}")))?;
    if text.is_empty() {
        return Err(err(format!("{what} is empty")));
    }
    if text.len() > MAX_FULL_TITLE_BYTES {
        return Err(err(format!(
            "{what} is {} bytes long; MediaWiki titles are at most {MAX_TITLE_BYTES} bytes after a namespace prefix",
            text.len()
        )));
    }
    Ok(text)
}

/// Offset of the final `>` of this page's `</page>`, scanning tags from
/// `from`. A `<page>` or `</mediawiki>` first means the page is unclosed.
pub(crate) fn find_page_end(buf: &[u8], start: usize, from: usize) -> Result<usize, DumpError> {
    let mut pos = from;
    while let Some(i) = memchr::memchr(b'<', &buf[pos..]) {
        let at = pos + i;
        let rest = &buf[at..];
        if rest.starts_with(b"</page>") {
            return Ok(at + b"</page>".len() - 1);
        }
        if rest.starts_with(b"<page>") || rest.starts_with(b"</mediawiki>") {
            return Err(DumpError {
                offset: at as u64,
                message: format!("page starting at byte {start} has no </page> before this tag"),
            });
        }
        pos = at + 1;
    }
    Err(DumpError { offset: start as u64, message: truncated_page() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(xml: &str) -> Result<ScannedPage<'_>, DumpError> {
        parse_page(xml.as_bytes(), 0)
    }

    #[test]
    fn parses_header_fields_and_exact_end() {
        let xml = "<page>\n    <title>AT&amp;T</title>\n    <ns>0</ns>\n    <id>7</id>\n    <redirect title=\"A &quot;B&quot; &lt;C&gt;\" />\n    <revision><text xml:space=\"preserve\">#REDIRECT [[x]] &lt;page&gt;</text></revision>\n  </page>\n";
        let p = page(xml).unwrap();
        assert_eq!(p.title, "AT&T");
        assert_eq!(p.ns, 0);
        assert_eq!(p.redirect.as_deref(), Some("A \"B\" <C>"));
        assert_eq!(p.start, 0);
        assert_eq!(&xml[..=p.end as usize], xml.trim_end());
    }

    #[test]
    fn non_ascii_and_namespaces_and_no_redirect() {
        let xml = "<page><title>Talk:Zürich 東京</title><ns>1</ns><revision><text /></revision></page>";
        let p = page(xml).unwrap();
        assert_eq!(p.title, "Talk:Zürich 東京");
        assert_eq!((p.ns, p.redirect), (1, None));
        assert_eq!(p.end as usize, xml.len() - 1);
    }

    #[test]
    fn restrictions_and_unknown_elements_are_skipped() {
        let xml = "<page><title>A</title><ns>0</ns><id>1</id><restrictions>edit=sysop</restrictions><foo a=\"1\"/><revision></revision></page>";
        assert_eq!(page(xml).unwrap().title, "A");
    }

    #[test]
    fn bad_pages_are_errors_with_offsets() {
        let cases: &[(&str, &str)] = &[
            ("<page><ns>0</ns><revision></revision></page>", "no <title>"),
            ("<page><title></title><ns>0</ns><revision></revision></page>", "empty"),
            ("<page><title>A</title><revision></revision></page>", "no <ns>"),
            ("<page><title>A</title><ns>x</ns><revision></revision></page>", "not a number"),
            ("<page><title>A</title><ns>0</ns><revision><text>abc", "cut off"),
            ("<page><title>A</title><ns>0</ns><revision></revision>\n<page>", "no </page>"),
            ("<page><title>A</title><ns>0</ns><revision></revision></mediawiki>", "no </page>"),
            ("<page><title>A &bogus; B</title><ns>0</ns><revision></revision></page>", "entity"),
            ("<page><title>A</title><title>B</title><ns>0</ns><revision></revision></page>", "two"),
            (
                "<page><title>A</title><ns>0</ns><redirect /><revision></revision></page>",
                "no title attribute",
            ),
            ("<page><title>A", "cut off"),
            ("<page><title>A<x></title>", "expected </title>"),
        ];
        for (xml, want) in cases {
            let e = page(xml).unwrap_err();
            assert!(e.message.contains(want), "{xml:?}: got {:?}", e.message);
        }
        let long = format!("<page><title>{}</title><ns>0</ns><revision></revision></page>", "é".repeat(256));
        assert!(page(&long).unwrap_err().message.contains("512 bytes"));
        let mut bad = b"<page><title>A\xff</title><ns>0</ns><revision></revision></page>".to_vec();
        assert!(parse_page(&bad, 0).unwrap_err().message.contains("UTF-8"));
        bad.clear();
    }

    #[test]
    fn a_page_without_revision_ends_at_its_own_close_tag() {
        let xml = "<page><title>A</title><ns>0</ns><id>2</id></page><page>";
        let p = page(xml).unwrap();
        assert_eq!(&xml[..=p.end as usize], "<page><title>A</title><ns>0</ns><id>2</id></page>");
    }

    #[test]
    fn a_damaged_header_element_does_not_swallow_the_next_page() {
        let xml = "<page><title>A</title><ns>0</ns><restrictions>x</restrictionz><revision></revision></page>\n<page><title>B</title><ns>0</ns><restrictions>y</restrictions><revision></revision></page>";
        let e = page(xml).unwrap_err();
        assert!(e.message.contains("<restrictions>") && e.message.contains("not closed"), "{e:?}");
    }

    #[test]
    fn titles_of_exactly_255_bytes_are_accepted() {
        let xml = format!("<page><title>{}</title><ns>0</ns><revision></revision></page>", "a".repeat(255));
        assert_eq!(page(&xml).unwrap().title.len(), 255);
    }
}
