//! Hardening: hostile and broken requests over raw sockets, property tests of
//! the request parsers, and fault injection (SIGKILL mid-index, a dump that
//! changes under the server). Everything runs the real binary.
//!
//! The rule checked throughout: a refusal is a 4xx (JSON `{"error": …}` when
//! the application, not the HTTP codec, produced it), never a 5xx, a panic or
//! a connection dropped without an answer; and after every case the server
//! still answers `/healthz`. Slow fault drills (disk full, corruption matrix)
//! live in `benches/faults/`, the soak test in `benches/soak/`.
//!
//! The regression tests at the end are the bugs this suite found (fixed in
//! db50aab and 7c6a7ba); their doc comments say what was wrong.

use crate::raw_http::{Reply, exchange, exchange_with, get, one, read_reply, req, shorten};
use crate::util::{Server, dump_file, enc, extract_pages, indexed_copy, real_excerpt, wikidex};
use proptest::prelude::*;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A refusal: a 4xx; a JSON `{"error": …}` body whenever there is a body (the
/// HTTP codec's own 400/408/431 answers have none; routed ones always do).
fn assert_refused(r: &Reply, what: &str) {
    assert!((400..500).contains(&r.status), "{what}: expected a 4xx, got {} {}", r.status, r.text());
    if !r.body.is_empty() || r.header("server-timing").is_some() {
        assert_eq!(r.header("content-type"), Some("application/json"), "{what}: {}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{what}: error body is not JSON ({e}): {}", r.text()));
        assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {v}");
    }
}

/// No 5xx (508, the documented answer to a redirect loop, aside).
fn assert_not_5xx(r: &Reply, what: &str) {
    assert!(r.status < 500 || r.status == 508, "{what}: {} {}", r.status, r.text());
    if r.status >= 400 {
        assert_refused(r, what);
    }
}

/// `/healthz` answers 200 on a fresh connection.
fn assert_healthy(addr: &str, after: &str) {
    let r = one(addr, &get("/healthz"));
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"status":"ok"}"#), "after {after}");
}

// ---------------------------------------------------------------------------
// Fixtures

/// A server over the real excerpt for the read-only request tests. Each test
/// starts its own (milliseconds): a server kept in a `static` would outlive
/// the test process, as statics are never dropped.
struct Fixture {
    server: Server,
    xml: Vec<u8>,
    titles: Vec<String>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    let xml = std::fs::read(&dump).unwrap();
    let titles = extract_pages(&xml).into_iter().map(|p| p.title).collect();
    Fixture { server, xml, titles, _dir: dir }
}

