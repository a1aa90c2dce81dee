#!/usr/bin/env bash
# The kill-switch turning ON mid-hour stops everything; turning OFF again
# resumes only at the next :00 refresh.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 001 5 Download tiny 2 true; echo "</Schedule>"; } > control.xml
on='[{"number":7,"state":"open","labels":[{"name":"Kill-Switch"}]}]'

# At 60x a real second is a virtual minute. Run from :04 to :10 of the next
# hour; switch ON about :20 and OFF about :35.
run_agent 2026-01-01T10:04:00Z 60 66m &
pid=$!
sleep 16
echo "$on" > ks.json
sleep 15
echo '[]' > ks.json
wait $pid
expect_eq "$?" 0 "agent exit code"

expect_grep 'Kill-switch turned ON: stopping all tests' agent.log "switch ON noticed"
on_at=$(grep -m1 'Kill-switch turned ON' agent.log | awk '{print $2}')
on_min=$((10#$(echo "$on_at" | cut -d: -f2)))
if [ "$on_min" -ge 15 ] && [ "$on_min" -le 30 ]; then ok; else bad "switch noticed at $on_at"; fi
expect_grep '11:00:[0-5][0-9] - INFO - Refreshing tasks \(hourly refresh\)' agent.log "hourly refresh in the first minute"
expect_grep 'Kill-switch is OFF: tests resume with this refresh' agent.log "resumed at the refresh"

metric_starts 001 > starts.txt
# Tests ran before the switch, none from the switch to the next hour's :05,
# and they ran again after it.
before=$(awk -v m="$on_min" '$6 % 86400 < 39600 && $1 < m' starts.txt | wc -l)
during=$(awk -v m="$on_min" '$6 % 86400 < 39600 && $1 > m' starts.txt | wc -l)
after=$(awk '$6 % 86400 >= 39600' starts.txt | wc -l)
if [ "$before" -ge 5 ]; then ok; else bad "only $before tests before the switch"; fi
expect_eq "$during" 0 "tests started while the switch was ON or before the next refresh"
if [ "$after" -ge 2 ]; then ok; else bad "only $after tests after the next refresh"; fi
expect_eq "$(awk '$6 % 86400 >= 39600 && $1 < 5' starts.txt | wc -l)" 0 "next hour starts at :05"
finish
