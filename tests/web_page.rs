//! The search page's files over real HTTP, and the wikitext renderer's own
//! unit tests (`web/test/*.test.mjs`, node:test, no browser) run under
//! `cargo test`. See: issue 19 (the renderer in its own module) and issue 22
//! (the page's assets carry an ETag of their content, so a reload costs 304s).
//!
//! The unit tests need `node`; without it the test fails under CI and
//! explains itself elsewhere, as the browser test does.

use crate::util::{Resp, Server, indexed_copy, real_excerpt, repo};
use std::process::Command;

/// The page's files: path, file in `web/`, content type.
const ASSETS: [(&str, &str, &str); 4] = [
    ("/", "index.html", "text/html; charset=utf-8"),
    ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ("/wikitext.js", "wikitext.js", "text/javascript; charset=utf-8"),
    ("/style.css", "style.css", "text/css; charset=utf-8"),
];

fn start_server() -> (tempfile::TempDir, Server) {
    let (dir, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    (dir, server)
}

fn assert_not_modified(r: &Resp, what: &str, etag: &str) {
    assert_eq!(r.status, 304, "{what}: {}", r.text());
    assert_eq!(r.header("etag"), Some(etag), "{what}: a 304 names the tag it confirms");
    assert_eq!(r.header("cache-control"), Some("no-cache"), "{what}");
    assert!(r.body.is_empty(), "{what}: a 304 has no body");
}

#[test]
fn page_assets_carry_a_strong_etag_and_a_reload_costs_304s() {
    let (_dir, server) = start_server();
    let mut tags = Vec::new();
    for (path, file, content_type) in ASSETS {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}: revalidated on every load");
        let on_disk = std::fs::read(repo().join("web").join(file)).unwrap();
        let (served, expected) = (r.body.len(), on_disk.len());
        assert!(r.body == on_disk, "{path}: serves web/{file} as it is ({served} bytes, {expected} on disk)");
        let etag = r.header("etag").unwrap_or_else(|| panic!("{path}: no ETag")).to_string();
        assert!(etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'), "{path}: strong tag {etag}");

        assert_not_modified(&server.get_with(path, &[("If-None-Match", &etag)]), path, &etag);
        assert_not_modified(
            &server.head_with(path, &[("If-None-Match", &etag)]),
            &format!("HEAD {path}"),
            &etag,
        );
        // If-None-Match compares weakly, and takes a list.
        let weak = format!("W/{etag}");
        assert_not_modified(&server.get_with(path, &[("If-None-Match", &weak)]), &weak, &etag);
        let list = format!("\"stale\", {etag}");
        assert_not_modified(&server.get_with(path, &[("If-None-Match", &list)]), &list, &etag);

        // A tag of another version (or of another file) gets the file again.
        let r = server.get_with(path, &[("If-None-Match", "\"stale\"")]);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body == on_disk, "{path}: the whole file again");
        tags.push(etag);
    }
    let mut distinct = tags.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), tags.len(), "each file has its own tag: {tags:?}");
    let r = server.get_with("/app.js", &[("If-None-Match", &tags[3])]);
    assert_eq!(r.status, 200, "the stylesheet's tag does not match the script");

    // The tag is of the content, not of the process: another server (a
    // restart, or another replica) gives the same, so its 304s still hold.
    let (_dir2, other) = start_server();
    for ((path, _, _), etag) in ASSETS.iter().zip(&tags) {
        assert_eq!(other.get(path).header("etag"), Some(etag.as_str()), "{path}");
        assert_eq!(other.get_with(path, &[("If-None-Match", etag)]).status, 304, "{path}");
    }
}

/// Counts in node's TAP summary (`# pass N`).
fn tap_count(report: &str, what: &str) -> Option<usize> {
    report.lines().find_map(|l| l.strip_prefix(&format!("# {what} "))?.trim().parse().ok())
}

#[test]
fn the_wikitext_renderer_unit_tests_pass_under_node() {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node {
        let msg = "the renderer's unit tests cannot run: node is missing (apt-get install nodejs)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!(
            "SKIPPED the_wikitext_renderer_unit_tests_pass_under_node: {msg} (bash .ci/run installs it)"
        );
        return;
    }
    let dir = repo().join("web/test");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("web/test/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no unit tests in {}", dir.display());
    // Every page of the real excerpt goes through the renderer too.
    let out = Command::new("node")
        .args(["--test", "--test-reporter=tap"])
        .args(&files)
        .current_dir(repo())
        .env("WIKIDEX_DUMP_XML", real_excerpt())
        .output()
        .expect("run node");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "renderer unit tests failed:\n{report}");
    assert_eq!(tap_count(&report, "fail"), Some(0), "{report}");
    let passed = tap_count(&report, "pass").unwrap_or(0);
    assert!(passed >= 10, "only {passed} renderer tests passed:\n{report}");
    assert!(report.contains("ok ") && report.contains("every page of a dump renders"), "{report}");
    eprintln!("renderer unit tests: {passed} passed ({})", files.join(" "));
}
