//! The bodies of wikidex's fuzz targets, shared by the libFuzzer entry points
//! (`cargo fuzz run NAME`) and the stable replay binaries (`fuzz/src/replay.rs`).
//!
//! Each target feeds arbitrary bytes to a parser that sees untrusted input and
//! checks more than "does not panic": every `Ok` must satisfy the invariants
//! the parser documents (a range inside the representation, a page fragment
//! that starts with `<page>` and ends with `</page>`, a footer that re-encodes
//! to the same bytes, ...). A failed `assert!` is a finding, like a panic.

pub mod replay;

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// A cursor over the fuzz input for structured targets: reads past the end
/// yield zeros, so every input is usable.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// An interesting `u64`: small, huge or arbitrary, chosen by one byte.
fn pick_u64(input: &mut Input<'_>) -> u64 {
    let kind = input.u8();
    let v = input.u64();
    match kind % 6 {
        0 => v % 64,
        1 => v % 100_000,
        2 => u64::MAX - (v % 4),
        3 => 0,
        4 => 1 << (v % 64),
        _ => v,
    }
}

// ---------------------------------------------------------------------------
// range: server::range::parse_range and if_range_matches

/// `Range` / `If-Range` parsing: never panics, every accepted range lies
/// inside the representation and under the cap, and the documented
/// equivalences hold (surrounding whitespace, the unit's case).
pub fn range(data: &[u8]) {
    use wikidex_server::range::{ByteRange, RangeError, if_range_matches, parse_range};
    let mut input = Input { data };
    let size = pick_u64(&mut input);
    let cap = pick_u64(&mut input);
    let modified_secs = input.u32();
    let header = input.rest();

    let result = parse_range(header, size, cap);
    match &result {
        Ok(r) => {
            assert!(r.start <= r.end, "{r:?}");
            assert!(r.end < size, "{r:?} size {size}");
            assert!(r.len() >= 1 && r.len() <= cap, "{r:?} cap {cap}");
            assert_eq!(r.len(), r.end - r.start + 1);
            let cr = r.content_range(size);
            assert_eq!(cr, format!("bytes {}-{}/{size}", r.start, r.end));
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert_eq!(e.content_range().is_none(), matches!(e, RangeError::Invalid(_)), "{e:?}");
            if let RangeError::TooLarge { len, cap: c, size: s } = e {
                assert!(*len > *c && *c == cap && *s == size);
            }
        }
    }
    // Deterministic, and blind to surrounding SP/HTAB.
    assert_eq!(parse_range(header, size, cap), result);
    let mut padded = b" \t".to_vec();
    padded.extend_from_slice(header);
    padded.extend_from_slice(b"\t ");
    assert_eq!(parse_range(&padded, size, cap), result, "OWS changed the outcome");
    // The unit is case-insensitive.
    if header.len() >= 6 && header[..6].eq_ignore_ascii_case(b"bytes=") {
        let mut upper = b"BYTES=".to_vec();
        upper.extend_from_slice(&header[6..]);
        assert_eq!(parse_range(&upper, size, cap), result, "unit case changed the outcome");
    }
    // A larger cap never turns a success into a failure.
    if let Ok(r) = result {
        assert_eq!(parse_range(header, size, u64::MAX), Ok(ByteRange { ..r }));
    }

    let modified = UNIX_EPOCH + Duration::from_secs(u64::from(modified_secs));
    let etag = "\"5d3a-1f\"";
    let _ = if_range_matches(header, etag, modified);
    // Our own validators always match.
    assert!(if_range_matches(etag.as_bytes(), etag, modified));
    assert!(if_range_matches(httpdate::fmt_http_date(modified).as_bytes(), etag, modified));
    // A weak tag never does.
    if header.starts_with(b"W/") {
        assert!(!if_range_matches(header, etag, modified));
    }
    // An arbitrary value used as our etag.
    if let Ok(text) = std::str::from_utf8(header) {
        let _ = if_range_matches(header, text, modified);
    }
}

// ---------------------------------------------------------------------------
// request: server::request decoding, limit/fields parsing, title variants

