#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# For every device of every clean dump in tests/fixtures/dumps/:
#  - derive --policy identity, render: the same bytes as the dump except
#    the BAR and ROM registers;
#  - fmt is idempotent and the hash survives fmt and comment edits;
#  - real lspci -vvv -F decodes the same capability list from the
#    rendered text as from the original (dumps of 256 bytes or more);
#  - derive --policy vfio lints clean, renders, and lspci decodes it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
LSPCI=${LSPCI:-$(command -v lspci || true)}
export VPCI_QUIRKS_DIR="$top_srcdir/data/quirks"

caps_of() { # FILE: the lspci capability lines, trimmed
    "$LSPCI" -F "$1" -vvv 2>/dev/null |
        sed -n 's/^[[:space:]]*\(Capabilities: .*\)$/\1/p'
}

devices=0
for f in "$FIX"/dumps/*.lspci; do
    base=$(basename "$f" .lspci)
    n=0
    for slot in $(dump_slots "$f"); do
        n=$((n + 1))
        devices=$((devices + 1))
        id="$base #$n $slot"
        row0=$(dump_hex "$f" "$n" 16 "")
        vendor=$(echo "$row0" | awk '{print $3 $2}')
        ht=$(echo "$row0" | awk '{print $16}')
        # Functions that do not answer (all ones) and CardBus bridges
        # (header type 2, which the format does not describe) get a clear
        # error instead of a layout.
        case "$vendor:$ht" in
        ffff:* | 0000:*) want="the function is absent or powered off" ;;
        *:02 | *:82) want="header type 2 is not supported" ;;
        *) want= ;;
        esac
        if [ -n "$want" ]; then
            if "$VPCICTL" layout derive --policy identity --dump "$f" \
                --index "$n" >/dev/null 2>"$TMP/err"; then
                not_ok "$id: derive should refuse"
            else
                check "$id: derive explains why it refuses" \
                    grep -q "$want" "$TMP/err"
            fi
            continue
        fi
        out=$TMP/d.vpci
        if ! "$VPCICTL" layout derive --policy identity --dump "$f" \
            --index "$n" >"$out" 2>"$TMP/err"; then
            not_ok "$id: derive identity: $(cat "$TMP/err")"
            continue
        fi
        ok
        "$VPCICTL" layout render "$out" >"$TMP/r.lspci" 2>"$TMP/err" ||
            { not_ok "$id: render: $(cat "$TMP/err")"; continue; }
        # size of the original, header type for the BAR/ROM mask
        size=$(dump_hex "$f" "$n" 4096 "" | wc -l)
        size=$((size * 16))
        case "$ht" in
        01 | 81) mask="16,17,18,19,20,21,22,23,56,57,58,59" ;;
        *) mask="16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,48,49,50,51" ;;
        esac
        expect_eq "$id: rendered bytes equal the dump" \
            "$(dump_hex "$f" "$n" "$size" "$mask")" \
            "$(dump_hex "$TMP/r.lspci" 1 "$size" "$mask")"

        "$VPCICTL" layout fmt "$out" >"$TMP/c.vpci"
        expect_eq "$id: derived text is canonical" \
            "$(grep -v "^#" "$out")" "$(cat "$TMP/c.vpci")"
        h1=$("$VPCICTL" layout hash "$out")
        h2=$("$VPCICTL" layout hash "$TMP/c.vpci")
        sed 's/$/   # comment/' "$TMP/c.vpci" | sed '1i # leading comment' \
            >"$TMP/e.vpci"
        h3=$("$VPCICTL" layout hash "$TMP/e.vpci")
        expect_eq "$id: hash survives fmt" "$h1" "$h2"
        expect_eq "$id: hash survives comments" "$h1" "$h3"

        if [ -n "$LSPCI" ] && [ "$size" -ge 256 ]; then
            expect_eq "$id: lspci decodes the same capabilities" \
                "$(dump_extract "$f" "$n" >"$TMP/one.lspci" &&
                    caps_of "$TMP/one.lspci")" \
                "$(caps_of "$TMP/r.lspci")"
        fi

        v=$TMP/v.vpci
        if "$VPCICTL" layout derive --dump "$f" --index "$n" >"$v" \
            2>"$TMP/err"; then
            check "$id: vfio lints" "$VPCICTL" layout lint "$v"
            if "$VPCICTL" layout render "$v" >"$TMP/vr.lspci"; then
                ok
                if [ -n "$LSPCI" ]; then
                    check "$id: lspci decodes the vfio layout" \
                        "$LSPCI" -F "$TMP/vr.lspci" -vvv >/dev/null 2>&1
                fi
            else
                not_ok "$id: vfio render"
            fi
        else
            not_ok "$id: derive vfio: $(cat "$TMP/err")"
        fi
    done
done
echo "$devices devices"
finish
