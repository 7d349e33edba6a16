start_server {tags {"config"}} {

    test {CONFIG SET and GET round trip for integers, memory and enums} {
        set res {}
        foreach {name value expected} {
            maxmemory 10mb 10485760
            maxmemory 1gb 1073741824
            maxmemory 0 0
            timeout 300 300
            slowlog-max-len 42 42
            slowlog-log-slower-than 5000 5000
            hz 50 50
            loglevel warning warning
            maxmemory-policy allkeys-lru allkeys-lru
            appendfsync always always
            maxclients 1000 1000
        } {
            assert_equal OK [r config set $name $value]
            assert_equal [list $name $expected] [r config get $name]
        }
        # Back to the default: "Ready to accept connections" is a notice.
        r config set loglevel notice
    }

    test {CONFIG SET booleans accept yes/no in any case} {
        r config set dynamic-hz NO
        set a [r config get dynamic-hz]
        r config set dynamic-hz yes
        list $a [r config get dynamic-hz]
    } {{dynamic-hz no} {dynamic-hz yes}}

    test {CONFIG SET hz is clamped to 1..500} {
        r config set hz 1000
        set a [lindex [r config get hz] 1]
        r config set hz 10
        set a
    } {500}

    test {CONFIG SET parameter names are case insensitive} {
        r config set MAXMEMORY 2mb
        r config get maxmemory
    } {maxmemory 2097152}

    test {CONFIG SET errors: unknown parameter} {
        catch {r config set no-such-param 1} e
        set e
    } {ERR Unsupported CONFIG parameter: no-such-param}

    test {CONFIG SET errors: bad values} {
        assert_error {ERR Invalid argument 'abc' for CONFIG SET 'maxmemory'*} {r config set maxmemory abc}
        assert_error {ERR Invalid argument 'abc' for CONFIG SET 'hz'*} {r config set hz abc}
        assert_error {ERR Invalid argument 'maybe' for CONFIG SET 'dynamic-hz' - argument must be 'yes' or 'no'} {r config set dynamic-hz maybe}
        assert_error {ERR Invalid argument 'nope' for CONFIG SET 'appendfsync'*} {r config set appendfsync nope}
        assert_error {ERR Invalid argument '-5' for CONFIG SET 'maxclients'*} {r config set maxclients -5}
    }

    test {CONFIG SET takes exactly one parameter (6.2)} {
        assert_error {ERR*wrong number of arguments*} {r config set maxmemory 1mb hz 20}
        assert_error {ERR*wrong number of arguments*} {r config set maxmemory}
        r config get maxmemory
    } {maxmemory 2097152}

    test {CONFIG SET of an immutable parameter is refused} {
        assert_error {ERR Unsupported CONFIG parameter: daemonize} {r config set daemonize yes}
        assert_error {ERR Unsupported CONFIG parameter: port} {r config set port 1234}
    }

    test {CONFIG GET of an unknown parameter is an empty list} {
        r config get no-such-param
    } {}

    test {CONFIG GET of immutable parameters} {
        list [r config get port] [r config get daemonize] [r config get dir]
    } [list [list port [srv 0 port]] {daemonize no} [list dir [srv 0 dir]]]

    test {CONFIG unknown subcommand} {
        assert_error {ERR Unknown subcommand or wrong number of arguments for 'foo'*} {r config foo}
    }

    test {CONFIG REWRITE writes changed values and keeps the rest of the file} {
        set fd [open [srv 0 config_file] a]
        puts $fd "# a comment that must survive"
        close $fd
        r config set maxmemory 3mb
        r config set slowlog-max-len 77
        assert_equal OK [r config rewrite]
        set text [read_file_text [srv 0 config_file]]
        assert_match "*port [srv 0 port]*" $text
        assert_match "*# a comment that must survive*" $text
        assert_match "*\nmaxmemory 3mb*" $text
        assert_match "*\nslowlog-max-len 77*" $text
    }

    test {CONFIG REWRITE: values survive a restart} {
        r config set hz 33
        r config set maxmemory-policy volatile-ttl
        r config rewrite
        restart_server 0
        list [r config get hz] [r config get maxmemory] [r config get maxmemory-policy] [r config get slowlog-max-len]
    } {{hz 33} {maxmemory 3145728} {maxmemory-policy volatile-ttl} {slowlog-max-len 77}}

    test {CONFIG REWRITE twice leaves the file unchanged} {
        r config rewrite
        set a [read_file_text [srv 0 config_file]]
        r config rewrite
        set b [read_file_text [srv 0 config_file]]
        expr {$a eq $b}
    } {1}

    test {CONFIG RESETSTAT} {
        r set k v
        catch {r nosuchcmd}
        assert_equal OK [r config resetstat]
        assert_equal {} [info_field [r info commandstats] cmdstat_set]
        assert_equal 0 [s total_error_replies]
        # The counter restarts: RESETSTAT itself and two INFOs so far.
        assert_equal 3 [s total_commands_processed]
    }
}

start_server {tags {"config"} overrides {maxmemory 5mb hz 25 "slowlog-max-len" 9}} {
    test {Values from the config file are in effect} {
        list [r config get maxmemory] [r config get hz] [r config get slowlog-max-len]
    } {{maxmemory 5242880} {hz 25} {slowlog-max-len 9}}
}

start_server {tags {"config"} args {--hz 42 --maxmemory 1mb}} {
    test {Command line options override the config file} {
        list [r config get hz] [r config get maxmemory]
    } {{hz 42} {maxmemory 1048576}}
}

tags {"config"} {
    test {A bad config file keeps the server from starting} {
        set err {}
        catch {start_server {overrides {maxmemory lots}} {}} err
        assert_match {*server exited during startup*} $err
        assert_match {*FATAL CONFIG FILE ERROR*} $err
    }
}
