#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcictl's REST verbs (devices, types) against the real vpcid on a fixture
# sysfs tree, over its unix socket and over TCP with a bearer token: exact
# output, exit codes, and agreement with the offline verbs (host scan,
# layout fmt/hash/lint) on the same tree and files.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
VPCID=${VPCID:-$top_builddir/daemon/vpcid}
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS
unset VPCID_CONNECT VPCID_TOKEN_FILE
D=$FIX/dumps
T=$TMP/sys
S=$TMP/sock
U="--connect unix:$S"

for tool in jq curl; do
    if ! command -v $tool >/dev/null; then
        echo "$tool is needed (tools/debian-packages)"
        exit 99
    fi
done

dpid=
stop_daemon() {
    if [ -n "$dpid" ]; then
        kill "$dpid" 2>/dev/null
        wait "$dpid" 2>/dev/null
        dpid=
    fi
}
trap 'stop_daemon; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP

"$MKSYSFS" "$T" <<EOF
func 0000:3b:00.0 $D/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=4 vfdriver=vfio-pci numa=1 group=12
func 0000:00:1f.0 $D/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci group=5
func 0000:00:1f.1 $D/atheros-ar2413-168c-001a-256b.lspci group=5 driver=ath5k
func 0000:05:00.0 $D/atheros-ar2413-168c-001a-256b.lspci driver=none group=none
EOF
check "mksysfs builds the tree" test -d "$T/bus/pci/devices/0000:3c:10.6"
printf '  tok-%s-secret\n\n' "$$" >"$TMP/token"
echo wrong-token >"$TMP/badtoken"

# Start vpcid on a free port: a port in use makes it exit, then the next
# one is tried.  Bounded: 8 ports, 10 s each.
port=$((20000 + $$ % 20000))
tries=0
up=no
while [ "$tries" -lt 8 ] && [ "$up" = no ]; do
    tries=$((tries + 1))
    port=$((port + 1))
    rm -f "$S"
    "$VPCID" --foreground --sysfs "$T" --db "$TMP/db" --listen "unix:$S" \
        --listen "tcp:127.0.0.1:$port" --token-file "$TMP/token" \
        --quirks "$top_srcdir/data/quirks" --pid-file "$TMP/pid" \
        >"$TMP/vpcid.log" 2>&1 &
    dpid=$!
    n=0
    while [ "$n" -lt 100 ]; do
        n=$((n + 1))
        if curl -sf --max-time 2 --unix-socket "$S" http://localhost/v1/health \
            >/dev/null 2>&1; then
            up=yes
            break
        fi
        if ! kill -0 "$dpid" 2>/dev/null; then
            wait "$dpid" 2>/dev/null
            dpid=
            break
        fi
        sleep 0.1 2>/dev/null || sleep 1
    done
done
if [ "$up" = no ]; then
    not_ok "vpcid answers on unix:$S (tried $tries ports)"
    sed 's/^/  vpcid: /' "$TMP/vpcid.log"
    stop_daemon
    finish
    exit 1
fi
ok
H="--connect http://127.0.0.1:$port --token-file $TMP/token"
check "pid file written once ready" test -s "$TMP/pid"

