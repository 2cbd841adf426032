#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcictl layout common over fixture families: two 82576 boards, an
# 82576 whose MSI-X sits at another offset (the dump edited as another
# firmware would have it), three Sunrisepoint-LP root ports (one dumped with 256 bytes), the four GP102s
# of one machine (FILE@BDF), Haswell-EP root ports 2f02/2f03 with --id, a
# layout file with a dump, functions of a host snapshot, and devices that
# are not one kind.  Every result lints, renders to text lspci -F
# decodes, passes compat on every input device (-o json) and is a fixed
# point (the common layout of itself and its inputs is itself).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
export VPCI_QUIRKS_DIR="$top_srcdir/data/quirks"
LSPCI=${LSPCI:-$(command -v lspci || true)}
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
D=$FIX/dumps
IGB1=$D/intel-82576-pf-8086-10c9-sriov-4k.lspci
IGB2=$D/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci
SPT=$D/intel-sunrisepoint-lp-rootport-8086-9d10
SPT256=$D/intel-sunrisepoint-lp-rootports-8086-9d10-9d12-256b.lspci
GP=$D/nvidia-4x-gp102-10de-1b06-plx-pex8747-256b.lspci
HSW=$D/intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci
DSA=$D/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci

# run ARGS...: vpcictl with stdout, stderr and exit status in $TMP/out,
# $TMP/err and $rc
run() {
    "$VPCICTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

caps_of() { # FILE: the capability lines lspci decodes, trimmed
    "$LSPCI" -F "$1" -vvv 2>/dev/null |
        sed -n 's/^[[:space:]]*\(Capabilities: .*\)$/\1/p'
}

# family NAME CAPS COMPAT INPUT...: layout common over the inputs exits 0;
# the layout lints, renders to text whose capabilities lspci decodes as
# CAPS (lines joined with "|"); -o json's compat of each input is COMPAT;
# the common layout of it and the inputs is itself.
family() {
    name=$1 caps=$2 compat=$3
    shift 3
    run layout common "$@"
    expect_eq "$name: exits 0" 0 "$rc"
    cp "$TMP/out" "$TMP/$name.vpci"
    cp "$TMP/err" "$TMP/$name.err"
    check "$name: the layout lints" "$VPCICTL" layout lint "$TMP/$name.vpci"
    if "$VPCICTL" layout render "$TMP/$name.vpci" >"$TMP/$name.lspci"; then
        ok
        if [ -n "$LSPCI" ]; then
            expect_eq "$name: lspci -F decodes its capabilities" "$caps" \
                "$(caps_of "$TMP/$name.lspci" | paste -sd'|' -)"
        fi
    else
        not_ok "$name: render"
    fi
    run layout common -o json "$@"
    expect_eq "$name: -o json exits 0" 0 "$rc"
    expect_eq "$name: compat on every input" "$compat" \
        "$(jq -c '[.inputs[].compat]' "$TMP/out")"
    expect_eq "$name: the JSON layout is the text layout" \
        "$(cat "$TMP/$name.vpci")" "$(jq -r .layout "$TMP/out")"
    expect_eq "$name: hash is layout hash's" \
        "$("$VPCICTL" layout hash "$TMP/$name.vpci" | head -1)" \
        "$(jq -r .hash "$TMP/out")"
    expect_eq "$name: the notes are the inputs' notes" \
        "$(jq -c '[.inputs[].notes[]]' "$TMP/out")" \
        "$(jq -c '[.notes[] | select(.input != null)] | sort_by(.input)' "$TMP/out")"
    run layout common "$TMP/$name.vpci" "$@"
    expect_eq "$name: common of the result and its inputs exits 0" 0 "$rc"
    "$VPCICTL" layout diff "$TMP/$name.vpci" "$TMP/out" >"$TMP/diff"
    expect_eq "$name: ... and is the result (a fixed point)" "0 " \
        "$? $(cat "$TMP/diff")"
}

OK2='[{"compatible":true,"reasons":[]},{"compatible":true,"reasons":[]}]'
OK3='[{"compatible":true,"reasons":[]},{"compatible":true,"reasons":[]},{"compatible":true,"reasons":[]}]'
OK4='[{"compatible":true,"reasons":[]},{"compatible":true,"reasons":[]},{"compatible":true,"reasons":[]},{"compatible":true,"reasons":[]}]'
IGB_CAPS='Capabilities: [40] Power Management version 3|Capabilities: [50] MSI: Enable- Count=1/1 Maskable+ 64bit+|Capabilities: [70] MSI-X: Enable- Count=10 Masked-|Capabilities: [a0] Express (v2) Endpoint, MSI 00|Capabilities: [100 v1] Advanced Error Reporting|Capabilities: [140 v1] Device Serial Number 00-1b-21-ff-ff-2b-46-e0'

# ------------------------------------------------------------ (a) 82576
family igb "$IGB_CAPS" "$OK2" "$IGB1" "$IGB2"
expect_eq "igb: the report, per input" \
    "input 1 intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0: dropped bar 1: mem32 size 0x400000 from 1 here, mem32 size 0x20000 from 1 on input 2
input 1 intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0: dropped rom: size 0x400000 from rom here, 0x20000 from rom on input 2: rom none
input 1 intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0: compat: compatible
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: id header.subsystem_vendor: 0x0000 on input 2, 0x8086 on input 1: presenting 0x8086
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: id header.subsystem_id: 0x0000 on input 2, 0xa03c on input 1: presenting 0xa03c
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: dropped bar 1: mem32 size 0x20000 from 1 here, mem32 size 0x400000 from 1 on input 1
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: dropped rom: size 0x20000 from rom here, 0x400000 from rom on input 1: rom none
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: chosen cap pcie.lnkcap: 0x02036c41 on input 2, 0x00036c41 on input 1: presenting 0x00036c41
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: chosen cap pcie.lnkctl: 0x0040 on input 2, 0x0042 on input 1: presenting 0x0042
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: chosen ecap dsn.dsn_lo: 0xff12174c on input 2, 0xff2b46e0 on input 1: presenting 0xff2b46e0
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: compat: compatible" \
    "$(cat "$TMP/igb.err")"
expect_eq "igb: the header comment names the inputs" \
    "# common layout of 2 inputs, policy vfio:
#   input 1: intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0 (dump, 8086:10c9)
#   input 2: intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0 (dump, 8086:10c9)
vpci-layout 1" "$(head -4 "$TMP/igb.vpci")"
expect_eq "igb: BARs 0, 2, 3 kept, BAR 1 and the ROM left out" \
    "bar 0 mem32 size 0x20000 from 0
bar 2 io size 0x20 from 2
bar 3 mem32 size 0x4000 from 3
rom none" "$(grep -E '^(bar|rom) ' "$TMP/igb.vpci")"
expect_eq "igb: requires the one device ID" "requires
  device 8086:10c9" "$(sed -n '/^requires/,$p' "$TMP/igb.vpci")"
run layout common -o json "$IGB1" "$IGB2"
expect_eq "igb: JSON inputs" \
    '[{"input":"'"$IGB1"'","kind":"dump","bdf":"0000:01:00.0","id":"8086:10c9","notes":2},{"input":"'"$IGB2"'","kind":"dump","bdf":"0000:09:00.0","id":"8086:10c9","notes":7}]' \
    "$(jq -c '[.inputs[] | {input, kind, bdf, id, notes: (.notes | length)}]' "$TMP/out")"
expect_eq "igb: a JSON note" \
    '{"input":2,"what":"cap pcie.lnkcap","action":"chosen","message":"0x02036c41 on input 2, 0x00036c41 on input 1: presenting 0x00036c41"}' \
    "$(jq -c '.notes[6]' "$TMP/out")"
expect_eq "igb: nothing on stderr with -o json" "" "$(cat "$TMP/err")"
# Input order decides only which input's values are presented.
run layout common "$IGB2" "$IGB1"
expect_eq "igb reversed: exits 0" 0 "$rc"
"$VPCICTL" layout diff "$TMP/igb.vpci" "$TMP/out" >"$TMP/diff"
expect_eq "igb reversed: only input 1's values differ" \
    "header.subsystem_vendor: value 0x8086 -> 0x0000
header.subsystem_id: value 0xa03c -> 0x0000
cap pcie.lnkcap: value 0x00036c41 -> 0x02036c41
cap pcie.lnkctl: value 0x0042 -> 0x0040
ecap dsn.dsn_lo: value 0xff2b46e0 -> 0xff12174c" "$(cat "$TMP/diff")"
run layout common "$IGB1" "$IGB2"
expect_eq "igb: the same output twice" "$(cat "$TMP/igb.vpci")" \
    "$(cat "$TMP/out")"

# ------------------------------------------------------------ moved
# Another firmware's chain: IGB1 with its MSI-X capability at 0xe0
# instead of 0x70 (MSI's next pointer and the 12 bytes moved), at
# another slot.
awk '
    NR == 1 { sub(/^01:00.0/, "02:00.0") }
    /^50: / { $3 = "e0" }
    /^70: / { for (i = 2; i <= 13; i++) $i = "00" }
    /^e0: / { split("11 a0 09 80 03 00 00 00 03 20 00 00", m, " ")
              for (i = 2; i <= 13; i++) $i = m[i - 1] }
    { print }' "$IGB1" >"$TMP/igb-moved.lspci"
expect_eq "moved: the edited dump decodes MSI-X at 0xe0" \
    "Capabilities: [40] Power Management version 3|Capabilities: [50] MSI: Enable- Count=1/1 Maskable+ 64bit+|Capabilities: [e0] MSI-X: Enable+ Count=10 Masked-|Capabilities: [a0] Express (v2) Endpoint, MSI 00" \
    "$(caps_of "$TMP/igb-moved.lspci" | grep -v '\[1' | paste -sd'|' -)"
cp "$TMP/igb-moved.lspci" "$TMP/igb-moved2.lspci"
family moved "$(echo "$IGB_CAPS" | sed 's/\[70\] MSI-X/[e0] MSI-X/')" "$OK3" \
    "$IGB1" "$TMP/igb-moved.lspci" "$TMP/igb-moved2.lspci"
expect_eq "moved: the majority's offset, input 1 moved" \
    "input 1 intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0: moved cap msix: 0x70 -> 0xe0
input 1 intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0: compat: compatible
input 2 igb-moved.lspci@0000:02:00.0: nothing reduced, dropped or moved
input 2 igb-moved.lspci@0000:02:00.0: compat: compatible
input 3 igb-moved2.lspci@0000:02:00.0: nothing reduced, dropped or moved
input 3 igb-moved2.lspci@0000:02:00.0: compat: compatible" \
    "$(cat "$TMP/moved.err")"
run layout common "$IGB1" "$TMP/igb-moved.lspci"
expect_eq "moved, two inputs: the tie goes to the lower offset" \
    "input 2 igb-moved.lspci@0000:02:00.0: moved cap msix: 0xe0 -> 0x70" \
    "$(grep ": moved " "$TMP/err")"

# ------------------------------------------------------------ (b) 9d10
family spt "Capabilities: [40] Express (v2) Root Port (Slot+), MSI 00|Capabilities: [80] MSI: Enable- Count=1/1 Maskable- 64bit-|Capabilities: [a0] Power Management version 3" \
    "$OK3" "$SPT-aer-l1ss-4k.lspci" "$SPT-aspm-4k.lspci" "$SPT256@00:1c.0"
expect_eq "spt: a 256-byte space" "space 256" "$(grep '^space' "$TMP/spt.vpci")"
expect_eq "spt: the report" \
    "input 1 intel-sunrisepoint-lp-rootport-8086-9d10-aer-l1ss-4k.lspci@0000:00:1c.0: dropped ecap aer: input 3 has a 256-byte config space
input 1 intel-sunrisepoint-lp-rootport-8086-9d10-aer-l1ss-4k.lspci@0000:00:1c.0: dropped ecap acs: input 3 has a 256-byte config space
input 1 intel-sunrisepoint-lp-rootport-8086-9d10-aer-l1ss-4k.lspci@0000:00:1c.0: compat: compatible
input 2 intel-sunrisepoint-lp-rootport-8086-9d10-aspm-4k.lspci@0000:00:1c.0: dropped ecap aer: input 3 has a 256-byte config space
input 2 intel-sunrisepoint-lp-rootport-8086-9d10-aspm-4k.lspci@0000:00:1c.0: dropped ecap acs: input 3 has a 256-byte config space
input 2 intel-sunrisepoint-lp-rootport-8086-9d10-aspm-4k.lspci@0000:00:1c.0: compat: compatible
input 3 intel-sunrisepoint-lp-rootports-8086-9d10-9d12-256b.lspci@0000:00:1c.0: chosen header.bridge_control: 0x0018 on input 3, 0x0000 on input 1: presenting 0x0000
input 3 intel-sunrisepoint-lp-rootports-8086-9d10-9d12-256b.lspci@0000:00:1c.0: compat: compatible" \
    "$(cat "$TMP/spt.err")"
family spt4k "Capabilities: [40] Express (v2) Root Port (Slot+), MSI 00|Capabilities: [80] MSI: Enable- Count=1/1 Maskable- 64bit-|Capabilities: [a0] Power Management version 3|Capabilities: [100 v1] Advanced Error Reporting|Capabilities: [140 v1] Access Control Services" \
    "$OK2" "$SPT-aer-l1ss-4k.lspci" "$SPT-aspm-4k.lspci"
expect_eq "spt4k: nothing to report" \
    "input 1 intel-sunrisepoint-lp-rootport-8086-9d10-aer-l1ss-4k.lspci@0000:00:1c.0: nothing reduced, dropped or moved
input 1 intel-sunrisepoint-lp-rootport-8086-9d10-aer-l1ss-4k.lspci@0000:00:1c.0: compat: compatible
input 2 intel-sunrisepoint-lp-rootport-8086-9d10-aspm-4k.lspci@0000:00:1c.0: nothing reduced, dropped or moved
input 2 intel-sunrisepoint-lp-rootport-8086-9d10-aspm-4k.lspci@0000:00:1c.0: compat: compatible" \
    "$(cat "$TMP/spt4k.err")"

# ------------------------------------------------------------ (c) GP102
family gp102 "Capabilities: [60] Power Management version 3|Capabilities: [68] MSI: Enable- Count=1/1 Maskable- 64bit+|Capabilities: [78] Express (v2) Legacy Endpoint, MSI 00" \
    "$OK4" "$GP@04:00.0" "$GP@05:00.0" "$GP@0000:08:00.0" "$GP@09:00.0"
expect_eq "gp102: the reductions and choices are the links'" \
    "1 reduced cap pcie.lnksta
2 chosen cap pcie.lnkcap
2 reduced cap pcie.lnksta
3 chosen cap pcie.lnkcap
3 chosen cap pcie.lnkctl
4 chosen cap pcie.lnkcap
4 chosen cap pcie.lnkctl" \
    "$(grep -v -e 'compat: compatible' -e warning "$TMP/gp102.err" |
        sed 's/^input \([0-9]\) [^ ]*: \([a-z]*\) \([^:]*\):.*/\1 \2 \3/' | sort)"
expect_eq "gp102: BAR sizes unknown in an lspci -v dump: warned per input" 16 \
    "$(grep -c 'warning: BAR [0-9]: size unknown' "$TMP/gp102.err")"
run layout common "$GP@04:00.0" "$GP"
expect_eq "gp102: a dump of several functions needs @BDF (exit 2)" \
    "2 vpcictl: $GP holds 14 devices; choose one with $GP@BDF:" \
    "$rc $(grep holds "$TMP/err")"
run layout common "$GP@04:00.0" "$GP@0000:0a:00.0"
expect_eq "gp102: no such slot" "1 vpcictl: $GP: no device at slot 0000:0a:00.0" \
    "$rc $(grep -v warning "$TMP/err")"
run layout common "$GP@04:00.0" "$GP@04:00.1"
expect_eq "gp102: GPU and its audio function are not one device" \
    "1 vpcictl: layout common: input 2 (nvidia-4x-gp102-10de-1b06-plx-pex8747-256b.lspci@0000:04:00.1) is not the same device as input 1 (nvidia-4x-gp102-10de-1b06-plx-pex8747-256b.lspci@0000:04:00.0): class 040300 vs 030000" \
    "$rc $(grep -v warning "$TMP/err")"

# ------------------------------------------------------------ (d) 2f02/2f03
run layout common "$HSW@00:01.0" "$HSW@00:01.1"
expect_eq "hsw without --id: exit 1 and why" \
    "1 vpcictl: layout common: input 2 (intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci@0000:00:01.1) is not the same device as input 1 (intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci@0000:00:01.0): device 8086:2f03 vs 8086:2f02 (give the ID to present to join them)" \
    "$rc $(cat "$TMP/err")"
expect_eq "hsw without --id: nothing on stdout" "" "$(cat "$TMP/out")"
family hsw "Capabilities: [60] MSI: Enable- Count=1/2 Maskable+ 64bit-|Capabilities: [90] Express (v2) Root Port (Slot+), MSI 00|Capabilities: [e0] Power Management version 3|Capabilities: [100 v1] Vendor Specific Information: ID=0002 Rev=0 Len=00c <?>|Capabilities: [110 v1] Access Control Services|Capabilities: [148 v1] Advanced Error Reporting|Capabilities: [1d0 v1] Vendor Specific Information: ID=0003 Rev=1 Len=00a <?>|Capabilities: [280 v1] Vendor Specific Information: ID=0005 Rev=3 Len=018 <?>|Capabilities: [300 v1] Vendor Specific Information: ID=0008 Rev=0 Len=038 <?>" \
    "$OK2" --id 8086:2f02 "$HSW@00:01.0" "$HSW@00:01.1"
expect_eq "hsw: presents 2f02, requires either" \
    "  0x02 u16 device_id            0x2f02
requires
  device 8086:2f02 8086:2f03" \
    "$(grep -E 'device_id|^requires|^  device ' "$TMP/hsw.vpci")"
check "hsw: the id note" grep -qx \
    'input 2 intel-haswell-ep-rootports-2f02-2f03-c610-8d18-4k.lspci@0000:00:01.1: id header.device_id: 0x2f03 presented as 0x2f02' \
    "$TMP/hsw.err"
run layout common --id 8086 "$HSW@00:01.0" "$HSW@00:01.1"
expect_eq "--id without a device ID is a usage error" \
    "2 vpcictl layout common: --id is VVVV:DDDD (hex vendor and device ID)" \
    "$rc $(head -1 "$TMP/err")"

# ------------------------------------------------------------ (e) unrelated
run layout common "$IGB1" "$DSA"
expect_eq "82576 + DSA: exit 1 and the exact message" \
    "1 vpcictl: layout common: input 2 (intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci@0000:6a:01.0) is not the same device as input 1 (intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0): class 088000 vs 020000" \
    "$rc $(cat "$TMP/err")"
expect_eq "82576 + DSA: nothing on stdout" "" "$(cat "$TMP/out")"
run layout common -o json --id 8086:10c9 "$IGB1" "$SPT-aspm-4k.lspci"
expect_eq "82576 + a root port, even with --id: header types differ" \
    "1 vpcictl: layout common: input 2 (intel-sunrisepoint-lp-rootport-8086-9d10-aspm-4k.lspci@0000:00:1c.0) is not the same device as input 1 (intel-82576-pf-8086-10c9-sriov-4k.lspci@0000:01:00.0): header type1 vs type0" \
    "$rc $(cat "$TMP/err")"

# ------------------------------------------------------------ (f) layout file
LAYOUT=$top_srcdir/data/layouts/nic-pf-82576.vpci
family file "$(echo "$IGB_CAPS" | sed 's/00-1b-21-ff-ff-2b-46-e0/00-00-00-00-00-00-00-00/')" '[null,{"compatible":true,"reasons":[]}]' \
    "$LAYOUT" "$IGB2"
expect_eq "file: what the layout file and the dump do not share" \
    "input 1 nic-pf-82576.vpci: dropped bar 1: mem32 size 0x400000 from 1 here, mem32 size 0x20000 from 1 on input 2
input 1 nic-pf-82576.vpci: dropped requires driver: not the same on every input (differs on input 2)
input 1 nic-pf-82576.vpci: compat not checked: a layout file names no device
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: dropped bar 1: mem32 size 0x20000 from 1 here, mem32 size 0x400000 from 1 on input 1
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: dropped bar 2: io size 0x20 from 2 here, none on input 1
input 2 intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci@0000:09:00.0: dropped rom: size 0x20000 from rom here, none on input 1: rom none" \
    "$(grep -e '^input 1' -e 'dropped' "$TMP/file.err")"
run layout common -o json "$LAYOUT" "$IGB2"
expect_eq "file: JSON kinds, BDFs and IDs" \
    '[["layout","","8086:10c9"],["dump","0000:09:00.0","8086:10c9"]]' \
    "$(jq -c '[.inputs[] | [.kind, .bdf, .id]]' "$TMP/out")"
run layout common "$LAYOUT@01:00.0" "$IGB2"
expect_eq "file: a layout file with @BDF is a usage error" \
    "2 vpcictl: $LAYOUT: a layout file names no device; drop \"@01:00.0\"" \
    "$rc $(cat "$TMP/err")"

# ------------------------------------------------------------ (g) snapshot
if [ -x "$MKSYSFS" ]; then
    "$MKSYSFS" "$TMP/sys" <<EOF
func 0000:81:00.0 $IGB2 vfs=2 vfdriver=vfio-pci numa=0
func 0000:01:00.0 $IGB1 driver=vfio-pci
EOF
    export VPCID_MIGRATION_DRIVERS="$top_srcdir/data/vfio-migration-drivers"
    "$VPCICTL" host snapshot --sysfs "$TMP/sys" --hostname n1 \
        >"$TMP/snap.json" 2>"$TMP/err"
    expect_eq "snapshot taken" 0 "$?"
    family snap "$(echo "$IGB_CAPS" | sed 's/00-1b-21-ff-ff-2b-46-e0/00-1b-21-ff-ff-12-17-4c/')" "$OK3" \
        "$TMP/snap.json@81:00.0" "$TMP/snap.json@0000:01:00.0" "$IGB1"
    run layout common -o json "$TMP/snap.json@81:00.0" \
        "$TMP/snap.json@0000:01:00.0" "$IGB1"
    expect_eq "snap: kinds and BDFs" \
        '[["snapshot","0000:81:00.0"],["snapshot","0000:01:00.0"],["dump","0000:01:00.0"]]' \
        "$(jq -c '[.inputs[] | [.kind, .bdf]]' "$TMP/out")"
    # Two VFs of the snapshot (IDs and BARs from sysfs, not config;
    # the fixture builder gives VFs their PF's capabilities).
    family vfs "$(echo "$IGB_CAPS" | sed 's/00-1b-21-ff-ff-2b-46-e0/00-1b-21-ff-ff-12-17-4c/')" \
        "$OK2" "$TMP/snap.json@81:10.0" "$TMP/snap.json@81:10.2"
    expect_eq "vfs: the VFs' ID" "  device 8086:10ca" \
        "$(grep '^  device ' "$TMP/vfs.vpci")"
    run layout common "$TMP/snap.json" "$IGB1"
    expect_eq "snapshot without @BDF is a usage error" \
        "2 vpcictl: $TMP/snap.json: a host snapshot needs @BDF to name one of its functions" \
        "$rc $(cat "$TMP/err")"
    run layout common "$TMP/snap.json@02:00.0" "$IGB1"
    expect_eq "snapshot without that function" \
        "1 vpcictl: $TMP/snap.json: no PCI function 02:00.0 in the snapshot" \
        "$rc $(cat "$TMP/err")"
    echo '{"format": "vpcid-host-snapshot", "version": 9}' >"$TMP/bad.json"
    run layout common "$TMP/bad.json@01:00.0" "$IGB1"
    expect_eq "a bad snapshot: exit 1, message names the file" \
        "1 vpcictl: $TMP/bad.json:" "$rc $(cut -d' ' -f1-2 "$TMP/err")"
else
    not_ok "$MKSYSFS not built"
fi

# ------------------------------------------------------------ usage
run layout common "$IGB1"
expect_eq "one input is a usage error" \
    "2 vpcictl layout common: at least two INPUTs are needed" \
    "$rc $(head -1 "$TMP/err")"
run layout common -o yaml "$IGB1" "$IGB2"
expect_eq "-o yaml is a usage error" "2 vpcictl layout common: -o is text or json" \
    "$rc $(head -1 "$TMP/err")"
run layout common --policy foo "$IGB1" "$IGB2"
expect_eq "a bad policy is a usage error" 2 "$rc"
run layout common "$IGB1" "$TMP/nowhere.lspci"
expect_eq "a missing file: exit 1 naming it" \
    "1 vpcictl: $TMP/nowhere.lspci: No such file or directory" \
    "$rc $(cat "$TMP/err")"
printf 'not a dump\n' >"$TMP/junk"
run layout common "$IGB1" "$TMP/junk"
expect_eq "junk: exit 1 naming the file" "1 $TMP/junk" \
    "$rc $(cut -d: -f1 "$TMP/err")"
run layout common --policy identity "$IGB1" "$IGB2"
expect_eq "identity policy: exits 0" 0 "$rc"
check "identity policy: said in the header comment" \
    grep -q '^# common layout of 2 inputs, policy identity:' "$TMP/out"
check "identity policy: lints" "$VPCICTL" layout lint "$TMP/out"

finish
