start_server {tags {"quit"}} {

    test {QUIT replies OK and closes the connection} {
        set c [redis_client]
        set reply [$c quit]
        set closed [raw_is_closed [$c channel]]
        $c close
        list $reply $closed
    } {OK 1}

    test {Commands pipelined after QUIT are not executed} {
        r del afterquit
        set fd [raw_connect]
        puts -nonewline $fd "*1\r\n\$4\r\nQUIT\r\n*3\r\n\$3\r\nSET\r\n\$9\r\nafterquit\r\n\$1\r\n1\r\n"
        flush $fd
        set all [raw_read_all $fd 3000]
        set closed [eof $fd]
        close $fd
        list $all $closed [r exists afterquit]
    } [list "+OK\r\n" 1 0]

    test {Inline QUIT} {
        set fd [raw_connect]
        puts -nonewline $fd "quit\r\n"
        flush $fd
        set all [raw_read_all $fd 3000]
        set closed [eof $fd]
        close $fd
        list $all $closed
    } [list "+OK\r\n" 1]

    test {QUIT works before AUTH} {
        r config set requirepass pw
        set c [redis_client]
        set reply [$c quit]
        $c close
        r auth pw
        r config set requirepass ""
        set reply
    } {OK}
}

set pidpath [file normalize tmp/shutdown.[pid].pid]
start_server [list tags {"shutdown"} overrides [list pidfile $pidpath]] {

    test {The pidfile holds the server's pid} {
        string trim [read_file_text $pidpath]
    } [srv 0 pid]

    test {SHUTDOWN with a bad argument is an error} {
        assert_error {ERR syntax error} {r shutdown foo}
        r ping
    } {PONG}

    test {SHUTDOWN NOSAVE: the server exits and removes its pidfile} {
        set pid [srv 0 pid]
        set loglines [count_log_lines 0]
        catch {r shutdown nosave} err
        reconnect
        wait_for_condition 100 50 {![process_is_alive $pid]} else {
            fail "server still running after SHUTDOWN NOSAVE"
        }
        assert_match {I/O error*} $err
        assert_equal 0 [file exists $pidpath]
        wait_for_log_messages 0 {"*ready to exit, bye bye*"} $loglines 10 20
    }

    test {restart_server brings it back on the same port} {
        restart_server 0
        list [r ping] [expr {[string trim [read_file_text $pidpath]] == [srv 0 pid]}]
    } {PONG 1}
}
