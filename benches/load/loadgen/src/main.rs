//! `wikidex-loadgen`: a small wrk2-style HTTP/1.1 load generator for the load
//! kit, for when `wrk2` is not installed. One thread (pin it with taskset),
//! keep-alive connections, GET requests picked at random from a file, each
//! with its own path and extra headers (oha cannot vary headers, and /xml needs
//! a different `Range` per request).
//!
//! With `-R RATE` it is open-loop like wrk2: connection k of C sends its j-th
//! request at `t0 + (k + j*C) / RATE`, and latency is measured from that
//! *scheduled* time, so a server stall is charged to every request it delayed
//! (no coordinated omission). A connection still busy at its next due time
//! sends as soon as it is free; its lateness is part of the latency. With
//! `-R 0` it is closed-loop (as fast as the server answers, like wrk).
//!
//! ```text
//! loadgen --addr 127.0.0.1:8080 (--path /plaintext | --requests FILE)
//!         [-c 64] [-d 20] [-R 0] [--seed 1] [--latency]
//! ```
//! FILE: one request a line, `PATH` optionally followed by TAB-separated
//! headers (`/xml<TAB>Range: bytes=0-4095`).
//!
//! Prints one `RESULT key=value …` line (latencies in microseconds, the same
//! keys as the kit's wrk Lua `done()`), plus `svc_*` (time from the actual
//! send, i.e. without the schedule correction) and `late_p99_us` (how late the
//! generator itself sent: if that is large, the generator was the bottleneck).
//! `--latency` first prints the corrected latencies' whole percentile
//! distribution as `wrk2 --latency` does (HdrHistogram's "Detailed Percentile
//! spectrum", milliseconds), for `benches/load/chart.py`.

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    conns: usize,
    duration: Duration,
    rate: f64,
    seed: u64,
    latency: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen --addr HOST:PORT (--path PATH | --requests FILE) [-c CONNS] [-d SECS] [-R RATE] [--seed N] [--latency]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let (mut addr, mut path, mut file) = (None, None, None);
    let (mut conns, mut secs, mut rate, mut seed, mut latency) = (64usize, 10f64, 0f64, 1u64, false);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--addr" => addr = Some(val()),
            "--path" => path = Some(val()),
            "--requests" => file = Some(val()),
            "-c" => conns = val().parse().unwrap_or_else(|_| usage()),
            "-d" => secs = val().trim_end_matches('s').parse().unwrap_or_else(|_| usage()),
            "-R" => rate = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            "--latency" => latency = true,
            _ => usage(),
        }
    }
    let addr_text = addr.unwrap_or_else(|| usage());
    let addr: SocketAddr = addr_text.parse().unwrap_or_else(|_| usage());
    let lines: Vec<String> = match (path, file) {
        (Some(p), None) => vec![p],
        (None, Some(f)) => std::fs::read_to_string(&f)
            .unwrap_or_else(|e| {
                eprintln!("loadgen: {f}: {e}");
                std::process::exit(2)
            })
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        _ => usage(),
    };
    if lines.is_empty() || conns == 0 || !(secs > 0.0) || rate < 0.0 {
        usage();
    }
    let requests = lines
        .iter()
        .map(|line| {
            let mut parts = line.split('\t');
            let path = parts.next().unwrap_or("/");
            let mut r = format!("GET {path} HTTP/1.1\r\nHost: {addr_text}\r\n");
            for h in parts {
                r.push_str(h);
                r.push_str("\r\n");
            }
            r.push_str("\r\n");
            r.into_bytes()
        })
        .collect();
    Args { addr, requests, conns, duration: Duration::from_secs_f64(secs), rate, seed, latency }
}

#[derive(PartialEq)]
enum State {
    Idle,
    Writing,
    Reading,
}

struct Conn {
    stream: TcpStream,
    state: State,
    req: usize,
    written: usize,
    head: Vec<u8>,
    head_done: bool,
    status: u16,
    body_left: usize,
    due: Instant,
    sent: Instant,
}

#[derive(Default)]
struct Counts {
    done: u64,
    bytes: u64,
    connect_err: u64,
    read_err: u64,
    write_err: u64,
    status_err: u64,
}

