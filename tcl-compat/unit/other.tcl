# Generic keyspace commands (DEL UNLINK EXISTS TYPE RENAME RENAMENX MOVE COPY
# SWAPDB FLUSHDB FLUSHALL TOUCH OBJECT DBSIZE SELECT), INFO keyspace and the
# DEBUG subcommands the suite relies on (POPULATE DIGEST DIGEST-VALUE OBJECT
# SLEEP).
#
# Expected values are Redis 6.2's. Against Redis 7.0 the OBJECT unknown
# subcommand error text differs (fails on purpose).

start_server {tags {"other"}} {

    # ------------------------------------------------ DEL UNLINK EXISTS TYPE

    test {DEL counts the keys it removed, duplicates once} {
        r flushall
        r mset a 1 b 2 c 3
        list [r del a a nosuch b] [r exists a b c] [r del a]
    } {2 1 0}

    test {UNLINK behaves like DEL} {
        r mset a 1 b 2
        r set big [string repeat x 100000]
        list [r unlink a b big nosuch b] [r exists a b big]
    } {3 0}

    test {DEL / UNLINK need a key} {
        assert_error {ERR wrong number of arguments for 'del' command} {r del}
        assert_error {ERR wrong number of arguments for 'unlink' command} {r unlink}
    }

    test {EXISTS counts repeated keys every time} {
        r flushall
        r set a 1
        list [r exists a] [r exists a a a] [r exists nosuch] [r exists a nosuch a]
    } {1 3 0 2}

    test {TYPE} {
        r set s v
        r set n 1
        list [r type s] [r type n] [r type nosuch]
    } {string string none}

    # -------------------------------------------------------- RENAME family

    test {RENAME moves the value and overwrites the destination} {
        r flushall
        r set src v
        r set dst old
        list [r rename src dst] [r get dst] [r exists src]
    } {OK v 0}

    test {RENAME of a key onto itself} {
        r set same v
        list [r rename same same] [r get same]
    } {OK v}

    test {RENAME errors} {
        r del nosuch
        assert_error {ERR no such key} {r rename nosuch dst}
        assert_error {ERR no such key} {r rename nosuch nosuch}
        assert_error {ERR wrong number of arguments for 'rename' command} {r rename a}
    }

    test {RENAMENX} {
        r flushall
        r set a 1
        r set b 2
        set x [r renamenx a b]
        set y [r renamenx a c]
        list $x $y [r renamenx c c] [r mget a b c]
    } {0 1 0 {{} 2 1}}

    test {RENAMENX of a missing key} {
        assert_error {ERR no such key} {r renamenx nosuch x}
    }

    # ------------------------------------------------------------------ MOVE

    test {MOVE to another database} {
        r flushall
        r set k v ex 100
        set res [r move k 1]
        set here [r exists k]
        r select 1
        set there [r get k]
        set ttl [r ttl k]
        r select 0
        assert_range $ttl 99 100
        list $res $here $there
    } {1 0 v}

    test {MOVE does nothing when the target has the key or the source is missing} {
        r flushall
        r set k mine
        r select 1
        r set k theirs
        r select 0
        set a [r move k 1]
        set b [r move nosuch 1]
        r select 1
        set there [r get k]
        r select 0
        list $a $b [r get k] $there
    } {0 0 mine theirs}

    test {MOVE errors} {
        r set k v
        assert_error {ERR source and destination objects are the same} {r move k 0}
        assert_error {ERR DB index is out of range} {r move k 16}
        assert_error {ERR DB index is out of range} {r move k -1}
        assert_error {ERR value is not an integer or out of range} {r move k x}
    }

    # ------------------------------------------------------------------ COPY

    test {COPY to a new key keeps the TTL and is independent} {
        r flushall
        r set src hello ex 100
        set a [r copy src dst]
        r append dst " world"
        assert_range [r ttl dst] 99 100
        list $a [r get src] [r get dst]
    } {1 hello {hello world}}

    test {COPY does not overwrite without REPLACE} {
        r set src new
        r set dst old ex 100
        set a [r copy src dst]
        set v [r get dst]
        set b [r copy src dst replace]
        list $a $v $b [r get dst] [r ttl dst]
    } {0 old 1 new -1}

    test {COPY to another DB} {
        r flushall
        r set src v
        set a [r copy src src db 3]
        set b [r copy src src db 3]
        r select 3
        set there [r get src]
        r select 0
        list $a $b $there [r get src]
    } {1 0 v v}

    test {COPY of a missing key, and COPY onto itself} {
        r del nosuch
        r set k v
        assert_error {ERR source and destination objects are the same} {r copy k k}
        assert_error {ERR source and destination objects are the same} {r copy k k db 0}
        r copy nosuch dst
    } {0}

    test {COPY errors} {
        r set k v
        assert_error {ERR DB index is out of range} {r copy k x db 16}
        assert_error {ERR value is not an integer or out of range} {r copy k x db y}
        assert_error {ERR syntax error} {r copy k x bogus}
        assert_error {ERR syntax error} {r copy k x db}
    }

    test {COPY of integer values keeps the encoding} {
        r set n 12345678
        r copy n n2
        list [r object encoding n2] [r get n2]
    } {int 12345678}

    # ------------------------------------------------------- SELECT SWAPDB

    test {SELECT errors} {
        assert_error {ERR DB index is out of range} {r select 16}
        assert_error {ERR DB index is out of range} {r select -1}
        assert_error {ERR value is not an integer or out of range} {r select x}
        assert_error {ERR value is not an integer or out of range} {r select 1.5}
    }

    test {SELECT with an index that does not fit an int} {
        assert_error {ERR value is out of range, value must between -2147483648 and 2147483647} {r select 4294967296}
    }

    test {SWAPDB exchanges the data, other clients see it at once} {
        r flushall
        r set k db0
        r select 1
        r set k db1
        r set k2 v ex 100
        set other [redis_client]
        $other select 1
        r select 0
        assert_equal OK [r swapdb 0 1]
        set res [list [r get k] [r exists k2] [$other get k] [$other exists k2]]
        $other close
        set res
    } {db1 1 db0 0}

    test {SWAPDB of a database with itself} {
        r swapdb 0 0
    } {OK}

    test {SWAPDB errors} {
        assert_error {ERR invalid first DB index} {r swapdb x 0}
        assert_error {ERR invalid second DB index} {r swapdb 0 x}
        assert_error {ERR DB index is out of range} {r swapdb 0 16}
        assert_error {ERR DB index is out of range} {r swapdb -1 0}
    }

    # --------------------------------------------------- FLUSHDB FLUSHALL

    test {FLUSHDB only empties the selected database} {
        r flushall
        r set a 1
        r select 2
        r set b 1
        r flushdb
        set n2 [r dbsize]
        r select 0
        list $n2 [r dbsize]
    } {0 1}

    test {FLUSHALL empties every database} {
        r set a 1
        r select 5
        r set b 1
        r select 0
        r flushall
        r select 5
        set n5 [r dbsize]
        r select 0
        list $n5 [r dbsize]
    } {0 0}

    test {FLUSHDB / FLUSHALL ASYNC and SYNC} {
        r debug populate 1000
        set a [r flushdb async]
        set n1 [r dbsize]
        r debug populate 1000
        set b [r flushall sync]
        set n2 [r dbsize]
        r debug populate 10
        list $a $n1 $b $n2 [r flushall ASYNC] [r flushdb SYNC] [r dbsize]
    } {OK 0 OK 0 OK OK 0}

    test {FLUSHDB / FLUSHALL errors} {
        assert_error {ERR syntax error} {r flushall foo}
        assert_error {ERR syntax error} {r flushdb async sync}
        assert_error {ERR syntax error} {r flushall async foo}
    }

    # ----------------------------------------------------------- TOUCH DBSIZE

    test {TOUCH counts existing keys} {
        r flushall
        r mset a 1 b 2
        list [r touch a b nosuch a] [r touch nosuch]
    } {3 0}

    test {DBSIZE per database} {
        r flushall
        r mset a 1 b 2 c 3
        r select 7
        r set x 1
        set n7 [r dbsize]
        r select 0
        list [r dbsize] $n7
    } {3 1}

    # ---------------------------------------------------------------- OBJECT

    test {OBJECT ENCODING} {
        r flushall
        r set i 42
        r set e hello
        r set w [string repeat r 64]
        list [r object encoding i] [r object encoding e] [r object encoding w] [r object encoding nosuch]
    } {int embstr raw {}}

    test {OBJECT REFCOUNT of shared and private values} {
        r set shared 100
        r set private hello
        r set bigint 1234567
        list [r object refcount shared] [r object refcount private] [r object refcount bigint] \
             [r object refcount nosuch]
    } {2147483647 1 1 {}}

    test {OBJECT IDLETIME of a fresh key, and of a missing key} {
        r set idle v
        list [r object idletime idle] [r object idletime nosuch]
    } {0 {}}

    test {OBJECT FREQ needs an LFU policy, IDLETIME an LRU one} {
        r set k v
        assert_error {ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.} {r object freq k}
        r config set maxmemory-policy allkeys-lfu
        r set f v
        set a [r object freq f]
        r get f
        set b [r object freq f]
        set c [catch {r object idletime f} err]
        r config set maxmemory-policy noeviction
        assert_match {ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.} $err
        list $a $b $c
    } {5 6 1}

    test {OBJECT FREQ of a missing key} {
        r config set maxmemory-policy volatile-lfu
        set res [r object freq nosuch]
        r config set maxmemory-policy noeviction
        set res
    } {}

    test {OBJECT HELP} {
        set help [r object help]
        assert_match {OBJECT <subcommand> *} [lindex $help 0]
        foreach sub {ENCODING FREQ IDLETIME REFCOUNT HELP} {
            assert {[lsearch -glob $help "$sub*"] >= 0}
        }
        llength $help
    } {15}

    test {OBJECT errors} {
        assert_error {ERR Unknown subcommand or wrong number of arguments for 'foo'. Try OBJECT HELP.} {r object foo k}
        assert_error {ERR Unknown subcommand or wrong number of arguments for 'encoding'. Try OBJECT HELP.} {r object encoding}
        assert_error {ERR wrong number of arguments for 'object' command} {r object}
    }

    # ------------------------------------------------------- INFO keyspace

    test {INFO keyspace lists only non-empty databases} {
        r flushall
        set empty [r info keyspace]
        r mset a 1 b 2
        r set c 3 ex 100
        r select 4
        r set d 4
        r select 0
        set info [r info keyspace]
        assert_match "*db0:keys=3,expires=1,avg_ttl=*" $info
        assert_match "*db4:keys=1,expires=0,avg_ttl=0*" $info
        assert_no_match "*db1:*" $info
        string trim $empty
    } {# Keyspace}

    test {INFO keyspace avg_ttl is estimated by the expire cycle} {
        r flushall
        for {set i 0} {$i < 50} {incr i} {
            r set ttl:$i v ex 1000
        }
        wait_for_condition 50 20 {
            [regexp {db0:keys=50,expires=50,avg_ttl=([0-9]+)} [r info keyspace] -> avg] && $avg > 0
        } else {
            fail "avg_ttl not updated: [r info keyspace]"
        }
        assert_range $avg 900000 1000000
    }

    # ----------------------------------------------------------------- DEBUG

    test {DEBUG POPULATE creates key:N with value:N} {
        r flushall
        assert_equal OK [r debug populate 100]
        list [r dbsize] [r get key:0] [r get key:99] [r exists key:100]
    } {100 value:0 value:99 0}

    test {DEBUG POPULATE with a prefix and a value size} {
        r flushall
        r debug populate 3 p 10
        r debug populate 2 q 3
        set v [r get p:1]
        list [string length $v] [expr {$v eq "value:1\x00\x00\x00"}] [r get q:1] [lsort [r keys *]]
    } {10 1 val {p:0 p:1 p:2 q:0 q:1}}

    test {DEBUG POPULATE does not overwrite existing keys} {
        r flushall
        r set key:1 mine
        r debug populate 3
        list [r get key:1] [r get key:2] [r dbsize]
    } {mine value:2 3}

    test {DEBUG POPULATE values are encoded as SET would encode them} {
        r flushall
        r debug populate 1
        r debug populate 1 big 100
        list [r object encoding key:0] [r object encoding big:0]
    } {embstr raw}

    test {DEBUG POPULATE errors} {
        assert_error {ERR value is out of range, must be positive} {r debug populate -1}
        assert_error {ERR value is out of range, must be positive} {r debug populate abc}
        r debug populate 0
    } {OK}

    test {DEBUG DIGEST of an empty database is zero} {
        r flushall
        r debug digest
    } {0000000000000000000000000000000000000000}

    test {DEBUG DIGEST is stable without writes and changes on every write} {
        r flushall
        r debug populate 50
        set d0 [r debug digest]
        # Reads do not change it.
        r get key:1
        r exists key:2
        r scan 0
        assert_equal $d0 [r debug digest]
        set seen [list $d0]
        foreach cmd {
            {set key:1 changed}
            {append key:2 x}
            {incr counter}
            {del key:3}
            {expire key:4 1000}
            {persist key:4}
            {rename key:5 renamed}
            {setrange key:6 0 Z}
        } {
            r {*}$cmd
            set d [r debug digest]
            assert {[lsearch -exact $seen $d] < 0 || $cmd eq {persist key:4}}
            lappend seen $d
        }
        # PERSIST gets back to the digest before EXPIRE.
        assert_equal [lindex $seen 4] [lindex $seen 6]
    }

    test {DEBUG DIGEST does not depend on the encoding or the database of a key} {
        r flushall
        r set a 123
        set d1 [r debug digest]
        r set a 12
        r append a 3
        assert_encoding raw a
        set d2 [r debug digest]
        assert_equal $d1 $d2
        r flushall
        r select 3
        r set a 123
        set d3 [r debug digest]
        r select 0
        assert_not_equal $d1 $d3
    }

    test {DEBUG DIGEST-VALUE} {
        r flushall
        r set a 1
        r set b 1
        r set c 2
        set d [r debug digest-value a b c nosuch]
        assert_equal 4 [llength $d]
        assert_equal [lindex $d 0] [lindex $d 1]
        assert_not_equal [lindex $d 0] [lindex $d 2]
        assert_equal 0000000000000000000000000000000000000000 [lindex $d 3]
        assert_match {[0-9a-f]*} [lindex $d 0]
        r expire a 100
        # The TTL is part of a key's digest.
        assert_not_equal [lindex $d 0] [r debug digest-value a]
        r persist a
        assert_equal [lindex $d 0] [r debug digest-value a]
        r debug digest-value
    } {}

    test {DEBUG DIGEST-VALUE sees a logically expired key that is still stored} {
        r flushall
        r debug set-active-expire 0
        r set gone v px 10
        after 30
        set d [r debug digest-value gone]
        set n [r dbsize]
        r debug set-active-expire 1
        list [expr {$d ne "0000000000000000000000000000000000000000"}] $n
    } {1 1}

    test {DEBUG OBJECT line format} {
        r flushall
        r set e hello
        r set i 12345
        r set one 1
        r set big 99999999999
        # 51 bytes that LZF cannot shorten, so stored as is.
        r set raw "the quick brown fox jumps over the lazy dog 0123456"
        foreach {key enc rc len} {e embstr 1 6 i int 1 3 one int 2147483647 2 big int 1 12 raw raw 1 52} {
            set line [r debug object $key]
            assert_match "Value at:0x* refcount:$rc encoding:$enc serializedlength:$len lru:* lru_seconds_idle:*" $line
            assert {[regexp {lru:[0-9]+ lru_seconds_idle:[0-9]+$} $line]}
        }
    }

    test {DEBUG OBJECT serializedlength reflects RDB compression} {
        # rdbcompression is on by default: long repetitive strings shrink.
        r set compressible [string repeat x 133]
        r set compressible2 [string repeat abcdefghij 5]
        regexp {serializedlength:([0-9]+)} [r debug object compressible] -> len
        regexp {serializedlength:([0-9]+)} [r debug object compressible2] -> len2
        list $len $len2
    } {13 21}

    test {DEBUG OBJECT of a missing key} {
        assert_error {ERR no such key} {r debug object nosuch}
    }

    test {DEBUG OBJECT sees a logically expired key that is still stored} {
        r flushall
        r debug set-active-expire 0
        r set gone v px 10
        after 30
        set res [catch {r debug object gone} line]
        set n [r dbsize]
        r debug set-active-expire 1
        assert_match {Value at:* encoding:embstr *} $line
        list $res $n
    } {0 1}

    test {DEBUG SLEEP 0} {
        r debug sleep 0
    } {OK}
}
