start_server {tags {"protocol"}} {

    # Sends raw bytes, returns the first reply line (without CRLF).
    proc raw_request {bytes} {
        set fd [raw_connect]
        puts -nonewline $fd $bytes
        flush $fd
        set line [raw_gets $fd]
        close $fd
        return $line
    }

    # Sends raw bytes that must get an error and a closed connection.
    proc raw_error_and_close {bytes} {
        set fd [raw_connect]
        puts -nonewline $fd $bytes
        flush $fd
        set reply [raw_read_all $fd 3000]
        set closed [eof $fd]
        close $fd
        if {!$closed} {fail "connection not closed after: $reply"}
        return [string trimright $reply "\r\n"]
    }

    test {Inline command: PING} {
        raw_request "PING\r\n"
    } {+PONG}

    test {Inline command with LF only line ending} {
        raw_request "PING\n"
    } {+PONG}

    test {Inline SET then GET with quoted and escaped arguments} {
        set fd [raw_connect]
        puts -nonewline $fd "SET \"inl key\" \"a\\x41\\n\"\r\nGET \"inl key\"\r\n"
        flush $fd
        set r1 [raw_gets $fd]
        set r2 [raw_gets $fd]
        set r3 [read $fd 4]
        close $fd
        list $r1 $r2 $r3
    } [list +OK {$3} "aA\n\r"]

    test {Inline: empty lines are ignored} {
        raw_request "\r\n\r\n\nPING\r\n"
    } {+PONG}

    test {Inline: single-quoted arguments} {
        r del inl2
        set fd [raw_connect]
        puts -nonewline $fd "SET inl2 'it\\'s'\r\n"
        flush $fd
        set line [raw_gets $fd]
        close $fd
        list $line [r get inl2]
    } {+OK it's}

    test {Inline: unbalanced quotes is an error and closes the connection} {
        raw_error_and_close "SET \"\"\"k\"\"\" v\r\n"
    } {-ERR Protocol error: unbalanced quotes in request}

    test {Inline: request of 64k without newline is too big} {
        raw_error_and_close [string repeat a [expr {64 * 1024 + 10}]]
    } {-ERR Protocol error: too big inline request}

    test {Inline: a line just under 64k is accepted} {
        set fd [raw_connect]
        set arg [string repeat b 60000]
        puts -nonewline $fd "ECHO $arg\r\n"
        flush $fd
        set hdr [raw_gets $fd]
        set body [read $fd 60000]
        read $fd 2
        close $fd
        list $hdr [expr {$body eq $arg}]
    } {{$60000} 1}

    test {Multibulk: PING} {
        raw_request "*1\r\n\$4\r\nPING\r\n"
    } {+PONG}

    test {Multibulk: arguments split across many writes} {
        set fd [raw_connect]
        foreach chunk [list "*3\r" "\n\$3\r\nSE" "T\r\n\$2\r\nmb\r\n\$" "5\r\nhel" "lo\r\n"] {
            puts -nonewline $fd $chunk
            flush $fd
            after 5
        }
        set line [raw_gets $fd]
        close $fd
        list $line [r get mb]
    } {+OK hello}

    test {Multibulk: zero and negative counts are ignored} {
        raw_request "*0\r\n*-1\r\n*-10\r\nPING\r\n"
    } {+PONG}

    test {Multibulk: empty and binary arguments} {
        r set empty {}
        set bin "a\x00b\r\nc"
        r set bin $bin
        list [r get empty] [r strlen empty] [expr {[r get bin] eq $bin}] [r strlen bin]
    } {{} 0 1 6}

    test {Protocol error: out of range multibulk length} {
        raw_error_and_close "*3000000000\r\n"
    } {-ERR Protocol error: invalid multibulk length}

    test {Protocol error: multibulk length above 1M} {
        raw_error_and_close "*1048577\r\n"
    } {-ERR Protocol error: invalid multibulk length}

    test {Protocol error: non-number multibulk length} {
        raw_error_and_close "*foo\r\n"
    } {-ERR Protocol error: invalid multibulk length}

    test {Protocol error: wrong bulk header} {
        raw_error_and_close "*3\r\n\$3\r\nSET\r\n\$1\r\nx\r\nfooz\r\n"
    } {-ERR Protocol error: expected '$', got 'f'}

    test {Protocol error: multibulk not followed by bulk} {
        raw_error_and_close "*1\r\nfoo\r\n"
    } {-ERR Protocol error: expected '$', got 'f'}

    test {Protocol error: negative bulk length} {
        raw_error_and_close "*3\r\n\$3\r\nSET\r\n\$1\r\nx\r\n\$-10\r\n"
    } {-ERR Protocol error: invalid bulk length}

    test {Protocol error: out of range bulk length} {
        raw_error_and_close "*3\r\n\$3\r\nSET\r\n\$1\r\nx\r\n\$2000000000\r\n"
    } {-ERR Protocol error: invalid bulk length}

    test {Protocol error: non-number bulk length} {
        raw_error_and_close "*3\r\n\$3\r\nSET\r\n\$1\r\nx\r\n\$blabla\r\n"
    } {-ERR Protocol error: invalid bulk length}

    test {Protocol error: replies before the error are still delivered} {
        set fd [raw_connect]
        puts -nonewline $fd "PING\r\n*1\r\nfoo\r\n"
        flush $fd
        set all [raw_read_all $fd 3000]
        set closed [eof $fd]
        close $fd
        list $all $closed
    } [list "+PONG\r\n-ERR Protocol error: expected '\$', got 'f'\r\n" 1]

    test {The server keeps serving other clients after a protocol error} {
        raw_error_and_close "*x\r\n"
        r ping
    } {PONG}

    test {Unknown command error, with and without arguments} {
        set e1 [catch {r foobaz} m1]
        set e2 [catch {r foobaz a bcd} m2]
        list $e1 $m1 $e2 $m2
    } [list 1 "ERR unknown command `foobaz`, with args beginning with: " \
            1 "ERR unknown command `foobaz`, with args beginning with: `a`, `bcd`, "]

    test {Wrong number of arguments error} {
        assert_error "ERR wrong number of arguments for 'get' command" {r get}
        assert_error "ERR wrong number of arguments for 'set' command" {r set k}
    }

    test {Command names are case insensitive} {
        list [r PiNg] [r SET casekey v] [r gEt casekey]
    } {PONG OK v}

    test {Big bulk argument (2 MB) round trip} {
        set big [string repeat "0123456789abcdef" [expr {2 * 1024 * 1024 / 16}]]
        r set bigkey $big
        list [r strlen bigkey] [expr {[r get bigkey] eq $big}]
    } {2097152 1}

    test {Big bulk argument sent in slow pieces} {
        set fd [raw_connect]
        set val [string repeat x 100000]
        set req "*3\r\n\$3\r\nSET\r\n\$5\r\nslowb\r\n\$100000\r\n$val\r\n"
        set len [string length $req]
        for {set i 0} {$i < $len} {incr i 20000} {
            puts -nonewline $fd [string range $req $i [expr {$i + 19999}]]
            flush $fd
            after 2
        }
        set line [raw_gets $fd]
        close $fd
        list $line [r strlen slowb]
    } {+OK 100000}

    test {Bulk larger than proto-max-bulk-len is rejected} {
        r config set proto-max-bulk-len 1048576
        set e [raw_error_and_close "*3\r\n\$3\r\nSET\r\n\$1\r\nx\r\n\$1048577\r\n"]
        r config set proto-max-bulk-len 536870912
        set e
    } {-ERR Protocol error: invalid bulk length}

    test {Pipelining: 1000 commands in one write} {
        set fd [raw_connect]
        set req {}
        for {set i 0} {$i < 1000} {incr i} {
            append req "*3\r\n\$6\r\nINCRBY\r\n\$4\r\npipe\r\n\$1\r\n1\r\n"
        }
        r del pipe
        puts -nonewline $fd $req
        flush $fd
        set last {}
        for {set i 0} {$i < 1000} {incr i} {set last [raw_gets $fd]}
        close $fd
        list $last [r get pipe]
    } {:1000 1000}

    test {Pipelining: mixed inline and multibulk} {
        set fd [raw_connect]
        puts -nonewline $fd "PING\r\n*2\r\n\$4\r\nECHO\r\n\$2\r\nhi\r\nECHO inl\r\n"
        flush $fd
        set a [raw_gets $fd]
        set b [raw_gets $fd]
        set c [raw_gets $fd]
        set d [raw_gets $fd]
        set e [raw_gets $fd]
        close $fd
        list $a $b $c $d $e
    } [list +PONG {$2} hi {$3} inl]

    test {Deferred client pipeline} {
        set rd [redis_deferring_client]
        for {set i 0} {$i < 100} {incr i} {$rd set pk$i $i}
        for {set i 0} {$i < 100} {incr i} {$rd get pk$i}
        set ok 1
        for {set i 0} {$i < 100} {incr i} {if {[$rd read] ne "OK"} {set ok 0}}
        for {set i 0} {$i < 100} {incr i} {if {[$rd read] ne $i} {set ok 0}}
        $rd close
        set ok
    } {1}

    test {Error reply in a pipeline does not break later replies} {
        set rd [redis_deferring_client]
        $rd set pe 1
        $rd nosuchcmd
        $rd get pe
        set a [$rd read]
        set b [catch {$rd read} m]
        set c [$rd read]
        $rd close
        list $a $b [string match "ERR unknown command*" $m] $c
    } {OK 1 1 1}
}
