#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcictl vmm qemu|libvirt: for three layouts resolved by vpcid
# (tests/fixtures/vmm/README.md) on a fixture tree, the QEMU arguments, the
# libvirt XML and both JSON answers equal the golden files byte for byte,
# the fidelity report is exactly the expected set of lines (stderr and
# JSON agree), the XML is well-formed inside a <domain> that declares the
# qemu namespace; the same from an lspci dump; iommufd, MSI-X relocation,
# a variant driver and --id; errors.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# The commands run in the fixture directory: absolute paths.
top_srcdir=$(cd "$top_srcdir" && pwd)
FIX=$top_srcdir/tests/fixtures
VPCICTL=$(cd "$(dirname "$VPCICTL")" && pwd)/$(basename "$VPCICTL")
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
if ! [ -x "$MKSYSFS" ]; then
    echo "$MKSYSFS not built"
    exit 99
fi
for t in jq python3; do
    if ! command -v "$t" >/dev/null; then
        echo "$t is needed (tools/debian-packages)"
        exit 99
    fi
done
VMM=$FIX/vmm
DUMPS=$FIX/dumps
TREE=$TMP/sys
# vpcictl's inventory reads the list of migration drivers.
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS
sed "s|@DUMPS@|$DUMPS|" "$VMM/tree.spec" | "$MKSYSFS" "$TREE"

