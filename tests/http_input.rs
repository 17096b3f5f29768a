//! What a request can say: malformed request lines and headers, huge URLs and
//! headers, bad escapes, path traversal, absurd `Range` headers, limits and
//! afters; property tests of the request parsers, and random requests
//! against the real server.
//!
//! The rule checked throughout: a refusal is a 4xx (JSON `{"error": …}` when
//! the application, not the HTTP codec, produced it), never a 5xx, a panic or
//! a connection dropped without an answer; and after every case the server
//! still answers `/healthz`.

use crate::raw_http::{Reply, exchange_with, get, one, req, shorten};
use crate::util::{assert_healthy, fixture};
use proptest::prelude::*;

/// A refusal: a 4xx; a JSON `{"error": …}` body whenever there is a body (the
/// HTTP codec's own 400/408 answers have none; routed ones always do).
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
    // Large but within the codec's limits (an 8 KiB target: tests/limits.rs):
    // answered by the application.
    let title = "Ä".repeat(1300);
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
        (0..2000).map(|i| format!("{}-{}", i * 7, i * 7 + 3)).collect::<Vec<_>>().join(",");
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
    // Long, but a target under the 8 KiB limit (tests/limits.rs).
    let four_kb = "A".repeat(4000);
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
        (format!("/offsets/A?after={four_kb}"), 200),
        (format!("/offsets/{four_kb}?after={four_kb}"), 200),
        ("/offsets/A?after=%FF%FE".into(), 400),
        ("/offsets/A?after=%C3".into(), 400),
        ("/offsets/A?after=".into(), 200),
        ("/offsets/A?after=_".into(), 200),
        ("/offsets/A?after=A&after=B".into(), 400),
        ("/offsets/A?fields=ns,ns".into(), 400),
        (format!("/offsets/A?fields={four_kb}"), 400),
        ("/offsets/A?fields=,,,".into(), 200),
        ("/offsets/A?limit=10000&fields=ns,redirect,id".into(), 200),
        ("/opensearch?search=A&limit=-1".into(), 400),
        ("/opensearch?search=A&limit=101".into(), 400),
        ("/opensearch?search=A&namespace=abc".into(), 400),
        ("/opensearch?search=A&namespace=99999999999".into(), 400),
        ("/opensearch?search=A&namespace=-2147483648".into(), 200),
        (format!("/opensearch?search={four_kb}"), 200),
        (format!("/suggest?q={four_kb}&limit=100"), 200),
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
