//! Deterministic, streaming generator of synthetic English-Wikipedia-shaped
//! XML dumps (the `pages-articles` export format, schema 0.10).
//!
//! [`generate`] writes a complete dump — the real enwiki `<mediawiki>` root
//! element and `<siteinfo>` block verbatim, then one `<page>` per index, then
//! `</mediawiki>` and a newline — with the same indentation, element order and
//! XML escaping as MediaWiki's own exporter, and reports every page's title,
//! namespace, id, redirect target and exact byte range as soon as it is
//! written.
//!
//! # What a dump contains
//!
//! - **Titles** are unique within a dump: each is built bijectively from the
//!   page index (bijective base-`n` digits of a scrambled index over a word
//!   list), then decorated. There are entity-escaped titles (`AT&T`,
//!   `"Heroes"`, `O'Brien`), non-ASCII titles (`Zürich`, `Ελλάδα`, `東京`,
//!   `Straße`), titles of exactly 255 bytes of UTF-8 after their namespace
//!   prefix (never more: MediaWiki's limit leaves the prefix out, so
//!   `Template:` + 255 bytes is legal), long shared prefixes (`List of `,
//!   `History of `, `1990s in `, …) and disambiguation suffixes.
//! - **Namespaces**: about 85% main (0); the rest Talk (1), User (2),
//!   Wikipedia (4), File (6), Template (10), Category (14) and Portal (100),
//!   the title carrying the prefix (`Category:Foo`).
//! - **Redirects**: about 38% of pages, each targeting another page of the
//!   same dump (mostly an earlier non-redirect), plus, in every block of 500
//!   indices, one chain of exactly 7 hops, one 2-cycle, one 3-cycle, one
//!   self-redirect and two redirects to titles that exist in no dump.
//! - **Sizes**: most texts are 1–20 KB; one page in every 5,000 is 1–2.5 MB;
//!   some pages have the empty `<text xml:space="preserve" />`.
//! - **Links**: every few hundred bytes of text (and in each article's lead,
//!   infobox and "See also"), links to pages of the dump, before or after
//!   the linking page, drawn with a skewed popularity: a few pages are
//!   linked from most pages, most pages from a few or none. They are
//!   spelled every way MediaWiki reads as the same title and stand in prose,
//!   `<ref>`s, template arguments, tables and file captions; some are not
//!   links at all (inside `<nowiki>`, `<pre>`, `<math>`,
//!   `<syntaxhighlight>` or a comment, nested, unclosed), and there are
//!   category memberships, file embeds, self-links, repeated links, links
//!   through redirects and links to titles no page has (see the `links`
//!   module).
//!
//! # Determinism
//!
//! The output is a pure function of ([`SynthConfig::pages`],
//! [`SynthConfig::seed`]): byte-identical on every run and platform. A
//! page's title, namespace, id and redirect target are a pure function of
//! `(seed, index)` alone (a ChaCha8 stream keyed by both), so the dump of `n`
//! pages has the first `n` pages of the dump of `m > n` pages; their text
//! differs, as links reach over the whole dump. A redirect's or a link's
//! target title is computed from the target's index without storing the
//! titles, but those of the most linked pages: memory use is bounded
//! whatever the page count.
//!
//! Article text is cut from a block of about 2 MiB of already-escaped wikitext
//! generated once from the seed, so output runs at memory speed.
//!
//! # Example
//!
//! ```
//! use wikidex_synth::{SynthConfig, generate};
//!
//! let mut dump = Vec::new();
//! let mut pages = Vec::new();
//! let summary = generate(&SynthConfig::new(100, 7), &mut dump, |p| {
//!     pages.push((p.title.to_owned(), p.start, p.end));
//! })?;
//! assert_eq!(summary.pages, 100);
//! assert_eq!(summary.bytes, dump.len() as u64);
//! assert!(dump.starts_with(b"<mediawiki "));
//! assert!(dump.ends_with(b"</mediawiki>\n"));
//! let (_, start, end) = &pages[0];
//! let page = &dump[*start as usize..=*end as usize];
//! assert!(page.starts_with(b"<page>") && page.ends_with(b"</page>"));
//! # Ok::<(), std::io::Error>(())
//! ```

#![deny(missing_docs)]

use std::io::{self, BufWriter, Write};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use links::{Passages, Popularity, push_link, push_red_link};

mod links;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SynthConfig {
    /// Number of `<page>` elements to write.
    pub pages: u64,
    /// Seed of every random choice; equal configs give byte-identical dumps.
    pub seed: u64,
    /// Article text length as a percentage of the realistic default (100).
    /// Smaller values make many-page dumps that fit on a disk, for measuring
    /// what depends on the page count rather than the byte count.
    pub text_percent: u32,
}

impl SynthConfig {
    /// `pages` pages from `seed`, with realistic text lengths.
    pub fn new(pages: u64, seed: u64) -> SynthConfig {
        SynthConfig { pages, seed, text_percent: 100 }
    }
}

/// One generated page, reported as soon as it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthPage<'a> {
    /// Unescaped title text including any namespace prefix, e.g. `AT&T`
    /// (written as `AT&amp;T`) or `Category:Foo`.
    pub title: &'a str,
    /// Namespace number, as written in `<ns>`.
    pub ns: i32,
    /// Page id, as written in the page's `<id>`; increases with the index.
    pub id: u64,
    /// Byte offset of the `<` of `<page>`.
    pub start: u64,
    /// Byte offset of the final `>` of `</page>` (inclusive).
    pub end: u64,
    /// Unescaped target title of `<redirect title="..." />`, if any.
    pub redirect: Option<&'a str>,
}

/// Totals of one [`generate`] run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynthSummary {
    /// Pages written.
    pub pages: u64,
    /// Pages written with a `<redirect />` element.
    pub redirects: u64,
    /// Bytes written in total, root element and siteinfo included.
    pub bytes: u64,
}

/// Writes a synthetic enwiki dump of `cfg.pages` pages to `out` and calls
/// `on_page` for every page right after its `</page>` is written.
///
/// `out` is wrapped in a buffer of its own, so pass a raw `File`. Memory use
/// is bounded (a few MiB) whatever the page count.
///
/// # Errors
///
/// Any error returned by `out`.
pub fn generate<W: Write>(
    cfg: &SynthConfig,
    out: W,
    mut on_page: impl FnMut(&SynthPage<'_>),
) -> io::Result<SynthSummary> {
    let synth = Synth::new(cfg.seed, cfg.text_percent, cfg.pages);
    let mut out = Out { w: BufWriter::with_capacity(1 << 20, out), pos: 0 };
    out.put(HEADER.as_bytes())?;
    let mut bufs = PageBufs::default();
    let mut redirects = 0;
    for i in 0..cfg.pages {
        let (start, end) = synth.write_page(i, &mut out, &mut bufs)?;
        redirects += u64::from(bufs.redirect);
        on_page(&SynthPage {
            title: &bufs.title,
            ns: bufs.ns,
            id: bufs.id,
            start,
            end,
            redirect: bufs.redirect.then_some(bufs.target.as_str()),
        });
    }
    out.put(b"</mediawiki>\n")?;
    out.w.flush()?;
    Ok(SynthSummary { pages: cfg.pages, redirects, bytes: out.pos })
}

/// The real enwiki root element and siteinfo block, verbatim.
const HEADER: &str = r#"<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>enwiki</dbname>
    <base>https://en.wikipedia.org/wiki/Main_Page</base>
    <generator>MediaWiki 1.27.0-wmf.22</generator>
    <case>first-letter</case>
    <namespaces>
      <namespace key="-2" case="first-letter">Media</namespace>
      <namespace key="-1" case="first-letter">Special</namespace>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Talk</namespace>
      <namespace key="2" case="first-letter">User</namespace>
      <namespace key="3" case="first-letter">User talk</namespace>
      <namespace key="4" case="first-letter">Wikipedia</namespace>
      <namespace key="5" case="first-letter">Wikipedia talk</namespace>
      <namespace key="6" case="first-letter">File</namespace>
      <namespace key="7" case="first-letter">File talk</namespace>
      <namespace key="8" case="first-letter">MediaWiki</namespace>
      <namespace key="9" case="first-letter">MediaWiki talk</namespace>
      <namespace key="10" case="first-letter">Template</namespace>
      <namespace key="11" case="first-letter">Template talk</namespace>
      <namespace key="12" case="first-letter">Help</namespace>
      <namespace key="13" case="first-letter">Help talk</namespace>
      <namespace key="14" case="first-letter">Category</namespace>
      <namespace key="15" case="first-letter">Category talk</namespace>
      <namespace key="100" case="first-letter">Portal</namespace>
      <namespace key="101" case="first-letter">Portal talk</namespace>
      <namespace key="108" case="first-letter">Book</namespace>
      <namespace key="109" case="first-letter">Book talk</namespace>
      <namespace key="118" case="first-letter">Draft</namespace>
      <namespace key="119" case="first-letter">Draft talk</namespace>
      <namespace key="446" case="first-letter">Education Program</namespace>
      <namespace key="447" case="first-letter">Education Program talk</namespace>
      <namespace key="710" case="first-letter">TimedText</namespace>
      <namespace key="711" case="first-letter">TimedText talk</namespace>
      <namespace key="828" case="first-letter">Module</namespace>
      <namespace key="829" case="first-letter">Module talk</namespace>
      <namespace key="2300" case="first-letter">Gadget</namespace>
      <namespace key="2301" case="first-letter">Gadget talk</namespace>
      <namespace key="2302" case="case-sensitive">Gadget definition</namespace>
      <namespace key="2303" case="case-sensitive">Gadget definition talk</namespace>
      <namespace key="2600" case="first-letter">Topic</namespace>
    </namespaces>
  </siteinfo>
"#;

/// Redirect-structure block: every `BLOCK` indices hold one of each special.
const BLOCK: u64 = 500;
/// One huge (≥ 1 MB) page in every `HUGE_BLOCK` indices, within its first 2,000.
const HUGE_BLOCK: u64 = 5_000;
/// Core indices from here on are never page titles: targets of broken redirects.
const MISSING_BASE: u64 = 1 << 40;
/// Bytes of pre-generated text between two passages with links.
const PASSAGE_GAP: std::ops::Range<u64> = 200..1_000;
/// Size of the pre-generated escaped wikitext block.
const CORPUS_BYTES: usize = 2 << 20;
/// Longest title, in bytes of UTF-8, after its namespace prefix.
const MAX_TITLE: usize = 255;
/// A prime larger than any word-list size: the multiplier of the title scrambler.
const SCRAMBLE_M: u64 = (1 << 61) - 1;
/// SHA-1 (base 36) of the empty text, as MediaWiki writes it.
const EMPTY_SHA1: &str = "phoiac9h4m842xq45sp7s6u21eteeq1";

/// Key domains of the per-index ChaCha streams.
const DOMAIN_META: u64 = 1;
const DOMAIN_CONTENT: u64 = 2;
const DOMAIN_CORPUS: u64 = 3;
const DOMAIN_PASSAGES: u64 = 4;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The ChaCha8 stream of `(seed, index, domain)`; distinct triples never collide.
fn stream(seed: u64, index: u64, domain: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    key[16..24].copy_from_slice(&domain.to_le_bytes());
    key[24..].copy_from_slice(b"wikidex!");
    ChaCha8Rng::from_seed(key)
}

/// wyrand: a small, fast generator for the many draws of article text,
/// seeded from a page's ChaCha stream. Integer arithmetic only, so its
/// output is the same on every platform.
struct Wyrand(u64);

impl RngCore for Wyrand {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xA076_1D64_78BD_642F);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xE703_7ED1_A0B4_28DB);
        (t as u64) ^ ((t >> 64) as u64)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }
}

fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len() as u32) as usize]
}

/// `true` with probability `per_mille / 1000`.
fn chance<R: Rng>(rng: &mut R, per_mille: u32) -> bool {
    rng.random_range(0..1000u32) < per_mille
}

fn ns_prefix(ns: i32) -> &'static str {
    match ns {
        1 => "Talk:",
        2 => "User:",
        4 => "Wikipedia:",
        6 => "File:",
        10 => "Template:",
        14 => "Category:",
        100 => "Portal:",
        _ => "",
    }
}

/// Appends `s` to `out` with MediaWiki's escaping (`& < > "`; `'` stays).
fn escape_into(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[last..i]);
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(&bytes[last..]);
}

/// Cuts `s` to at most `max` bytes at a char boundary, then trims trailing spaces.
fn cut_title(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    while s.ends_with(' ') {
        s.pop();
    }
}

/// The output stream with its byte position.
struct Out<W: Write> {
    w: BufWriter<W>,
    pos: u64,
}

impl<W: Write> Out<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn put_u64(&mut self, mut n: u64) -> io::Result<()> {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&buf[i..])
    }

    /// Writes `<tag>value</tag>\n` after `indent`.
    fn put_num_elem(&mut self, indent: &[u8], tag: &[u8], value: u64) -> io::Result<()> {
        self.put(indent)?;
        self.put(b"<")?;
        self.put(tag)?;
        self.put(b">")?;
        self.put_u64(value)?;
        self.put(b"</")?;
        self.put(tag)?;
        self.put(b">\n")
    }
}

/// Per-page scratch buffers, reused across pages.
#[derive(Default)]
struct PageBufs {
    title: String,
    target: String,
    redirect: bool,
    ns: i32,
    id: u64,
    /// Scratch for other titles (links) and escaped text pieces.
    other: String,
    /// Title of the article's first link, linked again by some footers.
    lead: String,
    lead_ns: i32,
    esc: Vec<u8>,
    raw: String,
}

/// The title-determining properties of an index (its META stream).
#[derive(Debug, Clone, Copy)]
struct Meta {
    ns: i32,
    deco: u32,
    year: u32,
    extra: u32,
    redirect: bool,
    long: bool,
    filler: u32,
}

/// What the block layout forces at an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    None,
    /// A redirect to this index (chain link, cycle member or self-loop).
    RedirectTo(u64),
    /// A redirect to a title that no page of any dump has.
    Missing,
    /// The article that ends a 7-hop chain.
    ChainEnd,
    /// Title padded to exactly 255 bytes after its namespace prefix.
    Exact255,
    /// An article with empty text.
    Empty,
    /// An article of 1–2.5 MB.
    Huge,
}

/// The pre-generated block of escaped wikitext and its cut points.
struct Corpus {
    text: Vec<u8>,
    /// Offsets of unit starts; every unit begins with a separator (space or
    /// newlines) and ends with non-space, outside any entity.
    bounds: Vec<u32>,
}

struct Synth {
    seed: u64,
    text_percent: u32,
    scramble_add: u64,
    corpus: Corpus,
    passages: Passages,
    links: Popularity,
}

impl Synth {
    /// The generator of the dump of `pages` pages from `seed`.
    fn new(seed: u64, text_percent: u32, pages: u64) -> Self {
        let mut synth = Synth {
            seed,
            text_percent,
            scramble_add: splitmix(seed ^ 0x7469_746C_6573),
            corpus: Corpus::new(seed),
            passages: Passages::new(seed),
            links: Popularity::new_empty(),
        };
        synth.links = Popularity::new(&synth, pages);
        synth
    }

    /// The title-determining properties of index `i`.
    fn meta(&self, i: u64) -> Meta {
        let mut rng = stream(self.seed, i, DOMAIN_META);
        let ns = match rng.random_range(0..10_000u32) {
            0..8_500 => 0,
            8_500..8_900 => 1,
            8_900..9_200 => 2,
            9_200..9_400 => 4,
            9_400..9_600 => 6,
            9_600..9_800 => 10,
            9_800..9_920 => 14,
            _ => 100,
        };
        Meta {
            ns,
            deco: rng.random_range(0..1000),
            year: rng.random_range(0..1000),
            extra: rng.random_range(0..1000),
            redirect: chance(&mut rng, 375),
            long: chance(&mut rng, 3),
            filler: rng.random_range(0..16),
        }
    }

    /// What the layout forces at index `i`. Within each block of 500 indices
    /// (offsets drawn per block from the seed): a 7-hop chain starting in
    /// 0..60 (7 redirects, then the article it ends at), a 2-cycle in 80..141,
    /// a 3-cycle in 160..222, a self-redirect in 240..280, broken redirects in
    /// 300..340 and 340..380, a 255-byte title in 400..440 and an empty text in
    /// 440..480. A huge page sits at offset 480..500 of one of the first four
    /// 500-blocks of every 5,000 indices.
    fn special(&self, i: u64) -> Special {
        let hb = i / HUGE_BLOCK;
        let h = splitmix(self.seed ^ splitmix(hb ^ 0x6875_6765));
        if i % HUGE_BLOCK == 500 * (h % 4) + 480 + (h >> 8) % 20 {
            return Special::Huge;
        }
        let b = i / BLOCK;
        let off = i % BLOCK;
        let h = |k: u64| splitmix(self.seed ^ splitmix(b.wrapping_mul(16) + k));
        let chain = h(1) % 60;
        let cycle2 = 80 + h(2) % 60;
        let cycle3 = 160 + h(3) % 60;
        let self_loop = 240 + h(4) % 40;
        let missing = [300 + h(5) % 40, 340 + h(6) % 40];
        let exact = 400 + h(7) % 40;
        let empty = 440 + h(8) % 40;
        if (chain..chain + 7).contains(&off) {
            Special::RedirectTo(i + 1)
        } else if off == chain + 7 {
            Special::ChainEnd
        } else if off == cycle2 {
            Special::RedirectTo(i + 1)
        } else if off == cycle2 + 1 {
            Special::RedirectTo(i - 1)
        } else if off == cycle3 || off == cycle3 + 1 {
            Special::RedirectTo(i + 1)
        } else if off == cycle3 + 2 {
            Special::RedirectTo(i - 2)
        } else if off == self_loop {
            Special::RedirectTo(i)
        } else if missing.contains(&off) {
            Special::Missing
        } else if off == exact {
            Special::Exact255
        } else if off == empty {
            Special::Empty
        } else {
            Special::None
        }
    }

    /// Whether page `i` is a redirect (page 0 is one only if forced).
    fn is_redirect(&self, i: u64) -> bool {
        self.redirect_with(i, &self.meta(i), self.special(i))
    }

    /// [`Synth::is_redirect`] from the index's meta and special already at hand.
    fn redirect_with(&self, i: u64, meta: &Meta, special: Special) -> bool {
        match special {
            Special::RedirectTo(_) | Special::Missing => true,
            Special::ChainEnd | Special::Empty | Special::Huge => false,
            Special::None | Special::Exact255 => i > 0 && meta.redirect,
        }
    }

    /// Appends the words of core index `c` (bijective base-`n` numeration of
    /// a scrambled index; a bijection within each word count).
    fn push_core(&self, c: u64, out: &mut String) {
        let n = WORDS.len() as u128;
        let mut rem = u128::from(c);
        let mut len = 1;
        let mut count = n;
        while rem >= count {
            rem -= count;
            len += 1;
            count *= n;
        }
        if count <= 1 << 64 {
            let m = u128::from(SCRAMBLE_M) % count;
            rem = (rem * m + u128::from(self.scramble_add) % count) % count;
        }
        for k in 0..len {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(WORDS[(rem % n) as usize]);
            rem /= n;
        }
    }

    /// Writes the title of index `i` into `out`; returns its namespace.
    fn title(&self, i: u64, out: &mut String) -> i32 {
        let meta = self.meta(i);
        let exact = self.special(i) == Special::Exact255;
        self.title_with(i, &meta, exact, out);
        meta.ns
    }

