#!/usr/bin/env bash
# The download rate limit holds over a simulated hour with a fast repeating
# task: count the client calls.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 001 5 Download tiny 5 true; task 002 6 quote tiny 2 true; echo "</Schedule>"; } > control.xml
cat >> fleet.env <<X
DOWNLOAD_RATE_LIMIT=20
QUOTE_RATE_LIMIT=7
DOWNLOAD_YIELD_SECS=0
QUOTE_YIELD_SECS=0
MAX_CLIENTS=3
X

run_agent 2026-01-01T10:04:30Z 120 52m
expect_eq "$?" 0 "agent exit code"
downloads=$(grep -c ' file download ' "$ANT_SIM_LOG")
quotes=$(grep -c ' file cost ' "$ANT_SIM_LOG")
expect_eq "$downloads" 20 "download client calls in the hour"
expect_eq "$quotes" 7 "quote client calls in the hour"
expect_eq "$(metric_starts | wc -l)" 27 "every call recorded"
expect_eq "$(grep -c 'Rate limit reached for download tests (20 per hour)' agent.log)" 1 "rate limit logged once"
expect_grep 'Rate limit reached for quote tests \(7 per hour\)' agent.log "quote limit logged"
# Every start of the hour is inside the 3600 s window until after :55: the
# message says the workers stop, not that they wait.
expect_grep 'Rate limit reached for download tests \(20 per hour\): no more start before the cooldown, so this hour.s download workers stop here' agent.log "rate limit says what happens"
finish
