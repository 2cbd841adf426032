#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# api/openapi.yaml against the daemon's route table and error registry
# (tests/api-routes), and the checker itself: it accepts the device objects
# the inventory really produces and well-formed replies, and rejects a route
# the spec lacks and replies that break the spec.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SPEC=$top_srcdir/api/openapi.yaml
CHECKER=$top_srcdir/tests/openapi-check.py
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
API_ROUTES=${API_ROUTES:-$top_builddir/tests/api-routes}
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS
D=$FIX/dumps

# The Debian interpreter first: python3-yaml and python3-jsonschema are the
# declared dependencies (tools/debian-packages).
find_python_yaml
if [ -z "$PYTHON" ]; then
    not_ok "python3 with yaml and jsonschema (tools/debian-packages)"
    finish
    exit
fi
if ! command -v jq >/dev/null; then
    not_ok "jq (tools/debian-packages)"
    finish
    exit
fi

# run_checker NAME ARGS...: the checker's output, indented, in $TMP/NAME.out;
# its exit status in $rc.
run_checker() {
    n=$1
    shift
    "$PYTHON" "$CHECKER" "$@" >"$TMP/$n.raw" 2>&1
    rc=$?
    sed 's/^/  /' "$TMP/$n.raw" >"$TMP/$n.out"
}

# show NAME: the failures the checker reported, for the log
show() {
    grep -v '^  RESULT:' "$TMP/$1.out" || true
}

# ---------------------------------------------------------------- the spec
"$API_ROUTES" >"$TMP/routes" 2>"$TMP/routes.err"
expect_eq "api-routes exits 0" 0 $?
check "api-routes lists routes" grep -q '^route [A-Z]* /' "$TMP/routes"
check "api-routes lists problem codes" grep -q '^problem [a-z-]* [0-9]' "$TMP/routes"

run_checker spec spec --spec "$SPEC" --routes "$TMP/routes"
show spec
expect_eq "the spec matches the route table and error registry" 0 "$rc"
check "the spec mode reports its totals" \
    grep -q '^  RESULT: [1-9][0-9]* passed, 0 failed' "$TMP/spec.out"

# A route the spec does not have, and a code with another status.
{
    cat "$TMP/routes"
    echo "route DELETE /v1/instance-types/{name}"
} | sed 's/^problem type-exists 409$/problem type-exists 400/' >"$TMP/routes.bad"
run_checker spec-bad spec --spec "$SPEC" --routes "$TMP/routes.bad"
expect_eq "an extra route fails the spec mode" 1 "$rc"
check "the extra route is named" grep -q \
    'route DELETE /v1/instance-types/{name} of the daemon is not in the spec' \
    "$TMP/spec-bad.out"
if grep -q '^problem type-exists 409$' "$TMP/routes"; then
    check "a code with another status is named" \
        grep -q 'problem type-exists: spec says 409, daemon 400' "$TMP/spec-bad.out"
fi

# ---------------------------------------------------------------- replies
# Real device objects: a fixture tree scanned by the inventory code the
# daemon uses, as GET /v1/devices and GET /v1/devices/{bdf} replies.
T=$TMP/sys
"$MKSYSFS" "$T" <<EOF
func 0000:3b:00.0 $D/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=4 vfdriver=vfio-pci numa=1
func 0000:6b:00.0 $D/intel-0d93-xilinx-c084-cxl-dvsec-4k.lspci vfs=2 vfdriver=mlx5_vfio_pci numa=0
func 0000:00:1f.0 $D/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci group=5
func 0000:00:1f.1 $D/atheros-ar2413-168c-001a-256b.lspci group=5 driver=ath5k
func 0000:05:00.0 $D/atheros-ar2413-168c-001a-256b.lspci
func 0000:06:00.0 $D/atheros-ar2413-168c-001a-256b.lspci
write 0000:05:00.0 resource 0x1 0x2\n
remove 0000:06:00.0 config
EOF
"$VPCICTL" host scan --sysfs "$T" -o json >"$TMP/scan.json" 2>/dev/null
expect_eq "fixture scan" 0 $?
J=application/json
P=application/problem+json
{
    jq -c --arg t $J '{method: "GET", path: "/v1/devices?vendor=8086&vfio=true",
        status: 200, content_type: $t, body: (({devices} | tojson) + "\n")}' \
        "$TMP/scan.json"
    jq -c --arg t $J '.devices[] | {method: "GET", path: ("/v1/devices/" + .bdf),
        status: 200, content_type: $t, headers: {}, body: (tojson + "\n")}' \
        "$TMP/scan.json"
} >"$TMP/devices.log"

