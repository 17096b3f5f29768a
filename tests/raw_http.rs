//! A raw HTTP/1.1 client for the tests that need what a library client
//! hides: pipelining, malformed requests, exact framing, HEAD bodies.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One response read off a raw socket (status 0: bytes that are not a
/// response where one should start, the body then holds them; status 1: a
/// response cut short).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_line(r: &mut impl BufRead) -> Option<String> {
    let mut line = Vec::new();
    match r.read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string()),
    }
}

/// Reads one response (skipping 1xx): status line, headers, then a
/// Content-Length, chunked or close-delimited body (none for HEAD). `None`
/// when the connection ends (or times out) before a status line. A response
/// cut short (headers or body) comes back with status 1 and what was read.
pub(crate) fn read_reply(r: &mut impl BufRead, head: bool) -> Option<Reply> {
    loop {
        let status_line = read_line(r)?;
        if !status_line.starts_with("HTTP/1.") {
            // Out of step with the server's framing: report what was there.
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
            let mut body = status_line.into_bytes();
            body.extend_from_slice(&rest[..rest.len().min(200)]);
            return Some(Reply { status: 0, headers: Vec::new(), body });
        }
        let mut reply = Reply { status: 1, headers: Vec::new(), body: Vec::new() };
        let Some(status) = status_line.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()) else {
            return Some(reply);
        };
        loop {
            let Some(line) = read_line(r) else { return Some(reply) };
            if line.is_empty() {
                break;
            }
            let Some((k, v)) = line.split_once(':') else { return Some(reply) };
            reply.headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        if (100..200).contains(&status) {
            continue;
        }
        if head || status == 204 || status == 304 || read_body(r, &mut reply) {
            reply.status = status;
        }
        return Some(reply);
    }
}

/// Reads the body `reply`'s headers announce; false if it is cut short.
fn read_body(r: &mut impl BufRead, reply: &mut Reply) -> bool {
    if let Some(len) = reply.header("content-length") {
        let Ok(len) = len.parse::<usize>() else { return false };
        let mut body = vec![0; len];
        let ok = r.read_exact(&mut body).is_ok();
        reply.body = body;
        ok
    } else if reply.header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let Some(size) = read_line(r)
                .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok())
            else {
                return false;
            };
            if size == 0 {
                loop {
                    match read_line(r) {
                        Some(l) if l.is_empty() => return true,
                        Some(_) => {}
                        None => return false,
                    }
                }
            }
            let at = reply.body.len();
            reply.body.resize(at + size, 0);
            if r.read_exact(&mut reply.body[at..]).is_err() || read_line(r).is_none() {
                return false;
            }
        }
    } else {
        r.read_to_end(&mut reply.body).is_ok()
    }
}

/// Sends `request` (any bytes, possibly several pipelined requests) on a
/// fresh connection and reads responses until the server closes it. The
/// request is written from a second thread, so an early answer to a huge
/// request is read while the rest is still being sent. `is_head(i)` says
/// whether the i-th request is a HEAD (its response has no body).
pub(crate) fn exchange_with(addr: &str, request: &[u8], is_head: &dyn Fn(usize) -> bool) -> Vec<Reply> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = stream.try_clone().unwrap();
    let bytes = request.to_vec();
    let writer = std::thread::spawn(move || {
        // The server may answer and close before reading everything.
        let _ = w.write_all(&bytes);
    });
    let mut r = BufReader::new(stream);
    let mut replies = Vec::new();
    while let Some(reply) = read_reply(&mut r, is_head(replies.len())) {
        replies.push(reply);
    }
    writer.join().unwrap();
    replies
}

pub(crate) fn exchange(addr: &str, request: &[u8]) -> Vec<Reply> {
    exchange_with(addr, request, &|_| false)
}

/// Exactly one response to `request`.
pub(crate) fn one(addr: &str, request: &[u8]) -> Reply {
    let mut replies = exchange(addr, request);
    assert_eq!(replies.len(), 1, "{:?}: expected one response, got {replies:?}", shorten(request));
    replies.pop().unwrap()
}

/// `METHOD TARGET HTTP/1.1` with a Host, the extra header lines, and
/// `Connection: close` (so the server closes after answering).
pub(crate) fn req(method: &str, target: &[u8], headers: &[&[u8]]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for h in headers {
        r.extend_from_slice(h);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"Connection: close\r\n\r\n");
    r
}

pub(crate) fn get(target: &str) -> Vec<u8> {
    req("GET", target.as_bytes(), &[])
}

pub(crate) fn shorten(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned();
    if bytes.len() > 120 { format!("{s}… ({} bytes)", bytes.len()) } else { s }
}
