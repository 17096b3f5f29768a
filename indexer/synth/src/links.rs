//! Who links to whom: the popularity law behind the `[[…]]` links of
//! generated text, and the spellings one target is written in.
//!
//! Every link to a page of the dump goes through [`Popularity::target`]: a
//! rank `r` in `0..pages` is drawn with probability proportional to
//! `1 / (r + 1)` (Zipf's law with exponent 1) and mapped to a page index by a
//! permutation of `0..pages` fixed by the seed. So a handful of pages collect
//! links from most of the dump and most pages from a few or none, and the
//! popular pages are scattered over the dump, ahead of and behind the pages
//! that link to them: a page can link to one written later because a title is
//! a pure function of `(seed, index)`. Most redirects and half of the pages
//! outside the main namespace are left out of the order, so links mostly
//! name articles, as on Wikipedia, and some still go through a redirect.
//!
//! [`push_link`] writes a target in one of the spellings MediaWiki reads as
//! the same title (label, section, lowercase first letter, `_` for spaces,
//! extra whitespace, HTML entities, `Image:` for `File:`, any case of the
//! namespace prefix), and the passage templates ([`Passages`]) wrap links in the places
//! the issue about link scores lists: prose, `<ref>`s, template arguments,
//! file captions and tables count; `<nowiki>`, `<pre>`, `<math>`,
//! `<syntaxhighlight>` and comments do not; nor does a link whose brackets
//! hold another link, or one left unclosed.

use std::io::{self, Write};

use rand::Rng;

use crate::{
    COMMON, DOMAIN_PASSAGES, HEADINGS, Out, PageBufs, Special, Synth, WORDS, Wyrand, chance, escape_into,
    ns_prefix, pick, push_num, push_words, put_escaped, splitmix, stream,
};

/// Pages of the first ranks whose title stays in memory: with the `1 / r`
/// law they receive most links, and computing a title costs a key setup.
const CACHED: usize = 1 << 18;
/// Category and file pages are collected from this many first indices.
const SCAN: u64 = 1 << 16;

/// The popularity order of a dump's pages, and the few pages of the
/// namespaces that are named by membership or embedding.
pub(crate) struct Popularity {
    seed: u64,
    pages: u64,
    /// Order `k` is page `(k * mul + add) % pages`; `mul` is prime to `pages`.
    mul: u64,
    add: u64,
    /// Ranks drawn from: the linkable pages if `top` holds them all, else
    /// `pages` (a rank past `top` is an order past `walked`, then filtered).
    space: u64,
    /// Orders `0..walked` were filtered into `top`.
    walked: u64,
    /// Titles of the linkable pages of the first orders, one after the other.
    top_titles: String,
    top: Vec<Target>,
    /// Indices of category pages (`[[Category:X]]` memberships).
    categories: Vec<u64>,
    /// Indices of file pages (`[[File:X|thumb|…]]` embeds).
    files: Vec<u64>,
}

/// A page of the first ranks: its title is `top_titles[start..end]`.
struct Target {
    start: u32,
    end: u32,
    ns: i32,
}

