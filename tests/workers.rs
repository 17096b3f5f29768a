//! The server's workers (actix-server, started by `server/src/lib.rs`;
//! `server/src/stop.rs` stops them): stopping on a signal, the per-worker
//! connection limit, and a port already in use.

use crate::raw_http::read_reply;
use crate::util::{assert_answer_in_flight_completes, big_dump_server, own_server, xml_request};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `GET /healthz` on `stream` and reads the answer's status.
fn healthz(stream: &TcpStream) -> Option<u16> {
    (&*stream).write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    read_reply(&mut BufReader::new(stream), false).map(|r| r.status)
}

/// A keep-alive connection that has had one answer.
fn answered_connection(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(healthz(&stream), Some(200));
    stream
}

/// Is a new connection still served? `false` once it is refused or closed
/// without an answer.
fn new_connections_served(addr: &str) -> bool {
    let Ok(stream) = TcpStream::connect(addr) else { return false };
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    healthz(&stream).is_some_and(|status| status == 200)
}

#[test]
fn sigterm_finishes_the_answers_in_flight_and_closes_idle_connections() {
    let (_dir, _dump, xml, mut server) = big_dump_server();
    let idle = answered_connection(&server.addr);
    // A 16 MiB answer the client has only begun to read: most of it is
    // still in the server's hands when the signal comes.
    let range = 0..=(16 << 20) - 1;
    let (mut r, head) = xml_request(&server.addr, range.clone());
    assert_eq!(head.status, 206);
    let mut body = vec![0u8; 64 << 10];
    r.read_exact(&mut body).unwrap();

    server.signal("TERM");
    // The idle connection is closed now, not a keep-alive time (30 s) later.
    let signalled = Instant::now();
    let mut rest = Vec::new();
    let read = (&idle).read_to_end(&mut rest);
    assert!(matches!(read, Ok(0)), "the idle connection is closed: {read:?}, {rest:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5), "closed {:?} after SIGTERM", signalled.elapsed());
    // No new connection is served …
    let deadline = Instant::now() + Duration::from_secs(5);
    while new_connections_served(&server.addr) {
        assert!(Instant::now() < deadline, "still accepting connections 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // … but the answer in flight arrives whole and exact, and then the
    // server exits, successfully.
    assert_answer_in_flight_completes(&mut server, &mut r, body, &xml[range]);
}

#[test]
fn a_second_signal_stops_at_once() {
    let (_dir, _dump, _xml, mut server) = big_dump_server();
    let (mut r, head) = xml_request(&server.addr, 0..=(16 << 20) - 1);
    assert_eq!(head.status, 206);
    let mut body = vec![0u8; 64 << 10];
    r.read_exact(&mut body).unwrap();
    server.signal("INT");
    // The first signal waits for the stalled answer ...
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.alive(), "one signal waits for the answer in flight");
    // ... the second does not.
    server.signal("INT");
    let stopped = server.wait_exit(Duration::from_secs(5)).expect("a second signal stops the server at once");
    assert!(stopped.success(), "{stopped:?}");
    r.read_to_end(&mut body).expect("the connection is closed, not left hanging");
    assert!(body.len() < 16 << 20, "the stalled answer was cut short");
}

#[test]
fn a_worker_at_its_connection_limit_leaves_new_connections_waiting() {
    // Two workers with two connections each: four are served at once.
    let (_dir, _dump, _index, server) = own_server(&["--max-connections", "2"]);
    let mut held: Vec<TcpStream> = (0..4).map(|_| answered_connection(&server.addr)).collect();
    let waiting = TcpStream::connect(&server.addr).expect("the backlog takes the connection");
    waiting.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    (&waiting).write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut byte = [0u8; 1];
    let early = (&waiting).read(&mut byte);
    assert!(
        matches!(&early, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "a fifth connection was served past the limit: {early:?}"
    );
    // One of the four closes: the waiting connection is accepted and answered.
    held.pop();
    waiting.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let reply = read_reply(&mut BufReader::new(&waiting), false).expect("answered once a slot is free");
    assert_eq!(reply.status, 200);
}

#[test]
fn a_port_in_use_is_one_clear_error() {
    let (_dir, dump, index, server) = own_server(&[]);
    let out = crate::util::wikidex(&[
        "serve",
        "--index",
        index.to_str().unwrap(),
        "--dump",
        dump.to_str().unwrap(),
        "--bind",
        &server.addr,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a second server on {} started: {stderr}", server.addr);
    assert!(stderr.contains(&format!("cannot listen on {}", server.addr)), "{stderr}");
    assert_eq!(stderr.matches("in use").count(), 1, "the cause once: {stderr}");
}
