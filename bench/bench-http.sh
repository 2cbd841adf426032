#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Requests per second and p99 latency of vpcid's REST API over loopback
# TCP, measured with wrk, next to nginx serving the same bytes from files
# in the same run.  Usage: bench-http.sh [SECONDS]  (from the build dir;
# top_srcdir and top_builddir may be set).
set -u
secs=${1:-5}
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
VPCID=$top_builddir/daemon/vpcid
MKSYSFS=$top_builddir/tests/mksysfs
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
for t in wrk curl "$NGINX"; do
    if ! command -v "$t" >/dev/null 2>&1; then
        echo "bench-http: $t is needed (tools/debian-packages)" >&2
        exit 1
    fi
done

T=$(mktemp -d)
vpid=
npid=
cleanup() {
    [ -n "$vpid" ] && kill "$vpid" 2>/dev/null
    [ -n "$npid" ] && kill "$npid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

D=$top_srcdir/tests/fixtures/dumps
"$MKSYSFS" "$T/sys" <<EOF2 || exit 1
func 0000:3b:00.0 $D/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=4 vfdriver=vfio-pci numa=1
func 0000:00:1f.0 $D/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci group=5
EOF2

# Two free loopback ports.
port() {
    p=$(( $1 + $$ % 1000 ))
    while curl -s -o /dev/null "http://127.0.0.1:$p/" 2>/dev/null ||
        [ "$?" != 7 ]; do
        p=$((p + 1))
    done
    echo "$p"
}
vport=$(port 20000)
nport=$(port 30000)
[ "$nport" = "$vport" ] && nport=$((nport + 1))

tok=bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')
printf '%s\n' "$tok" >"$T/token"
chmod 600 "$T/token"
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers \
    "$VPCID" --foreground --sysfs "$T/sys" --db "$T/db" \
    --listen "tcp:127.0.0.1:$vport" --listen "unix:$T/sock" \
    --token-file "$T/token" --quirks "$top_srcdir/data/quirks" \
    --log-level warning 2>"$T/vpcid.log" &
vpid=$!
i=0
until curl -s -o /dev/null --unix-socket "$T/sock" http://x/v1/health; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "bench-http: vpcid did not start:" >&2
        cat "$T/vpcid.log" >&2
        exit 1
    fi
    sleep 0.1
done

layout=$top_srcdir/bench/layouts/mx150-gpu-155.vpci
body=$(jq -n --rawfile l "$layout" '{name: "bench", layout: $l}')
curl -s -o /dev/null --unix-socket "$T/sock" -H 'Content-Type: application/json' \
    --data "$body" http://x/v1/instance-types

V=/v1/instance-types/bench/versions/1
mkdir -p "$T/www/v1/instance-types/bench/versions" "$T/www/v1"
curl -s --unix-socket "$T/sock" "http://x$V" >"$T/www$V"
curl -s --unix-socket "$T/sock" http://x/v1/devices >"$T/www/v1/devices"
# nginx's workers drop root: let them read the files.
chmod 755 "$T"
chmod -R a+rX "$T/www"

mkdir -p "$T/nginx/logs"
cat >"$T/nginx/nginx.conf" <<EOF2
worker_processes auto;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/json;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$nport;
        root $T/www;
    }
}
EOF2
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" 2>"$T/nginx.err" &
npid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$nport/v1/devices"; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "bench-http: nginx did not start:" >&2
        cat "$T/nginx.err" "$T/nginx/logs/error.log" >&2
        exit 1
    fi
    sleep 0.1
done
for u in "$V" /v1/devices; do
    for p in "$vport" "$nport"; do
        if ! curl -sf -H "Authorization: Bearer $tok" "http://127.0.0.1:$p$u" |
            cmp -s - "$T/www$u"; then
            echo "bench-http: port $p does not serve the bytes of $u" >&2
            exit 1
        fi
    done
done

# wrk: its "Requests/sec:" line and the 99% line of --latency, in ms.
run_wrk() {
    wrk -t2 -c32 -d"${secs}s" --latency -H "Authorization: Bearer $tok" "$1" \
        >"$T/wrk.out" 2>&1
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$T/wrk.out")
    p99=$(awk '$1 == "99%" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000
        printf "%.2f", v }' "$T/wrk.out")
    errs=$(awk '/Non-2xx|Socket errors/ { print }' "$T/wrk.out")
    if [ -n "$errs" ]; then
        echo "bench-http: $1: $errs" >&2
        rps=0
    fi
    echo "$rps $p99"
}

size() { wc -c <"$T/www$1" | tr -d ' '; }
printf '%-42s %8s %12s %9s %12s %9s %7s\n' "GET (wrk -t2 -c32, ${secs}s, loopback)" \
    bytes "vpcid req/s" "p99 ms" "nginx req/s" "p99 ms" ratio
status=0
for u in "$V" /v1/devices; do
    set -- $(run_wrk "http://127.0.0.1:$vport$u")
    vr=$1 vp=$2
    set -- $(run_wrk "http://127.0.0.1:$nport$u")
    nr=$1 np=$2
    ratio=$(awk -v a="$vr" -v b="$nr" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
    printf '%-42s %8s %12s %9s %12s %9s %6sx\n' "$u" "$(size "$u")" "$vr" "$vp" \
        "$nr" "$np" "$ratio"
    awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }' || status=1
done
echo "target: vpcid >= 0.5x nginx req/s"
exit $status
