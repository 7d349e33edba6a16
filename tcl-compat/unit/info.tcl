start_server {tags {"info"}} {

    proc errorstat {type} {
        return [info_field [r info errorstats] errorstat_$type]
    }
    proc cmdstat {cmd} {
        return [info_field [r info commandstats] cmdstat_$cmd]
    }

    test {INFO default sections, in order} {
        set sections {}
        foreach line [split [r info] "\r\n"] {
            if {[string match "# *" $line]} {lappend sections [string range $line 2 end]}
        }
        set sections
    } {Server Clients Memory Persistence Stats Replication CPU Modules Errorstats Cluster Keyspace}

    test {INFO all adds Commandstats} {
        set sections {}
        foreach line [split [r info all] "\r\n"] {
            if {[string match "# *" $line]} {lappend sections [string range $line 2 end]}
        }
        assert {[lsearch -exact $sections Commandstats] >= 0}
        assert {[lsearch -exact $sections Errorstats] >= 0}
    }

    test {INFO server has the expected fields} {
        set i [r info server]
        assert_match "# Server\r\n*" $i
        assert_equal [srv 0 port] [info_field $i tcp_port]
        assert_equal [srv 0 pid] [info_field $i process_id]
        assert_match {[0-9]*.[0-9]*.[0-9]*} [info_field $i redis_version]
        assert_equal standalone [info_field $i redis_mode]
        assert_equal [file normalize [srv 0 config_file]] [info_field $i config_file]
        foreach f {run_id uptime_in_seconds hz executable arch_bits} {
            assert_not_equal {} [info_field $i $f] "field $f"
        }
    }

    test {INFO section names are case insensitive, unknown sections are empty} {
        assert_match "# Clients\r\n*" [r info CLIENTS]
        r info nosuchsection
    } {}

    test {INFO clients counts connections} {
        set before [info_field [r info clients] connected_clients]
        set c [redis_client]
        $c ping
        set during [info_field [r info clients] connected_clients]
        $c close
        expr {$during - $before}
    } {1}

    test {Commandstats: calls, usec, rejected and failed calls} {
        r config resetstat
        r set k v
        r set k v2
        r get k
        assert_match {calls=2,usec=*,usec_per_call=*,rejected_calls=0,failed_calls=0} [cmdstat set]
        assert_match {calls=1,*} [cmdstat get]
        # Arity errors are rejected calls: the command never runs.
        catch {r get}
        assert_match {calls=1,*,rejected_calls=1,failed_calls=0} [cmdstat get]
        # Errors while running are failed calls.
        catch {r incr k}
        assert_match {calls=1,*,rejected_calls=0,failed_calls=1} [cmdstat incr]
    }

    test {Errorstats: counts by error prefix} {
        r config resetstat
        catch {r incr k}
        catch {r nosuchcommand}
        catch {r set k v ex -1}
        assert_equal {count=3} [errorstat ERR]
        catch {r auth x y}
        assert_equal {count=1} [errorstat WRONGPASS]
        assert_equal 4 [s total_error_replies]
    }

    test {Unknown commands do not appear in commandstats} {
        r config resetstat
        catch {r nosuchcommand}
        assert_no_match {*nosuchcommand*} [r info commandstats]
        assert_equal {count=1} [errorstat ERR]
    }

    test {CONFIG RESETSTAT clears commandstats and errorstats} {
        catch {r nosuchcommand}
        r set k v
        r config resetstat
        list [errorstat ERR] [cmdstat set] [s total_error_replies]
    } {{} {} 0}

    test {Keyspace section} {
        r flushall
        assert_equal {} [info_field [r info keyspace] db0]
        r set a 1
        r set b 2
        r expire b 1000
        r select 3
        r set c 3
        r select 0
        set i [r info keyspace]
        list [info_field $i db0] [info_field $i db3]
    } {keys=2,expires=1,avg_ttl=0 keys=1,expires=0,avg_ttl=0}

    test {Stats counters move} {
        set before [s total_commands_processed]
        r ping
        r ping
        set after [s total_commands_processed]
        assert {$after - $before >= 2}
        set conns [s total_connections_received]
        set c [redis_client]
        $c ping
        $c close
        assert_equal [expr {$conns + 1}] [s total_connections_received]
        assert_not_equal {} [s keyspace_hits]
        assert_not_equal {} [s expired_keys]
    }

    test {keyspace_hits and keyspace_misses} {
        r config resetstat
        r set hk v
        r get hk
        r get hk
        r get nosuchkey
        list [s keyspace_hits] [s keyspace_misses]
    } {2 1}
}

start_server {tags {"info"}} {
    start_server {} {
        test {Nested servers: each has its own port, pid and run_id} {
            assert_not_equal [srv -1 port] [srv 0 port]
            assert_not_equal [srv -1 pid] [srv 0 pid]
            assert_equal [srv -1 port] [info_field [r -1 info server] tcp_port]
            assert_equal [srv 0 port] [info_field [r info server] tcp_port]
            assert_not_equal [info_field [r -1 info server] run_id] [info_field [r 0 info server] run_id]
        }

        test {Nested servers: keyspaces are separate} {
            r -1 set where outer
            r set where inner
            list [r -1 get where] [r get where] [r -1 dbsize] [r dbsize]
        } {outer inner 1 1}
    }

    test {The outer server is level 0 again after the inner one stopped} {
        r get where
    } {outer}
}
