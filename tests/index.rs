//! `wikidex index` and `wikidex gen`: correctness against an independent
//! extraction, generated dumps, bad input and atomic replacement.
//! See: issue 2 (Indexer).

use crate::util::{
    ExpectedPage, Server, dump_file, extract_pages, indexed_copy, real_excerpt, repo, wikidex,
};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use wikidex_indexer::{Builder, Index, Redirect};

/// Every (title, start, end, ns, redirect target title) the index holds, in
/// row order, read back through the public reader.
fn index_rows(index: &Index) -> Vec<(String, u64, u64, i32, Option<Redirect>)> {
    let mut out = Vec::new();
    for (title, range) in listing(index, b"", None, usize::MAX) {
        for row in range {
            let p = index.page(row);
            assert_eq!(p.row, row);
            out.push((String::from_utf8(title.clone()).unwrap(), p.start, p.end, p.ns, Some(p.redirect)));
        }
    }
    out
}

/// Asserts the index at `dir` holds exactly `expected`.
fn assert_index_matches(dir: &Path, expected: &[ExpectedPage]) {
    let index = Index::open(dir).unwrap();
    index.verify().unwrap();
    let got = index_rows(&index);
    let mut want: Vec<&ExpectedPage> = expected.iter().collect();
    want.sort_by(|a, b| a.title.as_bytes().cmp(b.title.as_bytes()).then(a.start.cmp(&b.start)));
    assert_eq!(got.len(), want.len(), "page count");
    assert_eq!(index.pages(), want.len() as u64);
    // First row of each title, to resolve redirect rows back to titles.
    let mut first_row: HashMap<&str, u32> = HashMap::new();
    for (row, w) in want.iter().enumerate() {
        first_row.entry(w.title.as_str()).or_insert(row as u32);
    }
    let mut title = Vec::new();
    for (row, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!((g.0.as_str(), g.1, g.2, g.3), (w.title.as_str(), w.start, w.end, w.ns), "row {row}");
        assert!(index.title_of(row as u32, &mut title), "title_of({row})");
        assert_eq!(title, w.title.as_bytes(), "title_of({row}) walks back to its title");
        let redirect = match &w.redirect {
            None => Redirect::None,
            Some(t) => first_row.get(t.as_str()).map_or(Redirect::Missing, |&r| Redirect::To(r)),
        };
        assert_eq!(g.4, Some(redirect), "redirect of {:?}", w.title);
    }
    assert!(!index.title_of(want.len() as u32, &mut title));
    // Every title is found again through its folded form, in folded order.
    let fold = wikidex_indexer::fold::fold;
    let mut folded_order: Vec<(String, &str)> =
        want.iter().map(|w| (fold(&w.title), w.title.as_str())).collect();
    folded_order.sort();
    folded_order.dedup();
    let mut all = index.folded_prefix("", None).expect("folded.fst is built by default");
    let mut seen = Vec::new();
    while let Some(rows) = all.next_title(&mut title) {
        assert_eq!(rows, index.rows_of(&title));
        seen.push(String::from_utf8(title.clone()).unwrap());
    }
    assert_eq!(seen, folded_order.iter().map(|(_, t)| t.to_string()).collect::<Vec<_>>());
    let m = index.manifest();
    assert_eq!(m.redirects, expected.iter().filter(|p| p.redirect.is_some()).count() as u64);
    assert_listings_match(&index, &want);
}

/// The first `n` titles (and their rows) of a listing.
fn listing(index: &Index, prefix: &[u8], after: Option<&[u8]>, n: usize) -> Vec<(Vec<u8>, Range<u32>)> {
    let mut rows = index.prefix(prefix, after);
    let (mut title, mut out) = (Vec::new(), Vec::new());
    while out.len() < n
        && let Some(range) = rows.next_title(&mut title)
    {
        out.push((title.clone(), range));
    }
    out
}

