//! Every title MediaWiki allows: 255 bytes *after* a namespace prefix, in
//! 1- to 4-byte UTF-8, indexed, listed, fetched, paged, folded and fuzzy;
//! and `--skip-invalid`, which indexes the rest of a dump with an invalid
//! page and names what it left out. See: issue 20 (item 1).

use crate::util::{Server, dump_file, enc, extract_pages, wikidex};

const NAMESPACES: [(i32, &str); 4] = [(1, "Talk"), (4, "Wikipedia"), (10, "Template"), (14, "Category")];

/// A title part of exactly 255 bytes: `X`, then `ch` as often as fits,
/// then ASCII to fill.
fn part_of_255(ch: char) -> String {
    let mut part = String::from("X");
    while part.len() + ch.len_utf8() <= 250 {
        part.push(ch);
    }
    while part.len() < 255 {
        part.push('y');
    }
    assert_eq!(part.len(), 255);
    part
}

fn page(title: &str, ns: i32, id: u64, redirect: Option<&str>) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;");
    let redirect = redirect.map_or(String::new(), |r| format!("    <redirect title=\"{}\" />\n", esc(r)));
    format!(
        "  <page>\n    <title>{}</title>\n    <ns>{ns}</ns>\n    <id>{id}</id>\n{redirect}    <revision>\n      <text xml:space=\"preserve\">text of page {id}</text>\n    </revision>\n  </page>\n",
        esc(title)
    )
}

fn dump(pages: &str) -> String {
    let ns: String = NAMESPACES
        .iter()
        .map(|(key, name)| {
            format!("      <namespace key=\"{key}\" case=\"first-letter\">{name}</namespace>\n")
        })
        .collect();
    format!(
        "<mediawiki>\n  <siteinfo>\n    <dbname>enwiki</dbname>\n    <case>first-letter</case>\n    <namespaces>\n      <namespace key=\"0\" case=\"first-letter\" />\n{ns}    </namespaces>\n  </siteinfo>\n{pages}</mediawiki>\n"
    )
}

/// Every namespace × every UTF-8 width, plus a redirect to one of them.
fn long_titles() -> Vec<(String, i32)> {
    let mut titles = Vec::new();
    for (ns, name) in NAMESPACES {
        for ch in ['a', 'é', '東', '😀'] {
            titles.push((format!("{name}:{}", part_of_255(ch)), ns));
        }
    }
    titles
}

fn rows(server: &Server, path: &str) -> Vec<(String, u64, u64)> {
    let r = server.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row[0].as_str().unwrap().to_string(), row[1].as_u64().unwrap(), row[2].as_u64().unwrap()))
        .collect()
}

#[test]
fn namespaced_titles_of_255_bytes_after_the_prefix_are_served_like_any_other() {
    let titles = long_titles();
    let mut pages: String =
        titles.iter().enumerate().map(|(i, (t, ns))| page(t, *ns, i as u64 + 1, None)).collect();
    pages += &page("Shortcut", 0, 100, Some(&titles[5].0));
    let xml = dump(&pages);
    let (_dir, path) = dump_file(&xml);
    let server = Server::start(&["--dump", path.to_str().unwrap()]);
    let expected = extract_pages(xml.as_bytes());
    for (name_ns, name) in NAMESPACES {
        let prefix = format!("{name}:X");
        let mut want: Vec<_> = expected
            .iter()
            .filter(|p| p.title.starts_with(&prefix))
            .map(|p| (p.title.clone(), p.start, p.end))
            .collect();
        want.sort();
        assert_eq!(want.len(), 4, "{name}");
        assert!(want.iter().all(|(t, ..)| t.len() == name.len() + 1 + 255));
        assert_eq!(rows(&server, &format!("/offsets/{}", enc(&prefix))), want, "{name}");
        // paged one row at a time with after=
        let mut paged = Vec::new();
        let mut after = String::new();
        loop {
            let q = if after.is_empty() { String::new() } else { format!("&after={}", enc(&after)) };
            let page = rows(&server, &format!("/offsets/{}?limit=1{q}", enc(&prefix)));
            let Some(row) = page.into_iter().next() else { break };
            after = row.0.clone();
            paged.push(row);
        }
        assert_eq!(paged, want, "{name}: paged with after=");
        // folded: any case; fuzzy: one typo in the namespace name
        let folded = rows(&server, &format!("/offsets/{}?match=folded", enc(&prefix.to_lowercase())));
        assert_eq!(folded.len(), 4, "{name}: folded");
        let typo = format!("{}{}:x", &name[..1], &name[2..]);
        let fuzzy = rows(&server, &format!("/offsets/{}?match=fuzzy&ns={name_ns}", enc(&typo)));
        assert!(want.iter().all(|w| fuzzy.contains(w)), "{name}: fuzzy {typo} found {fuzzy:?}");
        // every page fetched whole, by its title and by its lowercase first letter
        for (title, start, end) in &want {
            let r = server.get(&format!("/wiki/{}", enc(title)));
            assert_eq!(r.status, 200, "{title}");
            assert_eq!(r.body, &xml.as_bytes()[*start as usize..=*end as usize]);
            let lower = format!("{}{}", title[..1].to_lowercase(), &title[1..]);
            assert_eq!(server.get(&format!("/wiki/{}", enc(&lower))).body, r.body);
        }
    }
    // a redirect to a long namespaced title resolves to it
    let r = server.get("/wiki/Shortcut");
    assert_eq!(r.status, 200);
    let target = expected.iter().find(|p| p.title == titles[5].0).unwrap();
    assert_eq!(r.body, &xml.as_bytes()[target.start as usize..=target.end as usize]);
}

