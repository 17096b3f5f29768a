//! `deploy/`: each config checked by the tool that reads it (`nginx -t`,
//! `haproxy -c`, `systemd-analyze verify`), the balancers run for real in
//! front of real servers, the container's health check, and the readiness
//! the systemd unit waits for. See: issue 22 (packaging, load-balancer
//! configs).
//!
//! The tools are apt packages (`.ci/run` installs them). Like the browser
//! test, a test whose tool is missing fails under CI and explains itself
//! elsewhere.

use crate::raw_http::{Reply, read_reply};
use crate::util::{Server, bin, indexed_copy, repo};
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Does `tool ARG` run? If not: a failure under CI, a note elsewhere.
fn have(tool: &str, arg: &str, package: &str, test: &str) -> bool {
    let runs = Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success());
    if !runs {
        let msg = format!("{test} cannot run, missing: {tool} (apt-get install {package})");
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED {test}: {msg} (bash .ci/run installs it)");
    }
    runs
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `deploy/PATH` with each `(from, to)` replaced, written into `dir`.
fn substituted(dir: &Path, path: &str, subs: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(repo().join("deploy").join(path)).unwrap();
    for (from, to) in subs {
        assert!(text.contains(from), "deploy/{path} no longer contains {from:?}");
        text = text.replace(from, to);
    }
    let out = dir.join(Path::new(path).file_name().unwrap());
    std::fs::write(&out, text).unwrap();
    out
}

/// Runs `command`; returns whether it succeeded and everything it printed.
fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A GET of `path` on a new connection to `addr`, answered whole.
fn get(addr: &str, path: &str, headers: &str) -> Reply {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: wikidex\r\n{headers}Connection: close\r\n\r\n");
    (&stream).write_all(request.as_bytes()).unwrap();
    read_reply(&mut BufReader::new(&stream), false).unwrap_or_else(|| panic!("GET {path}: no answer"))
}

