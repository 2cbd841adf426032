#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Compatibility and attachments against the real vpcid on fixture sysfs
# trees, a unix socket and a SQLite file: instance types derived from the
# fixture devices (and edited copies) checked against every function with
# exact verdicts, scores and reason codes; attachments created, listed,
# read and deleted with their resolved files (mode, lint, hashes); request
# ids; 32 concurrent attaches for 8 devices; a daemon killed in the middle
# of a burst of attaches loses none and leaves none half made; audit rows;
# a matrix of bad requests.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

RUN=$TMP/run
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
export VPCI_QUIRKS_DIR="$QUIRKS"
U="--connect unix:$SOCK"

# run ARGS...: vpcictl with stdout, stderr and exit status in $TMP/out,
# $TMP/err and $rc
run() {
    "$VPCICTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

# verdicts: "BDF ok|no SCORE CODE,CODE" per result of the last answer, in
# answer order ("-" without reasons).
verdicts() {
    jb '.results[] | "\(.bdf) \(if .compatible then "ok" else "no" end) \(.score) \(if (.reasons | length) == 0 then "-" else ([.reasons[].code] | join(",")) end)"'
}

# compat_post TYPE [JQ OBJECT]: POST /v1/compat for TYPE.
compat_post() {
    jq -n -c --arg t "$1" "{instance_type: \$t} + (${2:-{\}})" >"$TMP/compat.json"
    post_json /v1/compat "$TMP/compat.json"
}

# sql QUERY: one sqlite3 answer on the daemon's database.
sql() {
    sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}

# vpci_files: the resolved files under $RUN/vms, one per line, sorted.
vpci_files() {
    (cd "$RUN" 2>/dev/null && find vms -type f -name '*.vpci' | LC_ALL=C sort)
}

# ---------------------------------------------------------------- fixtures
fixture_tree
if ! daemon_start --runtime-dir "$RUN"; then
    not_ok "vpcid starts on the fixture tree"
    finish
    exit 1
fi
ok
"$VPCICTL" host scan --sysfs "$TREE" -o json >"$TMP/scan.json" 2>/dev/null
group_of() {
    jq -r --arg b "$1" '.devices[] | select(.bdf == $b) | .iommu_group' "$TMP/scan.json"
}

# Instance types from the devices as the daemon derives them.
api GET /v1/devices/0000:3c:10.0/layout
expect_status "GET the layout of the 82576 VF" 200
cp "$RBODY" "$TMP/nic.vpci"
"$VPCICTL" layout derive --sysfs "$TREE" 0000:3c:10.0 >"$TMP/nic-derive.vpci" 2>/dev/null
expect_eq "the daemon's derived layout has vpcictl layout derive's hash" \
    "$(layout_hash "$TMP/nic-derive.vpci")" "$(layout_hash "$TMP/nic.vpci")"
api GET /v1/devices/0000:6a:01.0/layout
expect_status "GET the layout of the DSA" 200
cp "$RBODY" "$TMP/dsa.vpci"
check "both layouts lint" "$VPCICTL" layout lint "$TMP/nic.vpci" "$TMP/dsa.vpci"

# Edited copies, each with one thing a device may lack.
sed 's/^bar 0 mem64 size 0x4000 from 0$/bar 0 mem64 size 0x8000 from 0/' \
    "$TMP/nic.vpci" >"$TMP/nic-bar.vpci"
sed '/^cap 0x70 msix$/,/^$/s/^\(  0x02 u16 msgctl  *\)0x0009/\10x0013/' \
    "$TMP/nic.vpci" >"$TMP/nic-msix.vpci"
{ cat "$TMP/nic.vpci"; printf '\nrequires\n  driver nosuch-drv\n'; } >"$TMP/nic-drv.vpci"
{ cat "$TMP/nic.vpci"; printf '\nrequires\n  numa 0\n  migration\n'; } >"$TMP/nic-numa.vpci"
sed 's/^ecap 0x230 pasid version 1$/ecap 0x280 pasid version 1/' \
    "$TMP/dsa.vpci" >"$TMP/dsa-moved.vpci"
{ cat "$TMP/dsa.vpci"; printf '\nrequires\n  pasid width 20 exec priv\n'; } >"$TMP/dsa-exec.vpci"
for v in nic-bar nic-msix nic-drv nic-numa dsa-moved dsa-exec; do
    check "$v lints" "$VPCICTL" layout lint "$TMP/$v.vpci"
    check "$v differs from its source" test "$(layout_hash "$TMP/$v.vpci")" != \
        "$(layout_hash "$TMP/${v%%-*}.vpci")"
done
expect_eq "bar edit: one line" 1 "$(diff "$TMP/nic.vpci" "$TMP/nic-bar.vpci" | grep -c '^>')"
expect_eq "msix edit: one line" 1 "$(diff "$TMP/nic.vpci" "$TMP/nic-msix.vpci" | grep -c '^>')"
expect_eq "pasid moved: one line" 1 "$(diff "$TMP/dsa.vpci" "$TMP/dsa-moved.vpci" | grep -c '^>')"

for t in nic nic-bar nic-msix nic-drv nic-numa dsa dsa-moved dsa-exec; do
    publish_type "$t" "$TMP/$t.vpci"
    expect_status "publish $t" 201
done
HN=$(layout_hash "$TMP/nic.vpci")
FN=$(layout_fingerprint "$TMP/nic.vpci")

# ---------------------------------------------------------------- compat
VF4="0000:3c:10.0 0000:3c:10.2 0000:3c:10.4 0000:3c:10.6"
# expect_verdicts DESCRIPTION EXPECTED: the last compat answer, result by
# result.
expect_verdicts() {
    expect_eq "$1: HTTP status" 200 "$STATUS"
    expect_eq "$1: verdicts" "$2" "$(verdicts)"
}

compat_post nic
expect_eq "compat nic: type and version" "nic 1" "$(jb '"\(.instance_type) \(.version)"')"
expect_eq "compat nic: result keys" '["bdf","compatible","reasons","score"]' \
    "$(jbc '[.results[] | keys] | unique | .[]')"
expect_eq "compat nic: reason keys" '["actual","code","expected","message"]' \
    "$(jbc '[.results[].reasons[] | keys] | unique | .[]')"
expect_verdicts "compat nic" "$(cat <<EOF
0000:3c:10.0 ok 1001 -
0000:3c:10.2 ok 1001 -
0000:3c:10.4 ok 1001 -
0000:3c:10.6 ok 1001 -
0000:00:1f.0 no 0 device-id,bar-type,bar-size,bar-missing,msi-missing,msix-missing,phys-cap-missing,not-vfio
0000:00:1f.1 no 0 device-id,bar-type,bar-size,bar-missing,msi-missing,msix-missing,phys-cap-missing,not-vfio,iommu-group
0000:06:00.0 no 0 config-unreadable,device-id,bar-missing,bar-missing,not-vfio
0000:3b:00.0 no 0 device-id,bar-type,bar-size,bar-type,not-vfio
0000:5e:00.0 no 0 device-id,bar-type,bar-size,bar-missing,msi-missing,not-vfio
0000:6a:01.0 no 0 device-id,bar-type,bar-size,bar-missing,msi-missing,msix-vectors
0000:6b:00.0 no 0 device-id,bar-type,bar-size,bar-missing,msix-missing,not-vfio
0000:6b:02.0 no 0 device-id,bar-type,bar-missing,msix-missing
0000:6b:02.2 no 0 device-id,bar-type,bar-missing,msix-missing
EOF
)"
# the values behind a few reasons, as a user reads them
r3b='.results[] | select(.bdf == "0000:3b:00.0") | .reasons'
expect_eq "PF: device-id expected/actual" '["8086:10ca","8086:10c9"]' \
    "$(jbc "$r3b | map(select(.code == \"device-id\"))[0] | [.expected, .actual]")"
expect_eq "PF: bar-type and bar-size of BAR 0" '[["mem64","mem32"],["16384","131072"]]' \
    "$(jbc "[$r3b | map(select(.code == \"bar-type\" or .code == \"bar-size\"))[0:2][] | [.expected, .actual]]")"
expect_eq "PF: not-vfio names its driver" '"igb"' \
    "$(jbc "$r3b | map(select(.code == \"not-vfio\"))[0].actual")"
check "shared group: iommu-group names the peer" matches \
    "$(jb '.results[] | select(.bdf == "0000:00:1f.1") | .reasons[] | select(.code == "iommu-group") | .actual')" \
    '0000:00:1f\.0( .*)?'
# the Atheros dump has no Region lines: BAR 0's type is in its register,
# its size is nowhere
expect_eq "a BAR of unknown size: bar-size, actual unknown" '["16384","unknown"]' \
    "$(jbc '.results[] | select(.bdf == "0000:00:1f.0") | .reasons[] | select(.code == "bar-size") | [.expected, .actual]')"
expect_eq "every reason has a message" 0 \
    "$(jb '[.results[].reasons[] | select((.message | length) == 0)] | length')"
cp "$RBODY" "$TMP/compat-nic.json"

# the given devices only, in the answer's order; one not on the host
compat_post nic '{devices: ["0000:3b:00.0", "0000:99:00.0", "0000:3c:10.4"]}'
expect_verdicts "compat nic on three devices" "0000:3c:10.4 ok 1001 -
0000:3b:00.0 no 0 device-id,bar-type,bar-size,bar-type,not-vfio
0000:99:00.0 no 0 not-present"
cp "$RBODY" "$TMP/compat-three.json"

# each edit fails on the VFs with exactly its rule
compat_post nic-bar '{devices: ["0000:3c:10.0", "0000:3c:10.2", "0000:3c:10.4", "0000:3c:10.6"]}'
expect_verdicts "nic-bar: the BAR size" "$(for b in $VF4; do echo "$b no 0 bar-size"; done)"
expect_eq "nic-bar: expected and actual size" '["32768","16384"]' \
    "$(jbc '.results[0].reasons[0] | [.expected, .actual]')"
compat_post nic-msix '{devices: ["0000:3c:10.2", "0000:3b:00.0"]}'
expect_verdicts "nic-msix: more MSI-X vectors than the device has" \
    "0000:3b:00.0 no 0 device-id,bar-type,bar-size,bar-type,msix-vectors,not-vfio
0000:3c:10.2 no 0 msix-vectors"
expect_eq "nic-msix: vectors wanted and had" '[">= 20","10"]' \
    "$(jbc '.results[1].reasons[0] | [.expected, .actual]')"
compat_post nic-drv '{devices: ["0000:3c:10.2"]}'
expect_verdicts "nic-drv: unknown driver" "0000:3c:10.2 no 0 driver"
expect_eq "nic-drv: the driver bound" '"vfio-pci"' "$(jbc '.results[0].reasons[0].actual')"
compat_post nic-numa '{devices: ["0000:3c:10.2"]}'
expect_verdicts "nic-numa: migration and NUMA node" "0000:3c:10.2 no 0 migration,numa"
compat_post nic '{devices: ["0000:3c:10.2"], version: 1}'
expect_verdicts "explicit version 1" "0000:3c:10.2 ok 1001 -"

# PASID, ATS, PRI: the DSA type on functions with and without them
compat_post dsa '{devices: ["0000:6a:01.0", "0000:6b:00.0", "0000:6b:02.0", "0000:3c:10.0"]}'
expect_verdicts "dsa" "0000:6a:01.0 ok 1001 -
0000:3c:10.0 no 0 device-id,bar-type,bar-size,bar-missing,phys-cap-missing,pasid-missing,ats-missing,pri-missing
0000:6b:00.0 no 0 device-id,bar-type,bar-size,bar-type,bar-size,msix-missing,not-vfio
0000:6b:02.0 no 0 device-id,bar-type,bar-size,bar-type,bar-size,msix-missing"
expect_eq "dsa on the 82576 VF: the missing capability is dvsec" '"ecap dvsec"' \
    "$(jbc '.results[1].reasons[] | select(.code == "phys-cap-missing") | .expected')"
compat_post dsa-moved '{devices: ["0000:6a:01.0", "0000:3c:10.0"]}'
expect_verdicts "dsa with PASID moved: still fits the DSA" "0000:6a:01.0 ok 1001 -
0000:3c:10.0 no 0 device-id,bar-type,bar-size,bar-missing,phys-cap-missing,pasid-missing,ats-missing,pri-missing"
compat_post dsa-exec '{devices: ["0000:6a:01.0", "0000:6b:02.2"]}'
expect_verdicts "dsa requiring PASID exec: the DSA lacks it, the PF of 6b:02.2 has it" \
    "0000:6a:01.0 no 0 pasid-exec
0000:6b:02.2 no 0 device-id,bar-type,bar-size,bar-type,bar-size,msix-missing"

# GET /v1/devices/{bdf}/compat
api GET '/v1/devices/0000:6a:01.0/compat?type=dsa-moved'
expect_verdicts "GET device compat" "0000:6a:01.0 ok 1001 -"
expect_eq "GET device compat: type and version" "dsa-moved 1" \
    "$(jb '"\(.instance_type) \(.version)"')"
api GET '/v1/devices/6a:01.0/compat?type=dsa-exec@1'
expect_verdicts "GET device compat, short BDF, NAME@N" "0000:6a:01.0 no 0 pasid-exec"
api GET '/v1/devices/0000:99:00.0/compat?type=nic'
expect_problem "GET compat of an absent device" 404 device-not-found
api GET '/v1/devices/0000:3c:10.0/compat?type=nope'
expect_problem "GET compat of an unknown type" 404 type-not-found
api GET '/v1/devices/0000:3c:10.0/compat?type=nic@9'
expect_problem "GET compat of an unknown version" 404 version-not-found
api GET '/v1/devices/0000:3c:10.0/compat'
expect_problem "GET compat without type" 400 bad-query
api GET '/v1/devices/3c:1/compat?type=nic'
expect_problem "GET compat of a malformed BDF" 400 bad-bdf

# vpcictl compat: the same verdicts as a table, exit 0 when one fits
table_rows() {
    jq -r '.results[] | "\(.bdf) \(if .compatible then "ok" else "no" end) \(.score) \(if (.reasons | length) == 0 then "-" else ([.reasons[] | "\(.code): \(.message)"] | join("; ")) end)"' "$1" | tr -s ' '
}
run $U compat nic 0000:3b:00.0 0000:99:00.0 0000:3c:10.4
expect_eq "vpcictl compat: exit 0" 0 "$rc"
expect_eq "vpcictl compat: the table" "DEVICE VERDICT SCORE REASONS
$(table_rows "$TMP/compat-three.json")" "$(tr -s ' ' <"$TMP/out")"
run $U compat nic
expect_eq "vpcictl compat, every device: the table" "DEVICE VERDICT SCORE REASONS
$(table_rows "$TMP/compat-nic.json")" "$(tr -s ' ' <"$TMP/out")"
run $U compat nic-drv@1 0000:3c:10.2
expect_eq "vpcictl compat, none fits: exit 1" 1 "$rc"
expect_eq "vpcictl compat, none fits: the reason" \
    "0000:3c:10.2 no 0 driver: $(compat_post nic-drv '{devices: ["0000:3c:10.2"]}'; jb '.results[0].reasons[0].message')" \
    "$(sed -n 2p "$TMP/out" | tr -s ' ')"
run $U -o json compat dsa 0000:6a:01.0
compat_post dsa '{devices: ["0000:6a:01.0"]}'
expect_eq "vpcictl -o json compat: the API's JSON" "0|$(jq -S -c . "$RBODY")" \
    "$rc|$(jq -S -c . "$TMP/out" 2>&1)"
run $U compat nope
expect_eq "vpcictl compat of an unknown type: exit 1" 1 "$rc"
check "vpcictl compat of an unknown type: type-not-found" \
    grep -q '^vpcictl: .* (type-not-found)$' "$TMP/err"
run $U compat nic@x
expect_eq "vpcictl compat NAME@x: usage" 2 "$rc"
run $U compat
expect_eq "vpcictl compat without a type: usage" 2 "$rc"

# ---------------------------------------------------------------- attach
att_keys='["created","expires","fingerprint","hash","id","instance_type","layout","path","request_id","state","bdf","version","vm"]'
att_keys=$(echo "$att_keys" | jq -c 'sort')
attach_body vm1 nic >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_status "attach vm1 nic" 201
expect_eq "attach: content type" application/json "$CTYPE"
expect_eq "attach: keys" "$att_keys" "$(jbc 'keys')"
A1=$(jb .id)
check "attach: id is a lowercase UUID" matches "$A1" "$UUID_RE"
expect_eq "attach: Location" "/v1/attachments/$A1" "$(hdr location)"
expect_eq "attach: the first compatible device, type, version, state" \
    "vm1 0000:3c:10.0 nic 1 active null null" \
    "$(jb '"\(.vm) \(.bdf) \(.instance_type) \(.version) \(.state) \(.request_id) \(.expires)"')"
expect_eq "attach: hash and fingerprint of the type" "$HN $FN" "$(jb '"\(.hash) \(.fingerprint)"')"
check "attach: created is UTC ISO-8601" matches "$(jb .created)" "$TIME_RE"
P1=$RUN/vms/vm1/0000:3c:10.0.vpci
expect_eq "attach: path" "$P1" "$(jb .path)"
jq -j .layout "$RBODY" >"$TMP/a1.layout"
cp "$RBODY" "$TMP/a1.json"
check "the resolved file exists" test -f "$P1"
expect_eq "the resolved file has mode 0640" 640 "$(stat -c %a "$P1" 2>/dev/null)"
check "the file is the attachment's layout" cmp -s "$P1" "$TMP/a1.layout"
check "the resolved file lints" "$VPCICTL" layout lint "$P1"
expect_eq "the resolved file has the type's hash" "$HN" "$(layout_hash "$P1")"
expect_eq "the resolved file has the type's fingerprint" "$FN" "$(layout_fingerprint "$P1")"
g=$(group_of 0000:3c:10.0)
expect_eq "binding lines" "instance-type nic
version 1
hash $HN
fingerprint $FN
bdf 0000:3c:10.0
pf 0000:3b:00.0
iommu-group $g
vfio /dev/vfio/$g" \
    "$(sed -n '/^binding$/,$p' "$P1" | sed 's/^  //' | grep -v -e '^binding$' -e '^map ')"
# (as a set: their order is the canonical form's business)
expect_eq "map lines: each block and BAR on the VF's own" "map bar 0 0
map bar 3 3
map cap msi 0x50 0x50
map cap msix 0x70 0x70
map cap pcie 0xa0 0xa0
map cap pm 0x40 0x40
map ecap aer 0x100 0x100
map ecap dsn 0x140 0x140" "$(sed -n 's/^  \(map .*\)$/\1/p' "$P1" | LC_ALL=C sort)"
expect_eq "the text before the binding is the type's" \
    "$("$VPCICTL" layout fmt "$TMP/nic.vpci")" \
    "$("$VPCICTL" layout fmt "$P1" | sed '/^binding$/,$d' | sed '$ { /^$/d }')"

api GET "/v1/attachments/$A1"
expect_status "GET the attachment" 200
expect_eq "GET the attachment: the object attach returned" \
    "$(jq -S -c . "$TMP/a1.json")" "$(jq -S -c . "$RBODY")"
api GET "/v1/attachments/$A1/layout"
expect_status "GET the attachment's layout" 200
expect_eq "layout content type" "text/x-vpci-layout; charset=utf-8" "$CTYPE"
expect_eq "layout ETag" "\"$HN\"" "$(hdr etag)"
check "layout body is the file" cmp -s "$RBODY" "$P1"
api GET /v1/attachments
expect_eq "list: one attachment, the same object" "[$(jq -S -c . "$TMP/a1.json")]" \
    "$(jq -S -c .attachments "$RBODY")"
api GET /v1/attachments?vm=vm1
expect_eq "list ?vm=vm1" "$A1" "$(jb '[.attachments[].id] | join(" ")')"
api GET /v1/attachments?vm=vm2
expect_eq "list ?vm=vm2: empty" '{"attachments":[]}' "$(jbc .)"

# the held VF is reserved; the others score less (same PF)
compat_post nic '{devices: ["0000:3c:10.0", "0000:3c:10.2"]}'
expect_verdicts "compat after an attach" "0000:3c:10.2 ok 1000 -
0000:3c:10.0 no 0 reserved"
expect_eq "reserved: actual is the attachment id" "$A1" "$(jb '.results[1].reasons[0].actual')"

# request ids
attach_body vm2 nic '{request_id: "req-1"}' >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_status "attach with a request id" 201
A2=$(jb .id)
expect_eq "request id: next device, request_id echoed" "0000:3c:10.2 req-1" "$(jb '"\(.bdf) \(.request_id)"')"
cp "$RBODY" "$TMP/a2.json"
post_json /v1/attachments "$TMP/att.json"
expect_status "the same request again" 200
expect_eq "the same request again: the same attachment" \
    "$(jq -S -c . "$TMP/a2.json")" "$(jq -S -c . "$RBODY")"
attach_body vm3 nic '{request_id: "req-1"}' >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_problem "a request id reused for another vm" 409 request-id-conflict
attach_body vm2 dsa '{request_id: "req-1"}' >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_problem "a request id reused for another type" 409 request-id-conflict

# an explicit device; an incompatible one; all held
run $U attach vm3 nic --device 0000:3c:10.6 --request-id req-3
expect_eq "vpcictl attach --device: exit 0" 0 "$rc"
A3=$(sed -n 2p "$TMP/out" | cut -d' ' -f1)
expect_eq "vpcictl attach --device: the table" "ID VM DEVICE TYPE STATE PATH
$A3 vm3 0000:3c:10.6 nic@1 active $RUN/vms/vm3/0000:3c:10.6.vpci" "$(tr -s ' ' <"$TMP/out")"
check "vpcictl attach: id is a UUID" matches "$A3" "$UUID_RE"
run $U -o json attach vm3 nic --device 0000:3c:10.6 --request-id req-3
expect_eq "vpcictl -o json attach, same request id: the attachment" "0|$A3|req-3" \
    "$rc|$(jq -r '"\(.id)|\(.request_id)"' "$TMP/out" 2>&1)"
attach_body vm4 nic '{device: "0000:3b:00.0"}' >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_problem "attach an incompatible device" 409 no-compatible-device
expect_eq "no-compatible-device: the results" \
    "0000:3b:00.0 no 0 device-id,bar-type,bar-size,bar-type,not-vfio" "$(verdicts)"
attach_body vm4 nic '{device: "0000:3c:10.6"}' >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_problem "attach a held device" 409 no-compatible-device
expect_eq "held device: reserved by vm3's attachment" "0000:3c:10.6 reserved $A3" \
    "$(jb '.results[0] | "\(.bdf) \(.reasons[0].code) \(.reasons[0].actual)"')"
run $U attach vm4 nic --numa 1
expect_eq "vpcictl attach --numa: the last free VF" "0|0000:3c:10.4" \
    "$rc|$(sed -n 2p "$TMP/out" | tr -s ' ' | cut -d' ' -f3)"
A4=$(sed -n 2p "$TMP/out" | cut -d' ' -f1)
run $U attach vm5 nic
expect_eq "vpcictl attach with every VF held: exit 1" 1 "$rc"
expect_eq "vpcictl attach with every VF held: nothing on stdout" "" "$(cat "$TMP/out")"
check "vpcictl attach, nothing fits: the problem" \
    grep -q '^vpcictl: .* (no-compatible-device)$' "$TMP/err"
check "vpcictl attach, nothing fits: why each VF did not" \
    grep -q '^0000:3c:10.2  *no  *0  *reserved: ' "$TMP/err"
expect_eq "vpcictl attach, nothing fits: one line per device" \
    "$((FIXTURE_DEVICES + 2))" "$(wc -l <"$TMP/err" | tr -d ' ')"

run $U attachments
expect_eq "vpcictl attachments: four rows" "0|5" "$rc|$(wc -l <"$TMP/out" | tr -d ' ')"
expect_eq "vpcictl attachments: vm and device of each" \
    "vm1 0000:3c:10.0|vm2 0000:3c:10.2|vm3 0000:3c:10.6|vm4 0000:3c:10.4" \
    "$(sed 1d "$TMP/out" | tr -s ' ' | cut -d' ' -f2,3 | LC_ALL=C sort | tr '\n' '|' | sed 's/|$//')"
run $U attachments --vm vm3
expect_eq "vpcictl attachments --vm" "0|$A3" "$rc|$(sed 1d "$TMP/out" | cut -d' ' -f1)"
run $U attachments "$A2"
expect_eq "vpcictl attachments ID: detail" \
    "ID: $A2|VM: vm2|Device: 0000:3c:10.2|Instance type: nic@1|State: active|Request ID: req-1|Path: $RUN/vms/vm2/0000:3c:10.2.vpci" \
    "$(grep -E '^(ID|VM|Device|Instance type|State|Request ID|Path):' "$TMP/out" | tr -s ' ' | tr '\n' '|' | sed 's/|$//')"
run $U -o json attachments --vm vm1
expect_eq "vpcictl -o json attachments --vm" "[\"$A1\"]" "$(jq -c '[.attachments[].id]' "$TMP/out" 2>&1)"
expect_eq "resolved files: one per attachment" \
    "vms/vm1/0000:3c:10.0.vpci vms/vm2/0000:3c:10.2.vpci vms/vm3/0000:3c:10.6.vpci vms/vm4/0000:3c:10.4.vpci" \
    "$(vpci_files | tr '\n' ' ' | sed 's/ $//')"

# detach
api DELETE "/v1/attachments/$A1"
expect_status "DELETE the attachment" 204
check "DELETE: the file is gone" test ! -e "$P1"
check "DELETE: the VM's empty directory is gone" test ! -e "$RUN/vms/vm1"
api GET "/v1/attachments/$A1"
expect_problem "GET a deleted attachment" 404 attachment-not-found
api DELETE "/v1/attachments/$A1"
expect_problem "DELETE it again" 404 attachment-not-found
api GET "/v1/attachments/$A1/layout"
expect_problem "layout of a deleted attachment" 404 attachment-not-found
run $U detach "$A3"
expect_eq "vpcictl detach" "0|$A3 detached" "$rc|$(cat "$TMP/out")"
check "vpcictl detach: the file is gone" test ! -e "$RUN/vms/vm3/0000:3c:10.6.vpci"
run $U detach "$A3"
expect_eq "vpcictl detach again: exit 1" 1 "$rc"
check "vpcictl detach again: attachment-not-found" \
    grep -q '^vpcictl: .* (attachment-not-found)$' "$TMP/err"
compat_post nic '{devices: ["0000:3c:10.0", "0000:3c:10.6"]}'
expect_verdicts "detached devices are free again" "0000:3c:10.0 ok 999 -
0000:3c:10.6 ok 999 -"

# versions: the highest published one by default, a deprecated one refused
sed 's/^\(  0x2e u16 subsystem_id *\)0xa03c/\10xa03d/' "$TMP/nic.vpci" >"$TMP/nic2.vpci"
publish_type nic "$TMP/nic2.vpci"
expect_status "publish nic@2" 201
api POST /v1/instance-types/nic/versions/1/deprecate
expect_status "deprecate nic@1" 200
attach_body vm6 nic >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_eq "attach without a version: the highest published" "201 2 $(layout_hash "$TMP/nic2.vpci")" \
    "$STATUS $(jb '"\(.version) \(.hash)"')"
A6=$(jb .id)
attach_body vm6 nic '{version: 1}' >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
expect_problem "attach a deprecated version" 409 version-deprecated
compat_post nic '{devices: ["0000:3c:10.0"]}'
expect_eq "compat without a version: the highest published" 2 "$(jb .version)"
api DELETE "/v1/attachments/$A6"
api DELETE "/v1/attachments/$A2"
api DELETE "/v1/attachments/$A4"
expect_eq "every attachment deleted: no files" "" "$(vpci_files)"
api GET /v1/attachments
expect_eq "every attachment deleted: none listed" 0 "$(jb '.attachments | length')"

# audit: one row per change, none for refusals or repeats
expect_eq "audit rows of the attachments" \
    "attach $A1
attach $A2
attach $A3
attach $A4
detach $A1
detach $A3
attach $A6
detach $A6
detach $A2
detach $A4" \
    "$(sql "SELECT action, substr(object, 13) FROM audit WHERE object LIKE 'attachments/%' ORDER BY id" | tr '|' ' ')"
expect_eq "audit detail of the first attach" \
    "{\"vm\":\"vm1\",\"bdf\":\"0000:3c:10.0\",\"instance_type\":\"nic\",\"version\":1,\"state\":\"active\"}" \
    "$(sql "SELECT detail FROM audit WHERE object = 'attachments/$A1' AND action = 'attach'" | jq -c .)"
expect_eq "audit actor: the unix peer" "uid:$(id -u)" \
    "$(sql "SELECT actor FROM audit WHERE object = 'attachments/$A1' AND action = 'attach'")"

# ---------------------------------------------------------------- bad requests
# bad PATH BODY STATUS CODE
bad() {
    printf '%s' "$2" >"$TMP/bad.json"
    post_json "$1" "$TMP/bad.json"
    expect_problem "POST $1 $2" "$3" "$4"
}
long=$(printf 'v%.0s' $(seq 1 129))
bad /v1/attachments '{"vm":"bad name","instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":"","instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":"-vm","instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":".vm","instance_type":"nic"}' 400 bad-field
bad /v1/attachments "{\"vm\":\"$long\",\"instance_type\":\"nic\"}" 400 bad-field
bad /v1/attachments '{"vm":"vm/1","instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":"vm\u00e9","instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":7,"instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":null,"instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"instance_type":"nic"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nope"}' 404 type-not-found
bad /v1/attachments '{"vm":"vm9","instance_type":"Bad Name"}' 400 bad-name
bad /v1/attachments '{"vm":"vm9","instance_type":["nic"]}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","version":9}' 404 version-not-found
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","version":"2"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","version":0}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","version":2.5}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","device":"3c:1"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","device":"0000:3c:10.8"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","device":42}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","numa":"1"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","numa":-1}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","request_id":"a b"}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","request_id":""}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","request_id":5}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","instance_type":"nic","frob":1}' 400 bad-field
bad /v1/attachments '{"vm":"vm9","vm":"vm8","instance_type":"nic"}' 400 bad-json
bad /v1/attachments '["vm9","nic"]' 400 bad-json
bad /v1/attachments '{"vm":"vm9",' 400 bad-json
bad /v1/attachments '' 400 bad-json
bad /v1/compat '{}' 400 bad-field
bad /v1/compat '{"instance_type":"nope"}' 404 type-not-found
bad /v1/compat '{"instance_type":"nic","version":7}' 404 version-not-found
bad /v1/compat '{"instance_type":"nic","devices":"0000:3c:10.0"}' 400 bad-field
bad /v1/compat '{"instance_type":"nic","devices":["zz"]}' 400 bad-field
bad /v1/compat '{"instance_type":"nic","devices":[1]}' 400 bad-field
bad /v1/compat '{"instance_type":"nic","frob":true}' 400 bad-field
api GET '/v1/attachments?vm=bad%20name'
expect_problem "list ?vm=bad name" 400 bad-query
api GET '/v1/attachments?frob=1'
expect_problem "list ?frob=1" 400 bad-query
api GET /v1/attachments/0123
expect_problem "GET a malformed attachment id" 404 attachment-not-found
api GET /v1/attachments/00000000-0000-4000-8000-000000000000
expect_problem "GET an unknown attachment id" 404 attachment-not-found
expect_eq "no bad request made an attachment" 0 "$(sql 'SELECT count(*) FROM attachments')"
expect_eq "no bad request left a file" "" "$(vpci_files)"
for args in "attach vm1" "attach vm1 nic extra" "detach" "detach a b" \
    "attach vm1 nic --numa x" "attach vm1 nic@0x1" "attachments --vm" \
    "attachments a --vm b" "compat nic --device 0000:3c:10.0" "detach x --ttl 5" \
    "devices --vm x"; do
    # shellcheck disable=SC2086
    run $U $args
    expect_eq "usage: vpcictl $args exits 2" 2 "$rc"
