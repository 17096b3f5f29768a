//! Search features on top of the exact contract: folded and fuzzy matching,
//! namespace filters, redirect resolution. See: issue 7 (Search).

use crate::util::{Server, enc, extract_pages, real_excerpt};
use std::sync::OnceLock;
use wikidex_indexer::fold::fold;

fn page(title: &str, ns: i32, redirect: Option<&str>) -> String {
    let redirect = redirect.map_or(String::new(), |r| format!("    <redirect title=\"{r}\" />\n"));
    format!(
        "  <page>\n    <title>{title}</title>\n    <ns>{ns}</ns>\n    <id>7</id>\n{redirect}    <revision>\n      <text xml:space=\"preserve\">about {title}</text>\n    </revision>\n  </page>\n"
    )
}

struct Fixture {
    server: Server,
    titles: Vec<(String, i32)>,
    _dir: tempfile::TempDir,
}

/// A server over a dump of titles chosen to exercise folding and typos.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let pages = [
            page("Python", 0, None),
            page("Python (programming language)", 0, None),
            page("PYTHON (band)", 0, None),
            page("Pythons", 0, Some("Python")),
            page("Pythagoras", 0, None),
            page("Pythagorean theorem", 0, None),
            page("Pyramid", 0, None),
            page("Python language", 0, Some("Python (programming language)")),
            page("Python programming", 0, Some("Python (programming language)")),
            page("Straße", 0, None),
            page("Zürich", 0, None),
            page("Zurich Airport", 0, None),
            page("Ὀδυσσεύς", 0, None),
            page("İstanbul", 0, None),
            page("Category:Science", 14, None),
            page("Category:Sciences humaines", 14, None),
            page("Science", 0, None),
            page("Science fiction", 0, None),
            page("Talk:Science", 1, None),
            // Folds into `category:`, yet is of the main namespace.
            page("Catégory: A Film", 0, None),
        ]
        .concat();
        let xml = format!(
            "<mediawiki>\n  <siteinfo>\n    <case>first-letter</case>\n    <namespaces>\n      <namespace key=\"0\" case=\"first-letter\" />\n      <namespace key=\"1\" case=\"first-letter\">Talk</namespace>\n      <namespace key=\"14\" case=\"first-letter\">Category</namespace>\n    </namespaces>\n  </siteinfo>\n{pages}</mediawiki>\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("s.xml");
        std::fs::write(&dump, &xml).unwrap();
        let titles = extract_pages(xml.as_bytes()).into_iter().map(|p| (p.title, p.ns)).collect();
        Fixture { server: Server::start(&["--dump", dump.to_str().unwrap()]), titles, _dir: dir }
    })
}

fn titles(server: &Server, path: &str) -> Vec<String> {
    let r = server.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json().as_array().unwrap().iter().map(|row| row[0].as_str().unwrap().to_string()).collect()
}

/// The model: titles whose folded form starts with fold(prefix), in
/// (folded, title) order.
fn folded_model(f: &Fixture, prefix: &str) -> Vec<String> {
    let p = fold(prefix);
    let mut m: Vec<(String, String)> =
        f.titles.iter().filter(|(t, _)| fold(t).starts_with(&p)).map(|(t, _)| (fold(t), t.clone())).collect();
    m.sort();
    m.into_iter().map(|(_, t)| t).collect()
}

#[test]
fn folded_matching_ignores_case_and_accents() {
    let f = fixture();
    for prefix in ["python", "PYTHON", "pythön", "Pyth", "strasse", "STRASSE", "straße", "zurich", "ZÜRICH"]
    {
        let got = titles(&f.server, &format!("/offsets/{}?match=folded", enc(prefix)));
        assert_eq!(got, folded_model(f, prefix), "{prefix}");
        assert!(!got.is_empty(), "{prefix}");
    }
    // Greek final sigma and the Turkish dotted capital I (documented rule).
    assert_eq!(titles(&f.server, &format!("/offsets/{}?match=folded", enc("ΟΔΥΣΣΕΥΣ"))), ["Ὀδυσσεύς"]);
    assert_eq!(titles(&f.server, &format!("/offsets/{}?match=folded", enc("οδυσσευς"))), ["Ὀδυσσεύς"]);
    assert_eq!(titles(&f.server, "/offsets/istanbul?match=folded"), ["İstanbul"]);
    // The exact contract is untouched.
    assert!(titles(&f.server, "/offsets/python").is_empty());
    assert_eq!(titles(&f.server, "/offsets/Python").len(), 5);
}

