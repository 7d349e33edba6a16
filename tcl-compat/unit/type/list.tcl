# List commands: pushes and pops (with COUNT), LLEN/LINDEX/LSET/LRANGE/
# LTRIM/LREM/LINSERT/LPOS, RPOPLPUSH/LMOVE, the quicklist encoding with
# small and large nodes, and a randomized check against a Tcl model.
#
# Expected values are Redis 6.2's. Known differences of Redis 7.0 (fail on
# purpose with --server redis-server): `LPOP key 0` (6.2: null array before
# even looking at the key; 7.0: empty array, or WRONGTYPE), `LPOP missing 2`
# (6.2: null bulk, 7.0: null array), and DEBUG OBJECT's ql_ziplist_max
# (7.0: ql_listpack_max, with listpack sizes).

# Pushes every element of `elements` to the tail of `key`.
proc list_fill {key elements} {
    r del $key
    foreach e $elements {r rpush $key $e}
}

# One field of DEBUG OBJECT.
proc debug_object_field {key field} {
    set line [r debug object $key]
    foreach w [split $line " "] {
        if {[string match "$field:*" $w]} {
            return [string range $w [expr {[string length $field] + 1}] end]
        }
    }
    return {}
}

# The raw first line of the reply to a command (tells `*-1`, `*0` and
# `$-1` apart, which the client maps to the same empty value).
proc raw_reply_line {args} {
    set fd [raw_connect]
    puts -nonewline $fd [::redis::format_command $args]
    flush $fd
    set line [raw_gets $fd]
    close $fd
    return $line
}

