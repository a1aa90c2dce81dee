#!/usr/bin/env bash
# A whole hour on the virtual clock: tasks start in their minute (plus
# their TimeOffset), never in :55-:04; repeats stop at the cooldown;
# workers are capped at MAX_WORKERS; every client call is recorded.
source "$(dirname "$0")/lib.sh"
fleet_init
{
  echo "<Schedule>"
  task 001 5 Download tiny 2 true
  task 002 10 quote tiny 50 false
  task 003 20 Download small 1 false 3
  task 004 52 download tiny 3 true
  echo "</Schedule>"
} > control.xml
echo "MAX_WORKERS=4" >> fleet.env

# From :04:00 to :02 of the next hour, at 120x (about 30 s).
run_agent 2026-01-01T10:04:00Z 120 58m
expect_eq "$?" 0 "agent exit code"
expect_grep 'task 002: warning: option workers 50 is above the local limit; capped to 4' agent.log "workers capped warning"
expect_grep 'Cooldown \(:55\)' agent.log "cooldown announced"

metric_starts > starts.txt
total=$(wc -l < starts.txt)
calls=$(grep -c ' file ' "$ANT_SIM_LOG")
expect_eq "$total" "$calls" "one metric line per client call"
if [ "$total" -gt 20 ]; then ok; else bad "only $total tests ran"; fi

# Nothing starts outside :05-:54.
outside=$(awk '$1 < 5 || $1 > 54' starts.txt | wc -l)
expect_eq "$outside" 0 "tests started outside the window"
# Each task in its own minute or later.
expect_eq "$(awk '$3 == "001" && $1 < 5' starts.txt | wc -l)" 0 "001 not before :05"
expect_eq "$(awk '$3 == "002" && $1 != 10' starts.txt | wc -l)" 0 "002 only at :10 (no repeat)"
expect_eq "$(awk '$3 == "003" && ($1 < 20 || $1 > 23)' starts.txt | wc -l)" 0 "003 within :20 + TimeOffset 3"
expect_eq "$(awk '$3 == "003"' starts.txt | wc -l)" 1 "003 ran once"
expect_eq "$(awk '$3 == "004" && $1 < 52' starts.txt | wc -l)" 0 "004 not before :52"
# The repeating task repeated, right up to the cooldown.
n001=$(awk '$3 == "001"' starts.txt | wc -l)
if [ "$n001" -ge 20 ]; then ok; else bad "001 repeated only $n001 times"; fi
last001=$(awk '$3 == "001" {print $1}' starts.txt | sort -n | tail -1)
if [ "$last001" -ge 50 ]; then ok; else bad "001 stopped repeating early (last start :$last001)"; fi
# Workers capped: 002 asked for 50, ran 4, each once.
expect_eq "$(awk '$3 == "002"' starts.txt | wc -l)" 4 "002 ran MAX_WORKERS workers"
expect_eq "$(awk '$3 == "002" {print $5}' starts.txt | sort -n | tr '\n' ' ')" "1 2 3 4 " "002 worker numbers"
# Temporary download data is gone.
left=$(find cache/downloads -mindepth 1 2>/dev/null | wc -l)
expect_eq "$left" 0 "no temporary download data left"
# No client of the hour outlives it.
expect_eq "$(pgrep -f "$work" | wc -l)" 0 "no client of this test left running"

finish
