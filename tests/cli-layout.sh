#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcictl layout verbs as an operator uses them: exit codes, messages,
# output shapes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
export VPCI_QUIRKS_DIR="$top_srcdir/data/quirks"

cat >"$TMP/good.vpci" <<'L'
# a VF as instance type "demo"
vpci-layout 1
space 4096
header type0
  0x00 u16 vendor_id 0x15B3   # uppercase hex is fine
  0x02 u16 device_id 0x101e
  0x0e u8 header_type 0x00
  0x06 u16 status 0x0010 w1c 0xf900
  0x04 u16 command 0x0000 phys 0x0006 rw 0x0406
bar 0 mem64 prefetch size 0x2000000 from 0
cap 0x60 pcie
  0x08 u16 devctl 0x2937 rw 0x7cff
ecap 0x100 ari version 1
requires
  migration
  device 15b3:101e
L
cat >"$TMP/canon.vpci" <<'L'
vpci-layout 1
space 4096

header type0
  0x00 u16 vendor_id            0x15b3
  0x02 u16 device_id            0x101e
  0x04 u16 command              0x0000  rw 0x0406  phys 0x0006
  0x06 u16 status               0x0010  w1c 0xf900
  0x0e u8  header_type          0x00

bar 0 mem64 prefetch size 0x2000000 from 0
rom none

cap 0x60 pcie
  0x08 u16 devctl               0x2937  rw 0x7cff

ecap 0x100 ari version 1

requires
  device 15b3:101e
  migration
L

# usage errors exit 2
"$VPCICTL" >/dev/null 2>&1
expect_eq "no arguments exits 2" 2 $?
"$VPCICTL" layout frobnicate >/dev/null 2>&1
expect_eq "unknown verb exits 2" 2 $?
"$VPCICTL" layout lint >/dev/null 2>&1
expect_eq "lint without files exits 2" 2 $?

# lint
out=$("$VPCICTL" layout lint "$TMP/good.vpci" 2>&1)
expect_eq "lint of a good file exits 0" 0 $?
expect_eq "lint of a good file is silent" "" "$out"
sed 's/0x2937/0x12937/' "$TMP/good.vpci" >"$TMP/bad.vpci"
out=$("$VPCICTL" layout lint "$TMP/good.vpci" "$TMP/bad.vpci" 2>&1)
expect_eq "lint with one bad file exits 1" 1 $?
expect_eq "lint error names file:line:col" \
    "$TMP/bad.vpci:12:19: error: a u16 value '0x12937' does not fit: at most 0xffff" "$out"
out=$("$VPCICTL" layout lint "$TMP/missing.vpci" 2>&1)
expect_eq "lint of a missing file exits 1" 1 $?
expect_eq "missing file message" "vpcictl: $TMP/missing.vpci: No such file or directory" "$out"

# fmt
expect_eq "fmt prints the canonical text" "$(cat "$TMP/canon.vpci")" \
    "$("$VPCICTL" layout fmt "$TMP/good.vpci")"
cp "$TMP/good.vpci" "$TMP/w.vpci"
"$VPCICTL" layout fmt -w "$TMP/w.vpci"
expect_eq "fmt -w exits 0" 0 $?
check "fmt -w rewrites in place" cmp -s "$TMP/w.vpci" "$TMP/canon.vpci"
"$VPCICTL" layout fmt "$TMP/canon.vpci" >"$TMP/again.vpci"
check "fmt is idempotent" cmp -s "$TMP/again.vpci" "$TMP/canon.vpci"
cp "$TMP/bad.vpci" "$TMP/bad2.vpci"
"$VPCICTL" layout fmt -w "$TMP/bad2.vpci" 2>/dev/null
expect_eq "fmt -w of an invalid file exits 1" 1 $?
check "fmt -w leaves an invalid file untouched" cmp -s "$TMP/bad.vpci" "$TMP/bad2.vpci"

# hash
h=$("$VPCICTL" layout hash "$TMP/good.vpci")
expect_eq "hash prints two lines" 2 "$(echo "$h" | wc -l)"
expect_eq "first line is the content hash of the canonical text" \
    "sha256:$(sha256sum <"$TMP/canon.vpci" | cut -d' ' -f1)" \
    "$(echo "$h" | head -n 1)"
check "second line is the fingerprint" \
    sh -c "echo '$h' | tail -n 1 | grep -Eq '^fingerprint sha256:[0-9a-f]{64}$'"
sed 's/  migration/  migration\n  numa 1/' "$TMP/canon.vpci" >"$TMP/req.vpci"
h2=$("$VPCICTL" layout hash "$TMP/req.vpci")
check "requires changes the content hash" [ "$(echo "$h" | head -n 1)" != "$(echo "$h2" | head -n 1)" ]
expect_eq "requires does not change the fingerprint" \
    "$(echo "$h" | tail -n 1)" "$(echo "$h2" | tail -n 1)"

# diff
"$VPCICTL" layout diff "$TMP/good.vpci" "$TMP/canon.vpci" >"$TMP/out"
expect_eq "diff of equivalent layouts exits 0" 0 $?
expect_eq "diff of equivalent layouts prints nothing" "" "$(cat "$TMP/out")"
sed -e 's/^cap 0x60 pcie/cap 0x70 pcie/' -e 's/0x2937  rw 0x7cff/0x2937  rw 0x7c00/' \
    "$TMP/canon.vpci" >"$TMP/moved.vpci"