    fn title_with(&self, i: u64, m: &Meta, exact: bool, out: &mut String) {
        out.clear();
        out.push_str(ns_prefix(m.ns));
        let decade = if m.extra < 400 { 1990 } else { 1800 + 10 * (m.year % 22) };
        match m.ns {
            0 | 1 => {
                self.push_main(i, m, decade, out);
                if m.ns == 1 && m.extra >= 900 {
                    out.push_str("/Archive ");
                    out.push_str(ARCHIVES[(m.year % 12) as usize]);
                }
            }
            2 => {
                self.push_core(i, out);
                if m.deco < 150 {
                    out.push_str("/sandbox");
                }
            }
            4 => match m.deco {
                0..300 => {
                    out.push_str("WikiProject ");
                    self.push_core(i, out);
                }
                300..500 => {
                    out.push_str("Articles for deletion/");
                    self.push_core(i, out);
                }
                _ => self.push_core(i, out),
            },
            6 => {
                if m.deco < 200 {
                    out.push_str("Flag of ");
                }
                self.push_core(i, out);
                out.push_str(FILE_EXTS[(m.year % FILE_EXTS.len() as u32) as usize]);
            }
            10 => match m.deco {
                0..300 => {
                    out.push_str("Infobox ");
                    self.push_core(i, out);
                }
                300..500 => {
                    self.push_core(i, out);
                    out.push_str(" navbox");
                }
                _ => self.push_core(i, out),
            },
            14 => match m.deco {
                0..250 => {
                    out.push_str("People from ");
                    self.push_core(i, out);
                }
                250..400 => {
                    push_decade(decade, out);
                    out.push_str(" in ");
                    self.push_core(i, out);
                }
                400..550 => {
                    self.push_core(i, out);
                    out.push_str(" stubs");
                }
                _ => self.push_core(i, out),
            },
            _ => {
                self.push_core(i, out);
                if m.deco < 300 {
                    out.push_str("/Selected article");
                }
            }
        }
        let limit = ns_prefix(m.ns).len() + MAX_TITLE;
        if exact {
            pad_exact(out, m.filler as usize, limit);
        } else if m.long {
            out.push(' ');
            out.push_str(&FILLER_UTF8[word_start(FILLER_UTF8, m.filler as usize)..]);
        }
        cut_title(out, limit);
    }

    /// Main-namespace decorations: shared prefixes and parenthetical suffixes.
    fn push_main(&self, i: u64, m: &Meta, decade: u32, out: &mut String) {
        let year = 1920 + m.year % 97;
        let mut d = m.deco;
        for &(weight, prefix) in MAIN_PREFIXES {
            if d < weight {
                prefix.push(decade, year, out);
                self.push_core(i, out);
                return;
            }
            d -= weight;
        }
        self.push_core(i, out);
        for &(weight, suffix) in MAIN_SUFFIXES {
            if d < weight {
                suffix.push(decade, year, out);
                return;
            }
            d -= weight;
        }
    }

    /// Title of a page that exists in no dump (broken redirect target).
    fn missing_title(&self, i: u64, out: &mut String) {
        out.clear();
        self.push_core(MISSING_BASE + i, out);
        if i.is_multiple_of(3) {
            out.push_str(" (disambiguation)");
        }
    }

    /// Writes page `i`; returns its `(start, end)` and fills `bufs`.
    fn write_page<W: Write>(&self, i: u64, out: &mut Out<W>, bufs: &mut PageBufs) -> io::Result<(u64, u64)> {
        let meta = self.meta(i);
        let special = self.special(i);
        let mut rng = stream(self.seed, i, DOMAIN_CONTENT);
        self.title_with(i, &meta, special == Special::Exact255, &mut bufs.title);
        bufs.ns = meta.ns;
        bufs.id = 10 + 3 * i + splitmix(self.seed ^ i.rotate_left(17)) % 3;
        bufs.redirect = self.is_redirect(i);
        let mut target_ns = 0;
        if bufs.redirect {
            match special {
                Special::RedirectTo(j) => target_ns = self.title(j, &mut bufs.target),
                Special::Missing => self.missing_title(i, &mut bufs.target),
                _ => {
                    let mut j = 0;
                    for _ in 0..4 {
                        j = if rng.random_range(0..10u32) < 8 {
                            i - 1 - rng.random_range(0..i.min(2_000))
                        } else {
                            rng.random_range(0..i)
                        };
                        if !self.is_redirect(j) {
                            break;
                        }
                    }
                    target_ns = self.title(j, &mut bufs.target);
                }
            }
        }

        out.put(b"  ")?;
        let start = out.pos;
        out.put(b"<page>\n    <title>")?;
        put_escaped(out, &bufs.title, &mut bufs.esc)?;
        out.put(b"</title>\n")?;
        out.put_num_elem(b"    ", b"ns", meta.ns as u64)?;
        out.put_num_elem(b"    ", b"id", bufs.id)?;
        if bufs.redirect {
            out.put(b"    <redirect title=\"")?;
            put_escaped(out, &bufs.target, &mut bufs.esc)?;
            out.put(b"\" />\n")?;
        }
        out.put(b"    <revision>\n")?;
        let rev = rng.random_range(1_000_000..740_000_000u64);
        out.put_num_elem(b"      ", b"id", rev)?;
        if chance(&mut rng, 970) {
            let parent = rng.random_range(1..rev);
            out.put_num_elem(b"      ", b"parentid", parent)?;
        }
        put_timestamp(out, rng.random_range(979_516_800..1_461_974_400u64))?;
        match rng.random_range(0..10_000u32) {
            0..5 => out.put(b"      <contributor deleted=\"deleted\" />\n")?,
            5..1_200 => {
                out.put(b"      <contributor>\n        <ip>")?;
                put_ip(out, &mut rng, &mut bufs.raw)?;
                out.put(b"</ip>\n      </contributor>\n")?;
            }
            _ => {
                out.put(b"      <contributor>\n        <username>")?;
                let user = pick(&mut rng, USERS);
                put_escaped(out, user, &mut bufs.esc)?;
                out.put(b"</username>\n")?;
                let uid = rng.random_range(1..30_000_000u64);
                out.put_num_elem(b"        ", b"id", uid)?;
                out.put(b"      </contributor>\n")?;
            }
        }
        if chance(&mut rng, 200) {
            out.put(b"      <minor />\n")?;
        }
        match rng.random_range(0..10_000u32) {
            0..5 => out.put(b"      <comment deleted=\"deleted\" />\n")?,
            5..8_500 => {
                out.put(b"      <comment>")?;
                if bufs.redirect && chance(&mut rng, 400) {
                    bufs.raw.clear();
                    bufs.raw.push_str("[[WP:AES|←]]Redirected page to [[");
                    push_link_target(&bufs.target, target_ns, &mut bufs.raw);
                    bufs.raw.push_str("]]");
                    put_escaped(out, &bufs.raw, &mut bufs.esc)?;
                } else {
                    put_escaped(out, pick(&mut rng, COMMENTS), &mut bufs.esc)?;
                }
                out.put(b"</comment>\n")?;
            }
            _ => {}
        }
        out.put(b"      <model>wikitext</model>\n      <format>text/x-wiki</format>\n")?;

        let empty = special == Special::Empty || (!bufs.redirect && chance(&mut rng, 1));
        if empty {
            out.put(b"      <text xml:space=\"preserve\" />\n")?;
        } else {
            out.put(b"      <text xml:space=\"preserve\">")?;
            if bufs.redirect {
                self.put_redirect_text(out, &mut rng, bufs, target_ns)?;
            } else {
                self.put_article_text(out, &mut rng, bufs, special == Special::Huge)?;
            }
            out.put(b"</text>\n")?;
        }
        out.put(b"      <sha1>")?;
        if empty {
            out.put(EMPTY_SHA1.as_bytes())?;
        } else {
            put_sha1(out, &mut rng)?;
        }
        out.put(b"</sha1>\n    </revision>\n  </page>")?;
        let end = out.pos - 1;
        out.put(b"\n")?;
        Ok((start, end))
    }

    fn put_redirect_text<W: Write>(
        &self,
        out: &mut Out<W>,
        rng: &mut ChaCha8Rng,
        bufs: &mut PageBufs,
        target_ns: i32,
    ) -> io::Result<()> {
        let raw = &mut bufs.raw;
        raw.clear();
        raw.push_str(match rng.random_range(0..100u32) {
            0..90 => "#REDIRECT",
            90..95 => "#redirect",
            _ => "#Redirect",
        });
        if chance(rng, 950) {
            raw.push(' ');
        }
        raw.push_str("[[");
        push_link_target(&bufs.target, target_ns, raw);
        if chance(rng, 50) {
            raw.push('#');
            raw.push_str(pick(rng, HEADINGS));
        }
        raw.push_str("]]");
        match rng.random_range(0..100u32) {
            0..40 => {}
            40..70 => {
                raw.push_str("\n\n{{");
                raw.push_str(pick(rng, RCATS));
                raw.push_str("}}");
            }
            70..90 => raw.push_str(" {{R from CamelCase}}"),
            _ => raw.push_str("\n\n{{Redr|move|from CamelCase|up}}"),
        }
        put_escaped(out, raw, &mut bufs.esc)
    }