#[test]
fn folded_results_page_with_after() {
    let f = fixture();
    let all = folded_model(f, "py");
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/offsets/py?match=folded&limit=2".to_string(),
            Some(a) => format!("/offsets/py?match=folded&limit=2&after={}", enc(a)),
        };
        let got = titles(&f.server, &path);
        if got.is_empty() {
            break;
        }
        after = got.last().cloned();
        paged.extend(got);
    }
    assert_eq!(paged, all);
}

#[test]
fn fuzzy_matching_tolerates_typos_and_ranks_exact_prefixes_first() {
    let f = fixture();
    // distance 1 (4–7 characters): a transposition, a substitution, a deletion
    for typo in ["Pyhton", "Pythan", "Pthon", "Zurihc"] {
        let got = titles(&f.server, &format!("/offsets/{typo}?match=fuzzy"));
        let want = if typo == "Zurihc" { "Zürich" } else { "Python" };
        assert!(got.iter().any(|t| t == want), "{typo}: {got:?}");
    }
    // distance 2 (8+ characters)
    let got = titles(&f.server, "/offsets/Pythagoraen%20theorme?match=fuzzy");
    assert_eq!(got, ["Pythagorean theorem"], "two transpositions");
    assert!(titles(&f.server, "/offsets/Pythagoraen%20thoermee?match=fuzzy").is_empty(), "three edits");
    let got = titles(&f.server, "/offsets/Pyhtagoras?match=fuzzy");
    assert!(got.contains(&"Pythagoras".to_string()), "{got:?}");
    // too short for typos: only folded prefix matches
    assert_eq!(titles(&f.server, "/offsets/pyr?match=fuzzy"), folded_model(f, "pyr"));
    // exact (folded) prefix hits come first, then fuzzy ones
    let got = titles(&f.server, "/offsets/pytho?match=fuzzy&limit=50");
    let exact = folded_model(f, "pytho");
    assert_eq!(&got[..exact.len()], exact.as_slice());
    assert!(got.len() > exact.len(), "fuzzy hits after the exact ones: {got:?}");
    assert!(got[exact.len()..].iter().all(|t| !fold(t).starts_with("pytho")));
    f.server.get("/offsets/pytho?match=fuzzy&after=Python").assert_error(400);
    f.server.get("/offsets/pytho?match=bogus").assert_error(400);
}

#[test]
fn namespace_filters_and_prefixes() {
    let f = fixture();
    assert_eq!(
        titles(&f.server, "/offsets/Category:Sci"),
        ["Category:Science", "Category:Sciences humaines"]
    );
    assert_eq!(
        titles(&f.server, "/offsets/category:sci?match=folded"),
        ["Category:Science", "Category:Sciences humaines"]
    );
    assert_eq!(titles(&f.server, "/offsets/Sci?ns=0"), ["Science", "Science fiction"]);
    assert_eq!(titles(&f.server, "/offsets/Sci?ns=14").len(), 0);
    assert_eq!(titles(&f.server, "/offsets/talk:sci?match=folded"), ["Talk:Science"]);
    let both = titles(&f.server, "/offsets/S?ns=0,14&match=folded");
    assert!(both.contains(&"Science".to_string()) && both.contains(&"Straße".to_string()));
    f.server.get("/offsets/Sci?ns=x").assert_error(400);
    // `category:` also holds a main-namespace title: not passed over.
    for order in ["title", "rank"] {
        let path = format!("/offsets/categ?ns=0&match=folded&order={order}");
        assert_eq!(titles(&f.server, &path), ["Catégory: A Film"], "{path}");
    }
}