fn any<R: Rng>(rng: &mut R, list: &[u64]) -> Option<u64> {
    if list.is_empty() { None } else { Some(list[rng.random_range(0..list.len() as u32) as usize]) }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Popularity {
    /// The order of a dump without pages: a placeholder while the
    /// [`Synth`] that [`Popularity::new`] reads is being built.
    pub(crate) fn new_empty() -> Self {
        Popularity {
            seed: 0,
            pages: 0,
            mul: 1,
            add: 0,
            space: 0,
            walked: 0,
            top_titles: String::new(),
            top: Vec::new(),
            categories: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The popularity order of a dump of `pages` pages of `synth`'s seed.
    pub(crate) fn new(synth: &Synth, pages: u64) -> Self {
        let seed = splitmix(synth.seed ^ 0x006C_696E_6B73);
        let (mut mul, add) = if pages == 0 { (1, 0) } else { ((seed % pages) | 1, splitmix(seed) % pages) };
        while pages > 0 && gcd(mul, pages) != 1 {
            mul += 1;
        }
        let mut links = Popularity { seed, pages, mul, add, ..Popularity::new_empty() };
        let mut title = String::new();
        // A dump too small to have a linkable page links to any of its pages.
        for every in [false, true] {
            while links.walked < pages && links.top.len() < CACHED {
                let j = links.index(links.walked);
                links.walked += 1;
                let (meta, special) = (synth.meta(j), synth.special(j));
                if !every && !links.linkable(j, meta.ns, synth.redirect_with(j, &meta, special)) {
                    continue;
                }
                synth.title_with(j, &meta, special == Special::Exact255, &mut title);
                let start = links.top_titles.len() as u32;
                links.top_titles.push_str(&title);
                links.top.push(Target { start, end: links.top_titles.len() as u32, ns: meta.ns });
            }
            if !links.top.is_empty() || pages == 0 {
                break;
            }
            links.walked = 0;
        }
        links.space = if links.walked == pages { links.top.len() as u64 } else { pages };
        for i in 0..pages.min(SCAN) {
            match synth.meta(i).ns {
                6 => links.files.push(i),
                14 => links.categories.push(i),
                _ => {}
            }
        }
        links
    }

    /// A category page, if the dump has one among its first pages.
    pub(crate) fn category<R: Rng>(&self, rng: &mut R) -> Option<u64> {
        any(rng, &self.categories)
    }

    /// A file page, if the dump has one among its first pages.
    pub(crate) fn file<R: Rng>(&self, rng: &mut R) -> Option<u64> {
        any(rng, &self.files)
    }

    /// Page of order `k`.
    fn index(&self, k: u64) -> u64 {
        ((u128::from(k) * u128::from(self.mul) + u128::from(self.add)) % u128::from(self.pages)) as u64
    }

    /// Whether links may name page `j`: most redirects and half of the pages
    /// outside the main namespace may not, so links mostly name articles, as
    /// on Wikipedia, and a few go through a redirect. Fixed per page, so the
    /// cached first ranks need no second draw.
    fn linkable(&self, j: u64, ns: i32, redirect: bool) -> bool {
        let h = splitmix(self.seed ^ splitmix(j));
        (!redirect || h % 1000 < 150) && (ns == 0 || (h >> 32).is_multiple_of(2))
    }

    /// A rank with probability proportional to `1 / (rank + 1)`: an octave
    /// `[2^k, 2^(k+1))` of `m = rank + 1` uniformly, then `m` uniformly in it,
    /// kept with probability `2^k / m`. Integer arithmetic only, so the dump
    /// is the same on every platform.
    fn rank(&self, rng: &mut Wyrand) -> u64 {
        let octaves = 64 - self.space.leading_zeros();
        loop {
            let lo = 1u64 << rng.random_range(0..octaves);
            let m = rng.random_range(lo..=lo + (lo - 1));
            if m <= self.space && rng.random_range(0..m) < lo {
                return m - 1;
            }
        }
    }

    /// Writes the title of a page drawn by popularity into `out`; returns its
    /// namespace. The dump must have a page.
    pub(crate) fn target(&self, synth: &Synth, rng: &mut Wyrand, out: &mut String) -> i32 {
        loop {
            let r = self.rank(rng);
            if let Some(t) = self.top.get(r as usize) {
                out.clear();
                out.push_str(&self.top_titles[t.start as usize..t.end as usize]);
                return t.ns;
            }
            let j = self.index(self.walked + (r - self.top.len() as u64) % (self.pages - self.walked));
            let (meta, special) = (synth.meta(j), synth.special(j));
            if self.linkable(j, meta.ns, synth.redirect_with(j, &meta, special)) {
                synth.title_with(j, &meta, special == Special::Exact255, out);
                return meta.ns;
            }
        }
    }
}

/// Appends `s` with its first character lowercased, if it is an ASCII capital.
fn push_lower_first(s: &str, out: &mut String) {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_uppercase() => {
            out.push(b.to_ascii_lowercase() as char);
            out.push_str(&s[1..]);
        }
        _ => out.push_str(s),
    }
}

fn push_label<R: Rng>(rng: &mut R, out: &mut String) {
    out.push('|');
    push_words(rng, 1, 3, out);
}

/// Appends a link to `title` (of namespace `ns`) in one of the spellings
/// that MediaWiki resolves to that title. Files and categories get the
/// leading colon that makes them links rather than an embed or a membership.
pub(crate) fn push_link<R: Rng>(rng: &mut R, title: &str, ns: i32, out: &mut String) {
    out.push_str("[[");
    if ns == 6 || ns == 14 {
        out.push(':');
    }
    let (prefix, name) = title.split_at(ns_prefix(ns).len());
    match rng.random_range(0..1000u32) {
        0..660 => out.push_str(title),
        660..840 => {
            out.push_str(title);
            push_label(rng, out);
        }
        840..880 => {
            push_lower_first(prefix, out);
            push_lower_first(name, out);
        }
        880..915 => out.extend(title.chars().map(|c| if c == ' ' { '_' } else { c })),
        915..950 => {
            out.push_str(title);
            out.push('#');
            out.push_str(pick(rng, HEADINGS));
            if chance(rng, 400) {
                push_label(rng, out);
            }
        }
        950..970 => match title.find(' ') {
            Some(at) => {
                out.push_str(&title[..at]);
                out.push_str(pick(rng, &["  ", " _", "__", "   "]));
                out.push_str(&title[at + 1..]);
            }
            None => {
                out.push_str(title);
                out.push(' ');
            }
        },
        970..985 => {
            out.push_str(prefix);
            if name.contains(['&', '"', '\'']) {
                for c in name.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '"' => out.push_str("&quot;"),
                        '\'' => out.push_str("&#39;"),
                        c => out.push(c),
                    }
                }
            } else {
                use std::fmt::Write as _;
                let mut cs = name.chars();
                if let Some(c) = cs.next() {
                    let _ = write!(out, "&#x{:X};", u32::from(c));
                }
                out.push_str(cs.as_str());
            }
        }
        _ => {
            match ns {
                0 => out.push_str(title),
                6 => {
                    out.push_str("Image:");
                    out.push_str(name);
                }
                _ => {
                    out.push_str(&prefix.to_uppercase());
                    out.push_str(name);
                }
            }
            if chance(rng, 300) {
                push_label(rng, out);
            }
        }
    }
    out.push_str("]]");
}