    fn put_article_text<W: Write>(
        &self,
        out: &mut Out<W>,
        rng: &mut ChaCha8Rng,
        bufs: &mut PageBufs,
        huge: bool,
    ) -> io::Result<()> {
        // Text takes a hundred draws and more per page: a fast generator.
        let rng = &mut Wyrand(rng.next_u64());
        let ns = bufs.ns;
        let name_at = ns_prefix(ns).len();
        let body = if huge {
            rng.random_range(1_000_000..2_500_000u64)
        } else {
            match ns {
                0 => match rng.random_range(0..1000u32) {
                    0..40 => rng.random_range(100..1_000),
                    40..970 => {
                        let lo = 1_000u64 << rng.random_range(0..5u32);
                        rng.random_range(lo..2 * lo).min(20_000)
                    }
                    _ => rng.random_range(20_000..150_000),
                },
                1 => rng.random_range(300..8_000),
                2 => rng.random_range(50..3_000),
                4 => rng.random_range(500..10_000),
                6 => rng.random_range(50..1_500),
                10 => rng.random_range(100..4_000),
                14 => rng.random_range(30..600),
                _ => rng.random_range(300..3_000),
            }
        };
        let body = if self.text_percent == 100 { body } else { body * u64::from(self.text_percent) / 100 };

        // Header, by namespace.
        let raw = &mut bufs.raw;
        raw.clear();
        let name = &bufs.title[name_at..];
        match ns {
            0 => {
                if chance(rng, 300) {
                    raw.push_str("{{Short description|");
                    push_words(rng, 2, 5, raw);
                    raw.push_str("}}\n");
                }
                if chance(rng, 200) {
                    raw.push_str("{{Infobox ");
                    raw.push_str(pick(rng, INFOBOXES));
                    raw.push_str("\n| name = ");
                    raw.push_str(name);
                    raw.push_str("\n| image = ");
                    raw.push_str(pick(rng, WORDS));
                    raw.push_str(".jpg\n| country = ");
                    self.push_popular_link(rng, &mut bufs.other, raw);
                    raw.push_str("\n| established = ");
                    push_num(rng.random_range(1000..2016u64), raw);
                    raw.push_str("\n}}\n");
                }
                raw.push_str("'''");
                raw.push_str(name);
                raw.push_str("''' is a ");
                push_words(rng, 1, 4, raw);
                raw.push_str(" in ");
                bufs.lead_ns = self.links.target(self, rng, &mut bufs.lead);
                push_link(rng, &bufs.lead, bufs.lead_ns, raw);
                raw.push('.');
            }
            1 => {
                raw.push_str("{{WikiProject banner shell|1=\n{{WikiProject ");
                raw.push_str(pick(rng, WORDS));
                raw.push_str("|class=");
                raw.push_str(pick(rng, &["Stub", "Start", "C", "B", "GA"]));
                raw.push_str("|importance=low}}\n}}\n\n== ");
                raw.push_str(pick(rng, HEADINGS));
                raw.push_str(" ==\nThe [[");
                raw.push_str(name);
                raw.push_str("]] article needs work.");
            }
            2 => {
                raw.push_str("{{User en}}\n{{User ");
                raw.push_str(pick(rng, WORDS));
                raw.push_str("}}\nHello, I am ");
                raw.push_str(pick(rng, USERS));
                raw.push('.');
            }
            4 => {
                raw.push_str("{{Wikipedia how-to}}\n{{Shortcut|WP:");
                push_num(rng.random_range(1..10_000u64), raw);
                raw.push_str("}}\nThis page is about ");
                raw.push_str(name);
                raw.push('.');
            }
            6 => {
                raw.push_str("== Summary ==\n{{Information\n|description=");
                raw.push_str(name);
                raw.push_str("\n|source={{own}}\n|date=2009-05-01\n|author=[[User:");
                raw.push_str(pick(rng, USERS));
                raw.push_str("]]\n}}\n\n== Licensing ==\n{{self|cc-by-sa-3.0}}\nDescription:");
            }
            10 => {
                raw.push_str("{{Navbox\n| name = ");
                raw.push_str(name);
                raw.push_str("\n| title = ");
                self.push_popular_link(rng, &mut bufs.other, raw);
                raw.push_str("\n| list1 = ");
                self.push_popular_link(rng, &mut bufs.other, raw);
                raw.push_str(" · ");
                self.push_popular_link(rng, &mut bufs.other, raw);
                raw.push_str("\n}}<noinclude>\n{{Documentation}}");
            }
            14 => {
                raw.push_str("{{Commons category|");
                raw.push_str(name);
                raw.push_str("}}\n{{Cat main}}\nPages about ");
                raw.push_str(name);
                raw.push('.');
            }
            _ => {
                raw.push_str("{{Portal box|");
                raw.push_str(name);
                raw.push_str("}}\n{{Box-header|Selected article}}\nThe ");
                raw.push_str(name);
                raw.push_str(" portal.");
            }
        }
        put_escaped(out, raw, &mut bufs.esc)?;

        // Body: the pre-generated text, with a passage of links cut in
        // between its units every few hundred bytes, counted in its length.
        let mut unit = rng.random_range(0..self.corpus.bounds.len() as u32) as usize;
        let mut left = body;
        while left > 0 {
            let gap = rng.random_range(PASSAGE_GAP).min(left);
            let (next, wrote, last) = self.corpus.put_units(out, unit, gap)?;
            unit = next;
            left = left.saturating_sub(wrote);
            if left == 0 {
                break;
            }
            // After a heading or a template, a passage starts a line.
            let wrote = self.put_passage(out, rng, last == b'=' || last == b'}', bufs)?;
            left = left.saturating_sub(wrote);
        }

        // Footer.
        let raw = &mut bufs.raw;
        raw.clear();
        match ns {
            0 => {
                if chance(rng, 500) {
                    raw.push_str("\n\n==See also==");
                    for _ in 0..rng.random_range(1..4u32) {
                        raw.push_str("\n* ");
                        self.push_popular_link(rng, &mut bufs.other, raw);
                    }
                    if chance(rng, 200) {
                        // The lead's link again: a page counts once per target.
                        raw.push_str("\n* ");
                        push_link(rng, &bufs.lead, bufs.lead_ns, raw);
                    }
                    if let Some(c) = self.links.category(rng).filter(|_| chance(rng, 100)) {
                        self.title(c, &mut bufs.other);
                        raw.push_str("\n* ");
                        push_link(rng, &bufs.other, 14, raw);
                    }
                }
                if chance(rng, 20) {
                    raw.push_str("\n\nThis article is about ");
                    push_link(rng, &bufs.title, ns, raw);
                    raw.push('.');
                }
                if chance(rng, 700) {
                    raw.push_str("\n\n==References==\n{{Reflist}}");
                }
                raw.push_str("\n\n");
                for k in 0..rng.random_range(1..4u32) {
                    if k > 0 {
                        raw.push('\n');
                    }
                    self.push_membership(rng, &mut bufs.other, raw);
                }
                if chance(rng, 100) {
                    raw.push_str("\n\n{{");
                    raw.push_str(pick(rng, WORDS));
                    raw.push_str("-stub}}");
                }
                if chance(rng, 100) {
                    // Interlanguage links: `fr` is no namespace of the dump.
                    raw.push_str("\n\n[[fr:");
                    raw.push_str(pick(rng, WORDS));
                    raw.push_str("]]\n[[de:");
                    raw.push_str(pick(rng, WORDS));
                    raw.push_str("]]");
                }
            }
            1 => {
                raw.push_str(
                    " [[User:Graham87|Graham87]] ([[User talk:Graham87|talk]]) 04:50, 26 October 2014 (UTC)",
                );
            }
            10 => raw.push_str("\n</noinclude>"),
            14 => {
                raw.push_str("\n\n");
                self.push_membership(rng, &mut bufs.other, raw);
            }
            _ => {}
        }
        put_escaped(out, raw, &mut bufs.esc)
    }
}

fn put_escaped<W: Write>(out: &mut Out<W>, s: &str, esc: &mut Vec<u8>) -> io::Result<()> {
    esc.clear();
    escape_into(s, esc);
    out.put(esc)
}

/// Link text for a target title: files and categories need a leading colon.
fn push_link_target(title: &str, ns: i32, out: &mut String) {
    if ns == 6 || ns == 14 {
        out.push(':');
    }
    out.push_str(title);
}

fn push_num(n: u64, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(out, "{n}");
}

fn push_decade(decade: u32, out: &mut String) {
    push_num(u64::from(decade), out);
    out.push('s');
}

/// Appends a category link such as `[[Category:Jasper railway stations]]`.
fn push_category<R: Rng>(rng: &mut R, out: &mut String) {
    out.push_str("[[Category:");
    out.push_str(pick(rng, WORDS));
    out.push(' ');
    push_words(rng, 1, 2, out);
    out.push_str("]]");
}

fn push_words<R: Rng>(rng: &mut R, min: u32, max: u32, out: &mut String) {
    for k in 0..rng.random_range(min..=max) {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(pick(rng, COMMON));
    }
}

/// Byte offset of the start of word `k` (mod the word count) of `filler`.
fn word_start(filler: &str, k: usize) -> usize {
    let starts: Vec<usize> =
        std::iter::once(0).chain(filler.match_indices(' ').map(|(p, _)| p + 1)).take(16).collect();
    starts[k % starts.len()]
}

/// Pads `out` with ASCII filler to exactly `limit` bytes, choosing the
/// first filler word (from `k` on) that does not put a space in the last byte.
fn pad_exact(out: &mut String, k: usize, limit: usize) {
    let base = out.len();
    for t in 0..16 {
        out.truncate(base);
        out.push(' ');
        out.push_str(&FILLER_ASCII[word_start(FILLER_ASCII, k + t)..]);
        if out.len() > limit && out.as_bytes()[limit - 1] != b' ' {
            break;
        }
    }
}

fn put_timestamp<W: Write>(out: &mut Out<W>, secs: u64) -> io::Result<()> {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    let mut b = *b"      <timestamp>0000-00-00T00:00:00Z</timestamp>\n";
    let mut two = |at: usize, v: u64| {
        b[at] = b'0' + (v / 10 % 10) as u8;
        b[at + 1] = b'0' + (v % 10) as u8;
    };
    two(17, y / 100);
    two(19, y % 100);
    two(22, m);
    two(25, d);
    two(28, rem / 3_600);
    two(31, rem / 60 % 60);
    two(34, rem % 60);
    out.put(&b)
}

fn put_ip<W: Write>(out: &mut Out<W>, rng: &mut ChaCha8Rng, scratch: &mut String) -> io::Result<()> {
    use std::fmt::Write as _;
    scratch.clear();
    if chance(rng, 100) {
        let g: [u32; 8] = std::array::from_fn(|k| {
            if k == 0 { 0x2600 + rng.random_range(0..0x10u32) } else { rng.random_range(0..0x1_0000u32) }
        });
        let _ = write!(
            scratch,
            "{:X}:{:X}:{:X}:{:X}:{:X}:{:X}:{:X}:{:X}",
            g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
        );
    } else {
        let v = rng.next_u32();
        let _ = write!(
            scratch,
            "{}.{}.{}.{}",
            (v >> 24).clamp(1, 223),
            (v >> 16) & 0xFF,
            (v >> 8) & 0xFF,
            v & 0xFF
        );
    }
    out.put(scratch.as_bytes())
}

