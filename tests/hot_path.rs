//! The hot path (`server/src/hot_path.rs`) answers `/offsets/…`, `/wiki/…`,
//! `/xml`, `/plaintext` and `/json` below actix-web's App. With
//! `--access-log` it is off and the App answers everything, so a server with
//! the flag and one without must say the same thing to the same requests,
//! byte for byte, but for the `Date` and the `Server-Timing` figure, and
//! count them the same in `/metrics`.

use crate::raw_http::{Reply, exchange_with, req};
use crate::util::{Server, enc, extract_pages, indexed_copy, real_excerpt};
use std::sync::OnceLock;

/// Two servers over one copy of the real excerpt: `hot` as deployed, `app`
/// with `--access-log` (the hot path off).
struct Pair {
    hot: Server,
    app: Server,
    xml: Vec<u8>,
    _dir: tempfile::TempDir,
}

fn pair() -> &'static Pair {
    static P: OnceLock<Pair> = OnceLock::new();
    P.get_or_init(|| {
        let (dir, dump, index) = indexed_copy(&real_excerpt());
        let args = ["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()];
        let hot = Server::start(&args);
        let app = Server::start(&[&args[..], &["--access-log"]].concat());
        Pair { hot, app, xml: std::fs::read(&dump).unwrap(), _dir: dir }
    })
}

impl Pair {
    /// Sends one request (`Connection: close`) to both servers, asserts they
    /// answer alike, and returns the hot path's answer.
    fn ask(&self, method: &str, target: &str, headers: &[String]) -> Reply {
        let what = format!("{method} {target} {headers:?}");
        let headers: Vec<&[u8]> = headers.iter().map(|h| h.as_bytes()).collect();
        let request = req(method, target.as_bytes(), &headers);
        let ask = |server: &Server| {
            let mut replies = exchange_with(&server.addr, &request, &|_| method == "HEAD");
            assert_eq!(replies.len(), 1, "{what}: one answer");
            replies.pop().unwrap()
        };
        let (ours, apps) = (ask(&self.hot), ask(&self.app));
        assert_eq!(seen(&ours), seen(&apps), "{what}");
        ours
    }

    /// [`Pair::ask`]s GET and HEAD of each target. Answers to paths under
    /// `timed` must carry `Server-Timing`; `check` sees each GET answered
    /// 200. Returns how many GETs were answered 200 and how many refused.
    fn ask_each(&self, targets: &[String], timed: &str, check: impl Fn(&str, &Reply)) -> (u64, u64) {
        let (mut answered, mut refused) = (0, 0);
        for target in targets {
            for method in ["GET", "HEAD"] {
                let ours = self.ask(method, target, &[]);
                if target.starts_with(timed) {
                    assert!(ours.header("server-timing").is_some(), "{method} {target}: timed");
                }
                match (method, ours.status) {
                    ("GET", 200) => {
                        answered += 1;
                        check(target, &ours);
                    }
                    ("GET", _) => refused += 1,
                    _ => {}
                }
            }
        }
        (answered, refused)
    }

    /// Both servers counted `endpoint`'s requests and errors alike, and at
    /// least the GETs and HEADs of `answered` + `refused` targets.
    fn assert_counted_alike(&self, endpoint: &str, answered: u64, refused: u64) {
        let (requests, errors) = counts(&self.hot, endpoint);
        assert_eq!((requests, errors), counts(&self.app, endpoint), "{endpoint}");
        assert!(
            requests >= 2 * (answered + refused) && errors >= refused,
            "{requests} requests, {errors} errors"
        );
    }
}

/// What a client sees of an answer, without the parts that change by the
/// moment (`Date`, `Server-Timing`'s figure): status, headers sorted by name,
/// body.
fn seen(r: &Reply) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut headers: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .map(|(k, v)| (k.clone(), if k == "server-timing" { "app;dur=…".into() } else { v.clone() }))
        .collect();
    headers.sort();
    (r.status, headers, r.body.clone())
}

/// The headers of a library client's response, as [`seen`] compares them.
fn seen_headers(r: &crate::util::Resp) -> Vec<(String, String)> {
    let reply = Reply { status: r.status, headers: r.headers.clone(), body: Vec::new() };
    seen(&reply).1
}

/// `wikidex_requests_total` and `wikidex_errors_total` of `endpoint`.
fn counts(server: &Server, endpoint: &str) -> (u64, u64) {
    let text = server.get("/metrics").text();
    let count = |name: &str| {
        let line = format!("{name}{{endpoint=\"{endpoint}\"}} ");
        let value = text.lines().find_map(|l| l.strip_prefix(line.as_str())).expect("a counter");
        value.parse().expect("a number")
    };
    (count("wikidex_requests_total"), count("wikidex_errors_total"))
}