/// A server of its own (for tests that load it or change its dump).
pub(crate) fn own_server(extra: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf, Server) {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let mut args = vec!["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    (dir, dump, index, server)
}

// ---------------------------------------------------------------------------
// Malformed and oversized requests

#[test]
fn malformed_request_lines_and_headers_are_400s() {
    let f = fixture();
    let addr = &f.server.addr;
    let cases: &[&[u8]] = &[
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET / HTTX/1.1\r\nHost: x\r\n\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS ClientHello on the plain port
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"get / http/1.1\r\nHost: x\r\n\r\n",
        b"G\x7fT / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n\r\n", // HTTP/1.1 without Host
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost : x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: \x7f\x80\xff\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        // request smuggling: both framings
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /wiki/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /wiki/caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /offsets/A?after=\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /wiki/A B HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /wiki/A\tB HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for case in cases {
        let what = shorten(case);
        let r = one(addr, case);
        assert_eq!(r.status, 400, "{what}: {r:?}");
        assert_refused(&r, &what);
        assert_healthy(addr, &what);
    }
    // Unusual but well-formed requests are routed: 404/405 JSON or a 200.
    let routed: &[(&[u8], u16)] = &[
        (b"GET http://elsewhere.example/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200),
        (b"GET /healthz HTTP/1.0\r\n\r\n", 200),
        (b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n", 200),
        (b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
        (b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
        (b"FOO /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
        (b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
        (b"DELETE /wiki/A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
        (b"PUT /xml HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 405),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 200),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n", 200),
    ];
    for (case, status) in routed {
        let what = shorten(case);
        let r = one(addr, case);
        assert_eq!(r.status, *status, "{what}: {}", r.text());
        assert_not_5xx(&r, &what);
        assert_healthy(addr, &what);
    }
}

#[test]
fn huge_urls_and_headers_are_refused_with_4xx() {
    let f = fixture();
    let addr = &f.server.addr;
    let long = "A".repeat(100 * 1024);
    let many_headers: Vec<Vec<u8>> = (0..200).map(|i| format!("X-H{i}: y").into_bytes()).collect();
    let many: Vec<&[u8]> = many_headers.iter().map(Vec::as_slice).collect();
    let huge_headers: Vec<Vec<u8>> =
        (0..1000).map(|i| format!("X-H{i}: {}", "y".repeat(1000)).into_bytes()).collect();
    let huge: Vec<&[u8]> = huge_headers.iter().map(Vec::as_slice).collect();
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("100 KB /offsets URL".into(), get(&format!("/offsets/{long}"))),
        ("100 KB /wiki URL".into(), get(&format!("/wiki/{long}"))),
        ("100 KB query".into(), get(&format!("/offsets/A?after={long}"))),
        ("100 KB of %-escapes".into(), get(&format!("/wiki/{}", "%C3%A9".repeat(100 * 1024 / 6)))),
        ("200 header fields".into(), req("GET", b"/healthz", &many)),
        ("1 MB of header fields".into(), req("GET", b"/healthz", &huge)),
        (
            "a 1 MB header value".into(),
            req("GET", b"/healthz", &[format!("X-Big: {}", "v".repeat(1 << 20)).as_bytes()]),
        ),
    ];
    for (what, request) in &cases {
        let r = one(addr, request);
        assert!(matches!(r.status, 400 | 413 | 414 | 431), "{what}: {} {}", r.status, r.text());
        assert_refused(&r, what);
        assert_healthy(addr, what);
    }
    // Large but within the codec's limits: answered by the application.
    let title = "Ä".repeat(4000);
    for (what, target, status) in [
        ("8 KB prefix", format!("/offsets/{}", crate::util::enc(&title)), 200),
        ("8 KB title", format!("/wiki/{}", crate::util::enc(&title)), 404),
        ("8 KB search", format!("/opensearch?search={}", crate::util::enc(&title)), 200),
    ] {
        let r = one(addr, &get(&target));
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert_not_5xx(&r, what);
    }
    let r = one(addr, &req("GET", b"/healthz", &[format!("X-Big: {}", "v".repeat(16 * 1024)).as_bytes()]));
    assert_eq!(r.status, 200, "a 16 KB header value is fine");
}

#[test]
fn bad_escapes_invalid_utf8_and_nuls_in_paths_never_5xx() {
    let f = fixture();
    let addr = &f.server.addr;
    // Strictly decoded: JSON 400s.
    for target in [
        "/wiki/%",
        "/wiki/%G0",
        "/wiki/abc%4",
        "/wiki/%%41",
        "/wiki/%C3%28",
        "/wiki/%ED%A0%80",    // a UTF-16 surrogate
        "/wiki/%F4%90%80%80", // past U+10FFFF
        "/wiki/%C0%AF",       // overlong '/'
        "/wiki/%FF%FE%00",
        "/offsets/%E2%82",
        "/offsets/A?after=%C3",
        "/offsets/A?after=%",
        "/offsets/A?limit=%3",
        "/opensearch?search=%FF",
        "/suggest?q=%C3%28",
        "/wiki/A?redirect=%FF",
    ] {
        let r = one(addr, &get(target));
        assert_eq!(r.status, 400, "{target}: {}", r.text());
        assert_refused(&r, target);
    }
    // NULs decode to a title no page has: a 404 or an empty answer.
    for (target, status) in [
        ("/wiki/%00", 404),
        ("/wiki/A%00B", 404),
        ("/wiki/Anarchism%00", 404),
        ("/offsets/%00", 200),
        ("/offsets/A%00", 200),
        ("/offsets/A?after=%00", 200),
        ("/opensearch?search=%00", 200),
    ] {
        let r = one(addr, &get(target));
        assert_eq!(r.status, status, "{target}: {}", r.text());
        assert_not_5xx(&r, target);
        if status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
            assert!(v.is_array(), "{target}: {v}");
        }
    }
    assert_healthy(addr, "bad escapes");
}

#[test]
fn path_traversal_never_reads_outside_the_dump() {
    let f = fixture();
    let addr = &f.server.addr;
    let passwd = std::fs::read("/etc/passwd").unwrap_or_default();
    let targets: &[&[u8]] = &[
        b"/xml/../../etc/passwd",
        b"/wiki/..%2f..%2fetc%2fpasswd",
        b"/wiki/../../etc/passwd",
        b"/wiki/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        b"/wiki/..%5c..%5cetc%5cpasswd",
        b"/wiki/....//....//etc/passwd",
        b"/../../etc/passwd",
        b"/%2e%2e/%2e%2e/etc/passwd",
        b"//etc/passwd",
        b"/offsets/..%2F..%2Fetc%2Fpasswd",
        b"/app.js/../../../etc/passwd",
        b"/style.css%2f..%2f..%2fetc%2fpasswd",
        b"/index.html/../../etc/passwd",
        b"/xml?file=/etc/passwd",
        b"/xml/%2e%2e/%2e%2e/etc/passwd",
        b"http://127.0.0.1/../../etc/passwd",
        b"/wiki/%2Fetc%2Fpasswd",
        b"/wiki//etc/passwd",
    ];
    for target in targets {
        let what = shorten(target);
        for range in [None, Some(b"Range: bytes=0-99".as_slice())] {
            let r = one(addr, &req("GET", target, range.as_slice()));
            assert_not_5xx(&r, &what);
            assert!(!r.text().contains("root:"), "{what}: leaked {:?}", r.text());
            if !passwd.is_empty() {
                assert!(
                    r.body.len() < 32 || !passwd.windows(32).any(|w| r.body.windows(32).any(|b| b == w)),
                    "{what}: body shares bytes with /etc/passwd"
                );
            }
            match r.status {
                // /xml ignores the path's query: always bytes of the dump.
                206 => assert_eq!(r.body, f.xml[..100], "{what}"),
                200 => assert!(
                    r.header("content-type").is_some_and(|t| !t.starts_with("text/xml"))
                        || f.xml.windows(r.body.len().max(1)).any(|w| w == r.body.as_slice()),
                    "{what}: a 200 that is not from the dump: {}",
                    r.text()
                ),
                _ => {}
            }
        }
    }
    assert_healthy(addr, "traversal");
}

// ---------------------------------------------------------------------------
// Ranges and query parameters

#[test]
fn absurd_range_headers_are_4xx_and_exact_ranges_still_work() {
    let f = fixture();
    let addr = &f.server.addr;
    let size = f.xml.len();
    let hundreds: String = (0..300).map(|i| format!("{i}-{i}")).collect::<Vec<_>>().join(",");
    let thousands: String =
        (0..5000).map(|i| format!("{}-{}", i * 7, i * 7 + 3)).collect::<Vec<_>>().join(",");
    let commas = ",".repeat(10_000);
    let r416: Vec<String> = vec![
        format!("bytes={hundreds}"),
        format!("bytes={thousands}"),
        "bytes=0-10,5-15".into(),
        "bytes=0-,0-".into(),
        "bytes=-5,-5,-5".into(),
        format!("bytes={size}-"),
        "bytes=18446744073709551615-18446744073709551615".into(),
        "bytes=18446744073709551616-18446744073709551617".into(),
        "bytes=99999999999999999999999999999999999999-".into(),
        "bytes=-0".into(),
        "bytes=10-5".into(),
    ];
    let r400: Vec<String> = vec![
        "bytes=-5-10".into(),
        "bytes=-1--5".into(),
        "bytes=--1".into(),
        "bytes=a-b".into(),
        "bytes=0x10-0x20".into(),
        "bytes=1e3-2e3".into(),
        "bytes=1.5-2".into(),
        "bytes=½-1".into(),
        "bytes=+1-2".into(),
        "bytes=".into(),
        format!("bytes={commas}"),
        "bits=0-1".into(),
        "bytes 0-1".into(),
        "=0-1".into(),
        format!("bytes=0-1,{hundreds},x"),
    ];
    for (range, want) in r416.iter().map(|r| (r, 416)).chain(r400.iter().map(|r| (r, 400))) {
        let what = shorten(range.as_bytes());
        for method in ["GET", "HEAD"] {
            let header = format!("Range: {range}");
            let replies =
                exchange_with(addr, &req(method, b"/xml", &[header.as_bytes()]), &|_| method == "HEAD");
            assert_eq!(replies.len(), 1, "{method} {what}");
            let r = &replies[0];
            assert_eq!(r.status, want, "{method} {what}: {}", r.text());
            if method == "GET" {
                assert_refused(r, &what);
            }
            if want == 416 {
                assert_eq!(r.header("content-range"), Some(format!("bytes */{size}").as_str()), "{what}");
            }
        }
    }
    // Two Range headers, and a Range whose If-Range cannot match (= no Range).
    let r = one(addr, &req("GET", b"/xml", &[b"Range: bytes=0-1", b"Range: bytes=2-3"]));
    assert_eq!(r.status, 416);
    let r = one(addr, &req("GET", b"/xml", &[b"Range: bytes=0-1", b"If-Range: \xff\xfe"]));
    assert_refused(&r, "If-Range garbage");
    // Numbers past 2^64 saturate: these are satisfiable.
    for (range, a, b) in [
        ("bytes=0-18446744073709551616", 0, size - 1),
        ("bytes=-18446744073709551616", 0, size - 1),
        ("bytes=5-99999999999999999999999999999999999999", 5, size - 1),
        ("BYTES= 7-7 ,", 7, 7),
    ] {
        let r = one(addr, &req("GET", b"/xml", &[format!("Range: {range}").as_bytes()]));
        assert_eq!(r.status, 206, "{range}: {}", r.text());
        assert_eq!(r.header("content-range"), Some(format!("bytes {a}-{b}/{size}").as_str()));
        assert!(r.body == f.xml[a..=b], "{range}: bytes differ");
    }
    assert_healthy(addr, "ranges");
}

#[test]
fn absurd_limits_and_afters_are_json_400s_or_plain_answers() {
    let f = fixture();
    let addr = &f.server.addr;
    let ten_kb = "A".repeat(10 * 1024);
    let cases: Vec<(String, u16)> = vec![
        ("/offsets/A?limit=-1".into(), 400),
        ("/offsets/A?limit=1e9".into(), 400),
        ("/offsets/A?limit=abc".into(), 400),
        ("/offsets/A?limit=0".into(), 400),
        ("/offsets/A?limit=10001".into(), 400),
        ("/offsets/A?limit=18446744073709551616".into(), 400),
        ("/offsets/A?limit=99999999999999999999999999999999".into(), 400),
        ("/offsets/A?limit=0x10".into(), 400),
        ("/offsets/A?limit=+5".into(), 400),
        ("/offsets/A?limit=%205".into(), 400),
        ("/offsets/A?limit=5%00".into(), 400),
        ("/offsets/A?limit=%31%30".into(), 200),
        ("/offsets/A?limit=0010".into(), 200),
        ("/offsets/A?limit=1&limit=1".into(), 400),
        (format!("/offsets/A?after={ten_kb}"), 200),
        (format!("/offsets/{ten_kb}?after={ten_kb}"), 200),
        ("/offsets/A?after=%FF%FE".into(), 400),
        ("/offsets/A?after=%C3".into(), 400),
        ("/offsets/A?after=".into(), 200),
        ("/offsets/A?after=_".into(), 200),
        ("/offsets/A?after=A&after=B".into(), 400),
        ("/offsets/A?fields=ns,ns".into(), 400),
        (format!("/offsets/A?fields={ten_kb}"), 400),
        ("/offsets/A?fields=,,,".into(), 200),
        ("/offsets/A?limit=10000&fields=ns,redirect,id".into(), 200),
        ("/opensearch?search=A&limit=-1".into(), 400),
        ("/opensearch?search=A&limit=101".into(), 400),
        ("/opensearch?search=A&namespace=abc".into(), 400),
        ("/opensearch?search=A&namespace=99999999999".into(), 400),
        ("/opensearch?search=A&namespace=-2147483648".into(), 200),
        (format!("/opensearch?search={ten_kb}"), 200),
        (format!("/suggest?q={ten_kb}&limit=100"), 200),
        ("/wiki/A?redirect=no&redirect=yes".into(), 400),
    ];
    for (target, want) in &cases {
        let r = one(addr, &get(target));
        let what = shorten(target.as_bytes());
        assert_eq!(r.status, *want, "{what}: {}", r.text());
        assert_not_5xx(&r, &what);
        if r.status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
            assert!(v.is_array(), "{what}: {v}");
        }
    }
    assert_healthy(addr, "limits");
}

// ---------------------------------------------------------------------------
// Connections: pipelining, slowloris, many idle connections

#[test]
fn pipelined_requests_are_answered_in_order() {
    let f = fixture();
    let addr = &f.server.addr;
    // Titles that appear verbatim (unescaped) in the dump.
    let titles: Vec<&String> =
        f.titles.iter().filter(|t| t.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')).collect();
    assert!(titles.len() > 20);
    let n = 48;
    let mut pipeline = Vec::new();
    for i in 0..n {
        let title = titles[i % titles.len()];
        let target = match i % 4 {
            0 => "/xml".to_string(),
            1 => format!("/offsets/{}?limit=1", crate::util::enc(title)),
            2 => format!("/nope-{i}"),
            _ => format!("/wiki/{}?redirect=no", crate::util::enc(title)),
        };
        pipeline.extend_from_slice(format!("GET {target} HTTP/1.1\r\nHost: x\r\n").as_bytes());
        if i % 4 == 0 {
            pipeline.extend_from_slice(format!("Range: bytes={}-{}\r\n", i * 10, i * 10 + 9).as_bytes());
        }
        if i == n - 1 {
            pipeline.extend_from_slice(b"Connection: close\r\n");
        }
        pipeline.extend_from_slice(b"\r\n");
    }
    let replies = exchange(addr, &pipeline);
    assert_eq!(replies.len(), n, "one response per pipelined request");
    for (i, r) in replies.iter().enumerate() {
        let title = titles[i % titles.len()];
        match i % 4 {
            0 => {
                assert_eq!(r.status, 206, "#{i}");
                let want = format!("bytes {}-{}/{}", i * 10, i * 10 + 9, f.xml.len());
                assert_eq!(r.header("content-range"), Some(want.as_str()), "#{i} out of order");
            }
            1 => {
                assert_eq!(r.status, 200, "#{i}");
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(v[0][0].as_str(), Some(title.as_str()), "#{i} out of order");
            }
            2 => {
                assert_eq!(r.status, 404, "#{i}");
                assert!(r.text().contains(&format!("/nope-{i}\"")), "#{i} out of order: {}", r.text());
            }
            _ => {
                assert_eq!(r.status, 200, "#{i}");
                assert!(r.text().contains(&format!("<title>{title}</title>")), "#{i} out of order");
            }
        }
    }
    // A malformed request in the middle: the ones before are answered, then a
    // 400, then the connection is closed (nothing after it is executed).
    let mut mixed = Vec::new();
    for i in 0..3 {
        mixed.extend_from_slice(format!("GET /nope-before-{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    mixed.extend_from_slice(b"BROKEN\r\n\r\n");
    mixed.extend_from_slice(b"GET /nope-after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let replies = exchange(addr, &mixed);
    assert_eq!(replies.iter().map(|r| r.status).collect::<Vec<_>>(), [404, 404, 404, 400], "{replies:?}");
    for (i, r) in replies.iter().take(3).enumerate() {
        assert!(r.text().contains(&format!("/nope-before-{i}")), "{}", r.text());
    }
    assert_healthy(addr, "pipelining");
}

/// Latencies of `/healthz` and `/offsets/A` probes, each on a fresh
/// connection, every 50 ms until `stop` is set.
fn probe_until(addr: String, stop: &'static AtomicBool) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut latencies = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            for target in ["/healthz", "/offsets/A?limit=5"] {
                let t = Instant::now();
                let r = one(&addr, &get(target));
                latencies.push(t.elapsed());
                assert_eq!(r.status, 200, "{target} during the attack");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        latencies
    })
}

#[test]
fn a_slowloris_client_is_cut_off_while_others_are_served() {
    // Default --request-timeout (5 s): each slow client dribbles one header
    // byte every 250 ms and must be disconnected around the 5 s mark.
    let (_dir, _dump, _index, server) = own_server(&[]);
    let addr = server.addr.clone();
    static STOP: AtomicBool = AtomicBool::new(false);
    let probes = probe_until(addr.clone(), &STOP);
    let started = Instant::now();
    let mut slow: Vec<(TcpStream, Option<Duration>)> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
            s.set_nonblocking(true).unwrap();
            (s, None)
        })
        .collect();
    let mut answered_408 = 0;
    while started.elapsed() < Duration::from_secs(8) && slow.iter().any(|(_, closed)| closed.is_none()) {
        for (s, closed) in slow.iter_mut().filter(|(_, c)| c.is_none()) {
            let mut buf = [0u8; 512];
            let gone = match s.read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    if String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408") {
                        answered_408 += 1;
                    }
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => s.write_all(b"a").is_err(),
                Err(_) => true,
            };
            if gone {
                *closed = Some(started.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    STOP.store(true, Ordering::Relaxed);
    let latencies = probes.join().expect("probes answered");
    for (i, (_, closed)) in slow.iter().enumerate() {
        let at = closed.unwrap_or_else(|| panic!("slow client {i} still connected after 8 s"));
        assert!(
            at >= Duration::from_secs(3) && at <= Duration::from_millis(7500),
            "client {i} cut at {at:?}"
        );
    }
    assert!(answered_408 > 0, "the server says 408 before closing");
    assert!(latencies.len() >= 20, "{} probes", latencies.len());
    let worst = latencies.iter().max().unwrap();
    eprintln!(
        "slowloris: {} probes, worst {worst:?}; slow clients cut at {:?}",
        latencies.len(),
        slow.iter().filter_map(|s| s.1).max()
    );
    assert!(*worst < Duration::from_secs(2), "a probe took {worst:?} during the slowloris");
    assert_healthy(&addr, "slowloris");
}

/// The soft limit on open files, raised to the hard limit if it is below
/// `want` (with util-linux's `prlimit`, as no libc binding is a dependency).
fn ensure_fd_limit(want: u64) -> u64 {
    let read = || -> (u64, u64) {
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or("");
        let nums: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        (nums.first().copied().unwrap_or(1024), nums.get(1).copied().unwrap_or(1024))
    };
    let (soft, hard) = read();
    if soft >= want || hard <= soft {
        return soft;
    }
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("prlimit")
        .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
        .status();
    read().0
}

#[test]
fn two_thousand_idle_connections_do_not_starve_other_clients() {
    // Each side holds one descriptor per connection; leave room for the rest.
    let limit = ensure_fd_limit(2000 + 512);
    let idle_count = 2000.min(limit.saturating_sub(512) as usize);
    if idle_count < 2000 {
        eprintln!("warning: open-file limit {limit}: holding only {idle_count} idle connections");
    }
    // The server inherits the raised limit; its request timeout is long
    // enough that none of the idle connections is closed during the test.
    let (_dir, _dump, _index, server) = own_server(&["--request-timeout", "30"]);
    let addr = server.addr.clone();
    let started = Instant::now();
    let mut idle = Vec::with_capacity(idle_count);
    for i in 0..idle_count {
        let mut s = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        match i % 3 {
            0 => {}                                                              // connected, silent
            1 => s.write_all(b"GET /heal").unwrap(),                             // half a request line
            _ => s.write_all(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n").unwrap(), // then idle keep-alive
        }
        idle.push(s);
    }
    let opened = started.elapsed();
    static STOP: AtomicBool = AtomicBool::new(false);
    let probes = probe_until(addr.clone(), &STOP);
    std::thread::sleep(Duration::from_secs(2));
    STOP.store(true, Ordering::Relaxed);
    let latencies = probes.join().expect("probes answered");
    assert!(latencies.len() >= 10, "{} probes", latencies.len());
    let worst = latencies.iter().max().unwrap();
    assert!(*worst < Duration::from_secs(2), "a probe took {worst:?} with {idle_count} idle connections");
    // The keep-alive ones got their answer and are still usable.
    let mut reused = 0;
    for s in idle.iter_mut().skip(2).step_by(3).take(50) {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let first = read_reply(&mut r, false).expect("keep-alive answer");
        assert_eq!(
            (first.status, first.body.as_slice()),
            (200, br#"{"message":"Hello, World!"}"#.as_slice())
        );
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(read_reply(&mut r, false).expect("second answer").status, 200);
        reused += 1;
    }
    assert_eq!(reused, 50);
    eprintln!("{idle_count} idle connections opened in {opened:?}; worst probe {worst:?}");
    drop(idle);
    assert_healthy(&addr, "idle connections");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_a_keep_alive_time_after_its_last_answer() {
    // The patched actix-http moves one timer per connection instead of
    // making a new one per request (vendor/actix-http, patch 4): every
    // answer must push the idle deadline back, and the last one must still
    // close the connection. With --keep-alive 2, requests 1 s apart keep the
    // connection open well past 2 s; after the last, it closes within 2 s
    // (the server's clock is coarse: up to 0.5 s early).
    let (_dir, _dump, _index, server) = own_server(&["--keep-alive", "2"]);
    let stream = TcpStream::connect(&server.addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let opened = Instant::now();
    for i in 0..4 {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap_or_else(|e| {
            panic!("request {i}, {:?} after opening: the connection was closed early: {e}", opened.elapsed())
        });
        let reply = read_reply(&mut reader, false)
            .unwrap_or_else(|| panic!("request {i}, {:?} after opening: no answer", opened.elapsed()));
        assert_eq!(reply.status, 200, "request {i}");
    }
    let last_answer = Instant::now();
    assert!(
        last_answer - opened > Duration::from_millis(2900),
        "the requests span more than the keep-alive time"
    );
    let mut rest = Vec::new();
    let read = reader.read_to_end(&mut rest);
    let idle = last_answer.elapsed();
    assert!(matches!(read, Ok(0)), "the server closes the idle connection: {read:?}, {rest:?}");
    assert!(
        idle >= Duration::from_millis(1400) && idle < Duration::from_secs(4),
        "closed {idle:?} after the last answer, keep-alive 2 s"
    );
}

// ---------------------------------------------------------------------------
// `/xml` bodies sent with sendfile(2) (vendor/actix-http, patch 3)

/// A generated dump of about 20 MB, larger than a loopback connection's
/// socket buffers, indexed and served.
pub(crate) fn big_dump_server() -> (tempfile::TempDir, PathBuf, Vec<u8>, Server) {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("big.xml");
    let out = wikidex(&["gen", "--pages", "3000", "--seed", "5", "-o", dump.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let index = dir.path().join("big.xml.wikidex");
    let out = wikidex(&["index", dump.to_str().unwrap(), "-o", index.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = std::fs::read(&dump).unwrap();
    assert!(xml.len() > 16 << 20, "the generated dump is only {} bytes", xml.len());
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    (dir, dump, xml, server)
}

/// Sends a GET for `range` of /xml and reads the response head; the
/// stream is left at the start of the body.
pub(crate) fn xml_request(
    addr: &str,
    range: std::ops::RangeInclusive<usize>,
) -> (BufReader<TcpStream>, Reply) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request =
        format!("GET /xml HTTP/1.1\r\nHost: x\r\nRange: bytes={}-{}\r\n\r\n", range.start(), range.end());
    (&stream).write_all(request.as_bytes()).unwrap();
    let mut r = BufReader::new(stream);
    let head = read_reply(&mut r, true).expect("a response head");
    (r, head)
}

/// Asserts that a server told to stop still sends the answer in flight on
/// `r` whole (`body` holds what was read of it so far) and equal to
/// `expected`, and then exits successfully.
pub(crate) fn assert_answer_in_flight_completes(
    server: &mut Server,
    r: &mut impl Read,
    mut body: Vec<u8>,
    expected: &[u8],
) {
    assert!(server.alive(), "the server waits for the answer in flight");
    r.read_to_end(&mut body).expect("the rest of the body");
    assert_eq!(body.len(), expected.len());
    assert!(body == expected, "the body differs from the dump's bytes");
    let status =
        server.wait_exit(Duration::from_secs(10)).expect("the server exits once its answers are sent");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_slow_reader_gets_a_range_larger_than_the_socket_buffers_whole_and_exact() {
    let (_dir, _dump, xml, server) = big_dump_server();
    let range = 1000..=(1000 + (16 << 20) - 1);
    let (mut r, head) = xml_request(&server.addr, range.clone());
    assert_eq!(head.status, 206);
    assert_eq!(head.header("content-length"), Some((16 << 20).to_string().as_str()));
    // Read a little, then stall: the server fills the socket buffers and
    // has to wait until the socket is writable again, more than once.
    let mut body = vec![0u8; 64 << 10];
    r.read_exact(&mut body).unwrap();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(150));
        let at = body.len();
        body.resize(at + (1 << 20), 0);
        r.read_exact(&mut body[at..]).unwrap();
    }
    let at = body.len();
    body.resize(16 << 20, 0);
    r.read_exact(&mut body[at..]).unwrap();
    assert!(body == xml[range], "the body differs from the dump's bytes");
    // The connection is still usable for the next request.
    let request = "GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    r.get_mut().write_all(request.as_bytes()).unwrap();
    let next = read_reply(&mut r, false).expect("a second response");
    assert_eq!((next.status, next.text()), (200, r#"{"message":"Hello, World!"}"#.to_string()));
}

/// The server's anonymous resident memory (heap and stacks), KiB.
fn rss_anon_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).expect("RssAnon in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// /wiki pages of 128 KiB and more go out with sendfile, not through a
/// buffer of their size. glibc gives such a buffer a mapping of its own and,
/// when it is freed, raises its mmap threshold, after which buffers that
/// large stay on the heap: the server's memory then steps up with the
/// largest page asked for so far (the soak's RSS steps, docs/BENCHMARKS.md).
/// Reading them through buffers grew the heap by ~500 KiB here.
#[test]
fn big_pages_leave_the_servers_heap_where_it_was() {
    let (_dir, _dump, xml, server) = big_dump_server();
    let pages = extract_pages(&xml);
    let len = |p: &&crate::util::ExpectedPage| p.end - p.start + 1;
    let big: Vec<_> = pages.iter().filter(|p| len(p) >= 128 << 10).collect();
    assert!(big.len() >= 5, "only {} pages of 128 KiB or more", big.len());
    for p in pages.iter().filter(|p| len(p) < 16 << 10).take(100) {
        assert_eq!(server.get(&format!("/wiki/{}?redirect=no", enc(&p.title))).status, 200);
    }
    let before = rss_anon_kib(server.pid());
    for _ in 0..3 {
        for p in &big {
            let r = server.get(&format!("/wiki/{}?redirect=no", enc(&p.title)));
            assert_eq!(r.status, 200, "{}", p.title);
            assert!(r.body == xml[p.start as usize..=p.end as usize], "{}: bytes differ", p.title);
        }
    }
    let grown = rss_anon_kib(server.pid()).saturating_sub(before);
    assert!(grown < 128, "the heap grew by {grown} KiB serving {} big pages three times", big.len());
}

#[test]
fn a_dump_cut_short_mid_body_ends_the_body_early_never_with_wrong_bytes() {
    let (_dir, dump, xml, mut server) = big_dump_server();
    let len = 16 << 20;
    let (mut r, head) = xml_request(&server.addr, 0..=len - 1);
    assert_eq!(head.status, 206);
    let mut body = vec![0u8; 64 << 10];
    r.read_exact(&mut body).unwrap();
    // Cut the dump to 1 MiB while most of the body is still unsent.
    std::fs::OpenOptions::new().write(true).open(&dump).unwrap().set_len(1 << 20).unwrap();
    r.read_to_end(&mut body).expect("the server closes the connection, it does not hang");
    assert!(body.len() < len, "a body of the full {len} bytes after the dump was cut to 1 MiB");
    assert!(body[..] == xml[..body.len()], "the bytes that came are not the dump's");
    // The server lives on and refuses the changed dump.
    assert!(server.alive());
    assert_eq!(server.get("/healthz").status, 503);
}

#[test]
fn pipelined_xml_ranges_keep_their_framing() {
    let f = fixture();
    let ranges = [(10usize, 5000usize), (100, 200), (7, 70_000), (0, 0)];
    let methods = ["GET", "HEAD", "GET", "GET"];
    let mut pipeline = String::new();
    for ((start, end), method) in ranges.iter().zip(methods) {
        pipeline += &format!("{method} /xml HTTP/1.1\r\nHost: x\r\nRange: bytes={start}-{end}\r\n\r\n");
    }
    pipeline += "GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let replies = exchange_with(&f.server.addr, pipeline.as_bytes(), &|i| methods.get(i) == Some(&"HEAD"));
    assert_eq!(replies.len(), 5, "{replies:?}");
    for (((start, end), method), reply) in ranges.iter().zip(methods).zip(&replies) {
        assert_eq!(reply.status, 206, "{method} {start}-{end}: {}", reply.text());
        assert_eq!(reply.header("content-length"), Some((end - start + 1).to_string().as_str()));
        let expected: &[u8] = if method == "HEAD" { b"" } else { &f.xml[*start..=*end] };
        assert!(reply.body == expected, "{method} {start}-{end}: wrong body");
    }
    assert_eq!(replies[4].text(), r#"{"message":"Hello, World!"}"#);
}

/// Answers leave whole, at once (`TCP_NODELAY`). With Nagle's algorithm a
/// body that does not end on a segment boundary keeps its last part until
/// the client acknowledges the segments before it, and a client waiting for
/// the rest of an answer delays that acknowledgement (40 ms on Linux): one
/// such stall per answer on a keep-alive connection. Loopback segments hold
/// 64 KB, so the ranges here fill one and part of a second (two full
/// segments would be acknowledged at once).
#[test]
fn ranges_longer_than_a_segment_are_not_held_back_for_a_delayed_ack() {
    let f = fixture();
    let stream = TcpStream::connect(&f.server.addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(stream);
    let mut took = Vec::new();
    for i in 0..21usize {
        let (start, end) = (i * 211_111, i * 211_111 + 70_000 + i * 2_011);
        let request = format!("GET /xml HTTP/1.1\r\nHost: x\r\nRange: bytes={start}-{end}\r\n\r\n");
        let sent = Instant::now();
        r.get_mut().write_all(request.as_bytes()).unwrap();
        let reply = read_reply(&mut r, false).expect("a response");
        took.push(sent.elapsed());
        assert_eq!(reply.status, 206, "{start}-{end}: {}", reply.text());
        assert!(reply.body == f.xml[start..=end], "{start}-{end}: wrong body");
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(median < Duration::from_millis(20), "answers waited for delayed ACKs: {took:?}");
}

// ---------------------------------------------------------------------------
// Properties: the parsers, and random requests against the real server

/// Elements of a `Range` header: valid specs, garbage, empties, huge numbers.
fn range_element() -> impl Strategy<Value = String> {
    let num = prop_oneof![
        (0u64..2000).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9]{19,45}",
    ];
    prop_oneof![
        (num.clone(), num.clone()).prop_map(|(a, b)| format!("{a}-{b}")),
        num.clone().prop_map(|a| format!("{a}-")),
        num.prop_map(|n| format!("-{n}")),
        Just(String::new()),
        "[ \t]{1,3}",
        "[-0-9a-zA-Z+.;= \t]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// `parse_range` on long, many-element headers: never panics, an `Ok` is
    /// inside the representation and under the cap, several valid elements
    /// are `MultipleRanges`, and any malformed element makes it `Invalid`.
    #[test]
    fn parse_range_holds_its_invariants_on_long_headers(
        unit in prop_oneof![Just("bytes".to_string()), "[bB][yY][tT][eE][sS]", "[a-z]{0,6}"],
        elems in proptest::collection::vec(range_element(), 0..300),
        size in prop_oneof![0u64..10_000, any::<u64>()],
        cap in prop_oneof![1u64..10_000, any::<u64>()],
    ) {
        use wikidex_server::range::{RangeError, parse_range};
        let header = format!("{unit}={}", elems.join(","));
        let result = parse_range(header.as_bytes(), size, cap);
        match &result {
            Ok(r) => {
                prop_assert!(r.start <= r.end && r.end < size && r.len() <= cap, "{r:?}");
                prop_assert!(unit.eq_ignore_ascii_case("bytes"));
            }
            Err(RangeError::Invalid(m)) => prop_assert!(!m.is_empty() && (header.len() < 16 || !m.contains(&header))),
            Err(RangeError::MultipleRanges { size: s }) => {
                prop_assert_eq!(*s, size);
                prop_assert!(elems.iter().filter(|e| !e.trim_matches([' ', '\t']).is_empty()).count() > 1);
            }
            Err(e) => prop_assert!(e.content_range().is_some()),
        }
        if !unit.eq_ignore_ascii_case("bytes") {
            prop_assert!(matches!(result, Err(RangeError::Invalid(_))), "unit {unit:?}");
        }
    }

    /// Strict decoding of paths and queries: never panics, every error points
    /// at a `%`, decoding inverts encoding, and nothing decoded keeps a `_`.
    #[test]
    fn request_decoding_holds_its_invariants(
        raw in "([%_+&=/?#;A-Za-z0-9 ]|%[0-9A-Fa-f]{2}|%[0-9A-Fa-f]?|%(C3|E2%82|F0%9F%98|ED%A0|C0|FF|00)|é|\\x00|\\PC){0,200}",
    ) {
        use wikidex_server::request::{DecodeError, decode_path_title, encode_title, parse_query};
        match decode_path_title(&raw) {
            Ok(title) => {
                prop_assert!(!title.contains('_'));
                prop_assert_eq!(decode_path_title(&encode_title(&title)), Ok(title.clone()));
            }
            Err(DecodeError::BadPercent { at }) => prop_assert_eq!(raw.as_bytes()[at], b'%'),
            Err(_) => {}
        }
        match parse_query(&raw) {
            Ok(pairs) => {
                let again: Vec<String> =
                    pairs.iter().map(|(k, v)| format!("{}={}", encode_title(k), encode_title(v))).collect();
                let again = again.join("&");
                prop_assert_eq!(parse_query(&again), Ok(pairs));
            }
            Err(DecodeError::BadPercent { at }) => prop_assert_eq!(raw.as_bytes()[at], b'%'),
            Err(_) => {}
        }
        let _ = wikidex_server::request::uppercase_first(&raw);
    }

    /// `limit` is accepted exactly when it is decimal digits naming 1..=max.
    #[test]
    fn limits_are_accepted_exactly_in_range(
        value in prop_oneof!["[0-9]{0,25}", "[-+ 0-9a-fxe.]{0,12}", any::<String>()],
        max in 1usize..20_000,
    ) {
        use wikidex_server::handlers::offsets::parse_limit;
        let expected = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && value.parse::<u128>().is_ok_and(|n| n >= 1 && n <= max as u128);
        let got = parse_limit(&value, max);
        prop_assert_eq!(got.is_ok(), expected, "{:?} max {}", value, max);
        if let Ok(n) = got {
            prop_assert!((1..=max).contains(&n));
        }
    }
}

/// Request targets: real endpoints with random, URI-legal path and query text
/// (raw and percent-escaped, valid and not).
fn target() -> impl Strategy<Value = String> {
    let text = "([-A-Za-z0-9._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}|%[0-9A-Fa-f]?|%(C3|E2%82|FF|00|2F|5F)){0,40}";
    (
        prop_oneof![
            Just("/wiki/"),
            Just("/offsets/"),
            Just("/xml"),
            Just("/opensearch"),
            Just("/suggest"),
            Just("/"),
            Just("/stats"),
            Just("/"),
        ],
        text,
        proptest::option::of(text),
        proptest::collection::vec(
            (
                prop_oneof![
                    Just("limit"),
                    Just("after"),
                    Just("fields"),
                    Just("redirect"),
                    Just("search"),
                    Just("q"),
                    Just("namespace")
                ],
                text,
            ),
            0..4,
        ),
    )
        .prop_map(|(endpoint, path, extra, params)| {
            let mut t = format!("{endpoint}{path}");
            if let Some(extra) = extra {
                t.push('?');
                t.push_str(&extra);
            }
            for (i, (k, v)) in params.iter().enumerate() {
                t.push(if i == 0 && !t.contains('?') { '?' } else { '&' });
                t.push_str(&format!("{k}={v}"));
            }
            t.replace('#', "%23")
        })
}

/// Random request targets and Range headers against the real server (96
/// cases): always exactly one answer, never a 5xx, every refusal JSON.
#[test]
fn random_requests_never_get_a_5xx() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let f = fixture();
    let addr = &f.server.addr;
    let range = proptest::option::of("bytes=[-0-9, ]{0,20}|[a-z]{1,5}=[-0-9]{1,8}");
    let mut runner = TestRunner::new(Config { cases: 96, failure_persistence: None, ..Config::default() });
    let result = runner.run(&(target(), range, any::<bool>()), |(target, range, head)| {
        let range_line = range.as_ref().map(|r| format!("Range: {r}"));
        let headers: Vec<&[u8]> = range_line.iter().map(|l| l.as_bytes()).collect();
        let method = if head { "HEAD" } else { "GET" };
        let replies = exchange_with(addr, &req(method, target.as_bytes(), &headers), &|_| head);
        let what = format!("{method} {target} {range:?}");
        if replies.len() != 1 {
            return Err(TestCaseError::fail(format!("{what}: {} answers", replies.len())));
        }
        let r = &replies[0];
        if r.status >= 500 && r.status != 508 {
            return Err(TestCaseError::fail(format!("{what}: {} {}", r.status, r.text())));
        }
        if r.status >= 400 && !head {
            assert_refused(r, &what);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// Faults: SIGKILL while indexing, a dump that changes

/// A small deterministic PRNG (xorshift64*), seeded from the clock and
/// printed, so a failing run can be replayed with `HARDENING_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env_or_clock() -> Rng {
        let seed = std::env::var("HARDENING_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("HARDENING_SEED={seed}");
        Rng(seed | 1)
    }

    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The dump a complete index at `index` records, or `None` if there is no
/// index there. Panics if something is there that is not a whole index.
fn whole_index_at(index: &Path) -> Option<String> {
    if !index.exists() {
        return None;
    }
    let out = wikidex(&["verify", index.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{} is not a whole index: {}",
        index.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap();
    Some(manifest["dump"]["path"].as_str().unwrap().to_string())
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp-"))
        .collect()
}

#[test]
fn sigkill_while_indexing_leaves_the_previous_index_or_none() {
    let mut rng = Rng::from_env_or_clock();
    let dir = tempfile::tempdir().unwrap();
    let (old_dump, new_dump) = (dir.path().join("old.xml"), dir.path().join("new.xml"));
    for (path, pages) in [(&old_dump, "500"), (&new_dump, "20000")] {
        let out = wikidex(&["gen", "--pages", pages, "-o", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let index = dir.path().join("out.wikidex");
    let index_cmd = |dump: &Path| {
        std::process::Command::new(crate::util::bin())
            .args(["index", dump.to_str().unwrap(), "-o", index.to_str().unwrap()])
            .env("WIKIDEX_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn wikidex index")
    };
    // How long a whole build of the new dump takes here.
    let t = Instant::now();
    assert!(index_cmd(&new_dump).wait().unwrap().success());
    let full = t.elapsed();
    std::fs::remove_dir_all(&index).unwrap();

    let (old_name, new_name) = (old_dump.display().to_string(), new_dump.display().to_string());
    let rounds = 12;
    let mut outcomes = Vec::new();
    for round in 0..rounds {
        // Even rounds start with a previous index, odd ones with none.
        let _ = std::fs::remove_dir_all(&index);
        if round % 2 == 0 {
            assert!(index_cmd(&old_dump).wait().unwrap().success());
        }
        // Stratified random moments over the whole build, and a little past it.
        let at = full.mul_f64((round as f64 + rng.unit()) / rounds as f64 * 1.2);
        let mut child = index_cmd(&new_dump);
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let finished = child.wait().unwrap().success();
        let found = whole_index_at(&index);
        match (&found, round % 2 == 0) {
            (Some(d), _) if *d == new_name => {}
            (Some(d), true) => assert_eq!(*d, old_name, "round {round}: a third index?"),
            (None, false) => assert!(!finished, "round {round}: the build finished but left no index"),
            (found, had_old) => panic!("round {round}: found {found:?}, previous index: {had_old}"),
        }
        if found.is_some() {
            // The server accepts what is at the output path, and only a whole index.
            let server = Server::try_start(&["--index", index.to_str().unwrap()]);
            assert!(server.is_ok(), "round {round}: serve refused a whole index: {:?}", server.err());
        }
        // A killed build may leave its temporary directory; it is never served.
        for tmp in temporaries(dir.path()) {
            let verify = wikidex(&["verify", tmp.to_str().unwrap()]);
            if !verify.status.success() {
                let log = Server::try_start(&["--index", tmp.to_str().unwrap(), "--dump", &new_name])
                    .err()
                    .unwrap_or_else(|| panic!("round {round}: served the partial index {}", tmp.display()));
                assert!(log.contains(&tmp.display().to_string()), "round {round}: {log}");
            }
        }
        outcomes.push((at, found.map(|d| if d == new_name { "new" } else { "old" }).unwrap_or("none")));
    }
    eprintln!("full build {full:?}; kills: {outcomes:?}");
    // The next build removes what killed builds left behind.
    assert!(index_cmd(&new_dump).wait().unwrap().success());
    assert_eq!(temporaries(dir.path()), Vec::<PathBuf>::new(), "stale temporaries removed");
    assert_eq!(whole_index_at(&index), Some(new_name));
}

#[test]
fn a_dump_touched_or_appended_while_serving_gives_503s_not_a_crash() {
    for change in ["touch", "append"] {
        let (_dir, dump, _index, mut server) = own_server(&[]);
        let addr = server.addr.clone();
        let xml = std::fs::read(&dump).unwrap();
        let title = &extract_pages(&xml)[0].title;
        let wiki = format!("/wiki/{}?redirect=no", crate::util::enc(title));
        assert_eq!(one(&addr, &get(&wiki)).status, 200);
        let file = std::fs::OpenOptions::new().append(true).open(&dump).unwrap();
        match change {
            "touch" => file.set_modified(std::time::SystemTime::now() + Duration::from_secs(3600)).unwrap(),
            _ => (&file).write_all(b"\n<!-- appended -->\n").unwrap(),
        }
        drop(file);
        for request in [get(&wiki), req("GET", b"/xml", &[b"Range: bytes=0-99"]), get("/healthz")] {
            let r = one(&addr, &request);
            assert_eq!(r.status, 503, "{change}: {}: {}", shorten(&request), r.text());
            let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
            assert!(v["error"].as_str().unwrap().contains("changed"), "{change}: {v}");
        }
        assert_eq!(one(&addr, &get("/offsets/A?limit=1")).status, 200, "{change}: no dump bytes needed");
        assert!(server.alive(), "{change}");
        assert!(server.terminate().success(), "{change}: clean shutdown");
    }
}

/// A range of the dump: its status and body.
fn dump_range(addr: &str, first: usize, last: usize) -> Reply {
    one(addr, &req("GET", b"/xml", &[format!("Range: bytes={first}-{last}").as_bytes()]))
}

/// The server checks its dump with `fstat` before every read: a writer
/// gets in at once, a writer that wrote nothing changes nothing, and a
/// write in place (same size, new mtime) gets 503s.
#[test]
fn a_writer_gets_in_at_once_and_a_write_in_place_gets_503s() {
    let (_dir, dump, _index, mut server) = own_server(&[]);
    let addr = server.addr.clone();
    let xml = std::fs::read(&dump).unwrap();
    assert_eq!(dump_range(&addr, 100, 199).body, &xml[100..200]);

    let asked = Instant::now();
    let writer = std::fs::OpenOptions::new().write(true).open(&dump).unwrap();
    let waited = asked.elapsed();
    assert!(waited < Duration::from_secs(1), "the writer's open waited {waited:?}");
    // Opened, nothing written: the indexed bytes, still served.
    let r = dump_range(&addr, 100, 199);
    assert_eq!((r.status, &r.body[..]), (206, &xml[100..200]), "{}", r.text());
    assert_healthy(&addr, "a writer that wrote nothing");

    // A write in place keeps the size; the new mtime gives it away.
    std::thread::sleep(Duration::from_millis(20));
    std::os::unix::fs::FileExt::write_at(&writer, b"X", 150).unwrap();
    let r = dump_range(&addr, 100, 199);
    assert_eq!(r.status, 503, "after a write in place: {}", r.text());
    assert!(r.text().contains("modification time differs"), "{}", r.text());
    assert!(server.alive());
    assert!(server.terminate().success(), "clean shutdown");
}

/// `--dump-watch` (and `WIKIDEX_DUMP_WATCH`) went with the read lease: a
/// script still passing it is told what replaced it, not "unknown argument".
#[test]
fn the_removed_dump_watch_flag_says_what_replaced_it() {
    let (_dir, dump) =
        dump_file(&std::fs::read_to_string(crate::util::repo().join("data/sample.xml")).unwrap());
    for (args, env) in [(vec!["--dump-watch", "lease"], None), (vec![], Some("fstat"))] {
        let mut cmd = std::process::Command::new(crate::util::bin());
        cmd.args(["serve", "--dump", dump.to_str().unwrap(), "--bind", "127.0.0.1:0"]).args(&args);
        if let Some(v) = env {
            cmd.env("WIKIDEX_DUMP_WATCH", v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("was removed") && stderr.contains("fstat"), "{stderr}");
    }
}

#[test]
fn a_dump_replaced_or_deleted_while_serving_is_still_served_from_the_open_file() {
    for change in ["rename over", "delete"] {
        let (_dir, dump, _index, server) = own_server(&[]);
        let addr = server.addr.clone();
        let xml = std::fs::read(&dump).unwrap();
        let page = extract_pages(&xml).into_iter().max_by_key(|p| p.start).unwrap();
        let wiki = format!("/wiki/{}?redirect=no", crate::util::enc(&page.title));
        match change {
            "delete" => std::fs::remove_file(&dump).unwrap(),
            _ => {
                let other = dump.with_extension("new");
                std::fs::write(&other, b"<mediawiki></mediawiki>\n").unwrap();
                std::fs::rename(&other, &dump).unwrap();
            }
        }
        let r = one(&addr, &get(&wiki));
        assert_eq!(r.status, 200, "{change}: {}", r.text());
        assert!(
            r.body == xml[page.start as usize..=page.end as usize],
            "{change}: bytes of the indexed dump"
        );
        assert_healthy(&addr, change);
    }
}

#[test]
fn a_changed_dump_is_refused_at_startup_and_by_verify() {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let original = std::fs::read(&dump).unwrap();
    let dump_name = dump.display().to_string();
    let cases: [(&str, &dyn Fn()); 4] = [
        ("deleted", &|| std::fs::remove_file(&dump).unwrap()),
        ("truncated", &|| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&dump)
                .unwrap()
                .set_len(original.len() as u64 - 1)
                .unwrap()
        }),
        ("appended", &|| {
            std::fs::OpenOptions::new().append(true).open(&dump).unwrap().write_all(b" ").unwrap()
        }),
        ("touched", &|| {
            let f = std::fs::OpenOptions::new().append(true).open(&dump).unwrap();
            f.set_modified(std::time::SystemTime::now() + Duration::from_secs(7200)).unwrap();
        }),
    ];
    for (what, change) in cases {
        // Restore the dump and index it afresh (its mtime changed).
        std::fs::write(&dump, &original).unwrap();
        let out = wikidex(&["index", &dump_name, "-o", index.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(wikidex(&["verify", index.to_str().unwrap()]).status.success(), "{what}: before");
        change();
        let log = Server::try_start(&["--index", index.to_str().unwrap(), "--dump", &dump_name])
            .err()
            .unwrap_or_else(|| panic!("{what}: the server started on a changed dump"));
        assert!(log.contains(&dump_name), "{what}: the refusal names the dump: {log}");
        let out = wikidex(&["verify", index.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(&dump_name), "{what}: verify says: {err}");
    }
    drop(dir);
}

// ---------------------------------------------------------------------------
// Regressions: bugs these tests found (fixed in db50aab and 7c6a7ba).

/// Found by the `index_open` fuzz target (fixed in db50aab): `Index::verify`
/// checked the columns but not the fst's values (each title's first row), so
/// an index whose fst pointed past the last row passed `open` + `verify`,
/// `wikidex serve` started on it, and `/offsets` then read past the end of
/// the columns (`Index::page` panicked, the connection dropped). Input in
/// `fuzz/regressions/index_open/`.
#[test]
fn verify_refuses_fst_rows_past_the_last_page() {
    use wikidex_indexer::format::{self, FOOTER_LEN, FileKind, IndexWriter, Manifest};
    // Five pages, three titles: A (rows 0-2), B (row 3), C (row 4).
    let pages: String = ["A", "A", "A", "B", "C"]
        .iter()
        .map(|t| format!("  <page>\n    <title>{t}</title>\n    <ns>0</ns>\n    <revision><text>x</text></revision>\n  </page>\n"))
        .collect();
    let (dir, dump) = dump_file(&format!("<mediawiki>\n{pages}</mediawiki>\n"));
    let good = dir.path().join("good.wikidex");
    assert!(wikidex(&["index", dump.to_str().unwrap(), "-o", good.to_str().unwrap()]).status.success());
    // Keep the fst, cut every column to three rows, say "3 pages": every
    // checksum and length is consistent, but B -> row 3 and C -> row 4.
    let mut manifest: Manifest =
        serde_json::from_slice(&std::fs::read(good.join("manifest.json")).unwrap()).unwrap();
    let bad = dir.path().join("bad.wikidex");
    let mut writer = IndexWriter::create(&bad).unwrap();
    for (name, kind, width) in [
        (format::TITLES_FST, FileKind::TitleFst, 0),
        (format::STARTS, FileKind::Starts, format::START_BYTES),
        (format::LENGTHS, FileKind::Lengths, 4),
        (format::NAMESPACES, FileKind::Namespaces, 2),
        (format::REDIRECTS, FileKind::Redirects, 4),
        (format::IDS, FileKind::Ids, 4),
        (format::REDIRECT_TARGETS, FileKind::RedirectTargets, 0),
        (format::SCORES, FileKind::Scores, 2),
        (format::RANKED_LISTS, FileKind::RankedLists, 0),
    ] {
        let bytes = std::fs::read(good.join(name)).unwrap();
        let payload = &bytes[..bytes.len() - FOOTER_LEN];
        let keep = if width == 0 { payload.len() } else { 3 * width };
        let mut sink = writer.file(name, kind).unwrap();
        sink.write_all(&payload[..keep]).unwrap();
        writer.add(sink.finish().unwrap());
    }
    manifest.pages = 3;
    writer.commit(manifest).unwrap();
    let verdict = wikidex_indexer::Index::open(&bad).and_then(|index| index.verify());
    if verdict.is_ok() {
        // Show what the server does with it.
        let server = Server::try_start(&["--index", bad.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
        let seen = match &server {
            Ok(s) => {
                let answers: Vec<String> = ["/offsets/A", "/offsets/B", "/offsets/C", "/wiki/B", "/wiki/C"]
                    .iter()
                    .map(|t| match exchange(&s.addr, &get(t)).first() {
                        Some(r) => format!("{t} -> {} {}", r.status, r.text()),
                        None => format!("{t} -> connection closed without an answer"),
                    })
                    .collect();
                format!("the server started on it and answered: {answers:?}")
            }
            Err(log) => format!("the server refused it: {log}"),
        };
        panic!("Index::verify accepted an fst whose rows point past the last page; {seen}");
    }
    let message = verdict.unwrap_err().to_string();
    assert!(message.contains("titles.fst"), "the refusal names the fst: {message}");
}

/// Found by hardening (fixed in db50aab): `scan::parse_header` named every
/// closing tag with an empty name (the name stopped at its own `/`), so a
/// `<page>` without `<revision>` — valid in MediaWiki's export schema, where
/// revisions are `minOccurs=0` — was refused as "page is cut off … (truncated
/// dump?)".
#[test]
fn a_page_without_revision_is_indexed() {
    let xml = "<mediawiki>\n  <page>\n    <title>Full</title>\n    <ns>0</ns>\n    <revision><text>x</text></revision>\n  </page>\n  <page>\n    <title>Empty</title>\n    <ns>0</ns>\n    <id>2</id>\n  </page>\n</mediawiki>\n";
    let (_dir, dump) = dump_file(xml);
    let out = wikidex(&["index", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "a page without <revision> is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&["--dump", dump.to_str().unwrap()]);
    let r = one(&server.addr, &get("/wiki/Empty"));
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("<page>") && r.text().ends_with("</page>"));
}

/// Found by hardening (fixed in db50aab with a patched actix-http in
/// `vendor/`; the cause is upstream). actix-http 3.20's HTTP/1 codec keeps one
/// "is HEAD", version and keep-alive state per connection, set when a request
/// is decoded and read when a response is encoded, and the dispatcher decodes
/// pipelined requests ahead of answering them. So a response was framed by
/// the last request read: a HEAD's response carried a GET's body (the client
/// then read page text as the next response), a GET's body was dropped after
/// its Content-Length was sent, and a later request's `Connection: close` was
/// stamped on earlier responses although more followed.
#[test]
fn pipelined_head_and_get_requests_are_framed_by_their_own_request() {
    let f = fixture();
    let addr = &f.server.addr;
    let wiki = format!("/wiki/{}?redirect=no", crate::util::enc(&f.titles[0]));
    let json = br#"{"message":"Hello, World!"}"#;
    let line = |method: &str, target: &str, close: bool| {
        let close = if close { "Connection: close\r\n" } else { "" };
        format!("{method} {target} HTTP/1.1\r\nHost: x\r\n{close}\r\n")
    };
    let mut problems = Vec::new();
    for (name, requests) in [
        ("GET, HEAD, GET", [("GET", "/json"), ("HEAD", wiki.as_str()), ("GET", "/json")]),
        ("GET, GET, HEAD", [("GET", "/json"), ("GET", wiki.as_str()), ("HEAD", "/json")]),
    ] {
        let pipeline: String =
            requests.iter().enumerate().map(|(i, (m, t))| line(m, t, i == requests.len() - 1)).collect();
        let replies =
            exchange_with(addr, pipeline.as_bytes(), &|i| requests.get(i).is_some_and(|r| r.0 == "HEAD"));
        let got: Vec<String> = replies
            .iter()
            .map(|r| {
                format!(
                    "{} ({} body bytes, connection: {:?})",
                    r.status,
                    r.body.len(),
                    r.header("connection")
                )
            })
            .collect();
        // A server may close after any response (saying so), but every
        // response it sends must be framed for its own request.
        let ok = !replies.is_empty()
            && replies.len() <= 3
            && replies.iter().all(|r| r.status == 200)
            && replies.iter().zip(&requests).all(|(r, (m, t))| match (*m, *t) {
                ("HEAD", _) => r.body.is_empty(),
                (_, "/json") => r.body == json,
                _ => r.body.starts_with(b"<page>") && r.body.ends_with(b"</page>"),
            })
            && replies[..replies.len() - 1].iter().all(|r| r.header("connection").is_none());
        if !ok {
            problems.push(format!("{name}: {got:?}"));
        }
    }
    assert!(problems.is_empty(), "pipelined responses framed by the wrong request: {problems:#?}");
}

/// The patched actix-http lends an idle keep-alive connection's buffers to
/// a per-thread pool and takes them back for its next request. Several
/// keep-alive connections take turns, idling between requests so buffers
/// move from one to another, with small answers, answers that outgrow a
/// buffer (a 64 KiB range) and long listings and a request that arrives in
/// two halves: every answer must be byte for byte the one a fresh
/// connection gets.
#[test]
fn idle_keep_alive_connections_lend_their_buffers_without_mixing_answers() {
    let f = fixture();
    let addr = &f.server.addr;
    let title = crate::util::enc(&f.titles[3]);
    let keep = |target: &str, extra: &str| format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    let requests = [
        keep("/json", ""),
        keep("/xml", "Range: bytes=1000-66535\r\n"),
        keep(&format!("/wiki/{title}?redirect=no"), ""),
        keep("/offsets/A?limit=1000", ""),
        keep("/xml", "Range: bytes=5-9\r\n"),
        keep("/offsets/A?limit=3", ""),
    ];
    // What a fresh connection answers to each.
    let fresh: Vec<Vec<u8>> = requests
        .iter()
        .map(|r| {
            let close = r.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
            let reply = one(addr, close.as_bytes());
            assert!(reply.status == 200 || reply.status == 206, "{close}: {}", reply.status);
            reply.body
        })
        .collect();
    assert_eq!(fresh[1].len(), 65_536, "an answer that outgrows a buffer");
    assert!(fresh[3].len() > 1000, "a long listing: {} bytes", fresh[3].len());
    let mut conns: Vec<(TcpStream, BufReader<TcpStream>)> = (0..4)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let r = BufReader::new(s.try_clone().unwrap());
            (s, r)
        })
        .collect();
    for round in 0..3 {
        for (c, (w, r)) in conns.iter_mut().enumerate() {
            let i = (round * 4 + c) % requests.len();
            let bytes = requests[i].as_bytes();
            if (round + c) % 3 == 0 {
                // Half a request, a pause (the server has read a partial
                // head: its buffer is not idle), then the rest.
                w.write_all(&bytes[..bytes.len() / 2]).unwrap();
                std::thread::sleep(Duration::from_millis(20));
                w.write_all(&bytes[bytes.len() / 2..]).unwrap();
            } else {
                w.write_all(bytes).unwrap();
            }
            let reply = read_reply(r, false).expect("an answer on the kept-alive connection");
            assert_eq!(reply.body, fresh[i], "round {round}, connection {c}: {}", requests[i]);
            // Idle, so the next connection's request can take these buffers.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert_healthy(addr, "buffer lending");
}

/// Found by the corruption drill (fixed in db50aab): `Index::verify`
/// recomputed the checksums of a fixed list of files that lacked the new
/// `folded.fst` and `folded.u32`, so damage inside them passed `wikidex
/// verify` and the startup check. Checked generically: a flipped payload byte
/// in any file the manifest lists must be caught, naming the file.
#[test]
fn verify_checksums_every_index_file() {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(index.join("manifest.json")).unwrap()).unwrap();
    let names: Vec<String> = manifest["files"].as_object().unwrap().keys().cloned().collect();
    assert!(names.len() >= 5, "{names:?}");
    let mut missed = Vec::new();
    for name in &names {
        let copy = dir.path().join(format!("flipped-{name}"));
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(&index).unwrap().flatten() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        let path = copy.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let payload = bytes.len() - wikidex_indexer::format::FOOTER_LEN;
        bytes[payload / 2] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let out = wikidex(&["verify", copy.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !err.contains(name.as_str()) {
            missed.push(format!("{name}: verify exit {:?}: {}", out.status.code(), err.trim()));
        }
    }
    assert!(missed.is_empty(), "a damaged index file passes `wikidex verify`: {missed:#?}");
}

/// Found by the `page` fuzz target as a chunk-size disagreement (fixed in
/// db50aab): skipping a header element (`<restrictions>`, unknown elements, a
/// non-empty `<redirect>`) searched for its closing tag through `</page>`,
/// `<page>` and `</mediawiki>`, so one damaged close tag made its page
/// swallow every page up to the next matching tag. The dump below has three
/// pages; the index got one, spanning all three, and no error — against the
/// README's promise that a malformed dump is refused. Input in
/// `fuzz/regressions/page/`.
#[test]
fn a_damaged_header_element_does_not_swallow_the_following_pages() {
    let xml = "<mediawiki>\n  <page><title>A</title><ns>0</ns><restrictions>edit=sysop</restrictionz><revision><text>a</text></revision></page>\n  <page><title>B</title><ns>0</ns><revision><text>b</text></revision></page>\n  <page><title>C</title><ns>0</ns><restrictions>move=sysop</restrictions><revision><text>c</text></revision></page>\n</mediawiki>\n";
    let (_dir, dump) = dump_file(xml);
    let out = wikidex(&["index", dump.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a dump with a broken </restrictions> was accepted: {}",
        stdout.lines().next().unwrap_or("")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("restriction"), "the refusal says what is wrong: {err}");
}

/// Found by the `page` fuzz target (fixed in 7c6a7ba): the fix above first
/// stopped a header element's skip at `<page>` and `</page>` but not at
/// `</mediawiki>`, so a dump cut inside `<restrictions>` and continued after
/// its end tag was accepted as one page spanning `</mediawiki>`. Input in
/// `fuzz/regressions/page/header-element-runs-over-end-tag`.
#[test]
fn a_header_element_does_not_run_over_the_end_tag() {
    let xml = "<mediawiki>\n  <page><title>A</title><ns>0</ns><restrictions>edit=sysop\n</mediawiki>\n</restrictions><revision><text>a</text></revision></page>\n</mediawiki>\n";
    let (_dir, dump) = dump_file(xml);
    let out = wikidex(&["index", dump.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a page running over </mediawiki> was accepted: {}",
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("")
    );
}