/// Every listing is the one a filter of the sorted pages gives (their
/// titles, each with its run of rows): for every 1–3 byte prefix of every
/// title, a few that no title has, from the start and after each title
/// (all of them searches of `titles.fc`); and each title's own rows.
fn assert_listings_match(index: &Index, sorted: &[&ExpectedPage]) {
    let mut model: Vec<(Vec<u8>, Range<u32>)> = Vec::new();
    for (row, page) in sorted.iter().enumerate() {
        match model.last_mut() {
            Some((title, rows)) if title == page.title.as_bytes() => rows.end += 1,
            _ => model.push((page.title.as_bytes().to_vec(), row as u32..row as u32 + 1)),
        }
    }
    let expect = |prefix: &[u8], after: Option<&[u8]>, n: usize| -> Vec<(Vec<u8>, Range<u32>)> {
        model
            .iter()
            .filter(|(t, _)| t.starts_with(prefix) && after.is_none_or(|a| &t[..] > a))
            .take(n)
            .cloned()
            .collect()
    };
    let mut probes: BTreeSet<&[u8]> = [&b"\xff"[..], b"~~~", b"\x00", b""].into_iter().collect();
    for (t, _) in &model {
        probes.extend((1..=3.min(t.len())).map(|n| &t[..n]));
    }
    for p in probes {
        assert_eq!(listing(index, p, None, usize::MAX), expect(p, None, usize::MAX), "prefix {p:?}");
        assert_eq!(
            index.prefix_rows(p, None, u32::MAX).len(),
            expect(p, None, usize::MAX).iter().map(|(_, r)| r.len()).sum::<usize>(),
            "rows of {p:?}"
        );
    }
    for (t, rows) in &model {
        assert_eq!(index.rows_of(t), rows.clone(), "rows of {t:?}");
        for p in [&t[..1.min(t.len())], b"", t] {
            assert_eq!(listing(index, p, Some(t), 5), expect(p, Some(t), 5), "{p:?} after {t:?}");
        }
    }
    assert!(index.rows_of(b"\xff no such title").is_empty());
}

#[test]
fn real_excerpt_matches_an_independent_extraction() {
    let dump = real_excerpt();
    let (_dir, copy, index) = indexed_copy(&dump);
    let xml = std::fs::read(&copy).unwrap();
    let expected = extract_pages(&xml);
    assert_eq!(expected.len(), 206, "the excerpt has 206 pages");
    assert_eq!(expected.iter().filter(|p| p.redirect.is_some()).count(), 100);
    for p in &expected {
        let frag = &xml[p.start as usize..=p.end as usize];
        assert!(frag.starts_with(b"<page>") && frag.ends_with(b"</page>"));
    }
    assert_index_matches(&index, &expected);
    let m = Index::open(&index).unwrap().manifest().clone();
    assert_eq!(m.site.dbname, "enwiki");
    assert_eq!(m.site.namespace(4).unwrap().name, "Wikipedia");
}

#[test]
fn bundled_sample_is_what_the_generator_writes_and_indexes_exactly() {
    use wikidex_synth::{SynthConfig, generate};
    let sample = repo().join("data/sample.xml");
    let on_disk = std::fs::read(&sample).unwrap();
    let mut regenerated = Vec::new();
    let mut reported = Vec::new();
    generate(&SynthConfig::new(1000, 42), &mut regenerated, |p| {
        reported.push(ExpectedPage {
            title: p.title.to_string(),
            start: p.start,
            end: p.end,
            ns: p.ns,
            id: p.id,
            redirect: p.redirect.map(str::to_string),
        })
    })
    .unwrap();
    assert!(on_disk == regenerated, "data/sample.xml differs from `wikidex gen --pages 1000 --seed 42`");
    assert_eq!(extract_pages(&on_disk), reported, "generator's own report vs quick-xml");
    let (_dir, _copy, index) = indexed_copy(&sample);
    assert_index_matches(&index, &reported);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any generated dump, cut into any chunk size, indexes to exactly the
    /// pages the generator wrote.
    #[test]
    fn generated_dumps_index_to_exactly_the_generated_pages(
        pages in 0u64..600,
        seed in any::<u64>(),
        chunk in 1usize..200_000,
    ) {
        use wikidex_synth::{SynthConfig, generate};
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("gen.xml");
        let mut reported = Vec::new();
        let file = std::fs::File::create(&dump).unwrap();
        generate(&SynthConfig::new(pages, seed), &file, |p| reported.push(ExpectedPage {
            title: p.title.to_string(), start: p.start, end: p.end, ns: p.ns, id: p.id,
            redirect: p.redirect.map(str::to_string),
        })).unwrap();
        drop(file);
        let out = dir.path().join("gen.wikidex");
        let summary = Builder::new(&dump, &out).chunk_size(chunk).build().unwrap();
        prop_assert_eq!(summary.pages, pages);
        assert_index_matches(&out, &reported);
    }
}

