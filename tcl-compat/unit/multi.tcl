# Transactions: MULTI/EXEC/DISCARD, errors while queueing and while
# running, WATCH and everything that touches a watched key (writes of other
# clients and of the watcher itself, expiry, FLUSHDB/FLUSHALL, SWAPDB),
# UNWATCH, blocking commands and MONITOR inside EXEC, CLIENT LIST, CLIENT
# PAUSE WRITE, INFO commandstats, and the AOF of a transaction.
#
# Expected values are Redis 6.2's. Against Redis 7.0 (`--server
# redis-server`) the unknown-command text and the AOF tests fail on
# purpose: 7.0 quotes with ' and keeps the AOF in appendonlydir/, leaves a
# transaction of one write unwrapped and writes EXEC in capitals.

# The `field=` value of client `id` in CLIENT LIST.
proc client_list_field {id field} {
    set line [r client list id $id]
    if {![regexp " $field=(\[^ \]*)" $line -> v]} {
        error "no $field in $line"
    }
    return $v
}

# The commands in an AOF file, each a list.
proc aof_commands {path} {
    set fd [open $path rb]
    set data [read $fd]
    close $fd
    set cmds {}
    set i 0
    set n [string length $data]
    while {$i < $n} {
        set e [string first "\r\n" $data $i]
        set argc [string range $data [expr {$i + 1}] [expr {$e - 1}]]
        set i [expr {$e + 2}]
        set cmd {}
        for {set j 0} {$j < $argc} {incr j} {
            set e [string first "\r\n" $data $i]
            set len [string range $data [expr {$i + 1}] [expr {$e - 1}]]
            set i [expr {$e + 2}]
            lappend cmd [string range $data $i [expr {$i + $len - 1}]]
            set i [expr {$i + $len + 2}]
        }
        lappend cmds $cmd
    }
    return $cmds
}

