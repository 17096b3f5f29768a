//! Shared test helpers: the binary, sample dumps, a server process on an
//! ephemeral port, an HTTP client, and an independent dump extractor.

#![allow(dead_code)]

use crate::raw_http::{Reply, get, one, read_reply};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The `wikidex` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wikidex")
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `wikidex ARGS` to completion.
pub fn wikidex(args: &[&str]) -> Output {
    Command::new(bin()).args(args).env("WIKIDEX_LOG", "warn").output().expect("run wikidex")
}

/// A directory that lives as long as the test process (shared fixtures).
fn shared_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir")).path()
}

/// The real enwiki excerpt from `../shared/data`, decompressed once.
pub fn real_excerpt() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let bz2 = repo().join("../shared/data/enwiki-sample.xml.bz2");
        let file = std::fs::File::open(&bz2).unwrap_or_else(|e| panic!("{}: {e}", bz2.display()));
        let mut xml = Vec::new();
        bzip2::read::MultiBzDecoder::new(file).read_to_end(&mut xml).expect("decompress excerpt");
        let out = shared_dir().join("enwiki-sample.xml");
        std::fs::write(&out, xml).expect("write excerpt");
        out
    })
    .clone()
}

/// Copies `dump` into a fresh directory and indexes it there; returns
/// (dir guard, dump path, index path).
pub fn indexed_copy(dump: &Path) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join(dump.file_name().unwrap());
    std::fs::copy(dump, &copy).expect("copy dump");
    let index = dir.path().join("index.wikidex");
    let out = wikidex(&["index", copy.to_str().unwrap(), "-o", index.to_str().unwrap()]);
    assert!(out.status.success(), "index failed: {}", String::from_utf8_lossy(&out.stderr));
    (dir, copy, index)
}

/// `xml` written as `d.xml` in a new temporary directory, for tests that
/// make their own small dump (keep the directory alive while it is used).
pub fn dump_file(xml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d.xml");
    std::fs::write(&dump, xml).unwrap();
    (dir, dump)
}

/// One page as an independent parser (quick-xml's streaming reader) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPage {
    pub title: String,
    pub start: u64,
    pub end: u64,
    pub ns: i32,
    pub id: u64,
    pub redirect: Option<String>,
}

