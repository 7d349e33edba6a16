#!/usr/bin/env python3
"""Prints the longest duration (µs) in a server's SLOWLOG: `slowlog_max.py PORT`."""
import socket
import sys


def read_reply(f):
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-"):
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ValueError("bad reply: %r" % line)


def main():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = s.makefile("rb")
    s.sendall(b"*3\r\n$7\r\nSLOWLOG\r\n$3\r\nGET\r\n$4\r\n1024\r\n")
    entries = read_reply(f)
    print(max((e[2] for e in entries), default=0))


if __name__ == "__main__":
    main()
