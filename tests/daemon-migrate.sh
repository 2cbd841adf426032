#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Live migration between two real vpcid daemons, each on its own fixture
# sysfs tree, socket, SQLite file and runtime directory.  The hosts' 82576
# VFs differ physically (other subsystem IDs and serial number; on the
# target the power management capability sits at 0xf0, not 0x40) but can
# both present the type.  Source attach -> target precheck (compatible,
# same fingerprint, other map lines, version imported) -> incoming ->
# commit; source migrate-out -> complete frees the VF; cancel, abort and
# expiry; a target without the capability; tampered, unresolved and
# conflicting texts.  Through the API and through vpcictl.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
export VPCI_QUIRKS_DIR="$QUIRKS"

run() {
    "$VPCICTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}
sql() {
    sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}
vpci_files() {
    (cd "$RUN" 2>/dev/null && find vms -type f -name '*.vpci' | LC_ALL=C sort)
}
compat_post() {
    jq -n -c --arg t "$1" "{instance_type: \$t} + (${2:-{\}})" >"$TMP/compat.json"
    post_json /v1/compat "$TMP/compat.json"
}
# layout_req FILE [JQ OBJECT]: {"layout": FILE's text} plus members
layout_req() {
    jq -n -c --rawfile l "$1" "{layout: \$l} + (${2:-{\}})" >"$TMP/req.json"
}
maps() {
    sed -n 's/^  \(map .*\)$/\1/p' "$1" | LC_ALL=C sort
}

# ---------------------------------------------------------------- two hosts
# Switch the daemon-lib globals between the two hosts.
SRC_PID=
DST_PID=
use_src() {
    [ "${ON:-}" = dst ] && DST_PID=$DAEMON_PID
    ON=src
    TREE=$TMP/src-sys DB=$TMP/src.db SOCK=$TMP/src.sock RUN=$TMP/src-run
    PIDF=$TMP/src.pid DAEMON_PID=$SRC_PID
}
use_dst() {
    [ "${ON:-}" = src ] && SRC_PID=$DAEMON_PID
    ON=dst
    TREE=$TMP/dst-sys DB=$TMP/dst.db SOCK=$TMP/dst.sock RUN=$TMP/dst-run
    PIDF=$TMP/dst.pid DAEMON_PID=$DST_PID
}

dump_move_cap "$DUMPS/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci" 40 f0 8 \
    >"$TMP/82576-pm-f0.lspci"
expect_eq "the target's dump: PM moved to 0xf0" \
    "30: 00 00 fe ff f0 00 00 00 00 00 00 00 0b 01 00 00|f0: 01 50 23 c8 00 20 00 1a 00 00 00 00 00 00 00 00" \
    "$(grep -E '^(30|f0): ' "$TMP/82576-pm-f0.lspci" | tr '\n' '|' | sed 's/|$//')"

use_src
make_tree "$TREE" <<EOF
func 0000:3b:00.0 $DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=4 vfdriver=vfio-pci numa=1
func 0000:6a:01.0 $DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci driver=vfio-pci numa=0
EOF
if ! daemon_start --runtime-dir "$RUN"; then
    not_ok "the source vpcid starts"
    finish
    exit 1
fi
ok
CLEANUP_PIDS="$CLEANUP_PIDS $DAEMON_PID"
US="--connect unix:$SOCK"

use_dst
make_tree "$TREE" <<EOF
func 0000:5b:00.0 $TMP/82576-pm-f0.lspci vfs=2 vfdriver=vfio-pci numa=0
EOF
if ! daemon_start --runtime-dir "$RUN"; then
    not_ok "the target vpcid starts"
    finish
    exit 1
fi
ok
CLEANUP_PIDS="$CLEANUP_PIDS $DAEMON_PID"
UD="--connect unix:$SOCK"
api GET /v1/devices
DVF=$(jb '[.devices[] | select(.physfn) | .bdf] | join(" ")')
DVF1=${DVF%% *}
DVF2=${DVF##* }
expect_eq "the target has 2 VFs" 2 "$(echo "$DVF" | wc -w | tr -d ' ')"
expect_eq "the target's VFs: PM at 0xf0, subsystem 0000:0000" "240 0000:0000" \
    "$(api GET "/v1/devices/$DVF1" >/dev/null; jb '"\(.capabilities[] | select(.name == "pm") | .offset) \(.subsystem_vendor_id):\(.subsystem_id)"')"

# ---------------------------------------------------------------- source attach
use_src
api GET /v1/devices/0000:3c:10.0/layout
cp "$RBODY" "$TMP/nic.vpci"
api GET /v1/devices/0000:6a:01.0/layout
cp "$RBODY" "$TMP/dsa.vpci"
HN=$(layout_hash "$TMP/nic.vpci")
FN=$(layout_fingerprint "$TMP/nic.vpci")
publish_type nic "$TMP/nic.vpci"
expect_status "source: publish nic" 201
publish_type dsa "$TMP/dsa.vpci"
expect_status "source: publish dsa" 201
api GET /v1/devices/0000:3c:10.0
expect_eq "the source's VFs: PM at 0x40, subsystem 8086:a03c" "64 8086:a03c" \
    "$(jb '"\(.capabilities[] | select(.name == "pm") | .offset) \(.subsystem_vendor_id):\(.subsystem_id)"')"

run $US -o json attach vm1 nic
expect_eq "source: attach vm1" 0 "$rc"
S1=$(jq -r .id "$TMP/out")
SF=$(jq -r .path "$TMP/out")
expect_eq "source: the first VF" "0000:3c:10.0 $RUN/vms/vm1/0000:3c:10.0.vpci" \
    "$(jq -r '"\(.bdf) \(.path)"' "$TMP/out")"
cp "$SF" "$TMP/src.vpci"
expect_eq "source file: PM on its own offset" "map cap pm 0x40 0x40" \
    "$(maps "$TMP/src.vpci" | grep ' pm ')"

# ---------------------------------------------------------------- precheck
use_dst
api GET /v1/instance-types
expect_eq "the target knows no type yet" 0 "$(jb '.instance_types | length')"
layout_req "$TMP/src.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_status "precheck on the target" 200
expect_eq "precheck: keys" '["bdf","compatible","fingerprint","instance_type","layout","results","version"]' \
    "$(jbc 'keys')"
expect_eq "precheck: compatible, on the first VF, nic@1" "true $DVF1 nic 1" \
    "$(jb '"\(.compatible) \(.bdf) \(.instance_type) \(.version)"')"
expect_eq "precheck: the source's fingerprint" "$FN" "$(jb .fingerprint)"
expect_eq "precheck: every target function's result" \
    "$DVF1 ok 1001|$DVF2 ok 1001|0000:5b:00.0 no 0" \
    "$(jb '[.results[] | "\(.bdf) \(if .compatible then "ok" else "no" end) \(.score)"] | join("|")')"
jq -j .layout "$RBODY" >"$TMP/dst-pre.vpci"
check "precheck: the target's resolved text lints" "$VPCICTL" layout lint "$TMP/dst-pre.vpci"
expect_eq "precheck: the target's text has the type's hash and fingerprint" "$HN $FN" \
    "$(layout_hash "$TMP/dst-pre.vpci") $(layout_fingerprint "$TMP/dst-pre.vpci")"
maps "$TMP/src.vpci" >"$TMP/src.maps"
maps "$TMP/dst-pre.vpci" >"$TMP/dst.maps"
expect_eq "precheck: the map lines differ only in PM" \
    "< map cap pm 0x40 0x40|> map cap pm 0x40 0xf0" \
    "$(diff "$TMP/src.maps" "$TMP/dst.maps" | grep '^[<>]' | tr '\n' '|' | sed 's/|$//')"
expect_eq "precheck: binding names the target's VF" "bdf $DVF1|pf 0000:5b:00.0" \
    "$(sed -n 's/^  \(bdf .*\|pf .*\)$/\1/p' "$TMP/dst-pre.vpci" | tr '\n' '|' | sed 's/|$//')"
api GET /v1/instance-types/nic/versions/1
expect_eq "the target imported nic@1: same hash and fingerprint" "200 nic 1 $HN $FN" \
    "$STATUS $(jb '"\(.name) \(.version) \(.hash) \(.fingerprint)"')"
expect_eq "the imported version's layout is the type's canonical text" \
    "$("$VPCICTL" layout fmt "$TMP/nic.vpci")" "$(jb .layout)"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_eq "precheck again: same answer, still one version" "200 1" \
    "$STATUS $(api GET /v1/instance-types/nic >/dev/null; jb '.versions | length')"
expect_eq "precheck reserves nothing" 0 "$(sql 'SELECT count(*) FROM attachments')"

run $UD migrate precheck "$TMP/src.vpci"
expect_eq "vpcictl migrate precheck: exit 0" 0 "$rc"
expect_eq "vpcictl migrate precheck: summary" \
    "Instance type: nic@1|Fingerprint: $FN|Compatible: yes|Device: $DVF1" \
    "$(grep -E '^(Instance type|Fingerprint|Compatible|Device):' "$TMP/out" | tr -s ' ' | tr '\n' '|' | sed 's/|$//')"
expect_eq "vpcictl migrate precheck: the results table" "DEVICE VERDICT SCORE REASONS
$DVF1 ok 1001 -
$DVF2 ok 1001 -" "$(sed -n '/^DEVICE/,$p' "$TMP/out" | tr -s ' ' | grep -v '^0000:5b:00.0 ')"

# ---------------------------------------------------------------- incoming, commit
layout_req "$TMP/src.vpci" '{vm: "vm1", request_id: "mig-1"}'
post_json /v1/migrations/incoming "$TMP/req.json"
expect_status "incoming" 201
D1=$(jb .id)
check "incoming: id is a UUID" matches "$D1" "$UUID_RE"
expect_eq "incoming: Location" "/v1/attachments/$D1" "$(hdr location)"
expect_eq "incoming: state, vm, device, type" "incoming vm1 $DVF1 nic 1 $HN $FN mig-1" \
    "$(jb '"\(.state) \(.vm) \(.bdf) \(.instance_type) \(.version) \(.hash) \(.fingerprint) \(.request_id)"')"
check "incoming: expires is UTC ISO-8601" matches "$(jb .expires)" "$TIME_RE"
now=$(date -u +%s)
exp=$(date -u -d "$(jb .expires | sed 's/T/ /; s/Z$//')" +%s 2>/dev/null || echo 0)
check "incoming: expires in about 300 s (default ttl)" test "$((exp - now))" -ge 295 -a "$((exp - now))" -le 301
DF=$(jb .path)
expect_eq "incoming: the file under the target's runtime dir" "$RUN/vms/vm1/$DVF1.vpci" "$DF"
check "incoming: the file is the precheck's text" cmp -s "$DF" "$TMP/dst-pre.vpci"
expect_eq "incoming: file mode 0640" 640 "$(stat -c %a "$DF" 2>/dev/null)"
post_json /v1/migrations/incoming "$TMP/req.json"
expect_eq "incoming again with the request id: the same reservation" "200 $D1" "$STATUS $(jb .id)"
compat_post nic "{devices: [\"$DVF1\"]}"
expect_eq "the reserved VF is held" "reserved $D1" "$(jb '.results[0].reasons[0] | "\(.code) \(.actual)"')"
api POST "/v1/attachments/$D1/migrate-out"
expect_problem "migrate-out of an incoming reservation" 409 bad-state
run $UD migrate commit "$D1"
expect_eq "vpcictl migrate commit: exit 0" 0 "$rc"
expect_eq "vpcictl migrate commit: the row" "$D1 vm1 $DVF1 nic@1 active $DF" \
    "$(sed -n 2p "$TMP/out" | tr -s ' ')"
api GET "/v1/attachments/$D1"
expect_eq "committed: active, no expiry" "active null" "$(jb '"\(.state) \(.expires)"')"
api POST "/v1/migrations/incoming/$D1/commit"
expect_problem "commit twice" 409 bad-state
api POST "/v1/migrations/incoming/$D1/abort"
expect_problem "abort an active attachment" 409 bad-state

# ---------------------------------------------------------------- source out
use_src
run $US migrate out "$S1"
expect_eq "vpcictl migrate out" "0|$S1 vm1 0000:3c:10.0 nic@1 migrating $SF" \
    "$rc|$(sed -n 2p "$TMP/out" | tr -s ' ')"
api POST "/v1/attachments/$S1/migrate-out"
expect_problem "migrate-out twice" 409 bad-state
compat_post nic '{devices: ["0000:3c:10.0"]}'
expect_eq "a migrating VF is still held" "reserved" "$(jb '.results[0].reasons[0].code')"
api POST "/v1/attachments/$S1/migrate-out/cancel"
expect_eq "cancel: active again" "200 active" "$STATUS $(jb .state)"
api POST "/v1/attachments/$S1/migrate-out/complete"
expect_problem "complete without migrate-out" 409 bad-state
api POST "/v1/attachments/$S1/migrate-out"
expect_eq "migrate-out again" "200 migrating" "$STATUS $(jb .state)"
run $US migrate complete "$S1"
expect_eq "vpcictl migrate complete" "0|$S1 migrated out" "$rc|$(cat "$TMP/out")"
check "complete: the source file is gone" test ! -e "$SF"
api GET "/v1/attachments/$S1"
expect_problem "complete: the attachment is gone" 404 attachment-not-found
compat_post nic '{devices: ["0000:3c:10.0"]}'
expect_eq "complete: the VF is free" "true 1001" "$(jb '.results[0] | "\(.compatible) \(.score)"')"
expect_eq "source audit" "attach
migrate-out
migrate-out-cancel
migrate-out
migrate-out-complete" \
    "$(sql "SELECT action FROM audit WHERE object = 'attachments/$S1' ORDER BY id")"

use_dst
expect_eq "target audit" "incoming
incoming-commit" \
    "$(sql "SELECT action FROM audit WHERE object = 'attachments/$D1' ORDER BY id")"

# ---------------------------------------------------------------- abort, expiry
layout_req "$TMP/src.vpci" '{vm: "vm2"}'
post_json /v1/migrations/incoming "$TMP/req.json"
expect_eq "incoming vm2: the other VF" "201 $DVF2" "$STATUS $(jb .bdf)"
D2=$(jb .id)
post_json /v1/migrations/incoming "$TMP/req.json"
expect_problem "incoming with every VF held" 409 no-compatible-device
expect_eq "no-compatible-device: results name why" "$DVF1 reserved|$DVF2 reserved" \
    "$(jb '[.results[] | select(.bdf != "0000:5b:00.0") | "\(.bdf) \(.reasons[0].code)"] | join("|")')"
run $UD migrate abort "$D2"
expect_eq "vpcictl migrate abort" "0|$D2 aborted" "$rc|$(cat "$TMP/out")"
check "abort: the file is gone" test ! -e "$RUN/vms/vm2/$DVF2.vpci"
api GET "/v1/attachments/$D2"
expect_problem "abort: the reservation is gone" 404 attachment-not-found
compat_post nic "{devices: [\"$DVF2\"]}"
expect_eq "abort: the VF is free" true "$(jb '.results[0].compatible')"

run $UD migrate incoming "$TMP/src.vpci" --vm vm3 --ttl 1
expect_eq "vpcictl migrate incoming --ttl 1" "0|vm3 $DVF2" \
    "$rc|$(sed -n 2p "$TMP/out" | tr -s ' ' | cut -d' ' -f2,3)"
D3=$(sed -n 2p "$TMP/out" | cut -d' ' -f1)
check "vpcictl migrate incoming: state incoming with its expiry" \
    grep -q "^$D3 .* incoming (until [0-9T:Z-]*) " "$TMP/out"
sleep 2.2
api GET "/v1/attachments/$D3"
expect_problem "an expired reservation is gone" 404 attachment-not-found
api GET /v1/attachments
expect_eq "an expired reservation is not listed" "$D1" "$(jb '[.attachments[].id] | join(" ")')"
compat_post nic "{devices: [\"$DVF2\"]}"
expect_eq "expiry frees the VF" true "$(jb '.results[0].compatible')"
api POST "/v1/migrations/incoming/$D3/commit"
expect_problem "commit an expired reservation" 404 attachment-not-found
expect_eq "expiry audit row" "incoming
expire" "$(sql "SELECT action FROM audit WHERE object = 'attachments/$D3' ORDER BY id")"
# the expired reservation's file goes too (vpcid sweeps them): wait up
# to 5 s for it
w=0
while [ "$w" -lt 50 ] && [ -e "$RUN/vms/vm3/$DVF2.vpci" ]; do
    sleep 0.1
    w=$((w + 1))
done
expect_eq "only the committed attachment's file is left" "vms/vm1/$DVF1.vpci" "$(vpci_files)"
for t in 0 3601 '"5"'; do
    layout_req "$TMP/src.vpci" "{vm: \"vm4\", ttl: $t}"
    post_json /v1/migrations/incoming "$TMP/req.json"
    expect_problem "incoming with ttl $t" 400 bad-field
done
layout_req "$TMP/src.vpci" '{vm: "bad vm"}'
post_json /v1/migrations/incoming "$TMP/req.json"
expect_problem "incoming with a bad vm name" 400 bad-field
layout_req "$TMP/src.vpci"
post_json /v1/migrations/incoming "$TMP/req.json"
expect_problem "incoming without a vm" 400 bad-field

# ---------------------------------------------------------------- a target without the capability
use_src
run $US -o json attach vm5 dsa
expect_eq "source: attach the DSA" "0|0000:6a:01.0" "$rc|$(jq -r .bdf "$TMP/out")"
cp "$(jq -r .path "$TMP/out")" "$TMP/dsa-src.vpci"
use_dst
layout_req "$TMP/dsa-src.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_eq "precheck of the DSA on a host without one: not compatible" \
    "200 false null null dsa 1" \
    "$STATUS $(jb '"\(.compatible) \(.bdf) \(.layout) \(.instance_type) \(.version)"')"
expect_eq "precheck of the DSA: PASID, ATS, PRI and DVSEC missing on each VF" \
    "$DVF1 device-id,bar-type,bar-size,bar-missing,phys-cap-missing,pasid-missing,ats-missing,pri-missing,reserved
$DVF2 device-id,bar-type,bar-size,bar-missing,phys-cap-missing,pasid-missing,ats-missing,pri-missing" \
    "$(jb ".results[] | select(.bdf != \"0000:5b:00.0\") | \"\(.bdf) \([.reasons[].code] | join(\",\"))\"")"
run $UD migrate precheck "$TMP/dsa-src.vpci"
expect_eq "vpcictl migrate precheck, nothing fits: exit 1" 1 "$rc"
check "vpcictl migrate precheck, nothing fits: says no" grep -q '^Compatible: *no$' "$TMP/out"
layout_req "$TMP/dsa-src.vpci" '{vm: "vm5"}'
post_json /v1/migrations/incoming "$TMP/req.json"
expect_problem "incoming of the DSA" 409 no-compatible-device
check "incoming of the DSA: the results say pasid-missing" test \
    "$(jb '[.results[].reasons[].code] | map(select(. == "pasid-missing")) | length')" -ge 2
run $UD migrate incoming "$TMP/dsa-src.vpci" --vm vm5
expect_eq "vpcictl migrate incoming, nothing fits: exit 1" 1 "$rc"
check "vpcictl migrate incoming, nothing fits: the problem" \
    grep -q '^vpcictl: .* (no-compatible-device)$' "$TMP/err"
check "vpcictl migrate incoming, nothing fits: the reasons" \
    grep -q "^$DVF1 .*pasid-missing: " "$TMP/err"

# ---------------------------------------------------------------- bad texts
# a register value changed, binding kept: the text is not what it says
sed 's/^\(  0x2e u16 subsystem_id *\)0xa03c/\10xa03d/' "$TMP/src.vpci" >"$TMP/tampered.vpci"
check "tampered text differs" test "$(cmp -s "$TMP/src.vpci" "$TMP/tampered.vpci"; echo $?)" = 1
layout_req "$TMP/tampered.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_problem "precheck of a tampered text" 422 hash-mismatch
layout_req "$TMP/tampered.vpci" '{vm: "vm6"}'
post_json /v1/migrations/incoming "$TMP/req.json"
expect_problem "incoming of a tampered text" 422 hash-mismatch
run $UD migrate precheck "$TMP/tampered.vpci"
expect_eq "vpcictl migrate precheck of a tampered text" 1 "$rc"
check "vpcictl: hash-mismatch" grep -q '^vpcictl: .* (hash-mismatch)$' "$TMP/err"
# the type's text without a binding
layout_req "$TMP/nic.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_problem "precheck of an unresolved text" 422 not-resolved
sed '/^  hash /d' "$TMP/src.vpci" >"$TMP/nohash.vpci"
layout_req "$TMP/nohash.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_problem "precheck of a binding without hash" 422 not-resolved
printf 'vpci-layout 1\nspace 4096\nheader type0\n  0x00 u16 vendor_id 0x8086 frob\n' >"$TMP/broken.vpci"
layout_req "$TMP/broken.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_problem "precheck of an invalid text" 422 invalid-layout
"$VPCICTL" layout lint "$TMP/broken.vpci" 2>"$TMP/lint.err"
run $UD migrate precheck "$TMP/broken.vpci"
expect_eq "vpcictl migrate precheck of an invalid text: lint's errors" \
    "1|$(cat "$TMP/lint.err")" "$rc|$(cat "$TMP/err")"
bad_body() {
    printf '%s' "$2" >"$TMP/bad.json"
    post_json "$1" "$TMP/bad.json"
    expect_problem "POST $1 $2" "$3" "$4"
}
bad_body /v1/migrations/precheck '{}' 400 bad-field
bad_body /v1/migrations/precheck '{"layout":5}' 400 bad-field
bad_body /v1/migrations/precheck '{"layout":"x","vm":"a"}' 400 bad-field
bad_body /v1/migrations/precheck '[1]' 400 bad-json

# the same name and version holding other content here: version-conflict
use_dst
sed 's/^\(  0x2e u16 subsystem_id *\)0xa03c/\10xa03d/' "$TMP/nic.vpci" >"$TMP/other.vpci"
publish_type other "$TMP/other.vpci"
expect_status "target: publish other@1 (edited)" 201
use_src
publish_type other "$TMP/nic.vpci"
expect_status "source: publish other@1 (original)" 201
run $US -o json attach vm7 other
cp "$(jq -r .path "$TMP/out")" "$TMP/other-src.vpci"
use_dst
layout_req "$TMP/other-src.vpci"
post_json /v1/migrations/precheck "$TMP/req.json"
expect_problem "precheck of a version number that holds other content here" 409 version-conflict
api GET /v1/instance-types/other
expect_eq "version-conflict: the target's version is untouched" "1 $(layout_hash "$TMP/other.vpci")" \
    "$(jb '"\(.versions | length) \(.versions[0].hash)"')"

expect_eq "target: one attachment left, one file" "1|vms/vm1/$DVF1.vpci" \
    "$(sql 'SELECT count(*) FROM attachments')|$(vpci_files)"

# ---------------------------------------------------------------- stop both
for h in src dst; do
    "use_$h"
    if daemon_stop; then ok; else not_ok "$h vpcid exits 0 on SIGTERM (status $DAEMON_RC)"; fi
    [ "$h" = src ] && SRC_PID= || DST_PID=
done
CLEANUP_PIDS=
check "no sanitizer report in the daemons' log" sh -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$DLOG'"
finish
