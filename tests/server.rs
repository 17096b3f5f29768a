//! `wikidex serve`: the HTTP contract, over real sockets, against the real
//! excerpt, the bundled sample and hand-made dumps. See: issue 3 (Server).

use crate::util::{
    ExpectedPage, Server, dump_file, enc, expected_wiki, extract_pages, indexed_copy, real_excerpt, repo,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// One server over the real excerpt, shared by the read-only tests.
struct Fixture {
    server: Server,
    xml: Vec<u8>,
    pages: Vec<ExpectedPage>,
    _dir: tempfile::TempDir,
}

fn real() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture(&real_excerpt(), &[]))
}

/// The real excerpt indexed from Wikimedia's multistream `.bz2` layout:
/// served from the index's page store, not from the XML.
fn real_from_store() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = repo().join("../shared/data");
        for name in ["enwiki-sample-multistream.xml.bz2", "enwiki-sample-multistream-index.txt.bz2"] {
            std::fs::copy(data.join(name), dir.path().join(name)).unwrap();
        }
        let dump = dir.path().join("enwiki-sample-multistream.xml.bz2");
        let server = Server::start(&["--dump", dump.to_str().unwrap()]);
        let xml = std::fs::read(real_excerpt()).unwrap();
        let pages = extract_pages(&xml);
        Fixture { server, xml, pages, _dir: dir }
    })
}

/// The same contract runs over both kinds of storage: the XML file, and
/// the page store of an index built from the `.bz2`.
fn real_fixtures() -> [&'static Fixture; 2] {
    [real(), real_from_store()]
}

fn sample() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture(&repo().join("data/sample.xml"), &["--max-range-bytes", "2000000"]))
}

fn fixture(dump: &Path, extra: &[&str]) -> Fixture {
    let (dir, copy, index) = indexed_copy(dump);
    let xml = std::fs::read(&copy).unwrap();
    let pages = extract_pages(&xml);
    let mut args = vec!["--index", index.to_str().unwrap(), "--dump", copy.to_str().unwrap()];
    args.extend_from_slice(extra);
    Fixture { server: Server::start(&args), xml, pages, _dir: dir }
}

impl Fixture {
    fn by_title(&self) -> HashMap<&str, &ExpectedPage> {
        let mut m = HashMap::new();
        for p in &self.pages {
            m.entry(p.title.as_str()).or_insert(p);
        }
        m
    }

    fn fragment(&self, p: &ExpectedPage) -> &[u8] {
        &self.xml[p.start as usize..=p.end as usize]
    }

    /// Expected `/offsets` rows for `prefix` (all of them).
    fn rows_for(&self, prefix: &str) -> Vec<(String, u64, u64)> {
        let mut rows: Vec<_> = self
            .pages
            .iter()
            .filter(|p| p.title.starts_with(prefix))
            .map(|p| (p.title.clone(), p.start, p.end))
            .collect();
        rows.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
        rows
    }
}

fn rows_of(v: &serde_json::Value) -> Vec<(String, u64, u64)> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap(), r[2].as_u64().unwrap()))
        .collect()
}

/// Every page of `f`, by exact title, compared byte for byte with the dump,
/// with and without redirect following.
fn every_title_round_trips(f: &Fixture) {
    let by_title = f.by_title();
    for p in &f.pages {
        let path = format!("/wiki/{}?redirect=no", enc(&p.title));
        let r = f.server.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("text/xml; charset=utf-8"));
        assert!(r.body == f.fragment(by_title[p.title.as_str()]), "{path}: bytes differ");
        assert_eq!(r.header("x-redirected-from"), None);

        let path = format!("/wiki/{}", enc(&p.title));
        let r = f.server.get(&path);
        match expected_wiki(&by_title, &p.title) {
            Ok((target, redirected)) => {
                assert_eq!(r.status, 200, "{path}: {}", r.text());
                assert!(r.body == f.fragment(target), "{path}: wrong page");
                let from = r
                    .header("x-redirected-from")
                    .map(|h| percent_encoding::percent_decode_str(h).decode_utf8().unwrap().into_owned());
                assert_eq!(from, redirected.then(|| p.title.clone()), "{path}");
            }
            Err(status) => {
                r.assert_error(status);
            }
        }
    }
}

