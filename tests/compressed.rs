//! `wikidex index FILE.xml.bz2`: the dump as Wikimedia ships it. The index
//! is the one the `bunzip2`ed file gives, the page store is a plain zstd
//! file of the dump, and bad compressed input is refused clearly. See:
//! issue 20 (items 2 and 3).

use crate::util::{Server, enc, extract_pages, real_excerpt, repo, wikidex};
use std::io::Write;
use std::path::{Path, PathBuf};

const MULTI: &str = "enwiki-sample-multistream.xml.bz2";
const COMPANION: &str = "enwiki-sample-multistream-index.txt.bz2";
const SINGLE: &str = "enwiki-sample.xml.bz2";

fn shared(name: &str) -> PathBuf {
    repo().join("../shared/data").join(name)
}

/// Copies the named sample files into `dir`.
fn copy_in(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::copy(shared(name), dir.join(name)).unwrap();
    }
}

fn index(dump: &Path, out: &Path) -> std::process::Output {
    wikidex(&["index", dump.to_str().unwrap(), "-o", out.to_str().unwrap()])
}

/// Every file of an index but the manifest, by name.
fn index_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x != "json" && x != "zst"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn every_bz2_layout_indexes_to_the_files_the_bunzip2ed_xml_gives() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let xml = std::fs::read(real_excerpt()).unwrap();
    std::fs::write(d.join("plain.xml"), &xml).unwrap();
    assert!(index(&d.join("plain.xml"), &d.join("plain.wikidex")).status.success());
    let want = index_files(&d.join("plain.wikidex"));
    assert!(want.len() >= 8, "{:?}", want.iter().map(|f| &f.0).collect::<Vec<_>>());

    // multistream with its companion index, without it, and single-stream
    let with = d.join("with");
    let without = d.join("without");
    let single = d.join("single");
    for (sub, names) in [(&with, &[MULTI, COMPANION][..]), (&without, &[MULTI][..]), (&single, &[SINGLE][..])]
    {
        std::fs::create_dir(sub).unwrap();
        copy_in(sub, names);
        let dump = sub.join(names[0]);
        let out = index(&dump, &sub.join("i.wikidex"));
        assert!(out.status.success(), "{}: {}", names[0], String::from_utf8_lossy(&out.stderr));
        let got = index_files(&sub.join("i.wikidex"));
        assert_eq!(got.len(), want.len());
        for ((name, bytes), (want_name, want_bytes)) in got.iter().zip(&want) {
            assert_eq!(name, want_name);
            assert!(bytes == want_bytes, "{}: {name} differs from the plain XML's", names[0]);
        }
        let m = manifest(&sub.join("i.wikidex"));
        assert_eq!(m["content"], manifest(&d.join("plain.wikidex"))["content"], "same content identity");
        assert_eq!(m["store"]["file"], "pages.zst");
        // The store is a standard zstd file of the dump.
        let store = std::fs::read(sub.join("i.wikidex/pages.zst")).unwrap();
        assert!(zstd::stream::decode_all(&store[..]).unwrap() == xml, "{}: zstd -dc differs", names[0]);
    }
    if let Ok(out) =
        std::process::Command::new("zstd").arg("-dc").arg(with.join("i.wikidex/pages.zst")).output()
    {
        assert!(out.status.success() && out.stdout == xml, "the zstd tool decodes the store to the dump");
    }
    let stored = std::fs::metadata(with.join("i.wikidex/pages.zst")).unwrap().len() as f64;
    let bz2 = std::fs::metadata(shared(MULTI)).unwrap().len() as f64;
    assert!(stored / bz2 <= 1.4, "the store is {:.2}x the .bz2", stored / bz2);
}

#[test]
fn a_store_index_serves_without_the_dump_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    copy_in(dir.path(), &[MULTI, COMPANION]);
    let dump = dir.path().join(MULTI);
    let index_dir = dir.path().join("i.wikidex");
    assert!(index(&dump, &index_dir).status.success());
    std::fs::remove_file(&dump).unwrap();
    let server = Server::start(&["--index", index_dir.to_str().unwrap(), "--store-cache-mib", "1"]);
    let xml = std::fs::read(real_excerpt()).unwrap();
    let page = extract_pages(&xml).into_iter().max_by_key(|p| p.end - p.start).unwrap();
    for _ in 0..2 {
        let r = server.get(&format!("/wiki/{}?redirect=no", enc(&page.title)));
        assert_eq!(r.status, 200);
        assert!(
            r.body == xml[page.start as usize..=page.end as usize],
            "the largest page, over several frames"
        );
    }
    let stats = server.get("/stats").json();
    assert_eq!(stats["storage"], "store");
    assert!(stats["store_cache"]["hits"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["store_cache"]["misses"].as_u64().unwrap() > 0, "{stats}");
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("wikidex_storage_info{storage=\"store\"} 1"), "{metrics}");
    assert!(metrics.contains("wikidex_store_cache_hits_total "), "{metrics}");
}

