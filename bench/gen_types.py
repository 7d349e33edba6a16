#!/usr/bin/env python3
"""Writes RESP commands creating N small collections, for `make bench`:
`gen_types.py hash|set|zset N` (10 fields / members each)."""
import sys


def cmd(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    w = sys.stdout.buffer
    buf = []
    for i in range(n):
        if kind == "hash":
            args = [b"HSET", b"h:%d" % i]
            for f in range(10):
                args += [b"field%d" % f, b"value%d" % (i + f)]
        elif kind == "set":
            args = [b"SADD", b"s:%d" % i] + [b"%d" % (i % 1000 + m) for m in range(10)]
        elif kind == "zset":
            args = [b"ZADD", b"z:%d" % i]
            for m in range(10):
                args += [b"%d" % m, b"member%d" % m]
        else:
            raise SystemExit("unknown kind " + kind)
        buf.append(cmd(args))
        if len(buf) >= 10000:
            w.write(b"".join(buf))
            buf = []
    w.write(b"".join(buf))


if __name__ == "__main__":
    main()