/// Path and query decoding: never panics, errors point at the offending `%`,
/// decoding inverts encoding, and the small parsers built on top respect
/// their documented ranges.
pub fn request(data: &[u8]) {
    use wikidex_server::handlers::offsets::{parse_fields, parse_limit};
    use wikidex_server::request::{
        DecodeError, decode_path_title, encode_title, parse_query, single, uppercase_first,
    };
    let text = String::from_utf8_lossy(data);
    let s: &str = &text;

    match decode_path_title(s) {
        Ok(title) => {
            assert!(!title.contains('_'), "decoded titles have spaces, not underscores");
            assert_eq!(decode_path_title(&encode_title(&title)).as_deref(), Ok(title.as_str()));
        }
        Err(DecodeError::BadPercent { at }) => assert_eq!(s.as_bytes()[at], b'%', "{s:?} at {at}"),
        Err(e) => assert!(!e.to_string().is_empty()),
    }

    match parse_query(s) {
        Ok(pairs) => {
            // Re-encoding the pairs and parsing again gives the same pairs.
            let again: Vec<String> =
                pairs.iter().map(|(k, v)| format!("{}={}", encode_title(k), encode_title(v))).collect();
            assert_eq!(parse_query(&again.join("&")).as_ref(), Ok(&pairs), "{s:?}");
            for key in ["limit", "after", "fields", "redirect", "search", "q", "namespace", ""] {
                let n = pairs.iter().filter(|(k, _)| k == key).count();
                match single(&pairs, key) {
                    Ok(None) => assert_eq!(n, 0),
                    Ok(Some(v)) => assert!(n == 1 && pairs.iter().any(|(k, pv)| k == key && pv == v)),
                    Err(DecodeError::Repeated(k)) => assert!(n > 1 && k == key),
                    Err(e) => panic!("single: unexpected {e:?}"),
                }
            }
        }
        Err(DecodeError::BadPercent { at }) => assert_eq!(s.as_bytes()[at], b'%', "{s:?} at {at}"),
        Err(DecodeError::Repeated(_)) => panic!("parse_query never reports repeats"),
        Err(_) => {}
    }

    let encoded = encode_title(s);
    assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded:?}");

    let upper = uppercase_first(s);
    let mut chars = s.chars();
    if chars.next().is_some() {
        assert!(upper.ends_with(chars.as_str()), "uppercase_first changed more than the first letter");
    } else {
        assert!(upper.is_empty());
    }

    for max in [1usize, 100, 10_000, usize::MAX] {
        if let Ok(n) = parse_limit(s, max) {
            assert!((1..=max).contains(&n), "limit {n} of {max}");
            assert!(s.bytes().all(|b| b.is_ascii_digit()), "{s:?} accepted as a limit");
        }
    }
    if let Ok(fields) = parse_fields(s) {
        assert!(fields.len() <= 3);
    }

    let site = site();
    if let Some(variant) = wikidex_server::title::first_letter_variant(&site, s) {
        assert_ne!(variant, s);
        // Normalizing is idempotent.
        assert_eq!(
            wikidex_server::title::first_letter_variant(&site, &variant),
            None,
            "{s:?} -> {variant:?}"
        );
    }
}

fn site() -> wikidex_indexer::SiteInfo {
    use wikidex_indexer::format::Namespace;
    let ns = |key, case: &str, name: &str| Namespace { key, case: case.into(), name: name.into() };
    wikidex_indexer::SiteInfo {
        dbname: "enwiki".into(),
        case: "first-letter".into(),
        namespaces: vec![
            ns(0, "first-letter", ""),
            ns(1, "first-letter", "Talk"),
            ns(4, "first-letter", "Wikipedia"),
            ns(2302, "case-sensitive", "Gadget definition"),
        ],
    }
}

// ---------------------------------------------------------------------------
// page: indexer::scan on arbitrary bytes

