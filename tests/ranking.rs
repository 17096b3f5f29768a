//! Popularity ranking (issue #21): every page's score against an
//! independent count ([`crate::link_reference`]), and `order=rank`,
//! `fields=score`, ranked suggestions and `/stats`' top pages against the
//! order those scores give, on the real excerpt and on generated dumps
//! whose prefixes are large enough to use the index's ranked lists.

use crate::link_reference;
use crate::util::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use wikidex_indexer::Index;

/// A dump with its reference scores, indexed and served.
struct Ranked {
    _dir: tempfile::TempDir,
    scores: BTreeMap<String, u32>,
    index: Index,
    server: Server,
}

fn ranked(dump: &Path) -> Ranked {
    let xml = std::fs::read(dump).expect("read dump");
    let scores = link_reference::scores(&xml);
    let (dir, _copy, index_dir) = indexed_copy(dump);
    let server = Server::start(&["--index", index_dir.to_str().unwrap()]);
    Ranked { _dir: dir, scores, index: Index::open(&index_dir).expect("open index"), server }
}

/// The real excerpt.
fn real() -> &'static Ranked {
    static R: OnceLock<Ranked> = OnceLock::new();
    R.get_or_init(|| ranked(&real_excerpt()))
}

/// A generated dump of 50,000 small pages: some one-letter prefixes span
/// more rows than the index scans (`rank::SCAN_ROWS`), so they read lists.
fn generated() -> &'static Ranked {
    static R: OnceLock<Ranked> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let dump = dir.path().join("gen.xml");
        let out = wikidex(&[
            "gen",
            "--pages",
            "50000",
            "--seed",
            "5",
            "--text-percent",
            "5",
            "-o",
            dump.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "gen: {}", String::from_utf8_lossy(&out.stderr));
        let r = ranked(&dump);
        drop(dir);
        r
    })
}

/// `s` with every byte but ASCII letters and digits %-escaped, for a path
/// or a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Every row's score, by title, as the index holds it.
fn index_scores(index: &Index) -> BTreeMap<String, u32> {
    let mut title = Vec::new();
    (0..index.pages() as u32)
        .map(|row| {
            assert!(index.title_of(row, &mut title));
            (String::from_utf8(title.clone()).unwrap(), index.score(row))
        })
        .collect()
}

fn assert_scores_match(r: &Ranked) {
    let ours = index_scores(&r.index);
    assert_eq!(ours.len(), r.scores.len(), "same titles");
    let differ: Vec<_> = ours
        .iter()
        .filter(|(t, s)| r.scores.get(*t) != Some(s))
        .map(|(t, s)| format!("{t:?}: index {s}, reference {:?}", r.scores.get(t)))
        .take(20)
        .collect();
    assert!(differ.is_empty(), "scores differ:\n{}", differ.join("\n"));
    assert!(ours.values().any(|&s| s >= 3), "some page is linked from several pages");
}

#[test]
fn scores_equal_an_independent_count_on_the_real_excerpt() {
    assert_scores_match(real());
}

#[test]
fn scores_equal_an_independent_count_on_a_generated_dump() {
    assert_scores_match(generated());
}

/// The titles under `prefix` in rank order, from the reference scores.
fn expected(r: &Ranked, prefix: &str) -> Vec<(String, u32)> {
    let mut titles: Vec<(String, u32)> =
        r.scores.iter().filter(|(t, _)| t.starts_with(prefix)).map(|(t, &s)| (t.clone(), s)).collect();
    titles.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    titles
}

fn rows(s: &Server, path: &str) -> Vec<(String, u32)> {
    rows_of(&s.get(path).json())
}

fn rows_of(v: &serde_json::Value) -> Vec<(String, u32)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not rows: {v}"))
        .iter()
        .map(|row| (row[0].as_str().unwrap().to_string(), row[3].as_u64().unwrap() as u32))
        .collect()
}

