# INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT: results, errors, encodings.
#
# Expected values are Redis 6.2's.

start_server {tags {"incr"}} {

    test {INCR on a missing key starts from zero} {
        r flushdb
        list [r incr c1] [r incr c1] [r get c1]
    } {1 2 2}

    test {DECR on a missing key starts from zero} {
        r del c2
        list [r decr c2] [r decr c2] [r get c2]
    } {-1 -2 -2}

    test {INCRBY / DECRBY with positive and negative amounts} {
        r set c3 10
        list [r incrby c3 5] [r incrby c3 -20] [r decrby c3 3] [r decrby c3 -100] [r incrby c3 0]
    } {15 -5 -8 92 92}

    test {INCR of a value stored as a string of digits} {
        r set c4 [string repeat 9 18]
        r incr c4
    } {1000000000000000000}

    test {INCR keeps the TTL} {
        r set c5 1 ex 100
        r incr c5
        assert_range [r ttl c5] 90 100
        r get c5
    } {2}

    test {INCR on values that are not canonical integers} {
        foreach v {abc "" " 1" "1 " 1.5 +1 007 -0 0x10 12345678901234567890 "1\x002"} {
            r set c6 $v
            assert_error {ERR value is not an integer or out of range} {r incr c6}
            assert_equal $v [r get c6]
        }
    }

    test {INCRBY / DECRBY with an increment that is not an integer} {
        r set c7 1
        assert_error {ERR value is not an integer or out of range} {r incrby c7 abc}
        assert_error {ERR value is not an integer or out of range} {r incrby c7 1.5}
        assert_error {ERR value is not an integer or out of range} {r incrby c7 ""}
        assert_error {ERR value is not an integer or out of range} {r decrby c7 " 2"}
        assert_error {ERR value is not an integer or out of range} {r incrby c7 9223372036854775808}
        r get c7
    } {1}

    test {INCR / INCRBY overflow} {
        r set c8 9223372036854775807
        assert_error {ERR increment or decrement would overflow} {r incr c8}
        assert_error {ERR increment or decrement would overflow} {r incrby c8 1}
        r set c8 1
        assert_error {ERR increment or decrement would overflow} {r incrby c8 9223372036854775807}
        r get c8
    } {1}

    test {DECR / DECRBY underflow} {
        r set c9 -9223372036854775808
        assert_error {ERR increment or decrement would overflow} {r decr c9}
        assert_error {ERR increment or decrement would overflow} {r incrby c9 -1}
        r set c9 -2
        assert_error {ERR increment or decrement would overflow} {r decrby c9 9223372036854775807}
        r get c9
    } {-2}

    test {INCRBY reaching the limits exactly} {
        r set c10 9223372036854775800
        r del c11
        list [r incrby c10 7] [r incrby c11 -9223372036854775807] [r decr c11]
    } {9223372036854775807 -9223372036854775807 -9223372036854775808}

    test {INCR of small values uses the shared integers} {
        r set c12 5
        r incr c12
        list [r object encoding c12] [r object refcount c12]
    } {int 2147483647}

    test {INCR beyond the shared range gives a private int object} {
        r set c13 9999
        r incr c13
        set a [r object refcount c13]
        r set c13 123456
        r incr c13
        list $a [r object refcount c13] [r object encoding c13] [r get c13]
    } {1 1 int 123457}

    test {INCR turns an embstr value holding an integer into int} {
        r set c14 41
        r append c14 ""
        assert_encoding raw c14
        r incr c14
        assert_encoding int c14
        r get c14
    } {42}

    test {INCR after APPEND on a number} {
        r set c15 10
        r append c15 5
        list [r incr c15] [r object encoding c15]
    } {106 int}

    # ------------------------------------------------------------ INCRBYFLOAT

    test {INCRBYFLOAT on a missing key} {
        r del f1
        list [r incrbyfloat f1 3.0] [r incrbyfloat f1 1.23e4] [r get f1]
    } {3 12303 12303}

    test {INCRBYFLOAT formats the shortest exact decimal} {
        r set f2 10.5
        set a [r incrbyfloat f2 0.1]
        r del f3
        r incrbyfloat f3 0.1
        set b [r incrbyfloat f3 0.2]
        r set f4 1.1
        list $a $b [r incrbyfloat f4 2.2]
    } {10.6 0.3 3.3}

    test {INCRBYFLOAT with exponent notation} {
        r set f5 5.0e3
        set a [r incrbyfloat f5 2.0e2]
        set b [r incrbyfloat f5 -5.2e3]
        r set f6 1e2
        list $a $b [r incrbyfloat f6 0]
    } {5200 0 100}

    test {INCRBYFLOAT keeps long double precision} {
        r set f7 5200
        r incrbyfloat f7 1e-5
    } {5200.00001000000000007}

    test {INCRBYFLOAT on an integer value and back to an integer} {
        r set f8 3
        list [r incrbyfloat f8 1.5] [r incrbyfloat f8 -4.5] [r object encoding f8]
    } {4.5 0 embstr}

    test {INCRBYFLOAT result can be used by INCR when it is integral} {
        r set f9 1.5
        r incrbyfloat f9 0.5
        r incr f9
    } {3}

    test {INCRBYFLOAT keeps the TTL} {
        r set f10 1 ex 100
        r incrbyfloat f10 1.5
        assert_range [r ttl f10] 90 100
        r get f10
    } {2.5}

    test {INCRBYFLOAT with a value or increment that is not a float} {
        r set f11 abc
        assert_error {ERR value is not a valid float} {r incrbyfloat f11 1}
        foreach bad {" 1" "1 " "" 1.5e abc} {
            r set f11 1
            assert_error {ERR value is not a valid float} {r incrbyfloat f11 $bad}
            r set f11 $bad
            assert_error {ERR value is not a valid float} {r incrbyfloat f11 1}
        }
    }

    test {INCRBYFLOAT refuses NaN and infinity} {
        r set f12 1
        assert_error {ERR increment would produce NaN or Infinity} {r incrbyfloat f12 inf}
        assert_error {ERR increment would produce NaN or Infinity} {r incrbyfloat f12 +inf}
        assert_error {ERR increment would produce NaN or Infinity} {r incrbyfloat f12 -inf}
        assert_error {ERR value is not a valid float} {r incrbyfloat f12 nan}
        r get f12
    } {1}

    test {INCRBYFLOAT of infinity values stored in the key} {
        r set f13 inf
        assert_error {ERR increment would produce NaN or Infinity} {r incrbyfloat f13 1}
        r get f13
    } {inf}

    test {INCRBYFLOAT accepts hexadecimal like strtold} {
        r set f14 0x10
        r incrbyfloat f14 1
    } {17}

    test {INCRBYFLOAT wrong number of arguments} {
        assert_error {ERR wrong number of arguments for 'incrbyfloat' command} {r incrbyfloat f14}
    }
}
