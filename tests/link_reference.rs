//! A reference implementation of the link score of issue 21, written from
//! the rules for clarity rather than speed, so that the indexer's
//! scores can be checked against a second, independent reading of them.
//! See: issue 21 (link popularity scores).
//!
//! `score(P)` is the number of distinct pages, redirects excepted, whose
//! wikitext links to `P` directly or through one redirect to `P`:
//!
//! 1. The dump is read with quick-xml: `<siteinfo>`'s namespaces (names and
//!    `case`), then each page's `<title>`, `<redirect title=…/>` and the text
//!    of its last `<text>`, XML-unescaped.
//! 2. From the text, `<!-- … -->` comments are removed, and `<nowiki>`,
//!    `<pre>`, `<math>` and `<syntaxhighlight>` elements are replaced by a
//!    character no title may hold (MediaWiki's strip marker), whichever
//!    opens first; an unclosed comment runs to the end of the text, an
//!    unclosed tag is plain text.
//! 3. A link is `[[` up to the next `]]`, unless another `[[` comes first
//!    (then it is none, and the inner one is looked at next: this is how
//!    links in a file caption count while the embed does not). Its target
//!    is what precedes the first `|`, and must hold only characters
//!    MediaWiki allows in a link target.
//! 4. The target is normalized: HTML entities decoded, the `#` fragment
//!    dropped, `_` read as space, whitespace runs collapsed, trimmed; a
//!    leading `:` noted and dropped; a prefix before `:` that names a
//!    namespace of the siteinfo (any case, or `Image` for `File`) becomes
//!    that namespace's name, any other prefix stays part of the title; the
//!    first letter is uppercased where the namespace's case is first-letter.
//! 5. Without the leading `:`, a link into Category is a membership and one
//!    into File an embed: neither is a link.
//! 6. A target that is a redirect page stands for the redirect's target (one
//!    hop). Targets that are no page of the dump, the linking page itself
//!    and redirects (whose score is 0) get nothing; a source counts once
//!    per final target.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The score of every page title of the dump `xml`, redirects included
/// (with 0).
pub fn scores(xml: &[u8]) -> BTreeMap<String, u32> {
    let dump = Dump::parse(xml);
    let redirect_of: HashMap<&str, Option<&str>> =
        dump.pages.iter().map(|p| (p.title.as_str(), p.redirect.as_deref())).collect();
    let mut scores: BTreeMap<String, u32> = dump.pages.iter().map(|p| (p.title.clone(), 0)).collect();
    for page in dump.pages.iter().filter(|p| p.redirect.is_none()) {
        let mut targets = BTreeSet::new();
        for link in link_targets(&strip_unlinked(&page.text)) {
            let Some(target) = dump.site.normalize(link) else { continue };
            if !target.leading_colon && (target.ns == NS_CATEGORY || target.ns == NS_FILE) {
                continue;
            }
            let Some(&redirect) = redirect_of.get(target.title.as_str()) else { continue };
            let last = redirect.unwrap_or(&target.title);
            let is_article = redirect_of.get(last).is_some_and(|r| r.is_none());
            if is_article && last != page.title {
                targets.insert(last.to_string());
            }
        }
        for t in targets {
            *scores.get_mut(&t).expect("a page of the dump") += 1;
        }
    }
    scores
}

pub const NS_FILE: i32 = 6;
pub const NS_CATEGORY: i32 = 14;

/// A parsed dump: what the score needs of it.
#[derive(Debug, Default)]
pub struct Dump {
    pub site: Site,
    pub pages: Vec<Page>,
}

#[derive(Debug, Default, Clone)]
pub struct Page {
    pub title: String,
    pub redirect: Option<String>,
    pub text: String,
}

/// The namespaces of `<siteinfo>`.
#[derive(Debug, Clone)]
pub struct Site {
    /// Case rule of namespaces that do not state one.
    pub first_letter: bool,
    pub namespaces: Vec<Namespace>,
}

#[derive(Debug, Clone)]
pub struct Namespace {
    pub key: i32,
    /// Empty for the main namespace.
    pub name: String,
    pub first_letter: bool,
}

impl Default for Site {
    fn default() -> Self {
        Site { first_letter: true, namespaces: Vec::new() }
    }
}

/// A link target after normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The title as a page of the dump would spell it.
    pub title: String,
    pub ns: i32,
    /// Written `[[:…]]`: a link even into Category or File.
    pub leading_colon: bool,
}

