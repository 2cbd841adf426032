#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# `make install DESTDIR=...` lays out every file an installed vpcid needs,
# each where the configured directories say, and `make uninstall` takes
# them all away again.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
MAKE=${MAKE:-make}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
D=$TMP/dest

dirs=$("$MAKE" -s -C "$top_builddir" print-install-dirs 2>/dev/null)
dir() { echo "$dirs" | sed -n "s/^$1=//p"; }
check "the build names its install directories" [ -n "$(dir sbindir)" ]

"$MAKE" -s -C "$top_builddir" install DESTDIR="$D" >"$TMP/install.log" 2>&1
expect_eq "make install DESTDIR: exit status" 0 $?

for f in \
    "$(dir bindir)/vpcictl" \
    "$(dir sbindir)/vpcid" \
    "$(dir libdir)/libvpci.so" \
    "$(dir includedir)/vpci.h" \
    "$(dir libdir)/pkgconfig/libvpci.pc" \
    "$(dir mandir)/man1/vpcictl.1" \
    "$(dir mandir)/man5/vpci-layout.5" \
    "$(dir mandir)/man8/vpcid.8" \
    "$(dir pkgdatadir)/vfio-migration-drivers" \
    "$(dir pkgdatadir)/quirks/intel.quirk" \
    "$(dir pkgdatadir)/layouts/nic-vf-82576.vpci" \
    "$(dir pkgdatadir)/layouts/accel-dsa-pasid.vpci" \
    "$(dir bashcompletiondir)/vpcictl" \
    "$(dir systemdsystemunitdir)/vpcid.service" \
    "$(dir systemdsystemunitdir)/vpcid.socket" \
    "$(dir sysusersdir)/vpcid.conf" \
    "$(dir tmpfilesdir)/vpcid.conf"; do
    check "installed: $f" [ -f "$D$f" ]
done
check "vpcid and vpcictl are executable" \
    test -x "$D$(dir sbindir)/vpcid" -a -x "$D$(dir bindir)/vpcictl"
expect_eq "the unit starts the installed daemon" \
    "ExecStart=$(dir sbindir)/vpcid --foreground" \
    "$(grep '^ExecStart=' "$D$(dir systemdsystemunitdir)/vpcid.service")"
expect_eq "libvpci.pc names the installed headers" "$(dir includedir)" \
    "$(sed -n 's/^includedir=//p' "$D$(dir libdir)/pkgconfig/libvpci.pc" |
        sed "s|\${prefix}|$(dir prefix)|")"
check "the installed layouts lint" \
    "$top_builddir/cli/vpcictl" layout lint "$D$(dir pkgdatadir)"/layouts/*.vpci
check "the installed man pages are manuals" \
    grep -q '^\.TH VPCICTL 1' "$D$(dir mandir)/man1/vpcictl.1"

"$MAKE" -s -C "$top_builddir" uninstall DESTDIR="$D" >"$TMP/uninstall.log" 2>&1
expect_eq "make uninstall DESTDIR: exit status" 0 $?
expect_eq "nothing but directories is left" "" "$(find "$D" ! -type d | sort)"
finish
