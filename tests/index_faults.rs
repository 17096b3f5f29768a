//! Indexes and dumps that are damaged or interrupted: SIGKILL while indexing
//! leaves the previous index or none, `wikidex verify` checks every file's
//! checksum and the fst's rows, and the scanner reads a page without
//! `<revision>` and refuses damaged header elements. The slow drills (disk
//! full, the corruption matrix) are in `benches/faults/`.

use crate::raw_http::{exchange, get, one};
use crate::util::{Server, dump_file, indexed_copy, real_excerpt, wikidex};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A small deterministic PRNG (xorshift64*), seeded from the clock and
/// printed, so a failing run can be replayed with `HARDENING_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env_or_clock() -> Rng {
        let seed = std::env::var("HARDENING_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("HARDENING_SEED={seed}");
        Rng(seed | 1)
    }

    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The dump a complete index at `index` records, or `None` if there is no
/// index there. Panics if something is there that is not a whole index.
fn whole_index_at(index: &Path) -> Option<String> {
    if !index.exists() {
        return None;
    }
    let out = wikidex(&["verify", index.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{} is not a whole index: {}",
        index.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap();
    Some(manifest["dump"]["path"].as_str().unwrap().to_string())
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp-"))
        .collect()
}

#[test]
fn sigkill_while_indexing_leaves_the_previous_index_or_none() {
    let mut rng = Rng::from_env_or_clock();
    let dir = tempfile::tempdir().unwrap();
    let (old_dump, new_dump) = (dir.path().join("old.xml"), dir.path().join("new.xml"));
    for (path, pages) in [(&old_dump, "500"), (&new_dump, "20000")] {
        let out = wikidex(&["gen", "--pages", pages, "-o", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let index = dir.path().join("out.wikidex");
    let index_cmd = |dump: &Path| {
        std::process::Command::new(crate::util::bin())
            .args(["index", dump.to_str().unwrap(), "-o", index.to_str().unwrap()])
            .env("WIKIDEX_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn wikidex index")
    };
    // How long a whole build of the new dump takes here.
    let t = Instant::now();
    assert!(index_cmd(&new_dump).wait().unwrap().success());
    let full = t.elapsed();
    std::fs::remove_dir_all(&index).unwrap();

    let (old_name, new_name) = (old_dump.display().to_string(), new_dump.display().to_string());
    let rounds = 12;
    let mut outcomes = Vec::new();
    for round in 0..rounds {
        // Even rounds start with a previous index, odd ones with none.
        let _ = std::fs::remove_dir_all(&index);
        if round % 2 == 0 {
            assert!(index_cmd(&old_dump).wait().unwrap().success());
        }
        // Stratified random moments over the whole build, and a little past it.
        let at = full.mul_f64((round as f64 + rng.unit()) / rounds as f64 * 1.2);
        let mut child = index_cmd(&new_dump);
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let finished = child.wait().unwrap().success();
        let found = whole_index_at(&index);
        match (&found, round % 2 == 0) {
            (Some(d), _) if *d == new_name => {}
            (Some(d), true) => assert_eq!(*d, old_name, "round {round}: a third index?"),
            (None, false) => assert!(!finished, "round {round}: the build finished but left no index"),
            (found, had_old) => panic!("round {round}: found {found:?}, previous index: {had_old}"),
        }
        if found.is_some() {
            // The server accepts what is at the output path, and only a whole index.
            let server = Server::try_start(&["--index", index.to_str().unwrap()]);
            assert!(server.is_ok(), "round {round}: serve refused a whole index: {:?}", server.err());
        }
        // A killed build may leave its temporary directory; it is never served.
        for tmp in temporaries(dir.path()) {
            let verify = wikidex(&["verify", tmp.to_str().unwrap()]);
            if !verify.status.success() {
                let log = Server::try_start(&["--index", tmp.to_str().unwrap(), "--dump", &new_name])
                    .err()
                    .unwrap_or_else(|| panic!("round {round}: served the partial index {}", tmp.display()));
                assert!(log.contains(&tmp.display().to_string()), "round {round}: {log}");
            }
        }
        outcomes.push((at, found.map(|d| if d == new_name { "new" } else { "old" }).unwrap_or("none")));
    }
    eprintln!("full build {full:?}; kills: {outcomes:?}");
    // The next build removes what killed builds left behind.
    assert!(index_cmd(&new_dump).wait().unwrap().success());
    assert_eq!(temporaries(dir.path()), Vec::<PathBuf>::new(), "stale temporaries removed");
    assert_eq!(whole_index_at(&index), Some(new_name));
}

/// Found by the `index_open` fuzz target (fixed in db50aab): `Index::verify`
/// checked the columns but not the fst's values (each title's first row), so
/// an index whose fst pointed past the last row passed `open` + `verify`,
/// `wikidex serve` started on it, and `/offsets` then read past the end of
/// the columns (`Index::page` panicked, the connection dropped). Input in
/// `fuzz/regressions/index_open/`. Titles now live in `titles.fc` alone:
/// the same cut (a column of five rows under a manifest of three) must be
/// refused as well.
#[test]
fn verify_refuses_fst_rows_past_the_last_page() {
    use wikidex_indexer::format::{self, FOOTER_LEN, FileKind, IndexWriter, Manifest};
    // Five pages, three titles: A (rows 0-2), B (row 3), C (row 4).
    let pages: String = ["A", "A", "A", "B", "C"]
        .iter()
        .map(|t| format!("  <page>\n    <title>{t}</title>\n    <ns>0</ns>\n    <revision><text>x</text></revision>\n  </page>\n"))
        .collect();
    let (dir, dump) = dump_file(&format!("<mediawiki>\n{pages}</mediawiki>\n"));
    let good = dir.path().join("good.wikidex");
    assert!(wikidex(&["index", dump.to_str().unwrap(), "-o", good.to_str().unwrap()]).status.success());
    // Keep the title column, cut every other column to three rows, say "3
    // pages": every checksum and length is consistent, but B and C are
    // rows 3 and 4.
    let mut manifest: Manifest =
        serde_json::from_slice(&std::fs::read(good.join("manifest.json")).unwrap()).unwrap();
    let bad = dir.path().join("bad.wikidex");
    let mut writer = IndexWriter::create(&bad).unwrap();
    for (name, kind, width) in [
        (format::TITLE_COLUMN, FileKind::TitleColumn, 0),
        (format::STARTS, FileKind::Starts, format::START_BYTES),
        (format::LENGTHS, FileKind::Lengths, 4),
        (format::NAMESPACES, FileKind::Namespaces, 2),
        (format::REDIRECTS, FileKind::Redirects, 4),
        (format::IDS, FileKind::Ids, 4),
        (format::REDIRECT_TARGETS, FileKind::RedirectTargets, 0),
        (format::SCORES, FileKind::Scores, 2),
        (format::RANKED_LISTS, FileKind::RankedLists, 0),
    ] {
        let bytes = std::fs::read(good.join(name)).unwrap();
        let payload = &bytes[..bytes.len() - FOOTER_LEN];
        let keep = if width == 0 { payload.len() } else { 3 * width };
        let mut sink = writer.file(name, kind).unwrap();
        sink.write_all(&payload[..keep]).unwrap();
        writer.add(sink.finish().unwrap());
    }
    manifest.pages = 3;
    writer.commit(manifest).unwrap();
    let verdict = wikidex_indexer::Index::open(&bad).and_then(|index| index.verify());
    if verdict.is_ok() {
        // Show what the server does with it.
        let server = Server::try_start(&["--index", bad.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
        let seen = match &server {
            Ok(s) => {
                let answers: Vec<String> = ["/offsets/A", "/offsets/B", "/offsets/C", "/wiki/B", "/wiki/C"]
                    .iter()
                    .map(|t| match exchange(&s.addr, &get(t)).first() {
                        Some(r) => format!("{t} -> {} {}", r.status, r.text()),
                        None => format!("{t} -> connection closed without an answer"),
                    })
                    .collect();
                format!("the server started on it and answered: {answers:?}")
            }
            Err(log) => format!("the server refused it: {log}"),
        };
        panic!("Index::verify accepted a title column whose rows run past the last page; {seen}");
    }
    let message = verdict.unwrap_err().to_string();
    assert!(message.contains("titles.fc"), "the refusal names the title column: {message}");
}

/// Found by hardening (fixed in db50aab): `scan::parse_header` named every
/// closing tag with an empty name (the name stopped at its own `/`), so a
/// `<page>` without `<revision>` — valid in MediaWiki's export schema, where
/// revisions are `minOccurs=0` — was refused as "page is cut off … (truncated
/// dump?)".
#[test]
fn a_page_without_revision_is_indexed() {
    let xml = "<mediawiki>\n  <page>\n    <title>Full</title>\n    <ns>0</ns>\n    <revision><text>x</text></revision>\n  </page>\n  <page>\n    <title>Empty</title>\n    <ns>0</ns>\n    <id>2</id>\n  </page>\n</mediawiki>\n";
    let (_dir, dump) = dump_file(xml);
    let out = wikidex(&["index", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "a page without <revision> is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&["--dump", dump.to_str().unwrap()]);
    let r = one(&server.addr, &get("/wiki/Empty"));
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("<page>") && r.text().ends_with("</page>"));
}

/// Found by the corruption drill (fixed in db50aab): `Index::verify`
/// recomputed the checksums of a fixed list of files that lacked the new
/// `folded.fst` and `folded.u32`, so damage inside them passed `wikidex
/// verify` and the startup check. Checked generically: a flipped payload byte
/// in any file the manifest lists must be caught, naming the file.
#[test]
fn verify_checksums_every_index_file() {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap();
    let names: Vec<String> = manifest["files"].as_object().unwrap().keys().cloned().collect();
    assert!(names.len() >= 5, "{names:?}");
    let mut missed = Vec::new();
    for name in &names {
        let copy = dir.path().join(format!("flipped-{name}"));
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(&index).unwrap().flatten() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        let path = copy.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let payload = bytes.len() - wikidex_indexer::format::FOOTER_LEN;
        bytes[payload / 2] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let out = wikidex(&["verify", copy.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !err.contains(name.as_str()) {
            missed.push(format!("{name}: verify exit {:?}: {}", out.status.code(), err.trim()));
        }
    }
    assert!(missed.is_empty(), "a damaged index file passes `wikidex verify`: {missed:#?}");
}

/// Found by the `page` fuzz target as a chunk-size disagreement (fixed in
/// db50aab): skipping a header element (`<restrictions>`, unknown elements, a
/// non-empty `<redirect>`) searched for its closing tag through `</page>`,
/// `<page>` and `</mediawiki>`, so one damaged close tag made its page
/// swallow every page up to the next matching tag. The dump below has three
/// pages; the index got one, spanning all three, and no error — against the
/// README's promise that a malformed dump is refused. Input in
/// `fuzz/regressions/page/`.
#[test]
fn a_damaged_header_element_does_not_swallow_the_following_pages() {
    let xml = "<mediawiki>\n  <page><title>A</title><ns>0</ns><restrictions>edit=sysop</restrictionz><revision><text>a</text></revision></page>\n  <page><title>B</title><ns>0</ns><revision><text>b</text></revision></page>\n  <page><title>C</title><ns>0</ns><restrictions>move=sysop</restrictions><revision><text>c</text></revision></page>\n</mediawiki>\n";
    let (_dir, dump) = dump_file(xml);
    let out = wikidex(&["index", dump.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a dump with a broken </restrictions> was accepted: {}",
        stdout.lines().next().unwrap_or("")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("restriction"), "the refusal says what is wrong: {err}");
}

/// Found by the `page` fuzz target (fixed in 7c6a7ba): the fix above first
/// stopped a header element's skip at `<page>` and `</page>` but not at
/// `</mediawiki>`, so a dump cut inside `<restrictions>` and continued after
/// its end tag was accepted as one page spanning `</mediawiki>`. Input in
/// `fuzz/regressions/page/header-element-runs-over-end-tag`.
#[test]
fn a_header_element_does_not_run_over_the_end_tag() {
    let xml = "<mediawiki>\n  <page><title>A</title><ns>0</ns><restrictions>edit=sysop\n</mediawiki>\n</restrictions><revision><text>a</text></revision></page>\n</mediawiki>\n";
    let (_dir, dump) = dump_file(xml);
    let out = wikidex(&["index", dump.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a page running over </mediawiki> was accepted: {}",
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("")
    );
}

/// A failed system call is reported once, with its path and what was being
/// done: the error's message holds the cause, and the cause is not repeated
/// after it.
#[test]
fn a_missing_index_or_dump_is_named_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no.wikidex");
    let (_data, _dump, index) = indexed_copy(&crate::util::repo().join("data/sample.xml"));
    let gone = dir.path().join("gone.xml");
    for args in [
        vec!["serve", "--index", missing.to_str().unwrap()],
        vec!["verify", missing.to_str().unwrap()],
        vec!["serve", "--index", index.to_str().unwrap(), "--dump", gone.to_str().unwrap()],
        vec!["index", gone.to_str().unwrap(), "-o", missing.to_str().unwrap()],
    ] {
        let out = wikidex(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("No such file or directory").count(), 1, "{args:?}: {err}");
        assert!(err.contains("no.wikidex") || err.contains("gone.xml"), "{args:?}: {err}");
    }
}
