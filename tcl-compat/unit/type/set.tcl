# Set commands: SADD/SREM/SMOVE, SCARD/SISMEMBER/SMISMEMBER/SMEMBERS,
# SPOP/SRANDMEMBER with and without a count, SINTER/SUNION/SDIFF and their
# STORE forms, SSCAN, and the intset/hashtable encodings.
#
# Expected values are Redis 6.2's. Known differences of Redis 7.0 (fail on
# purpose with --server redis-server): SINTER with a missing key before a
# wrong-type key (7.0 replies WRONGTYPE, 6.2 an empty array), and the AOF
# contents (7.0 batches the SREMs of SPOP with a count into one command and
# keeps its AOF in appendonlydir/).

proc fill_set {key members} {
    r del $key
    foreach m $members { r sadd $key $m }
}

proc int_range {from to} {
    set l {}
    for {set i $from} {$i < $to} {incr i} { lappend l $i }
    return $l
}

start_server {tags {"set"} overrides {set-max-intset-entries 512}} {

    # --------------------------------------------------- SADD SREM SCARD

    test {SADD counts new members only, on both encodings} {
        r del si sh
        set a [r sadd si 1 2 3 2]
        set b [r sadd si 3 4]
        set c [r sadd sh x y x]
        set d [r sadd sh y z 1]
        list $a $b $c $d [r scard si] [r scard sh]
    } {3 1 2 2 4 4}

    test {SADD of integers creates an intset, a string a hashtable} {
        r del a b
        r sadd a 10 -5 32767
        r sadd b hello
        list [r object encoding a] [r object encoding b]
    } {intset hashtable}

    test {An intset takes strings by becoming a hashtable} {
        r del s
        r sadd s 1 2 3
        assert_encoding intset s
        r sadd s foo
        assert_encoding hashtable s
        lsort [r smembers s]
    } {1 2 3 foo}

    test {Members that are not canonical integers are strings} {
        set encs {}
        foreach m {007 {1 } {+1} 1.0 9223372036854775808 -9223372036854775809 {}} {
            r del s
            r sadd s 5 $m
            lappend encs [r object encoding s]
        }
        r del s
        r sadd s -9223372036854775808 9223372036854775807 0
        lappend encs [r object encoding s] {*}[r smembers s]
    } {hashtable hashtable hashtable hashtable hashtable hashtable hashtable intset -9223372036854775808 0 9223372036854775807}

    test {An intset converts past set-max-intset-entries and never back} {
        r del s
        r sadd s {*}[int_range 0 512]
        set e1 [r object encoding s]
        r sadd s 511
        set e2 [r object encoding s]
        r sadd s 512
        set e3 [r object encoding s]
        r srem s 512 511 510
        list $e1 $e2 $e3 [r object encoding s] [r scard s]
    } {intset intset hashtable hashtable 510}

    test {set-max-intset-entries can be changed at run time} {
        r config set set-max-intset-entries 3
        r del s
        r sadd s 1 2 3
        set a [r object encoding s]
        r sadd s 4
        set b [r object encoding s]
        r config set set-max-intset-entries 512
        list $a $b
    } {intset hashtable}

    test {SREM removes, counts and deletes an emptied set} {
        r del s
        r sadd s a b c 1
        set a [r srem s a x a]
        set b [r srem s b c 1 zz]
        list $a $b [r exists s] [r srem nokey a]
    } {1 3 0 0}

    test {SREM on an intset with a string or out-of-range member} {
        r del s
        r sadd s 1 2 3
        list [r srem s foo 99999999999 2] [r smembers s] [r object encoding s]
    } {1 {1 3} intset}

    # ------------------------------------------- membership and SMEMBERS

    test {SISMEMBER and SMISMEMBER on both encodings and missing keys} {
        r del si sh
        r sadd si 1 2 3
        r sadd sh a b 7
        list [r sismember si 2] [r sismember si a] [r sismember sh 7] [r sismember sh 8] \
             [r sismember nokey a] [r smismember si 3 4 a] [r smismember sh a 7 c] \
             [r smismember nokey a b]
    } {1 0 1 0 0 {1 0 0} {1 1 0} {0 0}}

    test {SMEMBERS of an intset is sorted, of a hashtable complete} {
        r del si sh
        r sadd si 30 -4 10 0
        r sadd sh c a b 2
        list [r smembers si] [lsort [r smembers sh]] [r smembers nokey]
    } {{-4 0 10 30} {2 a b c} {}}

    test {Set members are binary safe} {
        r del s
        r sadd s "a\x00b" "\r\n" ""
        list [r sismember s "a\x00b"] [r sismember s ""] [r sismember s "a"] [r scard s]
    } {1 1 0 3}

    # ------------------------------------------------------------ errors

    test {Set commands on a string reply WRONGTYPE} {
        r set str v
        r sadd s 1
        set errs {}
        foreach cmd {
            {sadd str a} {srem str a} {scard str} {sismember str a} {smismember str a}
            {smembers str} {spop str} {spop str 2} {srandmember str} {srandmember str 2}
            {smove str s a} {smove s str 1} {sinter s str} {sunion s str} {sdiff s str}
            {sinterstore d s str} {sunionstore d s str} {sdiffstore d s str} {sscan str 0}
        } {
            catch {r {*}$cmd} e
            lappend errs [string match {WRONGTYPE*} $e]
        }
        list [lsort -unique $errs] [r get str] [r exists d]
    } {1 v 0}

    test {SPOP count must be a non-negative integer} {
        r del s
        r sadd s 1 2
        catch {r spop s -1} e1
        catch {r spop s x} e2
        catch {r spop s 1 2} e3
        list $e1 $e2 $e3
    } {{ERR value is out of range, must be positive} {ERR value is out of range, must be positive} {ERR syntax error}}

    test {SRANDMEMBER count errors} {
        catch {r srandmember s x} e1
        catch {r srandmember s 1 2} e2
        catch {r srandmember s -9223372036854775808} e3
        list $e1 $e2 $e3
    } {{ERR value is not an integer or out of range} {ERR syntax error} {ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807}}

    test {SINTER stops at a missing key before type-checking the next} {
        r set str v
        list [r sinter nokey str] [r sinterstore d nokey str]
    } {{} 0}

    # --------------------------------------------------------------- SMOVE

    test {SMOVE moves a member and reports whether it did} {
        r del src dst
        r sadd src 1 2 3
        r sadd dst a
        list [r smove src dst 2] [r smove src dst 9] [r smove nokey dst 1] \
             [r smembers src] [lsort [r smembers dst]]
    } {1 0 0 {1 3} {2 a}}

    test {SMOVE to the same key only checks membership} {
        r del s
        r sadd s 1 2
        list [r smove s s 1] [r smove s s 5] [r scard s]
    } {1 0 2}

    test {SMOVE creates the destination and deletes an emptied source} {
        r del src dst
        r sadd src x
        list [r smove src dst x] [r exists src] [r smembers dst] [r object encoding dst]
    } {1 0 x hashtable}

    test {SMOVE of an integer into a new key makes an intset} {
        r del src dst
        r sadd src 5 6
        r smove src dst 5
        list [r object encoding dst] [r smembers dst]
    } {intset 5}

    test {SMOVE of a string into an intset converts it} {
        r del src dst
        r sadd src foo
        r sadd dst 1 2
        r smove src dst foo
        list [r object encoding dst] [lsort [r smembers dst]]
    } {hashtable {1 2 foo}}

    # -------------------------------------------------- SPOP SRANDMEMBER

    foreach {type members} [list intset [int_range 0 50] hashtable [lmap i [int_range 0 50] {set _ m$i}]] {
        test "SPOP returns members and removes them ($type)" {
            fill_set s $members
            set got {}
            for {set i 0} {$i < 50} {incr i} { lappend got [r spop s] }
            list [lsort $got] [r exists s] [r spop s]
        } [list [lsort $members] 0 {}]

        test "SPOP with count: distinct members, all strategies ($type)" {
            fill_set s $members
            set a [r spop s 3]
            set b [r spop s 40]
            set c [r spop s 100]
            set all [concat $a $b $c]
            list [llength $a] [llength $b] [llength [lsort -unique $all]] \
                 [expr {[lsort $all] eq [lsort $members]}] [r exists s]
        } {3 40 50 1 0}

        test "SRANDMEMBER with positive count gives distinct members ($type)" {
            fill_set s $members
            set res {}
            foreach n {1 5 20 49 50 80} {
                set r [r srandmember s $n]
                set ok 1
                foreach m $r { if {[lsearch -exact $members $m] < 0} { set ok 0 } }
                lappend res [llength $r] [llength [lsort -unique $r]] $ok
            }
            lappend res [r scard s]
        } {1 1 1 5 5 1 20 20 1 49 49 1 50 50 1 50 50 1 50}

        test "SRANDMEMBER with negative count may repeat ($type)" {
            fill_set s $members
            set r [r srandmember s -300]
            set ok 1
            foreach m $r { if {[lsearch -exact $members $m] < 0} { set ok 0 } }
            list [llength $r] $ok [expr {[llength [lsort -unique $r]] < 300}]
        } {300 1 1}
    }

    test {SPOP and SRANDMEMBER with count 0 or on a missing key} {
        r del s nokey
        r sadd s 1
        list [r spop s 0] [r srandmember s 0] [r spop nokey 2] [r srandmember nokey 2] \
             [r srandmember nokey] [r spop nokey] [r scard s]
    } {{} {} {} {} {} {} 1}

    test {SPOP with a count close to the size rebuilds the rest as Redis does} {
        r del s
        r sadd s {*}[int_range 0 1000]
        set e1 [r object encoding s]
        r spop s 900
        list $e1 [r object encoding s] [r scard s]
    } {hashtable intset 100}

    test {SPOP keeps the TTL of the set} {
        r del s
        r sadd s {*}[int_range 0 10]
        r expire s 100
        r spop s 8
        r spop s
        list [expr {[r ttl s] > 0}] [r scard s]
    } {1 1}

    # ---------------------------------------------- SINTER SUNION SDIFF

    test {SINTER SUNION SDIFF over mixed encodings} {
        r del a b c
        r sadd a 1 2 3 4 x
        r sadd b 3 4 5 y
        r sadd c 4 6
        list [lsort [r sinter a b]] [lsort [r sinter a b c]] [lsort [r sunion a b c]] \
             [lsort [r sdiff a b]] [lsort [r sdiff a b c]] [r sdiff a a] [lsort [r sinter a a]]
    } {{3 4} 4 {1 2 3 4 5 6 x y} {1 2 x} {1 2 x} {} {1 2 3 4 x}}

    test {Missing keys are empty sets} {
        r del a
        r sadd a 1 x
        list [r sinter a nokey] [lsort [r sunion a nokey]] [lsort [r sdiff a nokey]] [r sdiff nokey a]
    } {{} {1 x} {1 x} {}}

    test {Intset results are sorted} {
        r del i1 i2
        r sadd i1 8 1 2 3 4
        r sadd i2 2 3 9 -1
        list [r sinter i1 i2] [r sunion i1 i2] [r sdiff i1 i2]
    } {{2 3} {-1 1 2 3 4 8 9} {1 4 8}}

    test {STORE forms reply the size and overwrite any type, TTL included} {
        r del a b
        r sadd a 1 2 3 x
        r sadd b 2 3 x y
        r set dst string
        r expire dst 100
        set n [r sinterstore dst a b]
        list $n [lsort [r smembers dst]] [r ttl dst] [r sunionstore dst a b] [r sdiffstore dst a b] [r smembers dst]
    } {3 {2 3 x} -1 5 1 1}

    test {STORE of an empty result deletes the destination} {
        r del a
        r sadd a 1
        r sadd dst 5
        set a1 [r sinterstore dst a nokey]
        set e1 [r exists dst]
        r sadd dst 5
        set a2 [r sdiffstore dst a a]
        set e2 [r exists dst]
        r sadd dst 5
        set a3 [r sunionstore dst nokey]
        list $a1 $e1 $a2 $e2 $a3 [r exists dst]
    } {0 0 0 0 0 0}

    test {Integers common to hashtables are stored as an intset} {
        r del a b
        r sadd a 1 2 3 x
        r sadd b 2 3 y
        r sinterstore dst a b
        set e1 [r object encoding dst]
        r sunionstore dst a b
        list $e1 [r object encoding dst]
    } {intset hashtable}

    test {SDIFFSTORE encoding follows the algorithm Redis picks} {
        r del a sm e1 e2 big
        r sadd a 1 2 3 4 5 6 7 8 9 x
        r sadd sm x
        r sadd e1 y
        r sadd e2 z
        r sadd big x {*}[int_range 100 121]
        # Many small sets: copy then remove, x leaves a hashtable behind.
        set n1 [r sdiffstore dst a sm e1 e2]
        set enc1 [r object encoding dst]
        # One big set: walk the first, x is never added.
        set n2 [r sdiffstore dst a big]
        list $n1 $enc1 $n2 [r object encoding dst]
    } {9 hashtable 9 intset}

    test {STORE with the destination among the sources} {
        r del a b
        r sadd a 1 2
        r sadd b 2 3
        list [r sunionstore a a b] [r smembers a]
    } {3 {1 2 3}}

    # ---------------------------------------------------------------- SSCAN

    test {SSCAN of an intset returns everything with cursor 0} {
        r del s
        r sadd s 30 10 20 11
        list [r sscan s 0 count 1] [r sscan s 0 match 1*]
    } {{0 {10 11 20 30}} {0 {10 11}}}

    test {SSCAN of a hashtable visits every member} {
        r del s
        set members [lmap i [int_range 0 500] {set _ m$i}]
        r sadd s {*}$members
        set seen {}
        set cursor 0
        set calls 0
        while 1 {
            lassign [r sscan s $cursor count 10] cursor items
            lappend seen {*}$items
            incr calls
            if {$cursor == 0} break
        }
        list [expr {$calls > 1}] [expr {[lsort -unique $seen] eq [lsort $members]}]
    } {1 1}

    test {SSCAN MATCH filters a hashtable} {
        set found {}
        set cursor 0
        while 1 {
            lassign [r sscan s $cursor match m4?] cursor items
            lappend found {*}$items
            if {$cursor == 0} break
        }
        lsort -unique $found
    } {m40 m41 m42 m43 m44 m45 m46 m47 m48 m49}

    test {SSCAN errors and a missing key} {
        catch {r sscan s x} e1
        catch {r sscan s 0 count 0} e2
        catch {r sscan s 0 type set} e3
        list $e1 $e2 $e3 [r sscan nokey 0]
    } {{ERR invalid cursor} {ERR syntax error} {ERR syntax error} {0 {}}}

    # --------------------------------------------------------- persistence

    test {DEBUG DIGEST-VALUE ignores encoding and order} {
        r del a b
        r sadd a 3 1 2
        r sadd b 1 2 3 x
        r srem b x
        list [r object encoding a] [r object encoding b] \
             [expr {[r debug digest-value a] eq [r debug digest-value b]}]
    } {intset hashtable 1}
}

start_server {tags {"set aof"} overrides {appendonly yes}} {

    test {SPOP is logged as SREM and survives an AOF reload} {
        r flushall
        r sadd s {*}[int_range 0 30] a b c
        r spop s
        r spop s 2
        r spop s 25
        r sadd t 1 2 3
        r spop t 3
        set digest [r debug digest]
        r debug loadaof
        list [expr {[r debug digest] eq $digest}] [r scard s] [r exists t]
    } {1 5 0}

    test {The AOF holds SREMs and a DEL, never SPOP} {
        set fd [open [file join [srv 0 dir] appendonly.aof] r]
        fconfigure $fd -translation binary
        set aof [read $fd]
        close $fd
        list [string match -nocase {*spop*} $aof] [regexp -all {\$4\r\nSREM} $aof] \
             [string match "*\$3\r\nDEL\r\n\$1\r\nt\r\n*" $aof] [regexp -all {\$5\r\nMULTI} $aof]
    } {0 28 1 2}
}
