#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# fuzz-run.sh BINARY SECONDS SEEDDIR...: run one libFuzzer target from its
# seed corpora for SECONDS and record the result where the test totals
# look (BINARY.log with a RESULT line, BINARY.trs).
set -u
bin=$1
secs=$2
shift 2
work=$bin.corpus
mkdir -p "$work"
if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$work" "$@" >"$bin.log" 2>&1; then
    res=PASS
    echo "RESULT: 1 passed, 0 failed" >>"$bin.log"
else
    res=FAIL
    echo "RESULT: 0 passed, 1 failed" >>"$bin.log"
fi
printf ':test-result: %s\n' "$res" >"$bin.trs"
grep -E '^(stat::number_of_executed_units|Done|==.*ERROR)' "$bin.log" | head -n 3
echo "$(basename "$bin"): $res after ${secs}s"
[ "$res" = PASS ]
