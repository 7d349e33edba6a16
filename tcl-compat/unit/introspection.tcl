start_server {tags {"introspection"}} {

    # The CLIENT LIST line for the client with id `id` (or "").
    proc client_line {id} {
        foreach l [split [string trim [r client list]] "\n"] {
            if {[string match "id=$id *" $l]} {return [string trim $l]}
        }
        return {}
    }

    test {CLIENT ID returns a positive integer, different per connection} {
        set a [r client id]
        set c [redis_client]
        set b [$c client id]
        $c close
        assert {[string is integer -strict $a] && $a > 0}
        assert {$b > $a}
    }

    test {CLIENT LIST shows this client with the expected fields} {
        set line [client_line [r client id]]
        assert_match {id=* addr=127.0.0.1:* laddr=127.0.0.1:* fd=* name= age=* idle=* flags=N db=0 sub=0 psub=0 multi=-1 qbuf=* qbuf-free=* argv-mem=* obl=0 oll=0 omem=0 tot-mem=* events=r cmd=client user=default redir=-1} $line
    }

    test {CLIENT INFO describes the calling client} {
        set line [string trim [r client info]]
        assert_match "id=[r client id] addr=*flags=N db=0 *cmd=client user=default redir=-1" $line
    }

    test {CLIENT LIST reflects SELECT and the last command} {
        r select 9
        r ping
        set line [client_line [r client id]]
        r select 0
        assert_match {* db=9 *} $line
    }

    test {CLIENT SETNAME and GETNAME} {
        assert_equal {} [r client getname]
        assert_equal OK [r client setname myname]
        assert_equal myname [r client getname]
        assert_match {* name=myname *} [client_line [r client id]]
    }

    test {CLIENT SETNAME rejects spaces and control characters} {
        assert_error {ERR Client names cannot contain spaces, newlines or special characters.} {r client setname "a b"}
        assert_error {ERR Client names cannot contain spaces, newlines or special characters.} {r client setname "a\nb"}
        r client getname
    } {myname}

    test {CLIENT SETNAME with an empty string removes the name} {
        r client setname ""
        r client getname
    } {}

    test {CLIENT LIST TYPE and ID filters} {
        set id [r client id]
        set c [redis_client]
        set cid [$c client id]
        set byid [r client list id $cid]
        set byids [r client list id $id $cid]
        set normal [r client list type normal]
        $c close
        assert_match "id=$cid *" $byid
        assert_equal 2 [llength [split [string trim $byids] "\n"]]
        assert_match "*id=$id *" $normal
        assert_equal {} [string trim [r client list type pubsub]]
        assert_error {ERR Unknown client type*} {r client list type nosuchtype}
        assert_error {ERR Invalid client ID} {r client list id abc}
    }

    test {CLIENT KILL with an unknown address} {
        assert_error {ERR No such client} {r client kill 1.1.1.1:1}
    }

    test {CLIENT KILL addr (old form) closes the other connection} {
        set c [redis_client]
        set cid [$c client id]
        set line [client_line $cid]
        regexp {addr=(\S+)} $line -> addr
        assert_equal OK [r client kill $addr]
        catch {$c ping} err
        catch {$c close}
        assert_match {I/O error*} $err
    }

    test {CLIENT KILL ID returns the number of killed clients} {
        set c [redis_client]
        set cid [$c client id]
        set n [r client kill id $cid]
        set n2 [r client kill id $cid]
        catch {$c close}
        list $n $n2
    } {1 0}

    test {CLIENT KILL ADDR and LADDR} {
        set c [redis_client]
        regexp {addr=(\S+) laddr=(\S+)} [client_line [$c client id]] -> addr laddr
        set n1 [r client kill addr $addr]
        catch {$c close}
        # LADDR matches every client connected to this listener, skipping
        # the caller by default.
        set c1 [redis_client]
        set c2 [redis_client]
        set n2 [r client kill laddr $laddr]
        catch {$c1 close}
        catch {$c2 close}
        list $n1 $n2 [r ping]
    } {1 2 PONG}

    test {CLIENT KILL SKIPME no kills the caller too} {
        set c [redis_client]
        set n [$c client kill id [$c client id] skipme no]
        catch {$c ping} err
        catch {$c close}
        list $n [string match "I/O error*" $err]
    } {1 1}

    test {CLIENT KILL USER and TYPE} {
        set c [redis_client]
        $c ping
        set n [r client kill user default]
        catch {$c close}
        set c [redis_client]
        $c ping
        set m [r client kill type normal]
        catch {$c close}
        list $n $m [r ping]
    } {1 1 PONG}

    test {CLIENT KILL syntax errors} {
        assert_error {ERR syntax error} {r client kill id 1 foo}
        assert_error {ERR*} {r client kill id abc}
        assert_error {ERR Unknown client type*} {r client kill type nosuchtype}
        assert_error {ERR No such user*} {r client kill user nosuchuser}
    }

    test {CLIENT PAUSE WRITE blocks writes but not reads, UNPAUSE releases} {
        r set pausekey 1
        r client pause 100000 write
        set rd [redis_deferring_client]
        $rd incr pausekey
        # A read from another client is served while the write waits.
        set c [redis_client]
        assert_equal 1 [$c get pausekey]
        after 100
        # The write has not been answered while paused.
        fconfigure [$rd channel] -blocking 0
        set early [read [$rd channel]]
        fconfigure [$rd channel] -blocking 1
        assert_equal {} $early
        assert_equal 1 [$c get pausekey]
        r client unpause
        assert_equal 2 [$rd read]
        $rd close
        $c close
        r get pausekey
    } {2}

    test {CLIENT PAUSE ALL blocks every command until it expires} {
        # Under PAUSE ALL even CLIENT UNPAUSE would wait, so let it expire.
        r client pause 500 all
        set rd [redis_deferring_client]
        set start [clock milliseconds]
        $rd get pausekey
        after 100
        fconfigure [$rd channel] -blocking 0
        set early [read [$rd channel]]
        fconfigure [$rd channel] -blocking 1
        set v [$rd read]
        set waited [expr {[clock milliseconds] - $start}]
        $rd close
        list $early $v [expr {$waited >= 400}]
    } {{} 2 1}

    test {CLIENT PAUSE argument errors} {
        assert_error {ERR timeout is not an integer or out of range} {r client pause abc}
        assert_error {ERR CLIENT PAUSE mode must be WRITE or ALL} {r client pause 100 foo}
    }

    test {MONITOR streams commands from other clients} {
        set rd [redis_deferring_client]
        $rd monitor
        assert_equal OK [$rd read]
        r set monkey "a b"
        r get monkey
        set l1 [$rd read]
        set l2 [$rd read]
        $rd close
        assert_match {*"set" "monkey" "a b"} $l1
        assert_match {[0-9]*.[0-9]* \[0 127.0.0.1:*\] "get" "monkey"} $l2
    }

    test {MONITOR shows the database and escapes binary arguments} {
        set rd [redis_deferring_client]
        $rd monitor
        $rd read
        r select 5
        r set bin "x\ny\x01"
        r select 0
        $rd read ;# select
        set l [$rd read]
        $rd close
        assert_match {*\[5 127.0.0.1:*\] "set" "bin" "x\\ny\\x01"} $l
    }

    test {MONITOR does not show AUTH arguments in full} {
        set rd [redis_deferring_client]
        $rd monitor
        $rd read
        catch {r auth secret}
        r ping
        set l [$rd read]
        $rd close
        assert_no_match {*secret*} $l
    }

    test {COMMAND COUNT} {
        set n [r command count]
        assert {$n > 20}
        assert_equal $n [llength [r command]]
    }

    test {COMMAND INFO of some commands} {
        list [r command info get] [r command info set nosuchcmd]
    } {{{get 2 {readonly fast} 1 1 1 {@read @string @fast}}} {{set -3 {write denyoom} 1 1 1 {@write @string @slow}} {}}}

    test {COMMAND GETKEYS} {
        assert_equal {a} [r command getkeys set a b]
        assert_equal {a b} [r command getkeys mset a 1 b 2]
        assert_equal {x y z} [r command getkeys del x y z]
    }

    test {COMMAND GETKEYS errors} {
        assert_error {ERR Invalid command specified} {r command getkeys nosuchcmd a}
        assert_error {ERR Invalid number of arguments specified for command} {r command getkeys get}
        assert_error {ERR The command has no key arguments} {r command getkeys ping}
    }

    test {CONFIG GET with a glob} {
        set res [r config get *max-*-entries*]
        set ports [r config get port]
        set many [r config get *]
        assert_equal [list port [srv 0 port]] $ports
        assert {[llength $many] > 40 && [llength $many] % 2 == 0}
        assert_equal 0 [llength [r config get no-such-parameter-*]]
        set sl [dict create {*}[r config get slowlog*]]
        lsort [dict keys $sl]
    } {slowlog-log-slower-than slowlog-max-len}
}
