#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The README's walkthrough, run as written: every fenced block that follows
# a "<!-- walkthrough -->" line holds commands ("$ " lines; a line ending
# in a backslash or a pipe continues on the next) each followed by the output the
# README shows for it.  The commands run in order, in one shell, in a
# scratch directory that looks like the top of a built clone (build,
# tests and data are links to this tree), on two fixture sysfs trees and
# two real vpcid daemons.  Each command's stdout and stderr must be the
# README's text once attachment IDs, times and the scratch directory are
# replaced by <ID>, <TIME> and <DIR> (widths kept in table columns); a "..." line in the
# README stands for any number of lines.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

README=$top_srcdir/README.md
W=$TMP/w
B=$TMP/blocks
mkdir -p "$W" "$B"
ln -s "$(cd "$top_builddir" && pwd)" "$W/build"
ln -s "$top_srcdir/tests" "$W/tests"
ln -s "$top_srcdir/data" "$W/data"

# The commands and expected outputs: $B/cmd.N and $B/exp.N, N = 1..count.
awk -v dir="$B" '
    /^<!-- walkthrough -->$/ { armed = 1; next }
    armed && /^```/ { armed = 0; inblock = 1; next }
    inblock && /^```$/ { inblock = 0; cont = 0; next }
    inblock {
        if (cont || /^\$ /) {
            if (!cont) n++
            print (cont ? $0 : substr($0, 3)) > (dir "/cmd." n)
            cont = /(\\|\|)$/
        } else if (n) {
            print > (dir "/exp." n)
        }
    }
    END { print n + 0 > (dir "/count") }' "$README"
count=$(cat "$B/count")
check "the README has the walkthrough (at least 20 commands, found $count)" \
    [ "$count" -ge 20 ]

# normalise: the variable parts of an output, widths kept so that tables
# stay aligned.
ID_PAD='<ID>                                '
TIME_PAD='              '
normalise() {
    sed -E -e "s|$W|<DIR>|g" \
        -e "s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}  /$ID_PAD  /g" \
        -e "s/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<ID>/g" \
        -e "s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\)  /<TIME>)$TIME_PAD  /g" \
        -e "s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z  /<TIME>$TIME_PAD  /g" \
        -e "s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/<TIME>/g"
}

# same EXPECTED ACTUAL: the lines are equal, a "..." line of EXPECTED
# matching any number of lines of ACTUAL.
same() {
    awk '
        function m(i, j,    k) {
            if (i > ne) return j > na
            if (e[i] == "...") {
                for (k = j; k <= na + 1; k++)
                    if (m(i + 1, k)) return 1
                return 0
            }
            return j <= na && e[i] == a[j] && m(i + 1, j + 1)
        }
        NR == FNR { e[++ne] = $0; next }
        { a[++na] = $0 }
        END { exit !m(1, 1) }' "$1" "$2"
}

# wait_socket SOCKET: bounded wait until the daemon there answers /v1/health.
wait_socket() {
    _i=0
    while [ "$_i" -lt "$DAEMON_WAIT_TENTHS" ]; do
        [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' --unix-socket "$1" \
            http://localhost/v1/health 2>/dev/null)" = 200 ] && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

cd "$W" || exit 1
n=1
while [ "$n" -le "$count" ]; do
    [ -f "$B/exp.$n" ] || : >"$B/exp.$n"
    cmd=$(cat "$B/cmd.$n")
    eval "$cmd" >"$B/out.$n" 2>&1 </dev/null
    case $cmd in
    *'&')
        # a daemon started in the background: remember it, wait for it
        CLEANUP_PIDS="$CLEANUP_PIDS $!"
        sock=$(printf '%s\n' "$cmd" | sed -n 's/.*--listen unix:\([^ ]*\).*/\1/p')
        check "\$ $cmd: answers on $sock" wait_socket "$sock"
        ;;
    esac
    normalise <"$B/out.$n" >"$B/act.$n"
    if same "$B/exp.$n" "$B/act.$n"; then
        ok
    else
        not_ok "\$ $cmd: the output the README shows"
        diff -u "$B/exp.$n" "$B/act.$n" | sed -n '3,$s/^/  /p'
    fi
    n=$((n + 1))
done

# The README's sed moves the PM capability exactly as the migration test's
# dump_move_cap does.
expect_eq "the target dump of the README is dump_move_cap's" \
    "$(dump_move_cap "$DUMPS/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci" 40 f0 8 | cksum)" \
    "$(cksum <target.lspci 2>/dev/null)"

# Both daemons stop cleanly.
for p in $CLEANUP_PIDS; do
    kill -TERM "$p" 2>/dev/null
    wait "$p"
    expect_eq "vpcid $p exits 0 on SIGTERM" 0 "$?"
done
CLEANUP_PIDS=
cd "$TMP" || exit 1
finish