/// Prefixes of one and two characters of every title.
fn prefixes(r: &Ranked) -> Vec<String> {
    let mut out: Vec<String> = r
        .scores
        .keys()
        .flat_map(|t| {
            let mut chars = t.chars();
            let one: String = chars.next().into_iter().collect();
            let two: String = t.chars().take(2).collect();
            [one, two]
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn order_rank_lists_the_top_ten_of_every_short_prefix() {
    for r in [real(), generated()] {
        let all = prefixes(r);
        assert!(all.len() > 20);
        for prefix in all {
            let path = format!("/offsets/{}?order=rank&limit=10&fields=score", encode(&prefix));
            let want: Vec<(String, u32)> = expected(r, &prefix).into_iter().take(10).collect();
            let got = r.server.get(&path).json();
            assert_eq!(rows_of(&got), want, "{path}");
            // Without fields the rows are copied as the index wrote them:
            // the same rows, without the score.
            for mode in ["exact", "folded"] {
                let plain = format!("/offsets/{}?order=rank&limit=10&match={mode}", encode(&prefix));
                let with = format!("{plain}&fields=score");
                let strip = |v: serde_json::Value| -> Vec<serde_json::Value> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|row| serde_json::json!([row[0], row[1], row[2]]))
                        .collect()
                };
                assert_eq!(
                    r.server.get(&plain).json().as_array().unwrap().clone(),
                    strip(r.server.get(&with).json()),
                    "{plain}"
                );
            }
        }
    }
}

#[test]
fn a_large_prefix_reads_its_list_and_pages_on_past_it() {
    let r = generated();
    let (prefix, want) = prefixes(r)
        .into_iter()
        .map(|p| {
            let e = expected(r, &p);
            (p, e)
        })
        .max_by_key(|(_, e)| e.len())
        .unwrap();
    assert!(want.len() > wikidex_indexer::rank::SCAN_ROWS, "{prefix:?} spans {} rows", want.len());
    // Pages of 500, through the list and past its end, to the last row.
    let mut got = Vec::new();
    let mut after = None::<String>;
    loop {
        let mut path = format!("/offsets/{}?order=rank&limit=500&fields=score", encode(&prefix));
        if let Some(a) = &after {
            path.push_str(&format!("&after={}", encode(a)));
        }
        let page = rows(&r.server, &path);
        if page.is_empty() {
            break;
        }
        after = Some(page.last().unwrap().0.clone());
        got.extend(page);
    }
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    // The same prefix folded reads the folded domain's list: no title
    // starts with the lowercase letter, so every row is a folded match.
    let lower = prefix.to_lowercase();
    let fold = wikidex_indexer::fold::fold;
    let mut folded: Vec<(String, u32)> = r
        .scores
        .iter()
        .filter(|(t, _)| fold(t).starts_with(&lower) && !t.starts_with(&lower))
        .map(|(t, &s)| (t.clone(), s))
        .collect();
    folded.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert!(folded.len() > wikidex_indexer::rank::SCAN_ROWS);
    let path = format!("/offsets/{}?order=rank&match=folded&limit=2000&fields=score", encode(&lower));
    assert_eq!(rows(&r.server, &path), folded[..2000], "{path}");
}

#[test]
fn folded_and_fuzzy_rank_exact_matches_first() {
    let r = real();
    let s = &r.server;
    let fold = wikidex_indexer::fold::fold;
    for prefix in ["a", "Ang", "al", "ba"] {
        let exact = expected(r, prefix);
        let mut folded: Vec<(String, u32)> = r
            .scores
            .iter()
            .filter(|(t, _)| !t.starts_with(prefix) && fold(t).starts_with(&fold(prefix)))
            .map(|(t, &s)| (t.clone(), s))
            .collect();
        folded.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let want: Vec<_> = exact.into_iter().chain(folded).collect();
        let path = format!("/offsets/{prefix}?order=rank&match=folded&limit=1000&fields=score");
        assert_eq!(rows(s, &path), want, "{path}");
        // Paged by 3 through both groups.
        let mut got = Vec::new();
        let mut after = None::<String>;
        loop {
            let mut path = format!("/offsets/{prefix}?order=rank&match=folded&limit=3&fields=score");
            if let Some(a) = &after {
                path.push_str(&format!("&after={}", encode(a)));
            }
            let page = rows(s, &path);
            if page.is_empty() {
                break;
            }
            after = Some(page.last().unwrap().0.clone());
            got.extend(page);
        }
        assert_eq!(got, want, "{prefix} paged");
        let fuzzy = format!("/offsets/{prefix}?order=rank&match=fuzzy&limit=1000&fields=score");
        let fuzzy = rows(s, &fuzzy);
        assert_eq!(fuzzy[..want.len()], want[..], "{prefix}: fuzzy starts with the folded answer");
    }
}

#[test]
fn rank_order_refuses_what_it_cannot_answer() {
    let s = &real().server;
    s.get("/offsets/A?order=popular").assert_error(400);
    let message = s.get("/offsets/A?order=rank&after=No%20such%20title%20here").assert_error(400);
    assert!(message.contains("after="), "{message}");
    // The default order is still title order.
    let titles: Vec<String> = rows_plain(s, "/offsets/A?limit=50");
    let mut sorted = titles.clone();
    sorted.sort();
    assert_eq!(titles, sorted);
}

fn rows_plain(s: &Server, path: &str) -> Vec<String> {
    s.get(path).json().as_array().unwrap().iter().map(|row| row[0].as_str().unwrap().to_string()).collect()
}

#[test]
fn suggestions_are_ranked_and_name_each_page_once() {
    let r = real();
    let s = &r.server;
    let v = s.get("/suggest?q=a&limit=10").json();
    let got: Vec<&str> = v[1].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    // Exact prefix `a` has no title (first letters are capitals): the
    // folded group, ranked, with redirects to listed pages left out.
    let mut want: Vec<(String, u32)> = r
        .scores
        .iter()
        .filter(|(t, _)| wikidex_indexer::fold::fold(t).starts_with('a'))
        .filter(|(t, _)| !t.contains(':'))
        .map(|(t, &s)| (t.clone(), s))
        .collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let top: Vec<&str> = want.iter().take(3).map(|(t, _)| t.as_str()).collect();
    assert_eq!(got[..3], top[..], "the three most linked come first");
    // One suggestion per page: no title and its redirect together.
    let mut pages: Vec<u32> = got
        .iter()
        .map(|t| {
            let row = r.index.rows_of(t.as_bytes()).start;
            match r.index.page(row).redirect {
                wikidex_indexer::Redirect::To(target) => target,
                _ => row,
            }
        })
        .collect();
    let n = pages.len();
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), n, "{got:?}");
}

