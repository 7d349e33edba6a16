# maxmemory and eviction: the limit holds under writes for every policy,
# volatile-* policies only take keys with a TTL, noeviction refuses commands
# that may use memory with -OOM, CONFIG SET maxmemory acts at once (and logs
# Redis's warning), INFO and OBJECT follow the policy.
#
# Expected values are Redis 6.2's. Against Redis 7.0 (`--server
# redis-server`) two tests fail on purpose: 7.0 words CONFIG SET errors
# differently ("argument(s) must be ..."), and keeps its AOF in
# `appendonlydir/` rather than `dir/appendonly.aof`.

set ::mm_oom {OOM command not allowed when used memory > 'maxmemory'.}

# Writes `count` keys named prefix:N with a `size`-byte value, pipelined;
# with `ttl` > 0 each gets EX ttl.
proc mm_fill {prefix count size {ttl 0}} {
    set rd [redis_deferring_client]
    set val [string repeat x $size]
    for {set j 0} {$j < $count} {incr j} {
        if {$ttl > 0} {
            $rd set $prefix:$j $val ex $ttl
        } else {
            $rd set $prefix:$j $val
        }
    }
    for {set j 0} {$j < $count} {incr j} {
        $rd read
    }
    $rd close
}

# How many of prefix:0..count-1 exist.
proc mm_surviving {prefix count} {
    set n 0
    for {set j 0} {$j < $count} {incr j} {
        incr n [r exists $prefix:$j]
    }
    return $n
}