# An instance type's version, with the real hashes of a layout (one without
# a binding section, so that its canonical text is what the hash covers).
L=$FIX/layouts/bridge.vpci
"$VPCICTL" layout fmt "$L" >"$TMP/canon.vpci"
set -- $("$VPCICTL" layout hash "$L")
HASH=$1
FP=$3
ETAG="\"$HASH\""
V=$(jq -nc --arg h "$HASH" --arg f "$FP" '{name: "nic-vf", version: 1,
    hash: $h, fingerprint: $f, state: "published",
    created: "2026-11-24T10:00:00Z"}')
VL=$(printf '%s\n' "$V" | jq -c --rawfile l "$TMP/canon.vpci" '. + {layout: $l}')
VD=$(printf '%s\n' "$V" | jq -c '.state = "deprecated"')
# rec METHOD PATH STATUS CONTENT_TYPE HEADERS_JSON BODY (a newline is added)
rec() {
    jq -nc --arg m "$1" --arg p "$2" --argjson s "$3" --arg t "$4" \
        --argjson h "$5" --arg b "$6" \
        '{method: $m, path: $p, status: $s, content_type: $t, headers: $h,
          body: ($b + "\n")}'
}
# problem CODE STATUS PATH [EXTRA_JSON]
problem() {
    x=${4:-}
    [ -n "$x" ] || x='{}'
    jq -nc --arg c "$1" --argjson s "$2" --arg p "$3" --argjson x "$x" \
        '{type: ("urn:vpcid:problem:" + $c), title: $c, status: $s,
          detail: "what went wrong", code: $c, instance: $p} + $x'
}
{
    cat "$TMP/devices.log"
    rec POST /v1/instance-types 201 $J \
        '{"location": "/v1/instance-types/nic-vf/versions/1"}' "$V"
    rec POST /v1/instance-types/nic-vf/versions 200 $J '{}' "$V"
    rec GET /v1/instance-types/nic-vf/versions/latest 200 $J \
        "{\"etag\": \"\\\"$HASH\\\"\", \"vary\": \"Accept\"}" "$VL"
    jq -nc --rawfile b "$TMP/canon.vpci" --arg e "$ETAG" '{method: "GET",
        path: "/v1/instance-types/nic-vf/versions/1", status: 200,
        content_type: "text/x-vpci-layout; charset=utf-8",
        headers: {etag: $e, vary: "Accept"}, body: $b}'
    jq -nc --arg e "$ETAG" '{method: "GET",
        path: "/v1/instance-types/nic-vf/versions/1", status: 304,
        content_type: "", headers: {etag: $e, vary: "Accept"}, body: ""}'
    rec POST /v1/instance-types/nic-vf/versions/1/deprecate 200 $J '{}' "$VD"
    rec GET /v1/instance-types/nic-vf 200 $J '{}' \
        "{\"name\": \"nic-vf\", \"description\": \"\", \"created\": \"2026-11-24T10:00:00Z\", \"latest\": 1, \"versions\": [$VD]}"
    rec GET /v1/health 200 $J '{}' \
        '{"status": "ok", "version": "0.1.0", "schema_version": 1, "devices": 12, "instance_types": 1, "last_scan": "2026-11-24T10:00:00Z", "uptime_seconds": 3}'
    rec GET /v1/devices/3b:00.0:0 400 $P '{}' \
        "$(problem bad-bdf 400 /v1/devices/3b:00.0:0)"
    rec GET /v1/devices/0000%3A99%3A00.0 404 $P '{}' \
        "$(problem device-not-found 404 /v1/devices/0000:99:00.0)"
    rec DELETE /v1/health 405 $P '{"allow": "GET, HEAD"}' \
        "$(problem method-not-allowed 405 /v1/health)"
    jq -nc --arg t $J '{method: "HEAD", path: "/v1/health", status: 200,
        content_type: $t, headers: {}, body: ""}'
    rec GET /v2/health 404 $P '{}' "$(problem not-found 404 /v2/health)"
    rec POST /v1/instance-types 422 $P '{}' \
        "$(problem invalid-layout 422 /v1/instance-types \
            '{"detail": "3:8: expected a header type", "errors": [{"line": 3, "col": 8, "message": "expected a header type"}]}')"
} >"$TMP/good.log"
run_checker good responses --spec "$SPEC" --log "$TMP/good.log"
show good
expect_eq "real device objects and well-formed replies pass" 0 "$rc"

