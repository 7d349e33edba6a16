# Hashes: HSET/HSETNX/HMSET/HGET/HMGET/HGETALL/HKEYS/HVALS/HLEN/HEXISTS/
# HDEL/HSTRLEN/HINCRBY/HINCRBYFLOAT/HRANDFIELD/HSCAN, in both encodings
# (ziplist and hashtable), the conversions between them, errors.
#
# Expected values are Redis 6.2's. Against Redis 7.0 these fail on purpose:
# the encoding is called listpack there, 7.0 rejects an infinite increment
# with another text, HSETNX no longer converts for an existing field, and
# HINCRBY/HINCRBYFLOAT convert for long fields.

# Builds hash $key from a Tcl dict of field -> value, one HSET per pair.
proc hash_from_dict {key d} {
    r del $key
    dict for {f v} $d {
        r hset $key $f $v
    }
}

# A Tcl dict of $n random fields; values mix integers and strings.
proc random_hash_dict {n {prefix f}} {
    set d [dict create]
    while {[dict size $d] < $n} {
        set f "$prefix[randomInt 100000]"
        if {[randomInt 2]} {
            set v [expr {[randomInt 2000000] - 1000000}]
        } else {
            set v "val:[randomInt 100000]"
        }
        dict set d $f $v
    }
    return $d
}

proc randomInt {max} {
    expr {int(rand() * $max)}
}

# HGETALL as a Tcl dict.
proc hgetall_dict {key} {
    set d [dict create]
    foreach {f v} [r hgetall $key] {
        dict set d $f $v
    }
    return $d
}

proc dict_equal {a b} {
    if {[dict size $a] != [dict size $b]} {return 0}
    dict for {k v} $a {
        if {![dict exists $b $k] || [dict get $b $k] ne $v} {return 0}
    }
    return 1
}

