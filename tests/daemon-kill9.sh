#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Crash safety of the store: a client publishes a stream of distinct
# layouts over the unix socket while vpcid is killed with SIGKILL, a few
# rounds.  After each restart on the same database every acknowledged
# version is there with its hash, version numbers have no gap, at most the
# one request in flight was committed unacknowledged, SQLite's integrity
# check passes, the audit log has one row per version, and publishing goes
# on (a retry of the request in flight is idempotent).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

ROUNDS=${KILL9_ROUNDS:-4}     # the last one kills after a random delay
PER_ROUND=${KILL9_PUBLISHES:-60}
NAME=k9
URL=/v1/instance-types/$NAME/versions
ACKS=$TMP/acks # "variant version hash" per acknowledged publish

echo "func 0000:3b:00.0 $DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=2 vfdriver=vfio-pci" |
    make_tree "$TREE"
check "fixture tree built" test -L "$TREE/bus/pci/devices/0000:3c:10.2"

# Distinct valid layouts: example.vpci (without its binding) with the last
# two raw bytes set to the variant number.
mkdir "$TMP/v"
sed '/^binding/,$d' "$FIX/layouts/example.vpci" >"$TMP/base.vpci"
check "the raw line to vary is there" grep -q '^  0x0a0 bytes 4 01 02 03 04$' "$TMP/base.vpci"
total=$((ROUNDS * PER_ROUND + ROUNDS + 1))
i=0
while [ "$i" -le "$total" ]; do
    sed "s/^  0x0a0 bytes 4 01 02 03 04\$/  0x0a0 bytes 4 01 02 $(printf '%02x %02x' $((i / 256)) $((i % 256)))/" \
        "$TMP/base.vpci" >"$TMP/v/$i.vpci"
    version_body "$TMP/v/$i.vpci" >"$TMP/v/$i.json"
    echo "$i $(layout_hash "$TMP/v/$i.vpci")" >>"$TMP/hashes"
    i=$((i + 1))
done
expect_eq "$((total + 1)) variants with distinct hashes" "$((total + 1))" \
    "$(cut -d' ' -f2 "$TMP/hashes" | sort -u | grep -c '^sha256:')"
hash_of() {
    awk -v i="$1" '$1 == i { print $2 }' "$TMP/hashes"
}

if ! daemon_start; then
    not_ok "vpcid starts"
    finish
    exit 1
fi
ok
type_body "$NAME" "$TMP/v/0.vpci" >"$TMP/create.json"
post_json /v1/instance-types "$TMP/create.json"
expect_eq "create the type: 201 version 1" "201 1 $(hash_of 0)" "$STATUS $(jb '"\(.version) \(.hash)"')"
echo "0 1 $(hash_of 0)" >"$ACKS"

# client FROM TO: publish variants FROM..TO in order until the daemon stops
# answering; log each acknowledgement and where it stopped.
client() {
    c=$1
    while [ "$c" -le "$2" ]; do
        code=$(curl -sS -m 30 --unix-socket "$SOCK" -o "$TMP/client.body" -w '%{http_code}' \
            -H 'Content-Type: application/json' --data-binary "@$TMP/v/$c.json" \
            "http://localhost$URL" 2>/dev/null)
        case $code in
        2??) echo "$c $(jq -r '"\(.version) \(.hash)"' "$TMP/client.body")" >>"$ACKS" ;;
        000 | "")
            echo "$c" >"$TMP/client.stop"
            return
            ;;
        *) echo "variant $c: HTTP $code $(cat "$TMP/client.body")" >>"$TMP/client.err" ;;
        esac
        c=$((c + 1))
    done
    echo done >"$TMP/client.stop"
}

