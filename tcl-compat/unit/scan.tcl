# SCAN (cursor, COUNT, MATCH, TYPE and its guarantees), RANDOMKEY, KEYS.
#
# Expected values are Redis 6.2's.

# Runs a full SCAN iteration with the given extra arguments and returns the
# keys seen (with duplicates, in order). `each` is a script run with the
# variable `calls` set after each call, to modify the dataset mid-scan.
proc scan_all {extra {each {}}} {
    set cursor 0
    set keys {}
    set calls 0
    while 1 {
        set res [r scan $cursor {*}$extra]
        set cursor [lindex $res 0]
        lappend keys {*}[lindex $res 1]
        incr calls
        if {$each ne ""} {
            uplevel 1 [list set calls $calls]
            uplevel 1 $each
        }
        if {$cursor == 0} break
        if {$calls > 100000} {error "SCAN did not terminate"}
    }
    return $keys
}

# Returns the members of `expected` missing from `got`.
proc missing_keys {expected got} {
    foreach k $got {set seen($k) 1}
    set missing {}
    foreach k $expected {
        if {![info exists seen($k)]} {lappend missing $k}
    }
    return $missing
}

proc key_range {prefix from to} {
    set l {}
    for {set i $from} {$i < $to} {incr i} {lappend l $prefix$i}
    return $l
}

