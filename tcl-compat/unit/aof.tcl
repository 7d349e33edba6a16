# The append-only file: loading damaged files (truncated tail, unfinished
# MULTI, bad format, unknown command), repairing them with the check tool,
# expires in the file, and what is (not) appended.
#
# Each scenario writes an AOF into a directory of its own before the server
# starts, then points the server at it with a `dir` override (the log stays
# in the server's usual directory).
#
# Expected behaviour is Redis 6.2's single-file AOF. Against a real Redis
# 7.0 (`--server redis-server`) the tests that read or check the file fail on
# purpose: 7.0 moves a single-file AOF into `appendonlydir/` as its base file
# (so it is no longer at `dir/appendonly.aof`), writes new commands to an
# incr file, and its check tool prints "Start checking Old-Style AOF", a
# filename, and some messages differently. Loading, expiring and the
# restart digest behave the same.

set ::aof_seq 0

proc aof_fmt {args} {
    set out "*[llength $args]\r\n"
    foreach a $args {
        append out "\$[string length $a]\r\n$a\r\n"
    }
    return $out
}

# A fresh directory holding appendonly.aof with `content` (raw bytes).
proc aof_make_dir {content} {
    set dir $::tmproot/aof.[pid].[incr ::aof_seq]
    file mkdir $dir
    set fd [open $dir/appendonly.aof w]
    fconfigure $fd -translation binary
    puts -nonewline $fd $content
    close $fd
    return $dir
}

proc aof_read {path} {
    set fd [open $path r]
    fconfigure $fd -translation binary
    set data [read $fd]
    close $fd
    return $data
}

proc aof_append {path content} {
    set fd [open $path a]
    fconfigure $fd -translation binary
    puts -nonewline $fd $content
    close $fd
}

