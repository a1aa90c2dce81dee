#!/usr/bin/env bash
# Restart-safe state: the agent is killed (SIGKILL) at :20 after the :10
# one-shot task ran and while the :15 repeating task runs; restarted at
# :20, it does not run :10 again, resumes :15 at once, and still runs the
# :30 task. A corrupt state file is ignored with a warning naming it.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 010 10 Download tiny 1 false; task 015 15 Download tiny 1 true
  task 030 30 Download tiny 1 false; echo "</Schedule>"; } > control.xml

# Run 1: from :09:30 at 60x, killed once the schedule clock is past :20.
# The virtual clock is read back from the status file, not guessed.
"$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
  --clock-start 2026-01-01T10:09:30Z --clock-speed 120 > run1.out 2> run1.log &
pid=$!
killed=""
for _ in $(seq 300); do
  now=$(sed -n 's/^ *"now": "2026-01-01T10:\([0-9][0-9]\):.*/\1/p' cache/status.json 2>/dev/null | head -1)
  if [ -n "$now" ] && [ "$((10#$now))" -ge 20 ]; then kill -KILL $pid; killed=yes; break; fi
  sleep 0.1
done
wait $pid 2>/dev/null
expect_eq "$killed" yes "run 1 reached :20 and was killed"
expect_grep 'Starting task 010' run1.log "010 ran in run 1"
expect_grep 'Starting task 015' run1.log "015 started in run 1"
expect_no_grep 'Task 015 \(Download\) finished' run1.log "015 still running when killed"
expect_grep '"ref": 10' cache/state.json "state file records 010"

# A killed agent leaves a status file whose writer is gone.
"$agent" status --env-file fleet.env > st.txt; rc=$?
expect_eq "$rc" 1 "status exit code after SIGKILL"
expect_grep 'NOT running: pid [0-9]+ is gone without a clean stop' st.txt "status says killed"

# Run 2: restart at :20 for 15 virtual minutes.
run_agent 2026-01-01T10:20:00Z 120 15m
expect_eq "$?" 0 "run 2 exit code"
expect_grep 'State file .*/cache/state.json: 3 task record\(s\) for this hour' agent.log "state loaded"
expect_grep 'Task 010 already started this hour \(at 2026-01-01T10:10:[0-9]{2}Z\): not run again' agent.log "010 not run again"
expect_grep 'Task 015 \(repeating\) was running when the agent stopped .*resuming it now' agent.log "015 resumed"
expect_no_grep 'Starting task 010' agent.log "010 did not start in run 2"
metric_starts > starts.txt
expect_eq "$(awk '$3 == "010" && $6 >= 1767262800' starts.txt | wc -l)" 0 "no 010 test after :20"
first15=$(awk '$3 == "015" && $6 >= 1767262800 {print $1*60+$2}' starts.txt | sort -n | head -1)
if [ -n "$first15" ] && [ "$first15" -le $((20 * 60 + 30)) ]; then ok; else bad "015 resumed at :20 (first test at ${first15:-none} s)"; fi
expect_eq "$(awk '$3 == "015" && $6 >= 1767262800' starts.txt | wc -l | awk '{print ($1 >= 10)}')" 1 "015 repeats after the restart"
expect_eq "$(awk '$3 == "030" && $1 == 30' starts.txt | wc -l)" 1 "030 ran at :30"

# Run 3: a garbled state file is ignored with a warning naming it; the
# hour's plan then follows the ordinary rule.
echo '{"format": "something-else"' > cache/state.json
run_agent 2026-01-01T10:20:00Z 120 2m
expect_eq "$?" 0 "run 3 exit code"
expect_grep "WARNING - State file $work/cache/state.json ignored: not JSON" agent.log "corrupt state warned"
printf '{"format":"other-tool","version":1}' > cache/state.json
run_agent 2026-01-01T10:20:00Z 120 2m
expect_grep "WARNING - State file $work/cache/state.json ignored: not an ant-agent state file" agent.log "foreign state warned"
expect_grep 'Task 015 skipped this hour: its minute \(:15\) has passed' agent.log "without state, the ordinary rule"
finish
