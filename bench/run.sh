#!/usr/bin/env bash
# `make bench`: redis-benchmark against oxredis and, when installed, against
# the reference redis-server with the same configuration, in the same run,
# alternating server order each round. For every test it prints the median
# requests/s of each server and the server's own CPU time per request
# (utime+stime from /proc/PID/stat across the run, divided by the requests),
# with the oxredis/redis ratios.
#
# Environment knobs:
#   BENCH_ROUNDS  rounds per test (default 5; medians are taken)
#   BENCH_N       requests per plain run (default 200000)
#   BENCH_NP      requests per pipelined run (default 2000000)
#   BENCH_TESTS   plain-mode tests (default "ping_inline ping_mbulk set get incr")
#   BENCH_PTESTS  pipelined-mode tests (default "ping_mbulk set get")
#   BENCH_EXTRA   extra server arguments for both servers (e.g. "--appendonly yes")
#   BENCH_KEYS    keys for the memory-per-key figure (default 1000000)
#   BENCH_GROW_N  SETs of random keys for the growth-latency figure (default 5000000)
#   BENCH_TYPE_KEYS  collections per type for the types memory figure (default 1000000)
#   BENCH_AOF_TESTS  tests of the aof section (default "set incr lpush sadd hset zadd")
#   BENCH_MM_MAXMEMORY  maxmemory of the eviction section (default 64mb)
#   BENCH_MM_N    random SETs per eviction run (default 2000000)
#   BENCH_MM_ROUNDS  rounds of the eviction section (default 3)
#   BENCH_ONLY    run only these sections: "ops", "keyspace", "types", "aof",
#                 "maxmemory" (default all)
set -euo pipefail
cd "$(dirname "$0")/.."

OX=${OX:-target/release/oxredis-server}
ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_N:-200000}
NP=${BENCH_NP:-2000000}
TESTS=${BENCH_TESTS:-"ping_inline ping_mbulk set get incr"}
PTESTS=${BENCH_PTESTS:-"ping_mbulk set get"}
EXTRA=${BENCH_EXTRA:-}
KEYS=${BENCH_KEYS:-1000000}
GROW_N=${BENCH_GROW_N:-5000000}
ONLY=${BENCH_ONLY:-"ops keyspace types aof maxmemory"}
AOF_TESTS=${BENCH_AOF_TESTS:-"set incr lpush sadd hset zadd"}
MM_MAX=${BENCH_MM_MAXMEMORY:-64mb}
MM_N=${BENCH_MM_N:-2000000}
MM_ROUNDS=${BENCH_MM_ROUNDS:-3}
TYPE_KEYS=${BENCH_TYPE_KEYS:-1000000}
TCK=$(getconf CLK_TCK)

command -v redis-benchmark >/dev/null || { echo "bench: redis-benchmark not installed (apt-get install redis-tools)"; exit 1; }
REF=$(command -v redis-server || true)
[ -n "$REF" ] || echo "NOTE: redis-server not installed: oxredis only, no ratios"