# Splits AOF bytes into a list of commands (each a list of arguments).
proc aof_commands {data} {
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

# The check tool: the server binary under the name oxredis-check-aof, or
# the real redis-check-aof when the suite runs against redis-server.
proc aof_check_tool {} {
    if {[file tail $::server_bin] eq "redis-server"} {return redis-check-aof}
    set link $::tmproot/oxredis-check-aof
    if {![file exists $link]} {
        file link -symbolic $link [file normalize $::server_bin]
    }
    return $link
}

# Runs the tool; returns {exitcode output}.
proc aof_check {args} {
    set input ""
    if {[lindex $args 0] eq "-input"} {
        set input [lindex $args 1]
        set args [lrange $args 2 end]
    }
    set rc [catch {exec [aof_check_tool] {*}$args << $input} out opts]
    if {$rc == 0} {return [list 0 $out]}
    set code 1
    set ec [dict get $opts -errorcode]
    if {[lindex $ec 0] eq "CHILDSTATUS"} {set code [lindex $ec 2]}
    return [list $code $out]
}

# Starts a server on `dir`'s AOF expecting it to exit; returns the log.
proc aof_start_fails {dir overrides} {
    set rc [catch {
        start_server [list overrides [concat [list dir $dir appendonly yes] $overrides]] {}
    } err]
    if {!$rc} {fail "server started but should have refused the AOF"}
    return $err
}

set good [join [list [aof_fmt select 0] [aof_fmt set foo hello] [aof_fmt append foo " world"]] ""]

tags {"aof"} {

    # --- Unfinished MULTI at the end ----------------------------------
    set dir [aof_make_dir "$good[aof_fmt multi][aof_fmt set bar 1]"]

    test {Unfinished MULTI: server refuses the AOF with aof-load-truncated no} {
        set log [aof_start_fails $dir {aof-load-truncated no}]
        assert_match "*Revert incomplete MULTI/EXEC transaction in AOF file*" $log
        assert_match "*Unexpected end of file reading the append only file*" $log
    }

    start_server [list overrides [list dir $dir appendonly yes aof-load-truncated yes]] {
        test {Unfinished MULTI: server starts with aof-load-truncated yes} {
            wait_for_log_messages 0 {"*Revert incomplete MULTI/EXEC transaction in AOF file*"} 0 10 10
            list [r get foo] [r exists bar]
        } {{hello world} 0}

        test {Unfinished MULTI: the transaction was cut from the file} {
            aof_read $dir/appendonly.aof
        } $good
    }

    # --- Truncated tail ------------------------------------------------
    set cut [string range [aof_fmt incr counter] 0 end-3]
    set dir [aof_make_dir "$good$cut"]

    test {Short read: server refuses the AOF with aof-load-truncated no} {
        set log [aof_start_fails $dir {aof-load-truncated no}]
        assert_match "*Unexpected end of file reading the append only file. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.*" $log
        string length [aof_read $dir/appendonly.aof]
    } [string length "$good$cut"]

    test {Short read: the check tool says the AOF is not valid} {
        lassign [aof_check $dir/appendonly.aof] code out
        assert_equal 1 $code
        assert_match "*is not valid. Use the --fix option to try fixing it.*" $out
        assert_match "*ok_up_to=[string length $good],*" $out
    }

    test {Short read: the check tool shows the line of the damage} {
        lassign [aof_check $dir/appendonly.aof] code out
        # Counted from 1: the 19 lines of the three good commands, then the
        # four lines read of the cut one.
        assert_match "*ok_up_to_line=24,*" $out
    }

    test {Short read: answering no to --fix leaves the file alone} {
        lassign [aof_check -input "n\n" --fix $dir/appendonly.aof] code out
        assert_equal 1 $code
        assert_match "*Continue? \\\[y/N\\\]: Aborting...*" $out
        string length [aof_read $dir/appendonly.aof]
    } [string length "$good$cut"]

    start_server [list overrides [list dir $dir appendonly yes aof-load-truncated yes]] {
        test {Short read: server starts with aof-load-truncated yes} {
            wait_for_log_messages 0 [list "*!!! Truncating the AOF at offset [string length $good] !!!*" \
                "*AOF loaded anyway because aof-load-truncated is enabled*"] 0 10 10
            r get foo
        } {hello world}

        test {Short read: a command appended after the cut is loaded next time} {
            r incr counter
            r incr counter
            restart_server 0
            list [r get foo] [r get counter]
        } {{hello world} 2}
    }

    # --- Fixing with the check tool ----------------------------------------
    set dir [aof_make_dir "$good$cut"]

    test {Short read: the check tool fixes the AOF when told yes} {
        lassign [aof_check -input "y\n" --fix $dir/appendonly.aof] code out
        assert_equal 0 $code
        assert_match "*Successfully truncated AOF*" $out
        list [aof_read $dir/appendonly.aof] [lindex [aof_check $dir/appendonly.aof] 0]
    } [list $good 0]

    start_server [list overrides [list dir $dir appendonly yes aof-load-truncated no]] {
        test {Fixed AOF: the server loads what could be parsed} {
            list [r get foo] [r exists counter]
        } {{hello world} 0}
    }

    # --- Bad format / unknown command -----------------------------------
    test {Bad format: the server logs an error and exits} {
        set dir [aof_make_dir "$good*2\r\n\$3\r\nGET\r\nfoo\r\n[aof_fmt set z 1]"]
        set log [aof_start_fails $dir {aof-load-truncated yes}]
        assert_match "*Bad file format reading the append only file*" $log
        lassign [aof_check $dir/appendonly.aof] code out
        assert_equal 1 $code
        assert_match "*Expected prefix '\$', got: 'f'*" $out
    }

    test {Unknown command: the server logs an error and exits} {
        set dir [aof_make_dir "$good[aof_fmt bla foo hello]"]
        set log [aof_start_fails $dir {}]
        assert_match "*Unknown command 'bla' reading the append only file*" $log
    }

    test {Empty AOF: the server starts with an empty dataset} {
        set dir [aof_make_dir ""]
        start_server [list overrides [list dir $dir appendonly yes]] {
            set n [r dbsize]
        }
        set n
    } {0}

    # --- Expires in the file --------------------------------------------
    set dir [aof_make_dir "[aof_fmt select 0][aof_fmt rpush list foo][aof_fmt expire list 1]"]
    start_server [list overrides [list dir $dir appendonly yes]] {
        test {AOF+EXPIRE: the list loads, then expires} {
            wait_for_condition 50 100 {[r llen list] == 0} else {
                fail "the list did not expire"
            }
        }
    }

    set dir [aof_make_dir "[aof_fmt select 0][aof_fmt set foo hello][aof_fmt expire foo -1]"]
    start_server [list overrides [list dir $dir appendonly yes]] {
        test {EXPIRE -1 in the AOF deletes the key on load} {
            r exists foo
        } {0}
    }

    # --- What gets appended -----------------------------------------------
    start_server {overrides {appendonly yes appendfsync always}} {
        set aof [lindex [r config get dir] 1]/appendonly.aof

        test {EXPIRE is appended as PEXPIREAT with an absolute time} {
            r set foo bar
            set now [clock milliseconds]
            r expire foo 100
            set last [lindex [aof_commands [aof_read $aof]] end]
            assert_equal {PEXPIREAT foo} [lrange $last 0 1]
            assert_range [lindex $last 2] [expr {$now + 99000}] [expr {$now + 101000}]
        }

        test {EXPIRE -1 is appended as DEL} {
            r set foo bar
            r expire foo -1
            lindex [aof_commands [aof_read $aof]] end
        } {DEL foo}

        test {GETEX without options or without a TTL to remove appends nothing} {
            r set foo bar
            set before [aof_read $aof]
            r getex foo
            r getex foo persist
            r getex missing persist
            assert_equal $before [aof_read $aof]
        }

        test {GETEX EX is appended as PEXPIREAT, PERSIST as PERSIST} {
            r getex foo ex 100
            r getex foo persist
            set cmds [aof_commands [aof_read $aof]]
            list [lindex [lindex $cmds end-1] 0] [lindex $cmds end]
        } {PEXPIREAT {PERSIST foo}}

        test {SETEX is appended as SET with PXAT} {
            r setex sx 100 v
            lrange [lindex [aof_commands [aof_read $aof]] end] 0 3
        } {SET sx v PXAT}

        test {AOF fsync always: every acknowledged write is already in the file} {
            set rd [redis_deferring_client]
            for {set i 0} {$i < 200} {incr i} {
                $rd incr fsynced
                set v [$rd read]
                set last [lindex [aof_commands [aof_read $aof]] end]
                if {$last ne {incr fsynced}} {
                    fail "reply $v arrived before its write reached the file (last: $last)"
                }
            }
            $rd close
            r get fsynced
        } {200}

        test {After a restart the dataset is the same} {
            r rpush l a b c
            r select 5
            r set other db
            r select 0
            set before [r debug digest]
            restart_server 0
            assert_equal $before [r debug digest]
        }
    }
}
