# String commands: SET/GET and their options, the multi-key forms, ranges,
# bit operations, STRALGO LCS and the string encodings.
#
# Expected values are Redis 6.2's. Known differences of Redis 7.0 (fail on
# purpose with --server redis-server): MSET/MSETNX odd-argument error text,
# SET ... GET NX (allowed by 7.0), the SET family's invalid expire time
# text (7.0 quotes the command name), and STRALGO (removed in 7.0).

start_server {tags {"string"}} {

    # ------------------------------------------------------------ SET / GET

    test {SET then GET returns the value, GET of a missing key is nil} {
        r flushdb
        list [r set greeting hi] [r get greeting] [r get absent]
    } {OK hi {}}

    test {SET overwrites and keeps binary-safe values} {
        r set bin "a\r\nb\x00c"
        set v1 [r get bin]
        r set bin ""
        list [string length $v1] [expr {$v1 eq "a\r\nb\x00c"}] [r get bin] [r exists bin]
    } {6 1 {} 1}

    test {SET of a large value round-trips} {
        set big [string repeat "0123456789abcdef" 8192]
        r set big $big
        assert_equal [r strlen big] 131072
        expr {[r get big] eq $big}
    } {1}

    test {SET NX only sets a missing key} {
        r del nx1
        list [r set nx1 first nx] [r set nx1 second nx] [r get nx1]
    } {OK {} first}

    test {SET XX only sets an existing key} {
        r del xx1
        set a [r set xx1 v xx]
        set b [r exists xx1]
        r set xx1 old
        list $a $b [r set xx1 new xx] [r get xx1]
    } {{} 0 OK new}

    test {SET options are case insensitive} {
        r del ci
        list [r set ci 1 Nx] [r set ci 2 xX] [r get ci]
    } {OK OK 2}

    test {SET GET returns the old value, or nil for a new key} {
        r del sg
        set a [r set sg one get]
        set b [r set sg two get]
        list $a $b [r get sg]
    } {{} one two}

    test {SET GET with XX does not create the key} {
        r del sg
        list [r set sg v xx get] [r exists sg]
    } {{} 0}

    test {SET EX / PX set a TTL} {
        r set t v ex 1000
        assert_range [r ttl t] 990 1000
        r set t v px 123456
        assert_range [r pttl t] 120000 123456
    }

    test {SET EXAT / PXAT set an absolute expire time} {
        set future [expr {[clock seconds] + 1000}]
        r set t v exat $future
        assert_range [r ttl t] 990 1000
        r set t v pxat [expr {$future * 1000 + 500}]
        assert_range [r pttl t] 990000 1001000
    }

    test {SET EXAT / PXAT in the past stores nothing} {
        r set past v
        set a [r set past v2 exat 1]
        set b [r exists past]
        r set past v
        set c [r set past v2 pxat 1000]
        list $a $b $c [r exists past]
    } {OK 0 OK 0}

    test {SET without options clears the TTL, KEEPTTL retains it} {
        r set t v ex 500
        r set t v2 keepttl
        set a [r ttl t]
        r set t v3
        assert_range $a 490 500
        list [r ttl t] [r get t]
    } {-1 v3}

    test {SET option conflicts are syntax errors} {
        assert_error {ERR syntax error} {r set k v nx xx}
        assert_error {ERR syntax error} {r set k v ex 10 px 100}
        assert_error {ERR syntax error} {r set k v ex 10 exat 100}
        assert_error {ERR syntax error} {r set k v px 10 pxat 100}
        assert_error {ERR syntax error} {r set k v ex 10 keepttl}
        assert_error {ERR syntax error} {r set k v keepttl px 10}
        assert_error {ERR syntax error} {r set k v ex}
        assert_error {ERR syntax error} {r set k v bogus}
        assert_error {ERR syntax error} {r set k v get nx}
    }

    test {SET with a non positive or non integer expire time} {
        assert_error {ERR invalid expire time in set} {r set k v ex 0}
        assert_error {ERR invalid expire time in set} {r set k v px -1}
        assert_error {ERR invalid expire time in set} {r set k v exat 0}
        assert_error {ERR invalid expire time in set} {r set k v pxat -10}
        assert_error {ERR invalid expire time in set} {r set k v ex 9223372036854775807}
        assert_error {ERR value is not an integer or out of range} {r set k v ex 1.5}
        assert_error {ERR value is not an integer or out of range} {r set k v px ten}
    }

    test {GET with the wrong number of arguments} {
        assert_error {ERR wrong number of arguments for 'get' command} {r get}
        assert_error {ERR wrong number of arguments for 'get' command} {r get a b}
    }

    # ------------------------------------------------- SETNX SETEX PSETEX

    test {SETNX} {
        r del snx
        list [r setnx snx a] [r setnx snx b] [r get snx]
    } {1 0 a}

    test {SETNX does not touch the TTL of an existing key} {
        r set snx a ex 300
        r setnx snx b
        assert_range [r ttl snx] 290 300
        r get snx
    } {a}

    test {SETEX and PSETEX} {
        assert_equal OK [r setex se 100 v1]
        assert_range [r ttl se] 90 100
        assert_equal OK [r psetex se 5000 v2]
        assert_range [r pttl se] 4000 5000
        r get se
    } {v2}

    test {SETEX / PSETEX reject bad expire times} {
        assert_error {ERR invalid expire time in setex} {r setex se 0 v}
        assert_error {ERR invalid expire time in setex} {r setex se -3 v}
        assert_error {ERR invalid expire time in psetex} {r psetex se 0 v}
        assert_error {ERR value is not an integer or out of range} {r setex se x v}
        r get se
    } {v2}

    # ---------------------------------------------------- MGET MSET MSETNX

    test {MSET and MGET, missing keys are nil} {
        r flushdb
        assert_equal OK [r mset a 1 b 2 c 3]
        r mget a nope b c a
    } {1 {} 2 3 1}

    test {MSET with an odd number of arguments} {
        assert_error {ERR wrong number of arguments for MSET} {r mset a 1 b}
        assert_error {ERR wrong number of arguments for 'mset' command} {r mset a}
    }

    test {MSET: the last value of a repeated key wins, TTLs are cleared} {
        r set a x ex 100
        r mset a 1 a 2
        list [r get a] [r ttl a]
    } {2 -1}

    test {MSETNX sets all keys or none} {
        r flushdb
        set a [r msetnx x1 a x2 b]
        set b [r msetnx x2 c x3 d]
        list $a $b [r mget x1 x2 x3]
    } {1 0 {a b {}}}

    test {MSETNX with an odd number of arguments} {
        assert_error {ERR wrong number of arguments for MSET} {r msetnx a 1 b}
    }

    test {MSETNX with a repeated new key} {
        r del dup
        list [r msetnx dup 1 dup 2] [r get dup]
    } {1 2}

    # ------------------------------------------------ GETSET GETDEL GETEX

    test {GETSET returns the old value and clears the TTL} {
        r del gs
        set a [r getset gs one]
        r expire gs 100
        set b [r getset gs two]
        list $a $b [r get gs] [r ttl gs]
    } {{} one two -1}

    test {GETDEL} {
        r set gd v
        list [r getdel gd] [r exists gd] [r getdel gd]
    } {v 0 {}}

    test {GETDEL removes the TTL entry too} {
        r set gd v ex 100
        r getdel gd
        r set gd v
        r ttl gd
    } {-1}

    test {GETEX without options is a GET} {
        r set ge v ex 100
        set v [r getex ge]
        assert_range [r ttl ge] 90 100
        list $v [r getex nosuchkey]
    } {v {}}

    test {GETEX EX / PX / EXAT / PXAT / PERSIST} {
        r set ge v
        assert_equal v [r getex ge ex 100]
        assert_range [r ttl ge] 90 100
        assert_equal v [r getex ge px 200000]
        assert_range [r pttl ge] 190000 200000
        set at [expr {[clock seconds] + 300}]
        r getex ge exat $at
        assert_range [r ttl ge] 290 300
        r getex ge pxat [expr {$at * 1000 + 100000}]
        assert_range [r ttl ge] 390 400
        assert_equal v [r getex ge persist]
        r ttl ge
    } {-1}

    test {GETEX with a time in the past deletes the key} {
        r set ge v
        list [r getex ge pxat 1] [r exists ge]
    } {v 0}

    test {GETEX on a missing key does not create it} {
        r del ge
        list [r getex ge ex 10] [r exists ge]
    } {{} 0}

    test {GETEX errors} {
        r set ge v
        assert_error {ERR syntax error} {r getex ge ex 10 px 10}
        assert_error {ERR syntax error} {r getex ge persist ex 10}
        assert_error {ERR syntax error} {r getex ge foo}
        assert_error {ERR syntax error} {r getex ge ex}
        assert_error {ERR invalid expire time in getex} {r getex ge ex 0}
        assert_error {ERR invalid expire time in getex} {r getex ge px -5}
        assert_error {ERR value is not an integer or out of range} {r getex ge ex abc}
        r ttl ge
    } {-1}

    # ------------------------------------------- APPEND STRLEN ranges

    test {APPEND creates and extends} {
        r del ap
        list [r append ap hello] [r append ap " world"] [r get ap]
    } {5 11 {hello world}}

    test {APPEND to an integer value} {
        r set ap 42
        list [r append ap 7] [r get ap]
    } {3 427}

    test {APPEND keeps the TTL} {
        r set ap x ex 100
        r append ap y
        assert_range [r ttl ap] 90 100
        r get ap
    } {xy}

    test {STRLEN of strings and integers} {
        r set s1 hello
        r set s2 -12345
        r del s3
        list [r strlen s1] [r strlen s2] [r strlen s3]
    } {5 6 0}

    test {GETRANGE with positive and negative indexes} {
        r set gr "Hello World"
        list [r getrange gr 0 4] [r getrange gr -5 -1] [r getrange gr 6 100] \
             [r getrange gr 0 -1] [r getrange gr -100 2] [r getrange gr 0 -100]
    } {Hello World World {Hello World} Hel H}

    test {GETRANGE empty results} {
        r set gr "Hello"
        list [r getrange gr 3 1] [r getrange gr 10 20] [r getrange nosuchkey 0 -1] \
             [r getrange gr -1 -2]
    } {{} {} {} {}}

    test {GETRANGE of an integer encoded value} {
        r set gr 1234567
        list [r getrange gr 1 3] [r getrange gr -2 -1]
    } {234 67}

    test {GETRANGE argument errors} {
        r set gr x
        assert_error {ERR value is not an integer or out of range} {r getrange gr a 1}
        assert_error {ERR wrong number of arguments for 'getrange' command} {r getrange gr 1}
    }

    test {SUBSTR is an alias of GETRANGE} {
        r set gr "abcdef"
        list [r substr gr 1 3] [r substr gr -2 -1]
    } {bcd ef}

    test {SETRANGE inside, at the end and past the end} {
        r set sr "Hello World"
        assert_equal 11 [r setrange sr 6 Redis]
        assert_equal "Hello Redis" [r get sr]
        assert_equal 13 [r setrange sr 11 "!!"]
        assert_equal 16 [r setrange sr 15 "?"]
        set v [r get sr]
        list [string range $v 0 12] [expr {[string range $v 13 14] eq "\x00\x00"}] [string index $v 15]
    } {{Hello Redis!!} 1 ?}

    test {SETRANGE on a missing key pads with zero bytes} {
        r del sr
        assert_equal 4 [r setrange sr 2 ab]
        expr {[r get sr] eq "\x00\x00ab"}
    } {1}

    test {SETRANGE with an empty value} {
        r del sr
        set a [r setrange sr 5 ""]
        set b [r exists sr]
        r set sr abc
        list $a $b [r setrange sr 10 ""] [r get sr]
    } {0 0 3 abc}

    test {SETRANGE on an integer value} {
        r set sr 1234
        list [r setrange sr 1 9] [r get sr]
    } {4 1934}

    test {SETRANGE errors} {
        r set sr abc
        assert_error {ERR offset is out of range} {r setrange sr -1 x}
        assert_error {ERR value is not an integer or out of range} {r setrange sr one x}
        assert_error {ERR string exceeds maximum allowed size (proto-max-bulk-len)} {r setrange sr 536870912 x}
        assert_error {ERR string exceeds maximum allowed size (proto-max-bulk-len)} {r setrange sr 536870911 xy}
        assert_error {ERR string exceeds maximum allowed size (proto-max-bulk-len)} {r setrange newkey 4294967296 x}
        list [r get sr] [r exists newkey]
    } {abc 0}

    # ------------------------------------------------------- bit commands

    test {SETBIT returns the old bit, GETBIT reads it} {
        r del bits
        set a [r setbit bits 1 1]
        set b [r setbit bits 1 1]
        set c [r setbit bits 7 1]
        # 0b01000001 is "A"
        list $a $b $c [r get bits] [r getbit bits 1] [r getbit bits 2] [r getbit bits 1000] [r getbit nosuchkey 0]
    } {0 1 0 A 1 0 0 0}

    test {SETBIT grows the string} {
        r del bits
        r setbit bits 100 1
        list [r strlen bits] [r bitcount bits] [r getbit bits 100]
    } {13 1 1}

    test {SETBIT on an integer encoded value} {
        r set bits 1
        # "1" is 0x31; setting bit 6 gives 0x33, "3"
        list [r setbit bits 6 1] [r get bits]
    } {0 3}

    test {SETBIT / GETBIT errors} {
        r set bits x
        assert_error {ERR bit is not an integer or out of range} {r setbit bits 0 2}
        assert_error {ERR bit is not an integer or out of range} {r setbit bits 0 -1}
        assert_error {ERR bit offset is not an integer or out of range} {r setbit bits -1 1}
        assert_error {ERR bit offset is not an integer or out of range} {r setbit bits 4294967296 1}
        assert_error {ERR bit offset is not an integer or out of range} {r getbit bits -1}
        assert_error {ERR bit offset is not an integer or out of range} {r getbit bits abc}
    }

    test {BITCOUNT whole string and byte ranges} {
        r set bc foobar
        list [r bitcount bc] [r bitcount bc 0 0] [r bitcount bc 1 1] [r bitcount bc -1 -1] \
             [r bitcount bc 0 -1] [r bitcount bc 4 2] [r bitcount nosuchkey]
    } {26 4 6 4 26 0 0}

    test {BITCOUNT against a random string matches a Tcl count} {
        set s [randstring 300]
        r set bc $s
        binary scan $s B* bits
        set n [regexp -all 1 $bits]
        assert_equal $n [r bitcount bc]
        binary scan [string range $s 10 99] B* bits
        assert_equal [regexp -all 1 $bits] [r bitcount bc 10 99]
    }

    test {BITCOUNT errors} {
        r set bc x
        assert_error {ERR syntax error} {r bitcount bc 0}
        assert_error {ERR syntax error} {r bitcount bc 0 1 2}
        assert_error {ERR value is not an integer or out of range} {r bitcount bc a 1}
    }

    test {BITPOS finds the first set and clear bits} {
        r set bp "\x00\x0f"
        list [r bitpos bp 1] [r bitpos bp 0] [r bitpos bp 1 1] [r bitpos bp 1 -1 -1]
    } {12 0 12 12}

    test {BITPOS on an all-ones string} {
        r del bp
        r setrange bp 0 "\x7f"
        r setbit bp 0 1
        # "\xff": no clear bit inside, so with no end the answer is past it
        list [r bitpos bp 0] [r bitpos bp 0 0 0] [r bitpos bp 1]
    } {8 -1 0}

    test {BITPOS on missing keys and empty ranges} {
        r set bp "\x00"
        list [r bitpos nosuchkey 0] [r bitpos nosuchkey 1] [r bitpos bp 1] [r bitpos bp 1 5 10]
    } {0 -1 -1 -1}

    test {BITPOS errors} {
        r set bp x
        assert_error {ERR The bit argument must be 1 or 0.} {r bitpos bp 2}
        assert_error {ERR syntax error} {r bitpos bp 1 0 1 2}
        assert_error {ERR value is not an integer or out of range} {r bitpos bp 1 x}
    }

    test {BITOP AND / OR / XOR} {
        r set b1 abc
        r set b2 ABC
        set and [r bitop and dand b1 b2]
        set or [r bitop or dor b1 b2]
        set xor [r bitop xor dxor b1 b2]
        list $and [r get dand] $or [r get dor] $xor [r get dxor]
    } {3 ABC 3 abc 3 {   }}

    test {BITOP pads shorter sources with zeros} {
        r set b1 "ab"
        r set b2 "a"
        r del nosuch
        r bitop or dor b1 b2 nosuch
        r bitop and dand b1 b2
        list [r get dor] [r strlen dand] [r getbit dand 9] [r bitcount dand 1 1]
    } {ab 2 0 0}

    test {BITOP NOT twice gives back the source} {
        r set b1 "Hello"
        assert_equal 5 [r bitop not dnot b1]
        assert_equal 20 [r bitcount dnot]
        r bitop not dnot2 dnot
        r get dnot2
    } {Hello}

    test {BITOP with only missing sources deletes the destination} {
        r set dest x
        list [r bitop or dest nosuch1 nosuch2] [r exists dest]
    } {0 0}

    test {BITOP errors} {
        assert_error {ERR BITOP NOT must be called with a single source key.} {r bitop not d a b}
        assert_error {ERR syntax error} {r bitop nand d a b}
        assert_error {ERR wrong number of arguments for 'bitop' command} {r bitop and d}
    }

    test {BITFIELD SET and GET signed and unsigned fields} {
        r del bf
        list [r bitfield bf set u8 0 255] [r bitfield bf get u8 0] [r bitfield bf get i8 0] \
             [r bitfield bf get u4 0] [r bitfield bf get u4 100]
    } {0 255 -1 15 0}

    test {BITFIELD with #N positional offsets} {
        r del bf
        r bitfield bf set u8 #0 65 set u8 #1 66 set u8 #2 67
        list [r get bf] [r bitfield bf get u8 #1]
    } {ABC 66}

    test {BITFIELD INCRBY with WRAP, SAT and FAIL} {
        r del bf
        r bitfield bf set u8 0 250
        set w [r bitfield bf incrby u8 0 10]
        r bitfield bf set u8 0 250
        set s [r bitfield bf overflow sat incrby u8 0 10]
        set f [r bitfield bf overflow fail incrby u8 0 10]
        set g [r bitfield bf get u8 0]
        r bitfield bf set i8 0 -120
        set sn [r bitfield bf overflow sat incrby i8 0 -100]
        set wn [r bitfield bf overflow wrap incrby i8 0 -10]
        list $w $s $f $g $sn $wn
    } {4 255 {{}} 255 -128 118}

    test {BITFIELD several operations in one call} {
        r del bf
        r bitfield bf set i16 0 -2 incrby i16 0 5 get i16 0 get u16 0
    } {0 3 3 3}

    test {BITFIELD i64 works, u64 is rejected} {
        r del bf
        set a [r bitfield bf set i64 0 9223372036854775807 get i64 0]
        assert_error {ERR Invalid bitfield type.*} {r bitfield bf get u64 0}
        set a
    } {0 9223372036854775807}

    test {BITFIELD errors} {
        assert_error {ERR Invalid bitfield type.*} {r bitfield bf get x8 0}
        assert_error {ERR Invalid bitfield type.*} {r bitfield bf get u0 0}
        assert_error {ERR bit offset is not an integer or out of range} {r bitfield bf get u8 -1}
        assert_error {ERR syntax error} {r bitfield bf get u8}
        assert_error {ERR syntax error} {r bitfield bf bogus u8 0}
        assert_error {ERR Invalid OVERFLOW type specified} {r bitfield bf overflow maybe}
        assert_error {ERR value is not an integer or out of range} {r bitfield bf set u8 0 x}
    }

    test {BITFIELD with no operations does not create the key} {
        r del bf
        list [r bitfield bf] [r exists bf]
    } {{} 0}

    test {BITFIELD_RO only reads} {
        r del bf
        r bitfield bf set u8 0 200
        assert_equal {200 12} [r bitfield_ro bf get u8 0 get u4 0]
        assert_error {ERR BITFIELD_RO only supports the GET subcommand} {r bitfield_ro bf set u8 0 1}
        assert_error {ERR BITFIELD_RO only supports the GET subcommand} {r bitfield_ro bf incrby u8 0 1}
        r bitfield_ro nosuchkey get u8 0
    } {0}

    # --------------------------------------------------------- STRALGO LCS

    test {STRALGO LCS with STRINGS and KEYS} {
        r set l1 ohmytext
        r set l2 mynewtext
        list [r stralgo lcs strings ohmytext mynewtext] [r stralgo lcs keys l1 l2] \
             [r stralgo lcs len keys l1 l2]
    } {mytext mytext 6}

    test {STRALGO LCS of missing keys and of empty strings} {
        r del nosuch1 nosuch2
        list [r stralgo lcs keys nosuch1 nosuch2] [r stralgo lcs len strings "" abc] \
             [r stralgo lcs strings abc xyz]
    } {{} 0 {}}

    test {STRALGO LCS IDX} {
        r stralgo lcs idx strings ohmytext mynewtext
    } {matches {{{4 7} {5 8}} {{2 3} {0 1}}} len 6}

    test {STRALGO LCS IDX WITHMATCHLEN} {
        r stralgo lcs idx withmatchlen keys l1 l2
    } {matches {{{4 7} {5 8} 4} {{2 3} {0 1} 2}} len 6}

    test {STRALGO LCS IDX MINMATCHLEN} {
        list [r stralgo lcs idx minmatchlen 3 keys l1 l2] \
             [r stralgo lcs idx minmatchlen 5 withmatchlen keys l1 l2]
    } {{matches {{{4 7} {5 8}}} len 6} {matches {} len 6}}

    test {STRALGO with an unknown algorithm is a syntax error} {
        assert_error {ERR syntax error} {r stralgo xyz strings a b}
    }

    test {STRALGO LCS errors} {
        assert_error {ERR If you want both the length and indexes, please just use IDX.} {r stralgo lcs len idx strings a b}
        assert_error {ERR Please specify two strings: STRINGS or KEYS options are mandatory} {r stralgo lcs len}
        assert_error {ERR Please specify two strings: STRINGS or KEYS options are mandatory} {r stralgo lcs}
        assert_error {ERR Either use STRINGS or KEYS} {r stralgo lcs strings a b keys l1 l2}
        assert_error {ERR syntax error} {r stralgo lcs strings a}
        assert_error {ERR syntax error} {r stralgo lcs minmatchlen}
        assert_error {ERR syntax error} {r stralgo lcs idx bogus strings a b}
        assert_error {ERR value is not an integer or out of range} {r stralgo lcs minmatchlen x strings a b}
        assert_error {ERR wrong number of arguments for 'stralgo' command} {r stralgo}
    }

    # ------------------------------------------------------------ encodings

    test {Small and large integers are int encoded} {
        foreach v {0 1 -1 9999 10000 123456789 9223372036854775807 -9223372036854775808} {
            r set enc $v
            assert_encoding int enc
            assert_equal $v [r get enc]
        }
    }

    test {Strings that are not canonical integers are not int encoded} {
        foreach v {+1 01 -0 1.0 " 5" "5 " 9223372036854775808 0x10} {
            r set enc $v
            assert_encoding embstr enc
            assert_equal $v [r get enc]
        }
    }

    test {embstr up to 44 bytes, raw beyond} {
        r set enc [string repeat a 44]
        assert_encoding embstr enc
        r set enc [string repeat a 45]
        assert_encoding raw enc
        r set enc ""
        assert_encoding embstr enc
    }

    test {APPEND and SETRANGE turn embstr and int into raw} {
        r set enc abc
        r append enc d
        assert_encoding raw enc
        r set enc 123
        r append enc 4
        assert_encoding raw enc
        r set enc abc
        r setrange enc 0 x
        assert_encoding raw enc
        r set enc 77
        r setbit enc 0 0
        assert_encoding raw enc
        r get enc
    } {77}

    test {GETSET / SETNX / MSET / SETEX values get the same encodings as SET} {
        r del e1 e2 e3 e4
        r getset e1 100
        r setnx e2 [string repeat z 44]
        r mset e3 [string repeat z 45]
        r setex e4 100 -7
        assert_encoding int e1
        assert_encoding embstr e2
        assert_encoding raw e3
        assert_encoding int e4
    }
}
