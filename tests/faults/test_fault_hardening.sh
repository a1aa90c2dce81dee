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
  -e "s#^CSV_URL=.*#CSV_URL=http://fleet:hunter2-pw@${httpd#http://}/files/downloads.csv?token=tok-SECRET-99\\&x=1#" \
  -e "s#^CSV_QUOTE_URL=.*#CSV_QUOTE_URL=$httpd/files/seeds.csv#" \
  -e "s#^GIT_KILL_SWITCH_URL=.*#GIT_KILL_SWITCH_URL=$httpd/files/ks.json?access_token=ks-SECRET-77#" \
  -e "s#^CLIENT_PATH=.*#CLIENT_PATH=$work/fdclient.sh#" fleet.env
printf 'MIN_FREE_MEM_MB=0\nDEFAULT_LOG_LEVEL=DEBUG\n' >> fleet.env
# The metrics files in a directory anyone can write, where another user
# has planted links to a victim's files (no final newline, so a
# cut-back to whole lines would empty them).
mkdir -m 1777 open
printf 'victim data' > victim-metrics; printf 'victim data' > victim-summary
ln -s "$work/victim-metrics" open/metrics.csv
ln -s "$work/victim-summary" open/summary.csv
sed -i -e "s#^METRICS_FILE=.*#METRICS_FILE=$work/open/metrics.csv#" \
  -e "s#^SUMMARY_FILE=.*#SUMMARY_FILE=$work/open/summary.csv#" fleet.env

run_agent 2026-01-01T10:04:40Z 20 2m
expect_eq "$?" 0 "agent exit code"
cp agent.log first.log

# ---- every descriptor is close-on-exec --------------------------------
# ls's own directory descriptor (/proc/PID/fd) is the only one above 2.
calls=$(grep -c '^--$' fds.log)
[ "$calls" -ge 2 ] && ok || bad "client calls with a descriptor listing: $calls"
leaked=$(grep -E '^[lrwx-]{10}' fds.log | awk '{ print $(NF-2), $NF }' |
  awk '$1 > 2 && $2 !~ /^\/proc\/[0-9]+\/fd$/')
expect_eq "$leaked" "" "descriptors a client inherited beyond 0-2"

# ---- credentials inside URLs are masked --------------------------------
"$agent" config --env-file fleet.env > config.out 2>&1
expect_grep "^CSV_URL += http://fleet:\\*\\*\\*\\*@127.0.0.1:[0-9]+/files/downloads.csv\\?token=\\*\\*\\*\\*&x=1 " \
  config.out "config shows the catalogue URL masked"
expect_grep '^url=http://fleet:[*]{4}@127.0.0.1:[0-9]+/files/downloads.csv[?]token=[*]{4}&x=1$' \
  cache/dl.meta "catalogue .meta holds the URL masked"
for s in hunter2-pw tok-SECRET-99 ks-SECRET-77; do
  for f in agent.log config.out cache/dl.meta cache/q.meta; do
    expect_no_grep "$s" "$f" "credential $s in $f"
  done
done
expect_eq "$(stat -c %a cache/dl.meta)" 600 "catalogue .meta mode"
[ "$(grep -c 'fleet:\*\*\*\*@\|token=\*\*\*\*' agent.log)" -ge 1 ] && ok || bad "the log names the masked URL"

