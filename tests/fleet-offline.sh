#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Host snapshots and offline fleet compat against the real vpcid: three
# fixture trees from different dumps (one with SR-IOV PFs whose VFs are on
# vfio-pci, one where nothing fits), four instance types derived from the
# dumps (one that fits nothing).  For every tree and type the live
# POST /v1/compat results, `vpcictl compat --snapshot ... -o json` and
# POST /v1/compat/offline with the tree's snapshot are the same JSON; exact
# counts and one exact table; snapshots load back; the errors of both.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
. "$top_srcdir/tests/daemon-lib.sh"

find_python_yaml

# run ARGS...: vpcictl with stdout, stderr and exit status in $TMP/out,
# $TMP/err and $rc
run() {
    "$VPCICTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

# offline_post FILE TYPE: POST /v1/compat/offline?type=TYPE with FILE.
offline_post() {
    post_json "/v1/compat/offline?type=$2" "$1"
}

# ---------------------------------------------------------------- trees
# h1: the standard tree (82576 PF with 4 VFs on vfio-pci, DSA on
# vfio-pci, Mellanox, Atheros, ...; 13 functions).
# h2: another 82576 (v3.0.1 dump) with 2 VFs on vfio-pci, a ThunderX NIC
# PF with 2 VFs on vfio-pci, an Intel GPU on vfio-pci, a DSA on idxd.
# h3: a sound card, a wireless NIC on vfio-pci and a USB controller:
# nothing the types want.
T1=$TMP/t1
T2=$TMP/t2
T3=$TMP/t3
fixture_tree "$T1"
make_tree "$T2" <<EOF
func 0000:81:00.0 $DUMPS/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci vfs=2 vfdriver=vfio-pci numa=0
func 0000:05:00.0 $DUMPS/cavium-thunderx-nic-177d-a01e-pf-sriov-ea-4k.lspci vfs=2 vfdriver=vfio-pci numa=1
func 0000:00:02.0 $DUMPS/intel-skylake-gt2-igpu-8086-191e-pasid-ats-pri-4k.lspci driver=vfio-pci
func 0000:6a:01.0 $DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci driver=idxd numa=1
EOF
make_tree "$T3" <<EOF
func 0000:02:00.0 $DUMPS/creative-emu20k2-1102-000b-256b.lspci driver=snd_ctxfi
func 0000:03:00.0 $DUMPS/intel-pro-wireless-2200bg-8086-4220-256b.lspci driver=vfio-pci
func 0000:00:1d.0 $DUMPS/intel-ich10-uhci-8086-3a34-pciaf-256b.lspci driver=uhci_hcd
EOF
for t in "$T1" "$T2" "$T3"; do
    check "fixture tree $t built" test -d "$t/bus/pci/devices"
done

# ---------------------------------------------------------------- snapshots
for n in 1 2 3; do
    eval "tree=\$T$n"
    run host snapshot --sysfs "$tree" --hostname "h$n"
    expect_eq "host snapshot of h$n exits 0" 0 "$rc"
    cp "$TMP/out" "$TMP/h$n.json"
    "$VPCICTL" host scan --sysfs "$tree" -o json >"$TMP/scan$n.json" 2>/dev/null
    expect_eq "h$n: the snapshot's devices are host scan's, config bytes included" \
        "$(jq -S -c .devices "$TMP/scan$n.json")" "$(jq -S -c .devices "$TMP/h$n.json")"
    expect_eq "h$n: format, version, hostname, sysfs, warnings" \
        "vpcid-host-snapshot 1 h$n $tree $(jq -c .warnings "$TMP/scan$n.json")" \
        "$(jq -r '"\(.format) \(.version) \(.hostname) \(.sysfs) \(.warnings | tojson)"' "$TMP/h$n.json")"
    check "h$n: time is RFC 3339 UTC" matches "$(jq -r .time "$TMP/h$n.json")" \
        '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
done
expect_eq "h1 has 13 functions, h2 8, h3 3" "13 8 3" \
    "$(jq '.devices | length' "$TMP/h1.json") $(jq '.devices | length' "$TMP/h2.json") $(jq '.devices | length' "$TMP/h3.json")"
expect_eq "h1's 82576 PF: 4096 config bytes as 8192 hex digits" 8192 \
    "$(jq -r '.devices[] | select(.bdf == "0000:3b:00.0") | .config | length' "$TMP/h1.json")"
run host snapshot --sysfs "$T1" --hostname h1
check "host snapshot warns on stderr about the function without config" \
    grep -q '^vpcictl: 0000:06:00.0: warning: config: ' "$TMP/err"
run host snapshot --sysfs "$T1" --hostname ""
expect_eq "an empty --hostname is a usage error" 2 "$rc"
run host snapshot --sysfs "$TMP/nowhere"
expect_eq "a tree that is not there: exit 1" 1 "$rc"
run host snapshot --sysfs "$T3"
expect_eq "the default host name is this host's" "$(hostname)" "$(jq -r .hostname "$TMP/out")"

# ---------------------------------------------------------------- types
# nic: an 82576 VF of h1; dsa: h1's DSA; tx: a ThunderX VF of h2; none:
# nic with a driver no host has.
"$VPCICTL" layout derive --sysfs "$T1" 0000:3c:10.0 >"$TMP/nic.vpci" 2>/dev/null
"$VPCICTL" layout derive --sysfs "$T1" 0000:6a:01.0 >"$TMP/dsa.vpci" 2>/dev/null
"$VPCICTL" layout derive --sysfs "$T2" 0000:05:00.1 >"$TMP/tx.vpci" 2>/dev/null
{
    cat "$TMP/nic.vpci"
    printf '\nrequires\n  driver nosuch-drv\n'
} >"$TMP/none.vpci"
check "the four types lint" "$VPCICTL" layout lint "$TMP/nic.vpci" \
    "$TMP/dsa.vpci" "$TMP/tx.vpci" "$TMP/none.vpci"
TYPES="nic dsa tx none"

# ---------------------------------------------------------------- live = offline
# For each tree: vpcid on it with a fresh store, the types published, then
# every type three ways.
for n in 1 2 3; do
    eval "TREE=\$T$n"
    DB=$TMP/vpcid$n.db
    if ! daemon_start; then
        not_ok "vpcid starts on h$n"
        continue
    fi
    ok
    for t in $TYPES; do
        publish_type "$t" "$TMP/$t.vpci"
        expect_status "h$n: publish $t" 201
    done
    for t in $TYPES; do
        jq -n -c --arg t "$t" '{instance_type: $t}' >"$TMP/live.req"
        post_json /v1/compat "$TMP/live.req"
        expect_status "h$n $t: POST /v1/compat" 200
        jq -S -c .results "$RBODY" >"$TMP/live-$n-$t.json"
        offline_post "$TMP/h$n.json" "$t"
        expect_status "h$n $t: POST /v1/compat/offline" 200
        cp "$RBODY" "$TMP/api-$n-$t.json"
        "$VPCICTL" compat --snapshot "$TMP/h$n.json" "$TMP/$t.vpci" -o json \
            >"$TMP/cli-$n-$t.json" 2>"$TMP/cli.err"
        crc=$?
        expect_eq "h$n $t: live and POST /v1/compat/offline results are the same" \
            "$(cat "$TMP/live-$n-$t.json")" "$(jq -S -c .results "$TMP/api-$n-$t.json")"
        expect_eq "h$n $t: live and vpcictl compat --snapshot results are the same" \
            "$(cat "$TMP/live-$n-$t.json")" "$(jq -S -c '.hosts[0].results' "$TMP/cli-$n-$t.json")"
        nok=$(jq '[.[] | select(.compatible)] | length' "$TMP/live-$n-$t.json")
        expect_eq "h$n $t: vpcictl exits 0 exactly when a device fits" \
            "$([ "$nok" -gt 0 ] && echo 0 || echo 1)" "$crc"
        expect_eq "h$n $t: the offline answer's type, host and summary" \
            "$t 1 h$n $(jq -r .time "$TMP/h$n.json") $(jq length "$TMP/live-$n-$t.json") $nok" \
            "$(jq -r '"\(.instance_type) \(.version) \(.hostname) \(.time) \(.summary.devices) \(.summary.compatible)"' "$TMP/api-$n-$t.json")"
        echo "$n $t $nok" >>"$TMP/counts"
    done
    # The daemon's own view of the tree is the snapshot's.
    api GET /v1/devices
    expect_eq "h$n: GET /v1/devices lists the snapshot's devices" \
        "$(jq -S -c .devices "$TMP/h$n.json")" "$(jq -S -c .devices "$RBODY")"
    if [ "$n" -lt 3 ]; then
        daemon_stop || not_ok "vpcid on h$n exits 0"
    fi
done
# Exact counts: the 4 VFs of h1 fit nic, its DSA fits dsa; h2's VFs fit
# nic and tx; nothing on h3 fits anything, and none fits nowhere.
expect_eq "compatible devices per tree and type" \
    "1 nic 4,1 dsa 1,1 tx 0,1 none 0,2 nic 2,2 dsa 0,2 tx 2,2 none 0,3 nic 0,3 dsa 0,3 tx 0,3 none 0" \
    "$(paste -s -d, "$TMP/counts")"
expect_eq "h1 nic: 4 VFs first, best score first" \
    "0000:3c:10.0 0000:3c:10.2 0000:3c:10.4 0000:3c:10.6" \
    "$(jq -r '[.results[] | select(.compatible) | .bdf] | join(" ")' "$TMP/api-1-nic.json")"
expect_eq "h2 dsa: the DSA fails only because idxd holds it" \
    "not-vfio" \
    "$(jq -r '.results[] | select(.bdf == "0000:6a:01.0") | [.reasons[].code] | join(",")' "$TMP/api-2-dsa.json")"
expect_eq "none: every device of h1 fails with reason driver" 13 \
    "$(jq '[.results[] | select(any(.reasons[]; .code == "driver"))] | length' "$TMP/api-1-none.json")"

# ---------------------------------------------------------------- the fleet
run compat --snapshot "$TMP/h1.json" --snapshot "$TMP/h2.json" "$TMP/h3.json" "$TMP/nic.vpci" -o json
expect_eq "three snapshots at once: exit 0" 0 "$rc"
expect_eq "the fleet summary" '{"compatible":6,"devices":24,"hosts":3,"hosts_with_compatible":2}' \
    "$(jq -S -c .summary "$TMP/out")"
expect_eq "per-host summaries in command-line order" \
    "h1 13 4 9,h2 8 2 6,h3 3 0 3" \
    "$(jq -r '[.hosts[] | "\(.hostname) \(.summary.devices) \(.summary.compatible) \(.summary.incompatible)"] | join(",")' "$TMP/out")"
expect_eq "layout, hash and fingerprint are the layout's" \
    "$TMP/nic.vpci $(layout_hash "$TMP/nic.vpci") $(layout_fingerprint "$TMP/nic.vpci")" \
    "$(jq -r '"\(.layout) \(.hash) \(.fingerprint)"' "$TMP/out")"
expect_eq "each host's results are its own" \
    "$(cat "$TMP/live-2-nic.json")" "$(jq -S -c '.hosts[1].results' "$TMP/out")"
run -o json compat --snapshot "$TMP/h3.json" "$TMP/nic.vpci"
expect_eq "-o before the verb; nothing fits: exit 1" 1 "$rc"
expect_eq "-o before the verb gives JSON" 3 "$(jq '.summary.devices' "$TMP/out")"
run compat "--snapshot=$TMP/h3.json" "$TMP/tx.vpci"
expect_eq "--snapshot=FILE works too" "1 $TMP/h3.json" \
    "$rc $(sed -n 's/^HOST h3 (\([^,]*\), .*/\1/p' "$TMP/out")"

# One exact table: h2's ThunderX PF and VFs with a fixed time.
jq '.time = "2026-11-24T23:05:07Z" | .devices |= map(select(.bdf | startswith("0000:05:")))' \
    "$TMP/h2.json" >"$TMP/tx-only.json"
run compat --snapshot "$TMP/tx-only.json" "$TMP/tx.vpci"
cat >"$TMP/table.expected" <<EOF
HOST h2 ($TMP/tx-only.json, 2026-11-24T23:05:07Z): 3 devices, 2 compatible
DEVICE        VERDICT  SCORE  REASONS
0000:05:00.1  ok       1001   -
0000:05:00.2  ok       1001   -
0000:05:00.0  no       0      TABLE_PF_REASONS

TOTAL: 1 host, 3 devices, 2 compatible, 1 host with a compatible device
EOF
pf_reasons=$(jq -r '.results[] | select(.bdf == "0000:05:00.0") | [.reasons[] | "\(.code): \(.message)"] | join("; ")' "$TMP/api-2-tx.json")
expect_eq "the table of one host" \
    "$(sed "s|TABLE_PF_REASONS|$pf_reasons|" "$TMP/table.expected")" "$(cat "$TMP/out")"
expect_eq "the table's exit status" 0 "$rc"
# The same rows as live vpcictl compat prints.
run --connect "unix:$SOCK" compat tx
expect_eq "live compat on h3 prints the table offline compat prints" \
    "$(cat "$TMP/out")" \
    "$("$VPCICTL" compat --snapshot "$TMP/h3.json" "$TMP/tx.vpci" | sed -n '2,5p')"

# ---------------------------------------------------------------- round trip
# A snapshot loads back: offline compat on it equals offline compat on a
# snapshot of the snapshot's host, and unknown members are ignored.
jq '.future = {"x": 1} | .devices[0].future = [1, 2]' "$TMP/h1.json" >"$TMP/h1-future.json"
run compat --snapshot "$TMP/h1-future.json" "$TMP/nic.vpci" -o json
expect_eq "unknown members are ignored" \
    "$(cat "$TMP/live-1-nic.json")" "$(jq -S -c '.hosts[0].results' "$TMP/out")"
jq '.devices |= reverse' "$TMP/h1.json" >"$TMP/h1-rev.json"
run compat --snapshot "$TMP/h1-rev.json" "$TMP/nic.vpci" -o json
expect_eq "device order in the file does not matter" \
    "$(cat "$TMP/live-1-nic.json")" "$(jq -S -c '.hosts[0].results' "$TMP/out")"

# ---------------------------------------------------------------- CLI errors
jq '.devices[2].config = "abc"' "$TMP/h1.json" >"$TMP/bad.json"
run compat --snapshot "$TMP/h1.json" --snapshot "$TMP/bad.json" "$TMP/nic.vpci"
expect_eq "a bad snapshot: exit 1, nothing on stdout" "1 0" "$rc $(wc -c <"$TMP/out" | tr -d ' ')"
expect_eq "a bad snapshot: the message names file, device, BDF and member" \
    "vpcictl: $TMP/bad.json: device 2 (0000:06:00.0): config: odd number of hex digits (3)" \
    "$(cat "$TMP/err")"
run compat --snapshot "$TMP/nothere.json" "$TMP/nic.vpci"
expect_eq "a missing snapshot: exit 1 and its name" \
    "1 vpcictl: $TMP/nothere.json: No such file or directory" "$rc $(cat "$TMP/err")"
printf '{"format": "vpcid-host-snapshot", "version": 1,' >"$TMP/trunc.json"
run compat --snapshot "$TMP/trunc.json" "$TMP/nic.vpci"
expect_eq "truncated JSON: exit 1 and where" \
    "1 vpcictl: $TMP/trunc.json: line 1 column 47: string or '}' expected near end of file" \
    "$rc $(cat "$TMP/err")"
printf 'layout 1\nbogus\n' >"$TMP/badlayout.vpci"
run compat --snapshot "$TMP/h1.json" "$TMP/badlayout.vpci"
expect_eq "a bad layout: exit 1" 1 "$rc"
check "a bad layout: FILE:LINE:COL" grep -q "^$TMP/badlayout.vpci:[0-9]*:[0-9]*: error: " "$TMP/err"
run compat --snapshot "$TMP/h1.json" "$TMP/nic.vpci" --connect "unix:$SOCK"
expect_eq "--connect with --snapshot: usage error" 2 "$rc"
run --token-file /dev/null compat --snapshot "$TMP/h1.json" "$TMP/nic.vpci"
expect_eq "--token-file with --snapshot: usage error" 2 "$rc"
run compat --snapshot "$TMP/h1.json"
expect_eq "no layout: usage error" 2 "$rc"
run compat --snapshot "$TMP/h1.json" "$TMP/nic.vpci" -o yaml
expect_eq "-o yaml: usage error" 2 "$rc"
badname=$(printf '%s/h\377.json' "$TMP")
cp "$TMP/h1.json" "$badname"
run compat --snapshot "$badname" "$TMP/nic.vpci" -o json
expect_eq "a file name that is not UTF-8: exit 1, nothing on stdout" "1 0" \
    "$rc $(wc -c <"$TMP/out" | tr -d ' ')"
check "a file name that is not UTF-8: said so" \
    grep -q ': file name is not valid UTF-8$' "$TMP/err"

# ---------------------------------------------------------------- API errors
offline_post "$TMP/bad.json" nic
expect_problem "offline: a bad snapshot" 422 bad-snapshot
expect_eq "offline: the loader's message" \
    "device 2 (0000:06:00.0): config: odd number of hex digits (3)" "$(jb .detail)"
jq '.devices[1].bdf = .devices[0].bdf' "$TMP/h1.json" >"$TMP/dup.json"
offline_post "$TMP/dup.json" nic
expect_problem "offline: a duplicate BDF" 422 bad-snapshot
expect_eq "offline: the duplicate named" \
    "device 1 (0000:00:1f.0): bdf: duplicate of device 0" "$(jb .detail)"
jq '.format = "other"' "$TMP/h1.json" >"$TMP/fmt.json"
offline_post "$TMP/fmt.json" nic
expect_problem "offline: another format" 422 bad-snapshot
expect_eq "offline: the format named" \
    'format: "other", not "vpcid-host-snapshot"' "$(jb .detail)"
offline_post "$TMP/trunc.json" nic
expect_problem "offline: truncated JSON" 400 bad-json
offline_post "$TMP/h1.json" nosuch
expect_problem "offline: an unknown type" 404 type-not-found
offline_post "$TMP/h1.json" nic@9
expect_problem "offline: an unknown version" 404 version-not-found
post_json /v1/compat/offline "$TMP/h1.json"
expect_problem "offline: no type" 400 bad-query
offline_post "$TMP/h1.json" 'Bad!'
expect_problem "offline: a malformed type" 400 bad-query
post_json "/v1/compat/offline?type=nic&x=1" "$TMP/h1.json"
expect_problem "offline: an unknown query parameter" 400 bad-query
api POST "/v1/compat/offline?type=nic" -H 'Content-Type: text/plain' --data-binary "@$TMP/h1.json"
expect_problem "offline: not application/json" 415 unsupported-media-type
api GET /v1/compat/offline
expect_problem "offline: GET" 405 method-not-allowed
# The body limit of this route is 32 MiB, not 2 MiB.
{
    cat "$TMP/h1.json"
    head -c 3000000 /dev/zero | tr '\0' ' '
} >"$TMP/h1-3mb.json"
offline_post "$TMP/h1-3mb.json" nic
expect_status "offline: a 3 MB snapshot is taken" 200
expect_eq "offline: ... and gives the same results" \
    "$(cat "$TMP/live-1-nic.json")" "$(jq -S -c .results "$RBODY")"
{
    cat "$TMP/h1.json"
    head -c 33554432 /dev/zero | tr '\0' ' '
} >"$TMP/h1-big.json"
offline_post "$TMP/h1-big.json" nic
expect_problem "offline: a body over 32 MiB" 413 body-too-large
expect_eq "offline: the limit in the detail" \
    "the body is larger than 33554432 bytes" "$(jb .detail)"
offline_post "$TMP/h1-big.json" nic -H 'Transfer-Encoding: chunked'
expect_problem "offline: a chunked body over 32 MiB" 413 body-too-large
post_json /v1/compat "$TMP/h1-3mb.json"
expect_problem "POST /v1/compat keeps the 2 MiB limit" 413 body-too-large
api GET /v1/health
expect_status "vpcid is fine after all that" 200

if daemon_stop; then ok; else not_ok "vpcid exits 0 on SIGTERM (status $DAEMON_RC)"; fi
check "no sanitizer report in the daemon's log" sh -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$DLOG'"

# ---------------------------------------------------------------- OpenAPI
if [ -n "$PYTHON" ]; then
    "$PYTHON" "$top_srcdir/tests/openapi-check.py" responses --spec "$top_srcdir/api/openapi.yaml" \
        --log "$RESPONSES" >"$TMP/openapi.out" 2>&1
    orc=$?
    [ "$orc" -eq 0 ] || tail -n 30 "$TMP/openapi.out" | sed 's/^/  openapi: /'
    expect_eq "every response conforms to api/openapi.yaml" 0 "$orc"
else
    not_ok "python3 with yaml and jsonschema (tools/debian-packages)"
fi
finish
