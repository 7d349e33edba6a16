#!/usr/bin/env bash
# `make bench-rewrite`: the background AOF rewrite of 1M keys under a
# redis-benchmark write load, on oxredis and on the reference redis-server
# with the same configuration; prints rewrite wall time, fork time, the
# benchmark's p99 during the rewrite and the peak RSS of parent + child,
# each beside Redis's with the ratio. See bench/rewrite.py.
#
# Environment knobs:
#   BENCH_RW_KEYS    keys to populate (default 1000000)
#   BENCH_RW_ROUNDS  rounds per server, order alternating (default 3)
#   BENCH_RW_WINDOW  requests per redis-benchmark result window (default 20000)
#   BENCH_RW_PREAMBLE  aof-use-rdb-preamble values to run (default "no yes")
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-benchmark >/dev/null || { echo "bench-rewrite: redis-benchmark not installed (apt-get install redis-tools)"; exit 1; }
command -v stdbuf >/dev/null || { echo "bench-rewrite: stdbuf (coreutils) not found"; exit 1; }
exec python3 bench/rewrite.py