start_server {tags {"maxmemory"}} {

    test {maxmemory options have Redis's defaults, bounds and names} {
        list [lindex [r config get maxmemory] 1] \
             [lindex [r config get maxmemory-policy] 1] \
             [lindex [r config get maxmemory-samples] 1] \
             [lindex [r config get maxmemory-eviction-tenacity] 1] \
             [lindex [r config get lfu-log-factor] 1] \
             [lindex [r config get lfu-decay-time] 1]
    } {0 noeviction 5 10 10 1}

    test {CONFIG SET of the eviction options validates like Redis} {
        assert_error {*argument must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction*} \
            {r config set maxmemory-policy lru}
        assert_error {*argument must be between 1 and*} {r config set maxmemory-samples 0}
        assert_error {*argument must be between 0 and 100 inclusive*} {r config set maxmemory-eviction-tenacity 101}
        assert_error {*argument must be a memory value*} {r config set maxmemory 10zb}
        r config set maxmemory-policy ALLKEYS-LFU
        r config set maxmemory 64mb
        set info [r info memory]
        set res [list [info_field $info maxmemory] [info_field $info maxmemory_human] \
                      [info_field $info maxmemory_policy]]
        r config set maxmemory 0
        r config set maxmemory-policy noeviction
        set res
    } {67108864 64.00M allkeys-lfu}

    foreach policy {allkeys-random allkeys-lru allkeys-lfu volatile-lru volatile-lfu volatile-random volatile-ttl} {
        test "Memory stays at maxmemory under writes - $policy" {
            r flushall
            r config set maxmemory 0
            r config set maxmemory-policy $policy
            set ttl [expr {[string match volatile-* $policy] ? 100000 : 0}]
            mm_fill seed 500 500 $ttl
            set limit [expr {[s used_memory] + 512*1024}]
            r config set maxmemory $limit
            # About four times the room left: most of it must be evicted.
            set peak 0
            for {set round 0} {$round < 8} {incr round} {
                mm_fill w$round 500 500 $ttl
                set used [s used_memory]
                if {$used > $peak} {set peak $used}
            }
            assert {[s evicted_keys] > 1000}
            r config set maxmemory 0
            assert_lessthan $peak [expr {$limit + 64*1024}]
            # The newest writes are there.
            r exists w7:499
        } {1}
    }

    test {volatile-lru takes only keys with a TTL, then refuses writes} {
        r flushall
        r config set maxmemory 0
        r config set maxmemory-policy volatile-lru
        mm_fill keep 200 500
        mm_fill ttl 1000 500 100000
        r config set maxmemory [expr {[s used_memory] - 256*1024}]
        r config set maxmemory 0
        set keep [mm_surviving keep 200]
        set ttl [mm_surviving ttl 1000]
        assert_equal 200 $keep
        assert_range $ttl 1 999
        # Nothing volatile left to take: writes are refused.
        r config set maxmemory 1
        assert_equal 0 [mm_surviving ttl 1000]
        assert_error "$::mm_oom*" {r set another key}
        set res [list [mm_surviving keep 200] [r get keep:0]]
        r config set maxmemory 0
        set res
    } [list 200 [string repeat x 500]]

    test {volatile-ttl evicts the keys that expire soonest} {
        r flushall
        r config set maxmemory 0
        r config set maxmemory-policy volatile-ttl
        r config set maxmemory-samples 10
        mm_fill far 400 500 1000000
        mm_fill near 400 500 1000
        r config set maxmemory [expr {[s used_memory] - 128*1024}]
        r config set maxmemory 0
        r config set maxmemory-samples 5
        set near [mm_surviving near 400]
        set far [mm_surviving far 400]
        assert_range $near 0 350
        assert_range $far 395 400
    }

    test {noeviction refuses commands that may use memory, serves the others} {
        r flushall
        r config set maxmemory 0
        r config set maxmemory-policy noeviction
        r set a 1
        r rpush l x y z
        r config resetstat
        r config set maxmemory 1
        assert_error "$::mm_oom*" {r set b 1}
        assert_error "$::mm_oom*" {r incr a}
        assert_error "$::mm_oom*" {r rpush l w}
        assert_error "$::mm_oom*" {r sadd s m}
        set res [list [r get a] [r llen l] [r lpop l] [r del a] [r dbsize] [s evicted_keys]]
        r config set maxmemory 0
        lappend res [r set b 1]
    } {1 3 x 1 1 0 OK}

    test {The memory over maxmemory is timed in INFO stats} {
        r config resetstat
        r config set maxmemory 1
        catch {r set b 2}
        after 30
        set current [s current_eviction_exceeded_time]
        # Back under the limit (maxmemory 0 would skip the check, so the
        # stretch would stay open, as in Redis).
        r config set maxmemory 1gb
        r ping
        r config set maxmemory 0
        list [expr {$current >= 20}] [expr {[s total_eviction_exceeded_time] >= 20}] \
             [s current_eviction_exceeded_time]
    } {1 1 0}

    test {CONFIG SET maxmemory below the memory in use warns and evicts at once} {
        r flushall
        r config set maxmemory 0
        r config set maxmemory-policy allkeys-lru
        mm_fill k 1000 500
        r config resetstat
        set from [count_log_lines 0]
        set limit [expr {[s used_memory] - 128*1024}]
        r config set maxmemory $limit
        wait_for_log_messages 0 [list "*WARNING: the new maxmemory value set via CONFIG SET ($limit) is smaller than the current memory usage*"] $from 50 20
        set evicted [s evicted_keys]
        r config set maxmemory 0
        assert {$evicted > 100}
        expr {[r dbsize] + $evicted}
    } {1000}

    test {OBJECT IDLETIME and OBJECT FREQ follow the policy} {
        r flushall
        r config set maxmemory-policy allkeys-lru
        r set k v
        assert_equal 0 [r object idletime k]
        assert_error {*An LFU maxmemory policy is not selected*} {r object freq k}
        r config set maxmemory-policy allkeys-lfu
        assert_error {*An LFU maxmemory policy is selected, idle time not tracked*} {r object idletime k}
        r set fresh v
        set before [r object freq fresh]
        for {set j 0} {$j < 100} {incr j} {r get fresh}
        set after [r object freq fresh]
        r config set maxmemory-policy noeviction
        list $before [expr {$after > $before}] [r object freq nokey]
    } {5 1 {}}

    test {LFU keeps the keys that are read often} {
        r flushall
        r config set maxmemory 0
        r config set maxmemory-policy allkeys-lfu
        mm_fill k 1000 500
        for {set round 0} {$round < 30} {incr round} {
            for {set j 0} {$j < 50} {incr j} {r get k:$j}
        }
        r config set maxmemory [expr {[s used_memory] - 200*1024}]
        r config set maxmemory 0
        r config set maxmemory-policy noeviction
        set hot [mm_surviving k 50]
        assert {[s evicted_keys] > 200}
        assert_range $hot 48 50
    }
}

start_server {tags {"maxmemory"} overrides {appendonly yes appendfsync always maxmemory-policy allkeys-random}} {
    test {Evicted keys are written to the AOF as DEL} {
        mm_fill k 300 500
        r config resetstat
        r config set maxmemory [expr {[s used_memory] - 64*1024}]
        r config set maxmemory 0
        set evicted [s evicted_keys]
        assert {$evicted > 10}
        set fd [open [file join [lindex [r config get dir] 1] appendonly.aof] r]
        fconfigure $fd -translation binary
        set aof [read $fd]
        close $fd
        set dels [regexp -all {\*2\r\n\$3\r\nDEL\r\n} $aof]
        list [expr {$dels == $evicted}] [expr {[r dbsize] + $evicted}]
    } {1 300}
}
