# Starting and stopping oxredis servers for the units.
#
# start_server {tags {t1 t2} overrides {name value ...} args {--opt v}} {body}
#
# The innermost running server is level 0, the one around it -1, and so on:
# `srv 0 port`, `srv -1 pid`, `r -1 get foo`.

set ::servers {}        ;# stack of dicts, innermost last
set ::server_bin [file normalize ../target/release/oxredis-server]
set ::tmproot [file normalize tmp]
set ::baseport 21111
set ::portcount 100
set ::next_port_offset 0
set ::server_counter 0
set ::server_start_timeout_ms 10000

# Returns a port in this worker's range that nothing listens on now.
proc find_available_port {} {
    for {set i 0} {$i < $::portcount} {incr i} {
        set port [expr {$::baseport + ($::next_port_offset % $::portcount)}]
        incr ::next_port_offset
        if {![catch {socket -server {apply {args {}}} -myaddr 127.0.0.1 $port} fd]} {
            close $fd
            return $port
        }
    }
    error "no free port in $::baseport..[expr {$::baseport + $::portcount - 1}]"
}

proc srv_index {level} {
    set n [llength $::servers]
    set idx [expr {$n - 1 + $level}]
    if {$level > 0 || $idx < 0} {
        error "no server at level $level ($n running)"
    }
    return $idx
}

# srv ?level? property
proc srv {args} {
    if {[llength $args] == 1} {
        set level 0
        set prop [lindex $args 0]
    } else {
        lassign $args level prop
    }
    set d [lindex $::servers [srv_index $level]]
    if {![dict exists $d $prop]} {error "server has no property '$prop'"}
    return [dict get $d $prop]
}

proc srv_set {level prop value} {
    set idx [srv_index $level]
    set d [lindex $::servers $idx]
    dict set d $prop $value
    lset ::servers $idx $d
}

# r ?level? command args...
proc r {args} {
    set level 0
    if {[string is integer -strict [lindex $args 0]]} {
        set level [lindex $args 0]
        set args [lrange $args 1 end]
    }
    set client [srv $level client]
    if {$client eq ""} {
        set client [redis_client $level]
        srv_set $level client $client
    }
    return [$client {*}$args]
}

proc redis_client {{level 0}} {
    return [redis [srv $level host] [srv $level port] 0]
}

proc redis_deferring_client {{level 0}} {
    return [redis [srv $level host] [srv $level port] 1]
}

# Drops the level's default client; the next `r` reconnects.
proc reconnect {{level 0}} {
    set client [srv $level client]
    if {$client ne ""} {catch {$client close}}
    srv_set $level client {}
}

proc read_file_text {path} {
    if {[catch {open $path r} fd]} {return {}}
    set t [read $fd]
    close $fd
    return $t
}

# Kills pid (TERM, then KILL after 10 s) and waits until it is gone.
proc kill_server_pid {pid} {
    if {![process_is_alive $pid]} {reap_children; return}
    catch {exec kill $pid}
    set deadline [expr {[clock milliseconds] + 10000}]
    while {[process_is_alive $pid] && [clock milliseconds] < $deadline} {
        after 10
    }
    if {[process_is_alive $pid]} {
        catch {exec kill -9 $pid}
        while {[process_is_alive $pid]} {after 10}
    }
    reap_children
}

proc write_server_config {path port dir overrides} {
    set fd [open $path w]
    puts $fd "port $port"
    puts $fd "bind 127.0.0.1"
    puts $fd "dir $dir"
    puts $fd "logfile $dir/stdout"
    puts $fd "daemonize no"
    puts $fd "save \"\""
    puts $fd "appendonly no"
    if {[file tail $::server_bin] eq "redis-server"} {
        # Lets the suite run against a real Redis 7 for comparison.
        puts $fd "enable-debug-command yes"
    }
    foreach {k v} $overrides {
        puts $fd "$k $v"
    }
    close $fd
}