#[test]
fn wiki_serves_every_page_of_the_real_excerpt_byte_for_byte() {
    for f in real_fixtures() {
        assert_eq!(f.pages.len(), 206);
        every_title_round_trips(f);
    }
}

#[test]
fn wiki_serves_every_page_of_the_sample_with_chains_and_loops() {
    let f = sample();
    every_title_round_trips(f);
    // The generator guarantees each kind; check they were exercised.
    let by_title = f.by_title();
    let outcomes: Vec<_> = f.pages.iter().map(|p| expected_wiki(&by_title, &p.title)).collect();
    assert!(outcomes.iter().any(|o| o == &Err(508)), "a loop or long chain");
    assert!(outcomes.iter().any(|o| o == &Err(404)), "a redirect to a missing page");
    assert!(outcomes.iter().any(|o| matches!(o, Ok((_, true)))), "a followed redirect");
    assert!(f.pages.iter().any(|p| p.title.contains('&')), "entity titles");
    assert!(f.pages.iter().any(|p| !p.title.is_ascii()), "non-ASCII titles");
    assert!(f.pages.iter().any(|p| p.title.len() == 255), "a 255-byte title");
    assert!(f.pages.iter().any(|p| p.end - p.start > 1_000_000), "a huge page (streamed)");
}

#[test]
fn redirect_chains_of_five_hops_are_followed_and_six_are_refused() {
    let chain: String = (0..7)
        .map(|i| {
            let target = format!("C{}", i + 1);
            page_xml(&format!("C{i}"), 0, Some(&target))
        })
        .collect::<String>()
        + &page_xml("C7", 0, None)
        + &page_xml("Loop A", 0, Some("Loop B"))
        + &page_xml("Loop B", 0, Some("Loop A"))
        + &page_xml("Self", 0, Some("Self"));
    let (_dir, server, xml) = serve_dump(&chain);
    let pages = extract_pages(xml.as_bytes());
    let c7 = pages.iter().find(|p| p.title == "C7").unwrap();
    // C2 -> C7 is five hops: followed.
    let r = server.get("/wiki/C2");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, xml.as_bytes()[c7.start as usize..=c7.end as usize]);
    assert_eq!(r.header("x-redirected-from"), Some("C2"));
    // C1 -> C7 is six hops.
    assert!(server.get("/wiki/C1").assert_error(508).contains("5 hops"));
    assert!(server.get("/wiki/Loop_A").assert_error(508).contains("loop"));
    server.get("/wiki/Self").assert_error(508);
    assert_eq!(server.get("/wiki/Self?redirect=no").status, 200);
}

fn page_xml(title: &str, ns: i32, redirect: Option<&str>) -> String {
    let redirect = redirect.map_or(String::new(), |r| format!("    <redirect title=\"{r}\" />\n"));
    format!(
        "  <page>\n    <title>{title}</title>\n    <ns>{ns}</ns>\n    <id>1</id>\n{redirect}    <revision>\n      <text xml:space=\"preserve\">text of {title}</text>\n    </revision>\n  </page>\n"
    )
}

/// Indexes and serves a dump made of `pages` with enwiki's siteinfo.
fn serve_dump(pages: &str) -> (tempfile::TempDir, Server, String) {
    let xml = format!(
        "<mediawiki>\n  <siteinfo>\n    <dbname>enwiki</dbname>\n    <case>first-letter</case>\n    <namespaces>\n      <namespace key=\"0\" case=\"first-letter\" />\n      <namespace key=\"1\" case=\"first-letter\">Talk</namespace>\n      <namespace key=\"2302\" case=\"case-sensitive\">Gadget definition</namespace>\n    </namespaces>\n  </siteinfo>\n{pages}</mediawiki>\n"
    );
    let (dir, dump) = dump_file(&xml);
    let server = Server::start(&["--dump", dump.to_str().unwrap()]);
    (dir, server, xml)
}

