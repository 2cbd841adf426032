#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Run every test twice: in build/ and in build-asan/ (AddressSanitizer +
# UndefinedBehaviorSanitizer), the Check suites once more under valgrind,
# then the fuzz smoke run, and print the totals.  Exit status 0 only if everything passed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc)
status=0

run_build() {
    dir=$1
    shift
    mkdir -p "$dir"
    (cd "$dir" && { [ -f Makefile ] || ../configure --enable-werror "$@"; } &&
        make -j"$jobs" && make -j"$jobs" check) || status=1
}

run_build build
run_build build-asan --enable-sanitizers
sh "$top/tools/valgrind-check.sh" build || status=1
(cd build && make fuzz-smoke) || status=1

# Totals from the logs: Check prints "Checks: N, Failures: F, Errors: E",
# the shell tests print "RESULT: P passed, F failed".  A test program
# that died without either line counts as one failure.
summary=$(sh "$top/tools/test-totals.sh" build build-asan)
echo "$summary"
last=$(echo "$summary" | tail -n 1)
case "$last" in
*" 0 failed") ;;
*) status=1 ;;
esac
exit $status