# Each of these breaks the spec once; each alone must fail the check.
bad_dev() {
    jq -c --arg b "$1" --arg t $J '.devices[] | select(.bdf == $b) |
        {method: "GET", path: ("/v1/devices/" + .bdf), status: 200,
         content_type: $t, body: (('"$2"' | tojson) + "\n")}' "$TMP/scan.json"
}
{
    bad_dev 0000:3b:00.0 '.revision = "01"'
    bad_dev 0000:3c:10.0 'del(.pf_pasid)'
    bad_dev 0000:3b:00.0 '. + {sysfs: "/sys"}'
    bad_dev 0000:6b:00.0 '.capabilities[0].offset = 2'
    rec GET /v1/devices/0000:3b:00.0 200 text/plain '{}' '{}'
    rec POST /v1/instance-types 201 $J '{}' "$V"
    rec POST /v1/instance-types/nic-vf/versions/1/deprecate 200 $J '{}' "$V"
    rec GET /v1/instance-types/nic-vf/versions/latest 200 $J \
        '{"etag": "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"", "vary": "Accept"}' "$VL"
    rec GET /v1/devices/zz 404 $P '{}' "$(problem device-not-found 400 /v1/devices/zz)"
    rec DELETE /v1/health 405 $P '{"allow": "GET, POST"}' \
        "$(problem method-not-allowed 405 /v1/health)"
    rec GET '/v1/devices?colour=red' 200 $J '{}' '{"devices": []}'
    rec GET '/v1/devices?vendor=86' 200 $J '{}' '{"devices": []}'
    rec GET /v1/instance-types/nic-vf/versions/0 200 $J '{}' "$VL"
} >"$TMP/bad.log"
: >"$TMP/bad.out"
i=0
while IFS= read -r line; do
    i=$((i + 1))
    printf '%s\n' "$line" >"$TMP/bad1.log"
    what=$(jq -r '"\(.method) \(.path) \(.status)"' "$TMP/bad1.log")
    run_checker bad1 responses --spec "$SPEC" --log "$TMP/bad1.log"
    expect_eq "broken reply $i is rejected ($what)" 1 "$rc"
    cat "$TMP/bad1.out" >>"$TMP/bad.out"
done <"$TMP/bad.log"
expect_eq "every broken reply was tried" 13 "$i"
check "a wrong type is named" grep -q "at revision: '01' is not of type" "$TMP/bad.out"
check "a VF's missing pf_pasid is named" \
    grep -q "'pf_pasid' is a required property" "$TMP/bad.out"
check "a key the brief does not have is named" \
    grep -q "'sysfs' was unexpected" "$TMP/bad.out"

finish
