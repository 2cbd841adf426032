#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcictl host scan and layout derive BDF on fake sysfs trees built from
# the dumps, and on this machine's /sys against lspci -n.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS
LSPCI=${LSPCI:-lspci}
D=$FIX/dumps
T=$TMP/sys

if ! command -v jq >/dev/null; then
    echo "jq is needed (tools/debian-packages)"
    exit 99
fi

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
check "mksysfs builds the tree" test -d "$T/bus/pci/devices/0000:3c:10.6"

"$VPCICTL" host scan --sysfs "$T" -o json >"$TMP/scan.json" 2>"$TMP/scan.err"
expect_eq "scan exits 0 despite damaged functions" 0 $?
j() { jq -r "$1" "$TMP/scan.json"; }
dev() { jq -c --arg b "$1" ".devices[] | select(.bdf == \$b) | $2" "$TMP/scan.json"; }

expect_eq "every function" 12 "$(j '.devices | length')"
expect_eq "sorted BDFs" "0000:00:1f.0 0000:00:1f.1 0000:05:00.0 0000:06:00.0 0000:3b:00.0 0000:3c:10.0 0000:3c:10.2 0000:3c:10.4 0000:3c:10.6 0000:6b:00.0 0000:6b:02.0 0000:6b:02.2" \
    "$(j '[.devices[].bdf] | join(" ")')"