impl Dump {
    /// Reads the siteinfo and the pages of `xml`. Panics on malformed XML:
    /// the reference only reads dumps that tests built.
    pub fn parse(xml: &[u8]) -> Dump {
        let mut reader = Reader::from_reader(xml);
        let mut dump = Dump::default();
        let mut path: Vec<String> = Vec::new();
        let mut text = String::new();
        let mut namespace: Option<Namespace> = None;
        let mut page = Page::default();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) => {
                    let name = tag_name(&e);
                    text.clear();
                    match name.as_str() {
                        "namespace" => namespace = Some(namespace_of(&e, &dump.site)),
                        "page" => page = Page::default(),
                        _ => {}
                    }
                    path.push(name);
                }
                Event::Empty(e) => match tag_name(&e).as_str() {
                    "namespace" => dump.site.namespaces.push(namespace_of(&e, &dump.site)),
                    "redirect" => page.redirect = Some(attribute(&e, "title").unwrap_or_default()),
                    "text" => page.text.clear(),
                    _ => {}
                },
                Event::Text(t) => text.push_str(&t.decode().expect("UTF-8")),
                Event::CData(c) => text.push_str(&String::from_utf8_lossy(&c)),
                Event::GeneralRef(r) => {
                    if let Some(c) = r.resolve_char_ref().expect("a valid character reference") {
                        text.push(c);
                    } else {
                        let name = r.decode().expect("UTF-8");
                        let value =
                            quick_xml::escape::resolve_predefined_entity(&name).expect("an XML entity");
                        text.push_str(value);
                    }
                }
                Event::End(_) => {
                    let name = path.pop().expect("balanced tags");
                    let parent = path.last().map(String::as_str);
                    match (parent, name.as_str()) {
                        (Some("siteinfo"), "case") => dump.site.first_letter = text == "first-letter",
                        (Some("namespaces"), "namespace") => {
                            if let Some(mut ns) = namespace.take() {
                                ns.name = text.clone();
                                dump.site.namespaces.push(ns);
                            }
                        }
                        (Some("page"), "title") => page.title = text.clone(),
                        (Some("revision"), "text") => page.text = text.clone(),
                        (_, "page") => dump.pages.push(std::mem::take(&mut page)),
                        _ => {}
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        dump
    }
}

fn tag_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let attr = e.try_get_attribute(name).expect("well-formed attributes")?;
    Some(attr.unescape_value().expect("well-formed attribute value").into_owned())
}

fn namespace_of(e: &BytesStart<'_>, site: &Site) -> Namespace {
    let key = attribute(e, "key").and_then(|k| k.parse().ok()).unwrap_or(0);
    let first_letter = attribute(e, "case").map_or(site.first_letter, |c| c == "first-letter");
    Namespace { key, name: String::new(), first_letter }
}

/// Tags whose content is not wikitext: nothing in them links.
const UNLINKED_TAGS: [&str; 4] = ["nowiki", "pre", "math", "syntaxhighlight"];
/// What stands where an unlinked element was (MediaWiki leaves a strip
/// marker there): no link target may hold it.
const STRIP_MARKER: char = '\u{7f}';