fn put_sha1<W: Write>(out: &mut Out<W>, rng: &mut ChaCha8Rng) -> io::Result<()> {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut b = [0u8; 31];
    // A 160-bit number in base 36 has 31 digits, the first at most 'v'.
    b[0] = DIGITS[rng.random_range(0..32u32) as usize];
    let mut x = rng.next_u64();
    for (k, c) in b[1..].iter_mut().enumerate() {
        if k % 12 == 0 {
            x = rng.next_u64();
        }
        *c = DIGITS[(x % 36) as usize];
        x /= 36;
    }
    out.put(&b)
}

impl Corpus {
    /// Generates about `CORPUS_BYTES` of escaped wikitext from `seed`.
    fn new(seed: u64) -> Self {
        let mut rng = stream(seed, 0, DOMAIN_CORPUS);
        let mut text = Vec::with_capacity(CORPUS_BYTES + (8 << 10));
        let mut bounds = Vec::with_capacity(CORPUS_BYTES / 64);
        let mut unit = String::new();
        // 0: prose, 1: after a heading, 2: after a list or table.
        let mut prev = 0;
        while text.len() < CORPUS_BYTES {
            unit.clear();
            let r = rng.random_range(0..100u32);
            if r < 4 && prev != 1 {
                unit.push_str("\n\n==");
                unit.push_str(pick(&mut rng, HEADINGS));
                unit.push_str("==");
                if chance(&mut rng, 300) {
                    unit.push_str("\n{{Main|");
                    unit.push_str(pick(&mut rng, WORDS));
                    unit.push_str("}}");
                }
                prev = 1;
            } else if r < 9 {
                unit.push_str(if prev == 1 { "\n" } else { "\n\n" });
                for k in 0..rng.random_range(2..7u32) {
                    if k > 0 {
                        unit.push('\n');
                    }
                    unit.push_str("* ");
                    sentence(&mut rng, 2, 10, &mut unit);
                }
                prev = 2;
            } else if r < 10 {
                unit.push_str("\n\n{| class=\"wikitable sortable\"\n! Year !! Title !! Notes");
                for _ in 0..rng.random_range(2..8u32) {
                    unit.push_str("\n|-\n| ");
                    push_num(rng.random_range(1900..2016u64), &mut unit);
                    unit.push_str(" || ''");
                    push_red_link(&mut rng, &mut unit);
                    unit.push_str("'' || ");
                    push_words(&mut rng, 1, 4, &mut unit);
                }
                unit.push_str("\n|}");
                prev = 2;
            } else {
                unit.push_str(match prev {
                    1 => "\n",
                    2 => "\n\n",
                    _ if r < 22 => "\n\n",
                    _ => " ",
                });
                sentence(&mut rng, 5, 28, &mut unit);
                prev = 0;
            }
            bounds.push(text.len() as u32);
            escape_into(&unit, &mut text);
        }
        Corpus { text, bounds }
    }

    /// Writes the whole units from unit `a` on that cover `len` bytes, or
    /// up to the end of the block. Returns the unit that follows (the
    /// block wraps around), the bytes written and the last of them.
    fn put_units<W: Write>(&self, out: &mut Out<W>, a: usize, len: u64) -> io::Result<(usize, u64, u8)> {
        let start = self.bounds[a] as usize;
        let want = start as u64 + len;
        // The units that cover `len` are a few: a scan beats a search.
        let b =
            a + self.bounds[a..].iter().position(|&x| u64::from(x) >= want).unwrap_or(self.bounds.len() - a);
        let (end, next) = match self.bounds.get(b) {
            Some(&x) => (x as usize, b),
            None => (self.text.len(), 0),
        };
        out.put(&self.text[start..end])?;
        Ok((next, (end - start) as u64, self.text[end - 1]))
    }
}

