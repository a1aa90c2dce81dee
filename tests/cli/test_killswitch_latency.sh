#!/usr/bin/env bash
# Without GITHUB_TOKEN the agent checks at most every 5 minutes, and keeps
# its promise: the switch turning ON stops tests within 6 minutes, wherever
# in the 5-minute cycle the issue is opened.
source "$(dirname "$0")/lib.sh"
fleet_init
start_github
{ echo "<Schedule>"; task 001 15 Download tiny 2 true; echo "</Schedule>"; } > control.xml
promise=360
on='[{"number":5,"title":"Stop","state":"open","labels":[{"name":"kill-switch"}]}]'

run_agent 2026-01-01T10:14:00Z 40 16m &
pid=$!
on_at=$(switch_at 2026-01-01T10:19:30Z 40 "$on")
wait $pid
expect_eq "$?" 0 "agent exit code"

line=$(grep -m1 'Kill-switch turned ON: stopping all tests' agent.log)
expect_grep 'Kill-switch turned ON' agent.log "switch ON noticed"
stopped=$(log_epoch "$line")
echo "switch ON at +$(( on_at % 3600 )) s of the hour, tests stopped $(( stopped - on_at )) s later (promise: $promise s)"
if [ $(( stopped - on_at )) -le $promise ]; then ok; else bad "tests stopped $(( stopped - on_at )) s after the switch (promise $promise s)"; fi
metric_starts 001 > starts.txt
expect_eq "$(awk -v t="$(( on_at + promise ))" '$6 > t' starts.txt | wc -l)" 0 "tests started later than the promise"
expect_grep 'kill-switch is ON: issue #5 "Stop"' agent.log "log names the issue"
n=$(gh_stat anonymous)
echo "requests without a token in 16 min: $n"
if [ "$n" -ge 3 ] && [ "$n" -le 5 ]; then ok; else bad "$n requests in 16 minutes without a token (want one per 5 minutes)"; fi
finish
