#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The man pages render without groff warnings, and vpci-layout(5) names
# every verb vpcictl layout has and every capability keyword the parser
# knows (taken from the tool's own help and from lint of each keyword).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
page=$top_srcdir/man/vpci-layout.5

if command -v groff >/dev/null 2>&1; then
    out=$(groff -man -ww -z "$page" 2>&1)
    expect_eq "vpci-layout.5 renders without warnings" "" "$out"
fi

for verb in $("$VPCICTL" layout --help | awk '/^  [a-z]/ {print $1}'); do
    check "vpci-layout.5 names the verb $verb" \
        grep -Eq "(layout $verb|^\.BR $verb )" "$page"
done

# Every capability keyword the parser accepts is documented in the
# capability table (".BR kw (0xID)"); lint proves the parser takes it.
probe() { # KIND KW: a minimal layout using the keyword
    printf 'vpci-layout 1\nspace 4096\nheader type0\n'
    printf '  0x00 u16 vendor_id 0x1234\n  0x02 u16 device_id 0x5678\n'
    printf '  0x06 u16 status 0x0010\n  0x0e u8 header_type 0x00\n'
    if [ "$1" = cap ]; then
        printf 'cap 0x40 %s\n' "$2"
    else
        printf 'cap 0x40 pcie\necap 0x100 %s version %s\n' "$2" \
            "$([ "$2" = null ] && echo 0 || echo 1)"
    fi
}
for kw in pm agp vpd slotid msi chswap pcix ht vendor debug ccrc hotplug \
    ssvid agp3 secure pcie msix sata af ea fpb; do
    probe cap "$kw" >"$TMP/p.vpci"
    check "the parser accepts cap $kw" "$VPCICTL" layout lint "$TMP/p.vpci"
    check "vpci-layout.5 documents cap $kw" grep -q "^\.BR $kw \"" "$page"
done
for kw in null aer vc dsn pwrbudget acs ari ats sriov pri rebar ltr secpci \
    pasid l1ss dpc ptm tph dlf pl16 pl32 lmr dvsec vsec doe; do
    probe ecap "$kw" >"$TMP/p.vpci"
    check "the parser accepts ecap $kw" "$VPCICTL" layout lint "$TMP/p.vpci"
    check "vpci-layout.5 documents ecap $kw" grep -q "^\.BR $kw \"" "$page"
done
# vpcid(8) renders cleanly and documents every option of vpcid --help,
# every route of the API and every problem code with its status.
page8=$top_srcdir/man/vpcid.8
VPCID=${VPCID:-$top_builddir/daemon/vpcid}
ROUTES=${ROUTES:-$top_builddir/tests/api-routes}
if command -v groff >/dev/null 2>&1; then
    out=$(groff -man -ww -z "$page8" 2>&1)
    expect_eq "vpcid.8 renders without warnings" "" "$out"
fi
# The page's text with groff's escapes for '-' undone.
text8=$(sed 's/\\-/-/g; s/\\e/\\/g' "$page8")
opts=$("$VPCID" --help | grep -o -- '--[a-z-]*' | sort -u)
check "vpcid --help lists options" test -n "$opts"
for o in $opts; do
    check "vpcid.8 documents $o" sh -c 'printf "%s\n" "$1" | grep -q -- "^\.[A-Z]*.*$2"' _ "$text8" "$o"
done
"$ROUTES" >"$TMP/routes"
check "the route table is not empty" grep -q '^route ' "$TMP/routes"
while read -r kind a b; do
    case $kind in
    route)
        # "/v1/devices/{bdf}/layout" is written with font escapes between
        # its parts: compare with the escapes removed.
        flat=$(printf '%s\n' "$text8" | sed 's/\\f[BIR]//g; s/"//g; s/ \([{}]\)/\1/g; s/\([{}]\) /\1/g')
        check "vpcid.8 documents $a $b" sh -c 'printf "%s\n" "$1" | grep -F -q -- "$2"' _ "$flat" "$b" ;;
    problem)
        check "vpcid.8 documents problem $a ($b)" sh -c 'printf "%s\n" "$1" | grep -q -- "$2.*($3)"' _ "$text8" "$a" "$b" ;;
    esac
done <"$TMP/routes"

finish
