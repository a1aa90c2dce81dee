#!/usr/bin/env bash
# `ant-agent status` while the agent runs (plan, progress, last results,
# limits, metrics, kill-switch), as JSON too, and after it stops.
source "$(dirname "$0")/lib.sh"
fleet_init
{ echo "<Schedule>"; task 010 10 Download tiny 2 true; task 012 12 Quote tiny 1 false
  task 040 40 Download small 1 false; echo "</Schedule>"; } > control.xml

"$agent" status --env-file fleet.env > st0.txt; rc=$?
expect_eq "$rc" 1 "no status file: exit 1"
expect_grep "NOT running here: no status file $work/cache/status.json" st0.txt "no status file said"

"$agent" run "${root_flag[@]}" --no-console --env-file fleet.env \
  --clock-start 2026-01-01T10:09:00Z --clock-speed 60 > agent.out 2> agent.log &
pid=$!
# Until the :12 quote has a result (about 3 s): the status is refreshed
# within a second of each change.
for _ in $(seq 200); do
  "$agent" status --env-file fleet.env > st.txt 2>&1 && grep -q 'quote ok' st.txt && break
  sleep 0.1
done
"$agent" status --env-file fleet.env > st.txt; rc=$?
expect_eq "$rc" 0 "status exit code while running"
expect_grep "^ant-agent is running: pid $pid, up [0-9]+ (s|min), status written [0-9]+ s ago" st.txt "running line"
expect_grep '^  Agent       : ant-agent [0-9.]+, id [0-9a-f]{16}, client Autonomi Client v' st.txt "versions and id"
expect_grep '^  Clock       : 2026-01-01T10:1[0-9]:[0-9]{2}Z \(virtual\)' st.txt "virtual clock"
expect_grep '^  Kill-switch : OFF \(last good answer [0-9]+ (s|min) ago; [0-9]+/12 requests this hour\)' st.txt "kill-switch"
expect_grep '^  Hour        : test window, next refresh 2026-01-01T11:00:[0-9]{2}Z' st.txt "hour"
expect_grep '^    010 download tiny   repeat 10:10:00  running  [0-9]+ test\(s\), [0-9]+ ok' st.txt "010 running with progress"
expect_grep '^    012 quote    tiny   once   10:12:00  done  1 test\(s\), 1 ok' st.txt "012 done"
expect_grep '^    040 download small  once   10:40:00  waiting' st.txt "040 waiting"
expect_grep '^  Running     : 1 task\(s\), 2 worker\(s\), [0-2] client\(s\)' st.txt "running counts"
expect_grep '^  Last result : download ok \(task 010, 10:1[0-9]:[0-9]{2}, [0-9.]+ s\) \| quote ok \(task 012, 10:12:[0-9]{2}' st.txt "last results"
expect_grep '^  Limits      : download [0-9]+/360 \| quote 1/240 \| upload 0/120 per hour \| clients [0-9]+/10' st.txt "limits"
expect_grep '^  Metrics     : [0-9]+ recorded, [0-9]+ written, [0-9]+ waiting, 0 write error' st.txt "metrics"
expect_grep '^  InfluxDB    : no push configured' st.txt "influx"
expect_grep '^  Resources   : disk free [0-9.]+ GB \(min 0.0\) \| memory available [0-9]+ MB \(min 512\)' st.txt "resources"
[ "$(wc -l < st.txt)" -le 24 ] && ok || bad "status fits one screen ($(wc -l < st.txt) lines)"

"$agent" status --env-file fleet.env --format json > st.json; rc=$?
expect_eq "$rc" 0 "status --format json exit code"
python3 - "$work/st.json" <<'PY' || bad "status JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "ant-agent-status" and d["running"] is True, d
assert d["agent_state"] == "running" and d["killswitch"]["on"] is False
assert [p["ref"] for p in d["plan"]] == ["010", "012", "040"]
assert d["last"]["quote"]["status"] == "ok"
for k in ("recorded", "written", "cached"): assert isinstance(d["metrics"][k], int)
assert d["guards"]["mem_available_bytes"] > 0 and d["guards"]["disk_free_bytes"] > 0
PY

kill -TERM $pid; wait $pid
expect_eq "$?" 0 "agent exit code"
"$agent" status --env-file fleet.env > st2.txt; rc=$?
expect_eq "$rc" 1 "status exit code after the stop"
expect_grep "^ant-agent is NOT running: it stopped cleanly [0-9]+ s ago \(pid $pid, was up" st2.txt "stopped said"
expect_grep '^  Plan        : 3 task' st2.txt "last known plan kept"
"$agent" status --env-file fleet.env --format yaml > /dev/null 2>&1; expect_eq "$?" 2 "bad --format exits 2"
finish
