#!/usr/bin/env python3
"""Connection-scale test: many idle keep-alive connections, a few active ones.

Usage: conns.py --port P --pid PID [--conns 10000] [--active 64] [--rate 2000]
                [--duration 20] [--prefixes FILE] [--sources 8] [--phase-gap 2]

1. Reads the server's VmRSS (/proc/PID/status) and open descriptor count.
2. Opens --conns keep-alive connections (source addresses spread over
   127.0.0.1..127.0.0.N so the ephemeral ports of one address never run out),
   at most 256 connecting at once, and sends one request on each so the server
   has accepted and read from every one of them.
3. Waits --phase-gap seconds, reads VmRSS again: (after - before) / conns is the
   server's resident memory per idle connection.
4. Through --active of those connections, sends /offsets/{prefix}?limit=10
   requests at a constant total --rate for --duration seconds. Latency is
   measured from each request's *scheduled* send time (no coordinated omission),
   so a stalled connection shows up as the latency it really caused.
5. Checks every idle connection still answers (one more request each), reads
   VmRSS and the descriptor count again, closes everything.

The same active phase is first run with no idle connections open ("baseline"),
so the report compares active latency with and without the idle crowd in one
run. Prints one JSON object. Bounded: every phase has a time limit.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    """Open files across every thread's descriptor table (wikidex's workers
    each have their own, so /proc/PID/fd shows the main thread's alone)."""
    files = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        tdir = f"/proc/{pid}/task/{tid}/fd"
        try:
            names = os.listdir(tdir)
        except OSError:
            continue  # the thread exited
        for name in names:
            try:
                files.add(os.readlink(f"{tdir}/{name}"))
            except OSError:
                pass
    return len(files)


def percentiles(samples_us):
    if not samples_us:
        return {}
    s = sorted(samples_us)
    n = len(s)

    def p(q):
        return s[min(n - 1, int(q / 100.0 * n))]

    return {
        "count": n,
        "p50_us": p(50), "p90_us": p(90), "p99_us": p(99), "p999_us": p(99.9),
        "p9999_us": p(99.99), "max_us": s[-1],
    }


class Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def get(self, path, host):
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


async def open_all(n, port, sources, host, deadline):
    conns = [None] * n
    sem = asyncio.Semaphore(256)
    errors = []

    async def one(i):
        async with sem:
            for attempt in range(5):
                if time.monotonic() > deadline:
                    errors.append("deadline")
                    return
                try:
                    src = f"127.0.0.{1 + i % sources}"
                    r, w = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0)), 10)
                    c = Conn(r, w)
                    status = await asyncio.wait_for(c.get("/plaintext", host), 10)
                    if status != 200:
                        raise RuntimeError(f"status {status}")
                    conns[i] = c
                    return
                except Exception as e:  # noqa: BLE001 - reported, retried
                    if attempt == 4:
                        errors.append(repr(e))
                    await asyncio.sleep(0.05 * (attempt + 1))

    await asyncio.gather(*(one(i) for i in range(n)))
    return [c for c in conns if c is not None], errors


async def active_phase(conns, paths, rate, duration, host):
    """Open-loop: request j of the whole phase is due at t0 + j/rate and goes
    to connection j % len(conns); latency counts from the due time."""
    k = len(conns)
    total = int(rate * duration)
    lat = []
    bad = [0]
    t0 = time.perf_counter() + 0.05
    rng = random.Random(7)

    async def runner(idx):
        c = conns[idx]
        for j in range(idx, total, k):
            due = t0 + j / rate
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            try:
                status = await asyncio.wait_for(c.get(rng.choice(paths), host), 10)
            except Exception:  # noqa: BLE001 - counted
                bad[0] += 1
                continue
            if status != 200:
                bad[0] += 1
            lat.append(int((time.perf_counter() - due) * 1e6))

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(runner(i) for i in range(k))), duration + 60)
    elapsed = time.perf_counter() - start
    out = percentiles(lat)
    out.update({"target_rps": rate, "achieved_rps": round(len(lat) / elapsed, 1), "errors": bad[0],
                "active_connections": k})
    return out


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--active", type=int, default=64)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--prefixes", default=None)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--sources", type=int, default=8)
    ap.add_argument("--phase-gap", type=float, default=2)
    a = ap.parse_args()
    host = f"127.0.0.1:{a.port}"

    if a.prefixes:
        with open(a.prefixes) as f:
            prefixes = [line.strip() for line in f if line.strip()][:50000]
        paths = [f"/offsets/{p}?limit={a.limit}" for p in prefixes]
    else:
        paths = ["/plaintext"]

    report = {"server_pid": a.pid, "conns_requested": a.conns}

    # Baseline: the active phase alone.
    active, err = await open_all(a.active, a.port, a.sources, host, time.monotonic() + 60)
    if err or len(active) != a.active:
        sys.exit(f"conns: could not open the active connections: {err[:3]}")
    await active_phase(active, paths, a.rate, min(3, a.duration), host)  # warm-up
    report["baseline"] = await active_phase(active, paths, a.rate, a.duration, host)

    # The crowd.
    rss0, fd0 = vmrss_kib(a.pid), fd_count(a.pid)
    t = time.monotonic()
    idle, errors = await open_all(a.conns, a.port, a.sources, host, t + 120)
    report["open_seconds"] = round(time.monotonic() - t, 2)
    await asyncio.sleep(a.phase_gap)
    rss1, fd1 = vmrss_kib(a.pid), fd_count(a.pid)
    report["idle_open"] = len(idle)
    report["open_errors"] = len(errors)
    report["open_error_samples"] = errors[:3]
    report["rss_kib_before"] = rss0
    report["rss_kib_with_idle"] = rss1
    report["server_fds_before"] = fd0
    report["server_fds_with_idle"] = fd1
    report["rss_bytes_per_idle_conn"] = round((rss1 - rss0) * 1024 / max(1, len(idle)), 1)

    report["with_idle"] = await active_phase(active, paths, a.rate, a.duration, host)

    # Are the idle ones still alive? One request each, 256 at a time.
    sem = asyncio.Semaphore(256)
    alive = [0]

    async def ping(c):
        async with sem:
            try:
                if await asyncio.wait_for(c.get("/plaintext", host), 10) == 200:
                    alive[0] += 1
            except Exception:  # noqa: BLE001 - counted as not alive
                pass

    await asyncio.wait_for(asyncio.gather(*(ping(c) for c in idle)), 120)
    report["idle_still_answering"] = alive[0]
    report["rss_kib_end"] = vmrss_kib(a.pid)
    report["server_fds_end"] = fd_count(a.pid)
    for c in idle + active:
        c.writer.close()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
