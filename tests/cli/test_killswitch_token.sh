#!/usr/bin/env bash
# With GITHUB_TOKEN the agent may check once a minute, and keeps its
# promise: the switch turning ON stops tests within 2 minutes. The log and
# the status name the issue (its title cleaned of terminal controls), the
# checks go on while it is ON, and its going OFF again is seen and dated.
source "$(dirname "$0")/lib.sh"
fleet_init
start_github
echo "GITHUB_TOKEN=test-token-123" >> fleet.env
{ echo "<Schedule>"; task 001 15 Download tiny 2 true; echo "</Schedule>"; } > control.xml
promise=120
on='[{"number":77,"title":"Halt: bad release\u001b[31m now\u0007","state":"open","labels":[{"name":"kill-switch"}]}]'

run_agent 2026-01-01T10:14:00Z 40 16m &
pid=$!
on_at=$(switch_at 2026-01-01T10:20:00Z 40 "$on")
off_at=$(switch_at 2026-01-01T10:25:00Z 40 '[]')
wait $pid
expect_eq "$?" 0 "agent exit code"

line=$(grep -m1 'Kill-switch turned ON: stopping all tests' agent.log)
expect_grep 'Kill-switch turned ON' agent.log "switch ON noticed"
stopped=$(log_epoch "$line")
echo "switch ON at +$(( on_at % 3600 )) s of the hour, tests stopped $(( stopped - on_at )) s later (promise: $promise s)"
if [ $(( stopped - on_at )) -le $promise ]; then ok; else bad "tests stopped $(( stopped - on_at )) s after the switch (promise $promise s)"; fi
metric_starts 001 > starts.txt
before=$(awk -v t="$on_at" '$6 < t' starts.txt | wc -l)
late=$(awk -v t="$(( on_at + promise ))" '$6 > t' starts.txt | wc -l)
if [ "$before" -ge 5 ]; then ok; else bad "only $before tests before the switch"; fi
expect_eq "$late" 0 "tests started later than the promise"
expect_grep 'kill-switch is ON: issue #77 "Halt: bad release \[31m now" is open and labelled kill-switch' agent.log "log names the issue"
expect_eq "$(tr -d '\n' < agent.log | tr -dc '\000-\010\013-\037\177' | wc -c)" 0 "control characters in the log"
line=$(grep -m1 'kill-switch is OFF again: issue #77' agent.log)
expect_grep 'kill-switch is OFF again: issue #77' agent.log "going OFF seen while ON"
if [ -n "$line" ] && [ $(( $(log_epoch "$line") - off_at )) -le $promise ]; then ok; else bad "OFF again not seen within $promise s"; fi
expect_eq "$(status_get killswitch.issue.number)" 77 "status: issue number"
expect_eq "$(status_get killswitch.issue.title)" "Halt: bad release [31m now" "status: issue title"
if [ "$(status_get killswitch.issue.off_at)" != null ]; then ok; else bad "status: no off_at"; fi
# Seen OFF at :25 with nothing to run before the 11:00 refresh, the agent
# stops asking; by :30 that answer is too old to count.
expect_eq "$(status_get killswitch.state)" "cannot confirm off" "status: switch state"
expect_eq "$(status_get killswitch.on)" True "status: still stopped until the :00 refresh"
expect_eq "$(status_get killswitch.token)" True "status: token"
expect_eq "$(gh_stat anonymous)" 0 "requests without the token"
n=$(gh_stat authenticated)
echo "requests with the token in 16 min: $n"
if [ "$n" -ge 8 ] && [ "$n" -le 17 ]; then ok; else bad "$n requests in 16 minutes with a token (want one a minute while running or ON)"; fi
finish
