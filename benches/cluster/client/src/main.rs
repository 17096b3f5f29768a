//! `wikidex-drill-client`: the replica drill's load. A constant rate of
//! lookups and ranged fetches through a balancer, and every answer checked.
//!
//! ```text
//! drill-client --addr HOST:PORT --prefixes FILE --rate REQ_PER_S --out FILE
//!              [--conns 64] [--seed 1] [--wiki-every 3]
//! ```
//!
//! Runs until its standard input closes (drill.py holds it open), then writes
//! one line per request to `--out` and a JSON summary to stderr.
//!
//! Transactions start at a constant rate (open loop): transaction `k` is due
//! at `t0 + k × interval`, taken by whichever of `--conns` connections is
//! free, and a transaction that waited for one counts the wait in its
//! latency (no coordinated omission). Each one:
//!
//! 1. `GET /offsets/{prefix}?limit=10`, a prefix from FILE picked with Zipf
//!    popularity (so a cache in front sees repeats): rows
//!    `[title, start, end]` and the dump's `ETag`;
//! 2. `GET /xml` with `Range: bytes=start-end` (`end` is inclusive) and
//!    `If-Match: <that ETag>` for one row, at random: the answer must be a
//!    206 of `end - start + 1` bytes that begins with `<page>`, ends with
//!    `</page>` and whose `<title>` is the row's title. Anything else is a
//!    wrong answer. A 412 (that replica serves another dump) is correct:
//!    the title is looked up again (`/offsets/{title}?limit=1`) and fetched
//!    again, both with `Cache-Control: no-cache`, as the web page does, up
//!    to 20 times;
//! 3. every `--wiki-every`th transaction, `GET /wiki/{title}?redirect=no`,
//!    whose `<title>` must be the title.
//!
//! A line of `--out`: `t_end kind status outcome latency_us bytes`, where
//! `t_end` is Unix time in seconds (drill.py's and nginx's clock), `kind` is
//! `o` (lookup), `x` (fetch), `r` (lookup again after a 412) or `w` (/wiki),
//! and `outcome` one of `ok`, `412`, `wrong`, `non2xx`, `e5xx`, `conn` (the
//! connection failed before the whole answer), `cut` (an answer of more than
//! 64 KiB whose body stopped short: what a `kill -9` does mid-answer),
//! `timeout` (15 s) and `gaveup` (20 412s in a row). Latency runs from when
//! the request was due: its transaction's start for a lookup, the previous
//! answer for the others.
//!
//! One thread, non-blocking sockets on epoll (mio), like the load kit's
//! loadgen: about 25 µs of CPU a request (wrk, which measures the
//! capacity, costs 13), so the client takes little of the CPU the cluster
//! it measures runs on. A Python client cost about 90 µs a request here,
//! a thread per connection about 50: at half the capacity, most of a core.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LARGE: usize = 64 << 10;
const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_412: u32 = 20;

struct Args {
    addr: SocketAddr,
    host: String,
    prefixes: Vec<String>,
    rate: f64,
    out: String,
    conns: usize,
    seed: u64,
    wiki_every: u64,
}

fn usage() -> ! {
    eprintln!(
        "usage: drill-client --addr HOST:PORT --prefixes FILE --rate REQ_PER_S --out FILE \
         [--conns 64] [--seed 1] [--wiki-every 3]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let (mut addr, mut prefixes, mut rate, mut out) = (None, None, None, None);
    let (mut conns, mut seed, mut wiki_every) = (64usize, 1u64, 3u64);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--addr" => addr = Some(val()),
            "--prefixes" => prefixes = Some(val()),
            "--rate" => rate = Some(val().parse().unwrap_or_else(|_| usage())),
            "--out" => out = Some(val()),
            "--conns" => conns = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            "--wiki-every" => wiki_every = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let host = addr.unwrap_or_else(|| usage());
    let addr = host.to_socket_addrs().ok().and_then(|mut a| a.next()).unwrap_or_else(|| usage());
    let file = prefixes.unwrap_or_else(|| usage());
    let prefixes: Vec<String> = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| {
            eprintln!("drill-client: {file}: {e}");
            std::process::exit(2)
        })
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if prefixes.is_empty() || conns == 0 {
        usage();
    }
    Args {
        addr,
        host,
        prefixes,
        rate: rate.unwrap_or_else(|| usage()),
        out: out.unwrap_or_else(|| usage()),
        conns,
        seed,
        wiki_every,
    }
}

/// splitmix64: a small, good-enough generator per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// XML's entities in a `<title>`: the five named ones and numeric ones.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `<title>` of a `<page>` element, unescaped.
fn title_of(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(4096)];
    let open = find(head, b"<title>")? + 7;
    let close = open + find(&head[open..], b"</title>")?;
    Some(unescape(std::str::from_utf8(&head[open..close]).ok()?))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What a connection is doing.
