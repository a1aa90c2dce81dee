#!/usr/bin/env bash
# A client that hangs past :58 gets SIGTERM at :58 and, when it ignores
# that, SIGKILL after CLIENT_KILL_GRACE_SECS (and at :59 at the latest): by
# :00 no client of the hour is alive, and the test is recorded as killed.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 009 53 Download tiny 2 false 0 3600; echo "</Schedule>"; } > control.xml
export ANT_SIM_HANG=stubborn

run_agent 2026-01-01T10:52:00Z 60 9m
expect_eq "$?" 0 "agent exit code"
expect_grep ':58 - asking 2 running client\(s\) to stop \(SIGTERM\)' agent.log "SIGTERM at :58"
# Both results came back before :00, as killed.
killed=$(grep -E '^01-01-2026 10:5[89]:[0-9]{2} - WARNING - Task 009 worker [12] attempt 1: download tiny killed' agent.log | wc -l)
expect_eq "$killed" 2 "both clients reported killed in :58-:59"
metric_starts 009 > starts.txt
expect_eq "$(awk '$4 == "killed"' starts.txt | wc -l)" 2 "killed status in metrics"
expect_grep 'client_kill=1i' cache/metrics.csv "client_kill field"
expect_eq "$(pgrep -f "$work" | wc -l)" 0 "no client of this test left running"
finish
