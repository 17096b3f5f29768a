//! The drain (`--drain-secs`, `server/src/stop.rs` `Drain`): after the
//! first SIGTERM the server keeps its listener open for the grace period,
//! `/healthz` says 503 so balancers stop sending, and every answer closes
//! its connection; then it stops as before. See: issue 22 (a drain that
//! balancers can see).

use crate::raw_http::{Reply, read_reply};
use crate::util::{
    Server, assert_answer_in_flight_completes, big_dump_server, indexed_copy, own_server, repo, wikidex,
    xml_request,
};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `GET path` on `stream` (kept open) and reads the answer.
fn get_on(stream: &TcpStream, path: &str) -> Option<Reply> {
    (&*stream).write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    read_reply(&mut BufReader::new(stream), false)
}

/// A new connection with a read timeout.
fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// A keep-alive connection that has had one 200 from `path`, which did not
/// close it.
fn kept_alive(addr: &str, path: &str) -> TcpStream {
    let stream = connect(addr).expect("connect");
    let reply = get_on(&stream, path).expect("an answer");
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    assert_eq!(reply.header("connection"), None, "{path} before the drain keeps the connection");
    stream
}

/// Asserts that the server has closed `stream` (after the answers on it).
fn assert_closed_by_server(stream: &TcpStream, what: &str) {
    let mut rest = Vec::new();
    let read = (&*stream).read_to_end(&mut rest);
    assert!(matches!(read, Ok(0)), "{what}: the server closes the connection: {read:?}, {rest:?}");
}

/// A fresh connection's `/healthz` status; `None` once connecting is
/// refused or the connection closes unanswered.
fn healthz_status(addr: &str) -> Option<u16> {
    let stream = connect(addr).ok()?;
    get_on(&stream, "/healthz").map(|reply| reply.status)
}

#[test]
fn sigterm_turns_healthz_503_at_once_and_closes_the_listener_after_the_grace_period() {
    let grace = Duration::from_secs(4);
    let (_dir, _dump, _index, mut server) = own_server(&["--drain-secs", "4"]);
    let addr = server.addr.clone();
    assert_eq!(healthz_status(&addr), Some(200));
    // Connections a balancer keeps open, to a lookup and to an operator
    // endpoint: both must learn to close.
    let hot = kept_alive(&addr, "/offsets/A?limit=1");
    let app = kept_alive(&addr, "/stats");

    let signalled = Instant::now();
    server.signal("TERM");
    // /healthz turns 503 at once, as JSON that no cache keeps.
    let draining = loop {
        let reply = get_on(&connect(&addr).expect("still accepting"), "/healthz").expect("an answer");
        if reply.status != 200 {
            break reply;
        }
        assert!(signalled.elapsed() < Duration::from_secs(2), "/healthz still 200 after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(draining.status, 503, "{}", draining.text());
    assert_eq!(draining.header("content-type"), Some("application/json"));
    assert_eq!(draining.header("cache-control"), Some("no-store"));
    assert_eq!(draining.header("connection"), Some("close"));
    let body: serde_json::Value = serde_json::from_slice(&draining.body).expect("JSON");
    assert_eq!(body["status"], "draining", "{body}");

    // Answers on connections opened before the signal say `Connection:
    // close`, whichever route wrote them, and the server closes them.
    for (stream, path) in [(&hot, "/offsets/A?limit=1"), (&app, "/stats")] {
        let reply = get_on(stream, path).expect("an answer during the drain");
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.header("connection"), Some("close"), "{path} during the drain");
        assert_closed_by_server(stream, path);
    }
    // New connections are still accepted and answered (closing after one).
    let fresh = connect(&addr).expect("the listener is open during the drain");
    let reply = get_on(&fresh, "/wiki/Albania?redirect=no").expect("an answer");
    assert!(signalled.elapsed() < grace, "the checks above outlasted the grace period");
    assert!(reply.status == 200 || reply.status == 404, "{}", reply.text());
    assert_eq!(reply.header("connection"), Some("close"));
    assert_closed_by_server(&fresh, "a connection made during the drain");

    // The listener closes once the grace period is over, not before.
    while healthz_status(&addr) == Some(503) {
        assert!(signalled.elapsed() < grace + Duration::from_secs(5), "still accepting long after the drain");
        std::thread::sleep(Duration::from_millis(20));
    }
    let closed = signalled.elapsed();
    assert!(
        closed >= grace,
        "the listener closed {closed:?} after SIGTERM, before the {grace:?} drain ended"
    );
    assert!(TcpStream::connect(&addr).is_err(), "connecting is refused after the drain");
    let status = server.wait_exit(Duration::from_secs(10)).expect("the server exits after the drain");
    assert!(status.success(), "{status:?}");
}

#[test]
fn an_answer_in_flight_finishes_across_the_drain() {
    // A dump larger than the socket buffers, so that the answer is still
    // being sent when the listener closes.
    let (_dir, dump, xml, first) = big_dump_server();
    drop(first);
    let mut server = Server::start(&["--dump", dump.to_str().unwrap(), "--drain-secs", "2"]);
    let range = 0..=(16 << 20) - 1;
    let (mut r, head) = xml_request(&server.addr, range.clone());
    assert_eq!(head.status, 206);
    let mut body = vec![0u8; 64 << 10];
    r.read_exact(&mut body).unwrap();

    let signalled = Instant::now();
    server.signal("TERM");
    // Through the drain and past the listener's closing …
    while healthz_status(&server.addr).is_some() {
        assert!(signalled.elapsed() < Duration::from_secs(10), "still accepting long after the drain");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(signalled.elapsed() >= Duration::from_secs(2), "the listener closed before the drain ended");
    // … the answer begun before the signal waits for its reader, and
    // arrives whole and exact.
    assert_answer_in_flight_completes(&mut server, &mut r, body, &xml[range]);
}

#[test]
fn a_second_signal_during_the_drain_stops_at_once() {
    let (_dir, _dump, _index, mut server) = own_server(&["--drain-secs", "60"]);
    server.signal("TERM");
    let signalled = Instant::now();
    while healthz_status(&server.addr) != Some(503) {
        assert!(signalled.elapsed() < Duration::from_secs(2), "/healthz still 200 after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(server.alive(), "the first signal drains");
    server.signal("INT");
    let stopped = server.wait_exit(Duration::from_secs(5)).expect("a second signal ends the drain at once");
    assert!(stopped.success(), "{stopped:?}");
}

#[test]
fn a_drain_longer_than_an_hour_is_refused_as_a_typo() {
    let (_dir, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let (dump, index) = (dump.to_str().unwrap(), index.to_str().unwrap());
    let args = ["serve", "--index", index, "--dump", dump, "--bind", "127.0.0.1:0", "--drain-secs", "5000"];
    let out = wikidex(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("drain-secs must be at most 3600"), "{stderr}");
}
