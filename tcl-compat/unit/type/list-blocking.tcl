# Blocking list pops: BLPOP, BRPOP, BRPOPLPUSH and BLMOVE with several
# clients: immediate pops, FIFO service, several keys, BLMOVE chains,
# timeouts and their parsing, disconnects, CLIENT UNBLOCK, pipelining,
# RENAME/MOVE/SWAPDB waking waiters, and INFO blocked_clients.
#
# Expected values are Redis 6.2's (Redis 7.0 gives the same replies here,
# but keeps its AOF in appendonlydir/, so the AOF test fails against it).

# Waits until INFO reports `n` blocked clients.
proc wait_for_blocked_clients_count {n} {
    wait_for_condition 500 10 {
        [s blocked_clients] == $n
    } else {
        fail "blocked_clients is [s blocked_clients], expected $n"
    }
}

# A deferring client that sent `args` (a blocking command) and is blocked
# on it. Read its reply with `$c read`.
proc blocked_client {args} {
    set before [s blocked_clients]
    set c [redis_deferring_client]
    $c {*}$args
    wait_for_blocked_clients_count [expr {$before + 1}]
    return $c
}

# True if `client` has no reply within `ms` milliseconds.
proc no_reply_within {client ms} {
    set fd [$client channel]
    fconfigure $fd -blocking 0
    after $ms
    set data [read $fd]
    fconfigure $fd -blocking 1
    expr {$data eq ""}
}