for k in bdf vendor_id device_id subsystem_vendor_id subsystem_id class \
    revision driver iommu_group numa_node physfn vfs sriov capabilities \
    bars config_size warnings; do
    expect_eq "key $k in every device" 12 \
        "$(j "[.devices[] | select(has(\"$k\"))] | length")"
done
expect_eq "IDs are 4 lowercase hex digits" 0 \
    "$(j '[.devices[] | .vendor_id, .device_id, .subsystem_vendor_id, .subsystem_id | select(test("^[0-9a-f]{4}$") | not)] | length')"

# the 82576 PF and its VFs
expect_eq "PF identity" '["8086","10c9","8086","a03c","020000",1]' \
    "$(dev 0000:3b:00.0 '[.vendor_id,.device_id,.subsystem_vendor_id,.subsystem_id,.class,.revision]')"
expect_eq "PF driver, NUMA" '["igb",1]' "$(dev 0000:3b:00.0 '[.driver,.numa_node]')"
expect_eq "PF SR-IOV" '{"total_vfs":8,"num_vfs":4,"vf_device_id":"10ca","offset":384,"stride":2}' \
    "$(dev 0000:3b:00.0 .sriov)"
expect_eq "PF VFs" '["0000:3c:10.0","0000:3c:10.2","0000:3c:10.4","0000:3c:10.6"]' \
    "$(dev 0000:3b:00.0 .vfs)"
expect_eq "PF capabilities with offsets" \
    '[["std",1,"pm",64],["std",5,"msi",80],["std",17,"msix",112],["std",16,"pcie",160],["ext",1,"aer",256],["ext",3,"dsn",320],["ext",14,"ari",336],["ext",16,"sriov",352]]' \
    "$(dev 0000:3b:00.0 '[.capabilities[] | [.kind,.id,.name,.offset]]')"
expect_eq "ext capabilities carry a version" 4 \
    "$(dev 0000:3b:00.0 '[.capabilities[] | select(.kind == "ext" and has("version"))] | length')"
expect_eq "PF BARs" '[[0,"mem32",false,131072],[1,"mem32",false,4194304],[2,"io",false,32],[3,"mem32",false,16384]]' \
    "$(dev 0000:3b:00.0 '[.bars[] | [.index,.type,.prefetch,.size]]')"
expect_eq "PF config" '[4096,false,[]]' "$(dev 0000:3b:00.0 '[.config_size,.config_partial,.warnings]')"
expect_eq "VF identity from sysfs" '["8086","10ca","0000:3b:00.0",null,[]]' \
    "$(dev 0000:3c:10.4 '[.vendor_id,.device_id,.physfn,.sriov,.vfs]')"
expect_eq "VF ID registers read 0xffff" ffffffff \
    "$(dev 0000:3c:10.4 '.config[0:8]' | tr -d '"')"
expect_eq "VF vfio nodes" "\"/dev/vfio/$(dev 0000:3c:10.4 .iommu_group)\"" \
    "$(dev 0000:3c:10.4 .vfio_group_dev)"
expect_eq "plain vfio-pci does not migrate" false "$(dev 0000:3c:10.4 .migration)"

# the 0d93 PF: PASID and PRI reach its VFs
expect_eq "VF of a PASID/PRI PF" '["0d52","0000:6b:00.0",true,true,null]' \
    "$(dev 0000:6b:02.2 '[.device_id,.physfn,(.pf_pasid != null),(.pf_pri != null),.pasid]')"
expect_eq "VF PF PASID width" 20 "$(dev 0000:6b:02.2 .pf_pasid.max_width)"
expect_eq "VF has no PASID, PRI or SR-IOV capability" 0 \
    "$(dev 0000:6b:02.2 '[.capabilities[] | select(.kind == "ext" and (.id == 27 or .id == 19 or .id == 16))] | length')"
expect_eq "variant driver with migration" true "$(dev 0000:6b:02.0 .migration)"

# IOMMU groups shared and private
expect_eq "shared group" '[5,["0000:00:1f.1"]]' "$(dev 0000:00:1f.0 '[.iommu_group,.iommu_group_peers]')"
expect_eq "driver from spec" '"ath5k"' "$(dev 0000:00:1f.1 .driver)"
expect_eq "private group" '[]' "$(dev 0000:3b:00.0 .iommu_group_peers)"

# damage is reported per function
expect_eq "bad resource reported" '["resource: line 1 malformed","resource: 1 lines, expected at least 7"]' \
    "$(dev 0000:05:00.0 '[.warnings[] | select(startswith("resource"))]')"
expect_eq "missing config reported" '[0,true]' \
    "$(dev 0000:06:00.0 '[.config_size, (.warnings | length > 0)]')"
expect_eq "IDs still from sysfs" '"168c"' "$(dev 0000:06:00.0 .vendor_id)"

# the table
"$VPCICTL" host scan --sysfs "$T" >"$TMP/table" 2>"$TMP/table.err"
expect_eq "table: header and one line per function" 13 "$(wc -l <"$TMP/table")"
check "table shows VF counts" grep -q '^0000:3b:00.0 .* 4/8 ' "$TMP/table"
check "table warnings on stderr" grep -q '0000:06:00.0: warning: config' "$TMP/table.err"

# usage
"$VPCICTL" host scan -o yaml >/dev/null 2>&1
expect_eq "bad -o exits 2" 2 $?
"$VPCICTL" host scan --sysfs "$TMP/none" >/dev/null 2>&1
expect_eq "missing sysfs exits 1" 1 $?
"$VPCICTL" host frob >/dev/null 2>&1
expect_eq "unknown verb exits 2" 2 $?

# layout derive from a live (fixture) function
"$VPCICTL" layout derive --sysfs "$T" 0000:3c:10.2 >"$TMP/vf.vpci" 2>"$TMP/vf.err"
expect_eq "derive VF" 0 $?
check "derived VF lints" "$VPCICTL" layout lint "$TMP/vf.vpci"
check "VF BAR from sysfs resource" grep -q '^bar 0 mem64 size 0x4000' "$TMP/vf.vpci"
check "derive names the source" grep -q "^# derived from sysfs $T slot 0000:3c:10.2" "$TMP/vf.vpci"
"$VPCICTL" layout derive --policy identity --sysfs "$T" 3b:00.0 >"$TMP/pf.vpci" 2>/dev/null
expect_eq "derive PF by short BDF" 0 $?
check "PF identity keeps vendor ID" grep -q '0x00 u16 vendor_id *0x8086' "$TMP/pf.vpci"
"$VPCICTL" layout derive --sysfs "$T" 0000:99:00.0 >/dev/null 2>&1
expect_eq "derive of an absent BDF exits 1" 1 $?
"$VPCICTL" layout derive --sysfs "$T" 3b:0 >/dev/null 2>&1
expect_eq "derive of a bad BDF exits 2" 2 $?
"$VPCICTL" layout derive --dump "$D/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci" >/dev/null 2>&1
expect_eq "derive --dump still works" 0 $?
"$VPCICTL" layout derive --sysfs "$T" --dump "$D/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci" >/dev/null 2>&1
expect_eq "--sysfs with --dump is a usage error" 2 $?

# Every device of every clean dump: IDs, class and capability offsets as
# lspci -F decodes them from the same dump.
T2=$TMP/all
spec=$TMP/all.spec
: >"$spec"
bus=0
for f in "$D"/*.lspci; do
    n=$(dump_slots "$f" | wc -l)
    i=1
    while [ "$i" -le "$n" ]; do
        bus=$((bus + 1))
        printf 'func %04x:%02x:00.0 %s index=%d driver=none group=none\n' \
            $((bus / 256)) $((bus % 256)) "$f" "$i" >>"$spec"
        i=$((i + 1))
    done
done
"$MKSYSFS" "$T2" "$spec"
expect_eq "tree of every dump device" 0 $?
"$VPCICTL" host scan --sysfs "$T2" -o json >"$TMP/all.json" 2>/dev/null
expect_eq "every dump device scanned" "$bus" "$(jq '.devices | length' "$TMP/all.json")"
bad=0
bus=0
for f in "$D"/*.lspci; do
    # lspci's view of the dump, per slot: IDs, then capability offsets
    "$LSPCI" -F "$f" -D -n -vvv 2>/dev/null | awk '
        /^[0-9a-f]/ { slot = $1; print slot, "id", $3 }
        /^\tCapabilities: \[/ {
            o = $2; gsub(/[\[\]]/, "", o); print slot, "cap", o
        }' >"$TMP/lspci.view"
    for s in $(dump_slots "$f"); do
        bus=$((bus + 1))
        if [ "$(dump_slots "$f" | grep -c "^$s\$")" -gt 1 ]; then
            continue # the same slot twice (before/after): ambiguous
        fi
        case $s in ????:*) ;; *) s=0000:$s ;; esac
        b=$(printf '%04x:%02x:00.0' $((bus / 256)) $((bus % 256)))
        want=$(awk -v s="$s" '$1 == s && $2 == "id" { print $3; exit }' "$TMP/lspci.view")
        got=$(jq -r --arg b "$b" '.devices[] | select(.bdf == $b) | "\(.vendor_id):\(.device_id)"' "$TMP/all.json")
        if [ "$want" != "$got" ]; then
            bad=$((bad + 1))
            echo "  $f $s: IDs $got, lspci says $want"
        fi
        wantc=$(awk -v s="$s" '$1 == s && $2 == "cap" { printf "%d ", ("0x" $3) + 0 }' "$TMP/lspci.view")
        wantc=$(for o in $(awk -v s="$s" '$1 == s && $2 == "cap" { print $3 }' "$TMP/lspci.view"); do printf '%d ' "0x$o"; done)
        gotc=$(jq -r --arg b "$b" '[.devices[] | select(.bdf == $b) | .capabilities[] | .offset] | map(tostring) | join(" ")' "$TMP/all.json")
        if [ "$(echo $wantc)" != "$(echo $gotc)" ]; then
            bad=$((bad + 1))
            echo "  $f $s: capabilities at [$gotc], lspci says [$wantc]"
        fi
    done
done
expect_eq "IDs and capability offsets agree with lspci -F" 0 "$bad"

# This machine: the same functions and IDs as lspci -n.
if [ -d /sys/bus/pci/devices ] && [ -x "$(command -v "$LSPCI")" ]; then
    "$VPCICTL" host scan -o json >"$TMP/real.json" 2>"$TMP/real.err"
    expect_eq "real /sys scan" 0 $?
    jq -r '.devices[] | "\(.bdf) \(.class[0:4]): \(.vendor_id):\(.device_id)" +
        (if .revision > 0 then " (rev \("%02x" | .)" else "" end)' \
        "$TMP/real.json" >/dev/null 2>&1
    jq -r '.devices[] | "\(.bdf) \(.class[0:4]): \(.vendor_id):\(.device_id)"' \
        "$TMP/real.json" >"$TMP/real.ours"
    "$LSPCI" -n -D | sed 's/ (rev [0-9a-f]*)//; s/ (prog-if [0-9a-f]*)//' \
        >"$TMP/real.lspci"
    expect_eq "same functions and IDs as lspci -n" "$(cat "$TMP/real.lspci")" \
        "$(cat "$TMP/real.ours")"
    expect_eq "same revisions as lspci -n" \
        "$("$LSPCI" -n -D | sed -n 's/^\([^ ]*\) .*(rev \([0-9a-f]*\)).*/\1 \2/p')" \
        "$(jq -r '.devices[] | select(.revision > 0) | "\(.bdf) \(.revision)"' "$TMP/real.json" |
            while read -r b r; do printf '%s %02x\n' "$b" "$r"; done)"
    if [ "$(id -u)" -eq 0 ]; then
        expect_eq "root reads whole config spaces" 0 \
            "$(jq '[.devices[] | select(.config_partial)] | length' "$TMP/real.json")"
    else
        expect_eq "not root: config marked partial, no failure" 0 \
            "$(jq '[.devices[] | select(.config_size < 64)] | length' "$TMP/real.json")"
    fi
else
    echo "no /sys/bus/pci or lspci here; real-machine check skipped"
fi

finish
