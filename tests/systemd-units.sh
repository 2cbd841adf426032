#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The systemd units, sysusers.d and tmpfiles.d entries as built: systemd
# loads them without a complaint, the service's exposure stays at or below
# 2.5, the socket is the daemon's default path, group vpcid and mode 0660,
# and `make install-data DESTDIR=` puts every file where systemd looks.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
VPCID=${VPCID:-$top_builddir/daemon/vpcid}
MAKE=${MAKE:-make}
S=$top_srcdir/systemd
MAX_EXPOSURE=2.5

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: no systemd-analyze"
    exit 77
fi

# The value of KEY in the unit file's SECTION (the last one wins, as in
# systemd; empty when not set).
unit_get() {
    awk -v sec="[$2]" -v key="$3" '
        /^\[/ { in_sec = ($0 == sec); next }
        in_sec && index($0, key "=") == 1 { v = substr($0, length(key) + 2) }
        END { print v }' "$1"
}

check "vpcid.service is built" test -f "$top_builddir/systemd/vpcid.service"
svc=$top_builddir/systemd/vpcid.service
sock=$S/vpcid.socket
check "no @variable@ left in vpcid.service" \
    sh -c '! grep -q "@[a-z_]*@" "$1"' sh "$svc"
sbindir=$(unit_get "$svc" Service ExecStart | sed 's|/vpcid --foreground$||')
case $sbindir in
/*) ok ;;
*) not_ok "ExecStart names an absolute path: $(unit_get "$svc" Service ExecStart)" ;;
esac

# systemd-analyze verify wants ExecStart= to exist: point it at the daemon
# just built (or any executable when it is not), with man pages not looked
# up.  Any message at all counts as a failure: an unknown or misspelt key
# is only a warning to systemd.
mkdir -p "$TMP/units"
exe=$VPCID
[ -x "$exe" ] || exe=$(command -v true)
sed "s|^ExecStart=[^ ]*|ExecStart=$exe|" "$svc" >"$TMP/units/vpcid.service"
cp "$sock" "$TMP/units/vpcid.socket"
(cd "$TMP/units" && systemd-analyze verify --man=no ./vpcid.service \
    ./vpcid.socket) >"$TMP/verify.out" 2>&1
rc=$?
expect_eq "systemd-analyze verify: exit status" 0 "$rc"
expect_eq "systemd-analyze verify: no messages" "" "$(cat "$TMP/verify.out")"

# A misspelt key must show, or the check above proves nothing.
cp "$TMP/units/vpcid.service" "$TMP/units/typo.service"
sed -i 's/^ProtectSystem=/ProtectSystme=/' "$TMP/units/typo.service"
(cd "$TMP/units" && systemd-analyze verify --man=no ./typo.service) \
    >"$TMP/typo.out" 2>&1
check "systemd-analyze verify reports a misspelt key" \
    grep -q ProtectSystme "$TMP/typo.out"
rm -f "$TMP/units/typo.service"

# The exposure score of the unit as installed.
(cd "$TMP/units" && systemd-analyze security --offline=true \
    ./vpcid.service) >"$TMP/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for vpcid.service: \([0-9.]*\).*/\1/p' \
    "$TMP/security.out")
echo "exposure: ${score:-none} (at most $MAX_EXPOSURE)"
grep '^✗' "$TMP/security.out" | sed 's/  */ /g'
check "an exposure score is printed" test -n "$score"
check "exposure $score <= $MAX_EXPOSURE" \
    awk -v s="${score:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= m + 0) }'

# What the daemon needs, and nothing more.
expect_eq "Type" notify "$(unit_get "$svc" Service Type)"
expect_eq "User" vpcid "$(unit_get "$svc" Service User)"
expect_eq "capability bounding set" CAP_SYS_ADMIN \
    "$(unit_get "$svc" Service CapabilityBoundingSet)"
expect_eq "ambient capabilities" CAP_SYS_ADMIN \
    "$(unit_get "$svc" Service AmbientCapabilities)"
# A user namespace would hide CAP_SYS_ADMIN from pci_read_config(), which
# checks it in the initial namespace: config space would stop at 64 bytes.
expect_eq "PrivateUsers is not set" "" "$(unit_get "$svc" Service PrivateUsers)"
expect_eq "DynamicUser is not set" "" "$(unit_get "$svc" Service DynamicUser)"
expect_eq "the runtime directory outlives restarts" yes \
    "$(unit_get "$svc" Service RuntimeDirectoryPreserve)"
expect_eq "the service takes the socket" vpcid.socket \
    "$(unit_get "$svc" Service Sockets)"
expect_eq "the socket starts the service" vpcid.service \
    "$(unit_get "$sock" Socket Service)"

# The socket: group-restricted, where the daemon looks by default, inside
# the service's RuntimeDirectory=.
expect_eq "socket mode" 0660 "$(unit_get "$sock" Socket SocketMode)"
expect_eq "socket group" vpcid "$(unit_get "$sock" Socket SocketGroup)"
listen=$(unit_get "$sock" Socket ListenStream)
expect_eq "socket path" /run/vpcid/vpcid.sock "$listen"
expect_eq "socket in RuntimeDirectory=" \
    "/run/$(unit_get "$svc" Service RuntimeDirectory)" "$(dirname "$listen")"
if [ -x "$VPCID" ]; then
    check "the daemon's default socket is the unit's" \
        sh -c '"$1" --help | grep -q "/run/vpcid/vpcid.sock"' sh "$VPCID"
fi

# sysusers.d makes the user and group; tmpfiles.d then makes /run/vpcid
# owned by them, in a scratch root.
root=$TMP/root
mkdir -p "$root/etc" "$root/run"
check "systemd-sysusers accepts vpcid.sysusers" \
    systemd-sysusers --root="$root" "$S/vpcid.sysusers"
expect_eq "user vpcid, home /var/lib/vpcid" "vpcid:/var/lib/vpcid" \
    "$(awk -F: '$1 == "vpcid" { print $1 ":" $6 }' "$root/etc/passwd" 2>/dev/null)"
check "group vpcid" grep -q '^vpcid:' "$root/etc/group"
if [ "$(id -u)" = 0 ]; then
    check "systemd-tmpfiles accepts vpcid.tmpfiles" \
        systemd-tmpfiles --root="$root" --create "$S/vpcid.tmpfiles"
    uid=$(awk -F: '$1 == "vpcid" { print $3 ":" $4 }' "$root/etc/passwd")
    expect_eq "/run/vpcid: mode and owner" "750 $uid" \
        "$(stat -c '%a %u:%g' "$root/run/vpcid" 2>/dev/null)"
else
    echo "note: not root, /run/vpcid from vpcid.tmpfiles not made"
fi

# Installed with DESTDIR, where systemd reads them.  install-data is the
# half of `make install` these files are in (no libtool relinking while
# other tests run the daemon).
dirs=$("$MAKE" -s -C "$top_builddir" print-systemd-dirs 2>/dev/null)
unitdir=$(echo "$dirs" | sed -n 's/^systemdsystemunitdir=//p')
sysusersdir=$(echo "$dirs" | sed -n 's/^sysusersdir=//p')
tmpfilesdir=$(echo "$dirs" | sed -n 's/^tmpfilesdir=//p')
check "the install dirs are known" \
    test -n "$unitdir" -a -n "$sysusersdir" -a -n "$tmpfilesdir"
dest=$TMP/dest
"$MAKE" -s -C "$top_builddir" install-data DESTDIR="$dest" \
    >"$TMP/install.out" 2>&1
rc=$?
expect_eq "make install-data DESTDIR=: exit status" 0 "$rc"
[ "$rc" = 0 ] || cat "$TMP/install.out"
check "installed: $unitdir/vpcid.service" \
    cmp -s "$svc" "$dest$unitdir/vpcid.service"
check "installed: $unitdir/vpcid.socket" \
    cmp -s "$sock" "$dest$unitdir/vpcid.socket"
check "installed: $sysusersdir/vpcid.conf" \
    cmp -s "$S/vpcid.sysusers" "$dest$sysusersdir/vpcid.conf"
check "installed: $tmpfilesdir/vpcid.conf" \
    cmp -s "$S/vpcid.tmpfiles" "$dest$tmpfilesdir/vpcid.conf"
expect_eq "installed units are not executable" "644 644" \
    "$(stat -c %a "$dest$unitdir/vpcid.service" "$dest$unitdir/vpcid.socket" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"

finish