# Starts the process for config `conf`; returns its pid once the log says
# it is ready. Raises "port in use" or the log tail on failure.
proc spawn_server {conf dir extra_args wait_ready} {
    set log $dir/stdout
    set loglines [llength [split [read_file_text $log] "\n"]]
    set pid [exec $::server_bin $conf {*}$extra_args >> $dir/stderr 2>@1 &]
    # Remember it, so the master can reap it if this worker dies.
    set pf [open $::pidfile a]
    puts $pf $pid
    close $pf
    if {!$wait_ready} {return $pid}
    set deadline [expr {[clock milliseconds] + $::server_start_timeout_ms}]
    while 1 {
        set lines [lrange [split [read_file_text $log] "\n"] [expr {$loglines - 1}] end]
        if {[lsearch -glob $lines "*Ready to accept connections*"] >= 0} {
            return $pid
        }
        if {![process_is_alive $pid]} {
            reap_children
            set text "[join $lines \n]\n[read_file_text $dir/stderr]"
            if {[string match "*Address already in use*" $text]} {
                error "port in use"
            }
            error "server exited during startup:\n$text"
        }
        if {[clock milliseconds] > $deadline} {
            kill_server_pid $pid
            error "server not ready after $::server_start_timeout_ms ms:\n[join $lines \n]"
        }
        after 10
    }
}

proc start_server {options {code {}}} {
    set tags {}
    set overrides {}
    set extra_args {}
    set wait_ready 1
    foreach {k v} $options {
        switch -- $k {
            tags {set tags $v}
            overrides {set overrides $v}
            config {set overrides [concat $v $overrides]}
            args {set extra_args $v}
            wait_ready {set wait_ready $v}
            default {error "start_server: unknown option $k"}
        }
    }
    set saved_tags $::tags
    set ::tags [concat $::tags $tags]
    # A server whose tags are excluded is not even started.
    foreach t $::denytags {
        if {[lsearch -exact $::tags $t] >= 0} {
            set ::tags $saved_tags
            return
        }
    }

    set dir $::tmproot/server.[pid].[incr ::server_counter]
    file mkdir $dir
    set conf $dir/oxredis.conf
    set pid 0
    for {set attempt 0} {$attempt < 5} {incr attempt} {
        set port [find_available_port]
        write_server_config $conf $port $dir $overrides
        if {[catch {spawn_server $conf $dir $extra_args $wait_ready} pid]} {
            if {$pid eq "port in use"} continue
            set ::tags $saved_tags
            error "start_server ($dir): $pid"
        }
        break
    }
    if {$attempt == 5} {
        set ::tags $saved_tags
        error "start_server: could not find a free port"
    }

    lappend ::servers [dict create host 127.0.0.1 port $port pid $pid \
        dir $dir config_file $conf stdout $dir/stdout stderr $dir/stderr \
        args $extra_args client {}]
    if {$code eq ""} {
        # Without a body the caller owns the server (rare): leave it pushed.
        return
    }
    set failed_before $::num_failed
    if {$wait_ready} {
        catch {srv_set 0 client [redis_client 0]}
    }
    set rc [catch {uplevel 1 $code} res opts]

    set d [lindex $::servers end]
    set ::servers [lrange $::servers 0 end-1]
    catch {[dict get $d client] close}
    kill_server_pid [dict get $d pid]
    set ::tags $saved_tags

    if {$rc == 0 && $::num_failed == $failed_before} {
        file delete -force $dir
    } else {
        emit "    (server logs kept in $dir)"
    }
    if {$rc == 1} {
        return -options $opts $res
    }
    return
}

# Restarts the server at `level` with the same config, port and directory.
proc restart_server {level {wait_ready 1}} {
    reconnect $level
    kill_server_pid [srv $level pid]
    set pid [spawn_server [srv $level config_file] [srv $level dir] [srv $level args] $wait_ready]
    srv_set $level pid $pid
}
