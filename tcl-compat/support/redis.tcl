# A small blocking RESP2 client for the oxredis Tcl suite.
#
#   set r [redis 127.0.0.1 6379 ?defer?]
#   $r set foo bar        ;# -> OK
#   $r get foo            ;# -> bar
#   $r deferred 1         ;# commands only send; replies come from `$r read`
#   $r read               ;# read one reply
#   $r binary 1           ;# arguments and bulk replies as raw bytes (DUMP)
#   $r close
#
# Replies become Tcl values: status and bulk strings as strings, integers as
# integers, arrays as lists, nil as the empty string. An error reply raises a
# Tcl error whose message is the server's text (e.g. "ERR syntax error").

namespace eval redis {
    variable next_id 0
    variable fd
    variable defer
    variable readraw
    variable binary
}

proc redis {host port {defer 0}} {
    set fd [socket $host $port]
    fconfigure $fd -translation binary -buffering none -blocking 1
    set id [incr ::redis::next_id]
    set ::redis::fd($id) $fd
    set ::redis::defer($id) $defer
    set ::redis::readraw($id) 0
    set ::redis::binary($id) 0
    set name ::redis::handle$id
    proc $name {args} "::redis::dispatch $id {*}\$args"
    return $name
}

# Serialises one command as a RESP multibulk request (arguments as UTF-8,
# or as they are, byte strings, in binary mode).
proc ::redis::format_command {argv {binary 0}} {
    set cmd "*[llength $argv]\r\n"
    foreach a $argv {
        # (Not through expr: it would rewrite numeric-looking arguments.)
        if {$binary} {set b $a} else {set b [encoding convertto utf-8 $a]}
        append cmd "\$[string length $b]\r\n$b\r\n"
    }
    return $cmd
}

proc ::redis::dispatch {id method args} {
    set fd $::redis::fd($id)
    switch -exact -- $method {
        close {
            catch {::close $fd}
            unset ::redis::fd($id) ::redis::defer($id) ::redis::readraw($id) ::redis::binary($id)
            rename ::redis::handle$id {}
            return
        }
        read {
            return [::redis::read_reply $id $fd]
        }
        deferred {
            set ::redis::defer($id) [lindex $args 0]
            return
        }
        readraw {
            set ::redis::readraw($id) [lindex $args 0]
            return
        }
        binary {
            set ::redis::binary($id) [lindex $args 0]
            return
        }
        channel {
            return $fd
        }
        write {
            # Raw bytes, no framing.
            puts -nonewline $fd [lindex $args 0]
            flush $fd
            return
        }
        flush {
            flush $fd
            return
        }
    }
    puts -nonewline $fd [::redis::format_command [linsert $args 0 $method] $::redis::binary($id)]
    flush $fd
    if {!$::redis::defer($id)} {
        return [::redis::read_reply $id $fd]
    }
    return
}

proc ::redis::read_line {fd} {
    set line [gets $fd]
    if {$line eq "" && [eof $fd]} {
        error "I/O error reading reply: connection closed"
    }
    return [string range $line 0 end-1]
}

proc ::redis::read_bulk {fd len} {
    if {$len < 0} {return {}}
    set data [::read $fd $len]
    if {[string length $data] != $len} {
        error "I/O error reading reply: short bulk"
    }
    ::read $fd 2 ;# CRLF
    return $data
}

proc ::redis::read_reply {id fd} {
    if {$::redis::readraw($id)} {
        return [::redis::read_line $fd]
    }
    set type [::read $fd 1]
    if {$type eq ""} {
        error "I/O error reading reply: connection closed"
    }
    switch -exact -- $type {
        + {return [::redis::read_line $fd]}
        - {return -code error [::redis::read_line $fd]}
        : {return [::redis::read_line $fd]}
        $ {
            set data [::redis::read_bulk $fd [::redis::read_line $fd]]
            if {$::redis::binary($id)} {return $data}
            return [encoding convertfrom utf-8 $data]
        }
        * {
            set n [::redis::read_line $fd]
            set l {}
            for {set i 0} {$i < $n} {incr i} {
                # An error nested in an array (e.g. inside EXEC) is kept as
                # its text; only transport failures propagate.
                if {[catch {::redis::read_reply $id $fd} v opts]} {
                    if {[string match {I/O error*} $v] || [string match {Bad protocol*} $v]} {
                        return -options $opts $v
                    }
                }
                lappend l $v
            }
            return $l
        }
        default {
            set rest [::redis::read_line $fd]
            error "Bad protocol, '$type' as reply type byte ($type$rest)"
        }
    }
}