# ---- no terminal escape from outside reaches the log or `status` -------
# no_controls FILE WHAT: no C0 control but tab/newline, no DEL, no C1
# (raw or UTF-8), nothing that is not UTF-8.
no_controls() {
  local n
  n=$(python3 -c '
import re, sys
t = open(sys.argv[1], "rb").read()
try:
    u = t.decode("utf-8")
except UnicodeDecodeError:
    print("not UTF-8"); sys.exit()
print(len(re.findall("[\x00-\x08\x0b-\x1f\x7f-\x9f]", u)))' "$1")
  expect_eq "$n" 0 "$2: control characters in $1"
}
no_controls first.log "log of the first run"
# A kill-switch answer whose message would set the window title, clear
# the screen and show a fake line.
printf '{"message": "\\u001b]0;owned\\u0007\\u001b[2J\\u001b[H\\u009b32mkill-switch is OFF\\u001b[0m"}' > www/ks.json
cp fleet.env fleet-main.env
run_agent 2026-01-01T10:20:00Z 10 1m
no_controls agent.log "hostile kill-switch message in the log"
expect_grep 'server says: \?\]0;owned\?\?\[2J\?\[H\?32mkill-switch is OFF\?\[0m' agent.log \
  "hostile kill-switch message shown, neutralised"
cp downloads.csv ks.json www/
# status.json read back: strings planted in it are neutralised too.
python3 - cache/status.json <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
def plant(v):
    if isinstance(v, dict):
        return {k: (x if k == "format" else plant(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [plant(x) for x in v]
    if isinstance(v, str) and not v[:1].isdigit():
        return v + "\x1b]0;owned\x07\x9b2J\x1b[H"
    return v
d = plant(d)
d["\x1b[2Jkey"] = "\x1b]2;title\x07"
open(p, "w").write(json.dumps(d))
PY
"$agent" status --env-file fleet.env > st-esc.txt 2>&1
"$agent" status --env-file fleet.env --format json > st-esc.json 2>&1
[ "$(grep -c 'owned' st-esc.txt st-esc.json | awk -F: '{ s += $2 } END { print s }')" -ge 2 ] && ok ||
  bad "planted status strings were shown"
no_controls st-esc.txt "status (text) of a planted status file"
no_controls st-esc.json "status (json) of a planted status file"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' st-esc.json && ok || bad "status json still JSON"

# ---- links and foreign files are not written through ------------------
expect_eq "$(cat victim-metrics)" "victim data" "file behind a planted metrics link is intact"
expect_eq "$(cat victim-summary)" "victim data" "file behind a planted summary link is intact"
expect_grep "metrics: cannot open $work/open/metrics.csv: Too many levels of symbolic links" \
  first.log "planted metrics link refused"
cp fleet.env fleet-main.env
# The log file: a planted link stops the start with a clear error.
ln -s "$work/victim-metrics" open/agent.log
printf 'LOG_TO_FILE=true\nLOG_FILE_PATH=%s\n' "$work/open/agent.log" >> fleet.env
run_agent 2026-01-01T10:20:00Z 1 2s
expect_eq "$?" 2 "planted log link: exit code"
expect_grep "LOG_FILE_PATH $work/open/agent.log: cannot open: Too many levels of symbolic links" \
  agent.log "planted log link refused"
expect_eq "$(cat victim-metrics)" "victim data" "file behind a planted log link is intact"
# A file of another user where the log goes (root can make one).
if [ "$(id -u)" -eq 0 ]; then
  rm open/agent.log; printf 'theirs' > open/agent.log; chown 65534 open/agent.log
  run_agent 2026-01-01T10:20:00Z 1 2s
  expect_eq "$?" 2 "log file of another user: exit code"
  expect_eq "$(cat open/agent.log)" "theirs" "log file of another user is intact"
fi
cp fleet-main.env fleet.env
# A cache directory other users may write is refused at start.
chmod 0777 cache
run_agent 2026-01-01T10:20:00Z 1 2s
expect_eq "$?" 1 "cache directory writable by others: exit code"
expect_grep "CRITICAL - CACHE_DIR $work/cache is writable by other users \\(mode 0777\\)" \
  agent.log "cache directory writable by others: a clear error"
expect_no_grep "Rate Limiting Active" agent.log "cache directory writable by others: nothing ran"
chmod 0755 cache

# ---- one agent per cache directory ------------------------------------
start_agent 2026-01-01T10:20:00Z 1
# Until the first agent holds the lock and has written its status.
for _ in $(seq 300); do
  grep -qx "$agent_pid" cache/agent.lock 2>/dev/null &&
    grep -q "\"pid\": *$agent_pid\b" cache/status.json 2>/dev/null && break
  sleep 0.1
done
grep -qx "$agent_pid" cache/agent.lock && ok || bad "first agent holds the lock with its pid"
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