#[test]
fn opensearch_searches_the_text_in_the_namespace_asked() {
    let s = &real().server;
    // Every namespace-4 title of the excerpt starts `Wikipedia:`; asking
    // namespace 4 for the text after the prefix finds them.
    let all = s.get("/opensearch?search=Wikipedia:&namespace=4&limit=100").json();
    let names: Vec<&str> = all[1].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(!names.is_empty());
    let rest = names[0].strip_prefix("Wikipedia:").unwrap();
    let part: String = rest.chars().take(3).collect();
    let v = s.get(&format!("/opensearch?search={}&namespace=4", encode(&part))).json();
    let found: Vec<&str> = v[1].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(found.contains(&names[0]), "{part:?} in namespace 4 finds {:?}: {found:?}", names[0]);
    assert!(found.iter().all(|t| t.starts_with("Wikipedia:")), "{found:?}");
    // A text naming a namespace ignores `namespace`.
    let v = s.get(&format!("/opensearch?search={}&namespace=0", encode(names[0]))).json();
    assert_eq!(v[1][0].as_str(), Some(names[0]));
}

#[test]
fn stats_lists_the_ten_most_linked_pages() {
    let r = real();
    let v = r.server.get("/stats").json();
    let top = v["top_pages"].as_array().expect("top_pages");
    let mut want: Vec<(&String, &u32)> = r.scores.iter().collect();
    want.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let got: Vec<(String, u32)> = top
        .iter()
        .map(|p| (p["title"].as_str().unwrap().to_string(), p["score"].as_u64().unwrap() as u32))
        .collect();
    let want: Vec<(String, u32)> = want.into_iter().take(10).map(|(t, s)| (t.clone(), *s)).collect();
    assert_eq!(got, want);
}