start_server {tags {"hash"}} {

    foreach {name size enc} {small 8 ziplist big 700 hashtable} {
        set d [random_hash_dict $size]

        test "HSET builds a $name hash ($enc)" {
            hash_from_dict $name $d
            assert_encoding $enc $name
            r hlen $name
        } $size

        test "HGET returns every value of the $name hash" {
            dict for {f v} $d {
                assert_equal $v [r hget $name $f]
            }
            r hget $name no-such-field
        } {}

        test "HGETALL, HKEYS and HVALS agree with the $name hash" {
            assert {[dict_equal $d [hgetall_dict $name]]}
            assert_equal [lsort [dict keys $d]] [lsort [r hkeys $name]]
            assert_equal [lsort [dict values $d]] [lsort [r hvals $name]]
        }

        test "HMGET on the $name hash, missing fields are nil" {
            set fields [lrange [dict keys $d] 0 4]
            set want {}
            foreach f $fields {lappend want [dict get $d $f]}
            lappend want {}
            assert_equal $want [r hmget $name {*}$fields no-such-field]
        }

        test "HEXISTS and HSTRLEN on the $name hash" {
            dict for {f v} $d {
                assert_equal 1 [r hexists $name $f]
                assert_equal [string length $v] [r hstrlen $name $f]
            }
            list [r hexists $name no-such-field] [r hstrlen $name no-such-field]
        } {0 0}

        test "HSET on existing fields of the $name hash counts nothing" {
            set f [lindex [dict keys $d] 0]
            list [r hset $name $f newvalue] [r hget $name $f] [r hlen $name]
        } [list 0 newvalue $size]

        test "HRANDFIELD on the $name hash returns fields of the hash" {
            set keys [r hkeys $name]
            for {set j 0} {$j < 20} {incr j} {
                assert {[lsearch -exact $keys [r hrandfield $name]] >= 0}
            }
        }

        test "HRANDFIELD with a positive count on the $name hash is unique" {
            foreach count [list 1 3 [expr {$size / 2}] [expr {$size - 1}] $size [expr {$size * 2}]] {
                set res [r hrandfield $name $count]
                set want [expr {$count < $size ? $count : $size}]
                assert_equal $want [llength $res]
                assert_equal $want [llength [lsort -unique $res]]
            }
        }

        test "HRANDFIELD with a negative count on the $name hash may repeat" {
            set res [r hrandfield $name -50]
            assert_equal 50 [llength $res]
            set all [hgetall_dict $name]
            foreach {f v} [r hrandfield $name -30 withvalues] {
                assert_equal [dict get $all $f] $v
            }
        }

        test "HSCAN returns every pair of the $name hash" {
            set cur 0
            set got [dict create]
            while 1 {
                set res [r hscan $name $cur count 10]
                set cur [lindex $res 0]
                foreach {f v} [lindex $res 1] {dict set got $f $v}
                if {$cur == 0} break
            }
            assert {[dict_equal [hgetall_dict $name] $got]}
        }

        test "HDEL removes fields of the $name hash, then the key" {
            set fields [r hkeys $name]
            assert_equal 1 [r hdel $name [lindex $fields 0]]
            assert_equal 0 [r hdel $name [lindex $fields 0]]
            assert_equal [expr {$size - 1}] [r hlen $name]
            assert_equal [expr {$size - 1}] [r hdel $name {*}$fields no-such-field]
            r exists $name
        } {0}
    }

    test {HSET with several pairs, HMSET reply} {
        r del h
        list [r hset h a 1 b 2 c 3] [r hset h a 9 d 4] [r hmset h e 5 a 10] [r hgetall h]
    } {3 1 OK {a 10 b 2 c 3 d 4 e 5}}

    test {HSET and HMSET with a field and no value} {
        assert_error {*wrong number of arguments for 'hset' command*} {r hset h a 1 b}
        assert_error {*wrong number of arguments for 'hmset' command*} {r hmset h a}
    }

    test {HSETNX sets only missing fields} {
        r del h
        list [r hsetnx h a 1] [r hsetnx h a 2] [r hget h a]
    } {1 0 1}

    test {HGET / HMGET / HLEN / HGETALL on a missing key} {
        r del nokey
        list [r hget nokey a] [r hmget nokey a b] [r hlen nokey] [r hgetall nokey] [r hkeys nokey] [r hexists nokey a]
    } {{} {{} {}} 0 {} {} 0}

    test {Hash commands against a key of another type} {
        r del str
        r set str value
        foreach cmd {
            {hset str a 1} {hsetnx str a 1} {hget str a} {hmget str a} {hgetall str}
            {hkeys str} {hvals str} {hlen str} {hexists str a} {hdel str a}
            {hstrlen str a} {hincrby str a 1} {hincrbyfloat str a 1} {hrandfield str}
            {hscan str 0}
        } {
            assert_error {WRONGTYPE*} {r {*}$cmd}
        }
        r get str
    } {value}

    test {Integer-looking values keep their text} {
        r del h
        r hset h a 007 b -0 c +5 d 12345678901234567890 e -9223372036854775808
        r hmget h a b c d e
    } {007 -0 +5 12345678901234567890 -9223372036854775808}

    test {HSTRLEN counts integer-encoded values in decimal} {
        r del h
        r hset h a -123 b 9223372036854775807 c 0
        list [r hstrlen h a] [r hstrlen h b] [r hstrlen h c]
    } {4 19 1}

    test {HINCRBY on missing key and field starts from zero} {
        r del h
        list [r hincrby h f 5] [r hincrby h f -8] [r hget h f]
    } {5 -3 -3}

    test {HINCRBY on a value that is not an integer} {
        r hset h s hello t " 1" u 1.5
        assert_error {*hash value is not an integer*} {r hincrby h s 1}
        assert_error {*hash value is not an integer*} {r hincrby h t 1}
        assert_error {*hash value is not an integer*} {r hincrby h u 1}
        assert_error {*value is not an integer or out of range*} {r hincrby h f x}
    }

    test {HINCRBY overflow} {
        r hset h max 9223372036854775807 min -9223372036854775808
        assert_error {*increment or decrement would overflow*} {r hincrby h max 1}
        assert_error {*increment or decrement would overflow*} {r hincrby h min -1}
        list [r hget h max] [r hget h min]
    } {9223372036854775807 -9223372036854775808}

    test {HINCRBYFLOAT results print like INCRBYFLOAT} {
        r del h
        list [r hincrbyfloat h f 10.5] [r hincrbyfloat h f 0.1] [r hincrbyfloat h f -5] \
             [r hincrbyfloat h g 5.0e3] [r hincrbyfloat h g 2.0e2] [r hincrbyfloat h i 3]
    } {10.5 10.6 5.6 5000 5200 3}

    test {HINCRBYFLOAT on an integer-encoded value} {
        r hset h n 10
        r hincrbyfloat h n 0.25
    } {10.25}

    test {HINCRBYFLOAT errors} {
        r hset h s hello big 1e4932
        assert_error {*hash value is not a float*} {r hincrbyfloat h s 1}
        assert_error {*value is not a valid float*} {r hincrbyfloat h f abc}
        assert_error {*increment would produce NaN or Infinity*} {r hincrbyfloat h big 1e4932}
        r hget h big
    } {1e4932}

    test {HINCRBYFLOAT with an infinite increment} {
        r del nk
        assert_error {*increment would produce NaN or Infinity*} {r hincrbyfloat nk f inf}
        r hget nk f
    } {}

    test {HRANDFIELD on a missing key, count 0, syntax errors} {
        r del nokey
        assert_equal {} [r hrandfield nokey]
        assert_equal {} [r hrandfield nokey 5]
        r hset h a 1
        assert_equal {} [r hrandfield h 0]
        assert_error {*syntax error*} {r hrandfield h 1 withscores}
        assert_error {*syntax error*} {r hrandfield h 1 withvalues x}
        assert_error {*not an integer*} {r hrandfield h x}
    }

    test {HRANDFIELD with values returns matching pairs} {
        r del h
        r hset h a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10
        foreach count {2 4 9 10 20 -15} {
            set all [hgetall_dict h]
            set res [r hrandfield h $count withvalues]
            foreach {f v} $res {
                assert_equal [dict get $all $f] $v
            }
        }
    }

    test {HRANDFIELD with a large negative count covers every field} {
        r del h
        r hset h a 1 b 2 c 3 d 4 e 5
        lsort -unique [r hrandfield h -1000]
    } {a b c d e}

    test {HSCAN of a ziplist hash answers in one call with cursor 0} {
        r del h
        r hset h a 1 b 2 c 3
        list [r hscan h 0 count 1] [r hscan h 42]
    } {{0 {a 1 b 2 c 3}} {0 {a 1 b 2 c 3}}}

    test {HSCAN MATCH filters on fields} {
        r del h
        r hset h key:1 a key:2 b other c
        r hscan h 0 match key:*
    } {0 {key:1 a key:2 b}}

    test {HSCAN option errors} {
        assert_error {*invalid cursor*} {r hscan h abc}
        assert_error {*syntax error*} {r hscan h 0 count 0}
        assert_error {*syntax error*} {r hscan h 0 type hash}
        assert_error {*not an integer*} {r hscan h 0 count x}
    }

    test {Hash digest does not depend on the encoding} {
        r del h1 h2
        r config set hash-max-ziplist-entries 0
        r hset h1 a 1 b hello c -7
        r config set hash-max-ziplist-entries 512
        r hset h2 c -7 b hello a 1
        assert_encoding hashtable h1
        assert_encoding ziplist h2
        assert_equal [r debug digest-value h1] [r debug digest-value h2]
    }
}

