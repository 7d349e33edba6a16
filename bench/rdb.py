#!/usr/bin/env python3
"""The RDB snapshot benchmark behind `make bench-rdb`.

For oxredis and (when installed) the reference redis-server, in the same
run and with the same configuration (save "", appendonly no, rdbcompression
and rdbchecksum yes, the same *-max-ziplist-* / intset / list limits, which
Redis 7 takes as aliases of its *-max-listpack-* options), two datasets:

  strings  DEBUG POPULATE <keys> (key:N -> value:N)
  mix      about <keys> keys of collections loaded with redis-cli --pipe:
           small hashes, sorted sets, lists (compact encodings: ziplist /
           listpack, quicklist of one node), small integer sets (intset),
           small sets of strings (hashtable), 10% of them with an expire,
           plus a few big ones of keys/10 elements each (hashtable,
           skiplist, quicklist of many nodes, hashtable set).

Both servers hold the same data (checked with DEBUG DIGEST, again at the
end). A first SAVE is timed on the data as the commands built it; then,
each round (server order alternating):

  load    SHUTDOWN NOSAVE, start the server again on its OWN dump and time
          it from exec until PING answers something other than -LOADING;
          also the server's "DB loaded from disk: X seconds" log line and
          its CPU time at that point (whole process since exec)
  save    wall time around SAVE and the server's CPU time for it
          (utime+stime from /proc/PID/stat before/after); file size
  reload  wall and CPU time of DEBUG RELOAD (save + flush + load)

and prints the medians with the ratios oxredis/redis (lower is better).
Note: redis-server 7.0 writes RDB version 10 (listpack encodings), oxredis
version 9 (ziplist encodings, as Redis 6.2): file sizes differ partly for
that reason.

Knobs: BENCH_RDB_KEYS (default 1000000), BENCH_RDB_ROUNDS (default 3),
BENCH_RDB_DATASETS (default "strings mix"), BENCH_RDB_RELOAD (default 1).
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TCK = os.sysconf("SC_CLK_TCK")

# Identical on both servers; Redis 7 maps the ziplist names to listpack ones.
COMMON = [
    "--save", "", "--appendonly", "no", "--rdbcompression", "yes", "--rdbchecksum", "yes",
    "--hash-max-ziplist-entries", "128", "--hash-max-ziplist-value", "64",
    "--zset-max-ziplist-entries", "128", "--zset-max-ziplist-value", "64",
    "--set-max-intset-entries", "512", "--list-max-ziplist-size", "-2",
    "--list-compress-depth", "0",
]


from benchlib import Client, ReplyError, free_port  # noqa: E402


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15; fields[0] here is field 3.
    return int(fields[11]) + int(fields[12])


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


EXPIRE_AT = b"4102444800000"  # 2100-01-01, fixed so that both digests agree


def gen_mix(path, keys):
    """Writes the RESP commands of the mix dataset; returns its key count."""
    n_hash, n_zset, n_iset, n_sset, n_list = (keys * 30 // 100, keys * 20 // 100, keys * 15 // 100,
                                             keys * 5 // 100, keys * 30 // 100)
    big, big_len = 10, max(keys // 10, 1000)
    total = 0
    with open(path, "wb") as w:
        buf = []

        def put(args):
            buf.append(resp(args))
            if len(buf) >= 20000:
                w.write(b"".join(buf))
                buf.clear()

        for i in range(n_hash):
            args = [b"HSET", b"h:%d" % i]
            for f in range(10):
                # Half the values are integers (ziplist int encodings).
                args += [b"field%d" % f, b"%d" % (i * 10 + f) if f % 2 else b"value:%d:%d" % (i, f)]
            put(args)
        for i in range(n_zset):
            args = [b"ZADD", b"z:%d" % i]
            for m in range(10):
                args += [b"%d" % (i + m) if m % 2 else b"%.2f" % (i * 0.5 + m), b"member:%d" % m]
            put(args)
        for i in range(n_iset):
            put([b"SADD", b"si:%d" % i] + [b"%d" % (i * 7 + m * 1000) for m in range(10)])
        for i in range(n_sset):
            put([b"SADD", b"ss:%d" % i] + [b"m:%d:%d" % (i, m) for m in range(10)])
        for i in range(n_list):
            put([b"RPUSH", b"l:%d" % i] + [b"%d" % (i + m) if m % 2 else b"elem:%d:%d" % (i, m) for m in range(10)])
        # 10% of the small keys expire (far in the future).
        for prefix, n in ((b"h", n_hash), (b"z", n_zset), (b"si", n_iset), (b"ss", n_sset), (b"l", n_list)):
            for i in range(0, n, 10):
                put([b"PEXPIREAT", b"%s:%d" % (prefix, i), EXPIRE_AT])
        total += n_hash + n_zset + n_iset + n_sset + n_list
        # A few big collections: hashtable, skiplist, quicklist of many nodes.
        step = 1000
        for b in range(big):
            for lo in range(0, big_len, step):
                hi = min(lo + step, big_len)
                args = [b"HSET", b"bigh:%d" % b]
                for j in range(lo, hi):
                    args += [b"f:%d" % j, b"v:%d:%d" % (b, j)]
                put(args)
                args = [b"ZADD", b"bigz:%d" % b]
                for j in range(lo, hi):
                    args += [b"%d.5" % j, b"m:%d:%d" % (b, j)]
                put(args)
                put([b"SADD", b"bigs:%d" % b] + [b"s:%d:%d" % (b, j) for j in range(lo, hi)])
                put([b"RPUSH", b"bigl:%d" % b] + [b"%d" % j if j % 3 else b"item:%d" % j for j in range(lo, hi)])
        total += 4 * big
        w.write(b"".join(buf))
    return total


class Server:
    def __init__(self, name, binary, tmp):
        self.name, self.binary = name, binary
        self.dir = tempfile.mkdtemp(prefix=name + ".", dir=tmp)
        self.log = os.path.join(self.dir, "log")
        self.port = free_port()
        self.argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                     "--logfile", self.log] + COMMON
        ver = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        if re.search(r"v=[7-9]", ver):
            self.argv += ["--enable-debug-command", "yes"]
        self.proc = None
        self.c = None

    def start(self):
        """Starts the server; returns (wall seconds until PING answers without
        -LOADING, process CPU seconds at that point)."""
        # A fresh log each start so that the load line read is this start's.
        try:
            os.unlink(self.log)
        except OSError:
            pass
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c = None
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("bench-rdb: %s exited at start:\n%s" % (self.name, self.read_log()))
            if time.monotonic() - t0 > 600:
                raise SystemExit("bench-rdb: %s not ready after 600 s" % self.name)
            try:
                if c is None:
                    c = Client(self.port, timeout=1)
                if c.cmd("PING") == "PONG":
                    break
            except ReplyError as e:
                if not str(e).startswith("LOADING"):
                    raise
            except (ConnectionError, OSError, EOFError):
                if c is not None:
                    c.close()
                c = None
            time.sleep(0.002)
        wall = time.monotonic() - t0
        cpu = cpu_ticks(self.proc.pid) / TCK
        self.c = c
        return wall, cpu

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logged_load_seconds(self):
        # The line may come a moment after the first PONG.
        for _ in range(50):
            m = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", self.read_log())
            if m:
                return float(m[-1])
            time.sleep(0.02)
        return float("nan")

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.c is not None:
                self.c.cmd("SHUTDOWN", "NOSAVE")
        except (EOFError, OSError, ReplyError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc, self.c = None, None

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def dump_path(self):
        return os.path.join(self.dir, "dump.rdb")

    def save(self):
        pid = self.proc.pid
        before = cpu_ticks(pid)
        t0 = time.monotonic()
        reply = self.c.cmd("SAVE")
        wall = time.monotonic() - t0
        cpu = (cpu_ticks(pid) - before) / TCK
        assert reply == "OK", reply
        return wall, cpu, os.path.getsize(self.dump_path())

    def reload(self):
        pid = self.proc.pid
        before = cpu_ticks(pid)
        t0 = time.monotonic()
        reply = self.c.cmd("DEBUG", "RELOAD")
        wall = time.monotonic() - t0
        assert reply == "OK", reply
        return wall, (cpu_ticks(pid) - before) / TCK


def populate(srv, dataset, keys, proto):
    srv.c.cmd("FLUSHALL")
    if dataset == "strings":
        srv.c.cmd("DEBUG", "POPULATE", keys)
    else:
        with open(proto, "rb") as f:
            out = subprocess.run(["redis-cli", "-p", str(srv.port), "--pipe"], stdin=f,
                                 capture_output=True, text=True)
        if out.returncode != 0 or "errors: 0," not in out.stdout:
            raise SystemExit("bench-rdb: loading the mix into %s failed:\n%s%s" % (srv.name, out.stdout, out.stderr))


def main():
    ox = os.environ.get("OX", "target/release/oxredis-server")
    ref = shutil.which("redis-server")
    keys = int(os.environ.get("BENCH_RDB_KEYS", "1000000"))
    rounds = int(os.environ.get("BENCH_RDB_ROUNDS", "3"))
    datasets = os.environ.get("BENCH_RDB_DATASETS", "strings mix").split()
    do_reload = os.environ.get("BENCH_RDB_RELOAD", "1") not in ("0", "", "no")
    if not shutil.which("redis-cli"):
        raise SystemExit("bench-rdb: redis-cli not installed (apt-get install redis-tools)")
    names = [("oxredis", ox)] + ([("redis", ref)] if ref else [])
    if not ref:
        print("NOTE: redis-server not installed: oxredis only, no ratios")
    vers = {}
    for name, b in names:
        v = subprocess.run([b, "--version"], capture_output=True, text=True).stdout
        vers[name] = " ".join(re.findall(r"v=\S+", v))
    print("bench-rdb: oxredis %s vs redis %s, %d keys, %d rounds, %d cores" % (
        vers.get("oxredis", "?"), vers.get("redis", "-"), keys, rounds, os.cpu_count() or 0), flush=True)
    tmp = tempfile.mkdtemp(prefix="oxredis-bench-rdb.")
    servers = []
    tables = []
    try:
        proto = None
        if "mix" in datasets:
            proto = os.path.join(tmp, "mix.resp")
            t0 = time.monotonic()
            n = gen_mix(proto, keys)
            print("mix: %d keys, %.0f MB of commands generated in %.1f s" % (
                n, os.path.getsize(proto) / 1e6, time.monotonic() - t0), flush=True)
        for ds in datasets:
            servers = [Server(name, b, tmp) for name, b in names]
            for s in servers:
                s.start()
                t0 = time.monotonic()
                populate(s, ds, keys, proto)
                s.dbsize = s.c.cmd("DBSIZE")
                s.digest = s.c.cmd("DEBUG", "DIGEST")
                print("%s %-8s populated %d keys in %.1f s, digest %s" % (
                    ds, s.name, s.dbsize, time.monotonic() - t0, s.digest), flush=True)
            if len(servers) == 2 and servers[0].digest != servers[1].digest:
                print("WARNING: %s: the two servers hold different data (digests differ)" % ds)
            res = {s.name: {k: [] for k in ("first_save", "first_save_cpu", "save", "save_cpu", "size", "load",
                                            "load_log", "load_cpu", "reload", "reload_cpu")}
                   for s in servers}
            # The first SAVE walks the data as the commands built it; the
            # rounds' SAVEs walk data loaded from a file (laid out in
            # memory in file order, which is kinder to the caches).
            for s in servers:
                wall, cpu, size = s.save()
                res[s.name]["first_save"].append(wall)
                res[s.name]["first_save_cpu"].append(cpu)
                print("%s first SAVE %-8s %.3f s (cpu %.2f s)  %.1f MB" % (ds, s.name, wall, cpu, size / 1e6), flush=True)
            for r in range(rounds):
                order = servers if r % 2 == 0 else list(reversed(servers))
                for s in order:
                    d = res[s.name]
                    s.stop()
                    lwall, lcpu = s.start()
                    llog = s.logged_load_seconds()
                    n = s.c.cmd("DBSIZE")
                    if n != s.dbsize:
                        raise SystemExit("bench-rdb: %s loaded %d keys, held %d" % (s.name, n, s.dbsize))
                    wall, cpu, size = s.save()
                    rl, rlc = s.reload() if do_reload else (float("nan"), float("nan"))
                    for k, v in (("save", wall), ("save_cpu", cpu), ("size", size), ("load", lwall),
                                 ("load_log", llog), ("load_cpu", lcpu), ("reload", rl), ("reload_cpu", rlc)):
                        d[k].append(v)
                    print("%s round %d %-8s load %.3f s (log %.3f s, cpu %.2f s)  SAVE %.3f s (cpu %.2f s)  %.1f MB"
                          "  DEBUG RELOAD %.3f s (cpu %.2f s)" % (
                              ds, r + 1, s.name, lwall, llog, lcpu, wall, cpu, size / 1e6, rl, rlc), flush=True)
            # The loaded data must still be the same.
            for s in servers:
                dg = s.c.cmd("DEBUG", "DIGEST")
                if dg != s.digest:
                    print("WARNING: %s: %s digest changed over save/load: %s -> %s" % (ds, s.name, s.digest, dg))
                s.stop()
                shutil.rmtree(s.dir, ignore_errors=True)
            tables.append((ds, servers[0].dbsize, res))
            servers = []
    finally:
        for s in servers:
            s.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("bench-rdb: medians of %d rounds; ratios oxredis/redis (lower is better)" % rounds)
    print("(redis-server 7.0 writes RDB v10 with listpacks, oxredis v9 with ziplists; each loads its own file)")
    rows = [
        ("first SAVE, as populated (s)", "first_save", "%.3f"),
        ("first SAVE server CPU (s)", "first_save_cpu", "%.2f"),
        ("SAVE wall time (s)", "save", "%.3f"),
        ("SAVE server CPU (s)", "save_cpu", "%.2f"),
        ("file size (MB)", "size", "%.2f"),
        ("load: start to PING ready (s)", "load", "%.3f"),
        ("load: 'DB loaded from disk' (s)", "load_log", "%.3f"),
        ("load: server CPU at ready (s)", "load_cpu", "%.2f"),
    ]
    if do_reload:
        rows.append(("DEBUG RELOAD (s)", "reload", "%.3f"))
        rows.append(("DEBUG RELOAD server CPU (s)", "reload_cpu", "%.2f"))
    for ds, n, res in tables:
        print()
        print("== %s: %d keys ==" % (ds, n))
        print("%-34s %12s %12s %8s" % ("", "oxredis", "redis" if ref else "", "ratio" if ref else ""))
        for label, key, fmt in rows:
            scale = 1e6 if key == "size" else 1.0
            a = statistics.median(res["oxredis"][key]) / scale
            line = "%-34s %12s" % (label, fmt % a)
            if ref:
                b = statistics.median(res["redis"][key]) / scale
                line += " %12s %8.2f" % (fmt % b, a / b if b else float("nan"))
            print(line)


if __name__ == "__main__":
    sys.exit(main())
