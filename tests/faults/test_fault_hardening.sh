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

finish
