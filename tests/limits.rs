//! The limits on what a request may be (issue #19, "Small"): a request
//! target over 8 KiB gets `414 URI Too Long` and a request head over 32 KiB
//! `431 Request Header Fields Too Large`, each with the API's JSON error
//! body and `Connection: close`, and the server serves on. The HTTP/1
//! decoder applies them, before the App sees the request
//! (vendor/actix-http/patches/0004-request-limits.patch).

use crate::raw_http::{Reply, exchange, get, one, req};
use crate::util::{assert_healthy, fixture};

/// The longest request target answered.
const MAX_TARGET: usize = 8 * 1024;
/// The longest request head (request line and header fields) read.
const MAX_HEAD: usize = 32 * 1024;

/// `status` with a JSON body `{"error": …}` that names the limit, and the
/// connection closed after it.
fn assert_refusal(r: &Reply, status: u16, limit: usize, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
    assert_eq!(r.header("connection"), Some("close"), "{what}");
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", r.text()));
    let fields = v.as_object().unwrap_or_else(|| panic!("{what}: {v}"));
    assert_eq!(fields.len(), 1, "{what}: only an error: {v}");
    let message = v["error"].as_str().unwrap_or_else(|| panic!("{what}: {v}"));
    assert!(message.contains(&format!("{limit} bytes")), "{what}: {message}");
}

/// `prefix` padded with `A`s to `len` bytes.
fn target(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", "A".repeat(len - prefix.len()))
}

#[test]
fn a_target_of_8_kib_is_answered_and_a_longer_one_gets_414() {
    let f = fixture();
    let addr = &f.server.addr;
    for (prefix, status) in [("/offsets/", 200), ("/wiki/", 404), ("/opensearch?search=", 200)] {
        let at_limit = target(prefix, MAX_TARGET);
        let r = one(addr, &get(&at_limit));
        assert_eq!(r.status, status, "{prefix}… of {MAX_TARGET} bytes: {}", r.text());
        if status == 404 {
            // The App's own answer: no page has such a title.
            assert_eq!(r.header("content-type"), Some("application/json"), "{prefix}…");
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert!(v["error"].is_string(), "{v}");
        }

        let over = target(prefix, MAX_TARGET + 1);
        assert_refusal(
            &one(addr, &get(&over)),
            414,
            MAX_TARGET,
            &format!("{prefix}… of {} bytes", MAX_TARGET + 1),
        );
        assert_healthy(addr, "a 414");
    }
}

#[test]
fn a_100_kb_url_gets_414() {
    // Beyond the `http` crate's URI parser, which used to refuse these
    // with a bare 400.
    let f = fixture();
    let addr = &f.server.addr;
    let long = "A".repeat(100 * 1024);
    for (what, request) in [
        ("100 KB path", get(&format!("/offsets/{long}"))),
        ("100 KB query", get(&format!("/offsets/A?after={long}"))),
        ("100 KB of %-escapes", get(&format!("/wiki/{}", "%C3%A9".repeat(100 * 1024 / 6)))),
    ] {
        assert_refusal(&one(addr, &request), 414, MAX_TARGET, what);
        assert_healthy(addr, what);
    }
}

#[test]
fn a_head_over_32_kib_gets_431() {
    let f = fixture();
    let addr = &f.server.addr;
    // One 1 KiB field per KiB of head.
    let fields = |n: usize| -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("X-Field-{i:04}: {}", "v".repeat(1024 - 16)).into_bytes()).collect()
    };
    let big = fields(33);
    let big: Vec<&[u8]> = big.iter().map(Vec::as_slice).collect();
    let request = req("GET", b"/healthz", &big);
    assert!(request.len() > 33 * 1024);
    assert_refusal(&one(addr, &request), 431, MAX_HEAD, "a 33 KiB header block");
    assert_healthy(addr, "a 431");

    // A single field too, and a head that is still arriving when it passes
    // the limit (no blank line yet).
    let one_field = req("GET", b"/healthz", &[format!("X-Big: {}", "v".repeat(40 * 1024)).as_bytes()]);
    assert_refusal(&one(addr, &one_field), 431, MAX_HEAD, "a 40 KiB header field");
    let unfinished = &one_field[..one_field.len() - 4];
    assert_refusal(&one(addr, unfinished), 431, MAX_HEAD, "an unfinished 40 KiB head");
    assert_healthy(addr, "a 431");

    // Exactly 32 KiB is read and answered.
    let short = req("GET", b"/healthz", &[b"X-Big: "]);
    let exact =
        req("GET", b"/healthz", &[format!("X-Big: {}", "v".repeat(MAX_HEAD - short.len())).as_bytes()]);
    assert_eq!(exact.len(), MAX_HEAD);
    let r = one(addr, &exact);
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"status":"ok"}"#), "a head of exactly 32 KiB");
}

#[test]
fn a_refusal_after_pipelined_requests_comes_after_their_answers() {
    // A keep-alive connection: the requests before the long one are
    // answered in order, then the refusal, then the connection closes.
    let f = fixture();
    let addr = &f.server.addr;
    let keep_alive = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    for (what, bad, status, limit) in [
        ("a long target", get(&target("/offsets/", MAX_TARGET + 1)), 414, MAX_TARGET),
        (
            "a long head",
            req("GET", b"/healthz", &[format!("X-Big: {}", "v".repeat(MAX_HEAD)).as_bytes()]),
            431,
            MAX_HEAD,
        ),
    ] {
        let mut requests = Vec::new();
        requests.extend_from_slice(keep_alive);
        requests.extend_from_slice(keep_alive);
        requests.extend_from_slice(&bad);
        let replies = exchange(addr, &requests);
        assert_eq!(replies.len(), 3, "{what}: {replies:?}");
        for r in &replies[..2] {
            assert_eq!((r.status, r.text().as_str()), (200, r#"{"status":"ok"}"#), "{what}");
        }
        assert_refusal(&replies[2], status, limit, what);
    }
    assert_healthy(addr, "pipelined refusals");
}
