//! A dump that changes under a running server: touched, appended, written in
//! place, replaced, deleted or cut short in the middle of an answer (503s or
//! the open file's bytes, never a crash or wrong bytes); and a changed dump
//! refused at startup and by `wikidex verify`. The drill against a release
//! build is `benches/faults/dump_changes.sh`.

use crate::raw_http::{Reply, get, one, req, shorten};
use crate::util::{
    Server, assert_healthy, big_dump_server, dump_file, extract_pages, indexed_copy, own_server,
    real_excerpt, wikidex, xml_request,
};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

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