TMP=$(mktemp -d /tmp/oxredis-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME BINARY [ARGS...]: starts a server, sets PORT_<NAME> and PID_<NAME>.
start() {
    local name=$1 bin=$2 port dir more=""
    shift 2
    # Redis 7 keeps DEBUG behind an option that 6.2 (and oxredis) lack.
    if [ "$name" = ref ] && "$bin" --version | grep -q "v=[7-9]"; then more="--enable-debug-command yes"; fi
    port=$(free_port)
    dir="$TMP/$name"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
        --logfile "$dir/log" $EXTRA $more "$@" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 100); do
        grep -q "Ready to accept connections" "$dir/log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q "Ready to accept connections" "$dir/log" || { echo "bench: $name did not start:"; cat "$dir/log"; exit 1; }
    printf -v "PORT_$name" '%s' "$port"
    printf -v "PID_$name" '%s' "$pid"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME TEST REQUESTS ARGS...: prints "rps us_per_req".
run() {
    local name=$1 test=$2 n=$3; shift 3
    local port pid before after out rps
    port=$(eval echo "\$PORT_$name")
    pid=$(eval echo "\$PID_$name")
    redis-cli -p "$port" flushall >/dev/null
    before=$(cpu_ticks "$pid")
    out=$(redis-benchmark -p "$port" -t "$test" -n "$n" -r 100000 --csv "$@" 2>/dev/null | tail -n 1)
    after=$(cpu_ticks "$pid")
    rps=$(echo "$out" | awk -F'"' '{print $4}')
    awk -v r="$rps" -v d=$((after - before)) -v t="$TCK" -v n="$n" 'BEGIN { printf "%s %.3f\n", r, d * 1e6 / t / n }'
}

median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'; }

# The servers bench_mode compares (the aof section switches them).
A=ox
B=ref
if [[ " $ONLY " == *" ops "* || " $ONLY " == *" keyspace "* || " $ONLY " == *" types "* ]]; then
    start ox "$OX"
    [ -n "$REF" ] && start ref "$REF"
fi

echo "oxredis ($("$OX" --version | grep -o "v=[^ ]*\|build=[^ ]*" | tr "\n" " ")) vs redis-server ${REF:+$("$REF" --version | grep -o "v=[^ ]*")}  rounds=$ROUNDS  $(nproc) cores"
echo "(rps = requests/s, median; us/req = server CPU time per request, median; ratios oxredis/redis: rps higher is better, us/req lower is better)"

bench_mode() {
    local label=$1 n=$2 tests=$3; shift 3
    echo
    echo "== $label =="
    printf '%-12s %12s %12s %7s %9s %9s %7s\n' test ox_rps redis_rps ratio ox_us/req rd_us/req ratio
    for t in $tests; do
        local ox_r=() ox_c=() rd_r=() rd_c=()
        for i in $(seq "$ROUNDS"); do
            local order="ox ref"
            (( i % 2 == 0 )) && order="ref ox"
            for who in $order; do
                [ "$who" = ref ] && [ -z "$REF" ] && continue
                local srv=$A
                [ "$who" = ref ] && srv=$B
                read -r r c < <(run "$srv" "$t" "$n" "$@")
                if [ "$who" = ox ]; then ox_r+=("$r"); ox_c+=("$c"); else rd_r+=("$r"); rd_c+=("$c"); fi
            done
        done
        local orps ocpu rrps rcpu
        orps=$(printf '%s\n' "${ox_r[@]}" | median)
        ocpu=$(printf '%s\n' "${ox_c[@]}" | median)
        if [ -n "$REF" ]; then
            rrps=$(printf '%s\n' "${rd_r[@]}" | median)
            rcpu=$(printf '%s\n' "${rd_c[@]}" | median)
            awk -v t="$t" -v a="$orps" -v b="$rrps" -v c="$ocpu" -v d="$rcpu" 'BEGIN {
                printf "%-12s %12.0f %12.0f %6.2fx %9.3f %9.3f %6.2fx\n", t, a, b, (b > 0 ? a / b : 0), c, d, (d > 0 ? c / d : 0) }'
        else
            awk -v t="$t" -v a="$orps" -v c="$ocpu" 'BEGIN { printf "%-12s %12.0f %12s %7s %9.3f %9s %7s\n", t, a, "-", "-", c, "-", "-" }'
        fi
    done
}

info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }

# Memory per key: used_memory growth over DEBUG POPULATE $KEYS.
mem_per_key() {
    local port=$1 before after
    redis-cli -p "$port" flushall >/dev/null
    before=$(info_field "$port" memory used_memory)
    redis-cli -p "$port" debug populate "$KEYS" >/dev/null
    after=$(info_field "$port" memory used_memory)
    redis-cli -p "$port" flushall >/dev/null
    echo "$(( (after - before) / KEYS )) $after"
}

# Worst latency while the keyspace grows to about $GROW_N keys: the
# slowest command in SLOWLOG (server-side µs) and redis-benchmark's max.
grow_latency() {
    local port=$1 out worst
    redis-cli -p "$port" flushall >/dev/null
    redis-cli -p "$port" config set slowlog-log-slower-than 1000 >/dev/null
    redis-cli -p "$port" config set slowlog-max-len 1024 >/dev/null
    redis-cli -p "$port" slowlog reset >/dev/null
    out=$(redis-benchmark -p "$port" -t set -n "$GROW_N" -r 100000000 -c 50 -P 16 --csv 2>/dev/null | tail -n 1)
    worst=$(python3 bench/slowlog_max.py "$port")
    local n
    n=$(redis-cli -p "$port" dbsize)
    redis-cli -p "$port" config set slowlog-log-slower-than 10000 >/dev/null
    redis-cli -p "$port" flushall >/dev/null
    echo "$worst $(echo "$out" | awk -F'"' '{print $16}') $n"
}

