#!/usr/bin/env python3
"""The background AOF rewrite benchmark behind `make bench-rewrite`.

For oxredis and (when installed) the reference redis-server, with the same
configuration (appendonly yes, appendfsync everysec, auto-rewrite off),
once with aof-use-rdb-preamble no (both write the pure AOF form) and once
with yes (both write an RDB snapshot first; BENCH_RW_PREAMBLE="no yes"):

1. start the server, DEBUG POPULATE <keys> (1M by default);
2. start redis-benchmark writing throughout (SET of random keys among
   <keys>, 50 clients, `-l` loop mode: one CSV result per window of
   <window> requests, each stamped on arrival);
3. BGREWRITEAOF, then until INFO says the rewrite is over: sample the RSS
   of parent + child (VmRSS, every 10 ms) and their PSS (smaps_rollup,
   every 100 ms);
4. report the rewrite wall time (BGREWRITEAOF sent -> INFO shows it done),
   the fork time (latest_fork_usec), the benchmark's p99 during the
   rewrite (median and worst over the windows that overlap it), the
   writes per second during it, and the peak RSS (and PSS) of parent plus
   child.

Rounds alternate the server order; medians are printed with ratios
oxredis/redis (lower is better for every figure except writes/s).
Note: the reference is Redis 7.0, whose rewrite writes new commands to a
separate incr file instead of sending a diff to the child (6.2's scheme,
which oxredis implements).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


from benchlib import Client, free_port  # noqa: E402


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def aof_bytes(d):
    """Size of the AOF: the single file, or Redis 7's appendonlydir/."""
    total = 0
    for root in (d, os.path.join(d, "appendonlydir")):
        if not os.path.isdir(root):
            continue
        for f in os.listdir(root):
            if f.startswith("appendonly.aof"):
                p = os.path.join(root, f)
                if os.path.isfile(p):
                    total += os.path.getsize(p)
    return total