# run ARGS...: vpcictl in $VMM (so "layout" names the file as given), with
# stdout, stderr and exit status in $TMP/out, $TMP/err and $rc
run() {
    (cd "$VMM" && "$VPCICTL" "$@") >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

# well_formed FILE: the XML fragment parses inside a domain element that
# declares the qemu namespace, with one hostdev and one qemu:override.
well_formed() {
    python3 - "$1" <<'EOF'
import sys
from xml.dom import minidom
text = open(sys.argv[1]).read()
doc = minidom.parseString(
    "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
    + text + "</domain>")
root = doc.documentElement
names = [n.tagName for n in root.childNodes if n.nodeType == n.ELEMENT_NODE]
assert names == ["hostdev", "qemu:override"], names
EOF
}

for n in accel nic-vf nvme; do
    f=$n.resolved.vpci
    run vmm qemu --sysfs "$TREE" "$f"
    expect_eq "$n: qemu exit 0" 0 "$rc"
    check "$n: qemu arguments are the golden file" cmp -s "$TMP/out" "$VMM/$n.qemu"
    check "$n: fidelity report (stderr) is the golden file" \
        cmp -s "$TMP/err" "$VMM/$n.qemu.fidelity"
    expect_eq "$n: fidelity lines are exactly the expected set" \
        "$(LC_ALL=C sort "$VMM/$n.qemu.fidelity")" "$(LC_ALL=C sort "$TMP/err")"
    cp "$TMP/err" "$TMP/$n.fid"
    check "$n: qemu arguments lint as one line" test "$(wc -l <"$TMP/out")" -eq 1

    run vmm libvirt --sysfs "$TREE" "$f"
    expect_eq "$n: libvirt exit 0" 0 "$rc"
    check "$n: libvirt XML is the golden file" cmp -s "$TMP/out" "$VMM/$n.libvirt"
    check "$n: libvirt has the same fidelity report" cmp -s "$TMP/err" "$TMP/$n.fid"
    check "$n: libvirt XML is well-formed" well_formed "$TMP/out"

    run vmm qemu -o json --sysfs "$TREE" "$f"
    expect_eq "$n: qemu -o json exit 0, nothing on stderr" "0|" "$rc|$(cat "$TMP/err")"
    check "$n: qemu JSON is the golden file" cmp -s "$TMP/out" "$VMM/$n.qemu.json"
    expect_eq "$n: JSON command_line is the text output" "$(cat "$VMM/$n.qemu")" \
        "$(jq -r .command_line "$TMP/out")"
    expect_eq "$n: JSON args joined are the command line" "$(cat "$VMM/$n.qemu")" \
        "$(jq -r '.args | join(" ")' "$TMP/out")"
    expect_eq "$n: JSON fidelity has one item per stderr line" \
        "$(wc -l <"$TMP/$n.fid" | tr -d ' ')" "$(jq '.fidelity | length' "$TMP/out")"
    expect_eq "$n: JSON fidelity items name what the stderr lines name" \
        "$(sed 's/^fidelity: \([^:]*\):.*/\1/' "$TMP/$n.fid")" \
        "$(jq -r '.fidelity[].what' "$TMP/out")"

    run vmm libvirt -o json --sysfs "$TREE" "$f"
    expect_eq "$n: libvirt -o json exit 0" 0 "$rc"
    check "$n: libvirt JSON is the golden file" cmp -s "$TMP/out" "$VMM/$n.libvirt.json"
    jq -j .xml "$TMP/out" >"$TMP/xml"
    check "$n: JSON xml is the text output" cmp -s "$TMP/xml" "$VMM/$n.libvirt"
done

# What a user reads in the golden files, spelled out.
expect_eq "accel: the options, PASID at the layout's 0x230, ATS on" \
    "-device vfio-pci,host=0000:6a:01.0,x-pci-vendor-id=0x8086,x-pci-device-id=0x0b25,x-pci-sub-vendor-id=0x8086,x-pci-sub-device-id=0x0000,x-pci-class-code=0x088000,x-vpasid-cap-offset=0x230,ats=on,id=vpci-6a-01.0" \
    "$(cat "$VMM/accel.qemu")"
expect_eq "accel: only the virtual ATS control and PRI control differ" \
    "fidelity: ecap ats.ats_ctl: QEMU presents value 0x8000, the layout 0x0000
fidelity: ecap ats.ats_ctl: QEMU presents rw 0x0000, the layout 0x801f
fidelity: ecap pri.pri_ctl: QEMU presents rw 0x0000, the layout 0x0003" \
    "$(cat "$VMM/accel.qemu.fidelity")"
expect_eq "nic-vf: QEMU keeps pm, msi and dsn, the VF's 10 MSI-X vectors and its link registers" \
    "fidelity: cap chain: QEMU presents pm msi msix pcie, the layout msix pcie
fidelity: ecap chain: QEMU presents aer dsn, the layout aer
fidelity: cap pm: QEMU presents it at 0x40, the layout does not have it
fidelity: cap msi: QEMU presents it at 0x50, the layout does not have it
fidelity: cap msix.msgctl: QEMU presents value 0x0009, the layout 0x0002
fidelity: cap pcie.lnkcap: QEMU presents value 0x00000000, the layout 0x00036c41
fidelity: cap pcie.lnkctl: QEMU presents value 0x0040, the layout 0x0042
fidelity: cap pcie.lnksta: QEMU presents value 0x0000, the layout 0x1041
fidelity: ecap dsn: QEMU presents it at 0x140, the layout does not have it" \
    "$(cat "$VMM/nic-vf.qemu.fidelity")"
expect_eq "nvme: domain 0x0031 in the id, nothing QEMU cannot express" \
    "-device vfio-pci,host=0031:01:00.0,x-pci-vendor-id=0x144d,x-pci-device-id=0xa808,x-pci-sub-vendor-id=0x144d,x-pci-sub-device-id=0xa801,x-pci-class-code=0x010802,id=vpci-0031-01-00.0|0" \
    "$(cat "$VMM/nvme.qemu")|$(wc -c <"$VMM/nvme.qemu.fidelity" | tr -d ' ')"
check "accel libvirt: vendor ID in decimal, ats as a string" grep -qx \
    "      <qemu:property name='x-pci-vendor-id' type='unsigned' value='32902'/>" \
    "$VMM/accel.libvirt"
check "accel libvirt: ats as a string" grep -qx \
    "      <qemu:property name='ats' type='string' value='on'/>" "$VMM/accel.libvirt"
check "nvme libvirt: the address has the domain" grep -qx \
    "    <address domain='0x0031' bus='0x01' slot='0x00' function='0x0'/>" \
    "$VMM/nvme.libvirt"

# The physical function from an lspci dump instead of sysfs.
run vmm qemu --dump "$DUMPS/intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci" accel.resolved.vpci
expect_eq "--dump: the same arguments and report as from sysfs" \
    "0|$(cat "$VMM/accel.qemu")|$(cat "$VMM/accel.qemu.fidelity")" \
    "$rc|$(cat "$TMP/out")|$(cat "$TMP/err")"

# ... and from a host snapshot of the tree.
"$VPCICTL" host snapshot --sysfs "$TREE" --hostname fixture >"$TMP/snap.json"
for n in accel nic-vf nvme; do
    run vmm qemu --snapshot "$TMP/snap.json" "$n.resolved.vpci"
    expect_eq "$n --snapshot: the golden arguments and report" \
        "0|$(cat "$VMM/$n.qemu")|$(cat "$VMM/$n.qemu.fidelity")" \
        "$rc|$(cat "$TMP/out")|$(cat "$TMP/err")"
    run vmm libvirt --snapshot "$TMP/snap.json" "$n.resolved.vpci"
    check "$n --snapshot: the golden XML" cmp -s "$TMP/out" "$VMM/$n.libvirt"
done
run vmm qemu --snapshot "$TMP/snap.json" "$top_srcdir/examples/accel.resolved.vpci"
expect_eq "--snapshot: examples/accel.resolved.vpci (0000:6a:01.0) too" \
    "0|$(cat "$VMM/accel.qemu")" "$rc|$(cat "$TMP/out")"

# An iommufd cdev in the binding.
sed 's|^  vfio /dev/vfio/1005$|  vfio /dev/vfio/devices/vfio3|' "$VMM/accel.resolved.vpci" \
    >"$TMP/cdev.vpci"
run vmm qemu --sysfs "$TREE" "$TMP/cdev.vpci"
expect_eq "iommufd: an iommufd object and the device on it" \
    "0|-object iommufd,id=iommufd0 -device vfio-pci,host=0000:6a:01.0,iommufd=iommufd0,x-pci-vendor-id=0x8086" \
    "$rc|$(cut -d, -f1-5 "$TMP/out")"
run vmm qemu -o json --sysfs "$TREE" "$TMP/cdev.vpci"
expect_eq "iommufd: JSON args are four words" 4 "$(jq '.args | length' "$TMP/out")"

# The MSI-X table in a BAR with no physical backing: relocation, and
# what QEMU's relocation cannot match (it doubles the BAR and puts the
# table in the upper half).
sed 's|^bar 3 mem64 size 0x4000 from 3$|bar 3 mem64 size 0x4000|' \
    "$VMM/nic-vf.resolved.vpci" >"$TMP/relo.vpci"
run vmm qemu --sysfs "$TREE" "$TMP/relo.vpci"
expect_eq "x-msix-relocation=bar3 before the id" \
    "0|x-msix-relocation=bar3,id=vpci-09-10.0" \
    "$rc|$(sed 's/.*,\(x-msix-relocation\)/\1/' "$TMP/out")"
check "relocation: BAR 3 doubled by QEMU" grep -qx \
    "fidelity: bar 3: QEMU presents mem64 size 0x8000, the layout mem64 size 0x4000" "$TMP/err"
check "relocation: the table in its upper half" grep -qx \
    "fidelity: cap msix.table: QEMU presents value 0x00004003, the layout 0x00000003" "$TMP/err"
run vmm libvirt --sysfs "$TREE" "$TMP/relo.vpci"
check "relocation in libvirt: a string property" grep -qx \
    "      <qemu:property name='x-msix-relocation' type='string' value='bar3'/>" "$TMP/out"

# A virtual PASID on a function whose host (VF and PF) has none: the
# offset is passed, and QEMU synthesises nothing.
awk '/^requires/ && !d { print "ecap 0xff8 pasid version 1"
        print "  0x04 u16 pasid_cap            0x1400"
        print "  0x06 u16 pasid_ctl            0x0000  rw 0x0001"; print ""; d = 1 }
    { print } /^  map ecap aer / { print "  map ecap pasid 0xff8 none" }' \
    "$VMM/nic-vf.resolved.vpci" >"$TMP/vfpasid.vpci"
