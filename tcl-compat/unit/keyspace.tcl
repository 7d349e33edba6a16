start_server {tags {"keyspace"}} {

    test {SET and GET} {
        list [r set foo bar] [r get foo] [r get nosuchkey]
    } {OK bar {}}

    test {SET NX / XX / GET options} {
        r del k
        set a [r set k 1 nx]
        set b [r set k 2 nx]
        set c [r set k 3 xx]
        set d [r set missing 1 xx]
        set e [r set k 4 get]
        list $a $b $c $d $e [r get k] [r exists missing]
    } {OK {} OK {} 3 4 0}

    test {SET with expire options} {
        r set k v ex 100
        set t1 [r ttl k]
        r set k v px 50000
        set t2 [r pttl k]
        r set k v
        set t3 [r ttl k]
        r set k v ex 100
        r set k v2 keepttl
        set t4 [r ttl k]
        assert_range $t1 90 100
        assert_range $t2 40000 50000
        assert_equal -1 $t3
        assert_range $t4 90 100
    }

    test {SET option errors} {
        assert_error {ERR syntax error} {r set k v nx xx}
        assert_error {ERR syntax error} {r set k v ex 10 px 100}
        assert_error {ERR invalid expire time in set} {r set k v ex 0}
        assert_error {ERR invalid expire time in set} {r set k v ex -5}
        assert_error {ERR value is not an integer or out of range} {r set k v ex abc}
    }

    test {DEL and EXISTS with several keys} {
        r mset a 1 b 2 c 3
        set e [r exists a b c nosuch a]
        set d [r del a b nosuch]
        list $e $d [r exists a b c]
    } {4 2 1}

    test {EXPIRE, TTL, PTTL, PERSIST} {
        r set k v
        assert_equal -1 [r ttl k]
        assert_equal -2 [r ttl nosuchkey]
        assert_equal -2 [r pttl nosuchkey]
        assert_equal 1 [r expire k 100]
        assert_range [r ttl k] 90 100
        assert_range [r pttl k] 90000 100000
        assert_equal 1 [r persist k]
        assert_equal 0 [r persist k]
        assert_equal -1 [r ttl k]
        assert_equal 0 [r expire nosuchkey 100]
    }

    test {EXPIRE with a negative time deletes the key} {
        r set k v
        list [r expire k -1] [r exists k]
    } {1 0}

    test {Keys expire} {
        r set shortlived v px 100
        assert_equal 1 [r exists shortlived]
        wait_for_condition 50 20 {[r exists shortlived] == 0} else {
            fail "key did not expire"
        }
        r get shortlived
    } {}

    test {EXPIREAT and PEXPIREAT in the past delete the key} {
        r set k v
        r set k2 v
        list [r expireat k 1] [r pexpireat k2 1000] [r exists k k2]
    } {1 1 0}

    test {EXPIRE error on a non integer} {
        r set k v
        assert_error {ERR value is not an integer or out of range} {r expire k abc}
    }

    test {INCR, DECR, INCRBY, DECRBY} {
        r del n
        list [r incr n] [r incr n] [r incrby n 10] [r decr n] [r decrby n 5] [r get n]
    } {1 2 12 11 6 6}

    test {INCR on a string that is not an integer} {
        r set n abc
        assert_error {ERR value is not an integer or out of range} {r incr n}
        r set n " 1"
        assert_error {ERR value is not an integer or out of range} {r incr n}
    }

    test {INCR overflow} {
        r set n 9223372036854775807
        assert_error {ERR increment or decrement would overflow} {r incr n}
        r set n -9223372036854775808
        assert_error {ERR increment or decrement would overflow} {r decr n}
        r get n
    } {-9223372036854775808}

    test {INCRBYFLOAT} {
        r set f 10.5
        list [r incrbyfloat f 0.25] [r incrbyfloat f -5] [r incrbyfloat f 5.0e3] [r incrbyfloat f -5005.75]
    } {10.75 5.75 5005.75 0}

    test {INCRBYFLOAT errors} {
        r set f abc
        assert_error {ERR value is not a valid float} {r incrbyfloat f 1}
        r set f 1
        assert_error {ERR value is not a valid float} {r incrbyfloat f abc}
    }

    test {Encoding: small integers are int} {
        r set e 12345
        assert_encoding int e
        r set e -99
        assert_encoding int e
    }

    test {Encoding: short strings are embstr, up to 44 bytes} {
        r set e hello
        assert_encoding embstr e
        r set e [string repeat x 44]
        assert_encoding embstr e
        r set e [string repeat x 45]
        assert_encoding raw e
    }

    test {Encoding: integers that do not round trip are strings} {
        r set e 0123
        assert_encoding embstr e
        r set e 99999999999999999999
        assert_encoding embstr e
        r set e " 12"
        assert_encoding embstr e
    }

    test {Encoding: APPEND makes a raw string, INCR an int} {
        r set e abc
        r append e def
        assert_encoding raw e
        r set e 10
        r append e 0
        assert_equal 100 [r get e]
        r incr e
        assert_encoding int e
        r get e
    } {101}

    test {OBJECT ENCODING of a missing key} {
        r object encoding nosuchkey
    } {}

    test {TYPE} {
        r set s v
        list [r type s] [r type nosuchkey]
    } {string none}

    test {RENAME} {
        r set src v
        r rename src dst
        assert_error {ERR no such key} {r rename src dst}
        list [r get dst] [r exists src]
    } {v 0}

    test {SELECT keeps databases apart} {
        r flushall
        r set k db0
        r select 1
        r set k db1
        set v1 [r get k]
        r select 0
        assert_error {ERR DB index is out of range} {r select 100}
        list $v1 [r get k] [r dbsize]
    } {db1 db0 1}

    test {KEYS, DBSIZE and FLUSHDB} {
        r flushdb
        r mset key1 a key2 b other c
        set k [lsort [r keys key*]]
        set n [r dbsize]
        r flushdb
        list $k $n [r dbsize]
    } {{key1 key2} 3 0}

    test {DEBUG DIGEST of an empty dataset is all zeros} {
        r flushall
        r debug digest
    } {0000000000000000000000000000000000000000}

    test {DEBUG DIGEST is stable and tracks content, not insertion order} {
        r flushall
        r set a 1
        r set b 2
        r set c 3
        set d1 [r debug digest]
        set d2 [r debug digest]
        r flushall
        r set c 3
        r set a 1
        r set b 2
        set d3 [r debug digest]
        r set b 22
        set d4 [r debug digest]
        assert_equal $d1 $d2
        assert_equal $d1 $d3
        assert_not_equal $d1 $d4
        assert_match {[0-9a-f]*} $d1
        assert_equal 40 [string length $d1]
    }

    test {DEBUG DIGEST changes with expires} {
        r flushall
        r set a 1
        set d1 [r debug digest]
        r expire a 1000
        set d2 [r debug digest]
        assert_not_equal $d1 $d2
    }

    test {DEBUG DIGEST-VALUE} {
        r set a 1
        r set b 1
        set da [r debug digest-value a]
        set db [r debug digest-value b]
        set dn [r debug digest-value nosuchkey]
        list [expr {$da eq $db}] [llength $da] $dn
    } {1 1 0000000000000000000000000000000000000000}

    test {DEBUG DIGEST survives a restart with persistence} {
        r config set appendonly yes
        wait_for_condition 100 50 {[s aof_rewrite_in_progress] == 0 && [s aof_enabled] == 1} else {
            fail "AOF was not enabled"
        }
        r flushall
        r set a 1
        r set b hello
        r expire b 1000
        set before [r debug digest]
        r config rewrite
        restart_server 0
        assert_equal $before [r debug digest]
        r get b
    } {hello}
}