/// Waits until something accepts connections on `addr`.
fn wait_listening(addr: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(matches!(child.try_wait(), Ok(None)), "{addr}: the process exited");
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A balancer process, stopped (SIGTERM, then waited for) on drop.
struct Balancer(Child);

impl Drop for Balancer {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        if self.0.wait_timeout().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

trait WaitTimeout {
    fn wait_timeout(&mut self) -> Option<std::process::ExitStatus>;
}

impl WaitTimeout for Child {
    fn wait_timeout(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// deploy/nginx/*.conf in `dir`, in the http block of a main config of
/// ours (what the nginx image and Debian's nginx.conf do with conf.d/),
/// every path in `dir` and the given replica addresses, balancer and cache
/// ports. Returns the main config.
fn nginx_config(dir: &Path, replicas: [&str; 3], lb_port: u16, cache_port: u16, daemon: bool) -> PathBuf {
    let d = dir.display();
    let replicas_conf = substituted(
        dir,
        "nginx/replicas.conf",
        &[("wikidex1:8080", replicas[0]), ("wikidex2:8080", replicas[1]), ("wikidex3:8080", replicas[2])],
    );
    let lb = format!("listen 127.0.0.1:{lb_port} default_server;");
    let lb_conf = substituted(dir, "nginx/lb.conf", &[("listen 80 default_server;", &lb)]);
    let cache = format!("listen 127.0.0.1:{cache_port} default_server;");
    let cache_dir = format!("{d}/cache");
    let cache_conf = substituted(
        dir,
        "nginx/cache.conf",
        &[("listen 8081 default_server;", &cache), ("/var/cache/nginx/wikidex", &cache_dir)],
    );
    let main = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\ndaemon {};\nevents {{}}\nhttp {{\n\
         access_log {d}/access.log;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         include {};\ninclude {};\ninclude {};\n}}\n",
        if daemon { "on" } else { "off" },
        replicas_conf.display(),
        lb_conf.display(),
        cache_conf.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, main).unwrap();
    // nginx's workers drop root for `nobody` and must reach the cache.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `nginx -p DIR -e DIR/error.log -c CONF ARGS`: every path nginx opens is
/// in `dir`, so this runs unprivileged too.
fn nginx(dir: &Path, conf: &Path) -> Command {
    let mut command = Command::new("nginx");
    command.arg("-p").arg(dir).arg("-e").arg(dir.join("error.log")).arg("-c").arg(conf);
    command
}

#[test]
fn the_nginx_configs_pass_nginx_t() {
    if !have("nginx", "-v", "nginx", "the_nginx_configs_pass_nginx_t") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let replicas = [0; 3].map(|_| format!("127.0.0.1:{}", free_port()));
    let replicas = [replicas[0].as_str(), replicas[1].as_str(), replicas[2].as_str()];
    let conf = nginx_config(dir.path(), replicas, free_port(), free_port(), true);
    let (ok, out) = run(nginx(dir.path(), &conf).arg("-t"));
    assert!(ok, "nginx -t failed:\n{out}");
    assert!(out.contains("test is successful") && !out.contains("[warn]"), "{out}");
}

#[test]
fn nginx_balances_retries_and_caches_in_front_of_a_real_server() {
    if !have("nginx", "-v", "nginx", "nginx_balances_retries_and_caches_in_front_of_a_real_server") {
        return;
    }
    let (_data, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let server = Server::start(&["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()]);
    // Two of the three replicas are down: nginx must retry on the third.
    let dead = [free_port(), free_port()].map(|port| format!("127.0.0.1:{port}"));
    let dir = tempfile::tempdir().unwrap();
    let (lb_port, cache_port) = (free_port(), free_port());
    let conf = nginx_config(dir.path(), [&dead[0], &server.addr, &dead[1]], lb_port, cache_port, false);
    let mut child = nginx(dir.path(), &conf).stdin(Stdio::null()).spawn().expect("start nginx");
    let (lb, cache) = (format!("127.0.0.1:{lb_port}"), format!("127.0.0.1:{cache_port}"));
    wait_listening(&lb, &mut child);
    let _nginx = Balancer(child);

    let direct = get(&server.addr, "/offsets/A?limit=5", "");
    assert_eq!(direct.status, 200);
    for n in 0..6 {
        let r = get(&lb, "/offsets/A?limit=5", "");
        assert_eq!(r.status, 200, "request {n} through the balancer: {}", r.text());
        assert_eq!(r.body, direct.body, "request {n}");
        let upstream = r.header("x-upstream").expect("X-Upstream");
        assert!(upstream.ends_with(&server.addr), "answered by {upstream}, not {}", server.addr);
    }
    let direct_xml = get(&server.addr, "/xml", "Range: bytes=100-299\r\n");
    let r = get(&lb, "/xml", "Range: bytes=100-299\r\n");
    assert_eq!((r.status, &r.body), (206, &direct_xml.body), "a range through the balancer");

    // The caching tier: a lookup is fetched once, then served from the
    // cache; a client asking for a fresh answer gets one; ranges and
    // operator endpoints pass through.
    let path = "/offsets/B?limit=5";
    let statuses: Vec<String> = (0..2)
        .map(|_| {
            let r = get(&cache, path, "");
            assert_eq!((r.status, &r.body), (200, &get(&server.addr, path, "").body));
            r.header("x-cache-status").unwrap_or("none").to_string()
        })
        .collect();
    assert_eq!(statuses, ["MISS", "HIT"], "{path} twice through the cache");
    let fresh = get(&cache, path, "Cache-Control: no-cache\r\n");
    assert_eq!((fresh.status, fresh.header("x-cache-status")), (200, Some("BYPASS")));
    let r = get(&cache, "/xml", "Range: bytes=100-299\r\n");
    assert_eq!((r.status, &r.body), (206, &direct_xml.body), "a range through the cache");
    for _ in 0..2 {
        let r = get(&cache, "/healthz", "");
        assert_eq!(r.status, 200);
        assert_ne!(r.header("x-cache-status"), Some("HIT"), "/healthz says no-store");
    }
    // The OpenSearch description names a host, which a client's
    // X-Forwarded-Host or Forwarded would otherwise choose: through the
    // cache, one request would hand that host to everyone after it.
    let forged = "X-Forwarded-Host: evil.example\r\nForwarded: host=evil.example;proto=https\r\n";
    for (balancer, headers) in [(&lb, forged), (&cache, forged), (&cache, "")] {
        let r = get(balancer, "/opensearch.xml", headers);
        assert_eq!(r.status, 200);
        assert!(!r.text().contains("evil.example"), "{balancer} {headers:?}: {}", r.text());
    }
}

#[test]
fn the_haproxy_config_passes_haproxy_c() {
    if !have("haproxy", "-v", "haproxy", "the_haproxy_config_passes_haproxy_c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let replicas = [0; 3].map(|_| format!("127.0.0.1:{}", free_port()));
    let cfg = substituted(
        dir.path(),
        "haproxy/haproxy.cfg",
        &[("wikidex1:8080", &replicas[0]), ("wikidex2:8080", &replicas[1]), ("wikidex3:8080", &replicas[2])],
    );
    let (ok, out) = run(Command::new("haproxy").arg("-c").arg("-f").arg(&cfg));
    assert!(ok, "haproxy -c failed:\n{out}");
    assert!(out.contains("Configuration file is valid") && !out.contains("[WARNING]"), "{out}");
}

/// HAProxy polls /healthz, so a replica that drains is out of rotation
/// before its listener closes, and no client request fails on the way.
#[test]
fn haproxy_stops_sending_to_a_draining_replica_before_it_closes() {
    if !have("haproxy", "-v", "haproxy", "haproxy_stops_sending_to_a_draining_replica_before_it_closes") {
        return;
    }
    let (_data, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let args = ["--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap(), "--drain-secs", "8"];
    let mut leaving = Server::start(&args);
    let staying = Server::start(&args);
    let dead = format!("127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = substituted(
        dir.path(),
        "haproxy/haproxy.cfg",
        &[
            ("wikidex1:8080", &leaving.addr),
            ("wikidex2:8080", &staying.addr),
            ("wikidex3:8080", &dead),
            ("bind :80", &format!("bind 127.0.0.1:{port}")),
            // Within the descriptor limit a test process has.
            ("maxconn 20000", "maxconn 1000"),
        ],
    );
    let mut child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haproxy");
    let lb = format!("127.0.0.1:{port}");
    wait_listening(&lb, &mut child);
    let _haproxy = Balancer(child);
    let served_by = |what: &str| {
        let r = get(&lb, "/offsets/A?limit=1", "");
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        r.header("x-upstream").expect("X-Upstream").to_string()
    };
    // Both live replicas take requests.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        seen.insert(served_by("before the drain"));
        assert!(Instant::now() < deadline, "only {seen:?} answered");
    }
    assert_eq!(seen, ["wikidex1".to_string(), "wikidex2".to_string()].into());

    let signalled = Instant::now();
    leaving.signal("TERM");
    // Within a few checks HAProxy sends everything to the other replica,
    // while the drained one still accepts; no request fails meanwhile.
    let mut streak = 0;
    while streak < 20 {
        streak = if served_by("during the drain") == "wikidex2" { streak + 1 } else { 0 };
        assert!(signalled.elapsed() < Duration::from_secs(7), "HAProxy still sends to the draining replica");
    }
    assert!(TcpStream::connect(&leaving.addr).is_ok(), "the draining replica still accepts");
    let status = leaving.wait_exit(Duration::from_secs(20)).expect("the drained replica exits");
    assert!(status.success());
    for _ in 0..10 {
        assert_eq!(served_by("after the replica left"), "wikidex2");
    }
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify_and_security() {
    let test = "the_systemd_unit_passes_systemd_analyze_verify_and_security";
    if !have("systemd-analyze", "--version", "systemd", test) {
        return;
    }
    // verify wants ExecStart's binary to exist: the one just built.
    let dir = tempfile::tempdir().unwrap();
    let unit = substituted(dir.path(), "wikidex.service", &[("/usr/local/bin/wikidex", bin())]);
    let (ok, out) = run(Command::new("systemd-analyze").arg("verify").arg(&unit));
    // Unknown keys are warnings with a zero exit: an empty report is the pass.
    assert!(ok && out.trim().is_empty(), "systemd-analyze verify:\n{out}");
    // The sandbox stays tight: systemd's own exposure score (0 to 10).
    let (ok, out) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager", "--threshold=20"])
        .arg(&unit));
    assert!(ok, "the unit's exposure rose above 2.0:\n{out}");
}

/// The container's HEALTHCHECK (deploy/healthz.sh, bash's /dev/tcp): 0 for
/// a serving replica, 1 once it drains and once nothing listens.
#[test]
fn the_container_health_check_follows_healthz() {
    let (_data, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let server = Server::start(&[
        "--index",
        index.to_str().unwrap(),
        "--dump",
        dump.to_str().unwrap(),
        "--drain-secs",
        "30",
    ]);
    let script = repo().join("deploy/healthz.sh");
    let check = |addr: &str| Command::new("bash").arg(&script).arg(addr).status().unwrap().code();
    assert_eq!(check(&server.addr), Some(0), "a serving replica is healthy");
    let wildcard = format!("0.0.0.0:{}", server.addr.rsplit(':').next().unwrap());
    assert_eq!(check(&wildcard), Some(0), "the bind address 0.0.0.0 means this host");
    // --stats prints /stats: what update-dump.sh --stats-cmd reads.
    let out = Command::new("bash").arg(&script).args(["--stats", &server.addr]).output().unwrap();
    assert!(out.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the /stats document");
    assert_eq!(stats["release"]["index"].as_str(), index.canonicalize().unwrap().to_str());
    server.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(2);
    while check(&server.addr) == Some(0) {
        assert!(Instant::now() < deadline, "still healthy while draining");
    }
    assert_eq!(check(&format!("127.0.0.1:{}", free_port())), Some(1), "nothing listening is unhealthy");
}

/// The unit is `Type=notify`: the server says READY=1 once it serves (so
/// systemd starts what depends on it only then) and STOPPING=1 when it
/// drains.
#[test]
fn the_server_notifies_systemd_when_ready_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let (_data, dump, index) = indexed_copy(&repo().join("data/sample.xml"));
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let child = Command::new(bin())
        .args(["serve", "--index", index.to_str().unwrap(), "--dump", dump.to_str().unwrap()])
        .args(["--bind", "127.0.0.1:0", "--workers", "1", "--drain-secs", "0"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WIKIDEX_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Balancer(child);
    let mut buf = [0u8; 512];
    let message = |buf: &mut [u8]| {
        let n = socket.recv(buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = message(&mut buf);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");
    let addr = ready.split("http://").nth(1).expect("STATUS names the address").trim().to_string();
    // Ready means serving: the address answers at once.
    assert_eq!(get(&addr, "/healthz", "").status, 200);
    // The unit's ExecReload: RELOADING=1, then READY=1 once the reload is
    // done (here the same release again).
    let _ = Command::new("kill").args(["-HUP", &server.0.id().to_string()]).status();
    let reloading = message(&mut buf);
    assert!(reloading.lines().any(|l| l == "RELOADING=1"), "{reloading:?}");
    let reloaded = message(&mut buf);
    assert!(reloaded.lines().any(|l| l == "READY=1"), "{reloaded:?}");
    assert!(get(&addr, "/stats", "").text().contains(r#""done":1"#));
    let _ = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status();
    let stopping = message(&mut buf);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    assert!(server.0.wait_timeout().is_some_and(|s| s.success()), "the server stops cleanly");
}