fn content_length(head: &[u8]) -> Option<usize> {
    for line in head.split(|&b| b == b'\n') {
        if line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:") {
            let v = std::str::from_utf8(&line[15..]).ok()?.trim();
            return v.parse().ok();
        }
        if line.len() > 18 && line[..18].eq_ignore_ascii_case(b"transfer-encoding:") {
            return None;
        }
    }
    Some(0)
}

fn connect(addr: SocketAddr, poll: &Poll, token: Token) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    poll.registry().register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
    Ok(s)
}

fn main() -> ExitCode {
    let args = parse_args();
    let c = args.conns;
    let closed_loop = args.rate == 0.0;
    // Per-connection interval between scheduled sends.
    let interval = if closed_loop { Duration::ZERO } else { Duration::from_secs_f64(c as f64 / args.rate) };
    let mut poll = Poll::new().expect("epoll");
    let mut events = Events::with_capacity(1024);
    let hist = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let (mut lat, mut svc, mut late) = (hist(), hist(), hist());
    let mut counts = Counts::default();
    let mut rng = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next_req = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };

    let t0 = Instant::now() + Duration::from_millis(20);
    let end = t0 + args.duration;
    let mut conns = Vec::with_capacity(c);
    let mut heap = BinaryHeap::new();
    for k in 0..c {
        let stream = match connect(args.addr, &poll, Token(k)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("loadgen: connect {}: {e}", args.addr);
                return ExitCode::from(1);
            }
        };
        let due = if closed_loop { t0 } else { t0 + Duration::from_secs_f64(k as f64 / args.rate) };
        conns.push(Conn {
            stream,
            state: State::Idle,
            req: 0,
            written: 0,
            head: Vec::with_capacity(512),
            head_done: false,
            status: 0,
            body_left: 0,
            due,
            sent: due,
        });
        heap.push(Reverse((due, k)));
    }
    let mut buf = vec![0u8; 256 << 10];
    let one_ms = Duration::from_millis(1);

    'run: loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Start every request that is due.
        while let Some(&Reverse((due, k))) = heap.peek() {
            if due > now {
                break;
            }
            heap.pop();
            let conn = &mut conns[k];
            conn.req = next_req(args.requests.len());
            conn.written = 0;
            conn.state = State::Writing;
            conn.sent = now;
            conn.head.clear();
            conn.head_done = false;
            if !closed_loop {
                let _ = late.record((now - due).as_micros().max(1) as u64);
            }
            flush(conn, &args.requests, &mut counts);
        }
        // Sleep until the next due send, spinning for the last millisecond
        // (epoll's timeout has millisecond resolution).
        let timeout = match heap.peek() {
            Some(&Reverse((due, _))) if due > now + one_ms + one_ms => due - now - one_ms,
            Some(_) => Duration::ZERO,
            None => Duration::from_millis(5).min(end.saturating_duration_since(now)),
        };
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            eprintln!("loadgen: poll: {e}");
            break 'run;
        }
        for ev in events.iter() {
            let k = ev.token().0;
            let conn = &mut conns[k];
            if ev.is_writable() && conn.state == State::Writing {
                flush(conn, &args.requests, &mut counts);
            }
            if !(ev.is_readable() || ev.is_read_closed() || ev.is_error()) {
                continue;
            }
            let mut reconnect = false;
            loop {
                match conn.stream.read(&mut buf) {
                    Ok(0) => {
                        reconnect = true;
                        break;
                    }
                    Ok(n) => {
                        counts.bytes += n as u64;
                        let mut data = &buf[..n];
                        if conn.state != State::Reading && conn.state != State::Writing {
                            counts.read_err += 1; // unsolicited bytes
                            continue;
                        }
                        if !conn.head_done {
                            let from = conn.head.len().saturating_sub(3);
                            conn.head.extend_from_slice(data);
                            let Some(p) = find(&conn.head[from..], b"\r\n\r\n") else { continue };
                            let head_end = from + p + 4;
                            conn.status = std::str::from_utf8(conn.head.get(9..12).unwrap_or(b"000"))
                                .ok()
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(0);
                            let Some(len) = content_length(&conn.head[..head_end]) else {
                                eprintln!("loadgen: responses without Content-Length are not supported");
                                return ExitCode::from(1);
                            };
                            let extra = conn.head.len() - head_end;
                            conn.head_done = true;
                            conn.body_left = len;
                            data = &[];
                            if extra > len {
                                counts.read_err += 1;
                            }
                            conn.body_left = len.saturating_sub(extra);
                        }
                        let take = data.len().min(conn.body_left);
                        conn.body_left -= take;
                        if conn.body_left == 0 {
                            let done = Instant::now();
                            if done <= end {
                                counts.done += 1;
                                if conn.status >= 400 || conn.status < 100 {
                                    counts.status_err += 1;
                                }
                                let from = if closed_loop { conn.sent } else { conn.due };
                                let _ = lat.record((done - from).as_micros().max(1) as u64);
                                let _ = svc.record((done - conn.sent).as_micros().max(1) as u64);
                            }
                            conn.state = State::Idle;
                            conn.due = if closed_loop { done } else { conn.due + interval };
                            heap.push(Reverse((conn.due, k)));
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        reconnect = true;
                        break;
                    }
                }
            }
            if reconnect {
                // Closed or reset by the server: count it if a response was
                // owed, reconnect, keep the schedule.
                if conn.state != State::Idle {
                    counts.read_err += 1;
                }
                let _ = poll.registry().deregister(&mut conn.stream);
                match connect(args.addr, &poll, Token(k)) {
                    Ok(s) => conn.stream = s,
                    Err(_) => counts.connect_err += 1,
                }
                if conn.state != State::Idle {
                    conn.state = State::Idle;
                    heap.push(Reverse((conn.due.max(Instant::now()), k)));
                }
            }
        }
    }
    let incomplete = conns.iter().filter(|c| c.state != State::Idle).count();
    let secs = args.duration.as_secs_f64();
    let q = |h: &Histogram<u64>, p: f64| h.value_at_quantile(p / 100.0);
    if args.latency {
        print_spectrum(&lat);
    }
    println!(
        "RESULT requests={} duration_s={:.3} rps={:.1} mbps={:.1} mean_us={:.1} p50_us={} p90_us={} p99_us={} p999_us={} p9999_us={} max_us={} connect_err={} read_err={} write_err={} status_err={} timeout_err=0 target_rps={} incomplete={} svc_p50_us={} svc_p99_us={} svc_p999_us={} late_p99_us={} late_max_us={}",
        counts.done,
        secs,
        counts.done as f64 / secs,
        counts.bytes as f64 / secs / 1e6,
        lat.mean(),
        q(&lat, 50.0),
        q(&lat, 90.0),
        q(&lat, 99.0),
        q(&lat, 99.9),
        q(&lat, 99.99),
        lat.max(),
        counts.connect_err,
        counts.read_err,
        counts.write_err,
        counts.status_err,
        args.rate,
        incomplete,
        q(&svc, 50.0),
        q(&svc, 99.0),
        q(&svc, 99.9),
        q(&late, 99.0),
        late.max(),
    );
    ExitCode::SUCCESS
}

