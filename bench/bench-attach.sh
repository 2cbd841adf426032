#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Attach latency of vpcid under concurrent clients: a fake host of 2,048
# functions (8 Intel 82576 PFs x 255 VFs on vfio-pci), one instance type
# derived from a VF; CLIENTS clients each run ROUNDS rounds of POST
# /v1/attachments + DELETE on the unix socket with curl.  Prints p50, p99
# and the maximum of the attach and detach times (curl's time_total),
# and attaches per second.  Usage: bench-attach.sh [CLIENTS [ROUNDS]]
# (from the build dir; top_srcdir and top_builddir may be set).
set -u
clients=${1:-16}
rounds=${2:-40}
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
VPCID=$top_builddir/daemon/vpcid
MKSYSFS=$top_builddir/tests/mksysfs
for t in curl jq; do
    if ! command -v "$t" >/dev/null 2>&1; then
        echo "bench-attach: $t is needed (tools/debian-packages)" >&2
        exit 1
    fi
done

T=$(mktemp -d)
vpid=
cleanup() {
    [ -n "$vpid" ] && kill "$vpid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

D=$top_srcdir/tests/fixtures/dumps
i=0
while [ "$i" -lt 8 ]; do
    printf 'func 0000:%02x:00.0 %s vfs=255 totalvfs=255 vfdriver=vfio-pci numa=%d\n' \
        $((16 + i * 4)) "$D/intel-82576-pf-8086-10c9-sriov-4k.lspci" $((i % 2))
    i=$((i + 1))
done | "$MKSYSFS" "$T/sys" || exit 1

VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers \
    "$VPCID" --foreground --sysfs "$T/sys" --db "$T/db" \
    --listen "unix:$T/sock" --runtime-dir "$T/run" \
    --quirks "$top_srcdir/data/quirks" --log-level warning 2>"$T/vpcid.log" &
vpid=$!
i=0
until curl -s -o /dev/null --unix-socket "$T/sock" http://x/v1/health; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then
        echo "bench-attach: vpcid did not start:" >&2
        cat "$T/vpcid.log" >&2
        exit 1
    fi
    sleep 0.1
done

c() {
    curl -s --unix-socket "$T/sock" "$@"
}
c -o "$T/vf.vpci" http://x/v1/devices/0000:11:10.0/layout
jq -n -c --rawfile l "$T/vf.vpci" '{name: "bench", layout: $l}' >"$T/type.json"
st=$(c -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$T/type.json" http://x/v1/instance-types)
if [ "$st" != 201 ]; then
    echo "bench-attach: publishing the type answered $st" >&2
    exit 1
fi
n=$(c http://x/v1/compat -H 'Content-Type: application/json' \
    --data '{"instance_type":"bench"}' | jq '[.results[] | select(.compatible)] | length')

# one client: ROUNDS x (attach, detach); times in $T/a.N and $T/d.N
client() {
    k=0
    while [ "$k" -lt "$rounds" ]; do
        t=$(c -o "$T/body.$1" -w '%{http_code} %{time_total}' \
            -H 'Content-Type: application/json' \
            --data "{\"vm\":\"vm$1\",\"instance_type\":\"bench\"}" \
            http://x/v1/attachments)
        if [ "${t%% *}" != 201 ]; then
            echo "bench-attach: attach answered ${t%% *}: $(cat "$T/body.$1")" >&2
            return 1
        fi
        echo "${t#* }" >>"$T/a.$1"
        id=$(jq -r .id "$T/body.$1")
        c -o /dev/null -w '%{time_total}\n' -X DELETE \
            "http://x/v1/attachments/$id" >>"$T/d.$1"
        k=$((k + 1))
    done
}

start=$(date +%s.%N)
pids=
i=1
while [ "$i" -le "$clients" ]; do
    client "$i" &
    pids="$pids $!"
    i=$((i + 1))
done
failed=0
for p in $pids; do
    wait "$p" || failed=1
done
end=$(date +%s.%N)
[ "$failed" = 0 ] || exit 1

# stats FILES...: "p50 p99 max" in milliseconds
stats() {
    cat "$@" | sort -n | awk '
        { v[NR] = $1 * 1000 }
        END {
            p50 = v[int((NR - 1) * 0.50) + 1]
            p99 = v[int((NR - 1) * 0.99) + 1]
            printf "p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d requests)\n", p50, p99, v[NR], NR
        }'
}
echo "bench-attach: $(ls "$T/sys/bus/pci/devices" | wc -l) functions, $n compatible;" \
    "$clients clients x $rounds rounds of attach + detach"
echo "attach  $(stats "$T"/a.*)"
echo "detach  $(stats "$T"/d.*)"
awk -v s="$start" -v e="$end" -v n=$((clients * rounds)) \
    'BEGIN { printf "attach + detach rounds per second: %.0f\n", n / (e - s) }'
