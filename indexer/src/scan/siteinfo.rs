//! The dump's prologue: encoding checks, the `<mediawiki>` root tag and the
//! `<siteinfo>` block (case rule and namespaces), parsed with quick-xml.

use super::DumpError;
use super::page::{skip_ws, snippet};
use crate::format::{Namespace, SiteInfo};
use memchr::memmem;
use quick_xml::events::Event;

/// What precedes the first page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prologue {
    /// The parsed `<siteinfo>`, or the default when the dump has none.
    pub site: SiteInfo,
    /// Offset just after `</siteinfo>` (or the root tag): pages follow.
    pub body_start: usize,
}

fn err(offset: usize, message: impl Into<String>) -> DumpError {
    DumpError { offset: offset as u64, message: message.into() }
}

/// Checks the encoding and root element and parses `<siteinfo>`.
pub fn parse_prologue(buf: &[u8]) -> Result<Prologue, DumpError> {
    let mut pos = 0;
    match buf {
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => {
            return Err(err(
                0,
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark); MediaWiki dumps are UTF-8: convert it with `iconv -f UTF-16 -t UTF-8`",
            ));
        }
        [0xEF, 0xBB, 0xBF, ..] => pos = 3,
        [b'B', b'Z', b'h', ..] => {
            return Err(err(0, "the file is bzip2-compressed; decompress it first (`bunzip2 -k FILE`)"));
        }
        [0x1F, 0x8B, ..] => {
            return Err(err(0, "the file is gzip-compressed; decompress it first (`gunzip -k FILE`)"));
        }
        _ => {}
    }
    pos = skip_ws(buf, pos);
    if buf[pos..].starts_with(b"<?xml") {
        let end = memmem::find(&buf[pos..], b"?>")
            .ok_or_else(|| err(pos, "unterminated <?xml ...?> declaration"))?;
        pos = skip_ws(buf, pos + end + 2);
    }
    let is_root = buf[pos..].starts_with(b"<mediawiki")
        && matches!(buf.get(pos + 10), Some(b' ' | b'>' | b'\n' | b'\t' | b'\r'));
    if !is_root {
        let found = if pos >= buf.len() { "an empty file".to_string() } else { snippet(buf, pos) };
        return Err(err(pos, format!("not a MediaWiki XML dump: expected <mediawiki>, found {found}")));
    }
    let root_end = memchr::memchr(b'>', &buf[pos..])
        .map(|i| pos + i + 1)
        .ok_or_else(|| err(pos, "the <mediawiki> tag is cut off"))?;
    let at = skip_ws(buf, root_end);
    if !buf[at..].starts_with(b"<siteinfo>") {
        return Ok(Prologue { site: SiteInfo::default(), body_start: root_end });
    }
    let close = memmem::find(&buf[at..], b"</siteinfo>")
        .map(|i| at + i + b"</siteinfo>".len())
        .ok_or_else(|| err(at, "<siteinfo> is never closed"))?;
    let site = parse_siteinfo(&buf[at..close]).map_err(|(off, m)| err(at + off, m))?;
    Ok(Prologue { site, body_start: close })
}

fn parse_siteinfo(xml: &[u8]) -> Result<SiteInfo, (usize, String)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut site = SiteInfo::default();
    let bad = |reader: &quick_xml::Reader<&[u8]>, e: &dyn std::fmt::Display| {
        (reader.buffer_position() as usize, format!("malformed <siteinfo>: {e}"))
    };
    loop {
        let event = reader.read_event().map_err(|e| bad(&reader, &e))?;
        match event {
            Event::Start(tag) => {
                let name = tag.name().as_ref().to_vec();
                match name.as_slice() {
                    b"dbname" | b"case" => {
                        let text = reader.read_text(tag.name()).map_err(|e| bad(&reader, &e))?;
                        let text = unescape(&text).map_err(|e| bad(&reader, &e))?;
                        if name == b"dbname" { site.dbname = text } else { site.case = text }
                    }
                    b"namespace" => {
                        let mut ns = namespace(&tag).map_err(|e| bad(&reader, &e))?;
                        let text = reader.read_text(tag.name()).map_err(|e| bad(&reader, &e))?;
                        ns.name = unescape(&text).map_err(|e| bad(&reader, &e))?;
                        site.namespaces.push(ns);
                    }
                    _ => {}
                }
            }
            Event::Empty(tag) if tag.name().as_ref() == b"namespace" => {
                site.namespaces.push(namespace(&tag).map_err(|e| bad(&reader, &e))?);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(site)
}

fn unescape(raw: &str) -> Result<String, quick_xml::escape::EscapeError> {
    quick_xml::escape::unescape(raw).map(|c| c.trim().to_string())
}

fn namespace(tag: &quick_xml::events::BytesStart<'_>) -> Result<Namespace, String> {
    let attr = |name: &str| -> Result<Option<String>, String> {
        match tag.try_get_attribute(name).map_err(|e| e.to_string())? {
            Some(a) => Ok(Some(a.unescape_value().map_err(|e| e.to_string())?.into_owned())),
            None => Ok(None),
        }
    };
    let key = attr("key")?.ok_or("<namespace> without key")?;
    let key = key.trim().parse().map_err(|_| format!("namespace key {key:?} is not a number"))?;
    let case = attr("case")?.unwrap_or_else(|| "first-letter".to_string());
    Ok(Namespace { key, case, name: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_enwiki_style_siteinfo() {
        let xml = br#"<mediawiki xmlns="x" version="0.10">
  <siteinfo>
    <dbname>enwiki</dbname>
    <case>first-letter</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Talk</namespace>
      <namespace key="2302" case="case-sensitive">Gadget definition</namespace>
    </namespaces>
  </siteinfo>
  <page>"#;
        let p = parse_prologue(xml).unwrap();
        assert_eq!(p.site.dbname, "enwiki");
        assert!(p.site.first_letter());
        assert_eq!(p.site.namespaces.len(), 3);
        assert_eq!(p.site.namespaces[1].name, "Talk");
        assert_eq!(p.site.namespaces[2].case, "case-sensitive");
        assert!(xml[p.body_start..].trim_ascii_start().starts_with(b"<page>"));
    }

    #[test]
    fn refuses_what_is_not_a_utf8_mediawiki_dump() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xFF\xFE<\x00m\x00", "UTF-16"),
            (b"\xFE\xFF\x00<", "UTF-16"),
            (b"BZh91AY&SY", "bzip2"),
            (b"\x1F\x8B\x08", "gzip"),
            (b"", "empty file"),
            (b"<html><body>", "not a MediaWiki XML dump"),
            (b"<?xml version=\"1.0\"?>\n<rss>", "not a MediaWiki XML dump"),
            (b"<mediawiki", "not a MediaWiki XML dump"),
            (b"<mediawiki version=\"1\"", "cut off"),
            (b"<mediawiki>\n<siteinfo><dbname>x", "never closed"),
        ];
        for (bytes, want) in cases {
            let e = parse_prologue(bytes).unwrap_err();
            assert!(e.message.contains(want), "{bytes:?}: {}", e.message);
        }
    }

    #[test]
    fn accepts_utf8_bom_xml_declaration_and_no_siteinfo() {
        let p = parse_prologue(b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<mediawiki>\n  <page>").unwrap();
        assert_eq!(p.site, SiteInfo::default());
    }
}