/// Appends a link to a title that no dump has: a title word, then a
/// lowercase word, which no title decoration produces.
pub(crate) fn push_red_link<R: Rng>(rng: &mut R, out: &mut String) {
    out.push_str("[[");
    out.push_str(pick(rng, WORDS));
    out.push(' ');
    out.push_str(pick(rng, COMMON));
    out.push_str("]]");
}

fn push_capitalized<R: Rng>(rng: &mut R, out: &mut String) {
    let mut cs = pick(rng, COMMON).chars();
    if let Some(c) = cs.next() {
        out.extend(c.to_uppercase());
        out.push_str(cs.as_str());
    }
}

impl Synth {
    /// Appends a link to a page drawn by popularity; `scratch` receives its title.
    pub(crate) fn push_popular_link(&self, rng: &mut Wyrand, scratch: &mut String, out: &mut String) {
        let ns = self.links.target(self, rng, scratch);
        push_link(rng, scratch, ns, out);
    }

    /// Appends a category membership, to an existing category page when
    /// there is one at hand.
    pub(crate) fn push_membership(&self, rng: &mut Wyrand, scratch: &mut String, out: &mut String) {
        let Some(c) = self.links.category(rng).filter(|_| chance(rng, 500)) else {
            crate::push_category(rng, out);
            return;
        };
        self.title(c, scratch);
        out.push_str(if chance(rng, 100) { "[[category:" } else { "[[Category:" });
        out.push_str(&scratch[ns_prefix(14).len()..]);
        if chance(rng, 100) {
            out.push('|');
            out.push_str(pick(rng, WORDS));
        }
        out.push_str("]]");
    }