#[test]
fn the_hot_path_answers_xml_as_the_app_does() {
    let Pair { hot, app, xml, .. } = pair();
    let size = xml.len();
    let first = hot.get_with("/xml", &[("Range", "bytes=0-0")]);
    assert_eq!(seen_headers(&first), seen_headers(&app.get_with("/xml", &[("Range", "bytes=0-0")])));
    let (etag, modified) = (first.header("etag").unwrap(), first.header("last-modified").unwrap());

    let range = |r: &str| format!("Range: {r}");
    let mut cases: Vec<(&str, String, Vec<String>)> = Vec::new();
    for r in ["bytes=0-99", "bytes=100-", "bytes=-500", "bytes=7-7", "bytes=0-99999999999999999999"] {
        cases.push(("GET", "/xml".into(), vec![range(r)]));
        cases.push(("HEAD", "/xml".into(), vec![range(r)]));
    }
    let refusals = [
        "bytes=9-5".to_string(),
        format!("bytes={size}-"),
        "bytes=0-1,5-6".into(),
        "bytes=abc".into(),
        "items=0-5".into(),
        "bytes=-0".into(),
    ];
    for r in &refusals {
        cases.push(("GET", "/xml".into(), vec![range(r)]));
    }
    cases.extend([
        ("GET", "/xml".into(), vec![]),
        ("GET", "/xml".into(), vec![range("bytes=0-9"), range("bytes=20-29")]),
        ("GET", "/xml".into(), vec![range("bytes=10-19"), format!("If-Range: {etag}")]),
        ("GET", "/xml".into(), vec![range("bytes=10-19"), format!("If-Range: {modified}")]),
        ("GET", "/xml".into(), vec![range("bytes=10-19"), "If-Range: \"another\"".into()]),
        ("GET", "/xml?x=1".into(), vec![range("bytes=10-19")]),
        ("POST", "/xml".into(), vec![range("bytes=10-19"), "Content-Length: 0".into()]),
        ("DELETE", "/xml".into(), vec![range("bytes=10-19")]),
        ("GET", "/xml/".into(), vec![range("bytes=10-19")]),
        ("GET", "/XML".into(), vec![range("bytes=10-19")]),
        ("GET", "/%78ml".into(), vec![range("bytes=10-19")]),
    ]);
    let (mut partial, mut refused) = (0u64, 0u64);
    for (method, target, headers) in &cases {
        let what = format!("{method} {target} {headers:?}");
        let ours = pair().ask(method, target, headers);
        if ours.status == 206 && *method == "GET" {
            // "bytes FROM-TO/SIZE"
            let sent = ours.header("content-range").unwrap().strip_prefix("bytes ").unwrap();
            let (from, to) = sent.split_once('/').unwrap().0.split_once('-').unwrap();
            let (from, to) = (from.parse::<usize>().unwrap(), to.parse::<usize>().unwrap());
            assert!(ours.body == xml[from..=to], "{what}: the bytes differ from the dump's");
        }
        if target == "/xml" && (*method == "GET" || *method == "HEAD") {
            assert!(ours.header("server-timing").is_some(), "{what}: timed");
            if ours.status == 206 { partial += 1 } else { refused += 1 }
        }
    }
    assert!(partial >= 10 && refused >= refusals.len() as u64, "{partial} answered, {refused} refused");

    // Pipelined on one connection, HEAD among GETs and a refusal between them.
    let mut pipeline = Vec::new();
    let methods = ["GET", "HEAD", "GET", "GET", "HEAD", "GET"];
    for (i, method) in methods.iter().enumerate() {
        let r = if i == 3 {
            range("bytes=5-1")
        } else {
            range(&format!("bytes={}-{}", i * 1000, i * 1000 + 999))
        };
        let mut one_request = req(method, b"/xml", &[r.as_bytes()]);
        if i + 1 < methods.len() {
            one_request.truncate(one_request.len() - b"Connection: close\r\n\r\n".len());
            one_request.extend_from_slice(b"\r\n");
        }
        pipeline.extend_from_slice(&one_request);
    }
    let is_head = |i: usize| methods.get(i) == Some(&"HEAD");
    let ours = exchange_with(&hot.addr, &pipeline, &is_head);
    let apps = exchange_with(&app.addr, &pipeline, &is_head);
    assert_eq!(ours.len(), methods.len(), "one answer per pipelined request");
    assert_eq!(ours.iter().map(seen).collect::<Vec<_>>(), apps.iter().map(seen).collect::<Vec<_>>());

    // Both counted the same requests and refusals.
    let (requests, errors) = counts(hot, "xml");
    assert_eq!((requests, errors), counts(app, "xml"));
    assert!(requests >= partial + refused + 7 && errors > refused, "{requests} requests, {errors} errors");
    // The access log, which the App writes, saw the /xml requests the hot path
    // would have taken.
    let log = app.log.lock().unwrap().clone();
    assert!(log.contains("\"GET /xml HTTP/1.1\" 206"), "the access log names the /xml answers:\n{log}");
}