start_server {tags {"scan"}} {

    test {SCAN on an empty database} {
        r flushall
        r scan 0
    } {0 {}}

    test {SCAN returns every key of a small database in one call} {
        r flushall
        r debug populate 5
        set res [r scan 0]
        list [lindex $res 0] [lsort [lindex $res 1]]
    } {0 {key:0 key:1 key:2 key:3 key:4}}

    test {SCAN full iteration with the default COUNT} {
        r flushall
        r debug populate 1000
        set keys [lsort -unique [scan_all {}]]
        list [llength $keys] [missing_keys [key_range key: 0 1000] $keys]
    } {1000 {}}

    foreach count {1 5 100 10000} {
        test "SCAN full iteration with COUNT $count" {
            r flushall
            r debug populate 500
            set keys [scan_all [list count $count]]
            set uniq [lsort -unique $keys]
            assert_equal {} [missing_keys [key_range key: 0 500] $uniq]
            llength $uniq
        } {500}
    }

    test {SCAN with a large COUNT on a small table returns everything in one call} {
        r flushall
        r debug populate 200
        set res [r scan 0 count 10000]
        list [lindex $res 0] [llength [lindex $res 1]]
    } {0 200}

    test {SCAN MATCH} {
        r flushall
        r debug populate 100
        r debug populate 50 other
        r set exact v
        set a [lsort -unique [scan_all {match key:1*}]]
        set b [lsort -unique [scan_all {match other:* count 7}]]
        set c [scan_all {match exact}]
        set d [scan_all {match nothing*}]
        list [llength $a] [lindex $a 0] [llength $b] $c $d
    } {11 key:1 50 exact {}}

    test {SCAN MATCH with an escaped glob character} {
        r flushall
        r mset "a*b" 1 "axb" 2 "a?b" 3
        list [scan_all {match a\\*b}] [lsort [scan_all {match a?b}]]
    } {a*b {a*b a?b axb}}

    test {SCAN TYPE} {
        r flushall
        r debug populate 100
        set a [llength [lsort -unique [scan_all {type string count 10}]]]
        set b [scan_all {type list}]
        set c [scan_all {type hash}]
        set d [scan_all {type STRING count 1000}]
        list $a $b $c [llength $d]
    } {100 {} {} 100}

    test {SCAN TYPE with an unknown type matches nothing} {
        r flushall
        r set a 1
        scan_all {type nosuchtype}
    } {}

    test {SCAN MATCH and TYPE together} {
        r flushall
        r debug populate 30
        lsort [scan_all {match key:2? type string}]
    } {key:20 key:21 key:22 key:23 key:24 key:25 key:26 key:27 key:28 key:29}

    test {SCAN errors} {
        assert_error {ERR invalid cursor} {r scan abc}
        assert_error {ERR invalid cursor} {r scan 1.5}
        assert_error {ERR invalid cursor} {r scan " 1"}
        assert_error {ERR invalid cursor} {r scan 18446744073709551616}
        assert_error {ERR syntax error} {r scan 0 count 0}
        assert_error {ERR syntax error} {r scan 0 count -5}
        assert_error {ERR value is not an integer or out of range} {r scan 0 count abc}
        assert_error {ERR syntax error} {r scan 0 match}
        assert_error {ERR syntax error} {r scan 0 type}
        assert_error {ERR syntax error} {r scan 0 foo bar}
        assert_error {ERR wrong number of arguments for 'scan' command} {r scan}
    }

    test {SCAN accepts the largest cursor} {
        r flushall
        r set a 1
        lindex [r scan 18446744073709551615] 0
    } {0}

    test {SCAN guarantees keys present for the whole scan while others come and go} {
        r flushall
        r debug populate 1000
        # key:0..499 stay; key:500..999 are deleted and new keys are added
        # while the iteration is in progress.
        set keys [scan_all {count 20} {
            if {$calls == 2} {
                for {set i 500} {$i < 1000} {incr i 100} {
                    r del {*}[key_range key: $i [expr {$i + 100}]]
                }
            }
            if {$calls <= 10} {
                r set new:$calls v
            }
        }]
        set missing [missing_keys [key_range key: 0 500] $keys]
        assert_equal {} $missing
        # Nothing that never existed can be returned.
        foreach k $keys {
            assert_match {*:[0-9]*} $k
        }
        r dbsize
    } {510}

    test {SCAN guarantee holds while the table grows from 1000 to 20000 keys} {
        r flushall
        r debug populate 1000
        set keys [scan_all {count 50} {
            if {$calls == 3} {r debug populate 20000}
        }]
        assert_equal 20000 [r dbsize]
        assert_equal {} [missing_keys [key_range key: 0 1000] $keys]
    }

    test {SCAN guarantee holds while the table shrinks} {
        r flushall
        r debug populate 20000
        set keys [scan_all {count 100} {
            if {$calls == 2} {
                for {set i 1000} {$i < 20000} {incr i 1000} {
                    r del {*}[key_range key: $i [expr {$i + 1000}]]
                }
                # Give the cron a chance to resize the table mid-scan.
                after 250
            }
        }]
        assert_equal 1000 [r dbsize]
        assert_equal {} [missing_keys [key_range key: 0 1000] $keys]
    }

    test {SCAN does not return expired keys} {
        r flushall
        r debug set-active-expire 0
        r set gone v px 10
        r set stays v
        after 30
        set keys [scan_all {}]
        set size [r dbsize]
        r debug set-active-expire 1
        list $keys $size
    } {stays 1}

    # ------------------------------------------------------------ RANDOMKEY

    test {RANDOMKEY on an empty database} {
        r flushall
        r randomkey
    } {}

    test {RANDOMKEY with a single key} {
        r flushall
        r set only v
        list [r randomkey] [r randomkey]
    } {only only}

    test {RANDOMKEY returns existing keys and eventually all of them} {
        r flushall
        r mset a 1 b 2 c 3
        set seen {}
        for {set i 0} {$i < 200} {incr i} {
            set k [r randomkey]
            assert {[lsearch -exact {a b c} $k] >= 0}
            dict set seen $k 1
            if {[dict size $seen] == 3} break
        }
        lsort [dict keys $seen]
    } {a b c}

    test {RANDOMKEY skips and deletes expired keys} {
        r flushall
        r debug set-active-expire 0
        r set e1 v px 10
        r set e2 v px 10
        r set live v
        after 30
        set res {}
        for {set i 0} {$i < 20} {incr i} {lappend res [r randomkey]}
        r debug set-active-expire 1
        lsort -unique $res
    } {live}

    test {RANDOMKEY when every key has expired} {
        r flushall
        r debug set-active-expire 0
        r set e1 v px 10
        r set e2 v px 10
        after 30
        set k [r randomkey]
        set n [r dbsize]
        r debug set-active-expire 1
        list $k $n
    } {{} 0}

    # ----------------------------------------------------------------- KEYS

    test {KEYS with glob patterns} {
        r flushall
        r mset hello 1 hallo 1 hxllo 1 hllo 1 heeello 1 hillo 1
        list [lsort [r keys h?llo]] [lsort [r keys h*llo]] [lsort [r keys h\[ae\]llo]] \
             [lsort [r keys h\[^e\]llo]] [lsort [r keys h\[a-f\]llo]] [r keys nothing*]
    } {{hallo hello hillo hxllo} {hallo heeello hello hillo hllo hxllo} {hallo hello} {hallo hillo hxllo} {hallo hello} {}}

    test {KEYS * returns every key} {
        r flushall
        r debug populate 300
        llength [r keys *]
    } {300}

    test {KEYS with an escaped star and literal keys} {
        r flushall
        r mset "*" 1 "a*" 2 ab 3
        list [r keys \\*] [lsort [r keys a*]] [r keys a\\*] [r keys ab]
    } {* {a* ab} a* ab}

    test {KEYS pattern is case sensitive, matches on binary-safe keys} {
        r flushall
        r mset Key 1 key 2 "k\x00y" 3
        list [r keys key] [r keys K*] [llength [r keys k?y]]
    } {key Key 2}

    test {KEYS across databases only sees the selected one} {
        r flushall
        r set db0key v
        r select 9
        r set db9key v
        set a [r keys *]
        r select 0
        list $a [r keys *]
    } {db9key db0key}
}
