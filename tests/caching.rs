//! HTTP caching of the answers about the dump's content (issue #22): one
//! strong `ETag` per dump and index on `/offsets`, `/wiki`, `/xml`,
//! `/opensearch` and `/suggest`, `Cache-Control: max-age=…` from
//! `--max-age`, `304 Not Modified` for an `If-None-Match` that names the
//! tag, and the same tag from a replica serving the XML and one serving the
//! page store of the same dump.

use crate::util::*;
use std::io::Read;
use std::path::Path;

/// One of each content answer, as a path and request headers.
const CONTENT: [(&str, &[(&str, &str)]); 6] = [
    ("/offsets/A?limit=3", &[]),
    ("/offsets/A?limit=3&order=rank&fields=score", &[]),
    ("/wiki/Anarchism", &[]),
    ("/xml", &[("Range", "bytes=0-99")]),
    ("/opensearch?search=an", &[]),
    ("/suggest?q=an", &[]),
];

fn serve(index: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--index", index.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// The bundled sample, indexed from its `.bz2` (served from the page
/// store) and from the XML inside it; returns (dir guard, store index,
/// XML index, XML dump).
fn both_storages() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bz2 = repo().join("data/enwiki-sample-multistream.xml.bz2");
    let store = dir.path().join("store.wikidex");
    let out = wikidex(&["index", bz2.to_str().unwrap(), "-o", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut xml = Vec::new();
    bzip2::read::MultiBzDecoder::new(std::fs::File::open(&bz2).unwrap()).read_to_end(&mut xml).unwrap();
    let dump = dir.path().join("sample.xml");
    std::fs::write(&dump, xml).unwrap();
    let plain = dir.path().join("plain.wikidex");
    let out = wikidex(&["index", dump.to_str().unwrap(), "-o", plain.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, store, plain, dump)
}

#[test]
fn content_answers_carry_one_tag_and_a_max_age_and_revalidate_to_304() {
    let (_dir, store, _, _) = both_storages();
    let s = serve(&store, &["--max-age", "120"]);
    let tag = s.get_with(CONTENT[0].0, CONTENT[0].1).header("etag").expect("an ETag").to_string();
    assert!(tag.starts_with('"') && tag.ends_with('"') && !tag.starts_with("W/"), "strong: {tag}");
    for (path, headers) in CONTENT {
        let r = s.get_with(path, headers);
        assert!(r.status == 200 || r.status == 206, "{path}: {}", r.status);
        assert_eq!(r.header("etag"), Some(tag.as_str()), "{path}: the one tag");
        assert_eq!(r.header("cache-control"), Some("max-age=120"), "{path}");
        for sent in [tag.clone(), format!("W/{tag}"), format!("\"x\", {tag}"), "*".to_string()] {
            let mut with: Vec<(&str, &str)> = headers.to_vec();
            with.push(("If-None-Match", &sent));
            let again = s.get_with(path, &with);
            assert_eq!(again.status, 304, "{path} with If-None-Match: {sent}");
            assert!(again.body.is_empty(), "{path}: a 304 has no body");
            assert_eq!(again.header("etag"), Some(tag.as_str()), "{path}: a 304 names the tag");
            assert_eq!(again.header("cache-control"), Some("max-age=120"), "{path}");
            assert_eq!(s.head_with(path, &with).status, 304, "HEAD {path}");
        }
        let mut stale: Vec<(&str, &str)> = headers.to_vec();
        stale.push(("If-None-Match", "\"another dump\""));
        let fresh = s.get_with(path, &stale);
        assert_eq!(fresh.status, r.status, "{path}: another tag gets the answer");
        assert_eq!(fresh.body, r.body, "{path}");
    }
    // Errors and operator endpoints carry no content validators.
    let missing = s.get("/wiki/No_such_page_here");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("etag"), None);
    for path in ["/stats", "/metrics", "/healthz"] {
        assert_eq!(s.get(path).header("cache-control"), Some("no-store"), "{path}");
    }
}

/// `/xml` sends `Last-Modified`, so it honours the date preconditions in
/// RFC 9110 §13.2.2's order: each only when its entity-tag twin is absent.
#[test]
fn xml_honours_the_date_preconditions_after_their_tag_twins() {
    let (_dir, store, _, _) = both_storages();
    let s = serve(&store, &[]);
    let range = ("Range", "bytes=0-99");
    let r = s.get_with("/xml", &[range]);
    assert_eq!(r.status, 206);
    let modified = r.header("last-modified").expect("a Last-Modified").to_string();
    let tag = r.header("etag").unwrap().to_string();
    let at = httpdate::parse_http_date(&modified).unwrap();
    let date = |t| httpdate::fmt_http_date(t);
    let before = date(at - std::time::Duration::from_secs(1));
    let after = date(at + std::time::Duration::from_secs(3600));
    for (sent, status) in [(&modified, 304), (&after, 304), (&before, 206), (&"not a date".to_string(), 206)]
    {
        let r = s.get_with("/xml", &[range, ("If-Modified-Since", sent)]);
        assert_eq!(r.status, status, "If-Modified-Since: {sent}");
        if status == 304 {
            assert!(r.body.is_empty());
            assert_eq!(r.header("etag"), Some(tag.as_str()));
            assert_eq!(r.header("last-modified"), Some(modified.as_str()));
        }
    }
    // If-None-Match decides alone when present (§13.1.3).
    let r = s.get_with("/xml", &[range, ("If-None-Match", "\"another\""), ("If-Modified-Since", &after)]);
    assert_eq!(r.status, 206);
    for (sent, status) in [(&modified, 206), (&after, 206), (&before, 412), (&"not a date".to_string(), 206)]
    {
        let r = s.get_with("/xml", &[range, ("If-Unmodified-Since", sent)]);
        assert_eq!(r.status, status, "If-Unmodified-Since: {sent}");
    }
    let refused = s.get_with("/xml", &[range, ("If-Unmodified-Since", &before)]);
    assert!(refused.assert_error(412).contains(&tag), "names the dump to look up again with");
    // If-Match decides alone when present (§13.1.4).
    assert_eq!(
        s.get_with("/xml", &[range, ("If-Match", &tag), ("If-Unmodified-Since", &before)]).status,
        206
    );
}

#[test]
fn the_default_max_age_is_an_hour() {
    let (_dir, store, _, _) = both_storages();
    let s = serve(&store, &[]);
    assert_eq!(s.get("/offsets/A").header("cache-control"), Some("max-age=3600"));
}

#[test]
fn replicas_of_one_dump_agree_on_the_tag_and_another_dump_differs() {
    let (dir, store, plain, dump) = both_storages();
    let a = serve(&store, &[]);
    let b = serve(&plain, &["--dump", dump.to_str().unwrap()]);
    let tag = a.get("/offsets/A").header("etag").unwrap().to_string();
    assert_eq!(b.get("/offsets/A").header("etag"), Some(tag.as_str()), "XML and page store agree");
    assert_eq!(b.get_with("/offsets/A", &[("If-None-Match", &tag)]).status, 304);
    // The same dump with one byte of one page changed: another tag.
    let mut xml = std::fs::read(&dump).unwrap();
    let at = xml.windows(9).position(|w| w == b"anarchism").expect("a word to change");
    xml[at] = b'A';
    let other = dir.path().join("other.xml");
    std::fs::write(&other, xml).unwrap();
    let index = dir.path().join("other.wikidex");
    assert!(wikidex(&["index", other.to_str().unwrap(), "-o", index.to_str().unwrap()]).status.success());
    let c = serve(&index, &["--dump", other.to_str().unwrap()]);
    let other_tag = c.get("/offsets/A").header("etag").unwrap().to_string();
    assert_ne!(other_tag, tag);
    assert_eq!(c.get_with("/offsets/A", &[("If-None-Match", &tag)]).status, 200);
    // Offsets from one, fetched with their tag from the other: 412.
    let r = c.get_with("/xml", &[("Range", "bytes=0-9"), ("If-Match", &tag)]);
    assert_eq!(r.status, 412);
}

#[test]
fn a_bad_max_age_is_refused() {
    let (_dir, store, _, _) = both_storages();
    let out = wikidex(&["serve", "--index", store.to_str().unwrap(), "--max-age", "soon"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("max-age"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
