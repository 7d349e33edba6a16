start_server {tags {"slowlog"} overrides {slowlog-log-slower-than 1000000}} {

    test {SLOWLOG: nothing is logged when commands are fast} {
        r slowlog reset
        r ping
        r set a b
        r slowlog len
    } {0}

    test {SLOWLOG: a command slower than the threshold is logged} {
        r config set slowlog-log-slower-than 100000
        r slowlog reset
        r debug sleep 0.2
        set entries [r slowlog get]
        assert_equal 1 [r slowlog len]
        assert_equal 1 [llength $entries]
        lassign [lindex $entries 0] id ts duration args addr name
        assert {[string is integer -strict $id]}
        assert {abs($ts - [clock seconds]) < 10}
        assert {$duration >= 200000}
        assert_equal {debug sleep 0.2} $args
        assert_match {127.0.0.1:*} $addr
        assert_equal {} $name
    }

    test {SLOWLOG: entries carry the client name} {
        r config set slowlog-log-slower-than 0
        r slowlog reset
        r client setname slowclient
        r set x y
        set e [lindex [r slowlog get 1] 0]
        r client setname ""
        list [lindex $e 3] [lindex $e 5]
    } {{set x y} slowclient}

    test {SLOWLOG: threshold 0 logs every command, newest first, ids grow} {
        r slowlog reset
        r set k1 v1
        r get k1
        set entries [r slowlog get]
        set first [lindex $entries 0]
        set second [lindex $entries 1]
        assert_equal {get k1} [lindex $first 3]
        assert_equal {set k1 v1} [lindex $second 3]
        assert {[lindex $first 0] > [lindex $second 0]}
    }

    test {SLOWLOG: negative threshold disables logging} {
        r config set slowlog-log-slower-than -1
        r slowlog reset
        r set k v
        r debug sleep 0.01
        set n [r slowlog len]
        r config set slowlog-log-slower-than 0
        set n
    } {0}

    test {SLOWLOG: GET count} {
        r slowlog reset
        for {set i 0} {$i < 5} {incr i} {r set k$i $i}
        list [llength [r slowlog get 2]] [llength [r slowlog get 0]] [expr {[llength [r slowlog get]] >= 5}]
    } {2 0 1}

    test {SLOWLOG: max-len keeps only the newest entries} {
        r config set slowlog-max-len 10
        for {set i 0} {$i < 30} {incr i} {r set k $i}
        set len [r slowlog len]
        set newest [lindex [r slowlog get 1] 0 3]
        r config set slowlog-max-len 128
        list $len $newest
    } {10 {slowlog len}}

    test {SLOWLOG: lowering max-len trims the log} {
        r slowlog reset
        for {set i 0} {$i < 20} {incr i} {r ping}
        r config set slowlog-max-len 5
        set len [r slowlog len]
        r config set slowlog-max-len 128
        set len
    } {5}

    test {SLOWLOG: RESET empties the log} {
        r ping
        assert_equal OK [r slowlog reset]
        # SLOWLOG RESET itself is logged once it finishes.
        r slowlog len
    } {1}

    test {SLOWLOG: more than 32 arguments are summarised} {
        r slowlog reset
        set keys {}
        for {set i 0} {$i < 40} {incr i} {lappend keys k$i}
        r del {*}$keys
        set args [lindex [r slowlog get 1] 0 3]
        list [llength $args] [lindex $args 0] [lindex $args 30] [lindex $args 31]
    } {32 del k29 {... (10 more arguments)}}

    test {SLOWLOG: long arguments are truncated to 128 bytes} {
        r slowlog reset
        r set bigval [string repeat A 200]
        set args [lindex [r slowlog get 1] 0 3]
        list [llength $args] [lindex $args 0] [lindex $args 2]
    } [list 3 set "[string repeat A 128]... (72 more bytes)"]

    test {SLOWLOG: AUTH is never logged} {
        r slowlog reset
        catch {r auth nosuchpassword}
        set logged {}
        foreach e [r slowlog get] {lappend logged [lindex $e 3 0]}
        lsearch -exact $logged auth
    } {-1}

    test {SLOWLOG: errors} {
        assert_error {ERR*} {r slowlog get abc}
        assert_error {ERR Unknown subcommand or wrong number of arguments for 'foo'*} {r slowlog foo}
    }
}