done
run $U attach 'bad name' nic
expect_eq "vpcictl attach with a bad vm name: exit 1" 1 "$rc"
check "vpcictl attach with a bad vm name: bad-field" \
    grep -q '^vpcictl: .* (bad-field)$' "$TMP/err"

if ! daemon_stop; then
    not_ok "vpcid exits 0 on SIGTERM (status $DAEMON_RC)"
else
    ok
fi

# ---------------------------------------------------------------- 32 for 8
# One 82576 PF with 8 VFs on vfio-pci: 32 clients ask at once, 8 get one.
TREE=$TMP/sys8
DB=$TMP/vpcid8.db
RUN=$TMP/run8
make_tree "$TREE" <<EOF
func 0000:3b:00.0 $DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=8 vfdriver=vfio-pci numa=1
EOF
VF8="0000:3c:10.0 0000:3c:10.2 0000:3c:10.4 0000:3c:10.6 0000:3c:11.0 0000:3c:11.2 0000:3c:11.4 0000:3c:11.6"
check "tree with 8 VFs" test -L "$TREE/bus/pci/devices/0000:3c:11.6"
if ! daemon_start --runtime-dir "$RUN"; then
    not_ok "vpcid starts on the 8-VF tree"
    finish
    exit 1
fi
ok
publish_type nic "$TMP/nic.vpci"
expect_status "publish nic on the 8-VF host" 201
compat_post nic
expect_eq "8 compatible VFs" "$VF8" \
    "$(jb '[.results[] | select(.compatible) | .bdf] | join(" ")')"