/// A minimal valid dump around the given page elements.
fn dump_with(pages: &str) -> String {
    format!(
        "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\" version=\"0.10\">\n  <siteinfo>\n    <case>first-letter</case>\n  </siteinfo>\n{pages}</mediawiki>\n"
    )
}

fn page(title: &str) -> String {
    format!(
        "  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>1</id>\n    <revision>\n      <text xml:space=\"preserve\">x</text>\n    </revision>\n  </page>\n"
    )
}

/// Runs `wikidex index` on `bytes` and asserts a clear failure: non-zero
/// exit, a message naming the file (and `byte N` when given) and containing
/// `want`, and no index directory left behind.
fn assert_refused(bytes: &[u8], want: &str, offset: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("bad.xml");
    std::fs::write(&dump, bytes).unwrap();
    let out_dir = dir.path().join("bad.wikidex");
    let out = wikidex(&["index", dump.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{want}: {stderr}");
    assert!(stderr.contains(dump.to_str().unwrap()), "names the file: {stderr}");
    assert!(stderr.contains(want), "expected {want:?} in: {stderr}");
    if let Some(offset) = offset {
        assert!(stderr.contains(&format!("byte {offset}:")), "expected byte {offset} in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bad.xml")], "nothing written: {stderr}");
}

#[test]
fn bad_dumps_are_refused_with_the_file_and_byte_offset() {
    let good = dump_with(&(page("A") + &page("B")));
    let second = good.match_indices("  <page>").nth(1).unwrap().0 + 2;
    assert_refused(b"hello world", "not a MediaWiki XML dump", Some(0));
    assert_refused(b"", "empty", Some(0));
    assert_refused(b"\xFF\xFE<\0m\0e\0", "UTF-16", Some(0));
    assert_refused(&good.as_bytes()[..good.len() - 20], "truncated", None);
    assert_refused(&good.as_bytes()[..second + 30], "cut off", Some(second));
    let no_title = dump_with(&(page("A") + &page("B").replace("    <title>B</title>\n", "")));
    assert_refused(no_title.as_bytes(), "no <title>", Some(second));
    let long = dump_with(&(page("A") + &page(&"x".repeat(256))));
    assert_refused(long.as_bytes(), "256 bytes long", None);
    let mut bad_utf8 = dump_with(&(page("A") + &page("B\u{1}"))).into_bytes();
    let at = bad_utf8.iter().position(|&b| b == 1).unwrap();
    bad_utf8[at] = 0xFF;
    assert_refused(&bad_utf8, "not valid UTF-8", None);
    let unclosed = good.replacen("</page>", "", 1);
    assert_refused(unclosed.as_bytes(), "no </page>", None);
    let bz2 = b"BZh91AY&SY\x00\x00";
    assert_refused(bz2, "the .bz2 file ends in the middle of a stream", None);
}

#[test]
fn a_missing_dump_is_a_clear_error() {
    let out = wikidex(&["index", "/nonexistent/dump.xml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("/nonexistent/dump.xml") && stderr.contains("No such file"), "{stderr}");
}

#[test]
fn a_failed_rebuild_keeps_the_previous_index() {
    let (dir, dump) = dump_file(&dump_with(&page("Old")));
    let out_dir = dir.path().join("d.wikidex");
    assert!(wikidex(&["index", dump.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]).status.success());
    std::fs::write(&dump, dump_with(&page("New")).replace("</mediawiki>", "")).unwrap();
    assert!(!wikidex(&["index", dump.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]).status.success());
    let index = Index::open(&out_dir).unwrap();
    assert_eq!(index.rows_of(b"Old"), 0..1);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temporaries left: {names:?}");
    // A good rebuild replaces it.
    std::fs::write(&dump, dump_with(&page("New"))).unwrap();
    assert!(wikidex(&["index", dump.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]).status.success());
    let index = Index::open(&out_dir).unwrap();
    assert_eq!((index.rows_of(b"Old"), index.rows_of(b"New")), (0..0, 0..1));
}

#[test]
fn refuses_to_overwrite_a_directory_that_is_not_an_index() {
    let (dir, dump) = dump_file(&dump_with(&page("A")));
    let precious = dir.path().join("home");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep").unwrap();
    let out = wikidex(&["index", dump.to_str().unwrap(), "-o", precious.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a wikidex index"));
    assert_eq!(std::fs::read_to_string(precious.join("notes.txt")).unwrap(), "keep");
}

#[test]
fn duplicate_titles_are_kept_in_start_order() {
    let xml = dump_with(&(page("Dup") + &page("A") + &page("Dup") + &page("Dup")));
    let (dir, dump) = dump_file(&xml);
    let out_dir = dir.path().join("d.wikidex");
    assert!(wikidex(&["index", dump.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]).status.success());
    let index = Index::open(&out_dir).unwrap();
    assert_eq!(index.manifest().titles, 2);
    let rows = index.rows_of(b"Dup");
    assert_eq!(rows.len(), 3);
    let starts: Vec<u64> = rows.map(|r| index.page(r).start).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert_index_matches(&out_dir, &extract_pages(xml.as_bytes()));
}

#[test]
fn gen_is_deterministic_and_the_cli_reports_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.xml");
    let b = dir.path().join("b.xml");
    for f in [&a, &b] {
        let out = wikidex(&["gen", "--pages", "300", "--seed", "9", "-o", f.to_str().unwrap()]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("wrote 300 pages"));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let out = wikidex(&["index", a.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("indexed 300 pages") && stdout.contains("GB/s") && stdout.contains("bytes/page"),
        "{stdout}"
    );
    let verify = wikidex(&["verify", dir.path().join("a.xml.wikidex").to_str().unwrap()]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

/// An index of three pages titled `ours`, with `file` (and its manifest
/// entry) swapped in from an index of pages titled `theirs`: lengths and
/// checksums match the manifest, only a cross-check can tell.
fn index_with_file_from_another_dump(
    file: &str,
    ours: [&str; 3],
    theirs: [&str; 3],
) -> (Vec<tempfile::TempDir>, PathBuf, PathBuf) {
    let index_of = |titles: [&str; 3]| {
        let (dir, dump) = dump_file(&dump_with(&titles.map(page).concat()));
        let out = dir.path().join("d.wikidex");
        Builder::new(&dump, &out).json_rows(true).build().unwrap();
        (dir, dump, out)
    };
    let (a, dump, ours) = index_of(ours);
    let (b, _, theirs) = index_of(theirs);
    std::fs::copy(theirs.join(file), ours.join(file)).unwrap();
    let read = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
    };
    let mut manifest = read(&ours);
    manifest["files"][file] = read(&theirs)["files"][file].clone();
    std::fs::write(ours.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    (vec![a, b], dump, ours)
}

/// `Index::verify` and `wikidex verify` refuse `index`, naming `file` and
/// saying what differs (`want`).
fn assert_verify_refuses(index_dir: &Path, dump: &Path, file: &str, want: &[&str]) {
    let index = Index::open(index_dir).expect("lengths and checksums match the manifest");
    index.verify_checksums().unwrap();
    let err = index.verify().unwrap_err().to_string();
    assert!(err.contains(file) && want.iter().all(|w| err.contains(w)), "{err}");
    let out = wikidex(&["verify", index_dir.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(file));
}

/// `wikidex verify` holds `titles.fc` to `folded.fst`: a column from
/// another dump with as many pages, in order and as many distinct titles,
/// its manifest entry made to match so it opens, is refused, naming the
/// file and the first wrong row.
#[test]
fn verify_catches_a_title_column_from_another_dump() {
    let (_dirs, dump, index) = index_with_file_from_another_dump(
        "titles.fc",
        ["Alpha", "Beta", "Gamma"],
        ["Alpha", "Bets", "Gamma"],
    );
    assert_verify_refuses(&index, &dump, "titles.fc", &["row 1", "Bets"]);
    let (_dirs, dump, index) = index_with_file_from_another_dump(
        "titles.fc",
        ["Alpha", "Beta", "Gamma"],
        ["Alpha", "Beta", "Gamma2"],
    );
    assert_verify_refuses(&index, &dump, "titles.fc", &["row 2", "Gamma2"]);
}

#[test]
fn verify_catches_json_rows_from_another_dump() {
    for (row, theirs) in [(1, ["Alpha", "Bet\\", "Gamma"]), (2, ["Alpha", "Beta", "Gamm\""])] {
        let ours = ["Alpha", "Beta", "Gamma"];
        let (_dirs, dump, index) = index_with_file_from_another_dump("rows.jsf", ours, theirs);
        assert_verify_refuses(&index, &dump, "rows.jsf", &[&format!("row {row}"), ours[row]]);
    }
}

/// `/offsets` copies the rows of plain prefix listings from `rows.jsf`
/// (`--json-rows`); an index built without it, the default, makes the
/// server write every row itself. Served side by side, both give the same bytes for every 1–3 byte
/// prefix, with limits inside and across 16-row blocks, with `after=`, and
/// with the options that always write rows (`fields=`, `ns=`, `redirects=`).
#[test]
fn listings_copied_from_json_rows_are_the_rows_the_server_writes() {
    let mut titles: Vec<String> = [
        "Say \"hi\"",
        "Say \"hi\" again",
        "Back\\slash",
        "Caf\u{e9}",
        "Caf\u{e9} & bar",
        "Tab",
        "\u{1f40d} Python",
        "Zz",
        "Zz",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    titles.extend((0..40).map(|i| format!("Block row {i:02}")));
    let pages: String = titles.iter().map(|t| page(&t.replace('&', "&amp;"))).collect();
    let (dir, dump) = dump_file(&dump_with(&pages));
    let full = dir.path().join("full.wikidex");
    let lean = dir.path().join("lean.wikidex");
    for (out, extra) in [(&full, Some("--json-rows")), (&lean, None)] {
        let mut args = vec!["index", dump.to_str().unwrap(), "-o", out.to_str().unwrap()];
        args.extend(extra);
        let run = wikidex(&args);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    }
    assert!(full.join("rows.jsf").is_file() && !lean.join("rows.jsf").exists());
    let (a, b) = (Index::open(&full).unwrap(), Index::open(&lean).unwrap());
    assert!(a.has_json_rows() && !b.has_json_rows());
    a.verify().unwrap();
    b.verify().unwrap();
    // The rows a listing copies are the rows `prefix` lists.
    let rows = a.prefix_rows(b"Block row", None, 20);
    assert_eq!(rows.len(), 20);
    let first = listing(&a, b"Block row", None, 1)[0].1.start;
    assert_eq!(rows.start, first);

    let serve =
        |index: &Path| Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    let (copied, written) = (serve(&full), serve(&lean));
    let mut probes: BTreeSet<String> = ["\u{ff}", "~"].iter().map(|s| s.to_string()).collect();
    for t in &titles {
        for n in 1..=3 {
            probes.extend(t.char_indices().nth(n).map(|(i, _)| t[..i].to_string()));
        }
        probes.insert(t.clone());
    }
    let mut compared = 0;
    for p in &probes {
        let p = crate::util::enc(p);
        for query in [
            "",
            "?limit=1",
            "?limit=3",
            "?limit=17",
            "?limit=100",
            "?after=Block%20row%2007&limit=5",
            "?after=Say&limit=2",
            "?fields=ns,id",
            "?ns=0",
            "?redirects=resolve",
        ] {
            let path = format!("/offsets/{p}{query}");
            let (x, y) = (copied.get(&path), written.get(&path));
            assert_eq!((x.status, &x.body), (y.status, &y.body), "{path}");
            compared += 1;
        }
    }
    assert!(compared > 500, "{compared} requests compared");
    // Without the file, the default, the server has nothing to warn about.
    assert!(!written.log.lock().unwrap().contains("rows.jsf"));
    let body = copied.get("/offsets/Say?limit=5").body;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()[1][0],
        serde_json::json!("Say \"hi\" again")
    );
}

/// `--no-title-column` is gone with `titles.fst`: `titles.fc` is the one
/// store of titles. A script still passing it is told so, and no index is
/// written.
#[test]
fn the_removed_title_column_flag_is_refused_by_name() {
    let (dir, dump, _) = indexed_copy(&repo().join("data/sample.xml"));
    let lean = dir.path().join("lean.wikidex");
    let out = wikidex(&["index", dump.to_str().unwrap(), "-o", lean.to_str().unwrap(), "--no-title-column"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--no-title-column was removed") && err.contains("titles.fc"), "{err}");
    assert!(!err.contains("  "), "one line of prose: {err}");
    assert!(!lean.exists());
}

/// `--no-json-rows` went away when leaving the rows out became the default:
/// a script that still passes it is told so, and nothing is written.
#[test]
fn the_removed_no_json_rows_flag_says_what_replaced_it() {
    let (dir, dump) = dump_file(&dump_with(&page("Alpha")));
    let out = dir.path().join("d.wikidex");
    let run = wikidex(&["index", dump.to_str().unwrap(), "-o", out.to_str().unwrap(), "--no-json-rows"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("--no-json-rows was removed") && stderr.contains("--json-rows"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    let run = wikidex(&["index", dump.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.join("titles.fc").is_file() && !out.join("rows.jsf").exists(), "the default: no rows.jsf");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// `Index::fuzzy` lists exactly the titles whose folded form has a
    /// prefix within the DFA's distance and starts with none of the
    /// left-out prefixes, each once with all its rows: checked against
    /// the DFA run over every title, on titles that share folded forms
    /// (case and accents) and repeat.
    #[test]
    fn fuzzy_lists_the_matching_titles_but_the_left_out_ones(
        titles in prop::collection::vec(
            (prop::sample::select(vec!["A", "B", "É", "C"]),
             prop::collection::vec(prop::sample::select(vec!["a", "b", "é", "c", "A", "B"]), 0..5)),
            1..40,
        ),
        query in prop::collection::vec(prop::sample::select(vec!["a", "b", "e", "c"]), 2..5),
        left_out in prop::collection::vec(prop::collection::vec(prop::sample::select(vec!["a", "b", "e", "c"]), 0..4), 0..3),
        distance in 1u8..=2,
    ) {
        let titles: Vec<String> = titles.into_iter().map(|(first, rest)| format!("{first}{}", rest.concat())).collect();
        let pages: String = titles.iter().map(|t| page(t)).collect();
        let (dir, dump) = dump_file(&dump_with(&pages));
        let out = dir.path().join("d.wikidex");
        Builder::new(&dump, &out).build().unwrap();
        let index = Index::open(&out).unwrap();
        let query = query.concat();
        let left_out: Vec<String> = std::iter::once(query.clone()).chain(left_out.into_iter().map(|p| p.concat())).collect();
        let left_out: Vec<&str> = left_out.iter().map(String::as_str).collect();
        let dfa = wikidex_indexer::levenshtein_automata::LevenshteinAutomatonBuilder::new(distance, true)
            .build_prefix_dfa(&query);
        let mut got = Vec::new();
        let mut rows = index.fuzzy(&dfa, &left_out).unwrap();
        let mut title = Vec::new();
        while let Some((range, _)) = rows.next_title(&mut title) {
            got.push((String::from_utf8(title.clone()).unwrap(), range));
        }
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let distinct: BTreeSet<&String> = titles.iter().collect();
        let want: Vec<(String, Range<u32>)> = distinct
            .into_iter()
            .filter(|t| {
                let folded = wikidex_indexer::fold::fold(t);
                matches!(dfa.eval(&folded), wikidex_indexer::levenshtein_automata::Distance::Exact(_))
                    && !left_out.iter().any(|p| !p.is_empty() && folded.starts_with(p))
            })
            .map(|t| (t.clone(), index.rows_of(t.as_bytes())))
            .collect();
        prop_assert_eq!(got, want);
    }
}
