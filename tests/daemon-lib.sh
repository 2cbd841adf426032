# SPDX-License-Identifier: BSD-2-Clause
# Shared by the daemon tests, sourced after tests/lib.sh: a fixture sysfs
# tree, the real vpcid started on a temporary unix socket (and optionally a
# loopback TCP port) and SQLite file, stopped or killed, and a request
# wrapper that logs every response to $TMP/responses.jsonl for the OpenAPI
# check.  Every wait is bounded.

VPCID=${VPCID:-$top_builddir/daemon/vpcid}
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
QUIRKS=$top_srcdir/data/quirks
DUMPS=$FIX/dumps
# The daemon and vpcictl must agree on which drivers migrate.
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS

TREE=$TMP/sys
DB=$TMP/vpcid.db
SOCK=$TMP/vpcid.sock
PIDF=$TMP/vpcid.pid
DLOG=$TMP/vpcid.log
TOKENF=$TMP/token
RESPONSES=$TMP/responses.jsonl
RBODY=$TMP/api.body
RHEAD=$TMP/api.head
DAEMON_PID=
DAEMON_RC=
TCP_PORT=
API_VIA=unix
# Seconds for one request, tenths of a second for start and stop (an ASan
# build starts slower).
API_TIMEOUT=${API_TIMEOUT:-60}
DAEMON_WAIT_TENTHS=${DAEMON_WAIT_TENTHS:-300}
# Each request in the log, for the report of a failed test.
DAEMON_LOG_LEVEL=${DAEMON_LOG_LEVEL:-debug}
CLEANUP_PIDS=
: >"$RESPONSES"
: >"$DLOG"

for t in jq curl sqlite3; do
    if ! command -v "$t" >/dev/null; then
        echo "$t is needed (tools/debian-packages)"
        exit 99
    fi
done
if ! [ -x "$VPCID" ] || ! [ -x "$MKSYSFS" ]; then
    echo "$VPCID or $MKSYSFS not built"
    exit 99
fi

# ------------------------------------------------------------ fixture tree
# The standard tree, 13 functions:
#   0000:3b:00.0       Intel 82576 PF (igb, NUMA 1) with 4 VFs bound to
#                      vfio-pci: 0000:3c:10.0 .2 .4 .6 (class 0200)
#   0000:6b:00.0       Intel 0d93 PF with PASID/PRI (unbound, class ff00),
#                      2 VFs on mlx5_vfio_pci (live migration):
#                      0000:6b:02.0 .2
#   0000:6a:01.0       Intel DSA 8086:0b25 with PASID, on vfio-pci (0880)
#   0000:5e:00.0       Mellanox ConnectX-5 Ex NIC on mlx5_core (0200)
#   0000:00:1f.0 .1    two Atheros NICs sharing IOMMU group 5, one on
#                      ath5k, one unbound (0200)
#   0000:06:00.0       an Atheros whose config file is gone (unbound)
fixture_spec() {
    cat <<EOF
func 0000:3b:00.0 $DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=4 vfdriver=vfio-pci numa=1
func 0000:6b:00.0 $DUMPS/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci vfs=2 vfdriver=mlx5_vfio_pci numa=0
func 0000:6a:01.0 $DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci driver=vfio-pci numa=0
func 0000:5e:00.0 $DUMPS/mellanox-cx5ex-pf-15b3-1019-256b.lspci driver=mlx5_core numa=0
func 0000:00:1f.0 $DUMPS/atheros-ar2413-168c-001a-256b.lspci group=5 driver=ath5k
func 0000:00:1f.1 $DUMPS/atheros-ar2413-168c-001a-256b.lspci group=5 driver=none
func 0000:06:00.0 $DUMPS/atheros-ar2413-168c-001a-256b.lspci driver=none
remove 0000:06:00.0 config
EOF
}
FIXTURE_DEVICES=13

# make_tree DIR: build a tree from the spec on standard input.
make_tree() {
    rm -rf "$1"
    "$MKSYSFS" "$1"
}

# fixture_tree [DIR]: the standard tree (default $TREE).
fixture_tree() {
    fixture_spec | make_tree "${1:-$TREE}"
}