start_server {tags {"multi"}} {

    test {MULTI and EXEC run the queued commands in order} {
        r del mylist
        set q {}
        lappend q [r multi]
        lappend q [r rpush mylist a]
        lappend q [r rpush mylist b]
        lappend q [r lrange mylist 0 -1]
        list $q [r exec]
    } {{OK QUEUED QUEUED QUEUED} {1 2 {a b}}}

    test {Nothing runs before EXEC} {
        r del k
        r multi
        r set k v
        set other [redis_client]
        set seen [$other exists k]
        $other close
        r exec
        list $seen [r get k]
    } {0 v}

    test {DISCARD drops the queue} {
        r set k old
        r multi
        r set k new
        r incr counter
        list [r discard] [r get k]
    } {OK old}

    test {EXEC and DISCARD without MULTI} {
        assert_error {ERR EXEC without MULTI} {r exec}
        assert_error {ERR DISCARD without MULTI} {r discard}
    }

    test {MULTI can not be nested, and the transaction survives the error} {
        r del k
        r multi
        assert_error {ERR MULTI calls can not be nested} {r multi}
        r set k 1
        list [r exec] [r get k]
    } {OK 1}

    test {WATCH inside MULTI is an error that does not doom the transaction} {
        r multi
        assert_error {ERR WATCH inside MULTI is not allowed} {r watch k}
        r ping
        r exec
    } {PONG}

    test {An unknown command while queueing dooms the transaction} {
        r del k
        r multi
        r set k 1
        catch {r nosuchcmd x} err
        # Still answered QUEUED, but it will not run.
        assert_equal QUEUED [r set k 2]
        assert_error {EXECABORT Transaction discarded because of previous errors.} {r exec}
        assert_equal 0 [r exists k]
        set err
    } {ERR unknown command `nosuchcmd`, with args beginning with: `x`, }

    test {A wrong number of arguments while queueing dooms the transaction} {
        r multi
        r set k 1
        assert_error {ERR wrong number of arguments for 'get' command} {r get}
        assert_error {EXECABORT*previous errors*} {r exec}
        r exists k
    } {0}

    test {EXEC with arguments discards the transaction with the reason} {
        r multi
        r set k 1
        assert_error {EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command} {r exec extra}
        assert_error {ERR EXEC without MULTI} {r exec}
        r exists k
    } {0}

    test {Errors at run time are replies inside the EXEC array} {
        r del s
        r set s text
        r multi
        r incr s
        r set after 1
        r lpush s x
        set res [r exec]
        list [lindex $res 0] [lindex $res 1] [string range [lindex $res 2] 0 8] [r get after]
    } {{ERR value is not an integer or out of range} OK WRONGTYPE 1}

    test {An empty transaction answers an empty array} {
        r multi
        r exec
    } {}

    test {SELECT inside MULTI moves the client for good} {
        r select 9
        r del indb9
        r select 0
        r multi
        r select 9
        r set indb9 v
        r exec
        set v [r get indb9]
        r select 0
        list $v [r exists indb9]
    } {v 0}

    test {QUIT and RESET are not queued} {
        r multi
        r set k queued-then-reset
        assert_equal RESET [r reset]
        assert_error {ERR EXEC without MULTI} {r exec}
        set c [redis_client]
        $c multi
        $c set k queued-then-quit
        assert_equal OK [$c quit]
        $c close
        r exists k
    } {0}

    test {WATCH: a change by another client makes EXEC answer a null array} {
        r set w 1
        r watch w
        set other [redis_client]
        $other set w 2
        $other close
        r multi
        r set w 3
        assert_equal {} [r exec]
        r get w
    } {2}

    test {The null array is *-1, an empty transaction *0} {
        r set w 1
        set c [redis_client]
        $c watch w
        r set w 2
        $c multi
        $c readraw 1
        set aborted [$c exec]
        $c readraw 0
        $c multi
        $c readraw 1
        set empty [$c exec]
        $c close
        list $aborted $empty
    } {*-1 *0}

    test {WATCH: without changes EXEC runs} {
        r set w 1
        r watch w
        r get w
        r set unrelated 1
        r multi
        r incr w
        r exec
    } {2}

    test {WATCH a missing key that someone then creates} {
        r del w
        r watch w
        set other [redis_client]
        $other set w 1
        $other close
        r multi
        r ping
        r exec
    } {}

    test {WATCH: the watcher's own write counts} {
        r watch w
        r set w mine
        r multi
        r ping
        r exec
    } {}

    test {EXEC unwatches: the next transaction runs} {
        r watch w
        r set w x
        r multi
        assert_equal {} [r exec]
        r set w y
        r multi
        r ping
        r exec
    } {PONG}

    test {UNWATCH forgets the keys and the change already seen} {
        r watch w
        r set w changed
        r unwatch
        r multi
        r ping
        r exec
    } {PONG}

    test {DISCARD unwatches too} {
        r watch w
        r multi
        r discard
        r set w again
        r multi
        r ping
        r exec
    } {PONG}

    test {WATCH is per database} {
        r watch w
        set other [redis_client]
        $other select 5
        $other set w in5
        $other close
        r multi
        r ping
        set res [r exec]
        r select 5
        r watch w
        r select 0
        set other [redis_client]
        $other select 5
        $other set w again
        $other close
        r multi
        r ping
        list $res [r exec]
    } {PONG {}}

    test {Every watcher of a key is told, and a closed watcher is forgotten} {
        r set shared 0
        set clients {}
        for {set i 0} {$i < 4} {incr i} {
            set c [redis_client]
            $c watch shared
            lappend clients $c
        }
        [lindex $clients 1] close
        set clients [lreplace $clients 1 1]
        r set shared 1
        set res {}
        foreach c $clients {
            $c multi
            $c ping
            lappend res [$c exec]
            $c close
        }
        set res
    } {{} {} {}}

    test {FLUSHDB touches a watched key only if it existed} {
        r flushall
        r watch missing
        r flushdb
        r multi
        r ping
        set a [r exec]
        r set present 1
        r watch present
        r flushdb
        r multi
        r ping
        list $a [r exec]
    } {PONG {}}

    test {FLUSHALL reaches watched keys of other databases} {
        r select 7
        r set k7 v
        r watch k7
        r select 0
        set other [redis_client]
        $other flushall
        $other close
        r multi
        r ping
        r exec
    } {}

    test {SWAPDB touches keys that exist in either database} {
        r flushall
        r select 1
        r set onlyin1 v
        r select 0
        r watch onlyin1
        r swapdb 0 1
        r multi
        r ping
        set a [r exec]
        r watch inneither
        r swapdb 0 1
        r multi
        r ping
        set b [r exec]
        r set mine v
        r watch mine
        r swapdb 2 3
        r multi
        r ping
        list $a $b [r exec]
    } {{} PONG PONG}

    test {A watched key that expires fails EXEC} {
        r flushall
        r debug set-active-expire 0
        r set e v px 50
        r watch e
        after 120
        r multi
        r ping
        set a [r exec]
        r debug set-active-expire 1
        r set e v px 50
        r watch e
        wait_for_condition 100 20 {[r dbsize] == 0} else {
            fail "key did not expire"
        }
        r multi
        r ping
        list $a [r exec]
    } {{} {}}

    test {A key already expired when watched is no change} {
        r debug set-active-expire 0
        r set gone v px 5
        after 30
        r watch gone
        # Another client's read deletes it: still no change.
        set other [redis_client]
        $other get gone
        $other close
        r multi
        r ping
        set res [r exec]
        r debug set-active-expire 1
        set res
    } {PONG}

    test {Keys do not expire while EXEC runs} {
        r debug set-active-expire 0
        r set k v px 100
        r multi
        r get k
        r debug sleep 0.2
        r get k
        set res [r exec]
        r debug set-active-expire 1
        list $res [r get k]
    } {{v OK v} {}}

    test {Blocking commands inside EXEC answer at once} {
        r del empty l
        r multi
        r blpop empty 0
        r brpoplpush empty dst 0
        r bzpopmin emptyz 0
        r rpush l a
        r blpop l 0
        r exec
    } {{} {} {} 1 {l a}}

    test {MONITOR inside EXEC is refused} {
        r multi
        r monitor
        r ping
        r exec
    } {{ERR MONITOR isn't allowed for DENY BLOCKING client} PONG}

    test {CLIENT LIST shows flags=x and multi=<queued commands>} {
        set c [redis_client]
        set before [list [client_list_field [$c client id] flags] [client_list_field [$c client id] multi]]
        set cid [$c client id]
        $c multi
        $c set a 1
        $c get a
        set during [list [client_list_field $cid flags] [client_list_field $cid multi]]
        $c exec
        set after [list [client_list_field $cid flags] [client_list_field $cid multi]]
        $c close
        list $before $during $after
    } {{N -1} {x 2} {N -1}}

    test {CLIENT LIST shows flags=d once a watched key changed} {
        set c [redis_client]
        set cid [$c client id]
        $c watch dk
        r set dk 1
        set f [client_list_field $cid flags]
        $c unwatch
        set g [client_list_field $cid flags]
        $c close
        list $f $g
    } {d N}

    test {INFO commandstats counts EXEC and the commands it ran} {
        r config resetstat
        r multi
        r set a 1
        r lpush a x
        r exec
        r multi
        catch {r get}
        catch {r exec}
        set stats [r info commandstats]
        assert_match {*cmdstat_exec:calls=2,*rejected_calls=0,failed_calls=1*} $stats
        assert_match {*cmdstat_set:calls=1,*failed_calls=0*} $stats
        assert_match {*cmdstat_lpush:calls=1,*failed_calls=1*} $stats
        assert_match {*cmdstat_get:calls=0,*rejected_calls=1,*} $stats
        assert_match {*cmdstat_multi:calls=2,*} $stats
    }

    test {CLIENT PAUSE WRITE holds an EXEC with writes, not one with reads} {
        r client pause 100000 write
        r multi
        r get a
        set reads [r exec]
        r client unpause
        set c [redis_deferring_client]
        $c multi
        $c read
        $c set a paused
        $c read
        r client pause 100000 write
        $c exec
        after 200
        set held [r get a]
        r client unpause
        set res [$c read]
        $c close
        list $reads $held $res [r get a]
    } {1 1 OK paused}
}

start_server {tags {"multi" "aof"} overrides {appendonly yes appendfsync always}} {

    test {The AOF gets a transaction between MULTI and EXEC} {
        r set start 1
        set before [llength [aof_commands [srv dir]/appendonly.aof]]
        r multi
        r set a 1
        r get a
        r incr a
        r exec
        lrange [aof_commands [srv dir]/appendonly.aof] $before end
    } {MULTI {set a 1} {incr a} exec}

    test {A transaction that changed nothing leaves no trace in the AOF} {
        set before [llength [aof_commands [srv dir]/appendonly.aof]]
        r multi
        r get a
        r del nosuchkey
        r exec
        r multi
        r set a 2
        r discard
        expr {[llength [aof_commands [srv dir]/appendonly.aof]] - $before}
    } {0}

    test {SPOP with a count inside EXEC is not wrapped twice} {
        r sadd s 1 2 3
        set before [llength [aof_commands [srv dir]/appendonly.aof]]
        r multi
        r spop s 2
        r exec
        set added [lrange [aof_commands [srv dir]/appendonly.aof] $before end]
        list [llength $added] [lindex $added 0] [lindex $added 1 0] [lindex $added 2 0] [lindex $added 3]
    } {4 MULTI SREM SREM exec}

    test {Transactions replay after a restart} {
        r multi
        r rpush l x y
        r select 4
        r set in4 v
        r exec
        r select 0
        set digest [r debug digest]
        restart_server 0
        list [expr {[r debug digest] eq $digest}] [r get a] [r lrange l 0 -1] [r select 4] [r get in4]
    } {1 2 {x y} OK v}
}
