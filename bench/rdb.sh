#!/usr/bin/env bash
# `make bench-rdb`: SAVE and load of 1M keys (DEBUG POPULATE strings, then a
# mix of small and big collections) on oxredis and on the reference
# redis-server with the same configuration, in the same run: SAVE wall and
# CPU time, file size, load time (start until PING is not -LOADING, and the
# "DB loaded from disk" log line), DEBUG RELOAD time, each beside Redis's
# with the ratio. See bench/rdb.py.
#
# Environment knobs:
#   BENCH_RDB_KEYS      keys per dataset (default 1000000)
#   BENCH_RDB_ROUNDS    rounds per server, order alternating (default 3)
#   BENCH_RDB_DATASETS  "strings", "mix" or both (default "strings mix")
#   BENCH_RDB_RELOAD    1 to time DEBUG RELOAD too, 0 not to (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-cli >/dev/null || { echo "bench-rdb: redis-cli not installed (apt-get install redis-tools)"; exit 1; }
exec python3 bench/rdb.py
