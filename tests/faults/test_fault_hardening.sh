#!/usr/bin/env bash
# Files the agent does not own, terminals and processes, one short agent
# run (and a few small ones) against a loopback fleet: what a client
# inherits, what reaches the log and `status`, what the agent refuses.
source "$(dirname "$0")/lib.sh"
fleet_init
start_httpd
cp downloads.csv seeds.csv ks.json www/
{ echo "<Schedule>"; task 005 5 download tiny 1 false; echo "</Schedule>"; } > www/control.xml

# The client: lists the descriptors it inherited, then is ant-sim.
cat > fdclient.sh <<X
#!/bin/sh
ls -l /proc/self/fd >> "$work/fds.log" 2>&1
echo "--" >> "$work/fds.log"
exec "$sim" "\$@"
X
chmod +x fdclient.sh
# Fetched over HTTP, so libcurl keeps connections open while clients run.
sed -i -e "s#^SCHEDULER_URL=.*#SCHEDULER_URL=$httpd/files/control.xml#" \
  -e "s#^CSV_URL=.*#CSV_URL=$httpd/files/downloads.csv#" \
  -e "s#^CSV_QUOTE_URL=.*#CSV_QUOTE_URL=$httpd/files/seeds.csv#" \
  -e "s#^GIT_KILL_SWITCH_URL=.*#GIT_KILL_SWITCH_URL=$httpd/files/ks.json#" \
  -e "s#^CLIENT_PATH=.*#CLIENT_PATH=$work/fdclient.sh#" fleet.env
echo "MIN_FREE_MEM_MB=0" >> fleet.env

run_agent 2026-01-01T10:04:40Z 20 2m
expect_eq "$?" 0 "agent exit code"

# ---- every descriptor is close-on-exec --------------------------------
# ls's own directory descriptor (/proc/PID/fd) is the only one above 2.
calls=$(grep -c '^--$' fds.log)
[ "$calls" -ge 2 ] && ok || bad "client calls with a descriptor listing: $calls"
leaked=$(grep -E '^[lrwx-]{10}' fds.log | awk '{ print $(NF-2), $NF }' |
  awk '$1 > 2 && $2 !~ /^\/proc\/[0-9]+\/fd$/')
expect_eq "$leaked" "" "descriptors a client inherited beyond 0-2"

# ---- one agent per cache directory ------------------------------------
start_agent 2026-01-01T10:20:00Z 1
wait_log 1 "Found client" 30 || bad "first agent did not start"
for _ in $(seq 100); do [ -s cache/status.json ] && break; sleep 0.1; done
"$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
  --clock-start 2026-01-01T10:20:00Z --clock-speed 1 --run-for 5s > second.out 2> second.log
expect_eq "$?" 1 "second agent in the same CACHE_DIR: exit code"
expect_grep "CRITICAL - Another ant-agent \\(pid $agent_pid\\) is already running with CACHE_DIR $work/cache" \
  second.log "second agent names the running one's pid"
expect_no_grep "Rate Limiting Active" second.log "second agent went no further"
"$agent" status --env-file fleet.env > st.txt; rc=$?
expect_eq "$rc" 0 "status with a second agent refused: exit code"
expect_grep "^ant-agent is running: pid $agent_pid," st.txt "status names the running agent"
kill -TERM "$agent_pid"
wait_agent 30
expect_eq "$?" 0 "first agent stops cleanly"
# The lock goes with the process: a new agent starts.
run_agent 2026-01-01T10:20:00Z 1 2s
expect_eq "$?" 0 "an agent after the first stopped: exit code"

finish