foreach {fill label} {128 "default-ish" 4 "small nodes" -1 "4 KiB nodes"} {
start_server [list tags {"list"} overrides [list list-max-ziplist-size $fill]] {

    test "LPUSH, RPUSH, LLEN, LRANGE ($label)" {
        r del l
        list [r lpush l a] [r lpush l b c] [r rpush l d e] [r llen l] [r lrange l 0 -1]
    } {1 3 5 5 {c b a d e}}

    test "LPUSHX and RPUSHX only push to an existing list ($label)" {
        r del lx nokey
        r rpush lx a
        list [r lpushx lx x] [r rpushx lx y z] [r lpushx nokey a] [r rpushx nokey a b] \
             [r exists nokey] [r lrange lx 0 -1]
    } {2 4 0 0 0 {x a y z}}

    test "LPOP and RPOP, with and without COUNT ($label)" {
        list_fill p {1 2 3 4 5 6}
        list [r lpop p] [r rpop p] [r lpop p 2] [r rpop p 1] [r llen p]
    } {1 6 {2 3} 5 1}

    test "A COUNT beyond the length pops everything and deletes the key ($label)" {
        list_fill p {a b c}
        list [r rpop p 10] [r exists p] [r lpop p] [r rpop p]
    } {{c b a} 0 {} {}}

    test "LINDEX with positive, negative and out-of-range indexes ($label)" {
        set elements {}
        for {set i 0} {$i < 50} {incr i} {lappend elements "e$i"}
        list_fill idx $elements
        set out {}
        foreach i {0 1 4 5 49 50 100 -1 -4 -5 -50 -51 -1000} {
            lappend out [r lindex idx $i]
        }
        set out
    } {e0 e1 e4 e5 e49 {} {} e49 e46 e45 e0 {} {}}

    test "LRANGE clamps its indexes like Redis ($label)" {
        set elements {}
        for {set i 0} {$i < 20} {incr i} {lappend elements $i}
        list_fill rg $elements
        set ok 1
        foreach s {0 1 5 19 20 25 -1 -5 -20 -21 -100} {
            foreach e {0 1 5 19 20 25 -1 -5 -20 -21 -100} {
                set a [expr {$s < 0 ? 20 + $s : $s}]
                set b [expr {$e < 0 ? 20 + $e : $e}]
                if {$a < 0} {set a 0}
                if {$b >= 20} {set b 19}
                set want [expr {$a > $b || $a >= 20 ? {} : [lrange $elements $a $b]}]
                set got [r lrange rg $s $e]
                if {$got ne $want} {
                    set ok "LRANGE $s $e: got {$got} want {$want}"
                }
            }
        }
        set ok
    } {1}

    test "LSET replaces by index, errors out of range ($label)" {
        list_fill ls {a b c d e f g h i}
        r lset ls 0 A
        r lset ls -1 I
        r lset ls 4 E
        list [r lrange ls 0 -1] \
             [catch {r lset ls 9 x} e1] $e1 \
             [catch {r lset ls -10 x} e2] $e2
    } {{A b c d E f g h I} 1 {ERR index out of range} 1 {ERR index out of range}}

    test "LTRIM keeps a range and deletes an emptied list ($label)" {
        list_fill tr {0 1 2 3 4 5 6 7 8 9}
        r ltrim tr 2 -3
        set a [r lrange tr 0 -1]
        r ltrim tr -2 100
        set b [r lrange tr 0 -1]
        r ltrim tr 5 1
        list $a $b [r exists tr]
    } {{2 3 4 5 6 7} {6 7} 0}

    test "LREM from the head, from the tail and all ($label)" {
        set base {a b a c a d a}
        list_fill rm $base
        set r1 [list [r lrem rm 2 a] [r lrange rm 0 -1]]
        list_fill rm $base
        set r2 [list [r lrem rm -2 a] [r lrange rm 0 -1]]
        list_fill rm $base
        set r3 [list [r lrem rm 0 a] [r lrange rm 0 -1]]
        list $r1 $r2 $r3
    } {{2 {b c a d a}} {2 {a b a c d}} {4 {b c d}}}

    test "LINSERT before and after the first match ($label)" {
        list_fill ins {a b c b}
        list [r linsert ins before b X] [r linsert ins after b Y] \
             [r linsert ins after nope Z] [r linsert missing before a b] \
             [r lrange ins 0 -1]
    } {5 6 -1 0 {a X b Y c b}}

    test "LPOS with RANK, COUNT and MAXLEN ($label)" {
        list_fill pos {a b a c a d a}
        list [r lpos pos a] [r lpos pos a rank 2] [r lpos pos a rank -1] \
             [r lpos pos a count 0] [r lpos pos a rank -2 count 2] \
             [r lpos pos a maxlen 3 count 0] [r lpos pos z] [r lpos pos z count 0]
    } {0 2 6 {0 2 4 6} {4 2} {0 2} {} {}}

    test "RPOPLPUSH and LMOVE in every direction ($label)" {
        r del src dst
        r rpush src 1 2 3 4 5
        list [r rpoplpush src dst] [r lmove src dst left right] \
             [r lmove src dst right left] [r lmove src dst left left] \
             [r lrange dst 0 -1] [r lrange src 0 -1]
    } {5 1 4 2 {2 4 5 1} 3}

    test "RPOPLPUSH of a list onto itself rotates it ($label)" {
        list_fill rot {a b c}
        list [r rpoplpush rot rot] [r lrange rot 0 -1] [r lmove rot rot left right] [r lrange rot 0 -1]
    } {c {c a b} c {a b c}}

    test "The last RPOPLPUSH deletes the source; a missing source is nil ($label)" {
        r del one target
        r rpush one x
        list [r rpoplpush one target] [r exists one] [r rpoplpush one target] [r lrange target 0 -1]
    } {x 0 {} x}

    test "Integer-looking and binary elements round-trip ($label)" {
        set vals [list 0 1 -1 127 128 -129 32767 -32769 8388607 2147483648 \
                       9223372036854775807 -9223372036854775808 9223372036854775808 \
                       01 +1 " 1" 1.0 "" "a\r\nb\x00c"]
        list_fill ints $vals
        set back [r lrange ints 0 -1]
        expr {$back eq $vals && [r lindex ints 11] eq "-9223372036854775808"}
    } {1}

    test "Elements of 8 KiB and more round-trip ($label)" {
        r del big
        set vals {}
        foreach n {8192 8193 16383 16384 20000 70000} {
            set v [string repeat [format %c [expr {97 + $n % 26}]] $n]
            lappend vals $v
            r rpush big $v
            r lpush big $v
        }
        set want [concat [lreverse $vals] $vals]
        expr {[r lrange big 0 -1] eq $want && [r llen big] == 12}
    } {1}
}
}