/// Appends a wikitext sentence of `min..=max` tokens, maybe with a reference.
fn sentence<R: Rng>(rng: &mut R, min: u32, max: u32, out: &mut String) {
    if chance(rng, 300) {
        out.push_str(pick(rng, WORDS));
    } else {
        let mut cs = pick(rng, COMMON).chars();
        if let Some(c) = cs.next() {
            out.extend(c.to_uppercase());
            out.push_str(cs.as_str());
        }
    }
    for _ in 0..rng.random_range(min..=max) {
        out.push(' ');
        match rng.random_range(0..1000u32) {
            0..700 => out.push_str(pick(rng, COMMON)),
            700..780 => out.push_str(pick(rng, WORDS)),
            // Links to pages of the dump are cut in per page (links.rs): links
            // in this shared block would give every page the same few targets.
            780..785 => links::push_red_link(rng, out),
            785..900 => out.push_str(pick(rng, COMMON)),
            900..920 => {
                out.push_str("''");
                out.push_str(pick(rng, WORDS));
                out.push_str("''");
            }
            920..960 => push_num(rng.random_range(1..2016u64), out),
            960..975 => {
                out.push('"');
                out.push_str(pick(rng, COMMON));
                out.push(' ');
                out.push_str(pick(rng, COMMON));
                out.push('"');
            }
            975..985 => out.push_str(pick(rng, &["–", "—", "&nbsp;", "&", "naïve", "café", "(c.", "±"])),
            _ => {
                out.push_str(pick(rng, COMMON));
                out.push(',');
            }
        }
    }
    if out.ends_with(',') {
        out.pop();
    }
    out.push('.');
    match rng.random_range(0..100u32) {
        0..15 => {
            out.push_str("<ref>{{cite web |url=https://www.example.org/");
            out.push_str(pick(rng, COMMON));
            out.push('/');
            push_num(rng.random_range(1..100_000u64), out);
            out.push_str("?id=1&lang=en |title=");
            out.push_str(pick(rng, WORDS));
            out.push(' ');
            out.push_str(pick(rng, COMMON));
            out.push_str(" |publisher=");
            push_red_link(rng, out);
            out.push_str(" |accessdate=");
            push_num(rng.random_range(1..29u64), out);
            out.push(' ');
            out.push_str(pick(rng, MONTHS));
            out.push(' ');
            push_num(rng.random_range(2004..2016u64), out);
            out.push_str("}}</ref>");
        }
        15..20 => {
            out.push_str("<ref name=\"");
            out.push_str(pick(rng, WORDS));
            push_num(rng.random_range(1..100u64), out);
            out.push_str("\" />");
        }
        20..24 => {
            out.push_str("<ref>");
            out.push_str(pick(rng, WORDS));
            out.push_str(", ");
            out.push_str(pick(rng, WORDS));
            out.push_str(". ''");
            push_words(rng, 2, 5, out);
            out.push_str("''. ");
            push_num(rng.random_range(1950..2016u64), out);
            out.push_str(". p.&nbsp;");
            push_num(rng.random_range(1..900u64), out);
            out.push_str(".</ref>");
        }
        24..26 => {
            out.push_str("{{citation needed|date=");
            out.push_str(pick(rng, MONTHS));
            out.push(' ');
            push_num(rng.random_range(2006..2016u64), out);
            out.push_str("}}");
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Word lists.
//
// Title uniqueness rests on these invariants (checked by the tests): every
// WORDS entry is non-empty, distinct, contains no space, ':', '/', '.', or
// title-illegal character, and does not start with a lowercase letter, a
// digit or '('; no decoration token (split on ' ', ':', '/', '.') is a WORDS
// entry; every filler word starts with a lowercase letter. Then splitting a
// title on those separators and keeping the WORDS entries recovers the core
// words, hence the index.
// ---------------------------------------------------------------------------

/// Title core words (also proper nouns in text).
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "Anarchism", "Albedo", "Amsterdam", "Andorra", "Apollo", "Aristotle", "Atlantis", "Avalon",
    "Aurora", "Babylon", "Baltimore", "Barcelona", "Bavaria", "Beacon", "Bergen", "Birch",
    "Bishop", "Boston", "Bristol", "Cairo", "Camden", "Canyon", "Carthage", "Cedar", "Chester",
    "Cobalt", "Cologne", "Comet", "Copper", "Cornwall", "Crimson", "Dakota", "Delta", "Denver",
    "Dover", "Dublin", "Eagle", "Eden", "Elmwood", "Emerald", "Everest", "Falcon", "Fenwick",
    "Florence", "Galway", "Garnet", "Geneva", "Glasgow", "Granite", "Halifax", "Harbor",
    "Hawthorne", "Helsinki", "Hudson", "Iberia", "Indigo", "Iris", "Ivory", "Jasper", "Juniper",
    "Kepler", "Kingston", "Lancaster", "Lincoln", "Lisbon", "Lotus", "Madison", "Magnolia",
    "Maple", "Marble", "Mercury", "Milan", "Monarch", "Nairobi", "Neptune", "Newton", "Nova",
    "Oakland", "Obsidian", "Odessa", "Olympus", "Orion", "Oxford", "Palermo", "Pegasus",
    "Phoenix", "Pine", "Plymouth", "Prague", "Quartz", "Quincy", "Raven", "Richmond",
    "Riverside", "Rome", "Ruby", "Salem", "Sapphire", "Saturn", "Sheffield", "Sierra", "Silver",
    "Sparrow", "Sterling", "Summit", "Sydney", "Tempest", "Thames", "Titan", "Toledo", "Topaz",
    "Trinity", "Tucson", "Ulster", "Utopia", "Valencia", "Venice", "Verona", "Victoria",
    "Vienna", "Viking", "Warsaw", "Waverly", "Willow", "Windsor", "Winter", "York", "Yukon",
    "Zenith", "Zephyr", "Anderson", "Baker", "Carter", "Davies", "Edwards", "Fischer", "Garcia",
    "Harris", "Ito", "Jensen", "Kowalski", "Larsen", "Martin", "Nguyen", "Olsen", "Petrov",
    "Quinn", "Robinson", "Schmidt", "Tanaka", "Umberto", "Vargas", "Walker", "Xavier", "Young",
    "Zimmermann", "Railway", "Bridge", "Castle", "Cathedral", "Festival", "Harbour",
    "Lighthouse", "Museum", "Observatory", "Orchestra", "Parliament", "Republic", "Stadium",
    "Symphony", "Tower", "Valley", "Empire", "Kingdom", "Dynasty", "Expedition", "Railroad",
    "Council", "Academy", "Chronicle", "Gazette", "Herald", "Mountain", "Island", "Lake",
    "Forest", "Desert", "River", "Station", "Airport", "Highway", "Avenue", "Square", "Palace",
    "Temple", "Abbey", "Manor", "Fort", "AccessibleComputing", "AfghanistanHistory",
    "AT&T", "H&M", "R&B", "Q&A", "A&M", "P&O", "B&Q", "\"Heroes\"", "\"Awesome\"", "\"Weird\"",
    "O'Brien", "D'Angelo", "O'Neill", "L'Oréal", "Rock'n'Roll", "McDonald's", "Yahoo!", "Who?",
    "C++", "Jean-Luc", "Saint-Étienne", "Coca-Cola", "Zürich", "Ελλάδα", "東京", "Straße",
    "São", "Kraków", "Łódź", "Москва", "Ærøskøbing", "Dvořák", "Māori", "Île", "Göteborg",
    "Reykjavík", "İstanbul", "Ōsaka", "北京", "서울", "Αθήνα", "Київ", "Besançon", "Malmö",
    "Čapek", "Škoda", "Øresund", "Ångström", "Ñuñoa", "Düsseldorf", "Tromsø", "Gdańsk",
    "Curaçao", "Bogotá", "Montréal", "Québec", "Köln", "München", "Wrocław", "Plzeň", "Brașov",
    "Şanlıurfa", "Éire", "Ísland", "Κρήτη", "Санкт-Петербург", "Новосибирск", "大阪", "上海",
    "京都", "한국어", "القاهرة", "ירושלים", "दिल्ली", "กรุงเทพ", "Ὅμηρος", "Ærø",
];

/// A main-namespace title decoration.
#[derive(Debug, Clone, Copy)]
enum Affix {
    Text(&'static str),
    /// `1990s in `
    DecadeIn,
    /// `1987 in `
    YearIn,
    /// ` (1987 film)`
    YearFilm,
}

impl Affix {
    fn push(self, decade: u32, year: u32, out: &mut String) {
        match self {
            Affix::Text(s) => out.push_str(s),
            Affix::DecadeIn => {
                push_decade(decade, out);
                out.push_str(" in ");
            }
            Affix::YearIn => {
                push_num(u64::from(year), out);
                out.push_str(" in ");
            }
            Affix::YearFilm => {
                out.push_str(" (");
                push_num(u64::from(year), out);
                out.push_str(" film)");
            }
        }
    }
}

/// Main-namespace prefix decorations with their weight per mille (of `deco`).
const MAIN_PREFIXES: &[(u32, Affix)] = &[
    (80, Affix::Text("List of ")),
    (40, Affix::Text("History of ")),
    (20, Affix::Text("Geography of ")),
    (15, Affix::Text("Demographics of ")),
    (15, Affix::Text("Economy of ")),
    (15, Affix::Text("Politics of ")),
    (15, Affix::Text("Culture of ")),
    (20, Affix::Text("Battle of ")),
    (10, Affix::Text("Siege of ")),
    (10, Affix::Text("Treaty of ")),
    (15, Affix::Text("University of ")),
    (15, Affix::Text("List of people from ")),
    (10, Affix::Text("List of awards and nominations received by ")),
    (10, Affix::Text("List of compositions by ")),
    (15, Affix::Text("Timeline of ")),
    (35, Affix::DecadeIn),
    (15, Affix::YearIn),
];

/// Main-namespace suffix decorations with their weight per mille (of `deco`).
const MAIN_SUFFIXES: &[(u32, Affix)] = &[
    (20, Affix::Text(" (film)")),
    (10, Affix::YearFilm),
    (15, Affix::Text(" (album)")),
    (10, Affix::Text(" (song)")),
    (8, Affix::Text(" (band)")),
    (7, Affix::Text(" (river)")),
    (5, Affix::Text(" (TV series)")),
    (10, Affix::Text(" (disambiguation)")),
];

/// Other decoration strings (namespaces and suffixes), for the tests' token check.
#[cfg(test)]
#[rustfmt::skip]
const OTHER_DECORATIONS: &[&str] = &[
    "Talk:", "User:", "Wikipedia:", "File:", "Template:", "Category:", "Portal:", "/Archive ",
    "/sandbox", "WikiProject ", "Articles for deletion/", "Flag of ", "Infobox ", " navbox",
    "People from ", " in ", " stubs", "/Selected article", "1990s", " (1987 film)",
];

#[rustfmt::skip]
const ARCHIVES: &[&str] = &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];

#[rustfmt::skip]
const FILE_EXTS: &[&str] = &[".jpg", ".png", ".svg", ".JPG", ".ogg", ".pdf", ".gif", ".tif"];

/// Filler for titles padded to exactly 255 bytes (ASCII, every word lowercase).
const FILLER_ASCII: &str = "and the story of the northern railway company during its early years with notes on the construction of stations bridges tunnels and viaducts along the main line from the coast to the mountains including a complete list of locomotives rolling stock signal boxes and timetables as published in the official gazette between the wars together with later additions by various local historians and societies";

/// Filler for long non-ASCII titles (every word starts lowercase).
const FILLER_UTF8: &str = "über die geschichte der straße und des flusses zwischen zürich und köln mit anmerkungen zur église française de montréal et à la bibliothèque nationale ελληνική ιστορία του πολέμου και της ειρήνης москва и петербург в девятнадцатом веке ängsliga år på ön og ærlige øyne i nord ξανά και ξανά über alles";

#[rustfmt::skip]
const COMMON: &[&str] = &[
    "the", "of", "and", "in", "to", "was", "is", "for", "on", "as", "by", "with", "from", "at",
    "his", "her", "an", "which", "also", "were", "first", "after", "new", "two", "had", "city",
    "during", "its", "been", "their", "known", "state", "years", "where", "later", "between",
    "national", "school", "century", "government", "war", "world", "population", "river",
    "located", "history", "music", "film", "album", "released", "team", "season", "league",
    "university", "company", "family", "village", "county", "district", "church", "north",
    "south", "west", "east", "area", "town", "species", "series", "group", "party", "election",
    "born", "died", "played", "career", "member", "record", "published", "book", "novel",
    "language", "people", "region", "island", "railway", "station", "building", "built",
    "design", "original", "early", "late", "modern", "ancient", "public", "private", "military",
    "army", "battle", "king", "queen", "empire", "republic", "founded", "based", "several",
    "many", "most", "some", "other", "such", "however", "although", "because", "under", "over",
    "through", "into", "about", "against", "within", "without", "largest", "small", "major",
    "minor", "local", "international", "professional", "education", "science", "research",
    "theory", "system", "water", "land", "mountain", "forest", "coast", "bridge", "road",
    "line", "service", "award", "prize", "champion", "cup", "final", "match", "stage",
    "television", "radio", "station", "network", "episode", "character", "role", "actor",
    "singer", "band", "song", "single", "chart", "number", "million", "thousand", "percent",
    "naïve", "café", "façade", "rôle", "über",
];

#[rustfmt::skip]
const HEADINGS: &[&str] = &[
    "History", "Early life", "Career", "Geography", "Climate", "Demographics", "Economy",
    "Culture", "Education", "Transport", "Sports", "Personal life", "Legacy", "Reception",
    "Discography", "Filmography", "Track listing", "Plot", "Cast", "Production", "Etymology",
    "Description", "Distribution and habitat", "Notes", "Further reading", "External links",
    "Works & publications",
];

#[rustfmt::skip]
const INFOBOXES: &[&str] = &[
    "settlement", "person", "film", "album", "football biography", "company", "river",
    "station", "military conflict", "book", "university", "officeholder",
];

#[rustfmt::skip]
const RCATS: &[&str] = &[
    "R from CamelCase", "R from alternative name", "R from other capitalisation",
    "R to section", "R from modification", "R from misspelling", "R with possibilities",
    "R from move", "R printworthy",
];

#[rustfmt::skip]
const MONTHS: &[&str] = &[
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
];

#[rustfmt::skip]
const USERS: &[&str] = &[
    "Paine Ellsworth", "Graham87", "RussBot", "Cydebot", "ClueBot NG", "SmackBot",
    "Rich Farmbrough", "Koavf", "BD2412", "Ser Amantio di Nicolao", "Bearcat", "Jürgen Müller",
    "Ævar Arnfjörð Bjarmason", "O'Reilly & Sons", "\"Quoted\" Editor", "Ἀλέξανδρος", "東京太郎",
    "Materialscientist", "Yobot", "AnomieBOT", "Lightbot", "Woohookitty", "Alan Liefting",
    "Dr. Blofeld", "Bender235", "Magioladitis", "Rjwilmsi", "Rory096", "Jdaloner",
    "Closedmouth", "Gurch", "Xqbot", "EmausBot", "Doc James", "MZMcBride",
];

const COMMENTS: &[&str] = &[
    "add [[WP:RCAT|rcat]]s",
    "a better word;  use [[plain English]] -> [[WP:MOS]]",
    "cat rd",
    "/* History */ fix typo",
    "/* Early life */ expanded",
    "Reverted edits by [[Special:Contributions/85.193.216.88|85.193.216.88]] ([[User talk:85.193.216.88|talk]]) to last version by ClueBot NG",
    "Robot: Fixing double redirect",
    "[[WP:CHECKWIKI]] error fix #61. Punctuation goes before References. Do [[Wikipedia:GENFIXES|general fixes]] if a problem exists. -",
    "clean up, [[WP:AWB/T|typo(s) fixed]]: etc. → etc.",
    "Undid revision 123456789 by [[Special:Contributions/Foo|Foo]] ([[User talk:Foo|talk]])",
    "copyedit",
    "ce",
    "Added {{[[Template:Citation needed|Citation needed]]}} tag",
    "per talk",
    "R&B & soul: \"quoted\" <fix>",
    "Rescuing 2 sources and tagging 0 as dead. #IABot (v1.0)",
    "Bot: Migrating 37 interwiki links, now provided by [[Wikipedia:Wikidata|Wikidata]] on [[d:q123]]",
    "/* References */",
    "1 revision from [[:nost:AfghanistanGeography]]: import old edit, see [[User:Graham87/Import]]",
    "Zürich → Zurich per [[WP:UE]]",
];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::OnceLock;

    use quick_xml::events::Event;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Rec {
        title: String,
        ns: i32,
        id: u64,
        start: u64,
        end: u64,
        redirect: Option<String>,
    }

    struct Dump {
        bytes: Vec<u8>,
        pages: Vec<Rec>,
        summary: SynthSummary,
    }

    fn run(pages: u64, seed: u64) -> Dump {
        let mut bytes = Vec::new();
        let mut recs = Vec::new();
        let summary = generate(&SynthConfig::new(pages, seed), &mut bytes, |p| {
            recs.push(Rec {
                title: p.title.to_owned(),
                ns: p.ns,
                id: p.id,
                start: p.start,
                end: p.end,
                redirect: p.redirect.map(str::to_owned),
            });
        })
        .unwrap();
        Dump { bytes, pages: recs, summary }
    }

    /// The 3,000-page dump most tests inspect.
    fn dump() -> &'static Dump {
        static DUMP: OnceLock<Dump> = OnceLock::new();
        DUMP.get_or_init(|| run(3_000, 42))
    }

    fn text_of(page: &[u8]) -> Option<&[u8]> {
        const OPEN: &[u8] = b"<text xml:space=\"preserve\">";
        let at = page.windows(OPEN.len()).position(|w| w == OPEN)? + OPEN.len();
        let len = page[at..].windows(7).position(|w| w == b"</text>")?;
        Some(&page[at..at + len])
    }

    fn count(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).filter(|w| *w == needle).count()
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let d = dump();
        assert_eq!(run(3_000, 42).bytes, d.bytes);
        let other = run(300, 43);
        let same = run(300, 42);
        assert_ne!(other.bytes, same.bytes);
        assert_ne!(other.pages[0].title, same.pages[0].title);
        // A shorter dump has the pages of a longer one, not its text: links
        // reach every page of the dump they are in.
        let head = |p: &Rec| (p.title.clone(), p.ns, p.id, p.redirect.clone());
        assert!(same.pages.iter().map(head).eq(d.pages[..300].iter().map(head)));
        assert_ne!(same.bytes[..same.bytes.len() - 13], d.bytes[..same.bytes.len() - 13]);
    }

    #[test]
    fn empty_dump_is_header_and_footer() {
        let d = run(0, 1);
        assert_eq!(d.summary, SynthSummary { pages: 0, redirects: 0, bytes: d.bytes.len() as u64 });
        assert_eq!(d.bytes, [HEADER.as_bytes(), b"</mediawiki>\n"].concat());
    }

    #[test]
    fn offsets_frame_each_page_exactly() {
        let d = dump();
        let b = &d.bytes;
        assert!(b.starts_with(HEADER.as_bytes()));
        assert!(HEADER.starts_with("<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\""));
        assert!(HEADER.ends_with("  </siteinfo>\n"));
        assert!(b.ends_with(b"    </revision>\n  </page>\n</mediawiki>\n"));
        assert_eq!(d.pages.len(), 3_000);
        assert_eq!(d.pages[0].start, HEADER.len() as u64 + 2);
        for (k, p) in d.pages.iter().enumerate() {
            let slice = &b[p.start as usize..=p.end as usize];
            assert!(slice.starts_with(b"<page>\n    <title>"), "page {k}");
            assert!(slice.ends_with(b"</revision>\n  </page>"), "page {k}");
            assert_eq!(count(slice, b"<page>"), 1);
            assert_eq!(count(slice, b"</page>"), 1);
            if let Some(next) = d.pages.get(k + 1) {
                assert_eq!(next.start, p.end + 4, "page {k}");
                assert!(next.id > p.id);
            }
        }
        let last = d.pages.last().unwrap();
        assert_eq!(last.end as usize + 1 + b"\n</mediawiki>\n".len(), b.len());
    }

    #[test]
    fn summary_matches() {
        let d = dump();
        let redirects = d.pages.iter().filter(|p| p.redirect.is_some()).count() as u64;
        assert_eq!(d.summary.pages, 3_000);
        assert_eq!(d.summary.redirects, redirects);
        assert_eq!(d.summary.bytes, d.bytes.len() as u64);
        assert_eq!(count(&d.bytes, b"<redirect title=\"") as u64, redirects);
        let share = redirects as f64 / 3_000.0;
        assert!((0.33..=0.43).contains(&share), "redirect share {share}");
    }

    #[test]
    fn well_formed_xml_agrees_with_reports() {
        let d = dump();
        std::str::from_utf8(&d.bytes).unwrap();
        let mut reader = quick_xml::Reader::from_reader(d.bytes.as_slice());
        let mut stack: Vec<Vec<u8>> = Vec::new();
        let mut seen = Vec::new();
        let mut cur: Option<Rec> = None;
        let mut field = String::new();
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => {
                    let name = e.name().as_ref().to_vec();
                    if name == b"page" {
                        cur = Some(Rec {
                            title: String::new(),
                            ns: -99,
                            id: 0,
                            start: 0,
                            end: 0,
                            redirect: None,
                        });
                    }
                    stack.push(name);
                    field.clear();
                }
                Event::Empty(e) if e.name().as_ref() == b"redirect" => {
                    assert_eq!(stack.last().unwrap(), b"page");
                    let attr = e.try_get_attribute("title").unwrap().unwrap();
                    let title = attr.unescape_value().unwrap().into_owned();
                    cur.as_mut().unwrap().redirect = Some(title);
                }
                Event::Text(t) => field.push_str(&t.decode().unwrap()),
                Event::GeneralRef(r) => {
                    let name = r.decode().unwrap();
                    let rep = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity {name}"));
                    field.push_str(rep);
                }
                Event::End(e) => {
                    let name = stack.pop().unwrap();
                    assert_eq!(e.name().as_ref(), name.as_slice());
                    if name == b"page" {
                        seen.push(cur.take().unwrap());
                    } else if stack.last().is_some_and(|p| p == b"page") {
                        let rec = cur.as_mut().unwrap();
                        match name.as_slice() {
                            b"title" => rec.title = field.clone(),
                            b"ns" => rec.ns = field.parse().unwrap(),
                            b"id" => rec.id = field.parse().unwrap(),
                            _ => {}
                        }
                    }
                    field.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(stack.is_empty());
        assert_eq!(seen.len(), d.pages.len());
        for (got, want) in seen.iter().zip(&d.pages) {
            assert_eq!(got.title, want.title);
            assert_eq!(got.ns, want.ns);
            assert_eq!(got.id, want.id, "{}", want.title);
            assert_eq!(got.redirect, want.redirect, "{}", want.title);
        }
    }

    fn check_title(t: &str, ns: i32) {
        assert!(!t.is_empty() && t.len() <= ns_prefix(ns).len() + MAX_TITLE, "{t:?}");
        assert!(t.starts_with(ns_prefix(ns)), "{t:?} in {ns}");
        let name = &t[ns_prefix(ns).len()..];
        if ns == 0 {
            for other in [1, 2, 4, 6, 10, 14, 100] {
                assert!(!t.starts_with(ns_prefix(other)), "{t:?}");
            }
        }
        let first = name.chars().next().unwrap();
        assert_eq!(first.to_uppercase().next(), Some(first), "{t:?}");
        assert!(!name.starts_with(' ') && !t.ends_with(' ') && !t.contains("  "), "{t:?}");
        assert!(!t.chars().any(|c| "<>[]{}|#".contains(c) || c.is_control()), "{t:?}");
    }

    #[test]
    fn titles_are_unique_and_legal() {
        let d = dump();
        let mut seen = HashSet::new();
        for p in &d.pages {
            check_title(&p.title, p.ns);
            assert!(seen.insert(p.title.as_str()), "duplicate {:?}", p.title);
            if let Some(t) = &p.redirect {
                assert!(!t.is_empty() && t.len() <= "Wikipedia:".len() + MAX_TITLE);
            }
        }
    }

    #[test]
    fn title_kinds_present() {
        let d = dump();
        let titles: Vec<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        let has = |f: &dyn Fn(&str) -> bool| titles.iter().filter(|t| f(t)).count();
        let namespaces: HashSet<i32> = d.pages.iter().map(|p| p.ns).collect();
        for ns in [0, 1, 2, 4, 6, 10, 14, 100] {
            assert!(namespaces.contains(&ns), "namespace {ns} missing");
        }
        let main = d.pages.iter().filter(|p| p.ns == 0).count();
        assert!(main > 2_400, "{main} main-namespace pages");
        assert!(has(&|t| t.contains('&')) >= 5);
        assert!(has(&|t| t.contains('"')) >= 5);
        assert!(has(&|t| t.contains('\'')) >= 5);
        assert!(has(&|t| !t.is_ascii()) >= 100);
        assert!(has(&|t| t.contains("Zürich")) >= 1);
        assert!(has(&|t| t.contains("東京")) >= 1);
        assert!(has(&|t| t.contains("Ελλάδα")) >= 1);
        assert!(has(&|t| t.contains("Straße")) >= 1);
        let part = |p: &&Rec| p.title.len() - ns_prefix(p.ns).len();
        assert!(d.pages.iter().filter(|p| part(p) == MAX_TITLE).count() >= 6);
        assert!(d.pages.iter().filter(|p| part(p) == MAX_TITLE && p.ns != 0).count() >= 1, "namespaced");
        assert!(has(&|t| t.len() == MAX_TITLE && !t.is_ascii()) >= 1);
        assert!(has(&|t| t.starts_with("List of ")) >= 100);
        assert!(has(&|t| t.starts_with("History of ")) >= 50);
        assert!(has(&|t| t.starts_with("1990s in ")) >= 10);
        assert!(has(&|t| t.ends_with(" (disambiguation)")) >= 10);
    }

    #[test]
    fn redirect_kinds_present() {
        let d = dump();
        let index: HashMap<&str, usize> =
            d.pages.iter().enumerate().map(|(k, p)| (p.title.as_str(), k)).collect();
        let next = |k: usize| -> Option<Option<usize>> {
            // None: not a redirect; Some(None): broken; Some(Some(j)): to page j.
            d.pages[k].redirect.as_deref().map(|t| index.get(t).copied())
        };
        let (mut missing, mut selfs, mut two, mut three, mut seven) = (0, 0, 0, 0, 0);
        for k in 0..d.pages.len() {
            match next(k) {
                None => continue,
                Some(None) => missing += 1,
                Some(Some(j)) if j == k => selfs += 1,
                Some(Some(j)) => {
                    if next(j) == Some(Some(k)) {
                        two += 1;
                    }
                    if let Some(Some(l)) = next(j)
                        && l != k
                        && l != j
                        && next(l) == Some(Some(k))
                    {
                        three += 1;
                    }
                }
            }
            // Hops to a non-redirect page, if the chain ends at one.
            let mut at = k;
            let mut hops = 0;
            while let Some(Some(j)) = next(at) {
                hops += 1;
                at = j;
                if hops > 20 {
                    break;
                }
            }
            if hops == 7 && next(at).is_none() {
                seven += 1;
            }
        }
        let blocks = 3_000 / BLOCK as usize;
        assert!(missing >= 2 * blocks, "{missing} broken redirects");
        assert!(selfs >= blocks, "{selfs} self-redirects");
        assert!(two >= 2 * blocks, "{two} members of 2-cycles");
        assert!(three >= 3 * blocks, "{three} members of 3-cycles");
        assert!(seven >= blocks, "{seven} chains of 7 hops");
        // Most redirects point straight at an existing non-redirect page.
        let direct =
            (0..d.pages.len()).filter(|&k| matches!(next(k), Some(Some(j)) if next(j).is_none())).count();
        assert!(direct as u64 * 10 >= d.summary.redirects * 8);
    }

    #[test]
    fn page_sizes() {
        let d = dump();
        let (mut huge, mut empty, mut articles, mut typical) = (0, 0, 0, 0);
        for p in &d.pages {
            let page = &d.bytes[p.start as usize..=p.end as usize];
            match text_of(page) {
                None => {
                    assert!(page.windows(29).any(|w| w == b"<text xml:space=\"preserve\" />"));
                    assert!(p.redirect.is_none());
                    empty += 1;
                }
                Some(text) => {
                    assert!(!text.is_empty());
                    assert!(!text.ends_with(b" ") && !text.ends_with(b"\n"));
                    if let Some(target) = &p.redirect {
                        assert!(
                            text.starts_with(b"#REDIRECT")
                                || text.starts_with(b"#redirect")
                                || text.starts_with(b"#Redirect")
                        );
                        let mut esc = Vec::new();
                        escape_into(target, &mut esc);
                        assert!(text.windows(esc.len()).any(|w| w == esc), "{target}");
                    } else {
                        huge += usize::from(text.len() >= 1_000_000);
                        if p.ns == 0 {
                            articles += 1;
                            typical += usize::from((1_000..=21_000).contains(&text.len()));
                        }
                    }
                }
            }
        }
        assert!(huge >= 1, "no huge page");
        assert!(empty >= 3_000 / BLOCK as usize, "{empty} empty texts");
        assert!(typical * 10 >= articles * 8, "{typical} of {articles} articles are 1-20 KB");
    }

    fn unescape(text: &[u8]) -> String {
        let s = std::str::from_utf8(text).unwrap();
        s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
    }

    /// The targets of `[[T]]`, `[[T|…]]` and `[[T#…]]` as written.
    fn plain_targets(text: &str) -> impl Iterator<Item = &str> {
        text.split("[[")
            .skip(1)
            .filter_map(|s| s.split("]]").next())
            .map(|s| s.split(['|', '#']).next().unwrap())
    }

    #[test]
    fn links_have_a_skewed_popularity_and_reach_over_the_dump() {
        let d = dump();
        let index: HashMap<&str, usize> =
            d.pages.iter().enumerate().map(|(k, p)| (p.title.as_str(), k)).collect();
        let mut linked_from: HashMap<usize, HashSet<usize>> = HashMap::new();
        let (mut forward, mut backward, mut to_redirect, mut selfs, mut sources) = (0, 0, 0, 0, 0);
        for (k, p) in d.pages.iter().enumerate() {
            let Some(text) = text_of(&d.bytes[p.start as usize..=p.end as usize]) else { continue };
            if p.redirect.is_some() {
                continue;
            }
            sources += 1;
            let text = unescape(text);
            for t in plain_targets(&text) {
                let Some(&j) = index.get(t.strip_prefix(':').unwrap_or(t)) else { continue };
                linked_from.entry(j).or_default().insert(k);
                match j.cmp(&k) {
                    std::cmp::Ordering::Greater => forward += 1,
                    std::cmp::Ordering::Less => backward += 1,
                    std::cmp::Ordering::Equal => selfs += 1,
                }
                to_redirect += usize::from(d.pages[j].redirect.is_some());
            }
        }
        let links = forward + backward + selfs;
        assert!(links > 20 * sources, "{links} links from {sources} pages");
        assert!(forward * 3 > links && backward * 3 > links, "{forward} forward, {backward} backward");
        assert!(selfs >= 10, "{selfs} self-links");
        assert!(
            (links / 50..links / 5).contains(&to_redirect),
            "{to_redirect} of {links} links to redirects"
        );
        let mut counts: Vec<usize> =
            (0..d.pages.len()).map(|j| linked_from.get(&j).map_or(0, HashSet::len)).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(counts[0] * 2 > sources, "top page linked from {} of {sources}", counts[0]);
        assert!(counts[9] * 4 > counts[0] && counts[9] < counts[0], "{:?}", &counts[..10]);
        assert!(counts[counts.len() / 2] * 50 < counts[0], "median {}", counts[counts.len() / 2]);
    }

    #[test]
    fn links_take_every_form_the_scores_must_read() {
        let d = dump();
        let titles: HashSet<&str> = d.pages.iter().map(|p| p.title.as_str()).collect();
        let text = unescape(&d.bytes);
        let has = |needle: &str, at_least: usize| {
            let n = text.matches(needle).count();
            assert!(n >= at_least, "{n} times {needle:?}");
        };
        for unlinked in ["<nowiki>[[", "<!-- [[", "<!--\n[[", "<pre>[[", "<math>x = [[", "\">[["] {
            has(unlinked, 10);
        }
        has("</syntaxhighlight>", 10);
        for form in
            ["|thumb|", "[[Image:", "[[file:", "[[:Category:", "[[category:", "{{Efn|See [[", "|publisher=[["]
        {
            has(form, 10);
        }
        has("[[fr:", 10);
        has("&#x", 10);
        has("&amp;", 10);
        has("{| class=\"wikitable\"\n! Name !! Notes\n|-\n| [[", 10);
        // File captions hold links; the embeds name files of the dump.
        let captions =
            text.split("[[File:").skip(1).filter(|s| s.split("]]").next().unwrap().contains("[[")).count();
        assert!(captions >= 10, "{captions} captions with links");
        let embedded = plain_targets(&text).filter(|t| t.starts_with("File:") && titles.contains(t)).count();
        assert!(embedded >= 10, "{embedded} embeds of existing files");
        let members =
            plain_targets(&text).filter(|t| t.starts_with("Category:") && titles.contains(t)).count();
        assert!(members >= 100, "{members} memberships of existing categories");
        let spelled = |f: &dyn Fn(&str) -> bool| plain_targets(&text).filter(|t| f(t)).count();
        assert!(spelled(&|t| t.contains('_')) >= 100);
        assert!(spelled(&|t| t.starts_with(|c: char| c.is_ascii_lowercase())) >= 100);
        assert!(spelled(&|t| t.contains("  ") || t.contains(" _")) >= 20);
        let missing =
            plain_targets(&text).filter(|t| !titles.contains(t.strip_prefix(':').unwrap_or(t))).count();
        assert!(missing >= 1000, "{missing} links to no page");
    }

    #[test]
    fn word_list_invariants() {
        let words: HashSet<&str> = WORDS.iter().copied().collect();
        assert_eq!(words.len(), WORDS.len(), "duplicate word");
        for w in WORDS {
            let first = w.chars().next().unwrap();
            assert!(!first.is_lowercase() && !first.is_ascii_digit() && first != '(', "{w:?}");
            assert!(!w.chars().any(|c| " :/.<>[]{}|#%;".contains(c) || c.is_control()), "{w:?}");
        }
        let tokens = |s: &'static str| s.split([' ', ':', '/', '.']).filter(|t| !t.is_empty());
        let decorations = MAIN_PREFIXES
            .iter()
            .chain(MAIN_SUFFIXES)
            .filter_map(|&(_, a)| match a {
                Affix::Text(s) => Some(s),
                _ => None,
            })
            .chain(OTHER_DECORATIONS.iter().copied())
            .chain(FILE_EXTS.iter().copied())
            .chain(ARCHIVES.iter().copied());
        for d in decorations {
            for t in tokens(d) {
                assert!(!words.contains(t), "decoration token {t:?} is a title word");
            }
        }
        for filler in [FILLER_ASCII, FILLER_UTF8] {
            for w in filler.split(' ') {
                assert!(w.chars().next().unwrap().is_lowercase(), "{w:?}");
            }
        }
        assert!(FILLER_ASCII.is_ascii());
    }

    #[test]
    fn titles_decode_to_their_index() {
        let words: HashSet<&str> = WORDS.iter().copied().collect();
        let synth = Synth::new(9, 100, 0);
        let mut seen = HashSet::new();
        let (mut title, mut core) = (String::new(), String::new());
        for i in (0..60_000).chain(1 << 20..(1 << 20) + 2_000) {
            let ns = synth.title(i, &mut title);
            check_title(&title, ns);
            core.clear();
            synth.push_core(i, &mut core);
            let got: Vec<&str> = title.split([' ', ':', '/', '.']).filter(|t| words.contains(t)).collect();
            let want: Vec<&str> = core.split(' ').collect();
            assert_eq!(got, want, "{title:?}");
            assert!(seen.insert(core.clone()), "core {core:?} repeats");
        }
        synth.missing_title(5, &mut title);
        assert!(!seen.contains(&title));
    }
}