/// Dump scanning: the prologue, page and header parsers never panic or read
/// out of bounds; an accepted page is a `<page>…</page>` fragment with a
/// legal title; and a whole-dump scan finds the same pages at any chunk size.
pub fn page(data: &[u8]) {
    use std::sync::atomic::AtomicBool;
    use wikidex_indexer::format::MAX_FULL_TITLE_BYTES;
    use wikidex_indexer::scan::{ScanOptions, TitleRules, parse_header, parse_page, parse_prologue, scan};
    let (chunk_choice, buf) = match data.split_first() {
        Some((&c, rest)) => (c, rest),
        None => return,
    };

    let mut starts: Vec<usize> = Vec::new();
    let mut from = 0;
    while starts.len() < 16 {
        match find(&buf[from..], b"<page>") {
            Some(i) => {
                starts.push(from + i);
                from += i + 1;
            }
            None => break,
        }
    }
    starts.push(0);
    for &start in &starts {
        let header = parse_header(buf, start);
        if let Ok(h) = &header {
            assert!(h.body_from <= buf.len());
            assert!((1..=MAX_FULL_TITLE_BYTES).contains(&h.title.len()), "title {:?}", h.title);
        }
        match parse_page(buf, start) {
            Ok(p) => {
                assert_eq!(p.start as usize, start);
                assert!(p.end >= p.start && (p.end as usize) < buf.len());
                let frag = &buf[start..=p.end as usize];
                // A damaged header element must not make a page run on
                // through the following ones (or past the end tag).
                assert!(
                    !swallows_pages(frag),
                    "page at {start} swallows other pages: {:?}",
                    String::from_utf8_lossy(frag)
                );
                assert!(
                    frag.starts_with(b"<page>") && frag.ends_with(b"</page>"),
                    "{:?}",
                    String::from_utf8_lossy(frag)
                );
                assert!((1..=MAX_FULL_TITLE_BYTES).contains(&p.title.len()));
                if let Some(r) = &p.redirect {
                    assert!((1..=MAX_FULL_TITLE_BYTES).contains(&r.len()));
                }
                let h = header.expect("a page that parses has a header that parses");
                assert_eq!((h.title, h.ns), (p.title, p.ns));
            }
            Err(e) => assert!(e.offset as usize <= buf.len() && !e.message.is_empty(), "{e:?}"),
        }
    }

    let Ok(prologue) = parse_prologue(buf) else { return };
    assert!(prologue.body_start <= buf.len());
    let cancel = AtomicBool::new(false);
    let rules = TitleRules::new(&prologue.site);
    let run = |chunk_size: usize| {
        let opts = ScanOptions::quiet(chunk_size, &cancel, &rules);
        scan(buf, prologue.body_start, &opts).map(|r| {
            let r = r.expect("not cancelled");
            let pages: Vec<_> = r
                .chunks
                .iter()
                .flat_map(|c| c.pages.iter())
                .map(|p| (p.start, p.len, p.ns, r.title(p).to_vec(), r.redirect(p).map(<[u8]>::to_vec)))
                .collect();
            pages
        })
    };
    let whole = run(usize::MAX / 2);
    if let Ok(pages) = &whole {
        for (start, len, _, title, _) in pages {
            let frag = &buf[*start as usize..*start as usize + *len as usize];
            assert!(!swallows_pages(frag), "page at {start} swallows other pages");
            assert!(frag.starts_with(b"<page>") && frag.ends_with(b"</page>"));
            assert!(std::str::from_utf8(title).is_ok());
        }
    }
    let chunk = usize::from(chunk_choice % 64) + 1;
    let chunked = run(chunk);
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunk size {chunk} found different pages"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "chunk size {chunk} disagrees with one chunk: {:?} vs {:?}",
            a.as_ref().map(Vec::len),
            b.as_ref().map(Vec::len)
        ),
    }
}

/// A page fragment with `<page>`, `</page>` or `</mediawiki>` inside it:
/// MediaWiki escapes `<` in text, so one fragment ran over into the next.
fn swallows_pages(frag: &[u8]) -> bool {
    let inner = &frag[6.min(frag.len())..frag.len().saturating_sub(7)];
    find(inner, b"<page>").is_some()
        || find(inner, b"</page>").is_some()
        || find(inner, b"</mediawiki>").is_some()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// footer: format::Footer::decode

/// Footer decoding: never panics; an accepted footer accounts for every byte
/// and re-encodes to the same 32 bytes; a correct footer over these bytes is
/// accepted and any single flipped bit in it is refused.
pub fn footer(data: &[u8]) {
    use wikidex_indexer::format::{FOOTER_LEN, FileKind, Footer};
    let path = Path::new("fuzz.bin");
    if let Ok(f) = Footer::decode(data, path) {
        assert_eq!(f.payload_len as usize, data.len() - FOOTER_LEN);
        assert_eq!(&f.encode()[..], &data[data.len() - FOOTER_LEN..]);
    }
    let kinds = [
        FileKind::TitleColumn,
        FileKind::Starts,
        FileKind::Lengths,
        FileKind::Namespaces,
        FileKind::Redirects,
    ];
    let kind = kinds[data.first().map_or(0, |&b| usize::from(b) % kinds.len())];
    let good = Footer::new(kind, data.len() as u64, crc32fast::hash(data));
    let mut file = data.to_vec();
    file.extend_from_slice(&good.encode());
    assert_eq!(Footer::decode(&file, path).expect("a fresh footer decodes"), good);
    if let Some(&b) = data.last() {
        let bit = usize::from(b) % (FOOTER_LEN * 8);
        let at = data.len() + bit / 8;
        file[at] ^= 1 << (bit % 8);
        assert!(Footer::decode(&file, path).is_err(), "flipped bit {bit} of the footer was accepted");
    }
}

// ---------------------------------------------------------------------------
// index_open: Index::open, verify and queries over arbitrary index files

/// A scratch directory reused for every execution of `index_open` (on
/// `/dev/shm` when there is one: this target writes up to seven files per input).
fn scratch() -> &'static Path {
    use std::sync::OnceLock;
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("tempdir")
    })
    .path()
}