#[test]
fn titles_with_slashes_case_namespaces_and_duplicates() {
    let pages = page_xml("AC/DC", 0, None)
        + &page_xml("Zürich", 0, None)
        + &page_xml("Talk:Foo bar", 1, None)
        + &page_xml("Gadget definition:lower", 2302, None)
        + &page_xml("AT&amp;T", 0, None)
        + &page_xml("Dup", 0, None)
        + &page_xml("Dup", 0, None)
        + &page_xml("Dupe", 0, None);
    let (_dir, server, xml) = serve_dump(&pages);
    let expected = extract_pages(xml.as_bytes());
    let bytes_of = |title: &str| {
        let p = expected.iter().find(|p| p.title == title).unwrap();
        xml.as_bytes()[p.start as usize..=p.end as usize].to_vec()
    };
    for (path, title) in [
        ("/wiki/AC/DC", "AC/DC"),
        ("/wiki/AC%2FDC", "AC/DC"),
        ("/wiki/z%C3%BCrich", "Zürich"),
        ("/wiki/Z%C3%BCrich", "Zürich"),
        ("/wiki/talk:foo_bar", "Talk:Foo bar"),
        ("/wiki/TALK:foo%20bar", "Talk:Foo bar"),
        ("/wiki/Talk:Foo_bar", "Talk:Foo bar"),
        ("/wiki/AT%26T", "AT&T"),
        ("/wiki/aT&T", "AT&T"),
        ("/wiki/Gadget_definition:lower", "Gadget definition:lower"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.body, bytes_of(title), "{path}");
    }
    // case-sensitive namespace: no first-letter retry of the title part
    server.get("/wiki/Gadget_definition:Lower").assert_error(404);
    // duplicates: rows in start order, after= skips all of them
    let rows = rows_of(&server.get("/offsets/Dup").json());
    assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["Dup", "Dup", "Dupe"]);
    assert!(rows[0].1 < rows[1].1);
    let rows = rows_of(&server.get("/offsets/Dup?after=Dup").json());
    assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["Dupe"]);
    // the first of duplicate pages is the one served
    let first = expected.iter().find(|p| p.title == "Dup").unwrap();
    assert_eq!(server.get("/wiki/Dup").body, xml.as_bytes()[first.start as usize..=first.end as usize]);
    // slash in a prefix, plus-as-literal in paths
    assert_eq!(rows_of(&server.get("/offsets/AC/").json()).len(), 1);
    assert_eq!(rows_of(&server.get("/offsets/AT&T").json()).len(), 1);
}

#[test]
fn offsets_match_the_dump_and_page_through_a_whole_prefix() {
    for f in real_fixtures() {
        for prefix in ["A", "An", "Al", "Ab", "Wikipedia:", "Z", "Ö", "Nothing-starts-like-this"] {
            let want = f.rows_for(prefix);
            let r = f.server.get(&format!("/offsets/{}?limit=10000", enc(prefix)));
            assert_eq!(r.status, 200);
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(rows_of(&r.json()), want, "prefix {prefix}");
            for (t, s, e) in &want {
                let frag = &f.xml[*s as usize..=*e as usize];
                assert!(frag.starts_with(b"<page>") && frag.ends_with(b"</page>"), "{t}");
            }
        }
        // default limit is 100
        let all = f.rows_for("A");
        assert!(all.len() > 100, "the excerpt has >100 titles starting with A");
        assert_eq!(rows_of(&f.server.get("/offsets/A").json()), all[..100]);
        // paging with after, 7 at a time, reaches every row exactly once
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                None => "/offsets/A?limit=7".to_string(),
                Some(a) => format!("/offsets/A?limit=7&after={}", enc(a)),
            };
            let rows = rows_of(&f.server.get(&path).json());
            if rows.is_empty() {
                break;
            }
            after = Some(rows.last().unwrap().0.clone());
            paged.extend(rows);
        }
        assert_eq!(paged, all);
        // `_` is a space in prefixes and in after; `+` is a space in the query
        let spaced = f.rows_for("A M");
        assert!(!spaced.is_empty());
        assert_eq!(rows_of(&f.server.get("/offsets/A_M").json()), spaced);
        assert_eq!(rows_of(&f.server.get("/offsets/A%20M").json()), spaced);
        let after_first = &f.rows_for("A")[1..3];
        let first = enc(&all[0].0).replace("%20", "+");
        assert_eq!(rows_of(&f.server.get(&format!("/offsets/A?limit=2&after={first}")).json()), after_first);
        let underscored = all[0].0.replace(' ', "_");
        let r = f.server.get(&format!("/offsets/A?limit=2&after={}", enc(&underscored)));
        assert_eq!(rows_of(&r.json()), after_first);
    }
}