#[derive(PartialEq, Clone, Copy)]
enum State {
    Idle,
    Writing,
    Reading,
}

/// The head of an answer being read.
struct Head {
    status: u16,
    length: usize,
    etag: Option<String>,
    keep: bool,
}

/// A transaction in progress: the row fetched and how often it was refused.
struct Txn {
    title: String,
    start: u64,
    end: u64,
    refused: u32,
    wiki: bool,
}

struct Conn {
    stream: Option<TcpStream>,
    state: State,
    req: Vec<u8>,
    written: usize,
    buf: Vec<u8>,
    head: Option<Head>,
    kind: u8,
    due: Instant,
    wiki: bool,
    txn: Option<Txn>,
}

#[derive(Clone, Copy)]
struct Record {
    t_end: f64,
    kind: u8,
    status: u16,
    outcome: &'static str,
    latency_us: u64,
    bytes: u64,
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The next request of a transaction, or its end.
enum Next {
    Get { kind: u8, path: String, extra: String },
    Done,
}

struct Client {
    args: Args,
    cum: Vec<f64>,
    rng: Rng,
    poll: Poll,
    conns: Vec<Conn>,
    records: Vec<Record>,
    lag_us: Vec<u64>,
}

impl Client {
    fn record(&mut self, kind: u8, status: u16, outcome: &'static str, due: Instant, bytes: usize) {
        let latency_us = Instant::now().saturating_duration_since(due).as_micros() as u64;
        self.records.push(Record {
            t_end: unix_now(),
            kind,
            status,
            outcome,
            latency_us,
            bytes: bytes as u64,
        });
    }

    fn pick_prefix(&mut self) -> String {
        let total = *self.cum.last().expect("prefixes");
        let x = self.rng.unit() * total;
        let i = self.cum.partition_point(|&c| c < x).min(self.args.prefixes.len() - 1);
        self.args.prefixes[i].clone()
    }

    /// Starts transaction `k` (due at `due`) on idle connection `c`.
    fn start(&mut self, c: usize, k: u64, due: Instant) {
        let prefix = self.pick_prefix();
        let every = self.args.wiki_every;
        let conn = &mut self.conns[c];
        conn.wiki = every > 0 && k % every == every - 1;
        conn.txn = None;
        let path = format!("/offsets/{}?limit=10", quote(&prefix));
        self.send(c, b'o', &path, "", due);
    }

