#!/usr/bin/env python3
"""The replica drill of issue 22: three replicas behind real nginx, a
constant load whose every answer is checked, and the events an operator
causes: a `kill -9`, a rolling restart, a rolling dump update.

    benches/cluster/drill.py [--pages 300000] [--runs lb,cache] [--fraction 0.5]

What it does (everything under --work, default /tmp/drill; benches/cluster/
README.md has the rest):

1. Two dumps of the same titles, `wikidex gen --seed S` at two text lengths
   (`--text-percent 100` and `85`): the same pages, other bytes and offsets.
   Dump A is indexed once.
2. Per run (`lb`: the client talks to the balancer, deploy/nginx/lb.conf;
   `cache`: to the caching tier, deploy/nginx/cache.conf), three replicas of
   the release `wikidex serve` on loopback ports, each in a data directory
   of its own laid out as deploy/update-dump.sh wants it (`rN/current ->
   releases/A`), each under a supervisor that restarts it the way the
   systemd unit does: at once after it exits (as `systemctl restart` does
   after the drain), 2 s after it is killed (`RestartSec=2`). One nginx runs
   deploy/'s replicas.conf, lb.conf and cache.conf unchanged but for
   addresses, ports and the cache directory (nginx.conf.tmpl).
3. Capacity, measured once: wrk (one thread, 32 connections) against the
   balancer with the client's mix of requests (mixed.lua), the median of
   three runs. The load is `--fraction` (0.5) of it, the same for both runs,
   unless --rate says otherwise.
4. While the client (client/, built here) sends that load through nginx:
   steady state; (a) `kill -9` of replica 1, restarted by its supervisor;
   (b) a rolling restart: SIGTERM to each replica in turn, the next once
   the last answers again; (c) a rolling dump update with
   deploy/update-dump.sh: replica 1 builds dump B's index beside A's while
   it serves (`--prepare-only`; /usr/bin/time -v, and the peak anonymous
   memory), replicas 2 and 3 copy it (as from the machine that built it),
   each offered it (`--prepare-only` links `current.next`, which the
   replicas serve as `--next-index`, and reloads), then each switches and
   reloads (SIGHUP, as `systemctl reload` sends it; --switch restart:
   restarts), one after the other (or --stagger seconds apart). Each event's window runs from its first action until
   5 s (more than nginx's fail_timeout) after its last replica answers again.
5. A table per run: requests, failed requests (status >= 500, or the
   connection failed before the full answer), answers over 64 KiB cut short
   (counted apart: nginx cannot retry an answer it has begun to send), other
   non-2xx answers, 412s (a fetch whose offsets came from the other dump:
   correct, and the client looks up again), transactions that gave up after
   20 412s in a row, wrong answers (must be 0), the
   p99 and p99.9 latency of every request in the window against the steady
   p99.9, the requests nginx retried on another replica, the CPU the drill
   and the host's other work took meanwhile, and for the cache its hit rate
   and the share of requests that reached no replica.

Results go to WORK/results.md (and .json); `--keep` keeps the replicas'
releases (the dumps are reused by the next run with the same --pages and
--seed). The targets (issue 22): 0 failed requests and 0 wrong answers in
every event, both runs; each event's p99.9 at most 10x the steady p99.9.
"""