/// Prints `h` (microseconds) as `wrk2 --latency` prints its "Detailed
/// Percentile spectrum": HdrHistogram's classic percentile distribution,
/// five steps per halving of the remaining percentile, values in ms.
fn print_spectrum(h: &Histogram<u64>) {
    println!("  Detailed Percentile spectrum:");
    println!("{:>12} {:>12} {:>12} {:>12}\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let p = v.quantile_iterated_to();
        let inverse = if p < 1.0 { format!("{:12.2}", 1.0 / (1.0 - p)) } else { format!("{:>12}", "inf") };
        println!("{:12.3} {:12.6} {:12} {inverse}", v.value_iterated_to() as f64 / 1000.0, p, total);
    }
    println!("#[Mean    = {:12.3}, StdDeviation   = {:12.3}]", h.mean() / 1000.0, h.stdev() / 1000.0);
    println!("#[Max     = {:12.3}, Total count    = {:12}]", h.max() as f64 / 1000.0, h.len());
}

/// Writes what is left of the connection's request; moves it to Reading when
/// the whole request is out.
fn flush(conn: &mut Conn, requests: &[Vec<u8>], counts: &mut Counts) {
    let req = &requests[conn.req];
    while conn.written < req.len() {
        match conn.stream.write(&req[conn.written..]) {
            Ok(n) => conn.written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::NotConnected => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => {
                counts.write_err += 1;
                return;
            }
        }
    }
    conn.state = State::Reading;
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