def start_server(name, binary, tmp, preamble):
    port = free_port()
    d = tempfile.mkdtemp(prefix=name + ".", dir=tmp)
    log = os.path.join(d, "log")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
            "--logfile", log, "--appendonly", "yes", "--appendfsync", "everysec",
            "--auto-aof-rewrite-percentage", "0", "--aof-use-rdb-preamble", preamble]
    ver = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    if "v=7" in ver or "v=8" in ver:
        argv += ["--enable-debug-command", "yes"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with open(log) as f:
                if "Ready to accept connections" in f.read():
                    return proc, port, d
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("bench-rewrite: %s did not start" % name)


def run_one(name, binary, keys, window, tmp, preamble):
    proc, port, d = start_server(name, binary, tmp, preamble)
    try:
        c = Client(port)
        c.cmd("DEBUG", "POPULATE", keys)
        rss_before = rss_kb(proc.pid)
        lines = []
        bench = subprocess.Popen(
            ["stdbuf", "-oL", "redis-benchmark", "-p", str(port), "-t", "set", "-r", str(keys), "-d", "16",
             "-n", str(window), "-c", "50", "-l", "--csv"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

        def reader():
            for line in bench.stdout:
                lines.append((time.monotonic(), line.strip()))

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        time.sleep(2.0)
        peak_rss = peak_pss = 0
        t0 = time.monotonic()
        reply = c.cmd("BGREWRITEAOF")
        assert reply.startswith("Background append only file rewriting"), reply
        last_pss = 0.0
        while True:
            kids = children(proc.pid)
            rss = rss_kb(proc.pid) + sum(rss_kb(k) for k in kids)
            peak_rss = max(peak_rss, rss)
            now = time.monotonic()
            if now - last_pss >= 0.1:
                last_pss = now
                pss = pss_kb(proc.pid) + sum(pss_kb(k) for k in kids)
                peak_pss = max(peak_pss, pss)
            if c.info("persistence").get("aof_rewrite_in_progress") == "0":
                break
            time.sleep(0.01)
        t1 = time.monotonic()
        fork_us = int(c.info("stats").get("latest_fork_usec", "0"))
        status = c.info("persistence").get("aof_last_bgrewrite_status")
        time.sleep(0.5)
        bench.terminate()
        bench.wait()
        th.join(timeout=2)
        # Windows overlapping the rewrite: each result line ends a window
        # that began at the previous line.
        p99s, rps = [], []
        prev = None
        for ts, line in lines:
            if line.startswith('"SET"'):
                f = [x.strip('"') for x in line.split(",")]
                if prev is not None and ts > t0 and prev < t1:
                    p99s.append(float(f[6]))
                    rps.append(float(f[1]))
                prev = ts
        return {
            "wall": t1 - t0,
            "fork_us": fork_us,
            "p99": statistics.median(p99s) if p99s else float("nan"),
            "p99_worst": max(p99s) if p99s else float("nan"),
            "rps": statistics.median(rps) if rps else float("nan"),
            "rss_before_kb": rss_before,
            "peak_rss_kb": peak_rss,
            "peak_pss_kb": peak_pss,
            "status": status,
            "aof_bytes": aof_bytes(d),
        }
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    ox = os.environ.get("OX", "target/release/oxredis-server")
    ref = shutil.which("redis-server")
    keys = int(os.environ.get("BENCH_RW_KEYS", "1000000"))
    rounds = int(os.environ.get("BENCH_RW_ROUNDS", "3"))
    window = int(os.environ.get("BENCH_RW_WINDOW", "20000"))
    if not shutil.which("redis-benchmark"):
        raise SystemExit("bench-rewrite: redis-benchmark not installed (apt-get install redis-tools)")
    servers = [("oxredis", ox)] + ([("redis", ref)] if ref else [])
    if not ref:
        print("NOTE: redis-server not installed: oxredis only, no ratios")
    for preamble in os.environ.get("BENCH_RW_PREAMBLE", "no yes").split():
        run_mode(servers, ref, keys, rounds, window, preamble)


def run_mode(servers, ref, keys, rounds, window, preamble):
    tmp = tempfile.mkdtemp(prefix="oxredis-bench-rewrite.")
    results = {n: [] for n, _ in servers}
    try:
        for r in range(rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for name, binary in order:
                res = run_one(name, binary, keys, window, tmp, preamble)
                results[name].append(res)
                print("round %d %-8s wall %.3f s  fork %d us  p99 %.3f ms (worst window %.3f)  %.0f SET/s  "
                      "peak RSS %.1f MB (PSS %.1f MB, parent before %.1f MB)  status %s  aof %d bytes" % (
                          r + 1, name, res["wall"], res["fork_us"], res["p99"], res["p99_worst"], res["rps"],
                          res["peak_rss_kb"] / 1024, res["peak_pss_kb"] / 1024, res["rss_before_kb"] / 1024,
                          res["status"], res["aof_bytes"]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    print()
    print("bench-rewrite: %d keys (DEBUG POPULATE), aof-use-rdb-preamble %s, redis-benchmark SET -c 50 "
          "throughout, %d rounds, medians" % (keys, preamble, rounds))
    rows = [
        ("rewrite wall time (s)", "wall", "%.3f"),
        ("fork time (latest_fork_usec)", "fork_us", "%d"),
        ("benchmark p99 during rewrite (ms)", "p99", "%.3f"),
        ("worst-window p99 during rewrite (ms)", "p99_worst", "%.3f"),
        ("benchmark SET/s during rewrite", "rps", "%.0f"),
        ("peak RSS parent+child (MB)", "peak_rss_kb", "%.1f"),
        ("peak PSS parent+child (MB)", "peak_pss_kb", "%.1f"),
    ]
    print("%-38s %14s %14s %8s" % ("", "oxredis", "redis" if ref else "", "ratio" if ref else ""))
    for label, key, fmt in rows:
        scale = 1024.0 if key.endswith("_kb") else 1.0
        a = med("oxredis", key) / scale
        line = "%-38s %14s" % (label, fmt % a)
        if ref:
            b = med("redis", key) / scale
            ratio = a / b if b else float("nan")
            line += " %14s %8.2f" % (fmt % b, ratio)
        print(line)


if __name__ == "__main__":
    sys.exit(main())
