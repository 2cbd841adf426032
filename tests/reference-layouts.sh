#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The reference layouts of data/layouts/:
#  - each one lints and is canonical apart from its whole-line comments;
#  - `vpcictl layout diff` between what `derive --policy vfio` makes of
#    its source device and the file is exactly the golden
#    tests/fixtures/reference-diffs/NAME.diff (the hand edits its header
#    comment explains), so any other difference fails;
#  - the render decodes with lspci -vvv -F: same IDs, same capability
#    offsets as the layout.
# Each layout must be listed in SOURCES below; a new file that is not
# fails.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
LSPCI=${LSPCI:-$(command -v lspci || true)}
export VPCI_QUIRKS_DIR="$top_srcdir/data/quirks"
DUMPS=$FIX/dumps
DIFFS=$FIX/reference-diffs

# NAME DUMP SLOT: the device each layout was derived from.
SOURCES="
nic-pf-82576 intel-82576-pf-8086-10c9-sriov-4k.lspci 01:00.0
nic-vf-82576 intel-82576-pf-8086-10c9-sriov-4k.lspci 01:00.0
nvme-samsung-a808 machine-raptor-talos2-power9-256b.lspci 0031:01:00.0
gpu-quadro-k2200 nvidia-quadro-k2200-10de-13ba-256b.lspci 01:00.0
accel-dsa-pasid intel-dsa-8086-0b25-pasid-ats-pri-4k.lspci 6a:01.0
"

source_of() { # NAME: "DUMP SLOT", or nothing
    echo "$SOURCES" | awk -v n="$1" '$1 == n { print $2, $3 }'
}

# Capability offsets of a layout, as lspci prints them ("[40]",
# "[100 v1]"), in chain order; the null placeholder is not shown.
layout_caps() {
    awk '$1 == "cap" { print "[" substr($2, 3) "]" }
         $1 == "ecap" && $3 != "null" { print "[" substr($2, 3) " v" $NF "]" }' "$1"
}
lspci_caps() {
    "$LSPCI" -F "$1" -vvv 2>/dev/null |
        sed -n 's/^[[:space:]]*Capabilities: \(\[[^]]*\]\).*$/\1/p'
}

n=0
for f in "$top_srcdir"/data/layouts/*.vpci; do
    name=$(basename "$f" .vpci)
    n=$((n + 1))
    check "$name: SPDX line" grep -q '^# SPDX-License-Identifier: BSD-2-Clause$' "$f"
    check "$name: lints" "$VPCICTL" layout lint "$f"
    expect_eq "$name: canonical apart from comments" \
        "$(grep -v '^#' "$f")" "$("$VPCICTL" layout fmt "$f")"

    src=$(source_of "$name")
    if [ -z "$src" ]; then
        not_ok "$name: no source device in SOURCES of $0"
        continue
    fi
    set -- $src
    if ! "$VPCICTL" layout derive --policy vfio --dump "$DUMPS/$1" \
        --slot "$2" >"$TMP/derived.vpci" 2>"$TMP/err"; then
        not_ok "$name: derive: $(cat "$TMP/err")"
        continue
    fi
    "$VPCICTL" layout diff "$TMP/derived.vpci" "$f" >"$TMP/diff" 2>&1
    rc=$?
    expect_eq "$name: diff exits 1 (the layout was edited)" 1 "$rc"
    if cmp -s "$DIFFS/$name.diff" "$TMP/diff"; then
        ok
    else
        not_ok "$name: differences from derive are not $DIFFS/$name.diff"
        diff -u "$DIFFS/$name.diff" "$TMP/diff" | sed 's/^/  /'
    fi

    if ! "$VPCICTL" layout render "$f" >"$TMP/r.lspci" 2>"$TMP/err"; then
        not_ok "$name: render: $(cat "$TMP/err")"
        continue
    fi
    ok
    if [ -n "$LSPCI" ]; then
        check "$name: lspci -vvv -F decodes it" \
            "$LSPCI" -F "$TMP/r.lspci" -vvv >/dev/null 2>&1
        vendor=$(awk '$1 ~ /^0x/ && $3 == "vendor_id" { print substr($4, 3) }' "$f")
        device=$(awk '$1 ~ /^0x/ && $3 == "device_id" { print substr($4, 3) }' "$f")
        expect_eq "$name: lspci shows the IDs" "$vendor:$device" \
            "$("$LSPCI" -F "$TMP/r.lspci" -n 2>/dev/null | awk '{ print $3 }')"
        expect_eq "$name: lspci shows the capabilities" \
            "$(layout_caps "$f")" "$(lspci_caps "$TMP/r.lspci")"
    fi
done
expect_eq "five reference layouts" 5 "$n"
finish
