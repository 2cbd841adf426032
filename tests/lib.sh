# SPDX-License-Identifier: BSD-2-Clause
# Shared by the shell tests: counters, assertions, paths.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
VPCICTL=${VPCICTL:-$top_builddir/cli/vpcictl}
FIX=$top_srcdir/tests/fixtures
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

ok() {
    pass=$((pass + 1))
}

not_ok() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
check() {
    d=$1
    shift
    if "$@"; then ok; else not_ok "$d"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then
        ok
    else
        not_ok "$1"
        echo "  expected: $2"
        echo "  actual:   $3"
    fi
}

finish() {
    echo "RESULT: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# find_python_yaml: PYTHON is the first of $PYTHON3, /usr/bin/python3 and
# python3 that imports yaml and jsonschema (the OpenAPI checker's needs),
# empty when none does.
find_python_yaml() {
    PYTHON=
    for p in ${PYTHON3:-} /usr/bin/python3 python3; do
        if "$p" -c 'import yaml, jsonschema' 2>/dev/null; then
            PYTHON=$p
            break
        fi
    done
}

# Slots of the devices in an lspci dump, one per line.
dump_slots() {
    grep -E '^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]( |$)' "$1" |
        cut -d' ' -f1
}

# Hex lines (offset and bytes) of the Nth device (1-based) of a dump, up
# to `limit` bytes, with the bytes at the given offsets (BAR/ROM
# registers) replaced by "..".
dump_hex() {
    awk -v nth="$2" -v limit="$3" -v mask="$4" '
        function hex(s,    i, v) {
            v = 0
            for (i = 1; i <= length(s); i++)
                v = v * 16 + index("0123456789abcdef", substr(tolower(s), i, 1)) - 1
            return v
        }
        BEGIN { n = split(mask, m, ","); for (i = 1; i <= n; i++) skip[m[i]] = 1 }
        /^([0-9a-fA-F]{4}:)?[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]\.[0-7]( |$)/ {
            dev++; on = (dev == nth); next
        }
        on && /^[0-9a-f][0-9a-f][0-9a-f]?: / {
            off = hex(substr($1, 1, length($1) - 1))
            if (off >= limit) next
            line = sprintf("%03x:", off)
            for (i = 2; i <= 17; i++) {
                b = off + i - 2
                line = line " " ((b in skip) ? ".." : tolower($i))
            }
            print line
        }' "$1"
}

# The lines of the Nth device (1-based) of a dump: its header line and
# everything up to the next device.
dump_extract() {
    awk -v nth="$2" '
        /^([0-9a-fA-F]{4}:)?[0-9a-fA-F][0-9a-fA-F]:[0-9a-fA-F][0-9a-fA-F]\.[0-7]( |$)/ {
            dev++
        }
        dev == nth' "$1"
}
