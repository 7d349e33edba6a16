# Client output buffer limits (client-output-buffer-limit): a client that
# leaves its replies unread is closed once its reply list passes the hard
# limit, or once it has stayed over the soft limit for longer than the
# soft seconds; a client that keeps up is served however much it reads.
# The last test needs PUBLISH/SUBSCRIBE (pub/sub).

start_server {tags {"obuf-limits"}} {

    # Field `field` of the CLIENT LIST line of the client named `name`,
    # or "" when there is no such client.
    proc named_client_field {name field} {
        foreach line [split [string trim [r client list]] "\n"] {
            if {![string match "* name=$name *" $line]} continue
            foreach kv [split [string trim $line] " "] {
                set eq [string first = $kv]
                if {[string range $kv 0 [expr {$eq - 1}]] eq $field} {
                    return [string range $kv [expr {$eq + 1}] end]
                }
            }
        }
        return {}
    }

    # A raw connection named `name` that sends `count` GETs of `key` in
    # one write and reads nothing.
    proc unread_gets {name key count} {
        set fd [raw_connect]
        puts -nonewline $fd "*3\r\n\$6\r\nclient\r\n\$7\r\nsetname\r\n\$[string length $name]\r\n$name\r\n"
        flush $fd
        assert_equal +OK [raw_gets $fd]
        set get "*2\r\n\$3\r\nget\r\n\$[string length $key]\r\n$key\r\n"
        # The server may close the connection before it read everything.
        catch {
            puts -nonewline $fd [string repeat $get $count]
            flush $fd
        }
        return $fd
    }

    test {client-output-buffer-limit defaults, as CONFIG GET shows them} {
        lindex [r config get client-output-buffer-limit] 1
    } {normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60}

    test {CONFIG SET client-output-buffer-limit changes only the named classes} {
        r config set client-output-buffer-limit {replica 1mb 2k 3}
        set v [lindex [r config get client-output-buffer-limit] 1]
        assert_error {ERR Invalid argument*} {r config set client-output-buffer-limit {master 1 1 1}}
        assert_error {ERR Invalid argument*} {r config set client-output-buffer-limit {normal 1 1}}
        r config set client-output-buffer-limit {slave 256mb 64mb 60}
        set v
    } {normal 0 0 0 slave 1048576 2000 3 pubsub 33554432 8388608 60}

    test {A client over the hard limit is closed and its buffers go away} {
        r config set client-output-buffer-limit {normal 1mb 0 0}
        r set big [string repeat x 100000]
        set from [count_log_lines 0]
        set before [s used_memory]
        # 200 MB of replies if nothing stopped them.
        set fd [unread_gets hardvictim big 2000]
        wait_for_log_messages 0 {"*name=hardvictim*scheduled to be closed ASAP for overcoming of output buffer limits.*"} $from 100 50
        assert {[raw_is_closed $fd 10000]}
        close $fd
        wait_for_condition 100 50 {[named_client_field hardvictim id] eq {}} else {
            fail "the client is still connected"
        }
        assert_lessthan [s used_memory] [expr {$before + 4*1024*1024}]
        r config set client-output-buffer-limit {normal 0 0 0}
        r ping
    } {PONG}

    test {A client over the soft limit stays until its seconds have passed} {
        r config set client-output-buffer-limit {normal 0 512kb 2}
        r set big [string repeat y 100000]
        set start [clock milliseconds]
        set fd [unread_gets softvictim big 300]
        wait_for_condition 100 50 {
            [named_client_field softvictim omem] ne {} &&
            [named_client_field softvictim omem] >= 524288
        } else {
            fail "the reply list did not pass the soft limit"
        }
        after 900
        # Still there, not even marked to be closed.
        assert_no_match {*A*} [named_client_field softvictim flags]
        assert {[named_client_field softvictim omem] >= 524288}
        wait_for_condition 200 50 {[named_client_field softvictim id] eq {}} else {
            fail "the client was not closed after the soft limit's seconds"
        }
        assert {[clock milliseconds] - $start >= 2000}
        assert {[raw_is_closed $fd 10000]}
        close $fd
        r config set client-output-buffer-limit {normal 0 0 0}
        r ping
    } {PONG}

    test {A client that reads its replies, even slowly, is never closed} {
        r config set client-output-buffer-limit {normal 1mb 512kb 1}
        set val [string repeat abcdefghij 1000]
        r set v $val
        set rd [redis_deferring_client]
        set start [clock milliseconds]
        set batches 0
        # About 3 s and 3 MB in all: more than both limits, in batches
        # of 150 KB that are read before the next is sent.
        while {[clock milliseconds] - $start < 3000 || $batches < 20} {
            for {set j 0} {$j < 15} {incr j} {$rd get v}
            for {set j 0} {$j < 15} {incr j} {
                assert_equal $val [$rd read]
                after 5
            }
            incr batches
        }
        $rd ping
        set pong [$rd read]
        $rd close
        r config set client-output-buffer-limit {normal 0 0 0}
        set pong
    } {PONG}

    test {CLIENT LIST and INFO show what waits in the output buffers} {
        r set big [string repeat q 200000]
        set fd [unread_gets bigreader big 100]
        wait_for_condition 100 50 {
            [named_client_field bigreader omem] ne {} &&
            [named_client_field bigreader omem] > 4194304
        } else {
            fail "the reply list did not grow"
        }
        assert {[named_client_field bigreader oll] > 0}
        assert {[named_client_field bigreader tot-mem] > [named_client_field bigreader omem]}
        assert_match {*w*} [named_client_field bigreader events]
        after 300
        set mem [s mem_clients_normal]
        set omem [named_client_field bigreader omem]
        assert {[s client_recent_max_output_buffer] >= $omem}
        assert {$mem >= $omem}
        close $fd
        wait_for_condition 100 50 {[named_client_field bigreader id] eq {}} else {
            fail "the client did not go away"
        }
        set idle [redis_client]
        $idle client setname idle
        set line [string trim [$idle client info]]
        $idle close
        assert_match {* obl=0 oll=0 omem=0 *} $line
    }

    test {A subscriber that does not read is closed at the pubsub limit} {
        r config set client-output-buffer-limit {pubsub 1mb 0 0}
        set fd [raw_connect]
        puts -nonewline $fd "*2\r\n\$9\r\nsubscribe\r\n\$5\r\nflood\r\n"
        flush $fd
        set first [raw_gets $fd]
        if {[string match -* $first]} {fail "SUBSCRIBE is not available: $first"}
        set from [count_log_lines 0]
        set msg [string repeat m 100000]
        set receivers {}
        for {set j 0} {$j < 300} {incr j} {lappend receivers [r publish flood $msg]}
        assert_equal 1 [lindex $receivers 0]
        assert_equal 0 [lindex $receivers end]
        wait_for_log_messages 0 {"*flags=P*scheduled to be closed ASAP for overcoming of output buffer limits.*"} $from 100 50
        assert {[raw_is_closed $fd 10000]}
        close $fd
        r config set client-output-buffer-limit {pubsub 32mb 8mb 60}
        r ping
    } {PONG}
}