/// Index files from arbitrary bytes: either raw (every file, the manifest
/// included, is fuzz data) or well-formed containers (real footers, CRCs and
/// manifest entries for every file an index requires) around fuzzed
/// contents, so the checks past the checksums are reached; `titles.fc` is
/// the real column when the mode byte says so, else fuzzed bytes. Whatever
/// `Index::open` and `Index::verify` accept must then answer every query
/// without panicking, with pages inside the dump, listings that agree with
/// `rows_of` and ranked listings that stay under their prefix.
pub fn index_open(data: &[u8]) {
    index_open_served(data);
}

/// [`index_open`], saying whether the input made an index that opened,
/// verified and was queried: the well-formed containers must write every
/// file an index requires, or every input stops at `Index::open` and the
/// target checks nothing (a test below holds the seeds to that).
pub fn index_open_served(data: &[u8]) -> bool {
    use wikidex_indexer::format::{self, FOOTER_LEN, FileEntry, FileKind, Footer, MANIFEST};
    let dir = scratch();
    let names = [
        format::STARTS,
        format::LENGTHS,
        format::NAMESPACES,
        format::REDIRECTS,
        format::TITLE_COLUMN,
        format::JSON_ROWS,
        format::IDS,
        format::REDIRECT_TARGETS,
        format::SCORES,
        format::RANKED_LISTS,
    ];
    let kinds = [
        FileKind::Starts,
        FileKind::Lengths,
        FileKind::Namespaces,
        FileKind::Redirects,
        FileKind::TitleColumn,
        FileKind::JsonRows,
        FileKind::Ids,
        FileKind::RedirectTargets,
        FileKind::Scores,
        FileKind::RankedLists,
    ];
    for name in names.iter().chain([&MANIFEST]) {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let mut input = Input { data };
    let mode = input.u8();
    if mode & 1 == 0 {
        // Raw: manifest and files straight from the input.
        for name in [MANIFEST].iter().chain(names.iter()) {
            if input.u8() & 7 == 7 {
                continue; // a missing file
            }
            let n = usize::from(input.u16());
            std::fs::write(dir.join(name), input.bytes(n)).expect("write");
        }
    } else {
        // Well-formed containers around fuzzed contents.
        let consistent = mode & 2 != 0;
        let mut titles: Vec<Vec<u8>> = (0..input.u8() % 12)
            .map(|_| {
                let n = usize::from(input.u8() % 6);
                input.bytes(n).to_vec()
            })
            .collect();
        titles.sort();
        titles.dedup();
        let mut rows_per_title: Vec<u64> = titles.iter().map(|_| u64::from(input.u8() % 3) + 1).collect();
        if !consistent {
            rows_per_title.iter_mut().for_each(|n| *n = n.saturating_sub(1));
        }
        let derived_pages: u64 = rows_per_title.iter().sum();
        let pages = if consistent { derived_pages } else { u64::from(input.u8() % 16) };
        let dump_bytes = if consistent { 1 << 20 } else { pick_u64(&mut input) };
        let column = |input: &mut Input<'_>, width: usize, sane: &dyn Fn(u64, &mut Input<'_>) -> Vec<u8>| {
            let mut out = Vec::new();
            for r in 0..pages {
                if consistent {
                    out.extend(sane(r, input));
                } else {
                    out.extend_from_slice(input.bytes(width));
                }
            }
            out
        };
        let starts = column(&mut input, format::START_BYTES, &|r, _| {
            (r * 100).to_le_bytes()[..format::START_BYTES].to_vec()
        });
        let lengths = column(&mut input, 4, &|_, i| (u32::from(i.u8()) + 1).to_le_bytes().to_vec());
        let ns = column(&mut input, 2, &|_, i| i16::from(i.u8() as i8).to_le_bytes().to_vec());
        let redirects = column(&mut input, 4, &|_, i| {
            let r = match i.u8() % 4 {
                0 => format::NOT_REDIRECT,
                1 => format::TARGET_MISSING,
                _ => u32::from(i.u8()) % (pages as u32).max(1),
            };
            r.to_le_bytes().to_vec()
        });
        let ids = column(&mut input, 4, &|r, _| (r as u32).to_le_bytes().to_vec());
        // No redirect target outside the dump (an empty set) or fuzzed bytes.
        let targets = if consistent {
            fst::SetBuilder::memory().into_inner().expect("an empty set")
        } else {
            let n = usize::from(input.u8() % 64);
            input.bytes(n).to_vec()
        };
        // Scores (and, fuzzed, saturated pairs after them), then the ranked
        // lists: one over every row, best first, or fuzzed words.
        let mut scores = column(&mut input, 2, &|_, i| u16::from(i.u8()).to_le_bytes().to_vec());
        if !consistent {
            let n = usize::from(input.u8() % 3) * 8;
            scores.extend_from_slice(input.bytes(n));
        }
        let ranked = if consistent && pages > 0 {
            let score = |r: u64| u16::from_le_bytes([scores[r as usize * 2], scores[r as usize * 2 + 1]]);
            let mut rows: Vec<u64> = (0..pages).collect();
            rows.sort_by_key(|&r| (std::cmp::Reverse(score(r)), r));
            let mut words = vec![1u32, 0, 0, pages as u32, 0, pages as u32];
            words.extend(rows.iter().map(|&r| r as u32));
            words.iter().flat_map(|w| w.to_le_bytes()).collect()
        } else if consistent {
            vec![0u8; 8]
        } else {
            let n = usize::from(input.u8() % 16) * 4;
            input.bytes(n).to_vec()
        };
        // The title column: every row's title, or fuzzed bytes.
        let title_column = Some({
            if mode & 4 != 0 {
                let mut w = format::TitleColumnWriter::new(Vec::new());
                for (t, n) in titles.iter().zip(&rows_per_title) {
                    for _ in 0..*n {
                        w.push(t).expect("titles of at most 5 bytes");
                    }
                }
                w.finish().expect("a Vec")
            } else {
                let n = usize::from(input.u8());
                input.bytes(n).to_vec()
            }
        });
        // The optional rows as JSON: every row's fragment, or fuzzed bytes.
        let json_rows = (mode & 8 != 0).then(|| {
            if consistent {
                let mut w = format::JsonRowsWriter::new(Vec::new());
                let mut row = 0;
                for (t, n) in titles.iter().zip(&rows_per_title) {
                    for _ in 0..*n {
                        let len =
                            u32::from_le_bytes(lengths[row * 4..row * 4 + 4].try_into().expect("4 bytes"));
                        let start = row as u64 * 100;
                        w.push(&String::from_utf8_lossy(t), start, start + u64::from(len) - 1)
                            .expect("a Vec");
                        row += 1;
                    }
                }
                w.finish().expect("a Vec")
            } else {
                let n = usize::from(input.u8());
                input.bytes(n).to_vec()
            }
        });
        let mut files = std::collections::BTreeMap::new();
        let payloads = [
            Some(starts),
            Some(lengths),
            Some(ns),
            Some(redirects),
            title_column,
            json_rows,
            Some(ids),
            Some(targets),
            Some(scores),
            Some(ranked),
        ];
        for ((name, kind), payload) in names.iter().zip(kinds).zip(payloads) {
            let Some(payload) = payload else { continue };
            let crc = crc32fast::hash(&payload);
            let mut file = payload.clone();
            file.extend_from_slice(&Footer::new(kind, payload.len() as u64, crc).encode());
            std::fs::write(dir.join(name), &file).expect("write");
            files.insert(
                name.to_string(),
                FileEntry { bytes: (payload.len() + FOOTER_LEN) as u64, crc32: crc },
            );
        }
        let manifest = wikidex_indexer::Manifest {
            format: "wikidex-index".into(),
            format_version: format::FORMAT_VERSION,
            created_by: "fuzz".into(),
            dump: wikidex_indexer::DumpIdentity {
                path: "dump.xml".into(),
                bytes: dump_bytes,
                mtime_ns: 0,
                fingerprint: String::new(),
            },
            site: site(),
            pages,
            titles: titles.len() as u64,
            redirects: 0,
            redirects_missing: 0,
            skipped: Vec::new(),
            content: wikidex_indexer::format::ContentIdentity::new(dump_bytes, 0),
            store: None,
            files,
        };
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).expect("json")).expect("write");
    }

    let Ok(index) = wikidex_indexer::Index::open(dir) else { return false };
    if index.verify().is_err() {
        return false;
    }
    let dump_bytes = index.manifest().dump.bytes;
    let pages = index.pages();
    let check = |row: u32| {
        assert!(u64::from(row) < pages, "row {row} of {pages} pages");
        let p = index.page(row);
        assert!(p.start <= p.end && p.end < dump_bytes, "{p:?} outside a dump of {dump_bytes} bytes");
    };
    for row in 0..pages.min(4096) as u32 {
        check(row);
    }
    let mut rows = index.prefix(b"", None);
    let mut title = Vec::new();
    let mut seen = 0;
    while let Some(range) = rows.next_title(&mut title) {
        for row in range.clone() {
            check(row);
        }
        let again = index.rows_of(&title);
        assert_eq!(again, range, "rows_of and prefix disagree for {title:?}");
        // The rows a copied listing takes start at the title's first row,
        // and a verified rows.jsf holds them.
        let listed = index.prefix_rows(&title, None, 3);
        assert_eq!(listed.start, range.start, "prefix_rows and prefix disagree for {title:?}");
        assert!(listed.len() <= 3 && listed.end as u64 <= pages);
        if index.has_json_rows() {
            let json = index.json_rows(listed.clone()).expect("verified rows.jsf holds every row");
            let mut want = Vec::new();
            for row in listed {
                let mut t = Vec::new();
                assert!(index.title_of(row, &mut t));
                let p = index.page(row);
                format::json_rows::write_fragment(
                    &mut want,
                    std::str::from_utf8(&t).expect("verified"),
                    p.start,
                    p.end,
                );
            }
            assert_eq!(json, &want[..], "rows.jsf for {title:?}");
        }
        if let Ok(text) = std::str::from_utf8(&title) {
            for follow in [false, true] {
                if let Ok(r) = wikidex_server::handlers::wiki::resolve(&index, text, follow) {
                    check(r.page.row);
                }
            }
        }
        if !title.is_empty() {
            // Ranked: only rows of the index, under the prefix, each once.
            let head = &title[..1];
            let mut ranked: Vec<u32> = index
                .ranked_prefix(head, wikidex_indexer::rank::Filter::default(), None, 10)
                .take(64)
                .collect();
            let mut t3 = Vec::new();
            for &row in &ranked {
                check(row);
                assert!(
                    index.title_of(row, &mut t3) && t3.starts_with(head),
                    "ranked row {row} under {head:?}"
                );
            }
            ranked.sort_unstable();
            let n = ranked.len();
            ranked.dedup();
            assert_eq!(ranked.len(), n, "a ranked listing repeats a row under {head:?}");
            let mut after = index.prefix(&title[..1], Some(&title));
            let mut t2 = Vec::new();
            while let Some(range) = after.next_title(&mut t2) {
                assert!(t2 > title);
                range.for_each(check);
            }
        }
        seen += 1;
        assert!(seen <= index.manifest().titles, "more titles than the manifest says");
    }
    true
}

#[cfg(test)]
mod tests {
    /// The well-formed seeds make indexes that open and verify, so the
    /// queries after `Index::open` are what the target exercises. (For a
    /// while no input got past `open`: the containers lacked `ids.u32`.)
    #[test]
    fn index_open_seeds_reach_the_queries() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/index_open");
        // (`structured-ok` sets no title-column bit: its titles.fc is
        // fuzzed bytes, since every index now has one.)
        for seed in ["structured-title-column", "structured-json-rows"] {
            let data = std::fs::read(format!("{dir}/{seed}")).expect("a seed");
            assert!(super::index_open_served(&data), "{seed} stops before the queries");
        }
    }
}
