# Lazy freeing: UNLINK, FLUSHALL/FLUSHDB ASYNC and the lazyfree-lazy-*
# options give big values (free effort above 64 allocations) and whole
# databases to a background thread. INFO memory's lazyfree_pending_objects
# and lazyfreed_objects count what went through it (lazyfreed_objects is
# never reset in 6.2, so the tests look at its growth).

start_server {tags {"lazyfree"}} {

    proc wait_lazyfree_done {} {
        wait_for_condition 500 10 {[s lazyfree_pending_objects] == 0} else {
            fail "lazyfree_pending_objects did not go back to 0"
        }
    }

    # Runs `script` and returns how many objects the lazyfree thread freed.
    proc freed_by_thread {script} {
        set before [s lazyfreed_objects]
        uplevel 1 $script
        wait_lazyfree_done
        expr {[s lazyfreed_objects] - $before}
    }

    # 0 1 ... n-1
    proc numbers {n} {
        set l {}
        for {set i 0} {$i < $n} {incr i} {lappend l $i}
        return $l
    }

    # A hashtable-encoded set of `n` members.
    proc fill_set {key n} {
        for {set i 0} {$i < $n} {incr i 5000} {
            set members {}
            for {set j $i} {$j < $i + 5000 && $j < $n} {incr j} {lappend members "member:$j"}
            r sadd $key {*}$members
        }
    }

    test {UNLINK gives the memory of a big set back, in the background} {
        fill_set bigset 300000
        assert_equal 300000 [r scard bigset]
        set peak [s used_memory]
        set freed [freed_by_thread {
            set start [clock milliseconds]
            assert_equal 1 [r unlink bigset]
            set took [expr {[clock milliseconds] - $start}]
            assert_equal 0 [r exists bigset]
        }]
        assert_equal 1 $freed
        assert_lessthan $took 200
        assert_lessthan [s used_memory] [expr {$peak / 2}]
    }

    test {UNLINK frees small values at once, big ones in the background} {
        fill_set s64 64
        fill_set s65 65
        set small [freed_by_thread {r unlink s64}]
        set big [freed_by_thread {r unlink s65}]
        r sadd ints {*}[numbers 300]
        set intset [freed_by_thread {r unlink ints}]
        list $small $big $intset
    } {0 1 0}

    test {Lists, sorted sets and hashes count their nodes and entries} {
        r config set list-max-ziplist-size 1
        r rpush l {*}[numbers 100]
        r config set list-max-ziplist-size -2
        for {set i 0} {$i < 200} {incr i} {r zadd z $i m$i}
        for {set i 0} {$i < 600} {incr i} {r hset h f$i v}
        assert_encoding skiplist z
        assert_encoding hashtable h
        freed_by_thread {r unlink l z h}
    } {3}

    test {FLUSHALL ASYNC empties every database at once} {
        r debug populate 100000
        r select 9
        r debug populate 500
        set freed [freed_by_thread {
            assert_equal OK [r flushall async]
            assert_equal 0 [r dbsize]
            r select 0
            assert_equal 0 [r dbsize]
        }]
        set freed
    } {100500}

    test {FLUSHDB ASYNC empties the selected database only} {
        r mset a 1 b 2 c 3
        r select 9
        r mset x 1
        set freed [freed_by_thread {r flushdb async}]
        assert_equal 0 [r dbsize]
        r select 0
        list $freed [r dbsize]
    } {1 3}

    test {FLUSHALL SYNC and plain FLUSHALL free in the command} {
        r mset a 1 b 2
        set sync [freed_by_thread {r flushall sync}]
        r mset a 1 b 2
        set plain [freed_by_thread {r flushall}]
        assert_error {ERR syntax error} {r flushall now}
        list $sync $plain
    } {0 0}

    test {lazyfree-lazy-user-flush makes FLUSHALL and FLUSHDB asynchronous} {
        r config set lazyfree-lazy-user-flush yes
        r mset a 1 b 2
        set all [freed_by_thread {r flushall}]
        r mset a 1 b 2 c 3
        set db [freed_by_thread {r flushdb}]
        r config set lazyfree-lazy-user-flush no
        list $all $db
    } {2 3}

    test {lazyfree-lazy-user-del makes DEL behave as UNLINK} {
        fill_set s 100
        set off [freed_by_thread {r del s}]
        r config set lazyfree-lazy-user-del yes
        fill_set s 100
        set on [freed_by_thread {r del s}]
        r config set lazyfree-lazy-user-del no
        list $off $on
    } {0 1}

    test {lazyfree-lazy-server-del: overwrites and implicit deletions} {
        fill_set s 100
        set off [freed_by_thread {r set s plain}]
        r config set lazyfree-lazy-server-del yes
        fill_set s2 100
        set overwrite [freed_by_thread {r set s2 plain}]
        fill_set s3 100
        set rename [freed_by_thread {r rename s s3}]
        fill_set s4 100
        fill_set s5 100
        set store [freed_by_thread {r sunionstore s4 s5}]
        r config set lazyfree-lazy-server-del no
        list $off $overwrite $rename $store [r get s3]
    } {0 1 1 1 plain}

    test {lazyfree-lazy-expire frees expired big values in the background} {
        r debug set-active-expire 0
        fill_set e 100
        r pexpire e 1
        after 5
        set off [freed_by_thread {assert_equal 0 [r exists e]}]
        r config set lazyfree-lazy-expire yes
        fill_set e 100
        r pexpire e 1
        after 5
        set on [freed_by_thread {assert_equal 0 [r exists e]}]
        r config set lazyfree-lazy-expire no
        r debug set-active-expire 1
        list $off $on
    } {0 1}

    test {The lazyfree options default to no} {
        set v {}
        foreach o {lazyfree-lazy-eviction lazyfree-lazy-expire lazyfree-lazy-server-del
                   lazyfree-lazy-user-del lazyfree-lazy-user-flush replica-lazy-flush} {
            lappend v [lindex [r config get $o] 1]
        }
        set v
    } {no no no no no no}
}
