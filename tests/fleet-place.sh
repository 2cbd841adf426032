#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcictl layout place --ecap pasid: on the VF reference layout and on a
# VF derived from a fixture tree of the 82576 with 4 VFs, --at auto takes
# QEMU's 0xff8, or the exact next free offset when a listed device (a
# quirk keep range, a layout with a block there) takes it; the result
# lints and lspci decodes its PASID capability at that offset with the
# width and modes asked for; the offset is free on every listed device
# as lspci decodes them; refusals name what is in the way.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
LSPCI=${LSPCI:-$(command -v lspci || true)}
if ! [ -x "$MKSYSFS" ]; then
    echo "$MKSYSFS not built"
    exit 99
fi
VF=$top_srcdir/data/layouts/nic-vf-82576.vpci
DUMPS=$FIX/dumps
IGB4=$DUMPS/intel-82576-pf-8086-10c9-sriov-4vfs-v3.0.1-4k.lspci
PLX=$DUMPS/plx-pex8532-switch-10b5-8532-vc-pat-4k.lspci
DSA=$DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS
# The installed quirks must not change what a test expects.
VPCI_QUIRKS_DIR=$top_srcdir/data/quirks
export VPCI_QUIRKS_DIR

run() {
    "$VPCICTL" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

# expect_rc_err DESCRIPTION EXPECTED: the last run's "STATUS|STDERR" is
# EXPECTED
expect_rc_err() {
    expect_eq "$1" "$2" "$rc|$(cat "$TMP/err")"
}

# pasid_seen FILE: "OFF WIDTH-LINE" of the PASID capability lspci decodes
# in the rendered layout FILE, e.g. "ff8 PASIDCap: Exec- Priv-, Max PASID
# Width: 14".
pasid_seen() {
    "$VPCICTL" layout render "$1" >"$TMP/render.lspci" || return
    "$LSPCI" -F "$TMP/render.lspci" -vvv 2>/dev/null | awk '
        /Capabilities: \[[0-9a-f]+ v1\] Process Address Space ID \(PASID\)/ {
            off = $2; gsub(/\[/, "", off); want = 1; next }
        want && /PASIDCap:/ { sub(/^[ \t]+/, ""); print off " " $0; want = 0 }'
}

# free_on_dump OFF DUMP[@SLOT] [SPAN]: no capability lspci decodes in the
# function covers OFF..OFF+7, taking each to be SPAN bytes long (default
# 0x48, the longest AER).
free_on_dump() {
    _off=$(printf '%d' "$1")
    _span=$(printf '%d' "${3:-0x48}")
    _f=${2%@*}
    [ "$_f" = "$2" ] && _s= || _s=${2##*@}
    "$LSPCI" -F "$_f" ${_s:+-s "$_s"} -vvv 2>/dev/null |
        sed -n 's/^.*Capabilities: \[\([0-9a-f]\{3\}\) v.*$/\1/p' |
        while read -r c; do
            c=$(printf '%d' "0x$c")
            if [ "$c" -gt $((_off - _span)) ] && [ "$c" -lt $((_off + 8)) ]; then
                echo "capability at $c"
            fi
        done | grep -q . && return 1
    return 0
}

# placed OFF FILE: the PASID block is the last ecap line of FILE at OFF.
last_ecap() {
    grep '^ecap ' "$1" | tail -n 1
}

# ----------------------------------------------------- the VF reference
run layout place "$VF" --ecap pasid --at auto
expect_rc_err "VF reference: auto takes 0xff8" "0|vpcictl: placed pasid at 0xff8"
cp "$TMP/out" "$TMP/vf-ff8.vpci"
check "VF reference: the result lints" "$VPCICTL" layout lint "$TMP/vf-ff8.vpci"
expect_eq "VF reference: PASID last in the extended chain" "ecap 0xff8 pasid version 1" \
    "$(last_ecap "$TMP/vf-ff8.vpci")"
expect_eq "VF reference: its registers" \
    "  0x04 u16 pasid_cap            0x1400
  0x06 u16 pasid_ctl            0x0000  rw 0x0001" \
    "$(sed -n '/^ecap 0xff8 pasid/,/^$/p' "$TMP/vf-ff8.vpci" | sed -n '2,3p')"
expect_eq "VF reference: nothing else changed" "ecap chain: aer -> aer pasid
ecap pasid@0xff8: only in B" \
    "$("$VPCICTL" layout diff "$VF" "$TMP/vf-ff8.vpci")"
run layout place "$VF" --ecap pasid
expect_rc_err "--at defaults to auto" "0|vpcictl: placed pasid at 0xff8"
check "--at auto and no --at give the same layout" cmp -s "$TMP/out" "$TMP/vf-ff8.vpci"

# ------------------------------------------ a VF of the 4-VF fixture tree
echo "func 0000:09:00.0 $IGB4 vfs=4 vfdriver=vfio-pci" | "$MKSYSFS" "$TMP/sys"
"$VPCICTL" layout derive --sysfs "$TMP/sys" 0000:09:10.0 >"$TMP/vf.vpci" 2>/dev/null
check "the derived VF lints" "$VPCICTL" layout lint "$TMP/vf.vpci"
run layout place "$TMP/vf.vpci" --ecap pasid --at auto --device "$IGB4"
expect_rc_err "derived VF, its PF listed: auto takes 0xff8" \
    "0|vpcictl: placed pasid at 0xff8"
cp "$TMP/out" "$TMP/dvf-ff8.vpci"
check "derived VF: the result lints" "$VPCICTL" layout lint "$TMP/dvf-ff8.vpci"
expect_eq "derived VF: after aer and dsn in the chain" "aer dsn pasid" \
    "$(sed -n 's/^ecap 0x[0-9a-f]* \([a-z]*\) .*/\1/p' "$TMP/dvf-ff8.vpci" | tr '\n' ' ' | sed 's/ $//')"

# The VF itself, from a host snapshot of the tree, listed.
"$VPCICTL" host snapshot --sysfs "$TMP/sys" --hostname fixture >"$TMP/snap.json"
run layout place "$VF" --ecap pasid --device "$TMP/snap.json@0000:09:10.0" \
    --device "$TMP/snap.json@0000:09:10.2"
expect_eq "two snapshot VFs listed: 0xff8, width 20 (no PASID on their PF)" \
    "0|vpcictl: placed pasid at 0xff8|  0x04 u16 pasid_cap            0x1400" \
    "$rc|$(cat "$TMP/err")|$(grep pasid_cap "$TMP/out")"
run layout place "$VF" --ecap pasid --at 0x140 --device "$TMP/vf-ff8.vpci" \
    --device "$TMP/snap.json@0000:09:10.0"
expect_rc_err "--at on the snapshot VF's dsn: named" \
    "1|vpcictl: $VF: cannot place pasid: 0x140-0x147: ecap dsn at 0x140 on device 2 ($TMP/snap.json@0000:09:10.0)"

# A quirk keeps 0xff8-0xfff on the PF: the exact next free offset.
mkdir -p "$TMP/quirks"
printf '# test\ndevice 8086:10c9\n  keep 0xff8 8\n' >"$TMP/quirks/keep.quirk"
run layout place "$TMP/vf.vpci" --ecap pasid --at auto --device "$IGB4" \
    --quirks "$TMP/quirks"
expect_rc_err "a quirk keeps 0xff8 on the PF: auto takes 0xff0" \
    "0|vpcictl: placed pasid at 0xff0"
cp "$TMP/out" "$TMP/dvf-ff0.vpci"
check "0xff0: the result lints" "$VPCICTL" layout lint "$TMP/dvf-ff0.vpci"
run layout place "$TMP/vf.vpci" --ecap pasid --at 0xff8 --device "$IGB4" \
    --quirks "$TMP/quirks"
expect_rc_err "--at 0xff8 against the quirk: the quirk line named" \
    "1|vpcictl: $TMP/vf.vpci: cannot place pasid: 0xff8-0xfff: kept by quirk line 3 on device 1 ($IGB4)"

# A layout input with a block at 0xff8 (the placed VF).
run layout place "$VF" --ecap pasid --width 16 --exec --device "$TMP/vf-ff8.vpci" \
    --device "$IGB4"
expect_rc_err "a listed layout has PASID at 0xff8: auto takes 0xff0" \
    "0|vpcictl: placed pasid at 0xff0"
cp "$TMP/out" "$TMP/vf-ff0.vpci"
run layout place "$VF" --ecap pasid --at 0xffc --device "$TMP/vf-ff8.vpci"
expect_rc_err "--at beyond 0xff8: out of range" \
    "1|vpcictl: $VF: cannot place pasid: PASID offset 0xffc is outside 0x100-0xff8"
run layout place "$VF" --ecap pasid --at 0xff8 --device "$IGB4" --device "$TMP/vf-ff8.vpci"
expect_rc_err "--at 0xff8 taken on a listed layout: named" \
    "1|vpcictl: $VF: cannot place pasid: 0xff8-0xfff: ecap pasid at 0xff8 on device 2 ($TMP/vf-ff8.vpci)"

# Width: the smallest a listed device with PASID offers (the placed
# layout below has 16), else 20; --width wins.
run layout place "$VF" --ecap pasid --device "$TMP/vf-ff0.vpci" --device "$DSA"
expect_eq "default width: the smallest listed (16), at 0xff8" \
    "0|vpcictl: placed pasid at 0xff8|  0x04 u16 pasid_cap            0x1000" \
    "$rc|$(cat "$TMP/err")|$(grep pasid_cap "$TMP/out")"
run layout place "$VF" --ecap pasid --device "$DSA"
expect_eq "default width: the DSA's 20" "  0x04 u16 pasid_cap            0x1400" \
    "$(grep pasid_cap "$TMP/out")"
run layout place "$VF" --ecap pasid --width 8 --priv --device "$TMP/vf-ff0.vpci"
expect_eq "--width and --priv" "  0x04 u16 pasid_cap            0x0804
  0x06 u16 pasid_ctl            0x0000  rw 0x0005" "$(grep 'pasid_c' "$TMP/out")"

# A real high capability: the PLX's AER at 0xfb4.
run layout place "$VF" --ecap pasid --at 0xfb8 --device "$PLX"
expect_rc_err "--at inside the PLX's AER: named" \
    "1|vpcictl: $VF: cannot place pasid: 0xfb8-0xfbf: ecap aer at 0xfb4 on device 1 ($PLX)"
run layout place "$VF" --ecap pasid --at 0xfe0 --device "$PLX"
expect_rc_err "--at 0xfe0, just past the PLX's AER" "0|vpcictl: placed pasid at 0xfe0"
cp "$TMP/out" "$TMP/vf-fe0.vpci"

# ------------------------------------------------ lspci decodes the result
if [ -n "$LSPCI" ]; then
    expect_eq "lspci: PASID at 0xff8 on the VF reference" \
        "ff8 PASIDCap: Exec- Priv-, Max PASID Width: 14" "$(pasid_seen "$TMP/vf-ff8.vpci")"
    expect_eq "lspci: PASID at 0xff8 on the derived VF" \
        "ff8 PASIDCap: Exec- Priv-, Max PASID Width: 14" "$(pasid_seen "$TMP/dvf-ff8.vpci")"
    expect_eq "lspci: PASID at 0xff0 past the quirk" \
        "ff0 PASIDCap: Exec- Priv-, Max PASID Width: 14" "$(pasid_seen "$TMP/dvf-ff0.vpci")"
    expect_eq "lspci: PASID at 0xff0 with width 16 and exec" \
        "ff0 PASIDCap: Exec+ Priv-, Max PASID Width: 10" "$(pasid_seen "$TMP/vf-ff0.vpci")"
    expect_eq "lspci: PASID at 0xfe0 past the PLX's AER" \
        "fe0 PASIDCap: Exec- Priv-, Max PASID Width: 14" "$(pasid_seen "$TMP/vf-fe0.vpci")"
    check "0xff8 is free on the 82576 PF" free_on_dump 0xff8 "$IGB4"
    check "0xff0 is free on the 82576 PF" free_on_dump 0xff0 "$IGB4"
    # (the PLX's AER belongs to a switch port: no root port registers,
    # 0x2c bytes)
    check "0xfe0 is free on the PLX" free_on_dump 0xfe0 "$PLX" 0x2c
    check "0xff8 is free on the DSA" free_on_dump 0xff8 "$DSA"
    check "the check can fail: 0xfb8 is not free on the PLX" \
        eval '! free_on_dump 0xfb8 "$PLX"'
else
    echo "lspci not found: decode checks skipped"
fi

# ------------------------------------- no extended capability: the anchor
awk '/^ecap / { skip = 1 } /^$/ { skip = 0 } !skip' "$VF" >"$TMP/noext.vpci"
check "the VF without aer lints" "$VPCICTL" layout lint "$TMP/noext.vpci"
run layout place "$TMP/noext.vpci" --ecap pasid
expect_eq "no ecap: the 0x100 anchor, then PASID at 0xff8" \
    "0|vpcictl: placed pasid at 0xff8|ecap 0x100 null version 0
ecap 0xff8 pasid version 1" "$rc|$(cat "$TMP/err")|$(grep '^ecap ' "$TMP/out")"
cp "$TMP/out" "$TMP/noext-ff8.vpci"
check "no ecap: the result lints" "$VPCICTL" layout lint "$TMP/noext-ff8.vpci"
if [ -n "$LSPCI" ]; then
    expect_eq "lspci: PASID at 0xff8 behind the anchor" \
        "ff8 PASIDCap: Exec- Priv-, Max PASID Width: 14" "$(pasid_seen "$TMP/noext-ff8.vpci")"
fi
run layout place "$TMP/noext.vpci" --ecap pasid --at 0x100
expect_eq "no ecap, --at 0x100: PASID is the anchor" \
    "0|ecap 0x100 pasid version 1" "$rc|$(grep '^ecap ' "$TMP/out")"

# ----------------------------------------------------------- refusals
run layout place "$VF" --ecap pasid --at 0x104
expect_rc_err "--at on the layout's aer" \
    "1|vpcictl: $VF: cannot place pasid: 0x104-0x10b: ecap aer at 0x100 on the layout"
run layout place "$VF" --ecap pasid --at 0x102
expect_rc_err "--at misaligned" \
    "1|vpcictl: $VF: cannot place pasid: PASID offset 0x102 is not dword aligned"
run layout place "$VF" --ecap pasid --at 0x80
expect_rc_err "--at below the extended space" \
    "1|vpcictl: $VF: cannot place pasid: PASID offset 0x80 is outside 0x100-0xff8"
run layout place "$top_srcdir/data/layouts/nvme-samsung-a808.vpci" --ecap pasid
expect_rc_err "a 256-byte space" \
    "1|vpcictl: $top_srcdir/data/layouts/nvme-samsung-a808.vpci: cannot place pasid: a 256-byte space has no extended capabilities: PASID needs 'space 4096'"
run layout place "$top_srcdir/data/layouts/accel-dsa-pasid.vpci" --ecap pasid
expect_rc_err "PASID already present" \
    "1|vpcictl: $top_srcdir/data/layouts/accel-dsa-pasid.vpci: cannot place pasid: the layout already has a PASID capability at 0x230"
run layout place "$FIX/vmm/accel.resolved.vpci" --ecap pasid
expect_rc_err "a resolved layout" \
    "1|vpcictl: $FIX/vmm/accel.resolved.vpci: a resolved layout (binding section): place works on instance types"
run layout place "$VF" --ecap ats
expect_rc_err "--ecap ats: usage error naming what is supported" \
    "2|vpcictl layout place: --ecap ats is not supported (supported: pasid)"
run layout place "$VF"
expect_eq "no --ecap: usage error" 2 "$rc"
run layout place "$VF" --ecap pasid --width 21
expect_eq "--width 21: usage error" 2 "$rc"
run layout place "$VF" --ecap pasid --width 0
expect_eq "--width 0: usage error" 2 "$rc"
run layout place "$VF" --ecap pasid --at top
expect_eq "--at top: usage error" 2 "$rc"
run layout place --ecap pasid
expect_eq "no FILE: usage error" 2 "$rc"
run layout place "$VF" --ecap pasid --device "$TMP/none.lspci"
expect_eq "a missing --device: exit 1" 1 "$rc"
run layout place "$VF" --ecap pasid --device "$DUMPS/machine-lenovo-t400-4k.lspci"
expect_eq "a dump of several functions without @BDF: usage error" 2 "$rc"
run layout place "$TMP/none.vpci" --ecap pasid
expect_eq "a missing FILE: exit 1" 1 "$rc"

finish
