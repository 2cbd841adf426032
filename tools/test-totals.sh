#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Sum the test results found in the given build directories and print
# "N passed, N failed" as the last line.
set -u
tp=0
tf=0
for dir in "$@"; do
    [ -d "$dir" ] || continue
    p=0
    f=0
    for trs in $(find "$dir" -name '*.trs' | sort); do
        log=${trs%.trs}.log
        res=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
        counted=$(awk '
            /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
                gsub(/[,%:]/, " ");
                for (i = 1; i <= NF; i++) {
                    if ($i == "Checks") c += $(i + 1);
                    if ($i == "Failures") x += $(i + 1);
                    if ($i == "Errors") x += $(i + 1);
                }
                seen = 1
            }
            /^RESULT: [0-9]+ passed, [0-9]+ failed/ {
                c += $2 + $4; x += $4; seen = 1
            }
            END { if (seen) print c - x, x; else print "none" }' "$log" 2>/dev/null)
        case "$counted" in
        none | "")
            case "$res" in
            PASS) p=$((p + 1)) ;;
            SKIP) ;;
            *) f=$((f + 1)) ;;
            esac
            ;;
        *)
            cp=${counted% *}
            cf=${counted#* }
            if [ "$res" != PASS ] && [ "$res" != SKIP ] && [ "$cf" = 0 ]; then
                cf=1
            fi
            p=$((p + cp))
            f=$((f + cf))
            ;;
        esac
    done
    echo "$dir: $p passed, $f failed"
    tp=$((tp + p))
    tf=$((tf + f))
done
echo "$tp passed, $tf failed"
