# Helpers shared by the units.

# wait_for_condition maxtries delay_ms {cond} else {body}
# Re-evaluates cond (an expr) up to maxtries times, delay_ms apart; runs the
# else body (normally a `fail`) if it never held.
proc wait_for_condition {maxtries delay cond elsekw elsebody} {
    if {$elsekw ne "else"} {error "wait_for_condition: expected 'else'"}
    while {[incr maxtries -1] >= 0} {
        if {[uplevel 1 [list expr $cond]]} return
        after $delay
    }
    uplevel 1 $elsebody
}

proc fail {msg} {
    assert_fail $msg
}

# Lines of a file from line `from` (0-based) on.
proc file_lines_from {path from} {
    if {[catch {open $path r} fd]} {return {}}
    set lines [split [read $fd] "\n"]
    close $fd
    return [lrange $lines $from end]
}

# Complete lines in server `level`'s log (as `wc -l` counts them), so that
# it is the index of the next line to be written.
proc count_log_lines {level} {
    set lines [file_lines_from [srv $level stdout] 0]
    if {[lindex $lines end] eq ""} {set lines [lrange $lines 0 end-1]}
    return [llength $lines]
}

# Waits until every glob in patterns matches some line of server `level`'s
# log at or after line `from`. Fails with the log tail otherwise.
proc wait_for_log_messages {level patterns from maxtries delay} {
    set path [srv $level stdout]
    while 1 {
        set lines [file_lines_from $path $from]
        set missing {}
        foreach pat $patterns {
            if {[lsearch -glob $lines $pat] < 0} {lappend missing $pat}
        }
        if {![llength $missing]} return
        if {[incr maxtries -1] <= 0} {
            fail "log messages not found: $missing\nlog tail:\n[join [lrange $lines end-10 end] \n]"
        }
        after $delay
    }
}

proc debug_sleep {seconds {level 0}} {
    r $level debug sleep $seconds
}

# Process state from /proc: alive means present and not a zombie.
proc process_is_alive {pid} {
    if {[catch {open /proc/$pid/stat r} fd]} {return 0}
    set stat [read $fd]
    close $fd
    set state [lindex [split [string range $stat [expr {[string last ")" $stat] + 2}] end]] 0]
    return [expr {$state ne "Z" && $state ne "X"}]
}

# Reaps finished children exec'd in the background (Tcl reaps on exec).
proc reap_children {} {
    catch {exec true}
}

# Parses `INFO` text into a field's value.
proc info_field {info field} {
    foreach line [split $info "\r\n"] {
        if {[string match "$field:*" $line]} {
            return [string range $line [expr {[string length $field] + 1}] end]
        }
    }
    return {}
}

proc s {args} {
    set level 0
    if {[string is integer -strict [lindex $args 0]]} {
        set level [lindex $args 0]
        set args [lrange $args 1 end]
    }
    return [info_field [r $level info] [lindex $args 0]]
}

# Opens a raw socket to the server at `level`, for protocol tests.
proc raw_connect {{level 0}} {
    set fd [socket [srv $level host] [srv $level port]]
    fconfigure $fd -translation binary -buffering none -blocking 1
    return $fd
}

# Reads until the peer closes or `timeout_ms` passes; returns what came.
proc raw_read_all {fd {timeout_ms 2000}} {
    fconfigure $fd -blocking 0
    set data {}
    set deadline [expr {[clock milliseconds] + $timeout_ms}]
    while {[clock milliseconds] < $deadline} {
        append data [read $fd]
        if {[eof $fd]} break
        after 5
    }
    fconfigure $fd -blocking 1
    return $data
}

# Reads one CRLF-terminated line (without the CRLF).
proc raw_gets {fd} {
    return [string trimright [gets $fd] "\r"]
}

# Returns 1 if the peer has closed the connection (within timeout_ms).
proc raw_is_closed {fd {timeout_ms 2000}} {
    fconfigure $fd -blocking 0
    set deadline [expr {[clock milliseconds] + $timeout_ms}]
    set closed 0
    while {[clock milliseconds] < $deadline} {
        if {[catch {read $fd}]} {set closed 1; break}
        if {[eof $fd]} {set closed 1; break}
        after 5
    }
    fconfigure $fd -blocking 1
    return $closed
}

proc randstring {len} {
    set s {}
    for {set i 0} {$i < $len} {incr i} {
        append s [format %c [expr {97 + int(rand() * 26)}]]
    }
    return $s
}
