//! Connections and how answers leave over them: pipelining and each answer
//! framed by its own request, slowloris, idle and keep-alive connections,
//! the idle-buffer pool, `sendfile` bodies for a slow reader and for big
//! pages, and answers not held back for a delayed ACK. Most of it checks
//! the patched actix-http (`vendor/actix-http/patches/README.md`).

use crate::raw_http::{exchange, exchange_with, get, one, read_reply};
use crate::util::{assert_healthy, big_dump_server, enc, extract_pages, fixture, own_server, xml_request};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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
    // Every answer must push the idle deadline back, and the last one must
    // still close the connection. With --keep-alive 2, requests 1 s apart keep the
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