# ------------------------------------------------------------ the daemon
# proc_alive PID: the process exists and is not a zombie.
proc_alive() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
        [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# daemon_start [VPCID ARGS...]: start vpcid in the foreground on $TREE,
# $DB, $SOCK (plus the extra arguments) and wait until /v1/health answers
# 200.  Sets DAEMON_PID; 0 when ready, 1 when it died or never answered.
daemon_start() {
    rm -f "$SOCK" "$PIDF"
    echo "--- start: $*" >>"$DLOG"
    "$VPCID" --foreground --sysfs "$TREE" --db "$DB" --listen "unix:$SOCK" \
        --quirks "$QUIRKS" --pid-file "$PIDF" --log-level "$DAEMON_LOG_LEVEL" "$@" \
        >>"$DLOG" 2>&1 &
    DAEMON_PID=$!
    daemon_wait_ready
}

# daemon_wait_ready: bounded retries of GET /v1/health on the socket.
daemon_wait_ready() {
    _i=0
    while [ "$_i" -lt "$DAEMON_WAIT_TENTHS" ]; do
        if ! proc_alive "$DAEMON_PID"; then
            wait "$DAEMON_PID"
            DAEMON_RC=$?
            echo "vpcid exited with status $DAEMON_RC before it was ready:"
            tail -n 20 "$DLOG" | sed 's/^/  | /'
            DAEMON_PID=
            return 1
        fi
        if [ -S "$SOCK" ] && [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' \
            --unix-socket "$SOCK" http://localhost/v1/health 2>/dev/null)" = 200 ]; then
            return 0
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    echo "vpcid did not answer /v1/health within $((DAEMON_WAIT_TENTHS / 10)) s"
    return 1
}

# daemon_stop: SIGTERM, then wait (bounded; SIGKILL past the bound).
# Sets DAEMON_RC to the exit status; returns 0 when it is 0.
daemon_stop() {
    DAEMON_RC=
    [ -n "$DAEMON_PID" ] || return 1
    kill -TERM "$DAEMON_PID" 2>/dev/null
    _i=0
    while proc_alive "$DAEMON_PID" && [ "$_i" -lt "$DAEMON_WAIT_TENTHS" ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    if proc_alive "$DAEMON_PID"; then
        echo "vpcid did not exit within $((DAEMON_WAIT_TENTHS / 10)) s of SIGTERM"
        kill -KILL "$DAEMON_PID" 2>/dev/null
    fi
    wait "$DAEMON_PID"
    DAEMON_RC=$?
    DAEMON_PID=
    [ "$DAEMON_RC" -eq 0 ]
}

# daemon_kill9: SIGKILL and reap.  Sets DAEMON_RC (137).
daemon_kill9() {
    [ -n "$DAEMON_PID" ] || return 1
    kill -KILL "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_RC=$?
    DAEMON_PID=
}

# daemon_alive: the started daemon still runs.
daemon_alive() {
    proc_alive "$DAEMON_PID"
}

# free_port: a loopback TCP port nobody listens on right now.
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
    else
        awk 'BEGIN { srand(); print 20000 + int(rand() * 30000) }'
    fi
}

# daemon_start_tcp TOKEN [VPCID ARGS...]: as daemon_start, plus a loopback
# TCP listener on a free port (TCP_PORT) guarded by TOKEN (written to
# $TOKENF with surrounding whitespace).  A few tries: the port may be taken
# between free_port and bind by a test running in parallel.
daemon_start_tcp() {
    printf '  %s \n\n' "$1" >"$TOKENF"
    shift
    for _try in 1 2 3; do
        TCP_PORT=$(free_port)
        if daemon_start --listen "tcp:127.0.0.1:$TCP_PORT" --token-file "$TOKENF" "$@"; then
            return 0
        fi
    done
    return 1
}

# log_has_sanitizer_report: the daemon's stderr holds an ASan/UBSan report.
log_has_sanitizer_report() {
    grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$DLOG"
}

daemon_cleanup() {
    for _p in $CLEANUP_PIDS; do
        kill -KILL "$_p" 2>/dev/null
    done
    if [ -n "$DAEMON_PID" ]; then
        kill -KILL "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
    fi
    if [ "$fail" -gt 0 ] && [ -s "$DLOG" ]; then
        echo "--- last lines of the daemon's log:"
        tail -n 40 "$DLOG" | sed 's/^/  | /'
        if log_has_sanitizer_report; then
            echo "--- sanitizer reports in the daemon's log:"
            sed -n '/^==[0-9]*==ERROR/,/^SUMMARY/p;/runtime error:/p' "$DLOG" | head -n 200 | sed 's/^/  | /'
        fi
    fi
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap daemon_cleanup EXIT
trap 'exit 1' INT TERM HUP

# ------------------------------------------------------------ requests
# api METHOD PATH [CURL ARGS...]: one request on the unix socket (or on
# TCP when API_VIA=tcp).  Sets STATUS (000 when no response), CTYPE, BODY
# (the body without its trailing newlines; the exact bytes are in $RBODY)
# and $RHEAD (the final response's header lines, CR removed), and appends
# {"method","path","status","content_type","headers","body"} to
# $RESPONSES.
api() {
    _m=$1
    _p=$2
    shift 2
    if [ "$API_VIA" = tcp ]; then
        set -- "$@" "http://127.0.0.1:$TCP_PORT$_p"
    else
        set -- --unix-socket "$SOCK" "$@" "http://localhost$_p"
    fi
    : >"$RBODY"
    : >"$RHEAD.raw"
    # curl waits for a body after -X HEAD; --head does not (and writes the
    # headers to -o, which is emptied below).
    if [ "$_m" = HEAD ]; then
        set -- --head "$@"
    else
        set -- -X "$_m" "$@"
    fi
    STATUS=$(curl -sS --globoff --path-as-is -m "$API_TIMEOUT" \
        -o "$RBODY" -D "$RHEAD.raw" -w '%{http_code}' "$@" 2>"$TMP/api.err")
    [ -n "$STATUS" ] || STATUS=000
    [ "$_m" = HEAD ] && : >"$RBODY"
    # Only the last header block (a 100 Continue may precede it).
    tr -d '\r' <"$RHEAD.raw" | awk '
        /^HTTP\// { n = 0 }
        { block[n++] = $0 }
        END { for (i = 0; i < n; i++) if (block[i] != "") print block[i] }' >"$RHEAD"
    CTYPE=$(hdr content-type)
    BODY=$(cat "$RBODY")
    if [ "$STATUS" = 000 ]; then
        echo "  (no response to $_m $(printf '%.120s' "$_p"): $(cat "$TMP/api.err"))"
        return 1
    fi
    jq -n -c --arg method "$_m" --arg path "$_p" --argjson status "$STATUS" \
        --arg ct "$CTYPE" --rawfile head "$RHEAD" --rawfile body "$RBODY" '
        {method: $method, path: $path, status: $status, content_type: $ct,
         headers: (reduce ($head | split("\n")[1:][] | select(index(":")))
                   as $l ({};
                       ($l | index(":")) as $i
                       | ($l[:$i] | ascii_downcase) as $k
                       | ($l[$i + 1:] | sub("^[ \t]+"; "") | sub("[ \t]+$"; "")) as $v
                       | .[$k] = (if has($k) then .[$k] + ", " + $v else $v end))),
         body: $body}' >>"$RESPONSES"
}

# api_tcp METHOD PATH [CURL ARGS...]: api over the TCP listener.
api_tcp() {
    API_VIA=tcp
    api "$@"
    _r=$?
    API_VIA=unix
    return $_r
}

# hdr NAME: the value of a header of the last response (first occurrence).
hdr() {
    awk -v n="$1" '
        NR > 1 {
            i = index($0, ":")
            if (i && tolower(substr($0, 1, i - 1)) == tolower(n)) {
                v = substr($0, i + 1)
                sub(/^[ \t]+/, "", v)
                sub(/[ \t]+$/, "", v)
                print v
                exit
            }
        }' "$RHEAD"
}

# jb FILTER: jq -r FILTER on the last response body ("" when not JSON).
jb() {
    jq -r "$1" "$RBODY" 2>/dev/null
}

# jbc FILTER: jq -c FILTER on the last body (compact JSON).
jbc() {
    jq -c "$1" "$RBODY" 2>/dev/null
}

# post_json PATH FILE [CURL ARGS...]: POST a JSON body from a file.
post_json() {
    _pp=$1
    _pf=$2
    shift 2
    api POST "$_pp" -H 'Content-Type: application/json' --data-binary "@$_pf" "$@"
}

# type_body NAME LAYOUT_FILE [DESCRIPTION]: the JSON of a create request.
type_body() {
    if [ $# -ge 3 ]; then
        jq -n -c --arg n "$1" --rawfile l "$2" --arg d "$3" \
            '{name: $n, description: $d, layout: $l}'
    else
        jq -n -c --arg n "$1" --rawfile l "$2" '{name: $n, layout: $l}'
    fi
}

# version_body LAYOUT_FILE: the JSON of a publish request.
version_body() {
    jq -n -c --rawfile l "$1" '{layout: $l}'
}

# expect_status DESCRIPTION STATUS
expect_status() {
    expect_eq "$1: HTTP status" "$2" "$STATUS"
}

# expect_problem DESCRIPTION STATUS CODE: the last response is STATUS with
# an application/problem+json body whose type, code and status match.
expect_problem() {
    expect_eq "$1: HTTP status" "$2" "$STATUS"
    expect_eq "$1: problem content type" application/problem+json "$CTYPE"
    expect_eq "$1: problem type, code, status" "urn:vpcid:problem:$3 $3 $2" \
        "$(jb '"\(.type) \(.code) \(.status)"')"
}

# matches STRING ERE: STRING matches the extended regular expression.
matches() {
    printf '%s\n' "$1" | grep -q -E -x -e "$2"
}

# layout_hash FILE / layout_fingerprint FILE: what vpcictl layout hash says.
layout_hash() {
    "$VPCICTL" layout hash "$1" | sed -n '1p'
}
layout_fingerprint() {
    "$VPCICTL" layout hash "$1" | sed -n 's/^fingerprint //p'
}

# ------------------------------------------------------------ attachments
# publish_type NAME FILE: create instance type NAME from FILE (version 1),
# or publish FILE as its next version when NAME exists.  STATUS and the
# version object as api sets them.
publish_type() {
    type_body "$1" "$2" >"$TMP/publish.json"
    post_json /v1/instance-types "$TMP/publish.json"
    if [ "$STATUS" = 409 ] && [ "$(jb .code)" = type-exists ]; then
        version_body "$2" >"$TMP/publish.json"
        post_json "/v1/instance-types/$1/versions" "$TMP/publish.json"
    fi
}

# attach_body VM TYPE [JQ OBJECT]: the JSON of POST /v1/attachments, with
# the members of the optional jq object expression added (e.g.
# '{device: "0000:3c:10.0", request_id: "r1"}').
attach_body() {
    jq -n -c --arg vm "$1" --arg t "$2" "{vm: \$vm, instance_type: \$t} + (${3:-{\}})"
}

# concurrent_posts N PATH DIR: N clients POST DIR/I.req (I = 1..N) to PATH
# at once on the unix socket; each answer's status in DIR/I.status (000
# when none came) and body in DIR/I.body.  Waits for all of them.
concurrent_posts() {
    _cn=$1
    _cpids=
    _ci=1
    while [ "$_ci" -le "$_cn" ]; do
        curl -sS -m "$API_TIMEOUT" --unix-socket "$SOCK" -X POST \
            -H 'Content-Type: application/json' --data-binary "@$3/$_ci.req" \
            -o "$3/$_ci.body" -w '%{http_code}\n' "http://localhost$2" \
            >"$3/$_ci.status" 2>"$3/$_ci.err" &
        _cpids="$_cpids $!"
        _ci=$((_ci + 1))
    done
    for _p in $_cpids; do
        wait "$_p"
    done
    _ci=1
    while [ "$_ci" -le "$_cn" ]; do
        [ -s "$3/$_ci.status" ] || echo 000 >"$3/$_ci.status"
        _ci=$((_ci + 1))
    done
}

# dump_move_cap DUMP FROM TO LEN: the lspci dump (its first device) with
# the standard capability of LEN bytes at FROM moved to TO, the chain
# pointing at it re-linked: the same function with the capability at
# another offset.  Offsets in hex without 0x.
dump_move_cap() {
    awk -v from="$2" -v to="$3" -v len="$4" '
        function hex(s,    i, v) {
            v = 0
            for (i = 1; i <= length(s); i++)
                v = v * 16 + index("0123456789abcdef", substr(tolower(s), i, 1)) - 1
            return v
        }
        function devline() {
            return $0 ~ /^([0-9a-fA-F]{4}:)?[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]\.[0-7]( |$)/
        }
        NR == FNR {
            if (devline()) dev++
            if (dev == 1 && /^[0-9a-f][0-9a-f][0-9a-f]?: /) {
                off = hex(substr($1, 1, length($1) - 1))
                for (i = 2; i <= 17; i++) b[off + i - 2] = tolower($i)
            }
            next
        }
        FNR == 1 {
            f = hex(from); t = hex(to)
            prev = 52; p = hex(b[52]); n = 0
            while (p != f && p != 0 && n < 48) { prev = p + 1; p = hex(b[p + 1]); n++ }
            if (p != f) { print "dump_move_cap: no capability at " from > "/dev/stderr"; exit 1 }
            for (k = 0; k < len; k++) nb[f + k] = "00"
            for (k = 0; k < len; k++) nb[t + k] = b[f + k]
            nb[prev] = sprintf("%02x", t)
            dev = 0
        }
        {
            if (devline()) dev++
            if (dev == 1 && /^[0-9a-f][0-9a-f][0-9a-f]?: /) {
                off = hex(substr($1, 1, length($1) - 1))
                line = $1
                for (i = 2; i <= 17; i++) {
                    o = off + i - 2
                    line = line " " ((o in nb) ? nb[o] : $i)
                }
                print line
            } else {
                print
            }
        }' "$1" "$1"
}