    /// Writes a passage of text with links: a template drawn from
    /// `passages` with its placeholders filled in, after a separator
    /// (`"\n"` if `new_line`) unless it starts a line of its own. Returns
    /// the bytes written.
    pub(crate) fn put_passage<W: Write>(
        &self,
        out: &mut Out<W>,
        rng: &mut Wyrand,
        new_line: bool,
        bufs: &mut PageBufs,
    ) -> io::Result<u64> {
        let p = &self.passages;
        let k = rng.random_range(0..p.bounds.len() as u32 - 1) as usize;
        let mut rest = &p.text[p.bounds[k] as usize..p.bounds[k + 1] as usize];
        let mut wrote = 0;
        if rest[0] != b'\n' {
            out.put(if new_line { b"\n" } else { b" " })?;
            wrote += 1;
        }
        while let Some(at) = rest.iter().position(|&b| b < SPOT_END) {
            out.put(&rest[..at])?;
            let (raw, scratch) = (&mut bufs.raw, &mut bufs.other);
            raw.clear();
            match rest[at] {
                SPOT_LINK => self.push_popular_link(rng, scratch, raw),
                SPOT_TITLE => {
                    let ns = self.links.target(self, rng, scratch);
                    if ns == 6 || ns == 14 {
                        raw.push(':');
                    }
                    raw.push_str(scratch);
                }
                SPOT_FILE => match self.links.file(rng) {
                    Some(f) => {
                        self.title(f, scratch);
                        raw.push_str(&scratch[ns_prefix(6).len()..]);
                    }
                    None => {
                        raw.push_str(pick(rng, WORDS));
                        raw.push_str(".jpg");
                    }
                },
                _ => {
                    self.missing_title(rng.random_range(0..1 << 30), scratch);
                    raw.push_str(scratch);
                }
            }
            put_escaped(out, raw, &mut bufs.esc)?;
            wrote += (at + bufs.esc.len()) as u64;
            rest = &rest[at + 1..];
        }
        out.put(rest)?;
        Ok(wrote + rest.len() as u64)
    }
}

/// Placeholders of passage templates, filled per page: a link to a page
/// drawn by popularity, such a page's bare title (`:`-prefixed for files and
/// categories), a file page's name, a title no page has.
const SPOT_LINK: u8 = 1;
const SPOT_TITLE: u8 = 2;
const SPOT_FILE: u8 = 3;
const SPOT_MISSING: u8 = 4;
const SPOT_END: u8 = 5;

/// How many passage templates a dump draws from: few enough that they stay
/// in the processor's cache, as each page draws a dozen at random.
const PASSAGES: usize = 512;

/// Passage templates: escaped wikitext with placeholders for the targets,
/// generated once from the seed, so that a page's passages cost a copy and
/// a few draws per link, not a draw per word.
pub(crate) struct Passages {
    text: Vec<u8>,
    /// Start of each template, then the end of the last.
    bounds: Vec<u32>,
}

impl Passages {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = stream(seed, 0, DOMAIN_PASSAGES);
        let mut text = Vec::new();
        let mut bounds = Vec::with_capacity(PASSAGES + 1);
        let mut raw = String::new();
        for k in 0..PASSAGES {
            bounds.push(text.len() as u32);
            raw.clear();
            // Kinds in fixed shares, so that every seed has the rare ones.
            push_template(&mut rng, (k * 1000 / PASSAGES) as u32, &mut raw);
            escape_into(&raw, &mut text);
        }
        bounds.push(text.len() as u32);
        Passages { text, bounds }
    }
}

fn push_spot(spot: u8, out: &mut String) {
    out.push(char::from(spot));
}

