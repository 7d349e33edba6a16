# DUMP and RESTORE: the payload format (value as in an RDB file, RDB
# version, CRC-64), a round trip of every type and encoding, TTLs (relative
# and ABSTTL, already expired), REPLACE and BUSYKEY, IDLETIME and FREQ, and
# payloads that are damaged or lie about their content.
#
# Payloads are binary: a second client in binary mode carries them. A
# payload is rebuilt here (crc64 below) when a test damages its value but
# must get past the checksum. Against a real Redis 7 (`--server
# redis-server`) the payloads say RDB version 10 instead of 9.

# CRC-64 (Jones polynomial, reflected, as crc64.c): a table, then a byte at
# a time.
set ::crc64_table {}
for {set i 0} {$i < 256} {incr i} {
    set c $i
    for {set j 0} {$j < 8} {incr j} {
        if {$c & 1} {
            set c [expr {($c >> 1) ^ 0x95ac9329ac4bc9b5}]
        } else {
            set c [expr {$c >> 1}]
        }
    }
    lappend ::crc64_table $c
}

proc crc64 {data} {
    set crc 0
    binary scan $data cu* bytes
    foreach b $bytes {
        set crc [expr {[lindex $::crc64_table [expr {($crc ^ $b) & 0xff}]] ^ ($crc >> 8)}]
    }
    return $crc
}

proc crc64_bytes {crc} {
    binary format ii [expr {$crc & 0xffffffff}] [expr {$crc >> 32}]
}

# `payload` with its last 8 bytes replaced by the CRC-64 of the rest.
proc dump_fix_crc {payload} {
    set body [string range $payload 0 end-8]
    return $body[crc64_bytes [crc64 $body]]
}

proc dump_rdb_version {} {
    if {[file tail $::server_bin] eq "redis-server"} {return 10}
    return 9
}

proc dump_enc {key} {
    set e [r object encoding $key]
    if {$e eq "listpack"} {return ziplist}
    return $e
}