check "the VF with PASID lints" "$VPCICTL" layout lint "$TMP/vfpasid.vpci"
run vmm qemu --sysfs "$TREE" "$TMP/vfpasid.vpci"
check "x-vpasid-cap-offset=0xff8 passed" grep -q ',x-vpasid-cap-offset=0xff8,id=' "$TMP/out"
expect_eq "no host PASID: the layout's PASID and chain are what QEMU lacks" \
    "fidelity: ecap chain: QEMU presents aer dsn, the layout aer pasid
fidelity: ecap pasid: the layout has it at 0xff8, QEMU does not present it" \
    "$(grep -e 'ecap chain' -e 'ecap pasid' "$TMP/err")"

# PASID where the host has LTR (dropped from the layout): QEMU cannot put
# its PASID there.
python3 - "$VMM/accel.resolved.vpci" "$TMP/acc150.vpci" <<'EOF2'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"ecap 0x150 ltr version 1\n(  .*\n)*\n", "", s)
s = s.replace("ecap 0x230 pasid", "ecap 0x150 pasid")
s = s.replace("  map ecap ltr 0x150 0x150\n", "")
s = s.replace("map ecap pasid 0x230 none", "map ecap pasid 0x150 none")
open(sys.argv[2], "w").write(s)
EOF2
check "the DSA with PASID at 0x150 lints" "$VPCICTL" layout lint "$TMP/acc150.vpci"
run vmm qemu --sysfs "$TREE" "$TMP/acc150.vpci"
expect_eq "PASID over the host's LTR: QEMU cannot synthesise it, and LTR stays" \
    "fidelity: ecap pasid: QEMU cannot synthesise it at 0x150: 0x150-0x157: ecap ltr at 0x150
