#!/usr/bin/env bash
# The README's demo runs start to finish: tasks start, repeat, get
# rate-limited, cool down, and the report at the end shows what ran.
source "$(dirname "$0")/lib.sh"
ANT_SIM_LATENCY_MS=0 DEMO_SPEED=120 DEMO_RUN_DIR="$work/demo" bash "$ANT_SOURCE_DIR/scripts/demo.sh" "$ANT_BUILD_DIR" > demo.out 2>&1
expect_eq "$?" 0 "demo exit code"
for t in 001 002 003 004 005 006 007; do
  expect_grep "Starting task $t" demo.out "task $t started"
done
expect_grep 'capped to 10 \(MAX_WORKERS\)' demo.out "worker cap shown"
expect_grep 'Rate limit reached for (download|quote) tests' demo.out "rate limit shown"
expect_grep 'Cooldown \(:55\)' demo.out "cooldown shown"
expect_grep 'Agent stopped' demo.out "clean stop"
expect_grep '^download +tiny +[0-9]+' demo.out "report: download tiny row"
expect_grep '^quote +tiny +[0-9]+' demo.out "report: quote tiny row"
expect_grep "^upload +tiny +[0-9]+" demo.out "report: uploads"
expect_no_grep 'CRITICAL|ERROR' demo.out "no errors in the demo"
finish