tags {"dump"} {

start_server {} {
    set rb [redis_client]
    $rb binary 1

    test {CRC-64 of the check string} {
        format %llx [crc64 123456789]
    } {e9c6d914c4b8d9ca}

    test {DUMP of a missing key is nil} {
        $rb dump nosuchkey
    } {}

    test {DUMP payload: type, value, RDB version and CRC-64} {
        r set k hello
        set p [$rb dump k]
        binary scan [string range $p end-9 end-8] s ver
        set crc_ok [expr {[string range $p end-7 end] eq [crc64_bytes [crc64 [string range $p 0 end-8]]]}]
        # Type 0 (string), then the length-prefixed "hello".
        list [string range $p 0 6] $ver $crc_ok
    } [list "\x00\x05hello" [dump_rdb_version] 1]

    # One key per type and encoding.
    r set s:int -123456
    r set s:emb "an embedded string"
    r set s:raw [string repeat "x" 200]
    r set s:bin "\x00\x01\xff\xfe\r\n binary"
    r rpush l:small 1 two 3
    for {set i 0} {$i < 2000} {incr i} {lappend els "e$i"}
    r rpush l:big {*}$els
    r sadd st:int 5 -5 500000 5000000000
    r sadd st:ht a b c
    r zadd z:small 1 a 2 b -inf c
    for {set i 0} {$i < 300} {incr i} {r zadd z:big $i m$i}
    r hset h:small a 1 b 2
    for {set i 0} {$i < 600} {incr i} {r hset h:big f$i v$i}
    set keys {s:int s:emb s:raw s:bin l:small l:big st:int st:ht z:small z:big h:small h:big}

    foreach k $keys {
        test "DUMP / RESTORE round trip: $k ([dump_enc $k])" {
            set enc [dump_enc $k]
            set dig [r debug digest-value $k]
            set p [$rb dump $k]
            r del $k
            assert_equal OK [$rb restore $k 0 $p]
            list [dump_enc $k] [r debug digest-value $k] [r ttl $k]
        } [list [dump_enc $k] [r debug digest-value $k] -1]
    }

    test {RESTORE with a TTL} {
        set p [$rb dump s:emb]
        r del s:emb
        $rb restore s:emb 3000000 $p
        assert_range [r pttl s:emb] 2990000 3000000
        r get s:emb
    } {an embedded string}

    test {RESTORE ABSTTL takes a unix time in milliseconds} {
        set p [$rb dump s:emb]
        set at [expr {[clock milliseconds] + 100000}]
        $rb restore abs 0 $p absttl
        r persist abs
        $rb restore abs2 $at $p absttl
        assert_range [r pttl abs2] 99000 100000
        r ttl abs
    } {-1}

    test {RESTORE with an ABSTTL in the past creates nothing} {
        set p [$rb dump s:emb]
        list [$rb restore gone 1000 $p absttl] [r exists gone]
    } {OK 0}

    test {RESTORE REPLACE over an expired-at-once key deletes the old one} {
        r set victim old
        set p [$rb dump s:emb]
        list [$rb restore victim 1 $p absttl replace] [r exists victim]
    } {OK 0}

    test {RESTORE on an existing key: BUSYKEY, REPLACE overwrites} {
        set p [$rb dump l:small]
        catch {$rb restore h:small 0 $p} e
        assert_match {BUSYKEY*} $e
        assert_equal OK [$rb restore h:small 0 $p replace]
        list [r type h:small] [r lrange h:small 0 -1]
    } {list {1 two 3}}

    test {RESTORE REPLACE drops the old TTL} {
        r set t v ex 1000
        set p [$rb dump s:int]
        $rb restore t 0 $p replace
        list [r ttl t] [r get t]
    } {-1 -123456}

    test {RESTORE with a negative TTL} {
        set p [$rb dump s:int]
        catch {$rb restore neg -1 $p} e
        set e
    } {ERR Invalid TTL value, must be >= 0}

    test {RESTORE with an unknown option} {
        set p [$rb dump s:int]
        catch {$rb restore opt 0 $p sometimes} e
        set e
    } {ERR syntax error}

    test {RESTORE with a damaged checksum} {
        set p [$rb dump s:raw]
        set bad [string range $p 0 end-1][binary format c [expr {([scan [string index $p end] %c] ^ 1) & 255}]]
        catch {$rb restore bad 0 $bad} e
        list $e [r exists bad]
    } {{ERR DUMP payload version or checksum are wrong} 0}

    test {RESTORE of a payload from a future RDB version} {
        set p [$rb dump s:raw]
        set n [string length $p]
        set future [string replace $p [expr {$n - 10}] [expr {$n - 9}] [binary format s 200]]
        catch {$rb restore future 0 [dump_fix_crc $future]} e
        set e
    } {ERR DUMP payload version or checksum are wrong}

    test {RESTORE of a short payload} {
        catch {$rb restore short 0 "\x00\x01"} e
        set e
    } {ERR DUMP payload version or checksum are wrong}

    test {RESTORE of an unknown type with a valid checksum: Bad data format} {
        set p [$rb dump s:emb]
        set other "\x63[string range $p 1 end]"
        catch {$rb restore odd 0 [dump_fix_crc $other]} e
        list $e [r exists odd]
    } {{ERR Bad data format} 0}

    test {RESTORE of a damaged ziplist with a valid checksum: Bad data format} {
        set p [$rb dump h:small]
        # Past the type byte and the blob's length: the ziplist header.
        # Its total-bytes field no longer matches the blob.
        set bad [string replace $p 3 3 "\xee"]
        catch {$rb restore zl 0 [dump_fix_crc $bad]} e
        list $e [r exists zl]
    } {{ERR Bad data format} 0}

    test {RESTORE of a truncated value with a valid checksum: Bad data format} {
        set p [$rb dump l:big]
        # Keep the footer, cut the value short.
        set cut "[string range $p 0 20][string range $p end-9 end]"
        catch {$rb restore cut 0 [dump_fix_crc $cut]} e
        set e
    } {ERR Bad data format}

    test {RESTORE IDLETIME sets the idle time} {
        set p [$rb dump s:int]
        $rb restore idle 0 $p idletime 1000
        assert_range [r object idletime idle] 1000 1002
        catch {$rb restore idle2 0 $p idletime -1} e
        set e
    } {ERR Invalid IDLETIME value, must be >= 0}

    test {RESTORE with IDLETIME and FREQ together is a syntax error} {
        set p [$rb dump s:int]
        catch {$rb restore both 0 $p idletime 10 freq 10} e
        set e
    } {ERR syntax error}

    $rb close
}

start_server {overrides {maxmemory-policy allkeys-lfu}} {
    set rb [redis_client]
    $rb binary 1

    test {RESTORE FREQ sets the LFU counter} {
        r set k v
        set p [$rb dump k]
        $rb restore f 0 $p freq 100
        r object freq f
    } {100}

    test {RESTORE FREQ out of range} {
        set p [$rb dump k]
        catch {$rb restore f2 0 $p freq 256} e
        set e
    } {ERR Invalid FREQ value, must be >= 0 and <= 255}

    $rb close
}

start_server {} {
    set rb [redis_client]
    $rb binary 1

    test {A payload restores in another database to the same value} {
        r select 3
        $rb select 3
        r zadd z 0.5 a 1e300 b -0.0 c
        set p [$rb dump z]
        set d [r debug digest-value z]
        $rb select 4
        $rb restore z 0 $p
        r select 4
        assert_equal $d [r debug digest-value z]
        r zrange z 0 -1
    } {c a b}

    $rb close
}

}