start_server {tags {"list"}} {

    test {LPOP/RPOP COUNT 0 replies a null array even before the lookup} {
        r del l
        r rpush l a
        r set str v
        list [raw_reply_line LPOP l 0] [raw_reply_line RPOP nokey 0] \
             [raw_reply_line LPOP str 0] [r llen l]
    } {*-1 *-1 *-1 1}

    test {LPOP with COUNT of a missing key is a null bulk} {
        r del nokey
        join [list [raw_reply_line LPOP nokey 2] [raw_reply_line RPOP nokey]] ,
    } {$-1,$-1}

    test {LPOP/RPOP COUNT errors} {
        r rpush l a
        list [catch {r lpop l -1} e1] $e1 [catch {r rpop l x} e2] $e2 \
             [catch {r lpop l 1 2} e3] $e3
    } {1 {ERR value is out of range, must be positive} 1 {ERR value is out of range, must be positive} 1 {ERR wrong number of arguments for 'lpop' command}}

    test {Every list command on a string is WRONGTYPE} {
        r set s v
        r del l
        r rpush l a
        set bad {}
        foreach cmd {
            {lpush s a} {rpush s a} {lpushx s a} {rpushx s a} {lpop s} {rpop s}
            {llen s} {lindex s 0} {lset s 0 a} {lrange s 0 -1} {ltrim s 0 1}
            {lrem s 0 a} {linsert s before a b} {lpos s a} {rpoplpush s l}
            {rpoplpush l s} {lmove l s left left} {blpop s 1} {brpoplpush l s 1}
        } {
            if {![catch {r {*}$cmd} err] || ![string match WRONGTYPE* $err]} {
                lappend bad $cmd
            }
        }
        list $bad [r lrange l 0 -1] [r get s]
    } {{} a v}

    test {LSET on a missing key is "no such key" whatever the index} {
        r del nokey
        list [catch {r lset nokey 0 v} e1] $e1 [catch {r lset nokey x v} e2] $e2
    } {1 {ERR no such key} 1 {ERR no such key}}

    test {Index arguments must be integers} {
        r del l
        r rpush l a b
        set out {}
        foreach cmd {{lindex l x} {lrange l 0 y} {lset l 1.5 v} {ltrim l a 1} {lrem l z a}} {
            catch {r {*}$cmd} err
            lappend out $err
        }
        lsort -unique $out
    } {{ERR value is not an integer or out of range}}

    test {LPOS option errors} {
        r del l
        r rpush l a
        set out {}
        foreach cmd {{lpos l a rank 0} {lpos l a count -1} {lpos l a maxlen -1} {lpos l a foo} {lpos l a rank}} {
            catch {r {*}$cmd} err
            lappend out $err
        }
        set out
    } {{ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list} {ERR COUNT can't be negative} {ERR MAXLEN can't be negative} {ERR syntax error} {ERR syntax error}}

    test {LPOS RANK -9223372036854775808 finds the last match (6.2 negation)} {
        r del l
        r rpush l a b a c
        r lpos l a rank -9223372036854775808
    } {2}

    test {LMOVE and LINSERT direction errors} {
        r del l
        r rpush l a
        list [catch {r lmove l d up left} e1] $e1 [catch {r linsert l middle a b} e2] $e2
    } {1 {ERR syntax error} 1 {ERR syntax error}}

    test {Lists are encoded as quicklist} {
        r del l
        r rpush l 1
        assert_encoding quicklist l
        debug_object_field l encoding
    } {quicklist}

    test {DEBUG OBJECT counts quicklist nodes for a count fill} {
        r config set list-max-ziplist-size 4
        r del q
        r rpush q 1 2 3 4 5 6 7 8 9 10
        list [debug_object_field q ql_nodes] [debug_object_field q ql_ziplist_max] \
             [debug_object_field q ql_uncompressed_size]
    } {3 4 53}

    test {A size fill caps nodes at 4 KiB; a huge element gets its own node} {
        r config set list-max-ziplist-size -1
        r del q
        set v [string repeat x 1000]
        for {set i 0} {$i < 12} {incr i} {r rpush q $v}
        set a [debug_object_field q ql_nodes]
        r rpush q [string repeat y 10000]
        r rpush q small
        list $a [debug_object_field q ql_nodes]
    } {3 5}

    test {The fill is clamped to -5..32767 when a list is created} {
        r config set list-max-ziplist-size -10
        r del q
        r rpush q 1 2 3 4 5 6 7 8 9 10
        set a [list [debug_object_field q ql_nodes] [debug_object_field q ql_ziplist_max]]
        r config set list-max-ziplist-size 100000
        r del q
        r rpush q 1
        r config set list-max-ziplist-size -2
        list $a [debug_object_field q ql_ziplist_max]
    } {{1 -5} 32767}

    test {Emptied lists are deleted by every removing command} {
        set left {}
        foreach {setup cmd} {
            {rpush k a} {lpop k}
            {rpush k a b} {rpop k 5}
            {rpush k a b} {ltrim k 1 0}
            {rpush k a a} {lrem k 0 a}
            {rpush k a} {rpoplpush k other}
            {rpush k a} {lmove k other left right}
            {rpush k a} {blpop k 1}
            {rpush k a} {blmove k other left left 1}
        } {
            r del k
            r {*}$setup
            r {*}$cmd
            if {[r exists k]} {lappend left $cmd}
        }
        set left
    } {}

    test {Randomized list commands against a Tcl model} {
        r config set list-max-ziplist-size 3
        r del m
        set model {}
        set err {}
        for {set i 0} {$i < 1500 && $err eq ""} {incr i} {
            set v [expr {int(rand() * 8)}]
            if {rand() < 0.1} {set v [string repeat z [expr {int(rand() * 9000)}]]}
            set len [llength $model]
            switch [expr {int(rand() * 9)}] {
                0 { r lpush m $v; set model [linsert $model 0 $v] }
                1 { r rpush m $v; lappend model $v }
                2 {
                    set got [r lpop m]
                    set want [lindex $model 0]
                    set model [lrange $model 1 end]
                    if {$got ne $want} {set err "LPOP"}
                }
                3 {
                    set got [r rpop m]
                    set want [lindex $model end]
                    set model [lrange $model 0 end-1]
                    if {$got ne $want} {set err "RPOP"}
                }
                4 {
                    set j [expr {int(rand() * (2 * $len + 4)) - $len - 2}]
                    set jj [expr {$j < 0 ? $len + $j : $j}]
                    set want [expr {$jj >= 0 && $jj < $len ? [lindex $model $jj] : ""}]
                    if {[r lindex m $j] ne $want} {set err "LINDEX $j"}
                }
                5 {
                    if {$len > 0} {
                        set j [expr {int(rand() * $len)}]
                        r lset m $j $v
                        lset model $j $v
                    }
                }
                6 {
                    set n [r lrem m 1 $v]
                    set p [lsearch -exact $model $v]
                    if {$p >= 0} {set model [lreplace $model $p $p]}
                    if {$n != ($p >= 0)} {set err "LREM 1 $v"}
                }
                7 {
                    set p [lsearch -exact $model 3]
                    set got [r linsert m after 3 $v]
                    if {$p >= 0} {set model [linsert $model [expr {$p + 1}] $v]}
                    set want [expr {$len == 0 ? 0 : ($p < 0 ? -1 : $len + 1)}]
                    if {$got != $want} {set err "LINSERT got $got want $want"}
                }
                8 {
                    if {[r llen m] != $len} {set err "LLEN"}
                }
            }
        }
        if {$err eq "" && [r lrange m 0 -1] ne $model} {set err "final contents"}
        set err
    } {}
}