# run ARGS...: vpcictl with stdout, stderr and exit status in $TMP/out,
# $TMP/err and $rc
run() {
    "$VPCICTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}
squeeze() { tr -s ' ' <"$1"; }
no_stderr() {
    if [ -s "$TMP/err" ]; then
        not_ok "$1: nothing on stderr"
        sed 's/^/  stderr: /' "$TMP/err"
    else
        ok
    fi
}

# ------------------------------------------------------------ devices
"$VPCICTL" host scan --sysfs "$T" -o json >"$TMP/scan.json" 2>/dev/null
run $U devices
expect_eq "devices exits 0" 0 "$rc"
no_stderr "devices"
expect_eq "devices header" "BDF VENDOR:DEVICE CLASS DRIVER IOMMU NUMA PF NAME" \
    "$(head -n1 "$TMP/out" | tr -s ' ')"
expect_eq "devices: PF row" \
    "0000:3b:00.0 8086:10c9 020000 igb 12 1 -" \
    "$(squeeze "$TMP/out" | grep '^0000:3b:00.0 ' | cut -d' ' -f1-7)"
expect_eq "devices: VF row names its PF" \
    "0000:3c:10.2 8086:10ca 020000 vfio-pci 1 0000:3b:00.0" \
    "$(squeeze "$TMP/out" | grep '^0000:3c:10.2 ' | cut -d' ' -f1-4,6-7)"
expect_eq "devices: unbound function without group or NUMA node" \
    "0000:05:00.0 168c:001a 020000 - - - -" \
    "$(squeeze "$TMP/out" | grep '^0000:05:00.0 ' | cut -d' ' -f1-7)"
expect_eq "devices: shared IOMMU group" "5 5" \
    "$(squeeze "$TMP/out" | grep '^0000:00:1f' | cut -d' ' -f5 | tr '\n' ' ' | sed 's/ $//')"
# every row, in order, as the offline scan of the same tree sees it
jq -r '.devices[] | [.bdf, "\(.vendor_id):\(.device_id)", .class,
        (.driver // "-"), (.iommu_group // "-" | tostring),
        (if .numa_node < 0 then "-" else (.numa_node | tostring) end),
        (.physfn // "-"),
        (if .vendor_name and .device_name then "\(.vendor_name) \(.device_name)"
         elif .vendor_name then "\(.vendor_name) Device \(.device_id)"
         else (.device_name // "-") end)] | join(" ")' \
    "$TMP/scan.json" | tr -s ' ' >"$TMP/want.rows"
expect_eq "devices: every row agrees with host scan" "$(cat "$TMP/want.rows")" \
    "$(sed 1d "$TMP/out" | tr -s ' ')"

run $U -o json devices
expect_eq "-o json devices exits 0" 0 "$rc"
check "-o json devices is JSON" jq -e . "$TMP/out" >/dev/null
expect_eq "-o json devices: the device objects of host scan -o json" \
    "$(jq -S .devices "$TMP/scan.json")" "$(jq -S .devices "$TMP/out")"

run $U devices 0000:3b:00.0
expect_eq "devices BDF exits 0" 0 "$rc"
no_stderr "devices BDF"
cp "$TMP/out" "$TMP/detail"
dl() { grep "^$1" "$TMP/detail" | tr -s ' '; }
expect_eq "detail: BDF" "BDF: 0000:3b:00.0" "$(dl 'BDF:')"
expect_eq "detail: driver" "Driver: igb" "$(dl 'Driver:')"
expect_eq "detail: class" "020000" "$(dl 'Class:' | cut -d' ' -f2)"
expect_eq "detail: IDs" "Vendor: 8086|Device: 10c9|Subsystem: 8086:a03c" \
    "$(dl 'Vendor:' | cut -d' ' -f1-2)|$(dl 'Device:' | cut -d' ' -f1-2)|$(dl 'Subsystem:' | cut -d' ' -f1-2)"
expect_eq "detail: IOMMU group, NUMA" "IOMMU group: 12|NUMA node: 1" \
    "$(dl 'IOMMU group:')|$(dl 'NUMA node:')"
expect_eq "detail: VFs" \
    "Virtual functions: 0000:3c:10.0 0000:3c:10.2 0000:3c:10.4 0000:3c:10.6" \
    "$(dl 'Virtual functions:')"
expect_eq "detail: SR-IOV" \
    "SR-IOV: 4 of 8 VFs enabled, VF device 10ca, offset 384, stride 2" \
    "$(dl 'SR-IOV:')"
expect_eq "detail: capabilities with offsets" \
    "[040] std 01 pm|[050] std 05 msi|[070] std 11 msix|[0a0] std 10 pcie|[100] ext 0001 aer v1|[140] ext 0003 dsn v1|[150] ext 000e ari v1|[160] ext 0010 sriov v1" \
    "$(grep '^  \[' "$TMP/detail" | sed 's/^  //; s/ (.*//' | tr '\n' '|' | sed 's/|$//')"
expect_eq "detail: BARs" \
    "BAR 0: mem32 size 0x20000|BAR 1: mem32 size 0x400000|BAR 2: io size 0x20|BAR 3: mem32 size 0x4000" \
    "$(grep '^  BAR' "$TMP/detail" | sed 's/^  //' | tr '\n' '|' | sed 's/|$//')"
run $U devices 3b:00.0
expect_eq "devices BDF without domain: same detail" "$(cat "$TMP/detail")" \
    "$(cat "$TMP/out")"
run $U devices 3c:10.4
expect_eq "VF detail: its PF" "Physical function: 0000:3b:00.0" \
    "$(grep '^Physical function:' "$TMP/out" | tr -s ' ')"
run $U -o json devices 0000:00:1f.0
expect_eq "-o json devices BDF: the host scan object" \
    "$(jq -S '.devices[] | select(.bdf == "0000:00:1f.0")' "$TMP/scan.json")" \
    "$(jq -S . "$TMP/out")"
run $U devices 0000:99:00.0
expect_eq "absent device exits 1" 1 "$rc"
check "absent device: API error with code" \
    grep -q '^vpcictl: .* (device-not-found)$' "$TMP/err"
expect_eq "absent device: nothing on stdout" "" "$(cat "$TMP/out")"
run $U devices 3b:0
expect_eq "malformed BDF exits 1" 1 "$rc"
check "malformed BDF: bad-bdf" grep -q '^vpcictl: .* (bad-bdf)$' "$TMP/err"
run $U devices 3b:00.0 3c:10.0
expect_eq "two BDFs: usage error" 2 "$rc"

# options after the verb, and from the environment
run devices -o json $U
expect_eq "options after the verb" "$(jq -S .devices "$TMP/scan.json")" \
    "$(jq -S .devices "$TMP/out" 2>&1)"
VPCID_CONNECT=unix:$S "$VPCICTL" devices >"$TMP/env.out" 2>&1
expect_eq "\$VPCID_CONNECT" "$(cat "$TMP/want.rows")" \
    "$(sed 1d "$TMP/env.out" | tr -s ' ')"

# ------------------------------------------------------------ TCP
run $U devices
cp "$TMP/out" "$TMP/unix.table"
run $H devices
expect_eq "TCP with the token exits 0" 0 "$rc"
expect_eq "TCP: the same table" "$(cat "$TMP/unix.table")" "$(cat "$TMP/out")"
VPCID_TOKEN_FILE=$TMP/token "$VPCICTL" --connect "http://127.0.0.1:$port" \
    devices >"$TMP/out" 2>"$TMP/err"
expect_eq "TCP: \$VPCID_TOKEN_FILE" "$(cat "$TMP/unix.table")" \
    "$(cat "$TMP/out")"
run --connect "http://127.0.0.1:$port" --token-file "$TMP/badtoken" devices
expect_eq "TCP with a wrong token exits 1" 1 "$rc"
check "TCP with a wrong token: unauthorized" \
    grep -q '^vpcictl: .* (unauthorized)$' "$TMP/err"
expect_eq "TCP with a wrong token: nothing on stdout" "" "$(cat "$TMP/out")"
run --connect "http://127.0.0.1:$port" devices
expect_eq "TCP without a token file: usage error" 2 "$rc"
check "TCP without a token file: says so" grep -q -- '--token-file' "$TMP/err"
run --connect "http://127.0.0.1:$port" --token-file "$TMP/none" devices
expect_eq "TCP with a missing token file exits 1" 1 "$rc"
expect_eq "TCP with a missing token file: names it" \
    "vpcictl: $TMP/none: No such file or directory" "$(cat "$TMP/err")"
expect_eq "the daemon refuses TCP requests without a token" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/devices")"

# ------------------------------------------------------------ no daemon
run --connect "unix:$TMP/nosock" devices
expect_eq "no socket exits 1" 1 "$rc"
expect_eq "no socket: clear message" \
    "vpcictl: cannot connect to unix:$TMP/nosock: No such file or directory (is vpcid running?)" \
    "$(cat "$TMP/err")"
run --connect http://127.0.0.1:1 --token-file "$TMP/token" types
expect_eq "refused TCP exits 1" 1 "$rc"
expect_eq "refused TCP: clear message" \
    "vpcictl: cannot connect to http://127.0.0.1:1: Connection refused (is vpcid running?)" \
    "$(cat "$TMP/err")"
run --connect "ftp://127.0.0.1:$port" devices
expect_eq "unknown scheme: usage error" 2 "$rc"
run --connect "http://127.0.0.1:$port/v1" --token-file "$TMP/token" devices
expect_eq "a path after HOST:PORT: usage error" 2 "$rc"

# ------------------------------------------------------------ types
run $U types
expect_eq "types on an empty store" "0|NAME LATEST CREATED DESCRIPTION" \
    "$rc|$(tr -s ' ' <"$TMP/out")"

export VPCI_QUIRKS_DIR="$top_srcdir/data/quirks"
"$VPCICTL" layout derive --sysfs "$T" 0000:3c:10.2 >"$TMP/vf.vpci" 2>/dev/null
check "derive a VF layout to publish" "$VPCICTL" layout lint "$TMP/vf.vpci"
"$VPCICTL" layout fmt "$TMP/vf.vpci" >"$TMP/vf.canon"
"$VPCICTL" layout hash "$TMP/vf.vpci" >"$TMP/vf.hash"
sed 's/^\(  0x2e u16 subsystem_id *\)0xa03c/\10xa03d/' "$TMP/vf.vpci" >"$TMP/vf2.vpci"
check "edited layout differs" test "$(cat "$TMP/vf.canon")" != \
    "$("$VPCICTL" layout fmt "$TMP/vf2.vpci")"
"$VPCICTL" layout fmt "$TMP/vf2.vpci" >"$TMP/vf2.canon"
"$VPCICTL" layout hash "$TMP/vf2.vpci" >"$TMP/vf2.hash"

run $U types publish nic-vf "$TMP/vf.vpci" --description "82576 VF, vfio policy"
expect_eq "publish a new type exits 0" 0 "$rc"
no_stderr "publish"
expect_eq "publish: @1 created and the hashes of layout hash" \
    "nic-vf@1 created
$(cat "$TMP/vf.hash")" "$(cat "$TMP/out")"
run $U types publish nic-vf "$TMP/vf.canon"
expect_eq "republish after layout fmt: unchanged" \
    "0|nic-vf@1 unchanged (same content)
$(cat "$TMP/vf.hash")" "$rc|$(cat "$TMP/out")"
{ echo "# a comment changes nothing"; cat "$TMP/vf.vpci"; } >"$TMP/vf-c.vpci"
run $U types publish nic-vf - <"$TMP/vf-c.vpci"
expect_eq "republish from stdin with a comment: unchanged" \
    "0|nic-vf@1 unchanged (same content)" "$rc|$(head -n1 "$TMP/out")"
run $U types publish nic-vf "$TMP/vf2.vpci"
expect_eq "publish an edited layout: @2 created" \
    "0|nic-vf@2 created
$(cat "$TMP/vf2.hash")" "$rc|$(cat "$TMP/out")"
run $U types publish nic-vf "$TMP/vf.vpci"
expect_eq "republish version 1's text: still version 1" \
    "0|nic-vf@1 unchanged (same content)" "$rc|$(head -n1 "$TMP/out")"
run $U types publish nic-vf "$TMP/vf2.canon" --description "ignored"
expect_eq "--description of an existing type: a warning" \
    "0|nic-vf@2 unchanged (same content)" "$rc|$(head -n1 "$TMP/out")"
check "--description warning names the type" \
    grep -q '^vpcictl: warning: nic-vf exists' "$TMP/err"

run $U -o json types publish nic-vf "$TMP/vf.vpci"
expect_eq "-o json publish exits 0" 0 "$rc"
expect_eq "-o json publish: the version object's fixed keys" \
    "created fingerprint hash name state version" \
    "$(jq -r 'keys | join(" ")' "$TMP/out")"
expect_eq "-o json publish: hash and fingerprint of layout hash" \
    "$(cat "$TMP/vf.hash")" \
    "$(jq -r '.hash, "fingerprint \(.fingerprint)"' "$TMP/out")"
expect_eq "-o json publish: name, version, state" 'nic-vf 1 published' \
    "$(jq -r '"\(.name) \(.version) \(.state)"' "$TMP/out")"
check "-o json publish: created is UTC ISO-8601" \
    jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$TMP/out"  >/dev/null

iso='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
run $U types
expect_eq "types: one row" "0|2" "$rc|$(wc -l <"$TMP/out" | tr -d ' ')"
check "types: name, latest, created, description" \
    grep -q "^nic-vf  *2  *$iso  *82576 VF, vfio policy\$" "$TMP/out"
run $U -o json types
expect_eq "-o json types" '[{"name":"nic-vf","latest":2,"description":"82576 VF, vfio policy"}]' \
    "$(jq -c '[.instance_types[] | {name, latest, description}]' "$TMP/out")"

run $U types show nic-vf
expect_eq "types show exits 0" 0 "$rc"
expect_eq "types show: header" \
    "Name: nic-vf|Description: 82576 VF, vfio policy|Latest: 2" \
    "$(grep -E '^(Name|Description|Latest):' "$TMP/out" | tr -s ' ' | tr '\n' '|' | sed 's/|$//')"
expect_eq "types show: versions table" \
    "VERSION STATE CREATED HASH|1 published $(head -n1 "$TMP/vf.hash")|2 published $(head -n1 "$TMP/vf2.hash")" \
    "$(sed -n '/^VERSION/,$p' "$TMP/out" | tr -s ' ' | sed "s/ $iso / /" | tr '\n' '|' | sed 's/|$//')"

run $U types show nic-vf@1
expect_eq "types show NAME@1 exits 0" 0 "$rc"
check "types show NAME@1: byte-identical to layout fmt" cmp -s "$TMP/out" "$TMP/vf.canon"
run $U types show nic-vf@latest
check "types show NAME@latest: the edited layout" cmp -s "$TMP/out" "$TMP/vf2.canon"
run $H types show nic-vf@2
check "types show over TCP: byte-identical" cmp -s "$TMP/out" "$TMP/vf2.canon"
run $U -o json types show nic-vf@1
expect_eq "-o json types show NAME@1 exits 0" 0 "$rc"
expect_eq "-o json types show: the version object and layout" \
    "created fingerprint hash layout name state version" \
    "$(jq -r 'keys | join(" ")' "$TMP/out")"
expect_eq "-o json types show: hash equals layout hash" "$(cat "$TMP/vf.hash")" \
    "$(jq -r '.hash, "fingerprint \(.fingerprint)"' "$TMP/out")"
jq -j .layout "$TMP/out" >"$TMP/json.layout"
check "-o json types show: layout is the canonical text" \
    cmp -s "$TMP/json.layout" "$TMP/vf.canon"

# deprecate
run $U types deprecate nic-vf@1
expect_eq "deprecate" "0|nic-vf@1 deprecated" "$rc|$(cat "$TMP/out")"
run $H types deprecate nic-vf@1
expect_eq "deprecate again (TCP): same answer" "0|nic-vf@1 deprecated" \
    "$rc|$(cat "$TMP/out")"
run $U types show nic-vf
check "types show: version 1 deprecated" grep -q "^1  *deprecated  *$iso  *sha256:" "$TMP/out"
check "types show: version 2 still published" grep -q "^2  *published " "$TMP/out"
run $U types show nic-vf@1
check "a deprecated version is still served" cmp -s "$TMP/out" "$TMP/vf.canon"
run $U -o json types deprecate nic-vf@1
expect_eq "-o json deprecate" "deprecated 1" \
    "$(jq -r '"\(.state) \(.version)"' "$TMP/out")"
run $U types publish nic-vf "$TMP/vf.vpci"
expect_eq "republish a deprecated version: unchanged" \
    "0|nic-vf@1 unchanged (same content)" "$rc|$(head -n1 "$TMP/out")"
check "republish a deprecated version: warns" \
    grep -q '^vpcictl: warning: nic-vf@1 is deprecated$' "$TMP/err"

# every types verb over TCP gives what it gives over the unix socket
for args in "types" "types show nic-vf" "-o json types show nic-vf@latest" \
    "types publish nic-vf $TMP/vf2.vpci"; do
    # shellcheck disable=SC2086
    run $U $args
    cp "$TMP/out" "$TMP/unix.out"
    # shellcheck disable=SC2086
    run $H $args
    expect_eq "TCP: vpcictl $args" "0|$(cat "$TMP/unix.out")" \
        "$rc|$(cat "$TMP/out")"
done
run $H devices 0000:3c:10.6
expect_eq "TCP: devices BDF" "0|BDF: 0000:3c:10.6" \
    "$rc|$(head -n1 "$TMP/out" | tr -s ' ')"

# invalid layouts: the same FILE:LINE:COL lines as layout lint
for f in 012-space-512 026-unknown-keyword 031-non-ascii-utf8-name \
    150-requires-device-second-short 240-raw-u32-past-space \
    030-non-ascii-token-start; do
    bad=$FIX/bad/$f.vpci
    "$VPCICTL" layout lint "$bad" 2>"$TMP/lint.err"
    run $U types publish nic-vf "$bad"
    expect_eq "$f: publish exits 1" 1 "$rc"
    expect_eq "$f: errors as layout lint prints them" "$(cat "$TMP/lint.err")" \
        "$(cat "$TMP/err")"
    run $U types publish fresh "$bad"
    expect_eq "$f: new type: errors as layout lint" "$(cat "$TMP/lint.err")" \
        "$(cat "$TMP/err")"
done
"$VPCICTL" layout lint - <"$FIX/bad/026-unknown-keyword.vpci" 2>"$TMP/lint.err"
run $U types publish nic-vf - <"$FIX/bad/026-unknown-keyword.vpci"
expect_eq "invalid layout from stdin: as layout lint -" \
    "1|$(cat "$TMP/lint.err")" "$rc|$(cat "$TMP/err")"
run $U types
expect_eq "no type created by a failed publish" "nic-vf" \
    "$(sed 1d "$TMP/out" | cut -d' ' -f1)"

# API errors
run $U types show nope
expect_eq "unknown type exits 1" 1 "$rc"
check "unknown type: type-not-found" grep -q '^vpcictl: .* (type-not-found)$' "$TMP/err"
run $U types show nic-vf@9
check "unknown version: version-not-found" grep -q '^vpcictl: .* (version-not-found)$' "$TMP/err"
expect_eq "unknown version exits 1" 1 "$rc"
run $U types show nic-vf@0
check "version 0: bad-version" grep -q '^vpcictl: .* (bad-version)$' "$TMP/err"
run $U types show 'Bad Name'
check "bad name: bad-name" grep -q '^vpcictl: .* (bad-name)$' "$TMP/err"
run $U types show ..
check "'..' stays a name: bad-name" grep -q '^vpcictl: .* (bad-name)$' "$TMP/err"
run $U types deprecate nic-vf@9
check "deprecate an unknown version: version-not-found" \
    grep -q '^vpcictl: .* (version-not-found)$' "$TMP/err"
run $U types publish nic-vf "$TMP/absent.vpci"
expect_eq "publish a missing file" "1|vpcictl: $TMP/absent.vpci: No such file or directory" \
    "$rc|$(cat "$TMP/err")"

# usage errors
for args in "types publish nic-vf" "types deprecate nic-vf" "types show" \
    "types frob" "-o yaml devices" "devices --frob" \
    "types show nic-vf --description x" "--connect"; do
    # shellcheck disable=SC2086
    run $U $args
    expect_eq "usage: vpcictl $args exits 2" 2 "$rc"
done
run --help
check "--help lists devices" grep -q '^  devices \[BDF\]' "$TMP/out"
check "--help lists types publish" grep -q 'types publish NAME FILE' "$TMP/out"
check "--help lists types deprecate" grep -q 'types deprecate NAME@N' "$TMP/out"
run types --help
expect_eq "types --help exits 0" 0 "$rc"
check "--help lists compat" grep -q '^  compat NAME\[@N\] \[BDF\.\.\.\]' "$TMP/out"
check "--help lists attach" grep -q '^  attach VM NAME\[@N\] \[--device BDF\] \[--numa N\] \[--request-id ID\]$' "$TMP/out"
check "--help lists detach and attachments" sh -c "grep -q '^  detach ID ' '$TMP/out' && grep -q '^  attachments \[ID | --vm VM\]' '$TMP/out'"
check "--help lists migrate" sh -c "grep -q '^  migrate precheck FILE ' '$TMP/out' && grep -q '^  migrate incoming FILE --vm VM' '$TMP/out'"

# the attachment verbs over both transports (this daemon has no runtime
# directory of its own: nothing is attached here, tests/daemon-compat.sh
# and tests/daemon-migrate.sh do that)
run $U attachments
expect_eq "attachments on an empty store" "0|ID VM DEVICE TYPE STATE PATH" \
    "$rc|$(tr -s ' ' <"$TMP/out")"
run $H -o json attachments --vm vm1
expect_eq "-o json attachments --vm over TCP" '0|{"attachments":[]}' \
    "$rc|$(jq -c . "$TMP/out" 2>&1)"
run $U compat nic-vf 0000:3c:10.2 0000:00:1f.0
cp "$TMP/out" "$TMP/unix.out"
expect_eq "compat: exit 0, the VF fits" "0|0000:3c:10.2 ok" \
    "$rc|$(sed -n 2p "$TMP/out" | tr -s ' ' | cut -d' ' -f1,2)"
run $H compat nic-vf 0000:3c:10.2 0000:00:1f.0
expect_eq "compat over TCP: the same table" "0|$(cat "$TMP/unix.out")" \
    "$rc|$(cat "$TMP/out")"
run $H compat nic-vf 0000:00:1f.0
expect_eq "compat, nothing fits: exit 1" "1|0000:00:1f.0 no 0" \
    "$rc|$(sed -n 2p "$TMP/out" | tr -s ' ' | cut -d' ' -f1-3)"
run $H detach 00000000-0000-4000-8000-000000000000
expect_eq "detach of an unknown id over TCP: exit 1" 1 "$rc"
check "detach of an unknown id: attachment-not-found" \
    grep -q '^vpcictl: .* (attachment-not-found)$' "$TMP/err"
run $U migrate precheck "$TMP/vf.vpci"
expect_eq "migrate precheck of an unresolved layout: exit 1" 1 "$rc"
check "migrate precheck of an unresolved layout: not-resolved" \
    grep -q '^vpcictl: .* (not-resolved)$' "$TMP/err"
for args in "migrate" "migrate frob x" "migrate commit" "migrate incoming $TMP/vf.vpci" \
    "migrate precheck $TMP/vf.vpci --ttl 3" "attach vm1 nic-vf --ttl 3" \
    "types show nic-vf --vm x"; do
    # shellcheck disable=SC2086
    run $U $args
    expect_eq "usage: vpcictl $args exits 2" 2 "$rc"
done

# the daemon stops cleanly
kill -TERM "$dpid"
wait "$dpid"
expect_eq "vpcid exits 0 on SIGTERM" 0 $?
dpid=

finish
