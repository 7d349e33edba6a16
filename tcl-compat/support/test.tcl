# Test declaration, tags and assertions.

set ::num_passed 0
set ::num_failed 0
set ::num_skipped 0
set ::failed_tests {}
set ::tags {}          ;# tags in force (stack of tags/start_server tags)
set ::allowtags {}     ;# --tags foo: only tests carrying one of these
set ::denytags {}      ;# --tags -foo: never tests carrying one of these
set ::only_tests {}    ;# --only globs
set ::verbose 0
set ::cur_test {}
set ::cur_unit {}

proc emit {line} {
    puts stdout $line
    flush stdout
}

# True when a test carrying the tags now in force should run.
proc tags_acceptable {{extra {}}} {
    set all [concat $::tags $extra]
    foreach t $::denytags {
        if {[lsearch -exact $all $t] >= 0} {return 0}
    }
    if {[llength $::allowtags]} {
        foreach t $::allowtags {
            if {[lsearch -exact $all $t] >= 0} {return 1}
        }
        return 0
    }
    return 1
}

proc tags {tags code} {
    set saved $::tags
    set ::tags [concat $::tags $tags]
    set rc [catch {uplevel 1 $code} res opts]
    set ::tags $saved
    return -options $opts $res
}

proc test_selected {name} {
    if {![llength $::only_tests]} {return 1}
    foreach pat $::only_tests {
        if {[string match $pat $name]} {return 1}
    }
    return 0
}

proc fail_test {name detail} {
    incr ::num_failed
    lappend ::failed_tests $name
    emit "\[err\]: $name in $::cur_unit"
    foreach l [split [string trimright $detail] "\n"] {
        emit "    $l"
    }
}

# test name body ?expected?
# Runs body at the caller's level. It fails if an assertion fails, if it
# raises any other error, or if `expected` is given and differs from the
# body's result.
proc test {name code args} {
    if {![tags_acceptable] || ![test_selected $name]} {
        incr ::num_skipped
        if {$::verbose} {emit "\[skip\]: $name"}
        return
    }
    set ::cur_test $name
    if {$::verbose} {emit "\[run\]: $name"}
    set start [clock milliseconds]
    set rc [catch {uplevel 1 $code} res opts]
    set ms [expr {[clock milliseconds] - $start}]
    set ::cur_test {}
    if {$rc == 1} {
        if {[string match "assertion:*" $res]} {
            fail_test $name [string range $res 10 end]
        } else {
            fail_test $name "Exception: $res\n[dict get $opts -errorinfo]"
        }
    } elseif {$rc != 0 && $rc != 2} {
        fail_test $name "Unexpected return code $rc from test body"
    } elseif {[llength $args] && $res ne [lindex $args 0]} {
        fail_test $name "Expected '[lindex $args 0]' to equal '$res'"
    } else {
        incr ::num_passed
        emit "\[ok\]: $name ($ms ms)"
    }
}

proc assert_fail {msg} {
    error "assertion:$msg"
}

proc assert {condition} {
    if {![uplevel 1 [list expr $condition]]} {
        assert_fail "Expected [uplevel 1 [list subst -nocommands $condition]] (condition: $condition)"
    }
}

proc assert_equal {value expected {detail {}}} {
    if {$value ne $expected} {
        assert_fail "Expected '$value' to be equal to '$expected' $detail"
    }
}

proc assert_not_equal {value expected {detail {}}} {
    if {$value eq $expected} {
        assert_fail "Expected '$value' to be not equal to '$expected' $detail"
    }
}

proc assert_match {pattern value {detail {}}} {
    if {![string match $pattern $value]} {
        assert_fail "Expected '$value' to match '$pattern' $detail"
    }
}

proc assert_no_match {pattern value} {
    if {[string match $pattern $value]} {
        assert_fail "Expected '$value' to not match '$pattern'"
    }
}

proc assert_range {value min max} {
    if {!($value >= $min && $value <= $max)} {
        assert_fail "Expected '$value' to be between $min and $max"
    }
}

proc assert_lessthan {value than} {
    if {!($value < $than)} {
        assert_fail "Expected '$value' to be less than '$than'"
    }
}

# assert_error pattern code: code must raise an error matching pattern.
proc assert_error {pattern code} {
    if {[catch {uplevel 1 $code} err]} {
        assert_match $pattern $err
    } else {
        assert_fail "Expected an error matching '$pattern' but got '$err'"
    }
}

proc assert_encoding {enc key {level 0}} {
    set got [r $level object encoding $key]
    assert_equal $got $enc "(encoding of key '$key')"
}

proc assert_type {type key} {
    assert_equal [r type $key] $type
}