fidelity: ecap ltr: QEMU presents it at 0x150, the layout does not have it
fidelity: ecap pasid: the layout has it at 0x150, QEMU does not present it" \
    "$(grep -e 'ecap pasid' -e 'ecap ltr' "$TMP/err")"
run vmm qemu -o json --sysfs "$TREE" "$TMP/acc150.vpci"
expect_eq "JSON: the placement item" \
    '{"what":"ecap pasid","qemu":"absent","layout":"at 0x150","detail":"placement"}' \
    "$(jq -c '.fidelity[0]' "$TMP/out")"

# A variant driver bound to the function gives the driver model.
# (a tree of the 82576 and its VFs only)
grep 82576 "$VMM/tree.spec" |
    sed "s|@DUMPS@|$DUMPS|; s|vfdriver=vfio-pci|vfdriver=mlx5_vfio_pci|" |
    "$MKSYSFS" "$TMP/sys2"
run vmm libvirt --sysfs "$TMP/sys2" nic-vf.resolved.vpci
check "variant driver: <driver name='vfio' model=...>" grep -qx \
    "  <driver name='vfio' model='mlx5_vfio_pci'/>" "$TMP/out"
check "vfio-pci: no model" grep -qx "  <driver name='vfio'/>" "$VMM/nic-vf.libvirt"
"$VPCICTL" host snapshot --sysfs "$TMP/sys2" --hostname fixture2 >"$TMP/snap2.json"
run vmm libvirt --snapshot "$TMP/snap2.json" nic-vf.resolved.vpci
check "variant driver from a snapshot" grep -qx \
    "  <driver name='vfio' model='mlx5_vfio_pci'/>" "$TMP/out"

# --id
run vmm qemu --id gpu0 --sysfs "$TREE" nvme.resolved.vpci
expect_eq "--id names the device" "0|id=gpu0" "$rc|$(sed 's/.*,//' "$TMP/out")"
run vmm libvirt --id gpu0 --sysfs "$TREE" nvme.resolved.vpci
check "--id: the libvirt alias is ua-NAME" grep -qx "  <alias name='ua-gpu0'/>" "$TMP/out"

# Errors.
run vmm qemu --sysfs "$TREE" "$top_srcdir/data/layouts/nic-vf-82576.vpci"
expect_eq "not resolved: exit 1 and why" \
    "1|vpcictl: $top_srcdir/data/layouts/nic-vf-82576.vpci: not a resolved layout: no binding section" \
    "$rc|$(cat "$TMP/err")"
run vmm qemu --dump "$DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci" accel.resolved.vpci
expect_eq "device missing from the dump: exit 1" \
    "1|vpcictl: $DUMPS/intel-82576-pf-8086-10c9-sriov-4k.lspci: no device at slot 0000:6a:01.0" \
    "$rc|$(cat "$TMP/err")"
run vmm qemu --sysfs "$TMP/sys2" accel.resolved.vpci
expect_eq "device missing from sysfs: exit 1" "1|vpcictl: $TMP/sys2: no PCI function 0000:6a:01.0" \
    "$rc|$(grep -v warning "$TMP/err" | sed -n 1p)"
run vmm qemu --sysfs "$TREE" "$TMP/nothere.vpci"
expect_eq "missing file: exit 1" 1 "$rc"
run vmm qemu -o yaml --sysfs "$TREE" nvme.resolved.vpci
expect_eq "-o yaml: usage error" 2 "$rc"
run vmm qemu --sysfs "$TREE" --dump x nvme.resolved.vpci
expect_eq "--sysfs with --dump: usage error" 2 "$rc"
run vmm qemu --id 'a:b' --sysfs "$TREE" nvme.resolved.vpci
expect_eq "--id with a colon: usage error" 2 "$rc"
run vmm qemu --sysfs "$TREE"
expect_eq "no file: usage error" 2 "$rc"
run vmm xen nvme.resolved.vpci
expect_eq "unknown VMM: usage error" "2|vpcictl vmm: the VMM is qemu or libvirt" \
    "$rc|$(sed -n 1p "$TMP/err")"
run vmm qemu --sysfs "$TREE" nvme.resolved.vpci extra.vpci
expect_eq "two files: usage error" 2 "$rc"
printf 'vpci-layout 1\nspace 256\nheader type0\n' >"$TMP/bad.vpci"
run vmm qemu --sysfs "$TREE" "$TMP/bad.vpci"
expect_eq "an invalid layout: exit 1 with FILE:LINE" "1|$TMP/bad.vpci:3" \
    "$rc|$(cut -d: -f1-2 "$TMP/err")"

finish