/// Extracts every page of a dump with quick-xml's event reader — a different
/// technique from the indexer's tag scanner, to compare against.
pub fn extract_pages(xml: &[u8]) -> Vec<ExpectedPage> {
    use quick_xml::events::Event;
    use quick_xml::name::QName;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut pages = Vec::new();
    let mut current: Option<ExpectedPage> = None;
    let mut depth_in_page = 0usize;
    loop {
        let before = reader.buffer_position();
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().as_ref() == b"page" => {
                current = Some(ExpectedPage {
                    title: String::new(),
                    start: before,
                    end: 0,
                    ns: i32::MIN,
                    id: 0,
                    redirect: None,
                });
                depth_in_page = 0;
            }
            Event::Start(e) if current.is_some() => {
                depth_in_page += 1;
                let p = current.as_mut().unwrap();
                let name = e.name().as_ref().to_vec();
                if depth_in_page == 1 && (name == b"title" || name == b"ns" || name == b"id") {
                    let raw = reader.read_text(QName(&name)).expect("text");
                    depth_in_page -= 1;
                    let text = quick_xml::escape::unescape(&raw).expect("entities").into_owned();
                    match name.as_slice() {
                        b"title" => p.title = text,
                        b"ns" => p.ns = text.trim().parse().expect("ns"),
                        _ => p.id = text.trim().parse().expect("id"),
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == b"page" => {
                let mut p = current.take().expect("page open");
                p.end = reader.buffer_position() - 1;
                pages.push(p);
            }
            Event::End(_) if current.is_some() => depth_in_page -= 1,
            Event::Empty(e) if e.name().as_ref() == b"redirect" && current.is_some() => {
                let v = e.try_get_attribute("title").unwrap().expect("title attr");
                current.as_mut().unwrap().redirect = Some(v.unescape_value().unwrap().into_owned());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    pages
}

/// What `/wiki/{title}` should answer, by following redirects by title like
/// MediaWiki: `Ok((page, redirected))`, or `Err(status)`.
pub fn expected_wiki<'a>(
    by_title: &HashMap<&str, &'a ExpectedPage>,
    title: &str,
) -> Result<(&'a ExpectedPage, bool), u16> {
    let mut page = *by_title.get(title).ok_or(404u16)?;
    let mut seen = vec![page.start];
    let mut hops = 0;
    while let Some(target) = &page.redirect {
        let next = *by_title.get(target.as_str()).ok_or(404u16)?;
        hops += 1;
        if seen.contains(&next.start) || hops > 5 {
            return Err(508);
        }
        seen.push(next.start);
        page = next;
    }
    Ok((page, hops > 0))
}

/// Percent-encodes a title for a URL path (`encodeURIComponent`-like).
pub fn enc(title: &str) -> String {
    percent_encoding::utf8_percent_encode(title, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Spawns `command` so that it is killed when this test process exits, even
/// when its `Server` is never dropped (fixtures shared through statics).
///
/// Linux sends the parent-death signal when the *thread* that spawned the
/// child exits, and test threads come and go; so every child is spawned by
/// one thread that lives as long as the process.
fn spawn_tied_to_this_process(mut command: Command) -> Child {
    use std::os::unix::process::CommandExt;
    use std::sync::mpsc::{Sender, channel};
    type Request = (Command, Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<Sender<Request>>> = OnceLock::new();
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes one async-signal-safe system call (prctl).
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<Request>();
        std::thread::spawn(move || {
            for (mut command, reply) in rx {
                let _ = reply.send(command.spawn());
            }
        });
        Mutex::new(tx)
    });
    let (reply, answer) = channel();
    spawner.lock().unwrap().send((command, reply)).expect("spawner thread alive");
    answer.recv().expect("spawner answered").expect("spawn wikidex serve")
}

/// A running `wikidex serve` on an ephemeral port; killed on drop.
pub struct Server {
    child: Child,
    pub addr: String,
    pub base: String,
    pub log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a JSON error `{"error": "..."}` with `status`; returns the message.
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"), "{}", self.text());
        let v = self.json();
        let msg = v["error"].as_str().unwrap_or_else(|| panic!("no error field: {v}")).to_string();
        assert!(!msg.is_empty());
        msg
    }
}

impl Server {
    /// Starts `wikidex serve --bind 127.0.0.1:0 ARGS` and waits until it
    /// listens. Panics with its stderr if it exits instead. It stops with
    /// no drain (`WIKIDEX_DRAIN_SECS=0`), so tests that signal it wait only
    /// for its answers; `--drain-secs` in `args` overrides that.
    pub fn start(args: &[&str]) -> Server {
        Server::try_start(args).unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Like [`Server::start`], but returns the server's stderr if it exits.
    pub fn try_start(args: &[&str]) -> Result<Server, String> {
        let mut command = Command::new(bin());
        command
            .arg("serve")
            .args(["--bind", "127.0.0.1:0", "--workers", "2"])
            .args(args)
            .env("WIKIDEX_LOG", "info")
            .env("WIKIDEX_DRAIN_SECS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn_tied_to_this_process(command);
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("on http://") {
                    let addr = line[i + 10..].split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                return Ok(Server { child, base: format!("http://{addr}"), addr, log, agent });
            }
            if let Ok(Some(_)) = child.try_wait() {
                // Its stderr is closed once it has exited: the reader ends
                // with every line read (a fixed wait could miss them on a
                // busy machine).
                let _ = reader.join();
                return Err(log.lock().unwrap().clone());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!("timed out; log:\n{}", log.lock().unwrap()));
            }
        }
    }

    fn finish(mut res: ureq::http::Response<ureq::Body>) -> Resp {
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = res.body_mut().with_config().limit(u64::MAX).read_to_vec().unwrap_or_default();
        Resp { status, headers, body }
    }

    /// GET `path` (already encoded).
    pub fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[])
    }

    /// GET with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::finish(req.call().unwrap_or_else(|e| panic!("GET {path}: {e}")))
    }

    /// HEAD with extra headers.
    pub fn head_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.head(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::finish(req.call().unwrap_or_else(|e| panic!("HEAD {path}: {e}")))
    }

    /// POST an empty body.
    pub fn post(&self, path: &str) -> Resp {
        Self::finish(self.agent.post(format!("{}{path}", self.base)).send_empty().expect("POST"))
    }

    /// Sends raw bytes on a fresh connection and returns everything the server
    /// answers until it closes (or 5 s pass).
    pub fn raw(&self, request: &[u8]) -> String {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request).expect("send");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `INT`, …) without waiting.
    pub fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal}");
    }

    /// Is the process still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGTERM and waits for exit; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Servers for the raw-socket tests (`http_input`, `connections`,
// `dump_changes`, `drain`, `workers`)

/// `/healthz` answers 200 on a fresh connection.
pub fn assert_healthy(addr: &str, after: &str) {
    let r = one(addr, &get("/healthz"));
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"status":"ok"}"#), "after {after}");
}

/// A server over the real excerpt for the read-only request tests. Each test
/// starts its own (milliseconds): a server kept in a `static` would outlive
/// the test process, as statics are never dropped.
pub struct Fixture {
    pub server: Server,
    pub xml: Vec<u8>,
    pub titles: Vec<String>,
    _dir: tempfile::TempDir,
}

pub fn fixture() -> Fixture {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    let xml = std::fs::read(&dump).unwrap();
    let titles = extract_pages(&xml).into_iter().map(|p| p.title).collect();
    Fixture { server, xml, titles, _dir: dir }
}

/// A server of its own (for tests that load it or change its dump).
pub fn own_server(extra: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf, Server) {
    let (dir, dump, index) = indexed_copy(&real_excerpt());
    let mut args = vec!["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    (dir, dump, index, server)
}

/// A generated dump of about 20 MB, larger than a loopback connection's
/// socket buffers, indexed and served.
pub fn big_dump_server() -> (tempfile::TempDir, PathBuf, Vec<u8>, Server) {
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
pub fn xml_request(addr: &str, range: std::ops::RangeInclusive<usize>) -> (BufReader<TcpStream>, Reply) {
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
pub fn assert_answer_in_flight_completes(
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