/// `ns=` gives what the unfiltered answer holds of those namespaces, in
/// the same order, in title and rank order, exact and folded: also under
/// prefixes no title of the namespace can have (answered without a pass
/// over the span) and prefixes that a namespace's `Name:` extends (looked
/// up as that narrower prefix).
#[test]
fn namespace_filters_keep_the_unfiltered_order() {
    let r = generated();
    let s = &r.server;
    let mut checked = 0;
    for prefix in
        ["C", "Ca", "Cat", "Category:", "Category:A", "ca", "categ", "T", "Talk:", "talk:a", "L", "W"]
    {
        for order in ["title", "rank"] {
            for mode in ["exact", "folded"] {
                let base = format!("/offsets/{}?order={order}&match={mode}&fields=ns", encode(prefix));
                let all = s.get(&format!("{base}&limit=10000")).json();
                let all = all.as_array().unwrap();
                assert!(all.len() < 10_000, "{base}: the whole answer");
                for ns in ["14", "1", "0", "0,14"] {
                    let keys: Vec<i64> = ns.split(',').map(|k| k.parse().unwrap()).collect();
                    let want: Vec<&str> = all
                        .iter()
                        .filter(|row| keys.contains(&row[3].as_i64().unwrap()))
                        .map(|row| row[0].as_str().unwrap())
                        .take(50)
                        .collect();
                    let got = s.get(&format!("{base}&limit=50&ns={ns}")).json();
                    let got: Vec<&str> =
                        got.as_array().unwrap().iter().map(|row| row[0].as_str().unwrap()).collect();
                    assert_eq!(got, want, "{base}&ns={ns}");
                    checked += usize::from(!want.is_empty());
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} non-empty answers: the dump lacks namespaced titles");
}

/// A suggestion that is a redirect stands for its target page, and ranks
/// by that page's score (issue #21: "a redirect and its target are one
/// suggestion"), a page before a redirect to it; `order=rank` and
/// `fields=score` keep the redirect's own score, 0.
#[test]
fn a_redirect_suggestion_ranks_by_its_pages_score() {
    let page = |title: &str, body: &str| {
        format!(
            "  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>1</id>\n    <revision>\n      <text xml:space=\"preserve\">{body}</text>\n    </revision>\n  </page>\n"
        )
    };
    let redirect = |title: &str, target: &str| {
        format!(
            "  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>2</id>\n    <redirect title=\"{target}\" />\n    <revision>\n      <text xml:space=\"preserve\">#REDIRECT [[{target}]]</text>\n    </revision>\n  </page>\n"
        )
    };
    let mut pages = vec![
        page("New York City", "a city"),
        redirect("NYC", "New York City"),
        page("NYC Ferry", "boats"),
        page("NYC Marathon", "a race"),
    ];
    // Three pages link to New York City, two to NYC Ferry, one to the
    // marathon (through the redirect for one of them).
    for (i, body) in
        ["[[NYC]] [[NYC Ferry]] [[NYC Marathon]]", "[[New York City]] [[NYC Ferry]]", "[[New York City]]"]
            .iter()
            .enumerate()
    {
        pages.push(page(&format!("Linker {i}"), body));
    }
    let xml = format!("<mediawiki>\n{}</mediawiki>\n", pages.concat());
    let (_dir, dump) = dump_file(&xml);
    let server = Server::start(&["--dump", dump.to_str().unwrap()]);
    let suggested = |path: &str| -> Vec<String> {
        let v = server.get(path).json();
        v[1].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
    };
    assert_eq!(suggested("/opensearch?search=NYC"), ["NYC", "NYC Ferry", "NYC Marathon"]);
    assert_eq!(suggested("/suggest?q=nyc"), ["NYC", "NYC Ferry", "NYC Marathon"]);
    // The page itself comes before a redirect to it, and is named once.
    assert_eq!(suggested("/opensearch?search=N")[..2], ["New York City", "NYC Ferry"]);
    // order=rank keeps every row's own score: the redirect's is 0.
    let rows = server.get("/offsets/NYC?order=rank&fields=score").json();
    let titles: Vec<(&str, u64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap(), r.as_array().unwrap().last().unwrap().as_u64().unwrap()))
        .collect();
    assert_eq!(titles, [("NYC Ferry", 2), ("NYC Marathon", 1), ("NYC", 0)]);
    // redirects=merge: /offsets ranked as the suggestions are, rows and all,
    // and paged with after= in that order (the search page's requests).
    let listed = |path: &str| -> Vec<String> {
        let v = server.get(path).json();
        v.as_array().unwrap().iter().map(|r| r[0].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(listed("/offsets/NYC?order=rank&redirects=merge"), ["NYC", "NYC Ferry", "NYC Marathon"]);
    assert_eq!(
        listed("/offsets/N?order=rank&redirects=merge"),
        ["New York City", "NYC Ferry", "NYC Marathon"]
    );
    assert_eq!(
        listed("/offsets/nyc?order=rank&redirects=merge&match=folded"),
        ["NYC", "NYC Ferry", "NYC Marathon"]
    );
    let mut paged: Vec<String> = Vec::new();
    while paged.len() <= 3 {
        let after = paged.last().map_or(String::new(), |t| format!("&after={}", t.replace(' ', "%20")));
        let page = listed(&format!("/offsets/NYC?order=rank&redirects=merge&limit=1{after}"));
        if page.is_empty() {
            break;
        }
        paged.extend(page);
    }
    assert_eq!(paged, ["NYC", "NYC Ferry", "NYC Marathon"]);
    assert_eq!(
        listed("/offsets/nyc?order=rank&redirects=merge&match=folded&limit=1&after=NYC"),
        ["NYC Ferry"]
    );
    // Without order=rank: byte order, each page once (New York City is
    // stood for by NYC, listed first).
    assert_eq!(listed("/offsets/N?redirects=merge"), ["NYC", "NYC Ferry", "NYC Marathon"]);
    let refused = server.get("/offsets/N?redirects=join");
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("return, resolve or merge"), "{}", refused.text());
}

/// Where a prefix spans more titles than are reordered by page (its
/// ranking comes from a list built by each row's own score), the
/// prefix's own title, a redirect, still ranks by its page: `USA` (to
/// United States) first under `USA`, among 1,100 other `USA …` titles,
/// in the exact and the folded group, and paging with `after=` goes on
/// where it stands.
#[test]
fn the_prefixs_own_redirect_ranks_by_its_page_in_a_large_span() {
    let page = |title: &str, body: &str| {
        format!(
            "  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>1</id>\n    <revision>\n      <text xml:space=\"preserve\">{body}</text>\n    </revision>\n  </page>\n"
        )
    };
    let mut pages = vec![
        page("United States", "a country"),
        format!(
            "  <page>\n    <title>USA</title>\n    <ns>0</ns>\n    <id>2</id>\n    <redirect title=\"United States\" />\n    <revision>\n      <text xml:space=\"preserve\">#REDIRECT [[United States]]</text>\n    </revision>\n  </page>\n"
        ),
    ];
    for i in 0..1_100 {
        pages.push(page(&format!("USA {i:04}"), "a topic"));
    }
    // United States: 4 linking pages (one through the redirect); USA 0007:
    // 3; USA 0042: 2; USA 0500 and USA 1000: 1 each.
    for body in [
        "[[USA]] [[USA 0007]] [[USA 0042]]",
        "[[United States]] [[USA 0007]] [[USA 0042]]",
        "[[United States]] [[USA 0007]] [[USA 0500]]",
        "[[United States]] [[USA 1000]]",
    ] {
        pages.push(page(&format!("Linker {}", pages.len()), body));
    }
    let xml = format!("<mediawiki>\n{}</mediawiki>\n", pages.concat());
    let (_dir, dump) = dump_file(&xml);
    let server = Server::start(&["--dump", dump.to_str().unwrap()]);
    let listed = |path: &str| -> Vec<String> {
        let v = server.get(path).json();
        v.as_array().unwrap().iter().map(|r| r[0].as_str().unwrap().to_string()).collect()
    };
    let best = ["USA", "USA 0007", "USA 0042", "USA 0500", "USA 1000", "USA 0000"];
    assert_eq!(listed("/offsets/USA?order=rank&redirects=merge&limit=6"), best);
    assert_eq!(listed("/offsets/usa?order=rank&redirects=merge&match=folded&limit=6"), best);
    let suggested = server.get("/opensearch?search=usa&limit=3").json();
    assert_eq!(suggested[1], serde_json::json!(["USA", "USA 0007", "USA 0042"]));
    // Page by page, one row each, exact and folded: the same order.
    for (prefix, extra) in [("USA", ""), ("usa", "&match=folded")] {
        let mut paged: Vec<String> = Vec::new();
        while paged.len() < best.len() {
            let after = paged.last().map_or(String::new(), |t| format!("&after={}", t.replace(' ', "%20")));
            let page = listed(&format!("/offsets/{prefix}?order=rank&redirects=merge&limit=1{extra}{after}"));
            assert_eq!(page.len(), 1, "{prefix} after {paged:?}");
            paged.extend(page);
        }
        assert_eq!(paged, best, "{prefix}");
    }
    // And deep: the redirect is not listed again where its own score, 0,
    // would put it.
    let all = listed("/offsets/USA?order=rank&redirects=merge&limit=2000");
    assert_eq!(all.len(), 1_101);
    assert_eq!(all.iter().filter(|t| *t == "USA").count(), 1);
    // order=rank alone keeps each row's own score: the redirect's 0.
    assert_eq!(
        listed("/offsets/USA?order=rank&limit=6"),
        ["USA 0007", "USA 0042", "USA 0500", "USA 1000", "USA", "USA 0000"]
    );
}