if [[ " $ONLY " == *" ops "* ]]; then
    bench_mode "-c 50 -n $N" "$N" "$TESTS" -c 50
    bench_mode "-c 50 -P 16 -n $NP" "$NP" "$PTESTS" -c 50 -P 16
fi

if [[ " $ONLY " == *" keyspace "* ]]; then
    echo
    echo "== keyspace =="
    read -r ox_bpk ox_used < <(mem_per_key "$PORT_ox")
    if [ -n "$REF" ]; then
        read -r rd_bpk rd_used < <(mem_per_key "$PORT_ref")
        awk -v a="$ox_bpk" -v b="$rd_bpk" -v ua="$ox_used" -v ub="$rd_used" -v k="$KEYS" 'BEGIN {
            printf "memory after DEBUG POPULATE %d: oxredis %d B/key (used_memory %.1f MB), redis %d B/key (%.1f MB), ratio %.2fx\n",
                k, a, ua / 1048576, b, ub / 1048576, (b > 0 ? a / b : 0) }'
    else
        echo "memory after DEBUG POPULATE $KEYS: oxredis $ox_bpk B/key"
    fi
    read -r ox_w ox_max ox_n < <(grow_latency "$PORT_ox")
    if [ -n "$REF" ]; then
        read -r rd_w rd_max rd_n < <(grow_latency "$PORT_ref")
        echo "growth to ~$ox_n keys (SET -P 16, $GROW_N requests): worst command oxredis ${ox_w} us, redis ${rd_w} us (SLOWLOG); benchmark max latency oxredis ${ox_max} ms, redis ${rd_max} ms"
    else
        echo "growth to ~$ox_n keys: worst command oxredis ${ox_w} us (SLOWLOG); benchmark max latency ${ox_max} ms"
    fi
fi

# Memory of small collections (compact encodings): used_memory growth
# after creating $TYPE_KEYS hashes of 10 fields, sets of 10 small
# integers, sorted sets of 10 members, loaded with redis-cli --pipe.
type_mem() {
    local port=$1 kind=$2 before after
    redis-cli -p "$port" flushall >/dev/null
    before=$(info_field "$port" memory used_memory)
    python3 bench/gen_types.py "$kind" "$TYPE_KEYS" | redis-cli -p "$port" --pipe >/dev/null
    after=$(info_field "$port" memory used_memory)
    local enc
    enc=$(redis-cli -p "$port" object encoding "${kind:0:1}:0")
    # Flush before printing: the caller reads one line and moves on.
    redis-cli -p "$port" flushall >/dev/null
    echo "$(( (after - before) / TYPE_KEYS )) $enc"
}

if [[ " $ONLY " == *" types "* ]]; then
    echo
    echo "== types: $TYPE_KEYS small collections (used_memory per key) =="
    for kind in hash set zset; do
        read -r ox_b ox_enc < <(type_mem "$PORT_ox" "$kind")
        if [ -n "$REF" ]; then
            read -r rd_b rd_enc < <(type_mem "$PORT_ref" "$kind")
            awk -v k="$kind" -v a="$ox_b" -v b="$rd_b" -v ea="$ox_enc" -v eb="$rd_enc" 'BEGIN {
                printf "%-5s oxredis %4d B/key (%s), redis %4d B/key (%s), ratio %.2fx\n", k, a, ea, b, eb, (b > 0 ? a / b : 0) }'
        else
            echo "$kind oxredis $ox_b B/key ($ox_enc)"
        fi
    done
fi

# Writes with the AOF on (appendfsync everysec) on both servers. Automatic
# rewrites are off on both: oxredis has no background rewrite yet, and a
# Redis rewrite child's CPU would not show in its parent's figures anyway.
if [[ " $ONLY " == *" aof "* ]]; then
    AOF_ARGS=(--appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0)
    start ox_aof "$OX" "${AOF_ARGS[@]}"
    [ -n "$REF" ] && start ref_aof "$REF" "${AOF_ARGS[@]}"
    A=ox_aof
    B=ref_aof
    bench_mode "aof everysec: -c 50 -n $N" "$N" "$AOF_TESTS" -c 50
    bench_mode "aof everysec: -c 50 -P 16 -n $NP" "$NP" "$AOF_TESTS" -c 50 -P 16
fi