/// A namespace the filter leaves out is passed over as a block, not row
/// by row against the scan budget (`handlers::offsets::SCAN_BUDGET`): on
/// enwiki, `Cat?ns=0` meets 2 M `Category:` titles between `Catalan` and
/// `Cats`, and must still reach `Cats`.
#[test]
fn a_filtered_namespace_larger_than_the_scan_budget_is_passed_over() {
    let categories = wikidex_server::handlers::offsets::SCAN_BUDGET + 1;
    let mut pages = String::with_capacity(categories * 40);
    pages.push_str(&page("Catalan", 0, None));
    for i in 0..categories {
        pages.push_str(&format!("<page><title>Category:C{i:07}</title><ns>14</ns><id>{i}</id></page>\n"));
    }
    pages.push_str(&page("Cats", 0, None));
    // One typo from `cats` (`catf`), and past the whole `category:` span.
    pages.push_str(&page("Catfish", 0, None));
    let xml = format!(
        "<mediawiki>\n  <siteinfo>\n    <namespaces>\n      <namespace key=\"0\" />\n      <namespace key=\"14\">Category</namespace>\n    </namespaces>\n  </siteinfo>\n{pages}</mediawiki>\n"
    );
    let (_dir, dump) = crate::util::dump_file(&xml);
    let server = Server::start(&["--dump", dump.to_str().unwrap()]);
    assert_eq!(titles(&server, "/offsets/Cat?ns=0"), ["Catalan", "Catfish", "Cats"]);
    assert_eq!(titles(&server, "/offsets/Cat?ns=0&after=Catalan"), ["Catfish", "Cats"]);
    assert_eq!(titles(&server, "/offsets/cat?ns=0&match=folded"), ["Catalan", "Catfish", "Cats"]);
    assert_eq!(titles(&server, "/offsets/cat?ns=0&match=folded&after=Catalan"), ["Catfish", "Cats"]);
    assert_eq!(titles(&server, "/offsets/cat?ns=0&match=folded&order=rank").len(), 3);
    // The typo group (`cata…`, `catf…`) walks past the categories (`cate…`)
    // rather than filling its share with rows the filter then refuses.
    for order in ["title", "rank"] {
        let path = format!("/offsets/cats?ns=0&match=fuzzy&order={order}");
        assert_eq!(titles(&server, &path), ["Cats", "Catalan", "Catfish"], "{path}");
    }
    let opensearch = server.get("/opensearch?search=cats");
    assert_eq!(opensearch.status, 200);
    let found: serde_json::Value = serde_json::from_slice(&opensearch.body).unwrap();
    assert_eq!(found[1], serde_json::json!(["Cats", "Catalan", "Catfish"]));
    assert_eq!(titles(&server, "/offsets/Category:C0000001?ns=0").len(), 0);
    assert_eq!(
        titles(&server, "/offsets/Cat?ns=0,14&limit=3"),
        ["Catalan", "Category:C0000000", "Category:C0000001"]
    );
}

#[test]
fn redirects_resolve_to_their_targets_once() {
    let f = fixture();
    let r = f.server.get("/offsets/Python?redirects=resolve&limit=50&fields=redirect").json();
    let got: Vec<&str> = r.as_array().unwrap().iter().map(|row| row[0].as_str().unwrap()).collect();
    assert_eq!(got, ["Python", "Python (programming language)"], "redirects replaced, duplicates dropped");
    assert!(r.as_array().unwrap().iter().all(|row| row[3].is_null()));
    let plain = titles(&f.server, "/offsets/Python?limit=50");
    assert!(plain.contains(&"Python language".to_string()));
    f.server.get("/offsets/Python?redirects=maybe").assert_error(400);
}

#[test]
fn the_real_excerpt_answers_folded_and_fuzzy_queries() {
    let (_dir, dump, index) = crate::util::indexed_copy(&real_excerpt());
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    assert_eq!(titles(&server, "/offsets/anarchism?match=folded&limit=1"), ["Anarchism"]);
    assert_eq!(titles(&server, "/offsets/Anrachism?match=fuzzy&limit=1"), ["Anarchism"]);
    let v = server.get("/opensearch?search=algoritm&limit=3").json();
    assert_eq!(v[1][0], "Algorithm");
}
