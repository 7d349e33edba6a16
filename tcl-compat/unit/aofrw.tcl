# The background AOF rewrite (BGREWRITEAOF): the file it leaves behind
# reloads to the very dataset the server holds, whether writes keep coming
# from another process meanwhile or not, for every type and encoding; a
# second BGREWRITEAOF is refused while one runs; switching AOF off stops the
# rewrite child.
#
# "BGREWRITEAOF is delayed while BGSAVE runs" waits for BGSAVE.
#
# Against a real Redis 7.0 three tests fail on purpose: 7.0 keeps its AOF
# as base and incr files under appendonlydir/ (no dir/appendonly.aof), and
# names the small hash and zset encoding listpack instead of ziplist.

proc aofrw_wait_done {{level 0}} {
    wait_for_condition 1000 20 {
        [s $level aof_rewrite_in_progress] == 0 && [s $level aof_rewrite_scheduled] == 0
    } else {
        fail "the background AOF rewrite did not finish"
    }
}

# Starts the writer process on the server at `level` for `seconds`.
proc aofrw_start_load {seconds {level 0}} {
    exec tclsh helpers/write_load.tcl [srv $level host] [srv $level port] $seconds &
}

proc aofrw_stop_load {pid} {
    catch {exec kill $pid}
    wait_for_condition 100 20 {![process_is_alive $pid]} else {
        fail "the writer process did not stop"
    }
    reap_children
}

tags {"aofrw"} {

    foreach preamble {no yes} {
        start_server [list overrides [list appendonly yes appendfsync everysec aof-use-rdb-preamble $preamble]] {
            test "Rewrite under a write load from another process keeps every write (preamble $preamble)" {
                r debug populate 20000
                set load [aofrw_start_load 10]
                after 300
                # A child slow enough for the writer to feed it diff.
                r config set rdb-key-save-delay -10
                r bgrewriteaof
                aofrw_wait_done
                after 200
                aofrw_stop_load $load
                set before [r debug digest]
                r debug loadaof
                set after [r debug digest]
                assert_equal $before $after
                assert_equal ok [s aof_last_bgrewrite_status]
                # The rewritten file opens with an RDB snapshot exactly
                # when the preamble is on.
                set fp [open [file join [lindex [r config get dir] 1] appendonly.aof] r]
                fconfigure $fp -translation binary
                set head [read $fp 5]
                close $fp
                assert_equal [expr {$preamble eq "yes"}] [expr {$head eq "REDIS"}]
                restart_server 0
                expr {[r debug digest] eq $before}
            } {1}
        }
    }

    start_server {overrides {appendonly yes}} {
        test {Turning AOF off kills the rewrite child and removes its temp file} {
            r debug populate 5000
            r config set rdb-key-save-delay 1000
            r bgrewriteaof
            wait_for_condition 100 10 {[s aof_rewrite_in_progress] == 1} else {
                fail "no rewrite started"
            }
            wait_for_log_messages 0 {"*Background append only file rewriting started by pid*"} 0 100 10
            set line [lsearch -inline -glob [file_lines_from [srv stdout] 0] "*rewriting started by pid*"]
            set child [lindex $line end]
            assert [process_is_alive $child]
            r config set appendonly no
            assert {![process_is_alive $child]}
            list [s aof_rewrite_in_progress] \
                [llength [glob -nocomplain -directory [srv dir] temp-rewriteaof-*]] \
                [s aof_last_bgrewrite_status]
        } {0 0 ok}

        test {BGREWRITEAOF is refused while a rewrite is in progress} {
            r config set rdb-key-save-delay 0
            r config set appendonly yes
            aofrw_wait_done
            r config set rdb-key-save-delay 1000
            assert_equal {Background append only file rewriting started} [r bgrewriteaof]
            catch {r bgrewriteaof} err
            r config set rdb-key-save-delay 0
            set err
        } {ERR Background append only file rewriting already in progress}

        test {The refused rewrite does not disturb the running one} {
            aofrw_wait_done
            set d [r debug digest]
            r debug loadaof
            list [s aof_last_bgrewrite_status] [expr {[r debug digest] eq $d}]
        } {ok 1}
    }

    foreach {type enc small_cmd} {
        list quicklist rpush
        set intset sadd
        set hashtable sadd
        hash ziplist hset
        hash hashtable hset
        zset ziplist zadd
        zset skiplist zadd
    } {
        foreach size {small big} {
            start_server [list overrides [list appendonly yes]] {
                test "Rewrite of a $type with $enc encoding and $size data" {
                    set n [expr {$size eq "small" ? 16 : 1000}]
                    for {set i 0} {$i < $n} {incr i} {
                        if {$enc eq "intset" || ($type eq "list" && $i % 2)} {
                            set v $i
                        } elseif {$size eq "big" && $enc ne "ziplist"} {
                            set v [string repeat x 100]:$i
                        } else {
                            set v item:$i
                        }
                        switch $type {
                            list {r rpush k $v}
                            set {r sadd k $v}
                            hash {r hset k f:$i $v}
                            zset {r zadd k [expr {$i / 3.0}] $v}
                        }
                    }
                    if {$enc eq "hashtable" || $enc eq "skiplist"} {
                        # Convert with one element past the limits.
                        switch $type {
                            set {r sadd k [string repeat y 100] not-an-int}
                            hash {r hset k [string repeat f 100] [string repeat v 100]}
                            zset {r zadd k 1.5 [string repeat m 100]}
                        }
                    }
                    if {$enc eq "intset" && $size eq "big"} {
                        # 1000 integers pass set-max-intset-entries.
                        set enc hashtable
                    }
                    if {$enc eq "ziplist" && $size eq "big"} {
                        set enc [expr {$type eq "hash" ? "hashtable" : "skiplist"}]
                    }
                    assert_encoding $enc k
                    r pexpire k 100000000
                    set d [r debug digest]
                    r bgrewriteaof
                    aofrw_wait_done
                    r debug loadaof
                    assert_encoding $enc k
                    expr {[r debug digest] eq $d}
                } {1}
            }
        }
    }

    start_server {overrides {appendonly no}} {
        test {BGREWRITEAOF with AOF off writes the file once} {
            r set foo bar
            r bgrewriteaof
            aofrw_wait_done
            r set not-logged 1
            file exists [srv dir]/appendonly.aof
        } {1}

        test {CONFIG SET appendonly yes waits for its rewrite, then appends} {
            r config set appendonly yes
            aofrw_wait_done
            r set after on
            r debug loadaof
            list [r get foo] [r get not-logged] [r get after]
        } {bar 1 on}
    }
}
