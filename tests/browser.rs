//! The search page in a real browser: runs `tests/e2e/web.test.mjs`
//! (node:test + playwright-core driving the system Chromium) against a real
//! server on the bundled sample. See: issue 4 (Web page).
//!
//! Needs `node`, Chromium and `npm ci` in `tests/e2e` (`.ci/run` installs
//! them). Without them the test fails under CI and explains itself
//! elsewhere, so a developer without a browser can still run the suite.

use crate::util::{Server, indexed_copy, repo};
use std::path::Path;
use std::process::Command;

#[test]
fn the_search_page_works_in_a_real_browser() {
    let e2e = repo().join("tests/e2e");
    let chromium = std::env::var("WIKIDEX_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!node).then_some("node"),
        (!Path::new(&chromium).exists()).then_some("chromium (apt-get install chromium)"),
        (!e2e.join("node_modules/playwright-core").exists())
            .then_some("playwright-core (npm ci in tests/e2e)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !missing.is_empty() {
        let msg = format!("browser test cannot run, missing: {}", missing.join(", "));
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED the_search_page_works_in_a_real_browser: {msg} (bash .ci/run installs them)");
        return;
    }
    let (_dir, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    let shots = repo().join("target/e2e-screenshots");
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "web.test.mjs"])
        .current_dir(&e2e)
        .env("WIKIDEX_URL", &server.base)
        .env("WIKIDEX_SHOT_DIR", &shots)
        .env("WIKIDEX_CHROMIUM", &chromium)
        .output()
        .expect("run node");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "browser tests failed:\n{report}\nserver log:\n{}",
        server.log.lock().unwrap()
    );
    assert!(report.contains("pass") && !report.contains("✖"), "{report}");
    eprintln!("browser tests passed; screenshots in {}", shots.display());
}