#[test]
fn the_hot_path_answers_offsets_as_the_app_does() {
    let Pair { app, xml, .. } = pair();
    let titles: Vec<String> = extract_pages(xml).into_iter().map(|p| p.title).collect();
    let mut targets: Vec<String> = Vec::new();
    // Real prefixes of 1-8 characters, as the load kit asks for them.
    for (i, title) in titles.iter().step_by(titles.len() / 40 + 1).enumerate() {
        let prefix: String = title.chars().take(1 + i % 8).collect();
        targets.push(format!("/offsets/{}?limit=10", enc(&prefix)));
    }
    let first = &titles[titles.len() / 2];
    let letter: String = first.chars().take(1).collect();
    let p = enc(&letter);
    targets.extend([
        format!("/offsets/{p}"),
        format!("/offsets/{p}?limit=1"),
        format!("/offsets/{p}?limit=10000"),
        format!("/offsets/{p}?limit=3&after={}", enc(first)),
        format!("/offsets/{p}?match=folded&limit=5"),
        format!("/offsets/{}?match=fuzzy", enc(&first.to_lowercase())),
        format!("/offsets/{p}?fields=ns,redirect,id&limit=5"),
        format!("/offsets/{p}?ns=0,14&limit=5"),
        format!("/offsets/{p}?redirects=resolve&limit=5"),
        "/offsets/Zzzzzzzz_no_such_title".into(),
        "/offsets/A_B".into(),
        "/offsets/%C3%89".into(),
        // Refusals.
        "/offsets/".into(),
        "/offsets".into(),
        format!("/offsets/{p}?limit=0"),
        format!("/offsets/{p}?limit=abc"),
        format!("/offsets/{p}?limit=10001"),
        format!("/offsets/{p}?limit=2&limit=3"),
        format!("/offsets/{p}?match=other"),
        format!("/offsets/{p}?fields=ns,ns"),
        "/offsets/%ZZ".into(),
        "/offsets/%FF".into(),
    ]);
    let (listed, refused) = pair().ask_each(&targets, "/offsets/", |target, ours| {
        let rows: serde_json::Value = serde_json::from_slice(&ours.body).unwrap();
        assert!(rows.is_array(), "{target}: {rows}");
    });
    assert!(listed >= 40 && refused >= 9, "{listed} listed, {refused} refused");
    for method in ["POST", "DELETE"] {
        assert_eq!(pair().ask(method, &format!("/offsets/{p}"), &["Content-Length: 0".into()]).status, 405);
    }
    pair().assert_counted_alike("offsets", listed, refused);
    let log = app.log.lock().unwrap().clone();
    assert!(log.contains("\"GET /offsets/"), "the access log names the /offsets answers:\n{log}");
}

#[test]
fn the_hot_path_answers_wiki_as_the_app_does() {
    let xml = &pair().xml;
    let pages = extract_pages(xml);
    let mut targets: Vec<String> = Vec::new();
    // Plain pages and redirects, followed and not; the largest pages (sent
    // with sendfile past 128 KiB) among them.
    let mut by_size: Vec<_> = pages.iter().collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.end - p.start));
    let redirects = pages.iter().filter(|p| p.redirect.is_some());
    let sample = pages.iter().step_by(pages.len() / 30 + 1).chain(by_size.into_iter().take(3));
    for page in sample.chain(redirects.take(5)) {
        targets.push(format!("/wiki/{}", enc(&page.title.replace(' ', "_"))));
        targets.push(format!("/wiki/{}?redirect=no", enc(&page.title)));
    }
    let lower: String =
        pages[0].title.chars().next().unwrap().to_lowercase().chain(pages[0].title.chars().skip(1)).collect();
    targets.extend([
        // MediaWiki's first-letter rule.
        format!("/wiki/{}", enc(&lower)),
        // Refusals.
        "/wiki/No_such_page_at_all".into(),
        "/wiki/".into(),
        "/wiki".into(),
        "/wiki/%ZZ".into(),
        "/wiki/%FF".into(),
        format!("/wiki/{}?redirect=no&redirect=no", enc(&pages[0].title)),
    ]);
    let (found, refused) = pair().ask_each(&targets, "/wiki/", |target, ours| {
        assert!(ours.body.starts_with(b"<page>") && ours.body.ends_with(b"</page>"), "{target}");
    });
    assert!(found >= 30 && refused >= 5, "{found} found, {refused} refused");
    pair().assert_counted_alike("wiki", found, refused);
}

#[test]
fn the_hot_path_answers_the_baselines_as_the_app_does() {
    let targets: Vec<String> =
        ["/plaintext", "/json", "/plaintext?x=1", "/json?", "/plaintext/", "/jsonx", "/plaintext/x"]
            .map(String::from)
            .into();
    let (answered, refused) = pair().ask_each(&targets, "/never", |target, ours| {
        let body = if target.starts_with("/json") {
            &br#"{"message":"Hello, World!"}"#[..]
        } else {
            b"Hello, World!"
        };
        assert_eq!(ours.body, body, "{target}");
    });
    assert_eq!((answered, refused), (4, 3));
    // Untimed on both paths: the baselines measure the stack alone, as
    // nginx's `return 200` does. (The 404s are timed, as "other".)
    for target in &targets[..4] {
        assert_eq!(pair().ask("GET", target, &[]).header("server-timing"), None, "{target}");
    }
    for method in ["POST", "PUT"] {
        assert_eq!(pair().ask(method, "/plaintext", &["Content-Length: 0".into()]).status, 405);
        assert_eq!(pair().ask(method, "/json", &["Content-Length: 0".into()]).status, 405);
    }
}
