//! Reloading in place (`server/src/reload.rs`): SIGHUP opens the index and
//! dump that the server's paths now lead to and serves them from the next
//! request on; a release that fails to open is refused and the old one goes
//! on; `deploy/update-dump.sh` switches a replica that way and rolls back a
//! refusal. See: issue 22 (dump updates).

use crate::util::{Server, bin, repo, wikidex};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A replica's data directory as `deploy/update-dump.sh` lays it out:
/// `ROOT/current -> releases/A`, and releases A and B of the same titles at
/// other offsets (`wikidex gen` at two text lengths), each with its dump
/// and index.
fn replica_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    release(root.path(), "A", "100");
    release(root.path(), "B", "85");
    point(root.path(), "releases/A");
    root
}

/// `ROOT/releases/NAME`: the dump at `--text-percent percent`, indexed.
fn release(root: &Path, name: &str, percent: &str) {
    let rel = root.join("releases").join(name);
    std::fs::create_dir_all(&rel).unwrap();
    let dump = rel.join("dump.xml");
    let (dump, index) = (dump.to_str().unwrap(), rel.join("index"));
    let out = wikidex(&["gen", "--pages", "3000", "--seed", "7", "--text-percent", percent, "-o", dump]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = wikidex(&["index", dump, "-o", index.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `ROOT/current -> target`, in one rename as update-dump.sh does it.
fn point(root: &Path, target: &str) {
    let next = root.join(".current.next");
    let _ = std::fs::remove_file(&next);
    std::os::unix::fs::symlink(target, &next).unwrap();
    std::fs::rename(&next, root.join("current")).unwrap();
}

/// `wikidex serve` on `ROOT/current`, with `ROOT/current.next` as the
/// next release, as the systemd unit runs it.
fn serve(root: &Path) -> Server {
    let (current, next) = (root.join("current"), root.join("current.next"));
    Server::start(&[
        "--index",
        current.join("index").to_str().unwrap(),
        "--dump",
        current.join("dump.xml").to_str().unwrap(),
        "--next-index",
        next.join("index").to_str().unwrap(),
    ])
}

fn stats(s: &Server) -> serde_json::Value {
    s.get("/stats").json()
}

/// The index directory `/stats` says is served.
fn served(s: &Server) -> PathBuf {
    PathBuf::from(stats(s)["release"]["index"].as_str().expect("release.index"))
}

/// Waits until `done(stats)` holds, for up to 10 s.
fn wait_for(s: &Server, what: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&stats(s)) {
        assert!(Instant::now() < deadline, "{what}: /stats says {}", stats(s));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `/xml` of `row`'s bytes with `If-Match: tag`.
fn fetch(s: &Server, row: &serde_json::Value, tag: &str) -> crate::util::Resp {
    let range = format!("bytes={}-{}", row[1], row[2].as_u64().unwrap() - 1);
    s.get_with("/xml", &[("Range", &range), ("If-Match", tag)])
}

/// `/offsets/{prefix}`'s first row and the answer's ETag.
fn first_row(s: &Server, prefix: &str) -> (serde_json::Value, String) {
    let r = s.get(&format!("/offsets/{prefix}?limit=1"));
    assert_eq!(r.status, 200);
    (r.json()[0].clone(), r.header("etag").expect("an ETag").to_string())
}

#[test]
fn a_hangup_serves_the_release_the_link_now_names() {
    let root = replica_root();
    let s = serve(root.path());
    let (row_a, tag_a) = first_row(&s, "B");
    assert_eq!(served(&s), root.path().join("releases/A/index").canonicalize().unwrap());
    let requests_before = stats(&s)["requests"]["offsets"].as_u64().unwrap();
    // A connection kept open across the reload, as a balancer keeps one.
    let kept = TcpStream::connect(&s.addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut kept_reader = BufReader::new(kept.try_clone().unwrap());

    point(root.path(), "releases/B");
    assert_eq!(first_row(&s, "B").0, row_a, "the link alone changes nothing");
    s.signal("HUP");
    wait_for(&s, "the reload", |st| st["reloads"]["done"] == 1);
    assert_eq!(served(&s), root.path().join("releases/B/index").canonicalize().unwrap());
    let (row_b, tag_b) = first_row(&s, "B");
    assert_eq!(row_b[0], row_a[0], "the same title");
    assert_ne!(row_b[1], row_a[1], "at its offset in dump B");
    assert_ne!(tag_b, tag_a);
    let st = stats(&s);
    assert_eq!(st["release"]["etag"].as_str(), Some(tag_b.as_str()));
    assert!(st["requests"]["offsets"].as_u64().unwrap() > requests_before, "the counters carry over");
    assert_eq!(st["reloads"]["refused"], 0);
    assert!(s.get("/metrics").text().contains("wikidex_reloads_total{result=\"done\"} 1\n"));

    // Offsets of either dump fetched with that dump's tag: the page, from
    // that dump (A is kept until the next reload); without a tag, B's bytes.
    let fetch = |row: &serde_json::Value, tag: &str| fetch(&s, row, tag);
    let title = row_b[0].as_str().unwrap().replace('&', "&amp;");
    let is_page =
        |r: &crate::util::Resp| r.text().starts_with(&format!("<page>\n    <title>{title}</title>"));
    for (row, tag) in [(&row_a, &tag_a), (&row_b, &tag_b)] {
        let page = fetch(row, tag);
        assert_eq!(page.status, 206, "{tag}");
        assert!(is_page(&page), "{tag}: {}", page.text());
        assert_eq!(page.header("etag"), Some(tag.as_str()), "the bytes of the dump the tag names");
    }
    assert!(!is_page(&fetch(&row_a, "*")), "dump A's offsets in dump B are another page's bytes");
    assert_eq!(stats(&s)["previous_release"]["etag"].as_str(), Some(tag_a.as_str()));

    // The connection opened before the reload is answered from B.
    (&kept).write_all(b"GET /offsets/B?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        kept_reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut body = vec![0; length];
    kept_reader.read_exact(&mut body).unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(rows[0], row_b);

    // One more reload, to a third dump: B is kept, A no longer, and A's
    // offsets get a 412 naming the dump served.
    release(root.path(), "C", "70");
    point(root.path(), "releases/C");
    s.signal("HUP");
    wait_for(&s, "the second reload", |st| st["reloads"]["done"] == 2);
    let (_, tag_c) = first_row(&s, "B");
    assert_eq!(stats(&s)["previous_release"]["etag"].as_str(), Some(tag_b.as_str()));
    assert!(is_page(&fetch(&row_b, &tag_b)));
    assert!(fetch(&row_a, &tag_a).assert_error(412).contains(&tag_c));
}

#[test]
fn a_release_that_fails_to_open_is_refused_and_the_old_one_goes_on() {
    let root = replica_root();
    let s = serve(root.path());
    let (row_a, tag_a) = first_row(&s, "B");
    // A release whose index is missing, then one whose index is another
    // dump's: both refused, with the reason.
    for (broken, why) in
        [("releases/none", "failed to find the index directory"), ("releases/mixed", "changed")]
    {
        if broken == "releases/mixed" {
            let mixed = root.path().join("releases/mixed");
            std::fs::create_dir_all(&mixed).unwrap();
            std::os::unix::fs::symlink("../A/index", mixed.join("index")).unwrap();
            std::os::unix::fs::symlink("../B/dump.xml", mixed.join("dump.xml")).unwrap();
        }
        let refused_before = stats(&s)["reloads"]["refused"].as_u64().unwrap();
        point(root.path(), broken);
        s.signal("HUP");
        wait_for(&s, broken, |st| st["reloads"]["refused"] == refused_before + 1);
        let st = stats(&s);
        let reason = st["reloads"]["last_refusal"].as_str().unwrap();
        assert!(reason.contains(why), "{broken}: {reason}");
        assert_eq!(st["reloads"]["done"], 0);
        assert_eq!(served(&s), root.path().join("releases/A/index").canonicalize().unwrap());
        assert_eq!(s.get("/healthz").status, 200);
        assert_eq!(first_row(&s, "B"), (row_a.clone(), tag_a.clone()), "{broken}: still dump A");
    }
    let log = s.log.lock().unwrap().clone();
    assert!(log.contains("reload refused, still serving"), "{log}");
}

/// `deploy/update-dump.sh --reload CMD [EXTRA…]` on `root`'s replica;
/// returns its exit code and stderr.
fn update_dump(root: &Path, s: &Server, release: &str, reload: &str, extra: &[&str]) -> (i32, String) {
    let wikidex = Path::new(bin());
    let path =
        format!("{}:{}", wikidex.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .arg(repo().join("deploy/update-dump.sh"))
        .args(["--reload", reload, "--health", &format!("http://{}", s.addr), "--timeout", "20"])
        .args(extra)
        .arg(root)
        .arg(release)
        .env("PATH", path)
        .output()
        .expect("run update-dump.sh");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn update_dump_reloads_the_replica_and_rolls_back_a_release_it_refuses() {
    assert!(Command::new("curl").arg("--version").output().is_ok(), "update-dump.sh needs curl");
    let root = replica_root();
    let s = serve(root.path());
    let hup = format!("kill -HUP {}", s.pid());
    let (row_a, tag_a) = first_row(&s, "B");
    let b_index = root.path().join("releases/B/index");
    let row_b = first_row(&Server::start(&["--index", b_index.to_str().unwrap()]), "B").0;
    let fetch = |row: &serde_json::Value, tag: &str| {
        let r = fetch(&s, row, tag);
        let title = row[0].as_str().unwrap().replace('&', "&amp;");
        assert!(r.status != 206 || r.text().contains(&format!("<title>{title}</title>")), "{}", r.text());
        r.status
    };

    // Prepared: B is offered as the next release; lookups still answer
    // from A, and fetches of either dump's offsets get their page.
    let (code, log) = update_dump(root.path(), &s, "B", &hup, &["--prepare-only"]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("offered"), "{log}");
    assert_eq!(std::fs::read_link(root.path().join("current.next")).unwrap(), Path::new("releases/B"));
    let next = &stats(&s)["next_release"];
    assert_eq!(next["index"].as_str().map(PathBuf::from), Some(b_index.canonicalize().unwrap()), "{next}");
    let tag_b = next["etag"].as_str().unwrap().to_string();
    assert_eq!(first_row(&s, "B"), (row_a.clone(), tag_a.clone()));
    assert_eq!((fetch(&row_a, &tag_a), fetch(&row_b, &tag_b)), (206, 206));

    // Switched: B is served, A is the previous release, nothing is next.
    // /stats read by a command, as from a container (compose.yaml).
    let stats_cmd = format!("bash {} --stats {}", repo().join("deploy/healthz.sh").display(), s.addr);
    let (code, log) = update_dump(root.path(), &s, "B", &hup, &["--stats-cmd", &stats_cmd]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("serving releases/B"), "{log}");
    assert_eq!(served(&s), b_index.canonicalize().unwrap());
    assert_eq!(std::fs::read_link(root.path().join("current")).unwrap(), Path::new("releases/B"));
    assert!(!root.path().join("current.next").exists());
    assert_eq!(stats(&s)["next_release"]["index"], serde_json::Value::Null);
    assert_eq!(first_row(&s, "B"), (row_b.clone(), tag_b.clone()));
    assert_eq!((fetch(&row_a, &tag_a), fetch(&row_b, &tag_b)), (206, 206));

    // Release C passes the checks, then loses its index before the reload
    // (as a disk could lose it). Offered, the server refuses it and the
    // script takes the offer back; switched to, the server refuses it and
    // the script points back to B. Each time B goes on.
    let c = root.path().join("releases/C");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::hard_link(root.path().join("releases/A/dump.xml"), c.join("dump.xml")).unwrap();
    let out =
        wikidex(&["index", c.join("dump.xml").to_str().unwrap(), "-o", c.join("index").to_str().unwrap()]);
    assert!(out.status.success());
    let sabotage = format!("mv {0}/index {0}/index.lost && {hup}", c.display());
    let (code, log) = update_dump(root.path(), &s, "C", &sabotage, &["--prepare-only"]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("the server refused it: ") && log.contains("releases/C was not offered"), "{log}");
    assert!(!root.path().join("current.next").exists(), "the offer is taken back");
    assert!(stats(&s)["next_release"]["refused"].is_string());
    assert_eq!(served(&s), b_index.canonicalize().unwrap());
    std::fs::rename(c.join("index.lost"), c.join("index")).unwrap();
    let (code, log) = update_dump(root.path(), &s, "C", &hup, &["--prepare-only"]);
    assert_eq!(code, 0, "{log}");
    let (code, log) = update_dump(root.path(), &s, "C", &sabotage, &[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("the server refused releases/C: "), "{log}");
    assert!(log.contains("back to releases/B"), "{log}");
    assert_eq!(std::fs::read_link(root.path().join("current")).unwrap(), Path::new("releases/B"));
    assert_eq!(served(&s), root.path().join("releases/B/index").canonicalize().unwrap());
    assert_eq!(s.get("/healthz").status, 200);
}