next=1 # the next variant to publish
round=1
while [ "$round" -le "$ROUNDS" ]; do
    rm -f "$TMP/client.stop"
    acked0=$(wc -l <"$ACKS")
    last=$((next + PER_ROUND - 1))
    client "$next" "$last" &
    CPID=$!
    CLEANUP_PIDS="$CLEANUP_PIDS $CPID"
    if [ "$round" -lt "$ROUNDS" ]; then
        # after K acknowledgements, K random in 5..20
        k=$(awk -v s="$$$round" 'BEGIN { srand(s); print 5 + int(rand() * 16) }')
        what="after $k acknowledgements"
        t=0
        while [ "$(($(wc -l <"$ACKS") - acked0))" -lt "$k" ] && [ "$t" -lt 1500 ] &&
            ! [ -e "$TMP/client.stop" ]; do
            sleep 0.02
            t=$((t + 1))
        done
    else
        # after a random delay of 0.2..1.0 s
        d=$(awk -v s="$$$round" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 0.8 }')
        what="after $d s"
        sleep "$d"
    fi
    running=no
    proc_alive "$CPID" && ! [ -e "$TMP/client.stop" ] && running=yes
    daemon_kill9
    expect_eq "round $round: SIGKILL $what lands while the client publishes" yes "$running"
    expect_eq "round $round: the daemon died of SIGKILL" 137 "$DAEMON_RC"
    t=0
    while proc_alive "$CPID" && [ "$t" -lt 600 ]; do
        sleep 0.1
        t=$((t + 1))
    done
    wait "$CPID"
    stop=$(cat "$TMP/client.stop" 2>/dev/null)
    check "round $round: the client stopped at the kill" matches "$stop" '[0-9]+'
    [ -s "$TMP/client.err" ] && sed 's/^/  /' "$TMP/client.err"
    check "round $round: every answer before the kill was 2xx" test ! -s "$TMP/client.err"
    acked_max=$(awk '{ print $2 }' "$ACKS" | sort -n | tail -n 1)
    echo "round $round: killed $what; $(($(wc -l <"$ACKS") - acked0)) acknowledged, up to version $acked_max"

    expect_eq "round $round: integrity check on the killed database" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check' 2>&1)"
    if ! daemon_start; then
        not_ok "round $round: vpcid restarts on the killed database"
        break
    fi
    ok
    api GET "$URL"
    expect_status "round $round: versions after the restart" 200
    jq -c '[.versions[] | [.version, .hash, .state]]' "$RBODY" >"$TMP/versions.json"
    m=$(jq length "$TMP/versions.json")
    expect_eq "round $round: version numbers 1..$m without a gap" true \
        "$(jq '[.[][0]] == [range(1; length + 1)]' "$TMP/versions.json")"
    missing=0
    while read -r var v h; do
        got=$(jq -r --argjson v "$v" '.[] | select(.[0] == $v) | .[1]' "$TMP/versions.json")
        if [ "$got" != "$h" ] || [ "$h" != "$(hash_of "$var")" ]; then
            missing=$((missing + 1))
            echo "  variant $var acknowledged as version $v ($h); now: '$got'"
        fi
    done <"$ACKS"
    expect_eq "round $round: every acknowledged version is there with its hash" 0 "$missing"
    check "round $round: at most the request in flight committed unacknowledged ($m versions, $acked_max acknowledged)" \
        test "$m" -ge "$acked_max" -a "$m" -le "$((acked_max + 1))"
    expect_eq "round $round: distinct hashes, all of posted variants" "$m $m" \
        "$(jq -r '.[][1]' "$TMP/versions.json" | sort -u | wc -l) $(jq -r '.[][1]' "$TMP/versions.json" | grep -c -F -x -f "$(cut -d' ' -f2 "$TMP/hashes" >"$TMP/h"; echo "$TMP/h")")"
    expect_eq "round $round: one audit row per version" "$m" \
        "$(sqlite3 -cmd '.timeout 10000' "$DB" 'SELECT count(*) FROM audit')"

    # retry the request that was in flight: idempotent if it was committed
    if [ "$stop" != done ] && [ -n "$stop" ]; then
        post_json "$URL" "$TMP/v/$stop.json"
        if [ "$m" -gt "$acked_max" ]; then
            expect_eq "round $round: retry of the committed request in flight" "200 $m $(hash_of "$stop")" \
                "$STATUS $(jb '"\(.version) \(.hash)"')"
        else
            expect_eq "round $round: retry of the lost request in flight" "201 $((m + 1)) $(hash_of "$stop")" \
                "$STATUS $(jb '"\(.version) \(.hash)"')"
            m=$((m + 1))
        fi
        case $STATUS in 2??) echo "$stop $(jb '"\(.version) \(.hash)"')" >>"$ACKS" ;; esac
        next=$((stop + 1))
    else
        next=$((last + 1))
    fi
    post_json "$URL" "$TMP/v/$next.json"
    expect_eq "round $round: publishing goes on" "201 $((m + 1)) $(hash_of "$next")" \
        "$STATUS $(jb '"\(.version) \(.hash)"')"
    case $STATUS in 2??) echo "$next $(jb '"\(.version) \(.hash)"')" >>"$ACKS" ;; esac
    next=$((next + 1))
    round=$((round + 1))
done

# every stored text hashes to its version's hash, after all the kills
api GET "$URL"
bad=0
n=0
for v in $(jq -r '.versions[].version' "$RBODY"); do
    api GET "$URL/$v" -H 'Accept: text/x-vpci-layout'
    cp "$RBODY" "$TMP/got.vpci"
    h=$(layout_hash "$TMP/got.vpci")
    api GET "$URL/$v"
    if [ "$STATUS" != 200 ] || [ "$h" != "$(jb .hash)" ] || [ "$(hdr etag)" != "\"$h\"" ]; then
        bad=$((bad + 1))
        echo "  version $v: text hashes to $h, version says $(jb .hash)"
    fi
    n=$((n + 1))
done
expect_eq "all $n stored texts hash to their versions' hashes" 0 "$bad"
check "more than one version per round survived" test "$n" -gt "$((ROUNDS * 2))"
daemon_stop
expect_eq "SIGTERM at the end: exit status 0" 0 "$DAEMON_RC"
expect_eq "integrity check at the end" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check' 2>&1)"
check "no sanitizer report in the daemon's log" sh -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$DLOG'"
finish
