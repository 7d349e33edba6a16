start_server {tags {"auth"}} {
    test {AUTH fails if there is no password configured server side} {
        catch {r auth foo} err
        set err
    } {ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?}

    test {AUTH with the default user and no password set is accepted} {
        # The default user is "nopass": any password matches.
        r auth default anything
    } {OK}

    test {AUTH with an unknown user fails} {
        catch {r auth nosuchuser pw} err
        set err
    } {WRONGPASS invalid username-password pair or user is disabled.}

    test {AUTH arity errors} {
        assert_error "ERR wrong number of arguments for 'auth' command" {r auth}
        assert_error "ERR syntax error" {r auth a b c}
    }
}

start_server {tags {"auth"} overrides {requirepass foobar}} {
    test {Commands are refused before AUTH} {
        catch {r set foo bar} err
        set err
    } {NOAUTH Authentication required.}

    test {Unknown commands get the unknown command error even before AUTH} {
        catch {r nosuchcommand} err
        set err
    } {ERR unknown command `nosuchcommand`, with args beginning with: }

    test {AUTH with the wrong password} {
        catch {r auth wrong!} err
        set err
    } {WRONGPASS invalid username-password pair or user is disabled.}

    test {AUTH with the wrong password in the two-argument form} {
        catch {r auth default wrong!} err
        set err
    } {WRONGPASS invalid username-password pair or user is disabled.}

    test {Still not authenticated after a failed AUTH} {
        catch {r ping} err
        set err
    } {NOAUTH Authentication required.}

    test {AUTH with the right password, then commands work} {
        list [r auth foobar] [r set foo bar] [r get foo]
    } {OK OK bar}

    test {AUTH default <password> works on a new connection} {
        set c [redis_client]
        set res [list [$c auth default foobar] [$c get foo]]
        $c close
        set res
    } {OK bar}

    test {A failed AUTH does not log out an authenticated client} {
        set c [redis_client]
        $c auth foobar
        catch {$c auth wrong} err
        set res [list $err [$c get foo]]
        $c close
        set res
    } {{WRONGPASS invalid username-password pair or user is disabled.} bar}

    test {Inline commands are refused before AUTH as well} {
        set fd [raw_connect]
        puts -nonewline $fd "GET foo\r\nAUTH foobar\r\nGET foo\r\n"
        flush $fd
        set a [raw_gets $fd]
        set b [raw_gets $fd]
        set c [raw_gets $fd]
        set d [raw_gets $fd]
        close $fd
        list $a $b $c $d
    } {{-NOAUTH Authentication required.} +OK {$3} bar}

    test {Failed AUTH attempts are counted as rejected in errorstats} {
        set c [redis_client]
        catch {$c auth nope}
        $c close
        assert_match "*errorstat_WRONGPASS:count=*" [r info errorstats]
    }

    test {CONFIG SET requirepass changes the password for new AUTHs} {
        r config set requirepass newpass
        set c [redis_client]
        catch {$c auth foobar} e1
        set ok [$c auth newpass]
        $c close
        r config set requirepass foobar
        list $e1 $ok
    } {{WRONGPASS invalid username-password pair or user is disabled.} OK}

    test {CONFIG SET requirepass to empty lets everybody in} {
        r config set requirepass ""
        set c [redis_client]
        set res [$c ping]
        $c close
        r config set requirepass foobar
        set res
    } {PONG}

    test {CONFIG GET requirepass returns the password} {
        r config get requirepass
    } {requirepass foobar}
}
