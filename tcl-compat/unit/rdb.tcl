# RDB snapshots: SAVE and a restart bring the dataset back (every type and
# encoding, TTLs, several databases), DEBUG RELOAD and its options, keys
# whose TTL passed are dropped at load, damaged files stop the start with
# Redis's log lines, rdbchecksum no.
#
# Redis 7 names the compact encodings `listpack` where 6.2 says `ziplist`;
# the tests compare encodings through rdb_enc so that the unit also passes
# against a real Redis 7 (`--server redis-server`).

proc rdb_enc {key} {
    set e [r object encoding $key]
    if {$e eq "listpack"} {return ziplist}
    return $e
}

# One key of each type in each encoding, in the selected db.
proc rdb_populate {} {
    r set str:int 123456
    r set str:bigint 9223372036854775807
    r set str:emb "short string"
    r set str:raw [string repeat "raw bytes " 20]
    r set str:lzf [string repeat a 5000]
    r rpush list:small a 1 b -2 c 300000
    for {set i 0} {$i < 3000} {incr i} {lappend els "element:$i"}
    r rpush list:big {*}$els
    r rpush list:hugeel x [string repeat y 20000] z
    r sadd set:int 1 2 3 -5 70000 5000000000
    r sadd set:ht a b c 1
    for {set i 0} {$i < 600} {incr i} {r sadd set:bigint $i}
    r zadd zset:small 1 a 2.5 b -inf c +inf d 0.5 e -3 f
    for {set i 0} {$i < 200} {incr i} {r zadd zset:big [expr {$i * 1.5}] m$i}
    r zadd zset:long 1 [string repeat m 100]
    r hset hash:small f1 v1 f2 2 f3 -7
    for {set i 0} {$i < 200} {incr i} {r hset hash:big f$i v$i}
    r hset hash:long f [string repeat v 100]
    r setex str:ttl 5000 value
    r pexpire list:small 8000000
}

# key -> {type encoding value-digest} for every key of the selected db.
proc rdb_keys_state {} {
    set out {}
    foreach k [lsort [r keys *]] {
        dict set out $k [list [r type $k] [rdb_enc $k] [r debug digest-value $k]]
    }
    return $out
}

proc rdb_read {path} {
    set fd [open $path r]
    fconfigure $fd -translation binary
    set d [read $fd]
    close $fd
    return $d
}

proc rdb_write {path data} {
    set fd [open $path w]
    fconfigure $fd -translation binary
    puts -nonewline $fd $data
    close $fd
}

set ::rdb_seq 0

# A fresh directory holding dump.rdb with `data`.
proc rdb_make_dir {data} {
    set dir $::tmproot/rdb.[pid].[incr ::rdb_seq]
    file mkdir $dir
    rdb_write $dir/dump.rdb $data
    return $dir
}

# Starts a server on `dir` expecting it to exit; returns its log.
proc rdb_start_fails {dir} {
    set rc [catch {start_server [list overrides [list dir $dir]] {}} err]
    if {!$rc} {fail "server started on a damaged dump.rdb"}
    return $err
}