out=$("$VPCICTL" layout diff "$TMP/canon.vpci" "$TMP/moved.vpci")
expect_eq "diff of different layouts exits 1" 1 $?
expect_eq "diff names each change" "cap pcie: moved 0x60 -> 0x70
cap pcie.devctl: rw 0x7cff -> 0x7c00" "$out"
"$VPCICTL" layout diff "$TMP/canon.vpci" "$TMP/bad.vpci" >/dev/null 2>&1
expect_eq "diff with an invalid input exits 2" 2 $?

# render
"$VPCICTL" layout render "$TMP/good.vpci" >"$TMP/r.lspci"
expect_eq "render exits 0" 0 $?
expect_eq "render: header line plus 256 hex lines for 4 KiB" 257 "$(wc -l <"$TMP/r.lspci")"
expect_eq "render: first hex line" \
    "00: b3 15 1e 10 00 00 10 00 00 00 00 00 00 00 00 00" "$(sed -n 2p "$TMP/r.lspci")"
expect_eq "render: BAR0 type bits mem64 prefetch (0x0c)" \
    "10: 0c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" \
    "$(sed -n 3p "$TMP/r.lspci")"
expect_eq "render: capability pointer 0x60" \
    "30: 00 00 00 00 60 00 00 00 00 00 00 00 00 00 00 00" \
    "$(sed -n 5p "$TMP/r.lspci")"
expect_eq "render: pcie capability header, next 0" \
    "60: 10 00 00 00 00 00 00 00 37 29 00 00 00 00 00 00" \
    "$(sed -n 8p "$TMP/r.lspci")"
expect_eq "render: ari at 0x100, version 1, no next" \
    "100: 0e 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00" \
    "$(sed -n 18p "$TMP/r.lspci")"

# derive
dsa=$FIX/dumps/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci
multi=$FIX/dumps/machine-intel-dh77df-4k.lspci
"$VPCICTL" layout derive --dump "$multi" >/dev/null 2>"$TMP/err"
expect_eq "derive on a multi-device dump without --slot exits 2" 2 $?
check "derive lists the devices with their positions" \
    grep -q '^   1  0000:00:00.0 ' "$TMP/err"
"$VPCICTL" layout derive --dump "$multi" --index 1 >"$TMP/i1.vpci"
expect_eq "derive --index 1 exits 0" 0 $?
"$VPCICTL" layout derive --dump "$multi" --slot 00:00.0 >"$TMP/s1.vpci"
check "--index 1 and --slot of the first device agree" \
    cmp -s "$TMP/i1.vpci" "$TMP/s1.vpci"
"$VPCICTL" layout derive --dump "$multi" --index 999 >/dev/null 2>&1
expect_eq "derive --index past the end exits 1" 1 $?
"$VPCICTL" layout derive --dump "$multi" --index 0 >/dev/null 2>&1
expect_eq "derive --index 0 exits 2" 2 $?
"$VPCICTL" layout derive --dump "$multi" --slot 07:0.0 >/dev/null 2>&1
expect_eq "derive of an absent slot exits 1" 1 $?
"$VPCICTL" layout derive --policy magic --dump "$dsa" >/dev/null 2>&1
expect_eq "derive with an unknown policy exits 2" 2 $?
"$VPCICTL" layout derive --dump "$dsa" >"$TMP/dsa.vpci"
expect_eq "derive of the DSA exits 0" 0 $?
check "derive output starts with a comment naming its source" \
    grep -q '^# derived from .*intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci slot 0000:6a:01.0' "$TMP/dsa.vpci"
check "derived layout lints" "$VPCICTL" layout lint "$TMP/dsa.vpci"
"$VPCICTL" layout derive --policy identity --dump "$dsa" >"$TMP/dsa-id.vpci"
expect_eq "identity keeps the physical extended chain in order" \
    "ecap 0x100 aer version 2
ecap 0x150 ltr version 1
ecap 0x160 tph version 1
ecap 0x170 vc version 1
ecap 0x200 dvsec version 1
ecap 0x220 ats version 1
ecap 0x230 pasid version 1
ecap 0x240 pri version 1" "$(grep '^ecap' "$TMP/dsa-id.vpci")"
expect_eq "identity: BARs from the dump's Region lines" \
    "bar 0 mem64 prefetch size 0x10000 from 0
bar 2 mem64 prefetch size 0x20000 from 2" "$(grep '^bar' "$TMP/dsa-id.vpci")"
expect_eq "vfio: the quirk places a virtual PASID at 0x230" \
    "ecap 0x230 pasid version 1
  0x04 u16 pasid_cap            0x1404
  0x06 u16 pasid_ctl            0x0000  rw 0x0005" \
    "$(grep -A2 '^ecap 0x230' "$TMP/dsa.vpci")"
check "vfio: the notes say why PASID was hidden and placed" \
    grep -q '^# - hid ecap pasid at 0x230: vfio-pci hides PASID$' "$TMP/dsa.vpci"
VPCI_QUIRKS_DIR=$TMP "$VPCICTL" layout derive --dump "$dsa" >"$TMP/noq.vpci"
check "vfio without quirks: no PASID" sh -c "! grep -q pasid_cap '$TMP/noq.vpci'"
"$VPCICTL" layout derive --dump /dev/null >/dev/null 2>"$TMP/err"
expect_eq "derive from an empty dump exits 1" 1 $?
check "empty dump error names the file" grep -q '^/dev/null' "$TMP/err"

finish