start_server {tags {"hash"} overrides {hash-max-ziplist-entries 4 hash-max-ziplist-value 8}} {

    test {Conversion to hashtable past hash-max-ziplist-entries} {
        r del h
        r hset h a 1 b 2 c 3 d 4
        assert_encoding ziplist h
        r hset h e 5
        assert_encoding hashtable h
        lsort [r hgetall h]
    } {1 2 3 4 5 a b c d e}

    test {Conversion to hashtable for a value past hash-max-ziplist-value} {
        r del h
        r hset h a 12345678
        assert_encoding ziplist h
        r hset h a 123456789
        assert_encoding hashtable h
        r hget h a
    } {123456789}

    test {Conversion to hashtable for a field past hash-max-ziplist-value} {
        r del h
        r hset h abcdefghi 1
        assert_encoding hashtable h
    }

    test {HMSET and HSETNX convert like HSET} {
        r del h1 h2
        r hmset h1 a 1 b 2 c 3 d 4 e 5
        r hsetnx h2 field123456789 1
        assert_encoding hashtable h1
        assert_encoding hashtable h2
    }

    test {HSETNX checks the lengths even when the field exists} {
        r del h
        r hsetnx h a 1
        assert_equal 0 [r hsetnx h a 123456789]
        assert_encoding hashtable h
        r hget h a
    } {1}

    test {HINCRBY and HINCRBYFLOAT do not check the lengths} {
        r del h
        r hincrby h longfield123 1
        r hincrbyfloat h otherfield456 1.5
        assert_encoding ziplist h
        r hgetall h
    } {longfield123 1 otherfield456 1.5}

    test {A hashtable hash is never converted back} {
        r del h
        r hset h a 1 b 2 c 3 d 4 e 5
        r hdel h a b c d
        assert_encoding hashtable h
        r hgetall h
    } {e 5}
}