mkdir -p "$TMP/c32"
i=1
while [ "$i" -le 32 ]; do
    attach_body "vm$i" nic "{request_id: \"burst-$i\"}" >"$TMP/c32/$i.req"
    i=$((i + 1))
done
concurrent_posts 32 /v1/attachments "$TMP/c32"
expect_eq "32 concurrent attaches: 8 created, 24 refused" "8 201
24 409" "$(cat "$TMP"/c32/*.status | sort | uniq -c | sed 's/^ *//')"
got=$(for i in $(seq 1 32); do
    [ "$(cat "$TMP/c32/$i.status")" = 201 ] && jq -r .bdf "$TMP/c32/$i.body"
done | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
expect_eq "the 8 created hold 8 distinct VFs" "$VF8" "$got"
nbad=0
for i in $(seq 1 32); do
    if [ "$(cat "$TMP/c32/$i.status")" = 409 ] &&
        [ "$(jq -r '"\(.code) \([.results[] | select(.compatible)] | length) \(.results | length)"' "$TMP/c32/$i.body")" != "no-compatible-device 0 9" ]; then
        nbad=$((nbad + 1))
        echo "  client $i: $(head -c 300 "$TMP/c32/$i.body")"
    fi
done
expect_eq "each 409: no-compatible-device, every function's result, none fits" 0 "$nbad"
expect_eq "the store holds 8 attachments" 8 "$(sql 'SELECT count(*) FROM attachments')"
expect_eq "8 resolved files" 8 "$(vpci_files | wc -l | tr -d ' ')"
expect_eq "8 attach audit rows" 8 "$(sql "SELECT count(*) FROM audit WHERE action = 'attach'")"
# the same 32 requests again: the 8 winners get theirs back (200)
concurrent_posts 32 /v1/attachments "$TMP/c32"
expect_eq "the burst repeated: 8 answered 200 with their own, 24 refused" "8 200
24 409" "$(cat "$TMP"/c32/*.status | sort | uniq -c | sed 's/^ *//')"
expect_eq "still 8 attachments" 8 "$(sql 'SELECT count(*) FROM attachments')"

# detach all through vpcictl
for id in $(sql 'SELECT id FROM attachments'); do
    "$VPCICTL" $U detach "$id" >/dev/null
done
expect_eq "all detached: no rows, no files" "0|" "$(sql 'SELECT count(*) FROM attachments')|$(vpci_files)"

# ---------------------------------------------------------------- a restart mid-burst
# restart_burst SIGNAL: 32 attaches (other request ids), the daemon killed
# with SIGNAL while they run, restarted; every 201 is still there, every
# row has its file and no file lacks its row.
restart_burst() {
    rm -rf "$TMP/r32"
    mkdir -p "$TMP/r32"
    i=1
    while [ "$i" -le 32 ]; do
        attach_body "vm$i" nic "{request_id: \"$1-$i\"}" >"$TMP/r32/$i.req"
        i=$((i + 1))
    done
    concurrent_posts 32 /v1/attachments "$TMP/r32" &
    bpid=$!
    # kill it once the first attach has been answered
    w=0
    while [ "$w" -lt 500 ] && ! grep -q -s '^201$' "$TMP"/r32/*.status; do
        sleep 0.01
        w=$((w + 1))
    done
    if [ "$1" = kill ]; then daemon_kill9; else kill -TERM "$DAEMON_PID"; fi
    wait "$bpid"
    if [ "$1" = term ]; then
        daemon_stop
        expect_eq "SIGTERM mid-burst: vpcid exits 0" 0 "$DAEMON_RC"
    fi
    n201=$(grep -l '^201$' "$TMP"/r32/*.status | wc -l | tr -d ' ')
    echo "  ($1 mid-burst: $n201 attaches answered 201 before the daemon went)"
    if ! daemon_start --runtime-dir "$RUN"; then
        not_ok "vpcid restarts after $1"
        return
    fi
    ok
    api GET /v1/attachments
    jb '.attachments[].id' | LC_ALL=C sort >"$TMP/listed"
    for i in $(seq 1 32); do
        [ "$(cat "$TMP/r32/$i.status")" = 201 ] && jq -r .id "$TMP/r32/$i.body"
    done | LC_ALL=C sort >"$TMP/created"
    expect_eq "$1 mid-burst: every 201 is listed after the restart" "" \
        "$(LC_ALL=C comm -23 "$TMP/created" "$TMP/listed")"
    rows=$(sql 'SELECT count(*) FROM attachments')
    check "$1 mid-burst: at most 8 rows" test "$rows" -le 8
    expect_eq "$1 mid-burst: rows = files" "$rows" "$(vpci_files | wc -l | tr -d ' ')"
    expect_eq "$1 mid-burst: each row's file at its path" \
        "$(jb '.attachments[] | .path' | LC_ALL=C sort)" \
        "$(vpci_files | sed "s|^|$RUN/|")"
    bad=0
    for p in $(jb '.attachments[].path'); do
        [ "$(layout_hash "$p")" = "$HN" ] || bad=$((bad + 1))
    done
    expect_eq "$1 mid-burst: every file holds the type" 0 "$bad"
    # the rest of the VFs can still be taken, and no more
    concurrent_posts 32 /v1/attachments "$TMP/r32"
    expect_eq "$1 mid-burst: the burst again fills the host" 8 \
        "$(sql 'SELECT count(*) FROM attachments')"
    expect_eq "$1 mid-burst: 8 files" 8 "$(vpci_files | wc -l | tr -d ' ')"
    for id in $(sql 'SELECT id FROM attachments'); do
        api DELETE "/v1/attachments/$id"
    done
}
restart_burst kill
restart_burst term
# a file lost while vpcid was down is written again on start
attach_body vmx nic >"$TMP/att.json"
post_json /v1/attachments "$TMP/att.json"
px=$(jb .path)
cp "$px" "$TMP/px.vpci"
daemon_stop
rm -f "$px"
if daemon_start --runtime-dir "$RUN"; then
    ok
    check "a missing file is rewritten on start" cmp -s "$px" "$TMP/px.vpci"
    expect_eq "the rewritten file has mode 0640" 640 "$(stat -c %a "$px" 2>/dev/null)"
else
    not_ok "vpcid restarts"
fi
if ! daemon_stop; then
    not_ok "vpcid exits 0 on SIGTERM (status $DAEMON_RC)"
else
    ok
fi
check "no sanitizer report in the daemon's log" sh -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$DLOG'"
finish
