#!/usr/bin/env tclsh
# oxredis Tcl test suite driver.
#
#   tclsh test_helper.tcl [--single unit]... [--only glob]... [--tags t|-t]...
#                         [--clients N] [--verbose] [--server PATH]
#
# The master runs each unit in its own tclsh worker process, N at a time,
# and sums their results. A worker (--worker unit) runs one unit.

cd [file dirname [file normalize [info script]]]
set ::suite_dir [pwd]

source support/redis.tcl
source support/test.tcl
source support/util.tcl
source support/server.tcl

set ::all_units {}
# Units are unit/*.tcl and unit/<dir>/*.tcl, named without "unit/" and ".tcl"
# (e.g. "keyspace", "type/string").
foreach f [lsort [concat [glob -nocomplain -directory unit *.tcl] \
                         [glob -nocomplain -directory unit */*.tcl]]] {
    lappend ::all_units [file rootname [string range $f 5 end]]
}

proc usage {} {
    puts "Usage: tclsh test_helper.tcl \[options\]"
    puts "  --single <unit>     run only this unit (repeatable), e.g. unit/protocol"
    puts "  --only <glob>       run only tests whose name matches (repeatable)"
    puts "  --tags <tag|-tag>   only tests with tag / skip tests with tag (repeatable)"
    puts "  --clients <n>       units run in n parallel workers (default 2)"
    puts "  --verbose           print skipped tests and test starts"
    puts "  --server <path>     oxredis-server binary (default ../target/release/oxredis-server)"
    puts "  units: $::all_units"
}

set ::units {}
set ::clients 2
set ::worker_unit {}
set passthrough {}
for {set i 0} {$i < [llength $argv]} {incr i} {
    set opt [lindex $argv $i]
    set arg [lindex $argv [expr {$i + 1}]]
    switch -- $opt {
        --single {
            set u [file rootname $arg]
            if {[string match unit/* $u]} {set u [string range $u 5 end]}
            if {[lsearch -exact $::all_units $u] < 0} {
                puts stderr "No such unit: $arg"
                exit 2
            }
            lappend ::units $u
            incr i
        }
        --only {
            lappend ::only_tests $arg
            lappend passthrough --only $arg
            incr i
        }
        --tags {
            foreach t $arg {
                if {[string index $t 0] eq "-"} {
                    lappend ::denytags [string range $t 1 end]
                } else {
                    lappend ::allowtags $t
                }
            }
            lappend passthrough --tags $arg
            incr i
        }
        --clients {
            if {![string is integer -strict $arg] || $arg < 1} {
                puts stderr "--clients needs a positive integer"
                exit 2
            }
            set ::clients $arg
            incr i
        }
        --verbose {
            set ::verbose 1
            lappend passthrough --verbose
        }
        --server {
            set ::server_bin [file normalize $arg]
            incr i
        }
        --worker {
            set ::worker_unit $arg
            incr i
        }
        --baseport {
            set ::baseport $arg
            incr i
        }
        --help - -h {
            usage
            exit 0
        }
        default {
            puts stderr "Unknown option $opt"
            usage
            exit 2
        }
    }
}

# ---------------------------------------------------------------- worker

proc run_worker {unit} {
    set ::cur_unit unit/$unit
    set ::pidfile $::tmproot/worker.[pid].pids
    set rc [catch {source unit/$unit.tcl} res opts]
    if {$rc == 1} {
        # An error outside any test (a server that would not start, an
        # assertion in a start_server body) fails the unit.
        if {[string match "assertion:*" $res]} {
            set res [string range $res 10 end]
        } else {
            set res "$res\n[dict get $opts -errorinfo]"
        }
        fail_test "unit/$unit (outside a test)" $res
    }
    # Any server left by an aborted body is stopped here.
    foreach d $::servers {
        catch {kill_server_pid [dict get $d pid]}
    }
    file delete $::pidfile
    emit "@@RESULT $::num_passed $::num_failed $::num_skipped"
    exit 0
}

if {$::worker_unit ne ""} {
    file mkdir $::tmproot
    run_worker $::worker_unit
}

# ---------------------------------------------------------------- master

if {![file executable $::server_bin]} {
    puts stderr "Server binary not found: $::server_bin (run cargo build --release)"
    exit 2
}
if {![llength $::units]} {set ::units $::all_units}
file mkdir $::tmproot

set ::pending $::units
set ::running {}        ;# fd -> {unit slot start pid}
set ::free_slots {}
for {set s 0} {$s < $::clients} {incr s} {lappend ::free_slots $s}
set ::total_passed 0
set ::total_failed 0
set ::total_skipped 0
set ::all_failed {}
set ::unit_timeout_ms 120000
set ::suite_start [clock milliseconds]

proc start_next_units {} {
    while {[llength $::pending] && [llength $::free_slots]} {
        set unit [lindex $::pending 0]
        set ::pending [lrange $::pending 1 end]
        set slot [lindex $::free_slots 0]
        set ::free_slots [lrange $::free_slots 1 end]
        set cmd [list [info nameofexecutable] test_helper.tcl --worker $unit \
            --server $::server_bin --baseport [expr {31000 + $slot * 100}] \
            {*}$::passthrough]
        set fd [open "|$cmd 2>@1" r]
        fconfigure $fd -blocking 0 -buffering line
        dict set ::running $fd [dict create unit $unit slot $slot \
            start [clock milliseconds] pid [pid $fd] result 0]
        fileevent $fd readable [list worker_readable $fd]
        puts "\[start\]: unit/$unit"
    }
    if {![llength $::pending] && ![dict size $::running]} {
        set ::done 1
    }
}

proc worker_readable {fd} {
    while {[gets $fd line] >= 0} {
        if {[string match "@@RESULT *" $line]} {
            lassign [lrange $line 1 end] p f s
            incr ::total_passed $p
            incr ::total_failed $f
            incr ::total_skipped $s
            dict set ::running $fd result 1
            continue
        }
        if {[string match {\[err\]: *} $line]} {
            lappend ::all_failed [string range $line 7 end]
        }
        puts $line
    }
    if {[eof $fd]} {
        finish_worker $fd
    }
}

proc finish_worker {fd} {
    set info [dict get $::running $fd]
    set unit [dict get $info unit]
    fconfigure $fd -blocking 1
    if {[catch {close $fd} err]} {
        puts "\[err\]: worker for unit/$unit exited abnormally: $err"
    }
    if {![dict get $info result]} {
        incr ::total_failed
        lappend ::all_failed "unit/$unit did not finish"
        puts "\[err\]: unit/$unit did not finish"
    }
    set ms [expr {[clock milliseconds] - [dict get $info start]}]
    puts "\[done\]: unit/$unit ($ms ms)"
    dict unset ::running $fd
    lappend ::free_slots [dict get $info slot]
    start_next_units
}

proc check_timeouts {} {
    set now [clock milliseconds]
    dict for {fd info} $::running {
        if {$now - [dict get $info start] > $::unit_timeout_ms} {
            puts "\[err\]: unit/[dict get $info unit] timed out, killing its worker"
            foreach p [dict get $info pid] {catch {exec kill -9 $p}}
        }
    }
    after 1000 check_timeouts
}

# Kills servers whose worker died before stopping them.
proc kill_orphan_servers {} {
    foreach pf [glob -nocomplain -directory $::tmproot worker.*.pids] {
        foreach pid [split [read_file_text $pf] "\n"] {
            if {$pid eq "" || ![process_is_alive $pid]} continue
            set cmdline [read_file_text /proc/$pid/cmdline]
            if {[string first [file tail $::server_bin] $cmdline] >= 0} {
                puts "Killing orphan server $pid"
                kill_server_pid $pid
            }
        }
        file delete $pf
    }
}

set ::done 0
start_next_units
after 1000 check_timeouts
if {!$::done} {vwait ::done}
kill_orphan_servers

set secs [format %.1f [expr {([clock milliseconds] - $::suite_start) / 1000.0}]]
puts ""
if {[llength $::all_failed]} {
    puts "Failed tests:"
    foreach t $::all_failed {puts "  $t"}
    puts ""
}
puts "$::total_passed passed, $::total_failed failed ($::total_skipped skipped) in $secs s"
if {$::total_failed} {
    puts "Logs of failing servers are kept under $::tmproot"
    exit 1
}
catch {file delete -force $::tmproot}
exit 0
