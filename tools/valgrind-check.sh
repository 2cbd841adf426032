#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# valgrind-check.sh BUILDDIR: run every Check suite of BUILDDIR under
# valgrind (memcheck, leaks included) with CK_FORK=no, so the checks run
# in the process valgrind watches.  Each suite leaves BUILDDIR/tests/
# valgrind-NAME.log (with a RESULT line) and .trs for the totals.
set -u
b=$1
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for t in test_layout test_hash test_render test_emu test_decode test_derive \
    test_inventory test_store test_api test_options; do
    [ -x "$b/tests/$t" ] || continue
    log=$b/tests/valgrind-$t.log
    if (cd "$b" && CK_FORK=no CK_VERBOSITY=silent top_srcdir=$top \
        ./libtool --mode=execute valgrind -q --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 "tests/$t") >"$log" 2>&1; then
        echo "RESULT: 1 passed, 0 failed" >>"$log"
        printf ':test-result: PASS\n' >"${log%.log}.trs"
        echo "valgrind $t: PASS"
    else
        echo "RESULT: 0 passed, 1 failed" >>"$log"
        printf ':test-result: FAIL\n' >"${log%.log}.trs"
        echo "valgrind $t: FAIL (see $log)"
        status=1
    fi
done
exit $status