/// Runs `wikidex index` on `bytes` written as `name`, and asserts a clear
/// refusal naming the file and containing `want`, with nothing left behind.
fn assert_refused(name: &str, bytes: &[u8], companion: Option<&[u8]>, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join(name);
    std::fs::write(&dump, bytes).unwrap();
    if let Some(c) = companion {
        std::fs::write(dir.path().join(name.replace(".xml.bz2", "-index.txt.bz2")), c).unwrap();
    }
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let out = index(&dump, &dir.path().join("i.wikidex"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.contains(name), "{name}: names the file: {stderr}");
    assert!(stderr.contains(want), "{name}: expected {want:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let after: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(after, before, "{name}: nothing written");
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn bad_compressed_input_is_refused_with_the_file_offset_and_what_to_do() {
    let multi = std::fs::read(shared(MULTI)).unwrap();
    let companion = std::fs::read(shared(COMPANION)).unwrap();
    let half = multi.len() / 2;
    assert_refused("cut.xml.bz2", &multi[..half], None, "truncated download");
    let mut flipped = multi.clone();
    for b in &mut flipped[half..half + 16] {
        *b ^= 0x55;
    }
    assert_refused("flipped.xml.bz2", &flipped, None, "corrupt");
    assert_refused(
        "html.xml.bz2",
        &bz2(b"<html><body>not a dump</body></html>"),
        None,
        "not a MediaWiki XML dump",
    );
    assert_refused("d.xml.gz", b"\x1F\x8B\x08\x00\x00\x00\x00\x00", None, "gunzip");
    assert_refused("d.xml.zst", b"\x28\xB5\x2F\xFD\x00\x00", None, "zstd");
    assert_refused("d.xml.7z", b"7z\xBC\xAF\x27\x1C\x00\x04", None, "7z");
    assert_refused("d.xml", b"\xFF\xFE<\0m\0e\0", None, "UTF-16");
    // A companion index from another dump: its offsets are not stream starts here.
    let text = String::from_utf8(bzip2_decode(&companion)).unwrap();
    let moved: String = text
        .lines()
        .map(|l| {
            let (offset, rest) = l.split_once(':').unwrap();
            format!("{}:{rest}\n", offset.parse::<u64>().unwrap() + 1)
        })
        .collect();
    assert_refused("x-multistream.xml.bz2", &multi, Some(&bz2(moved.as_bytes())), "does not match");
    assert_refused("y-multistream.xml.bz2", &multi, Some(&bz2(b"12:34\n")), "line 1");
}

fn bzip2_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut bzip2::read::MultiBzDecoder::new(data), &mut out).unwrap();
    out
}

#[test]
fn a_damaged_store_is_named_at_startup_or_fails_only_the_requests_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    copy_in(dir.path(), &[MULTI, COMPANION]);
    let good = dir.path().join("good.wikidex");
    assert!(index(&dir.path().join(MULTI), &good).status.success());
    let store = std::fs::read(good.join("pages.zst")).unwrap();
    let damaged = |name: &str, at: usize| {
        let out = dir.path().join(name);
        std::fs::create_dir(&out).unwrap();
        for f in std::fs::read_dir(&good).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, out.join(f.file_name().unwrap())).unwrap();
        }
        let mut bytes = store.clone();
        bytes[at] ^= 0x40;
        std::fs::write(out.join("pages.zst"), bytes).unwrap();
        out
    };
    // The seek table (the file's end): refused before serving, by name.
    let table = damaged("table.wikidex", store.len() - 20);
    let err = Server::try_start(&["--index", table.to_str().unwrap()]).err().expect("refused");
    assert!(err.contains("pages.zst"), "{err}");
    // A frame's bytes: startup's cheap checks pass; `wikidex verify` names
    // the store; serving fails the pages in that frame alone, with 5xx JSON.
    let frame = damaged("frame.wikidex", store.len() / 2);
    let out = wikidex(&["verify", frame.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("pages.zst"), "{stderr}");
    let server = Server::start(&["--index", frame.to_str().unwrap(), "--store-cache-mib", "0"]);
    let xml = std::fs::read(real_excerpt()).unwrap();
    let (mut ok, mut failed) = (0, 0);
    for p in extract_pages(&xml) {
        let r = server.get(&format!("/wiki/{}?redirect=no", enc(&p.title)));
        if r.status == 200 {
            assert!(r.body == xml[p.start as usize..=p.end as usize], "{}: wrong bytes", p.title);
            ok += 1;
        } else {
            assert!(r.status >= 500, "{}: {}", p.title, r.status);
            assert!(r.json()["error"].as_str().unwrap().contains("pages.zst"), "{}", r.text());
            failed += 1;
        }
    }
    assert!(ok > 0 && failed > 0, "{ok} served, {failed} failed");
    assert_eq!(server.get("/healthz").status, 200, "the server is still up");
}

/// Every `curl` line of the README, run as written against `wikidex serve`
/// with no arguments (the bundled sample), answers something real: no
/// error status, no empty listing. See: issue 20 (item 4).
#[test]
fn every_readme_curl_example_answers_on_the_bundled_sample() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .map(|l| l.trim_start().trim_start_matches("$ "))
        .filter(|l| l.starts_with("curl ") && l.contains("localhost:8080"))
        .collect();
    assert!(lines.len() >= 10, "{lines:?}");
    // The bundled sample, indexed into a copy so the repository stays clean.
    let dir = tempfile::tempdir().unwrap();
    copy_in(dir.path(), &[MULTI, COMPANION]);
    let server = Server::start(&["--dump", dir.path().join(MULTI).to_str().unwrap()]);
    for line in lines {
        let cmd = line.replace("localhost:8080", &server.addr);
        let out = std::process::Command::new("bash").args(["-o", "pipefail", "-c", &cmd]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
        let body = stdout.trim();
        assert!(!body.is_empty() && body != "[]" && body != "null", "{line}: answered {body:?}");
        assert!(!body.contains("\"error\""), "{line}: {body}");
        if let Some(status) = body.strip_prefix("HTTP/1.1 ") {
            assert!(status.starts_with('2'), "{line}: {status}");
        }
    }
}
