#!/usr/bin/env bash
# The virtual clock stands still until the first refresh is done: a control
# file that takes 3 s (real) to arrive, at 120x, would otherwise cost the
# schedule 6 minutes, and the :05 task of an agent started at :04:40 would
# be skipped as missed. How slowly a machine starts is not part of the hour
# under test.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
{ echo "<Schedule>"; task 005 5 Download tiny 1 false; echo "</Schedule>"; } > "$work/www/control.xml"
http_fleet slow/3000/files/control.xml
cat >> "$work/fleet.env" <<X
FETCH_TIMEOUT_SECS=20
MIN_FREE_MEM_MB=0
GITHUB_TOKEN=test-token-123
X

t0=$(date +%s%N)
run_agent 2026-01-01T10:04:40Z 120 2m
expect_eq "$?" 0 "agent exit code"
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# The slow answer really was slow: the run took its 3 s on top of 1 s of
# schedule time.
if [ "$took_ms" -ge 3000 ]; then ok; else bad "the run took $took_ms ms: the control file was not slow"; fi
expect_grep '^01-01-2026 10:04:40 - INFO - Virtual clock: starts 2026-01-01T10:04:40Z' agent.log \
  "the clock starts at --clock-start"
expect_grep '^01-01-2026 10:04:40 - INFO - Plan for this hour: 1 of 1 task' agent.log \
  "the plan is made at the time the clock started"
expect_no_grep 'has passed' agent.log "no task missed"
metric_starts > starts.txt
expect_eq "$(awk '$3 == "005" && $1 == 5' starts.txt | wc -l)" 1 "005 ran at :05"
finish