    fn send(&mut self, c: usize, kind: u8, path: &str, extra: &str, due: Instant) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}\r\n", self.args.host).into_bytes();
        let conn = &mut self.conns[c];
        conn.req = req;
        conn.written = 0;
        conn.kind = kind;
        conn.due = due;
        conn.buf.clear();
        conn.head = None;
        conn.state = State::Writing;
        if conn.stream.is_none() {
            match TcpStream::connect(self.args.addr) {
                Ok(mut s) => {
                    let _ = s.set_nodelay(true);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if self.poll.registry().register(&mut s, Token(c), interest).is_err() {
                        return self.fail(c, false);
                    }
                    self.conns[c].stream = Some(s);
                }
                Err(_) => return self.fail(c, false),
            }
        }
        self.flush(c);
    }

    /// Writes what is left of the request.
    fn flush(&mut self, c: usize) {
        let conn = &mut self.conns[c];
        let Some(stream) = conn.stream.as_mut() else { return };
        while conn.written < conn.req.len() {
            match stream.write(&conn.req[conn.written..]) {
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.fail(c, false),
            }
        }
        conn.state = State::Reading;
    }

    fn drop_stream(&mut self, c: usize) {
        if let Some(mut s) = self.conns[c].stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
        }
    }

    /// The connection failed before the whole answer (or timed out).
    fn fail(&mut self, c: usize, timeout: bool) {
        let conn = &self.conns[c];
        let (status, length) = conn.head.as_ref().map_or((0, 0), |h| (h.status, h.length));
        let outcome = if timeout {
            "timeout"
        } else if length > LARGE {
            "cut"
        } else {
            "conn"
        };
        let (kind, due) = (conn.kind, conn.due);
        self.record(kind, status, outcome, due, length);
        self.drop_stream(c);
        self.done(c);
    }

    fn done(&mut self, c: usize) {
        let conn = &mut self.conns[c];
        conn.state = State::Idle;
        conn.txn = None;
    }

    /// Reads what the socket has; on a whole answer, goes on with the
    /// transaction.
    fn readable(&mut self, c: usize, chunk: &mut [u8]) {
        loop {
            let conn = &mut self.conns[c];
            let Some(stream) = conn.stream.as_mut() else { return };
            match stream.read(chunk) {
                Ok(0) => {
                    if conn.state == State::Idle {
                        // An idle kept-alive connection closed by the
                        // server: nothing was asked on it.
                        return self.drop_stream(c);
                    }
                    return self.fail(c, false);
                }
                Ok(n) => {
                    if conn.state == State::Idle {
                        return self.drop_stream(c); // bytes nobody asked for
                    }
                    conn.buf.extend_from_slice(&chunk[..n]);
                    if self.parse(c) {
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    if self.conns[c].state == State::Idle {
                        return self.drop_stream(c);
                    }
                    return self.fail(c, false);
                }
            }
        }
    }

    /// Parses the buffer; true once an answer was complete and handled.
    fn parse(&mut self, c: usize) -> bool {
        let conn = &mut self.conns[c];
        if conn.head.is_none() {
            let Some(at) = find(&conn.buf, b"\r\n\r\n") else { return false };
            let text = String::from_utf8_lossy(&conn.buf[..at]).into_owned();
            let mut lines = text.split("\r\n");
            let status =
                lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
            let mut head = Head { status, length: 0, etag: None, keep: true };
            for line in lines {
                let Some((name, value)) = line.split_once(':') else { continue };
                let value = value.trim();
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => head.length = value.parse().unwrap_or(0),
                    "etag" => head.etag = Some(value.to_string()),
                    "connection" => head.keep = !value.eq_ignore_ascii_case("close"),
                    // nginx passes on the replicas' Content-Length: a
                    // chunked answer would be a change worth noticing.
                    "transfer-encoding" => head.keep = false,
                    _ => {}
                }
            }
            conn.buf.drain(..at + 4);
            conn.head = Some(head);
        }
        let length = conn.head.as_ref().map_or(0, |h| h.length);
        if conn.buf.len() < length {
            return false;
        }
        let head = conn.head.take().expect("parsed above");
        let body = std::mem::take(&mut conn.buf);
        let (kind, due) = (conn.kind, conn.due);
        conn.state = State::Idle;
        if !head.keep {
            self.drop_stream(c);
        }
        let next = self.answered(c, kind, due, &head, &body);
        self.conns[c].buf = body;
        self.conns[c].buf.clear();
        match next {
            Next::Get { kind, path, extra } => self.send(c, kind, &path, &extra, Instant::now()),
            Next::Done => self.done(c),
        }
        true
    }

    /// Checks an answer; says what the transaction does next.
    fn answered(&mut self, c: usize, kind: u8, due: Instant, head: &Head, body: &[u8]) -> Next {
        let status = head.status;
        let verdict = |me: &mut Self, outcome| {
            me.record(kind, status, outcome, due, body.len());
            Next::Done
        };
        if status >= 500 {
            return verdict(self, "e5xx");
        }
        match kind {
            b'o' | b'r' => {
                if status != 200 {
                    return verdict(self, "non2xx");
                }
                let Ok(rows) = serde_json::from_slice::<Vec<(String, u64, u64)>>(body) else {
                    return verdict(self, "wrong");
                };
                let (title, start, end) = if kind == b'o' {
                    if rows.is_empty() {
                        return verdict(self, "ok");
                    }
                    rows[self.rng.below(rows.len())].clone()
                } else {
                    // The title is in both dumps: it must be found again.
                    let want = &self.conns[c].txn.as_ref().expect("a txn").title;
                    match rows.into_iter().next() {
                        Some(row) if &row.0 == want => row,
                        _ => return verdict(self, "wrong"),
                    }
                };
                self.record(kind, status, "ok", due, body.len());
                let etag = head.etag.clone().unwrap_or_else(|| "*".into());
                let refused = self.conns[c].txn.as_ref().map_or(0, |t| t.refused);
                let wiki = self.conns[c].wiki;
                let fresh = if kind == b'r' { "Cache-Control: no-cache\r\n" } else { "" };
                let extra = format!("Range: bytes={start}-{end}\r\nIf-Match: {etag}\r\n{fresh}");
                self.conns[c].txn = Some(Txn { title, start, end, refused, wiki });
                Next::Get { kind: b'x', path: "/xml".into(), extra }
            }
            b'x' => {
                let txn = self.conns[c].txn.as_mut().expect("a txn");
                match status {
                    412 => {
                        txn.refused += 1;
                        let gave_up = txn.refused > MAX_412;
                        let path = format!("/offsets/{}?limit=1", quote(&txn.title));
                        self.record(kind, status, "412", due, body.len());
                        if gave_up {
                            return verdict(self, "gaveup");
                        }
                        Next::Get { kind: b'r', path, extra: "Cache-Control: no-cache\r\n".into() }
                    }
                    206 => {
                        let good = body.len() as u64 == txn.end - txn.start + 1
                            && body.starts_with(b"<page>")
                            && body.ends_with(b"</page>")
                            && title_of(body).as_deref() == Some(txn.title.as_str());
                        let next = if good && txn.wiki {
                            Next::Get {
                                kind: b'w',
                                path: format!("/wiki/{}?redirect=no", quote(&txn.title)),
                                extra: String::new(),
                            }
                        } else {
                            Next::Done
                        };
                        self.record(kind, status, if good { "ok" } else { "wrong" }, due, body.len());
                        next
                    }
                    _ => verdict(self, "non2xx"),
                }
            }
            _ => {
                if status != 200 {
                    return verdict(self, "non2xx");
                }
                let title = &self.conns[c].txn.as_ref().expect("a txn").title;
                let good = body.trim_ascii_start().starts_with(b"<page>")
                    && title_of(body).as_deref() == Some(title.as_str());
                verdict(self, if good { "ok" } else { "wrong" })
            }
        }
    }
}

