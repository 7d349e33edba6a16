# Sorted sets: ZADD and its options, ranges by rank / score / lex, removals,
# pops (blocking too), set operations, ZRANDMEMBER, ZSCAN, and the ziplist
# and skiplist encodings (most tests run once per encoding).
#
# Expected values are Redis 6.2's: scores are replied as "%.17g", so only
# exactly representable scores appear where the text matters.

proc zset_basics {encoding} {
    if {$encoding eq "ziplist"} {
        r config set zset-max-ziplist-entries 128
        r config set zset-max-ziplist-value 64
    } else {
        r config set zset-max-ziplist-entries 0
        r config set zset-max-ziplist-value 0
    }

    test "ZADD creates a $encoding sorted set and counts new members" {
        r del z
        assert_equal 3 [r zadd z 1 a 2 b 3 c]
        assert_encoding $encoding z
        assert_equal 1 [r zadd z 4 a 5 d]
        list [r zcard z] [r zscore z a] [r zscore z nosuch]
    } {4 4 {}}

    test "ZADD NX / XX / CH ($encoding)" {
        r del z
        r zadd z 1 a 2 b
        assert_equal 1 [r zadd z nx 10 a 3 c]
        assert_equal 1 [r zadd z xx ch 10 a 7 nosuch]
        list [r zscore z a] [r zscore z nosuch] [r zcard z]
    } {10 {} 3}

    test "ZADD GT / LT only move a score one way ($encoding)" {
        r del z
        r zadd z 5 a 5 b
        assert_equal 1 [r zadd z gt ch 3 a 8 b]
        assert_equal 3 [r zadd z lt ch 1 a 2 b 9 c]
        list [r zscore z a] [r zscore z b] [r zscore z c]
    } {1 2 9}

    test "ZADD INCR / ZINCRBY ($encoding)" {
        r del z
        assert_equal 1.5 [r zadd z incr 1.5 a]
        assert_equal 4 [r zincrby z 2.5 a]
        assert_equal {} [r zadd z nx incr 1 a]
        assert_equal {} [r zadd z xx incr 1 b]
        assert_equal {} [r zadd z gt incr -1 a]
        r zscore z a
    } {4}

    test "ZADD option and argument errors ($encoding)" {
        r del z
        r zadd z 1 a
        assert_error {ERR XX and NX options at the same time are not compatible} {r zadd z nx xx 1 a}
        assert_error {ERR GT, LT, and/or NX options at the same time are not compatible} {r zadd z gt lt 1 a}
        assert_error {ERR GT, LT, and/or NX options at the same time are not compatible} {r zadd z nx lt 1 a}
        assert_error {ERR INCR option supports a single increment-element pair} {r zadd z incr 1 a 2 b}
        assert_error {ERR syntax error} {r zadd z 1 a 2}
        assert_error {ERR value is not a valid float} {r zadd z 1 b x c}
        assert_error {ERR value is not a valid float} {r zadd z nan a}
        assert_error {ERR value is not a valid float} {r zincrby z abc a}
        list [r zcard z] [r zscore z a]
    } {1 1}

    test "An increment to NaN is refused ($encoding)" {
        r del z
        r zadd z +inf a
        assert_error {ERR resulting score is not a number (NaN)} {r zincrby z -inf a}
        assert_error {ERR resulting score is not a number (NaN)} {r zadd z incr -inf a}
        r zscore z a
    } {inf}

    test "ZREM, and an emptied sorted set is deleted ($encoding)" {
        r del z
        r zadd z 1 a 2 b 3 c
        assert_equal 2 [r zrem z a nosuch b]
        assert_equal 0 [r zrem nosuch a]
        assert_equal 1 [r zrem z c a]
        r exists z
    } {0}

    test "ZRANK / ZREVRANK / ZMSCORE ($encoding)" {
        r del z
        r zadd z 10 x 20 y 30 z
        list [r zrank z x] [r zrank z z] [r zrevrank z x] [r zrank z nosuch] \
             [r zrank nosuch x] [r zmscore z z nosuch x]
    } {0 2 2 {} {} {30 {} 10}}

    test "ZRANGE / ZREVRANGE by rank ($encoding)" {
        r del z
        r zadd z 1 a 2 b 3 c 4 d
        list [r zrange z 0 -1] [r zrange z 1 2 withscores] [r zrange z -2 100] \
             [r zrange z 3 1] [r zrevrange z 0 1] [r zrange z 0 0 rev withscores]
    } {{a b c d} {b 2 c 3} {c d} {} {d c} {d 4}}

    test "ZRANGEBYSCORE / ZREVRANGEBYSCORE with exclusive bounds and LIMIT ($encoding)" {
        r del z
        r zadd z -inf ninf 1 a 2 b 3 c 4 d +inf pinf
        list [r zrangebyscore z (1 3] [r zrangebyscore z -inf +inf limit 1 2] \
             [r zrevrangebyscore z (4 -inf withscores limit 0 2] \
             [r zrangebyscore z (2 (2] [r zrangebyscore z 1 4 limit -1 5] \
             [r zrangebyscore z 1 4 limit 2 -1]
    } {{b c} {a b} {c 3 b 2} {} {} {c d}}

    test "ZRANGE BYSCORE / BYLEX / REV forms ($encoding)" {
        r del z
        r zadd z 0 alpha 0 bravo 0 charlie 0 delta
        list [r zrange z (alpha + bylex] [r zrange z \[delta \[bravo bylex rev] \
             [r zrange z - + bylex limit 1 2] [r zrange z 0 0 byscore limit 3 10]
    } {{bravo charlie delta} {delta charlie bravo} {bravo charlie} delta}

    test "ZRANGE argument errors ($encoding)" {
        r del z
        r zadd z 1 a
        assert_error {ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX} {r zrange z 0 1 limit 0 1}
        assert_error {ERR syntax error, WITHSCORES not supported in combination with BYLEX} {r zrange z - + bylex withscores}
        assert_error {ERR syntax error} {r zrange z 0 1 bylex byscore}
        assert_error {ERR syntax error} {r zrevrange z 0 1 rev}
        assert_error {ERR min or max is not a float} {r zrangebyscore z a 1}
        assert_error {ERR min or max not valid string range item} {r zrangebylex z a b}
        assert_error {ERR value is not an integer or out of range} {r zrange z 0 x}
    }

    test "ZCOUNT / ZLEXCOUNT ($encoding)" {
        r del z l
        r zadd z 1 a 2 b 3 c
        r zadd l 0 a 0 b 0 c 0 d
        list [r zcount z -inf +inf] [r zcount z (1 3] [r zcount z 4 5] \
             [r zlexcount l - +] [r zlexcount l \[b (d] [r zcount nosuch 0 1]
    } {3 2 0 4 2 0}

    test "ZREMRANGEBYRANK / BYSCORE / BYLEX ($encoding)" {
        r del z l
        r zadd z 1 a 2 b 3 c 4 d 5 e
        assert_equal 2 [r zremrangebyrank z 0 1]
        assert_equal 2 [r zremrangebyscore z (3 5]
        assert_equal {c} [r zrange z 0 -1]
        r zadd l 0 a 0 b 0 c 0 d
        assert_equal 2 [r zremrangebylex l \[b \[c]
        assert_equal 2 [r zremrangebylex l - +]
        list [r exists l] [r zremrangebyrank nosuch 0 -1]
    } {0 0}

    test "ZPOPMIN / ZPOPMAX with and without count ($encoding)" {
        r del z
        r zadd z 1 a 2 b 3 c 4 d
        list [r zpopmin z] [r zpopmax z 2] [r zpopmin z 0] [r zpopmin z 10] \
             [r exists z] [r zpopmax nosuch]
    } {{a 1} {d 4 c 3} {} {b 2} 0 {}}

    test "ZRANGESTORE ($encoding)" {
        r del z dst
        r zadd z 1 a 2 b 3 c
        assert_equal 2 [r zrangestore dst z 1 -1]
        assert_equal {b 2 c 3} [r zrange dst 0 -1 withscores]
        assert_equal 1 [r zrangestore dst z (2 +inf byscore]
        assert_equal 0 [r zrangestore dst nosuch 0 -1]
        r exists dst
    } {0}

    test "ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE with WEIGHTS and AGGREGATE ($encoding)" {
        r del a b dst
        r zadd a 1 x 2 y 3 z
        r zadd b 10 y 20 z 30 w
        assert_equal 4 [r zunionstore dst 2 a b]
        assert_equal {x 1 y 12 z 23 w 30} [r zrange dst 0 -1 withscores]
        assert_equal 2 [r zinterstore dst 2 a b weights 2 0.5 aggregate max]
        assert_equal {y 5 z 10} [r zrange dst 0 -1 withscores]
        assert_equal 1 [r zdiffstore dst 2 a b]
        assert_equal {x 1} [r zrange dst 0 -1 withscores]
        assert_equal 0 [r zinterstore dst 2 a nosuch]
        r exists dst
    } {0}

    test "ZUNION / ZINTER / ZDIFF replies ($encoding)" {
        r del a b
        r zadd a 1 x 2 y
        r zadd b 4 y 8 q
        list [r zunion 2 a b withscores] [r zinter 2 a b aggregate min withscores] \
             [r zdiff 2 a b] [r zdiff 2 a a]
    } {{x 1 y 6 q 8} {y 2} x {}}

    test "Infinite scores: inf + -inf sums to 0 ($encoding)" {
        r del p n
        r zadd p +inf m
        r zadd n -inf m
        list [r zunion 2 p n withscores] [r zinter 2 p n withscores aggregate sum] \
             [r zunion 1 p weights 0 withscores]
    } {{m 0} {m 0} {m 0}}

    test "ZRANDMEMBER ($encoding)" {
        r del z
        r zadd z 1 a 2 b 3 c
        assert_equal {a b c} [lsort [r zrandmember z 10]]
        assert_equal 2 [llength [lsort -unique [r zrandmember z 2]]]
        assert_equal 14 [llength [r zrandmember z -7 withscores]]
        foreach {m s} [r zrandmember z -5 withscores] {
            assert_equal [r zscore z $m] $s
        }
        assert_match {[abc]} [r zrandmember z]
        list [r zrandmember nosuch] [r zrandmember nosuch 3] [r zrandmember z 0]
    } {{} {} {}}

    test "ZSCAN returns every member with its score ($encoding)" {
        r del z
        for {set i 0} {$i < 50} {incr i} { r zadd z $i.5 m$i }
        set cursor 0
        array unset seen
        while 1 {
            lassign [r zscan z $cursor count 5] cursor items
            foreach {m s} $items { set seen($m) $s }
            if {$cursor == 0} break
        }
        list [array size seen] $seen(m7) [lindex [r zscan z 0 match m1 count 1000] 1]
    } {50 7.5 {m1 1.5}}
}

start_server {tags {"zset"}} {
    zset_basics ziplist
    zset_basics skiplist

    r config set zset-max-ziplist-entries 128
    r config set zset-max-ziplist-value 64

    test {A ziplist sorted set converts past zset-max-ziplist-entries} {
        r config set zset-max-ziplist-entries 3
        r del z
        r zadd z 1 a 2 b 3 c
        assert_encoding ziplist z
        r zadd z 3 c
        assert_encoding ziplist z
        r zadd z 4 d
        assert_encoding skiplist z
        r zrem z a b c
        assert_encoding skiplist z
        r config set zset-max-ziplist-entries 128
        r zrange z 0 -1 withscores
    } {d 4}

    test {A ziplist sorted set converts for a member past zset-max-ziplist-value} {
        r del z
        r zadd z 1 a
        r zadd z 2 [string repeat x 64]
        assert_encoding ziplist z
        r zadd z 3 [string repeat x 65]
        assert_encoding skiplist z
        r del z
        r zadd z 1 [string repeat y 65]
        assert_encoding skiplist z
    }

    test {ZUNIONSTORE results go back to a ziplist when they fit} {
        r del big dst
        for {set i 0} {$i < 200} {incr i} { r zadd big $i m$i }
        assert_encoding skiplist big
        r zunionstore dst 1 big
        assert_encoding skiplist dst
        r zremrangebyrank big 10 -1
        assert_encoding skiplist big
        r zunionstore dst 1 big
        assert_encoding ziplist dst
        r zrange dst 0 2
    } {m0 m1 m2}

    test {Both encodings give the same DEBUG DIGEST-VALUE} {
        r del zl sl
        r zadd zl 1.5 a 3 b -2.25 c +inf d
        r zadd sl 1.5 a 3 b -2.25 c +inf d 0 [string repeat z 100]
        r zrem sl [string repeat z 100]
        assert_encoding ziplist zl
        assert_encoding skiplist sl
        assert_equal [r debug digest-value zl] [r debug digest-value sl]
    }

    test {Scores are replied as %.17g} {
        r del z
        r zadd z 1.1 a 0.1 b 1e20 c -0 d
        list [r zscore z a] [r zscore z b] [r zscore z c] [r zscore z d]
    } {1.1000000000000001 0.10000000000000001 1e+20 -0}

    test {Sets are valid inputs of set operations with score 1} {
        r del z s
        r zadd z 5 a 7 b
        r set str x
        assert_error {WRONGTYPE*} {r zunion 2 z str}
        assert_error {WRONGTYPE*} {r zadd str 1 a}
        assert_error {WRONGTYPE*} {r zrange str 0 -1}
        assert_error {ERR at least 1 input key is needed for zunionstore} {r zunionstore d 0 z}
        assert_error {ERR at least 1 input key is needed for zinter} {r zinter 0 z}
        assert_error {ERR syntax error} {r zunion 3 z}
        assert_error {ERR weight value is not a float} {r zunion 1 z weights x}
        assert_error {ERR syntax error} {r zdiff 1 z weights 1}
    }

    test {BZPOPMIN / BZPOPMAX pop at once when a set exists} {
        r del z
        r zadd z 1 a 2 b
        list [r bzpopmin nosuch z 0] [r bzpopmax z 0] [r exists z]
    } {{z a 1} {z b 2} 0}

    test {BZPOPMIN blocks until a sorted set is created} {
        r del q
        set rd [redis_deferring_client]
        $rd bzpopmin q 0
        wait_for_condition 100 20 {[s blocked_clients] == 1} else {fail "not blocked"}
        r zadd q 3 c 1 a
        set res [$rd read]
        $rd close
        list $res [r zrange q 0 -1]
    } {{q a 1} c}

    test {BZPOPMAX serves waiters in blocking order} {
        r del q
        set rd1 [redis_deferring_client]
        set rd2 [redis_deferring_client]
        $rd1 bzpopmax q 0
        wait_for_condition 100 20 {[s blocked_clients] == 1} else {fail "not blocked"}
        $rd2 bzpopmax q 0
        wait_for_condition 100 20 {[s blocked_clients] == 2} else {fail "not blocked"}
        r zadd q 1 a 2 b
        set res [list [$rd1 read] [$rd2 read]]
        $rd1 close
        $rd2 close
        set res
    } {{q b 2} {q a 1}}

    test {BZPOPMIN times out with a nil reply, and validates its timeout} {
        set rd [redis_deferring_client]
        $rd bzpopmin nosuch 0.05
        set res [$rd read]
        $rd close
        assert_error {ERR timeout is not a float or out of range} {r bzpopmin nosuch x}
        assert_error {ERR timeout is negative} {r bzpopmin nosuch -1}
        set res
    } {}

    test {ZSCAN errors and missing keys} {
        r del z
        r zadd z 1 a
        assert_error {ERR invalid cursor} {r zscan z x}
        assert_error {ERR syntax error} {r zscan z 0 count 0}
        r zscan nosuch 0
    } {0 {}}
}