tags {"rdb"} {

start_server {} {
    rdb_populate
    r select 9
    rdb_populate
    r select 0
    set ::rdb_digest [r debug digest]
    set ::rdb_state [rdb_keys_state]

    test {SAVE writes dump.rdb in dir, and it starts with the RDB magic} {
        assert_equal OK [r save]
        set path [lindex [r config get dir] 1]/dump.rdb
        string range [rdb_read $path] 0 4
    } {REDIS}

    test {After a restart the dataset has the same digest} {
        restart_server 0
        r debug digest
    } $::rdb_digest

    test {After a restart each key keeps its type, encoding and value} {
        assert_equal $::rdb_state [rdb_keys_state]
    }

    test {After a restart TTLs are kept} {
        assert_range [r ttl str:ttl] 4990 5000
        assert_range [r pttl list:small] 7990000 8000000
        r ttl str:int
    } {-1}

    test {After a restart the other databases are back too} {
        r select 9
        set n [r dbsize]
        set v [r lindex list:big 2999]
        r select 0
        list $n $v
    } [list [r dbsize] element:2999]

    test {DEBUG RELOAD keeps every type, encoding and value} {
        assert_equal OK [r debug reload]
        assert_equal $::rdb_digest [r debug digest]
        rdb_keys_state
    } $::rdb_state

    test {Loaded values are usable: the big list grows and shrinks} {
        r rpush list:big tail
        r lpop list:big
        list [r llen list:big] [r lindex list:big 0] [r lindex list:big -1]
    } {3000 element:1 tail}

    test {Loaded values are usable: sorted sets keep their order} {
        list [r zrange zset:small 0 -1 withscores] [r zrank zset:big m150]
    } {{c -inf f -3 e 0.5 a 1 b 2.5 d inf} 150}

    test {SAVE resets rdb_changes_since_last_save and sets LASTSAVE} {
        r set k v
        assert {[s rdb_changes_since_last_save] > 0}
        r save
        list [s rdb_changes_since_last_save] [expr {abs([r lastsave] - [clock seconds]) <= 2}]
    } {0 1}
}

start_server {} {
    test {DEBUG RELOAD NOSAVE loads the file on disk, not memory} {
        r set kept 1
        r save
        r set lost 2
        r set kept changed
        r debug reload nosave
        list [r get kept] [r exists lost]
    } {1 0}

    test {DEBUG RELOAD NOFLUSH MERGE: keys of the file win, others stay} {
        r set kept changed
        r set other 3
        r debug reload nosave noflush merge
        list [r get kept] [r get other] [r dbsize]
    } {1 3 2}

    test {DEBUG RELOAD NOFLUSH adds the file's keys to memory} {
        r flushall
        r set mine x
        r debug reload nosave noflush
        lsort [r keys *]
    } {kept mine}

    test {DEBUG RELOAD with an unknown option} {
        catch {r debug reload nosave sometimes} e
        set e
    } {ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.}
}

start_server {} {
    test {Keys whose TTL passed before the load are not loaded} {
        r debug set-active-expire 0
        r set a 1 px 200
        r set b 2 px 200
        r hset h f v
        r pexpire h 200
        r set stays 3 ex 1000
        r set plain 4
        r save
        after 400
        assert_equal 5 [r dbsize]
        restart_server 0
        wait_for_log_messages 0 {"*keys loaded: 2, keys expired: 3*"} 0 10 10
        list [r dbsize] [r exists a b h] [r get stays]
    } {2 0 3}

    test {DEBUG RELOAD drops them as well} {
        r debug set-active-expire 0
        r set soon 1 px 100
        r save
        after 300
        r debug reload nosave
        r exists soon
    } {0}
}

start_server {} {
    r rpush l a b c
    r set s hello
    r hset h f v
    r save
    set ::rdb_good [rdb_read [lindex [r config get dir] 1]/dump.rdb]
}

test {A dump.rdb with a wrong checksum stops the start} {
    set n [string length $::rdb_good]
    set last [string index $::rdb_good end]
    set bad [string range $::rdb_good 0 end-1][binary format c [expr {([scan $last %c] ^ 1) & 255}]]
    set log [rdb_start_fails [rdb_make_dir $bad]]
    assert_match "*Wrong RDB checksum expected: (*) but got (*). Aborting now.*" $log
}

test {A truncated dump.rdb stops the start} {
    set cut [string range $::rdb_good 0 end-20]
    set log [rdb_start_fails [rdb_make_dir $cut]]
    assert_match "*Short read or OOM loading DB. Unrecoverable error, aborting now.*" $log
}

test {A dump.rdb that is not an RDB stops the start} {
    set log [rdb_start_fails [rdb_make_dir "RXDIS[string range $::rdb_good 5 end]"]]
    assert_match "*Wrong signature trying to load DB from file*" $log
    assert_match "*Fatal error loading the DB: Invalid argument. Exiting.*" $log
}

test {A dump.rdb of an unknown RDB version stops the start} {
    set log [rdb_start_fails [rdb_make_dir "REDIS0099[string range $::rdb_good 9 end]"]]
    assert_match "*Can't handle RDB format version 99*" $log
}

test {An empty dump.rdb stops the start} {
    set log [rdb_start_fails [rdb_make_dir ""]]
    assert_match "*Short read*" $log
}

test {A value with an unknown type byte stops the start} {
    # SELECTDB (254) 0, RESIZEDB (251) and two sizes, then the first
    # key's type byte: put an unknown type there.
    set p [string first [binary format ccc 254 0 251] $::rdb_good 9]
    assert {$p > 0}
    set at [expr {$p + 5}]
    set bad [string replace $::rdb_good $at $at [binary format c 99]]
    set log [rdb_start_fails [rdb_make_dir $bad]]
    assert_match "*Unknown RDB encoding type 99*" $log
}

start_server [list overrides [list dir [rdb_make_dir $::rdb_good]]] {
    test {The undamaged file loads} {
        list [r lrange l 0 -1] [r get s] [r hget h f]
    } {{a b c} hello v}
}

start_server [list overrides [list dir [rdb_make_dir ""] dbfilename none.rdb]] {
    test {Without dump.rdb the server starts empty} {
        r dbsize
    } {0}
}

start_server {overrides {rdbchecksum no}} {
    test {rdbchecksum no writes a zero checksum} {
        r set k v
        r save
        string range [rdb_read [lindex [r config get dir] 1]/dump.rdb] end-7 end
    } [string repeat \x00 8]

    test {rdbchecksum no: the file loads after a restart} {
        restart_server 0
        r get k
    } {v}
}

start_server {overrides {rdbcompression no}} {
    test {rdbcompression no stores strings as they are} {
        r set k [string repeat abc 100]
        r save
        set d [rdb_read [lindex [r config get dir] 1]/dump.rdb]
        expr {[string first [string repeat abc 100] $d] > 0}
    } {1}
    test {rdbcompression no: the file loads} {
        r debug reload
        r strlen k
    } {300}
}

}
