# SORT over lists, sets and sorted sets: numeric and ALPHA ordering, BY and
# GET patterns (string keys, hash fields, #), LIMIT, DESC, STORE, errors.
#
# Expected values are Redis 6.2's. Redis 7.0 differs in one place: it
# honours DESC for a list sorted BY nosort (6.2 keeps the list's order), so
# "SORT BY a pattern without * does not sort" fails against 7.0.

start_server {tags {"sort"}} {

    test {SORT sorts a list numerically} {
        r del l
        r rpush l 10 3 -1 2.5 100
        list [r sort l] [r sort l desc]
    } {{-1 2.5 3 10 100} {100 10 3 2.5 -1}}

    test {SORT ALPHA sorts bytes} {
        r del l
        r rpush l banana apple Cherry 10 9
        r sort l alpha
    } {10 9 Cherry apple banana}

    test {SORT numeric ties fall back to the elements} {
        r del l
        r rpush l 1.0 1 01 0.5
        r sort l
    } {0.5 01 1 1.0}

    test {SORT accepts leading spaces and empty strings as numbers} {
        r del l
        r rpush l " 5" "" 3
        r sort l
    } {{} 3 { 5}}

    test {SORT with elements that are not numbers fails} {
        r del l
        r rpush l 1 a 2
        assert_error {ERR One or more scores can't be converted into double} {r sort l}
        r sort l alpha
    } {1 2 a}

    test {SORT LIMIT offset and count} {
        r del l
        r rpush l 5 4 3 2 1
        list [r sort l limit 1 2] [r sort l limit 3 -1] [r sort l limit 10 2] [r sort l limit -5 2] [r sort l limit 0 0]
    } {{2 3} {4 5} {} {1 2} {}}

    test {SORT BY an external key} {
        r del l
        r rpush l a b c
        r mset w_a 30 w_b 10 w_c 20
        list [r sort l by w_*] [r sort l by w_* desc]
    } {{b c a} {a c b}}

    test {SORT BY a pattern without * does not sort} {
        r del l
        r rpush l 3 1 2
        list [r sort l by nosort] [r sort l by nosort desc] [r sort l by nosort limit 1 1]
    } {{3 1 2} {3 1 2} 1}

    test {SORT BY missing keys: numeric 0, ALPHA first} {
        r del l w_x w_y w_z
        r rpush l x y z
        r set w_y 5
        r mset a_y bbb a_z aaa
        list [r sort l by w_*] [r sort l by a_* alpha]
    } {{x z y} {x z y}}

    test {SORT GET # and GET patterns} {
        r del l
        r rpush l 2 1 3
        r mset name_1 one name_2 two
        r sort l get # get name_*
    } {1 one 2 two 3 {}}

    test {SORT GET of hash fields} {
        r del l h_1 h_2
        r rpush l 1 2
        r hset h_1 f x
        r hset h_2 g y
        list [r sort l get h_*->f] [r sort l by h_*->f alpha get #]
    } {{x {}} {2 1}}

    test {SORT STORE stores a list and replies its length} {
        r del l dst
        r rpush l 3 1 2
        r set dst x
        list [r sort l store dst] [r lrange dst 0 -1] [r type dst] [r object encoding dst]
    } {3 {1 2 3} list quicklist}

    test {SORT STORE of GET values stores missing ones as empty strings} {
        r del l dst name_9
        r rpush l 9 1
        r set name_1 one
        list [r sort l get name_* store dst] [r lrange dst 0 -1]
    } {2 {one {}}}

    test {SORT STORE with an empty result deletes the destination} {
        r del l
        r set dst x
        list [r sort l store dst] [r exists dst]
    } {0 0}

    test {SORT of a missing key is an empty list} {
        r del nokey
        r sort nokey
    } {}

    test {SORT of a set} {
        r del s
        r sadd s 5 -2 10 7
        list [r sort s] [r sort s desc limit 0 2]
    } {{-2 5 7 10} {10 7}}

    test {SORT of a hashtable set ALPHA} {
        r del s
        r sadd s pear apple fig
        r sort s alpha
    } {apple fig pear}

    test {SORT BY nosort of a set STOREd is sorted anyway} {
        r del s dst
        r sadd s c a b 10
        list [r sort s by nosort store dst] [r lrange dst 0 -1]
    } {4 {10 a b c}}

    test {SORT of a sorted set} {
        r del z
        r zadd z 3 c 1 a 2 b
        list [r sort z alpha desc] [r sort z by nosort] [r sort z by nosort desc] [r sort z by nosort limit 1 1]
    } {{c b a} {a b c} {c b a} b}

    test {SORT syntax errors and wrong types} {
        r del l
        r rpush l 1
        r set str x
        assert_error {ERR syntax error} {r sort l foo}
        assert_error {ERR syntax error} {r sort l limit 1}
        assert_error {ERR value is not an integer or out of range} {r sort l limit a 1}
        assert_error {WRONGTYPE*} {r sort str}
        assert_error {ERR syntax error} {r sort l by}
        r sort l
    } {1}
}
