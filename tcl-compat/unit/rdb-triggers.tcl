# What starts an RDB save besides SAVE and BGSAVE: save points checked by
# the cron, FLUSHALL (which also stops a running background save), and
# SHUTDOWN; and the -MISCONF refusal of writes while the last background
# save failed (stop-writes-on-bgsave-error).
#
# A save is made to fail by pointing `dir` at a directory that is then
# removed: that fails for root as well, where file permissions would not.

# Redis 7 refuses CONFIG SET dir unless protected configs are enabled.
set rdbt_extra {}
if {[file tail $::server_bin] eq "redis-server"} {
    set rdbt_extra {enable-protected-configs yes}
}

proc rdbt_wait_bgsave_done {} {
    wait_for_condition 200 50 {[s rdb_bgsave_in_progress] == 0} else {
        fail "background save still running"
    }
}

start_server [list tags {"rdb"} overrides $rdbt_extra] {

    test {Save points are off with save ""} {
        r set foo bar
        after 2200
        list [lindex [r config get save] 1] [file exists [srv 0 dir]/dump.rdb] [s rdb_changes_since_last_save]
    } {{} 0 1}

    test {A save point fires once it has enough changes} {
        set lastsave [r lastsave]
        r config set save "1 2"
        assert_equal {save {1 2}} [r config get save]
        # One change of the two needed: nothing happens.
        after 2200
        assert_equal 0 [file exists [srv 0 dir]/dump.rdb]
        set loglines [count_log_lines 0]
        r set foo bar2
        wait_for_condition 100 50 {[file exists [srv 0 dir]/dump.rdb]} else {
            fail "the save point did not fire"
        }
        wait_for_log_messages 0 {"*2 changes in 1 seconds. Saving...*"} $loglines 20 50
        rdbt_wait_bgsave_done
        list [s rdb_changes_since_last_save] [s rdb_last_bgsave_status] [expr {[r lastsave] > $lastsave}]
    } {0 ok 1}

    test {BGSAVE resets the change counter} {
        r config set save ""
        r set a 1
        r set b 2
        assert_equal 2 [s rdb_changes_since_last_save]
        r bgsave
        rdbt_wait_bgsave_done
        s rdb_changes_since_last_save
    } {0}

    test {FLUSHALL stops a running background save} {
        r debug populate 1000
        r config set rdb-key-save-delay 100000
        r bgsave
        wait_for_condition 50 20 {[s rdb_bgsave_in_progress] == 1} else {
            fail "BGSAVE did not start"
        }
        r flushall
        # Killed on purpose: not counted as a failed save.
        wait_for_condition 50 100 {[s rdb_bgsave_in_progress] == 0} else {
            fail "FLUSHALL did not stop the background save"
        }
        r config set rdb-key-save-delay 0
        list [s rdb_last_bgsave_status] [r dbsize]
    } {ok 0}

    test {Writes get MISCONF while the last background save failed} {
        set gone [srv 0 dir]/gone
        file mkdir $gone
        r config set dir $gone
        file delete -force $gone
        r set before 1
        set loglines [count_log_lines 0]
        r config set save "1 1"
        wait_for_log_messages 0 {"*Background saving error*"} $loglines 100 50
        assert_equal err [s rdb_last_bgsave_status]
        assert_error {MISCONF*stop-writes-on-bgsave-error option*} {r set foo bar}
        assert_error {MISCONF*} {r del before}
        assert_error {MISCONF*} {r ping}
        # Reads still work.
        r get before
    } {1}

    test {MISCONF inside MULTI fails the queued write and EXEC} {
        r multi
        catch {r set foo bar} e1
        catch {r exec} e2
        list [string range $e1 0 6] [string range $e2 0 8]
    } {MISCONF EXECABORT}

    test {stop-writes-on-bgsave-error no lets writes through} {
        r config set stop-writes-on-bgsave-error no
        set ok [r set foo bar]
        r config set stop-writes-on-bgsave-error yes
        assert_error {MISCONF*} {r set foo bar}
        set ok
    } {OK}

    test {A successful save lets writes through again} {
        r config set dir [srv 0 dir]
        r config set save ""
        r set foo nosavepoints
        r config set save "3600 1"
        assert_error {MISCONF*} {r set foo bar}
        r bgsave
        rdbt_wait_bgsave_done
        list [s rdb_last_bgsave_status] [r set foo bar] [r get foo]
    } {ok OK bar}
}

start_server [list tags {"rdb shutdown"} overrides $rdbt_extra] {

    test {SHUTDOWN refuses to exit when the final save fails} {
        r config set save "3600 1"
        r set foo bar
        set gone [srv 0 dir]/gone
        file mkdir $gone
        r config set dir $gone
        file delete -force $gone
        assert_error {*Errors trying to SHUTDOWN*} {r shutdown}
        assert_error {*Errors trying to SHUTDOWN*} {r shutdown save}
        r config set dir [srv 0 dir]
        list [r ping] [r get foo]
    } {PONG bar}

    test {SHUTDOWN NOSAVE does not save} {
        set pid [srv 0 pid]
        catch {r shutdown nosave}
        reconnect
        wait_for_condition 100 50 {![process_is_alive $pid]} else {
            fail "server still running after SHUTDOWN NOSAVE"
        }
        file exists [srv 0 dir]/dump.rdb
    } {0}

    test {SHUTDOWN SAVE saves even without save points} {
        restart_server 0
        r config set save ""
        r set foo bar
        set pid [srv 0 pid]
        catch {r shutdown save}
        reconnect
        wait_for_condition 100 50 {![process_is_alive $pid]} else {
            fail "server still running after SHUTDOWN SAVE"
        }
        file exists [srv 0 dir]/dump.rdb
    } {1}

    test {SHUTDOWN with save points saves} {
        file delete [srv 0 dir]/dump.rdb
        restart_server 0
        r config set save "3600 1"
        r set foo bar
        set pid [srv 0 pid]
        catch {r shutdown}
        reconnect
        wait_for_condition 100 50 {![process_is_alive $pid]} else {
            fail "server still running after SHUTDOWN"
        }
        file exists [srv 0 dir]/dump.rdb
    } {1}
}
