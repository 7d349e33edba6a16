# A separate writer process for the rewrite tests:
#   tclsh helpers/write_load.tcl host port seconds ?keyspace?
# Writes strings, lists, sets and hashes with random keys and values, in
# pipelined batches, until the time is up or the server goes away.

source support/redis.tcl

lassign $argv host port seconds keyspace
if {$keyspace eq ""} {set keyspace 10000}
set r [redis $host $port 1]
set end [expr {[clock milliseconds] + int($seconds * 1000)}]
while {[clock milliseconds] < $end} {
    for {set i 0} {$i < 50} {incr i} {
        set k [expr {int(rand() * $keyspace)}]
        switch [expr {$k % 4}] {
            0 {$r set load:s:$k [expr {rand()}]}
            1 {$r rpush load:l:[expr {$k % 100}] $k}
            2 {$r sadd load:set:[expr {$k % 100}] [expr {int(rand() * 1000)}]}
            3 {$r hset load:h:[expr {$k % 100}] f[expr {int(rand() * 200)}] $k}
        }
    }
    for {set i 0} {$i < 50} {incr i} {
        if {[catch {$r read}]} {exit 0}
    }
}
$r close
