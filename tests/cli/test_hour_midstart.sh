#!/usr/bin/env bash
# Start-up at :30 does not run the :10 task (its minute has passed), but
# runs the :40 task normally.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 010 10 Download tiny 1 false; task 040 40 Download tiny 1 false; echo "</Schedule>"; } > control.xml

run_agent 2026-01-01T10:30:00Z 120 15m
expect_eq "$?" 0 "agent exit code"
expect_grep 'Task 010 skipped this hour: its minute \(:10\) has passed' agent.log "missed task logged"
metric_starts > starts.txt
expect_eq "$(awk '$3 == "010"' starts.txt | wc -l)" 0 "010 never ran"
expect_eq "$(awk '$3 == "040" && $1 == 40' starts.txt | wc -l)" 1 "040 ran at :40"
finish
