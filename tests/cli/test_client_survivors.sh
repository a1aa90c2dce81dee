#!/usr/bin/env bash
# Clients outliving a SIGKILLed agent: each running client is recorded
# (process group and start time) in the journal CACHE_DIR/clients.log, and the next agent
# ends the groups still running before it does anything else.
source "$(dirname "$0")/lib.sh"
fleet_init
export ANT_SIM_HANG=1
{ echo "<Schedule>"; task 001 5 quote tiny 1 false; echo "</Schedule>"; } > control.xml
client=""
trap 'kill -9 $client 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

"$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
  --clock-start 2026-01-01T10:04:58Z --clock-speed 1 --run-for 10m > agent.out 2> agent.log &
pid=$!
for _ in $(seq 200); do client=$(pgrep -f -P $pid ant-sim | head -1); [ -n "$client" ] && grep -q "^+ $client " cache/clients.log 2>/dev/null && break; sleep 0.1; done
expect_eq "$([ -n "$client" ] && echo yes)" yes "the running client is recorded"
read -r _ rec_pg rec_start < <(grep "^+ $client " cache/clients.log)
expect_eq "$rec_pg" "$client" "the record names the process group"
expect_eq "$rec_start" "$(sed 's/.*) //' /proc/$client/stat | awk '{print $20}')" "the record holds the start time"
kill -9 $pid; wait $pid 2>/dev/null
sleep 0.2
expect_eq "$(kill -0 $client 2>/dev/null && echo alive)" alive "the client outlived the SIGKILLed agent"

"$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
  --clock-start 2026-01-01T10:04:50Z --clock-speed 1 --run-for 2s > agent2.out 2> agent2.log
expect_eq "$?" 0 "restart exit code"
for _ in $(seq 50); do kill -0 $client 2>/dev/null || break; sleep 0.1; done
expect_eq "$(kill -0 $client 2>/dev/null && echo alive || echo gone)" gone "the next start ended the left-over client"
expect_grep "Ended client process group $client left running by a previous agent" agent2.log "the end of the left-over client logged"
expect_eq "$(cat cache/clients.log 2>/dev/null | wc -l)" 0 "no client record left"
finish