# Eviction: $MM_N SETs of random keys (100-byte values, 10M key space)
# into a server capped at maxmemory $MM_MAX with allkeys-lru, so that
# after the first few hundred thousand keys nearly every SET evicts.
# Prints "rps us_per_req used_memory maxmemory evicted_keys dbsize".
mm_run() {
    local name=$1 port pid before after out rps used max evicted keys; shift
    port=$(eval echo "\$PORT_$name")
    pid=$(eval echo "\$PID_$name")
    redis-cli -p "$port" flushall >/dev/null
    redis-cli -p "$port" config set maxmemory-policy allkeys-lru >/dev/null
    redis-cli -p "$port" config set maxmemory "$MM_MAX" >/dev/null
    redis-cli -p "$port" config resetstat >/dev/null
    before=$(cpu_ticks "$pid")
    out=$(redis-benchmark -p "$port" -t set -n "$MM_N" -r 10000000 -d 100 --csv "$@" 2>/dev/null | tail -n 1)
    after=$(cpu_ticks "$pid")
    rps=$(echo "$out" | awk -F'"' '{print $4}')
    used=$(info_field "$port" memory used_memory)
    max=$(info_field "$port" memory maxmemory)
    evicted=$(info_field "$port" stats evicted_keys)
    keys=$(redis-cli -p "$port" dbsize)
    redis-cli -p "$port" config set maxmemory 0 >/dev/null
    redis-cli -p "$port" config set maxmemory-policy noeviction >/dev/null
    redis-cli -p "$port" flushall >/dev/null
    awk -v r="$rps" -v d=$((after - before)) -v t="$TCK" -v n="$MM_N" -v u="$used" -v m="$max" -v e="$evicted" -v k="$keys" \
        'BEGIN { printf "%s %.3f %s %s %s %s\n", r, d * 1e6 / t / n, u, m, e, k }'
}

mm_mode() {
    local label=$1; shift
    local ox_r=() ox_c=() rd_r=() rd_c=() ox_tail="" rd_tail=""
    for i in $(seq "$MM_ROUNDS"); do
        local order="ox ref"
        (( i % 2 == 0 )) && order="ref ox"
        for who in $order; do
            [ "$who" = ref ] && [ -z "$REF" ] && continue
            read -r r c u m e k < <(mm_run "${who}_mm" "$@")
            if [ "$who" = ox ]; then ox_r+=("$r"); ox_c+=("$c"); ox_tail="$u $m $e $k"
            else rd_r+=("$r"); rd_c+=("$c"); rd_tail="$u $m $e $k"; fi
        done
    done
    local orps ocpu rrps=0 rcpu=0
    orps=$(printf '%s\n' "${ox_r[@]}" | median)
    ocpu=$(printf '%s\n' "${ox_c[@]}" | median)
    if [ -n "$REF" ]; then
        rrps=$(printf '%s\n' "${rd_r[@]}" | median)
        rcpu=$(printf '%s\n' "${rd_c[@]}" | median)
    fi
    awk -v t="$label" -v a="$orps" -v b="$rrps" -v c="$ocpu" -v d="$rcpu" -v ref="$REF" 'BEGIN {
        if (ref != "") printf "%-12s %12.0f %12.0f %6.2fx %9.3f %9.3f %6.2fx\n", t, a, b, (b > 0 ? a / b : 0), c, d, (d > 0 ? c / d : 0)
        else printf "%-12s %12.0f %12s %7s %9.3f %9s %7s\n", t, a, "-", "-", c, "-", "-" }'
    for pair in "oxredis:$ox_tail" "redis:$rd_tail"; do
        local who=${pair%%:*} rest=${pair#*:}
        [ -z "$rest" ] && continue
        read -r u m e k <<< "$rest"
        awk -v w="$who" -v u="$u" -v m="$m" -v e="$e" -v k="$k" 'BEGIN {
            printf "  %-8s end of last run: used_memory %.2f MB = %.1f%% of maxmemory %.0f MB; %d keys held, %d evicted\n",
                w, u / 1048576, (m > 0 ? u * 100 / m : 0), m / 1048576, k, e }'
    done
}

if [[ " $ONLY " == *" maxmemory "* ]]; then
    echo
    echo "== maxmemory $MM_MAX allkeys-lru: $MM_N SETs of random keys (-r 10000000 -d 100), rounds=$MM_ROUNDS =="
    start ox_mm "$OX"
    [ -n "$REF" ] && start ref_mm "$REF"
    printf '%-12s %12s %12s %7s %9s %9s %7s\n' test ox_rps redis_rps ratio ox_us/req rd_us/req ratio
    mm_mode "set -c 50" -c 50
    mm_mode "set -P 16" -c 50 -P 16
fi
