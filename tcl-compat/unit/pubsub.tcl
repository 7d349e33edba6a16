# Pub/Sub: SUBSCRIBE/UNSUBSCRIBE/PSUBSCRIBE/PUNSUBSCRIBE/PUBLISH/PUBSUB,
# the subscribed state of a RESP2 client, and keyspace-independent delivery.

# Helpers: a deferring client subscribes and returns the confirmations.
proc ps_subscribe {client kind names} {
    $client $kind {*}$names
    set out {}
    foreach n $names {lappend out [$client read]}
    return $out
}

proc ps_read_n {client n} {
    set out {}
    for {set i 0} {$i < $n} {incr i} {lappend out [$client read]}
    return $out
}

start_server {tags {"pubsub"}} {

    test {SUBSCRIBE confirms each channel with the subscription count} {
        set s [redis_deferring_client]
        set got [ps_subscribe $s subscribe {ch1 ch2 ch1}]
        $s close
        set got
    } {{subscribe ch1 1} {subscribe ch2 2} {subscribe ch1 2}}

    test {PUBLISH returns the number of receivers and delivers messages} {
        set s1 [redis_deferring_client]
        set s2 [redis_deferring_client]
        ps_subscribe $s1 subscribe {chan}
        ps_subscribe $s2 subscribe {chan other}
        set n1 [r publish chan hello]
        set n2 [r publish other world]
        set n3 [r publish nobody x]
        set m [list [$s1 read] [$s2 read] [$s2 read]]
        $s1 close
        $s2 close
        list $n1 $n2 $n3 $m
    } {2 1 0 {{message chan hello} {message chan hello} {message other world}}}

    test {UNSUBSCRIBE from some channels, then from all} {
        set s [redis_deferring_client]
        ps_subscribe $s subscribe {a b c}
        $s unsubscribe b nosuch
        set part [ps_read_n $s 2]
        $s unsubscribe
        # In no promised order; the counts go down one by one.
        set rest [ps_read_n $s 2]
        set names [lsort [list [lindex $rest 0 1] [lindex $rest 1 1]]]
        set counts [list [lindex $rest 0 2] [lindex $rest 1 2]]
        assert_equal 0 [r publish a x]
        $s close
        list $part $names $counts
    } {{{unsubscribe b 2} {unsubscribe nosuch 2}} {a c} {1 0}}

    test {UNSUBSCRIBE and PUNSUBSCRIBE with no subscriptions at all} {
        set s [redis_deferring_client]
        $s unsubscribe
        $s punsubscribe
        set got [ps_read_n $s 2]
        $s close
        set got
    } {{unsubscribe {} 0} {punsubscribe {} 0}}

    test {PSUBSCRIBE delivers pmessage with the pattern} {
        set s [redis_deferring_client]
        ps_subscribe $s psubscribe {foo.* bar.?}
        set n [list [r publish foo.one 1] [r publish bar.x 2] [r publish bar.xx 3] [r publish foo 4]]
        set m [ps_read_n $s 2]
        $s close
        list $n $m
    } {{1 1 0 0} {{pmessage foo.* foo.one 1} {pmessage bar.? bar.x 2}}}

    test {A channel and a matching pattern deliver twice, message first} {
        set s [redis_deferring_client]
        ps_subscribe $s subscribe {news}
        ps_subscribe $s psubscribe {n*}
        set n [r publish news hi]
        set m [ps_read_n $s 2]
        $s close
        list $n $m
    } {2 {{message news hi} {pmessage n* news hi}}}

    test {PUNSUBSCRIBE from some patterns, then from all} {
        set s [redis_deferring_client]
        ps_subscribe $s psubscribe {p1* p2* p3*}
        $s punsubscribe p2* nosuch*
        set part [ps_read_n $s 2]
        $s punsubscribe
        set rest [ps_read_n $s 2]
        $s close
        list $part $rest
    } {{{punsubscribe p2* 2} {punsubscribe nosuch* 2}} {{punsubscribe p1* 1} {punsubscribe p3* 0}}}

    test {Subscription count covers channels and patterns} {
        set s [redis_deferring_client]
        set a [ps_subscribe $s subscribe {c1 c2}]
        set b [ps_subscribe $s psubscribe {p*}]
        $s unsubscribe c1
        set c [$s read]
        $s close
        list $a $b $c
    } {{{subscribe c1 1} {subscribe c2 2}} {{psubscribe p* 3}} {unsubscribe c1 2}}

    test {Only the Pub/Sub commands, PING, QUIT and RESET run in subscribed state} {
        set s [redis_client]
        $s subscribe ch
        catch {$s get foo} err
        set ping1 [$s ping]
        set ping2 [$s ping hello]
        set reset [$s reset]
        set after [$s ping]
        $s close
        list $err $ping1 $ping2 $reset $after
    } {{ERR Can't execute 'get': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context} {pong {}} {pong hello} RESET PONG}

    test {Leaving the last subscription leaves the subscribed state} {
        set s [redis_client]
        $s psubscribe x*
        $s punsubscribe x*
        set v [$s set k v]
        $s close
        set v
    } {OK}

    test {QUIT in subscribed state} {
        set s [redis_client]
        $s subscribe ch
        set ok [$s quit]
        list $ok [r pubsub numsub ch]
    } {OK {ch 0}}

    test {PUBSUB CHANNELS, NUMSUB and NUMPAT} {
        set s1 [redis_deferring_client]
        set s2 [redis_deferring_client]
        ps_subscribe $s1 subscribe {alpha beta}
        ps_subscribe $s2 subscribe {alpha}
        ps_subscribe $s1 psubscribe {a* b*}
        ps_subscribe $s2 psubscribe {a*}
        set all [lsort [r pubsub channels]]
        set some [r pubsub channels b*]
        set numsub [r pubsub numsub alpha beta gamma]
        set numpat [r pubsub numpat]
        set none [r pubsub numsub]
        $s1 close
        $s2 close
        list $all $some $numsub $numpat $none
    } {{alpha beta} beta {alpha 2 beta 1 gamma 0} 2 {}}

    test {PUBSUB errors} {
        assert_error {ERR Unknown subcommand or wrong number of arguments for 'foo'. Try PUBSUB HELP.} {r pubsub foo}
        assert_error {ERR Unknown subcommand or wrong number of arguments for 'numpat'. Try PUBSUB HELP.} {r pubsub numpat x}
        assert_error {ERR wrong number of arguments for 'pubsub' command} {r pubsub}
        assert_error {ERR wrong number of arguments for 'publish' command} {r publish ch}
        assert_match {*NUMSUB*} [r pubsub help]
    }

    test {A closed subscriber gives its subscriptions up} {
        set s [redis_deferring_client]
        ps_subscribe $s subscribe {gone}
        ps_subscribe $s psubscribe {gone*}
        assert_equal 2 [r publish gone x]
        $s close
        wait_for_condition 50 20 {
            [r pubsub numpat] == 0 && [r pubsub numsub gone] eq {gone 0}
        } else {
            fail "subscriptions of a closed client stayed"
        }
        r publish gone x
    } {0}

    test {INFO stats and CLIENT LIST show subscriptions} {
        set s [redis_deferring_client]
        ps_subscribe $s subscribe {i1 i2}
        ps_subscribe $s psubscribe {p*}
        set chans [s pubsub_channels]
        set pats [s pubsub_patterns]
        set line [lsearch -inline [split [r client list] "\n"] {*flags=P*}]
        $s close
        list $chans $pats [regexp { sub=2 psub=1 } $line]
    } {2 1 1}

    test {Messages to a slow subscriber all arrive, in order} {
        set s [redis_deferring_client]
        ps_subscribe $s subscribe {slow}
        # Pipelined, so the subscriber's socket fills up and the rest waits
        # in its reply list.
        set p [redis_deferring_client]
        set payload [string repeat x 10000]
        for {set i 0} {$i < 500} {incr i} {
            $p publish slow "$i $payload"
        }
        for {set i 0} {$i < 500} {incr i} {
            assert_equal 1 [$p read]
        }
        $p close
        set ok 1
        for {set i 0} {$i < 500} {incr i} {
            set m [$s read]
            if {[lindex [split [lindex $m 2]] 0] != $i} {set ok 0}
        }
        $s close
        set ok
    } {1}
}

start_server {tags {"pubsub aof"} overrides {appendonly yes}} {
    test {PUBLISH is not written to the AOF} {
        r set before 1
        r publish somechannel somepayload
        r set after 1
        set aof [read_file_text [file join [srv dir] appendonly.aof]]
        list [string match *somepayload* $aof] [string match *after* $aof]
    } {0 1}
}