fn main() -> ExitCode {
    let args = parse_args();
    // Zipf (s = 1) popularity over the prefixes, as cumulative weights.
    let mut cum = Vec::with_capacity(args.prefixes.len());
    let mut total = 0.0;
    for i in 0..args.prefixes.len() {
        total += 1.0 / (i + 1) as f64;
        cum.push(total);
    }
    let per_txn = 2.0 + if args.wiki_every > 0 { 1.0 / args.wiki_every as f64 } else { 0.0 };
    let interval = Duration::from_secs_f64(per_txn / args.rate);
    // Runs until standard input closes.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            stop.store(true, Ordering::SeqCst);
        });
    }
    let conns = (0..args.conns)
        .map(|_| Conn {
            stream: None,
            state: State::Idle,
            req: Vec::new(),
            written: 0,
            buf: Vec::new(),
            head: None,
            kind: b'o',
            due: Instant::now(),
            wiki: false,
            txn: None,
        })
        .collect();
    let mut client = Client {
        rng: Rng(args.seed.wrapping_mul(0x1000_0000_01B3)),
        args,
        cum,
        poll: Poll::new().expect("epoll"),
        conns,
        records: Vec::new(),
        lag_us: Vec::new(),
    };
    let mut events = Events::with_capacity(1024);
    let mut chunk = vec![0u8; 256 << 10];
    // Transactions due and not yet started (every connection busy).
    let mut waiting: VecDeque<(u64, Instant)> = VecDeque::new();
    let t0 = Instant::now() + Duration::from_millis(20);
    let (mut k, mut next_due) = (0u64, t0);
    let mut last_sweep = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while next_due <= now {
            waiting.push_back((k, next_due));
            k += 1;
            next_due = t0 + interval.mul_f64(k as f64);
        }
        for c in 0..client.conns.len() {
            if waiting.is_empty() {
                break;
            }
            if client.conns[c].state == State::Idle {
                let (txn, due) = waiting.pop_front().expect("not empty");
                client.lag_us.push(now.saturating_duration_since(due).as_micros() as u64);
                client.start(c, txn, due);
            }
        }
        // Sleep until the next transaction is due. mio rounds the timeout
        // up to epoll's millisecond: a transaction may start up to 1 ms
        // late (counted in its latency, and in late_p99_us), which costs
        // less than spinning for it would (the CPU is the cluster's).
        let timeout = next_due.saturating_duration_since(now).min(Duration::from_millis(50));
        if let Err(e) = client.poll.poll(&mut events, Some(timeout)) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            eprintln!("drill-client: poll: {e}");
            return ExitCode::from(1);
        }
        for ev in events.iter() {
            let c = ev.token().0;
            if ev.is_writable() && client.conns[c].state == State::Writing {
                client.flush(c);
            }
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                client.readable(c, &mut chunk);
            }
        }
        if now.duration_since(last_sweep) > Duration::from_millis(500) {
            last_sweep = now;
            for c in 0..client.conns.len() {
                let conn = &client.conns[c];
                if conn.state != State::Idle && now.saturating_duration_since(conn.due) > TIMEOUT {
                    client.fail(c, true);
                }
            }
        }
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(&client.args.out).expect("--out"));
    for r in &client.records {
        writeln!(
            out,
            "{:.6} {} {} {} {} {}",
            r.t_end, r.kind as char, r.status, r.outcome, r.latency_us, r.bytes
        )
        .expect("write --out");
    }
    out.flush().expect("write --out");
    let lags = &mut client.lag_us;
    lags.sort_unstable();
    let late_p99 = lags.get(lags.len() * 99 / 100).copied().unwrap_or(0);
    eprintln!(
        "{{\"txns\": {k}, \"requests\": {}, \"waiting_at_end\": {}, \"late_p99_us\": {late_p99}}}",
        client.records.len(),
        waiting.len()
    );
    ExitCode::SUCCESS
}