import argparse
import html
import json
import mmap
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
UPDATE = os.path.join(REPO, "deploy", "update-dump.sh")
RESTART_SEC = 2.0  # the unit's RestartSec
SETTLE = 5.0  # more than replicas.conf's fail_timeout: an event lasts until then


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2.0):
    """(status, headers, body) or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError:
        return None


# -- data ------------------------------------------------------------------


def make_data(args, wikidex):
    d = os.path.join(args.work, "data")
    os.makedirs(d, exist_ok=True)
    stamp = os.path.join(d, "stamp.json")
    want = {"pages": args.pages, "seed": args.seed, "text_a": args.text_a, "text_b": args.text_b}
    have = json.load(open(stamp)) if os.path.exists(stamp) else None
    a, b, a_idx = (os.path.join(d, n) for n in ("a.xml", "b.xml", "a.idx"))
    if have != want or not all(os.path.exists(p) for p in (a, b, a_idx)):
        for p in (a, b):
            if os.path.exists(p):
                os.unlink(p)
        shutil.rmtree(a_idx, ignore_errors=True)
        run([wikidex, "gen", "--pages", str(args.pages), "--seed", str(args.seed),
             "--text-percent", str(args.text_a), "-o", a])
        run([wikidex, "gen", "--pages", str(args.pages), "--seed", str(args.seed),
             "--text-percent", str(args.text_b), "-o", b])
        run([wikidex, "index", a, "-o", a_idx], stderr=subprocess.DEVNULL)
        json.dump(want, open(stamp, "w"))
    prefixes = os.path.join(d, "prefixes.txt")
    if have != want or not os.path.exists(prefixes):
        write_prefixes(a, prefixes, args.seed)
    return a, b, a_idx, prefixes


def write_prefixes(dump, out, seed):
    """Prefixes of titles read at 4,000 random places in the dump: 1 to 8
    characters of each, so some list many rows and some one."""
    rng = random.Random(seed)
    title = re.compile(rb"<title>(.*?)</title>")
    found = set()
    with open(dump, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        for _ in range(4000):
            at = rng.randrange(len(m))
            hit = title.search(m, at, at + (1 << 20))
            if hit:
                t = html.unescape(hit.group(1).decode("utf-8"))
                found.add(t[: rng.randint(1, min(8, len(t)))])
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(sorted(found)) + "\n")
    log(f"{len(found)} prefixes in {out}")


def write_requests(replica, prefixes, out, seed):
    """The client's mix for wrk (lookups, ranged fetches, /wiki: 3:3:1),
    with offsets asked of a replica serving dump A."""
    rng = random.Random(seed)
    lines = []
    plist = [p for p in open(prefixes, encoding="utf-8").read().split("\n") if p]
    for p in rng.sample(plist, min(600, len(plist))):
        q = urllib.parse.quote(p, safe="")
        r = http_get(f"{replica}/offsets/{q}?limit=10")
        if not r or r[0] != 200:
            continue
        rows = json.loads(r[2])
        lines.append(f"/offsets/{q}?limit=10")
        if rows:
            t, s, e = rng.choice(rows)
            lines.append(f"/xml\tRange: bytes={s}-{e}\tIf-Match: {r[1]['ETag']}")
            if rng.random() < 1 / 3:
                lines.append(f"/wiki/{urllib.parse.quote(t, safe='')}?redirect=no")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# -- replicas ----------------------------------------------------------------


class Replica:
    """`wikidex serve` on ROOT/current, restarted like the systemd unit does."""

    def __init__(self, n, root, port, wikidex, args):
        self.n, self.root, self.port = n, root, port
        self.url = f"http://127.0.0.1:{port}"
        self.addr = f"127.0.0.1:{port}"
        self.wikidex, self.args = wikidex, args
        self.proc = None
        self.stopping = False
        self.exits = []  # (monotonic, returncode)
        self.pidfile = os.path.join(root, "pid")
        self.thread = threading.Thread(target=self.supervise, daemon=True)

    def start(self):
        self.thread.start()

    def supervise(self):
        logf = open(os.path.join(self.root, "serve.log"), "ab")
        env = dict(os.environ, WIKIDEX_LOG="info", WIKIDEX_DRAIN_SECS=str(self.args.drain_secs))
        cur = os.path.join(self.root, "current")
        while not self.stopping:
            nxt = os.path.join(self.root, "current.next")
            cmd = [self.wikidex, "serve", "--index", f"{cur}/index", "--dump", f"{cur}/dump.xml",
                   "--next-index", f"{nxt}/index", "--next-dump", f"{nxt}/dump.xml",
                   "--bind", self.addr, "--workers", str(self.args.replica_workers)]
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=logf, stdin=subprocess.DEVNULL,
                                         env=env)
            with open(self.pidfile + ".tmp", "w") as f:
                f.write(f"{self.proc.pid}\n")
            os.replace(self.pidfile + ".tmp", self.pidfile)
            rc = self.proc.wait()
            self.exits.append((time.monotonic(), rc))
            if self.stopping:
                break
            if rc != 0:  # Restart=on-failure, RestartSec=2
                time.sleep(RESTART_SEC)

    def healthy_since(self, since_wall):
        """/healthz 200 from a server that started after `since_wall`."""
        r = http_get(f"{self.url}/healthz", 1.0)
        if not r or r[0] != 200:
            return False
        s = http_get(f"{self.url}/stats", 1.0)
        if not s or s[0] != 200:
            return False
        return time.time() - json.loads(s[2])["uptime_seconds"] >= since_wall - 0.05

    def wait_healthy(self, since_wall, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy_since(since_wall):
                return time.monotonic()
            time.sleep(0.05)
        raise RuntimeError(f"replica {self.n} not healthy after {timeout}s")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self):
        self.stopping = True
        p = self.proc
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            time.sleep(0.1)
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # a second signal stops at once
            p.wait(timeout=40)
        self.thread.join(timeout=45)


def make_replica_root(root, a_xml, a_idx):
    shutil.rmtree(root, ignore_errors=True)
    rel = os.path.join(root, "releases", "A")
    os.makedirs(rel)
    os.link(a_xml, os.path.join(rel, "dump.xml"))  # the same inode: the index's mtime holds
    shutil.copytree(a_idx, os.path.join(rel, "index"), copy_function=os.link)
    os.symlink("releases/A", os.path.join(root, "current"))


# -- nginx -------------------------------------------------------------------


def substituted(src, dst, subs):
    text = open(src).read()
    for old, new in subs:
        if old not in text:
            raise SystemExit(f"{src} no longer contains {old!r}: update drill.py")
        text = text.replace(old, new)
    open(dst, "w").write(text)


def start_nginx(d, replicas, lb_port, cache_port, workers, cache_dir):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    os.chmod(d, 0o755)  # nginx's workers run as nobody and must reach the cache
    deploy = os.path.join(REPO, "deploy", "nginx")
    substituted(os.path.join(deploy, "replicas.conf"), os.path.join(d, "replicas.conf"),
                [(f"wikidex{i + 1}:8080", r.addr) for i, r in enumerate(replicas)])
    substituted(os.path.join(deploy, "lb.conf"), os.path.join(d, "lb.conf"),
                [("listen 80 default_server;", f"listen 127.0.0.1:{lb_port} default_server;")])
    substituted(os.path.join(deploy, "cache.conf"), os.path.join(d, "cache.conf"),
                [("listen 8081 default_server;", f"listen 127.0.0.1:{cache_port} default_server;"),
                 ("/var/cache/nginx/wikidex", cache_dir)])
    tmpl = open(os.path.join(HERE, "nginx.conf.tmpl")).read()
    conf = os.path.join(d, "nginx.conf")
    open(conf, "w").write(tmpl.replace("@DIR@", d).replace("@WORKERS@", str(workers)))
    cmd = ["nginx", "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf]
    test = subprocess.run(cmd + ["-t"], capture_output=True, text=True)
    if test.returncode != 0:
        raise RuntimeError(f"nginx -t: {test.stderr}")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", lb_port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx does not listen")


# -- capacity ----------------------------------------------------------------


def capacity(lb_port, requests, secs, rounds=3):
    """The median of `rounds` wrk runs: the host's other load comes and goes."""
    got = []
    for _ in range(rounds):
        out = subprocess.run(
            ["wrk", "-t1", "-c32", f"-d{secs}s", "-s", os.path.join(HERE, "mixed.lua"),
             f"http://127.0.0.1:{lb_port}", "--", requests],
            check=True, capture_output=True, text=True).stdout
        m = re.search(r"^RESULT (.*)$", out, re.M)
        fields = dict(kv.split("=") for kv in m.group(1).split())
        errors = sum(int(fields[k]) for k in ("connect_err", "read_err", "write_err", "timeout_err"))
        log(f"capacity: {float(fields['rps']):.0f} req/s (p99 {int(fields['p99_us']) / 1000:.1f} ms, "
            f"{fields['status_err']} non-2xx, {errors} errors)")
        got.append(float(fields["rps"]))
        time.sleep(1)
    return sorted(got)[len(got) // 2]


# -- one run -----------------------------------------------------------------


class CpuSampler:
    """Every 0.5 s: the host's busy CPU time (/proc/stat) and that of this
    drill's process tree (replicas, nginx, client, index builds), so that
    each window can say how much of the host other work took."""

    def __init__(self):
        self.samples = []  # (unix time, total busy s, ours s)
        self.hz = os.sysconf("SC_CLK_TCK")
        self.stop = False
        self.prev = {}
        self.ours = 0.0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def busy(self):
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields[:8]) - idle) / self.hz

    def tree_cpu(self):
        me, parent, cpu = os.getpid(), {}, {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                stat = open(f"/proc/{pid}/stat").read()
            except OSError:
                continue
            rest = stat[stat.rindex(")") + 2:].split()
            parent[int(pid)] = int(rest[1])
            cpu[int(pid)] = (int(rest[11]) + int(rest[12])) / self.hz
        mine = {}
        for pid in cpu:
            p, seen = pid, 0
            while p and p != me and seen < 64:
                p, seen = parent.get(p, 0), seen + 1
            if p == me:
                mine[pid] = cpu[pid]
        return mine

    def run(self):
        while not self.stop:
            now = self.tree_cpu()
            # CPU since the last sample of every process in the tree (a new
            # one: all of it; one that exited between samples: lost).
            self.ours += sum(v - self.prev.get(pid, 0.0) for pid, v in now.items())
            self.prev = now
            self.samples.append((time.time(), self.busy(), self.ours))
            time.sleep(0.5)

    def cores(self, a, b):
        """Cores' worth of CPU (this drill's, other work's) between a and b."""
        inside = [x for x in self.samples if a <= x[0] <= b]
        if len(inside) < 2:
            return None, None
        (t0, busy0, ours0), (t1, busy1, ours1) = inside[0], inside[-1]
        ours = (ours1 - ours0) / (t1 - t0)
        return round(ours, 2), round(max(0.0, (busy1 - busy0) / (t1 - t0) - ours), 2)


class Marks:
    def __init__(self):
        self.windows = []  # (name, start, end) in Unix time: the client's and nginx's clock
        self.wall_offset = time.time() - time.monotonic()
        self.notes = {}

    def window(self, name, start, end):
        """A window from monotonic `start` to `end`."""
        self.windows.append((name, start + self.wall_offset, end + self.wall_offset))
        log(f"window {name}: {end - start:.1f}s")


def build_client(work):
    """benches/cluster/client (its own cargo workspace) into WORK/client-target."""
    target = os.path.join(work, "client-target")
    run(["cargo", "build", "--quiet", "--release", "--manifest-path", os.path.join(HERE, "client", "Cargo.toml")],
        env=dict(os.environ, CARGO_TARGET_DIR=target))
    return os.path.join(target, "release", "wikidex-drill-client")


def drill_run(kind, args, wikidex, client_bin, data, rate_box):
    a_xml, b_xml, a_idx, prefixes = data
    run_dir = os.path.join(args.work, f"run-{kind}")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    replicas = []
    for n in (1, 2, 3):
        root = os.path.join(run_dir, f"r{n}")
        make_replica_root(root, a_xml, a_idx)
        replicas.append(Replica(n, root, free_port(), wikidex, args))
    lb_port, cache_port = free_port(), free_port()
    nginx = client = cache_dir = None
    marks = Marks()
    cpu = CpuSampler()
    try:
        t = time.time()
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_healthy(t - 60)
        cache_dir = os.path.join(args.cache_dir, f"run-{kind}")
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.makedirs(args.cache_dir, exist_ok=True)
        os.chmod(args.cache_dir, 0o755)  # nginx's workers (nobody) write below it
        nginx = start_nginx(os.path.join(run_dir, "nginx"), replicas, lb_port, cache_port, args.nginx_workers,
                            cache_dir)
        if rate_box[0] is None:
            reqs = os.path.join(args.work, "data", "requests.txt")
            write_requests(replicas[0].url, prefixes, reqs, args.seed)
            cap = capacity(lb_port, reqs, args.capacity_secs)
            rate_box[0] = round(cap * args.fraction)
            rate_box[1] = cap
        rate = rate_box[0]
        port = lb_port if kind == "lb" else cache_port
        records = os.path.join(run_dir, "client.txt")
        log(f"run {kind}: client at {rate} req/s through 127.0.0.1:{port}")
        # It runs until its standard input closes.
        client = subprocess.Popen(
            [client_bin, "--addr", f"127.0.0.1:{port}", "--prefixes", prefixes, "--rate", str(rate),
             "--out", records, "--conns", str(args.conns), "--seed", str(args.seed)],
            stdin=subprocess.PIPE, stderr=open(os.path.join(run_dir, "client.err"), "w"))
        time.sleep(args.warmup)
        t0 = time.monotonic()
        time.sleep(args.steady)
        marks.window("steady", t0, time.monotonic())

        # (a) kill -9, restarted by the supervisor after RestartSec
        time.sleep(args.gap)
        r = replicas[0]
        t0, since = time.monotonic(), time.time()
        r.signal(signal.SIGKILL)
        back = r.wait_healthy(since)
        marks.notes["kill9_down_s"] = round(back - t0, 2)
        time.sleep(SETTLE)
        marks.window("kill -9", t0, time.monotonic())

        # (b) rolling restart: SIGTERM, drain, the supervisor starts it again
        time.sleep(args.gap)
        t0 = time.monotonic()
        for r in replicas:
            since = time.time()
            r.signal(signal.SIGTERM)
            r.wait_healthy(since)
        time.sleep(SETTLE)
        marks.window("rolling restart", t0, time.monotonic())

        # (c) rolling dump update with deploy/update-dump.sh
        time.sleep(args.gap)
        first = replicas[0]
        timing = os.path.join(run_dir, "build-time.txt")
        t0 = time.monotonic()
        anon = PeakAnon(wikidex)
        def offer(r):  # --prepare-only offers the release to the replica (a reload)
            return ["--reload", f"kill -HUP $(cat {r.pidfile})", "--health", r.url]
        run(["bash", UPDATE, "--prepare-only", "--wikidex", wikidex, "--time", timing, *offer(first),
             first.root, "B", b_xml], stdout=subprocess.DEVNULL)
        marks.window("update: build B on r1", t0, time.monotonic())
        marks.notes["build"] = parse_time(timing)
        marks.notes["build"]["peak_anon_mib"] = anon.done()
        built = os.path.join(first.root, "releases", "B", "index")
        marks.notes["build"]["index_bytes"] = du(built)
        # The other replicas get a copy, as from the machine that built it.
        for r in replicas[1:]:
            run(["bash", UPDATE, "--prepare-only", "--wikidex", wikidex, "--from-index", built, *offer(r),
                 r.root, "B", b_xml], stdout=subprocess.DEVNULL)
        time.sleep(args.gap)
        t0 = time.monotonic()
        switches = []
        for r in replicas:
            how = "--reload" if args.switch == "reload" else "--restart"
            sig = "HUP" if args.switch == "reload" else "TERM"
            cmd = ["bash", UPDATE, "--wikidex", wikidex, how, f"kill -{sig} $(cat {r.pidfile})",
                   "--health", r.url, r.root, "B"]
            if args.stagger:
                # Each replica's switch starts --stagger s after the last
                # one's, without waiting for it to answer again.
                log("$ " + " ".join(cmd))
                switches.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
                time.sleep(args.stagger)
            else:
                run(cmd, stdout=subprocess.DEVNULL)
        for sw in switches:
            if sw.wait() != 0:
                raise RuntimeError(f"{sw.args}: exit {sw.returncode}")
        time.sleep(SETTLE)
        marks.window("update: switch r1-r3", t0, time.monotonic())
        t0 = time.monotonic()
        time.sleep(args.steady / 2)
        marks.window("after (all on B)", t0, time.monotonic())
    finally:
        if client:
            client.stdin.close()
            _, status, usage = os.wait4(client.pid, 0)
            client.returncode = os.waitstatus_to_exitcode(status)
            marks.notes["client_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
            summary = open(os.path.join(run_dir, "client.err")).read().strip().splitlines()
            marks.notes["client"] = json.loads(summary[-1]) if summary else None
        for r in replicas:
            r.stop()
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
        if cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)
        cpu.stop = True
        with open(os.path.join(run_dir, "cpu.txt"), "w") as f:
            f.write("".join(f"{t:.3f} {busy:.2f} {ours:.2f}\n" for t, busy, ours in cpu.samples))
    return analyse(kind, run_dir, marks, port, rate_box, cpu)


# -- analysis ----------------------------------------------------------------


class PeakAnon:
    """The largest anonymous memory (RssAnon) of any `wikidex index` process
    while it runs: /usr/bin/time's maximum RSS also counts the pages of the
    dump the indexer maps, which are page cache, not memory it takes."""

    def __init__(self, binary):
        self.binary = binary.encode()
        self.peak_kib = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
                    if len(argv) > 1 and argv[0] == self.binary and argv[1] == b"index":
                        for line in open(f"/proc/{pid}/status"):
                            if line.startswith("RssAnon:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                except OSError:
                    continue
            time.sleep(0.2)

    def done(self):
        self.stop = True
        self.thread.join()
        return round(self.peak_kib / 1024)


def parse_time(path):
    text = open(path).read()

    def field(name):
        m = re.search(rf"{re.escape(name)}: (.*)", text)
        return m.group(1).strip() if m else None

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(x) for x in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return {
        "wall_s": round(secs, 1),
        "user_s": float(field("User time (seconds)")),
        "sys_s": float(field("System time (seconds)")),
        "cpu_pct": field("Percent of CPU this job got"),
        "max_rss_mib": round(int(field("Maximum resident set size (kbytes)")) / 1024),
    }


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    return total


def pct(sorted_values, p):
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def analyse(kind, run_dir, marks, port, rate_box, cpu):
    recs = []
    with open(os.path.join(run_dir, "client.txt")) as f:
        for line in f:
            t, k, status, outcome, lat, size = line.split()
            recs.append((float(t), k, int(status), outcome, int(lat)))
    recs.sort()
    access = []
    with open(os.path.join(run_dir, "nginx", "access.log")) as f:
        for line in f:
            m = re.match(r'(\S+) (\d+) (\d+) (\S+) "([^"]*)" "([^"]*)" (\S+)', line)
            if m and int(m.group(2)) == port:
                access.append((float(m.group(1)), m.group(4), m.group(5), m.group(6)))
    access.sort()
    rows = []
    steady_p999 = None
    for name, a, b in marks.windows:
        w = [r for r in recs if a <= r[0] < b]
        lat = sorted(r[4] for r in w)
        count = {}
        for r in w:
            count[r[3]] = count.get(r[3], 0) + 1
        failed = count.get("e5xx", 0) + count.get("conn", 0) + count.get("timeout", 0)
        p99, p999 = pct(lat, 0.99) / 1000, pct(lat, 0.999) / 1000
        if steady_p999 is None:
            steady_p999 = p999
        nx = [x for x in access if a <= x[0] < b]
        retried = sum(1 for x in nx if "," in x[3])
        row = {
            "window": name, "secs": round(b - a, 1), "requests": len(w),
            "failed": failed, "cut": count.get("cut", 0), "non2xx": count.get("non2xx", 0),
            "412": count.get("412", 0), "gaveup": count.get("gaveup", 0), "wrong": count.get("wrong", 0),
            "p99_ms": round(p99, 1), "p999_ms": round(p999, 1),
            "vs_steady": round(p999 / steady_p999, 1) if steady_p999 else None,
            "retried": retried, "outcomes": count,
            "ours": cpu.cores(a, b)[0],
            "others": cpu.cores(a, b)[1],
        }
        if kind == "cache":
            cacheable = [x for x in nx if x[1] != "-"]
            hits = sum(1 for x in cacheable if x[1] == "HIT")
            row["hit_rate"] = round(100 * hits / len(cacheable), 1) if cacheable else None
            row["off_replicas"] = round(100 * sum(1 for x in nx if x[2] == "-") / len(nx), 1) if nx else None
        rows.append(row)
    return {"kind": kind, "rate": rate_box[0], "capacity": rate_box[1], "rows": rows, "notes": marks.notes}


def table(result):
    cache = result["kind"] == "cache"
    head = ["window", "s", "requests", "failed", "cut >64 KiB", "other non-2xx", "412 (handled)",
            "gave up", "wrong", "p99 ms", "p99.9 ms", "p99.9 / steady", "retried by nginx", "drill (cores)",
            "other work (cores)"]
    if cache:
        head += ["cache hits", "reached no replica"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in result["rows"]:
        cells = [r["window"], r["secs"], r["requests"], r["failed"], r["cut"], r["non2xx"], r["412"],
                 r["gaveup"], r["wrong"], r["p99_ms"], r["p999_ms"], r["vs_steady"], r["retried"], r["ours"], r["others"]]
        if cache:
            cells += [f"{r['hit_rate']} %", f"{r['off_replicas']} %"]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="/tmp/drill")
    p.add_argument("--wikidex", help="the binary [default: target/release/wikidex]")
    p.add_argument("--pages", type=int, default=300_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--text-a", type=int, default=100, help="dump A's --text-percent")
    p.add_argument("--text-b", type=int, default=85, help="dump B's --text-percent")
    p.add_argument("--runs", default="lb,cache", help="lb, cache or both (lb,cache)")
    p.add_argument("--rate", type=int, help="requests/s [default: --fraction of the measured capacity]")
    p.add_argument("--fraction", type=float, default=0.5)
    p.add_argument("--capacity-secs", type=int, default=8)
    p.add_argument("--conns", type=int, default=64, help="the client's connections")
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--steady", type=float, default=30)
    p.add_argument("--gap", type=float, default=10, help="quiet seconds between events")
    p.add_argument("--drain-secs", type=int, default=5)
    p.add_argument("--switch", choices=["reload", "restart"], default="reload",
                   help="how each replica moves to dump B: update-dump.sh --reload or --restart")
    p.add_argument("--stagger", type=float, default=0,
                   help="start each replica's switch this many seconds after the last one's, not once it "
                   "answers again (0: one after the other)")
    p.add_argument("--replica-workers", type=int, default=os.cpu_count(),
                   help="each replica's --workers [default: the cores: on one host a replica that survives "
                   "its peers may use every core, as it would on a machine of its own]")
    p.add_argument("--nginx-workers", type=int, default=2)
    p.add_argument("--cache-dir", default="/dev/shm/wikidex-drill",
                   help="the caching tier's proxy_cache_path: tmpfs, as deploy/nginx/cache.conf advises")
    p.add_argument("--keep", action="store_true", help="keep the replicas' directories and logs")
    args = p.parse_args()
    log(f"arguments: {vars(args)}")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    wikidex = os.path.abspath(args.wikidex or os.path.join(target, "release", "wikidex"))
    os.makedirs(args.work, exist_ok=True)
    # A private copy: a rebuild mid-drill must not change the binary.
    private = os.path.join(args.work, "wikidex")
    shutil.copy2(wikidex, private + ".new")
    os.replace(private + ".new", private)  # even while an old copy runs
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    version = subprocess.run([private, "--version"], capture_output=True, text=True).stdout.strip()
    data = make_data(args, private)
    client_bin = build_client(args.work)
    rate_box = [args.rate, None]
    results = []
    for kind in args.runs.split(","):
        results.append(drill_run(kind, args, private, client_bin, data, rate_box))
        if not args.keep:
            for n in (1, 2, 3):
                shutil.rmtree(os.path.join(args.work, f"run-{kind}", f"r{n}", "releases"), ignore_errors=True)
    cap = f"{rate_box[1]:.0f} req/s" if rate_box[1] else "not measured"
    lines = [
        f"# Drill, {time.strftime('%Y-%m-%d')}, build {rev} ({version})",
        "",
        f"Pages: {args.pages} (dump A --text-percent {args.text_a}, B {args.text_b}, seed {args.seed}); "
        f"capacity through the balancer (wrk, client's mix): {cap}; load: {rate_box[0]} req/s, "
        f"{args.conns} connections; replicas --workers {args.replica_workers} --drain-secs {args.drain_secs}, "
        f"nginx {args.nginx_workers} workers; load average at the end {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores.",
        "",
    ]
    for res in results:
        lines += [f"## {res['kind']}", "", table(res), "", "notes: " + json.dumps(res["notes"]), ""]
    text = "\n".join(lines)
    open(os.path.join(args.work, "results.md"), "w").write(text)
    json.dump(results, open(os.path.join(args.work, "results.json"), "w"), indent=1)
    print(text)
    bad = [
        (res["kind"], r["window"])
        for res in results
        for r in res["rows"]
        if r["failed"] or r["gaveup"] or r["wrong"] or (r["vs_steady"] or 0) > 10
    ]
    if bad:
        print(f"targets missed in: {bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