/// `text` without comments and unlinked elements (see the module doc, 2.).
pub fn strip_unlinked(text: &str) -> String {
    // Tag names match in any case; ASCII lowercasing keeps byte offsets.
    let lower = text.to_ascii_lowercase();
    let mut out = String::new();
    let mut at = 0;
    while let Some(lt) = text[at..].find('<') {
        out.push_str(&text[at..at + lt]);
        at += lt;
        if text[at..].starts_with("<!--") {
            match text[at + 4..].find("-->") {
                Some(end) => at += 4 + end + 3,
                None => return out,
            }
        } else if let Some(after) = unlinked_element_end(&lower, at) {
            out.push(STRIP_MARKER);
            at = after;
        } else {
            out.push('<');
            at += 1;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// If an unlinked element that is closed (or self-closing) opens at byte
/// `at` of `lower`, the offset just past it.
fn unlinked_element_end(lower: &str, at: usize) -> Option<usize> {
    let tag = UNLINKED_TAGS.into_iter().find(|tag| {
        lower[at + 1..].starts_with(tag)
            && lower[at + 1 + tag.len()..].starts_with(['>', '/', ' ', '\t', '\n'])
    })?;
    let open_end = at + lower[at..].find('>')?;
    if lower[..open_end].ends_with('/') {
        return Some(open_end + 1);
    }
    let closing = format!("</{tag}");
    let mut from = open_end + 1;
    while let Some(found) = lower[from..].find(&closing) {
        let after_name = from + found + closing.len();
        let spaces = lower[after_name..].len() - lower[after_name..].trim_start().len();
        if lower[after_name + spaces..].starts_with('>') {
            return Some(after_name + spaces + 1);
        }
        from = after_name;
    }
    None
}

/// The raw target of every link of `text` (see the module doc, 3.), in order.
pub fn link_targets(text: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("[[") {
        let inside = from + open + 2;
        let rest = &text[inside..];
        if let Some(close) = rest.find("]]")
            && rest.find("[[").is_none_or(|nested| nested > close)
        {
            let link = &rest[..close];
            targets.push(link.split('|').next().unwrap_or(link));
        }
        from = inside;
    }
    targets
}

/// Characters MediaWiki does not allow in a link's target as written
/// (`#` and `%` are: fragment and percent-encoding).
fn illegal_in_target(c: char) -> bool {
    matches!(c, '<' | '>' | '[' | ']' | '{' | '}' | '|') || c.is_control()
}

/// Whitespace MediaWiki folds into one space in titles, `_` included.
fn title_space(c: char) -> bool {
    matches!(c, ' ' | '_' | '\u{a0}' | '\u{1680}' | '\u{180e}' | '\u{2000}'..='\u{200a}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

impl Site {
    fn namespace_named(&self, prefix: &str) -> Option<&Namespace> {
        let wanted = prefix.to_lowercase();
        let wanted = if wanted == "image" { self.by_key(NS_FILE)?.name.to_lowercase() } else { wanted };
        self.namespaces.iter().find(|ns| ns.key != 0 && ns.name.to_lowercase() == wanted)
    }

    fn by_key(&self, key: i32) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| ns.key == key)
    }

    /// A raw link target as the title it names (see the module doc, 4.);
    /// `None` when it names no page (empty, or illegal characters).
    pub fn normalize(&self, raw: &str) -> Option<Target> {
        if raw.chars().any(illegal_in_target) {
            return None;
        }
        let decoded = decode_entities(raw);
        let without_fragment = decoded.split('#').next().unwrap_or("");
        let mut spaced = String::new();
        for c in without_fragment.chars() {
            if !title_space(c) {
                spaced.push(c);
            } else if !spaced.ends_with(' ') {
                spaced.push(' ');
            }
        }
        let mut s = spaced.trim();
        let leading_colon = s.starts_with(':');
        if leading_colon {
            s = s[1..].trim_start();
        }
        let (ns, name) = match s.split_once(':') {
            Some((prefix, rest)) => match self.namespace_named(prefix.trim()) {
                Some(ns) => (Some(ns), rest.trim()),
                None => (None, s),
            },
            None => (None, s),
        };
        if name.is_empty() || name.chars().any(|c| illegal_in_target(c) || c == STRIP_MARKER) {
            return None;
        }
        let key = ns.map_or(0, |ns| ns.key);
        let first_letter = ns.or_else(|| self.by_key(0)).map_or(self.first_letter, |ns| ns.first_letter);
        let mut title = ns.map(|ns| format!("{}:", ns.name)).unwrap_or_default();
        let mut chars = name.chars();
        if first_letter && let Some(first) = chars.next() {
            title.extend(first.to_uppercase());
            title.push_str(chars.as_str());
        } else {
            title.push_str(name);
        }
        Some(Target { title, ns: key, leading_colon })
    }
}

/// The named HTML entities decoded in link targets; others stay as written.
const ENTITIES: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("ndash", "–"),
    ("mdash", "—"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("hellip", "…"),
    ("eacute", "é"),
    ("uuml", "ü"),
    ("ouml", "ö"),
    ("auml", "ä"),
    ("szlig", "ß"),
];

/// `s` with HTML character references (`&amp;`, `&#39;`, `&#x41;`) decoded.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').and_then(|semi| {
            let name = &after[..semi];
            let value = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).map(String::from)
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse().ok().and_then(char::from_u32).map(String::from)
            } else {
                ENTITIES.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
            };
            value.map(|v| (v, semi + 1))
        });
        match decoded {
            Some((value, len)) => {
                out.push_str(&value);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump with enwiki-like namespaces (and one case-sensitive one)
    /// around `pages`: `(title, redirect target, wikitext)`.
    fn dump(pages: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut xml = String::from(
            "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\" version=\"0.10\">\n  <siteinfo>\n    <case>first-letter</case>\n    <namespaces>\n      <namespace key=\"-2\" case=\"first-letter\">Media</namespace>\n      <namespace key=\"0\" case=\"first-letter\" />\n      <namespace key=\"1\" case=\"first-letter\">Talk</namespace>\n      <namespace key=\"3\" case=\"first-letter\">User talk</namespace>\n      <namespace key=\"6\" case=\"first-letter\">File</namespace>\n      <namespace key=\"10\" case=\"first-letter\">Template</namespace>\n      <namespace key=\"14\" case=\"first-letter\">Category</namespace>\n      <namespace key=\"2302\" case=\"case-sensitive\">Gadget definition</namespace>\n    </namespaces>\n  </siteinfo>\n",
        );
        for (id, (title, redirect, text)) in pages.iter().enumerate() {
            xml.push_str(&format!(
                "  <page>\n    <title>{}</title>\n    <ns>0</ns>\n    <id>{id}</id>\n",
                escape(title)
            ));
            if let Some(r) = redirect {
                xml.push_str(&format!("    <redirect title=\"{}\" />\n", escape(r)));
            }
            xml.push_str(&format!(
                "    <revision>\n      <id>1</id>\n      <text xml:space=\"preserve\">{}</text>\n    </revision>\n  </page>\n",
                escape(text)
            ));
        }
        xml.push_str("</mediawiki>\n");
        xml.into_bytes()
    }

    fn escape(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }

    /// Scores of `pages` (as in [`dump`]) for the titles in `of`.
    fn score_of(pages: &[(&str, Option<&str>, &str)], of: &[&str]) -> Vec<u32> {
        let all = scores(&dump(pages));
        of.iter().map(|t| *all.get(*t).unwrap_or_else(|| panic!("{t} is no page"))).collect()
    }

    #[test]
    fn every_page_has_a_score_and_links_count_once_per_source() {
        let pages = [
            ("A", None, "[[B]] and [[B]] again, [[B|label]], [[B#History]]."),
            ("B", None, "no links"),
            ("C", None, "[[B]] [[A]]"),
            ("R", Some("B"), "#REDIRECT [[B]]"),
        ];
        let all = scores(&dump(&pages));
        assert_eq!(all.keys().collect::<Vec<_>>(), ["A", "B", "C", "R"]);
        assert_eq!(score_of(&pages, &["A", "B", "C", "R"]), [1, 2, 0, 0]);
    }

    #[test]
    fn targets_are_normalized() {
        let pages = [
            ("Foo bar", None, ""),
            ("AT&T", None, ""),
            ("O'Brien", None, ""),
            ("Talk:Foo bar", None, ""),
            ("User talk:Ann", None, ""),
            ("Gadget definition:lower", None, ""),
            ("Gadget definition:Lower", None, ""),
            ("S1", None, "[[foo_bar]] [[AT&amp;T]] [[O&#39;Brien]] [[talk:foo  bar]]"),
            ("S2", None, "[[ Foo__bar ]] [[&#x41;T&amp;T]] [[TALK :_Foo bar]] [[user_talk:ann]]"),
            ("S3", None, "[[Foo\u{a0}bar]] [[Gadget definition:lower]] [[O&#39;Brien#Early life|him]]"),
        ];
        assert_eq!(
            score_of(
                &pages,
                &[
                    "Foo bar",
                    "AT&T",
                    "O'Brien",
                    "Talk:Foo bar",
                    "User talk:Ann",
                    "Gadget definition:lower",
                    "Gadget definition:Lower"
                ]
            ),
            [3, 2, 2, 2, 1, 1, 0]
        );
    }

    #[test]
    fn unknown_prefixes_are_part_of_the_title() {
        let pages =
            [("Fr:Foo", None, ""), ("Foo", None, ""), ("S", None, "[[fr:Foo]] [[:fr:foo]] [[de:Foo]]")];
        assert_eq!(score_of(&pages, &["Fr:Foo", "Foo"]), [1, 0]);
    }

    #[test]
    fn links_through_a_redirect_count_for_its_target_one_hop() {
        let pages = [
            ("T", None, ""),
            ("R", Some("T"), "#REDIRECT [[T]]"),
            ("R2", Some("R"), "#REDIRECT [[R]]"),
            ("Broken", Some("Nowhere"), "#REDIRECT [[Nowhere]]"),
            ("A", None, "[[R]]"),
            ("B", None, "[[R]] [[T]]"),
            ("C", None, "[[R2]] [[Broken]] [[Nowhere]]"),
        ];
        // C's link through two redirects stops at R, whose score is 0.
        assert_eq!(score_of(&pages, &["T", "R", "R2", "Broken"]), [2, 0, 0, 0]);
    }

    #[test]
    fn redirects_are_not_sources_and_self_links_do_not_count() {
        let pages = [
            ("A", None, "[[A]] [[a#top]] [[Self]]"),
            ("Self", Some("A"), "#REDIRECT [[A]] [[B]]"),
            ("B", None, "[[Self]]"),
        ];
        assert_eq!(score_of(&pages, &["A", "B"]), [1, 0]);
    }

    #[test]
    fn unlinked_tags_and_comments_hide_links() {
        let pages = [
            ("T", None, ""),
            ("U", None, ""),
            ("N", None, "<nowiki>[[T]]</nowiki> <NoWiki >[[T]]</nowiki > <pre>[[T]]</pre>"),
            ("M", None, "<math>[[T]]</math> <syntaxhighlight lang=\"text\">[[T]]</syntaxhighlight>"),
            ("C", None, "<!-- [[T]] --> <!--\n[[T]]\n--> [[U]] <!-- unclosed [[T]]"),
            ("X", None, "<nowiki><!-- </nowiki> [[U]] -->"),
            ("Y", None, "<nowiki/>[[U]] <pre unclosed [[U]]"),
            ("Z", None, "[[T<nowiki/>]] [[U<!-- c -->]]"),
        ];
        // X: the nowiki closes first, so `-->` is text and U is linked.
        // Z: a strip marker spoils T's target; a comment vanishes from U's.
        assert_eq!(score_of(&pages, &["T", "U"]), [0, 4]);
    }

    #[test]
    fn memberships_and_embeds_are_not_links_but_captions_are() {
        let pages = [
            ("Category:Rivers", None, ""),
            ("File:X.jpg", None, ""),
            ("B", None, ""),
            ("C", None, ""),
            (
                "M",
                None,
                "[[Category:Rivers]] [[category:rivers|sort]] [[File:X.jpg|thumb|a [[B]] c [[C|d]] e]]",
            ),
            ("L", None, "[[:Category:Rivers]] [[:File:X.jpg]]"),
            ("I", None, "[[Image:X.jpg|thumb|[[B]]]] [[:image:X.jpg]] [[ :category:Rivers|all]]"),
        ];
        assert_eq!(score_of(&pages, &["Category:Rivers", "File:X.jpg", "B", "C"]), [2, 2, 2, 1]);
    }

    #[test]
    fn links_in_templates_refs_and_tables_count() {
        let pages = [
            ("T", None, ""),
            ("A", None, "{{cite book |publisher=[[T]] |year=1999}}"),
            ("B", None, "text.<ref>{{cite web |title=[[T|x]]}}</ref>"),
            ("C", None, "{| class=\"wikitable\"\n|-\n| [[T]] || x\n|}"),
            ("D", None, "{{Main|T}}"),
        ];
        assert_eq!(score_of(&pages, &["T"]), [3]);
    }

    #[test]
    fn nested_and_unclosed_brackets_link_only_the_inner_link() {
        let pages = [
            ("A", None, ""),
            ("B", None, ""),
            ("C", None, ""),
            ("S", None, "[[A|x [[B]] y]] [[C was never closed"),
            ("T", None, "[[C and [[B]] [[A|[[B]]]]"),
        ];
        assert_eq!(score_of(&pages, &["A", "B", "C"]), [0, 2, 0]);
    }

    #[test]
    fn malformed_links_name_nothing() {
        let pages = [
            ("A", None, ""),
            ("S", None, "[[ ]] [[|x]] [[#only]] [[]] [[Category:]] [[A\nB]] [[&lt;A&gt;]] [[{{A}}]] [["),
        ];
        assert_eq!(score_of(&pages, &["A", "S"]), [0, 0]);
        for raw in [" ", "", "#only", "Category:", "A\nB", "&lt;A&gt;", "{{A}}", ":"] {
            assert_eq!(dump_site().normalize(raw), None, "{raw:?}");
        }
    }

    fn dump_site() -> Site {
        Dump::parse(&dump(&[])).site
    }

    #[test]
    fn normalize_names_the_namespace_and_the_colon() {
        let site = dump_site();
        let t = |title: &str, ns: i32, leading_colon: bool| {
            Some(Target { title: title.into(), ns, leading_colon })
        };
        assert_eq!(site.normalize(":category:foo_bar"), t("Category:Foo bar", 14, true));
        assert_eq!(site.normalize("Image:x.jpg"), t("File:X.jpg", 6, false));
        assert_eq!(site.normalize("media:x.jpg"), t("Media:X.jpg", -2, false));
        assert_eq!(site.normalize("Talk:Category:x"), t("Talk:Category:x", 1, false));
        assert_eq!(site.normalize(":foo"), t("Foo", 0, true));
        assert_eq!(site.normalize("ßtraße"), t("SStraße", 0, false));
        assert_eq!(site.normalize("Über &amp;nbsp;"), t("Über &nbsp;", 0, false));
        assert_eq!(site.normalize("naïve&#32;&#x5F;x"), t("Naïve x", 0, false));
    }

    #[test]
    fn strip_unlinked_keeps_the_rest() {
        assert_eq!(strip_unlinked("a<!--x-->b<pre>c</pre>d<p>e</p><math"), "ab\u{7f}d<p>e</p><math");
        assert_eq!(link_targets("[[A|b]] [[C#d]] [[E [[F]]"), ["A", "C#d", "F"]);
    }

    /// The generator's link structure, read by this reference: a clear top,
    /// most pages linked from few, links through redirects and to pages
    /// written after their source.
    #[test]
    fn generated_dumps_have_a_skewed_link_structure() {
        use wikidex_synth::{SynthConfig, generate};
        let mut xml = Vec::new();
        let mut order = HashMap::new();
        let mut redirects = 0usize;
        generate(&SynthConfig::new(2_000, 11), &mut xml, |p| {
            order.insert(p.title.to_string(), order.len());
            redirects += usize::from(p.redirect.is_some());
        })
        .unwrap();
        let all = scores(&xml);
        assert_eq!(all.len(), 2_000);
        let sources = 2_000 - redirects;
        let mut ranked: Vec<(&String, &u32)> = all.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top = *ranked[0].1 as usize;
        let tenth = *ranked[9].1 as usize;
        let median = *ranked[ranked.len() / 2].1 as usize;
        assert!(top * 3 >= sources, "top {top} of {sources} sources");
        assert!(
            tenth * 4 >= top && tenth * 20 <= top * 19,
            "10th {tenth}, top {top}: a slope, not a cliff or a plateau"
        );
        assert!(median * 50 <= top, "median {median}, top {top}");
        // Popular pages lie anywhere in the dump, so pages link forward.
        let late = ranked[..20].iter().filter(|(t, _)| order[*t] >= 1_000).count();
        assert!((3..=17).contains(&late), "{late} of the top 20 in the second half");
        // A link through a redirect counts: some score exceeds what direct links give.
        let dump = Dump::parse(&xml);
        let direct = scores_without_redirects(&dump);
        assert!(all.iter().any(|(t, s)| *s > direct[t]), "no link through a redirect counted");
    }

    /// Scores as if no redirect were followed (targets that are redirects
    /// count for nothing): the share that redirects bring is the difference.
    fn scores_without_redirects(dump: &Dump) -> BTreeMap<String, u32> {
        let redirects: BTreeSet<&str> =
            dump.pages.iter().filter(|p| p.redirect.is_some()).map(|p| p.title.as_str()).collect();
        let titles: BTreeSet<&str> = dump.pages.iter().map(|p| p.title.as_str()).collect();
        let mut out: BTreeMap<String, u32> = titles.iter().map(|t| (t.to_string(), 0)).collect();
        for page in dump.pages.iter().filter(|p| p.redirect.is_none()) {
            let linked: BTreeSet<String> = link_targets(&strip_unlinked(&page.text))
                .into_iter()
                .filter_map(|l| dump.site.normalize(l))
                .filter(|t| t.leading_colon || (t.ns != NS_CATEGORY && t.ns != NS_FILE))
                .map(|t| t.title)
                .filter(|t| {
                    titles.contains(t.as_str()) && !redirects.contains(t.as_str()) && *t != page.title
                })
                .collect();
            for t in linked {
                *out.get_mut(&t).unwrap() += 1;
            }
        }
        out
    }
}
