# Key expiry: the EXPIRE family, TTL/PTTL/PERSIST, which writes clear or keep
# a TTL, lazy expiry on access and the active expire cycle.
#
# Expected values are Redis 6.2's. Against Redis 7.0, EXPIRE ... NX (a 7.0
# option) fails on purpose.

start_server {tags {"expire"}} {

    test {EXPIRE sets a TTL, TTL and PTTL read it} {
        r flushall
        r set k v
        assert_equal 1 [r expire k 100]
        assert_range [r ttl k] 99 100
        assert_range [r pttl k] 99000 100000
        r get k
    } {v}

    test {TTL / PTTL of a key without a TTL and of a missing key} {
        r set k v
        list [r ttl k] [r pttl k] [r ttl missing] [r pttl missing]
    } {-1 -1 -2 -2}

    test {TTL rounds to the nearest second} {
        r set k v
        r pexpire k 2600
        set a [r ttl k]
        r pexpire k 2300
        list $a [r ttl k]
    } {3 2}

    test {EXPIRE on a missing key returns 0 and creates nothing} {
        r del missing
        list [r expire missing 10] [r pexpire missing 10] [r expireat missing 9999999999] \
             [r pexpireat missing 9999999999999] [r exists missing]
    } {0 0 0 0 0}

    test {EXPIRE again replaces the TTL} {
        r set k v
        r expire k 1000
        r expire k 50
        assert_range [r ttl k] 49 50
        r pexpire k 500000
        assert_range [r ttl k] 499 500
    }

    test {EXPIREAT and PEXPIREAT with a future time} {
        r set k v
        set at [expr {[clock seconds] + 200}]
        assert_equal 1 [r expireat k $at]
        assert_range [r ttl k] 198 200
        assert_equal 1 [r pexpireat k [expr {$at * 1000 + 100000}]]
        assert_range [r ttl k] 298 300
    }

    test {EXPIRE 0 or a negative time deletes the key at once} {
        r set k1 v
        r set k2 v
        r set k3 v
        list [r expire k1 0] [r pexpire k2 -1] [r expire k3 -1000] [r exists k1 k2 k3]
    } {1 1 1 0}

    test {EXPIREAT / PEXPIREAT in the past delete the key at once} {
        r set k1 v
        r set k2 v
        r set k3 v
        list [r expireat k1 1] [r pexpireat k2 1] [r expireat k3 -5] [r exists k1 k2 k3]
    } {1 1 1 0}

    test {Deleting through a past EXPIRE is not counted as an expired key} {
        r config resetstat
        r set k v
        r expire k -1
        s expired_keys
    } {0}

    test {EXPIRE argument errors} {
        r set k v
        assert_error {ERR value is not an integer or out of range} {r expire k abc}
        assert_error {ERR value is not an integer or out of range} {r expire k 1.5}
        assert_error {ERR value is not an integer or out of range} {r pexpire k ""}
        assert_error {ERR value is not an integer or out of range} {r expireat k x}
        assert_error {ERR value is not an integer or out of range} {r pexpireat k 1e3}
        assert_error {ERR wrong number of arguments for 'expire' command} {r expire k}
        assert_error {ERR wrong number of arguments for 'expire' command} {r expire k 10 nx}
        assert_error {ERR wrong number of arguments for 'ttl' command} {r ttl}
        r ttl k
    } {-1}

    test {EXPIRE times that overflow are invalid} {
        r set k v
        assert_error {ERR invalid expire time in 'expire' command} {r expire k 9223372036854775807}
        assert_error {ERR invalid expire time in 'expire' command} {r expire k 9223372036854775}
        assert_error {ERR invalid expire time in 'pexpire' command} {r pexpire k 9223372036854775807}
        assert_error {ERR invalid expire time in 'expireat' command} {r expireat k 9223372036854775807}
        list [r ttl k] [r exists k]
    } {-1 1}

    test {PEXPIREAT at the largest time is accepted} {
        r set k v
        list [r pexpireat k 9223372036854775807] [expr {[r ttl k] > 9000000000000000}]
    } {1 1}

    test {PERSIST} {
        r set k v ex 100
        set a [r persist k]
        set b [r persist k]
        list $a $b [r persist missing] [r ttl k] [r get k]
    } {1 0 0 -1 v}

    # ------------------------------------------- writes that clear or keep TTL

    test {SET, GETSET, MSET, SETEX, PSETEX replace the TTL} {
        set res {}
        foreach cmd {
            {set k v2}
            {getset k v2}
            {mset k v2}
            {setex k 5000 v2}
            {psetex k 5000000 v2}
        } {
            r set k v ex 100
            r {*}$cmd
            lappend res [r ttl k]
        }
        set res
    } {-1 -1 -1 5000 5000}

    test {SET KEEPTTL and SET GET KEEPTTL retain the TTL} {
        r set k v ex 100
        r set k v2 keepttl
        set a [r ttl k]
        set b [r set k v3 keepttl get]
        assert_range $a 99 100
        assert_range [r ttl k] 99 100
        list $b [r get k]
    } {v2 v3}

    test {Writes that modify a value in place keep the TTL} {
        foreach cmd {
            {incr k}
            {incrby k 3}
            {decr k}
            {incrbyfloat k 1.5}
            {append k 1}
            {setrange k 0 9}
            {setbit k 0 0}
            {bitfield k set u8 0 48}
        } {
            r set k 10 ex 100
            r {*}$cmd
            assert_range [r ttl k] 99 100
        }
    }

    test {GETEX PERSIST removes the TTL, plain GETEX does not} {
        r set k v ex 100
        r getex k
        set a [r ttl k]
        r getex k persist
        assert_range $a 99 100
        r ttl k
    } {-1}

    test {DEL then SET gives a key without the old TTL} {
        r set k v ex 100
        r del k
        r set k v
        r ttl k
    } {-1}

    test {RENAME moves the TTL with the value} {
        r del src dst
        r set src v ex 100
        r set dst old ex 5000
        r rename src dst
        assert_range [r ttl dst] 99 100
        r set src2 v
        r rename src2 dst
        list [r ttl dst] [r ttl src]
    } {-1 -2}

    test {RENAMENX keeps the TTL} {
        r del a b
        r set a v px 100000
        r renamenx a b
        assert_range [r pttl b] 99000 100000
    }

    # -------------------------------------------------------- lazy expiry

    test {A key expires after its TTL} {
        r set short v px 30
        assert_equal v [r get short]
        wait_for_condition 50 10 {[r exists short] == 0} else {
            fail "key did not expire"
        }
        list [r get short] [r ttl short]
    } {{} -2}

    test {With active expiry off, expired keys are removed lazily on access} {
        r flushall
        r config resetstat
        r debug set-active-expire 0
        for {set i 0} {$i < 10} {incr i} {
            r set lazy:$i v px 20
        }
        r set keep v
        after 60
        # Still allocated, but invisible.
        assert_equal 11 [r dbsize]
        assert_equal {} [r get lazy:0]
        assert_equal 10 [r dbsize]
        assert_equal 0 [r exists lazy:1]
        assert_equal -2 [r ttl lazy:2]
        assert_equal -2 [r pttl lazy:3]
        assert_equal 0 [r persist lazy:4]
        assert_equal 0 [r expire lazy:5 100]
        assert_equal 5 [r dbsize]
        assert_equal 6 [s expired_keys]
        r debug set-active-expire 1
    }

    test {KEYS does not list expired keys} {
        r flushall
        r debug set-active-expire 0
        r set a v px 10
        r set b v
        after 30
        set k [r keys *]
        r debug set-active-expire 1
        set k
    } {b}

    test {Writes see an expired key as missing} {
        r flushall
        r debug set-active-expire 0
        r set e1 old px 10
        r set e2 5 px 10
        r set e3 old px 10
        r set e4 old px 10
        after 30
        set res [list [r set e1 new nx] [r get e1] [r ttl e1] [r incr e2] [r ttl e2] \
            [r append e3 x] [r setnx e4 z] [r get e4]]
        r debug set-active-expire 1
        set res
    } {OK new -1 1 -1 1 1 z}

    test {SET GET on an expired key returns nil} {
        r debug set-active-expire 0
        r set e5 old px 10
        after 30
        set res [r set e5 new get]
        r debug set-active-expire 1
        list $res [r get e5]
    } {{} new}

    # ------------------------------------------------------- active expiry

    test {The active expire cycle reclaims many keys} {
        r flushall
        r config resetstat
        r debug set-active-expire 0
        set rd [redis_deferring_client]
        for {set i 0} {$i < 1000} {incr i} {
            $rd set active:$i v px 50
        }
        for {set i 0} {$i < 1000} {incr i} {
            $rd read
        }
        $rd close
        r set persistent v
        r set later v ex 1000
        after 80
        assert_equal 1002 [r dbsize]
        r debug set-active-expire 1
        wait_for_condition 100 20 {[r dbsize] == 2} else {
            fail "active expiry did not reclaim the keys: dbsize [r dbsize]"
        }
        list [s expired_keys] [r exists persistent later]
    } {1000 2}

    test {INFO keyspace counts keys with a TTL} {
        r flushall
        r set a v
        r set b v ex 100
        r set c v px 100000
        assert_match {*db0:keys=3,expires=2,avg_ttl=*} [r info keyspace]
        r persist b
        assert_match {*db0:keys=3,expires=1,avg_ttl=*} [r info keyspace]
    }
}