/// Appends a sentence of plain words and one to three links.
fn push_linked_sentence<R: Rng>(rng: &mut R, out: &mut String) {
    push_capitalized(rng, out);
    for _ in 0..rng.random_range(1..=3u32) {
        out.push(' ');
        push_words(rng, 1, 4, out);
        out.push(' ');
        push_spot(SPOT_LINK, out);
    }
    out.push('.');
}

/// Appends one passage template: prose, `<ref>`s, template arguments, file
/// captions and tables whose links count, and the places where they do not.
/// Block-level passages start with a newline; every passage ends with
/// non-space, like the units of the pre-generated text it is cut into.
/// `kind` (per mille) picks what the passage is.
fn push_template<R: Rng>(rng: &mut R, kind: u32, out: &mut String) {
    match kind {
        0..700 => push_linked_sentence(rng, out),
        700..780 => {
            push_linked_sentence(rng, out);
            out.push_str("<ref>{{cite book |last=");
            out.push_str(pick(rng, WORDS));
            out.push_str(" |title=");
            push_words(rng, 2, 4, out);
            out.push_str(" |publisher=");
            push_spot(SPOT_LINK, out);
            out.push_str(" |year=");
            push_num(rng.random_range(1900..2016u64), out);
            out.push_str("}}</ref>");
        }
        780..820 => {
            out.push_str("{{Efn|See ");
            push_spot(SPOT_LINK, out);
            out.push_str(" and ");
            push_spot(SPOT_LINK, out);
            out.push_str(".}}");
        }
        820..860 => {
            // An embed names its file without the colon; its caption's links count.
            out.push_str(pick(rng, &["\n[[File:", "\n[[File:", "\n[[File:", "\n[[Image:", "\n[[file:"]));
            push_spot(SPOT_FILE, out);
            out.push_str(pick(rng, &["|thumb|", "|thumb|upright|", "|left|thumb|220px|"]));
            push_linked_sentence(rng, out);
            out.push_str("]]");
        }
        860..880 => {
            out.push_str(if chance(rng, 700) { "<!-- " } else { "<!--\n" });
            push_spot(SPOT_LINK, out);
            out.push_str(" -->");
        }
        880..900 => {
            out.push_str("<nowiki>");
            push_spot(SPOT_LINK, out);
            out.push_str("</nowiki>");
        }
        900..907 => {
            out.push_str("\n<pre>");
            push_spot(SPOT_LINK, out);
            out.push_str("</pre>");
        }
        907..914 => {
            out.push_str("<math>x = ");
            push_spot(SPOT_LINK, out);
            out.push_str("</math>");
        }
        914..920 => {
            out.push_str("\n<syntaxhighlight lang=\"text\">");
            push_spot(SPOT_LINK, out);
            out.push_str("</syntaxhighlight>");
        }
        920..960 => {
            push_capitalized(rng, out);
            out.push(' ');
            if chance(rng, 500) {
                out.push_str("[[");
                push_spot(SPOT_MISSING, out);
                out.push_str("]]");
            } else {
                push_red_link(rng, out);
            }
            out.push('.');
        }
        960..985 => {
            out.push_str("\n{| class=\"wikitable\"\n! Name !! Notes");
            for _ in 0..rng.random_range(1..4u32) {
                out.push_str("\n|-\n| ");
                push_spot(SPOT_LINK, out);
                out.push_str(" || ");
                push_words(rng, 1, 3, out);
            }
            out.push_str("\n|}");
        }
        985..995 => {
            // Not a link to the outer target: its brackets hold another link.
            out.push_str("[[");
            push_spot(SPOT_TITLE, out);
            out.push_str("|see ");
            push_spot(SPOT_LINK, out);
            out.push_str(" here]]");
        }
        _ => {
            // Never closed: the next `[[` starts another link.
            out.push_str("[[");
            push_spot(SPOT_TITLE, out);
            out.push_str(" was ");
            push_words(rng, 1, 3, out);
        }
    }
}
