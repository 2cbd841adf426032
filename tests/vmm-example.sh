#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# examples/vmm-emulate.c, the program a VMM developer reads first:
#  - built in the tree, it prints exactly examples/vmm-emulate.expected
#    for examples/accel.resolved.vpci;
#  - that resolved layout lints, is canonical apart from comments, is the
#    reference layout data/layouts/accel-dsa-pasid.vpci plus a binding,
#    and its binding carries that layout's hash and fingerprint;
#  - the library installed with `make install DESTDIR=...` (library,
#    header, pkg-config file) builds the same program with nothing but
#    `pkg-config --cflags --libs libvpci`, and it prints the same.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
EX=$top_srcdir/examples
RESOLVED=$EX/accel.resolved.vpci
REF=$top_srcdir/data/layouts/accel-dsa-pasid.vpci
sed 1d "$EX/vmm-emulate.expected" >"$TMP/expected"

transcript_is_expected() { # DESCRIPTION PROGRAM
    if "$2" "$RESOLVED" >"$TMP/out" 2>"$TMP/err"; then
        if cmp -s "$TMP/expected" "$TMP/out"; then
            ok
        else
            not_ok "$1: transcript differs from examples/vmm-emulate.expected"
            diff -u "$TMP/expected" "$TMP/out" | sed 's/^/  /'
        fi
    else
        not_ok "$1: failed: $(cat "$TMP/err")"
    fi
}

transcript_is_expected "in-tree build" "$top_builddir/examples/vmm-emulate"

# The resolved layout.
check "resolved layout lints" "$VPCICTL" layout lint "$RESOLVED"
expect_eq "resolved layout is canonical apart from comments" \
    "$(grep -v '^#' "$RESOLVED")" "$("$VPCICTL" layout fmt "$RESOLVED")"
"$VPCICTL" layout diff "$REF" "$RESOLVED" >"$TMP/diff"
expect_eq "resolved layout = reference layout + binding" "" \
    "$(grep -v '^binding: + ' "$TMP/diff")"
set -- $("$VPCICTL" layout hash "$REF")
expect_eq "binding hash and fingerprint are the reference layout's" \
    "hash $1
fingerprint $3" \
    "$(awk '$1 == "hash" || $1 == "fingerprint" { print $1, $2 }' "$RESOLVED")"
check "an unresolved layout is refused" \
    sh -c '! "$1" "$2" >/dev/null 2>&1' sh \
    "$top_builddir/examples/vmm-emulate" "$REF"

# Against an installed copy: only what a user of the library gets.
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
CC=${CC:-cc}
if ! command -v "$PKG_CONFIG" >/dev/null 2>&1; then
    echo "SKIP: no pkg-config: installed-library build not tried"
else
    dest=$TMP/dest
    if ${MAKE:-make} -s -C "$top_builddir" DESTDIR="$dest" \
        install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA \
        >"$TMP/install.log" 2>&1; then
        ok
        pc=$(find "$dest" -name libvpci.pc)
        libdir=$(dirname "$(dirname "$pc")")
        export PKG_CONFIG_PATH="$(dirname "$pc")"
        export PKG_CONFIG_LIBDIR="$(dirname "$pc")"
        export PKG_CONFIG_SYSROOT_DIR="$dest"
        # libvpci.pc names nettle (Requires.private); let pkg-config find
        # the system's too.
        for d in $(pkg-config --variable pc_path pkg-config 2>/dev/null |
            tr : ' '); do
            PKG_CONFIG_LIBDIR=$PKG_CONFIG_LIBDIR:$d
        done
        if flags=$("$PKG_CONFIG" --cflags --libs libvpci 2>"$TMP/err"); then
            ok
            case "$flags" in
            *"-I$dest/"*"-L$dest/"*) ok ;;
            *) not_ok "pkg-config points outside the installed copy: $flags" ;;
            esac
            # A sanitizer build's library needs its runtime linked first.
            # shellcheck disable=SC2086 # flags are words
            if "$CC" ${SAN_CFLAGS:-} -std=c11 -Wall -Wextra -Werror -o "$TMP/vmm-emulate" \
                "$EX/vmm-emulate.c" $flags >"$TMP/cc.log" 2>&1; then
                ok
                LD_LIBRARY_PATH=$libdir transcript_is_expected \
                    "installed-library build" "$TMP/vmm-emulate"
            else
                not_ok "cc against the installed copy: $(cat "$TMP/cc.log")"
            fi
        else
            not_ok "pkg-config libvpci: $(cat "$TMP/err")"
        fi
    else
        not_ok "make install DESTDIR: $(tail -5 "$TMP/install.log")"
    fi
fi
finish
