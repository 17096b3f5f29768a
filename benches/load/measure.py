#!/usr/bin/env python3
"""Runs one load-generator command and measures the server while it runs.

Usage: measure.py --label L --tool T --server-pid PID [--core 0] [--out FILE.jsonl]
                  [--target-rps R] -- COMMAND...

Around COMMAND it reads:
  - the server's CPU time (every thread of PID and of its child processes, so
    nginx's workers count), in nanoseconds from /proc/*/task/*/schedstat;
  - how busy the server's core was in total (/proc/stat), so the share other
    processes took from it is visible (this machine is shared);
  - the load generator's own CPU time (rusage of the child).
  - with `perf` on PATH (Debian: linux-perf) and LOAD_PERF not 0, the
    server's hardware counters (`perf stat -e instructions,cycles -p PIDS`).
Then parses COMMAND's output: a `RESULT key=value ...` line (the kit's wrk Lua
scripts and loadgen print one) or oha's JSON, and appends one JSON object to
--out and prints a one-line summary. Per answered request: `cpu_us_per_req`
(server CPU time), `instr_per_req` and `cycles_per_req`. Instructions per
request do not move when a noisy neighbour slows the core, so they are the
figure to compare builds by; cycles per request include cache misses and
copies, so they are the one to compare servers by.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time


def task_ns(pid):
    total = 0
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        pass
    return total


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return out


def server_ns(pids):
    return sum(task_ns(p) for p in pids)


def core_busy(core):
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                v = [int(x) for x in line.split()[1:]]
                idle = v[3] + v[4]
                return sum(v[:8]) - idle, sum(v[:8])
    raise RuntimeError(f"no cpu{core} in /proc/stat")


def start_perf(pids):
    """`perf stat` counting the server's instructions and cycles, or None."""
    if os.environ.get("LOAD_PERF", "1") == "0" or not shutil.which("perf"):
        return None
    return subprocess.Popen(
        ["perf", "stat", "-x,", "-e", "instructions,cycles", "-p", ",".join(map(str, pids))],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_perf(proc):
    """{"instructions": n, "cycles": n} from a `perf stat` started by start_perf."""
    if proc is None:
        return {}
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {}
    counts = {}
    for line in err.splitlines():
        f = line.split(",")
        if len(f) >= 3 and f[0].isdigit():
            counts[f[2].split(":")[0]] = int(f[0])
    return counts


def parse(out, tool):
    for line in out.splitlines():
        if line.startswith("RESULT "):
            r = {}
            for kv in line.split()[1:]:
                k, v = kv.split("=", 1)
                r[k] = float(v)
            return r
    if tool == "oha":
        j = json.loads(out[out.index("{"):])
        s, p = j["summary"], j["latencyPercentiles"]
        codes = j.get("statusCodeDistribution", {})
        ok = sum(v for k, v in codes.items() if int(k) < 400)
        total = sum(codes.values())
        # Requests cut off by the end of the run are not errors.
        errs = sum(v for k, v in j.get("errorDistribution", {}).items() if "deadline" not in k)
        us = lambda x: round((x or 0) * 1e6)  # noqa: E731
        return {
            "requests": total, "duration_s": s["total"], "rps": total / s["total"],
            "mbps": s.get("sizePerSec", 0) / 1e6, "mean_us": us(s.get("average")),
            "p50_us": us(p["p50"]), "p90_us": us(p["p90"]), "p99_us": us(p["p99"]),
            "p999_us": us(p["p99.9"]), "p9999_us": us(p["p99.99"]), "max_us": us(s.get("slowest")),
            "status_err": total - ok, "other_err": errs,
        }
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        return {"rps": float(m.group(1))}
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--target-rps", type=float, default=0)
    ap.add_argument("--log")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

    pids = [a.server_pid] + children(a.server_pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    perf = start_perf(pids)
    s0, (b0, t0c), w0 = server_ns(pids), core_busy(a.core), time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = p.communicate()
    counters = stop_perf(perf)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    s1, (b1, t1c), w1 = server_ns(pids), core_busy(a.core), time.monotonic()
    if a.log:
        with open(a.log, "a") as f:
            f.write(f"### {a.label}: {' '.join(cmd)}\n{out}\n")
    r = parse(out, a.tool)
    if r is None:
        print(f"measure: {a.label}: could not parse the output of {cmd[0]}:\n{out[-2000:]}", file=sys.stderr)
        sys.exit(1)
    wall = w1 - w0
    server_s = (s1 - s0) / 1e9
    core_pct = 100.0 * (b1 - b0) / max(1, t1c - t0c)
    r.update({
        "label": a.label, "tool": a.tool, "target_rps": a.target_rps or r.get("target_rps", 0),
        "wall_s": round(wall, 3),
        "server_cpu_pct": round(100 * server_s / wall, 1),
        "client_cpu_pct": round(100 * client_s / wall, 1),
        "core_busy_pct": round(core_pct, 1),
        "other_on_core_pct": round(max(0.0, core_pct - 100 * server_s / wall), 1),
        "cpu_us_per_req": round(server_s * 1e6 / r["requests"], 2) if r.get("requests") else None,
        "instr_per_req": round(counters["instructions"] / r["requests"])
        if r.get("requests") and "instructions" in counters else None,
        "cycles_per_req": round(counters["cycles"] / r["requests"])
        if r.get("requests") and "cycles" in counters else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    })
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(r) + "\n")
    pct = " ".join(f"{k[:-3]}={int(r[k])}" for k in
                   ("p50_us", "p90_us", "p99_us", "p999_us", "p9999_us", "max_us") if k in r)
    errs = int(sum(r.get(k, 0) for k in ("connect_err", "read_err", "write_err", "status_err",
                                          "timeout_err", "other_err")))
    tgt = f" target={int(r['target_rps'])}" if r["target_rps"] else ""
    print(f"  {a.label:<28} {a.tool:<7}{tgt} rps={r['rps']:.0f} {pct} (us) errors={errs} "
          f"server_cpu={r['server_cpu_pct']}% client_cpu={r['client_cpu_pct']}% core{a.core}_busy={r['core_busy_pct']}% "
          f"cpu_us/req={r['cpu_us_per_req']} instr/req={r['instr_per_req']} cycles/req={r['cycles_per_req']}",
          flush=True)


if __name__ == "__main__":
    main()
