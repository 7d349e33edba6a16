# Keyspace notifications (notify-keyspace-events): channel names, the
# K/E channel kinds, event classes, and the events of each command family,
# with Redis 6.2's event names.

# A deferring client subscribed to every keyspace and keyevent channel.
proc ke_subscriber {} {
    set s [redis_deferring_client]
    $s psubscribe __key*__:*
    $s read
    return $s
}

# Reads n notifications as "channel payload" pairs.
proc ke_read {s n} {
    set out {}
    for {set i 0} {$i < $n} {incr i} {
        set m [$s read]
        lappend out [list [lindex $m 2] [lindex $m 3]]
    }
    return $out
}

# Runs body, publishes a marker, and returns every notification before it.
proc ke_events {s body} {
    uplevel 1 $body
    r publish __key__:marker end
    set out {}
    while 1 {
        set m [$s read]
        if {[lindex $m 2] eq {__key__:marker}} break
        lappend out [list [lindex $m 2] [lindex $m 3]]
    }
    return $out
}

start_server {tags {"pubsub keyspace-events"}} {

    test {Keyspace notifications are off by default} {
        set s [ke_subscriber]
        set ev [ke_events $s {r set foo bar; r del foo}]
        $s close
        list [lindex [r config get notify-keyspace-events] 1] $ev
    } {{} {}}

    test {Keyspace notifications: K publishes the event on the key's channel} {
        r config set notify-keyspace-events KA
        set s [ke_subscriber]
        set ev [ke_events $s {r set foo bar}]
        $s close
        set ev
    } {{__keyspace@0__:foo set}}

    test {Keyspace notifications: E publishes the key on the event's channel} {
        r config set notify-keyspace-events EA
        set s [ke_subscriber]
        set ev [ke_events $s {r lpush mylist a}]
        $s close
        set ev
    } {{__keyevent@0__:lpush mylist}}

    test {Keyspace notifications: KE publishes both, keyspace first} {
        r config set notify-keyspace-events KEA
        set s [ke_subscriber]
        set ev [ke_events $s {r select 9; r set k v; r select 0}]
        $s close
        set ev
    } {{__keyspace@9__:k set} {__keyevent@9__:set k}}

    test {Keyspace notifications: only the enabled classes} {
        r config set notify-keyspace-events El
        set s [ke_subscriber]
        set ev [ke_events $s {
            r set s 1
            r sadd st a
            r rpush l a
            r del s st l
        }]
        $s close
        set ev
    } {{__keyevent@0__:rpush l}}

    test {Keyspace notifications: generic commands} {
        r config set notify-keyspace-events Eg
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r set a 1
            r expire a 100
            r persist a
            r rename a b
            r move b 1
            r select 1
            r copy b c
            r del b c
            r select 0
            r set x 1
            r expire x -1
        }]
        $s close
        set ev
    } {{__keyevent@0__:expire a} {__keyevent@0__:persist a} {__keyevent@0__:rename_from a} {__keyevent@0__:rename_to b} {__keyevent@0__:move_from b} {__keyevent@1__:move_to b} {__keyevent@1__:copy_to c} {__keyevent@1__:del b} {__keyevent@1__:del c} {__keyevent@0__:del x}}

    test {Keyspace notifications: string commands} {
        r config set notify-keyspace-events E$
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r set s v
            r setnx s v
            r append s x
            r setrange s 1 y
            r incr n
            r incrbyfloat n 1.5
            r mset a 1 b 2
            r getset a 3
            r setbit bits 3 1
            r bitop or dest bits bits
        }]
        $s close
        set ev
    } {{__keyevent@0__:set s} {__keyevent@0__:append s} {__keyevent@0__:setrange s} {__keyevent@0__:incrby n} {__keyevent@0__:incrbyfloat n} {__keyevent@0__:set a} {__keyevent@0__:set b} {__keyevent@0__:set a} {__keyevent@0__:setbit bits} {__keyevent@0__:set dest}}

    test {Keyspace notifications: SET with an expire, GETEX, GETDEL} {
        r config set notify-keyspace-events KEA
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r set k v ex 100
            r getex k persist
            r getex k px 100000
            r getdel k
        }]
        $s close
        set ev
    } {{__keyspace@0__:k set} {__keyevent@0__:set k} {__keyspace@0__:k expire} {__keyevent@0__:expire k} {__keyspace@0__:k persist} {__keyevent@0__:persist k} {__keyspace@0__:k expire} {__keyevent@0__:expire k} {__keyspace@0__:k del} {__keyevent@0__:del k}}

    test {Keyspace notifications: list commands, and del when a list empties} {
        r config set notify-keyspace-events El
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r lpush l a b
            r rpush l c
            r linsert l before a z
            r lset l 0 q
            r ltrim l 0 2
            r lrem l 0 z
            r rpoplpush l l2
            r lpop l 5
        }]
        $s close
        set ev
    } {{__keyevent@0__:lpush l} {__keyevent@0__:rpush l} {__keyevent@0__:linsert l} {__keyevent@0__:lset l} {__keyevent@0__:ltrim l} {__keyevent@0__:lrem l} {__keyevent@0__:lpush l2} {__keyevent@0__:rpop l} {__keyevent@0__:lpop l}}

    test {Keyspace notifications: del (class g) when a structure empties} {
        r config set notify-keyspace-events Egl
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r rpush l a
            r rpop l
        }]
        $s close
        set ev
    } {{__keyevent@0__:rpush l} {__keyevent@0__:rpop l} {__keyevent@0__:del l}}

    test {Keyspace notifications: set commands} {
        r config set notify-keyspace-events Es
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r sadd a 1 2 3
            r sadd a 1
            r srem a 3
            r smove a b 2
            r spop a
            r sadd c 5
            r sinterstore d b c
            r sunionstore d b c
            r sdiffstore d b c
        }]
        $s close
        set ev
    } {{__keyevent@0__:sadd a} {__keyevent@0__:srem a} {__keyevent@0__:srem a} {__keyevent@0__:sadd b} {__keyevent@0__:spop a} {__keyevent@0__:sadd c} {__keyevent@0__:sunionstore d} {__keyevent@0__:sdiffstore d}}

    test {Keyspace notifications: hash commands} {
        r config set notify-keyspace-events Eh
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r hset h a 1
            r hsetnx h a 2
            r hsetnx h b 2
            r hincrby h a 1
            r hincrbyfloat h a 0.5
            r hdel h a nosuch
        }]
        $s close
        set ev
    } {{__keyevent@0__:hset h} {__keyevent@0__:hset h} {__keyevent@0__:hincrby h} {__keyevent@0__:hincrbyfloat h} {__keyevent@0__:hdel h}}

    test {Keyspace notifications: sorted set commands} {
        r config set notify-keyspace-events Ez
        r flushall
        set s [ke_subscriber]
        set ev [ke_events $s {
            r zadd z 1 a 2 b 3 c 4 d
            r zadd z 1 a
            r zincrby z 1 a
            r zrem z a
            r zremrangebyscore z 2 2
            r zremrangebyrank z 0 0
            r zadd z2 1 x
            r zunionstore u 2 z z2
            r zinterstore i 2 z z2
            r zrangestore r z 0 -1
            r zpopmin z
        }]
        $s close
        set ev
    } {{__keyevent@0__:zadd z} {__keyevent@0__:zincr z} {__keyevent@0__:zrem z} {__keyevent@0__:zremrangebyscore z} {__keyevent@0__:zremrangebyrank z} {__keyevent@0__:zadd z2} {__keyevent@0__:zunionstore u} {__keyevent@0__:zrangestore r} {__keyevent@0__:zpopmin z}}

    test {Keyspace notifications: expired keys (lazy and active)} {
        r config set notify-keyspace-events Ex
        r flushall
        set s [ke_subscriber]
        r debug set-active-expire 0
        r set lazy v px 1
        after 20
        r get lazy
        set lazyev [ke_read $s 1]
        r debug set-active-expire 1
        r set active v px 1
        set activeev [ke_read $s 1]
        $s close
        list $lazyev $activeev
    } {{{__keyevent@0__:expired lazy}} {{__keyevent@0__:expired active}}}

    test {Keyspace notifications: key misses need the m class} {
        r config set notify-keyspace-events KEA
        set s [ke_subscriber]
        set ev1 [ke_events $s {r get nosuchkey}]
        r config set notify-keyspace-events Km
        set ev2 [ke_events $s {r get nosuchkey; r set nosuchkey v; r get nosuchkey}]
        $s close
        list $ev1 $ev2
    } {{} {{__keyspace@0__:nosuchkey keymiss}}}

    test {Keyspace notifications: a blocked client served by a push} {
        r config set notify-keyspace-events El
        r flushall
        set s [ke_subscriber]
        set b [redis_deferring_client]
        $b blpop blist 0
        wait_for_condition 50 20 {[s blocked_clients] == 1} else {fail "client not blocked"}
        set ev [ke_events $s {r rpush blist x}]
        set reply [$b read]
        $b close
        $s close
        list $reply $ev
    } {{blist x} {{__keyevent@0__:rpush blist} {__keyevent@0__:lpop blist}}}

    test {notify-keyspace-events flags as CONFIG GET shows them} {
        set out {}
        foreach f {KEA g$K Ex AKEm Kd} {
            r config set notify-keyspace-events $f
            lappend out [lindex [r config get notify-keyspace-events] 1]
        }
        catch {r config set notify-keyspace-events KEn} err
        lappend out [string match {*ERR*} $err]
        r config set notify-keyspace-events ""
        set out
    } {AKE {g$K} xE AKEm dK 1}
}
