#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# vpcid under systemd's protocols, played by a small python3 stand-in for
# the service manager: socket activation (LISTEN_FDS/LISTEN_PID, one unix
# and one TCP socket made by the "manager"), READY=1 and STOPPING=1 on
# NOTIFY_SOCKET, and the StateDirectory=/RuntimeDirectory= defaults.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
VPCID=${VPCID:-$top_builddir/daemon/vpcid}
MKSYSFS=${MKSYSFS:-$top_builddir/tests/mksysfs}
D=$FIX/dumps
VPCID_MIGRATION_DRIVERS=$top_srcdir/data/vfio-migration-drivers
export VPCID_MIGRATION_DRIVERS

"$MKSYSFS" "$TMP/sys" <<EOF2
func 0000:3b:00.0 $D/intel-82576-pf-8086-10c9-sriov-4k.lspci vfs=2 vfdriver=vfio-pci
EOF2
check "fixture tree" test -d "$TMP/sys/bus/pci/devices/0000:3b:00.0"
printf 'tok-%s\n' "$$" >"$TMP/token"

# The manager: binds the sockets, passes them as fds 3 and 4 and execs the
# daemon (same pid, so LISTEN_PID matches); records every notification.
cat >"$TMP/manager.py" <<'EOF2'
import os, socket, sys, threading
tmp, vpcid = sys.argv[1], sys.argv[2:]
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(tmp + "/notify")
pid = os.fork()
if pid == 0:
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(tmp + "/activated.sock")
    u.listen(16)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    t.listen(16)
    with open(tmp + "/tcp.port", "w") as f:
        f.write("%d\n" % t.getsockname()[1])
    os.dup2(u.fileno(), 3)
    os.dup2(t.fileno(), 4)
    os.set_inheritable(3, True)
    os.set_inheritable(4, True)
    env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID=str(os.getpid()),
               NOTIFY_SOCKET=tmp + "/notify")
    os.execve(vpcid[0], vpcid, env)
with open(tmp + "/pid", "w") as f:
    f.write("%d\n" % pid)
notify.settimeout(30)
with open(tmp + "/notifications", "w") as log:
    while True:
        try:
            msg = notify.recv(4096).decode()
        except socket.timeout:
            break
        log.write(msg.replace("\n", " ") + "\n")
        log.flush()
        if "STOPPING=1" in msg:
            break
os.waitpid(pid, 0)
EOF2

# The libtool wrapper would exec a second time: run the real binary.
real=$VPCID
[ -x "$top_builddir/daemon/.libs/vpcid" ] && real=$top_builddir/daemon/.libs/vpcid
LD_LIBRARY_PATH=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    python3 "$TMP/manager.py" "$TMP" "$real" --foreground --sysfs "$TMP/sys" \
    --db "$TMP/db" --quirks "$top_srcdir/data/quirks" \
    --token-file "$TMP/token" --listen "unix:$TMP/ignored.sock" \
    2>"$TMP/log" &
mgr=$!
i=0
until grep -q READY=1 "$TMP/notifications" 2>/dev/null || [ $i -ge 150 ]; do
    i=$((i + 1))
    sleep 0.1
done
check "READY=1 sent to NOTIFY_SOCKET" grep -q "READY=1" "$TMP/notifications"
check "the activated unix socket serves" \
    curl -sf -o "$TMP/h.json" --unix-socket "$TMP/activated.sock" http://x/v1/health
expect_eq "health over the activated socket" "ok 3" \
    "$(jq -r '"\(.status) \(.devices)"' "$TMP/h.json" 2>/dev/null)"
check "--listen is ignored under socket activation" test ! -e "$TMP/ignored.sock"
port=$(cat "$TMP/tcp.port" 2>/dev/null)
expect_eq "the activated TCP socket wants the token" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/health")"
expect_eq "the activated TCP socket serves with the token" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer tok-$$" \
        "http://127.0.0.1:$port/v1/health")"
kill -TERM "$(cat "$TMP/pid")" 2>/dev/null
wait $mgr
check "STOPPING=1 sent on SIGTERM" grep -q "STOPPING=1" "$TMP/notifications"
check "the socket file stays systemd's" test -S "$TMP/activated.sock"
check "the log has journald priority prefixes" grep -q '^<[0-7]>' "$TMP/log"
check "no line without a prefix" sh -c '! grep -v "^<[0-7]>" "$1"' _ "$TMP/log"

# StateDirectory= and RuntimeDirectory= place the embedded defaults.
mkdir -p "$TMP/state" "$TMP/run"
STATE_DIRECTORY=$TMP/state RUNTIME_DIRECTORY=$TMP/run \
    "$VPCID" --sysfs "$TMP/sys" --quirks "$top_srcdir/data/quirks" \
    --pid-file "$TMP/d.pid" 2>>"$TMP/log"
expect_eq "forks and returns once ready" 0 $?
check "the store is in STATE_DIRECTORY" test -f "$TMP/state/vpcid.db"
check "the socket is in RUNTIME_DIRECTORY" test -S "$TMP/run/vpcid.sock"
expect_eq "the socket is mode 0660" 660 "$(stat -c %a "$TMP/run/vpcid.sock")"
check "it answers" curl -sf -o /dev/null --unix-socket "$TMP/run/vpcid.sock" \
    http://x/v1/health
pid=$(cat "$TMP/d.pid")
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
    i=$((i + 1))
    sleep 0.1
done
check "SIGTERM stops it" sh -c '! kill -0 "$1" 2>/dev/null' _ "$pid"
check "its socket file is removed" test ! -e "$TMP/run/vpcid.sock"
check "its pid file is removed" test ! -e "$TMP/d.pid"

# A start-up failure in the background reaches the caller.
: >"$TMP/afile"
"$VPCID" --sysfs "$TMP/sys" --db "$TMP/afile/x.db" \
    --listen "unix:$TMP/f.sock" 2>"$TMP/fail.err"
expect_eq "a failed background start exits 1" 1 $?
check "with the daemon's reason" grep -q "afile" "$TMP/fail.err"
finish