#[test]
fn offsets_fields_add_namespace_redirect_and_id() {
    for f in real_fixtures() {
        let r = f.server.get("/offsets/A?limit=10000&fields=ns,redirect,id").json();
        let by_title = f.by_title();
        for row in r.as_array().unwrap() {
            let p = by_title[row[0].as_str().unwrap()];
            assert_eq!(row.as_array().unwrap().len(), 6);
            assert_eq!(row[3].as_i64().unwrap(), p.ns as i64);
            assert_eq!(row[4].as_str().map(str::to_string), p.redirect);
            assert_eq!(row[5].as_u64().unwrap(), p.id);
        }
        f.server.get("/offsets/A?fields=bogus").assert_error(400);
    }
}

#[test]
fn bad_offsets_requests_are_json_400s() {
    for f in real_fixtures() {
        let s = &f.server;
        for path in [
            "/offsets/",
            "/offsets",
            "/offsets/A?limit=0",
            "/offsets/A?limit=-1",
            "/offsets/A?limit=abc",
            "/offsets/A?limit=1e9",
            "/offsets/A?limit=10001",
            "/offsets/A?limit=",
            "/offsets/A?limit=1&limit=2",
            "/offsets/%FF",
            "/offsets/%zz",
            "/offsets/A?after=%FF",
            "/wiki/",
            "/wiki/%C3",
        ] {
            let msg = s.get(path).assert_error(400);
            assert!(msg.len() > 10, "{path}: {msg}");
        }
        assert_eq!(s.get("/offsets/A?limit=10000").status, 200);
        s.get("/wiki/No_such_page_at_all").assert_error(404);
        s.get("/nope").assert_error(404);
        s.get("/xml/../../etc/passwd").assert_error(404);
        s.get("/wiki/..%2f..%2fetc%2fpasswd").assert_error(404);
        let r = s.post("/offsets/A");
        r.assert_error(405);
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
}

#[test]
fn xml_ranges_follow_rfc_9110() {
    for f in real_fixtures() {
        let s = &f.server;
        let size = f.xml.len() as u64;
        let get = |range: &str| s.get_with("/xml", &[("Range", range)]);
        let check = |range: &str, a: u64, b: u64| {
            let r = get(range);
            assert_eq!(r.status, 206, "{range}: {}", r.text());
            assert_eq!(r.header("content-range"), Some(format!("bytes {a}-{b}/{size}").as_str()), "{range}");
            assert_eq!(r.header("accept-ranges"), Some("bytes"));
            assert_eq!(r.header("content-type"), Some("text/xml; charset=utf-8"));
            assert!(r.body == f.xml[a as usize..=b as usize], "{range}: bytes differ");
        };
        check("bytes=0-99", 0, 99);
        check("bytes=100-100", 100, 100);
        check(&format!("bytes={}-", size - 10), size - 10, size - 1);
        check("bytes=-25", size - 25, size - 1);
        check(&format!("bytes=10-{}", size + 1000), 10, size - 1);
        check("bytes=5-99999999999999999999999999", 5, size - 1);
        for p in f.pages.iter().step_by(7) {
            check(&format!("bytes={}-{}", p.start, p.end), p.start, p.end);
        }
        for range in [
            format!("bytes={size}-"),
            format!("bytes={}-{}", size + 5, size + 9),
            "bytes=-0".into(),
            "bytes=9-5".into(),
            "bytes=0-1,5-6".into(),
        ] {
            let r = get(&range);
            r.assert_error(416);
            assert_eq!(r.header("content-range"), Some(format!("bytes */{size}").as_str()), "{range}");
        }
        for range in ["bytes=abc", "bytes=", "items=0-5", "bytes=--1", "bytes=1-2-3"] {
            get(range).assert_error(400);
        }
        s.get("/xml").assert_error(400);
        // the cap (default 64 MiB) — exceeded only on the sample server (2 MB cap)
        let big = sample();
        let r = big.server.get_with("/xml", &[("Range", "bytes=0-2000000")]);
        r.assert_error(416);
        assert_eq!(big.server.get_with("/xml", &[("Range", "bytes=0-1999999")]).body.len(), 2_000_000);
    }
}

#[test]
fn xml_if_range_and_validators() {
    for f in real_fixtures() {
        let s = &f.server;
        let r = s.get_with("/xml", &[("Range", "bytes=0-9")]);
        let etag = r.header("etag").unwrap().to_string();
        let modified = r.header("last-modified").unwrap().to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'));
        let again = s.get_with("/xml", &[("Range", "bytes=0-9")]);
        assert_eq!(again.header("etag"), Some(etag.as_str()), "stable per dump");
        let ok = s.get_with("/xml", &[("Range", "bytes=0-9"), ("If-Range", &etag)]);
        assert_eq!((ok.status, ok.body.len()), (206, 10));
        let ok = s.get_with("/xml", &[("Range", "bytes=0-9"), ("If-Range", &modified)]);
        assert_eq!(ok.status, 206);
        s.get_with("/xml", &[("Range", "bytes=0-9"), ("If-Range", "\"other\"")]).assert_error(400);
        let weak = format!("W/{etag}");
        s.get_with("/xml", &[("Range", "bytes=0-9"), ("If-Range", &weak)]).assert_error(400);
        s.get_with("/xml", &[("Range", "bytes=0-9"), ("If-Range", "Tue, 01 Jan 2001 00:00:00 GMT")])
            .assert_error(400);
    }
}

#[test]
fn head_answers_like_get_without_a_body() {
    for f in real_fixtures() {
        let s = &f.server;
        let p = &f.pages[3];
        for (path, headers) in [
            (format!("/wiki/{}", enc(&p.title)), vec![]),
            ("/offsets/A".to_string(), vec![]),
            ("/xml".to_string(), vec![("Range", "bytes=10-5000")]),
            ("/stats".to_string(), vec![]),
            ("/json".to_string(), vec![]),
            ("/".to_string(), vec![]),
        ] {
            let get = s.get_with(&path, &headers);
            let head = s.head_with(&path, &headers);
            assert_eq!(head.status, get.status, "{path}");
            assert!(head.body.is_empty(), "{path}");
            assert_eq!(head.header("content-type"), get.header("content-type"), "{path}");
            if path != "/stats" {
                assert_eq!(
                    head.header("content-length"),
                    Some(get.body.len().to_string().as_str()),
                    "{path}"
                );
            }
        }
    }
}

#[test]
fn baselines_and_operator_endpoints() {
    let f = real();
    let s = &f.server;
    let r = s.get("/json");
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/json")));
    assert_eq!(r.body, br#"{"message":"Hello, World!"}"#);
    let r = s.get("/plaintext");
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    // The baselines measure the HTTP stack alone: untimed, unrecorded.
    assert_eq!(r.header("server-timing"), None);
    assert_eq!(s.get("/json").header("server-timing"), None);
    assert_eq!(s.get("/healthz").status, 200);
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("wikidex"));
    s.get("/offsets/A");
    s.get("/wiki/Nope_nope");
    let stats = s.get("/stats").json();
    assert!(stats["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert!(stats["requests"]["offsets"].as_u64().unwrap() >= 1);
    assert!(
        stats["requests"].get("plaintext").is_none() && stats["requests"].get("json").is_none(),
        "{stats}"
    );
    assert_eq!(s.get("/plaintext/x").header("server-timing").map(|t| t.starts_with("app;dur=")), Some(true));
    assert!(stats["errors"]["wiki"].as_u64().unwrap() >= 1);
    for key in ["p50", "p99", "p999", "max"] {
        assert!(stats["latency_us"]["offsets"][key].as_u64().is_some(), "{key}");
    }
    assert_eq!(stats["index"]["pages"], 206);
    assert_eq!(stats["index"]["redirects"], 100);
    assert_eq!(stats["index"]["titles"], 206);
    assert_eq!(stats["index"]["dump_bytes"], f.xml.len() as u64);
    assert!(stats["index"]["index_bytes"].as_u64().unwrap() > 0);
    assert!(stats["rss_bytes"].as_u64().unwrap() > 1_000_000);
    let metrics = s.get("/metrics").text();
    assert!(metrics.contains("wikidex_requests_total{endpoint=\"offsets\"}"));
    assert!(metrics.contains("wikidex_request_duration_seconds{endpoint=\"wiki\",quantile=\"0.99\"}"));
    assert!(metrics.contains("process_resident_memory_bytes"));
    let timing = s.get("/offsets/A").header("server-timing").unwrap().to_string();
    assert!(timing.starts_with("app;dur="), "{timing}");
}

#[test]
fn refuses_to_start_on_a_changed_dump_or_a_corrupt_index() {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let args = ["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()];
    // corrupt index: one flipped byte in a column
    let starts = index.join("starts.u48");
    let original = std::fs::read(&starts).unwrap();
    let mut flipped = original.clone();
    flipped[17] ^= 0x40;
    std::fs::write(&starts, &flipped).unwrap();
    let log = Server::try_start(&args).err().expect("must refuse a corrupt index");
    assert!(log.contains("starts.u48") && log.contains("checksum"), "{log}");
    // with the checksum pass in the background, the server stops by itself
    let mut background = args.to_vec();
    background.extend(["--verify", "background"]);
    let mut server = Server::start(&background);
    let status = server.wait_exit(std::time::Duration::from_secs(20)).expect("stops on a damaged index");
    assert_eq!(status.code(), Some(2));
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("starts.u48") && log.contains("checksum"), "{log}");
    std::fs::write(&starts, &original).unwrap();
    let mut server = Server::start(&background);
    assert!(server.wait_exit(std::time::Duration::from_millis(500)).is_none(), "a sound index keeps serving");
    assert_eq!(server.get("/healthz").status, 200);
    drop(server);
    // wrong version in a footer
    let manifest = index.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let current = format!("\"format_version\": {}", wikidex_indexer::format::FORMAT_VERSION);
    assert!(text.contains(&current), "{text}");
    std::fs::write(&manifest, text.replace(&current, "\"format_version\": 99")).unwrap();
    let log = Server::try_start(&args).err().expect("must refuse an unknown version");
    assert!(log.contains("version 99"), "{log}");
    std::fs::write(&manifest, &text).unwrap();
    // a missing file
    std::fs::rename(index.join("titles.fc"), dir.path().join("x")).unwrap();
    let log = Server::try_start(&args).err().expect("must refuse a partial index");
    assert!(log.contains("titles.fc"), "{log}");
    std::fs::rename(dir.path().join("x"), index.join("titles.fc")).unwrap();
    // the dump changed (one byte, same size)
    let mut xml = std::fs::read(&dump).unwrap();
    xml[50] ^= 0x01;
    std::fs::write(&dump, &xml).unwrap();
    let log = Server::try_start(&args).err().expect("must refuse a changed dump");
    assert!(log.contains("changed since it was indexed"), "{log}");
}

#[test]
fn a_dump_truncated_while_serving_gives_5xx_not_a_crash() {
    let (_dir, dump, index) = indexed_copy(&real_excerpt());
    let mut server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    let xml = std::fs::read(&dump).unwrap();
    let pages = extract_pages(&xml);
    let last = pages.iter().max_by_key(|p| p.start).unwrap();
    assert_eq!(server.get(&format!("/wiki/{}", enc(&last.title))).status, 200);
    std::fs::OpenOptions::new().write(true).open(&dump).unwrap().set_len(xml.len() as u64 / 2).unwrap();
    server.get(&format!("/wiki/{}?redirect=no", enc(&last.title))).assert_error(503);
    server.get_with("/xml", &[("Range", "bytes=0-10")]).assert_error(503);
    server.get("/healthz").assert_error(503);
    assert_eq!(server.get("/offsets/A?limit=1").status, 200, "lookups that need no dump bytes still work");
    assert!(server.alive());
    // graceful shutdown on SIGTERM
    assert!(server.terminate().success());
}

#[test]
fn opensearch_suggestions_and_description() {
    let f = real();
    let s = &f.server;
    let v = s.get("/opensearch?search=an&limit=5").json();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 4);
    assert_eq!(arr[0], "an");
    let titles: Vec<&str> = arr[1].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    // Folded matches in the main namespace (their order, by popularity,
    // is tests/ranking.rs's subject).
    let fold = wikidex_indexer::fold::fold;
    let matching: Vec<&str> = f
        .pages
        .iter()
        .filter(|p| p.ns == 0 && fold(&p.title).starts_with("an"))
        .map(|p| p.title.as_str())
        .collect();
    assert_eq!(titles.len(), 5.min(matching.len()));
    assert!(titles.iter().all(|t| matching.contains(t)), "{titles:?}");
    let want: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
    assert_eq!(arr[2].as_array().unwrap().len(), titles.len());
    let url = arr[3][0].as_str().unwrap();
    assert_eq!(url, format!("{}/wiki/{}", s.base, titles[0].replace(' ', "_")));
    // namespace filter: Wikipedia: pages only with namespace=4 or the prefix
    let v = s.get("/opensearch?search=Wikipedia:&namespace=4").json();
    assert!(!v[1].as_array().unwrap().is_empty());
    let v = s.get("/opensearch?search=Wikipedia").json();
    assert!(v[1].as_array().unwrap().iter().all(|t| !t.as_str().unwrap().contains(':')));
    s.get("/opensearch?search=a&limit=0").assert_error(400);
    assert_eq!(s.get("/opensearch?search=").json(), serde_json::json!(["", [], [], []]));
    let short = s.get("/suggest?q=an&limit=3").json();
    assert_eq!(short, serde_json::json!(["an", want[..3]]));
    let r = s.get("/opensearch.xml");
    assert_eq!(r.header("content-type"), Some("application/opensearchdescription+xml"));
    // Its URLs come from the host headers: caches must key on them.
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let vary = r.header("vary").unwrap_or_default().to_ascii_lowercase();
    assert!(
        ["forwarded", "x-forwarded-proto", "x-forwarded-host"].iter().all(|h| vary.contains(h)),
        "{vary}"
    );
    let tag = r.header("etag").expect("a validator to revalidate with");
    let again = s.get_with("/opensearch.xml", &[("If-None-Match", tag)]);
    assert_eq!((again.status, again.body.len()), (304, 0));
    let proxied =
        s.get_with("/opensearch.xml", &[("If-None-Match", tag), ("X-Forwarded-Host", "wiki.example")]);
    assert_eq!(proxied.status, 200, "another host, another document, another tag");
    assert!(proxied.text().contains("//wiki.example/"), "{}", proxied.text());
    let doc = r.text();
    let mut reader = quick_xml::Reader::from_str(&doc);
    let mut templates = Vec::new();
    loop {
        match reader.read_event().expect("well-formed description") {
            quick_xml::events::Event::Empty(e) if e.name().as_ref() == b"Url" => {
                templates.push(
                    e.try_get_attribute("template").unwrap().unwrap().unescape_value().unwrap().into_owned(),
                );
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert!(
        templates.iter().any(|t| t == &format!("{}/opensearch?search={{searchTerms}}&namespace=0", s.base))
    );
}

/// Offsets are only meaningful in the dump they came from. Every `/wiki`
/// and `/xml` answer carries the dump's `ETag`; sent back as `If-Match`
/// with a range, a server on another dump of the same titles answers 412,
/// never another page's bytes. See: issue 22 (dump updates).
#[test]
fn xml_if_match_with_the_dump_tag_refuses_another_dump() {
    let january = page_xml("Alpha", 0, None) + &page_xml("Beta", 0, None);
    let february =
        page_xml("Alpha", 0, None) + &page_xml("Beta long", 0, Some("Alpha")) + &page_xml("Beta", 0, None);
    let (_a, old, _) = serve_dump(&january);
    let (_b, new, _) = serve_dump(&february);
    let row = &rows_of(&old.get("/offsets/Beta").json())[0];
    let tag = old.get("/wiki/Beta").header("etag").expect("an ETag on /wiki").to_string();
    let new_tag = new.get("/wiki/Beta").header("etag").unwrap().to_string();
    assert_ne!(new_tag, tag, "another dump, another tag");
    let range = format!("bytes={}-{}", row.1, row.2);
    let fetch = |s: &Server, if_match: &str| s.get_with("/xml", &[("Range", &range), ("If-Match", if_match)]);
    let same = fetch(&old, &tag);
    assert_eq!(same.status, 206);
    assert!(same.body.starts_with(b"<page>") && same.body.ends_with(b"</page>"));
    let other = fetch(&new, &tag);
    assert!(other.assert_error(412).contains(&new_tag), "names the tag to look up again with");
    assert_eq!(fetch(&new, &format!("\"x\", {new_tag}")).status, 206, "a list with the right tag");
    assert_eq!(fetch(&new, "*").status, 206);
    fetch(&new, &format!("W/{new_tag}")).assert_error(412);
    fetch(&new, "not-a-tag").assert_error(400);
    for path in ["/stats", "/metrics", "/healthz"] {
        assert_eq!(new.get(path).header("cache-control"), Some("no-store"), "{path}");
    }
}

#[test]
fn the_access_log_has_one_line_per_request_and_changes_no_answer() {
    let (_dir, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let args = ["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()];
    let plain_server = Server::start(&args);
    let logged = Server::start(&[&args[..], &["--access-log"]].concat());
    for path in ["/offsets/A?limit=2", "/wiki/Nope_at_all", "/plaintext", "/nope"] {
        let (plain, with_log) = (plain_server.get(path), logged.get(path));
        assert_eq!(with_log.status, plain.status, "{path}");
        assert_eq!(with_log.body, plain.body, "{path}");
    }
    // The log arrives through the server's stderr, a moment after the answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !logged.log.lock().unwrap().contains("GET /nope") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let log = logged.log.lock().unwrap().clone();
    for (line, status) in [
        ("GET /offsets/A?limit=2 HTTP/1.1", 200),
        ("GET /wiki/Nope_at_all HTTP/1.1", 404),
        ("GET /nope HTTP/1.1", 404),
    ] {
        let want = format!("\"{line}\" {status} ");
        assert!(log.lines().any(|l| l.contains(&want)), "no {want:?} in:\n{log}");
    }
    assert!(!plain_server.log.lock().unwrap().contains("\"GET /"), "no access log without the flag");
}