#[test]
fn an_invalid_page_refuses_the_dump_unless_skip_invalid_names_it() {
    let too_long = format!("Template:{}z", part_of_255('é'));
    let main_too_long = format!("Talk {}", part_of_255('a'));
    let pages = page("Alpha", 0, 1, None)
        + &page(&too_long, 10, 2, None)
        + &page("Beta", 0, 3, None)
        + &page(&main_too_long, 0, 4, None)
        + &page("Gamma", 0, 5, Some(&format!("Template:{}", part_of_255('a'))));
    let xml = dump(&pages);
    let (dir, path) = dump_file(&xml);
    let at = |title: &str| xml.find(&format!("<title>{title}")).unwrap() - "  <page>\n    ".len() + 2;
    let index = dir.path().join("d.wikidex");
    let out = wikidex(&["index", path.to_str().unwrap(), "-o", index.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("256 bytes long after its namespace prefix"), "{stderr}");
    assert!(stderr.contains(&format!("byte {}", at(&too_long))) && stderr.contains("d.xml"), "{stderr}");
    assert!(!index.exists(), "no index is left behind");

    let out = wikidex(&["index", "--skip-invalid", path.to_str().unwrap(), "-o", index.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("indexed 3 pages") && stdout.contains("skipped 2 invalid pages"), "{stdout}");
    for (title, why) in
        [(&too_long, "256 bytes long after its namespace prefix"), (&main_too_long, "260 bytes long;")]
    {
        assert!(stdout.contains(&format!("byte {}: title is {why}", at(title))), "{stdout}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap();
    let skipped = manifest["skipped"].as_array().expect("skipped pages in the manifest");
    let offsets: Vec<u64> = skipped.iter().map(|s| s["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, [at(&too_long) as u64, at(&main_too_long) as u64]);
    assert!(skipped.iter().all(|s| s["reason"].as_str().unwrap().contains("at most 255")));

    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", path.to_str().unwrap()]);
    for title in ["Alpha", "Beta", "Gamma"] {
        assert_eq!(rows(&server, &format!("/offsets/{title}")).len(), 1, "{title}");
    }
    assert!(rows(&server, "/offsets/T").is_empty(), "the skipped pages are not listed");
}

#[test]
fn skip_invalid_still_refuses_a_page_whose_end_is_unknown() {
    let xml = dump(
        &(page("Alpha", 0, 1, None)
            + "  <page>\n    <title>Broken</title>\n    <ns>0</ns>\n"
            + &page("Beta", 0, 2, None)),
    );
    let (dir, path) = dump_file(&xml);
    let index = dir.path().join("d.wikidex");
    let out = wikidex(&["index", "--skip-invalid", path.to_str().unwrap(), "-o", index.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no </page>"), "{stderr}");
    assert!(!index.exists());
}