start_server {tags {"list" "blocking"}} {

    test {BLPOP/BRPOP pop at once from the first non-empty key} {
        r del k1 k2
        r rpush k2 a b c
        list [r blpop k1 k2 0] [r brpop k1 k2 0] [r llen k2]
    } {{k2 a} {k2 c} 1}

    test {BRPOPLPUSH and BLMOVE move at once when the source has elements} {
        r del s d
        r rpush s 1 2 3
        list [r brpoplpush s d 0] [r blmove s d left right 0] [r lrange d 0 -1] [r lrange s 0 -1]
    } {3 1 {3 1} 2}

    test {Blocking pops on a wrong type are WRONGTYPE} {
        r set str v
        r del l
        r rpush l a
        set out {}
        foreach cmd {{blpop str 1} {brpop nokey str 1} {brpoplpush str l 1} {brpoplpush l str 1} {blmove l str left left 1}} {
            catch {r {*}$cmd} err
            lappend out [string range $err 0 8]
        }
        list [lsort -unique $out] [r lrange l 0 -1]
    } {WRONGTYPE a}

    test {Timeout parsing errors} {
        set out {}
        foreach t {-1 -0.5 abc 1x inf} {
            catch {r blpop k $t} err
            lappend out $err
        }
        set out
    } {{ERR timeout is negative} {ERR timeout is negative} {ERR timeout is not a float or out of range} {ERR timeout is not a float or out of range} {ERR timeout is negative}}

    test {Fractional timeouts expire with a null reply} {
        r del k d
        list [r blpop k 0.1] [r brpop k 0.05] [r brpoplpush k d .1] [r blmove k d left left 0.1] [r exists d]
    } {{} {} {} {} 0}

    test {Clients blocked on one key are served first come, first served} {
        r del k
        set c1 [blocked_client blpop k 0]
        set c2 [blocked_client brpop k 0]
        set c3 [blocked_client blpop k 0]
        r rpush k a b c d
        set res [list [$c1 read] [$c2 read] [$c3 read] [r lrange k 0 -1]]
        $c1 close; $c2 close; $c3 close
        set res
    } {{k a} {k d} {k b} c}

    test {More waiters than elements: the rest keep waiting} {
        r del k
        set c1 [blocked_client blpop k 0]
        set c2 [blocked_client blpop k 0]
        r lpush k x
        set first [$c1 read]
        set still [no_reply_within $c2 100]
        set n [s blocked_clients]
        r lpush k y
        set res [list $first $still $n [$c2 read] [r exists k]]
        $c1 close; $c2 close
        set res
    } {{k x} 1 1 {k y} 0}

    test {A client blocked on several keys is served by the one that gets data} {
        r del k1 k2 k3
        set c [blocked_client blpop k1 k2 k3 0]
        r rpush k3 v
        set got [$c read]
        r rpush k1 later
        set res [list $got [r llen k1] [s blocked_clients]]
        $c close
        set res
    } {{k3 v} 1 0}

    test {BLMOVE and BRPOPLPUSH chains wake clients blocked on the targets} {
        r del a b c d
        set c1 [blocked_client blmove a b right left 0]
        set c2 [blocked_client brpoplpush b c 0]
        set c3 [blocked_client blpop c 0]
        r rpush a x
        set res [list [$c1 read] [$c2 read] [$c3 read] [r exists a b c]]
        $c1 close; $c2 close; $c3 close
        set res
    } {x x {c x} 0}

    test {BLMOVE to a wrong-type target fails when served; the element stays} {
        r del src dst
        set c1 [blocked_client blmove src dst left left 0]
        set c2 [blocked_client blpop src 0]
        r set dst string
        r rpush src a
        catch {$c1 read} err
        set res [list [string range $err 0 8] [$c2 read] [r get dst]]
        $c1 close; $c2 close
        set res
    } {WRONGTYPE {src a} string}

    test {A blocked client that disconnects is forgotten} {
        r del k
        set c1 [blocked_client blpop k 0]
        $c1 close
        wait_for_blocked_clients_count 0
        r rpush k a
        r lrange k 0 -1
    } {a}

    test {CLIENT UNBLOCK TIMEOUT and ERROR} {
        r del k
        set c [redis_deferring_client]
        $c client id
        set id [$c read]
        $c blpop k 0
        wait_for_blocked_clients_count 1
        set u1 [r client unblock $id]
        set t [$c read]
        $c brpoplpush k d 0
        wait_for_blocked_clients_count 1
        set u2 [r client unblock $id error]
        catch {$c read} err
        set res [list $u1 $t $u2 $err [r client unblock $id] [s blocked_clients]]
        $c close
        set res
    } {1 {} 1 {UNBLOCKED client unblocked via CLIENT UNBLOCK} 0 0}

    test {Commands pipelined after a blocking command run after it is served} {
        r del k
        set c [redis_deferring_client]
        $c write [::redis::format_command {blpop k 0}][::redis::format_command {ping}][::redis::format_command {llen k}]
        wait_for_blocked_clients_count 1
        set quiet [no_reply_within $c 100]
        r rpush k a b
        set res [list $quiet [$c read] [$c read] [$c read]]
        $c close
        set res
    } {1 {k a} PONG 1}

    test {RENAME, MOVE and SWAPDB that create the waited list wake the client} {
        r del k src
        set c [blocked_client blpop k 0]
        r rpush src r1
        r rename src k
        set a [$c read]
        $c blpop k 0
        wait_for_blocked_clients_count 1
        r select 1
        r rpush k m1
        r move k 0
        set b [$c read]
        $c blpop k 0
        wait_for_blocked_clients_count 1
        r rpush k s1
        r swapdb 0 1
        set d [$c read]
        r select 0
        set res [list $a $b $d [r exists k] [s blocked_clients]]
        $c close
        set res
    } {{k r1} {k m1} {k s1} 0 0}

    test {Blocked clients wait per database} {
        r select 0
        r del k
        set c [redis_deferring_client]
        $c select 9
        $c read
        $c blpop k 0
        wait_for_blocked_clients_count 1
        r rpush k zero
        set quiet [no_reply_within $c 100]
        r select 9
        r rpush k nine
        set got [$c read]
        r select 0
        set res [list $quiet $got [r lrange k 0 -1]]
        $c close
        set res
    } {1 {k nine} zero}

    test {INFO blocked_clients counts blocked clients} {
        r del k
        set c1 [blocked_client blpop k 0]
        set c2 [blocked_client blmove k d left left 0]
        set n [s blocked_clients]
        r rpush k a b
        $c1 read
        $c2 read
        wait_for_blocked_clients_count 0
        $c1 close; $c2 close
        set n
    } {2}
}

start_server {tags {"list" "blocking" "aof"} overrides {appendonly yes appendfsync always}} {

    test {Served blocking pops reach the AOF as LPOP/RPOP/RPOPLPUSH/LMOVE} {
        r del a w1 w2
        r rpush a 1 2 3 4
        r blpop a 0
        r brpoplpush a b 0
        set c1 [blocked_client brpop w1 0]
        set c2 [blocked_client blmove w2 t right left 0]
        r rpush w1 x
        r rpush w2 y
        $c1 read
        $c2 read
        $c1 close; $c2 close
        set fd [open [srv dir]/appendonly.aof rb]
        set aof [read $fd]
        close $fd
        set found {}
        foreach cmd {BLPOP BRPOP BRPOPLPUSH BLMOVE LPOP RPOP RPOPLPUSH LMOVE} {
            if {[string first "\r\n$cmd\r\n" $aof] >= 0} {lappend found $cmd}
        }
        set found
    } {LPOP RPOP RPOPLPUSH LMOVE}
}
